//! One service node -> [`Service`]: every key of the compose spec's service definition, validated.

use std::collections::BTreeMap;
use std::path::Path;

use super::model::*;
use super::node::{Node, Value};
use super::read::*;
use super::syntax::{parse_port, parse_volume_short};
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

fn file_refs(rd: &mut Reader, n: &Node, path: &str) -> R<Vec<FileRef>> {
    let Value::Seq(items) = &n.value else {
        return Err(wrong(n, path, "a list"));
    };
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Some(source) = x.scalar_text() {
            out.push(FileRef {
                source,
                ..FileRef::default()
            });
            continue;
        }
        let mut f = FileRef::default();
        for (k, v, q) in rd.entries(x, &p, &["source", "target", "uid", "gid", "mode"])? {
            match k {
                "source" => f.source = string(v, &q)?,
                "target" => f.target = opt_string(v, &q)?,
                "uid" => f.uid = opt_string(v, &q)?,
                "gid" => f.gid = opt_string(v, &q)?,
                _ => f.mode = Some(mode(v, &q)?),
            }
        }
        if f.source.is_empty() {
            return Err(ComposeError::at(x, &p, "source is required".into()));
        }
        out.push(f);
    }
    Ok(out)
}

/// A file mode: an integer (YAML 0o440 / 288) or an octal string "0440".
fn mode(n: &Node, path: &str) -> R<u32> {
    match &n.value {
        Value::Int(i) => {
            u32::try_from(*i).map_err(|_| ComposeError::at(n, path, format!("invalid mode {i}")))
        }
        _ => {
            let s = string(n, path)?;
            u32::from_str_radix(s.trim_start_matches("0o"), 8)
                .map_err(|_| ComposeError::at(n, path, format!("invalid mode {s:?}")))
        }
    }
}

fn depends_on(rd: &mut Reader, n: &Node, path: &str) -> R<BTreeMap<String, Dependency>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(items) => {
            for (i, x) in items.iter().enumerate() {
                let name = string(x, &format!("{path}[{i}]"))?;
                out.insert(
                    name,
                    Dependency {
                        condition: Condition::ServiceStarted,
                        restart: false,
                        required: true,
                        origin: Origin {
                            file: x.file.clone(),
                            line: x.line,
                        },
                    },
                );
            }
        }
        Value::Map(m) => {
            for (key, x) in m {
                let p = format!("{path}.{}", key.name);
                let mut d = Dependency {
                    condition: Condition::ServiceStarted,
                    restart: false,
                    required: true,
                    origin: Origin {
                        file: x.file.clone(),
                        line: key.line,
                    },
                };
                if !x.is_null() {
                    for (k, v, q) in rd.entries(x, &p, &["condition", "restart", "required"])? {
                        match k {
                            "condition" => {
                                d.condition = match string(v, &q)?.as_str() {
                                    "service_started" => Condition::ServiceStarted,
                                    "service_healthy" => Condition::ServiceHealthy,
                                    "service_completed_successfully" => {
                                        Condition::ServiceCompletedSuccessfully
                                    }
                                    other => {
                                        return Err(ComposeError::at(
                                            v,
                                            &q,
                                            format!("invalid condition {other:?}"),
                                        ));
                                    }
                                }
                            }
                            "restart" => d.restart = boolean(v, &q)?,
                            _ => d.required = boolean(v, &q)?,
                        }
                    }
                }
                out.insert(key.name.clone(), d);
            }
        }
        _ => return Err(wrong(n, path, "a list or a mapping")),
    }
    Ok(out)
}

fn deploy(rd: &mut Reader, n: &Node, path: &str) -> R<Deploy> {
    let mut d = Deploy::default();
    let known = [
        "mode",
        "replicas",
        "labels",
        "resources",
        "restart_policy",
        "placement",
        "update_config",
        "rollback_config",
        "endpoint_mode",
    ];
    for (k, v, p) in rd.entries(n, path, &known)? {
        let p = p.as_str();
        match k {
            "mode" => d.mode = opt_string(v, p)?,
            "replicas" => d.replicas = Some(uint(v, p)?),
            "labels" => d.labels = dict_strings(v, p, '=')?,
            "resources" => {
                let mut r = Resources::default();
                for (k, v, q) in rd.entries(v, p, &["limits", "reservations"])? {
                    let vals = resource_values(rd, v, &q)?;
                    if k == "limits" {
                        r.limits = Some(vals);
                    } else {
                        r.reservations = Some(vals);
                    }
                }
                d.resources = Some(r);
            }
            "restart_policy" => {
                let mut rp = RestartPolicy::default();
                let known = ["condition", "delay", "max_attempts", "window"];
                for (k, v, q) in rd.entries(v, p, &known)? {
                    match k {
                        "condition" => rp.condition = opt_string(v, &q)?,
                        "delay" => rp.delay = Some(duration(v, &q)?),
                        "max_attempts" => rp.max_attempts = Some(uint(v, &q)?),
                        _ => rp.window = Some(duration(v, &q)?),
                    }
                }
                d.restart_policy = Some(rp);
            }
            _ => {}
        }
    }
    Ok(d)
}

