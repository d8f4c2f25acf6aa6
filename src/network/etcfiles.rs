//! A container's /etc/hosts and /etc/resolv.conf, as podman writes them
//! (containers/common `libnetwork/etchosts` and `libnetwork/resolvconf`),
//! with the `[containers]` settings of containers.conf (`base_hosts_file`,
//! `host_containers_internal_ip`, `dns_servers`, `dns_searches`,
//! `dns_options`; see [`crate::config`]).
//!
//! /etc/hosts: the `--add-host` entries, then the base file's (the host's
//! /etc/hosts unless configured otherwise), then `localhost` (v4 and v6),
//! `host.containers.internal` and the container's own addresses, each only
//! with the names not already given above.
//!
//! resolv.conf: explicit servers (configured, then `--dns`) replace the
//! rest; otherwise the networks' DNS servers (slirp4netns' forwarder) come
//! first and the host's follow. The host's loopback servers are dropped in
//! a namespace of the container's own, IPv6 ones without IPv6.

use std::net::IpAddr;
use std::path::Path;

/// One /etc/hosts line: an address and its names.
#[derive(Debug, Clone, PartialEq)]
pub struct HostEntry {
    pub ip: String,
    pub names: Vec<String>,
}

impl HostEntry {
    pub fn new(ip: impl Into<String>, names: &[&str]) -> HostEntry {
        HostEntry {
            ip: ip.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }
}

fn format_line(ip: &str, names: &[String]) -> String {
    format!("{ip}\t{}\n", names.join(" "))
}

/// The entries of a hosts file: comments dropped, lines without a name
/// skipped.
pub fn parse_hosts(text: &str) -> Vec<HostEntry> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("");
            let mut f = l.split_whitespace();
            let ip = f.next()?;
            let names: Vec<String> = f.map(String::from).collect();
            (!names.is_empty()).then(|| HostEntry {
                ip: ip.to_string(),
                names,
            })
        })
        .collect()
}

/// `--add-host NAME:IP` words as entries (the IP may hold colons).
pub fn parse_extra_hosts(extra: &[String]) -> Result<Vec<HostEntry>, String> {
    extra
        .iter()
        .map(|h| match h.split_once(':') {
            Some(("", _)) => Err(format!("hostname in host entry {h:?} is empty")),
            Some((_, "")) => Err(format!("IP address in host entry {h:?} is empty")),
            Some((name, ip)) => Ok(HostEntry::new(ip, &[name])),
            None => Err(format!(
                "unable to parse host entry {h:?}: incorrect format"
            )),
        })
        .collect()
}

/// What /etc/hosts is made of.
#[derive(Debug, Default)]
pub struct HostsParams {
    /// The base file's text (None: no base file).
    pub base: Option<String>,
    /// `--add-host` entries.
    pub extra: Vec<HostEntry>,
    /// The container's own addresses with its hostname and name.
    pub container: Vec<HostEntry>,
    /// The address of `host.containers.internal` (None: no entry).
    pub host_internal: Option<String>,
}

/// The text of a new /etc/hosts.
pub fn hosts(p: &HostsParams) -> String {
    let mut user = p.extra.clone();
    user.extend(parse_hosts(p.base.as_deref().unwrap_or("")));
    let mut out = String::new();
    let mut names: Vec<String> = Vec::new();
    for e in &user {
        names.extend(e.names.iter().cloned());
        out.push_str(&format_line(&e.ip, &e.names));
    }
    let mut ours = vec![
        HostEntry::new("127.0.0.1", &["localhost"]),
        HostEntry::new("::1", &["localhost"]),
    ];
    if let Some(ip) = &p.host_internal {
        ours.push(HostEntry::new(ip.as_str(), &["host.containers.internal"]));
    }
    ours.extend(p.container.iter().cloned());
    out.push_str(&entries_if_not_exist(&ours, &names));
    out
}

/// The lines of `entries`, each with only the names not in `taken`.
fn entries_if_not_exist(entries: &[HostEntry], taken: &[String]) -> String {
    let mut out = String::new();
    for e in entries {
        let free: Vec<String> = e
            .names
            .iter()
            .filter(|n| !taken.contains(n))
            .cloned()
            .collect();
        if !free.is_empty() {
            out.push_str(&format_line(&e.ip, &free));
        }
    }
    out
}

/// An entry of the file matches one of `entries`: same address and at
/// least one name in common.
fn matches(current: &HostEntry, entries: &[HostEntry]) -> bool {
    entries
        .iter()
        .any(|e| e.ip == current.ip && current.names.iter().any(|n| e.names.contains(n)))
}

