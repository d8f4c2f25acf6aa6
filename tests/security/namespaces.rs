//! A container asking for the host's kernel: `--sysctl` of a parameter
//! that is not namespaced, or of a namespace the container shares with the
//! host (`--network host`, `--ipc host`, `--uts host`), or a name that
//! walks out of /proc/sys, is refused before anything runs, and the
//! host's values are what they were. `--uts host` never renames the host.

use super::common::*;

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

fn host(param: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{}", param.replace('.', "/"))).unwrap()
}

#[test]
fn sysctls_of_the_hosts_kernel_are_refused_and_the_host_is_untouched() {
    let (_reg, berth) = setup();
    let watched = [
        "kernel.panic",
        "vm.swappiness",
        "net.ipv4.ip_forward",
        "kernel.shmmax",
        "kernel.hostname",
    ];
    let before: Vec<String> = watched.iter().map(|p| host(p)).collect();
    for (args, why) in [
        (vec!["--sysctl", "kernel.panic=77"], "not namespaced"),
        (vec!["--sysctl", "vm.swappiness=7"], "not namespaced"),
        (
            vec!["--network", "host", "--sysctl", "net.ipv4.ip_forward=0"],
            "host's namespace",
        ),
        (
            vec!["--ipc", "host", "--sysctl", "kernel.shmmax=4096"],
            "host's namespace",
        ),
        (
            vec!["--uts", "host", "--sysctl", "kernel.hostname=owned"],
            "host's namespace",
        ),
        (
            vec!["--sysctl", "net.ipv4/../../kernel/panic=77"],
            "not a kernel parameter name",
        ),
        (
            vec![
                "--sysctl",
                "net.ipv4.conf.all.forwarding/../../../../kernel.panic=77",
            ],
            "not a kernel parameter name",
        ),
        (
            vec!["--uts", "host", "--hostname", "owned"],
            "cannot set hostname",
        ),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args.iter().copied());
        a.extend(["busybox", "true"]);
        let err = berth.fails(&a, 125);
        assert!(err.contains(why), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let after: Vec<String> = watched.iter().map(|p| host(p)).collect();
    assert_eq!(before, after, "the host's kernel parameters changed");
    assert!(
        berth.ok(&["ps", "-a", "-q"]).trim().is_empty(),
        "nothing was created"
    );
    // The container's own namespaces: set there, the host keeps its value.
    let o = berth.ok(&[
        "run",
        "--rm",
        "--sysctl",
        "kernel.shmmax=4096",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "busybox",
        "cat",
        "/proc/sys/kernel/shmmax",
    ]);
    assert_eq!(o.trim(), "4096");
    assert_eq!(host("kernel.shmmax"), before[3]);
    assert_eq!(host("net.ipv4.ip_forward"), before[2]);
}
