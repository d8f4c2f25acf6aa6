//! Containers as the engine keeps them: the config a container was created
//! with, its directories, lookup by name or ID, its true state (a dead
//! monitor or container is noticed, never reported as running), removal.

use super::container_root::{containerenv, copy_timezone, prepare_upper};
pub use super::container_root::{link_mtab, read_image_file};
pub use super::names::{new_id, random_name};
use super::{Engine, EngineError};
use crate::process::{alive, now_nanos};
use crate::state::containers::{self as db, ContainerRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("no container with name or ID {0:?} found: no such container")]
    NotFound(String),
    #[error("{0:?}: container ID prefix is ambiguous; use more characters or the name")]
    Ambiguous(String),
    /// podman's words (scripts match them).
    #[error(
        "creating container storage: the container name {0:?} is already in use by {1}. You have to remove that container to be able to reuse that name: that name is already in use"
    )]
    NameInUse(String, String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    State(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
}

impl From<crate::state::DbError> for ContainerError {
    fn from(e: crate::state::DbError) -> Self {
        ContainerError::Engine(e.into())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RestartPolicy {
    /// "no", "on-failure", "always", "unless-stopped".
    pub name: String,
    pub max_retries: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Health {
    pub test: Vec<String>,
    pub interval_secs: u64,
    pub timeout_secs: u64,
    pub retries: u32,
    pub start_period_secs: u64,
}

/// A host path bound into the container (`-v /src:/dest[:ro]`, `--mount type=bind`).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Bind {
    pub source: String,
    pub destination: String,
    pub readonly: bool,
    /// rprivate (default), private, rshared, shared, rslave, slave.
    pub propagation: String,
    /// `:U`: chown the source to the container's user.
    #[serde(default)]
    pub chown: bool,
    /// Mount flags asked for: exec/noexec, suid/nosuid, dev/nodev.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// Everything `create`/`run` decided about a container.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct ContainerConfig {
    /// The image has no /etc/mtab: each start links it to /proc/mounts
    /// (podman's makePlatformMtabLink, done when the container is mounted
    /// to run, so a created container's export does not have it).
    pub mtab_link: bool,
    /// The argv to run (entrypoint + cmd, resolved).
    pub args: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub tty: bool,
    pub interactive: bool,
    /// Close the container's stdin when an attached client's input ends
    /// (docker's StdinOnce).
    pub stdin_once: bool,
    pub stop_signal: String,
    pub stop_timeout: u32,
    pub restart: RestartPolicy,
    pub init: bool,
    pub read_only: bool,
    pub tmpfs: Vec<String>,
    pub binds: Vec<Bind>,
    pub volumes: Vec<super::volumes::VolumeMount>,
    pub shm_size: u64,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub pids_limit: Option<i64>,
    /// `--cpu-quota`/`--cpu-period` (`update`): microseconds; they win over `--cpus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<u64>,
    /// `--memory-reservation` (`update`): the soft limit, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// `--blkio-weight` (`update`): 10..1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
    pub ulimits: Vec<Ulimit>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    /// None: the default profile; Some("unconfined"); Some(path to JSON).
    pub seccomp: Option<String>,
    /// "bridge" (the `networks` below), "private" (loopback only), "none",
    /// "host", "container:ID" or "ns:PATH".
    pub network: String,
    /// The networks asked for at create time (bridge mode); the endpoints
    /// the container has now are in the network database.
    pub networks: Vec<super::networks::NetworkRequest>,
    /// `--network pasta:OPTS` / `slirp4netns:OPTS`: the helper's arguments.
    pub network_options: Vec<String>,
    /// Published ports (random host ports already chosen).
    pub ports: Vec<crate::network::ports::PortMapping>,
    /// Ports published together with other containers (a kube Service's
    /// pods): the host listens in each with SO_REUSEPORT and relays to
    /// the container's own localhost (see network::forward).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_ports: Vec<crate::network::ports::PortMapping>,
    pub log_driver: String,
    pub log_max_size: Option<u64>,
    /// `--log-opt labels=A,B` / `env=X,Y`, as given: the container labels
    /// and variables `logs --details` shows with each line (docker's log
    /// attributes).
    pub log_details: Vec<String>,
    pub healthcheck: Option<Health>,
    pub runtime: Option<String>,
    /// `--pid`: "" (a pid namespace of its own) or "host".
    pub pid: String,
    /// `--timeout`: seconds each run may last before the monitor kills
    /// it (0: no limit).
    pub timeout: u32,
    pub rm: bool,
    /// "" (rootless: the user is root inside; rootful: no user namespace)
    /// or "keep-id".
    pub userns: String,
    /// The key sequence that detaches an attached terminal (`--detach-keys`).
    pub detach_keys: String,
    /// `--dns`, `--dns-search`, `--dns-option`: resolv.conf instead of the host's.
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--add-host NAME:IP` lines for /etc/hosts.
    pub add_hosts: Vec<String>,
    /// `--no-hosts`: leave the image's /etc/hosts alone.
    pub no_hosts: bool,
    /// `--tz`: a zoneinfo name, or "local" (the host's /etc/localtime).
    pub timezone: String,
    /// `--device-cgroup-rule` words ("c 7:* rmw").
    pub device_cgroup_rules: Vec<String>,
    /// `--conmon-pidfile`: where each start writes the monitor's PID.
    pub conmon_pidfile: Option<String>,
    /// `--pidfile`: where each start writes the container's PID.
    pub pidfile: Option<String>,
    /// The image's EXPOSE and `--expose`: "PORT/PROTO" (`-P` publishes them).
    pub exposed_ports: Vec<String>,
    /// `--group-add`: supplementary groups (group names of the image, or GIDs).
    pub group_add: Vec<String>,
    /// `--sysctl KEY=VALUE`: namespaced kernel parameters set at start.
    pub sysctls: BTreeMap<String, String>,
    /// `--cpuset-cpus`, `--cpuset-mems` ("" = no restriction).
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    /// `--uts`, `--ipc`: "" (a private namespace), "host", or for ipc "shareable".
    pub uts: String,
    pub ipc: String,
    /// `--health-on-failure`: "" / none, kill, restart, stop.
    pub health_on_failure: String,
    /// `--secret`: secrets copied in at create (see engine::secrets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<super::secrets::SecretRef>,
    /// `--requires`: the IDs of containers started before this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// The ID of the pod it belongs to ("" for none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod: String,
    /// `--sdnotify`: "conmon" (the monitor tells systemd READY=1 once the
    /// container runs, as MAINPID), "container" (the container's own
    /// NOTIFY_SOCKET messages relayed), "ignore"; "" when NOTIFY_SOCKET
    /// was not set at create time (nothing to tell).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sdnotify: String,
    /// `--cgroups`: "disabled" runs the container in its caller's cgroup;
    /// "split" (and `--cgroup-parent`) made `cgroup_parent` the parent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cgroups: String,
    /// The container's cgroup's parent ("" = berth's own, `berth/ID`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cgroup_parent: String,
    /// The command line that created it (podman's CreateCommand), and
    /// where in it the image word is (what follows is the command):
    /// `generate systemd --new` runs it again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_command: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_image_at: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ContainerRow {
    /// The state as podman names it (a stopped container has "exited").
    pub fn podman_state(&self) -> &str {
        match self.state.as_str() {
            "stopped" => "exited",
            s => s,
        }
    }

    pub fn config(&self) -> ContainerConfig {
        serde_json::from_str(&self.config).unwrap_or_default()
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused" | "stopping")
    }

    /// podman's STATUS column (docker's `Status`): "Up 5 seconds",
    /// "Exited (0) 3 minutes ago", with the health state after.
    pub fn status_text(&self, now: i64) -> String {
        let ago = |t: i64| crate::format::units::human_duration((now - t) / 1_000_000_000);
        let health = match self.health.as_str() {
            "" => String::new(),
            h => format!(" ({h})"),
        };
        match self.state.as_str() {
            "running" => format!("Up {}{health}", ago(self.started)),
            "paused" => "Paused".into(),
            "stopping" => "Stopping".into(),
            "exited" | "stopped" => {
                format!("Exited ({}) {} ago", self.exit_code, ago(self.finished))
            }
            "created" => "Created".into(),
            other => other.to_string(),
        }
    }
}

impl Engine {
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.paths.root.join("containers").join(id)
    }

    pub fn container_rundir(&self, id: &str) -> PathBuf {
        self.paths.runroot.join("containers").join(id)
    }

    /// A running container whose monitor died (SIGKILL, OOM) is dead too:
    /// the init has PR_SET_PDEATHSIG(SIGKILL) on its monitor. Record it.
    pub(crate) fn refresh(&self, mut c: ContainerRow) -> Result<ContainerRow, ContainerError> {
        if !c.is_running() || alive(c.monitor_pid, c.monitor_start) {
            return Ok(c);
        }
        // The monitor is gone: make sure the container is too.
        if alive(c.pid, c.pid_start) {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(c.pid as i32).expect("pid > 0"),
                rustix::process::Signal::KILL,
            );
        }
        // Compare-and-set in one statement: no lock needed, so callers that
        // hold the writer lock may refresh too.
        if db::set_exited_if(&self.db.conn, &c.id, c.monitor_pid, 137, now_nanos())? {
            self.cleanup_after_exit(&c);
        }
        c = db::get(&self.db.conn, &c.id)?.ok_or_else(|| ContainerError::NotFound(c.id.clone()))?;
        Ok(c)
    }

    pub fn container(&self, word: &str) -> Result<ContainerRow, ContainerError> {
        match db::lookup(&self.db.conn, word)? {
            Ok(c) => self.refresh(c),
            Err(0) => Err(ContainerError::NotFound(word.into())),
            Err(_) => Err(ContainerError::Ambiguous(word.into())),
        }
    }

    pub fn containers(&self) -> Result<Vec<ContainerRow>, ContainerError> {
        db::list(&self.db.conn)?
            .into_iter()
            .map(|c| self.refresh(c))
            .collect()
    }
}

/// What `create` needs besides the config.
pub struct NewContainer<'a> {
    pub name: Option<String>,
    pub image: &'a crate::state::images::ImageRecord,
    /// The name the user gave the image, as `ps` shows it.
    pub image_name: String,
    pub config: ContainerConfig,
}

/// Gives a container's addresses back unless creation got to the end.
struct ReleaseOnError<'a> {
    db: Option<&'a crate::state::Db>,
    id: &'a str,
}

impl Drop for ReleaseOnError<'_> {
    fn drop(&mut self) {
        if let Some(d) = self.db {
            let _ = crate::state::networks::delete_endpoints_of_container(&d.conn, self.id);
        }
    }
}

impl Engine {
    /// Create a container: record, directories, generated /etc files and the
    /// OCI bundle (config.json). Nothing runs yet.
    pub fn create_container(&self, n: NewContainer) -> Result<ContainerRow, ContainerError> {
        // Held throughout, so that a generated name is still free when the
        // record goes in, whatever runs in parallel.
        let _lock = self.lock()?;
        let id = new_id();
        let mut cfg = n.config;
        let name = match n.name {
            Some(name) => {
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                    || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
                {
                    return Err(ContainerError::Invalid(format!(
                        "invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    )));
                }
                name
            }
            None => {
                let mut name = random_name(&id);
                let mut i = 2;
                while db::name_taken(&self.db.conn, &name)?.is_some() {
                    name = format!("{}{i}", random_name(&id));
                    i += 1;
                }
                name
            }
        };
        if cfg.hostname.is_empty() {
            cfg.hostname = id[..12].to_string();
        }
        let dir = self.container_dir(&id);
        let io = |what: &str| {
            let what = what.to_string();
            move |e: std::io::Error| ContainerError::Engine(EngineError::Io(what, e))
        };
        for d in ["upper", "work", "rootfs"] {
            std::fs::create_dir_all(dir.join(d)).map_err(io("creating the container directory"))?;
        }
        cfg.mtab_link = prepare_upper(self, &n.image.layers, &dir.join("upper"))
            .map_err(io("preparing the container's root"))?;
        let passwd = read_image_file(self, &n.image.layers, "etc/passwd").unwrap_or_default();
        let group = read_image_file(self, &n.image.layers, "etc/group").unwrap_or_default();
        let mut user = crate::runtime::user::resolve(&cfg.user, &passwd, &group)
            .map_err(ContainerError::Invalid)?;
        crate::runtime::user::add_groups(&mut user, &cfg.group_add, &group)
            .map_err(ContainerError::Invalid)?;
        if !cfg.env.iter().any(|e| e.starts_with("HOME=")) {
            cfg.env.push(format!(
                "HOME={}",
                if user.home.is_empty() {
                    "/"
                } else {
                    &user.home
                }
            ));
        }
        // Addresses first: /etc/hosts and resolv.conf name them. Given back
        // if anything below fails.
        let mut endpoints = Vec::new();
        let mut netdb = None;
        if cfg.network == "bridge" {
            let nd = self.netdb()?;
            let root = self.root_key();
            super::networks::sweep_stale(&nd, &root, |c| {
                db::get(&self.db.conn, c).ok().flatten().is_some()
            })?;
            endpoints = super::networks::allocate(&nd, &root, &id, &cfg.networks)?;
            netdb = Some(nd);
        }
        let release = ReleaseOnError {
            db: netdb.as_ref(),
            id: &id,
        };
        for p in cfg.ports.iter_mut().filter(|p| p.host_port == 0) {
            p.host_port =
                crate::network::ports::random_port(p).map_err(io("choosing a random host port"))?;
        }
        // podman's /etc/hosts and resolv.conf (network::etcfiles).
        let net = crate::network::etcfiles::NetSettings {
            hostname: &cfg.hostname,
            network: &cfg.network,
            network_options: &cfg.network_options,
            add_hosts: &cfg.add_hosts,
            dns: &cfg.dns,
            dns_search: &cfg.dns_search,
            dns_options: &cfg.dns_options,
        };
        let hosts = crate::network::etcfiles::container_hosts(
            &net,
            &name,
            &endpoints,
            self.paths.rootless,
            || read_image_file(self, &n.image.layers, "etc/hosts"),
        )
        .map_err(ContainerError::Invalid)?;
        let resolv = crate::network::etcfiles::container_resolv(&net, &endpoints);
        let mut files = vec![("/etc/hostname", format!("{}\n", cfg.hostname))];
        let mut etc_files = Vec::new();
        // Another container's network (a pod's members: the infra's): its
        // very hosts file and resolv.conf, as podman shares them (the
        // monitor adds this one's name to the hosts file while it runs).
        match cfg.network.strip_prefix("container:") {
            Some(other) => {
                let od = self.container_dir(other);
                for (dest, file) in [("/etc/hosts", "hosts"), ("/etc/resolv.conf", "resolv.conf")] {
                    if od.join(file).exists() && (dest != "/etc/hosts" || !cfg.no_hosts) {
                        etc_files.push((dest.to_string(), od.join(file).display().to_string()));
                    }
                }
            }
            None => {
                files.push(("/etc/resolv.conf", resolv));
                if !cfg.no_hosts {
                    files.insert(0, ("/etc/hosts", hosts));
                }
            }
        }
        files.push((
            "/run/.containerenv",
            containerenv(
                &cfg,
                &name,
                &id,
                &n.image_name,
                n.image.id.hex(),
                self.paths.rootless,
            ),
        ));
        for (dest, content) in files {
            let p = dir.join(
                dest.trim_start_matches("/etc/")
                    .trim_start_matches("/run/."),
            );
            std::fs::write(&p, content).map_err(io("writing the container's /etc files"))?;
            etc_files.push((dest.to_string(), p.display().to_string()));
        }
        if !cfg.timezone.is_empty() {
            let p = dir.join("localtime");
            copy_timezone(&cfg.timezone, &p)?;
            etc_files.push(("/etc/localtime".into(), p.display().to_string()));
        }
        let lower: Vec<String> = n
            .image
            .layers
            .iter()
            .rev()
            .map(|l| format!("{}/diff", l.hex()))
            .collect();
        let overlay = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.join(":"),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        let rootfs = dir.join("rootfs").display().to_string();
        let mut volume_sources = Vec::new();
        // What the spec mounts: volumes with driver options turn into
        // tmpfs or bind mounts.
        let mut spec_cfg = cfg.clone();
        if cfg.sdnotify == "container" {
            // The monitor's relay socket (monitor::notify), made at each start.
            etc_files.push((
                "/run/notify".into(),
                self.container_rundir(&id)
                    .join("notify")
                    .display()
                    .to_string(),
            ));
            spec_cfg
                .env
                .push("NOTIFY_SOCKET=/run/notify/notify.sock".into());
        }
        self.apply_secrets(&dir, &mut cfg, &mut spec_cfg)
            .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let chown_err =
            |e: std::io::Error| ContainerError::Invalid(format!("chowning for :U: {e}"));
        for b in cfg.binds.iter().filter(|b| b.chown) {
            super::volumes::chown_tree(std::path::Path::new(&b.source), user.uid, user.gid)
                .map_err(chown_err)?;
        }
        for v in &cfg.volumes {
            let vol = self.create_volume(Some(&v.name), BTreeMap::new(), v.anonymous, true)?;
            let o = vol.options.get("o").cloned().unwrap_or_default();
            if vol.options.get("type").is_some_and(|t| t == "tmpfs") {
                spec_cfg.tmpfs.push(format!("{}:{o}", v.destination));
                continue;
            }
            if o.split(',').any(|x| x == "bind")
                || vol.options.get("type").is_some_and(|t| t == "bind")
            {
                let device = vol.options.get("device").cloned().unwrap_or_default();
                spec_cfg.binds.push(Bind {
                    source: device,
                    destination: v.destination.clone(),
                    readonly: v.readonly,
                    propagation: String::new(),
                    chown: false,
                    options: v.options.clone(),
                });
                continue;
            }
            if v.chown {
                super::volumes::chown_tree(&self.volume_data(&v.name), user.uid, user.gid)
                    .map_err(chown_err)?;
            }
            volume_sources.push((
                v.clone(),
                self.volume_data(&v.name).display().to_string(),
                self.volume_dir(&v.name)
                    .join("populated")
                    .display()
                    .to_string(),
            ));
        }
        let spec_in = crate::engine::spec::SpecInputs {
            id: &id,
            config: &spec_cfg,
            rootfs: &rootfs,
            user: &user,
            etc_files: &etc_files,
            cgroups_path: &spec_cfg.cgroup_path(&id).unwrap_or_default(),
            overlay: &overlay,
            volumes: &volume_sources,
            rootless: self.paths.rootless,
        };
        let mut spec = crate::engine::spec::build(&spec_in).map_err(ContainerError::Invalid)?;
        let seccomp = match cfg.seccomp.as_deref() {
            Some("unconfined") => None,
            Some(path) => {
                Some(crate::runtime::seccomp::from_file(path).map_err(ContainerError::Invalid)?)
            }
            None if cfg.privileged => None,
            None => {
                let caps: Vec<String> =
                    crate::runtime::caps::resolve(cfg.privileged, &cfg.cap_add, &cfg.cap_drop)
                        .map_err(ContainerError::Invalid)?
                        .into_iter()
                        .collect();
                Some(crate::runtime::seccomp::default_profile(&caps))
            }
        };
        if let (Some(s), Some(linux)) = (seccomp, spec.linux_mut().as_mut()) {
            linux.set_seccomp(Some(s));
        }
        self.write_secret_copies(&dir, &cfg, &spec)
            .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let json =
            serde_json::to_vec_pretty(&spec).map_err(|e| ContainerError::Invalid(e.to_string()))?;
        // 0600: it holds the `-e` secrets (see process::private).
        crate::process::private::write(&dir.join("config.json"), &json)
            .map_err(io("writing config.json"))?;
        let row = ContainerRow {
            id: id.clone(),
            name: name.clone(),
            image_id: n.image.id.hex().to_string(),
            image_name: n.image_name,
            created: now_nanos(),
            config: serde_json::to_string(&cfg)
                .map_err(|e| ContainerError::Invalid(e.to_string()))?,
            state: "created".into(),
            pid: 0,
            pid_start: 0,
            monitor_pid: 0,
            monitor_start: 0,
            started: 0,
            finished: 0,
            exit_code: 0,
            oom_killed: false,
            restart_count: 0,
            health: String::new(),
            interrupted: false,
        };
        if let Some(other) = db::name_taken(&self.db.conn, &name)? {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(ContainerError::NameInUse(name, other));
        }
        db::insert(&self.db.conn, &row)?;
        std::mem::forget(release);
        super::events::container("create", &row);
        Ok(row)
    }

    /// Remove a container's record and files. A running one is killed first
    /// when `force`, else refused.
    pub fn remove_container(&self, c: &ContainerRow, force: bool) -> Result<(), ContainerError> {
        // Decide on a fresh record under the writer lock: the monitor marks a
        // container running under the same lock, so a container is either
        // seen running here (and killed) or finds its record gone (and dies).
        let mut lock = self.lock()?;
        let Some(fresh) = db::get(&self.db.conn, &c.id)? else {
            return Ok(());
        };
        let c = self.refresh(fresh)?;
        if c.is_running() {
            if !force {
                return Err(ContainerError::State(format!(
                    "cannot remove container {} as it is {} - running or paused containers cannot be removed without force: container state improper",
                    c.id, c.state
                )));
            }
            // "stopping" keeps the monitor from applying a restart policy.
            db::set_state(&self.db.conn, &c.id, "stopping")?;
            drop(lock);
            self.kill_and_wait(
                &c,
                rustix::process::Signal::KILL,
                std::time::Duration::from_secs(10),
            )?;
            lock = self.lock()?;
        }
        db::delete(&self.db.conn, &c.id)?;
        drop(lock);
        super::endpoints::teardown(self, &c, true);
        self.cleanup_after_exit(&c);
        let dir = self.container_dir(&c.id);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(self.container_rundir(&c.id));
        super::events::container("remove", &c);
        Ok(())
    }

    /// The containers that join this one's namespaces (`--network`,
    /// `--ipc`, `--uts`, `--pid container:X`) or require it: podman refuses
    /// to remove it before them.
    pub fn dependents(&self, c: &ContainerRow) -> Result<Vec<ContainerRow>, ContainerError> {
        let mut out = Vec::new();
        for other in db::list(&self.db.conn)? {
            if other.id == c.id {
                continue;
            }
            let cfg = other.config();
            if cfg.requires.contains(&c.id) {
                out.push(other);
                continue;
            }
            let joins = [&cfg.network, &cfg.ipc, &cfg.uts, &cfg.pid]
                .iter()
                .filter_map(|m| m.strip_prefix("container:"))
                .any(|word| {
                    word == c.id
                        || word == c.name
                        || matches!(db::lookup(&self.db.conn, word), Ok(Ok(t)) if t.id == c.id)
                });
            if joins {
                out.push(other);
            }
        }
        Ok(out)
    }

    /// Remove the anonymous volumes a (removed) container had (`rm -v`,
    /// `run --rm`).
    pub fn remove_anonymous_volumes(&self, cfg: &ContainerConfig) {
        for v in cfg.volumes.iter().filter(|v| v.anonymous) {
            let _ = self.remove_volume(&v.name, false);
        }
    }

    /// Signal the container's init and wait (up to `timeout`) for its
    /// monitor to record the exit.
    pub fn kill_and_wait(
        &self,
        c: &ContainerRow,
        sig: rustix::process::Signal,
        timeout: std::time::Duration,
    ) -> Result<bool, ContainerError> {
        if alive(c.pid, c.pid_start)
            && let Some(pid) = rustix::process::Pid::from_raw(c.pid as i32)
        {
            let _ = rustix::process::kill_process(pid, sig);
        }
        self.wait_exit(c, timeout)
    }

    /// Wait (up to `timeout`) for the container's monitor to record its
    /// exit, sending nothing. True once it has.
    pub fn wait_exit(
        &self,
        c: &ContainerRow,
        timeout: std::time::Duration,
    ) -> Result<bool, ContainerError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if !alive(c.monitor_pid, c.monitor_start) && !alive(c.pid, c.pid_start) {
                // A `--rm` container's monitor removes the record at exit:
                // then it is stopped, and gone, which is not an error.
                if let Some(fresh) = db::get(&self.db.conn, &c.id)? {
                    self.refresh(fresh)?;
                }
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
