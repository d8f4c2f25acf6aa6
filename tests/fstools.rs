//! The container filesystem tools: diff, commit, export/import, mount.

mod common;

use common::*;

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

const CHANGE: &str =
    "echo new > /added; echo extra >> /etc/passwd; rm /etc/group; mkdir /newdir; touch /newdir/f";

#[test]
fn diff_lists_added_changed_deleted() {
    let (_reg, berth) = setup();
    let id = berth
        .ok(&["run", "-d", "busybox", "sh", "-c", CHANGE])
        .trim()
        .to_string();
    berth.ok(&["wait", &id]);
    let diff = berth.ok(&["diff", &id]);
    assert_eq!(
        diff,
        "A /added\nC /etc\nD /etc/group\nC /etc/passwd\nA /newdir\nA /newdir/f\n"
    );
    let j: serde_json::Value =
        serde_json::from_str(&berth.ok(&["diff", "--format", "json", &id])).unwrap();
    assert_eq!(j["deleted"][0], "/etc/group");
}

#[test]
fn commit_then_run_shows_the_change() {
    let (_reg, berth) = setup();
    let id = berth
        .ok(&["run", "-d", "busybox", "sh", "-c", CHANGE])
        .trim()
        .to_string();
    berth.ok(&["wait", &id]);
    let img = berth
        .ok(&[
            "commit",
            "-m",
            "my change",
            "-a",
            "me",
            "-c",
            "CMD [\"cat\", \"/added\"]",
            &id,
            "changed:v1",
        ])
        .trim()
        .to_string();
    assert_eq!(img.len(), 64);
    assert_eq!(
        berth.ok(&["run", "--rm", "changed:v1"]),
        "new\n",
        "the new CMD and the new file"
    );
    assert_eq!(
        berth
            .run(&["run", "--rm", "changed:v1", "test", "-e", "/etc/group"])
            .status
            .code(),
        Some(1),
        "the deletion is a whiteout in the new layer"
    );
    assert_eq!(
        berth.ok(&["run", "--rm", "changed:v1", "tail", "-1", "/etc/passwd"]),
        "extra\n"
    );
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "changed:v1"])).unwrap();
    assert_eq!(
        v[0]["RootFS"]["Layers"].as_array().unwrap().len(),
        2,
        "one extra layer"
    );
    assert_eq!(v[0]["Author"], "me");
    assert!(berth.ok(&["history", "changed:v1"]).contains("my change"));
    // And it pushes and survives a save/load like any image.
    let f = berth.dir.path().join("c.tar");
    berth.ok(&["save", "-o", f.to_str().unwrap(), "changed:v1"]);
}

#[test]
fn export_import_round_trip_and_mount() {
    let (_reg, berth) = setup();
    let id = berth
        .ok(&["run", "-d", "busybox", "sh", "-c", CHANGE])
        .trim()
        .to_string();
    berth.ok(&["wait", &id]);
    let tarball = berth.dir.path().join("rootfs.tar");
    berth.ok(&["export", "-o", tarball.to_str().unwrap(), &id]);
    let list = |p: &std::path::Path| -> Vec<String> {
        let out = std::process::Command::new("tar")
            .arg("-tf")
            .arg(p)
            .output()
            .unwrap();
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end_matches('/').to_string())
            .collect();
        v.sort();
        v
    };
    let names = list(&tarball);
    assert!(
        names.contains(&"added".to_string())
            && names.contains(&"newdir/f".to_string())
            && !names.contains(&"etc/group".to_string()),
        "{names:?}"
    );
    berth.ok(&["import", tarball.to_str().unwrap(), "flat:v1"]);
    let id2 = berth.ok(&["create", "flat:v1", "true"]).trim().to_string();
    let again = berth.dir.path().join("again.tar");
    berth.ok(&["export", "-o", again.to_str().unwrap(), &id2]);
    assert_eq!(
        list(&again),
        names,
        "export | import gives an image with the same files"
    );
    // mount shows the merged tree; unmount takes it away.
    let path = berth.ok(&["mount", &id]).trim().to_string();
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(&path).join("added")).unwrap(),
        "new\n"
    );
    berth.ok(&["unmount", &id]);
    assert!(!std::path::Path::new(&path).join("added").exists());
    // A running container is read through its own root.
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo hi > /live; sleep 1000",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let live = berth.dir.path().join("live.tar");
    berth.ok(&["export", "-o", live.to_str().unwrap(), "live"]);
    assert!(list(&live).contains(&"live".to_string()));
}

