//! Pods: containers that share namespaces (network, IPC, UTS by default)
//! held by an infra container. The infra container needs no image to pull:
//! its process is the runtime's own pause (runtime::init::pause), in a
//! rootfs of empty directories berth makes itself (`pause_image()`).

use super::Engine;
use super::containers::ContainerError;
use super::create::{CreateRequest, CreateSpec};
use crate::state::containers::ContainerRow;
use crate::state::pods::{self as db, PodRow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The local image infra containers run from, named as podman 4 names the
/// one it builds locally (rather than pulling k8s.gcr.io/pause):
/// `localhost/podman-pause:VERSION-BUILT`.
pub fn pause_image() -> String {
    format!(
        "localhost/podman-pause:{}-{}",
        crate::process::PODMAN_VERSION,
        crate::process::built()
    )
}

/// The namespaces a pod can share.
pub const SHAREABLE: [&str; 4] = ["ipc", "net", "pid", "uts"];

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("no pod with name or ID {0} found: no such pod")]
    NotFound(String),
    #[error("{0:?}: pod ID prefix is ambiguous; use more characters or the name")]
    Ambiguous(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Container(#[from] ContainerError),
}

impl From<super::EngineError> for PodError {
    fn from(e: super::EngineError) -> Self {
        PodError::Container(e.into())
    }
}

impl From<crate::state::DbError> for PodError {
    fn from(e: crate::state::DbError) -> Self {
        PodError::Container(e.into())
    }
}

/// What a pod was created with (the record's JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PodConfig {
    pub labels: BTreeMap<String, String>,
    /// Shared namespaces: of ipc, net, pid, uts.
    pub share: Vec<String>,
    pub hostname: String,
    /// The infra container's ID ("" for a pod without one).
    pub infra_id: String,
    /// podman's --exit-policy: continue, or stop once the last member exits.
    pub exit_policy: String,
    pub create_command: Vec<String>,
}

impl PodRow {
    pub fn config(&self) -> PodConfig {
        serde_json::from_str(&self.config).unwrap_or_default()
    }
}

/// A pod as asked for (`pod create`).
#[derive(Debug, Clone, Default)]
pub struct PodSpec {
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub share: Vec<String>,
    pub hostname: Option<String>,
    /// Create an infra container (`--infra`, the default).
    pub infra: bool,
    pub infra_name: Option<String>,
    /// `--infra-image`: an image whose command holds the namespaces instead
    /// of berth's own pause (default: containers.conf `infra_image`).
    pub infra_image: Option<String>,
    /// The infra container's command (with `--infra-image`; berth's own
    /// pause only shows it).
    pub infra_command: Option<Vec<String>>,
    /// The infra container: the pod's network, ports, DNS and hosts.
    pub infra_spec: CreateSpec,
    pub exit_policy: String,
    pub create_command: Vec<String>,
    /// `--replace`: a pod of that name goes first.
    pub replace: bool,
}

/// podman's pod states from its containers' (libpod createPodStatusResults).
pub fn status(members: &[ContainerRow]) -> &'static str {
    if members.is_empty() {
        return "Created";
    }
    let count = |f: &dyn Fn(&ContainerRow) -> bool| members.iter().filter(|c| f(c)).count();
    let running = count(&|c| c.state == "running" || c.state == "stopping");
    let paused = count(&|c| c.state == "paused");
    let exited = count(&|c| c.state == "stopped" || c.state == "exited");
    let created = count(&|c| c.state == "created");
    match () {
        _ if running == members.len() => "Running",
        _ if running > 0 => "Degraded",
        _ if paused == members.len() => "Paused",
        _ if exited == members.len() => "Exited",
        _ if exited > 0 => "Stopped",
        _ if created == members.len() => "Created",
        _ => "Error",
    }
}

impl Engine {
    pub fn pods(&self) -> Result<Vec<PodRow>, PodError> {
        Ok(db::list(&self.db.conn)?)
    }

    pub fn pod(&self, word: &str) -> Result<PodRow, PodError> {
        match db::lookup(&self.db.conn, word)? {
            Ok(p) => Ok(p),
            Err(0) => Err(PodError::NotFound(word.to_string())),
            Err(_) => Err(PodError::Ambiguous(word.to_string())),
        }
    }

    /// The pod's containers, the infra container first, then newest first.
    pub fn pod_members(&self, pod: &PodRow) -> Result<Vec<ContainerRow>, PodError> {
        let infra = pod.config().infra_id;
        let mut out: Vec<ContainerRow> = self
            .containers()?
            .into_iter()
            .filter(|c| c.config().pod == pod.id)
            .collect();
        out.sort_by_key(|c| c.id != infra);
        Ok(out)
    }

