use super::{Ctx, exit, print_rows};
use crate::engine::endpoints;
use crate::engine::networks::{self as nets, NetworkRequest, NetworkRow, NetworkSpec};
use crate::format::template::render_one;
use crate::network::{NetworkConfig, NetworkError};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove all networks no container uses
    Prune(PruneArgs),
    /// Check if a network exists
    Exists(ExistsArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
    /// Restore the firewall rules of networks and running containers
    Reload(ReloadArgs),
    /// The DNS responder of one network (started by berth itself)
    #[command(hide = true)]
    DnsServe(DnsServeArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Network name (berthN when omitted)
    pub name: Option<String>,
    /// Driver: bridge or macvlan
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR notation (repeat for an IPv6 one too)
    #[arg(long)]
    pub subnet: Vec<String>,
    /// Gateway of the subnet (one per --subnet, in order)
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Hand out addresses from this range only (CIDR; one per --subnet)
    #[arg(long)]
    pub ip_range: Vec<String>,
    /// No route out of the network
    #[arg(long)]
    pub internal: bool,
    /// Set metadata labels (KEY=VALUE)
    #[arg(long)]
    pub label: Vec<String>,
    /// Driver options: mtu=N; macvlan: parent=IFACE, mode=bridge
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// Also an IPv6 subnet (a random ULA /64 unless --subnet gives one)
    #[arg(long)]
    pub ipv6: bool,
    /// No DNS name resolution of containers on this network
    #[arg(long)]
    pub disable_dns: bool,
    /// Do not fail if the network exists
    #[arg(long)]
    pub ignore: bool,
}

#[derive(Args)]
pub struct LsArgs {
    /// Print network IDs only
    #[arg(short, long)]
    pub quiet: bool,
    /// Filter: name=, id=, driver=, label=
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Output format: json, table, or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print column headings
    #[arg(long)]
    pub noheading: bool,
    /// Do not truncate network IDs
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Format the output with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Also remove the containers using the network
    #[arg(short, long)]
    pub force: bool,
    /// With --force: seconds to wait for each container to stop before killing it
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Filter: label=
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Args)]
pub struct ExistsArgs {
    pub name: String,
}

#[derive(Args)]
pub struct ConnectArgs {
    pub network: String,
    pub container: String,
    /// Another DNS name for the container on this network
    #[arg(long)]
    pub alias: Vec<String>,
    /// The container's IPv4 address on the network
    #[arg(long)]
    pub ip: Option<String>,
    /// The container's MAC address on the network
    #[arg(long)]
    pub mac_address: Option<String>,
}

#[derive(Args)]
pub struct DisconnectArgs {
    pub network: String,
    pub container: String,
    /// Disconnect even if the container is not running
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args)]
pub struct ReloadArgs {
    /// Containers whose ports to restore
    pub containers: Vec<String>,
    /// Every running container
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Args)]
pub struct DnsServeArgs {
    pub dir: std::path::PathBuf,
    pub gateway: std::net::IpAddr,
}