fn resource_values(rd: &mut Reader, n: &Node, path: &str) -> R<ResourceValues> {
    let mut r = ResourceValues::default();
    for (k, v, p) in rd.entries(
        n,
        path,
        &["cpus", "memory", "pids", "devices", "generic_resources"],
    )? {
        match k {
            "cpus" => r.cpus = Some(float(v, &p)?),
            "memory" => r.memory = Some(size(v, &p)?),
            "pids" => r.pids = Some(int(v, &p)?),
            _ => {}
        }
    }
    Ok(r)
}

fn devices(rd: &mut Reader, n: &Node, path: &str) -> R<Vec<String>> {
    let Value::Seq(items) = &n.value else {
        return Err(wrong(n, path, "a list"));
    };
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Some(s) = x.scalar_text() {
            out.push(s);
            continue;
        }
        let (mut src, mut dst, mut perm) = (String::new(), None, None);
        for (k, v, q) in rd.entries(x, &p, &["source", "target", "permissions"])? {
            match k {
                "source" => src = string(v, &q)?,
                "target" => dst = opt_string(v, &q)?,
                _ => perm = opt_string(v, &q)?,
            }
        }
        let dst = dst.unwrap_or_else(|| src.clone());
        out.push(match perm {
            Some(perm) => format!("{src}:{dst}:{perm}"),
            None => format!("{src}:{dst}"),
        });
    }
    Ok(out)
}

fn env_files(rd: &mut Reader, cx: &ServiceContext, n: &Node, path: &str) -> R<Vec<EnvFile>> {
    let items: Vec<&Node> = match &n.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![n],
    };
    let mut out = Vec::new();
    for (i, x) in items.into_iter().enumerate() {
        let p = if matches!(n.value, Value::Seq(_)) {
            format!("{path}[{i}]")
        } else {
            path.to_string()
        };
        let (file, required) = match x.scalar_text() {
            Some(f) => (f, true),
            None => {
                let (mut f, mut req) = (String::new(), true);
                for (k, v, q) in rd.entries(x, &p, &["path", "required", "format"])? {
                    match k {
                        "path" => f = string(v, &q)?,
                        "required" => req = boolean(v, &q)?,
                        _ => {}
                    }
                }
                (f, req)
            }
        };
        out.push(EnvFile {
            path: resolve_path(cx.dir, &file, cx.lookup).into(),
            required,
        });
    }
    Ok(out)
}

fn extra_hosts(n: &Node, path: &str) -> R<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(items) => {
            for (i, x) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                let s = string(x, &p)?;
                // "host=ip" (compose >= 2.24) or "host:ip"; an IPv6 address has colons itself.
                let (h, ip) = s
                    .split_once('=')
                    .or_else(|| s.split_once(':'))
                    .ok_or_else(|| ComposeError::at(x, &p, format!("invalid extra host {s:?}")))?;
                out.insert(h.to_string(), ip.trim_matches(['[', ']']).to_string());
            }
        }
        _ => out = dict_strings(n, path, '=')?,
    }
    Ok(out)
}

fn healthcheck(rd: &mut Reader, n: &Node, path: &str) -> R<Healthcheck> {
    let mut h = Healthcheck::default();
    let known = [
        "test",
        "interval",
        "timeout",
        "retries",
        "start_period",
        "start_interval",
        "disable",
    ];
    for (k, v, p) in rd.entries(n, path, &known)? {
        let p = p.as_str();
        match k {
            "test" => {
                h.test = match &v.value {
                    Value::Seq(_) => list(v, p)?,
                    _ => vec!["CMD-SHELL".to_string(), string(v, p)?],
                }
            }
            "interval" => h.interval = Some(duration(v, p)?),
            "timeout" => h.timeout = Some(duration(v, p)?),
            "retries" => h.retries = Some(uint(v, p)?),
            "start_period" => h.start_period = Some(duration(v, p)?),
            "start_interval" => h.start_interval = Some(duration(v, p)?),
            _ => h.disable = boolean(v, p)?,
        }
    }
    if h.test.first().map(String::as_str) == Some("NONE") {
        h.disable = true;
    }
    Ok(h)
}

