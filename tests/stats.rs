//! `stats` and `update` against real containers: what stats reports for a
//! memory hog and a CPU loop under a quota, the live table on a terminal,
//! stopped containers, rootless containers without a cgroup; `update`
//! reaching the live cgroup, the record and the restart policy.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// "41.94MB" -> bytes (go-units' decimal units).
fn size(s: &str) -> f64 {
    let s = s.trim();
    let at = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (n, unit) = s.split_at(at);
    let mult = match unit {
        "B" => 1e0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        u => panic!("unit {u:?} in {s:?}"),
    };
    n.parse::<f64>().unwrap() * mult
}

fn stats_json(berth: &Berth, id: &str) -> Value {
    let out = berth.ok(&["stats", "--no-stream", "--format", "json", id]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().map(|a| a.len()), Some(1), "{out}");
    v[0].clone()
}

fn percent(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("percent: {v}"))
}

fn cgroup_file(ctl: &str, id: &str, file: &str) -> String {
    std::fs::read_to_string(format!("/sys/fs/cgroup/{ctl}/berth/{id}/{file}"))
        .unwrap_or_else(|e| panic!("{ctl}/{file}: {e}"))
        .trim()
        .to_string()
}

/// A container holding 40 MiB in a tmpfs file shows about that much
/// memory in use; a busy loop under `--cpus 0.5` about half a CPU.
#[test]
fn stats_show_a_memory_hog_and_a_cpu_quota() {
    let (_reg, berth) = pulled(busybox_layer());
    let hog = berth
        .ok(&[
            "run",
            "-d",
            "--name",
            "hog",
            "busybox",
            "sh",
            "-c",
            "head -c 41943040 /dev/zero > /dev/shm/hog && touch /tmp/ready; exec sleep 1000",
        ])
        .trim()
        .to_string();
    let spin = berth
        .ok(&[
            "run",
            "-d",
            "--name",
            "spin",
            "--cpus",
            "0.5",
            "busybox",
            "sh",
            "-c",
            "while :; do :; done",
        ])
        .trim()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while berth
        .run(&["exec", &hog, "test", "-e", "/tmp/ready"])
        .status
        .code()
        != Some(0)
    {
        assert!(Instant::now() < deadline, "the hog never filled its file");
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = stats_json(&berth, "hog");
    assert_eq!(s["id"], hog[..12]);
    assert_eq!(s["name"], "hog");
    let mem = s["mem_usage"].as_str().unwrap();
    let (used, limit) = mem.split_once(" / ").unwrap();
    let held = 40.0 * 1024.0 * 1024.0;
    assert!(
        (size(used) - held).abs() < held * 0.1,
        "40 MiB held, stats says {mem}"
    );
    assert!(size(limit) > size(used), "{mem}");
    assert!(percent(&s["mem_percent"]) > 0.0, "{s}");
    assert_eq!(s["pids"], "1", "{s}");
    // The quota'd loop, after it has run a while (the first reading is
    // its average since the start).
    std::thread::sleep(Duration::from_secs(3));
    let s = stats_json(&berth, &spin);
    let cpu = percent(&s["cpu_percent"]);
    assert!(
        (30.0..=70.0).contains(&cpu),
        "--cpus 0.5 loop at {cpu}%: {s}"
    );
    // Streaming, each report after the first covers the last interval.
    let out = berth
        .cmd()
        .args([
            "stats",
            "-i",
            "1",
            "--format",
            "{{.Name}} {{.CPUPerc}}",
            "spin",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let pid = out.id() as i32;
    // SAFETY: kill on the child this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let got = out.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&got.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "a report per second: {text:?}");
    let second = lines[1].strip_prefix("spin ").unwrap();
    let v: f64 = second.trim_end_matches('%').parse().unwrap();
    assert!((30.0..=70.0).contains(&v), "{text}");
    // Network and block I/O columns are there, with podman's units.
    let table = berth.ok(&["stats", "--no-stream", "hog"]);
    let head = table.lines().next().unwrap();
    for col in [
        "ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET IO",
        "BLOCK IO",
        "PIDS",
        "CPU TIME",
        "AVG CPU %",
    ] {
        assert!(head.contains(col), "{head}");
    }
}

/// `update` writes the live cgroup, the record (inspect) and the restart
/// policy the monitor applies at the next exit; a created container gets
/// its new limits when it starts; bad input is refused as run refuses it.
#[test]
fn update_reaches_the_cgroup_the_record_and_the_restart_policy() {
    let (_reg, berth) = pulled(busybox_layer());
    let id = berth
        .ok(&["run", "-d", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let out = berth.ok(&[
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--memory-reservation",
        "32m",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "50",
        "--restart",
        "always",
        &id[..12],
    ]);
    assert_eq!(out.trim(), id);
    assert_eq!(
        cgroup_file("memory", &id, "memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(
        cgroup_file("memory", &id, "memory.soft_limit_in_bytes"),
        "33554432"
    );
    assert_eq!(cgroup_file("cpu", &id, "cpu.cfs_quota_us"), "50000");
    assert_eq!(cgroup_file("cpu", &id, "cpu.shares"), "512");
    assert_eq!(cgroup_file("pids", &id, "pids.max"), "50");
    // Inside, the container's own cgroups at /sys/fs/cgroup show it too
    // (podman's 280-update reads them so).
    let inside = berth.ok(&[
        "exec",
        &id,
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    ]);
    assert_eq!(
        inside.split_whitespace().collect::<Vec<_>>(),
        ["67108864", "50000"]
    );
    berth.fails(
        &[
            "exec",
            &id,
            "sh",
            "-c",
            "echo 1 > /sys/fs/cgroup/pids/pids.max",
        ],
        1,
    );
    let hc = berth.ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}",
        &id,
    ]);
    assert_eq!(
        hc.trim(),
        "67108864 134217728 33554432 500000000 512 50 always"
    );
    // Raising memory above the old memory+swap limit works (memsw first).
    berth.ok(&["update", "--memory", "256m", "--memory-swap", "512m", &id]);
    assert_eq!(
        cgroup_file("memory", &id, "memory.limit_in_bytes"),
        "268435456"
    );
    // stats sees the new limit.
    let s = stats_json(&berth, &id);
    assert!(
        s["mem_usage"].as_str().unwrap().ends_with("/ 268.4MB"),
        "{s}"
    );
    // The restart policy set by update: a killed init comes back.
    let pid = berth.ok(&["inspect", "--format", "{{.State.Pid}}", &id]);
    let pid = pid.trim().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = berth.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.Pid}} {{.RestartCount}}",
            &id,
        ]);
        let f: Vec<&str> = st.split_whitespace().collect();
        if f[0] == "running" && f[1] != pid && f[1] != "0" {
            assert_eq!(f[2], "1", "{st}");
            break;
        }
        assert!(Instant::now() < deadline, "not restarted: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The restarted run has the updated limits.
    assert_eq!(
        cgroup_file("memory", &id, "memory.limit_in_bytes"),
        "268435456"
    );
    assert_eq!(cgroup_file("pids", &id, "pids.max"), "50");

    // A created container: the record now, the cgroup at start.
    let c = berth
        .ok(&["create", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    berth.ok(&["update", "--memory", "48m", "--cpuset-cpus", "0", &c]);
    berth.ok(&["start", &c]);
    assert_eq!(
        cgroup_file("memory", &c, "memory.limit_in_bytes"),
        "50331648"
    );
    assert_eq!(cgroup_file("cpuset", &c, "cpuset.cpus"), "0");
    // A cpuset given to a running container moves its processes in.
    berth.ok(&["update", "--cpuset-cpus", "0", &id]);
    assert_eq!(cgroup_file("cpuset", &id, "cpuset.cpus"), "0");
    let procs = cgroup_file("cpuset", &id, "cgroup.procs");
    assert!(!procs.is_empty(), "processes joined the new cpuset");

    // Run's checks and messages, podman's exit codes.
    let e = berth.fails(
        &["update", "--memory", "20m", "--memory-swap", "10m", &id],
        125,
    );
    assert!(
        e.contains("minimum memoryswap limit should be larger than memory limit"),
        "{e}"
    );
    let e = berth.fails(&["update", "--memory", "1m", &id], 125);
    assert!(e.contains("minimum memory limit allowed is 6MB"), "{e}");
    let e = berth.fails(&["update", "--memory", "lots", &id], 125);
    assert!(
        e.contains("invalid value for memory: invalid size: 'lots'"),
        "{e}"
    );
    let e = berth.fails(&["update", "--restart", "sometimes", &id], 125);
    assert!(e.contains("invalid --restart \"sometimes\""), "{e}");
    let e = berth.fails(&["update", "--cpus", "1", "--cpu-quota", "1000", &id], 125);
    assert!(
        e.contains("--cpu-quota and --cpus cannot be set together"),
        "{e}"
    );
    let e = berth.fails(&["update", "--cpus", "1", "nosuch"], 125);
    assert!(
        e.contains("no container with name or ID \"nosuch\" found"),
        "{e}"
    );
    let e = berth.fails(&["update", "--cpus", "1"], 125);
    assert!(e.contains("accepts 1 arg(s), received 0"), "{e}");
    // Nothing of a refused update was kept.
    assert_eq!(
        cgroup_file("memory", &id, "memory.limit_in_bytes"),
        "268435456"
    );
}

/// Stopped containers: zeros with `-a` or by name (podman's rows), left
/// out by default; podman's errors for bad input.
#[test]
fn stats_of_stopped_containers_and_bad_input() {
    let (_reg, berth) = pulled(busybox_layer());
    berth.ok(&["create", "--name", "idle", "busybox", "true"]);
    berth.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "1000"]);
    let fmt = "{{.Name}} {{.PIDs}} {{.MemUsage}} {{.CPUPerc}} {{.UpTime}}";
    let all = berth.ok(&["stats", "-a", "--no-stream", "--format", fmt]);
    assert!(all.lines().any(|l| l == "idle 0 0B / 0B 0.00% 0s"), "{all}");
    assert!(all.lines().any(|l| l.starts_with("busy 1 ")), "{all}");
    let running = berth.ok(&["stats", "--no-stream", "--format", fmt]);
    assert!(!running.contains("idle"), "{running}");
    assert!(running.contains("busy 1 "), "{running}");
    let named = berth.ok(&["stats", "--no-stream", "--format", fmt, "idle"]);
    assert_eq!(named.trim(), "idle 0 0B / 0B 0.00% 0s");
    let latest = berth.ok(&["stats", "--no-stream", "-l", "--format", "{{.Name}}"]);
    assert_eq!(latest.trim(), "busy");
    let full = berth.ok(&[
        "stats",
        "--no-stream",
        "--no-trunc",
        "--format",
        "{{.ID}}",
        "busy",
    ]);
    assert_eq!(full.trim().len(), 64);

    let e = berth.fails(&["stats", "--no-stream", "nosuch"], 125);
    assert!(e.contains("unable to look up container nosuch: no container with name or ID \"nosuch\" found: no such container"), "{e}");
    let e = berth.fails(&["stats", "-a", "--no-stream", "idle"], 125);
    assert!(
        e.contains("--all, --latest and containers cannot be used together"),
        "{e}"
    );
    let e = berth.fails(&["stats", "-i", "0", "busy"], 125);
    assert!(
        e.contains("invalid interval, must be a positive number greater zero"),
        "{e}"
    );
    let e = berth.fails(
        &["stats", "--no-stream", "--format", "{{.Nope}}", "busy"],
        125,
    );
    assert!(e.contains("template: stats:1:13: executing \"stats\" at <.Nope>: can't evaluate field Nope in type containers.containerStats"), "{e}");
    // podman's 610-format check: a template of just a newline prints nothing.
    let out = berth.ok(&["stats", "--no-stream", "--format", "{{\"\\n\"}}"]);
    assert_eq!(out.trim(), "");
}

