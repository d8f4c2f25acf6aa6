//! Network modes and a container's attachments: host and none, IPv6,
//! macvlan, several networks, reconnecting, the default network, ports
//! given back, slirp4netns, containers.conf's files and per-network
//! options.

use super::*;

#[test]
fn host_and_none_modes_keep_their_meaning() {
    let (_nft, _reg, berth) = setup();
    let (_, o) = in_container(&berth, &["--network", "none"], "ip -o link");
    assert_eq!(o.lines().count(), 1, "{o}");
    let (_, o) = in_container(&berth, &["--network", "host"], "ip -o link");
    assert!(o.contains("berth0") || o.lines().count() > 1, "{o}");
    let (_, o) = in_container(
        &berth,
        &["--mac-address", "92:d0:c6:0a:29:33"],
        "ip -o link show eth0",
    );
    assert!(o.contains("92:d0:c6:0a:29:33"), "{o}");
}

#[test]
fn ipv6_networks_give_ula_addresses_and_aaaa_records() {
    let (_nft, _reg, berth) = setup();
    let n = Net::create(&berth, "bt-v6", &["--ipv6", "--subnet", "10.201.8.0/24"]);
    let subnets = berth.ok(&[
        "network",
        "inspect",
        "--format",
        "{{.IPv6Enabled}} {{range .Subnets}}{{.Subnet}} {{end}}",
        &n.name,
    ]);
    assert!(subnets.starts_with("true 10.201.8.0/24 fd"), "{subnets}");
    let web = httpd(
        &berth,
        &[
            "--name",
            "bt-v6web",
            "--hostname",
            "v6host",
            "--network",
            &n.name,
        ],
    );
    let v6 = berth
        .ok(&[
            "inspect",
            "--format",
            "{{.NetworkSettings.GlobalIPv6Address}}",
            &web,
        ])
        .trim()
        .to_string();
    assert!(v6.starts_with("fd"), "{v6}");
    let (code, o) = in_container(
        &berth,
        &["--network", &n.name],
        &format!("wget -q -O- http://[{v6}]/ && nslookup -type=AAAA bt-v6web && nslookup v6host"),
    );
    assert_eq!(code, 0, "{o}");
    assert!(o.contains("hello from web"), "{o}");
    assert!(o.contains(&v6), "{o}");
    assert!(o.contains(&ip_of(&berth, &web)), "{o}");
    berth.ok(&["rm", "-f", &web]);
    // Published ports answer on the host's IPv6 addresses too (here the
    // network's own gateway on the bridge, an address of the host's).
    let port = free_port();
    let web = httpd(&berth, &["--network", &n.name, "-p", &format!("{port}:80")]);
    let gw6 = berth
        .ok(&[
            "network",
            "inspect",
            "--format",
            "{{range .Subnets}}{{.Gateway}} {{end}}",
            &n.name,
        ])
        .split_whitespace()
        .find(|g| g.contains(':'))
        .unwrap()
        .to_string();
    let got = http_get(&format!("[{gw6}]:{port}")).unwrap_or_default();
    assert!(got.contains("hello from web"), "{got}");
    let got = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(got.contains("hello from web"), "{got}");
    berth.ok(&["rm", "-f", &web]);
    assert!(!nft_table().contains(&format!("{port} :")));
}