fn labels_of(raw: &[String]) -> BTreeMap<String, String> {
    raw.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// podman's network inspect document (netavark's types).
pub(super) fn network_json(n: &NetworkRow) -> Value {
    let cfg = NetworkConfig::parse(&n.config);
    let subnets: Vec<Value> = cfg
        .subnets
        .iter()
        .map(|s| {
            let mut v = json!({"subnet": s.subnet.to_string()});
            if let Some(g) = s.gateway {
                v["gateway"] = json!(g.to_string());
            }
            if let Some(r) = &s.lease_range {
                v["lease_range"] = json!({
                    "start_ip": r.nth(0).map(|a| a.to_string()),
                    "end_ip": last_of(r).map(|a| a.to_string()),
                });
            }
            v
        })
        .collect();
    json!({
        "name": n.name,
        "id": n.id,
        "driver": n.driver,
        "network_interface": n.interface,
        "created": crate::format::units::rfc3339(n.created),
        "subnets": subnets,
        "ipv6_enabled": cfg.ipv6_enabled,
        "internal": cfg.internal,
        "dns_enabled": cfg.dns_enabled,
        "labels": cfg.labels,
        "options": cfg.options,
        "ipam_options": {"driver": "host-local"},
    })
}

fn last_of(r: &crate::network::ipam::Subnet) -> Option<std::net::IpAddr> {
    let width = if r.is_ipv6() { 128 } else { 32 };
    let n = 1u128.checked_shl(width - r.prefix as u32).unwrap_or(0);
    r.nth(n.saturating_sub(1))
}

/// The Go field names podman's templates use for a network.
pub(super) fn template_value(n: &NetworkRow) -> Value {
    let j = network_json(n);
    json!({
        "Name": j["name"], "ID": j["id"], "Driver": j["driver"],
        "NetworkInterface": j["network_interface"], "Created": j["created"],
        "Subnets": j["subnets"].as_array().map(|v| v.iter().map(|s| json!({
            "Subnet": s["subnet"], "Gateway": s["gateway"], "LeaseRange": s["lease_range"],
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "IPv6Enabled": j["ipv6_enabled"], "Internal": j["internal"],
        "DNSEnabled": j["dns_enabled"], "Labels": j["labels"], "Options": j["options"],
        "IPAMOptions": j["ipam_options"],
    })
}

fn net_exit(e: NetworkError) -> anyhow::Error {
    let code = match e {
        NetworkError::NotFound(_) => 1,
        NetworkError::InUse(_) => 2,
        _ => 125,
    };
    exit(code, e.to_string())
}

pub fn run(ctx: &Ctx, cmd: NetworkCommand) -> anyhow::Result<()> {
    if let NetworkCommand::DnsServe(a) = cmd {
        return Ok(crate::network::dns_serve_main(&a.dir, a.gateway)?);
    }
    let engine = ctx.engine()?;
    let nd = engine.netdb()?;
    match cmd {
        NetworkCommand::DnsServe(_) => unreachable!("handled above"),
        NetworkCommand::Create(a) => {
            let mut subnets = Vec::new();
            for (i, s) in a.subnet.iter().enumerate() {
                let subnet = s.parse().map_err(anyhow::Error::msg)?;
                let gateway = match a.gateway.get(i) {
                    Some(g) => Some(g.parse().map_err(|_| {
                        anyhow::anyhow!("invalid --gateway {g:?}: expected an IP address")
                    })?),
                    None => None,
                };
                let range = match a.ip_range.get(i) {
                    Some(r) => Some(r.parse().map_err(|e: String| {
                        anyhow::anyhow!("invalid --ip-range: {}", e.replace("subnet", "range"))
                    })?),
                    None => None,
                };
                subnets.push((subnet, gateway, range));
            }
            if a.gateway.len() > a.subnet.len() || a.ip_range.len() > a.subnet.len() {
                anyhow::bail!("--gateway and --ip-range need a --subnet each");
            }
            let mut options = BTreeMap::new();
            for o in &a.opt {
                let (k, v) = o
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("invalid --opt {o:?}: expected KEY=VALUE"))?;
                options.insert(k.to_string(), v.to_string());
            }
            let spec = NetworkSpec {
                name: a.name.clone(),
                driver: a.driver.clone(),
                subnets,
                internal: a.internal,
                disable_dns: a.disable_dns,
                ipv6: a.ipv6,
                labels: labels_of(&a.label),
                options,
            };
            match nets::create(&nd, spec) {
                Ok(n) => println!("{}", n.name),
                Err(NetworkError::Exists(n)) if a.ignore => println!("{n}"),
                Err(e) => return Err(net_exit(e)),
            }
        }
        NetworkCommand::Ls(a) => {
            let filters = super::images::parse_filters(&a.filter)?;
            let mut rows = Vec::new();
            for n in nets::list(&nd)? {
                let cfg = NetworkConfig::parse(&n.config);
                let mut ok = true;
                for (k, val) in &filters {
                    ok &= match k.as_str() {
                        "name" => {
                            n.name.contains(val.as_str()) || super::images::glob(val, &n.name)
                        }
                        "id" => n.id.starts_with(val.as_str()),
                        "driver" => n.driver == *val,
                        "label" => match val.split_once('=') {
                            Some((lk, lv)) => cfg.labels.get(lk).is_some_and(|x| x == lv),
                            None => cfg.labels.contains_key(val.as_str()),
                        },
                        _ => anyhow::bail!(
                            "invalid filter {k:?}: supported are name, id, driver, label"
                        ),
                    };
                }
                if ok {
                    rows.push(n);
                }
            }
            // podman's `network ls -q` prints names, not IDs.
            if a.quiet {
                for n in rows {
                    println!("{}", n.name);
                }
                return Ok(());
            }
            if a.format.as_deref().map(str::trim) == Some("json") {
                let out: Vec<Value> = rows.iter().map(network_json).collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            let vals: Vec<Value> = rows
                .iter()
                .map(|n| {
                    let mut v = template_value(n);
                    if !a.no_trunc {
                        v["ID"] = json!(&n.id[..12]);
                    }
                    v
                })
                .collect();
            crate::format::set_origin(crate::format::Origin::NETWORK_LS);
            print_rows(
                a.format.as_deref(),
                "table {{.ID}}\t{{.Name}}\t{{.Driver}}",
                &vals,
                &[("ID", "NETWORK ID")],
                a.noheading,
            )?;
        }
        NetworkCommand::Inspect(a) => {
            let mut out = Vec::new();
            let mut missing = None;
            for n in &a.names {
                match nets::find(&nd, n) {
                    Ok(r) => out.push(r),
                    Err(e) => missing = Some(e),
                }
            }
            match a.format.as_deref() {
                Some(f) if f.trim() != "json" => {
                    for n in &out {
                        crate::format::set_origin(crate::format::Origin::INSPECT);
                        print!("{}", render_one(f, &template_value(n))?);
                        if !f.ends_with('\n') {
                            println!();
                        }
                    }
                }
                _ => {
                    let v: Vec<Value> = out.iter().map(network_json).collect();
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
            }
            // podman: inspect of a missing network is an engine error (125).
            if let Some(e) = missing {
                return Err(exit(125, e.to_string()));
            }
        }
        NetworkCommand::Rm(a) => {
            let mut last = None;
            for name in &a.names {
                match engine.remove_network(&nd, name, a.force, a.time) {
                    Ok(r) => {
                        for e in &r.errors {
                            eprintln!("Error: {e}");
                        }
                        println!("{}", r.name)
                    }
                    // podman: --force also ignores networks that do not exist.
                    Err(NetworkError::NotFound(_)) if a.force => {}
                    Err(e) => {
                        if let Some(prev) = last.replace(e) {
                            eprintln!("Error: {prev}");
                        }
                    }
                }
            }
            if let Some(e) = last {
                return Err(net_exit(e));
            }
        }
        NetworkCommand::Prune(a) => {
            if !a.force
                && !super::rmi::confirm(
                    "WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue?",
                )
            {
                return Ok(());
            }
            let filter = crate::engine::prune::PruneFilter::parse(&a.filter, &["label", "until"])?;
            let r = engine.prune_networks(&filter)?;
            for e in &r.errors {
                eprintln!("Error: {e}");
            }
            for n in &r.removed {
                println!("{n}");
            }
        }
        NetworkCommand::Exists(a) => {
            if nets::find(&nd, &a.name).is_err() {
                return Err(exit(1, ""));
            }
        }
        NetworkCommand::Connect(a) => {
            let c = engine.container(&a.container)?;
            let req = NetworkRequest {
                network: a.network.clone(),
                ip: match &a.ip {
                    Some(ip) => Some(ip.parse().map_err(|_| {
                        anyhow::anyhow!("invalid --ip {ip:?}: expected an IP address")
                    })?),
                    None => None,
                },
                mac: a.mac_address.clone(),
                aliases: a.alias.clone(),
                interface_name: None,
            };
            endpoints::connect(&engine, &nd, &c, req).map_err(net_exit)?;
        }
        NetworkCommand::Disconnect(a) => {
            let c = engine.container(&a.container)?;
            endpoints::disconnect(&engine, &nd, &c, &a.network).map_err(net_exit)?;
        }
        NetworkCommand::Reload(a) => {
            let mut targets = Vec::new();
            if a.all || a.containers.is_empty() {
                targets = engine.containers()?;
            } else {
                for c in &a.containers {
                    targets.push(engine.container(c)?);
                }
            }
            endpoints::reload(&engine, &nd).map_err(net_exit)?;
            for c in targets.iter().filter(|c| c.is_running()) {
                endpoints::republish(&engine, &nd, c).map_err(net_exit)?;
                println!("{}", c.id);
            }
        }
    }
    Ok(())
}