/// Rootless on this host: no cgroup. stats still reports processes,
/// memory and network from /proc, and says once which column it cannot
/// fill, however many reports follow.
#[test]
fn rootless_stats_read_proc_and_warn_once() {
    let (uid, gid) = test_user();
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    berth.give_to(uid, gid);
    berth.rootless_ok(uid, gid, &["pull", "-q", "busybox"]);
    let id = berth
        .rootless_ok(
            uid,
            gid,
            &[
                "run",
                "-d",
                "busybox",
                "sh",
                "-c",
                "sleep 1000 & exec sleep 1000",
            ],
        )
        .trim()
        .to_string();
    let out = berth
        .rootless_cmd(uid, gid)
        .args(["stats", "--no-stream", "--format", "json", &id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["pids"], "2", "{v}");
    let (used, _) = v[0]["mem_usage"]
        .as_str()
        .unwrap()
        .split_once(" / ")
        .unwrap();
    assert!(size(used) > 0.0, "{v}");
    assert_eq!(v[0]["block_io"], "-- / --");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("warning") && err.contains("BLOCK IO"), "{err}");
    // Streaming: three reports, still one warning.
    let child = berth
        .rootless_cmd(uid, gid)
        .args(["stats", "-i", "1", "--format", "{{.PIDs}}", &id])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: kill on the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let got = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&got.stdout);
    assert!(text.lines().filter(|l| *l == "2").count() >= 2, "{text:?}");
    let err = String::from_utf8_lossy(&got.stderr);
    assert_eq!(err.matches("BLOCK IO").count(), 1, "{err}");
}