/// A macvlan network on a parent interface of the host (here one end of a
/// veth pair the test makes): containers on it reach each other.
#[test]
fn macvlan_network_on_a_parent_interface() {
    let (_nft, _reg, berth) = setup();
    struct Link;
    impl Drop for Link {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", "bt-mvp0"]).status();
        }
    }
    let _ = Command::new("ip")
        .args(["link", "del", "bt-mvp0"])
        .stderr(std::process::Stdio::null())
        .status();
    let st = Command::new("ip")
        .args([
            "link", "add", "bt-mvp0", "type", "veth", "peer", "name", "bt-mvp1",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let _link = Link;
    for l in ["bt-mvp0", "bt-mvp1"] {
        assert!(
            Command::new("ip")
                .args(["link", "set", l, "up"])
                .status()
                .unwrap()
                .success()
        );
    }
    let n = Net::create(
        &berth,
        "bt-mv",
        &[
            "-d",
            "macvlan",
            "-o",
            "parent=bt-mvp0",
            "--subnet",
            "10.201.9.0/24",
        ],
    );
    let driver = berth.ok(&[
        "network",
        "inspect",
        "--format",
        "{{.Driver}} {{.NetworkInterface}}",
        &n.name,
    ]);
    assert_eq!(driver.trim(), "macvlan bt-mvp0");
    let web = httpd(&berth, &["--network", &n.name]);
    let ip = ip_of(&berth, &web);
    assert!(ip.starts_with("10.201.9."), "{ip}");
    let (code, o) = in_container(
        &berth,
        &["--network", &n.name],
        &format!("wget -q -O- http://{ip}/"),
    );
    assert_eq!((code, o.as_str()), (0, "hello from web\n"));
    let err = berth.fails(
        &[
            "network",
            "create",
            "-d",
            "macvlan",
            "-o",
            "parent=bt-nope0",
            "bt-mv2",
        ],
        125,
    );
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn a_container_on_two_networks_has_an_interface_on_each() {
    let (_nft, _reg, berth) = setup();
    let a = Net::create(&berth, "bt-multi-a", &["--subnet", "10.201.10.0/24"]);
    let b = Net::create(
        &berth,
        "bt-multi-b",
        &["--subnet", "10.201.11.0/24", "-o", "mtu=1400"],
    );
    let (code, o) = in_container(
        &berth,
        &["--network", &format!("{},{}", a.name, b.name)],
        "ip -4 -o addr show eth0; ip -4 -o addr show eth1; ip -o link show eth1; ip route",
    );
    assert_eq!(code, 0, "{o}");
    let on = |ifname: &str, net: &str| {
        o.lines()
            .any(|l| l.contains(&format!(" {ifname} ")) && l.contains(&format!("inet {net}")))
    };
    assert!(on("eth0", "10.201.10.") && on("eth1", "10.201.11."), "{o}");
    assert!(o.contains("mtu 1400"), "{o}");
    assert!(o.contains("default via 10.201.10.1"), "{o}");
}

fn inspect_net(berth: &Berth, ctr: &str, net: &str, field: &str) -> String {
    let f = format!("{{{{(index .NetworkSettings.Networks \"{net}\").{field}}}}}");
    berth
        .ok(&["inspect", "--format", &f, ctr])
        .trim()
        .to_string()
}

#[test]
fn reconnect_gives_a_new_address_and_moves_hosts_entries_and_ports() {
    let (_nft, _reg, berth) = setup();
    let a = Net::create(&berth, "bt-move", &["--subnet", "10.201.20.0/24"]);
    let b = Net::create(&berth, "bt-move2", &["--subnet", "10.201.21.0/24"]);
    let port = free_port();
    let web = httpd(&berth, &["-p", &format!("{port}:80"), "--network", &a.name]);
    let addr = format!("127.0.0.1:{port}");
    let served = |what: &str| {
        let got = http_get(&addr).unwrap_or_default();
        assert!(got.contains("hello from web"), "{what}: {got}");
    };
    served("first start");
    // podman: the short ID is an alias on every network.
    assert_eq!(
        inspect_net(&berth, &web, &a.name, "Aliases"),
        format!("[{}]", &web[..12])
    );
    let ip = inspect_net(&berth, &web, &a.name, "IPAddress");
    let mac = inspect_net(&berth, &web, &a.name, "MacAddress");
    // The address carries its subnet's broadcast address (netavark's).
    let addrs = berth.ok(&["exec", &web, "ip", "-4", "addr", "show", "eth0"]);
    assert!(
        addrs.contains(&format!("inet {ip}/24 brd 10.201.20.255 ")),
        "{addrs}"
    );
    let hosts = berth.ok(&["exec", &web, "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip}\t{}", &web[..12])), "{hosts}");
    berth.ok(&["network", "disconnect", &a.name, &web]);
    let hosts = berth.ok(&["exec", &web, "cat", "/etc/hosts"]);
    assert!(!hosts.contains(&ip), "{hosts}");
    assert!(
        !http_get(&addr)
            .unwrap_or_default()
            .contains("hello from web"),
        "served while disconnected"
    );
    berth.ok(&["network", "connect", &a.name, &web]);
    served("reconnected");
    // A released address is not handed out again at once (podman's IPAM).
    let ip2 = inspect_net(&berth, &web, &a.name, "IPAddress");
    assert_ne!(ip2, ip);
    assert_ne!(inspect_net(&berth, &web, &a.name, "MacAddress"), mac);
    let hosts = berth.ok(&["exec", &web, "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip2}\t")), "{hosts}");
    // The ports follow the first network left.
    berth.ok(&["network", "connect", &b.name, &web]);
    assert_eq!(
        inspect_net(&berth, &web, &b.name, "Aliases"),
        format!("[{}]", &web[..12])
    );
    berth.ok(&["network", "disconnect", &a.name, &web]);
    served("on the second network");
    berth.ok(&["rm", "-f", "-t", "0", &web]);
}

