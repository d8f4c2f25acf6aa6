//! One container of a kube pod as a CreateSpec: env from ConfigMaps and
//! Secrets, probes as health checks, and volumeMounts as binds, volumes
//! and tmpfs (ConfigMap and Secret files written under the pod's
//! directory, never outside it).

use super::play::{Data, bad};
use crate::engine::containers::{Bind, ContainerConfig, ContainerError, Health, RestartPolicy};
use crate::engine::create::{CreateSpec, EnvSpec, HealthSpec};
use crate::engine::volumes::VolumeMount as BerthVolume;
use crate::kube::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(super) fn port_number(n: i64, what: &str) -> Result<u16, ContainerError> {
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| bad(format!("{what} {n}: not a port number (1-65535)")))
}

/// One container of a pod as a CreateSpec.
pub(super) fn container_spec(
    pod: &str,
    spec: &PodSpec,
    c: &Container,
    cm: &Data,
    secrets: &Data,
    files: &Path,
    restart: &str,
) -> Result<CreateSpec, ContainerError> {
    let what = format!("pod {pod}: container {}", c.name);
    if c.name.is_empty() {
        return Err(bad(format!("pod {pod}: a container has no name")));
    }
    let mut env = Vec::new();
    let lookup = |data: &Data,
                  kind: &str,
                  name: &str,
                  optional: bool|
     -> Result<Option<BTreeMap<String, Vec<u8>>>, ContainerError> {
        match data.get(name) {
            Some(m) => Ok(Some(m.clone())),
            None if optional => Ok(None),
            None => Err(bad(format!(
                "{what}: {kind} {name:?} is not in the YAML (or --configmap)"
            ))),
        }
    };
    for f in &c.env_from {
        let found = match (&f.config_map_ref, &f.secret_ref) {
            (Some(r), _) => lookup(cm, "ConfigMap", &r.name, r.optional == Some(true))?,
            (_, Some(r)) => lookup(secrets, "Secret", &r.name, r.optional == Some(true))?,
            _ => None,
        };
        for (k, v) in found.unwrap_or_default() {
            env.push(format!("{}{k}={}", f.prefix, String::from_utf8_lossy(&v)));
        }
    }
    for e in &c.env {
        let value = match (&e.value, &e.value_from) {
            (_, Some(src)) => {
                let (data, kind, r) = match (
                    &src.config_map_key_ref,
                    &src.secret_key_ref,
                    &src.field_ref,
                ) {
                    (Some(r), _, _) => (cm, "ConfigMap", r),
                    (_, Some(r), _) => (secrets, "Secret", r),
                    (_, _, Some(f)) => {
                        let v = match f.field_path.as_str() {
                            "metadata.name" => pod.to_string(),
                            "metadata.namespace" => "default".into(),
                            other => {
                                return Err(bad(format!(
                                    "{what}: env {}: fieldRef {other:?} is not supported (metadata.name, metadata.namespace)",
                                    e.name
                                )));
                            }
                        };
                        env.push(format!("{}={v}", e.name));
                        continue;
                    }
                    _ => {
                        return Err(bad(format!(
                            "{what}: env {}: valueFrom names no source",
                            e.name
                        )));
                    }
                };
                let optional = r.optional == Some(true);
                match lookup(data, kind, &r.name, optional)?.and_then(|m| m.get(&r.key).cloned()) {
                    Some(v) => String::from_utf8_lossy(&v).into_owned(),
                    None if optional => continue,
                    None => {
                        return Err(bad(format!(
                            "{what}: env {}: {kind} {} has no key {:?}",
                            e.name, r.name, r.key
                        )));
                    }
                }
            }
            (Some(v), None) => v.clone(),
            (None, None) => String::new(),
        };
        env.push(format!("{}={value}", e.name));
    }
    let (binds, volumes, tmpfs) = mounts(&what, spec, c, cm, secrets, files)?;
    let sec = c.security_context.clone().unwrap_or_default();
    let pod_sec = spec.security_context.clone().unwrap_or_default();
    let uid = sec.run_as_user.or(pod_sec.run_as_user);
    let gid = sec.run_as_group.or(pod_sec.run_as_group);
    let user = match (uid, gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    let caps = sec.capabilities.clone().unwrap_or_default();
    let privileged = sec.privileged == Some(true);
    crate::runtime::caps::resolve(privileged, &caps.add, &caps.drop)
        .map_err(|e| bad(format!("{what}: {e}")))?;
    let limit = |k: &str| c.resources.limits.get(k);
    let memory = match limit("memory") {
        Some(q) => Some(
            memory_bytes(q)
                .ok_or_else(|| bad(format!("{what}: memory limit {q}: not a quantity")))?,
        ),
        None => None,
    };
    let cpus = match limit("cpu") {
        Some(q) => Some(
            crate::kube::cpus(q)
                .ok_or_else(|| bad(format!("{what}: cpu limit {q}: not a quantity")))?,
        ),
        None => None,
    };
    let (healthcheck, on_failure) = match (&c.liveness_probe, &c.readiness_probe) {
        (Some(p), _) => (HealthSpec::Set(probe(&what, c, p)?), "restart"),
        (None, Some(p)) => (HealthSpec::Set(probe(&what, c, p)?), ""),
        _ => (HealthSpec::Image, ""),
    };
    let config = ContainerConfig {
        tty: c.tty == Some(true),
        interactive: c.stdin == Some(true),
        restart: RestartPolicy {
            name: match restart {
                "Always" => "always",
                "OnFailure" => "on-failure",
                _ => "no",
            }
            .into(),
            max_retries: 0,
        },
        read_only: sec.read_only_root_filesystem == Some(true),
        no_new_privileges: sec.allow_privilege_escalation == Some(false),
        privileged,
        cap_add: caps.add,
        cap_drop: caps.drop,
        binds,
        volumes,
        tmpfs,
        memory,
        cpus,
        memory_reservation: c.resources.requests.get("memory").and_then(memory_bytes),
        stop_timeout: spec
            .termination_grace_period_seconds
            .unwrap_or(10)
            .clamp(0, u32::MAX as i64) as u32,
        log_driver: "k8s-file".into(),
        health_on_failure: on_failure.into(),
        runtime: crate::runtime::options::global_runtime(),
        ..Default::default()
    };
    Ok(CreateSpec {
        config,
        entrypoint: (!c.command.is_empty()).then(|| c.command.clone()),
        command: c.args.clone(),
        env: EnvSpec {
            defaults: true,
            proxy: true,
            set: env,
            unset: Vec::new(),
        },
        workdir: (!c.working_dir.is_empty()).then(|| c.working_dir.clone()),
        user,
        stop_signal: None,
        healthcheck,
        expose: c
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.container_port,
                    if p.protocol.is_empty() {
                        "tcp".into()
                    } else {
                        p.protocol.to_ascii_lowercase()
                    }
                )
            })
            .collect(),
        publish_all: false,
        image_volume: "bind".into(),
    })
}

