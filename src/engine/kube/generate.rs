//! `kube generate`: containers and pods as Kubernetes objects, as podman 4
//! writes them (a Pod per pod, or one Pod for the containers named; a
//! Deployment or a Service on request), checked against the schema by the
//! tests.

use crate::engine::Engine;
use crate::engine::containers::{ContainerConfig, ContainerError};
use crate::image::config::RunConfig;
use crate::kube::*;
use crate::state::containers::ContainerRow;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// "pod" (default) or "deployment".
    pub kind: String,
    pub replicas: i64,
    /// `-s`: a Service for the published ports.
    pub service: bool,
}

/// podman's defaults that `kube generate` leaves out of a container's env.
const DEFAULT_ENV: [&str; 3] = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
    "container=podman",
];

impl Engine {
    /// The objects for `words` (containers or pods): a Pod (or Deployment)
    /// per pod named, one for all the containers named, then the Services.
    pub fn kube_generate(
        &self,
        words: &[String],
        opts: &GenerateOptions,
    ) -> Result<Vec<Object>, ContainerError> {
        let seen = Images::default();
        let mut claims = Vec::new();
        let mut pods = Vec::new();
        let mut loose = Vec::new();
        for w in words {
            match self.pod(w) {
                Ok(p) => pods.push(p),
                Err(_) => {
                    let c = match self.container(w) {
                        Ok(c) => c,
                        Err(e) => match self.volume(w) {
                            Ok(v) => {
                                claims.push(claim(&v));
                                continue;
                            }
                            Err(_) => return Err(e),
                        },
                    };
                    if c.config()
                        .annotations
                        .contains_key(crate::runtime::INFRA_ANNOTATION)
                    {
                        return Err(ContainerError::Invalid(format!(
                            "{w} is a pod's infra container: name its pod"
                        )));
                    }
                    loose.push(c)
                }
            }
        }
        let mut made: Vec<(Meta, PodSpec, Vec<ContainerPort>)> = Vec::new();
        for p in &pods {
            let cfg = p.config();
            let members = self
                .pod_members(p)
                .map_err(|e| ContainerError::Invalid(e.to_string()))?;
            let infra = members.iter().find(|c| c.id == cfg.infra_id);
            let rest: Vec<&ContainerRow> =
                members.iter().filter(|c| c.id != cfg.infra_id).collect();
            if rest.is_empty() {
                return Err(ContainerError::Invalid(format!(
                    "pod {} only has an infra container: add containers to generate it",
                    p.id
                )));
            }
            let mut labels = cfg.labels.clone();
            labels.retain(|k, v| label_ok(k, v));
            let (mut spec, ports) =
                self.pod_spec(&seen, &rest, infra, cfg.share.iter().any(|s| s == "pid"))?;
            // `kube play` names them POD-NAME: the YAML says NAME again.
            let prefix = format!("{}-", kube_name(&p.name));
            for c in &mut spec.containers {
                if let Some(short) = c.name.strip_prefix(&prefix).filter(|s| !s.is_empty()) {
                    c.name = short.to_string();
                }
            }
            let mut m = meta(&kube_name(&p.name), labels);
            m.annotations = annotations(&rest, Some(&p.id));
            made.push((m, spec, ports));
        }
        if !loose.is_empty() {
            let refs: Vec<&ContainerRow> = loose.iter().collect();
            let mut name = kube_name(&loose[0].name);
            if loose.iter().any(|c| kube_name(&c.name) == name) {
                name.push_str("-pod");
            }
            let (spec, ports) = self.pod_spec(&seen, &refs, None, false)?;
            // The containers' own labels (not their images').
            let mut labels = BTreeMap::new();
            for c in &loose {
                let image = self
                    .container_image_config(c, &seen)
                    .labels
                    .unwrap_or_default();
                for (k, v) in c.config().labels {
                    if image.get(&k) != Some(&v) && label_ok(&k, &v) {
                        labels.insert(k, v);
                    }
                }
            }
            let mut m = meta(&name, labels);
            m.annotations = annotations(&refs, None);
            made.push((m, spec, ports));
        }
        let mut out = Vec::new();
        let mut services = Vec::new();
        for (meta, spec, ports) in made {
            let name = meta.name.clone();
            if opts.service && !ports.is_empty() {
                services.push(service(&name, &ports));
            }
            out.push(if opts.kind == "deployment" {
                deployment(meta, spec, opts.replicas.max(1))
            } else {
                Object {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    metadata: meta,
                    spec: serde_json::to_value(spec).unwrap_or_default(),
                    ..Default::default()
                }
            });
        }
        out.extend(services);
        out.extend(claims);
        Ok(out)
    }

