//! Networks as the engine keeps them: records in the host-wide network
//! database, the default network, address allocation for containers, and
//! removal.

use super::Engine;
use crate::network::host::HostNs;
use crate::network::ipam::{self, Subnet};
use crate::network::{
    DEFAULT_BRIDGE, DEFAULT_NETWORK, DEFAULT_SUBNET, LEGACY_DEFAULT_NETWORK, NetworkConfig,
    NetworkError, SubnetConfig,
};
use crate::state::Db;
pub use crate::state::networks::NetworkRow;
use crate::state::networks::{self as db, EndpointRow};
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

impl From<crate::state::DbError> for NetworkError {
    fn from(e: crate::state::DbError) -> Self {
        NetworkError::Invalid(e.to_string())
    }
}

impl From<rusqlite::Error> for NetworkError {
    fn from(e: rusqlite::Error) -> Self {
        NetworkError::Invalid(format!("network database: {e}"))
    }
}

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NetworkSpec {
    pub name: Option<String>,
    pub driver: String,
    /// (subnet, gateway, ip range), one per `--subnet`.
    pub subnets: Vec<(Subnet, Option<IpAddr>, Option<Subnet>)>,
    pub internal: bool,
    pub disable_dns: bool,
    pub ipv6: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// One network a new container asks to join (`--network NAME`, `--ip`,
/// `--mac-address`, `--network-alias`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(default)]
pub struct NetworkRequest {
    pub network: String,
    pub ip: Option<IpAddr>,
    pub mac: Option<String>,
    pub aliases: Vec<String>,
    /// The interface's name in the container (default: eth0, eth1, ...).
    pub interface_name: Option<String>,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Subnets routed on the host (not default routes, not berth's own
/// bridges): a new network must not shadow them. Read from /proc/net,
/// which names each route's device.
fn host_routes() -> Vec<Subnet> {
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    parse_routes(&read("/proc/net/route"), &read("/proc/net/ipv6_route"))
}

fn parse_routes(v4: &str, v6: &str) -> Vec<Subnet> {
    let ours = |dev: &str| dev.starts_with(crate::network::BRIDGE_PREFIX);
    let mut out = Vec::new();
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
    for l in v4.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 8 || ours(f[0]) {
            continue;
        }
        let (Ok(dst), Ok(mask)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
        else {
            continue;
        };
        // The kernel prints the address as it sits in memory: network order.
        let net_order = |v: u32| u32::from_be_bytes(v.to_ne_bytes());
        let prefix = net_order(mask).leading_ones() as u8;
        if prefix > 0
            && let Ok(s) = Subnet::new(IpAddr::V4(std::net::Ipv4Addr::from(net_order(dst))), prefix)
        {
            out.push(s);
        }
    }
    // dst dst_len src src_len next_hop metric refcnt use flags device
    for l in v6.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 10 || ours(f[9]) || f[9] == "lo" {
            continue;
        }
        let (Ok(dst), Ok(len)) = (u128::from_str_radix(f[0], 16), u8::from_str_radix(f[1], 16))
        else {
            continue;
        };
        // Link-local routes are on every interface; they clash with nothing.
        let addr = std::net::Ipv6Addr::from(dst);
        if len > 0
            && (addr.segments()[0] & 0xffc0) != 0xfe80
            && let Ok(s) = Subnet::new(IpAddr::V6(addr), len)
        {
            out.push(s);
        }
    }
    out
}

fn valid_name(name: &str) -> bool {
    super::volumes::valid_name(name)
}

impl Engine {
    /// This root as endpoints record it (one spelling per root).
    pub fn root_key(&self) -> std::path::PathBuf {
        std::fs::canonicalize(&self.paths.root).unwrap_or_else(|_| self.paths.root.clone())
    }

    /// Where this user's bridges live: the host's namespace, or rootless
    /// the pause process's.
    pub fn host_ns(&self) -> Result<HostNs, NetworkError> {
        if self.paths.rootless {
            HostNs::rootless(&self.paths.runroot)
        } else {
            Ok(HostNs::host())
        }
    }

    /// The host-wide network database (see `Paths::network_db`).
    pub fn netdb(&self) -> Result<Db, NetworkError> {
        let path = self.paths.network_db();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| NetworkError::Io(format!("creating {}", dir.display()), e))?;
        }
        Ok(Db::open(&path)?)
    }
}

