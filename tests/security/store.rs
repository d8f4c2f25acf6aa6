//! Attacks on the store and what feeds it: an archive naming host files,
//! another local user reading secrets or running setuid binaries out of
//! the store, layers that are sparse bombs or escape through symlinks, a
//! registry that sends more than the manifest declared, and a
//! registries.conf that is not there.

use super::common::*;
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const MARKER: &str = "SECRET-MARKER-7f3a";

/// A host file an attacker would like to read: long enough that a tar
/// reader parses it as a header (and could quote it in an error).
fn host_secret(dir: &Path) -> PathBuf {
    let p = dir.join("shadow");
    let line = format!("root:$6${MARKER}$hash:19000:0:99999:7:::\n");
    std::fs::write(&p, line.repeat(40)).unwrap();
    p
}

fn tar_file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    b.append_data(&mut h, path, data).unwrap();
}

/// A docker-archive whose manifest.json names `layer` (and `config`) as
/// given, with `extra` members added by the caller.
fn docker_archive(
    layer: &str,
    config: &str,
    extra: impl FnOnce(&mut tar::Builder<Vec<u8>>),
) -> Vec<u8> {
    let real_layer = layer_tar(&[Entry::File("f", b"x".to_vec(), 0o644)]);
    let cfg = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(&real_layer)]},
    });
    let manifest = json!([{"Config": config, "RepoTags": ["evil:latest"], "Layers": [layer]}]);
    let mut b = tar::Builder::new(Vec::new());
    tar_file(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    tar_file(&mut b, "config.json", &serde_json::to_vec(&cfg).unwrap());
    tar_file(&mut b, "layer.tar", &real_layer);
    extra(&mut b);
    b.into_inner().unwrap()
}

fn one_line(err: &str) {
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("Error: "), "{err}");
}

#[test]
fn load_refuses_paths_outside_the_archive() {
    let berth = Berth::new(&[]);
    let secret = host_secret(berth.dir.path());
    let abs = secret.to_str().unwrap().to_string();
    let up = format!("{}{}", "../".repeat(20), abs.trim_start_matches('/'));
    let cases: Vec<(String, Vec<u8>)> = vec![
        (
            format!("layer path {abs:?} is not inside the archive"),
            docker_archive(&abs, "config.json", |_| {}),
        ),
        (
            format!("layer path {up:?} is not inside the archive"),
            docker_archive(&up, "config.json", |_| {}),
        ),
        (
            "layer path \"link.tar\" is not inside the archive".into(),
            docker_archive("link.tar", "config.json", |b| {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                h.set_mtime(0);
                b.append_link(&mut h, "link.tar", &abs).unwrap();
            }),
        ),
        (
            format!("config path {abs:?} is not inside the archive"),
            docker_archive("layer.tar", &abs, |_| {}),
        ),
    ];
    for (i, (want, archive)) in cases.iter().enumerate() {
        let file = berth.dir.path().join(format!("evil-{i}.tar"));
        std::fs::write(&file, archive).unwrap();
        let err = berth.fails(&["load", "-i", file.to_str().unwrap()], 125);
        one_line(&err);
        assert_eq!(err.trim_end(), format!("Error: {want}"));
        assert!(!err.contains(MARKER), "{err}");
    }
    assert_eq!(berth.ok(&["images", "-q"]).trim(), "");
    // The same archive with honest paths loads.
    let file = berth.dir.path().join("good.tar");
    std::fs::write(&file, docker_archive("layer.tar", "config.json", |_| {})).unwrap();
    let out = berth.ok(&["load", "-i", file.to_str().unwrap()]);
    assert!(out.contains("evil:latest"), "{out}");
}

