//! Attacks on secrets: another local user reading a secret's data out of
//! the store (rootful and rootless), a container writing through its secret
//! mount back into the store, and secret names that climb out of the
//! secrets dir.

use super::common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DATA: &str = "SECRET-DATA-51c0";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every regular file under `dir` whose content holds `needle` (the test
/// runs as root and sees everything).
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(files_holding(&p, needle));
        } else if ft.is_file()
            && std::fs::read(&p)
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        {
            out.push(p);
        }
    }
    out
}

/// `cat FILE` as `uid`: (success, output).
fn cat_as(uid: u32, gid: u32, f: &Path) -> (bool, String) {
    let o = Command::new("/bin/cat")
        .arg(f)
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn secret_file(dir: &Path) -> PathBuf {
    let f = dir.join("secret-src");
    std::fs::write(&f, DATA).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    f
}

#[test]
fn another_user_cannot_read_a_secret_in_the_store() {
    let (uid, gid) = test_user();
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    // Only berth's own modes stand between the other user and the store.
    std::fs::set_permissions(berth.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    berth.ok(&["pull", "-q", "busybox"]);
    let src = secret_file(berth.dir.path());
    berth.ok(&["secret", "create", "s", src.to_str().unwrap()]);
    // A container holds its copy too (a mount and an env secret).
    berth.ok(&[
        "create",
        "--name",
        "c",
        "--secret",
        "s",
        "--secret",
        "s,type=env,target=E",
        "busybox",
        "true",
    ]);
    let root = berth.root();
    let held = files_holding(&root, DATA);
    // The attack is real: the data is there, in the store's data file, the
    // container's copy and its config.json; never in the database.
    assert_eq!(held.len(), 3, "{held:?}");
    assert!(held.iter().all(|p| !p.ends_with("berth.db")));
    let data_dir = root.join("secrets/filedriver");
    assert_eq!(mode(&root.join("secrets")), 0o700);
    assert_eq!(mode(&data_dir), 0o700);
    for p in &held {
        let (ok, out) = cat_as(uid, gid, p);
        assert!(!ok, "{} readable by another user: {out}", p.display());
        assert!(!out.contains(DATA), "{out}");
        if p.starts_with(&data_dir) {
            assert_eq!(mode(p), 0o600, "{}", p.display());
        }
    }
    // Even the data file itself, made readable, sits behind 0700 dirs.
    let data = held.iter().find(|p| p.starts_with(&data_dir)).unwrap();
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, out) = cat_as(uid, gid, data);
    assert!(!ok && !out.contains(DATA), "{out}");
    // Listing gives nothing either.
    let o = Command::new("/bin/ls")
        .arg(&data_dir)
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    assert!(!o.status.success());
    berth.ok(&["rm", "c"]);
    berth.ok(&["secret", "rm", "s"]);
    assert_eq!(files_holding(&root, DATA), Vec::<PathBuf>::new());
}

#[test]
fn rootless_secrets_are_private_too() {
    let (uid, gid) = test_user();
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    let src = secret_file(berth.dir.path());
    berth.give_to(uid, gid);
    std::fs::set_permissions(berth.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    berth.rootless_ok(uid, gid, &["pull", "-q", "busybox"]);
    berth.rootless_ok(uid, gid, &["secret", "create", "s", src.to_str().unwrap()]);
    // The container user 1000 reads its 0400 copy, owned as mapped.
    let out = berth.rootless_ok(
        uid,
        gid,
        &[
            "run",
            "--name",
            "c",
            "-u",
            "1000",
            "--secret",
            "s,uid=1000,mode=0400",
            "busybox",
            "sh",
            "-c",
            "stat -c '%u %a' /run/secrets/s; cat /run/secrets/s",
        ],
    );
    assert_eq!(out, format!("1000 400\n{DATA}"));
    let data = berth.dir.path().join("data/berth");
    // The data file, the container's copy, and its log (it printed it).
    let held = files_holding(&data, DATA);
    assert_eq!(held.len(), 3, "{held:?}");
    for d in [data.join("secrets"), data.join("secrets/filedriver")] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
        assert_eq!(std::fs::metadata(&d).unwrap().uid(), uid);
    }
    // Nobody (uid 65534) else gets in, though it can reach the test dir.
    for p in &held {
        let (ok, out) = cat_as(65534, 65534, p);
        assert!(!ok && !out.contains(DATA), "{}: {out}", p.display());
    }
    // With keep-id the container has its own mapping: the copy is owned
    // as that one maps uid 0 (and the user reads it as itself).
    let out = berth.rootless_ok(
        uid,
        gid,
        &[
            "run",
            "--rm",
            "--userns",
            "keep-id",
            "--secret",
            "s",
            "busybox",
            "sh",
            "-c",
            "stat -c '%u %a' /run/secrets/s; cat /run/secrets/s",
        ],
    );
    assert_eq!(out, format!("0 444\n{DATA}"));
    berth.rootless_ok(uid, gid, &["rm", "c"]);
    berth.rootless_ok(uid, gid, &["secret", "rm", "s"]);
    assert_eq!(files_holding(&data, DATA), Vec::<PathBuf>::new());
}

#[test]
fn a_container_cannot_write_through_its_secret_mount() {
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let src = secret_file(berth.dir.path());
    berth.ok(&["secret", "create", "s", src.to_str().unwrap()]);
    // Root in the container, with the capabilities podman gives it, tries
    // every way to change the file it was handed.
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "s",
        "--secret",
        "s,target=/etc/s.conf,mode=0666",
        "busybox",
        "sh",
        "-c",
        "for f in /run/secrets/s /etc/s.conf; do \
           echo evil > $f && echo WROTE; \
           echo evil >> $f && echo APPENDED; \
           chmod 777 $f && echo CHMOD; \
           chown 1:1 $f && echo CHOWN; \
           truncate -s 0 $f && echo TRUNCATED; \
           rm -f $f 2>/dev/null; test -e $f || echo REMOVED; \
           mount -o remount,rw,bind $f 2>/dev/null && echo REMOUNTED; \
           umount $f 2>/dev/null && echo UNMOUNTED; \
         done; \
         echo > /run/secrets/planted && echo planted-in-own-dir; \
         cat /run/secrets/s",
    ]);
    for bad in [
        "WROTE",
        "APPENDED",
        "CHMOD",
        "CHOWN",
        "TRUNCATED",
        "REMOVED",
        "REMOUNTED",
        "UNMOUNTED",
    ] {
        assert!(!out.contains(bad), "{bad}: {out}");
    }
    assert!(out.ends_with(DATA), "{out}");
    // The store's data is untouched, and the next container gets it as it was.
    let data_dir = berth.root().join("secrets/filedriver");
    let files: Vec<_> = std::fs::read_dir(&data_dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(std::fs::read_to_string(files[0].path()).unwrap(), DATA);
    assert_eq!(mode(&files[0].path()), 0o600);
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "s",
        "busybox",
        "cat",
        "/run/secrets/s",
    ]);
    assert_eq!(out, DATA);
    // What the container wrote in its own /run/secrets stays its own: not
    // in the store, not in its image.
    assert!(!data_dir.join("planted").exists());
}

#[test]
fn secret_names_that_climb_out_are_refused() {
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    let src = secret_file(berth.dir.path());
    let root = berth.root();
    for name in [
        "../x",
        "../../escaped",
        "a/b",
        "/tmp/abs",
        "..",
        ".",
        "x/../../y",
    ] {
        let err = berth.fails(&["secret", "create", name, src.to_str().unwrap()], 125);
        assert!(err.ends_with(": invalid secret name\n"), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let err = berth.fails(&["secret", "rm", name], 125);
        assert!(err.contains("invalid secret name"), "{name}: {err}");
    }
    // Nothing was written anywhere: no data, no record, nothing beside the
    // secrets dir or above the root.
    assert_eq!(berth.ok(&["secret", "ls", "-q"]), "");
    assert_eq!(files_holding(berth.dir.path(), DATA), vec![src.clone()]);
    assert!(!Path::new("/tmp/abs").exists());
    assert!(!root.join("escaped").exists() && !root.parent().unwrap().join("escaped").exists());
    // Through stdin as well.
    let mut child = berth
        .cmd()
        .args(["secret", "create", "../piped", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(DATA.as_bytes());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(files_holding(berth.dir.path(), DATA), vec![src]);
}
