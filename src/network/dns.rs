//! The per-network DNS responder (the role of podman's aardvark-dns).
//!
//! One process per bridge network listens on the gateway address, answers the names of the
//! network's containers from a records file the engine maintains, and forwards everything else
//! to the host's resolvers. The engine deletes the records file to stop it, so no pid bookkeeping
//! or signalling is needed.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpListener, TcpStream, UdpSocket,
};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::{self, Scope};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

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

/// Serve on an already-bound UDP socket until the records file disappears (then return Ok):
/// the engine deletes the file when the network has no containers left or is removed.
///
/// TCP is served too on the same address when that port is free for TCP, because resolvers
/// retry there when an upstream answer comes back truncated. Returns at once when the records
/// file does not exist to begin with.
pub fn serve(socket: UdpSocket, cfg: &Config) -> io::Result<()> {
    let mut watch = Watch::new(&cfg.records);
    let records = match watch.poll() {
        Poll::Gone => return Ok(()),
        Poll::Changed(records) => records,
        Poll::Same => Records::default(),
    };
    socket.set_read_timeout(Some(IDLE_TICK))?;
    let local = socket.local_addr()?;
    let tcp = TcpListener::bind(local)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .ok();
    let shared = Shared {
        records: RwLock::new(Arc::new(records)),
        domain: strip_dot(cfg.domain.trim_start_matches('.')).to_ascii_lowercase(),
        // Forwarding to ourselves would only loop until the in-flight limit is hit.
        upstreams: cfg
            .upstreams
            .iter()
            .copied()
            .filter(|u| *u != local)
            .collect(),
        stop: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
    };
    let shared = &shared;
    let socket = &socket;
    // Scoped threads: returning joins every forwarder, so none outlives serve still holding
    // a socket the engine may want to bind again.
    thread::scope(|scope| {
        if let Some(listener) = tcp {
            // Without TCP the server still works for all but truncated answers.
            let _ = thread::Builder::new()
                .name("dns-tcp".into())
                .spawn_scoped(scope, move || accept_loop(scope, listener, shared));
        }
        let result = udp_loop(scope, socket, shared, &mut watch);
        shared.stop.store(true, Ordering::SeqCst);
        result
    })
}

struct Shared {
    records: RwLock<Arc<Records>>,
    /// Lowercased, no leading or trailing dot; empty when the network has none.
    domain: String,
    upstreams: Vec<SocketAddr>,
    stop: AtomicBool,
    in_flight: AtomicUsize,
}

