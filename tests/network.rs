//! Bridge networking end to end, as root: real bridges, veths, nftables
//! and traffic, on loopback, the host's own bridge addresses and the
//! containers' namespaces only.
//!
//! Networks and bridges are host-wide (shared by every test's root, as by
//! every root of one host), so each test uses its own network names and
//! subnets (10.201.N.0/24) and removes what it made.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "network/attachments.rs"]
mod attachments;

fn setup() -> (std::fs::File, Registry, Berth) {
    let guard = network_guard(false);
    let reg = registry_with(web_layer("hello from web\n"));
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    (guard, reg, berth)
}

/// A network that is removed (with its containers) when the test ends.
struct Net<'a> {
    berth: &'a Berth,
    name: String,
}

impl<'a> Net<'a> {
    fn create(berth: &'a Berth, name: &str, args: &[&str]) -> Net<'a> {
        let _ = berth.run(&["network", "rm", "-f", name]);
        let mut a = vec!["network", "create"];
        a.extend_from_slice(args);
        a.push(name);
        assert_eq!(berth.ok(&a).trim(), name);
        Net {
            berth,
            name: name.to_string(),
        }
    }
}

impl Drop for Net<'_> {
    fn drop(&mut self) {
        let _ = self.berth.run(&["network", "rm", "-f", &self.name]);
    }
}

/// The host's address on the default bridge.
fn default_gateway(berth: &Berth) -> String {
    berth
        .ok(&[
            "network",
            "inspect",
            "--format",
            "{{range .Subnets}}{{.Gateway}}{{end}}",
            "podman",
        ])
        .trim()
        .to_string()
}

fn ip_of(berth: &Berth, ctr: &str) -> String {
    berth
        .ok(&["inspect", "--format", "{{.NetworkSettings.IPAddress}}", ctr])
        .trim()
        .to_string()
}

fn httpd(berth: &Berth, extra: &[&str]) -> String {
    let mut a = vec!["run", "-d"];
    a.extend_from_slice(extra);
    a.extend_from_slice(&["busybox", "httpd", "-f", "-p", "80", "-h", "/www"]);
    berth.ok(&a).trim().to_string()
}

