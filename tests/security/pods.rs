//! A pod's infra container is a fork of berth's own monitor that never
//! execs (runtime::init::pause): it must carry nothing of the host into
//! the pod's namespaces. It holds only stdio (no database handle, socket
//! or file of the monitor's), and the pod's members, each in a pid
//! namespace of its own, can neither see it nor reach berth's binary
//! through /proc.

use super::common::*;

#[test]
fn the_infra_process_holds_no_host_files_and_members_cannot_see_it() {
    let _net = network_guard(false);
    let (_reg, berth) = pulled(busybox_layer());
    berth.ok(&["pod", "create", "--name", "guarded"]);
    berth.ok(&[
        "run", "-d", "--pod", "guarded", "--name", "m1", "busybox", "sleep", "300",
    ]);
    let infra = berth
        .ok(&[
            "pod",
            "inspect",
            "--format",
            "{{.InfraContainerID}}",
            "guarded",
        ])
        .trim()
        .to_string();
    let pid = berth
        .ok(&["inspect", "--format", "{{.State.Pid}}", &infra])
        .trim()
        .to_string();
    // Only stdio, and none of it a file of the host's.
    let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"]);
    for fd in &fds {
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        let t = target.to_string_lossy();
        assert!(t.starts_with("pipe:") || t == "/dev/null", "fd {fd}: {t}");
    }
    // A member sees its own processes only: no pid of the infra's, and no
    // executable of the host's (berth's) behind any /proc entry.
    let seen = berth.ok(&[
        "exec",
        "m1",
        "sh",
        "-c",
        "for p in /proc/[0-9]*; do readlink $p/exe; done; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(!seen.contains("berth"), "{seen}");
    assert!(seen.contains("sleep 300"), "{seen}");
    assert!(
        seen.lines()
            .all(|l| l.is_empty() || l.starts_with("/bin/") || l.contains("sleep")),
        "{seen}"
    );
    berth.ok(&["pod", "rm", "-f", "-t", "0", "guarded"]);
}
