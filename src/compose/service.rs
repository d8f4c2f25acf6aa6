//! One service node -> [`Service`]: every key of the compose spec's service definition, validated.

use std::collections::BTreeMap;
use std::path::Path;

use super::model::*;
use super::node::{Node, Value};
use super::read::*;
use super::service_fields::*;
use super::{ComposeError, env};

/// Service keys the typed model reads; anything else is warned about.
pub const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "build",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// What converting a service needs from the project.
pub struct ServiceContext<'a> {
    pub dir: &'a Path,
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
}

/// Makes a path from the file absolute against the project dir (`~` is $HOME).
pub fn resolve_path(dir: &Path, p: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(rest) = p.strip_prefix('~')
        && (rest.is_empty() || rest.starts_with('/'))
        && let Some(home) = lookup("HOME")
    {
        return format!("{home}{rest}");
    }
    let path = Path::new(p);
    if path.is_absolute() {
        return p.to_string();
    }
    let joined = dir.join(path);
    // Lexically drop "." and "..", as compose-go's filepath.Abs does.
    let mut out = std::path::PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.display().to_string()
}

pub fn service(
    rd: &mut Reader,
    cx: &ServiceContext,
    name: &str,
    n: &Node,
    path: &str,
) -> R<Service> {
    let mut s = Service {
        origin: Origin {
            file: n.file.clone(),
            line: n.line,
        },
        ..Service::default()
    };
    if n.is_null() {
        return Ok(s);
    }
    let mut env_from_files = BTreeMap::new();
    for (k, v, p) in rd.entries(n, path, SERVICE_KEYS)? {
        let p = p.as_str();
        match k {
            "annotations" => s.annotations = dict_strings(v, p, '=')?,
            "attach" => s.attach = Some(boolean(v, p)?),
            "build" => s.build = Some(build(rd, cx, v, p)?),
            "cap_add" => s.cap_add = list(v, p)?,
            "cap_drop" => s.cap_drop = list(v, p)?,
            "cgroup_parent" => s.cgroup_parent = opt_string(v, p)?,
            "command" => s.command = command(v, p)?,
            "configs" => s.configs = file_refs(rd, v, p)?,
            "container_name" => s.container_name = opt_string(v, p)?,
            "cpu_shares" => s.cpu_shares = Some(int(v, p)?),
            "cpus" => s.cpus = Some(float(v, p)?),
            "cpuset" => s.cpuset = opt_string(v, p)?,
            "depends_on" => s.depends_on = depends_on(rd, v, p)?,
            "deploy" => s.deploy = Some(deploy(rd, v, p)?),
            "devices" => s.devices = devices(rd, v, p)?,
            "dns" => s.dns = string_or_list(v, p)?,
            "dns_opt" => s.dns_opt = list(v, p)?,
            "dns_search" => s.dns_search = string_or_list(v, p)?,
            "domainname" => s.domainname = opt_string(v, p)?,
            "entrypoint" => s.entrypoint = command(v, p)?,
            "env_file" => {
                s.env_file = env_files(rd, cx, v, p)?;
                for f in &s.env_file {
                    let vars = env::read_dotenv(&f.path, f.required, cx.lookup)?;
                    env_from_files.extend(vars);
                }
            }
            "environment" => {
                for (key, val) in dict(v, p, '=')? {
                    // compose: `KEY` alone (or `KEY:` null) takes the value from the environment, or is dropped.
                    if let Some(val) = val.or_else(|| (cx.lookup)(&key)) {
                        s.environment.insert(key, val);
                    }
                }
            }
            "expose" => s.expose = list(v, p)?,
            "external_links" => s.external_links = list(v, p)?,
            "extra_hosts" => s.extra_hosts = extra_hosts(v, p)?,
            "group_add" => s.group_add = list(v, p)?,
            "healthcheck" => s.healthcheck = Some(healthcheck(rd, v, p)?),
            "hostname" => s.hostname = opt_string(v, p)?,
            "image" => s.image = opt_string(v, p)?,
            "init" => s.init = Some(boolean(v, p)?),
            "ipc" => s.ipc = opt_string(v, p)?,
            "labels" => s.labels = dict_strings(v, p, '=')?,
            "links" => s.links = list(v, p)?,
            "logging" => s.logging = Some(logging(rd, v, p)?),
            "mem_limit" => s.mem_limit = Some(size(v, p)?),
            "mem_reservation" => s.mem_reservation = Some(size(v, p)?),
            "memswap_limit" => s.memswap_limit = Some(size(v, p)?),
            "network_mode" => s.network_mode = opt_string(v, p)?,
            "networks" => s.networks = service_networks(rd, v, p)?,
            "oom_score_adj" => s.oom_score_adj = Some(int(v, p)?),
            "pid" => s.pid = opt_string(v, p)?,
            "pids_limit" => s.pids_limit = Some(int(v, p)?),
            "platform" => s.platform = opt_string(v, p)?,
            "ports" => s.ports = ports(v, p)?,
            "privileged" => s.privileged = boolean(v, p)?,
            "profiles" => s.profiles = list(v, p)?,
            "pull_policy" => s.pull_policy = Some(pull_policy(v, p)?),
            "read_only" => s.read_only = boolean(v, p)?,
            "restart" => s.restart = Some(restart(v, p)?),
            "scale" => s.scale = Some(uint(v, p)?),
            "secrets" => s.secrets = file_refs(rd, v, p)?,
            "security_opt" => s.security_opt = list(v, p)?,
            "shm_size" => s.shm_size = Some(size(v, p)?),
            "stdin_open" => s.stdin_open = boolean(v, p)?,
            "stop_grace_period" => s.stop_grace_period = Some(duration(v, p)?),
            "stop_signal" => s.stop_signal = opt_string(v, p)?,
            "sysctls" => s.sysctls = dict_strings(v, p, '=')?,
            "tmpfs" => s.tmpfs = string_or_list(v, p)?,
            "tty" => s.tty = boolean(v, p)?,
            "ulimits" => s.ulimits = ulimits(rd, v, p)?,
            "user" => s.user = opt_string(v, p)?,
            "userns_mode" => s.userns_mode = opt_string(v, p)?,
            "volumes" => s.volumes = volumes(rd, cx, v, p)?,
            "working_dir" => s.working_dir = opt_string(v, p)?,
            // Known to the spec, not used by berth: accepted silently.
            _ => {}
        }
    }
    for (k, v) in env_from_files {
        s.environment.entry(k).or_insert(v);
    }
    add_implicit_dependencies(&mut s);
    if let Value::Map(m) = &n.value {
        for (k, v) in m.iter().filter(|(k, _)| k.name.starts_with("x-")) {
            s.extensions.insert(k.name.clone(), to_json(v));
        }
    }
    if s.image.is_none() && s.build.is_none() {
        return Err(ComposeError::at(
            n,
            path,
            format!("service {name:?} has neither an image nor a build context specified"),
        ));
    }
    Ok(s)
}

