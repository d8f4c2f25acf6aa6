//! Beyond the basics: an init that reaps, an external OCI runtime, attach
//! and detach keys, pause, bind mounts, namespace and DNS options, and
//! stopping many at once.

use super::*;

#[test]
fn init_reaps_and_forwards_signals() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        "i",
        "busybox",
        "sh",
        "-c",
        "trap 'echo term; exit 5' TERM; sleep 1000 & wait",
    ]);
    let comm = berth.ok(&["exec", "i", "cat", "/proc/1/comm"]);
    assert_eq!(comm.trim(), "berth", "pid 1 is berth's init");
    std::thread::sleep(Duration::from_millis(300));
    berth.ok(&["stop", "-t", "5", "i"]);
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.State.ExitCode}}", "i"])
            .trim(),
        "5"
    );
    assert_eq!(berth.ok(&["logs", "i"]), "term\n");
}

#[test]
fn external_oci_runtime_runs_the_same_bundle() {
    let (_reg, berth) = setup();
    let runc = "/usr/sbin/runc";
    let o = berth.ok(&[
        "run",
        "--rm",
        "--runtime",
        runc,
        "busybox",
        "sh",
        "-c",
        "echo via-runc; grep CapEff /proc/self/status",
    ]);
    assert_eq!(o, "via-runc\nCapEff:\t00000000800405fb\n");
    assert_eq!(
        berth
            .run(&[
                "run",
                "--rm",
                "--runtime",
                runc,
                "busybox",
                "sh",
                "-c",
                "exit 4"
            ])
            .status
            .code(),
        Some(4)
    );
    let id = berth
        .ok(&["run", "-d", "--runtime", runc, "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    assert_eq!(
        berth.ok(&["exec", &id, "echo", "exec-in-runc"]),
        "exec-in-runc\n"
    );
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            berth
                .root()
                .join("containers")
                .join(&id)
                .join("config.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(spec["ociVersion"], "1.0.2");
    berth.ok(&["stop", "-t", "0", &id]);
    assert_eq!(
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{.State.ExitCode}} {{.OCIRuntime}}",
                &id
            ])
            .trim(),
        format!("137 {runc}")
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&id), "the rootfs was unmounted");
    berth.ok(&["rm", &id]);
    let err = berth.fails(
        &["run", "--rm", "--runtime", runc, "busybox", "nosuchcmd"],
        127,
    );
    assert!(err.contains("nosuchcmd"), "{err}");
}

