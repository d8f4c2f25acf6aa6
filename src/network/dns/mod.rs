//! The per-network DNS responder (the role of podman's aardvark-dns).
//!
//! One process per bridge network listens on the gateway address, answers the names of the
//! network's containers from a records file the engine maintains, and forwards everything else
//! to the host's resolvers. The engine deletes the records file to stop it, so no pid bookkeeping
//! or signalling is needed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::PathBuf;
use std::time::Duration;

/// Short enough that a container moved to another address is found again soon.
const TTL: u32 = 60;
/// Each forwarded query holds a thread and a socket; past this, answering SERVFAIL at once
/// beats piling up threads when the upstreams are down.
const MAX_IN_FLIGHT: usize = 64;
/// The socket read timeout: how long an idle server goes without looking at the records file.
const IDLE_TICK: Duration = Duration::from_millis(200);
/// Tests use a short one so that a silent upstream does not make them slow.
const UPSTREAM_TIMEOUT: Duration = if cfg!(test) {
    Duration::from_millis(300)
} else {
    Duration::from_secs(2)
};
/// Forwarders and the TCP acceptor wake this often to notice that the server is stopping.
const STOP_POLL: Duration = Duration::from_millis(100);
/// An idle TCP client is dropped after this; it also bounds how long stopping can take.
const TCP_IDLE: Duration = Duration::from_secs(3);
/// What we advertise over EDNS; the value DNS Flag Day 2020 settled on to avoid fragmentation.
const EDNS_PAYLOAD: u16 = 1232;
/// Plain DNS over UDP without EDNS.
const CLASSIC_UDP: usize = 512;
const HEADER_LEN: usize = 12;

/// The names of a network's containers: name -> addresses, address -> names.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Records {
    /// Keys lowercased, so lookups are case-insensitive.
    by_name: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Names as given, first one first: it is the container name, which PTR answers lead with.
    by_ip: BTreeMap<IpAddr, Vec<String>>,
}

impl Records {
    /// The records file: one line per container endpoint: `IP NAME [NAME...]` (an IPv4 or IPv6
    /// address, then the container name, its aliases and hostname, as given). Blank lines and
    /// lines starting with '#' are ignored; a malformed line is skipped. Names compare
    /// case-insensitively, without trailing dot. Lines for the same address are merged.
    pub fn parse(text: &str) -> Records {
        let mut records = Records::default();
        for line in text.lines() {
            // A '#' cannot be part of a name, so anything after one is a comment too.
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let Some(Ok(ip)) = fields.next().map(str::parse::<IpAddr>) else {
                continue;
            };
            let names: Vec<String> = fields.map(str::to_owned).collect();
            if names.is_empty() || !names.iter().all(|n| valid_name(strip_dot(n))) {
                continue;
            }
            records.insert(ip, &names);
        }
        records
    }

    /// Render back to the file format (deterministic order) — the engine writes the file with
    /// this.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (ip, names) in &self.by_ip {
            out.push_str(&ip.to_string());
            for name in names {
                out.push(' ');
                out.push_str(name);
            }
            out.push('\n');
        }
        out
    }

    /// Adds names to the address (keeping those it has). Names that are not valid DNS names are
    /// left out, since they could never be asked for.
    pub fn insert(&mut self, ip: IpAddr, names: &[String]) {
        for name in names {
            let name = strip_dot(name);
            if !valid_name(name) {
                continue;
            }
            let key = name.to_ascii_lowercase();
            let given = self.by_ip.entry(ip).or_default();
            if !given.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                given.push(name.to_owned());
            }
            self.by_name.entry(key).or_default().insert(ip);
        }
    }

    /// Remove every record of this address.
    pub fn remove_ip(&mut self, ip: IpAddr) {
        let Some(names) = self.by_ip.remove(&ip) else {
            return;
        };
        for name in names {
            let key = name.to_ascii_lowercase();
            if let Some(ips) = self.by_name.get_mut(&key) {
                ips.remove(&ip);
                if ips.is_empty() {
                    self.by_name.remove(&key);
                }
            }
        }
    }

    /// The addresses of a name, IPv4 ones first.
    pub fn lookup(&self, name: &str) -> Vec<IpAddr> {
        self.by_name
            .get(&strip_dot(name).to_ascii_lowercase())
            .map(|ips| ips.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }

    fn names_of(&self, ip: IpAddr) -> &[String] {
        self.by_ip.get(&ip).map(Vec::as_slice).unwrap_or_default()
    }
}

fn strip_dot(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

/// Hostname syntax plus '_', which container names may contain. Anything else could not be
/// matched against a query reliably, so it is refused up front.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

pub struct Config {
    /// The records file, re-read when its mtime or size changes (checked at most once per
    /// 100 ms, stat only).
    pub records: PathBuf,
    /// Upstream resolvers, tried in order (2 s each) for names not in the records.
    pub upstreams: Vec<SocketAddr>,
    /// The network's search domain (podman: "dns.podman"): `NAME.<domain>` answers like NAME.
    pub domain: String,
}

/// The host's upstreams from resolv.conf text: nameserver lines, port 53; loopback nameservers
/// (127.0.0.0/8, ::1 — e.g. systemd-resolved's 127.0.0.53) are kept (the server runs on the
/// host). Duplicates are dropped; no nameserver line gives an empty list.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut upstreams = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("nameserver") {
            continue;
        }
        let Some(addr) = fields.next().and_then(nameserver_addr) else {
            continue;
        };
        if !upstreams.contains(&addr) {
            upstreams.push(addr);
        }
    }
    upstreams
}

fn nameserver_addr(text: &str) -> Option<SocketAddr> {
    match text.split_once('%') {
        // A link-local address is useless without its zone; only numeric zones can be resolved
        // here without asking the kernel for interface indexes.
        Some((ip, zone)) => {
            let ip: Ipv6Addr = ip.parse().ok()?;
            let scope: u32 = zone.parse().ok()?;
            Some(SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope)))
        }
        None => Some(SocketAddr::new(text.parse().ok()?, 53)),
    }
}

mod server;
#[cfg(test)]
mod tests;

pub use server::serve;
