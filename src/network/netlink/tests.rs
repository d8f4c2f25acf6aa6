//! Against the real kernel, each test in network namespaces of its own.

use super::*;
use std::os::fd::{AsFd, OwnedFd};

/// Runs `f` on a thread of its own in a fresh network namespace, which
/// disappears with the thread; the host's namespace is never touched.
fn in_netns(f: impl FnOnce() + Send + 'static) {
    let result = std::thread::spawn(move || {
        // SAFETY: plain syscall; only this thread changes namespace.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            panic!(
                "unshare(CLONE_NEWNET) failed (tests need root): {}",
                io::Error::last_os_error()
            );
        }
        f();
    })
    .join();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A second, empty network namespace, alive as long as the fd is.
fn new_netns() -> OwnedFd {
    std::thread::spawn(|| {
        // SAFETY: plain syscall; only this short-lived thread moves.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        OwnedFd::from(std::fs::File::open(format!("/proc/self/task/{tid}/ns/net")).unwrap())
    })
    .join()
    .unwrap()
}

fn current_netns() -> std::path::PathBuf {
    std::fs::read_link("/proc/thread-self/ns/net").unwrap()
}

fn link(nl: &mut Netlink, name: &str) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    let reply = nl
        .exchange(RouteNetlinkMessage::GetLink(msg), 0, "test lookup")
        .unwrap();
    reply
        .messages
        .into_iter()
        .find_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })
        .unwrap()
}

