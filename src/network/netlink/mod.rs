//! A small synchronous rtnetlink client: just the link, address and route
//! operations berth needs to wire up bridge, veth and macvlan networks.
//!
//! Each request is sent with `NLM_F_REQUEST | NLM_F_ACK` and answered before
//! the next one goes out, so one socket never has two requests in flight; the
//! sequence number only has to tell the current reply from leftovers of a
//! request that was abandoned half-way (for instance on a kernel error in the
//! middle of a dump).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
    MacVlanMode,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel refused a request: `op` says what (e.g. "creating bridge berth0"), errno the reason.
    #[error("{op}: {}", std::io::Error::from_raw_os_error(*errno))]
    Kernel { op: String, errno: i32 },
    #[error("netlink: {0}")]
    Protocol(String),
}

pub type Result<T> = std::result::Result<T, NetlinkError>;

/// Link names are limited to IFNAMSIZ - 1 bytes by the kernel.
const IFNAMSIZ: usize = 16;

/// A dump that races with changes to the same table is flagged
/// NLM_F_DUMP_INTR and may have skipped or repeated entries; retrying a few
/// times gives a consistent view unless something is churning constantly.
const DUMP_ATTEMPTS: usize = 5;

/// Big enough for the kernel's largest dump datagrams (it fills up to 32 KiB),
/// so the buffer normally never has to grow.
const RECV_BUFFER: usize = 64 * 1024;

pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

