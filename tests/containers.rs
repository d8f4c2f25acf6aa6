//! Containers end to end: real namespaces, overlayfs, cgroups and seccomp,
//! driven through the berth binary.

mod common;

use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[path = "containers/features.rs"]
mod features;

#[path = "containers/boot.rs"]
mod boot;

/// A registry with busybox (every applet) plus a static `keyctl` probe,
/// and a berth that has pulled it.
fn setup() -> (Registry, Berth) {
    let reg = Registry::start();
    let mut l = Layout::new();
    let mut layer = busybox_layer();
    layer.push(Entry::File("bin/keyctl-probe", keyctl_probe(), 0o755));
    l.image(&[layer], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    (reg, berth)
}

/// A static binary that calls keyctl(2) and exits 0 on success, 1 with the
/// errno printed otherwise: a syscall only seccomp refuses.
fn keyctl_probe() -> Vec<u8> {
    static BIN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("k.c");
        std::fs::write(&src, "#include <stdio.h>\n#include <errno.h>\n#include <string.h>\n#include <unistd.h>\n#include <sys/syscall.h>\nint main(){long r=syscall(SYS_keyctl,1,0,0,0,0);if(r<0){printf(\"keyctl: %s\\n\",strerror(errno));return 1;}printf(\"keyctl ok\\n\");return 0;}\n").unwrap();
        let out = d.path().join("k");
        let st = std::process::Command::new("gcc").args(["-static", "-O1", "-o"]).arg(&out).arg(&src).status().expect("gcc");
        assert!(st.success());
        std::fs::read(out).unwrap()
    })
    .clone()
}

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_exit_codes_follow_podman() {
    let (_reg, berth) = setup();
    assert_eq!(
        berth.ok(&["run", "--rm", "busybox", "echo", "hello"]),
        "hello\n"
    );
    assert_eq!(
        berth
            .run(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
            .status
            .code(),
        Some(3)
    );
    let err = berth.fails(&["run", "--rm", "busybox", "nosuchcmd"], 127);
    assert!(
        err.contains("nosuchcmd") && err.contains("not found"),
        "{err}"
    );
    let err = berth.fails(&["run", "--rm", "busybox", "/etc/passwd"], 126);
    assert!(err.contains("/etc/passwd"), "{err}");
    let err = berth.fails(&["run", "--rm", "--pull=never", "nosuchimage"], 125);
    assert!(err.contains("nosuchimage"), "{err}");
    assert_eq!(
        berth.ok(&["ps", "-a", "-q"]),
        "",
        "--rm removed every container, failed or not"
    );
    // stdin reaches the container with -i.
    let mut c = berth.cmd();
    c.args([
        "run",
        "--rm",
        "-i",
        "busybox",
        "sh",
        "-c",
        "read x; echo got:$x",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"ping\n").unwrap();
    assert_eq!(out(&child.wait_with_output().unwrap()), "got:ping\n");
    // Options reach the process.
    let o = berth.ok(&[
        "run",
        "--rm",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "app",
        "--hostname",
        "box",
        "busybox",
        "sh",
        "-c",
        "echo $A $(pwd) $(id -u):$(id -g):$(id -G) $(hostname) $HOME",
    ]);
    assert_eq!(o, "1 /tmp 1000:1000:1000 29 box /home/app\n");
    let o = berth.ok(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/echo",
        "busybox",
        "via",
        "entrypoint",
    ]);
    assert_eq!(o, "via entrypoint\n");
    let err = berth.fails(&["run", "--rm", "--userns=keep-id", "busybox", "true"], 125);
    assert!(err.contains("rootless"), "{err}");
}

#[test]
fn lifecycle_create_start_stop_rm() {
    let (_reg, berth) = setup();
    let id = berth
        .ok(&[
            "create",
            "--name",
            "life",
            "busybox",
            "sh",
            "-c",
            "echo up; sleep 1000",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    let ps = berth.ok(&["ps", "-a"]);
    assert!(ps.starts_with("CONTAINER ID  IMAGE"), "{ps}");
    assert!(ps.contains("Created") && ps.contains("life"), "{ps}");
    assert_eq!(berth.ok(&["ps", "-q"]), "", "not running yet");
    assert_eq!(berth.ok(&["start", "life"]).trim(), "life");
    assert_eq!(berth.ok(&["ps", "-q"]).trim(), &id[..12]);
    wait_for("log line", || berth.ok(&["logs", "life"]) == "up\n");
    assert_eq!(
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.Running}}",
                "life"
            ])
            .trim(),
        "running true"
    );
    let pid = berth
        .ok(&["inspect", "--format", "{{.State.Pid}}", "life"])
        .trim()
        .parse::<i32>()
        .unwrap();
    assert!(pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists());
    let err = berth.fails(&["rm", "life"], 2);
    assert!(err.contains("running"), "{err}");
    assert_eq!(berth.ok(&["stop", "-t", "1", "life"]).trim(), "life");
    assert!(berth.ok(&["ps", "-a"]).contains("Exited (137)"));
    assert_eq!(berth.ok(&["wait", "life"]).trim(), "137");
    // Restart works from exited.
    assert_eq!(berth.ok(&["restart", "-t", "0", "life"]).trim(), "life");
    assert_eq!(berth.ok(&["ps", "-q"]).trim(), &id[..12]);
    assert_eq!(berth.ok(&["kill", "-s", "TERM", "life"]).trim(), "life");
    berth.ok(&["kill", "life"]);
    wait_for("exit", || !berth.ok(&["ps", "-q"]).contains(&id[..12]));
    let err = berth.fails(&["kill", "life"], 125);
    assert!(err.contains("can only kill running containers"), "{err}");
    berth.ok(&["rename", "life", "death"]);
    berth.ok(&["container", "exists", "death"]);
    berth.fails(&["container", "exists", "life"], 1);
    assert_eq!(berth.ok(&["rm", "death"]).trim(), "death");
    let err = berth.fails(&["rm", "death"], 1);
    assert!(err.contains("no such container"), "{err}");
    berth.ok(&["rm", "--ignore", "death"]);
    assert!(!berth.root().join("containers").join(&id).exists());
    // A name can be reused, and --replace replaces.
    berth.ok(&["run", "-d", "--name", "dup", "busybox", "sleep", "1000"]);
    let err = berth.fails(&["run", "-d", "--name", "dup", "busybox", "true"], 125);
    assert!(err.contains("already in use"), "{err}");
    berth.ok(&[
        "run",
        "-d",
        "--replace",
        "--name",
        "dup",
        "busybox",
        "sleep",
        "1000",
    ]);
    assert_eq!(berth.ok(&["ps", "-q"]).lines().count(), 1);
    berth.ok(&["rm", "-f", "dup"]);
    // An image in use is kept unless forced; forced, its containers go too.
    berth.ok(&["create", "--name", "user", "busybox", "true"]);
    let err = berth.fails(&["rmi", "busybox"], 2);
    assert!(err.contains("in use by a container"), "{err}");
    assert_eq!(
        berth
            .ok(&["info", "--format", "{{.Store.ContainerStore.Number}}"])
            .trim(),
        "1"
    );
    berth.ok(&["rmi", "-f", "busybox"]);
    assert_eq!(berth.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn logs_while_running_and_after_exit() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "echo one; echo err >&2; sleep 1; echo two; sleep 0.5",
    ]);
    wait_for("first line", || {
        berth.ok(&["logs", "talker"]).contains("one")
    });
    let live = berth.run(&["logs", "talker"]);
    assert_eq!(out(&live), "one\n");
    assert_eq!(String::from_utf8_lossy(&live.stderr), "err\n");
    let followed = berth.ok(&["logs", "-f", "talker"]);
    assert_eq!(followed, "one\ntwo\n");
    assert_eq!(berth.ok(&["logs", "--tail", "1", "talker"]), "two\n");
    let stamped = berth.ok(&["logs", "-t", "talker"]);
    assert!(
        stamped
            .lines()
            .all(|l| l.len() > 30 && l.as_bytes()[4] == b'-'),
        "{stamped}"
    );
    assert_eq!(
        berth.ok(&[
            "logs",
            "--since",
            "2000-01-01T00:00:00Z",
            "--until",
            "2000-01-02T00:00:00Z",
            "talker"
        ]),
        ""
    );
    // json-file and none drivers.
    berth.ok(&[
        "run",
        "--name",
        "j",
        "--log-driver",
        "json-file",
        "busybox",
        "echo",
        "in-json",
    ]);
    assert_eq!(berth.ok(&["logs", "j"]), "in-json\n");
    let raw = std::fs::read_to_string(
        berth
            .root()
            .join("containers")
            .join(berth.ok(&["inspect", "--format", "{{.Id}}", "j"]).trim())
            .join("ctr.log"),
    )
    .unwrap();
    assert!(raw.contains("\"log\":\"in-json\\n\""), "{raw}");
    berth.ok(&[
        "run",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "busybox",
        "echo",
        "x",
    ]);
    berth.fails(&["logs", "quiet"], 125);
}