/// All networks, the default one included (created on first sight).
pub fn list(nd: &Db) -> Result<Vec<NetworkRow>, NetworkError> {
    default_network(nd)?;
    Ok(db::all(&nd.conn)?)
}

/// A network by name, full ID or unique ID prefix; "bridge" is docker's
/// name for the default network.
pub fn find(nd: &Db, word: &str) -> Result<NetworkRow, NetworkError> {
    let word = if word == "bridge" {
        DEFAULT_NETWORK
    } else {
        word
    };
    if word == DEFAULT_NETWORK {
        return default_network(nd);
    }
    if let Some(n) = db::get(&nd.conn, word)? {
        return Ok(n);
    }
    // The default network's name before it took podman's.
    if word == LEGACY_DEFAULT_NETWORK {
        return default_network(nd);
    }
    let hits: Vec<NetworkRow> = db::all(&nd.conn)?
        .into_iter()
        .filter(|n| word.len() >= 3 && n.id.starts_with(word))
        .collect();
    match hits.len() {
        1 => Ok(hits.into_iter().next().expect("one hit")),
        0 => Err(NetworkError::NotFound(word.to_string())),
        _ => Err(NetworkError::Invalid(format!(
            "network ID prefix {word:?} is ambiguous; use more characters or the name"
        ))),
    }
}

fn used_subnets(nd: &Db) -> Result<Vec<Subnet>, NetworkError> {
    Ok(db::all(&nd.conn)?
        .iter()
        .flat_map(|n| NetworkConfig::parse(&n.config).subnets)
        .map(|s| s.subnet)
        .collect())
}

/// The default network `podman` (bridge berth0, 10.88.0.0/16 unless the
/// host already routes it, then the next free /16 from 10.90: a rootless
/// user's next to root's), recorded the first time anyone needs it. A
/// store that recorded it as `berth` (before it took podman's name) has it
/// renamed here, its endpoints with it.
pub fn default_network(nd: &Db) -> Result<NetworkRow, NetworkError> {
    if let Some(n) = db::get(&nd.conn, DEFAULT_NETWORK)? {
        fold_legacy(nd)?;
        return Ok(n);
    }
    // IMMEDIATE: two processes seeing no default network record one.
    let tx =
        rusqlite::Transaction::new_unchecked(&nd.conn, rusqlite::TransactionBehavior::Immediate)?;
    if let Some(n) = db::get(&tx, DEFAULT_NETWORK)? {
        return Ok(n);
    }
    if let Some(old) = db::get(&tx, LEGACY_DEFAULT_NETWORK)?
        && old.interface == DEFAULT_BRIDGE
    {
        db::rename(&tx, LEGACY_DEFAULT_NETWORK, DEFAULT_NETWORK)?;
        tx.commit()?;
        return Ok(NetworkRow {
            name: DEFAULT_NETWORK.into(),
            ..old
        });
    }
    let routes = host_routes();
    let mut subnet: Subnet = DEFAULT_SUBNET.parse().map_err(NetworkError::Invalid)?;
    let mut second = 88u8;
    while routes.iter().any(|r| r.overlaps(&subnet)) && second < 254 {
        // 10.89/16 is where user networks get their /24s.
        second += if second == 88 { 2 } else { 1 };
        subnet = format!("10.{second}.0.0/16")
            .parse()
            .map_err(NetworkError::Invalid)?;
    }
    let cfg = NetworkConfig {
        subnets: vec![SubnetConfig {
            subnet,
            gateway: subnet.default_gateway(),
            lease_range: None,
        }],
        // As podman: no name resolution on the default network.
        dns_enabled: false,
        ..Default::default()
    };
    let row = NetworkRow {
        name: DEFAULT_NETWORK.into(),
        id: crate::engine::containers::new_id(),
        driver: "bridge".into(),
        interface: DEFAULT_BRIDGE.into(),
        created: now_secs(),
        config: serde_json::to_string(&cfg).map_err(|e| NetworkError::Invalid(e.to_string()))?,
    };
    db::insert(&tx, &row)?;
    tx.commit()?;
    Ok(row)
}

