//! Attacks on a container's /etc/hosts, which berth rewrites on the host
//! side at `network connect`/`disconnect`: the container trying to swap
//! the file for a link to a host file, or to feed entries that make berth
//! write elsewhere.

use super::common::*;

fn digest(p: &str) -> String {
    sha256(&std::fs::read(p).unwrap())
}

#[test]
fn a_container_cannot_turn_its_hosts_file_into_a_host_file() {
    let _net = network_guard(false);
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let net = "bt-sec-hosts";
    let _ = berth.run(&["network", "rm", "-f", net]);
    berth.ok(&["network", "create", "--subnet", "10.201.23.0/24", net]);
    let (shadow, hosts) = (digest("/etc/shadow"), digest("/etc/hosts"));
    let c = berth.ok(&["run", "-d", "busybox", "sleep", "300"]);
    let c = c.trim();
    // The bind mount holds: the file can be neither removed nor replaced.
    let o = berth.run(&[
        "exec",
        c,
        "sh",
        "-c",
        "rm -f /etc/hosts; mv /etc/hosts /etc/h2; ln -sf /etc/shadow /etc/hosts; \
         test -L /etc/hosts && echo LINKED; cat /etc/hosts",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("LINKED"), "{out}");
    // Entries of its own choosing (names of host files, huge lines) are
    // text to berth, nothing more.
    berth.ok(&[
        "exec",
        c,
        "sh",
        "-c",
        "printf '/etc/shadow ../../../etc/passwd\\n10.88.0.250 %s\\n' \
         \"$(head -c 100000 /dev/zero | tr '\\0' a)\" >> /etc/hosts",
    ]);
    berth.ok(&["network", "connect", net, c]);
    berth.ok(&["network", "disconnect", net, c]);
    assert_eq!(digest("/etc/shadow"), shadow);
    assert_eq!(digest("/etc/hosts"), hosts);
    let inside = berth.ok(&["exec", c, "cat", "/etc/hosts"]);
    // (Rewritten as podman does: one tab after the address.)
    assert!(
        inside.contains("/etc/shadow\t../../../etc/passwd\n"),
        "{inside}"
    );
    assert!(!inside.contains("10.201.23."), "{inside}");
    berth.ok(&["rm", "-f", "-t", "0", c]);
    berth.ok(&["network", "rm", net]);
}