    /// A Pod's spec for `ctrs`; the pod's ports (the infra's, else the
    /// containers') go on its first container.
    fn pod_spec(
        &self,
        seen: &Images,
        ctrs: &[&ContainerRow],
        infra: Option<&ContainerRow>,
        share_pid: bool,
    ) -> Result<(PodSpec, Vec<ContainerPort>), ContainerError> {
        let mut spec = PodSpec {
            enable_service_links: Some(false),
            automount_service_account_token: Some(false),
            ..Default::default()
        };
        let mut ctrs: Vec<&ContainerRow> = ctrs.to_vec();
        ctrs.sort_by_key(|c| c.created);
        let pod_net = infra.map(|i| i.config());
        let mut all_ports = Vec::new();
        for (i, c) in ctrs.iter().enumerate() {
            let cfg = c.config();
            let net_cfg = pod_net.as_ref().unwrap_or(&cfg);
            if i == 0 {
                spec.restart_policy = match cfg.restart.name.as_str() {
                    "always" | "unless-stopped" => "Always",
                    "on-failure" => "OnFailure",
                    _ => "Never",
                }
                .into();
                spec.host_network = (net_cfg.network == "host").then_some(true);
                if !cfg.hostname.is_empty() && !c.id.starts_with(&cfg.hostname) {
                    spec.hostname = cfg.hostname.clone();
                }
                for h in &net_cfg.add_hosts {
                    if let Some((name, ip)) = h.split_once(':') {
                        spec.host_aliases.push(HostAlias {
                            ip: ip.into(),
                            hostnames: vec![name.into()],
                        });
                    }
                }
                if !net_cfg.dns.is_empty()
                    || !net_cfg.dns_search.is_empty()
                    || !net_cfg.dns_options.is_empty()
                {
                    spec.dns_config = Some(DnsConfig {
                        nameservers: net_cfg.dns.clone(),
                        searches: net_cfg.dns_search.clone(),
                        options: net_cfg
                            .dns_options
                            .iter()
                            .map(|o| {
                                let (n, v) = o.split_once(':').unwrap_or((o, ""));
                                DnsOption {
                                    name: n.into(),
                                    value: (!v.is_empty()).then(|| v.to_string()),
                                }
                            })
                            .collect(),
                    });
                }
            }
            let image = self.container_image_config(c, seen);
            let (mut k, volumes) = container(c, &cfg, &image);
            if i == 0 {
                k.ports = ports(&net_cfg.ports);
                all_ports = k.ports.clone();
            }
            for v in volumes {
                if !spec.volumes.iter().any(|x| x.name == v.name) {
                    spec.volumes.push(v);
                }
            }
            spec.containers.push(k);
        }
        spec.share_process_namespace = share_pid.then_some(true);
        Ok((spec, all_ports))
    }

    /// The container's image config (empty if the image is gone), read
    /// once per image.
    fn container_image_config(&self, c: &ContainerRow, seen: &Images) -> RunConfig {
        if let Some(r) = seen.0.borrow().get(&c.image_id) {
            return r.clone();
        }
        let r = self.read_image_config(c);
        seen.0.borrow_mut().insert(c.image_id.clone(), r.clone());
        r
    }

    fn read_image_config(&self, c: &ContainerRow) -> RunConfig {
        self.find_image(&c.image_id)
            .ok()
            .and_then(|f| self.image_config(&f.image).ok())
            .and_then(|ic| ic.config)
            .unwrap_or_default()
    }
}

/// Image configs by image ID, each read once per `kube generate`.
#[derive(Default)]
struct Images(std::cell::RefCell<std::collections::HashMap<String, RunConfig>>);

/// A container's or pod's name in the YAML: podman drops underscores
/// (and keeps the case).
fn kube_name(name: &str) -> String {
    name.replace('_', "")
}

fn now() -> String {
    crate::format::units::rfc3339(crate::process::now_nanos() / 1_000_000_000)
}