/// A probe as a health check (podman's mapping: httpGet and tcpSocket
/// through tools the image may hold).
fn probe(what: &str, c: &Container, p: &Probe) -> Result<Health, ContainerError> {
    let port = |v: &serde_json::Value| -> Result<u16, ContainerError> {
        match v {
            serde_json::Value::Number(n) => port_number(n.as_i64().unwrap_or(0), "probe port"),
            serde_json::Value::String(s) => match c.ports.iter().find(|p| &p.name == s) {
                Some(p) => port_number(p.container_port, "probe port"),
                None => s.parse().map_err(|_| {
                    bad(format!(
                        "{what}: probe port {s:?}: no container port has that name"
                    ))
                }),
            },
            _ => Err(bad(format!("{what}: a probe needs a port"))),
        }
    };
    let test = match (&p.exec, &p.http_get, &p.tcp_socket) {
        (Some(e), _, _) if !e.command.is_empty() => std::iter::once("CMD".to_string())
            .chain(e.command.iter().cloned())
            .collect(),
        (_, Some(h), _) => {
            let host = if h.host.is_empty() {
                "localhost"
            } else {
                &h.host
            };
            let scheme = if h.scheme.is_empty() {
                "http"
            } else {
                &h.scheme
            }
            .to_ascii_lowercase();
            let path = if h.path.starts_with('/') {
                h.path.clone()
            } else {
                format!("/{}", h.path)
            };
            let url = format!("{scheme}://{host}:{}{path}", port(&h.port)?);
            vec![
                "CMD-SHELL".into(),
                format!("wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url}"),
            ]
        }
        (_, _, Some(t)) => {
            let host = if t.host.is_empty() {
                "localhost"
            } else {
                &t.host
            };
            vec![
                "CMD-SHELL".into(),
                format!("nc -z {host} {}", port(&t.port)?),
            ]
        }
        _ => {
            return Err(bad(format!(
                "{what}: a probe needs exec, httpGet or tcpSocket"
            )));
        }
    };
    let secs = |v: Option<i64>, d: i64| v.filter(|n| *n > 0).unwrap_or(d) as u64;
    Ok(Health {
        test,
        interval_secs: secs(p.period_seconds, 10),
        timeout_secs: secs(p.timeout_seconds, 1),
        retries: secs(p.failure_threshold, 3) as u32,
        start_period_secs: p.initial_delay_seconds.unwrap_or(0).max(0) as u64,
    })
}

