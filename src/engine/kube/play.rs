//! `kube play` and `kube down`: the workloads of a Kubernetes YAML as pods.
//! A Pod is one pod; a Deployment `replicas` pods named `NAME-pod-N` (as
//! podman 4 names them); a DaemonSet and a Job one pod `NAME-pod`. The
//! pod's containers are `POD-CONTAINER`. ConfigMaps and Secrets fill env
//! and volume files, PersistentVolumeClaims are named volumes, and a
//! Service publishes its ports on the host for all the pods it selects
//! (shared ports: see network::forward::bind_shared).

use crate::engine::Engine;
use crate::engine::containers::{Bind, ContainerConfig, ContainerError, Health, RestartPolicy};
use crate::engine::create::{CreateRequest, CreateSpec, EnvSpec, HealthSpec};
use crate::engine::networks::NetworkRequest;
use crate::engine::pods::PodSpec as BerthPod;
use crate::engine::pull::PullPolicy;
use crate::engine::volumes::VolumeMount as BerthVolume;
use crate::kube::*;
use crate::network::ports::PortMapping;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct PlayOptions {
    /// `--start=false`: create only.
    pub no_start: bool,
    /// `--replace`: pods of the same names go first.
    pub replace: bool,
    /// `--network`: the pods' network (default: run's).
    pub network: Option<String>,
    /// `--publish HOSTPORT:CTRPORT`: published by the pod whose container
    /// declares that port (over the YAML's hostPort).
    pub publish: Vec<String>,
    pub quiet: bool,
    /// `--sdnotify`: "conmon" tells systemd READY=1 once every pod runs
    /// (MAINPID: the infra monitor of the first pod not a Job's); "container" relays each
    /// container's own messages; "" or "ignore": nothing.
    pub sdnotify: String,
}

/// What `kube play` made.
#[derive(Debug, Default)]
pub struct PlayReport {
    /// Each pod's ID and its containers' IDs.
    pub pods: Vec<(String, Vec<String>)>,
    pub volumes: Vec<String>,
    pub warnings: Vec<String>,
}

/// One pod to make: its name, labels and spec, and the defaults of the
/// kind it comes from.
struct Planned<'a> {
    name: String,
    labels: BTreeMap<String, String>,
    spec: &'a PodSpec,
    restart: &'static str,
    /// A Deployment with several replicas: its hostPorts are shared.
    replicated: bool,
    job: bool,
}

/// The pod names a file's workloads make (for `kube down` and `--replace`).
pub fn pod_names(read: &Read) -> Vec<String> {
    planned(read).into_iter().map(|p| p.name).collect()
}

fn planned(read: &Read) -> Vec<Planned<'_>> {
    let mut out = Vec::new();
    for d in &read.documents {
        match (&d.body, d.kind.as_str()) {
            (Body::Pod(spec), _) => out.push(Planned {
                name: d.name.clone(),
                labels: d.object.metadata.labels.clone(),
                spec,
                restart: "Always",
                replicated: false,
                job: false,
            }),
            (Body::Workload(w), kind) => {
                let n = if kind == "Deployment" {
                    w.replicas.unwrap_or(1).max(0)
                } else {
                    1
                };
                for i in 0..n {
                    out.push(Planned {
                        name: if kind == "Deployment" {
                            format!("{}-pod-{i}", d.name)
                        } else {
                            format!("{}-pod", d.name)
                        },
                        labels: w.template.metadata.labels.clone(),
                        spec: &w.template.spec,
                        restart: if kind == "Job" { "Never" } else { "Always" },
                        replicated: n > 1,
                        job: kind == "Job",
                    });
                }
            }
            _ => {}
        }
    }
    out
}

fn bad(msg: String) -> ContainerError {
    ContainerError::Invalid(msg)
}

/// ConfigMaps' and Secrets' data by name: keys to bytes.
type Data = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

/// A key of a ConfigMap or Secret, which becomes a file name: letters,
/// digits, `-`, `_`, `.` (as Kubernetes validates them), never `.` or `..`.
fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k != "."
        && k != ".."
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn data_of(read: &Read, kind: &str) -> Result<Data, ContainerError> {
    let mut out = Data::new();
    for d in read.documents.iter().filter(|d| d.kind == kind) {
        let mut m = BTreeMap::new();
        for (k, v) in &d.object.data {
            let bytes = if kind == "Secret" {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|e| bad(format!("Secret {}: data {k:?} is not base64: {e}", d.name)))?
            } else {
                v.clone().into_bytes()
            };
            m.insert(k.clone(), bytes);
        }
        for (k, v) in &d.object.binary_data {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|e| {
                    bad(format!(
                        "{kind} {}: binaryData {k:?} is not base64: {e}",
                        d.name
                    ))
                })?;
            m.insert(k.clone(), bytes);
        }
        for (k, v) in &d.object.string_data {
            m.insert(k.clone(), v.clone().into_bytes());
        }
        if let Some(k) = m.keys().find(|k| !valid_key(k)) {
            return Err(bad(format!(
                "{kind} {}: key {k:?} is not valid: use letters, digits, '-', '_' and '.'",
                d.name
            )));
        }
        out.insert(d.name.clone(), m);
    }
    Ok(out)
}

