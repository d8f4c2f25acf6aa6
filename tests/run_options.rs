//! podman's `run` options beyond the core: label files, `--expose`,
//! `--group-add`, `--sysctl`, the cpuset, `--uts`/`--ipc host`, `--pidfile`
//! and `--health-on-failure`, on real containers.

mod common;

use common::*;
use std::time::{Duration, Instant};

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn labels_from_a_file_expose_and_inspect() {
    let (_reg, berth) = setup();
    let f = berth.dir.path().join("labels");
    std::fs::write(&f, "a=1\n# a comment\n\nb=two\n").unwrap();
    berth.ok(&[
        "create",
        "--name",
        "c",
        "--label-file",
        f.to_str().unwrap(),
        "--label",
        "b=three",
        "--expose",
        "8080",
        "--expose",
        "53/udp",
        "busybox",
        "true",
    ]);
    let o = berth.ok(&[
        "inspect",
        "--format",
        "{{.Config.Labels.a}} {{.Config.Labels.b}} {{len .Config.ExposedPorts}}",
        "c",
    ]);
    assert_eq!(o.trim(), "1 three 2");
    // -P publishes what --expose added, on a random host port.
    berth.ok(&[
        "run", "-d", "--name", "p", "--expose", "8080", "-P", "busybox", "sleep", "60",
    ]);
    let port = berth.ok(&["port", "p", "8080/tcp"]);
    assert!(port.starts_with("0.0.0.0:"), "{port}");
    let err = berth.fails(&["create", "--expose", "9-7", "busybox"], 125);
    assert!(err.contains("invalid --expose"), "{err}");
    let err = berth.fails(
        &["create", "--label-file", "/nonexistent/labels", "busybox"],
        125,
    );
    assert!(err.contains("/nonexistent/labels"), "{err}");
    berth.ok(&["rm", "-f", "-t", "0", "c", "p"]);
}

#[test]
fn group_add_sysctl_cpuset_and_pidfile() {
    let (_reg, berth) = setup();
    let pidfile = berth.dir.path().join("pid");
    let o = berth.ok(&[
        "run",
        "-d",
        "--name",
        "k",
        "--group-add",
        "audio",
        "--group-add",
        "4242",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--sysctl",
        "kernel.shmmax=123456",
        "--cpuset-cpus",
        "0",
        "--pidfile",
        pidfile.to_str().unwrap(),
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(o.trim().len(), 64);
    let out = berth.ok(&[
        "exec",
        "k",
        "sh",
        "-c",
        "id -G; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax; grep Cpus_allowed_list /proc/1/status",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split(' ').collect::<Vec<_>>(),
        ["0", "29", "4242"],
        "{out}"
    );
    assert_eq!(lines[1], "1");
    assert_eq!(lines[2], "123456");
    assert_eq!(lines[3], "Cpus_allowed_list:\t0");
    let pid = berth.ok(&["inspect", "--format", "{{.State.Pid}}", "k"]);
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap(), pid.trim());
    let err = berth.fails(
        &[
            "run",
            "--rm",
            "--group-add",
            "nosuchgroup",
            "busybox",
            "true",
        ],
        125,
    );
    assert!(err.contains("unable to find group nosuchgroup"), "{err}");
    let err = berth.fails(&["create", "--cpuset-cpus", "3-1", "busybox"], 125);
    assert!(err.contains("--cpuset-cpus"), "{err}");
    berth.ok(&["rm", "-f", "-t", "0", "k"]);
}

#[test]
fn uts_and_ipc_host_share_the_hosts_namespaces() {
    let (_reg, berth) = setup();
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let host_uts = std::fs::read_link("/proc/self/ns/uts").unwrap();
    let o = berth.ok(&[
        "run",
        "--rm",
        "--uts",
        "host",
        "--ipc",
        "host",
        "busybox",
        "sh",
        "-c",
        "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname",
    ]);
    let l: Vec<&str> = o.lines().collect();
    assert_eq!(l[0], host_ipc.to_str().unwrap());
    assert_eq!(l[1], host_uts.to_str().unwrap());
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(l[2], host_name.trim(), "the host's name, untouched");
    // Private by default.
    let o = berth.ok(&["run", "--rm", "busybox", "readlink", "/proc/self/ns/ipc"]);
    assert_ne!(o.trim(), host_ipc.to_str().unwrap());
    let err = berth.fails(
        &[
            "run",
            "--rm",
            "--uts",
            "host",
            "--hostname",
            "x",
            "busybox",
            "true",
        ],
        125,
    );
    assert!(err.contains("cannot set hostname"), "{err}");
    berth.fails(&["create", "--ipc", "bogus", "busybox"], 125);
    let err = berth.fails(&["create", "--stop-signal=99", "busybox"], 125);
    assert_eq!(err, "Error: valid signals are 1 through 64\n");
}

/// podman's actions when a health check turns the container unhealthy.
#[test]
fn health_on_failure_kill_restart_stop() {
    let (_reg, berth) = setup();
    for action in ["kill", "restart", "stop", "none"] {
        berth.ok(&[
            "run",
            "-d",
            "--name",
            action,
            "--health-cmd",
            "false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            "--health-on-failure",
            action,
            "--stop-timeout",
            "1",
            "busybox",
            "sleep",
            "600",
        ]);
    }
    let state = |n: &str| {
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
                n,
            ])
            .trim()
            .to_string()
    };
    wait_for("kill", 20, || state("kill") == "exited 137 0");
    wait_for("restart", 20, || {
        let s = state("restart");
        s.starts_with("running") && !s.ends_with(" 0")
    });
    // stop: the stop signal (ignored by a pid 1 sleep), then SIGKILL after
    // the stop timeout; no restart.
    wait_for("stop", 20, || state("stop") == "exited 137 0");
    let h = berth.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.Health.Status}}",
        "none",
    ]);
    assert_eq!(h.trim(), "running unhealthy");
    let err = berth.fails(
        &["create", "--health-on-failure", "explode", "busybox"],
        125,
    );
    assert!(err.contains("explode"), "{err}");
    berth.ok(&["rm", "-f", "-t", "0", "kill", "restart", "stop", "none"]);
}

