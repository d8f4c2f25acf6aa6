//! Mounts berth makes from image content: an image mounted on the host
//! (`image mount`) that another user tries to reach or run setuid
//! binaries from, and a tmpfs copy-up fed symlinks that point at the host.

use super::common::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

const MARKER: &str = "HOST-ONLY-5c1e";

#[test]
fn another_user_cannot_reach_an_image_mount() {
    let (uid, gid) = test_user();
    let mut layer = busybox_layer();
    let bb = std::fs::read("/bin/busybox").unwrap();
    layer.push(Entry::File("bin/suid", bb, 0o4755));
    let (_reg, berth) = pulled(layer);
    // The test dir itself is world-traversable: only berth's modes guard.
    std::fs::set_permissions(
        berth.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = berth.ok(&["image", "mount", "busybox"]).trim().to_string();
    let guard = scopeguard(&berth);
    let line = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some(path.as_str()))
        .map(String::from)
        .expect("mounted");
    let opts = line.split_whitespace().nth(5).unwrap();
    for f in ["ro", "nosuid", "nodev"] {
        assert!(opts.split(',').any(|o| o == f), "{f} in {opts}");
    }
    for target in [format!("{path}/bin/suid"), format!("{path}/bin")] {
        let o = Command::new("/bin/busybox")
            .args(["ls", &target])
            .uid(uid)
            .gid(gid)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{target} reachable by another user");
    }
    let o = Command::new(format!("{path}/bin/suid"))
        .args(["id", "-u"])
        .uid(uid)
        .gid(gid)
        .output();
    assert!(o.map(|o| !o.status.success()).unwrap_or(true));
    drop(guard);
    assert!(!Path::new(&path).exists(), "unmounted and removed");
}

struct Unmount<'a>(&'a Berth);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["image", "unmount", "--all"]);
    }
}

fn scopeguard(b: &Berth) -> Unmount<'_> {
    Unmount(b)
}

#[test]
fn tmpfs_copy_up_never_follows_symlinks_to_the_host() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("secret"), MARKER).unwrap();
    let h: &'static str = Box::leak(host.path().display().to_string().into_boxed_str());
    let hs: &'static str = Box::leak(format!("{h}/secret").into_boxed_str());
    let mut layer = busybox_layer();
    layer.push(Entry::Dir("srv", 0o755));
    // Symlinks in the copied tree, absolute and relative, to host paths.
    layer.push(Entry::Symlink("srv/file", hs));
    layer.push(Entry::Symlink("srv/dir", h));
    layer.push(Entry::Symlink("srv/up", "../../../../../../../../.."));
    // The destination itself a symlink to a host directory.
    layer.push(Entry::Symlink("data", h));
    let (_reg, berth) = pulled(layer);
    let out = berth.ok(&[
        "run", "--rm", "--tmpfs", "/srv", "--tmpfs", "/data", "busybox", "sh", "-c",
        "readlink /srv/file; readlink /srv/dir; cat /srv/file /srv/dir/secret /srv/up/secret 2>&1; ls -A /data; echo end",
    ]);
    assert!(!out.contains(MARKER), "host content copied in: {out}");
    assert!(
        out.contains(&format!("{hs}\n{h}\n")),
        "copied as symlinks: {out}"
    );
    assert!(out.ends_with("end\n"));
    // The host directory was neither mounted over nor written.
    let names: Vec<_> = std::fs::read_dir(host.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["secret"]);
    assert_eq!(
        std::fs::read_to_string(host.path().join("secret")).unwrap(),
        MARKER
    );
}