/// The containers' annotations as podman writes them on the pod:
/// `KEY/CONTAINER` (berth's own, and keys that already hold a `/`, stay
/// out: the result would not be a valid annotation key).
fn annotations(ctrs: &[&ContainerRow], pod: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in ctrs {
        let name = kube_name(&c.name);
        let cfg = c.config();
        podman_annotations(c, &cfg, pod, &mut out);
        for (k, v) in cfg.annotations {
            if !k.starts_with("io.berth.") && !k.contains('/') && name.len() <= 63 {
                out.insert(format!("{k}/{name}"), v);
            }
        }
    }
    out
}

fn meta(name: &str, mut labels: BTreeMap<String, String>) -> Meta {
    labels.insert("app".into(), name.to_string());
    Meta {
        name: name.to_string(),
        labels,
        creation_timestamp: Some(now()),
        ..Default::default()
    }
}

/// A label Kubernetes takes: a qualified name, and a value of at most 63
/// letters, digits, `-`, `_`, `.`.
fn label_ok(k: &str, v: &str) -> bool {
    let name = k.rsplit('/').next().unwrap_or(k);
    let part = |s: &str, max: usize| {
        s.len() <= max
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    part(name, 63) && (v.is_empty() || part(v, 63)) && k.matches('/').count() <= 1
}

fn ports(ports: &[crate::network::ports::PortMapping]) -> Vec<ContainerPort> {
    ports
        .iter()
        .map(|p| ContainerPort {
            container_port: p.container_port as i64,
            host_port: (p.host_port != 0).then_some(p.host_port as i64),
            host_ip: p.host_ip.clone(),
            protocol: if p.protocol == "udp" {
                "UDP".into()
            } else {
                String::new()
            },
            ..Default::default()
        })
        .collect()
}

/// One container, and the pod volumes its mounts name.
fn container(
    c: &ContainerRow,
    cfg: &ContainerConfig,
    image: &RunConfig,
) -> (Container, Vec<Volume>) {
    let image_ep = image.entrypoint.clone().unwrap_or_default();
    let image_cmd = image.cmd.clone().unwrap_or_default();
    // Kubernetes: `command` replaces the ENTRYPOINT and drops the CMD;
    // `args` replaces the CMD.
    // With no ENTRYPOINT anywhere, the command is `command` (podman's
    // form; the same to Kubernetes).
    let (command, args) = if cfg.entrypoint != image_ep {
        (cfg.entrypoint.clone(), cfg.cmd.clone())
    } else if cfg.cmd == image_cmd {
        (Vec::new(), Vec::new())
    } else if cfg.entrypoint.is_empty() {
        (cfg.cmd.clone(), Vec::new())
    } else {
        (Vec::new(), cfg.cmd.clone())
    };
    let image_env = image.env.clone().unwrap_or_default();
    let env = cfg
        .env
        .iter()
        .filter(|e| !DEFAULT_ENV.contains(&e.as_str()) && !image_env.contains(e))
        // Set by berth at create time, not asked for.
        .filter(|e| !e.starts_with("HOSTNAME=") && !e.starts_with("HOME="))
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| EnvVar {
            name: k.into(),
            value: Some(v.into()),
            value_from: None,
        })
        .collect();
    let mut limits = BTreeMap::new();
    if let Some(m) = cfg.memory {
        limits.insert("memory".to_string(), memory_quantity(m).into());
    }
    if let Some(c) = cfg.cpus {
        limits.insert("cpu".to_string(), cpu_quantity(c).into());
    }
    let (uid, gid) = match cfg.user.split_once(':') {
        Some((u, g)) => (u.parse::<i64>().ok(), g.parse::<i64>().ok()),
        None => (cfg.user.parse::<i64>().ok(), None),
    };
    let user_given = image.user.as_deref().unwrap_or("") != cfg.user;
    let sec = SecurityContext {
        capabilities: (!cfg.privileged).then(|| capabilities(cfg)).flatten(),
        privileged: cfg.privileged.then_some(true),
        run_as_user: uid.filter(|_| user_given),
        run_as_group: gid.filter(|_| user_given),
        read_only_root_filesystem: cfg.read_only.then_some(true),
        allow_privilege_escalation: cfg.no_new_privileges.then_some(false),
    };
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    for (i, b) in cfg.binds.iter().enumerate() {
        let name = format!("{}-host-{i}", dns_label(&b.source));
        let kind = match std::fs::metadata(&b.source) {
            Ok(m) if m.is_dir() => "Directory",
            Ok(_) => "File",
            Err(_) => "DirectoryOrCreate",
        };
        mounts.push(VolumeMount {
            name: name.clone(),
            mount_path: b.destination.clone(),
            read_only: b.readonly.then_some(true),
            ..Default::default()
        });
        volumes.push(Volume {
            name,
            host_path: Some(HostPath {
                path: b.source.clone(),
                type_: kind.into(),
            }),
            ..Default::default()
        });
    }
    for v in cfg.volumes.iter().filter(|v| !v.anonymous) {
        let name = format!("{}-pvc", dns_label(&v.name));
        mounts.push(VolumeMount {
            name: name.clone(),
            mount_path: v.destination.clone(),
            read_only: v.readonly.then_some(true),
            ..Default::default()
        });
        volumes.push(Volume {
            name,
            persistent_volume_claim: Some(ClaimRef {
                claim_name: v.name.clone(),
                read_only: v.readonly.then_some(true),
            }),
            ..Default::default()
        });
    }
    for t in &cfg.tmpfs {
        let dest = t.split(':').next().unwrap_or(t);
        let name = format!("{}-tmpfs", dns_label(dest));
        mounts.push(VolumeMount {
            name: name.clone(),
            mount_path: dest.into(),
            ..Default::default()
        });
        volumes.push(Volume {
            name,
            empty_dir: Some(EmptyDir {
                medium: "Memory".into(),
                size_limit: None,
            }),
            ..Default::default()
        });
    }
    let probe = cfg.healthcheck.as_ref().map(|h| Probe {
        exec: Some(ExecAction {
            command: match h.test.first().map(String::as_str) {
                Some("CMD-SHELL") => {
                    vec!["/bin/sh".into(), "-c".into(), h.test[1..].join(" ")]
                }
                Some("CMD") => h.test[1..].to_vec(),
                _ => h.test.clone(),
            },
        }),
        period_seconds: Some(h.interval_secs as i64),
        timeout_seconds: Some(h.timeout_secs as i64),
        failure_threshold: Some(h.retries as i64),
        initial_delay_seconds: (h.start_period_secs > 0).then_some(h.start_period_secs as i64),
        ..Default::default()
    });
    let k = Container {
        name: kube_name(&c.name),
        image: c.image_name.clone(),
        command,
        args,
        working_dir: if cfg.workdir != "/"
            && image.working_dir.as_deref().unwrap_or("") != cfg.workdir
        {
            cfg.workdir.clone()
        } else {
            String::new()
        },
        env,
        resources: Resources {
            limits,
            requests: BTreeMap::new(),
        },
        security_context: Some(sec),
        volume_mounts: mounts,
        liveness_probe: probe,
        tty: cfg.tty.then_some(true),
        stdin: cfg.interactive.then_some(true),
        ..Default::default()
    };
    (k, volumes)
}

