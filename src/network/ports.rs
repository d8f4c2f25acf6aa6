//! Published ports: docker's `-p` syntax, ranges expanded to one mapping
//! per port, random host ports, and the host sockets that reserve them.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct PortMapping {
    /// "" for every host address.
    pub host_ip: String,
    /// 0 until a random port is chosen at create time.
    pub host_port: u16,
    pub container_port: u16,
    /// "tcp" or "udp".
    pub protocol: String,
}

impl PortMapping {
    /// `port` and inspect show "80/tcp -> 0.0.0.0:8080".
    pub fn host_addr(&self) -> String {
        match self.host_ip.as_str() {
            "" => format!("0.0.0.0:{}", self.host_port),
            ip if ip.contains(':') => format!("[{ip}]:{}", self.host_port),
            ip => format!("{ip}:{}", self.host_port),
        }
    }
}

fn port_range(s: &str, what: &str, spec: &str) -> Result<(u16, u16), String> {
    let bad = || {
        format!(
            "invalid {what} {s:?} in --publish {spec:?}: expected a port (1-65535) or a range START-END"
        )
    };
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok((a, b))
}

/// Parse one `-p` value: `[[IP:][HOSTPORT]:]CTRPORT[/PROTO]`, where either
/// port may be a range (equal lengths, or a host range for one container
/// port as docker allows only with equal lengths too).
pub fn parse(spec: &str) -> Result<Vec<PortMapping>, String> {
    let (body, proto) = match spec.rsplit_once('/') {
        Some((b, p)) => (b, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(format!(
            "invalid protocol {proto:?} in --publish {spec:?}: use tcp or udp"
        ));
    }
    // An IPv6 host address comes in brackets: [::1]:8080:80.
    let (ip, rest) = if let Some(r) = body.strip_prefix('[') {
        let (ip, rest) = r
            .split_once("]:")
            .ok_or_else(|| format!("invalid --publish {spec:?}: unclosed [ in the host address"))?;
        (Some(ip), rest)
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        match parts.len() {
            1 | 2 => (None, body),
            3 => (Some(parts[0]), &body[parts[0].len() + 1..]),
            _ => {
                return Err(format!(
                    "invalid --publish {spec:?}: expected [[IP:][HOSTPORT]:]CTRPORT[/PROTO]"
                ));
            }
        }
    };
    let host_ip = match ip {
        None | Some("") => String::new(),
        Some(ip) => {
            let a: IpAddr = ip
                .parse()
                .map_err(|_| format!("invalid host IP {ip:?} in --publish {spec:?}"))?;
            a.to_string()
        }
    };
    let (host, ctr) = match rest.split_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest),
    };
    let (c0, c1) = port_range(ctr, "container port", spec)?;
    let host = if host.is_empty() {
        None
    } else {
        Some(port_range(host, "host port", spec)?)
    };
    if let Some((h0, h1)) = host
        && h1 - h0 != c1 - c0
    {
        return Err(format!(
            "invalid --publish {spec:?}: the host and container port ranges differ in length"
        ));
    }
    Ok((c0..=c1)
        .map(|c| PortMapping {
            host_ip: host_ip.clone(),
            host_port: host.map(|(h0, _)| h0 + (c - c0)).unwrap_or(0),
            container_port: c,
            protocol: proto.clone(),
        })
        .collect())
}

/// A host socket bound to a published port for as long as the container
/// runs: the port cannot be taken by anyone else meanwhile (podman holds
/// them in conmon for the same reason). TCP listens, with SO_REUSEADDR as
/// Go's (and std's) listeners: the connections of an earlier user of the
/// port may still sit in TIME_WAIT (a container just removed, whose
/// slirp4netns closed them), which must not block the port, while two
/// reservations still exclude each other (a bound, non-listening socket
/// with SO_REUSEADDR would not). Connections reach the container through
/// the DNAT rule before any socket sees them. Dropping it frees the port.
pub struct Reservation {
    _fd: std::os::fd::OwnedFd,
}

fn sockaddr(p: &PortMapping) -> SocketAddr {
    let ip: IpAddr = p
        .host_ip
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    SocketAddr::new(ip, p.host_port)
}

pub fn reserve(p: &PortMapping) -> std::io::Result<Reservation> {
    let addr = sockaddr(p);
    if p.protocol == "udp" {
        return Ok(Reservation {
            _fd: UdpSocket::bind(addr)?.into(),
        });
    }
    use rustix::net::{AddressFamily, SocketFlags, SocketType, bind, socket_with};
    let family = if addr.is_ipv6() {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    let fd = socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
    bind(&fd, &addr)?;
    rustix::net::listen(&fd, 1)?;
    Ok(Reservation { _fd: fd })
}

/// A host port free right now on `host_ip`, for `-p CTRPORT`.
pub fn random_port(p: &PortMapping) -> std::io::Result<u16> {
    let mut addr = sockaddr(p);
    addr.set_port(0);
    if p.protocol == "udp" {
        return Ok(UdpSocket::bind(addr)?.local_addr()?.port());
    }
    Ok(TcpListener::bind(addr)?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> PortMapping {
        let v = parse(s).unwrap();
        assert_eq!(v.len(), 1, "{s}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn forms() {
        let p = one("8080:80");
        assert_eq!(
            (
                p.host_ip.as_str(),
                p.host_port,
                p.container_port,
                p.protocol.as_str()
            ),
            ("", 8080, 80, "tcp")
        );
        let p = one("127.0.0.1:8080:80/udp");
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.protocol.as_str()),
            ("127.0.0.1", 8080, "udp")
        );
        let p = one("80");
        assert_eq!((p.host_port, p.container_port), (0, 80));
        let p = one("127.0.0.1::80");
        assert_eq!((p.host_ip.as_str(), p.host_port), ("127.0.0.1", 0));
        let r = parse("8080-8082:80-82").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[2].host_port, r[2].container_port), (8082, 82));
        assert_eq!(p.host_addr(), "127.0.0.1:0");
        let p = one("[fd00::1]:8080:80");
        assert_eq!((p.host_ip.as_str(), p.host_port), ("fd00::1", 8080));
        assert_eq!(p.host_addr(), "[fd00::1]:8080");
    }

    #[test]
    fn bad_input() {
        for s in [
            "",
            "0",
            "x:80",
            "8080:80/sctp",
            "8080-8081:80",
            "1.2.3:80:80",
            "80-70",
            "70000:80",
            "[::1:80:80",
            "a:b:c:d",
        ] {
            assert!(parse(s).is_err(), "{s} should fail");
        }
    }

    #[test]
    fn reservation_blocks_the_port() {
        let p = PortMapping {
            host_ip: "127.0.0.1".into(),
            host_port: 0,
            container_port: 80,
            protocol: "tcp".into(),
        };
        let port = random_port(&p).unwrap();
        let p = PortMapping {
            host_port: port,
            ..p
        };
        let _r = reserve(&p).unwrap();
        assert!(reserve(&p).is_err());
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
    }
}
