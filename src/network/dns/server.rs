//! The responder itself: the UDP loop, TCP, local answers and forwarding.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::{self, Scope};
use std::time::Instant;

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::*;

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

pub(super) fn read_frame(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut packet = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut packet)?;
    Ok(packet)
}

pub(super) fn write_frame(stream: &mut TcpStream, message: &[u8]) -> io::Result<()> {
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