impl Shared {
    fn records(&self) -> Arc<Records> {
        // A poisoned lock only means a panic elsewhere; the records themselves are still whole.
        Arc::clone(&self.records.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn set_records(&self, records: Records) {
        *self.records.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(records);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// One of the MAX_IN_FLIGHT places for a forwarder or TCP connection, given back on drop.
struct Slot<'a>(&'a AtomicUsize);

impl<'a> Slot<'a> {
    fn take(counter: &'a AtomicUsize) -> Option<Slot<'a>> {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_IN_FLIGHT).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(counter))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What identifies a version of the records file. The inode is included because an atomic
/// rewrite of the same size within one mtime tick changes only that.
#[derive(PartialEq, Clone, Copy)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

struct Watch {
    path: PathBuf,
    stamp: Option<Stamp>,
}

enum Poll {
    Gone,
    Changed(Records),
    Same,
}

impl Watch {
    fn new(path: &Path) -> Watch {
        Watch {
            path: path.to_owned(),
            stamp: None,
        }
    }

    fn poll(&mut self) -> Poll {
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if is_gone(&e) => return Poll::Gone,
            // Anything else (e.g. EACCES while the engine fixes permissions) may pass; keep
            // serving what we have.
            Err(_) => return Poll::Same,
        };
        let stamp = Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        };
        if self.stamp == Some(stamp) {
            return Poll::Same;
        }
        match fs::read(&self.path) {
            Ok(bytes) => {
                self.stamp = Some(stamp);
                Poll::Changed(Records::parse(&String::from_utf8_lossy(&bytes)))
            }
            Err(e) if is_gone(&e) => Poll::Gone,
            // The stamp stays old, so the next check reads again.
            Err(_) => Poll::Same,
        }
    }
}

fn is_gone(e: &io::Error) -> bool {
    // NotADirectory: the network's whole directory was removed and replaced by something else.
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Errors a UDP socket can report that say nothing about the socket itself: timeouts, signals,
/// and ICMP errors from earlier sends.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}

fn udp_loop<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    socket: &'env UdpSocket,
    shared: &'env Shared,
    watch: &mut Watch,
) -> io::Result<()> {
    let mut buf = vec![0u8; 65535];
    loop {
        let received = socket.recv_from(&mut buf);
        // After the wait, not before it: a query is answered from the
        // records as they are when it arrives (a stat each time).
        match watch.poll() {
            Poll::Gone => return Ok(()),
            Poll::Changed(records) => shared.set_records(records),
            Poll::Same => {}
        }
        let (len, client) = match received {
            Ok(received) => received,
            Err(e) if transient(&e) => continue,
            Err(e) => return Err(e),
        };
        let packet = &buf[..len];
        match decide(shared, packet, Transport::Udp) {
            Verdict::Ignore => {}
            // A client that went away is no reason to stop serving the others.
            Verdict::Reply(reply) => {
                let _ = socket.send_to(&reply, client);
            }
            Verdict::Forward { servfail } => {
                let Some(slot) = Slot::take(&shared.in_flight) else {
                    let _ = socket.send_to(&servfail, client);
                    continue;
                };
                let query = packet.to_vec();
                let fallback = servfail.clone();
                let spawned = thread::Builder::new()
                    .name("dns-forward".into())
                    .spawn_scoped(scope, move || {
                        let _slot = slot;
                        let reply = forward_udp(shared, &query).unwrap_or(fallback);
                        let _ = socket.send_to(&reply, client);
                    });
                if spawned.is_err() {
                    let _ = socket.send_to(&servfail, client);
                }
            }
        }
    }
}

fn accept_loop<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    listener: TcpListener,
    shared: &'env Shared,
) {
    // The listener is non-blocking and polled so that this thread notices the stop flag.
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                // Dropping the stream when full closes it; the client retries or gives up.
                let Some(slot) = Slot::take(&shared.in_flight) else {
                    continue;
                };
                let _ = thread::Builder::new()
                    .name("dns-tcp-conn".into())
                    .spawn_scoped(scope, move || {
                        let _slot = slot;
                        serve_tcp(stream, shared);
                    });
            }
            // Also backs off on EMFILE and the like instead of spinning.
            Err(_) => thread::sleep(STOP_POLL),
        }
    }
}

fn serve_tcp(mut stream: TcpStream, shared: &Shared) {
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(TCP_IDLE)).is_err()
        || stream.set_write_timeout(Some(TCP_IDLE)).is_err()
    {
        return;
    }
    while !shared.stopping() {
        let Ok(packet) = read_frame(&mut stream) else {
            return;
        };
        let reply = match decide(shared, &packet, Transport::Tcp) {
            Verdict::Ignore => return,
            Verdict::Reply(reply) => reply,
            Verdict::Forward { servfail } => forward_tcp(shared, &packet).unwrap_or(servfail),
        };
        if write_frame(&mut stream, &reply).is_err() {
            return;
        }
    }
}

fn read_frame(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut packet = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut packet)?;
    Ok(packet)
}

fn write_frame(stream: &mut TcpStream, message: &[u8]) -> io::Result<()> {
    let len = u16::try_from(message.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "DNS message too long"))?;
    // One write, so the length and message do not go out as two segments.
    let mut frame = Vec::with_capacity(message.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(message);
    stream.write_all(&frame)
}

#[derive(Clone, Copy)]
enum Transport {
    Udp,
    Tcp,
}

enum Verdict {
    /// Not a query we can make sense of; answering could feed a loop or a reflection attack.
    Ignore,
    Reply(Vec<u8>),
    /// Not ours to answer; `servfail` is what the client gets when no upstream answers.
    Forward {
        servfail: Vec<u8>,
    },
}