/// `healthcheck run` probes now and records as the monitor does (podman's
/// State.Health / State.Healthcheck: status, failing streak, the last
/// five probes with their output); an image's HEALTHCHECK applies to its
/// containers; exit codes 0 / 1 / 125.
#[test]
fn healthcheck_run_records_probes_and_the_image_check_applies() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Containerfile"),
        "FROM busybox\nHEALTHCHECK --interval=1h --retries=2 CMD if test -e /uh-oh; then echo bad; echo err >&2; exit 3; fi; echo good\n",
    )
    .unwrap();
    // Kept in docker format only (buildah drops it from OCI images, warning).
    berth.ok(&[
        "build",
        "-q",
        "--format",
        "docker",
        "-t",
        "hc",
        ctx.path().to_str().unwrap(),
    ]);
    berth.ok(&["run", "-d", "--name", "h", "hc", "sleep", "600"]);
    let cfg = berth.ok(&[
        "inspect",
        "--format",
        "{{.Config.Healthcheck.Retries}}",
        "h",
    ]);
    assert_eq!(cfg.trim(), "2");
    assert_eq!(berth.ok(&["healthcheck", "run", "h"]), "");
    let field = |f: &str| {
        berth
            .ok(&["inspect", "--format", &format!("{{{{{f}}}}}"), "h"])
            .trim()
            .to_string()
    };
    assert_eq!(field(".State.Health.Status"), "healthy");
    assert_eq!(field("(index .State.Healthcheck.Log 0).Output"), "good");
    berth.ok(&["exec", "h", "touch", "/uh-oh"]);
    // A failed probe: exit 1, "unhealthy" on stdout.
    let probe_fails = || {
        let o = berth.run(&["healthcheck", "run", "h"]);
        assert_eq!(o.status.code(), Some(1));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // One failure of two: the probe failed (podman prints so), the
    // container is still healthy, streak 1.
    assert_eq!(probe_fails(), "unhealthy\n");
    assert_eq!(field(".State.Health.Status"), "healthy");
    assert_eq!(field(".State.Health.FailingStreak"), "1");
    assert_eq!(probe_fails(), "unhealthy\n");
    assert_eq!(field(".State.Health.Status"), "unhealthy");
    assert_eq!(field(".State.Health.FailingStreak"), "2");
    assert_eq!(field("(index .State.Health.Log 2).ExitCode"), "3");
    assert_eq!(field("(index .State.Health.Log 2).Output"), "bad\nerr");
    for _ in 0..5 {
        berth.fails(&["healthcheck", "run", "h"], 1);
    }
    assert_eq!(field("len .State.Health.Log"), "5", "the last five probes");
    // No check, or not running: 125.
    berth.ok(&["create", "--name", "plain", "busybox", "true"]);
    let err = berth.fails(&["healthcheck", "run", "plain"], 125);
    assert!(err.contains("has no defined healthcheck"), "{err}");
    berth.ok(&["stop", "-t", "0", "h"]);
    let err = berth.fails(&["healthcheck", "run", "h"], 125);
    assert!(err.contains("is not running"), "{err}");
    berth.ok(&["rm", "-f", "-t", "0", "h", "plain"]);
}
