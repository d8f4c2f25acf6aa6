//! A compose service as a `CreateSpec`: every key of the model mapped onto
//! the container config the run flags fill, or named in a warning where
//! berth has no such setting (never dropped silently).

use super::{ComposeRunError, labels};
use crate::compose::{Project, Service, VolumeType};
use crate::engine::containers::{ContainerConfig, Health, RestartPolicy, Ulimit};
use crate::engine::create::{CreateSpec, EnvSpec, HealthSpec};
use crate::engine::networks::NetworkRequest;
use crate::engine::volumes::VolumeMount;
use std::collections::BTreeMap;

/// One container of a service: its name and replica number (0 for a one-off).
pub struct Replica<'a> {
    pub name: &'a str,
    pub number: u64,
    pub oneoff: bool,
}

/// The spec for one container of `service`; `warnings` hears of keys berth
/// does not apply. Named volumes must exist (see `ensure_volumes`).
/// `files`: where configs and secrets given inline (`content:`,
/// `environment:`) are written to be bound (see `project_files_dir`).
pub fn service_spec(
    project: &Project,
    service: &str,
    s: &Service,
    replica: &Replica,
    files: Option<&std::path::Path>,
    warnings: &mut Vec<String>,
) -> Result<CreateSpec, ComposeRunError> {
    let bad = |msg: String| ComposeRunError::Compose(format!("service {service:?}: {msg}"));
    let mut warn = |key: &str| {
        warnings.push(format!(
            "service {service:?}: {key} is not supported by berth and is ignored"
        ))
    };
    if let Some(p) = &s.platform {
        let host = host_platform();
        if p != &host && p.split('/').take(2).collect::<Vec<_>>().join("/") != host {
            return Err(bad(format!(
                "platform {p:?} is not this host's ({host}): berth runs images of the host's platform only"
            )));
        }
    }
    for (key, set) in [
        ("domainname", s.domainname.is_some()),
        ("devices", !s.devices.is_empty()),
        ("cgroup_parent", s.cgroup_parent.is_some()),
        ("oom_score_adj", s.oom_score_adj.is_some()),
        ("userns_mode", s.userns_mode.is_some()),
        ("links", !s.links.is_empty()),
        ("external_links", !s.external_links.is_empty()),
    ] {
        if set {
            warn(key);
        }
    }
    let mut labels_map: BTreeMap<String, String> = s.labels.clone();
    labels_map.extend(labels::container(project, service, s, replica));
    let (network, networks) = network(project, service, s, replica)?;
    let mut ports = Vec::new();
    for p in &s.ports {
        let mut text = String::new();
        if let Some(ip) = &p.host_ip {
            text.push_str(&format!("{ip}:"));
        }
        match &p.published {
            Some(pubd) => text.push_str(&format!("{pubd}:{}/{}", p.target, p.protocol)),
            None if p.host_ip.is_some() => text.push_str(&format!(":{}/{}", p.target, p.protocol)),
            None => text.push_str(&format!("{}/{}", p.target, p.protocol)),
        }
        ports.extend(crate::network::ports::parse(&text).map_err(bad)?);
    }
    let (mut binds, mut volumes, mut tmpfs) = (Vec::new(), Vec::new(), s.tmpfs.clone());
    for v in &s.volumes {
        match (v.kind, &v.source) {
            (VolumeType::Volume, Some(src)) => volumes.push(VolumeMount {
                name: project
                    .volumes
                    .get(src)
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| src.clone()),
                destination: v.target.clone(),
                readonly: v.read_only,
                nocopy: v.volume.as_ref().is_some_and(|o| o.nocopy),
                ..Default::default()
            }),
            (VolumeType::Volume, None) => volumes.push(VolumeMount {
                name: crate::engine::containers::new_id(),
                destination: v.target.clone(),
                anonymous: true,
                ..Default::default()
            }),
            (VolumeType::Bind, Some(src)) => {
                let create = v.bind.as_ref().is_none_or(|b| b.create_host_path);
                if create && !std::path::Path::new(src).exists() {
                    std::fs::create_dir_all(src)
                        .map_err(|e| bad(format!("creating bind source {src}: {e}")))?;
                }
                let mut opts = vec![if v.read_only { "ro" } else { "rw" }.to_string()];
                if let Some(p) = v.bind.as_ref().and_then(|b| b.propagation.clone()) {
                    opts.push(p);
                }
                let spec = format!("{src}:{}:{}", v.target, opts.join(","));
                let (b, _) = crate::engine::mounts::binds(&[spec], &[]).map_err(bad)?;
                binds.extend(b);
            }
            (VolumeType::Tmpfs, _) => {
                let mut opts = Vec::new();
                if let Some(t) = &v.tmpfs {
                    if let Some(sz) = t.size {
                        opts.push(format!("size={sz}"));
                    }
                    if let Some(m) = t.mode {
                        opts.push(format!("mode={m:o}"));
                    }
                }
                tmpfs.push(if opts.is_empty() {
                    v.target.clone()
                } else {
                    format!("{}:{}", v.target, opts.join(","))
                });
            }
            (kind, _) => warnings.push(format!(
                "service {service:?}: volumes: type {kind:?} at {} is not supported by berth and is ignored",
                v.target
            )),
        }
    }
    file_mounts(project, service, s, files, &mut binds, warnings)?;
    let (binds, volumes, tmpfs) =
        crate::engine::mounts::unify(binds, volumes, tmpfs).map_err(bad)?;
    let limits = s
        .deploy
        .as_ref()
        .and_then(|d| d.resources.as_ref())
        .and_then(|r| r.limits.clone())
        .unwrap_or_default();
    let mut no_new_privileges = false;
    let mut seccomp = None;
    for o in &s.security_opt {
        match o.split_once(['=', ':']) {
            None if o == "no-new-privileges" => no_new_privileges = true,
            Some(("no-new-privileges", v)) => no_new_privileges = v != "false",
            Some(("seccomp", v)) => seccomp = Some(v.to_string()),
            Some(("label" | "apparmor", _)) => {}
            _ => warnings.push(format!(
                "service {service:?}: security_opt {o:?} is not supported by berth and is ignored"
            )),
        }
    }
    crate::runtime::caps::resolve(s.privileged, &s.cap_add, &s.cap_drop).map_err(bad)?;
    let (log_driver, log_max_size) = logging(service, s, warnings)?;
    let config = ContainerConfig {
        hostname: s.hostname.clone().unwrap_or_default(),
        labels: labels_map,
        annotations: s.annotations.clone(),
        tty: s.tty,
        interactive: s.stdin_open,
        stop_timeout: s
            .stop_grace_period
            .as_ref()
            .map(|d| d.duration.as_secs() as u32)
            .unwrap_or(10),
        restart: restart(s).map_err(bad)?,
        init: s.init.unwrap_or(false),
        read_only: s.read_only,
        tmpfs,
        binds,
        volumes,
        shm_size: s.shm_size.unwrap_or(0).max(0) as u64,
        memory: limits.memory.or(s.mem_limit),
        memory_swap: s.memswap_limit,
        memory_reservation: s.mem_reservation,
        cpus: limits.cpus.or(s.cpus),
        cpu_shares: s.cpu_shares.map(|c| c.max(0) as u64),
        pids_limit: limits.pids.or(s.pids_limit),
        ulimits: s
            .ulimits
            .iter()
            .map(|(name, u)| Ulimit {
                name: name.clone(),
                soft: if u.soft < 0 { u64::MAX } else { u.soft as u64 },
                hard: if u.hard < 0 { u64::MAX } else { u.hard as u64 },
            })
            .collect(),
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        privileged: s.privileged,
        no_new_privileges,
        seccomp,
        network,
        networks,
        ports,
        log_driver,
        log_max_size,
        runtime: crate::runtime::options::global_runtime(),
        pid: match s.pid.as_deref() {
            None | Some("") => String::new(),
            Some("host") => "host".into(),
            Some(o) => return Err(bad(format!("pid {o:?}: berth supports host only"))),
        },
        ipc: s.ipc.clone().unwrap_or_default(),
        dns: s.dns.clone(),
        dns_search: s.dns_search.clone(),
        dns_options: s.dns_opt.clone(),
        add_hosts: s
            .extra_hosts
            .iter()
            .map(|(h, ip)| format!("{h}:{ip}"))
            .collect(),
        group_add: s.group_add.clone(),
        sysctls: s.sysctls.clone(),
        cpuset_cpus: s.cpuset.clone().unwrap_or_default(),
        rm: false,
        ..Default::default()
    };
    let healthcheck = match &s.healthcheck {
        None => HealthSpec::Image,
        Some(h) if h.disable || h.test.first().is_some_and(|t| t == "NONE") => HealthSpec::Disabled,
        Some(h) if h.test.is_empty() => HealthSpec::Image,
        Some(h) => {
            let secs = |d: &Option<crate::compose::GoDuration>, def: u64| {
                d.as_ref()
                    .map(|d| d.duration.as_secs().max(1))
                    .unwrap_or(def)
            };
            HealthSpec::Set(Health {
                test: h.test.clone(),
                interval_secs: secs(&h.interval, 30),
                timeout_secs: secs(&h.timeout, 30),
                retries: h.retries.unwrap_or(3) as u32,
                start_period_secs: h
                    .start_period
                    .as_ref()
                    .map(|d| d.duration.as_secs())
                    .unwrap_or(0),
            })
        }
    };
    Ok(CreateSpec {
        config,
        entrypoint: s.entrypoint.clone(),
        command: s.command.clone().unwrap_or_default(),
        env: EnvSpec {
            defaults: true,
            proxy: true,
            set: s
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            unset: vec![],
        },
        workdir: s.working_dir.clone(),
        user: s.user.clone(),
        stop_signal: s.stop_signal.clone(),
        healthcheck,
        expose: s
            .expose
            .iter()
            .map(|e| {
                if e.contains('/') {
                    e.clone()
                } else {
                    format!("{e}/tcp")
                }
            })
            .collect(),
        publish_all: false,
        image_volume: "bind".into(),
    })
}