#[test]
fn attach_and_detach_keys() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "att",
        "busybox",
        "sh",
        "-c",
        "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo out; echo err >&2; exit 3",
    ]);
    // Attach, then let the container speak (attach shows what comes after it).
    let child = berth
        .cmd()
        .args(["attach", "att"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    berth.ok(&["exec", "att", "touch", "/tmp/go"]);
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        (
            o.status.code(),
            out(&o).as_str(),
            String::from_utf8_lossy(&o.stderr).as_ref()
        ),
        (Some(3), "out\n", "err\n")
    );
    let err = berth.fails(&["attach", "att"], 125);
    assert!(err.contains("running"), "{err}");

    // run -it, then ctrl-p ctrl-q: the CLI leaves, the container stays.
    let base = format!(
        "{} --root {} --runroot {}",
        bin(),
        berth.root().display(),
        berth.dir.path().join("run").display()
    );
    let script = |cmd: String| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"])
            .env("CONTAINERS_REGISTRIES_CONF", &berth.registries_conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        c.spawn().unwrap()
    };
    use std::io::Write;
    let mut child = script(format!("{base} run -it --name shell busybox sh"));
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"echo first\r").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(b"\x10\x11").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "detaching exits 0: {}", out(&o));
    assert!(out(&o).contains("first"), "{}", out(&o));
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.State.Status}}", "shell"])
            .trim(),
        "running"
    );
    // Attach again, type, and leave with the shell's exit code.
    let mut child = script(format!("{base} attach shell"));
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"echo again\r").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(b"exit 5\r").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(out(&o).contains("again"), "{}", out(&o));
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.State.ExitCode}}", "shell"])
            .trim(),
        "5"
    );
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "while true; do echo t; sleep 0.1; done",
    ]);
    wait_for("output", || {
        berth.ok(&["logs", "ticker"]).lines().count() > 2
    });
    assert_eq!(berth.ok(&["pause", "ticker"]).trim(), "ticker");
    assert_eq!(
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.Paused}}",
                "ticker"
            ])
            .trim(),
        "paused true"
    );
    std::thread::sleep(Duration::from_millis(300));
    let frozen = berth.ok(&["logs", "ticker"]).lines().count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        berth.ok(&["logs", "ticker"]).lines().count(),
        frozen,
        "no output while paused"
    );
    assert!(berth.ok(&["ps"]).contains("Paused"));
    berth.fails(&["pause", "ticker"], 125);
    assert_eq!(berth.ok(&["unpause", "ticker"]).trim(), "ticker");
    wait_for("output again", || {
        berth.ok(&["logs", "ticker"]).lines().count() > frozen
    });
    // A paused container still stops.
    berth.ok(&["pause", "ticker"]);
    berth.ok(&["stop", "-t", "1", "ticker"]);
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.State.Status}}", "ticker"])
            .trim(),
        "exited"
    );
}

#[test]
fn bind_mounts_from_the_host() {
    let (_reg, berth) = setup();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in"), "from-host").unwrap();
    let h = host.path().display().to_string();
    let o = berth.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{h}:/data"),
        "busybox",
        "sh",
        "-c",
        "cat /data/in; echo back > /data/out",
    ]);
    assert_eq!(o, "from-host");
    assert_eq!(
        std::fs::read_to_string(host.path().join("out")).unwrap(),
        "back\n"
    );
    let o = berth.run(&[
        "run",
        "--rm",
        "-v",
        &format!("{h}:/data:ro"),
        "busybox",
        "touch",
        "/data/x",
    ]);
    assert_ne!(o.status.code(), Some(0), "a read-only bind refuses writes");
    assert!(!host.path().join("x").exists());
    let o = berth.ok(&[
        "run",
        "--rm",
        "--mount",
        &format!("type=bind,source={h},target=/m,readonly"),
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1m",
        "busybox",
        "sh",
        "-c",
        "cat /m/in; df -k /t | tail -1",
    ]);
    assert!(o.starts_with("from-host") && o.contains(" 1024 "), "{o}");
    // A single file, and inspect's Mounts.
    let id = berth
        .ok(&[
            "create",
            "-v",
            &format!("{h}/in:/etc/motd:ro"),
            "busybox",
            "cat",
            "/etc/motd",
        ])
        .trim()
        .to_string();
    assert_eq!(
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{(index .Mounts 0).Destination}} {{(index .Mounts 0).RW}}",
                &id
            ])
            .trim(),
        "/etc/motd false"
    );
    berth.ok(&["start", &id]);
    berth.ok(&["wait", &id]);
    assert_eq!(
        berth.ok(&["logs", &id]),
        "from-host",
        "no newline in the file, none in the log"
    );
    let err = berth.fails(
        &[
            "run",
            "--rm",
            "-v",
            "/nonexistent/path:/x",
            "busybox",
            "true",
        ],
        125,
    );
    assert!(err.contains("/nonexistent/path"), "{err}");
    let err = berth.fails(
        &["run", "--rm", "-v", "bad*name:/x", "busybox", "true"],
        125,
    );
    assert!(err.contains("volume name"), "{err}");
    let err = berth.fails(
        &["run", "--rm", "-v", "/tmp:relative", "busybox", "true"],
        125,
    );
    assert!(err.contains("absolute"), "{err}");
}

