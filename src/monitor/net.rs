//! A container's networking for one run, as its monitor holds it: the
//! endpoints to wire between clone and exec, the host ports it keeps
//! (reservations, or a forwarder's listeners rootless on a user network),
//! the user-mode helper (pasta, slirp4netns), its name in a shared hosts
//! file, and undoing it all at exit.

use crate::engine::Engine;
use crate::engine::containers::ContainerConfig;
use crate::network::ports::Reservation;
use crate::network::usermode::UserNet;
use crate::network::{Attachment, NetworkError};
use crate::runtime::linux::RuntimeError;
use crate::state::containers::ContainerRow;
use std::net::TcpListener;

pub struct RunNet<'a> {
    engine: &'a Engine,
    row: &'a ContainerRow,
    cfg: &'a ContainerConfig,
    atts: Vec<Attachment>,
    usermode: bool,
    /// Rootless on a user network: bound now, relayed by the forwarder.
    listeners: Vec<(TcpListener, u16)>,
    forwarder: Option<i32>,
    /// Shared ports (a kube Service's): bound now, relayed by their own
    /// forwarder in the container's namespace.
    shared: Vec<(TcpListener, u16)>,
    /// The container's network namespace, opened at prestart.
    shared_netns: Option<std::fs::File>,
    shared_forwarder: Option<i32>,
    /// Held until the container exits: nobody else may take its ports.
    reserved: Vec<Reservation>,
    usernet: Option<UserNet>,
    /// Joined to another container's network: the shared hosts file its
    /// name was added to.
    joined_hosts: Option<std::path::PathBuf>,
}

fn start_err(msg: String) -> RuntimeError {
    RuntimeError::Start { code: 125, msg }
}

/// A host port already taken: podman fails such a start with 126 (the
/// container cannot be invoked), not 125.
fn port_err(msg: String) -> RuntimeError {
    RuntimeError::Start { code: 126, msg }
}

fn net_err(e: NetworkError) -> RuntimeError {
    start_err(e.to_string())
}

impl<'a> RunNet<'a> {
    /// What can be checked and taken before the container exists: its
    /// endpoints, and its host ports (a taken one fails the start here).
    pub fn prepare(
        engine: &'a Engine,
        row: &'a ContainerRow,
        cfg: &'a ContainerConfig,
    ) -> Result<RunNet<'a>, RuntimeError> {
        let atts = if cfg.network == "bridge" {
            let nd = engine.netdb().map_err(net_err)?;
            crate::engine::networks::attachments(&nd, &row.id).map_err(net_err)?
        } else {
            Vec::new()
        };
        let usermode = matches!(cfg.network.as_str(), "pasta" | "slirp4netns");
        let forwarded = engine.paths.rootless && !atts.is_empty();
        let mut listeners = Vec::new();
        let mut reserved = Vec::new();
        if forwarded {
            listeners = crate::network::forward::bind(&cfg.ports).map_err(|e| {
                port_err(format!(
                    "cannot publish port: {e}; choose another host port"
                ))
            })?;
        } else if !usermode {
            // pasta and slirp4netns bind their ports themselves.
            for p in &cfg.ports {
                reserved.push(crate::network::ports::reserve(p).map_err(|e| {
                    port_err(format!(
                        "cannot publish port {}/{}: {e}; choose another host port",
                        p.host_addr(),
                        p.protocol
                    ))
                })?);
            }
        }
        let shared = crate::network::forward::bind_shared(&cfg.shared_ports).map_err(|e| {
            port_err(format!(
                "cannot publish shared port: {e}; choose another host port"
            ))
        })?;
        let mut joined_hosts = None;
        if let Some(other) = cfg.network.strip_prefix("container:")
            && !cfg.no_hosts
        {
            let hosts = engine.container_dir(other).join("hosts");
            let added =
                crate::network::etcfiles::add_joined_name(&hosts, &row.name).map_err(|e| {
                    start_err(format!("adding {} to {}: {e}", row.name, hosts.display()))
                })?;
            joined_hosts = added.then_some(hosts);
        }
        Ok(RunNet {
            engine,
            row,
            cfg,
            atts,
            usermode,
            listeners,
            shared,
            shared_netns: None,
            forwarder: None,
            shared_forwarder: None,
            reserved,
            usernet: None,
            joined_hosts,
        })
    }

    pub fn needs_prestart(&self) -> bool {
        self.usermode || !self.atts.is_empty() || !self.shared.is_empty()
    }

    /// Between clone and exec: wire the namespace of `pid`.
    pub fn wire(&mut self, pid: i32) -> Result<(), String> {
        if !self.shared.is_empty() {
            // Now, while the child waits for us: once it runs, a rootless
            // monitor may not open its /proc entries any more.
            let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
                .map_err(|e| format!("opening the container's network namespace: {e}"))?;
            self.shared_netns = Some(ns);
            if !self.usermode && self.atts.is_empty() {
                return Ok(());
            }
        }
        if self.usermode {
            let api = self
                .engine
                .paths
                .runroot
                .join(format!("slirp-{}.sock", &self.row.id[..12]));
            let net = crate::network::usermode::start(
                &self.cfg.network,
                &self.cfg.network_options,
                &self.cfg.ports,
                &self.engine.container_rundir(&self.row.id),
                &api,
                pid,
            )
            .map_err(|e| e.to_string())?;
            self.usernet = Some(net);
            return Ok(());
        }
        crate::engine::endpoints::prestart(self.engine, self.row, &self.atts, pid)
            .map_err(|e| e.to_string())
    }

    /// Once the container runs: the forwarders of its published and
    /// shared ports.
    pub fn started(&mut self) -> Result<(), RuntimeError> {
        if let Some(ns) = self.shared_netns.take() {
            // Relayed inside the container's own network namespace, to its
            // localhost: every network mode reaches it the same way.
            let fwd = crate::network::forward::spawn(
                std::mem::take(&mut self.shared),
                &ns,
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            )
            .map_err(|e| start_err(format!("starting the shared port forwarder: {e}")))?;
            self.shared_forwarder = Some(fwd);
        }
        if self.listeners.is_empty() {
            return Ok(());
        }
        let ip = self.atts.first().and_then(|a| a.endpoint.ip.parse().ok());
        let host = self.engine.host_ns().map_err(net_err)?;
        if let (Some(ip), Some(ns)) = (ip, host.netns_file()) {
            let pid = crate::network::forward::spawn(std::mem::take(&mut self.listeners), ns, ip)
                .map_err(|e| start_err(format!("starting the port forwarder: {e}")))?;
            self.forwarder = Some(pid);
        }
        Ok(())
    }

    /// The run is over: helpers stop, ports and DNS names go (the
    /// addresses stay with the container until it is removed).
    pub fn finish(&mut self) {
        if let Some(n) = self.usernet.take() {
            crate::network::usermode::stop(n);
        }
        self.shared.clear();
        for f in [self.forwarder.take(), self.shared_forwarder.take()]
            .into_iter()
            .flatten()
        {
            // SAFETY: kill and reap a forwarder we forked.
            unsafe {
                libc::kill(f, libc::SIGKILL);
                libc::waitpid(f, std::ptr::null_mut(), 0);
            }
        }
        crate::engine::endpoints::teardown(self.engine, self.row, false);
        self.reserved.clear();
        if let Some(hosts) = self.joined_hosts.take() {
            let _ = crate::network::etcfiles::remove_joined_name(&hosts, &self.row.name);
        }
    }
}
