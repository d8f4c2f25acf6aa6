//! The commands people reach for to look around: `top` with podman's
//! descriptors and ps(1) options, `help`, the manual pages, `logs
//! --color/--details`, `version --format` and `--log-level debug`.

mod common;

use common::*;

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

#[test]
fn top_shows_the_containers_view_of_its_processes() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run", "-d", "--name", "t", "--user", "app", "busybox", "sleep", "1000",
    ]);
    let host_pid = berth.ok(&["inspect", "--format", "{{.State.Pid}}", "t"]);
    let out = berth.ok(&["top", "t", "pid", "ppid", "user", "huser", "hpid", "args"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["PID", "PPID", "USER", "HUSER", "HPID", "COMMAND"]);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    // pid 1 in the container, its user by the container's /etc/passwd;
    // the host pid and uid as the host sees them.
    let host_name = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find(|l| l.split(':').nth(2) == Some("1000"))
        .map(|l| l.split(':').next().unwrap().to_string())
        .unwrap_or_else(|| "1000".into());
    assert_eq!(row[..4], ["1", "0", "app", host_name.as_str()], "{out}");
    assert_eq!(row[4], host_pid.trim(), "{out}");
    assert_eq!(row[5..].join(" "), "sleep 1000", "{out}");

    // Comma-separated, the AIX codes, and the security columns.
    let out = berth.ok(&["top", "t", "%p,%U", "capeff", "seccomp", "pgid"]);
    let row = out.lines().nth(1).unwrap().to_string();
    assert!(row.contains("filter"), "{out}");
    assert!(out.starts_with("PID"), "{out}");
    assert!(out.contains("EFFECTIVE CAPS"), "{out}");

    // Anything else is ps(1)'s: run in the container, its own line left out.
    let ps = berth.ok(&["top", "t", "-o", "pid,comm"]);
    assert!(ps.contains("sleep"), "{ps}");
    assert!(!ps.contains("-o pid,comm"), "{ps}");

    berth.ok(&["stop", "-t", "0", "t"]);
    let err = berth.fails(&["top", "t"], 125);
    assert!(
        err.contains("top can only be used on running containers"),
        "{err}"
    );
    berth.ok(&["rm", "t"]);
}

#[test]
fn top_runs_ps_options_confined_in_the_container() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "p", "busybox", "sleep", "1000"]);
    // The container's ps is the one that runs: replace it with a script
    // that shows where it runs and with what.
    berth.ok(&[
        "exec",
        "p",
        "sh",
        "-c",
        "rm /bin/ps; printf '#!/bin/sh\\necho ARGS $*; grep CapEff /proc/self/status; ls /proc | grep -c \"^[0-9]\"\\n' > /bin/ps; chmod +x /bin/ps",
    ]);
    let out = berth.ok(&["top", "p", "aux"]);
    let capeff = out
        .lines()
        .find(|l| l.starts_with("CapEff"))
        .unwrap_or_else(|| panic!("{out}"));
    // Not the host's full set: the container's default capabilities.
    assert_ne!(capeff.split_whitespace().nth(1), Some("000001ffffffffff"));
    // A ps that fails is an error of top's, with podman's text.
    berth.ok(&[
        "exec",
        "p",
        "sh",
        "-c",
        "printf '#!/bin/sh\\nexit 3\\n' > /bin/ps",
    ]);
    let err = berth.fails(&["top", "p", "-ef"], 125);
    assert!(err.contains("executing ps(1) in the container"), "{err}");
    berth.ok(&["rm", "-f", "-t", "0", "p"]);
}

#[test]
fn help_and_manual_pages() {
    let berth = Berth::new(&[]);
    let all = berth.ok(&["help"]);
    assert!(all.contains("Usage: berth"), "{all}");
    assert!(all.contains("completion"), "{all}");
    let run = berth.ok(&["help", "run"]);
    assert_eq!(run, berth.ok(&["run", "--help"]));
    assert_eq!(
        berth.ok(&["help", "volume", "ls"]),
        berth.ok(&["volume", "ls", "--help"])
    );
    let err = berth.fails(&["help", "nosuchcommand"], 125);
    assert!(err.contains("nosuchcommand"), "{err}");

    // The checked-in pages render, and name the flags.
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/berth-run.1");
    let out = std::process::Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .expect("man-db installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("berth-run - Run a command in a new container"),
        "{text}"
    );
    assert!(text.contains("--publish"), "{text}");

    // Completion scripts for each shell name the completer.
    for shell in ["bash", "zsh", "fish"] {
        let script = berth.ok(&["completion", shell]);
        assert!(script.contains("BERTH_COMPLETE"), "{shell}: {script}");
    }
    let err = berth.fails(&["completion", "tcsh"], 125);
    assert!(err.contains("tcsh"), "{err}");
}

#[test]
fn logs_color_and_details() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "--name",
        "a",
        "--label",
        "app=web",
        "-e",
        "TIER=front",
        "--log-opt",
        "labels=app",
        "--log-opt",
        "env=TIER",
        "busybox",
        "echo",
        "one",
    ]);
    berth.ok(&["run", "--name", "b", "busybox", "echo", "two"]);
    // podman: each container's lines in its own color, reset at the end.
    let out = berth.ok(&["logs", "--color", "-n", "a", "b"]);
    assert!(out.contains("\x1b[37ma one\x1b[0m\n"), "{out:?}");
    assert!(out.contains("\x1b[31mb two\x1b[0m\n"), "{out:?}");
    assert_eq!(berth.ok(&["logs", "--no-color", "a"]), "one\n");
    // docker: the chosen attributes before each line, sorted by key.
    assert_eq!(
        berth.ok(&["logs", "--details", "a"]),
        "TIER=front,app=web one\n"
    );
    assert_eq!(berth.ok(&["logs", "--details", "b"]), " two\n");
    let err = berth.fails(&["run", "--log-opt", "bogus=1", "busybox", "true"], 125);
    assert!(err.contains("--log-opt"), "{err}");
    berth.ok(&["rm", "a", "b"]);
}

#[test]
fn version_format_and_debug_log() {
    let (reg, berth) = setup();
    let v = berth.ok(&[
        "version",
        "--format",
        "{{.Client.Version}} {{.Server.Version}}",
    ]);
    assert_eq!(v, "4.3.1 4.3.1\n");
    // --log-level debug says what berth does: registry requests with their
    // answers and times, mounts, and the command's time.
    let out = berth.run(&[
        "--log-level",
        "debug",
        "pull",
        "-q",
        &format!("{}/busybox", reg.host()),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("GET http://") && err.contains("/v2/"), "{err}");
    assert!(err.contains("-> 200"), "{err}");
    assert!(err.contains("PersistentPostRunE"), "{err}");
    let out = berth.run(&["--debug", "mount", "--help"]);
    assert!(out.status.success());
    berth.ok(&["create", "--name", "m", "busybox", "true"]);
    let out = berth.run(&["--log-level", "debug", "mount", "m"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("mounting overlay at"), "{err}");
    berth.ok(&["umount", "m"]);
    // Without the flag, nothing of it.
    let out = berth.run(&["pull", "-q", &format!("{}/busybox", reg.host())]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    berth.ok(&["rm", "m"]);
}