    /// Create a pod and its infra container (created, not started).
    pub fn create_pod(&self, spec: PodSpec) -> Result<PodRow, PodError> {
        for s in &spec.share {
            match s.as_str() {
                s if SHAREABLE.contains(&s) => {}
                "cgroup" => {
                    return Err(PodError::Invalid(
                        "--share cgroup: each container of a berth pod keeps a cgroup namespace of its own; share of ipc, net, pid, uts".into(),
                    ));
                }
                _ => {
                    return Err(PodError::Invalid(format!(
                        "invalid kernel namespace to share: {s}. Options are: cgroup, ipc, net, pid, uts or none"
                    )));
                }
            }
        }
        if spec.replace
            && let Some(n) = &spec.name
            && let Ok(old) = self.pod(n)
        {
            self.remove_pod(&old, true, Some(0))?;
        }
        let id = super::containers::new_id();
        let name = match spec.name {
            Some(n) => {
                if n.is_empty()
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                    || !n.starts_with(|c: char| c.is_ascii_alphanumeric())
                {
                    return Err(PodError::Invalid(format!(
                        "invalid pod name {n:?}: use letters, digits, _ . and -, starting with a letter or digit"
                    )));
                }
                n
            }
            None => super::containers::random_name(&id),
        };
        let hostname = spec.hostname.clone().unwrap_or_else(|| name.clone());
        let mut config = PodConfig {
            labels: spec.labels,
            share: if spec.infra { spec.share } else { Vec::new() },
            hostname: hostname.clone(),
            infra_id: String::new(),
            exit_policy: spec.exit_policy,
            create_command: spec.create_command,
        };
        let row = PodRow {
            id: id.clone(),
            name: name.clone(),
            created: crate::process::now_nanos(),
            config: serde_json::to_string(&config).unwrap_or_default(),
        };
        {
            let _lock = self.lock()?;
            if !db::insert(&self.db.conn, &row)? {
                let other = self.pod(&name).map(|p| p.id).unwrap_or_default();
                return Err(PodError::Invalid(format!(
                    "the pod name {name:?} is already in use by {other}; remove that pod or use --replace"
                )));
            }
        }
        if spec.infra {
            let made = self.create_infra(
                &row,
                &config,
                spec.infra_spec,
                spec.infra_name,
                spec.infra_image,
                spec.infra_command,
            );
            match made {
                Ok(infra) => {
                    config.infra_id = infra.id;
                    db::set_config(
                        &self.db.conn,
                        &id,
                        &serde_json::to_string(&config).unwrap_or_default(),
                    )?;
                }
                Err(e) => {
                    let _lock = self.lock()?;
                    db::delete(&self.db.conn, &id)?;
                    return Err(e);
                }
            }
        }
        super::events::pod("create", &id, &name);
        self.pod(&id)
    }

    fn create_infra(
        &self,
        pod: &PodRow,
        config: &PodConfig,
        mut spec: CreateSpec,
        name: Option<String>,
        image: Option<String>,
        command: Option<Vec<String>>,
    ) -> Result<ContainerRow, PodError> {
        let image = image.or_else(|| crate::config::string("engine", "infra_image"));
        let found = match &image {
            Some(word) => self
                .find_or_pull(
                    word,
                    super::pull::PullPolicy::Missing,
                    &Default::default(),
                    // podman pulls an infra image without a word.
                    true,
                )
                .map_err(|e| PodError::Invalid(e.to_string()))?,
            None => self.pause_image()?,
        };
        spec.config.pod = pod.id.clone();
        spec.config.hostname = config.hostname.clone();
        // The runtime's own pause, or the image's command.
        spec.config.annotations.insert(
            crate::runtime::INFRA_ANNOTATION.into(),
            if image.is_some() { "image" } else { "true" }.into(),
        );
        spec.entrypoint = match (command, &image) {
            (Some(c), _) => Some(c),
            (None, Some(_)) => None,
            (None, None) => Some(vec!["/catatonit".into(), "-P".into()]),
        };
        spec.command = Vec::new();
        spec.healthcheck = super::create::HealthSpec::Disabled;
        // berth's own pause is no program another runtime could exec: it
        // is the built-in runtime's (a containers.conf `runtime` or a
        // global --runtime applies to the pod's members).
        if image.is_none() {
            spec.config.runtime = None;
        }
        // What `run` would default to, for a spec made by hand (`--pod new:`).
        spec.env.defaults = true;
        if spec.config.log_driver.is_empty() {
            spec.config.log_driver = "k8s-file".into();
        }
        if spec.config.stop_timeout == 0 {
            spec.config.stop_timeout = 10;
        }
        if spec.config.restart.name.is_empty() {
            spec.config.restart.name = "no".into();
        }
        let (row, _) = self.create(CreateRequest {
            name: Some(name.unwrap_or_else(|| format!("{}-infra", &pod.id[..12]))),
            image: found,
            spec,
            volumes_from: Vec::new(),
            requires: Vec::new(),
            replace: false,
        })?;
        Ok(row)
    }