/// `linux/amd64` and the like, as OCI platforms name this host.
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        a => a,
    };
    format!("linux/{arch}")
}

/// The network mode and, on bridges, the project networks the service
/// joins in priority order, with the service name and the container name as
/// aliases (so replicas answer to the service name).
fn network(
    project: &Project,
    service: &str,
    s: &Service,
    replica: &Replica,
) -> Result<(String, Vec<NetworkRequest>), ComposeRunError> {
    match s.network_mode.as_deref() {
        None | Some("bridge") | Some("default") => {}
        Some(m @ ("host" | "none")) => return Ok((m.to_string(), vec![])),
        Some(m) if m.starts_with("container:") => return Ok((m.to_string(), vec![])),
        Some(m) if m.starts_with("service:") => {
            let other = &m["service:".len()..];
            let name = project
                .services
                .get(other)
                .and_then(|o| o.container_name.clone())
                .unwrap_or_else(|| format!("{}-{other}-1", project.name));
            return Ok((format!("container:{name}"), vec![]));
        }
        Some(m) => {
            return Err(ComposeRunError::Compose(format!(
                "service {service:?}: network_mode {m:?} is not supported (use host, none, service:NAME or container:NAME)"
            )));
        }
    }
    let mut nets: Vec<(&String, &Option<crate::compose::ServiceNetwork>)> =
        s.networks.iter().collect();
    nets.sort_by_key(|(k, n)| {
        (
            -n.as_ref().and_then(|n| n.priority).unwrap_or(0),
            (*k).clone(),
        )
    });
    let mut out = Vec::new();
    for (key, sn) in nets {
        let name = project
            .networks
            .get(key)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| format!("{}_{key}", project.name));
        let mut req = NetworkRequest {
            network: name,
            ..Default::default()
        };
        // docker compose: a one-off (`run`) answers to no service alias
        // (`run --use-aliases` adds them) and takes no fixed address.
        if replica.oneoff {
            out.push(req);
            continue;
        }
        let mut aliases = vec![service.to_string(), replica.name.to_string()];
        if let Some(sn) = sn {
            aliases.extend(sn.aliases.iter().cloned());
            if let Some(ip) = &sn.ipv4_address {
                req.ip = Some(ip.parse().map_err(|_| {
                    ComposeRunError::Compose(format!(
                        "service {service:?}: invalid ipv4_address {ip:?}"
                    ))
                })?);
            }
            req.mac = sn.mac_address.clone();
        }
        aliases.dedup();
        req.aliases = aliases;
        out.push(req);
    }
    Ok(("bridge".into(), out))
}

