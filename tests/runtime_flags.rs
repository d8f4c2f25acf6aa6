//! What `run` hands its OCI runtime, end to end: the global `--runtime`
//! and `--runtime-flag`s (berth's own runtime and runc), containers.conf's
//! runtime, `--timeout`, and `-l`/`--latest` naming the newest container.

mod common;

use common::*;
use std::time::{Duration, Instant};

fn setup() -> (Registry, Berth) {
    let reg = Registry::start();
    let mut l = Layout::new();
    l.image(&[busybox_layer()], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    (reg, berth)
}

#[test]
fn runtime_flags_reach_the_runtime_or_are_refused() {
    let (_reg, berth) = setup();
    // berth's own runtime refuses what it does not know: 126, named, and
    // `--rm` leaves nothing behind.
    let err = berth.fails(
        &[
            "--runtime-flag",
            "invalidflag",
            "run",
            "--rm",
            "busybox",
            "true",
        ],
        126,
    );
    assert!(err.contains("--invalidflag"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
    let err = berth.fails(
        &[
            "--runtime-flag",
            "systemd-cgroup",
            "run",
            "--rm",
            "busybox",
            "true",
        ],
        126,
    );
    assert!(err.contains("--systemd-cgroup"), "{err}");
    // ... and honours runc's logging flags: its log, in JSON, with debug lines.
    let log = tempfile::tempdir().unwrap();
    let file = log.path().join("runtime.log");
    let log_flag = format!("log={}", file.display());
    berth.ok(&[
        "--runtime-flag",
        "debug",
        "--runtime-flag",
        &log_flag,
        "--runtime-flag",
        "log-format=json",
        "run",
        "--rm",
        "busybox",
        "true",
    ]);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 2, "{text}");
    assert!(lines.iter().all(|l| l["level"] == "debug"), "{text}");
    assert!(text.contains("started as pid"), "{text}");
    // Without `debug`, only failures are logged there.
    std::fs::remove_file(&file).unwrap();
    berth.ok(&[
        "--runtime-flag",
        &log_flag,
        "run",
        "--rm",
        "busybox",
        "true",
    ]);
    assert!(!file.exists());
    // An external runtime gets each as --FLAG before its subcommand: runc
    // refuses this one itself.
    let err = berth.fails(
        &[
            "--runtime-flag",
            "invalidflag",
            "--runtime",
            "/usr/sbin/runc",
            "run",
            "--rm",
            "busybox",
            "true",
        ],
        126,
    );
    assert!(err.contains("invalidflag"), "{err}");
    assert_eq!(
        berth.ok(&[
            "--runtime-flag",
            "debug",
            "run",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "echo",
            "hi"
        ]),
        "hi\n"
    );
}

/// containers.conf naming runc for every container: a pod's members run
/// on it, while the infra container (berth's own pause, no program to
/// exec) stays on the built-in runtime.
#[test]
fn pods_work_when_containers_conf_names_another_runtime() {
    let _net = network_guard(false);
    let (_reg, berth) = setup();
    let conf = berth.dir.path().join("containers.conf");
    std::fs::write(&conf, "[engine]\nruntime = \"runc\"\n").unwrap();
    let run = |args: &[&str]| {
        let o = berth
            .cmd()
            .env("CONTAINERS_CONF", &conf)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    run(&["pod", "create", "--name", "rcpod"]);
    let out = run(&["run", "--rm", "--pod", "rcpod", "busybox", "hostname"]);
    assert_eq!(out, "rcpod\n");
    let infra = run(&[
        "pod",
        "inspect",
        "--format",
        "{{.InfraContainerID}}",
        "rcpod",
    ]);
    let rt = run(&["inspect", "--format", "{{.OCIRuntime}}", infra.trim()]);
    assert_eq!(rt.trim(), "berth");
    run(&["pod", "rm", "-f", "rcpod"]);
}

#[test]
fn an_unknown_runtime_is_refused_as_podman_does() {
    let (_reg, berth) = setup();
    let err = berth.fails(&["--runtime", "idonotexist", "ps"], 125);
    assert_eq!(
        err,
        "Error: default OCI runtime \"idonotexist\" not found: invalid argument\n"
    );
    let err = berth.fails(
        &["run", "--runtime", "/no/such/runc", "busybox", "true"],
        125,
    );
    assert!(
        err.contains("no valid executable found for OCI runtime /no/such/runc"),
        "{err}"
    );
    // containers.conf's [engine] runtime, for build's RUN steps too.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("containers.conf");
    std::fs::write(&conf, "[engine]\nruntime = \"idonotexist\"\n").unwrap();
    std::fs::write(dir.path().join("Containerfile"), "FROM busybox\nRUN true\n").unwrap();
    let o = berth
        .cmd()
        .env("CONTAINERS_CONF", &conf)
        .args(["build", "-t", "x"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(err.contains("\"idonotexist\" not found"), "{err}");
    // A runtime that exists runs the build's RUN steps.
    std::fs::write(
        dir.path().join("Containerfile"),
        "FROM busybox\nRUN echo built > /f\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    berth.ok(&["--runtime", "runc", "build", "-q", "-t", "viarunc", d]);
    assert_eq!(
        berth.ok(&["run", "--rm", "viarunc", "cat", "/f"]),
        "built\n"
    );
    // A RUN step whose runtime refuses its flags fails as buildah's does:
    // the runtime's exit status, 1.
    let o = berth
        .cmd()
        .args([
            "--runtime-flag",
            "invalidflag",
            "build",
            "--no-cache",
            "-t",
            "y",
            d,
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("invalidflag"), "{text}");
}

#[test]
fn timeout_kills_the_container_and_records_minus_one() {
    let (_reg, berth) = setup();
    let start = Instant::now();
    berth.fails(
        &[
            "run",
            "--name",
            "t",
            "--timeout",
            "2",
            "busybox",
            "sleep",
            "60",
        ],
        255,
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert_eq!(
        berth.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            "t"
        ]),
        "exited -1\n"
    );
    // Each start gets the whole time again; a command that ends first is
    // not touched.
    assert_eq!(
        berth.ok(&["run", "--rm", "--timeout", "5", "busybox", "echo", "done"]),
        "done\n"
    );
}

#[test]
fn latest_names_the_newest_container() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "old", "busybox", "sleep", "600"]);
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "new",
        "busybox",
        "sh",
        "-c",
        "echo from-new; sleep 600",
    ]);
    assert_eq!(
        berth.ok(&["inspect", "-l", "--format", "{{.Name}}"]),
        "new\n"
    );
    assert_eq!(
        berth.ok(&["container", "inspect", "--latest", "--format", "{{.Name}}"]),
        "new\n"
    );
    assert_eq!(berth.ok(&["exec", "-l", "hostname"]).len(), 13);
    let start = Instant::now();
    while berth.ok(&["logs", "-l"]) != "from-new\n" {
        assert!(start.elapsed() < Duration::from_secs(10), "logs -l");
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = berth.fails(&["logs", "-l", "old"], 125);
    assert!(err.contains("--latest and containers"), "{err}");
    let err = berth.fails(&["inspect", "-l", "old"], 125);
    assert!(
        err.contains("--latest and containers cannot be used together"),
        "{err}"
    );
    berth.ok(&["rm", "-f", "-a"]);
    let err = berth.fails(&["inspect", "-l"], 125);
    assert!(err.contains("no such container"), "{err}");
}

#[test]
fn pid_host_shares_the_hosts_pid_namespace_and_cp_works() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--pid=host",
        "--name",
        "p",
        "busybox",
        "sleep",
        "600",
    ]);
    let host_init = std::fs::read_to_string("/proc/1/comm").unwrap();
    assert_eq!(berth.ok(&["exec", "p", "cat", "/proc/1/comm"]), host_init);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hostfile");
    std::fs::write(&src, "from the host\n").unwrap();
    berth.ok(&["cp", src.to_str().unwrap(), "p:/tmp/hostfile"]);
    let back = dir.path().join("back");
    berth.ok(&["cp", "p:/tmp/hostfile", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(back).unwrap(), "from the host\n");
    // Without it, pid 1 is the container's own.
    assert_eq!(
        berth.ok(&["run", "--rm", "busybox", "cat", "/proc/1/comm"]),
        "cat\n"
    );
    let err = berth.fails(&["run", "--rm", "--pid=bogus", "busybox", "true"], 125);
    assert!(err.contains("invalid --pid"), "{err}");
}

#[test]
fn top_latest_shows_the_newest_containers_processes() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "a", "busybox", "sleep", "600"]);
    berth.ok(&["run", "-d", "--name", "b", "busybox", "sleep", "700"]);
    let out = berth.ok(&["top", "-l", "args"]);
    assert!(
        out.contains("sleep 700") && !out.contains("sleep 600"),
        "{out}"
    );
}
