//! The Docker Engine API (`berth system service`) driven by a client we
//! did not write: the docker CLI 20.10, against a socket the test starts.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `system service` on a socket of the test's own; killed (and
/// its socket gone) when dropped.
struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    fn start(berth: &Berth, idle: &str) -> Service {
        let socket = berth.dir.path().join("api.sock");
        let uri = format!("unix://{}", socket.display());
        let child = berth
            .cmd()
            .args(["system", "service", "--time", idle, &uri])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !socket.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        Service { child, socket }
    }

    fn docker(&self) -> Command {
        let mut c = Command::new(docker_cli());
        c.arg("-H").arg(format!("unix://{}", self.socket.display()));
        c.env(
            "DOCKER_CONFIG",
            self.socket.parent().unwrap().join("docker-config"),
        );
        c.stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.docker().args(args).output().unwrap();
        assert!(!out.status.success(), "docker {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_docker_cli_lists_and_drives_berths_containers_and_images() {
    let (reg, berth) = pulled(busybox_layer());
    let api = Service::start(&berth, "0");
    let version = api.ok(&[
        "version",
        "--format",
        "{{.Server.APIVersion}} {{.Server.Os}}",
    ]);
    assert_eq!(version.trim(), "1.41 linux");
    assert_eq!(
        api.ok(&["info", "--format", "{{.Images}} {{.Driver}}"])
            .trim(),
        "1 overlay"
    );
    // A container berth made, seen and driven through the API.
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exec sleep 300",
    ]);
    let ps = api.ok(&["ps", "--format", "{{.Names}}|{{.Image}}|{{.Status}}"]);
    let image = format!("{}/busybox:latest", reg.host());
    assert!(ps.starts_with(&format!("web|{image}|Up ")), "{ps}");
    assert_eq!(
        api.ok(&["inspect", "--format", "{{.State.Running}} {{.Name}}", "web"])
            .trim(),
        "true web"
    );
    // Logs: stdout and stderr demultiplexed by the client.
    let out = api.docker().args(["logs", "web"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    api.ok(&["stop", "-t", "0", "web"]);
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.State.Status}}", "web"])
            .trim(),
        "exited"
    );
    assert!(
        api.ok(&["ps", "-a", "--format", "{{.Status}}"])
            .starts_with("Exited (")
    );
    api.ok(&["start", "web"]);
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.State.Status}}", "web"])
            .trim(),
        "running"
    );
    // docker's conflict and not-found answers.
    let err = api.fails(&["rm", "web"]);
    assert!(err.contains("cannot remove a running container"), "{err}");
    api.ok(&["rm", "-f", "web"]);
    let err = api.fails(&["inspect", "web"]);
    assert!(
        err.contains("No such object") || err.contains("no such container"),
        "{err}"
    );
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
    // docker run -d: create (docker's config and HostConfig), wait for
    // next-exit (its head at once), start.
    let port = free_port();
    let id = api.ok(&[
        "run",
        "-d",
        "--name",
        "made",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "-e",
        "GREETING=hi",
        "-l",
        "app=api",
        "busybox",
        "sh",
        "-c",
        "echo $GREETING; exec httpd -f -p 80 -h /",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let ps = api.ok(&["ps", "--format", "{{.Names}} {{.Ports}} {{.Labels}}"]);
    assert!(
        ps.starts_with(&format!("made 127.0.0.1:{port}->80/tcp ")) && ps.contains("app=api"),
        "{ps}"
    );
    let t = Instant::now();
    while api.ok(&["logs", "made"]) != "hi\n" {
        assert!(t.elapsed() < Duration::from_secs(10), "no log line");
        std::thread::sleep(Duration::from_millis(50));
    }
    api.ok(&["rm", "-f", "made"]);
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
    // Images: pull from the test registry, list, remove.
    let name = format!("{}/busybox:latest", reg.host());
    api.ok(&["pull", "-q", &name]);
    let images = api.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.lines().any(|l| l == name), "{images}");
    api.ok(&["rmi", &name]);
    let err = api.fails(&["pull", "127.0.0.1:1/none:x"]);
    assert!(err.contains("127.0.0.1:1/none"), "{err}");
}

#[test]
fn the_service_keeps_its_socket_private_and_leaves_when_idle() {
    use std::os::unix::fs::PermissionsExt;
    let (_reg, berth) = pulled(busybox_layer());
    let mut api = Service::start(&berth, "2");
    let mode = std::fs::metadata(&api.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // docker's first request, by hand (the CLI could take longer to
    // start than the service waits).
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&api.socket).unwrap();
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("api-version: 1.41"), "{reply}");
    assert!(reply.contains("content-length: 2\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nOK"), "{reply}");
    // Idle for its --time: it exits, with its socket.
    let t = Instant::now();
    loop {
        if let Some(st) = api.child.try_wait().unwrap() {
            assert!(st.success());
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "still serving");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!api.socket.exists());
    // A bad URI is refused with one line.
    let err = berth.fails(&["system", "service", "tcp://0.0.0.0:2375"], 125);
    assert!(err.contains("unix://PATH"), "{err}");
}
