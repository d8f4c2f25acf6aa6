//! The responder against a real socket on loopback.

use std::fs;
use std::io::{self};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::thread::{self};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::server::*;
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