fn decide(shared: &Shared, packet: &[u8], transport: Transport) -> Verdict {
    let Ok(request) = Message::from_vec(packet) else {
        return Verdict::Ignore;
    };
    if request.metadata.message_type != MessageType::Query {
        return Verdict::Ignore;
    }
    let limit = match transport {
        Transport::Tcp => usize::from(u16::MAX),
        Transport::Udp => request
            .edns
            .as_ref()
            .map_or(CLASSIC_UDP, |edns| usize::from(edns.max_payload()))
            .max(CLASSIC_UDP),
    };
    if request.metadata.op_code != OpCode::Query {
        return reply(response_to(&request, ResponseCode::NotImp), limit);
    }
    let [query] = request.queries.as_slice() else {
        return reply(response_to(&request, ResponseCode::FormErr), limit);
    };
    match local_answer(&shared.records(), &shared.domain, query) {
        Some((code, answers)) => {
            let mut response = response_to(&request, code);
            response.metadata.authoritative = true;
            response.answers = answers;
            reply(response, limit)
        }
        None => match response_to(&request, ResponseCode::ServFail).to_vec() {
            Ok(servfail) => Verdict::Forward { servfail },
            Err(_) => Verdict::Ignore,
        },
    }
}

fn response_to(request: &Message, code: ResponseCode) -> Message {
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata = Metadata::response_from_request(&request.metadata);
    response.metadata.recursion_available = true;
    response.metadata.response_code = code;
    response.queries = request.queries.clone();
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        response.edns = Some(edns);
    }
    response
}

fn reply(mut response: Message, limit: usize) -> Verdict {
    let Ok(bytes) = response.to_vec() else {
        return Verdict::Ignore;
    };
    if bytes.len() <= limit {
        return Verdict::Reply(bytes);
    }
    // Too big for the client's buffer: say so, and it retries over TCP.
    response.answers.clear();
    response.metadata.truncation = true;
    match response.to_vec() {
        Ok(bytes) => Verdict::Reply(bytes),
        Err(_) => Verdict::Ignore,
    }
}