/// Rewrite a hosts file in place: it is bind-mounted into the container,
/// so its inode must stay.
fn rewrite(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// `network disconnect`: the container's entries for the network's
/// addresses leave its hosts file (a missing file is no error: --no-hosts).
pub fn remove_hosts_entries(path: &Path, entries: &[HostEntry]) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let kept: String = parse_hosts(&text)
        .iter()
        .filter(|e| !matches(e, entries))
        .map(|e| format_line(&e.ip, &e.names))
        .collect();
    rewrite(path, &kept)
}

/// `network connect`: the new network's entries join the hosts file when
/// the file still holds the container's entries of its other networks
/// (the user's own edits are left alone otherwise); with no other network,
/// they are added for the names the file does not hold yet.
pub fn add_hosts_entries(
    path: &Path,
    existing: &[HostEntry],
    new: &[HostEntry],
) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let current = parse_hosts(&text);
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if existing.is_empty() {
        let names: Vec<String> = current.iter().flat_map(|e| e.names.clone()).collect();
        out.push_str(&entries_if_not_exist(new, &names));
    } else if current.iter().any(|e| matches(e, existing)) {
        for e in new {
            out.push_str(&format_line(&e.ip, &e.names));
        }
    } else {
        return Ok(());
    }
    rewrite(path, &out)
}

/// A container joined to another's network namespace (a pod's member):
/// while it runs, its name stands for 127.0.0.1 in the hosts file it
/// shares with the others there, as podman writes it. Under a lock: the
/// members start and stop side by side. Returns whether a line was added
/// (none when the name is there already).
pub fn add_joined_name(path: &Path, name: &str) -> std::io::Result<bool> {
    let _lock = match lock_file(path) {
        Ok(l) => l,
        // The other container writes none (--no-hosts).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let text = std::fs::read_to_string(path)?;
    if parse_hosts(&text)
        .iter()
        .any(|e| e.names.iter().any(|n| n == name))
    {
        return Ok(false);
    }
    let mut out = text;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format_line("127.0.0.1", &[name.to_string()]));
    rewrite(path, &out)?;
    Ok(true)
}

/// The line `add_joined_name` added goes, once the container has exited.
pub fn remove_joined_name(path: &Path, name: &str) -> std::io::Result<()> {
    let _lock = lock_file(path)?;
    let text = std::fs::read_to_string(path)?;
    let line = format_line("127.0.0.1", &[name.to_string()]);
    if !text.lines().any(|l| format!("{l}\n") == line) {
        return Ok(());
    }
    let kept: String = text
        .lines()
        .filter(|l| format!("{l}\n") != line)
        .map(|l| format!("{l}\n"))
        .collect();
    rewrite(path, &kept)
}

fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::File::open(path)?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(f)
}

/// containers.conf `base_hosts_file`: "" the host's /etc/hosts (none if
/// it does not exist), "none", "image" (the image's, read by `image`), or
/// a path.
pub fn base_hosts(image: impl FnOnce() -> Option<String>) -> Result<Option<String>, String> {
    match crate::config::string("containers", "base_hosts_file").as_deref() {
        None => Ok(std::fs::read_to_string("/etc/hosts").ok()),
        Some("none") => Ok(None),
        Some("image") => Ok(image()),
        Some(path) => std::fs::read_to_string(path)
            .map(Some)
            .map_err(|e| format!("reading base_hosts_file {path}: {e}")),
    }
}