/// A container's volumeMounts: binds (hostPath, and the pod's files for
/// ConfigMaps, Secrets and emptyDirs), named volumes (claims) and tmpfs
/// (emptyDir in memory).
#[allow(clippy::type_complexity)]
fn mounts(
    what: &str,
    spec: &PodSpec,
    c: &Container,
    cm: &Data,
    secrets: &Data,
    files: &Path,
) -> Result<(Vec<Bind>, Vec<BerthVolume>, Vec<String>), ContainerError> {
    let (mut binds, mut volumes, mut tmpfs) = (Vec::new(), Vec::new(), Vec::new());
    for m in &c.volume_mounts {
        let v = spec
            .volumes
            .iter()
            .find(|v| v.name == m.name)
            .ok_or_else(|| {
                bad(format!(
                    "{what}: volumeMount {:?} names no volume of the pod",
                    m.name
                ))
            })?;
        if !m.mount_path.starts_with('/') {
            return Err(bad(format!(
                "{what}: mountPath {:?} is not absolute",
                m.mount_path
            )));
        }
        let ro = m.read_only == Some(true);
        let sub = |base: PathBuf| -> Result<PathBuf, ContainerError> {
            if m.sub_path.is_empty() {
                return Ok(base);
            }
            check_relative(what, &m.sub_path)?;
            Ok(base.join(&m.sub_path))
        };
        let bind = |source: PathBuf, ro: bool| Bind {
            source: source.to_string_lossy().into_owned(),
            destination: m.mount_path.clone(),
            readonly: ro,
            ..Default::default()
        };
        if let Some(h) = &v.host_path {
            let path = Path::new(&h.path);
            if !path.is_absolute() {
                return Err(bad(format!(
                    "{what}: hostPath {:?} is not absolute",
                    h.path
                )));
            }
            match h.type_.as_str() {
                "DirectoryOrCreate" if !path.exists() => std::fs::create_dir_all(path)
                    .map_err(|e| bad(format!("{what}: creating hostPath {}: {e}", h.path)))?,
                "FileOrCreate" if !path.exists() => {
                    std::fs::File::create(path)
                        .map_err(|e| bad(format!("{what}: creating hostPath {}: {e}", h.path)))?;
                }
                "Directory" if !path.is_dir() => {
                    return Err(bad(format!(
                        "{what}: hostPath {} is not a directory",
                        h.path
                    )));
                }
                "File" if !path.is_file() => {
                    return Err(bad(format!("{what}: hostPath {} is not a file", h.path)));
                }
                "" if !path.exists() => std::fs::create_dir_all(path)
                    .map_err(|e| bad(format!("{what}: creating hostPath {}: {e}", h.path)))?,
                _ => {}
            }
            binds.push(bind(sub(path.to_path_buf())?, ro));
        } else if let Some(e) = &v.empty_dir {
            if e.medium == "Memory" {
                let size = e.size_limit.as_ref().and_then(memory_bytes);
                tmpfs.push(match size {
                    Some(s) => format!("{}:size={s}", m.mount_path),
                    None => m.mount_path.clone(),
                });
            } else {
                // Shared by the pod's containers, as Kubernetes' is.
                let dir = files.join("empty").join(&v.name);
                make_dir(&dir, 0o777)
                    .map_err(|e| bad(format!("{what}: emptyDir {}: {e}", v.name)))?;
                binds.push(bind(sub(dir)?, ro));
            }
        } else if let Some(cl) = &v.persistent_volume_claim {
            if !m.sub_path.is_empty() {
                return Err(bad(format!(
                    "{what}: subPath on a persistentVolumeClaim is not supported by berth"
                )));
            }
            volumes.push(BerthVolume {
                name: cl.claim_name.clone(),
                destination: m.mount_path.clone(),
                readonly: ro || cl.read_only == Some(true),
                ..Default::default()
            });
        } else if let Some(src) = v.config_map.as_ref().or(v.secret.as_ref()) {
            let (data, kind, name) = if v.config_map.is_some() {
                (cm, "ConfigMap", &src.name)
            } else {
                (secrets, "Secret", &src.secret_name)
            };
            let dir = files.join("volumes").join(&v.name);
            write_files(what, kind, name, src, data, &dir)?;
            // Read-only, as Kubernetes mounts them.
            binds.push(bind(sub(dir)?, true));
        } else {
            return Err(bad(format!(
                "{what}: volume {:?} has no source berth supports (hostPath, emptyDir, persistentVolumeClaim, configMap, secret)",
                v.name
            )));
        }
    }
    Ok((binds, volumes, tmpfs))
}