fn logging(rd: &mut Reader, n: &Node, path: &str) -> R<Logging> {
    let mut l = Logging::default();
    for (k, v, p) in rd.entries(n, path, &["driver", "options"])? {
        if k == "driver" {
            l.driver = opt_string(v, &p)?;
        } else {
            l.options = dict_strings(v, &p, '=')?;
        }
    }
    Ok(l)
}

fn service_networks(
    rd: &mut Reader,
    n: &Node,
    path: &str,
) -> R<BTreeMap<String, Option<ServiceNetwork>>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(_) => {
            for name in list(n, path)? {
                out.insert(name, None);
            }
        }
        Value::Map(m) => {
            for (key, x) in m {
                let p = format!("{path}.{}", key.name);
                if x.is_null() {
                    out.insert(key.name.clone(), None);
                    continue;
                }
                let mut sn = ServiceNetwork::default();
                let known = [
                    "aliases",
                    "ipv4_address",
                    "ipv6_address",
                    "mac_address",
                    "priority",
                    "link_local_ips",
                    "driver_opts",
                    "gw_priority",
                    "interface_name",
                ];
                for (k, v, q) in rd.entries(x, &p, &known)? {
                    match k {
                        "aliases" => sn.aliases = list(v, &q)?,
                        "ipv4_address" => sn.ipv4_address = opt_string(v, &q)?,
                        "ipv6_address" => sn.ipv6_address = opt_string(v, &q)?,
                        "mac_address" => sn.mac_address = opt_string(v, &q)?,
                        "priority" => sn.priority = Some(int(v, &q)?),
                        _ => {}
                    }
                }
                out.insert(key.name.clone(), Some(sn));
            }
        }
        _ => return Err(wrong(n, path, "a list or a mapping")),
    }
    Ok(out)
}

fn ports(n: &Node, path: &str) -> R<Vec<Port>> {
    let Value::Seq(items) = &n.value else {
        return Err(wrong(n, path, "a list"));
    };
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match &x.value {
            Value::Map(_) => out.push(port_long(x, &p)?),
            _ => {
                let s = string(x, &p)?;
                let parsed = parse_port(&s)
                    .ok_or_else(|| ComposeError::at(x, &p, format!("invalid port {s:?}")))?;
                out.extend(parsed);
            }
        }
    }
    Ok(out)
}

fn port_long(n: &Node, path: &str) -> R<Port> {
    let mut port = Port {
        name: None,
        mode: "ingress".into(),
        host_ip: None,
        target: 0,
        published: None,
        protocol: "tcp".into(),
    };
    let Value::Map(m) = &n.value else {
        unreachable!()
    };
    for (k, v) in m {
        let p = format!("{path}.{}", k.name);
        match k.name.as_str() {
            "target" => {
                let t = int(v, &p)?;
                port.target = u16::try_from(t)
                    .ok()
                    .filter(|t| *t > 0)
                    .ok_or_else(|| ComposeError::at(v, &p, format!("invalid port {t}")))?;
            }
            "published" => port.published = opt_string(v, &p)?,
            "host_ip" => port.host_ip = opt_string(v, &p)?,
            "protocol" => port.protocol = string(v, &p)?,
            "mode" => port.mode = string(v, &p)?,
            "name" => port.name = opt_string(v, &p)?,
            "app_protocol" => {}
            other if other.starts_with("x-") => {}
            other => {
                return Err(ComposeError::at(
                    v,
                    path,
                    format!("unknown port key {other:?}"),
                ));
            }
        }
    }
    if port.target == 0 {
        return Err(ComposeError::at(n, path, "target is required".into()));
    }
    Ok(port)
}

fn pull_policy(n: &Node, path: &str) -> R<PullPolicy> {
    Ok(match string(n, path)?.as_str() {
        "always" => PullPolicy::Always,
        "never" => PullPolicy::Never,
        "missing" | "if_not_present" => PullPolicy::Missing,
        "build" => PullPolicy::Build,
        other => {
            return Err(ComposeError::at(
                n,
                path,
                format!("invalid pull_policy {other:?}"),
            ));
        }
    })
}

fn restart(n: &Node, path: &str) -> R<String> {
    let s = string(n, path)?;
    let ok = match s.split_once(':') {
        Some(("on-failure", count)) => count.parse::<u32>().is_ok(),
        Some(_) => false,
        None => matches!(
            s.as_str(),
            "no" | "always" | "on-failure" | "unless-stopped"
        ),
    };
    if !ok {
        return Err(ComposeError::at(
            n,
            path,
            format!("invalid restart policy {s:?}"),
        ));
    }
    Ok(s)
}

