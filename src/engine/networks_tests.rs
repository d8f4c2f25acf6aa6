//! The engine's network records: host routes, the default network's migration, address allocation.

use super::*;

#[test]
fn host_routes_skip_defaults_link_local_and_our_bridges() {
    let v4 = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
              eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n\
              eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
              berth0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\n";
    let v6 = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
              fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
              00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n";
    let r: Vec<String> = parse_routes(v4, v6).iter().map(|s| s.to_string()).collect();
    assert_eq!(r, vec!["192.0.2.0/24", "fd00::/64"]);
}

fn spec(name: &str, subnet: &str) -> NetworkSpec {
    NetworkSpec {
        name: Some(name.into()),
        driver: "bridge".into(),
        subnets: vec![(subnet.parse().unwrap(), None, None)],
        ..Default::default()
    }
}

#[test]
fn a_default_network_recorded_as_berth_becomes_podman_with_its_endpoints() {
    let nd = Db::open_in_memory().unwrap();
    let legacy = NetworkRow {
        name: LEGACY_DEFAULT_NETWORK.into(),
        ..default_network(&nd).unwrap()
    };
    // A store written before the rename.
    db::delete(&nd.conn, DEFAULT_NETWORK).unwrap();
    db::insert(&nd.conn, &legacy).unwrap();
    db::insert_endpoint(
        &nd.conn,
        &EndpointRow {
            network: LEGACY_DEFAULT_NETWORK.into(),
            container_id: "c1".into(),
            position: 0,
            interface: "eth0".into(),
            ip: "10.88.0.2".into(),
            ipv6: None,
            mac: "02:42:0a:58:00:02".into(),
            aliases: vec![],
            root: "/r".into(),
        },
    )
    .unwrap();
    let n = find(&nd, "bridge").unwrap();
    assert_eq!(
        (n.name.as_str(), n.id.as_str()),
        (DEFAULT_NETWORK, legacy.id.as_str())
    );
    let names: Vec<String> = list(&nd).unwrap().into_iter().map(|n| n.name).collect();
    assert_eq!(names, vec![DEFAULT_NETWORK]);
    assert_eq!(
        attachments(&nd, "c1").unwrap()[0].network.name,
        DEFAULT_NETWORK
    );
    // The old word still names it.
    assert_eq!(find(&nd, LEGACY_DEFAULT_NETWORK).unwrap().id, legacy.id);
    // An old berth recorded `berth` again beside it: folded in.
    db::insert(
        &nd.conn,
        &NetworkRow {
            id: "other".into(),
            ..legacy.clone()
        },
    )
    .unwrap();
    let ep = |id: &str, ip: &str| EndpointRow {
        network: LEGACY_DEFAULT_NETWORK.into(),
        container_id: id.into(),
        position: 0,
        interface: "eth0".into(),
        ip: ip.into(),
        ipv6: None,
        mac: "02:42:0a:58:00:03".into(),
        aliases: vec![],
        root: "/r".into(),
    };
    db::insert_endpoint(&nd.conn, &ep("c2", "10.88.0.3")).unwrap();
    default_network(&nd).unwrap();
    assert!(db::get(&nd.conn, LEGACY_DEFAULT_NETWORK).unwrap().is_none());
    assert_eq!(
        db::endpoints_of_network(&nd.conn, DEFAULT_NETWORK)
            .unwrap()
            .len(),
        2
    );
    // A clashing address stays where it is, and so does its network.
    db::insert(
        &nd.conn,
        &NetworkRow {
            id: "other".into(),
            ..legacy.clone()
        },
    )
    .unwrap();
    db::insert_endpoint(&nd.conn, &ep("c3", "10.88.0.3")).unwrap();
    default_network(&nd).unwrap();
    assert_eq!(
        db::endpoints_of_network(&nd.conn, LEGACY_DEFAULT_NETWORK)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn allocation_is_unique_and_stale_leases_of_a_root_are_swept() {
    let nd = Db::open_in_memory().unwrap();
    let net = create(&nd, spec("t1", "10.250.3.0/24")).unwrap();
    assert_eq!(net.interface, "berth1");
    let req = |ip: Option<&str>| NetworkRequest {
        network: "t1".into(),
        ip: ip.map(|i| i.parse().unwrap()),
        ..Default::default()
    };
    let root = std::path::Path::new("/r");
    let a = allocate(&nd, root, "c1", &[req(None)]).unwrap();
    let b = allocate(&nd, root, "c2", &[req(None)]).unwrap();
    assert_eq!(
        (a[0].endpoint.ip.as_str(), b[0].endpoint.ip.as_str()),
        ("10.250.3.2", "10.250.3.3")
    );
    assert!(matches!(
        allocate(&nd, root, "c3", &[req(Some("10.250.3.2"))]),
        Err(NetworkError::InUse(_))
    ));
    // c2's create died before its record was written: its lease goes.
    sweep_stale(&nd, root, |id| id == "c1").unwrap();
    let c = allocate(&nd, root, "c3", &[req(Some("10.250.3.3"))]).unwrap();
    assert_eq!(c[0].endpoint.ip, "10.250.3.3");
    // A released address is not handed out again at once (podman).
    let d = allocate(&nd, root, "c4", &[req(None)]).unwrap();
    assert_eq!(d[0].endpoint.ip, "10.250.3.4");
    assert_eq!(d[0].endpoint.aliases, vec!["c4"]);
    db::delete_endpoints_of_container(&nd.conn, "c4").unwrap();
    let e = allocate(&nd, root, "c5", &[req(None)]).unwrap();
    assert_eq!(e[0].endpoint.ip, "10.250.3.5");
    db::delete_endpoints_of_container(&nd.conn, "c5").unwrap();
    // Another root's leases are none of this sweep's business.
    allocate(&nd, std::path::Path::new("/other"), "x1", &[req(None)]).unwrap();
    sweep_stale(&nd, root, |_| true).unwrap();
    assert_eq!(db::endpoints_of_network(&nd.conn, "t1").unwrap().len(), 3);
    assert!(matches!(
        create(&nd, spec("t2", "10.250.3.128/25")),
        Err(NetworkError::Invalid(_))
    ));
    assert!(matches!(
        create(&nd, spec("t1", "10.250.4.0/24")),
        Err(NetworkError::Exists(_))
    ));
}
