//! Container networking: bridge and macvlan networks (netlink, nftables,
//! IPAM, a DNS responder per network) for rootful containers.
//!
//! A container's network namespace is the one its init was cloned into;
//! the monitor wires it (veth into the namespace, addresses, routes,
//! published ports) between clone and exec. When the namespace dies its
//! veth goes with it, so a SIGKILLed container leaks no interface; what
//! outlives it (addresses in the database, nft map elements, DNS records)
//! is undone by `teardown`, from the monitor or from `rm`.

pub mod dns;
pub mod etcfiles;
pub mod forward;
pub mod host;
pub mod ipam;
pub mod netlink;
pub mod nft;
pub mod ports;
pub mod usermode;

use crate::state::networks::{EndpointRow, NetworkRow};
use ipam::Subnet;
use netlink::Netlink;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

/// Every berth bridge is named `berth<N>`; nft rules match on the prefix.
pub const BRIDGE_PREFIX: &str = "berth";
/// The default network, named as podman's (tools and scripts name it).
pub const DEFAULT_NETWORK: &str = "podman";
/// What the default network was called before it took podman's name: a
/// store that still records it so is renamed on first sight, and the word
/// keeps naming the default network.
pub const LEGACY_DEFAULT_NETWORK: &str = "berth";
pub const DEFAULT_BRIDGE: &str = "berth0";
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";
/// podman's search domain for container names, kept for compatibility.
pub const DNS_DOMAIN: &str = "dns.podman";

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("unable to find network with name or ID {0}: network not found")]
    NotFound(String),
    #[error("network name {0:?} already used: network already exists")]
    Exists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    InUse(String),
    #[error(transparent)]
    Netlink(#[from] netlink::NetlinkError),
    #[error(transparent)]
    Nft(#[from] nft::NftError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubnetConfig {
    pub subnet: Subnet,
    pub gateway: Option<IpAddr>,
    /// `--ip-range`: addresses are handed out from here only.
    #[serde(default)]
    pub lease_range: Option<Subnet>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct NetworkConfig {
    pub subnets: Vec<SubnetConfig>,
    pub internal: bool,
    pub dns_enabled: bool,
    pub ipv6_enabled: bool,
    pub labels: BTreeMap<String, String>,
    /// `-o`: mtu, parent (macvlan), ...
    pub options: BTreeMap<String, String>,
}

impl NetworkConfig {
    pub fn parse(json: &str) -> NetworkConfig {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub fn v4(&self) -> Option<&SubnetConfig> {
        self.subnets.iter().find(|s| !s.subnet.is_ipv6())
    }

    pub fn v6(&self) -> Option<&SubnetConfig> {
        self.subnets.iter().find(|s| s.subnet.is_ipv6())
    }

    pub fn mtu(&self) -> Option<u32> {
        self.options.get("mtu").and_then(|m| m.parse().ok())
    }
}

/// One network a container is attached to, as the monitor wires it.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub network: NetworkRow,
    pub config: NetworkConfig,
    pub endpoint: EndpointRow,
}

/// The host end of a container's veth: stable per container and network,
/// so a leftover is recognised (and removed) on the next start.
pub fn veth_name(container_id: &str, network: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("{container_id}/{network}").as_bytes());
    format!("veth{}", &hex::encode(h)[..8])
}

/// The bridge of a network, created with its gateway addresses, sysctls
/// and the nft skeleton the first time it is needed (after boot, or after
/// `network create`). An existing bridge is taken as it is.
pub fn ensure_bridge(
    ns: &host::HostNs,
    nl: &mut Netlink,
    net: &NetworkRow,
    cfg: &NetworkConfig,
) -> Result<u32, NetworkError> {
    if let Some(i) = nl.link_index(&net.interface)? {
        // Made by an earlier database (or by hand): it must carry this
        // network's gateways all the same (adding one twice is no error).
        for s in &cfg.subnets {
            if let Some(gw) = s.gateway {
                nl.add_address(i, gw, s.subnet.prefix)?;
            }
        }
        return Ok(i);
    }
    let idx = nl.create_bridge(&net.interface, cfg.mtu())?;
    crate::log::debug(&format!(
        "netlink: created bridge {} (index {idx}) for network {}",
        net.interface, net.name
    ));
    for s in &cfg.subnets {
        if let Some(gw) = s.gateway {
            nl.add_address(idx, gw, s.subnet.prefix)?;
        }
    }
    if cfg.v6().is_some() {
        // The kernel would otherwise hold the gateway address "tentative"
        // for a second of duplicate address detection.
        ns.sysctl(
            &format!("/proc/sys/net/ipv6/conf/{}/accept_dad", net.interface),
            "0",
        )?;
    }
    nl.set_up(idx)?;
    ns.sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
    if cfg.v6().is_some() {
        ns.sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")?;
    }
    // 127.0.0.1:PORT reaches a published port only if the kernel may route
    // loopback-sourced packets out of the bridge (netavark does the same).
    ns.sysctl(
        &format!("/proc/sys/net/ipv4/conf/{}/route_localnet", net.interface),
        "1",
    )?;
    let script = nft::skeleton() + &nft::network(&net.interface, cfg.internal);
    nft::apply(ns, &format!("network {}", net.name), &script)?;
    Ok(idx)
}

/// Wire a container's network namespace: for each attachment a veth into
/// the namespace (or a macvlan), its addresses, and the default route via
/// the first network that has one.
pub fn setup(
    ns: &host::HostNs,
    netns: BorrowedFd,
    container_id: &str,
    atts: &[Attachment],
) -> Result<(), NetworkError> {
    let mut host = ns.netlink()?;
    let mut ctr = Netlink::connect_in(netns)?;
    let mut routed = false;
    for a in atts {
        let ep = &a.endpoint;
        let mac = ipam::parse_mac(&ep.mac).map_err(NetworkError::Invalid)?;
        let mtu = a.config.mtu();
        if a.network.driver == "macvlan" {
            let parent = host.link_index(&a.network.interface)?.ok_or_else(|| {
                NetworkError::Invalid(format!(
                    "network {}: macvlan parent interface {} does not exist",
                    a.network.name, a.network.interface
                ))
            })?;
            host.create_macvlan(&ep.interface, parent, netns, mtu, Some(mac))?;
        } else {
            let br = ensure_bridge(ns, &mut host, &a.network, &a.config)?;
            let veth = veth_name(container_id, &a.network.name);
            match host.create_veth(&veth, &ep.interface, netns, br, mtu, Some(mac)) {
                Err(netlink::NetlinkError::Kernel { errno, .. }) if errno == libc::EEXIST => {
                    // Left over from a namespace something else still holds.
                    host.delete_link(&veth)?;
                    host.create_veth(&veth, &ep.interface, netns, br, mtu, Some(mac))?;
                }
                r => {
                    r?;
                }
            }
        }
        let idx = ctr.link_index(&ep.interface)?.ok_or_else(|| {
            NetworkError::Invalid(format!("{} vanished from the container", ep.interface))
        })?;
        let addrs = [
            (Some(ep.ip.as_str()), a.config.v4()),
            (ep.ipv6.as_deref(), a.config.v6()),
        ];
        for (ip, sub) in addrs {
            if let (Some(ip), Some(sub)) = (ip, sub) {
                let ip: IpAddr = ip
                    .parse()
                    .map_err(|_| NetworkError::Invalid(format!("bad recorded address {ip}")))?;
                ctr.add_address(idx, ip, sub.subnet.prefix)?;
            }
        }
        ctr.set_up(idx)?;
        crate::log::debug(&format!(
            "netlink: container {} on network {}: {} ({}) address {}{}",
            &container_id[..container_id.len().min(12)],
            a.network.name,
            ep.interface,
            ep.mac,
            ep.ip,
            ep.ipv6
                .as_deref()
                .map(|v6| format!(" and {v6}"))
                .unwrap_or_default()
        ));
        // The first network gives the default route; one connected later
        // only its own subnet.
        if ep.position == 0 && !routed && !a.config.internal {
            for sub in [a.config.v4(), a.config.v6()].into_iter().flatten() {
                if let Some(gw) = sub.gateway {
                    ctr.add_route(None, gw)?;
                }
            }
            routed = true;
        }
    }
    Ok(())
}

/// Remove a network's bridge (network rm). Teardown keeps going: every
/// failure is collected.
pub fn remove_bridge(ns: &host::HostNs, net: &NetworkRow) -> Vec<String> {
    let mut errors = Vec::new();
    if net.driver != "bridge" {
        return errors;
    }
    match ns
        .netlink()
        .and_then(|mut nl| Ok(nl.delete_link(&net.interface)?))
    {
        Ok(()) => {}
        Err(e) => errors.push(format!("removing bridge {}: {e}", net.interface)),
    }
    nft::delete_all(
        ns,
        &format!("network {}", net.name),
        &nft::remove_network(&net.interface),
    );
    errors
}

/// The first IPv4 address of a container: where its published ports go.
pub fn primary_ips(atts: &[Attachment]) -> Vec<&str> {
    atts.first()
        .map(|a| {
            let e = &a.endpoint;
            std::iter::once(e.ip.as_str())
                .chain(e.ipv6.as_deref())
                .collect()
        })
        .unwrap_or_default()
}

/// Publish a container's ports (nft map elements). A host firewall flush
/// may have taken the table: then it is written again first.
pub fn publish(
    ns: &host::HostNs,
    ports: &[ports::PortMapping],
    ctr_ips: &[&str],
) -> Result<(), NetworkError> {
    if ports.is_empty() || ctr_ips.is_empty() {
        return Ok(());
    }
    let script = nft::add_ports(ports, ctr_ips);
    if nft::apply(ns, "publishing ports", &script).is_err() {
        nft::apply(
            ns,
            "publishing ports",
            &format!("{}{script}", nft::skeleton()),
        )?;
    }
    Ok(())
}

pub fn unpublish(ns: &host::HostNs, ports: &[ports::PortMapping], ctr_ips: &[&str]) {
    nft::delete_all(ns, "unpublishing ports", &nft::delete_ports(ports, ctr_ips));
}

/// Where a network's DNS records file and locks live (runtime state).
pub fn dns_dir(netrun: &Path, network: &str) -> PathBuf {
    netrun.join(network)
}

/// Change a network's DNS records under its update lock; write the file
/// atomically, delete it when empty (which tells the server to exit), and
/// make sure a server runs while there are records.
pub fn dns_update(
    ns: &host::HostNs,
    netrun: &Path,
    net: &NetworkRow,
    cfg: &NetworkConfig,
    change: impl FnOnce(&mut dns::Records),
) -> Result<(), NetworkError> {
    let io = |what: &'static str| move |e| NetworkError::Io(what.to_string(), e);
    let dir = dns_dir(netrun, &net.name);
    std::fs::create_dir_all(&dir).map_err(io("creating the network's runtime dir"))?;
    let _update = crate::state::WriterLock::acquire(&dir.join("update.lock"))
        .map_err(io("locking the network's DNS records"))?;
    let path = dir.join("hosts");
    let mut recs = dns::Records::parse(&std::fs::read_to_string(&path).unwrap_or_default());
    change(&mut recs);
    if recs.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    let tmp = dir.join(format!("hosts.{}", std::process::id()));
    std::fs::write(&tmp, recs.render()).map_err(io("writing DNS records"))?;
    std::fs::rename(&tmp, &path).map_err(io("writing DNS records"))?;
    let Some(gw) = cfg.v4().and_then(|s| s.gateway) else {
        return Ok(());
    };
    if server_lock(&dir).is_none() {
        return Ok(());
    }
    spawn_dns_server(ns, &dir, gw)
}

/// The lock a running DNS server holds for its lifetime; Some (taken by
/// us) when no server runs.
pub fn server_lock(dir: &Path) -> Option<std::fs::File> {
    let f = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join("server.lock"))
        .ok()?;
    f.try_lock().ok()?;
    Some(f)
}

