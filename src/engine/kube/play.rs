//! `kube play` and `kube down`: the workloads of a Kubernetes YAML as pods.
//! A Pod is one pod; a Deployment `replicas` pods named `NAME-pod-N` (as
//! podman 4 names them); a DaemonSet and a Job one pod `NAME-pod`. The
//! pod's containers are `POD-CONTAINER`. ConfigMaps and Secrets fill env
//! and volume files, PersistentVolumeClaims are named volumes, and a
//! Service publishes its ports on the host for all the pods it selects
//! (shared ports: see network::forward::bind_shared).

use super::spec::{container_spec, port_number};
use crate::engine::Engine;
use crate::engine::containers::{ContainerConfig, ContainerError};
use crate::engine::create::{CreateRequest, CreateSpec};
use crate::engine::networks::NetworkRequest;
use crate::engine::pods::PodSpec as BerthPod;
use crate::engine::pull::PullPolicy;
use crate::kube::*;
use crate::network::ports::PortMapping;
use std::collections::BTreeMap;
use std::path::PathBuf;

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

pub(super) fn bad(msg: String) -> ContainerError {
    ContainerError::Invalid(msg)
}

/// ConfigMaps' and Secrets' data by name: keys to bytes.
pub(super) type Data = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

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