/// Run `prog args` as `uid`: (success, stdout + stderr); a program that
/// cannot even be executed counts as a failure with its error as output.
fn as_user(uid: u32, gid: u32, prog: &Path, args: &[&str]) -> (bool, String) {
    match Command::new(prog).args(args).uid(uid).gid(gid).output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every file named `name` under `dir` (the test runs as root).
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(find(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    out
}

#[test]
fn another_user_cannot_reach_the_store() {
    let (uid, gid) = test_user();
    let mut layer = busybox_layer();
    let bb = std::fs::read("/bin/busybox").unwrap();
    layer.push(Entry::File("bin/suid", bb, 0o4755));
    let reg = registry_with(layer);
    let berth = Berth::new(&[&reg]);
    // Only berth's own modes stand between the other user and the store.
    std::fs::set_permissions(berth.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    berth.ok(&[
        "run",
        "--name",
        "victim",
        "-e",
        "DB_PASSWORD=s3cret",
        "busybox",
        "sh",
        "-c",
        "echo log-$DB_PASSWORD; cp /bin/busybox /x && chmod 4755 /x",
    ]);
    assert!(berth.ok(&["logs", "victim"]).contains("log-s3cret"));

    let root = berth.root();
    let config = find(&root.join("containers"), "config.json");
    let log = find(&root.join("containers"), "ctr.log");
    let planted = find(&root.join("containers"), "x");
    let shipped = find(&root.join("storage/layers"), "suid");
    assert_eq!(
        (config.len(), log.len(), planted.len(), shipped.len()),
        (1, 1, 1, 1)
    );
    // The attack is real: the secret is there, the binaries are setuid root.
    assert!(
        std::fs::read_to_string(&config[0])
            .unwrap()
            .contains("s3cret")
    );
    assert!(
        std::fs::read_to_string(&log[0])
            .unwrap()
            .contains("log-s3cret")
    );
    for p in [&planted[0], &shipped[0]] {
        let m = std::fs::metadata(p).unwrap();
        assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o4755), "{}", p.display());
    }

    let cat = Path::new("/bin/cat");
    // Control: the other user does read what is world-readable there.
    let public = berth.dir.path().join("public");
    std::fs::write(&public, "public").unwrap();
    std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        as_user(uid, gid, cat, &[public.to_str().unwrap()]),
        (true, "public".to_string())
    );
    for f in [&config[0], &log[0], &root.join("berth.db")] {
        let (ok, out) = as_user(uid, gid, cat, &[f.to_str().unwrap()]);
        assert!(!ok, "{} readable by another user: {out}", f.display());
        assert!(!out.contains("s3cret"), "{out}");
    }
    for bin in [&planted[0], &shipped[0]] {
        let (ok, out) = as_user(uid, gid, bin, &["id", "-u"]);
        assert!(!ok, "{} runnable by another user: {out}", bin.display());
        assert_ne!(out.trim(), "0");
    }
    let (ok, _) = as_user(uid, gid, Path::new("/bin/ls"), &[root.to_str().unwrap()]);
    assert!(!ok, "the root dir can be listed by another user");

    // Modes as created: dirs 0700, files 0600, the runroot too.
    let run = berth.dir.path().join("run");
    for d in [
        root.clone(),
        root.join("containers"),
        root.join("storage"),
        root.join("storage/layers"),
        root.join("storage/blobs"),
        root.join("storage/tmp"),
        run.clone(),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    assert_eq!(mode(&root.join("berth.db")), 0o600);
    assert_eq!(mode(&config[0]), 0o600);

    // Containers still see their own files through 0700 parents: a
    // non-root user in the container, an image file, a bind mount and a
    // named volume.
    let out = berth.ok(&["run", "--rm", "-u", "1000", "busybox", "ls", "/"]);
    assert!(out.lines().any(|l| l == "bin"), "{out}");
    let host = tempfile::tempdir().unwrap();
    std::fs::set_permissions(host.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(host.path().join("f"), "bind-ok").unwrap();
    let bind = format!("{}:/data", host.path().display());
    let out = berth.ok(&[
        "run", "--rm", "-u", "1000", "-v", &bind, "busybox", "cat", "/data/f",
    ]);
    assert_eq!(out.trim(), "bind-ok");
    berth.ok(&[
        "run",
        "--rm",
        "-v",
        "vol:/v",
        "busybox",
        "sh",
        "-c",
        "echo vol-ok > /v/f; chmod 755 /v",
    ]);
    let out = berth.ok(&[
        "run", "--rm", "-u", "1000", "-v", "vol:/v", "busybox", "cat", "/v/f",
    ]);
    assert_eq!(out.trim(), "vol-ok");

    // A store an older berth left open gets private again on the next
    // command (a handful of chmods, no walk).
    for d in [
        root.clone(),
        root.join("containers"),
        root.join("storage"),
        root.join("storage/layers"),
        root.join("storage/blobs"),
        run.clone(),
    ] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        root.join("berth.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    berth.ok(&["images"]);
    for d in [
        root.clone(),
        root.join("containers"),
        root.join("storage"),
        root.join("storage/layers"),
        root.join("storage/blobs"),
        run.clone(),
    ] {
        assert_eq!(mode(&d), 0o700, "{} not repaired", d.display());
    }
    assert_eq!(mode(&root.join("berth.db")), 0o600);
    berth.ok(&["rm", "victim"]);
}

#[test]
fn rootless_store_is_private() {
    let (uid, gid) = test_user();
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    berth.give_to(uid, gid);
    std::fs::set_permissions(berth.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    berth.rootless_ok(uid, gid, &["pull", "-q", "busybox"]);
    let out = berth.rootless_ok(
        uid,
        gid,
        &[
            "run",
            "--name",
            "c",
            "-u",
            "1000",
            "-e",
            "DB_PASSWORD=s3cret",
            "busybox",
            "ls",
            "/",
        ],
    );
    assert!(out.lines().any(|l| l == "bin"), "{out}");
    // A bind mount read by a non-root container user (another host id).
    let host = berth.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "bind-ok").unwrap();
    let bind = format!("{}:/data", host.display());
    let out = berth.rootless_ok(
        uid,
        gid,
        &[
            "run", "--rm", "-u", "1000", "-v", &bind, "busybox", "cat", "/data/f",
        ],
    );
    assert_eq!(out.trim(), "bind-ok");
    let data = berth.dir.path().join("data/berth");
    for d in [
        data.clone(),
        data.join("containers"),
        data.join("storage"),
        data.join("storage/layers"),
        data.join("storage/blobs"),
        data.join("storage/tmp"),
        berth.dir.path().join("runtime/berth"),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
        assert_eq!(std::fs::metadata(&d).unwrap().uid(), uid);
    }
    assert_eq!(mode(&data.join("berth.db")), 0o600);
    let config = find(&data.join("containers"), "config.json");
    assert_eq!(config.len(), 1);
    assert_eq!(mode(&config[0]), 0o600);
    // Nobody (uid 65534) else gets in, though it can reach the test dir.
    let (ok, _) = as_user(
        65534,
        65534,
        Path::new("/bin/ls"),
        &[berth.dir.path().to_str().unwrap()],
    );
    assert!(ok, "control: the test dir is open");
    let (ok, out) = as_user(
        65534,
        65534,
        Path::new("/bin/cat"),
        &[config[0].to_str().unwrap()],
    );
    assert!(!ok && !out.contains("s3cret"), "{out}");
}

/// Push `blob` to `repo` on `reg` over the distribution API (monolithic
/// upload), whatever a manifest will later say about it.
fn push_blob(reg: &Registry, repo: &str, blob: &[u8]) -> String {
    let d = sha256(blob);
    let resp = ureq::post(&format!("http://{}/v2/{repo}/blobs/uploads/", reg.host()))
        .call()
        .unwrap();
    let loc = resp.header("location").unwrap().to_string();
    let url = if loc.starts_with('/') {
        format!("http://{}{loc}", reg.host())
    } else {
        loc
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    ureq::put(&format!("{url}{sep}digest={d}"))
        .set("Content-Type", "application/octet-stream")
        .send_bytes(blob)
        .unwrap();
    d
}

/// An image whose descriptors say what the caller wants: `layers` are
/// (blob, diff ID, declared size), the config's declared size is
/// `config_size` (None: the truth).
fn push_image(
    reg: &Registry,
    repo: &str,
    layers: &[(Vec<u8>, String, Option<u64>)],
    config_size: Option<u64>,
) -> String {
    let diff_ids: Vec<&String> = layers.iter().map(|l| &l.1).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = push_blob(reg, repo, &config);
    let descs: Vec<_> = layers
        .iter()
        .map(|(blob, _, size)| {
            let d = push_blob(reg, repo, blob);
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d,
                "size": size.unwrap_or(blob.len() as u64)})
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
            "size": config_size.unwrap_or(config.len() as u64)},
        "layers": descs,
    }))
    .unwrap();
    ureq::put(&format!("http://{}/v2/{repo}/manifests/latest", reg.host()))
        .set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .send_bytes(&manifest)
        .unwrap();
    config_digest
}

