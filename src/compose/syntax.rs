//! Short-syntax strings of the compose spec: ports ("127.0.0.1:8080-8081:80-81/udp") and volumes ("./src:/app:ro,z").

use super::model::{BindOptions, Port, ServiceVolume, VolumeOptions, VolumeType};

fn port_range(s: &str) -> Option<(u16, u16)> {
    let one = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            (a <= b).then_some((a, b))
        }
        None => one(s).map(|p| (p, p)),
    }
}

/// A short-syntax port, `[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]`, as
/// docker's nat.ParsePortSpec reads it: a target range becomes one entry
/// per port (with the matching published port when that is a range of the
/// same length); a published range for a single target stays a range.
pub fn parse_port(spec: &str) -> Option<Vec<Port>> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) if matches!(p, "tcp" | "udp" | "sctp") => (r, p),
        Some(_) => return None,
        None => (spec, "tcp"),
    };
    let (host_ip, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (ip, r) = r.split_once(']')?;
            (Some(ip.to_string()), r.strip_prefix(':')?)
        }
        None => {
            let parts: Vec<&str> = rest.split(':').collect();
            if parts.len() > 3 {
                // An unbracketed IPv6 host address: the last two fields are the ports.
                let n = parts.len();
                let ip = parts[..n - 2].join(":");
                let tail = rest.get(ip.len() + 1..)?;
                (Some(ip), tail)
            } else if parts.len() == 3 {
                let (ip, tail) = rest.split_once(':')?;
                (Some(ip.to_string()), tail)
            } else {
                (None, rest)
            }
        }
    };
    let (published, target) = match rest.rsplit_once(':') {
        Some((p, t)) => (Some(p), t),
        None => (None, rest),
    };
    let (t0, t1) = port_range(target)?;
    let published = published.filter(|p| !p.is_empty());
    let pub_range = match published {
        Some(p) => Some(port_range(p)?),
        None => None,
    };
    if let Some(ip) = &host_ip
        && !ip.is_empty()
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return None;
    }
    let host_ip = host_ip.filter(|ip| !ip.is_empty());
    let count = t1 - t0;
    let mut out = Vec::new();
    for i in 0..=count {
        let published = match (pub_range, published) {
            (Some((p0, p1)), Some(text)) => {
                if count == 0 {
                    Some(text.to_string())
                } else if p1 - p0 == count {
                    Some((p0 + i).to_string())
                } else {
                    return None;
                }
            }
            _ => None,
        };
        out.push(Port {
            name: None,
            mode: "ingress".into(),
            host_ip: host_ip.clone(),
            target: t0 + i,
            published,
            protocol: protocol.to_string(),
        });
    }
    Some(out)
}

/// A short-syntax service volume, `[SOURCE:]TARGET[:OPTIONS]`. A source
/// starting with `.`, `/` or `~` is a bind mount (resolved by the caller),
/// otherwise a named volume; no source is an anonymous volume.
pub fn parse_volume_short(spec: &str) -> Option<ServiceVolume> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, opts) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] => (Some(*s), *t, None),
        [s, t, o] => (Some(*s), *t, Some(*o)),
        _ => return None,
    };
    if !target.starts_with('/') {
        return None;
    }
    let bind = source.is_some_and(|s| s.starts_with(['.', '/', '~']));
    if let Some(s) = source
        && !bind
        && (s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            || !s.starts_with(|c: char| c.is_ascii_alphanumeric()))
    {
        return None;
    }
    let mut v = ServiceVolume {
        kind: if bind {
            VolumeType::Bind
        } else {
            VolumeType::Volume
        },
        source: source.map(str::to_string),
        target: target.to_string(),
        read_only: false,
        bind: bind.then(|| BindOptions {
            create_host_path: true,
            ..BindOptions::default()
        }),
        volume: (!bind).then(VolumeOptions::default),
        tmpfs: None,
    };
    for o in opts.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "z" | "Z" if bind => {
                if let Some(b) = &mut v.bind {
                    b.selinux = Some(o.to_string());
                }
            }
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" if bind => {
                if let Some(b) = &mut v.bind {
                    b.propagation = Some(o.to_string());
                }
            }
            "nocopy" if !bind => {
                if let Some(vo) = &mut v.volume {
                    vo.nocopy = true;
                }
            }
            // Docker Desktop's consistency hints, meaningless on Linux.
            "consistent" | "cached" | "delegated" => {}
            _ => return None,
        }
    }
    Some(v)
}
