//! A container's endpoints at run time: wiring them between clone and
//! exec, undoing them at exit and removal, connecting and disconnecting
//! networks while it runs, and restoring published ports.

use super::Engine;
use super::networks::{NetworkRequest, allocate, attachments, find};
use crate::network::etcfiles::{self, HostEntry};
use crate::network::{NetworkConfig, NetworkError};
use crate::state::Db;
use crate::state::containers::ContainerRow;
use crate::state::networks as db;
use std::net::IpAddr;

/// Undo on the host what a container's networking left: published ports,
/// DNS records, a leftover veth (its namespace normally takes it along);
/// with `release`, its addresses too (rm). Keeps going past failures.
pub fn teardown(engine: &Engine, c: &ContainerRow, release: bool) {
    let cfg = c.config();
    if cfg.network == "pasta" {
        crate::network::usermode::kill_pasta(&engine.container_rundir(&c.id).join("pasta.pid"));
    }
    if cfg.network != "bridge" {
        return;
    }
    let Ok(nd) = engine.netdb() else {
        return;
    };
    let atts = attachments(&nd, &c.id).unwrap_or_default();
    let Ok(host) = engine.host_ns() else {
        if release {
            let _ = db::delete_endpoints_of_container(&nd.conn, &c.id);
        }
        return;
    };
    if !host.is_rootless() {
        crate::network::unpublish(&host, &cfg.ports, &crate::network::primary_ips(&atts));
    }
    let mut nl = host.netlink().ok();
    for a in &atts {
        let _ = register_dns(engine, c, a, false);
        if a.network.driver == "bridge"
            && let Some(nl) = nl.as_mut()
        {
            let _ = nl.delete_link(&crate::network::veth_name(&c.id, &a.network.name));
        }
    }
    if release {
        let _ = db::delete_endpoints_of_container(&nd.conn, &c.id);
    }
}

/// Wire a created container (the monitor, between clone and exec): its
/// interfaces, published ports and DNS records.
pub fn prestart(
    engine: &Engine,
    c: &ContainerRow,
    atts: &[crate::network::Attachment],
    pid: i32,
) -> Result<(), NetworkError> {
    let cfg = c.config();
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| NetworkError::Io("opening the container's network namespace".into(), e))?;
    use std::os::fd::AsFd;
    let host = engine.host_ns()?;
    host.ensure_uplink(&engine.paths.runroot)?;
    crate::network::setup(&host, ns.as_fd(), &c.id, atts)?;
    // Rootless, the monitor forwards published ports itself.
    if !host.is_rootless() {
        crate::network::publish(&host, &cfg.ports, &crate::network::primary_ips(atts))?;
    }
    for a in atts {
        register_dns(engine, c, a, true)?;
    }
    Ok(())
}

/// A container's names on a network, for both its addresses, added to or
/// removed from the network's DNS records.
fn register_dns(
    engine: &Engine,
    c: &ContainerRow,
    att: &crate::network::Attachment,
    add: bool,
) -> Result<(), NetworkError> {
    if !att.config.dns_enabled {
        return Ok(());
    }
    let ep = &att.endpoint;
    let ips: Vec<IpAddr> = std::iter::once(ep.ip.as_str())
        .chain(ep.ipv6.as_deref())
        .filter_map(|ip| ip.parse().ok())
        .collect();
    let names = crate::network::dns_names(&c.name, &c.config().hostname, &ep.aliases);
    crate::network::dns_update(
        &engine.host_ns()?,
        &engine.paths.network_run(),
        &att.network,
        &att.config,
        |r| {
            for ip in ips {
                if add {
                    r.insert(ip, &names);
                } else {
                    r.remove_ip(ip);
                }
            }
        },
    )
}

fn save_requests(
    engine: &Engine,
    c: &ContainerRow,
    change: impl FnOnce(&mut Vec<NetworkRequest>),
) -> Result<(), NetworkError> {
    let _lock = engine
        .lock()
        .map_err(|e| NetworkError::Invalid(e.to_string()))?;
    let fresh = crate::state::containers::get(&engine.db.conn, &c.id)?
        .ok_or_else(|| NetworkError::Invalid(format!("container {} vanished", c.id)))?;
    let mut cfg = fresh.config();
    change(&mut cfg.networks);
    let json = serde_json::to_string(&cfg).map_err(|e| NetworkError::Invalid(e.to_string()))?;
    crate::state::containers::set_config(&engine.db.conn, &c.id, &json)?;
    Ok(())
}

/// `network connect`: a new endpoint, wired at once when the container
/// runs.
pub fn connect(
    engine: &Engine,
    nd: &Db,
    c: &ContainerRow,
    req: NetworkRequest,
) -> Result<(), NetworkError> {
    let cfg = c.config();
    if cfg.network != "bridge" {
        return Err(NetworkError::Invalid(format!(
            "container {} uses --network {}: only containers on bridge networks can be connected to another",
            c.name, cfg.network
        )));
    }
    let before = attachments(nd, &c.id)?;
    let att = allocate(nd, &engine.root_key(), &c.id, std::slice::from_ref(&req))?
        .into_iter()
        .next()
        .ok_or_else(|| NetworkError::Invalid("no endpoint allocated".into()))?;
    let net = &att.network;
    let c = engine
        .refresh(c.clone())
        .map_err(|e| NetworkError::Invalid(e.to_string()))?;
    let wired = if c.is_running() {
        prestart_one(engine, &c, &att)
    } else {
        Ok(())
    };
    let saved = wired.and_then(|()| save_requests(engine, &c, |v| v.push(req)));
    if let Err(e) = saved {
        let _ = db::delete_endpoint(&nd.conn, &net.name, &c.id);
        if let Ok(mut nl) = engine.host_ns().and_then(|h| h.netlink()) {
            let _ = nl.delete_link(&crate::network::veth_name(&c.id, &net.name));
        }
        return Err(e);
    }
    let (hostname, name) = (c.config().hostname, c.name.clone());
    let existing: Vec<HostEntry> = before
        .iter()
        .flat_map(|a| etcfiles::network_entries(a, &hostname, &name))
        .collect();
    etcfiles::add_hosts_entries(
        &engine.container_dir(&c.id).join("hosts"),
        &existing,
        &etcfiles::network_entries(&att, &hostname, &name),
    )
    .map_err(|e| NetworkError::Io("updating the container's /etc/hosts".into(), e))?;
    if c.is_running() {
        repoint_ports(engine, &c, &before, &attachments(nd, &c.id)?)?;
    }
    super::events::container_network("connect", &c, &net.name);
    Ok(())
}

