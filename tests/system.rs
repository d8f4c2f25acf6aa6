//! `system df`, `system prune`, `system reset` and `ps --size`, end to end
//! against a real registry and real containers.
//!
//! Networks, bridges and berth's nftables table are host-wide: the tests
//! that prune or reset them hold the lock tests/network.rs shares
//! (/tmp/berth-test-nft.lock) exclusively, so no network test is half-way
//! through a network these remove.

mod common;

use common::*;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What `du --apparent-size` counts for everything under `dirs` but the
/// directories themselves, a hard-linked inode once (containers/storage's
/// measure, which `system df` reports).
fn du(dirs: &[&Path]) -> u64 {
    let mut total = 0;
    for d in dirs {
        if !d.exists() {
            continue;
        }
        let out = Command::new("find")
            .arg(d)
            .args(["!", "-type", "d", "-printf", "%D:%i %s\n"])
            .output()
            .unwrap();
        let mut seen = HashSet::new();
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            let (inode, size) = l.split_once(' ').unwrap();
            if seen.insert(inode.to_string()) {
                total += size.parse::<u64>().unwrap();
            }
        }
    }
    total
}

fn children(d: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(d)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// busybox, and `two` = busybox's layer plus one of its own: the shared
/// layer must be counted once.
fn setup() -> (Registry, Berth) {
    let reg = registry_with(busybox_layer());
    let mut l = Layout::new();
    l.image(
        &[
            busybox_layer(),
            vec![Entry::File("extra", vec![7u8; 5000], 0o644)],
        ],
        "amd64",
        &["/bin/sh"],
        Some("latest"),
    );
    reg.push_layout(l.path(), "latest", "two:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    berth.ok(&["pull", "-q", "two"]);
    (reg, berth)
}

fn df_rows(berth: &Berth) -> Vec<Vec<String>> {
    berth
        .ok(&[
            "system",
            "df",
            "--format",
            "{{.Type}}|{{.Total}}|{{.Active}}|{{.RawSize}}|{{.RawReclaimable}}|{{.Reclaimable}}",
        ])
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

#[test]
fn df_figures_agree_with_du_of_the_store() {
    let _g = network_guard(false);
    let (_reg, berth) = setup();
    let root = berth.root();
    berth.ok(&[
        "run",
        "--name",
        "c1",
        "-v",
        "/anon",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/f bs=1k count=12 2>/dev/null",
    ]);
    berth.ok(&["volume", "create", "data"]);
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "c2",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "head -c 3000 /dev/zero > /data/x; while ! test -e /stop; do sleep 0.1; done",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while du(&[&root.join("volumes")]) < 3000 {
        assert!(std::time::Instant::now() < deadline, "c2 never wrote");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let store = root.join("storage");
    let layer_trees: Vec<_> = children(&store.join("layers"))
        .into_iter()
        .map(|d| d.join("diff"))
        .collect();
    let mut image_dirs: Vec<&Path> = layer_trees.iter().map(|p| p.as_path()).collect();
    let blobs = store.join("blobs");
    image_dirs.push(&blobs);
    let images = du(&image_dirs);
    let uppers: Vec<_> = children(&root.join("containers"))
        .into_iter()
        .map(|d| d.join("upper"))
        .collect();
    let containers = du(&uppers.iter().map(|p| p.as_path()).collect::<Vec<_>>());
    let volumes = du(&[&root.join("volumes")]);

    let rows = df_rows(&berth);
    assert_eq!(rows.len(), 3, "{rows:?}");
    // Two images sharing busybox's layer: one in use (by both containers).
    assert_eq!(rows[0][..3], ["Images", "2", "1"]);
    assert_eq!(rows[0][3], images.to_string(), "images vs du");
    assert!(images > 1_000_000, "busybox is counted: {images}");
    // Reclaimable: `two` alone (its own layer, config and manifest).
    let reclaim: u64 = rows[0][4].parse().unwrap();
    assert!(reclaim > 5000 && reclaim < 20_000, "{rows:?}");
    assert_eq!(rows[1][..3], ["Containers", "2", "1"]);
    assert_eq!(rows[1][3], containers.to_string(), "containers vs du");
    assert!(containers >= 12 * 1024);
    assert_eq!(rows[2][..3], ["Local Volumes", "2", "2"]);
    assert_eq!(rows[2][3], volumes.to_string(), "volumes vs du");
    assert_eq!(volumes, 3000);
    assert_eq!(rows[2][5], "0B (0%)");

    // The default table and json carry the same figures.
    let table = berth.ok(&["system", "df"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("TYPE") && lines[0].ends_with("RECLAIMABLE"),
        "{table}"
    );
    assert!(lines[3].starts_with("Local Volumes  2"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&berth.ok(&["system", "df", "--format", "json"])).unwrap();
    assert_eq!(json[1]["Type"], "Containers");
    assert_eq!(json[1]["RawSize"], containers);
    assert_eq!(json[2]["Reclaimable"], "0B (0%)");

    // -v: per image name, per container, per volume.
    let v = berth.ok(&["system", "df", "-v"]);
    let l: Vec<&str> = v.lines().collect();
    assert_eq!(l[0], "Images space usage:");
    assert!(l[2].starts_with("REPOSITORY"), "{v}");
    let bb = l.iter().find(|x| x.contains("/busybox ")).unwrap();
    assert!(bb.trim_end().ends_with(" 2"), "{v}");
    let c1 = l.iter().find(|x| x.ends_with(" c1")).unwrap();
    assert!(c1.contains(" exited ") && c1.contains("12.3"), "{v}");
    let data = l.iter().find(|x| x.starts_with("data ")).unwrap();
    assert!(data.ends_with(" 3kB"), "{v}");
    assert!(
        berth
            .fails(&["system", "df", "-v", "--format", "json"], 125)
            .contains("cannot combine")
    );

    // ps -s: podman's "12.3kB (virtual ...)" and the json object.
    let s = berth.ok(&["ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}"]);
    let c1 = s.lines().find(|x| x.starts_with("c1 ")).unwrap();
    assert!(c1.starts_with("c1 12.3kB (virtual "), "{s}");
    let j: serde_json::Value =
        serde_json::from_str(&berth.ok(&["ps", "-a", "-s", "--format", "json"])).unwrap();
    let c1 = j
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Names"] == "c1")
        .unwrap();
    // The 12 KiB file, and the few bytes the runtime's placeholders hold.
    let rw = c1["Size"]["rwSize"].as_u64().unwrap();
    assert!((12 * 1024..13_000).contains(&rw), "{c1}");
    assert!(c1["Size"]["rootFsSize"].as_u64().unwrap() > 1_000_000);
    assert!(
        berth
            .ok(&["ps", "-s"])
            .lines()
            .next()
            .unwrap()
            .ends_with("SIZE")
    );

    berth.ok(&["exec", "c2", "touch", "/stop"]);
    berth.ok(&["wait", "c2"]);
}

#[test]
fn prune_asks_first_and_no_keeps_everything() {
    let (_reg, berth) = pulled(busybox_layer());
    berth.ok(&["run", "--name", "gone", "busybox", "true"]);
    let mut child = berth
        .cmd()
        .args(["system", "prune", "--all", "--volumes"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container\n\t- all volumes not used by at least one container\n\t- all images without at least one container associated with them\n\t- all build cache\n\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(berth.ok(&["ps", "-aq"]).lines().count(), 1);
    assert_eq!(berth.ok(&["images", "-q"]).lines().count(), 1);
}

#[test]
fn prune_all_volumes_force_empties_the_store_and_says_what_it_reclaimed() {
    let _g = network_guard(true);
    let (_reg, berth) = setup();
    let root = berth.root();
    berth.ok(&[
        "run",
        "--name",
        "p1",
        "-v",
        "/anon",
        "busybox",
        "sh",
        "-c",
        "head -c 20000 /dev/zero > /f; head -c 1000 /dev/zero > /anon/a",
    ]);
    berth.ok(&["volume", "create", "named"]);
    let net = "bt-sys-prune";
    let _ = berth.run(&["network", "rm", "-f", net]);
    berth.ok(&["network", "create", "--subnet", "10.231.41.0/24", net]);
    let before = df_rows(&berth);
    let expected: u64 = before.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();

    let out = berth.ok(&["system", "prune", "-a", "--volumes", "-f"]);
    let sections: Vec<&str> = out.lines().filter(|l| l.starts_with("Deleted ")).collect();
    assert_eq!(
        sections,
        [
            "Deleted Containers",
            "Deleted Volumes",
            "Deleted Images",
            "Deleted Networks"
        ],
        "{out}"
    );
    assert!(out.lines().any(|l| l == net), "{out}");
    assert!(out.lines().any(|l| l == "named"), "{out}");
    // Everything the store held is what it says it freed.
    let last = out.lines().last().unwrap();
    assert_eq!(
        last,
        format!("Total reclaimed space: {}", berth_size(expected)),
        "{out}"
    );
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
    assert_eq!(berth.ok(&["images", "-aq"]), "");
    assert_eq!(berth.ok(&["volume", "ls", "-q"]), "");
    assert!(!berth.ok(&["network", "ls"]).contains(net));
    assert!(children(&root.join("storage/layers")).is_empty());
    assert!(children(&root.join("storage/blobs/sha256")).is_empty());
    assert!(children(&root.join("containers")).is_empty());
    for r in df_rows(&berth) {
        assert_eq!(r[1..4], ["0", "0", "0"], "{r:?}");
    }
    // Nothing left: a second prune reclaims nothing.
    assert_eq!(
        berth.ok(&["system", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
}

/// go-units HumanSize, as the tests expect podman's texts.
fn berth_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let digits = if v == 0.0 {
        0
    } else {
        v.log10().floor() as i32
    };
    let decimals = (3 - digits).max(0) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", units[i])
}

#[test]
fn prune_filters_by_label_and_until() {
    let (_reg, berth) = pulled(busybox_layer());
    berth.ok(&["create", "--name", "keep", "busybox", "true"]);
    berth.ok(&[
        "create",
        "--name",
        "drop",
        "--label",
        "sweep=yes",
        "busybox",
        "true",
    ]);
    berth.ok(&["volume", "create", "--label", "sweep=yes", "vdrop"]);
    berth.ok(&["volume", "create", "vkeep"]);
    let out = berth.ok(&[
        "system",
        "prune",
        "-f",
        "--volumes",
        "--filter",
        "label=sweep=yes",
    ]);
    assert!(out.contains("Deleted Containers\n"), "{out}");
    assert!(out.lines().any(|l| l == "vdrop"), "{out}");
    let names = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names.trim(), "keep");
    assert_eq!(berth.ok(&["volume", "ls", "-q"]).trim(), "vkeep");
    // until= (with a label, so nothing of other roots qualifies): nothing
    // was created an hour ago, so nothing goes; everything was created
    // before a moment from now.
    berth.ok(&[
        "create", "--name", "later", "--label", "later=1", "busybox", "true",
    ]);
    berth.ok(&["volume", "create", "--label", "later=1", "vlater"]);
    let out = berth.ok(&[
        "system",
        "prune",
        "-f",
        "-a",
        "--volumes",
        "--filter",
        "label=later=1",
        "--filter",
        "until=1h",
    ]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 10;
    let out = berth.ok(&[
        "system",
        "prune",
        "-f",
        "--volumes",
        "--filter",
        "label=later=1",
        "--filter",
        &format!("until={soon}"),
    ]);
    assert!(out.lines().any(|l| l == "vlater"), "{out}");
    let names = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names.trim(), "keep");
    assert_eq!(berth.ok(&["volume", "ls", "-q"]).trim(), "vkeep");
    assert_eq!(berth.ok(&["images", "-q"]).lines().count(), 1);
    let err = berth.fails(&["system", "prune", "-f", "--filter", "bogus=1"], 125);
    assert!(err.contains("invalid filter \"bogus\""), "{err}");
}

fn mounts_under(p: &Path) -> Vec<String> {
    let p = p.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| m.starts_with(&p))
        .map(str::to_string)
        .collect()
}

#[test]
fn reset_leaves_nothing_behind() {
    let _g = network_guard(true);
    let (_reg, berth) = pulled(busybox_layer());
    let root = berth.root();
    let run = berth.dir.path().join("run");
    let net = "bt-sys-reset";
    let _ = berth.run(&["network", "rm", "-f", net]);
    berth.ok(&["network", "create", "--subnet", "10.231.42.0/24", net]);
    let bridge = berth
        .ok(&[
            "network",
            "inspect",
            "--format",
            "{{.NetworkInterface}}",
            net,
        ])
        .trim()
        .to_string();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "r1",
        "--network",
        net,
        "-p",
        "18431:80",
        "-v",
        "rv:/v",
        "busybox",
        "sleep",
        "1000",
    ]);
    berth.ok(&["run", "-d", "--name", "r2", "busybox", "sleep", "1000"]);
    let monitors: Vec<String> = ["r1", "r2"]
        .iter()
        .map(|c| {
            berth
                .ok(&[
                    "inspect",
                    "--format",
                    "{{.State.ConmonPid}} {{.State.Pid}}",
                    c,
                ])
                .trim()
                .to_string()
        })
        .collect();
    berth.ok(&["image", "mount", "busybox"]);
    berth.ok(&["mount", "r2"]);
    let mut secret = berth
        .cmd()
        .args(["secret", "create", "s1", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    secret.stdin.take().unwrap().write_all(b"hush").unwrap();
    assert!(secret.wait().unwrap().success());
    assert!(!mounts_under(&root).is_empty());
    assert!(Path::new("/sys/class/net").join(&bridge).exists());

    // "n" keeps everything.
    let mut child = berth
        .cmd()
        .args(["system", "reset"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("WARNING! This will remove:\n"));
    assert_eq!(berth.ok(&["ps", "-q"]).lines().count(), 2);

    berth.ok(&["system", "reset", "-f"]);
    assert!(!root.exists(), "root left behind");
    assert!(!run.exists(), "runroot left behind");
    assert_eq!(mounts_under(&root), Vec::<String>::new());
    assert_eq!(mounts_under(&run), Vec::<String>::new());
    for pids in &monitors {
        for pid in pids.split_whitespace() {
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists()
                    || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .is_ok_and(|s| s.contains(") Z ")),
                "process {pid} of a container outlived the reset"
            );
        }
    }
    assert!(!Path::new("/sys/class/net").join(&bridge).exists());
    let nft = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    let nft = String::from_utf8_lossy(&nft.stdout);
    assert!(!nft.contains(&format!("\"{bridge}\"")), "{nft}");
    assert!(!nft.contains("18431"), "{nft}");
    // A fresh root afterwards works as new.
    assert_eq!(berth.ok(&["images", "-q"]), "");
    assert!(!berth.ok(&["network", "ls"]).contains(net));
}

fn pid_in(file: &Path) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()?
        .split_whitespace()
        .next()
        .map(str::to_string)
}

fn gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true)
}

#[test]
fn rootless_reset_ends_the_pause_process_and_its_network() {
    let (uid, gid) = test_user();
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    berth.give_to(uid, gid);
    let run = |args: &[&str]| berth.rootless_ok(uid, gid, args);
    run(&["pull", "-q", "busybox"]);
    run(&["network", "create", "rlreset"]);
    run(&[
        "run",
        "-d",
        "--name",
        "rl1",
        "--network",
        "rlreset",
        "busybox",
        "sleep",
        "1000",
    ]);
    let ctr = run(&[
        "inspect",
        "--format",
        "{{.State.ConmonPid}} {{.State.Pid}}",
        "rl1",
    ]);
    let root = berth.dir.path().join("data/berth");
    let runroot = berth.dir.path().join("runtime/berth");
    let pause = pid_in(&runroot.join("pause.pid")).expect("a pause process");
    let pasta = pid_in(&runroot.join("rootless-netns-pasta.pid"));
    assert!(!gone(&pause));
    run(&["system", "reset", "--force"]);
    assert!(!root.exists(), "root left behind");
    assert!(!runroot.exists(), "runroot left behind");
    for pid in ctr
        .split_whitespace()
        .chain([pause.as_str()])
        .chain(pasta.as_deref())
    {
        assert!(gone(pid), "process {pid} outlived the reset");
    }
    assert_eq!(run(&["images", "-q"]), "");
}
