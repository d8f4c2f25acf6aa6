//! nftables: one `inet berth` table, nothing else touched. Its chains are
//! static (written whole, idempotently); what changes with containers and
//! networks lives in its sets and maps, added and deleted element by
//! element, so every change is one atomic `nft -f` transaction and two
//! berth processes never rewrite each other's rules.
//!
//! - `published` (from prerouting and output, for local destinations)
//!   DNATs through `tcp_any`/`udp_any` (host port -> container address and
//!   port) and `tcp_ip`/`udp_ip` (host address . port -> ...).
//! - each network has its own chains, reached through verdict maps keyed
//!   by its bridge: `nat-X` (from postrouting, for what enters from X)
//!   masquerades what leaves X for elsewhere and hairpin traffic to
//!   published ports; `fwd-X` (from forward) drops what X sends to another
//!   berth bridge (networks are isolated) or, `--internal`, anywhere, and
//!   `fwdin-X` drops what reaches an internal X from elsewhere. The
//!   comparisons are against X's own name because with br_netfilter
//!   (Debian loads it) switched traffic inside X passes these hooks too.
//! - what 127.0.0.1 sends to a published port is masqueraded (with
//!   route_localnet on the bridge, as netavark does).

use super::ports::PortMapping;
use std::io::Write;
use std::process::Stdio;

pub const TABLE: &str = "inet berth";

#[derive(Debug, thiserror::Error)]
#[error("nftables ({what}): {msg}")]
pub struct NftError {
    pub what: String,
    pub msg: String,
}

/// The whole table's skeleton. Chains are flushed and refilled, sets and
/// maps only created if missing, so running it again (after a host
/// firewall flush, or on every new bridge) never loses a published port.
pub fn skeleton() -> String {
    let mut s = format!("add table {TABLE}\n");
    for proto in ["tcp", "udp"] {
        for (fam, addr) in [("", "ipv4_addr"), ("6", "ipv6_addr")] {
            s.push_str(&format!(
                "add map {TABLE} {proto}{fam}_any {{ type inet_service : {addr} . inet_service; }}\n\
                 add map {TABLE} {proto}{fam}_ip {{ type {addr} . inet_service : {addr} . inet_service; }}\n"
            ));
        }
    }
    for vmap in ["nat_in", "fwd_in", "fwd_out"] {
        s.push_str(&format!(
            "add map {TABLE} {vmap} {{ type ifname : verdict; }}\n"
        ));
    }
    // dstnat is -100; nft 1.0.6 only knows the name in the prerouting hook.
    for (chain, def) in [
        (
            "prerouting",
            "type nat hook prerouting priority -100; policy accept;",
        ),
        (
            "output",
            "type nat hook output priority -100; policy accept;",
        ),
        (
            "postrouting",
            "type nat hook postrouting priority 100; policy accept;",
        ),
        (
            "forward",
            "type filter hook forward priority 0; policy accept;",
        ),
        ("published", ""),
    ] {
        s.push_str(&format!(
            "add chain {TABLE} {chain} {{ {def} }}\nflush chain {TABLE} {chain}\n"
        ));
    }
    let rules = [
        (
            "prerouting",
            "fib daddr type local jump published".to_string(),
        ),
        ("output", "fib daddr type local jump published".to_string()),
        (
            "published",
            "dnat ip to ip daddr . tcp dport map @tcp_ip".to_string(),
        ),
        ("published", "dnat ip to tcp dport map @tcp_any".to_string()),
        (
            "published",
            "dnat ip to ip daddr . udp dport map @udp_ip".to_string(),
        ),
        ("published", "dnat ip to udp dport map @udp_any".to_string()),
        (
            "published",
            "dnat ip6 to ip6 daddr . tcp dport map @tcp6_ip".to_string(),
        ),
        (
            "published",
            "dnat ip6 to tcp dport map @tcp6_any".to_string(),
        ),
        (
            "published",
            "dnat ip6 to ip6 daddr . udp dport map @udp6_ip".to_string(),
        ),
        (
            "published",
            "dnat ip6 to udp dport map @udp6_any".to_string(),
        ),
        (
            "postrouting",
            format!(
                "ip saddr 127.0.0.0/8 oifname \"{}*\" masquerade",
                super::BRIDGE_PREFIX
            ),
        ),
        ("postrouting", "iifname vmap @nat_in".to_string()),
        ("forward", "ct status dnat accept".to_string()),
        ("forward", "iifname vmap @fwd_in".to_string()),
        ("forward", "oifname vmap @fwd_out".to_string()),
    ];
    for (chain, rule) in rules {
        s.push_str(&format!("add rule {TABLE} {chain} {rule}\n"));
    }
    s
}

/// One network's chains and verdict-map elements (idempotent).
pub fn network(bridge: &str, internal: bool) -> String {
    let p = super::BRIDGE_PREFIX;
    let mut s = String::new();
    let mut chain = |name: String, rules: &[String], vmap: &str| {
        s.push_str(&format!(
            "add chain {TABLE} {name}\nflush chain {TABLE} {name}\n"
        ));
        for r in rules {
            s.push_str(&format!("add rule {TABLE} {name} {r}\n"));
        }
        s.push_str(&format!(
            "add element {TABLE} {vmap} {{ \"{bridge}\" : jump {name} }}\n"
        ));
    };
    if internal {
        chain(
            format!("fwd-{bridge}"),
            &[format!("oifname != \"{bridge}\" drop")],
            "fwd_in",
        );
        chain(
            format!("fwdin-{bridge}"),
            &[format!("iifname != \"{bridge}\" drop")],
            "fwd_out",
        );
    } else {
        chain(
            format!("fwd-{bridge}"),
            &[format!("oifname \"{p}*\" oifname != \"{bridge}\" drop")],
            "fwd_in",
        );
        chain(
            format!("nat-{bridge}"),
            &[
                format!("oifname != \"{bridge}\" masquerade"),
                "ct status dnat masquerade".to_string(),
            ],
            "nat_in",
        );
    }
    s
}