#[test]
fn the_default_network_is_podman_and_stays() {
    let (_nft, _reg, berth) = setup();
    let names = berth.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(names.lines().any(|l| l == "podman"), "{names}");
    assert!(!names.lines().any(|l| l == "berth"), "{names}");
    // The name it had before, and docker's, still name it.
    for word in ["berth", "bridge"] {
        let n = berth.ok(&["network", "inspect", "--format", "{{.Name}}", word]);
        assert_eq!(n.trim(), "podman");
    }
    let err = berth.fails(&["network", "rm", "-t", "0", "-f", "podman"], 125);
    assert_eq!(err, "Error: default network podman cannot be removed\n");
    let err = berth.fails(&["network", "rm", "bt-bogus"], 1);
    assert_eq!(
        err,
        "Error: unable to find network with name or ID bt-bogus: network not found\n"
    );
    assert_eq!(berth.ok(&["network", "rm", "--force", "bt-bogus"]), "");
}

#[test]
fn a_removed_containers_port_is_free_at_once_but_never_twice() {
    let (_nft, _reg, berth) = setup();
    let port = free_port();
    let p = format!("{port}:80");
    // slirp4netns serves the port; the connection it closes first leaves
    // a TIME_WAIT socket on it, which must not keep the port from the next
    // container.
    let web = httpd(&berth, &["-p", &p, "--network", "slirp4netns"]);
    let got = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(got.contains("hello from web"), "{got}");
    berth.ok(&["rm", "-f", "-t", "0", &web]);
    let web = httpd(&berth, &["-p", &p]);
    let err = berth.fails(&["run", "-d", "-p", &p, "busybox", "sleep", "60"], 126);
    assert!(err.contains("Address already in use"), "{err}");
    berth.ok(&["rm", "-f", "-t", "0", &web]);
}

#[test]
fn slirp4netns_cidr_names_its_addresses_in_hosts_and_resolv_conf() {
    let (_nft, _reg, berth) = setup();
    let o = berth.ok(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns:cidr=10.201.22.0/24",
        "--name",
        "bt-slirp",
        "--hostname",
        "bt-slirp",
        "busybox",
        "cat",
        "/etc/hosts",
        "/etc/resolv.conf",
    ]);
    assert!(o.contains("10.201.22.100\tbt-slirp bt-slirp\n"), "{o}");
    assert!(o.contains("nameserver 10.201.22.3\n"), "{o}");
    assert!(o.contains("\thost.containers.internal\n"), "{o}");
}