#[test]
fn exec_into_a_running_container() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "host", "busybox", "sleep", "1000"]);
    assert_eq!(berth.ok(&["exec", "host", "echo", "inside"]), "inside\n");
    assert_eq!(
        berth.ok(&[
            "exec",
            "-u",
            "app",
            "-w",
            "/tmp",
            "-e",
            "X=y",
            "host",
            "sh",
            "-c",
            "echo $(id -u) $(pwd) $X"
        ]),
        "1000 /tmp y\n"
    );
    assert_eq!(
        berth
            .run(&["exec", "host", "sh", "-c", "exit 7"])
            .status
            .code(),
        Some(7)
    );
    berth.fails(&["exec", "host", "nosuch"], 127);
    // It is in the container: same pid namespace as the init.
    let ps = berth.ok(&["exec", "host", "ps", "-o", "pid,args"]);
    assert!(
        ps.contains("sleep 1000") && ps.lines().any(|l| l.trim_start().starts_with("1 ")),
        "{ps}"
    );
    let top = berth.ok(&["top", "host"]);
    assert!(top.contains("sleep 1000"), "{top}");
    berth.ok(&["stop", "-t", "0", "host"]);
    let err = berth.fails(&["exec", "host", "true"], 125);
    assert!(err.contains("running"), "{err}");
}