/// Start `berth network dns-serve` detached: it forks once more, and its
/// first process exits when the server is bound, so the server is nobody's
/// child to reap and is ready before the container runs.
fn spawn_dns_server(ns: &host::HostNs, dir: &Path, gw: IpAddr) -> Result<(), NetworkError> {
    use std::os::unix::process::CommandExt;
    let mut cmd = ns.command(crate::process::sealed::SELF_EXE);
    cmd.args(["network", "dns-serve"])
        .arg(dir)
        .arg(gw.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| NetworkError::Io("starting the DNS server".into(), e))?;
    let _ = child.wait();
    Ok(())
}

/// The body of `berth network dns-serve DIR GATEWAY`: bind GATEWAY:53,
/// take the server lock (another server already running: done), detach,
/// and serve the records in DIR until they are gone.
pub fn dns_serve_main(dir: &Path, gw: IpAddr) -> std::io::Result<()> {
    let Some(lock) = server_lock(dir) else {
        return Ok(());
    };
    let socket = std::net::UdpSocket::bind((gw, 53))?;
    // SAFETY: fork in a single-threaded process; the parent only exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid > 0 {
        // SAFETY: leave at once; the child owns the lock and socket now.
        unsafe { libc::_exit(0) };
    }
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let cfg = dns::Config {
        records: dir.join("hosts"),
        upstreams: dns::upstreams_from_resolv_conf(&resolv),
        domain: DNS_DOMAIN.to_string(),
    };
    loop {
        dns::serve(socket.try_clone()?, &cfg)?;
        // The records file is gone. Exit under the update lock, so whoever
        // writes records next sees this server gone and starts another.
        let _update = crate::state::WriterLock::acquire(&dir.join("update.lock"))?;
        if !cfg.records.exists() {
            drop(lock);
            return Ok(());
        }
    }
}

/// The proxy variables podman passes from the host into a container
/// unless `--http-proxy=false` (containers/common's `ProxyEnv`).
pub const PROXY_ENV: [&str; 8] = [
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
];

/// `NAME=VALUE` for each proxy variable set in this process's environment.
pub fn proxy_env() -> Vec<String> {
    PROXY_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
        .collect()
}

/// The names a container answers to on a network: its name, its aliases
/// and its hostname (podman's aardvark-dns does the same).
pub fn dns_names(name: &str, hostname: &str, aliases: &[String]) -> Vec<String> {
    let mut v = vec![name.to_string()];
    for a in aliases.iter().map(String::as_str).chain([hostname]) {
        if !a.is_empty() && !v.iter().any(|x| x == a) {
            v.push(a.to_string());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit_ifnamsiz() {
        let n = veth_name(&"a".repeat(64), "berth");
        assert_eq!(n.len(), 12);
        assert_ne!(n, veth_name(&"a".repeat(64), "other"));
    }

    #[test]
    fn names_on_a_network() {
        assert_eq!(
            dns_names("web", "abc123", &["www".into(), "web".into()]),
            vec!["web", "www", "abc123"]
        );
    }
}
