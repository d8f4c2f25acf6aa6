//! Layer compressions and manifest formats, image mounts, dangling parent
//! chains and manifest lists.

use super::*;

#[test]
fn zstd_uncompressed_and_docker_schema2_images() {
    let reg = Registry::start();
    let mut l = Layout::new();
    let z = l.image_compressed(
        &[
            busybox_layer(),
            vec![Entry::File("z", b"zstd".to_vec(), 0o644)],
        ],
        "amd64",
        &["/bin/sh"],
        Some("zstd"),
        "zstd",
    );
    let p = l.image_compressed(
        &[vec![Entry::File("plain", b"plain".to_vec(), 0o644)]],
        "amd64",
        &["/bin/sh"],
        Some("plain"),
        "none",
    );
    let d = l.image(
        &[vec![Entry::File("docker", b"docker".to_vec(), 0o644)]],
        "amd64",
        &["/bin/sh"],
        Some("docker"),
    );
    reg.push_layout(l.path(), "zstd", "formats:zstd", false);
    reg.push_layout(l.path(), "plain", "formats:plain", false);
    reg.push_layout_as(l.path(), "docker", "formats:docker", false, Some("v2s2"));
    let berth = Berth::new(&[&reg]);
    for (tag, built, file, content) in [
        ("zstd", &z, "z", "zstd"),
        ("plain", &p, "plain", "plain"),
        ("docker", &d, "docker", "docker"),
    ] {
        assert_eq!(
            berth.ok(&["pull", "-q", &format!("formats:{tag}")]).trim(),
            id_of(built),
            "{tag}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&berth.ok(&["image", "inspect", &format!("formats:{tag}")]))
                .unwrap();
        let upper = Path::new(v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap());
        assert_eq!(
            std::fs::read_to_string(upper.join(file)).unwrap(),
            content,
            "{tag}"
        );
        if tag == "docker" {
            assert_eq!(
                v[0]["ManifestType"],
                "application/vnd.docker.distribution.manifest.v2+json"
            );
        }
    }
    // Pushing the schema2 image back keeps its digest (manifest bytes as stored).
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "formats:docker"])).unwrap();
    let digestfile = berth.dir.path().join("d");
    berth.ok(&[
        "push",
        "-q",
        "--digestfile",
        digestfile.to_str().unwrap(),
        "formats:docker",
        &format!("{}/again:v1", reg.host()),
    ]);
    assert_eq!(
        std::fs::read_to_string(digestfile).unwrap(),
        v[0]["Digest"].as_str().unwrap()
    );
}

/// Unmounts every image mount a test left, so a failing assertion leaves
/// no mount on the host.
struct UnmountAll<'a>(&'a Berth);

impl Drop for UnmountAll<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["image", "unmount", "--all"]);
    }
}

fn mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(path))
}

#[test]
fn image_mount_is_read_only_counted_and_gone_with_the_image() {
    let reg = Registry::start();
    let b = busybox_image(&reg, "busybox");
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let _guard = UnmountAll(&berth);
    let path = berth.ok(&["image", "mount", "busybox"]).trim().to_string();
    assert!(mounted(&path), "{path}");
    assert!(Path::new(&path).join("bin/busybox").exists());
    let e = std::fs::write(Path::new(&path).join("x"), b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EROFS), "read-only: {e}");
    // Listed with its name; mounted twice, it takes two unmounts.
    let list = berth.ok(&["image", "mount"]);
    let name = format!("{}/busybox:latest", reg.host());
    assert_eq!(
        list.split_whitespace().collect::<Vec<_>>(),
        [name.as_str(), path.as_str()]
    );
    assert_eq!(berth.ok(&["image", "mount", "busybox"]).trim(), path);
    assert_eq!(berth.ok(&["image", "unmount", "busybox"]).trim(), id_of(&b));
    assert!(mounted(&path), "one mount is still counted");
    assert_eq!(berth.ok(&["image", "umount", "busybox"]).trim(), id_of(&b));
    assert!(!mounted(&path));
    assert_eq!(berth.ok(&["image", "mount"]), "");
    assert_eq!(
        berth.ok(&["image", "unmount", "busybox"]),
        "",
        "not mounted: passed over"
    );
    // rmi of a mounted image unmounts it first, as c/storage does.
    let path = berth.ok(&["image", "mount", "busybox"]).trim().to_string();
    berth.ok(&["rmi", "busybox"]);
    assert!(!mounted(&path));
    assert!(!Path::new(&path).exists());
}

#[test]
fn rmi_removes_the_dangling_parent_chain() {
    let reg = Registry::start();
    busybox_image(&reg, "busybox");
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n",
    )
    .unwrap();
    let ctx_path = ctx.path().display().to_string();
    berth.ok(&["build", "-q", "-t", "chain", &ctx_path]);
    let all = || berth.ok(&["images", "-a", "-q"]).lines().count();
    assert_eq!(all(), 3, "base, the intermediate and the built image");
    // A second image on the same intermediate keeps it.
    berth.ok(&["tag", "chain", "other"]);
    let out = berth.ok(&["rmi", "chain"]);
    assert!(out.starts_with("Untagged: localhost/chain:latest"), "{out}");
    assert_eq!(all(), 3);
    let out = berth.ok(&["rmi", "-f", "other"]);
    assert_eq!(out.matches("Deleted: ").count(), 2, "{out}");
    assert_eq!(all(), 1, "the named base image stays");
    // So the next build runs its steps again instead of using a cache.
    let out = berth.ok(&["build", "-t", "chain", &ctx_path]);
    assert!(!out.contains("Using cache"), "{out}");
}