#[test]
fn isolation_from_inside() {
    let (_reg, berth) = setup();
    // Host processes are invisible: only the container's own are in /proc.
    let pids = berth.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ls /proc | grep -c '^[0-9]'",
    ]);
    assert!(pids.trim().parse::<u32>().unwrap() <= 3, "{pids}");
    let capeff = berth.ok(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert_eq!(
        capeff.trim(),
        "CapEff:\t00000000800405fb",
        "podman's 11 default capabilities"
    );
    let o = berth.run(&[
        "run", "--rm", "busybox", "mount", "-t", "tmpfs", "none", "/tmp",
    ]);
    assert_ne!(o.status.code(), Some(0), "mount must fail");
    let o = berth.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo 1 > /proc/sys/kernel/ns_last_pid",
    ]);
    assert_ne!(o.status.code(), Some(0), "/proc/sys is read-only");
    let o = berth.run(&["run", "--rm", "busybox", "keyctl-probe"]);
    assert_eq!(
        (o.status.code(), out(&o).trim()),
        (Some(1), "keyctl: Operation not permitted"),
        "seccomp refuses keyctl"
    );
    let o = berth.run(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "keyctl-probe",
    ]);
    assert_eq!(out(&o).trim(), "keyctl ok");
    let o = berth.run(&[
        "run",
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        "busybox",
        "unshare",
        "-U",
        "true",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "CAP_SYS_ADMIN lifts the namespace rules: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = berth.run(&["run", "--rm", "busybox", "unshare", "-U", "true"]);
    assert_ne!(o.status.code(), Some(0), "unshare is refused");
    let o = berth.run(&[
        "run",
        "--rm",
        "--cap-drop",
        "all",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert_eq!(out(&o).trim(), "CapEff:\t0000000000000000");
    let o = berth.run(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "--read-only",
            "--tmpfs",
            "/scratch",
            "busybox",
            "sh",
            "-c",
            "touch /scratch/x && echo ok"
        ]),
        "ok\n"
    );
    let masked = berth.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "cat /proc/kcore | wc -c",
    ]);
    assert_eq!(masked.trim(), "0");
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "--privileged",
            "busybox",
            "sh",
            "-c",
            "mount -t tmpfs none /tmp && echo mounted"
        ]),
        "mounted\n"
    );
    // The container's writes stay in its upper dir, not in the shared layer.
    let id = berth
        .ok(&["run", "-d", "busybox", "sh", "-c", "echo x > /etc/written"])
        .trim()
        .to_string();
    berth.ok(&["wait", &id]);
    assert!(
        berth
            .root()
            .join("containers")
            .join(&id)
            .join("upper/etc/written")
            .exists()
    );
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "test -e /etc/written || echo clean"
        ]),
        "clean\n"
    );
}

#[test]
fn memory_and_pids_limits() {
    let (_reg, berth) = setup();
    let o = berth.run(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "32m",
        "--memory-swap",
        "32m",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/null bs=128M count=1",
    ]);
    assert_eq!(
        o.status.code(),
        Some(137),
        "OOM-killed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{.State.OOMKilled}} {{.HostConfig.Memory}}",
                "hog"
            ])
            .trim(),
        format!("true {}", 32 << 20)
    );
    // Count with shell builtins only: at the limit, nothing more can fork.
    // The bomb runs in an inner shell (a shell that cannot fork gives up);
    // the outer one counts what got to run.
    let o = berth.run(&["run", "--rm", "--pids-limit", "10", "busybox", "sh", "-c", "sh -c 'for i in $(seq 1 30); do sleep 5 & done' 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n"]);
    let n: u32 = out(&o).trim().parse().unwrap_or(99);
    assert!(
        n <= 10,
        "the fork bomb was stopped at the pids limit: {n} processes ran ({})",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = berth.ok(&[
        "run",
        "--rm",
        "--ulimit",
        "nofile=512:512",
        "busybox",
        "sh",
        "-c",
        "ulimit -n",
    ]);
    assert_eq!(o.trim(), "512");
}