/// A command in a throwaway container; (exit code, stdout+stderr).
fn in_container(berth: &Berth, net: &[&str], script: &str) -> (i32, String) {
    let mut a = vec!["run", "--rm"];
    a.extend_from_slice(net);
    a.extend_from_slice(&["busybox", "sh", "-c", script]);
    let o = berth.run(&a);
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn nft_table() -> String {
    let o = Command::new("nft")
        .args(["list", "table", "inet", "berth"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn published_port_answers_on_the_host_and_from_containers() {
    let (_nft, _reg, berth) = setup();
    let port = free_port();
    let web = httpd(&berth, &["-p", &format!("{port}:80")]);
    let got = http_get(&format!("127.0.0.1:{port}")).expect("127.0.0.1 answers");
    assert!(got.contains("hello from web"), "{got}");
    // The host's address on the default bridge is one of its addresses.
    let gw = default_gateway(&berth);
    assert!(
        http_get(&format!("{gw}:{port}"))
            .unwrap()
            .contains("hello from web")
    );
    // Another container reaches it through the host address too (hairpin),
    // and directly by its address.
    let (code, o) = in_container(&berth, &[], &format!("wget -q -O- http://{gw}:{port}/"));
    assert_eq!((code, o.as_str()), (0, "hello from web\n"));
    let ip = ip_of(&berth, &web);
    let (code, o) = in_container(&berth, &[], &format!("wget -q -O- http://{ip}/"));
    assert_eq!((code, o.as_str()), (0, "hello from web\n"));
    assert_eq!(
        berth.ok(&["port", &web]),
        format!("80/tcp -> 0.0.0.0:{port}\n")
    );
    assert_eq!(berth.ok(&["port", &web, "80"]), format!("0.0.0.0:{port}\n"));
    let ps = berth.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_eq!(ps.trim(), format!("0.0.0.0:{port}->80/tcp"));
    berth.ok(&["rm", "-f", &web]);
    assert!(!nft_table().contains(&format!("{port} : {ip} . 80")));
    assert!(http_get(&format!("127.0.0.1:{port}")).is_none_or(|g| !g.contains("hello")));
}

#[test]
fn random_and_publish_all_ports() {
    let (_nft, _reg, berth) = setup();
    // An image that EXPOSEs 80, made with commit --change.
    let c = berth.ok(&["create", "busybox", "true"]);
    berth.ok(&["commit", "-q", "-c", "EXPOSE 80", c.trim(), "web-exposed"]);
    let web = berth
        .ok(&[
            "run",
            "-d",
            "-P",
            "web-exposed",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ])
        .trim()
        .to_string();
    let out = berth.ok(&["port", &web, "80/tcp"]);
    let port = out.trim().rsplit(':').next().unwrap().to_string();
    assert!(port.parse::<u16>().unwrap() > 0, "{out}");
    assert!(
        http_get(&format!("127.0.0.1:{port}"))
            .unwrap()
            .contains("hello from web")
    );
    // -p with an address and a random port, and a range.
    let base = free_port_range(2);
    let two = berth
        .ok(&[
            "run",
            "-d",
            "-p",
            "127.0.0.1::80",
            "-p",
            &format!("{base}-{}:8000-8001", base + 1),
            "busybox",
            "sleep",
            "60",
        ])
        .trim()
        .to_string();
    let lines = berth.ok(&["port", &two]);
    assert_eq!(lines.lines().count(), 3, "{lines}");
    assert!(lines.contains("80/tcp -> 127.0.0.1:"), "{lines}");
    assert!(
        lines.contains(&format!("8001/tcp -> 0.0.0.0:{}", base + 1)),
        "{lines}"
    );
}

#[test]
fn containers_resolve_each_other_by_name_and_networks_are_isolated() {
    let (_nft, _reg, berth) = setup();
    let a = Net::create(&berth, "bt-dns-a", &["--subnet", "10.201.1.0/24"]);
    let b = Net::create(&berth, "bt-dns-b", &["--subnet", "10.201.2.0/24"]);
    let web = httpd(
        &berth,
        &[
            "--name",
            "bt-web",
            "--network",
            &a.name,
            "--network-alias",
            "www",
        ],
    );
    assert!(ip_of(&berth, &web).starts_with("10.201.1."));
    let (code, o) = in_container(
        &berth,
        &["--network", &a.name],
        "wget -q -O- http://bt-web/ && wget -q -O- http://www.dns.podman/ && nslookup bt-web",
    );
    assert_eq!(code, 0, "{o}");
    assert_eq!(o.matches("hello from web").count(), 2, "{o}");
    assert!(o.contains(&ip_of(&berth, &web)), "{o}");
    let resolv = in_container(&berth, &["--network", &a.name], "cat /etc/resolv.conf").1;
    assert!(
        resolv.contains("nameserver 10.201.1.1") && resolv.contains("search dns.podman"),
        "{resolv}"
    );
    // Another network neither resolves it nor reaches its address.
    let ip = ip_of(&berth, &web);
    let (code, o) = in_container(
        &berth,
        &["--network", &b.name],
        &format!("nslookup bt-web; timeout 3 nc -w 2 {ip} 80 </dev/null && echo reached"),
    );
    assert!(!o.contains("reached"), "{code} {o}");
    assert!(!o.contains(&format!("Address: {ip}")), "{o}");
    // The default network has no name resolution (as podman).
    let (_, o) = in_container(&berth, &[], "cat /etc/resolv.conf");
    assert!(!o.contains("dns.podman"), "{o}");
    berth.ok(&["rm", "-f", &web]);
    // The last record gone, the network's DNS server leaves.
    let start = Instant::now();
    loop {
        let o = Command::new("pgrep")
            .args(["-f", "dns-serve /run/berth/networks/bt-dns-a "])
            .output()
            .unwrap();
        if !o.status.success() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dns server still running"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn internal_network_has_no_route_out() {
    let (_nft, _reg, berth) = setup();
    let n = Net::create(
        &berth,
        "bt-internal",
        &["--internal", "--subnet", "10.201.3.0/24"],
    );
    let inspect = berth.ok(&["network", "inspect", &n.name]);
    assert!(inspect.contains("\"internal\": true"), "{inspect}");
    let web = httpd(&berth, &["--name", "bt-iweb", "--network", &n.name]);
    let (code, o) = in_container(
        &berth,
        &["--network", &n.name],
        "ip route; wget -q -O- http://bt-iweb/",
    );
    assert_eq!(code, 0, "{o}");
    assert!(!o.contains("default"), "{o}");
    assert!(o.contains("hello from web"), "{o}");
    // The default network's gateway is outside: not reachable.
    let gw = default_gateway(&berth);
    let (_, o) = in_container(
        &berth,
        &["--network", &n.name],
        &format!("timeout 3 nc -w 2 {gw} 22 </dev/null; ip route get {gw} || echo unreachable"),
    );
    assert!(o.contains("unreachable"), "{o}");
    berth.ok(&["rm", "-f", &web]);
}

#[test]
fn connect_and_disconnect_at_runtime() {
    let (_nft, _reg, berth) = setup();
    let n = Net::create(&berth, "bt-conn", &["--subnet", "10.201.4.0/24"]);
    let web = httpd(&berth, &["--name", "bt-cweb"]);
    berth.ok(&["network", "connect", "--alias", "cweb", &n.name, "bt-cweb"]);
    let addrs = berth.ok(&["exec", &web, "ip", "-4", "addr"]);
    assert!(addrs.contains("10.201.4.2"), "{addrs}");
    let (code, o) = in_container(&berth, &["--network", &n.name], "wget -q -O- http://cweb/");
    assert_eq!((code, o.as_str()), (0, "hello from web\n"));
    let nets = berth.ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &web,
    ]);
    assert!(
        nets.contains("podman") && nets.contains("bt-conn"),
        "{nets}"
    );
    // `ps --filter network=` knows the networks it was connected to, and
    // `inspect` finds networks too.
    let ps = berth.ok(&["ps", "-q", "--no-trunc", "--filter", "network=bt-conn"]);
    assert_eq!(ps.trim(), web);
    let ps = berth.ok(&["ps", "-q", "--filter", "network=podman"]);
    assert!(ps.contains(&web[..12]), "{ps}");
    let drv = berth.ok(&["inspect", "--format", "{{.Name}} {{.Driver}}", &n.name]);
    assert_eq!(drv.trim(), "bt-conn bridge");
    berth.ok(&["network", "disconnect", &n.name, "bt-cweb"]);
    let addrs = berth.ok(&["exec", &web, "ip", "-4", "addr"]);
    assert!(!addrs.contains("10.201.4."), "{addrs}");
    let (_, o) = in_container(&berth, &["--network", &n.name], "nslookup cweb");
    assert!(!o.contains("10.201.4.2"), "{o}");
    berth.fails(&["network", "disconnect", &n.name, "bt-cweb"], 125);
    // In use: rm refuses (exit 2), -f takes the containers along.
    let c = berth.ok(&["create", "--network", &n.name, "busybox", "true"]);
    let err = berth.fails(&["network", "rm", &n.name], 2);
    assert!(err.contains("is being used"), "{err}");
    berth.ok(&["network", "rm", "-f", &n.name]);
    berth.fails(&["inspect", c.trim()], 125);
    berth.fails(&["network", "exists", &n.name], 1);
}

#[test]
fn twenty_parallel_runs_get_twenty_addresses() {
    let (_nft, _reg, berth) = setup();
    let n = Net::create(&berth, "bt-par", &["--subnet", "10.201.5.0/24"]);
    let children: Vec<_> = (0..20)
        .map(|_| {
            berth
                .cmd()
                .args(["run", "-d", "--network", &n.name, "busybox", "sleep", "60"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
        .collect();
    let mut ips: Vec<String> = ids
        .iter()
        .map(|id| {
            let a = berth.ok(&["exec", id, "ip", "-4", "-o", "addr", "show", "eth0"]);
            a.split_whitespace().nth(3).unwrap().to_string()
        })
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 20, "{ips:?}");
    // Removal gives them back: a static request for one now succeeds.
    let first = ips[0].split('/').next().unwrap().to_string();
    let holder = ids.iter().find(|id| ip_of(&berth, id) == first).unwrap();
    let err = berth.fails(
        &[
            "run",
            "--rm",
            "--network",
            &n.name,
            "--ip",
            &first,
            "busybox",
            "true",
        ],
        125,
    );
    assert!(err.contains("already allocated"), "{err}");
    berth.ok(&["rm", "-f", holder]);
    berth.ok(&[
        "run",
        "--rm",
        "--network",
        &n.name,
        "--ip",
        &first,
        "busybox",
        "true",
    ]);
}

#[test]
fn sigkilled_container_and_monitor_leave_nothing_after_rm() {
    let (_nft, _reg, berth) = setup();
    let n = Net::create(&berth, "bt-kill", &["--subnet", "10.201.6.0/24"]);
    let port = free_port();
    let id = httpd(&berth, &["--network", &n.name, "-p", &format!("{port}:80")]);
    assert!(
        http_get(&format!("127.0.0.1:{port}"))
            .unwrap()
            .contains("hello")
    );
    let ip = ip_of(&berth, &id);
    let pids = berth.ok(&[
        "inspect",
        "--format",
        "{{.State.Pid}} {{.State.ConmonPid}}",
        &id,
    ]);
    let mut it = pids.split_whitespace();
    let (pid, monitor) = (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    );
    Command::new("kill")
        .args(["-9", &monitor, &pid])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    berth.ok(&["rm", "-f", &id]);
    let table = nft_table();
    assert!(!table.contains(&format!("{port} : {ip}")), "{table}");
    let bridge = berth
        .ok(&[
            "network",
            "inspect",
            "--format",
            "{{.NetworkInterface}}",
            &n.name,
        ])
        .trim()
        .to_string();
    let ports = Command::new("ip")
        .args(["-o", "link", "show", "master", &bridge])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ports.stdout).trim(),
        "",
        "a veth is left on {bridge}"
    );
    // The lease is back.
    berth.ok(&[
        "run",
        "--rm",
        "--network",
        &n.name,
        "--ip",
        &ip,
        "busybox",
        "true",
    ]);
    drop(n);
    assert!(!link_exists(&bridge));
    assert!(!nft_table().contains(&format!("fwd-{bridge}")));
}

#[test]
fn reload_restores_ports_after_a_firewall_flush() {
    let (shared, _reg, berth) = setup();
    drop(shared);
    let _nft = network_guard(true);
    let port = free_port();
    let web = httpd(&berth, &["-p", &format!("{port}:80")]);
    assert!(
        http_get(&format!("127.0.0.1:{port}"))
            .unwrap()
            .contains("hello")
    );
    // What `nft flush ruleset` does to berth's table.
    let st = Command::new("nft")
        .args(["delete", "table", "inet", "berth"])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(nft_table(), "");
    let out = berth.ok(&["network", "reload", &web]);
    assert!(out.contains(&web), "{out}");
    assert!(
        http_get(&format!("127.0.0.1:{port}"))
            .unwrap()
            .contains("hello")
    );
}

#[test]
fn bad_network_input_is_refused_and_leaves_nothing() {
    let (_nft, _reg, berth) = setup();
    let n = Net::create(
        &berth,
        "bt-bad",
        &["--subnet", "10.201.7.0/24", "--label", "bt=1"],
    );
    let ls = berth.ok(&[
        "network",
        "ls",
        "--filter",
        "label=bt=1",
        "--format",
        "{{.Name}} {{.Driver}}",
    ]);
    assert_eq!(ls, "bt-bad bridge\n");
    let err = berth.fails(
        &[
            "network",
            "create",
            "--subnet",
            "10.201.7.128/25",
            "bt-bad2",
        ],
        125,
    );
    assert!(
        err.contains("overlaps subnet 10.201.7.0/24 of network \"bt-bad\""),
        "{err}"
    );
    let err = berth.fails(
        &[
            "network",
            "create",
            "--subnet",
            "10.201.300.0/24",
            "bt-bad2",
        ],
        125,
    );
    assert!(err.contains("invalid subnet"), "{err}");
    let err = berth.fails(&["network", "create", "bt-bad"], 125);
    assert!(err.contains("already exists"), "{err}");
    berth.fails(&["network", "exists", "bt-bad2"], 1);
    let err = berth.fails(
        &["run", "--rm", "--network", "bt-nope", "busybox", "true"],
        125,
    );
    assert!(err.contains("network not found"), "{err}");
    let err = berth.fails(&["network", "inspect", "bt-nope"], 125);
    assert!(err.contains("bt-nope"), "{err}");
    let err = berth.fails(&["network", "rm", "bt-nope"], 1);
    assert!(err.contains("bt-nope"), "{err}");
    // A host port someone holds.
    let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let err = berth.fails(
        &[
            "run",
            "--rm",
            "--network",
            &n.name,
            "--ip",
            "10.201.7.9",
            "-p",
            &format!("{port}:80"),
            "busybox",
            "true",
        ],
        // podman: a start that cannot take its host port exits 126.
        126,
    );
    assert!(
        err.contains(&format!("cannot publish port 0.0.0.0:{port}/tcp")),
        "{err}"
    );
    assert_eq!(berth.ok(&["ps", "-a", "-q"]), "");
    // Nothing half-made: the address is free again.
    drop(l);
    berth.ok(&[
        "run",
        "--rm",
        "--network",
        &n.name,
        "--ip",
        "10.201.7.9",
        "busybox",
        "true",
    ]);
    let err = berth.fails(&["run", "--rm", "-p", "80:80/sctp", "busybox", "true"], 125);
    assert!(err.contains("invalid protocol"), "{err}");
    // As podman 4.3.1: ports with --network none are discarded, with a word.
    let o = berth.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-p",
        "8080:80",
        "busybox",
        "true",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use"),
        "{err}"
    );
}