#[test]
fn cp_both_ways_and_never_through_a_symlink_out() {
    let (_reg, berth) = setup();
    let host = tempfile::tempdir().unwrap();
    std::fs::create_dir(host.path().join("tree")).unwrap();
    std::fs::write(host.path().join("tree/a"), "A").unwrap();
    std::fs::write(host.path().join("file"), "F").unwrap();
    std::os::unix::fs::chown(host.path().join("tree/a"), Some(1234), Some(1234)).unwrap();
    berth.ok(&["create", "--name", "box", "busybox", "sleep", "1000"]);
    // Host -> a stopped container: a file to a path, a tree into a directory.
    berth.ok(&[
        "cp",
        host.path().join("file").to_str().unwrap(),
        "box:/root/renamed",
    ]);
    berth.ok(&["cp", host.path().join("tree").to_str().unwrap(), "box:/tmp"]);
    berth.ok(&["start", "box"]);
    assert_eq!(
        berth.ok(&["exec", "box", "cat", "/root/renamed", "/tmp/tree/a"]),
        "FA"
    );
    assert_eq!(
        berth
            .ok(&["exec", "box", "stat", "-c", "%u", "/tmp/tree/a"])
            .trim(),
        "1234",
        "archive mode keeps owners"
    );
    // Container (running) -> host.
    berth.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "mkdir -p /out/sub && echo deep > /out/sub/x",
    ]);
    let back = host.path().join("back");
    berth.ok(&["cp", "box:/out", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("sub/x")).unwrap(),
        "deep\n"
    );
    let tar = berth
        .cmd()
        .args(["cp", "box:/out/sub", "-"])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let list = std::process::Command::new("tar")
        .arg("-t")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut list = list;
    list.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let names = String::from_utf8(list.wait_with_output().unwrap().stdout).unwrap();
    assert!(names.contains("sub/x"), "{names}");

    // A symlink in the container pointing at a host directory.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "host secret").unwrap();
    let target = outside.path().display().to_string();
    berth.ok(&["exec", "box", "ln", "-s", &target, "/escape"]);
    // The link resolves inside the container, where that directory does not exist.
    let err = berth.fails(
        &[
            "cp",
            host.path().join("file").to_str().unwrap(),
            "box:/escape/pwned",
        ],
        125,
    );
    assert!(err.contains("/escape/pwned"), "{err}");
    assert!(
        !outside.path().join("pwned").exists(),
        "nothing written on the host"
    );
    // Once it exists in the container, the copy lands there, still inside.
    berth.ok(&["exec", "box", "mkdir", "-p", &target]);
    berth.ok(&[
        "cp",
        host.path().join("file").to_str().unwrap(),
        "box:/escape/pwned",
    ]);
    assert!(
        !outside.path().join("pwned").exists(),
        "nothing written on the host"
    );
    assert_eq!(
        berth.ok(&["exec", "box", "cat", &format!("{target}/pwned")]),
        "F",
        "it landed inside the container"
    );
    let err = berth.fails(
        &[
            "cp",
            "box:/escape/secret",
            host.path().join("stolen").to_str().unwrap(),
        ],
        125,
    );
    assert!(err.contains("escape/secret"), "{err}");
    assert!(
        !host.path().join("stolen").exists(),
        "nothing read from the host"
    );
    berth.ok(&["rm", "-f", "box"]);
}
