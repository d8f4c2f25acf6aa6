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
    // Owners are kept, as ids of the user's subordinate range: layers are
    // unpacked inside the pause process's user namespace.
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap();
    let start: u32 = subuid
        .lines()
        .find_map(|l| l.strip_prefix("berth-test:"))
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let owned = std::fs::metadata(upper.join("owned")).unwrap();
    assert_eq!((owned.uid(), owned.gid()), (start + 1233, start + 1233));
    let busybox = std::fs::metadata(lower.join("bin/busybox")).unwrap();
    assert_eq!(
        busybox.uid(),
        uid,
        "root in the image is the user on the host"
    );
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

#[test]
fn rootless_containers_map_root_to_the_user() {
    let (uid, gid, _reg, berth) = rootless_busybox();
    let run = |args: &[&str]| berth.rootless_cmd(uid, gid).args(args).output().unwrap();
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&["pull", "-q", "busybox"]);
    let o = ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "id -u; head -1 /proc/self/uid_map",
    ]);
    let mut lines = o.lines();
    assert_eq!(lines.next(), Some("0"));
    let map: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        map,
        ["0", &uid.to_string(), "1"],
        "container root is the invoking user"
    );
    // keep-id: the same uid inside, and the image's files (unpacked as the
    // user, no chown needed) are the user's own there too.
    let o = ok(&[
        "run",
        "--rm",
        "--userns=keep-id",
        "busybox",
        "sh",
        "-c",
        "id -u; stat -c %u /bin/busybox; echo x > /tmp/mine && echo wrote",
    ]);
    assert_eq!(o, format!("{uid}\n{uid}\nwrote\n"));
    // What container root writes belongs to the user on the host.
    let id = ok(&[
        "run",
        "-d",
        "busybox",
        "sh",
        "-c",
        "echo x > /root-file; sleep 100",
    ])
    .trim()
    .to_string();
    ok(&["exec", &id, "test", "-e", "/root-file"]);
    let upper = berth
        .dir
        .path()
        .join("data/berth/containers")
        .join(&id)
        .join("upper/root-file");
    assert_eq!(std::fs::metadata(&upper).unwrap().uid(), uid);
    // Limits cannot apply: said once, and the container still runs.
    let out = run(&["run", "--rm", "--memory", "32m", "busybox", "true"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("Warning: resource limits").count(), 1, "{err}");
    ok(&["stop", "-t", "0", &id]);
    assert!(ok(&["ps", "-a"]).contains("Exited"));
    ok(&["rm", &id]);
    assert_eq!(ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn rootless_bind_mount_files_belong_to_the_user() {
    let (uid, gid, _reg, berth) = rootless_busybox();
    std::fs::create_dir_all(berth.dir.path().join("shared")).unwrap();
    berth.give_to(uid, gid);
    let shared = berth.dir.path().join("shared");
    let out = berth
        .rootless_cmd(uid, gid)
        .args([
            "run",
            "--rm",
            "-v",
            &format!("{}:/shared", shared.display()),
            "busybox",
            "sh",
            "-c",
            "id -u; touch /shared/made-by-root",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n");
    let m = std::fs::metadata(shared.join("made-by-root")).unwrap();
    assert_eq!(
        (m.uid(), m.gid()),
        (uid, gid),
        "container root is the invoking user on the host"
    );
}

#[test]
fn rootless_volumes_belong_to_the_user() {
    let (uid, gid, _reg, berth) = rootless_busybox();
    let out = berth
        .rootless_cmd(uid, gid)
        .args([
            "run",
            "--rm",
            "-v",
            "data:/data",
            "busybox",
            "sh",
            "-c",
            "echo v > /data/f",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = berth.dir.path().join("data/berth/volumes/data/_data/f");
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!(
        (m.uid(), m.gid()),
        (uid, gid),
        "what container root writes to a volume is the user's on the host"
    );
    let out = berth
        .rootless_cmd(uid, gid)
        .args([
            "run",
            "--rm",
            "-v",
            "data:/data",
            "busybox",
            "cat",
            "/data/f",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "v\n");
}

/// The rootless test user, a registry with busybox, and a berth whose
/// directories (runtime dir included) belong to that user.
fn rootless_busybox() -> (u32, u32, Registry, Berth) {
    let (uid, gid) = test_user();
    let reg = Registry::start();
    let mut l = Layout::new();
    l.image(&[busybox_layer()], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    berth.give_to(uid, gid);
    (uid, gid, reg, berth)
}

/// The rootless test user, a registry with busybox and /www, and a berth
/// of that user that has pulled it.
fn rootless_web() -> (u32, u32, Registry, Berth) {
    let (uid, gid) = test_user();
    let reg = registry_with(web_layer("rootless web\n"));
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    berth.give_to(uid, gid);
    berth.rootless_ok(uid, gid, &["pull", "-q", "busybox"]);
    (uid, gid, reg, berth)
}

/// A shell line that prints the first line a TCP server sends. nc waits
/// for its peer's close, which user-mode stacks may not pass on at once:
/// the line is what counts, and a slow first try (a loaded machine) is
/// tried again.
fn nc_line(host: &str, port: u16) -> String {
    format!(
        "for i in 1 2 3 4 5; do o=$(timeout 3 nc {host} {port} </dev/null); [ -n \"$o\" ] && {{ echo \"$o\"; break; }}; sleep 0.5; done"
    )
}

/// What `nc_line` printed from `host_line_server("from the host\n")`.
/// Debian 12's pasta (passt 2023-03) sometimes delivers a short reply more
/// than once when the server closes: the way out works if every line is
/// the server's.
fn assert_host_line(out: &str, net: &str) {
    assert!(
        !out.is_empty() && out.lines().all(|l| l == "from the host"),
        "{net}: outbound: {out:?}"
    );
}

/// A rootless httpd published on a free port, reached from the host on
/// 127.0.0.1, for each user-mode network; and the way out: the container
/// reaches a server on the host's loopback (pasta maps its gateway address
/// to the host, slirp4netns 10.0.2.2 with allow_host_loopback).
#[test]
fn rootless_publish_and_outbound_with_pasta_and_slirp4netns() {
    let (uid, gid, _reg, berth) = rootless_web();
    let run = |args: &[&str]| berth.rootless_ok(uid, gid, args);
    let host_port = host_line_server("from the host\n");
    for (net, way_out) in [
        ("pasta", "$(ip route | awk '/default/ {print $3}')"),
        ("slirp4netns:allow_host_loopback=true", "10.0.2.2"),
    ] {
        let port = free_port();
        let id = run(&[
            "run",
            "-d",
            "--network",
            net,
            "-p",
            &format!("{port}:80"),
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ]);
        let id = id.trim();
        let got = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
        assert!(got.contains("rootless web"), "{net}: published port");
        assert_eq!(run(&["port", id]), format!("80/tcp -> 0.0.0.0:{port}\n"));
        let out = run(&[
            "run",
            "--rm",
            "--network",
            net,
            "busybox",
            "sh",
            "-c",
            &nc_line(way_out, host_port),
        ]);
        assert_host_line(&out, net);
        run(&["rm", "-f", id]);
        // Its helper went with it (both name the container's id in their
        // arguments; a killed one that init has yet to reap has none).
        let left = std::process::Command::new("pgrep")
            .args(["-a", "-u", &uid.to_string(), "-f", &id[..12]])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&left.stdout),
            "",
            "{net}: helper left running"
        );
    }
}

/// pasta gives IPv4 only unless `enable_ipv6=true` (as rootless podman 4
/// and docker default to no IPv6); with it, the host's IPv6 comes along
/// where the host has an IPv6 default route.
#[test]
fn rootless_pasta_ipv6_is_opt_in() {
    let (uid, gid, _reg, berth) = rootless_web();
    let run = |args: &[&str]| berth.rootless_ok(uid, gid, args);
    let global6 = "ip -6 -o addr show scope global";
    let off = run(&[
        "run",
        "--rm",
        "--network",
        "pasta",
        "busybox",
        "sh",
        "-c",
        global6,
    ]);
    assert_eq!(off, "");
    let on = run(&[
        "run",
        "--rm",
        "--network",
        "pasta:enable_ipv6=true",
        "busybox",
        "sh",
        "-c",
        global6,
    ]);
    let host_v6 = std::process::Command::new("ip")
        .args(["-6", "route", "show", "default"])
        .output()
        .unwrap();
    if !host_v6.stdout.is_empty() {
        assert!(on.contains("inet6"), "{on}");
    }
}

/// Rootless user-defined networks live in the user's rootless network
/// namespace: containers on one resolve each other by name, reach the
/// host through its pasta, and publish ports through a forwarder.
#[test]
fn rootless_user_network_has_dns_outbound_and_ports() {
    let (uid, gid, _reg, berth) = rootless_web();
    let run = |args: &[&str]| berth.rootless_ok(uid, gid, args);
    assert_eq!(run(&["network", "create", "rlnet"]), "rlnet\n");
    let port = free_port();
    let web = run(&[
        "run",
        "-d",
        "--name",
        "rlweb",
        "--network",
        "rlnet",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    let out = run(&[
        "run",
        "--rm",
        "--network",
        "rlnet",
        "busybox",
        "wget",
        "-q",
        "-O-",
        "http://rlweb/",
    ]);
    assert_eq!(out, "rootless web\n");
    let got = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(got.contains("rootless web"), "published port");
    // Out through the namespace's pasta, which maps its gateway to the host.
    let host_port = host_line_server("from the host\n");
    let route = std::process::Command::new("ip")
        .args(["-4", "route", "show", "default"])
        .output()
        .unwrap();
    let route = String::from_utf8_lossy(&route.stdout).into_owned();
    let gw = route.split_whitespace().nth(2).unwrap();
    let out = run(&[
        "run",
        "--rm",
        "--network",
        "rlnet",
        "busybox",
        "sh",
        "-c",
        &nc_line(gw, host_port),
    ]);
    assert_host_line(&out, "rlnet");
    // In use: refused; then gone with its container.
    let out = berth
        .rootless_cmd(uid, gid)
        .args(["network", "rm", "rlnet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    run(&["rm", "-f", web.trim()]);
    assert_eq!(run(&["network", "rm", "rlnet"]), "rlnet\n");
}

#[test]
fn rootless_build_copies_runs_and_caches() {
    let (uid, gid, _reg, berth) = rootless_busybox();
    let ctx = berth.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("f"), "file\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nCOPY --chown=app f /f\nRUN id -u > /uid && stat -c %u /f > /owner\nUSER app\nRUN id -u > /tmp/me\n",
    )
    .unwrap();
    berth.give_to(uid, gid);
    let c = ctx.to_str().unwrap();
    let first = berth.rootless_ok(uid, gid, &["build", "-t", "rl", "--network", "none", c]);
    assert!(!first.contains("Using cache"), "{first}");
    let out = berth.rootless_ok(
        uid,
        gid,
        &[
            "run", "--rm", "rl", "cat", "/f", "/uid", "/owner", "/tmp/me",
        ],
    );
    assert_eq!(out, "file\n0\n1000\n1000\n");
    let again = berth.rootless_ok(uid, gid, &["build", "-t", "rl", "--network", "none", c]);
    assert_eq!(again.matches("--> Using cache").count(), 4, "{again}");
}

#[test]
fn rootless_pod_shares_localhost_and_publishes_with_pasta() {
    let (uid, gid, _reg, berth) = rootless_web();
    let run = |args: &[&str]| berth.rootless_ok(uid, gid, args);
    let port = free_port();
    run(&[
        "pod",
        "create",
        "--name",
        "rlpod",
        "--network",
        "pasta",
        "-p",
        &format!("{port}:80"),
        "--share",
        "+pid",
    ]);
    run(&[
        "run",
        "-d",
        "--pod",
        "rlpod",
        "--name",
        "rlweb",
        "busybox",
        "sh",
        "-c",
        "echo rl > /dev/shm/note; exec httpd -f -p 80 -h /www",
    ]);
    // Its network, hostname, pid namespace (the pause its init, httpd
    // there too), /dev/shm and hosts file.
    let got = run(&[
        "run",
        "--rm",
        "--pod",
        "rlpod",
        "busybox",
        "sh",
        "-c",
        "hostname; wget -q -O- http://127.0.0.1:80/; tr -s '\\0' ' ' < /proc/1/cmdline; echo; ps -o args | grep -c '^httpd'; cat /dev/shm/note; grep -c rlweb /etc/hosts",
    ]);
    assert_eq!(got, "rlpod\nrootless web\n/catatonit -P \n1\nrl\n1\n");
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("rootless web"), "{page}");
    run(&["pod", "rm", "-f", "-t", "0", "rlpod"]);
    assert_eq!(run(&["ps", "-aq"]), "");
}

/// `compose` as an unprivileged user: a project network in the user's
/// rootless network namespace, replicas answering to the service name,
/// a port published on the host, and `down -v` leaving nothing.
#[test]
fn rootless_compose_runs_a_project() {
    let (uid, gid, _reg, berth) = rootless_web();
    let run = |args: &[&str]| berth.rootless_ok(uid, gid, args);
    let port = free_port();
    let file = berth.dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  web:\n    image: busybox\n    command: [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n    deploy:\n      replicas: 2\n  front:\n    image: busybox\n    command: [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n    ports: [\"{port}:80\"]\n    depends_on: [web]\n"
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let compose = |args: &[&str]| {
        let mut a = vec!["compose", "-f", f, "-p", "rlapp"];
        a.extend_from_slice(args);
        run(&a)
    };
    compose(&["up", "-d"]);
    let names = compose(&["ps", "--format", "{{.Name}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, ["rlapp-front-1", "rlapp-web-1", "rlapp-web-2"]);
    let got = compose(&["exec", "-T", "front", "wget", "-q", "-O-", "http://web/"]);
    assert_eq!(got, "rootless web\n");
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("rootless web"), "{page}");
    compose(&["down", "-v", "-t", "0"]);
    assert_eq!(run(&["ps", "-aq"]), "");
    assert!(!run(&["network", "ls", "--format", "{{.Name}}"]).contains("rlapp"));
}

/// `kube play` as an unprivileged user: a Deployment of two behind a
/// Service (pasta, the rootless default), both answering on its host
/// port; `kube down` takes them away.
#[test]
fn rootless_kube_play_serves_a_deployment_behind_a_service() {
    let (uid, gid, _reg, berth) = rootless_web();
    let run = |args: &[&str]| berth.rootless_ok(uid, gid, args);
    let port = free_port();
    let file = berth.dir.path().join("kube.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: rlk}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: rlk}}}}\n  template:\n    metadata: {{labels: {{app: rlk}}}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n      - name: web\n        image: busybox\n        command: [sh, -c, 'hostname > /www/index.html; exec httpd -f -p 8080 -h /www']\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: rlk}}\nspec:\n  selector: {{app: rlk}}\n  ports: [{{port: {port}, targetPort: 8080}}]\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let f = file.to_str().unwrap();
    run(&["kube", "play", f]);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        if let Some(page) = http_get(&format!("127.0.0.1:{port}"))
            && let Some(body) = page.split("\r\n\r\n").nth(1)
        {
            seen.insert(body.trim().to_string());
        }
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        seen,
        ["rlk-pod-0".to_string(), "rlk-pod-1".to_string()].into()
    );
    run(&["kube", "down", f]);
    assert_eq!(run(&["ps", "-aq"]), "");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The API as an unprivileged user: `system service` on the user's default
/// socket ($XDG_RUNTIME_DIR/berth/berth.sock), driven by the docker CLI as
/// that user: an attached run, exec, a published port on the rootless
/// network, and removal.
#[test]
fn rootless_api_serves_the_docker_cli() {
    use std::os::unix::process::CommandExt;
    let (uid, gid, _reg, berth) = rootless_web();
    let mut svc = berth
        .rootless_cmd(uid, gid)
        .args(["system", "service", "--time", "0"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let socket = berth.dir.path().join("runtime/berth/berth.sock");
    wait_for_socket(&socket);
    let docker = |args: &[&str]| {
        let o = std::process::Command::new(docker_cli())
            .uid(uid)
            .gid(gid)
            .env_clear()
            .env("HOME", berth.dir.path())
            .env("DOCKER_CONFIG", berth.dir.path().join("docker-config"))
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            o.status.code(),
        )
    };
    let (out, err, code) = docker(&["run", "--rm", "busybox", "sh", "-c", "id -u; exit 2"]);
    assert_eq!((out.as_str(), code), ("0\n", Some(2)), "{err}");
    let port = free_port();
    let (_, err, code) = docker(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (out, err, _) = docker(&["exec", "web", "cat", "/www/index.html"]);
    assert_eq!(out, "rootless web\n", "{err}");
    let t = std::time::Instant::now();
    loop {
        let o = std::process::Command::new("curl")
            .args(["-s", &format!("http://127.0.0.1:{port}/")])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&o.stdout) == "rootless web\n" {
            break;
        }
        assert!(t.elapsed().as_secs() < 20, "no answer on {port}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (_, err, code) = docker(&["rm", "-f", "web"]);
    assert_eq!(code, Some(0), "{err}");
    let _ = svc.kill();
    let _ = svc.wait();
    assert_eq!(berth.rootless_ok(uid, gid, &["ps", "-aq"]), "");
}