/// The container's published ports follow its first network: after a
/// connect or disconnect changed which one that is, they point at its
/// address instead.
fn repoint_ports(
    engine: &Engine,
    c: &ContainerRow,
    before: &[crate::network::Attachment],
    after: &[crate::network::Attachment],
) -> Result<(), NetworkError> {
    let cfg = c.config();
    let (old, new) = (
        crate::network::primary_ips(before),
        crate::network::primary_ips(after),
    );
    if cfg.ports.is_empty() || old == new {
        return Ok(());
    }
    let host = engine.host_ns()?;
    if host.is_rootless() {
        return Ok(());
    }
    crate::network::unpublish(&host, &cfg.ports, &old);
    crate::network::publish(&host, &cfg.ports, &new)
}

fn prestart_one(
    engine: &Engine,
    c: &ContainerRow,
    att: &crate::network::Attachment,
) -> Result<(), NetworkError> {
    let ns = std::fs::File::open(format!("/proc/{}/ns/net", c.pid))
        .map_err(|e| NetworkError::Io("opening the container's network namespace".into(), e))?;
    use std::os::fd::AsFd;
    let host = engine.host_ns()?;
    crate::network::setup(&host, ns.as_fd(), &c.id, std::slice::from_ref(att))?;
    register_dns(engine, c, att, true)
}

/// `network disconnect`: the interface goes from a running container, the
/// address and DNS names from the network.
pub fn disconnect(
    engine: &Engine,
    nd: &Db,
    c: &ContainerRow,
    network: &str,
) -> Result<(), NetworkError> {
    let net = find(nd, network)?;
    let att = attachments(nd, &c.id)?
        .into_iter()
        .find(|a| a.network.name == net.name)
        .ok_or_else(|| {
            NetworkError::Invalid(format!(
                "container {} is not connected to network {}",
                c.name, net.name
            ))
        })?;
    let c = engine
        .refresh(c.clone())
        .map_err(|e| NetworkError::Invalid(e.to_string()))?;
    if c.is_running() {
        if net.driver == "bridge" {
            // Deleting one end of a veth deletes the pair.
            engine
                .host_ns()?
                .netlink()?
                .delete_link(&crate::network::veth_name(&c.id, &net.name))?;
        } else {
            let ns = std::fs::File::open(format!("/proc/{}/ns/net", c.pid)).map_err(|e| {
                NetworkError::Io("opening the container's network namespace".into(), e)
            })?;
            use std::os::fd::AsFd;
            crate::network::netlink::Netlink::connect_in(ns.as_fd())?
                .delete_link(&att.endpoint.interface)?;
        }
    }
    register_dns(engine, &c, &att, false)?;
    let before = attachments(nd, &c.id)?;
    db::delete_endpoint(&nd.conn, &net.name, &c.id)?;
    etcfiles::remove_hosts_entries(
        &engine.container_dir(&c.id).join("hosts"),
        &etcfiles::network_entries(&att, &c.config().hostname, &c.name),
    )
    .map_err(|e| NetworkError::Io("updating the container's /etc/hosts".into(), e))?;
    if c.is_running() {
        repoint_ports(engine, &c, &before, &attachments(nd, &c.id)?)?;
    }
    save_requests(engine, &c, |v| {
        v.retain(|r| find(nd, &r.network).map(|n| n.name).ok().as_ref() != Some(&net.name))
    })?;
    super::events::container_network("disconnect", &c, &net.name);
    Ok(())
}

/// `network reload`: the table's rules again (after a host firewall
/// flush), and the internal networks' set.
pub fn reload(engine: &Engine, nd: &Db) -> Result<(), NetworkError> {
    let mut script = crate::network::nft::skeleton();
    for n in db::all(&nd.conn)?.iter().filter(|n| n.driver == "bridge") {
        let internal = NetworkConfig::parse(&n.config).internal;
        script.push_str(&crate::network::nft::network(&n.interface, internal));
    }
    crate::network::nft::apply(&engine.host_ns()?, "network reload", &script)?;
    Ok(())
}

/// A running container's published ports, added again (idempotent).
pub fn republish(engine: &Engine, nd: &Db, c: &ContainerRow) -> Result<(), NetworkError> {
    let cfg = c.config();
    if cfg.network != "bridge" || cfg.ports.is_empty() {
        return Ok(());
    }
    let atts = attachments(nd, &c.id)?;
    let host = engine.host_ns()?;
    if !host.is_rootless() {
        crate::network::publish(&host, &cfg.ports, &crate::network::primary_ips(&atts))?;
    }
    Ok(())
}
