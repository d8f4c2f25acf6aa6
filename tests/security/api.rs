//! The API socket is the engine's front door: as root it must open to root
//! alone. Another local user who can reach the directory still cannot
//! connect, and berth never replaces a file that is not its socket.

use super::common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

#[test]
fn another_user_cannot_connect_to_roots_api_socket() {
    let (uid, gid) = test_user();
    let berth = Berth::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    // The directory lets anyone through: only the socket's mode guards it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("api.sock");
    let mut svc = berth
        .cmd()
        .args(["system", "service", "--time", "0"])
        .arg(format!("unix://{}", socket.display()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_socket(&socket);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let probe = |as_user: bool| {
        let mut c = Command::new("curl");
        c.args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--unix-socket",
        ])
        .arg(&socket)
        .arg("http://d/v1.41/containers/json");
        if as_user {
            use std::os::unix::process::CommandExt;
            c.uid(uid).gid(gid);
        }
        let o = c.output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(probe(false), "200");
    // curl reports 000: the connect itself was refused (EACCES).
    assert_eq!(probe(true), "000");
    let _ = svc.kill();
    let _ = svc.wait();
    // A file that is not a socket is not replaced.
    let precious = dir.path().join("precious");
    std::fs::write(&precious, "keep me").unwrap();
    let err = berth.fails(
        &[
            "system",
            "service",
            &format!("unix://{}", precious.display()),
        ],
        125,
    );
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
}

/// A process started through the API's exec gets pipes made for it, never
/// the worker's own stdin and stdout (the hijacked connection) or any
/// other descriptor of the service; and an exec ID is a name, not a path.
#[test]
fn an_api_exec_gets_no_descriptor_of_the_service_and_ids_are_not_paths() {
    let (_reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    api.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    let fds = api.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "for f in /proc/self/fd/*; do echo \"${f##*/} $(readlink $f)\"; done",
    ]);
    let mut seen = Vec::new();
    for line in fds.lines() {
        let (fd, target) = line.split_once(' ').unwrap();
        let fd: u32 = fd.parse().unwrap();
        if fd == 0 {
            // No -i: stdin is /dev/null.
            assert_eq!(target, "/dev/null", "{fds}");
        } else if fd <= 2 {
            assert!(target.starts_with("pipe:"), "fd {fd} is {target}: {fds}");
        } else {
            // The glob's own directory handle, closed by the time of
            // readlink: nothing else.
            assert!(
                target.is_empty() || target.starts_with("/proc/"),
                "fd {fd} is {target}: {fds}"
            );
        }
        seen.push(fd);
    }
    assert!(seen.len() <= 4, "{fds}");
    let (_, _, code) = {
        let o = api
            .docker()
            .args([
                "exec",
                "-i",
                "box",
                "sh",
                "-c",
                "ls -l /proc/self/fd/ | grep -c socket",
            ])
            .output()
            .unwrap();
        (o.stdout, o.stderr, o.status.code())
    };
    // grep -c finds no socket: exit 1.
    assert_eq!(code, Some(1));
    for id in ["..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"] {
        let o = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--unix-socket",
            ])
            .arg(&api.socket)
            .arg(format!("http://d/v1.41/exec/{id}/json"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "404", "{id}");
    }
    api.ok(&["rm", "-f", "box"]);
}

/// A tar sent to a container's archive endpoint stays in the container:
/// `..` names and a symlink to the host's / planted first resolve inside
/// its root, as `berth cp` does.
#[test]
fn an_archive_put_cannot_write_outside_the_container() {
    let (_reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    api.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    let tag = format!("berth-escape-{}", std::process::id());
    let mut b = tar::Builder::new(Vec::new());
    let file = |b: &mut tar::Builder<Vec<u8>>, name: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Raw names: the builder itself refuses `..`.
        let bytes = name.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        b.append(&h, &b"bad"[..]).unwrap();
    };
    file(&mut b, &format!("../../../../../../tmp/{tag}-dots"));
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "up", "/").unwrap();
    file(&mut b, &format!("up/tmp/{tag}-link"));
    let body = b.into_inner().unwrap();
    let tarfile = berth.dir.path().join("evil.tar");
    std::fs::write(&tarfile, body).unwrap();
    let o = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            "-T",
        ])
        .arg(&tarfile)
        .arg("--unix-socket")
        .arg(&api.socket)
        .arg("http://d/v1.41/containers/box/archive?path=/tmp")
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&o.stdout).into_owned();
    for suffix in ["dots", "link"] {
        let p = std::path::PathBuf::from(format!("/tmp/{tag}-{suffix}"));
        let escaped = p.exists();
        let _ = std::fs::remove_file(&p);
        assert!(
            !escaped,
            "{} written on the host (HTTP {code})",
            p.display()
        );
    }
    // What did land, landed inside.
    let inside = api.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "ls /tmp /tmp/tmp 2>/dev/null; true",
    ]);
    assert!(!inside.contains("passwd"), "{inside}");
    api.ok(&["rm", "-f", "box"]);
}

/// berth.conf's `[engine] service_group` opens root's socket to that
/// group (mode 0660, the group's gid), as docker's `docker` group: a
/// member connects, a user outside it still cannot.
#[test]
fn the_service_group_opens_the_socket_to_its_members_only() {
    use std::os::unix::fs::MetadataExt;
    let (uid, gid) = test_user();
    let berth = Berth::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.path().join("berth.conf");
    std::fs::write(&conf, format!("[engine]\nservice_group = \"{gid}\"\n")).unwrap();
    let socket = dir.path().join("api.sock");
    let mut svc = berth
        .cmd()
        .env("CONTAINERS_CONF", &conf)
        .args(["system", "service", "--time", "0"])
        .arg(format!("unix://{}", socket.display()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_socket(&socket);
    let md = std::fs::metadata(&socket).unwrap();
    assert_eq!((md.mode() & 0o777, md.gid()), (0o660, gid));
    let probe = |as_uid: u32, as_gid: u32| {
        use std::os::unix::process::CommandExt;
        let o = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--unix-socket",
            ])
            .arg(&socket)
            .arg("http://d/_ping")
            .uid(as_uid)
            .gid(as_gid)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(probe(uid, gid), "200");
    assert_eq!(probe(65534, 65534), "000");
    let _ = svc.kill();
    let _ = svc.wait();
}