/// A node as JSON, for `x-*` extensions.
pub fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &n.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => J::from(*f),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.name.clone(), to_json(v)))
                .collect(),
        ),
    }
}

fn build(rd: &mut Reader, cx: &ServiceContext, n: &Node, path: &str) -> R<Build> {
    if let Some(ctx) = n.scalar_text() {
        return Ok(Build {
            context: resolve_path(cx.dir, &ctx, cx.lookup).into(),
            ..Build::default()
        });
    }
    let mut b = Build {
        context: cx.dir.to_path_buf(),
        ..Build::default()
    };
    let known = [
        "context",
        "dockerfile",
        "dockerfile_inline",
        "args",
        "target",
        "secrets",
        "labels",
        "network",
        "cache_from",
        "cache_to",
        "tags",
        "platforms",
        "no_cache",
        "pull",
        "ssh",
        "extra_hosts",
        "shm_size",
        "isolation",
        "privileged",
        "additional_contexts",
        "entitlements",
        "ulimits",
    ];
    for (k, v, p) in rd.entries(n, path, &known)? {
        let p = p.as_str();
        match k {
            "context" => b.context = resolve_path(cx.dir, &string(v, p)?, cx.lookup).into(),
            "dockerfile" => b.dockerfile = opt_string(v, p)?,
            "dockerfile_inline" => b.dockerfile_inline = opt_string(v, p)?,
            "args" => b.args = dict(v, p, '=')?,
            "target" => b.target = opt_string(v, p)?,
            "secrets" => b.secrets = file_refs(rd, v, p)?,
            "labels" => b.labels = dict_strings(v, p, '=')?,
            "network" => b.network = opt_string(v, p)?,
            "cache_from" => b.cache_from = list(v, p)?,
            "tags" => b.tags = list(v, p)?,
            "platforms" => b.platforms = list(v, p)?,
            "no_cache" => b.no_cache = boolean(v, p)?,
            "pull" => b.pull = boolean(v, p)?,
            _ => {}
        }
    }
    Ok(b)
}

/// compose-go: `links`, and `service:NAME` in network_mode, ipc and pid,
/// are dependencies too (started first, required).
fn add_implicit_dependencies(s: &mut Service) {
    let mut names: Vec<String> = s
        .links
        .iter()
        .map(|l| l.split(':').next().unwrap_or(l).to_string())
        .collect();
    for mode in [&s.network_mode, &s.ipc, &s.pid].into_iter().flatten() {
        if let Some(name) = mode.strip_prefix("service:") {
            names.push(name.to_string());
        }
    }
    for name in names {
        s.depends_on.entry(name).or_insert_with(|| Dependency {
            condition: Condition::ServiceStarted,
            restart: false,
            required: true,
            origin: s.origin.clone(),
        });
    }
}