#[test]
fn restart_policy_brings_a_killed_container_back() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "phoenix",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "1000",
    ]);
    let pid = berth
        .ok(&["inspect", "--format", "{{.State.Pid}}", "phoenix"])
        .trim()
        .to_string();
    std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    wait_for("a restart", || {
        let s = berth.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.RestartCount}} {{.State.Pid}}",
            "phoenix",
        ]);
        s.starts_with("running 1 ") && !s.trim().ends_with(&pid)
    });
    // A stop is final, even for "always".
    berth.ok(&["stop", "-t", "0", "phoenix"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(berth.ok(&["ps", "-a"]).contains("Exited"));
    // on-failure:2 gives up after two retries.
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "exit 1",
    ]);
    wait_for("retries to run out", || {
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{.RestartCount}} {{.State.Status}}",
                "flaky",
            ])
            .trim()
            == "2 exited"
    });
}

#[test]
fn health_check_turns_unhealthy_and_healthy() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "doc",
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "1000",
    ]);
    wait_for("unhealthy", || {
        berth
            .ok(&["inspect", "--format", "{{.State.Health.Status}}", "doc"])
            .trim()
            == "unhealthy"
    });
    assert!(berth.ok(&["ps"]).contains("(unhealthy)"));
    berth.ok(&["exec", "doc", "touch", "/tmp/ok"]);
    wait_for("healthy", || {
        berth
            .ok(&["inspect", "--format", "{{.State.Health.Status}}", "doc"])
            .trim()
            == "healthy"
    });
}

#[test]
fn twenty_parallel_detached_runs() {
    let (_reg, berth) = setup();
    let children: Vec<_> = (0..20)
        .map(|_| {
            berth
                .cmd()
                .args(["run", "-d", "busybox", "sleep", "1000"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        ids.insert(out(&o).trim().to_string());
    }
    assert_eq!(ids.len(), 20);
    let names: std::collections::BTreeSet<String> = berth
        .ok(&["ps", "--format", "{{.Names}}"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(names.len(), 20, "{names:?}");
    assert_eq!(berth.ok(&["ps", "-q"]).lines().count(), 20);
    assert_eq!(berth.ok(&["stop", "--all", "-t", "0"]).lines().count(), 20);
    assert_eq!(berth.ok(&["container", "prune", "-f"]).lines().count(), 20);
}

#[test]
fn sigkill_of_the_cli_or_the_monitor_leaves_no_ghosts() {
    let (_reg, berth) = setup();
    // The CLI dies at a random point of `run -d`.
    for delay in [0u64, 2, 5, 10, 20] {
        let mut child = berth
            .cmd()
            .args(["run", "-d", "busybox", "sleep", "1000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
    }
    berth.ok(&["ps", "-a"]);
    berth.ok(&["rm", "-a", "-f"]);
    assert_eq!(berth.ok(&["ps", "-a", "-q"]), "");
    // And no monitor or container of theirs runs on unaccounted for.
    let root = berth.root().display().to_string();
    let start = Instant::now();
    while live_processes_mentioning(&root) > 0 {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = std::process::Command::new("sh").arg("-c").arg(format!("ps -eo pid,ppid,stat,etime,args | grep -F '{root}' | grep -v grep; for p in $(pgrep -f '{root}'); do echo $p; cat /proc/$p/wchan; echo; cat /proc/$p/stack; done")).status();
            panic!("orphaned monitors stayed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        berth.ok(&["run", "--rm", "busybox", "echo", "fine"]),
        "fine\n"
    );
    // The monitor is SIGKILLed: the container goes with it, and is reported exited.
    berth.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "1000"]);
    let pids = berth.ok(&[
        "inspect",
        "--format",
        "{{.State.Pid}} {{.State.ConmonPid}}",
        "orphan",
    ]);
    let (pid, mon) = pids.trim().split_once(' ').unwrap();
    std::process::Command::new("kill")
        .args(["-9", mon])
        .status()
        .unwrap();
    wait_for("the container to die with its monitor", || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z"))
                .unwrap_or(true)
    });
    let s = berth.ok(&["inspect", "--format", "{{.State.Status}}", "orphan"]);
    assert_eq!(s.trim(), "exited");
    assert!(!berth.ok(&["ps"]).contains("orphan"));
    berth.ok(&["rm", "orphan"]);
}

/// Live (non-zombie) processes whose command line mentions `needle`
/// (monitors are forked from the CLI and keep its command line).
fn live_processes_mentioning(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, r)| r.starts_with('Z'));
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            !zombie && String::from_utf8_lossy(&cmd).contains(needle)
        })
        .count()
}
