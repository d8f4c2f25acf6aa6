//! What goes wrong on the way in: malformed references, a corrupt blob,
//! layers whose paths climb out, a pull killed mid-download.

use super::*;

#[test]
fn malformed_and_unknown_references() {
    let reg = Registry::start();
    let reg2 = Registry::start();
    let berth = Berth::new(&[&reg, &reg2]);
    let err = berth.fails(&["pull", "Bad//Name"], 125);
    assert!(err.contains("invalid reference format"), "{err}");
    let err = berth.fails(&["pull", "UPPER"], 125);
    assert!(err.contains("must be lowercase"), "{err}");
    let err = berth.fails(&["pull", "-q", "nosuchimage"], 125);
    assert!(
        err.contains(&reg.host()) && err.contains(&reg2.host()) && err.contains("not found"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let err = berth.fails(&["pull", &format!("{}/nosuch:tag", reg.host())], 125);
    assert!(err.contains("not found"), "{err}");
    let err = berth.fails(&["image", "inspect", "nosuch"], 125);
    assert!(err.contains("no such object"), "{err}");
    let err = berth.fails(&["pull", "127.0.0.1:1/nothing"], 125);
    assert!(err.contains("cannot reach registry 127.0.0.1:1"), "{err}");
    let empty = Berth::new(&[]);
    let err = empty.fails(&["pull", "busybox"], 125);
    assert!(err.contains("no unqualified-search registries"), "{err}");
}

#[test]
fn corrupt_blob_fails_and_stores_nothing() {
    let reg = Registry::start();
    let b = busybox_image(&reg, "busybox");
    reg.corrupt_blob(&b.layer_digests[0]);
    let berth = Berth::new(&[&reg]);
    let err = berth.fails(&["pull", "-q", "busybox"], 125);
    assert!(
        err.contains("failed verification") && err.contains(&b.layer_digests[0]),
        "{err}"
    );
    assert_eq!(berth.ok(&["images", "-q"]).trim(), "");
    assert!(store_entries(&berth, "layers").is_empty());
    assert!(store_entries(&berth, "blobs/sha256").is_empty());
    assert!(
        store_entries(&berth, "tmp").is_empty(),
        "{:?}",
        store_entries(&berth, "tmp")
    );
}

#[test]
fn hostile_layer_paths_never_escape() {
    let reg = Registry::start();
    let outside = tempfile::tempdir().unwrap();
    let target: &'static str = Box::leak(outside.path().display().to_string().into_boxed_str());
    let mut l = Layout::new();
    // ../ climbing out: refused outright.
    l.image(
        &[vec![Entry::RawFile(
            "../../../../escaped".into(),
            b"x".to_vec(),
        )]],
        "amd64",
        &["/bin/sh"],
        Some("dotdot"),
    );
    // A symlink to the host dir, then a file through it: refused.
    l.image(
        &[vec![
            Entry::Symlink("link", target),
            Entry::RawFile("link/pwned".into(), b"x".to_vec()),
        ]],
        "amd64",
        &["/bin/sh"],
        Some("symlink"),
    );
    // An absolute path lands inside the layer; a hard link out is refused.
    l.image(
        &[vec![Entry::RawFile(format!("{target}/abs"), b"x".to_vec())]],
        "amd64",
        &["/bin/sh"],
        Some("abs"),
    );
    l.image(
        &[vec![Entry::Hardlink("hl", "../../../../etc/passwd")]],
        "amd64",
        &["/bin/sh"],
        Some("hardlink"),
    );
    for t in ["dotdot", "symlink", "abs", "hardlink"] {
        reg.push_layout(l.path(), t, &format!("hostile:{t}"), false);
    }
    let berth = Berth::new(&[&reg]);
    for t in ["dotdot", "symlink", "hardlink"] {
        let err = berth.fails(&["pull", "-q", &format!("hostile:{t}")], 125);
        assert!(err.contains("layer"), "{t}: {err}");
    }
    berth.ok(&["pull", "-q", "hostile:abs"]);
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "hostile:abs"])).unwrap();
    let upper = Path::new(v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap());
    assert!(
        upper
            .join(target.trim_start_matches('/'))
            .join("abs")
            .exists()
    );
    assert!(
        std::fs::read_dir(outside.path()).unwrap().next().is_none(),
        "something was written outside"
    );
    assert!(!berth.root().join("escaped").exists() && !Path::new("/escaped").exists());
    assert!(store_entries(&berth, "tmp").is_empty());
}

#[test]
fn pull_killed_mid_download_then_pull_succeeds() {
    let reg = Registry::start();
    let mut l = Layout::new();
    let b = l.image(
        &[
            busybox_layer(),
            vec![Entry::File("big", noise(6_000_000), 0o644)],
        ],
        "amd64",
        &["/bin/sh"],
        Some("latest"),
    );
    reg.push_layout(l.path(), "latest", "slow:latest", false);
    let big_tmp = format!("blob-{}", &b.layer_digests[1][7..19]);
    let proxy = SlowProxy::start(reg.port);
    let berth = Berth::new(&[&reg]);
    std::fs::write(
        &berth.registries_conf,
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            proxy.host()
        ),
    )
    .unwrap();
    let name = format!("{}/slow:latest", proxy.host());
    let mut child = berth.cmd().args(["pull", "-q", &name]).spawn().unwrap();
    // Wait until some layer bytes have landed in a temp file, then SIGKILL.
    let tmp = berth.root().join("storage/tmp");
    let start = std::time::Instant::now();
    'wait: loop {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "pull never started writing"
        );
        if let Ok(rd) = std::fs::read_dir(&tmp) {
            for d in rd.flatten().filter(|e| e.path().is_dir()) {
                for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                    if f.file_name().to_string_lossy().starts_with(&big_tmp)
                        && f.metadata().map(|m| m.len() > 100_000).unwrap_or(false)
                    {
                        break 'wait;
                    }
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Nothing half-written is visible under a final name.
    assert!(
        !berth
            .root()
            .join("storage/blobs/sha256")
            .join(&b.layer_digests[1][7..])
            .exists()
    );
    assert!(store_entries(&berth, "layers").len() <= 1);
    assert_eq!(berth.ok(&["images", "-q"]).trim(), "");
    proxy
        .throttle
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(berth.ok(&["pull", "-q", &name]).trim(), id_of(&b));
    assert!(
        store_entries(&berth, "tmp").is_empty(),
        "dead process's temp space was swept: {:?}",
        store_entries(&berth, "tmp")
    );
    assert_eq!(store_entries(&berth, "layers").len(), 2);
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", &name])).unwrap();
    let upper = Path::new(v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap());
    assert_eq!(
        std::fs::metadata(upper.join("big")).unwrap().len(),
        6_000_000
    );
}
