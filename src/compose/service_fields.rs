//! The parts of a service definition with a structure of their own: ports, volumes, depends_on, deploy, healthcheck, networks...

use std::collections::BTreeMap;

use super::ComposeError;
use super::model::*;
use super::node::{Node, Value};
use super::read::*;
use super::service::{ServiceContext, resolve_path};
use super::syntax::{parse_port, parse_volume_short};

pub(super) fn file_refs(rd: &mut Reader, n: &Node, path: &str) -> R<Vec<FileRef>> {
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
pub(super) fn mode(n: &Node, path: &str) -> R<u32> {
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

pub(super) fn depends_on(rd: &mut Reader, n: &Node, path: &str) -> R<BTreeMap<String, Dependency>> {
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

pub(super) fn deploy(rd: &mut Reader, n: &Node, path: &str) -> R<Deploy> {
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

pub(super) fn resource_values(rd: &mut Reader, n: &Node, path: &str) -> R<ResourceValues> {
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

pub(super) fn devices(rd: &mut Reader, n: &Node, path: &str) -> R<Vec<String>> {
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

pub(super) fn env_files(
    rd: &mut Reader,
    cx: &ServiceContext,
    n: &Node,
    path: &str,
) -> R<Vec<EnvFile>> {
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

pub(super) fn extra_hosts(n: &Node, path: &str) -> R<BTreeMap<String, String>> {
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

pub(super) fn healthcheck(rd: &mut Reader, n: &Node, path: &str) -> R<Healthcheck> {
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
                    Value::Map(_) => return Err(wrong(v, p, "a string or a list")),
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

pub(super) fn logging(rd: &mut Reader, n: &Node, path: &str) -> R<Logging> {
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

pub(super) fn service_networks(
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

pub(super) fn ports(n: &Node, path: &str) -> R<Vec<Port>> {
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

pub(super) fn port_long(n: &Node, path: &str) -> R<Port> {
    let mut port = Port {
        name: None,
        mode: "ingress".into(),
        host_ip: None,
        target: 0,
        published: None,
        protocol: "tcp".into(),
    };
    let Value::Map(m) = &n.value else {
        return Err(wrong(n, path, "a mapping"));
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

pub(super) fn pull_policy(n: &Node, path: &str) -> R<PullPolicy> {
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

pub(super) fn restart(n: &Node, path: &str) -> R<String> {
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

pub(super) fn ulimits(rd: &mut Reader, n: &Node, path: &str) -> R<BTreeMap<String, Ulimit>> {
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

pub(super) fn volumes(
    rd: &mut Reader,
    cx: &ServiceContext,
    n: &Node,
    path: &str,
) -> R<Vec<ServiceVolume>> {
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

pub(super) fn volume_long(rd: &mut Reader, n: &Node, path: &str) -> R<ServiceVolume> {
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
