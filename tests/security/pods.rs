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

/// With `--share pid` the members do see the infra process (their pid 1):
/// it must show nothing of the `berth` command line that created it (an
/// `-e SECRET=...` there, the host path of berth's binary) nor of its
/// environment, and berth's binary stays out of reach.
#[test]
fn a_pid_sharing_member_sees_nothing_of_the_command_that_made_the_pod() {
    let _net = network_guard(false);
    let (_reg, berth) = pulled(busybox_layer());
    berth.ok(&[
        "pod",
        "create",
        "--name",
        "pidshare",
        "--share",
        "+pid",
        "--label",
        "token=s3cr3t-label",
    ]);
    // The first member starts the infra: its monitor is forked from this
    // very command, with this environment.
    let out = berth
        .cmd()
        .args([
            "run", "--rm", "--pod", "pidshare", "-e", "DB_PASSWORD=s3cr3t-flag", "busybox", "sh",
            "-c",
            "tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/1/environ; readlink /proc/1/exe; ls /proc/1/root/; true",
        ])
        .env("HOST_SECRET", "s3cr3t-env")
        .output()
        .unwrap();
    let seen =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(seen.starts_with("/catatonit -P"), "{seen}");
    assert!(!seen.contains("s3cr3t"), "{seen}");
    assert!(!seen.contains("berth"), "{seen}");
    berth.ok(&["pod", "rm", "-f", "-t", "0", "pidshare"]);
}