/// A `berth` default network recorded next to `podman` (by a berth from
/// before the rename, sharing this database): its endpoints join
/// `podman`, the bridge both describe, and it goes once it has none left.
fn fold_legacy(nd: &Db) -> Result<(), NetworkError> {
    let legacy = |c: &rusqlite::Connection| -> Result<bool, NetworkError> {
        Ok(db::get(c, LEGACY_DEFAULT_NETWORK)?.is_some_and(|n| n.interface == DEFAULT_BRIDGE))
    };
    if !legacy(&nd.conn)? {
        return Ok(());
    }
    let tx =
        rusqlite::Transaction::new_unchecked(&nd.conn, rusqlite::TransactionBehavior::Immediate)?;
    if legacy(&tx)? {
        db::fold_into(&tx, LEGACY_DEFAULT_NETWORK, DEFAULT_NETWORK)?;
    }
    tx.commit()?;
    Ok(())
}

/// A ULA /64 with a random global ID (RFC 4193), for `--ipv6` without a
/// v6 `--subnet`.
fn random_ula() -> Subnet {
    let mut b = [0u8; 5];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    let s = format!(
        "fd{:02x}:{:02x}{:02x}:{:02x}{:02x}::/64",
        b[0], b[1], b[2], b[3], b[4]
    );
    s.parse().unwrap_or(Subnet {
        addr: IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0)),
        prefix: 64,
    })
}

/// The default route's interface: macvlan's parent when `-o parent=` is
/// not given (podman does the same).
fn default_route_interface() -> Option<String> {
    let t = std::fs::read_to_string("/proc/net/route").ok()?;
    t.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[1] == "00000000").then(|| f[0].to_string())
    })
}