#[test]
fn network_namespaces_dns_and_hosts_options() {
    let (_reg, berth) = setup();
    // container:NAME shares the other's network namespace.
    berth.ok(&[
        "run", "-d", "--name", "netowner", "busybox", "sleep", "1000",
    ]);
    let theirs = berth.ok(&["exec", "netowner", "readlink", "/proc/self/ns/net"]);
    let mine = berth.ok(&[
        "run",
        "--rm",
        "--network",
        "container:netowner",
        "busybox",
        "readlink",
        "/proc/self/ns/net",
    ]);
    assert_eq!(mine, theirs);
    let own = berth.ok(&["run", "--rm", "busybox", "readlink", "/proc/self/ns/net"]);
    assert_ne!(own, theirs, "by default each container has its own");
    // ns:PATH joins a named network namespace.
    let ns = format!("berth-test-{}", std::process::id());
    assert!(
        std::process::Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .unwrap()
            .success()
    );
    let path = format!("/run/netns/{ns}");
    let inside = berth.run(&[
        "run",
        "--rm",
        "--network",
        &format!("ns:{path}"),
        "busybox",
        "readlink",
        "/proc/self/ns/net",
    ]);
    let expected = std::fs::metadata(&path)
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        })
        .unwrap();
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", &ns])
        .status();
    assert!(
        out(&inside).contains(&expected.to_string()),
        "{} vs {expected}",
        out(&inside)
    );
    // --dns, --dns-search, --dns-option, --add-host, --no-hosts.
    let o = berth.ok(&[
        "run",
        "--rm",
        "--dns",
        "192.0.2.53",
        "--dns-search",
        "example.test",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "db.local:192.0.2.10",
        "busybox",
        "sh",
        "-c",
        "cat /etc/resolv.conf; grep db.local /etc/hosts",
    ]);
    assert_eq!(
        o,
        "search example.test\nnameserver 192.0.2.53\noptions ndots:2\n192.0.2.10\tdb.local\n"
    );
    let o = berth.run(&["run", "--rm", "--no-hosts", "busybox", "cat", "/etc/hosts"]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "the image has no /etc/hosts and none is generated"
    );
    let err = berth.fails(
        &["run", "--rm", "--add-host", "nocolon", "busybox", "true"],
        125,
    );
    assert_eq!(err, "Error: bad format for add-host: \"nocolon\"\n");
}

/// `stop` and `rm -f` of several containers that ignore SIGTERM (sleep as
/// pid 1) send every stop signal first and wait the timeouts out side by
/// side, as podman's parallel workers do: four cost one timeout, not
/// four (the bound below is far from both, so a slow machine cannot
/// flip it).
#[test]
fn stopping_many_waits_one_timeout_not_one_each() {
    let (_reg, berth) = setup();
    for n in ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"] {
        berth.ok(&["run", "-d", "--name", n, "busybox", "sleep", "1000"]);
    }
    let t = std::time::Instant::now();
    let out = berth.ok(&["stop", "-t", "3", "m1", "m2", "m3", "m4"]);
    assert_eq!(out, "m1\nm2\nm3\nm4\n");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(9),
        "{:?}",
        t.elapsed()
    );
    let t = std::time::Instant::now();
    let out = berth.ok(&["rm", "-f", "-t", "3", "m5", "m6", "m7", "m8", "m1"]);
    assert_eq!(out, "m5\nm6\nm7\nm8\nm1\n");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(9),
        "{:?}",
        t.elapsed()
    );
    for n in ["m2", "m3", "m4"] {
        let state = berth.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            n,
        ]);
        assert_eq!(state.trim(), "exited 137");
    }
    let stops = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=stop",
        "--format",
        "{{.Name}}",
    ]);
    let mut names: Vec<&str> = stops.lines().collect();
    names.sort();
    assert_eq!(names, ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]);
    berth.ok(&["rm", "m2", "m3", "m4"]);
}
