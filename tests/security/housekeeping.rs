//! Attacks through the housekeeping commands: a container or a volume
//! planting links that `system df`, `system prune` and `system reset`
//! could follow out of the store, labels written to forge lines in the
//! events log, and a container's /etc/passwd pointing `top` at the host's.

use super::common::*;
use std::os::unix::fs::PermissionsExt;

/// A host directory with a file that must survive, 4 MiB so that a size
/// walk that strays into it shows.
fn victim() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("precious");
    std::fs::write(&file, vec![7u8; 4 << 20]).unwrap();
    (dir, file)
}

#[test]
fn df_prune_and_reset_never_follow_links_out_of_the_store() {
    // prune and reset remove the host's unused networks.
    let _net = network_guard(true);
    let (_reg, berth) = pulled(busybox_layer());
    let (dir, file) = victim();
    let target = dir.path().display().to_string();
    // A container's upper dir and a volume, each with links to the host
    // directory (absolute and relative), left behind as an attacker would.
    berth.ok(&["volume", "create", "trap"]);
    berth.ok(&[
        "run",
        "--name",
        "planter",
        "-v",
        "trap:/data",
        "busybox",
        "sh",
        "-c",
        &format!(
            "ln -s {target} /escape; ln -s {target} /data/escape; ln -s ../../../../../../../../..{target} /data/up; ln {target}/precious /hard 2>/dev/null; true"
        ),
    ]);
    let df = berth.ok(&["system", "df", "--format", "{{.Type}} {{.Size}}"]);
    for line in df.lines() {
        // Nothing here approaches the victim's 4 MiB: the walk stayed in.
        assert!(
            !line.contains("MB") || line.starts_with("Images"),
            "df counted what a link points at: {df}"
        );
    }
    berth.ok(&["system", "prune", "-a", "--volumes", "-f"]);
    assert!(file.exists(), "prune followed a link out of the store");
    berth.ok(&[
        "run",
        "--name",
        "again",
        "-v",
        "trap2:/data",
        "busybox",
        "sh",
        "-c",
        &format!("ln -s {target} /data/escape; ln -s {target} /escape"),
    ]);
    berth.ok(&["system", "reset", "-f"]);
    assert!(file.exists(), "reset followed a link out of the store");
    assert_eq!(std::fs::read(&file).unwrap().len(), 4 << 20);
    assert!(!berth.root().exists(), "reset left the root behind");
}

#[test]
fn labels_cannot_forge_lines_in_the_events_log() {
    let (_reg, berth) = pulled(busybox_layer());
    let forged = "x\"}\n{\"Status\":\"forged\",\"Type\":\"container\",\"Name\":\"ghost\"}\n";
    berth.ok(&[
        "create",
        "--name",
        "honest",
        "--label",
        &format!("evil={forged}"),
        "busybox",
        "true",
    ]);
    berth.ok(&["rm", "honest"]);
    let out = berth.ok(&["events", "--stream=false", "--format", "json"]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["Status"] != "forged" && e["Name"] != "ghost"),
        "{out}"
    );
    let create = events
        .iter()
        .find(|e| e["Status"] == "create")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(create["Attributes"]["evil"], forged, "{out}");
    // The log itself: one line per event, private to its owner.
    let log = berth.dir.path().join("run/events/events.log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{text}"
    );
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o077, 0, "events log mode {mode:o}");
}

#[test]
fn top_reads_user_names_only_inside_the_container() {
    let (_reg, berth) = pulled(busybox_layer());
    berth.ok(&["run", "-d", "--name", "liar", "busybox", "sleep", "1000"]);
    // The container points its passwd at files a reader on the host would
    // resolve to the host's: through /proc/self and up out of its root.
    for link in [
        "/proc/self/root/etc/passwd",
        "../../../../../../../../etc/passwd",
    ] {
        berth.ok(&[
            "exec",
            "liar",
            "sh",
            "-c",
            &format!("rm -f /etc/passwd; ln -s {link} /etc/passwd"),
        ]);
        let out = berth.ok(&["top", "liar", "user", "pid", "args"]);
        let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
        // uid 0 has no name in the container any more; the host's "root"
        // must not show through.
        assert_eq!(row[0], "0", "{link}: {out}");
    }
    berth.ok(&["rm", "-f", "-t", "0", "liar"]);
}

/// The container sees its own cgroups at /sys/fs/cgroup (what `update`
/// changes shows inside, as with runc): read-only, so its root cannot
/// raise its own limits or move itself out of them.
#[test]
fn a_container_cannot_raise_its_own_limits_through_its_cgroup_view() {
    let (_reg, berth) = pulled(busybox_layer());
    let out = berth.run(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "--pids-limit",
        "50",
        "busybox",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; \
         echo 9999999999 > /sys/fs/cgroup/memory/memory.limit_in_bytes && echo RAISED; \
         echo max > /sys/fs/cgroup/pids/pids.max && echo RAISED; \
         echo $$ > /sys/fs/cgroup/memory/cgroup.procs && echo MOVED; \
         mkdir /sys/fs/cgroup/memory/escape && echo MADE; \
         cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"67108864"), "{text}{err}");
    assert_eq!(lines.get(1), Some(&"50"), "{text}{err}");
    assert!(
        !text.contains("RAISED") && !text.contains("MOVED") && !text.contains("MADE"),
        "{text}{err}"
    );
    assert_eq!(lines.last(), Some(&"67108864"), "{text}{err}");
    assert!(err.contains("Read-only file system"), "{err}");
}
