//! End-to-end image tests: the berth binary against a real registry
//! (Debian's docker-registry), seeded by skopeo.

mod common;

use common::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

#[path = "images/formats.rs"]
mod formats;
#[path = "images/hostile.rs"]
mod hostile;

fn busybox_image(reg: &Registry, name: &str) -> Built {
    let mut l = Layout::new();
    let b = l.image(&[busybox_layer()], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", &format!("{name}:latest"), false);
    b
}

fn id_of(b: &Built) -> String {
    b.config_digest.trim_start_matches("sha256:").to_string()
}

fn store_entries(berth: &Berth, sub: &str) -> Vec<String> {
    let p = berth.root().join("storage").join(sub);
    match std::fs::read_dir(&p) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    }
}

#[test]
fn pull_by_tag_and_digest_then_list_and_inspect() {
    let reg = Registry::start();
    let b = busybox_image(&reg, "busybox");
    let berth = Berth::new(&[&reg]);
    let out = berth.ok(&["pull", "-q", "busybox"]);
    assert_eq!(out.trim(), id_of(&b));

    let images = berth.ok(&["images"]);
    let lines: Vec<&str> = images.lines().collect();
    assert!(lines[0].starts_with("REPOSITORY"), "{images}");
    assert!(
        lines[0].contains("IMAGE ID") && lines[0].contains("CREATED") && lines[0].contains("SIZE")
    );
    assert!(
        lines[1].starts_with(&format!("{}/busybox", reg.host())),
        "{images}"
    );
    assert!(lines[1].contains(&id_of(&b)[..12]));

    let by_digest = format!("{}/busybox@{}", reg.host(), b.manifest_digest);
    assert_eq!(berth.ok(&["pull", "-q", &by_digest]).trim(), id_of(&b));

    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "busybox"])).unwrap();
    assert_eq!(v[0]["Id"], id_of(&b));
    assert_eq!(v[0]["Digest"], b.manifest_digest);
    assert_eq!(v[0]["RepoDigests"][0], by_digest);
    assert_eq!(v[0]["Config"]["Cmd"][0], "/bin/sh");
    assert_eq!(v[0]["Architecture"], "amd64");
    let fmt = berth.ok(&[
        "inspect",
        "--format",
        "{{.Id}} {{.Os}} {{index .RepoTags 0}}",
        "busybox",
    ]);
    assert_eq!(
        fmt.trim(),
        format!("{} linux {}/busybox:latest", id_of(&b), reg.host())
    );

    // The unpacked layer holds busybox itself, byte for byte.
    let diff = v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap();
    assert_eq!(
        std::fs::read(Path::new(diff).join("bin/busybox")).unwrap(),
        std::fs::read("/bin/busybox").unwrap()
    );

    let q = berth.ok(&["images", "-q"]);
    assert_eq!(q.trim(), &id_of(&b)[..12]);
    let tmpl = berth.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"]);
    assert!(
        tmpl.starts_with(&format!("{}/busybox:latest ", reg.host())),
        "{tmpl}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&berth.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(json[0]["Id"], id_of(&b));
    assert!(
        berth
            .ok(&["images", "--digests"])
            .contains(&b.manifest_digest)
    );
    assert!(
        berth
            .ok(&["images", "--filter", "reference=busy*", "-q"])
            .contains(&id_of(&b)[..12])
    );
    assert_eq!(
        berth
            .ok(&["images", "--filter", "dangling=true", "-q"])
            .trim(),
        ""
    );
    assert!(
        berth
            .ok(&["images", "--filter", "label=test=berth", "-q"])
            .contains(&id_of(&b)[..12])
    );

    let hist = berth.ok(&["history", "busybox"]);
    assert!(
        hist.lines().next().unwrap().contains("CREATED BY"),
        "{hist}"
    );
    assert!(hist.contains("layer 0"));

    let info = berth.ok(&[
        "info",
        "--format",
        "{{.Store.ImageStore.Number}} {{.Host.Security.Rootless}}",
    ]);
    assert_eq!(info.trim(), "1 false");
    assert!(berth.ok(&["info"]).contains("graphRoot:"));
    assert!(berth.ok(&["version"]).contains("Version:"));
    // podman's `untag IMG IMG@DIGEST` forgets the digested name only.
    berth.ok(&["untag", "busybox", &by_digest]);
    berth.ok(&["image", "exists", "busybox"]);
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "busybox"])).unwrap();
    assert_eq!(v[0]["RepoDigests"], serde_json::json!([]));
    let err = berth.fails(&["untag", "busybox", &by_digest], 125);
    assert!(err.contains("tag not known"), "{err}");
}

