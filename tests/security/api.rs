//! The API socket is the engine's front door: as root it must open to root
//! alone. Another local user who can reach the directory still cannot
//! connect, and berth never replaces a file that is not its socket.

use super::common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let t = Instant::now();
    while !socket.exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "no socket");
        std::thread::sleep(Duration::from_millis(20));
    }
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