/// A volume as a PersistentVolumeClaim (podman's: its driver and options
/// as annotations, 1Gi asked for).
fn claim(v: &crate::state::volumes::VolumeRow) -> Object {
    let mut annotations = BTreeMap::new();
    annotations.insert("volume.podman.io/driver".to_string(), v.driver.clone());
    for (k, val) in &v.options {
        annotations.insert(format!("volume.podman.io/{k}"), val.clone());
    }
    let mut requests = BTreeMap::new();
    requests.insert("storage".to_string(), serde_json::Value::from("1Gi"));
    Object {
        api_version: "v1".into(),
        kind: "PersistentVolumeClaim".into(),
        metadata: Meta {
            name: v.name.clone(),
            annotations,
            creation_timestamp: Some(now()),
            ..Default::default()
        },
        spec: serde_json::to_value(ClaimSpec {
            access_modes: vec!["ReadWriteOnce".into()],
            resources: Resources {
                requests,
                limits: BTreeMap::new(),
            },
            ..Default::default()
        })
        .unwrap_or_default(),
        ..Default::default()
    }
}

/// The capabilities a Kubernetes runtime (containerd, docker) gives a
/// container unless told otherwise.
/// (containerd's order, which podman's drop list follows.)
const KUBERNETES_DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The container's capabilities as changes to Kubernetes' default set, as
/// podman writes them: a berth container without --cap-* still drops
/// CAP_MKNOD, CAP_NET_RAW and CAP_AUDIT_WRITE there, which podman's (and
/// berth's) default set lacks.
fn capabilities(cfg: &ContainerConfig) -> Option<Capabilities> {
    let have = crate::runtime::caps::resolve(false, &cfg.cap_add, &cfg.cap_drop).ok()?;
    let add: Vec<String> = have
        .iter()
        .filter(|c| !KUBERNETES_DEFAULT_CAPS.contains(&c.as_str()))
        .cloned()
        .collect();
    let drop: Vec<String> = KUBERNETES_DEFAULT_CAPS
        .iter()
        .filter(|c| !have.contains(**c))
        .map(|c| c.to_string())
        .collect();
    (!add.is_empty() || !drop.is_empty()).then_some(Capabilities { add, drop })
}