#[test]
fn multi_layer_whiteouts_and_metadata_unpack_exactly() {
    let reg = Registry::start();
    let mut l = Layout::new();
    let base = vec![
        Entry::Dir("a", 0o755),
        Entry::File("a/x", b"x".to_vec(), 0o644),
        Entry::File("a/y", b"y".to_vec(), 0o600),
        Entry::Dir("b", 0o750),
        Entry::File("b/z", b"z".to_vec(), 0o644),
        Entry::File("c", b"c".to_vec(), 0o755),
        Entry::Owned("owned", b"o".to_vec(), 1234, 5678),
        Entry::Hardlink("a/y-link", "a/y"),
        Entry::Symlink("s", "/a/x"),
        Entry::Fifo("fifo"),
        Entry::Xattr("xattr-file", "user.berth", "yes"),
    ];
    let top = vec![
        Entry::File("a/.wh.x", vec![], 0o644),
        Entry::Dir("b", 0o750),
        Entry::File("b/.wh..wh..opq", vec![], 0o644),
        Entry::File("b/new", b"new".to_vec(), 0o644),
        Entry::File(".wh.c", vec![], 0o644),
    ];
    let b = l.image(&[base, top], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "layers:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "layers"]);
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "layers"])).unwrap();
    assert_eq!(v[0]["Id"], id_of(&b));
    let upper = Path::new(v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap()).to_path_buf();
    let lower = Path::new(v[0]["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap()).to_path_buf();

    assert_eq!(
        tree(&lower),
        [
            "a/",
            "a/x",
            "a/y",
            "a/y-link",
            "b/",
            "b/z",
            "c",
            "fifo (fifo)",
            "owned",
            "s -> /a/x",
            "xattr-file"
        ]
    );
    assert_eq!(
        tree(&upper),
        ["a/", "a/x (whiteout)", "b/", "b/new", "c (whiteout)"]
    );
    let wh = std::fs::metadata(upper.join("c")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    assert_eq!(
        xattr(&upper.join("b"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(
        xattr(&lower.join("xattr-file"), "user.berth").as_deref(),
        Some(&b"yes"[..])
    );
    let owned = std::fs::metadata(lower.join("owned")).unwrap();
    assert_eq!(
        (owned.uid(), owned.gid(), owned.mode() & 0o7777),
        (1234, 5678, 0o640)
    );
    assert_eq!(
        std::fs::metadata(lower.join("a/y")).unwrap().mode() & 0o7777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(lower.join("b")).unwrap().mode() & 0o7777,
        0o750
    );
    assert_eq!(
        std::fs::metadata(lower.join("a/y")).unwrap().ino(),
        std::fs::metadata(lower.join("a/y-link")).unwrap().ino()
    );
    assert_eq!(
        std::fs::metadata(lower.join("c")).unwrap().mtime(),
        1_700_000_000
    );
    assert_eq!(
        std::fs::metadata(lower.join("a")).unwrap().mtime(),
        1_700_000_000
    );

    // And overlayfs reads the two layers as the image means them.
    let mnt = tempfile::tempdir().unwrap();
    let opts = format!("lowerdir={}:{}", upper.display(), lower.display());
    let st = std::process::Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &opts])
        .arg(mnt.path())
        .status()
        .unwrap();
    assert!(st.success());
    let merged = tree(mnt.path());
    let _ = std::process::Command::new("umount")
        .arg(mnt.path())
        .status();
    assert_eq!(
        merged,
        [
            "a/",
            "a/y",
            "a/y-link",
            "b/",
            "b/new",
            "fifo (fifo)",
            "owned",
            "s -> /a/x",
            "xattr-file"
        ]
    );
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let out = std::process::Command::new("getfattr")
        .args(["--only-values", "-h", "-n", name])
        .arg(p)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn manifest_list_picks_the_platform() {
    let reg = Registry::start();
    let mut l = Layout::new();
    let amd = l.image(&[busybox_layer()], "amd64", &["/bin/sh"], None);
    let arm = l.image(
        &[vec![Entry::File("arm", b"arm".to_vec(), 0o644)]],
        "arm64",
        &["/bin/sh"],
        None,
    );
    let list = l.list(&[(&amd, "amd64"), (&arm, "arm64")], "multi");
    reg.push_layout(l.path(), "multi", "multi:latest", true);
    let berth = Berth::new(&[&reg]);
    assert_eq!(berth.ok(&["pull", "-q", "multi"]).trim(), id_of(&amd));
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "multi"])).unwrap();
    let digests: Vec<&str> = v[0]["RepoDigests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(digests.iter().any(|d| d.ends_with(&list)), "{digests:?}");
    assert!(
        digests.iter().any(|d| d.ends_with(&amd.manifest_digest)),
        "{digests:?}"
    );

    let other = Berth::new(&[&reg]);
    assert_eq!(
        other
            .ok(&["pull", "-q", "--platform", "linux/arm64", "multi"])
            .trim(),
        id_of(&arm)
    );
    let err = other.fails(&["pull", "-q", "--platform", "linux/s390x", "multi"], 125);
    assert!(
        err.contains("linux/s390x") && err.contains("linux/amd64") && err.contains("linux/arm64"),
        "{err}"
    );
}

#[test]
fn auth_login_pull_logout() {
    let reg = Registry::start_with_auth("alice", "s3cret");
    let b = busybox_image(&reg, "private");
    let berth = Berth::new(&[&reg]);
    let name = format!("{}/private", reg.host());
    let err = berth.fails(&["pull", "-q", &name], 125);
    assert!(
        err.contains("authentication") && err.contains("login"),
        "{err}"
    );

    let err = berth.fails(&["login", "-u", "alice", "-p", "wrong", &reg.host()], 125);
    assert!(err.contains(&reg.host()), "{err}");
    assert!(
        berth
            .ok(&["login", "-u", "alice", "-p", "s3cret", &reg.host()])
            .contains("Login Succeeded!")
    );
    assert_eq!(
        berth.ok(&["login", "--get-login", &reg.host()]).trim(),
        "alice"
    );
    assert_eq!(berth.ok(&["pull", "-q", &name]).trim(), id_of(&b));
    assert!(
        berth
            .ok(&["logout", &reg.host()])
            .contains("Removed login credentials")
    );
    berth.ok(&["rmi", &name]);
    let err = berth.fails(&["pull", "-q", &name], 125);
    assert!(err.contains("authentication"), "{err}");
    // --creds works without a stored login; --password-stdin too.
    assert_eq!(
        berth
            .ok(&["pull", "-q", "--creds", "alice:s3cret", &name])
            .trim(),
        id_of(&b)
    );
    let mut c = berth.cmd();
    c.args(["login", "-u", "alice", "--password-stdin", &reg.host()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn push_then_pull_back_with_identical_digests() {
    let reg = Registry::start();
    let mut l = Layout::new();
    let b = l.image(
        &[
            busybox_layer(),
            vec![Entry::File("extra", b"e".to_vec(), 0o644)],
        ],
        "amd64",
        &["/bin/sh"],
        Some("latest"),
    );
    reg.push_layout(l.path(), "latest", "src:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "src"]);
    let dest = format!("{}/copy/app:v1", reg.host());
    berth.ok(&["tag", "src", &dest]);
    let digestfile = berth.dir.path().join("digest");
    berth.ok(&[
        "push",
        "-q",
        "--digestfile",
        digestfile.to_str().unwrap(),
        &dest,
    ]);
    assert_eq!(
        std::fs::read_to_string(&digestfile).unwrap(),
        b.manifest_digest
    );
    // skopeo sees what we pushed: same manifest digest.
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &format!("docker://{dest}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Digest"], b.manifest_digest);

    // Pushing to a second name in the same registry: blobs exist, only the manifest goes.
    berth.ok(&[
        "push",
        "-q",
        "src",
        &format!("docker://{}/copy/other:v2", reg.host()),
    ]);

    let fresh = Berth::new(&[&reg]);
    assert_eq!(fresh.ok(&["pull", "-q", &dest]).trim(), id_of(&b));
    let v: serde_json::Value =
        serde_json::from_str(&fresh.ok(&["image", "inspect", &dest])).unwrap();
    assert_eq!(v[0]["Digest"], b.manifest_digest);
    // An unqualified destination without a registry is refused clearly.
    let err = berth.fails(&["push", "src", "nohost/app"], 125);
    assert!(err.contains("registry"), "{err}");
}

#[test]
fn save_and_load_round_trip_in_both_formats() {
    let reg = Registry::start();
    let b = busybox_image(&reg, "busybox");
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let name = format!("{}/busybox:latest", reg.host());
    for format in ["docker-archive", "oci-archive"] {
        let file = berth.dir.path().join(format!("{format}.tar"));
        berth.ok(&[
            "save",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "busybox",
        ]);
        // Another client reads what we wrote.
        let out = std::process::Command::new("skopeo")
            .args(["inspect", &format!("{format}:{}", file.display())])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo cannot read our {format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fresh = Berth::new(&[&reg]);
        let out = fresh.ok(&["load", "-i", file.to_str().unwrap()]);
        assert_eq!(out.trim(), format!("Loaded image: {name}"), "{format}");
        let v: serde_json::Value =
            serde_json::from_str(&fresh.ok(&["image", "inspect", &name])).unwrap();
        assert_eq!(v[0]["Id"], id_of(&b), "{format}");
        let upper = v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap();
        assert_eq!(
            std::fs::read(Path::new(upper).join("bin/busybox")).unwrap(),
            std::fs::read("/bin/busybox").unwrap()
        );
    }
    // Through a pipe: save to stdout, load from stdin.
    let saved = berth.cmd().args(["save", "busybox"]).output().unwrap();
    assert!(saved.status.success());
    let fresh = Berth::new(&[&reg]);
    let mut c = fresh.cmd();
    c.arg("load")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&saved.stdout)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        fresh.ok(&["images", "-q", "--no-trunc"]).trim(),
        b.config_digest
    );
    // A file that is not an archive is refused, and nothing is stored.
    let junk = berth.dir.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar").unwrap();
    let fresh = Berth::new(&[&reg]);
    let err = fresh.fails(&["load", "-i", junk.to_str().unwrap()], 125);
    assert!(err.starts_with("Error: "), "{err}");
    assert_eq!(fresh.ok(&["images", "-q"]).trim(), "");
}

#[test]
fn import_export_style_rootfs_with_changes() {
    let berth = Berth::new(&[]);
    let tar = layer_tar(&busybox_layer());
    let file = berth.dir.path().join("rootfs.tar.gz");
    std::fs::write(&file, gzip(&tar)).unwrap();
    let id = berth.ok(&[
        "import",
        "--change",
        "CMD=[\"/bin/echo\",\"hi\"]",
        "-c",
        "ENV FOO=bar",
        "-m",
        "imported",
        file.to_str().unwrap(),
        "myimg:v1",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "myimg:v1"])).unwrap();
    assert_eq!(v[0]["Id"], id.trim());
    assert_eq!(v[0]["RepoTags"][0], "localhost/myimg:v1");
    assert_eq!(v[0]["Config"]["Cmd"][1], "hi");
    assert_eq!(v[0]["Config"]["Env"][0], "FOO=bar");
    assert_eq!(v[0]["RootFS"]["Layers"][0], sha256(&tar));
    assert_eq!(v[0]["Comment"], "imported");
}

#[test]
fn rmi_of_a_shared_layer_keeps_the_other_image() {
    let reg = Registry::start();
    let mut l = Layout::new();
    let a = l.image(&[busybox_layer()], "amd64", &["/bin/sh"], Some("a"));
    let b = l.image(
        &[
            busybox_layer(),
            vec![Entry::File("b", b"b".to_vec(), 0o644)],
        ],
        "amd64",
        &["/bin/sh"],
        Some("b"),
    );
    reg.push_layout(l.path(), "a", "img-a:latest", false);
    reg.push_layout(l.path(), "b", "img-b:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "img-a"]);
    berth.ok(&["pull", "-q", "img-b"]);
    assert_eq!(store_entries(&berth, "layers").len(), 2);
    let out = berth.ok(&["rmi", "img-b"]);
    assert!(
        out.contains("Untagged: ") && out.contains(&format!("Deleted: {}", id_of(&b))),
        "{out}"
    );
    assert_eq!(store_entries(&berth, "layers").len(), 1);
    // What remains still saves (every blob it needs is there).
    let file = berth.dir.path().join("a.tar");
    berth.ok(&["save", "-o", file.to_str().unwrap(), "img-a"]);
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "img-a"])).unwrap();
    assert_eq!(v[0]["Id"], id_of(&a));

    // A second name: rmi by name untags; rmi by ID with two names needs -f.
    berth.ok(&["tag", "img-a", "other:1"]);
    let err = berth.fails(&["rmi", &id_of(&a)[..12]], 125);
    assert!(err.contains("more than one tag"), "{err}");
    assert_eq!(
        berth.ok(&["rmi", "other:1"]).trim(),
        "Untagged: localhost/other:1"
    );
    berth.ok(&["tag", "img-a", "other:1"]);
    berth.ok(&["rmi", "-f", &id_of(&a)[..12]]);
    assert!(store_entries(&berth, "layers").is_empty());
    assert!(store_entries(&berth, "blobs/sha256").is_empty());
    let err = berth.fails(&["rmi", "img-a"], 1);
    assert!(err.contains("img-a: image not known"), "{err}");
    berth.ok(&["rmi", "-i", "img-a"]);
}

#[test]
fn untag_tag_exists_and_prune() {
    let reg = Registry::start();
    let b = busybox_image(&reg, "busybox");
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    berth.ok(&["image", "exists", "busybox"]);
    berth.fails(&["image", "exists", "nothere"], 1);
    berth.ok(&["untag", "busybox"]);
    let out = berth.ok(&["images"]);
    assert!(out.contains("<none>"), "{out}");
    assert_eq!(
        berth
            .ok(&["images", "-q", "--filter", "dangling=true"])
            .trim(),
        &id_of(&b)[..12]
    );
    assert_eq!(berth.ok(&["image", "prune", "-f"]).trim(), id_of(&b));
    assert_eq!(berth.ok(&["images", "-q"]).trim(), "");
    assert!(store_entries(&berth, "layers").is_empty());
}

#[test]
fn concurrent_pulls_end_in_one_consistent_copy() {
    let reg = Registry::start();
    let mut l = Layout::new();
    let big: Vec<u8> = (0..8_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let b = l.image(
        &[busybox_layer(), vec![Entry::File("big", big, 0o644)]],
        "amd64",
        &["/bin/sh"],
        Some("latest"),
    );
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    let berth = Berth::new(&[&reg]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            berth
                .cmd()
                .args(["pull", "-q", "busybox"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id_of(&b));
    }
    assert_eq!(berth.ok(&["images", "-q"]).lines().count(), 1);
    assert_eq!(store_entries(&berth, "layers").len(), 2);
    // layers + config + manifest
    assert_eq!(store_entries(&berth, "blobs/sha256").len(), 4);
    assert!(
        store_entries(&berth, "tmp").is_empty(),
        "{:?}",
        store_entries(&berth, "tmp")
    );
}

/// Incompressible bytes (xorshift), so a layer's blob is as big as its content.
fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x9E3779B97F4A7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