fn restart(s: &Service) -> Result<RestartPolicy, String> {
    let word = match (
        &s.restart,
        s.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()),
    ) {
        (Some(r), _) => r.clone(),
        (None, Some(p)) => match p.condition.as_deref() {
            Some("any") | None => "always".into(),
            Some("on-failure") => match p.max_attempts {
                Some(n) => format!("on-failure:{n}"),
                None => "on-failure".into(),
            },
            Some(_) => "no".into(),
        },
        (None, None) => "no".into(),
    };
    let (name, n) = word.split_once(':').unwrap_or((&word, ""));
    match name {
        "no" | "always" | "unless-stopped" | "on-failure" => Ok(RestartPolicy {
            name: name.to_string(),
            max_retries: n.parse().unwrap_or(0),
        }),
        _ => Err(format!(
            "invalid restart policy {word:?}: use no, always, on-failure[:N] or unless-stopped"
        )),
    }
}

fn logging(
    service: &str,
    s: &Service,
    warnings: &mut Vec<String>,
) -> Result<(String, Option<u64>), ComposeRunError> {
    let Some(l) = &s.logging else {
        return Ok(("k8s-file".into(), None));
    };
    let driver = match l.driver.as_deref() {
        None => "k8s-file".to_string(),
        Some(d) if crate::monitor::logs::Driver::parse(d).is_ok() => d.to_string(),
        Some(d) => {
            warnings.push(format!(
                "service {service:?}: logging driver {d:?} is not supported by berth; using k8s-file"
            ));
            "k8s-file".into()
        }
    };
    let mut max = None;
    for (k, v) in &l.options {
        match k.as_str() {
            "max-size" => max = crate::format::units::from_human_size(v),
            _ => warnings.push(format!(
                "service {service:?}: logging option {k:?} is not supported by berth and is ignored"
            )),
        }
    }
    Ok((driver, max))
}