/// Statements that remove a network's chains, for `delete_all`.
pub fn remove_network(bridge: &str) -> Vec<String> {
    let mut v = Vec::new();
    for (vmap, chain) in [
        ("fwd_in", format!("fwd-{bridge}")),
        ("fwd_out", format!("fwdin-{bridge}")),
        ("nat_in", format!("nat-{bridge}")),
    ] {
        v.push(format!(
            "delete element {TABLE} {vmap} {{ \"{bridge}\" }}\ndelete chain {TABLE} {chain}\n"
        ));
    }
    v
}

/// The map element of one published port, as `KEY : VALUE`.
fn element(p: &PortMapping, ctr_ip: &str) -> (String, String) {
    let fam = if ctr_ip.contains(':') { "6" } else { "" };
    let map = if p.host_ip.is_empty() {
        format!("{}{fam}_any", p.protocol)
    } else {
        format!("{}{fam}_ip", p.protocol)
    };
    let key = if p.host_ip.is_empty() {
        p.host_port.to_string()
    } else {
        format!("{} . {}", p.host_ip, p.host_port)
    };
    (map, format!("{key} : {ctr_ip} . {}", p.container_port))
}

/// The elements of a container's ports: for each of its addresses (IPv4,
/// and IPv6 on a dual-stack network), the mappings of that family (a host
/// address given is of one family; none means both).
fn elements(ports: &[PortMapping], ctr_ips: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for ip in ctr_ips {
        let v6 = ip.contains(':');
        for p in ports
            .iter()
            .filter(|p| p.host_ip.is_empty() || p.host_ip.contains(':') == v6)
        {
            out.push(element(p, ip));
        }
    }
    out
}

pub fn add_ports(ports: &[PortMapping], ctr_ips: &[&str]) -> String {
    elements(ports, ctr_ips)
        .into_iter()
        .map(|(map, e)| format!("add element {TABLE} {map} {{ {e} }}\n"))
        .collect()
}

pub fn delete_ports(ports: &[PortMapping], ctr_ips: &[&str]) -> Vec<String> {
    elements(ports, ctr_ips)
        .into_iter()
        .map(|(map, e)| format!("delete element {TABLE} {map} {{ {e} }}\n"))
        .collect()
}

/// Run a script as one transaction.
pub fn apply(ns: &super::host::HostNs, what: &str, script: &str) -> Result<(), NftError> {
    let err = |msg: String| NftError {
        what: what.to_string(),
        msg,
    };
    let mut child = ns
        .command("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            err(format!(
                "cannot run nft ({e}); install the nftables package"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| err(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    Err(err(text
        .lines()
        .find(|l| l.starts_with("Error"))
        .unwrap_or(text.trim())
        .to_string()))
}

/// Delete what may be partly gone already (after a flush, or a second
/// teardown): the whole batch first, then one by one, ignoring what is
/// missing.
pub fn delete_all(ns: &super::host::HostNs, what: &str, statements: &[String]) {
    if statements.is_empty() || apply(ns, what, &statements.concat()).is_ok() {
        return;
    }
    for s in statements {
        let _ = apply(ns, what, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_elements() {
        let any = PortMapping {
            host_ip: String::new(),
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
        };
        let one = PortMapping {
            host_ip: "127.0.0.1".into(),
            host_port: 5353,
            container_port: 53,
            protocol: "udp".into(),
        };
        let s = add_ports(&[any.clone(), one.clone()], &["10.88.0.5"]);
        assert_eq!(
            s,
            "add element inet berth tcp_any { 8080 : 10.88.0.5 . 80 }\nadd element inet berth udp_ip { 127.0.0.1 . 5353 : 10.88.0.5 . 53 }\n"
        );
        assert!(
            delete_ports(std::slice::from_ref(&one), &["10.88.0.5"])[0]
                .starts_with("delete element inet berth udp_ip")
        );
        // Dual stack: all-address mappings in both families, a v4 host
        // address in v4 only.
        let both = add_ports(&[any, one], &["10.88.0.5", "fd00::5"]);
        assert!(both.contains("tcp6_any { 8080 : fd00::5 . 80 }"), "{both}");
        assert!(!both.contains("udp6_ip"), "{both}");
        let n = network("berth3", true);
        assert!(n.contains("add element inet berth fwd_out { \"berth3\" : jump fwdin-berth3 }"));
        assert!(!n.contains("nat-berth3"));
        assert!(network("berth4", false).contains("jump nat-berth4"));
        assert_eq!(remove_network("berth4").len(), 3);
    }

    #[test]
    fn skeleton_only_touches_berth_table() {
        for line in (skeleton() + &network("berth2", false)).lines() {
            assert!(line.contains(" inet berth"), "{line}");
        }
    }
}