impl Engine {
    /// The directory of a kube pod's generated files (ConfigMap and Secret
    /// volumes, emptyDirs): removed with the pod.
    pub fn kube_files_dir(&self, pod_id: &str) -> PathBuf {
        self.paths.root.join("kube").join(pod_id)
    }

    /// `kube play`: everything the documents (and `configmaps`, from
    /// `--configmap`) describe, created and (unless `no_start`) started.
    /// `say` hears of pulls and warnings as they happen.
    pub fn kube_play(
        &mut self,
        read: &Read,
        configmaps: &Read,
        opts: &PlayOptions,
    ) -> Result<PlayReport, ContainerError> {
        let mut report = PlayReport {
            warnings: read.warnings.clone(),
            ..Default::default()
        };
        let mut cm = data_of(configmaps, "ConfigMap")?;
        cm.extend(data_of(read, "ConfigMap")?);
        let secrets = data_of(read, "Secret")?;
        for d in read
            .documents
            .iter()
            .filter(|d| d.kind == "PersistentVolumeClaim")
        {
            if self.volume(&d.name).is_err() {
                self.create_named_volume(
                    Some(&d.name),
                    d.object.metadata.labels.clone(),
                    BTreeMap::new(),
                    true,
                )?;
            }
            report.volumes.push(d.name.clone());
        }
        let services: Vec<&ServiceSpec> = read
            .documents
            .iter()
            .filter_map(|d| match &d.body {
                Body::Service(s) => Some(s),
                _ => None,
            })
            .collect();
        let plans = planned(read);
        if plans.is_empty() {
            return Err(bad(
                "the YAML has no Pod, Deployment, DaemonSet or Job to run".into(),
            ));
        }
        for p in &plans {
            if let Ok(old) = self.pod(&p.name) {
                if !opts.replace {
                    return Err(bad(format!(
                        "a pod named {} already exists: use --replace, or `berth kube down` first",
                        p.name
                    )));
                }
                self.remove_pod(&old, true, Some(0))
                    .map_err(|e| bad(e.to_string()))?;
            }
        }
        for p in &plans {
            let made = self.play_pod(p, &services, &cm, &secrets, opts, &mut report.warnings)?;
            report.pods.push(made);
        }
        if opts.sdnotify == "conmon"
            && !opts.no_start
            && let Some(addr) = crate::process::sdnotify::socket()
            && let Some((pod, _)) = report
                .pods
                .iter()
                .zip(&plans)
                .find(|(_, p)| !p.job)
                .or_else(|| report.pods.iter().zip(&plans).next())
                .map(|(made, _)| made)
        {
            let infra = self
                .pod(pod)
                .map_err(|e| bad(e.to_string()))?
                .config()
                .infra_id;
            let monitor = self.container(&infra)?.monitor_pid;
            crate::process::sdnotify::send(&addr, &format!("MAINPID={monitor}\nREADY=1\n"));
        }
        Ok(report)
    }