/// A path a YAML names under a directory of berth's: relative, and never
/// through `..`.
fn check_relative(what: &str, p: &str) -> Result<(), ContainerError> {
    let path = Path::new(p);
    if p.is_empty()
        || path.is_absolute()
        || path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(bad(format!(
            "{what}: path {p:?} must be relative and stay inside its volume (no '..')"
        )));
    }
    Ok(())
}

fn make_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
}

/// A ConfigMap's or Secret's keys (or the `items` chosen) as files in `dir`.
fn write_files(
    what: &str,
    kind: &str,
    name: &str,
    src: &FilesSource,
    data: &Data,
    dir: &Path,
) -> Result<(), ContainerError> {
    use std::os::unix::fs::PermissionsExt;
    let Some(m) = data.get(name) else {
        if src.optional == Some(true) {
            return make_dir(dir, 0o755).map_err(|e| bad(format!("{what}: {e}")));
        }
        return Err(bad(format!(
            "{what}: {kind} {name:?} is not in the YAML (or --configmap)"
        )));
    };
    let items: Vec<(String, String)> = if src.items.is_empty() {
        m.keys().map(|k| (k.clone(), k.clone())).collect()
    } else {
        src.items
            .iter()
            .map(|i| (i.key.clone(), i.path.clone()))
            .collect()
    };
    make_dir(dir, 0o755).map_err(|e| bad(format!("{what}: {e}")))?;
    let mode = src.default_mode.unwrap_or(0o644) & 0o777;
    for (key, path) in items {
        check_relative(what, &path)?;
        let bytes = m
            .get(&key)
            .ok_or_else(|| bad(format!("{what}: {kind} {name} has no key {key:?}")))?;
        let file = dir.join(&path);
        if let Some(parent) = file.parent() {
            make_dir(parent, 0o755).map_err(|e| bad(format!("{what}: {e}")))?;
        }
        // A new file (never through a link), then the mode asked for.
        crate::process::private::create_new(&file)
            .and_then(|mut f| {
                std::io::Write::write_all(&mut f, bytes)?;
                f.set_permissions(std::fs::Permissions::from_mode(mode))
            })
            .map_err(|e| bad(format!("{what}: writing {}: {e}", file.display())))?;
    }
    Ok(())
}