fn reg_dir_file(berth: &Berth, name: &str) -> String {
    berth.dir.path().join(name).display().to_string()
}

#[test]
fn manifest_lists_are_made_edited_pushed_and_removed() {
    let reg = Registry::start();
    let b = busybox_image(&reg, "busybox");
    let mut l = Layout::new();
    let arm = l.image(&[busybox_layer()], "arm64", &["/bin/sh"], None);
    let amd = l.image(&[busybox_layer()], "amd64", &["/bin/true"], None);
    l.list(&[(&arm, "arm64"), (&amd, "amd64")], "multi");
    reg.push_layout(l.path(), "multi", "multi:latest", true);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);

    let id = berth
        .ok(&["manifest", "create", "test:1.0"])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    let empty: serde_json::Value =
        serde_json::from_str(&berth.ok(&["manifest", "inspect", "test:1.0"])).unwrap();
    assert_eq!(empty["schemaVersion"], 2);
    assert_eq!(
        empty["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(empty["manifests"], serde_json::json!([]));
    // images lists the real images still.
    assert_eq!(
        berth.ok(&["images", "-q", "--no-trunc"]).trim(),
        b.config_digest
    );
    berth.fails(&["manifest", "create", "test:1.0"], 125);

    // A local image, and the registry's list: all of it, or the host's entry.
    assert_eq!(
        berth
            .ok(&["manifest", "add", "test:1.0", "containers-storage:busybox"])
            .trim(),
        id
    );
    let multi = format!("docker://{}/multi:latest", reg.host());
    berth.ok(&["manifest", "add", "--all", "test:1.0", &multi]);
    berth.ok(&[
        "manifest",
        "add",
        "--os",
        "plan9",
        "--annotation",
        "k=v",
        "test:1.0",
        &multi,
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["manifest", "inspect", "test:1.0"])).unwrap();
    let m = v["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 3, "{v}");
    assert_eq!(m[0]["digest"], b.manifest_digest);
    assert_eq!(m[0]["platform"]["architecture"], "amd64");
    assert_eq!(m[1]["digest"], arm.manifest_digest);
    assert_eq!(
        m[2]["digest"], amd.manifest_digest,
        "added again: replaced, last"
    );
    assert_eq!(m[2]["platform"]["os"], "plan9");
    assert_eq!(m[2]["annotations"]["k"], "v");

    berth.ok(&["manifest", "remove", "test:1.0", &arm.manifest_digest]);
    let e = berth.fails(
        &["manifest", "remove", "test:1.0", &arm.manifest_digest],
        125,
    );
    assert!(e.contains("no instance matching digest"), "{e}");
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["manifest", "inspect", "test:1.0"])).unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 2);

    // Pushed with its images (a local one, one copied from the registry's
    // list) and read back from the registry as a list.
    let pushed = format!("{}/pushed:1", reg.host());
    let e = berth.fails(&["manifest", "push", "-q", "test:1.0", &pushed], 125);
    assert!(
        e.contains("pushed"),
        "without --all the registry lacks the entries: {e}"
    );
    let digestfile = reg_dir_file(&berth, "digest");
    berth.ok(&[
        "manifest",
        "push",
        "-q",
        "--all",
        "--digestfile",
        &digestfile,
        "test:1.0",
        &pushed,
    ]);
    berth.ok(&[
        "manifest",
        "create",
        "back",
        &format!("docker://{pushed}"),
        "--all",
    ]);
    let back: serde_json::Value =
        serde_json::from_str(&berth.ok(&["manifest", "inspect", "back"])).unwrap();
    assert_eq!(back["manifests"], v["manifests"]);
    let d = std::fs::read_to_string(&digestfile).unwrap();
    assert!(d.starts_with("sha256:") && d.len() == 71, "{d}");
    berth.ok(&["manifest", "rm", "back"]);

    berth.ok(&["manifest", "exists", "test:1.0"]);
    let out = berth.ok(&["rmi", "test:1.0"]);
    assert_eq!(
        out,
        format!("Untagged: localhost/test:1.0\nDeleted: {id}\n")
    );
    berth.fails(&["manifest", "exists", "test:1.0"], 1);
    berth.fails(&["manifest", "inspect", "test:1.0"], 125);
    berth.ok(&["manifest", "create", "other"]);
    assert!(
        berth
            .ok(&["manifest", "rm", "other"])
            .starts_with("Untagged: localhost/other:latest")
    );
    assert!(
        berth.ok(&["images", "-q"]).trim().len() == 12,
        "the image stays"
    );
}