/// Secrets (at /run/secrets/NAME or their target) and configs (at their
/// target, else /NAME), bound read-only: a file source as it is, inline
/// content or an environment variable's value written under `files` first.
fn file_mounts(
    project: &Project,
    service: &str,
    s: &Service,
    files: Option<&std::path::Path>,
    binds: &mut Vec<crate::engine::containers::Bind>,
    warnings: &mut Vec<String>,
) -> Result<(), ComposeRunError> {
    let bad = |e: String| ComposeRunError::Compose(format!("service {service:?}: {e}"));
    let mut add = |kind: &str,
                   source: &str,
                   file: Option<std::path::PathBuf>,
                   inline: Option<String>,
                   target: String|
     -> Result<(), ComposeRunError> {
        let path = match (file, inline, files) {
            (Some(f), _, _) => f,
            (None, Some(text), Some(dir)) => {
                let dir = dir.join(format!("{kind}s"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| bad(format!("{}: {e}", dir.display())))?;
                let f = dir.join(source);
                std::fs::write(&f, text).map_err(|e| bad(format!("{}: {e}", f.display())))?;
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444));
                f
            }
            _ => {
                warnings.push(format!(
                    "service {service:?}: {kind} {source:?} has no source berth can use; ignored"
                ));
                return Ok(());
            }
        };
        let spec = format!("{}:{target}:ro", path.display());
        let (b, _) = crate::engine::mounts::binds(&[spec], &[]).map_err(bad)?;
        binds.extend(b);
        Ok(())
    };
    let env = |name: &Option<String>| name.as_ref().map(|n| std::env::var(n).unwrap_or_default());
    for r in &s.secrets {
        let d = project.secrets.get(&r.source);
        let target = match &r.target {
            Some(t) if t.starts_with('/') => t.clone(),
            Some(t) => format!("/run/secrets/{t}"),
            None => format!("/run/secrets/{}", r.source),
        };
        add(
            "secret",
            &r.source,
            d.and_then(|d| d.file.clone()),
            d.and_then(|d| env(&d.environment)),
            target,
        )?;
    }
    for r in &s.configs {
        let d = project.configs.get(&r.source);
        let target = r.target.clone().unwrap_or_else(|| format!("/{}", r.source));
        add(
            "config",
            &r.source,
            d.and_then(|d| d.file.clone()),
            d.and_then(|d| d.content.clone().or_else(|| env(&d.environment))),
            target,
        )?;
    }
    Ok(())
}

/// Where a project's inline configs and secrets are written: beside the
/// store, so they outlive a reboot as its containers do; `down` removes it.
pub fn project_files_dir(engine: &crate::engine::Engine, project: &str) -> std::path::PathBuf {
    engine.paths.root.join("compose").join(project)
}