    fn play_pod(
        &mut self,
        p: &Planned,
        services: &[&ServiceSpec],
        cm: &Data,
        secrets: &Data,
        opts: &PlayOptions,
        warnings: &mut Vec<String>,
    ) -> Result<(String, Vec<String>), ContainerError> {
        let spec = p.spec;
        let (ports, shared) = pod_ports(p, services, opts)?;
        let (network, networks) = match (&opts.network, spec.host_network) {
            (_, Some(true)) => ("host".to_string(), Vec::new()),
            (Some(n), _)
                if ["host", "none", "pasta", "slirp4netns", "private"].contains(&n.as_str()) =>
            {
                (n.clone(), Vec::new())
            }
            (Some(n), _) => (
                "bridge".to_string(),
                n.split(',')
                    .map(|n| NetworkRequest {
                        network: n.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            (None, _) if self.paths.rootless => {
                (crate::engine::networks::default_rootless_mode(), Vec::new())
            }
            (None, _) => (
                "bridge".to_string(),
                vec![NetworkRequest {
                    network: "bridge".into(),
                    ..Default::default()
                }],
            ),
        };
        let mut share = vec!["ipc".to_string(), "net".into(), "uts".into()];
        if spec.share_process_namespace == Some(true) {
            share.push("pid".into());
        }
        let infra_spec = CreateSpec {
            config: ContainerConfig {
                network,
                networks,
                ports,
                shared_ports: shared,
                dns: spec
                    .dns_config
                    .as_ref()
                    .map(|d| d.nameservers.clone())
                    .unwrap_or_default(),
                dns_search: spec
                    .dns_config
                    .as_ref()
                    .map(|d| d.searches.clone())
                    .unwrap_or_default(),
                dns_options: spec
                    .dns_config
                    .as_ref()
                    .map(|d| {
                        d.options
                            .iter()
                            .map(|o| match &o.value {
                                Some(v) => format!("{}:{v}", o.name),
                                None => o.name.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                add_hosts: spec
                    .host_aliases
                    .iter()
                    .flat_map(|a| a.hostnames.iter().map(move |h| format!("{h}:{}", a.ip)))
                    .collect(),
                runtime: crate::runtime::options::global_runtime(),
                ..Default::default()
            },
            ..Default::default()
        };
        let pod = self
            .create_pod(BerthPod {
                name: Some(p.name.clone()),
                labels: p.labels.clone(),
                share,
                hostname: (!spec.hostname.is_empty()).then(|| spec.hostname.clone()),
                infra: true,
                infra_spec,
                exit_policy: if p.job { "stop" } else { "continue" }.into(),
                create_command: std::env::args().collect(),
                ..Default::default()
            })
            .map_err(|e| bad(e.to_string()))?;
        let made = self.play_members(p, &pod, cm, secrets, opts, warnings);
        let ids = match made {
            Ok(ids) => ids,
            Err(e) => {
                let _ = self.remove_pod(&pod, true, Some(0));
                return Err(e);
            }
        };
        Ok((pod.id, ids))
    }

    fn play_members(
        &mut self,
        p: &Planned,
        pod: &crate::state::pods::PodRow,
        cm: &Data,
        secrets: &Data,
        opts: &PlayOptions,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>, ContainerError> {
        let spec = p.spec;
        let files = self.kube_files_dir(&pod.id);
        let restart = match spec.restart_policy.as_str() {
            "" => p.restart,
            "Always" => "Always",
            "OnFailure" => "OnFailure",
            "Never" => "Never",
            other => {
                return Err(bad(format!(
                    "pod {}: restartPolicy {other:?} is not one of Always, OnFailure, Never",
                    p.name
                )));
            }
        };
        let mut inits = Vec::new();
        let mut ids = Vec::new();
        for (init, c) in spec
            .init_containers
            .iter()
            .map(|c| (true, c))
            .chain(spec.containers.iter().map(|c| (false, c)))
        {
            let image = self.play_image(&c.image, &c.image_pull_policy, opts)?;
            let mut cs = container_spec(
                &p.name,
                spec,
                c,
                cm,
                secrets,
                &files,
                if init { "Never" } else { restart },
            )?;
            if opts.sdnotify == "container" && crate::process::sdnotify::socket().is_some() {
                cs.config.sdnotify = "container".into();
            }
            self.join_pod(&mut cs, pod)
                .map_err(|e| bad(e.to_string()))?;
            let (row, w) = self.create(CreateRequest {
                name: Some(format!("{}-{}", p.name, c.name)),
                image,
                spec: cs,
                volumes_from: Vec::new(),
                requires: Vec::new(),
                replace: false,
            })?;
            warnings.extend(w);
            if init {
                inits.push(row);
            } else {
                ids.push(row.id);
            }
        }
        if opts.no_start {
            ids.extend(inits.iter().map(|r| r.id.clone()));
            return Ok(ids);
        }
        // Init containers run to completion, one after the other, before
        // the others start; then they go (podman's "once").
        let infra = pod.config().infra_id;
        if !inits.is_empty() {
            let infra_row = self.container(&infra)?;
            self.start_detached(&infra_row)
                .map_err(|e| bad(e.to_string()))?;
        }
        for r in &inits {
            self.start_detached(r).map_err(|e| bad(e.to_string()))?;
            let code = self.wait_for(
                &r.id,
                &["exited".into(), "stopped".into()],
                std::time::Duration::from_millis(100),
            )?;
            if code != 0 {
                return Err(bad(format!(
                    "pod {}: init container {} exited with {code}",
                    p.name, r.name
                )));
            }
            let r = self.container(&r.id)?;
            self.remove_container(&r, true)?;
        }
        let errors = self.start_pod(pod).map_err(|e| bad(e.to_string()))?;
        if let Some(e) = errors.first() {
            return Err(bad(format!("pod {}: {e}", p.name)));
        }
        Ok(ids)
    }

    /// The image of a container, found or pulled as its imagePullPolicy
    /// says (`kube play --build` built it before).
    fn play_image(
        &self,
        image: &str,
        policy: &str,
        opts: &PlayOptions,
    ) -> Result<crate::engine::images::Found, ContainerError> {
        if image.is_empty() {
            return Err(bad("a container has no image".into()));
        }
        let policy = match policy {
            "Always" => PullPolicy::Always,
            "Never" => PullPolicy::Never,
            _ => PullPolicy::Missing,
        };
        self.find_or_pull(image, policy, &Default::default(), opts.quiet)
            .map_err(|e| bad(e.to_string()))
    }

    /// `kube down`: the pods the documents make, stopped and removed.
    /// Returns their IDs.
    pub fn kube_down(&self, read: &Read) -> Result<Vec<String>, ContainerError> {
        let pods: Vec<_> = pod_names(read)
            .iter()
            .filter_map(|n| self.pod(n).ok())
            .collect();
        // Every pod's containers stop side by side (each within its own
        // grace period), then the infra containers, then the pods go.
        let (mut members, mut infras) = (Vec::new(), Vec::new());
        for p in &pods {
            let infra = p.config().infra_id;
            for c in self.pod_members(p).map_err(|e| bad(e.to_string()))? {
                if c.id == infra {
                    &mut infras
                } else {
                    &mut members
                }
                .push(c.id);
            }
        }
        for ids in [members, infras] {
            self.stop_many(&ids, None, &mut |_, _| {})?;
        }
        for p in &pods {
            self.remove_pod(p, true, Some(0))
                .map_err(|e| bad(e.to_string()))?;
        }
        Ok(pods.into_iter().map(|p| p.id).collect())
    }
}

/// The pod's ports: hostPorts of its containers (and `--publish`), and
/// the ports of the Services that select it (shared with its siblings;
/// so are a replicated Deployment's hostPorts).
fn pod_ports(
    p: &Planned,
    services: &[&ServiceSpec],
    opts: &PlayOptions,
) -> Result<(Vec<PortMapping>, Vec<PortMapping>), ContainerError> {
    let mut own = Vec::new();
    let mut shared = Vec::new();
    let mut publish: BTreeMap<u16, PortMapping> = BTreeMap::new();
    for text in &opts.publish {
        for m in crate::network::ports::parse(text).map_err(bad)? {
            publish.insert(m.container_port, m);
        }
    }
    let all = p.spec.containers.iter().flat_map(|c| c.ports.iter());
    for cp in all.clone() {
        let ctr_port = port_number(cp.container_port, "containerPort")?;
        let proto = if cp.protocol.is_empty() {
            "tcp".to_string()
        } else {
            cp.protocol.to_ascii_lowercase()
        };
        let m = match (publish.remove(&ctr_port), cp.host_port) {
            (Some(m), _) => m,
            (None, Some(h)) if h > 0 => PortMapping {
                host_ip: cp.host_ip.clone(),
                host_port: port_number(h, "hostPort")?,
                container_port: ctr_port,
                protocol: proto,
            },
            _ => continue,
        };
        if p.replicated { &mut shared } else { &mut own }.push(m);
    }
    for s in services {
        if s.selector.is_empty() || !s.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)) {
            continue;
        }
        for sp in &s.ports {
            let host = port_number(sp.node_port.unwrap_or(sp.port), "Service port")?;
            let target = match &sp.target_port {
                None => port_number(sp.port, "Service port")?,
                Some(serde_json::Value::Number(n)) => {
                    port_number(n.as_i64().unwrap_or(0), "targetPort")?
                }
                Some(serde_json::Value::String(name)) => {
                    match all.clone().find(|cp| &cp.name == name) {
                        Some(cp) => port_number(cp.container_port, "containerPort")?,
                        None => name.parse().map_err(|_| {
                            bad(format!(
                                "Service targetPort {name:?}: no container port has that name"
                            ))
                        })?,
                    }
                }
                Some(v) => return Err(bad(format!("Service targetPort {v}: not a port"))),
            };
            if own
                .iter()
                .chain(shared.iter())
                .any(|m: &PortMapping| m.host_port == host)
            {
                continue;
            }
            shared.push(PortMapping {
                host_ip: String::new(),
                host_port: host,
                container_port: target,
                protocol: if sp.protocol.is_empty() {
                    "tcp".into()
                } else {
                    sp.protocol.to_ascii_lowercase()
                },
            });
        }
    }
    Ok((own, shared))
}

fn port_number(n: i64, what: &str) -> Result<u16, ContainerError> {
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| bad(format!("{what} {n}: not a port number (1-65535)")))
}

/// One container of a pod as a CreateSpec.
fn container_spec(
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