/// podman's annotations of a container (its OCI spec's), under the
/// container's name: a pod's member also says its pod (the sandbox).
fn podman_annotations(
    c: &ContainerRow,
    cfg: &ContainerConfig,
    pod: Option<&str>,
    out: &mut BTreeMap<String, String>,
) {
    let name = kube_name(&c.name);
    let flag = |b: bool| if b { "TRUE" } else { "FALSE" }.to_string();
    out.insert(
        format!("io.kubernetes.cri-o.TTY/{name}"),
        cfg.tty.to_string(),
    );
    out.insert(
        format!("io.podman.annotations.autoremove/{name}"),
        flag(cfg.rm),
    );
    out.insert(format!("io.podman.annotations.init/{name}"), flag(cfg.init));
    out.insert(
        format!("io.podman.annotations.privileged/{name}"),
        flag(cfg.privileged),
    );
    out.insert(
        format!("io.podman.annotations.publish-all/{name}"),
        flag(false),
    );
    if let Some(id) = pod {
        out.insert(
            format!("io.kubernetes.cri-o.ContainerType/{name}"),
            "container".into(),
        );
        out.insert(
            format!("io.kubernetes.cri-o.SandboxID/{name}"),
            id.to_string(),
        );
    }
}

fn deployment(meta: Meta, spec: PodSpec, replicas: i64) -> Object {
    let name = meta.name.clone();
    let labels: BTreeMap<String, String> = [("app".to_string(), name.clone())].into();
    let w = WorkloadSpec {
        replicas: Some(replicas),
        selector: Some(LabelSelector {
            match_labels: labels.clone(),
        }),
        template: PodTemplate {
            metadata: Meta {
                name: name.clone(),
                labels: meta.labels.clone(),
                annotations: meta.annotations.clone(),
                ..Default::default()
            },
            spec: PodSpec {
                // A Deployment's pods always restart.
                restart_policy: "Always".into(),
                ..spec
            },
        },
        ..Default::default()
    };
    Object {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        metadata: Meta {
            name: format!("{name}-deployment"),
            labels,
            creation_timestamp: meta.creation_timestamp,
            ..Default::default()
        },
        spec: serde_json::to_value(w).unwrap_or_default(),
        ..Default::default()
    }
}

/// A NodePort Service for the pod's ports: on the node, each port where it
/// was published (podman picks a random node port; berth keeps the host
/// port, so `kube play` of the output publishes what the container did).
fn service(pod: &str, ports: &[ContainerPort]) -> Object {
    let mut used = std::collections::BTreeSet::new();
    let sp = ports
        .iter()
        .map(|p| {
            let proto = if p.protocol.is_empty() {
                "TCP"
            } else {
                &p.protocol
            };
            let node = p.host_port.filter(|h| used.insert(*h));
            ServicePort {
                name: format!("{}-{}", p.container_port, proto.to_ascii_lowercase()),
                port: p.container_port,
                target_port: Some(p.container_port.into()),
                node_port: node,
                protocol: proto.into(),
            }
        })
        .collect();
    Object {
        api_version: "v1".into(),
        kind: "Service".into(),
        metadata: Meta {
            name: pod.to_string(),
            labels: [("app".to_string(), pod.to_string())].into(),
            creation_timestamp: Some(now()),
            ..Default::default()
        },
        spec: serde_json::to_value(ServiceSpec {
            selector: [("app".to_string(), pod.to_string())].into(),
            ports: sp,
            type_: "NodePort".into(),
        })
        .unwrap_or_default(),
        ..Default::default()
    }
}