pub fn create(nd: &Db, spec: NetworkSpec) -> Result<NetworkRow, NetworkError> {
    default_network(nd)?;
    let driver = if spec.driver.is_empty() {
        "bridge".to_string()
    } else {
        spec.driver.clone()
    };
    if driver != "bridge" && driver != "macvlan" {
        return Err(NetworkError::Invalid(format!(
            "unsupported network driver {driver:?}: use bridge or macvlan"
        )));
    }
    for k in spec.options.keys() {
        let ok = match driver.as_str() {
            "bridge" => k == "mtu",
            _ => ["mtu", "parent", "mode"].contains(&k.as_str()),
        };
        if !ok {
            return Err(NetworkError::Invalid(format!(
                "unsupported {driver} network option {k:?}"
            )));
        }
    }
    if let Some(m) = spec.options.get("mtu")
        && m.parse::<u32>()
            .map(|v| !(68..=65535).contains(&v))
            .unwrap_or(true)
    {
        return Err(NetworkError::Invalid(format!(
            "invalid mtu {m:?}: expected 68-65535"
        )));
    }
    if let Some(m) = spec.options.get("mode")
        && m != "bridge"
    {
        return Err(NetworkError::Invalid(format!(
            "unsupported macvlan mode {m:?}: berth supports bridge"
        )));
    }
    // IMMEDIATE: the name, bridge and subnet checks and the insert are
    // one step for every berth process.
    let tx =
        rusqlite::Transaction::new_unchecked(&nd.conn, rusqlite::TransactionBehavior::Immediate)?;
    let existing = db::all(&tx)?;
    let name = match spec.name.clone() {
        Some(n) => {
            if !valid_name(&n) {
                return Err(NetworkError::Invalid(format!(
                    "invalid network name {n:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
            if n == "bridge" || existing.iter().any(|e| e.name == n) {
                return Err(NetworkError::Exists(n));
            }
            n
        }
        None => (1..)
            .map(|i| format!("berth{i}"))
            .find(|n| !existing.iter().any(|e| &e.name == n))
            .unwrap_or_default(),
    };
    let taken = used_subnets(nd)?;
    let routes = host_routes();
    let mut subnets = Vec::new();
    for (s, gw, range) in &spec.subnets {
        if let Some(other) = taken.iter().find(|t| t.overlaps(s)) {
            let owner = existing
                .iter()
                .find(|n| {
                    NetworkConfig::parse(&n.config)
                        .subnets
                        .iter()
                        .any(|x| x.subnet == *other)
                })
                .map(|n| n.name.clone())
                .unwrap_or_default();
            return Err(NetworkError::Invalid(format!(
                "subnet {s} overlaps subnet {other} of network {owner:?}: choose another --subnet"
            )));
        }
        if driver == "bridge"
            && let Some(r) = routes.iter().find(|r| r.overlaps(s))
        {
            return Err(NetworkError::Invalid(format!(
                "subnet {s} overlaps the host route to {r}: choose another --subnet"
            )));
        }
        let gateway = match gw {
            Some(g) => {
                ipam::check_static(s, None, *g)
                    .map_err(|e| NetworkError::Invalid(format!("--gateway: {e}")))?;
                Some(*g)
            }
            None => s.default_gateway(),
        };
        if let Some(r) = range
            && (!s.contains(r.addr) || r.prefix < s.prefix)
        {
            return Err(NetworkError::Invalid(format!(
                "--ip-range {r} is not inside subnet {s}"
            )));
        }
        subnets.push(SubnetConfig {
            subnet: *s,
            gateway,
            lease_range: *range,
        });
    }
    if !subnets.iter().any(|s| !s.subnet.is_ipv6()) {
        // podman's rule: the first free 10.89.N.0/24.
        let pick = (0..=255u32)
            .filter_map(|n| format!("10.89.{n}.0/24").parse::<Subnet>().ok())
            .find(|c| !taken.iter().any(|t| t.overlaps(c)) && !routes.iter().any(|r| r.overlaps(c)))
            .ok_or_else(|| {
                NetworkError::Invalid(
                    "no free subnet left in 10.89.0.0/16: give one with --subnet".into(),
                )
            })?;
        subnets.insert(
            0,
            SubnetConfig {
                subnet: pick,
                gateway: pick.default_gateway(),
                lease_range: None,
            },
        );
    }
    let ipv6 = spec.ipv6 || subnets.iter().any(|s| s.subnet.is_ipv6());
    if ipv6 && !subnets.iter().any(|s| s.subnet.is_ipv6()) {
        let ula = random_ula();
        subnets.push(SubnetConfig {
            subnet: ula,
            gateway: ula.default_gateway(),
            lease_range: None,
        });
    }
    let interface = if driver == "macvlan" {
        let parent = spec
            .options
            .get("parent")
            .cloned()
            .or_else(default_route_interface)
            .ok_or_else(|| {
                NetworkError::Invalid("macvlan needs a parent interface: -o parent=IFACE".into())
            })?;
        let exists = crate::network::netlink::Netlink::connect()
            .and_then(|mut nl| nl.link_index(&parent))
            .ok()
            .flatten()
            .is_some();
        if !exists {
            return Err(NetworkError::Invalid(format!(
                "macvlan parent interface {parent:?} does not exist"
            )));
        }
        parent
    } else {
        (1..)
            .map(|i| format!("{}{i}", crate::network::BRIDGE_PREFIX))
            .find(|b| !existing.iter().any(|e| &e.interface == b))
            .unwrap_or_default()
    };
    let cfg = NetworkConfig {
        subnets,
        internal: spec.internal,
        dns_enabled: !spec.disable_dns && driver == "bridge",
        ipv6_enabled: ipv6,
        labels: spec.labels.clone(),
        options: spec.options.clone(),
    };
    let row = NetworkRow {
        name,
        id: crate::engine::containers::new_id(),
        driver,
        interface,
        created: now_secs(),
        config: serde_json::to_string(&cfg).map_err(|e| NetworkError::Invalid(e.to_string()))?,
    };
    db::insert(&tx, &row)?;
    tx.commit()?;
    // podman 4.4's network events (4.3.1 had none for create/remove).
    super::events::network("create", &row.id, &row.name);
    Ok(row)
}

/// A container's aliases on a network: the ones asked for, and its short
/// ID (podman adds it to every network, for docker compatibility).
fn with_short_id(aliases: &[String], container_id: &str) -> Vec<String> {
    let short = &container_id[..container_id.len().min(12)];
    let mut v = aliases.to_vec();
    if !v.iter().any(|a| a == short) {
        v.push(short.to_string());
    }
    v
}

/// Give a container its endpoints, in one IMMEDIATE transaction: what is
/// free is decided and taken in one step, whatever runs in parallel.
pub fn allocate(
    nd: &Db,
    root: &std::path::Path,
    container_id: &str,
    reqs: &[NetworkRequest],
) -> Result<Vec<crate::network::Attachment>, NetworkError> {
    default_network(nd)?;
    let tx =
        rusqlite::Transaction::new_unchecked(&nd.conn, rusqlite::TransactionBehavior::Immediate)?;
    let mut out = Vec::new();
    let start = db::endpoints_of_container(&tx, container_id)?.len();
    for (i, r) in reqs.iter().enumerate() {
        let net = find(nd, &r.network)?;
        if db::endpoints_of_container(&tx, container_id)?
            .iter()
            .any(|e| e.network == net.name)
        {
            return Err(NetworkError::Invalid(format!(
                "container is already connected to network {}",
                net.name
            )));
        }
        let cfg = NetworkConfig::parse(&net.config);
        let eps = db::endpoints_of_network(&tx, &net.name)?;
        let pick = |sub: &SubnetConfig, want: Option<IpAddr>, used: HashSet<IpAddr>| match want {
            Some(ip) => {
                ipam::check_static(&sub.subnet, sub.gateway, ip).map_err(NetworkError::Invalid)?;
                if used.contains(&ip) {
                    return Err(NetworkError::InUse(format!(
                        "IP address {ip} is already allocated on network {}",
                        net.name
                    )));
                }
                Ok(ip)
            }
            None => {
                let key = sub.subnet.to_string();
                let last = db::last_ip(&tx, &net.name, &key)?.and_then(|l| l.parse().ok());
                let ip = ipam::next_free_after(
                    &sub.subnet,
                    sub.lease_range.as_ref(),
                    sub.gateway,
                    &used,
                    last,
                )
                .ok_or_else(|| {
                    NetworkError::InUse(format!(
                        "no free IP address left in subnet {} of network {}",
                        sub.subnet, net.name
                    ))
                })?;
                db::set_last_ip(&tx, &net.name, &key, &ip.to_string())?;
                Ok(ip)
            }
        };
        let v4 = cfg.v4().ok_or_else(|| {
            NetworkError::Invalid(format!("network {} has no IPv4 subnet", net.name))
        })?;
        let used4: HashSet<IpAddr> = eps.iter().filter_map(|e| e.ip.parse().ok()).collect();
        let want4 = r.ip.filter(|ip| ip.is_ipv4());
        let ip = pick(v4, want4, used4)?;
        let ipv6 = match cfg.v6() {
            Some(v6) => {
                let used6: HashSet<IpAddr> = eps
                    .iter()
                    .filter_map(|e| e.ipv6.as_deref().and_then(|x| x.parse().ok()))
                    .collect();
                Some(pick(v6, r.ip.filter(|ip| ip.is_ipv6()), used6)?.to_string())
            }
            None => None,
        };
        let mac = match &r.mac {
            Some(m) => {
                ipam::parse_mac(m).map_err(NetworkError::Invalid)?;
                m.to_ascii_lowercase()
            }
            None => ipam::format_mac(&ipam::mac_for(ip)),
        };
        let ep = EndpointRow {
            network: net.name.clone(),
            container_id: container_id.to_string(),
            position: (start + i) as i64,
            interface: r
                .interface_name
                .clone()
                .unwrap_or_else(|| format!("eth{}", start + i)),
            ip: ip.to_string(),
            ipv6,
            mac,
            aliases: with_short_id(&r.aliases, container_id),
            root: root.display().to_string(),
        };
        db::insert_endpoint(&tx, &ep)?;
        out.push(crate::network::Attachment {
            network: net.clone(),
            config: cfg.clone(),
            endpoint: ep,
        });
    }
    tx.commit()?;
    Ok(out)
}

/// Give back the addresses of `root`'s containers that have no record
/// (a create killed between taking its addresses and writing its record).
/// Only under the root's writer lock, which every create holds from
/// allocation to record.
pub fn sweep_stale(
    nd: &Db,
    root: &std::path::Path,
    recorded: impl Fn(&str) -> bool,
) -> Result<(), NetworkError> {
    for id in db::containers_of_root(&nd.conn, &root.display().to_string())? {
        if !recorded(&id) {
            db::delete_endpoints_of_container(&nd.conn, &id)?;
        }
    }
    Ok(())
}

/// The attachments of a container, as the monitor wires them.
pub fn attachments(
    nd: &Db,
    container_id: &str,
) -> Result<Vec<crate::network::Attachment>, NetworkError> {
    let mut out = Vec::new();
    for ep in db::endpoints_of_container(&nd.conn, container_id)? {
        let Some(network) = db::get(&nd.conn, &ep.network)? else {
            continue;
        };
        out.push(crate::network::Attachment {
            config: NetworkConfig::parse(&network.config),
            network,
            endpoint: ep,
        });
    }
    Ok(out)
}

/// The default network stays (podman's rule and text).
pub fn check_removable(net: &NetworkRow) -> Result<(), NetworkError> {
    if net.name == DEFAULT_NETWORK {
        return Err(NetworkError::Invalid(format!(
            "default network {} cannot be removed",
            net.name
        )));
    }
    Ok(())
}

pub fn remove(engine: &Engine, nd: &Db, net: &NetworkRow) -> Result<Vec<String>, NetworkError> {
    check_removable(net)?;
    db::delete(&nd.conn, &net.name)?;
    super::events::network("remove", &net.id, &net.name);
    // Its DNS server exits once the records are gone.
    let _ = std::fs::remove_dir_all(crate::network::dns_dir(
        &engine.paths.network_run(),
        &net.name,
    ));
    match engine.host_ns() {
        Ok(ns) => Ok(crate::network::remove_bridge(&ns, net)),
        // Rootless without its namespace: there is no bridge to remove.
        Err(_) => Ok(Vec::new()),
    }
}

/// A network `network rm` removed: its name, and what failed in tearing
/// down its bridge (reported, not fatal: the record is gone).
pub struct RemovedNetwork {
    pub name: String,
    pub errors: Vec<String>,
}

impl Engine {
    /// `network rm`: refuse while containers use it, unless `force`, which
    /// removes them first (each stopped first when `stop_timeout` is
    /// given: `--time`), as podman does.
    pub fn remove_network(
        &self,
        nd: &Db,
        name: &str,
        force: bool,
        stop_timeout: Option<u64>,
    ) -> Result<RemovedNetwork, NetworkError> {
        let n = find(nd, name)?;
        check_removable(&n)?;
        let users = db::endpoints_of_network(&nd.conn, &n.name)?;
        if !users.is_empty() {
            if !force {
                return Err(NetworkError::InUse(format!(
                    "network {} is being used by {} container(s): remove them first, or use --force",
                    n.name,
                    users.len()
                )));
            }
            for u in &users {
                match self.container(&u.container_id) {
                    Ok(c) => {
                        if stop_timeout.is_some() {
                            self.stop(&c, stop_timeout)
                                .map_err(|e| NetworkError::InUse(e.to_string()))?;
                        }
                        let c = self
                            .refresh(c)
                            .map_err(|e| NetworkError::InUse(e.to_string()))?;
                        self.remove_container(&c, true)
                            .map_err(|e| NetworkError::InUse(e.to_string()))?
                    }
                    // A container of another root: its record is not ours to
                    // remove, but its lease on this network goes.
                    Err(_) => db::delete_endpoint(&nd.conn, &n.name, &u.container_id)?,
                }
            }
        }
        let errors = remove(self, nd, &n)?;
        Ok(RemovedNetwork {
            name: n.name,
            errors,
        })
    }
}

#[cfg(test)]
#[path = "networks_tests.rs"]
mod tests;

/// The rootless default: berth.conf's `default_rootless_network_cmd`, else
/// pasta, else slirp4netns, whichever is installed; loopback only without
/// either.
pub fn default_rootless_mode() -> String {
    if let Some(c) = crate::config::string("network", "default_rootless_network_cmd") {
        return c;
    }
    let on_path = |cmd: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
            .unwrap_or(false)
    };
    for cmd in ["pasta", "slirp4netns"] {
        if on_path(cmd) {
            return cmd.to_string();
        }
    }
    "private".into()
}
