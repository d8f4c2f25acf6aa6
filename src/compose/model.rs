//! The typed compose project: services, networks, volumes, secrets, configs in normalized form.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// A loaded compose project, every relative path resolved against `working_dir`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Project {
    pub name: String,
    /// The project directory (the first compose file's directory).
    #[serde(skip)]
    pub working_dir: PathBuf,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, Secret>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, Config>,
}

/// Where a definition was written, for errors found after the typed parse.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: usize,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A Go duration as written ("1m30s") and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct GoDuration {
    pub text: String,
    pub duration: Duration,
}

impl GoDuration {
    pub fn seconds(&self) -> f64 {
        self.duration.as_secs_f64()
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::format::units::go_duration(
            self.duration.as_nanos() as u64
        ))
    }
}

/// One service, keys in the order `docker compose config` prints them (sorted).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Service {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// Replaces the image's CMD; a string in the file is shell-split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Already read into `environment`; kept for `config` output.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<EnvFile>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    /// host name -> address.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_hosts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<i64>,
    /// Bytes; -1 is unlimited swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Network name (project key) -> this service's settings on it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    #[serde(skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ServiceVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `x-*` keys, kept as written.
    #[serde(flatten)]
    pub extensions: BTreeMap<String, serde_json::Value>,
    /// Where the service is defined.
    #[serde(skip)]
    pub origin: Origin,
}

impl Service {
    /// How many containers to run: deploy.replicas, else scale, else 1.
    pub fn replicas(&self) -> u64 {
        self.deploy
            .as_ref()
            .and_then(|d| d.replicas)
            .or(self.scale)
            .unwrap_or(1)
    }
}

/// `build:` — the short form is the context alone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Build {
    pub context: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    /// A list item `KEY` without `=` is a build arg with no value (taken from the environment by the builder).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_cache: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub pull: bool,
}

/// `depends_on` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

/// One `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    pub restart: bool,
    pub required: bool,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceValues>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceValues>,
}

/// deploy.resources.limits / reservations.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceValues {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RestartPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<GoDuration>,
}

/// `env_file` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvFile {
    pub path: PathBuf,
    pub required: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", cmd]` or `["NONE"]`; a string in the file is CMD-SHELL.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<GoDuration>,
    #[serde(skip_serializing_if = "is_false")]
    pub disable: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A service's attachment to one network.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// A published or exposed port in long form; a short-syntax range of
/// targets becomes one entry per port, as compose-go expands it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Port {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// "ingress" (the default) or "host".
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    pub target: u16,
    /// A port or a range "8000-8010"; None lets the engine pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub protocol: String,
}

/// `volumes:` entry of a service, in long form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceVolume {
    #[serde(rename = "type")]
    pub kind: VolumeType,
    /// Volume name, or the absolute host path of a bind; None for an anonymous volume or tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeType {
    Volume,
    Bind,
    Tmpfs,
    Npipe,
    Image,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BindOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    pub create_host_path: bool,
    /// "z" or "Z".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "is_false")]
    pub nocopy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TmpfsOptions {
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// A service's use of a secret or config (short form: the name alone).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileRef {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    Always,
    Never,
    /// Also spelled `if_not_present`.
    Missing,
    Build,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

/// Top-level `networks:` entry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Network {
    /// The engine-side name: `name:`, else `<project>_<key>` (the key itself when external).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
}

/// Top-level `volumes:` entry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Top-level `secrets:` entry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Secret {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
}

/// Top-level `configs:` entry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
}