#[test]
fn containers_conf_shapes_hosts_and_resolv_conf_and_proxies_pass() {
    let (_nft, _reg, berth) = setup();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("hosts");
    std::fs::write(&base, "192.0.2.1 bt-one\n192.0.2.2 bt-two # comment\n").unwrap();
    let conf = dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        format!(
            "[containers]\nbase_hosts_file = \"{}\"\nhost_containers_internal_ip = \"192.0.2.9\"\n\
             dns_servers = [\"192.0.2.53\", \"192.0.2.54\"]\ndns_searches = [\"example.test\"]\n\
             dns_options = [\"ndots:3\"]\n",
            base.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = berth
            .cmd()
            .env("CONTAINERS_CONF", &conf)
            .env("http_proxy", "http://192.0.2.80:3128")
            .env_remove("https_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("no_proxy")
            .env_remove("NO_PROXY")
            .env_remove("ftp_proxy")
            .env_remove("FTP_PROXY")
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let o = run(&[
        "run",
        "--rm",
        "--add-host",
        "bt-three:192.0.2.3",
        "--name",
        "bt-cc",
        "--hostname",
        "bt-cc",
        "--dns-opt",
        "rotate",
        "busybox",
        "cat",
        "/etc/hosts",
        "/etc/resolv.conf",
    ]);
    let ip = o
        .lines()
        .find(|l| l.ends_with("\tbt-cc bt-cc"))
        .and_then(|l| l.split('\t').next())
        .unwrap_or_else(|| panic!("no own entry: {o}"))
        .to_string();
    assert_eq!(
        o,
        format!(
            "192.0.2.3\tbt-three\n192.0.2.1\tbt-one\n192.0.2.2\tbt-two\n127.0.0.1\tlocalhost\n\
             ::1\tlocalhost\n192.0.2.9\thost.containers.internal\n{ip}\tbt-cc bt-cc\n\
             search example.test\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n\
             options ndots:3 rotate\n"
        )
    );
    // Named as a base entry: no entry of its own.
    let o = run(&[
        "run",
        "--rm",
        "--name",
        "bt-one",
        "--hostname",
        "bt-one",
        "busybox",
        "cat",
        "/etc/hosts",
    ]);
    assert_eq!(o.lines().count(), 5, "{o}");
    assert!(!o.contains("bt-one bt-one"), "{o}");
    // The host's proxy variables pass, unless --http-proxy=false.
    let env = run(&["run", "--rm", "busybox", "env"]);
    assert!(env.contains("http_proxy=http://192.0.2.80:3128\n"), "{env}");
    let env = run(&["run", "--rm", "--http-proxy=false", "busybox", "env"]);
    assert!(!env.contains("http_proxy"), "{env}");
}

#[test]
fn per_network_options_alias_ip_mac_and_interface_name() {
    let (_nft, _reg, berth) = setup();
    let a = Net::create(&berth, "bt-opt-a", &["--subnet", "10.201.12.0/24"]);
    let b = Net::create(&berth, "bt-opt-b", &["--subnet", "10.201.13.0/24"]);
    // podman 4's NET:OPTIONS, one --network per network (podman-compose
    // writes them so).
    let web = httpd(
        &berth,
        &[
            "--network",
            "bt-opt-a:alias=web,alias=www,ip=10.201.12.50,mac=02:42:0a:c9:0c:32,interface_name=front0",
            "--network",
            "bt-opt-b:interface_name=back0",
        ],
    );
    let (code, o) = berth_exec(
        &berth,
        &web,
        "ip -o addr show front0; ip -o link show front0; ip -o addr show back0",
    );
    assert_eq!(code, 0, "{o}");
    assert!(o.contains("10.201.12.50/24"), "{o}");
    assert!(o.contains("02:42:0a:c9:0c:32"), "{o}");
    assert!(o.contains("10.201.13."), "{o}");
    // Both aliases resolve on the network that has them, to that address.
    let (code, o) = in_container(
        &berth,
        &["--network", &a.name],
        "wget -q -O- http://web/ && wget -q -O- http://www/ && nslookup web",
    );
    assert_eq!(code, 0, "{o}");
    assert_eq!(o.matches("hello from web").count(), 2, "{o}");
    assert!(o.contains("10.201.12.50"), "{o}");
    // The other network does not know them.
    let (_, o) = in_container(&berth, &["--network", &b.name], "nslookup web");
    assert!(!o.contains("10.201.12.50"), "{o}");
    for (bad, why) in [
        ("bt-opt-a:alias", "needs a value"),
        ("bt-opt-a:ip=10.1", "is not an IP address"),
        ("bt-opt-a:colour=red", "unknown option \"colour\""),
        (
            "bt-opt-a:interface_name=a/b",
            "is not a valid interface name",
        ),
    ] {
        let err = berth.fails(&["create", "--network", bad, "busybox"], 125);
        assert!(err.contains(why), "{bad}: {err}");
    }
    let err = berth.fails(
        &[
            "create",
            "--network",
            "host",
            "--network",
            "bt-opt-a",
            "busybox",
        ],
        125,
    );
    assert!(err.contains("cannot be combined"), "{err}");
    berth.ok(&["rm", "-f", &web]);
}

fn berth_exec(berth: &Berth, ctr: &str, script: &str) -> (i32, String) {
    let o = berth.run(&["exec", ctr, "sh", "-c", script]);
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}