    /// The infra containers' image: a few empty directories, made once
    /// (and again after a prune took it).
    fn pause_image(&self) -> Result<super::images::Found, PodError> {
        if let Ok(f) = self.find_image(&pause_image()) {
            return Ok(f);
        }
        let mut tar = tar::Builder::new(Vec::new());
        for d in ["dev", "etc", "proc", "run", "sys", "tmp"] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime(0);
            h.set_uid(0);
            h.set_gid(0);
            tar.append_data(&mut h, format!("{d}/"), std::io::empty())
                .map_err(|e| PodError::Invalid(format!("making the pause image: {e}")))?;
        }
        for f in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(0);
            h.set_mtime(0);
            h.set_uid(0);
            h.set_gid(0);
            tar.append_data(&mut h, f, std::io::empty())
                .map_err(|e| PodError::Invalid(format!("making the pause image: {e}")))?;
        }
        let bytes = tar
            .into_inner()
            .map_err(|e| PodError::Invalid(format!("making the pause image: {e}")))?;
        let run_config = crate::image::config::RunConfig {
            entrypoint: Some(vec!["/catatonit".into(), "-P".into()]),
            ..Default::default()
        };
        crate::image::archive::import(self, &bytes[..], run_config, None, vec![pause_image()])
            .map_err(|e| PodError::Invalid(format!("making the pause image: {e}")))?;
        self.find_image(&pause_image())
            .map_err(|e| PodError::Invalid(e.to_string()))
    }

    /// Make `spec` a member of `pod` (`run/create --pod`): it joins the
    /// infra container's shared namespaces, starts after it and takes the
    /// pod's hostname.
    pub fn join_pod(&self, spec: &mut CreateSpec, pod: &PodRow) -> Result<(), PodError> {
        let cfg = pod.config();
        spec.config.pod = pod.id.clone();
        if cfg.infra_id.is_empty() {
            return Ok(());
        }
        let infra = format!("container:{}", cfg.infra_id);
        for ns in &cfg.share {
            match ns.as_str() {
                "net" => {
                    if !spec.config.ports.is_empty() || spec.publish_all {
                        return Err(PodError::Invalid(
                            "invalid config provided: published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod".into(),
                        ));
                    }
                    spec.config.network = infra.clone();
                    spec.config.networks.clear();
                }
                "ipc" => spec.config.ipc = infra.clone(),
                "pid" => spec.config.pid = infra.clone(),
                "uts" => {
                    // (`run --pod new:` gives its --hostname to the pod.)
                    if !spec.config.hostname.is_empty() && spec.config.hostname != cfg.hostname {
                        return Err(PodError::Invalid(
                            "invalid config provided: cannot set hostname when joining the pod UTS namespace: invalid configuration".into(),
                        ));
                    }
                    spec.config.uts = infra.clone();
                    spec.config.hostname = cfg.hostname.clone();
                }
                _ => {}
            }
        }
        if !spec.config.requires.contains(&cfg.infra_id) {
            spec.config.requires.push(cfg.infra_id);
        }
        Ok(())
    }

    /// Start a pod: its infra container, then every member not running.
    /// Returns the errors of those that failed.
    pub fn start_pod(&mut self, pod: &PodRow) -> Result<Vec<String>, PodError> {
        let mut errors = Vec::new();
        for c in self.pod_members(pod)? {
            let c = self.container(&c.id)?;
            if c.is_running() {
                continue;
            }
            if let Err(e) = self.start_detached(&c) {
                errors.push(format!("starting container {}: {e}", c.id));
            }
        }
        super::events::pod("start", &pod.id, &pod.name);
        Ok(errors)
    }

    /// Stop a pod: its members side by side, then its infra container.
    pub fn stop_pod(&self, pod: &PodRow, timeout: Option<u64>) -> Result<Vec<String>, PodError> {
        let infra = pod.config().infra_id;
        let members = self.pod_members(pod)?;
        let mut errors = Vec::new();
        let (infras, others): (Vec<_>, Vec<_>) = members.into_iter().partition(|c| c.id == infra);
        for group in [others, infras] {
            let ids: Vec<String> = group.iter().map(|c| c.id.clone()).collect();
            if let Err(e) = self.stop_many(&ids, timeout, &mut |_, _| {}) {
                errors.push(format!("stopping the containers of pod {}: {e}", pod.id));
            }
        }
        super::events::pod("stop", &pod.id, &pod.name);
        Ok(errors)
    }

    /// Signal every running member.
    pub fn kill_pod(
        &self,
        pod: &PodRow,
        sig: rustix::process::Signal,
    ) -> Result<Vec<String>, PodError> {
        let mut errors = Vec::new();
        let mut any = false;
        for c in self.pod_members(pod)?.iter().filter(|c| c.is_running()) {
            any = true;
            if let Err(e) = self.kill(c, sig) {
                errors.push(e.to_string());
            }
        }
        if !any {
            return Err(PodError::Invalid(format!(
                "no containers in pod {} are running: container state improper",
                pod.id
            )));
        }
        super::events::pod("kill", &pod.id, &pod.name);
        Ok(errors)
    }

    /// Pause (or unpause) every running (or paused) member.
    pub fn pause_pod(&self, pod: &PodRow, frozen: bool) -> Result<Vec<String>, PodError> {
        let want = if frozen { "running" } else { "paused" };
        let mut errors = Vec::new();
        for c in self.pod_members(pod)?.iter().filter(|c| c.state == want) {
            if let Err(e) = self.pause(c, frozen) {
                errors.push(e.to_string());
            }
        }
        super::events::pod(if frozen { "pause" } else { "unpause" }, &pod.id, &pod.name);
        Ok(errors)
    }

    /// Remove a pod: with `force` its members are stopped and removed
    /// first; without, a pod with running members is refused.
    pub fn remove_pod(
        &self,
        pod: &PodRow,
        force: bool,
        timeout: Option<u64>,
    ) -> Result<(), PodError> {
        let infra = pod.config().infra_id;
        let members = self.pod_members(pod)?;
        // The infra container goes with its pod whatever its state (and so
        // do stopped members); running members need --force.
        if !force && let Some(c) = members.iter().find(|c| c.id != infra && c.is_running()) {
            return Err(PodError::Invalid(format!(
                "pod {} has containers that are not ready to be removed: cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
                pod.id, c.id
            )));
        }
        self.stop_pod(pod, timeout.or(Some(10)))?;
        let opts = super::lifecycle::RemoveOptions {
            force: true,
            volumes: false,
            depend: true,
            timeout: Some(timeout.unwrap_or(0)),
            with_pod: true,
        };
        // Members first: they require the infra container.
        let (infras, others): (Vec<_>, Vec<_>) = members.into_iter().partition(|c| c.id == infra);
        for c in others.iter().chain(infras.iter()) {
            let Ok(c) = self.container(&c.id) else {
                continue;
            };
            match self.remove(&c, &opts, &HashMap::new(), &mut |_| {}) {
                Ok(()) | Err(ContainerError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.forget_pod(pod).map_err(PodError::from)
    }

    /// podman's `--exit-policy stop`: once the last of a pod's containers
    /// (its infra container aside) has exited, the pod stops. Called by a
    /// member's monitor when it is done with its container.
    pub fn apply_exit_policy(&self, pod_id: &str) {
        let Ok(pod) = self.pod(pod_id) else {
            return;
        };
        let cfg = pod.config();
        if cfg.exit_policy != "stop" || cfg.infra_id.is_empty() {
            return;
        }
        let Ok(members) = self.pod_members(&pod) else {
            return;
        };
        if members
            .iter()
            .any(|c| c.id != cfg.infra_id && c.is_running())
        {
            return;
        }
        if let Some(infra) = members
            .iter()
            .find(|c| c.id == cfg.infra_id && c.is_running())
        {
            let _ = self.stop(infra, Some(10));
        }
    }

    /// Drop a pod's record, its containers gone.
    pub fn forget_pod(&self, pod: &PodRow) -> Result<(), ContainerError> {
        {
            let _lock = self.lock()?;
            db::delete(&self.db.conn, &pod.id)?;
        }
        // A kube pod's ConfigMap, Secret and emptyDir files.
        let _ = std::fs::remove_dir_all(self.kube_files_dir(&pod.id));
        super::events::pod("remove", &pod.id, &pod.name);
        Ok(())
    }

    /// Stop a pod, then start it again.
    pub fn restart_pod(
        &mut self,
        pod: &PodRow,
        timeout: Option<u64>,
    ) -> Result<Vec<String>, PodError> {
        let mut errors = self.stop_pod(pod, timeout)?;
        errors.extend(self.start_pod(pod)?);
        Ok(errors)
    }
}