/// storage/tmp holds nothing once a failed berth command is over, and no
/// layer or blob was stored.
fn store_left_clean(berth: &Berth) {
    let storage = berth.root().join("storage");
    let tmp: Vec<_> = std::fs::read_dir(storage.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "storage/tmp: {tmp:?}");
    assert_eq!(
        std::fs::read_dir(storage.join("layers")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(storage.join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
}

/// A GNU sparse entry (type 'S'): 512 bytes stored, 8 GiB claimed.
fn gnu_sparse_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_path("big").unwrap();
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(512);
    let g = h.as_gnu_mut().unwrap();
    g.sparse[0].set_offset((8 << 30) - 512);
    g.sparse[0].set_length(512);
    g.set_real_size(8 << 30);
    h.set_cksum();
    b.append(&h, &[b'x'; 512][..]).unwrap();
    b.into_inner().unwrap()
}

/// The same as PAX format 1.0 (`GNU.sparse.*` records; GNU tar --sparse).
fn pax_sparse_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let pax: [(&str, &[u8]); 4] = [
        ("GNU.sparse.major", b"1"),
        ("GNU.sparse.minor", b"0"),
        ("GNU.sparse.name", b"big"),
        ("GNU.sparse.realsize", b"8589934592"),
    ];
    b.append_pax_extensions(pax).unwrap();
    let map = format!("1\n{}\n512\n", (8u64 << 30) - 512);
    let mut data = map.into_bytes();
    data.resize(512, 0);
    data.extend_from_slice(&[b'x'; 512]);
    tar_file(&mut b, "GNUSparseFile.0/big", &data);
    b.into_inner().unwrap()
}

#[test]
fn sparse_layer_is_refused_before_it_is_expanded() {
    let reg = Registry::start();
    for (repo, tar, how) in [
        ("gnu", gnu_sparse_tar(), "tar header type 83"),
        ("pax", pax_sparse_tar(), "PAX header GNU.sparse."),
    ] {
        let blob = gzip(&tar);
        assert!(blob.len() < 1024, "the bomb is small: {}", blob.len());
        push_image(&reg, repo, &[(blob, sha256(&tar), None)], None);
        let berth = Berth::new(&[&reg]);
        let start = Instant::now();
        let err = berth.fails(&["pull", "-q", &format!("{}/{repo}", reg.host())], 125);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
        one_line(&err);
        assert!(
            err.contains(&format!(
                "layer entry \"{}\": sparse files are not supported ({how}",
                if repo == "gnu" {
                    "big"
                } else {
                    "GNUSparseFile.0/big"
                }
            )),
            "{err}"
        );
        store_left_clean(&berth);
        let used: u64 = Command::new("du")
            .args(["-sk"])
            .arg(berth.root())
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .next()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
            .unwrap();
        assert!(used < 10 * 1024, "{used} KiB on disk");
    }
}

#[test]
fn blob_larger_than_declared_is_cut_off() {
    let reg = Registry::start();
    // 4 MiB of incompressible content (its gzip is about as big).
    let mut noise = vec![0u8; 4 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let tar = layer_tar(&[Entry::File("noise", noise, 0o644)]);
    let blob = gzip(&tar);
    let layer_digest = sha256(&blob);
    push_image(&reg, "layer", &[(blob, sha256(&tar), Some(1000))], None);
    let berth = Berth::new(&[&reg]);
    let err = berth.fails(&["pull", "-q", &format!("{}/layer", reg.host())], 125);
    one_line(&err);
    assert_eq!(
        err.trim_end(),
        format!("Error: blob {layer_digest} is larger than its declared size 1000")
    );
    store_left_clean(&berth);

    // The config too: it is read into memory, and stops at its size.
    let small = layer_tar(&[Entry::File("f", b"x".to_vec(), 0o644)]);
    let config_digest = push_image(
        &reg,
        "config",
        &[(gzip(&small), sha256(&small), None)],
        Some(10),
    );
    let err = berth.fails(&["pull", "-q", &format!("{}/config", reg.host())], 125);
    one_line(&err);
    assert!(
        err.contains(&format!(
            "blob {config_digest} is larger than its declared size 10"
        )),
        "{err}"
    );
    store_left_clean(&berth);
}

#[test]
fn layer_escaping_through_a_symlink_is_named() {
    let reg = registry_with(vec![
        Entry::Symlink("x", "/nonexistent-berth-escape"),
        Entry::File("x/evil", b"evil".to_vec(), 0o644),
    ]);
    let berth = Berth::new(&[&reg]);
    let err = berth.fails(&["pull", "-q", "busybox"], 125);
    one_line(&err);
    assert!(
        err.contains("layer entry \"x/evil\" escapes through a symlink"),
        "{err}"
    );
    assert!(!Path::new("/nonexistent-berth-escape").exists());
    store_left_clean(&berth);
}

#[test]
fn missing_registries_conf_is_an_error() {
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    let missing = berth.dir.path().join("no-such-registries.conf");
    for conf in [missing.clone(), berth.dir.path().to_path_buf()] {
        let out = berth
            .cmd()
            .env("CONTAINERS_REGISTRIES_CONF", &conf)
            .args(["pull", "busybox"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{err}");
        one_line(&err);
        assert!(err.contains(conf.to_str().unwrap()), "{err}");
        assert!(
            err.contains("cannot read registries configuration"),
            "{err}"
        );
    }
}