/// The first global unicast address of the host, IPv4 preferred (podman's
/// getLocalIP; `hostname -I`'s first).
pub fn local_ip() -> Option<IpAddr> {
    let mut v6 = None;
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we walk read-only and free once.
    unsafe {
        if libc::getifaddrs(&mut ifap) != 0 {
            return None;
        }
        let mut cur = ifap;
        let mut found = None;
        while !cur.is_null() {
            let a = (*cur).ifa_addr;
            if !a.is_null() {
                match i32::from((*a).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(a as *const libc::sockaddr_in);
                        let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                        if global_unicast(IpAddr::V4(ip)) {
                            found = Some(IpAddr::V4(ip));
                            break;
                        }
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(a as *const libc::sockaddr_in6);
                        let ip = IpAddr::V6(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr));
                        if v6.is_none() && global_unicast(ip) {
                            v6 = Some(ip);
                        }
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(ifap);
        found.or(v6)
    }
}

/// Go's IP.IsGlobalUnicast: not loopback, link-local, multicast,
/// unspecified or the IPv4 broadcast address.
fn global_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(v.is_loopback()
                || v.is_link_local()
                || v.is_multicast()
                || v.is_unspecified()
                || v.is_broadcast())
        }
        IpAddr::V6(v) => {
            !(v.is_loopback()
                || v.is_multicast()
                || v.is_unspecified()
                || (v.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// containers.conf `host_containers_internal_ip`: "none" for no entry, an
/// address, or (unset) the gateway of the container's first bridge
/// network (IPv4 preferred), else the host's own address (always the
/// latter rootless: the bridges live in another namespace).
pub fn host_internal_ip(bridge_gateways: &[IpAddr], rootless: bool) -> Option<String> {
    match crate::config::string("containers", "host_containers_internal_ip").as_deref() {
        Some("none") => return None,
        Some(ip) => return Some(ip.to_string()),
        None => {}
    }
    if !rootless {
        let gw = bridge_gateways
            .iter()
            .find(|g| g.is_ipv4())
            .or_else(|| bridge_gateways.first());
        if let Some(gw) = gw {
            return Some(gw.to_string());
        }
    }
    local_ip().map(|ip| ip.to_string())
}

/// The subnet a `slirp4netns:cidr=` option names (10.0.2.0/24 without).
pub fn slirp_subnet(options: &[String]) -> std::net::Ipv4Addr {
    options
        .iter()
        .find_map(|o| o.strip_prefix("cidr="))
        .and_then(|c| c.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or(std::net::Ipv4Addr::new(10, 0, 2, 0))
}

/// slirp4netns' fixed addresses: the container at .100, DNS at .3.
pub fn slirp_addr(options: &[String], offset: u32) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(u32::from(slirp_subnet(options)).wrapping_add(offset))
}

/// What resolv.conf is made of.
#[derive(Debug, Default)]
pub struct ResolvParams {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
    /// Append the host's servers (and search domains, options) to the
    /// given ones.
    pub keep_host_servers: bool,
    /// The container shares the host's network namespace.
    pub host_ns: bool,
    pub ipv6: bool,
}

/// The host's resolv.conf as a container sees it: with a namespace of its
/// own, a lone local stub resolver is replaced by the real servers behind
/// it (systemd-resolved, NetworkManager).
fn host_resolv_conf(host_ns: bool) -> String {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if host_ns {
        return text;
    }
    let ns = nameservers_of(&text);
    let real = match ns.as_slice() {
        [one] if one == "127.0.0.53" => "/run/systemd/resolve/resolv.conf",
        [one] if one == "127.0.0.1" => "/run/NetworkManager/no-stub-resolv.conf",
        _ => return text,
    };
    std::fs::read_to_string(real).unwrap_or(text)
}

fn lines_of(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().map(|l| {
        l.split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect()
    })
}

fn nameservers_of(text: &str) -> Vec<String> {
    lines_of(text)
        .filter(|w| w.len() >= 2 && w[0] == "nameserver")
        .map(|w| w[1].to_string())
        .collect()
}

/// The last `KEY` line's words.
fn last_of(text: &str, key: &str) -> Vec<String> {
    lines_of(text)
        .filter(|w| w.first() == Some(&key))
        .last()
        .map(|w| w[1..].iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

/// Loopback servers go in a namespace of the container's own; IPv6 ones
/// without IPv6; with none left, Google's public servers stand in.
fn filter_host_servers(servers: Vec<String>, ipv6: bool, netns: bool) -> Vec<String> {
    if !netns {
        return servers;
    }
    let kept: Vec<String> = servers
        .into_iter()
        .filter(|s| {
            let addr = s.split('%').next().unwrap_or(s);
            match addr.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() => false,
                Ok(IpAddr::V6(_)) => ipv6,
                _ => true,
            }
        })
        .collect();
    if !kept.is_empty() {
        return kept;
    }
    let mut d = vec!["8.8.8.8".to_string(), "8.8.4.4".to_string()];
    if ipv6 {
        d.push("2001:4860:4860::8888".into());
        d.push("2001:4860:4860::8844".into());
    }
    d
}

/// The text of a container's resolv.conf.
pub fn resolv(p: &ResolvParams) -> String {
    resolv_from(p, &host_resolv_conf(p.host_ns))
}

fn resolv_from(p: &ResolvParams, host: &str) -> String {
    let unset_dot = |s: &[String]| -> Vec<String> {
        if s.iter().any(|d| d == ".") {
            Vec::new()
        } else {
            s.to_vec()
        }
    };
    let complete = !p.nameservers.is_empty() && !p.searches.is_empty() && !p.options.is_empty();
    if complete && !p.keep_host_servers {
        return build(&p.nameservers, &unset_dot(&p.searches), &p.options);
    }
    let mut nameservers = p.nameservers.clone();
    if nameservers.is_empty() || p.keep_host_servers {
        nameservers.extend(filter_host_servers(
            nameservers_of(host),
            p.ipv6,
            !p.host_ns,
        ));
    }
    let mut searches = unset_dot(&p.searches);
    if p.searches.is_empty() || (p.keep_host_servers && !searches.is_empty()) {
        searches.extend(last_of(host, "search"));
    }
    let mut options = p.options.clone();
    if options.is_empty() || p.keep_host_servers {
        options.extend(last_of(host, "options"));
    }
    build(&nameservers, &searches, &options)
}

fn build(servers: &[String], searches: &[String], options: &[String]) -> String {
    let mut out = String::new();
    let search = searches.join(" ");
    if !searches.is_empty() && search.trim() != "." {
        out.push_str(&format!("search {search}\n"));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    let opts = options.join(" ");
    if !opts.trim().is_empty() {
        out.push_str(&format!("options {opts}\n"));
    }
    out
}

/// The names a container's own entries carry: its hostname and name.
fn own_names<'a>(hostname: &'a str, name: &'a str) -> [&'a str; 2] {
    [hostname, name]
}

/// A container's own entries on one network: both its addresses.
pub fn network_entries(att: &super::Attachment, hostname: &str, name: &str) -> Vec<HostEntry> {
    std::iter::once(att.endpoint.ip.as_str())
        .chain(att.endpoint.ipv6.as_deref())
        .map(|ip| HostEntry::new(ip, &own_names(hostname, name)))
        .collect()
}

/// What of a container's settings its /etc/hosts and resolv.conf follow.
pub struct NetSettings<'a> {
    pub hostname: &'a str,
    /// The network mode: bridge, slirp4netns, pasta, host, none, ...
    pub network: &'a str,
    pub network_options: &'a [String],
    /// `--add-host` entries.
    pub add_hosts: &'a [String],
    pub dns: &'a [String],
    pub dns_search: &'a [String],
    pub dns_options: &'a [String],
}

/// A new container's /etc/hosts: `network` is its mode (bridge,
/// slirp4netns, host, ...), `atts` its endpoints on bridge networks,
/// `image_hosts` reads the image's /etc/hosts (`base_hosts_file =
/// "image"`).
pub fn container_hosts(
    cfg: &NetSettings,
    name: &str,
    atts: &[super::Attachment],
    rootless: bool,
    image_hosts: impl FnOnce() -> Option<String>,
) -> Result<String, String> {
    let names = own_names(cfg.hostname, name);
    let container = match cfg.network {
        "bridge" => atts
            .iter()
            .flat_map(|a| network_entries(a, cfg.hostname, name))
            .collect(),
        "slirp4netns" => vec![HostEntry::new(
            slirp_addr(cfg.network_options, 100).to_string(),
            &names,
        )],
        "none" | "private" | "pasta" => vec![HostEntry::new("127.0.0.1", &names)],
        _ => Vec::new(),
    };
    let gateways: Vec<IpAddr> = atts
        .iter()
        .filter(|a| a.network.driver == "bridge")
        .flat_map(|a| [a.config.v4(), a.config.v6()])
        .flatten()
        .filter_map(|s| s.gateway)
        .collect();
    Ok(hosts(&HostsParams {
        base: base_hosts(image_hosts)?,
        extra: parse_extra_hosts(cfg.add_hosts)?,
        container,
        host_internal: host_internal_ip(&gateways, rootless),
    }))
}

/// A new container's resolv.conf (podman's generateResolvConf).
pub fn container_resolv(cfg: &NetSettings, atts: &[super::Attachment]) -> String {
    let conf = |k: &str| crate::config::strings("containers", k);
    let mut nameservers = conf("dns_servers");
    nameservers.extend(cfg.dns.iter().cloned());
    let mut searches = Vec::new();
    let keep_host_servers = nameservers.is_empty();
    if keep_host_servers {
        // The networks' DNS servers, then (slirp4netns) its forwarder.
        for a in atts.iter().filter(|a| a.config.dns_enabled) {
            if let Some(gw) = a.config.v4().and_then(|s| s.gateway) {
                let gw = gw.to_string();
                if !nameservers.contains(&gw) {
                    nameservers.push(gw);
                }
                if searches.is_empty() {
                    searches.push(super::DNS_DOMAIN.to_string());
                }
            }
        }
        if cfg.network == "slirp4netns" {
            nameservers.push(slirp_addr(cfg.network_options, 3).to_string());
        }
    }
    let mut custom = conf("dns_searches");
    custom.extend(cfg.dns_search.iter().cloned());
    if !custom.is_empty() {
        searches = custom;
    }
    let mut options = conf("dns_options");
    options.extend(cfg.dns_options.iter().cloned());
    let ipv6 = atts.iter().any(|a| a.endpoint.ipv6.is_some())
        || (cfg.network == "slirp4netns"
            && cfg.network_options.iter().any(|o| o == "enable_ipv6=true"));
    resolv(&ResolvParams {
        nameservers,
        searches,
        options,
        keep_host_servers,
        host_ns: cfg.network == "host",
        ipv6,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_user_entries_first_ours_only_for_free_names() {
        let p = HostsParams {
            base: Some("10.1.1.1 one # comment\n10.1.1.2 two\n# only\n10.1.1.3\n".into()),
            extra: parse_extra_hosts(&["three:10.1.1.4".into(), "six:fd00::6".into()]).unwrap(),
            container: vec![HostEntry::new("10.88.0.2", &["abc", "web"])],
            host_internal: Some("10.88.0.1".into()),
        };
        assert_eq!(
            hosts(&p),
            "10.1.1.4\tthree\nfd00::6\tsix\n10.1.1.1\tone\n10.1.1.2\ttwo\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.88.0.1\thost.containers.internal\n10.88.0.2\tabc web\n"
        );
        // The base file names the container and localhost already.
        let p = HostsParams {
            base: Some("127.0.0.1 localhost\n10.1.1.1 web\n".into()),
            container: vec![HostEntry::new("10.88.0.2", &["web", "web"])],
            ..Default::default()
        };
        assert_eq!(hosts(&p), "127.0.0.1\tlocalhost\n10.1.1.1\tweb\n");
        assert!(parse_extra_hosts(&["nohost".into()]).is_err());
        assert!(parse_extra_hosts(&[":1.2.3.4".into()]).is_err());
    }

    #[test]
    fn hosts_entries_of_a_network_come_and_go_in_place() {
        let dir = std::env::temp_dir().join(format!("berth-etchosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("hosts");
        std::fs::write(&f, "127.0.0.1\tlocalhost\n10.89.0.2\tabc web\n").unwrap();
        let ino = |f: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(f).unwrap());
        let before = ino(&f);
        let old = [HostEntry::new("10.89.0.2", &["abc", "web"])];
        let new = [HostEntry::new("10.90.0.5", &["abc", "web"])];
        add_hosts_entries(&f, &old, &new).unwrap();
        remove_hosts_entries(&f, &old).unwrap();
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "127.0.0.1\tlocalhost\n10.90.0.5\tabc web\n"
        );
        assert_eq!(ino(&f), before);
        // The user replaced our entries: a new network leaves the file be.
        add_hosts_entries(&f, &old, &[HostEntry::new("10.91.0.2", &["web"])]).unwrap();
        assert!(!std::fs::read_to_string(&f).unwrap().contains("10.91"));
        remove_hosts_entries(&dir.join("missing"), &old).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resolv_as_podman_builds_it() {
        let host = "# generated\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fd00::53\noptions ndots:2\n";
        // Network DNS first, the host's after, with its search and options.
        let p = ResolvParams {
            nameservers: vec!["10.89.0.1".into()],
            searches: vec!["dns.podman".into()],
            keep_host_servers: true,
            ..Default::default()
        };
        assert_eq!(
            resolv_from(&p, host),
            "search dns.podman corp.example\nnameserver 10.89.0.1\nnameserver 192.0.2.53\noptions ndots:2\n"
        );
        // Explicit servers and searches replace the host's; options stay.
        let p = ResolvParams {
            nameservers: vec!["1.1.1.1".into()],
            searches: vec!["example.com".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_from(&p, host),
            "search example.com\nnameserver 1.1.1.1\noptions ndots:2\n"
        );
        // The host's namespace keeps everything; "." unsets the search.
        let p = ResolvParams {
            host_ns: true,
            ipv6: false,
            searches: vec![".".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_from(&p, host),
            "nameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fd00::53\noptions ndots:2\n"
        );
        // Nothing left after filtering: Google's servers.
        let p = ResolvParams::default();
        assert_eq!(
            resolv_from(&p, "nameserver 127.0.0.1\n"),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
    }

    #[test]
    fn slirp_addresses_follow_the_cidr() {
        assert_eq!(slirp_addr(&[], 100).to_string(), "10.0.2.100");
        let o = ["mtu=1500".to_string(), "cidr=172.25.3.0/24".to_string()];
        assert_eq!(slirp_addr(&o, 3).to_string(), "172.25.3.3");
    }
}
