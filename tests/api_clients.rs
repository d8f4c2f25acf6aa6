//! The Docker Engine API driven by the tools people point at it:
//! docker-compose 1.29 (Debian's), Python's docker SDK 7.2 and
//! Testcontainers (PyPI), each against a socket the test starts.

mod common;

use common::*;
use std::process::{Command, Stdio};

/// A Python script run with docker-py against the service; its stdout.
fn python(api: &ApiService, script: &str) -> String {
    let o = Command::new(docker_py())
        .args(["-c", script])
        .env("DOCKER_HOST", format!("unix://{}", api.socket.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// docker-compose 1.29: a web service and a client that reaches it by
/// its name on the project network, up, ps, logs and down.
#[test]
fn docker_compose_runs_a_two_service_app() {
    let (reg, berth) = pulled(busybox_layer());
    let _shared = network_guard(false);
    let api = ApiService::start(&berth, "0");
    let dir = berth.dir.path().join("shop");
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!(
            r#"version: "3.8"
services:
  web:
    image: {host}/busybox:latest
    command: ["sh", "-c", "echo web-up; mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www"]
    ports:
      - "127.0.0.1:{port}:80"
    stop_grace_period: 1s
  client:
    image: {host}/busybox:latest
    depends_on: [web]
    command: ["sh", "-c", "until wget -qO- http://web/index.html; do sleep 0.2; done; exec sleep 300"]
    stop_grace_period: 1s
"#,
            host = reg.host()
        ),
    )
    .unwrap();
    let compose = |args: &[&str]| {
        let o = Command::new("docker-compose")
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", api.socket.display()))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "docker-compose {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    compose(&["up", "-d"]);
    let ps = compose(&["ps"]);
    let lines: Vec<&str> = ps.lines().filter(|l| l.starts_with("shop_")).collect();
    assert_eq!(lines.len(), 2, "{ps}");
    assert!(
        lines.iter().any(
            |l| l.starts_with("shop_web_1") && l.contains(&format!("127.0.0.1:{port}->80/tcp"))
        ),
        "{ps}"
    );
    let t = std::time::Instant::now();
    loop {
        let logs = compose(&["logs", "--no-color"]);
        if logs.contains("hello-from-web") && logs.contains("web-up") {
            break;
        }
        assert!(t.elapsed().as_secs() < 20, "{logs}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let body = Command::new("curl")
        .args(["-s", &format!("http://127.0.0.1:{port}/index.html")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&body.stdout), "hello-from-web\n");
    compose(&["down"]);
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
    let nets = berth.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains("shop_default"), "{nets}");
}

/// docker-py 7.2: containers (run, logs, wait, exec with its exit code and
/// output, attach), images (pull, tag, list), networks and volumes.
#[test]
fn docker_py_drives_containers_images_networks_and_volumes() {
    let (reg, berth) = pulled(busybox_layer());
    let _shared = network_guard(false);
    let api = ApiService::start(&berth, "0");
    let script = format!(
        r#"
import docker
c = docker.from_env()
img = "{host}/busybox:latest"
c.images.pull(img)
c.images.get(img).tag("localhost/pytagged", "v1")
assert any("localhost/pytagged:v1" in i.tags for i in c.images.list()), c.images.list()
print(c.containers.run(img, ["sh", "-c", "echo out; echo err >&2"], remove=True, stderr=True).decode(), end="")
ctr = c.containers.run(img, ["sh", "-c", "echo started; exec sleep 300"], detach=True, name="pyctr", labels={{"app": "py"}})
assert c.containers.get("pyctr").labels["app"] == "py"
code, out = ctr.exec_run(["sh", "-c", "echo in-exec; exit 3"])
print("exec", code, out.decode(), end="")
code, (o, e) = ctr.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
print("demux", o.decode().strip(), e.decode().strip())
net = c.networks.create("pynet{pid}")
net.connect(ctr, aliases=["pyalias"])
net.reload()
print("members", [x.name for x in net.containers])
net.disconnect(ctr)
net.remove()
vol = c.volumes.create("pyvol{pid}", labels={{"k": "v"}})
print("volume", c.volumes.get(vol.name).attrs["Labels"])
out = c.containers.run(img, ["sh", "-c", "echo data > /v/f; cat /v/f"], volumes={{vol.name: {{"bind": "/v", "mode": "rw"}}}}, remove=True)
print("vol-run", out.decode(), end="")
vol.remove()
print("logs", ctr.logs().decode(), end="")
ctr.kill()
print("wait", ctr.wait()["StatusCode"])
ctr.remove()
sock = None
att = c.containers.create(img, ["sh", "-c", "read x; echo got-$x"], stdin_open=True, name="pyattach")
s = att.attach_socket(params={{"stdin": 1, "stdout": 1, "stream": 1}})
att.start()
s._sock.sendall(b"line\n")
import time
buf = b""
deadline = time.time() + 10
while b"got-line" not in buf and time.time() < deadline:
    chunk = s._sock.recv(4096)
    if not chunk:
        break
    buf += chunk
print("attach", b"got-line" in buf)
att.wait()
att.remove()
"#,
        host = reg.host(),
        pid = std::process::id()
    );
    let out = python(&api, &script);
    assert!(out.starts_with("out\nerr\n"), "{out}");
    assert!(out.contains("exec 3 in-exec\n"), "{out}");
    assert!(out.contains("demux o e\n"), "{out}");
    assert!(out.contains("members ['pyctr']\n"), "{out}");
    assert!(out.contains("volume {'k': 'v'}\n"), "{out}");
    assert!(out.contains("vol-run data\n"), "{out}");
    assert!(out.contains("logs started\n"), "{out}");
    assert!(out.contains("wait 137\n"), "{out}");
    assert!(out.contains("attach True\n"), "{out}");
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
}

/// Testcontainers: a container started and waited for by its log line,
/// as CI jobs use it.
#[test]
fn testcontainers_starts_a_container_and_waits_for_its_log() {
    let (reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    let script = format!(
        r#"
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import wait_for_logs
with DockerContainer("{host}/busybox:latest").with_command(["sh", "-c", "sleep 1; echo ready-now; exec sleep 300"]) as ctr:
    wait_for_logs(ctr, "ready-now", timeout=30)
    w = ctr.get_wrapped_container()
    w.reload()
    print("ready", w.status)
"#,
        host = reg.host()
    );
    let o = Command::new(docker_py())
        .args(["-c", &script])
        .env("DOCKER_HOST", format!("unix://{}", api.socket.display()))
        // Ryuk (its reaper container) needs an image from Docker Hub.
        .env("TESTCONTAINERS_RYUK_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(out, "ready running\n");
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
}