/// The answer from the records, or None when the question belongs upstream.
fn local_answer(
    records: &Records,
    domain: &str,
    query: &Query,
) -> Option<(ResponseCode, Vec<Record>)> {
    if query.query_class() != DNSClass::IN {
        return None;
    }
    let qname = query.name();
    let qtype = query.query_type();
    if qtype == RecordType::PTR
        && let Some(ip) = arpa_address(qname)
    {
        let names = records.names_of(ip);
        if names.is_empty() {
            // The host may know this address (the gateway, say, or an outside one).
            return None;
        }
        let answers = names
            .iter()
            .filter_map(|name| Name::from_labels(name.split('.').map(str::as_bytes)).ok())
            .map(|target| Record::from_rdata(qname.clone(), TTL, RData::PTR(PTR(target))))
            .collect();
        return Some((ResponseCode::NoError, answers));
    }
    let key = lookup_key(qname)?;
    let in_domain = !domain.is_empty() && (key == domain || key.ends_with(&format!(".{domain}")));
    let mut ips = records.lookup(&key);
    if ips.is_empty()
        && in_domain
        && let Some(short) = key
            .strip_suffix(domain)
            .and_then(|rest| rest.strip_suffix('.'))
    {
        ips = records.lookup(short);
    }
    if ips.is_empty() {
        // Nobody upstream knows the network's private domain; asking them only leaks names and
        // costs the client a round trip for every search-list expansion.
        return in_domain.then(|| (ResponseCode::NXDomain, Vec::new()));
    }
    let wants = |ip: &IpAddr| match qtype {
        RecordType::A => ip.is_ipv4(),
        RecordType::AAAA => ip.is_ipv6(),
        RecordType::ANY => true,
        _ => false,
    };
    let answers = ips
        .into_iter()
        .filter(wants)
        .map(|ip| {
            let data = match ip {
                IpAddr::V4(v4) => RData::A(A(v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
            };
            // The owner name keeps the client's spelling, which 0x20-randomizing resolvers check.
            Record::from_rdata(qname.clone(), TTL, data)
        })
        .collect();
    Some((ResponseCode::NoError, answers))
}

/// The question name in the records' form, built from the raw labels rather than a printed
/// form so that no escaping can make two different names look alike. None when some label could
/// never be in the records.
fn lookup_key(name: &Name) -> Option<String> {
    let mut key = String::with_capacity(name.len());
    for label in name.iter() {
        if label.is_empty() || label.contains(&b'.') || !label.is_ascii() {
            return None;
        }
        if !key.is_empty() {
            key.push('.');
        }
        key.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
    }
    Some(key)
}

/// The address of a full in-addr.arpa / ip6.arpa name; partial ones (whole subnets) are
/// not ours.
fn arpa_address(name: &Name) -> Option<IpAddr> {
    let net = name.parse_arpa_name().ok()?;
    (net.prefix_len() == net.max_prefix_len()).then(|| net.addr())
}

/// A fresh query id for upstream, so that an off-path attacker cannot guess it from the client's.
/// std's hasher keys come from the OS's random source and change with every RandomState, which
/// is random enough for 16 bits without pulling in a random number crate.
fn random_id() -> [u8; 2] {
    let bytes = RandomState::new().hash_one(0u8).to_be_bytes();
    [bytes[0], bytes[1]]
}

fn forward_udp(shared: &Shared, query: &[u8]) -> Option<Vec<u8>> {
    let client_id = query.get(..2)?;
    let mut buf = vec![0u8; 65535];
    for &upstream in &shared.upstreams {
        if shared.stopping() {
            return None;
        }
        let any: SocketAddr = match upstream {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        // A connected socket of our own: the kernel drops datagrams from anyone but the
        // upstream, and an ICMP "port unreachable" fails over to the next one at once.
        let Ok(sock) = UdpSocket::bind(any) else {
            continue;
        };
        if sock.connect(upstream).is_err() {
            continue;
        }
        let id = random_id();
        let mut out = query.to_vec();
        out[..2].copy_from_slice(&id);
        if sock.send(&out).is_err() {
            continue;
        }
        let deadline = Instant::now() + UPSTREAM_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero()
                || shared.stopping()
                || sock.set_read_timeout(Some(left.min(STOP_POLL))).is_err()
            {
                break;
            }
            match sock.recv(&mut buf) {
                Ok(n) if n >= HEADER_LEN && buf[..2] == id && buf[2] & 0x80 != 0 => {
                    let mut answer = buf[..n].to_vec();
                    answer[..2].copy_from_slice(client_id);
                    return Some(answer);
                }
                // A late answer to someone else's query on a reused port, or garbage.
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => break,
            }
        }
    }
    None
}

fn forward_tcp(shared: &Shared, query: &[u8]) -> Option<Vec<u8>> {
    let client_id = query.get(..2)?;
    for upstream in &shared.upstreams {
        if shared.stopping() {
            return None;
        }
        let Ok(mut stream) = TcpStream::connect_timeout(upstream, UPSTREAM_TIMEOUT) else {
            continue;
        };
        if stream.set_read_timeout(Some(UPSTREAM_TIMEOUT)).is_err()
            || stream.set_write_timeout(Some(UPSTREAM_TIMEOUT)).is_err()
            || write_frame(&mut stream, query).is_err()
        {
            continue;
        }
        match read_frame(&mut stream) {
            Ok(answer) if answer.len() >= HEADER_LEN && &answer[..2] == client_id => {
                return Some(answer);
            }
            _ => continue,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use std::sync::mpsc;
    use std::thread::JoinHandle;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn records_parse_render_lookup_remove() {
        let text = "\
# written by berth

127.0.10.2 web web-alias Web-Host.
127.0.10.3 db
2001:db8::3 DB db6-only
not-an-ip web
127.0.10.9
127.0.10.8 bad!name
127.0.10.7 fine # trailing comment
127.0.10.2 WEB second-line
";
        let records = Records::parse(text);
        assert!(!records.is_empty());
        assert_eq!(records.lookup("web"), vec![ip("127.0.10.2")]);
        assert_eq!(records.lookup("WEB."), vec![ip("127.0.10.2")]);
        assert_eq!(records.lookup("web-host"), vec![ip("127.0.10.2")]);
        assert_eq!(records.lookup("second-line"), vec![ip("127.0.10.2")]);
        assert_eq!(
            records.lookup("db"),
            vec![ip("127.0.10.3"), ip("2001:db8::3")]
        );
        assert_eq!(records.lookup("db6-only"), vec![ip("2001:db8::3")]);
        assert_eq!(records.lookup("fine"), vec![ip("127.0.10.7")]);
        assert!(records.lookup("bad!name").is_empty());
        assert!(records.names_of(ip("127.0.10.8")).is_empty());
        assert!(records.names_of(ip("127.0.10.9")).is_empty());
        assert!(records.lookup("nothing").is_empty());
        assert_eq!(
            records.names_of(ip("127.0.10.2")),
            names(&["web", "web-alias", "Web-Host", "second-line"]).as_slice()
        );

        let rendered = records.render();
        assert_eq!(
            rendered,
            "127.0.10.2 web web-alias Web-Host second-line\n\
             127.0.10.3 db\n\
             127.0.10.7 fine\n\
             2001:db8::3 DB db6-only\n"
        );
        assert_eq!(Records::parse(&rendered), records);

        let mut records = records;
        records.remove_ip(ip("2001:db8::3"));
        assert_eq!(records.lookup("db"), vec![ip("127.0.10.3")]);
        assert!(records.lookup("db6-only").is_empty());
        records.remove_ip(ip("127.0.10.2"));
        assert!(records.lookup("web").is_empty());
        records.remove_ip(ip("127.0.10.99"));
        records.remove_ip(ip("127.0.10.3"));
        records.remove_ip(ip("127.0.10.7"));
        assert!(records.is_empty());
        assert_eq!(records, Records::default());
        assert_eq!(records.render(), "");

        records.insert(
            ip("127.0.10.5"),
            &names(&["one", "ONE", "two.", "in valid"]),
        );
        assert_eq!(records.render(), "127.0.10.5 one two\n");
        records.insert(ip("127.0.10.5"), &names(&["bad!"]));
        assert_eq!(records.render(), "127.0.10.5 one two\n");
    }

    #[test]
    fn resolv_conf_upstreams() {
        let text = "\
# nameserver 192.0.2.99
; nameserver 192.0.2.98
search example.org
options edns0
nameserver 192.0.2.1
nameserver   127.0.0.53   # systemd-resolved
nameserver ::1
nameserver fe80::1%2
nameserver fe80::2%eth0
nameserver not-an-address
nameserver
nameserver 192.0.2.1
";
        assert_eq!(
            upstreams_from_resolv_conf(text),
            vec![
                SocketAddr::from_str("192.0.2.1:53").unwrap(),
                SocketAddr::from_str("127.0.0.53:53").unwrap(),
                SocketAddr::from_str("[::1]:53").unwrap(),
                SocketAddr::from_str("[fe80::1%2]:53").unwrap(),
            ]
        );
        assert!(upstreams_from_resolv_conf("").is_empty());
    }

    const RECORDS: &str = "127.0.10.2 web web-alias\n127.0.10.3 dual\n2001:db8::3 dual\n";

    struct Server {
        dir: tempfile::TempDir,
        addr: SocketAddr,
        handle: JoinHandle<io::Result<()>>,
    }

    impl Server {
        fn start(records: &str, upstreams: Vec<SocketAddr>) -> Server {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("records");
            fs::write(&path, records).unwrap();
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = socket.local_addr().unwrap();
            let cfg = Config {
                records: path,
                upstreams,
                domain: "dns.podman".into(),
            };
            let handle = thread::spawn(move || serve(socket, &cfg));
            Server { dir, addr, handle }
        }

        fn records_path(&self) -> PathBuf {
            self.dir.path().join("records")
        }

        fn rewrite(&self, records: &str) {
            let tmp = self.dir.path().join("records.tmp");
            fs::write(&tmp, records).unwrap();
            fs::rename(&tmp, self.records_path()).unwrap();
        }

        /// Deleting the records file must make serve return, promptly and with Ok.
        fn stop(self) {
            fs::remove_file(self.records_path()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(3);
            while !self.handle.is_finished() {
                assert!(Instant::now() < deadline, "serve did not return");
                thread::sleep(Duration::from_millis(20));
            }
            self.handle.join().unwrap().unwrap();
        }
    }

    fn request(id: u16, name: &str, qtype: RecordType) -> Message {
        let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
        msg.metadata.recursion_desired = true;
        msg.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        msg
    }

    fn exchange(server: SocketAddr, msg: &Message) -> Message {
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        client.send_to(&msg.to_vec().unwrap(), server).unwrap();
        let mut buf = [0u8; 4096];
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(from, server);
        Message::from_vec(&buf[..n]).unwrap()
    }

    fn ask(server: SocketAddr, name: &str, qtype: RecordType) -> Message {
        let response = exchange(server, &request(0x4242, name, qtype));
        assert_eq!(response.metadata.id, 0x4242);
        assert_eq!(response.metadata.message_type, MessageType::Response);
        response
    }

    fn addresses(msg: &Message) -> Vec<IpAddr> {
        msg.answers
            .iter()
            .map(|r| match &r.data {
                RData::A(a) => IpAddr::V4(a.0),
                RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
                other => panic!("unexpected answer {other:?}"),
            })
            .collect()
    }

    fn assert_local(msg: &Message, ips: &[&str]) {
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        assert!(msg.metadata.authoritative);
        assert!(msg.metadata.recursion_available);
        assert!(msg.metadata.recursion_desired);
        assert!(msg.answers.iter().all(|r| r.ttl == TTL));
        let want: Vec<IpAddr> = ips.iter().map(|s| ip(s)).collect();
        assert_eq!(addresses(msg), want);
    }

    #[test]
    fn serve_answers_local_names() {
        let server = Server::start(RECORDS, Vec::new());
        let addr = server.addr;

        let msg = ask(addr, "web.", RecordType::A);
        assert_local(&msg, &["127.0.10.2"]);
        assert_eq!(msg.answers[0].name, Name::from_ascii("web.").unwrap());

        let msg = ask(addr, "WEB.dns.Podman.", RecordType::A);
        assert_local(&msg, &["127.0.10.2"]);
        assert!(
            msg.answers[0]
                .name
                .eq_case(&Name::from_ascii("WEB.dns.Podman.").unwrap())
        );

        assert_local(&ask(addr, "web-alias.", RecordType::A), &["127.0.10.2"]);
        assert_local(
            &ask(addr, "web-alias.dns.podman.", RecordType::A),
            &["127.0.10.2"],
        );
        assert_local(&ask(addr, "web.", RecordType::AAAA), &[]);
        assert_local(&ask(addr, "dual.", RecordType::AAAA), &["2001:db8::3"]);
        assert_local(&ask(addr, "dual.", RecordType::A), &["127.0.10.3"]);
        assert_local(&ask(addr, "web.", RecordType::TXT), &[]);

        let msg = ask(addr, "2.10.0.127.in-addr.arpa.", RecordType::PTR);
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        let ptrs: Vec<String> = msg
            .answers
            .iter()
            .map(|r| match &r.data {
                RData::PTR(ptr) => ptr.0.to_ascii(),
                other => panic!("unexpected answer {other:?}"),
            })
            .collect();
        assert_eq!(ptrs, vec!["web.", "web-alias."]);
        assert!(msg.answers.iter().all(|r| r.ttl == TTL));

        let v6 = "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
        let msg = ask(addr, v6, RecordType::PTR);
        assert_eq!(msg.answers.len(), 1);

        // Our own domain is never sent upstream (there are none here: it would be SERVFAIL).
        let msg = ask(addr, "nobody.dns.podman.", RecordType::A);
        assert_eq!(msg.metadata.response_code, ResponseCode::NXDomain);

        // With no upstreams anything else fails at once.
        let msg = ask(addr, "example.com.", RecordType::A);
        assert_eq!(msg.metadata.response_code, ResponseCode::ServFail);

        server.stop();
    }

    #[test]
    fn serve_ignores_garbage_and_responses() {
        let server = Server::start(RECORDS, Vec::new());
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut as_response = request(7, "web.", RecordType::A);
        as_response.metadata.message_type = MessageType::Response;
        let mut truncated = request(8, "web.", RecordType::A).to_vec().unwrap();
        truncated.truncate(truncated.len() - 3);
        for junk in [
            vec![],
            vec![0xff; 3],
            vec![0xab; 300],
            truncated,
            as_response.to_vec().unwrap(),
        ] {
            client.send_to(&junk, server.addr).unwrap();
        }
        let mut buf = [0u8; 512];
        assert!(client.recv_from(&mut buf).is_err(), "junk was answered");
        assert_local(&ask(server.addr, "web.", RecordType::A), &["127.0.10.2"]);
        server.stop();
    }

    #[test]
    fn serve_picks_up_rewritten_records() {
        let server = Server::start(RECORDS, Vec::new());
        assert_local(&ask(server.addr, "web.", RecordType::A), &["127.0.10.2"]);
        server.rewrite("127.0.10.4 newcomer\n");
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let msg = ask(server.addr, "newcomer.", RecordType::A);
            if msg.metadata.response_code == ResponseCode::NoError {
                assert_local(&msg, &["127.0.10.4"]);
                break;
            }
            assert!(Instant::now() < deadline, "new records not picked up");
            thread::sleep(Duration::from_millis(50));
        }
        // Gone from the file, gone from the answers.
        assert_eq!(
            ask(server.addr, "web.dns.podman.", RecordType::A)
                .metadata
                .response_code,
            ResponseCode::NXDomain
        );
        server.stop();
    }

    /// A fake upstream on loopback that answers every query with 127.0.0.99, reporting the
    /// questions it saw.
    fn fake_upstream() -> (SocketAddr, mpsc::Receiver<Message>) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut answer = Message::response(query.metadata.id, OpCode::Query);
                answer.metadata.recursion_available = true;
                answer.queries = query.queries.clone();
                let name = query.queries[0].name().clone();
                answer.add_answer(Record::from_rdata(
                    name,
                    300,
                    RData::A(A(Ipv4Addr::new(127, 0, 0, 99))),
                ));
                socket.send_to(&answer.to_vec().unwrap(), from).unwrap();
                if tx.send(query).is_err() {
                    break;
                }
            }
        });
        (addr, rx)
    }

    /// Bound so that nothing else takes the port, but never answers.
    fn silent_upstream() -> (UdpSocket, SocketAddr) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        (socket, addr)
    }

    #[test]
    fn serve_forwards_unknown_names() {
        let (_silent, silent_addr) = silent_upstream();
        let (upstream, seen) = fake_upstream();
        let server = Server::start(RECORDS, vec![silent_addr, upstream]);

        let msg = exchange(server.addr, &request(0x1234, "example.com.", RecordType::A));
        assert_eq!(msg.metadata.id, 0x1234);
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        assert_eq!(addresses(&msg), vec![ip("127.0.0.99")]);
        assert_eq!(msg.answers[0].ttl, 300);

        let asked = seen.recv_timeout(Duration::from_secs(3)).unwrap();
        assert_eq!(
            asked.queries[0].name(),
            &Name::from_ascii("example.com.").unwrap()
        );
        assert_eq!(asked.queries[0].query_type(), RecordType::A);

        // Reverse lookups of addresses we do not know go upstream as well.
        let msg = ask(server.addr, "1.2.0.192.in-addr.arpa.", RecordType::PTR);
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        server.stop();
    }

    #[test]
    fn serve_servfails_when_upstreams_are_silent() {
        let (_silent, silent_addr) = silent_upstream();
        let server = Server::start(RECORDS, vec![silent_addr]);
        let started = Instant::now();
        let msg = exchange(server.addr, &request(0x0bad, "example.com.", RecordType::A));
        assert_eq!(msg.metadata.id, 0x0bad);
        assert_eq!(msg.metadata.response_code, ResponseCode::ServFail);
        assert!(msg.answers.is_empty());
        assert!(started.elapsed() >= UPSTREAM_TIMEOUT);
        // Local names are still answered while a forward waits.
        assert_local(&ask(server.addr, "web.", RecordType::A), &["127.0.10.2"]);
        server.stop();
    }

    #[test]
    fn serve_answers_over_tcp() {
        let server = Server::start(RECORDS, Vec::new());
        // The TCP listener is bound by the serve thread, so it may not be there yet.
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut stream = loop {
            match TcpStream::connect(server.addr) {
                Ok(stream) => break stream,
                Err(e) => assert!(Instant::now() < deadline, "no TCP listener: {e}"),
            }
            thread::sleep(Duration::from_millis(20));
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        for id in [1, 2] {
            let query = request(id, "web.dns.podman.", RecordType::A);
            write_frame(&mut stream, &query.to_vec().unwrap()).unwrap();
            let msg = Message::from_vec(&read_frame(&mut stream).unwrap()).unwrap();
            assert_eq!(msg.metadata.id, id);
            assert_local(&msg, &["127.0.10.2"]);
        }
        drop(stream);
        server.stop();
    }

    #[test]
    fn serve_returns_at_once_without_records_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config {
            records: dir.path().join("missing"),
            upstreams: Vec::new(),
            domain: "dns.podman".into(),
        };
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        serve(socket, &cfg).unwrap();
    }

    #[test]
    fn serve_stops_when_records_file_is_deleted() {
        let server = Server::start(RECORDS, Vec::new());
        assert_local(&ask(server.addr, "web.", RecordType::A), &["127.0.10.2"]);
        thread::sleep(Duration::from_millis(1200));
        // Idle for longer than a second, and still it notices.
        server.stop();
    }
}