fn ulimits(rd: &mut Reader, n: &Node, path: &str) -> R<BTreeMap<String, Ulimit>> {
    let Value::Map(m) = &n.value else {
        return Err(wrong(n, path, "a mapping"));
    };
    let mut out = BTreeMap::new();
    for (key, x) in m {
        let p = format!("{path}.{}", key.name);
        let u = match &x.value {
            Value::Map(_) => {
                let (mut soft, mut hard) = (None, None);
                for (k, v, q) in rd.entries(x, &p, &["soft", "hard"])? {
                    if k == "soft" {
                        soft = Some(int(v, &q)?);
                    } else {
                        hard = Some(int(v, &q)?);
                    }
                }
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ulimit { soft, hard },
                    _ => {
                        return Err(ComposeError::Invalid {
                            file: x.file.to_string(),
                            line: key.line,
                            path: p,
                            msg: "needs both soft and hard".into(),
                        });
                    }
                }
            }
            _ => {
                let v = int(x, &p)?;
                Ulimit { soft: v, hard: v }
            }
        };
        out.insert(key.name.clone(), u);
    }
    Ok(out)
}

fn volumes(rd: &mut Reader, cx: &ServiceContext, n: &Node, path: &str) -> R<Vec<ServiceVolume>> {
    let Value::Seq(items) = &n.value else {
        return Err(wrong(n, path, "a list"));
    };
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut v = match &x.value {
            Value::Map(_) => volume_long(rd, x, &p)?,
            _ => {
                let s = string(x, &p)?;
                parse_volume_short(&s)
                    .ok_or_else(|| ComposeError::at(x, &p, format!("invalid volume {s:?}")))?
            }
        };
        if v.kind == VolumeType::Bind
            && let Some(src) = &v.source
        {
            v.source = Some(resolve_path(cx.dir, src, cx.lookup));
        }
        out.push(v);
    }
    Ok(out)
}

fn volume_long(rd: &mut Reader, n: &Node, path: &str) -> R<ServiceVolume> {
    let mut v = ServiceVolume {
        kind: VolumeType::Volume,
        source: None,
        target: String::new(),
        read_only: false,
        bind: None,
        volume: None,
        tmpfs: None,
    };
    let known = [
        "type",
        "source",
        "target",
        "read_only",
        "bind",
        "volume",
        "tmpfs",
        "consistency",
        "image",
    ];
    for (k, x, p) in rd.entries(n, path, &known)? {
        let p = p.as_str();
        match k {
            "type" => {
                v.kind = match string(x, p)?.as_str() {
                    "volume" => VolumeType::Volume,
                    "bind" => VolumeType::Bind,
                    "tmpfs" => VolumeType::Tmpfs,
                    "npipe" => VolumeType::Npipe,
                    "image" => VolumeType::Image,
                    other => {
                        return Err(ComposeError::at(
                            x,
                            p,
                            format!("invalid volume type {other:?}"),
                        ));
                    }
                }
            }
            "source" => v.source = opt_string(x, p)?,
            "target" => v.target = string(x, p)?,
            "read_only" => v.read_only = boolean(x, p)?,
            "bind" => {
                let mut b = BindOptions {
                    create_host_path: true,
                    ..BindOptions::default()
                };
                for (k, y, q) in
                    rd.entries(x, p, &["propagation", "create_host_path", "selinux"])?
                {
                    match k {
                        "propagation" => b.propagation = opt_string(y, &q)?,
                        "create_host_path" => b.create_host_path = boolean(y, &q)?,
                        _ => b.selinux = opt_string(y, &q)?,
                    }
                }
                v.bind = Some(b);
            }
            "volume" => {
                let mut o = VolumeOptions::default();
                for (k, y, q) in rd.entries(x, p, &["nocopy", "subpath"])? {
                    if k == "nocopy" {
                        o.nocopy = boolean(y, &q)?;
                    } else {
                        o.subpath = opt_string(y, &q)?;
                    }
                }
                v.volume = Some(o);
            }
            "tmpfs" => {
                let mut o = TmpfsOptions::default();
                for (k, y, q) in rd.entries(x, p, &["size", "mode"])? {
                    if k == "size" {
                        o.size = Some(size(y, &q)?);
                    } else {
                        o.mode = Some(mode(y, &q)?);
                    }
                }
                v.tmpfs = Some(o);
            }
            _ => {}
        }
    }
    if v.target.is_empty() {
        return Err(ComposeError::at(n, path, "target is required".into()));
    }
    Ok(v)
}