fn has_attr(link: &LinkMessage, want: &LinkAttribute) -> bool {
    link.attributes.iter().any(|a| a == want)
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn bridge_addresses() {
    in_netns(|| {
        let mut nl = Netlink::connect().unwrap();
        assert_eq!(nl.link_index("berth0").unwrap(), None);
        assert_eq!(nl.link_index("a-name-far-too-long").unwrap(), None);

        let index = nl.create_bridge("berth0", Some(1400)).unwrap();
        assert_eq!(nl.link_index("berth0").unwrap(), Some(index));
        // An existing link is returned, not an error.
        assert_eq!(nl.create_bridge("berth0", None).unwrap(), index);
        let bridge = link(&mut nl, "berth0");
        assert!(has_attr(&bridge, &LinkAttribute::Mtu(1400)));
        assert!(!bridge.header.flags.contains(LinkFlags::Up));

        nl.set_up(index).unwrap();
        assert!(link(&mut nl, "berth0").header.flags.contains(LinkFlags::Up));

        nl.add_address(index, v4("10.88.0.1"), 16).unwrap();
        nl.add_address(index, v4("10.88.0.1"), 16).unwrap();
        let v6: IpAddr = "fd00:88::1".parse().unwrap();
        nl.add_address(index, v6, 64).unwrap();
        nl.add_address(index, v6, 64).unwrap();

        let addrs = nl.addresses(index).unwrap();
        assert!(addrs.contains(&(v4("10.88.0.1"), 16)), "{addrs:?}");
        assert!(addrs.contains(&(v6, 64)), "{addrs:?}");
        assert_eq!(addrs.iter().filter(|a| a.0 == v4("10.88.0.1")).count(), 1);

        let routes = nl.route_destinations().unwrap();
        assert!(routes.contains(&(v4("10.88.0.0"), 16)), "{routes:?}");

        match nl.add_address(9999, v4("10.1.0.1"), 24) {
            Err(NetlinkError::Kernel { op, errno }) => {
                assert_eq!(errno, libc::ENODEV);
                assert_eq!(op, "adding 10.1.0.1/24 to link #9999");
            }
            other => panic!("expected ENODEV, got {other:?}"),
        }
    });
}

#[test]
fn veth_into_other_netns() {
    in_netns(|| {
        let mut nl = Netlink::connect().unwrap();
        let bridge = nl.create_bridge("berth0", None).unwrap();
        nl.set_up(bridge).unwrap();
        nl.add_address(bridge, v4("10.88.0.1"), 16).unwrap();

        let peer_ns = new_netns();
        let mac = [0x02, 0x42, 0x0a, 0x58, 0x00, 0x02];
        let host = nl
            .create_veth(
                "vethtest0",
                "eth0",
                peer_ns.as_fd(),
                bridge,
                Some(1450),
                Some(mac),
            )
            .unwrap();
        assert_eq!(nl.link_index("vethtest0").unwrap(), Some(host));
        // The peer went straight to the other namespace.
        assert_eq!(nl.link_index("eth0").unwrap(), None);
        let host_link = link(&mut nl, "vethtest0");
        assert!(host_link.header.flags.contains(LinkFlags::Up));
        assert!(has_attr(&host_link, &LinkAttribute::Controller(bridge)));
        assert!(has_attr(&host_link, &LinkAttribute::Mtu(1450)));

        match nl.create_veth("vethtest0", "eth1", peer_ns.as_fd(), bridge, None, None) {
            Err(NetlinkError::Kernel { op, errno }) => {
                assert_eq!(errno, libc::EEXIST);
                assert_eq!(op, "creating veth vethtest0");
            }
            other => panic!("expected EEXIST, got {other:?}"),
        }

        let before = current_netns();
        let mut inner = Netlink::connect_in(peer_ns.as_fd()).unwrap();
        assert_eq!(current_netns(), before);

        let eth0 = inner.link_index("eth0").unwrap().unwrap();
        let eth0_link = link(&mut inner, "eth0");
        assert!(has_attr(&eth0_link, &LinkAttribute::Address(mac.to_vec())));
        assert!(has_attr(&eth0_link, &LinkAttribute::Mtu(1450)));
        // eth1 of the failed attempt must not have been left behind.
        assert_eq!(inner.link_index("eth1").unwrap(), None);

        inner.set_up(eth0).unwrap();
        inner.add_address(eth0, v4("10.88.0.2"), 16).unwrap();
        let addrs = inner.addresses(eth0).unwrap();
        let v4_addrs: Vec<_> = addrs.iter().filter(|a| a.0.is_ipv4()).collect();
        assert_eq!(v4_addrs, vec![&(v4("10.88.0.2"), 16)]);
        inner.add_route(None, v4("10.88.0.1")).unwrap();
        inner.add_route(None, v4("10.88.0.1")).unwrap();
        // Host bits are dropped from the destination.
        inner
            .add_route(Some((v4("10.99.0.7"), 24)), v4("10.88.0.1"))
            .unwrap();
        inner
            .add_route(Some((v4("10.99.0.0"), 24)), v4("10.88.0.1"))
            .unwrap();
        match inner.add_route(Some((v4("10.99.0.0"), 24)), v4("10.88.0.3")) {
            Err(NetlinkError::Kernel { errno, .. }) => assert_eq!(errno, libc::EEXIST),
            other => panic!("a different route must not be taken as present: {other:?}"),
        }

        let routes = inner.route_destinations().unwrap();
        assert!(routes.contains(&(v4("10.88.0.0"), 16)), "{routes:?}");
        assert!(routes.contains(&(v4("0.0.0.0"), 0)), "{routes:?}");
        assert!(routes.contains(&(v4("10.99.0.0"), 24)), "{routes:?}");
        // The outer namespace has none of the inner routes.
        let outer = nl.route_destinations().unwrap();
        assert!(!outer.contains(&(v4("10.99.0.0"), 24)), "{outer:?}");

        // IPv6 gateway route through the same link.
        let gw6: IpAddr = "fd00:88::1".parse().unwrap();
        nl.add_address(bridge, gw6, 64).unwrap();
        inner
            .add_address(eth0, "fd00:88::2".parse().unwrap(), 64)
            .unwrap();
        inner.add_route(None, gw6).unwrap();
        inner.add_route(None, gw6).unwrap();
        let routes = inner.route_destinations().unwrap();
        assert!(
            routes.contains(&("fd00:88::".parse().unwrap(), 64)),
            "{routes:?}"
        );
        assert!(routes.contains(&("::".parse().unwrap(), 0)), "{routes:?}");

        assert_eq!(nl.links_with_prefix("veth").unwrap(), vec!["vethtest0"]);
        nl.delete_link("vethtest0").unwrap();
        nl.delete_link("vethtest0").unwrap();
        nl.delete_link("never-existed").unwrap();
        assert!(nl.links_with_prefix("veth").unwrap().is_empty());
        // Deleting one end takes the peer with it.
        assert_eq!(inner.link_index("eth0").unwrap(), None);
    });
}

#[test]
fn links_by_prefix() {
    in_netns(|| {
        let mut nl = Netlink::connect().unwrap();
        for name in ["berth0", "berth1", "other0"] {
            nl.create_bridge(name, None).unwrap();
        }
        let mut names = nl.links_with_prefix("berth").unwrap();
        names.sort();
        assert_eq!(names, vec!["berth0", "berth1"]);
        let mut all = nl.links_with_prefix("").unwrap();
        all.sort();
        assert_eq!(all, vec!["berth0", "berth1", "lo", "other0"]);
    });
}

#[test]
fn macvlan_into_other_netns() {
    in_netns(|| {
        let mut nl = Netlink::connect().unwrap();
        // The kernel may lack the dummy driver, so the peer end of a veth
        // kept in this namespace serves as parent (the host end is a
        // bridge port, which a macvlan cannot sit on: EBUSY).
        let bridge = nl.create_bridge("berth0", None).unwrap();
        let here = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
        nl.create_veth("vhost0", "vpeer0", here.as_fd(), bridge, None, None)
            .unwrap();
        let parent = nl.link_index("vpeer0").unwrap().unwrap();
        let ns = new_netns();
        let mac = [0x02, 0x42, 0x0a, 0x59, 0x00, 0x05];
        nl.create_macvlan("mv0", parent, ns.as_fd(), Some(1400), Some(mac))
            .unwrap();
        assert_eq!(nl.link_index("mv0").unwrap(), None);

        let mut inner = Netlink::connect_in(ns.as_fd()).unwrap();
        assert!(inner.link_index("mv0").unwrap().is_some());
        let mv = link(&mut inner, "mv0");
        assert!(has_attr(&mv, &LinkAttribute::Address(mac.to_vec())));
        assert!(has_attr(&mv, &LinkAttribute::Mtu(1400)));

        match nl.create_macvlan("mv1", 9999, ns.as_fd(), None, None) {
            Err(NetlinkError::Kernel { op, .. }) => assert_eq!(op, "creating macvlan mv1"),
            other => panic!("expected a kernel error, got {other:?}"),
        }
    });
}

#[test]
fn connect_in_bad_fd() {
    let file = std::fs::File::open("/dev/null").unwrap();
    assert!(matches!(
        Netlink::connect_in(file.as_fd()),
        Err(NetlinkError::Io(_))
    ));
}

#[test]
fn network_masks_host_bits() {
    assert_eq!(network(v4("10.88.1.2"), 16), v4("10.88.0.0"));
    assert_eq!(network(v4("10.88.1.2"), 0), v4("0.0.0.0"));
    assert_eq!(network(v4("10.88.1.2"), 32), v4("10.88.1.2"));
    assert_eq!(
        network("fd00:1:2:3::9".parse().unwrap(), 48),
        "fd00:1:2::".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        network("fd00::9".parse().unwrap(), 128),
        "fd00::9".parse::<IpAddr>().unwrap()
    );
}