#[derive(Default)]
struct Reply {
    messages: Vec<RouteNetlinkMessage>,
    interrupted: bool,
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub fn connect() -> Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        // Connecting to the kernel (port 0) makes it the only possible sender,
        // so nothing but kernel replies can arrive on this socket.
        socket.connect(&SocketAddr::new(0, 0))?;
        // Error replies then carry only the header of the failed request
        // instead of echoing it whole.
        socket.set_cap_ack(true)?;
        Ok(Netlink {
            socket,
            seq: 0,
            buf: vec![0; RECV_BUFFER],
        })
    }

    /// A socket opened inside another network namespace (given by an fd of /proc/PID/ns/net
    /// or a bind-mounted netns file): done on a short-lived thread that setns()es, opens the
    /// socket, and exits; the socket stays bound to that namespace. The calling thread's
    /// namespace is never changed.
    pub fn connect_in(netns: BorrowedFd) -> Result<Netlink> {
        std::thread::scope(|scope| {
            let handle = std::thread::Builder::new()
                .name("berth-netns".into())
                .spawn_scoped(scope, move || {
                    // setns() only moves this thread, which exits right after:
                    // a socket keeps the namespace it was created in.
                    // SAFETY: plain syscall on a descriptor borrowed for the
                    // whole scope.
                    if unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        let err = io::Error::last_os_error();
                        return Err(NetlinkError::Io(io::Error::new(
                            err.kind(),
                            format!("entering network namespace: {err}"),
                        )));
                    }
                    Netlink::connect()
                })?;
            handle.join().map_err(|_| {
                NetlinkError::Protocol("network namespace thread panicked".to_string())
            })?
        })
    }

    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>> {
        // The kernel rejects over-long names with EINVAL; such a link cannot
        // exist, which is the honest answer.
        if name.len() >= IFNAMSIZ {
            return Ok(None);
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let op = format!("looking up link {name}");
        match self.exchange(RouteNetlinkMessage::GetLink(msg), 0, &op) {
            Ok(reply) => reply
                .messages
                .iter()
                .find_map(|m| match m {
                    RouteNetlinkMessage::NewLink(link) => Some(link.header.index),
                    _ => None,
                })
                .map(Some)
                .ok_or_else(|| NetlinkError::Protocol(format!("{op}: no link in the reply"))),
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::ENODEV => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create a bridge (or return the index of an existing link of that name), with optional MTU. Not brought up.
    pub fn create_bridge(&mut self, name: &str, mtu: Option<u32>) -> Result<u32> {
        let op = format!("creating bridge {name}");
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        match self.exchange(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        ) {
            Ok(_) => {}
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::EEXIST => {}
            Err(e) => return Err(e),
        }
        self.created_index(name, op)
    }

    /// Create a veth pair: `host_name` in this socket's namespace, enslaved to `master` and set up;
    /// the peer created directly inside `peer_netns` (IFLA_NET_NS_FD in the peer info) named
    /// `peer_name`, with optional MAC and MTU on both ends. Returns the host end's index.
    /// EEXIST on host_name must come back as NetlinkError::Kernel with errno EEXIST.
    pub fn create_veth(
        &mut self,
        host_name: &str,
        peer_name: &str,
        peer_netns: BorrowedFd,
        master: u32,
        mtu: Option<u32>,
        peer_mac: Option<[u8; 6]>,
    ) -> Result<u32> {
        let op = format!("creating veth {host_name}");

        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(peer_name.to_string()));
        peer.attributes
            .push(LinkAttribute::NetNsFd(peer_netns.as_raw_fd()));
        if let Some(mtu) = mtu {
            peer.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = peer_mac {
            peer.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }

        let mut msg = LinkMessage::default();
        // Bringing the host end up in the creating request means a failure to
        // do so makes the kernel drop the new pair instead of leaving it half
        // configured.
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes
            .push(LinkAttribute::IfName(host_name.to_string()));
        msg.attributes.push(LinkAttribute::Controller(master));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));

        self.exchange(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )?;
        self.created_index(host_name, op)
    }

    /// A macvlan (mode bridge) on `parent`, created directly inside `netns` as `name`.
    pub fn create_macvlan(
        &mut self,
        name: &str,
        parent: u32,
        netns: BorrowedFd,
        mtu: Option<u32>,
        mac: Option<[u8; 6]>,
    ) -> Result<()> {
        let op = format!("creating macvlan {name}");
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        // IFLA_LINK is resolved in this socket's namespace, IFLA_IFNAME in
        // the target one, so the parent never has to leave the host.
        msg.attributes.push(LinkAttribute::Link(parent));
        msg.attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = mac {
            msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Bridge,
            )])),
        ]));
        self.exchange(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )?;
        Ok(())
    }

    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        match self.exchange(RouteNetlinkMessage::SetLink(msg), 0, "bringing up link") {
            Ok(_) => Ok(()),
            Err(e) => Err(self.name_in_error(e, index, |link| format!("bringing up {link}"))),
        }
    }

    /// Add an address; an address already present is not an error.
    pub fn add_address(&mut self, index: u32, addr: IpAddr, prefix: u8) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.index = index;
        msg.header.prefix_len = prefix;
        msg.header.scope = AddressScope::Universe;
        match addr {
            IpAddr::V4(_) => {
                msg.header.family = AddressFamily::Inet;
                // For IPv4 IFA_LOCAL is the interface's own address and
                // IFA_ADDRESS the peer's; on a broadcast link both are ours.
                msg.attributes.push(AddressAttribute::Local(addr));
                // The subnet's broadcast address, as netavark sets it
                // (`ip addr` shows "brd"); /31 and /32 have none.
                if let IpAddr::V4(v4) = addr
                    && prefix < 31
                {
                    let host_bits = u32::MAX >> prefix;
                    msg.attributes
                        .push(AddressAttribute::Broadcast(std::net::Ipv4Addr::from(
                            u32::from(v4) | host_bits,
                        )));
                }
            }
            IpAddr::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                // Duplicate address detection would keep the address
                // tentative (unusable as a source or gateway) for a second or
                // more, and the engine already guarantees uniqueness.
                msg.header.flags = AddressHeaderFlags::Nodad;
            }
        }
        msg.attributes.push(AddressAttribute::Address(addr));
        match self.exchange(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("adding {addr}/{prefix}"),
        ) {
            Ok(_) => Ok(()),
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::EEXIST => Ok(()),
            Err(e) => {
                Err(self
                    .name_in_error(e, index, |link| format!("adding {addr}/{prefix} to {link}")))
            }
        }
    }

    pub fn addresses(&mut self, index: u32) -> Result<Vec<(IpAddr, u8)>> {
        let mut msg = AddressMessage::default();
        // Without NETLINK_GET_STRICT_CHK the kernel ignores this and dumps
        // every address, hence the filter below too.
        msg.header.index = index;
        let messages = self.dump(
            RouteNetlinkMessage::GetAddress(msg),
            &format!("listing addresses of link {index}"),
        )?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == index => {
                    let local = a.attributes.iter().find_map(|attr| match attr {
                        AddressAttribute::Local(ip) => Some(*ip),
                        _ => None,
                    });
                    let address = a.attributes.iter().find_map(|attr| match attr {
                        AddressAttribute::Address(ip) => Some(*ip),
                        _ => None,
                    });
                    local.or(address).map(|ip| (ip, a.header.prefix_len))
                }
                _ => None,
            })
            .collect())
    }

    /// Add a route via `gateway` (None destination = default route); an existing identical route is not an error.
    /// Host bits of the destination are cleared, as the kernel accepts only network addresses.
    pub fn add_route(&mut self, dest: Option<(IpAddr, u8)>, gateway: IpAddr) -> Result<()> {
        let op = match dest {
            Some((net, prefix)) => format!("adding route {net}/{prefix} via {gateway}"),
            None => format!("adding default route via {gateway}"),
        };
        let dest = match dest {
            Some((net, prefix)) => {
                if net.is_ipv4() != gateway.is_ipv4() {
                    return Err(NetlinkError::Io(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{op}: destination and gateway are of different address families"),
                    )));
                }
                Some((network(net, prefix), prefix))
            }
            None => None,
        };

        let mut msg = RouteMessage::default();
        msg.header = main_table_header(family_of(gateway));
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        if let Some((net, prefix)) = dest {
            msg.header.destination_prefix_length = prefix;
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(net)));
        }
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gateway)));

        match self.exchange(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        ) {
            Ok(_) => Ok(()),
            Err(NetlinkError::Kernel { errno, op }) if errno == libc::EEXIST => {
                // EEXIST only says some route to that destination exists; it
                // is fine only if it goes through the same gateway.
                if self.main_routes(family_of(gateway))?.iter().any(|r| {
                    route_destination(r) == dest_or_default(dest, gateway)
                        && route_gateway(r) == Some(gateway)
                }) {
                    Ok(())
                } else {
                    Err(NetlinkError::Kernel { op, errno })
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Delete a link by name; a link that does not exist is not an error.
    pub fn delete_link(&mut self, name: &str) -> Result<()> {
        if name.len() >= IFNAMSIZ {
            return Ok(());
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.exchange(
            RouteNetlinkMessage::DelLink(msg),
            0,
            &format!("deleting link {name}"),
        ) {
            Ok(_) => Ok(()),
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::ENODEV => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Names of all links whose name starts with `prefix` (for leak checks and cleanup).
    pub fn links_with_prefix(&mut self, prefix: &str) -> Result<Vec<String>> {
        let messages = self.dump(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            "listing links",
        )?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => {
                    link.attributes.into_iter().find_map(|attr| match attr {
                        LinkAttribute::IfName(name) if name.starts_with(prefix) => Some(name),
                        _ => None,
                    })
                }
                _ => None,
            })
            .collect())
    }

    /// Destinations (network, prefix) of all IPv4 and IPv6 routes in the main table
    /// (to detect a subnet that clashes with the host's routes).
    /// A default route shows up as `0.0.0.0/0` or `::/0`: callers looking for
    /// clashes usually want to skip prefix 0.
    pub fn route_destinations(&mut self) -> Result<Vec<(IpAddr, u8)>> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            out.extend(self.main_routes(family)?.iter().map(route_destination));
        }
        Ok(out)
    }

    /// Index of a link just created (or found to exist) under `name`.
    fn created_index(&mut self, name: &str, op: String) -> Result<u32> {
        // Only a concurrent delete can get here: report it as the kernel
        // would have for the link vanishing under us.
        self.link_index(name)?.ok_or(NetlinkError::Kernel {
            op,
            errno: libc::ENODEV,
        })
    }

    /// Rewrites a kernel error's `op` so that it names the link rather than
    /// a bare index; the name is looked up only once something failed.
    fn name_in_error(
        &mut self,
        err: NetlinkError,
        index: u32,
        op: impl FnOnce(&str) -> String,
    ) -> NetlinkError {
        match err {
            NetlinkError::Kernel { errno, .. } => {
                let link = self
                    .link_name(index)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| format!("link #{index}"));
                NetlinkError::Kernel {
                    op: op(&link),
                    errno,
                }
            }
            other => other,
        }
    }

    fn link_name(&mut self, index: u32) -> Result<Option<String>> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        match self.exchange(RouteNetlinkMessage::GetLink(msg), 0, "looking up link") {
            Ok(reply) => Ok(reply.messages.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => {
                    link.attributes.into_iter().find_map(|attr| match attr {
                        LinkAttribute::IfName(name) => Some(name),
                        _ => None,
                    })
                }
                _ => None,
            })),
            Err(NetlinkError::Kernel { errno, .. }) if errno == libc::ENODEV => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn main_routes(&mut self, family: AddressFamily) -> Result<Vec<RouteMessage>> {
        let mut msg = RouteMessage::default();
        msg.header = main_table_header(family);
        let op = match family {
            AddressFamily::Inet6 => "listing IPv6 routes",
            _ => "listing IPv4 routes",
        };
        let messages = self.dump(RouteNetlinkMessage::GetRoute(msg), op)?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(route)
                    if route.header.address_family == family
                        && route_table(&route) == u32::from(RouteHeader::RT_TABLE_MAIN) =>
                {
                    Some(route)
                }
                _ => None,
            })
            .collect())
    }

    fn dump(&mut self, request: RouteNetlinkMessage, op: &str) -> Result<Vec<RouteNetlinkMessage>> {
        for _ in 0..DUMP_ATTEMPTS {
            let reply = self.exchange(request.clone(), NLM_F_DUMP, op)?;
            if !reply.interrupted {
                return Ok(reply.messages);
            }
        }
        Err(NetlinkError::Protocol(format!(
            "{op}: dump kept being interrupted by concurrent changes"
        )))
    }

    /// Sends one request and collects every message answering it, up to its
    /// ACK (or error) or, for dumps, NLMSG_DONE.
    fn exchange(&mut self, request: RouteNetlinkMessage, flags: u16, op: &str) -> Result<Reply> {
        let seq = self.send(request, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        let mut reply = Reply::default();
        loop {
            let len = self.recv()?;
            let mut rest = &self.buf[..len];
            while !rest.is_empty() {
                let frame = NetlinkBuffer::new_checked(rest)
                    .map_err(|e| NetlinkError::Protocol(format!("{op}: malformed reply: {e}")))?;
                let frame_len = frame.length() as usize;
                let frame_seq = frame.sequence_number();
                let frame_flags = frame.flags();
                let bytes = &rest[..frame_len];
                rest = rest.get(align4(frame_len)..).unwrap_or_default();

                // Leftovers of an earlier request that was given up on.
                if frame_seq != seq {
                    continue;
                }
                if frame_flags & NLM_F_DUMP_INTR != 0 {
                    reply.interrupted = true;
                }
                let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| NetlinkError::Protocol(format!("{op}: undecodable reply: {e}")))?;
                match message.payload {
                    NetlinkPayload::InnerMessage(inner) => reply.messages.push(inner),
                    NetlinkPayload::Error(err) => {
                        return match err.code {
                            None => Ok(reply),
                            Some(code) => Err(NetlinkError::Kernel {
                                op: op.to_string(),
                                errno: code.get().saturating_abs(),
                            }),
                        };
                    }
                    NetlinkPayload::Done(done) => {
                        return if done.code < 0 {
                            Err(NetlinkError::Kernel {
                                op: op.to_string(),
                                errno: done.code.saturating_abs(),
                            })
                        } else {
                            Ok(reply)
                        };
                    }
                    NetlinkPayload::Noop => {}
                    NetlinkPayload::Overrun(_) => {
                        return Err(NetlinkError::Protocol(format!("{op}: reply overrun")));
                    }
                    _ => {
                        return Err(NetlinkError::Protocol(format!(
                            "{op}: unexpected reply message"
                        )));
                    }
                }
            }
        }
    }

    fn send(&mut self, request: RouteNetlinkMessage, flags: u16) -> Result<u32> {
        // Zero is what unsolicited kernel notifications carry.
        self.seq = self.seq.wrapping_add(1).max(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        let sent = loop {
            match self.socket.send(&bytes, 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if sent != bytes.len() {
            return Err(NetlinkError::Protocol(format!(
                "short send: {sent} of {} bytes",
                bytes.len()
            )));
        }
        Ok(self.seq)
    }

    /// Receives one datagram into `self.buf`, growing it first if needed: a
    /// truncated datagram would lose messages for good.
    fn recv(&mut self) -> Result<usize> {
        loop {
            let mut probe: &mut [u8] = &mut [];
            let wanted = match self
                .socket
                .recv(&mut probe, libc::MSG_PEEK | libc::MSG_TRUNC)
            {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => other?,
            };
            if wanted > self.buf.len() {
                self.buf.resize(wanted, 0);
            }
            let got = match self.socket.recv(&mut &mut self.buf[..], 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => other?,
            };
            if got > self.buf.len() {
                return Err(NetlinkError::Protocol(format!(
                    "reply of {got} bytes truncated"
                )));
            }
            return Ok(got);
        }
    }
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

fn family_of(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn main_table_header(family: AddressFamily) -> RouteHeader {
    RouteHeader {
        address_family: family,
        table: RouteHeader::RT_TABLE_MAIN,
        ..Default::default()
    }
}

/// `ip` with the bits past `prefix` cleared.
fn network(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

fn unspecified(family_like: IpAddr) -> IpAddr {
    match family_like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn dest_or_default(dest: Option<(IpAddr, u8)>, gateway: IpAddr) -> (IpAddr, u8) {
    dest.unwrap_or((unspecified(gateway), 0))
}

fn route_address(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn route_destination(route: &RouteMessage) -> (IpAddr, u8) {
    let dest = route.attributes.iter().find_map(|attr| match attr {
        RouteAttribute::Destination(addr) => route_address(addr),
        _ => None,
    });
    let dest = dest.unwrap_or(match route.header.address_family {
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    });
    (dest, route.header.destination_prefix_length)
}

fn route_gateway(route: &RouteMessage) -> Option<IpAddr> {
    route.attributes.iter().find_map(|attr| match attr {
        RouteAttribute::Gateway(addr) => route_address(addr),
        _ => None,
    })
}

/// Table ids above 255 only fit the RTA_TABLE attribute; the header then
/// holds RT_TABLE_COMPAT.
fn route_table(route: &RouteMessage) -> u32 {
    route
        .attributes
        .iter()
        .find_map(|attr| match attr {
            RouteAttribute::Table(table) => Some(*table),
            _ => None,
        })
        .unwrap_or(u32::from(route.header.table))
}

#[cfg(test)]
mod tests;
