//! berth run by an unprivileged user: rootless paths and a pull whose
//! layers (ownership aside) unpack as they do for root.

mod common;

use common::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

#[test]
fn rootless_pull_uses_xdg_paths_and_unpacks_whiteouts() {
    let (uid, gid) = test_user();
    let reg = Registry::start();
    let mut l = Layout::new();
    let base = busybox_layer();
    let top = vec![
        Entry::File("etc/.wh.group", vec![], 0o644),
        Entry::Dir("tmp", 0o1777),
        Entry::File("tmp/.wh..wh..opq", vec![], 0o644),
        Entry::Owned("owned", b"o".to_vec(), 1234, 1234),
    ];
    let b = l.image(&[base, top], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    berth.give_to(uid, gid);

    let run = |args: &[&str]| {
        let out = berth.rootless_cmd(uid, gid).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        run(&["pull", "-q", "busybox"]).trim(),
        b.config_digest.trim_start_matches("sha256:")
    );
    let info = run(&[
        "info",
        "--format",
        "{{.Host.Security.Rootless}} {{.Store.GraphRoot}} {{.Store.RunRoot}}",
    ]);
    let data = berth.dir.path().join("data/berth");
    assert_eq!(
        info.trim(),
        format!(
            "true {} {}",
            data.join("storage").display(),
            berth.dir.path().join("runtime/berth").display()
        )
    );
    assert!(data.join("berth.db").exists());

    let v: serde_json::Value =
        serde_json::from_str(&run(&["image", "inspect", "busybox"])).unwrap();
    let upper = Path::new(v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap());
    let lower = Path::new(v[0]["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap());
    assert!(upper.starts_with(&data));
    // Everything belongs to the user (no user namespace yet to map owners).
    let owned = std::fs::metadata(upper.join("owned")).unwrap();
    assert_eq!(owned.uid(), uid);
    let wh = std::fs::metadata(upper.join("etc/group")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    let out = std::process::Command::new("getfattr")
        .args(["--only-values", "-n", "user.overlay.opaque"])
        .arg(upper.join("tmp"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"y");
    assert_eq!(
        std::fs::read(lower.join("bin/busybox")).unwrap(),
        std::fs::read("/bin/busybox").unwrap()
    );
    // And the user can remove it all again.
    run(&["rmi", "busybox"]);
    assert!(
        std::fs::read_dir(data.join("storage/layers"))
            .unwrap()
            .next()
            .is_none()
    );
}
