//! The Docker Engine API (`berth system service`) driven by a client we
//! did not write: the docker CLI 20.10, against a socket the test starts.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_docker_cli_lists_and_drives_berths_containers_and_images() {
    let (reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
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
        "true /web"
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
    let mut api = ApiService::start(&berth, "2");
    let mode = std::fs::metadata(&api.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // docker's first request, by hand (the CLI could take longer to
    // start than the service waits).
    let reply = raw_get(&api.socket, "/_ping");
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("api-version: 1.41"), "{reply}");
    assert!(reply.contains("content-length: 2\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nOK"), "{reply}");
    // Once a connection was served, two spare workers wait. One killed
    // (its request cannot reach it) is passed over: the next request is
    // answered all the same.
    let t = Instant::now();
    let spares = loop {
        let w = workers_of(&berth);
        if w.len() == 2 {
            break w;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "spares: {w:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &spares[0].to_string()])
        .status();
    // (Dead, not only signalled: a worker killed after it was handed a
    // request fails that request, as any worker dying mid-request.)
    // Waitable (a zombie, or reaped), not only on its way out: an exiting
    // process loses its cmdline before its parent can wait for it.
    let t = Instant::now();
    let waitable = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |st| {
            st.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    while !waitable(spares[0]) {
        assert!(t.elapsed() < Duration::from_secs(5), "a killed spare lives");
        std::thread::sleep(Duration::from_millis(10));
    }
    let reply = raw_get(&api.socket, "/v1.41/info");
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("\"Containers\":"), "{reply}");
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
    // Its spare workers went with it.
    let t = Instant::now();
    while !workers_of(&berth).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "workers outlive the service"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A bad URI is refused with one line.
    let err = berth.fails(&["system", "service", "http://127.0.0.1:2375"], 125);
    assert!(err.contains("unix://PATH or tcp://"), "{err}");
}

/// A GET by hand, on a connection of its own: the whole reply, head and
/// body.
fn raw_get(socket: &std::path::Path, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}

/// The live API workers (`system service --worker`) over this berth's
/// root.
fn workers_of(berth: &Berth) -> Vec<i32> {
    let root = berth.dir.path().display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|st| {
                    st.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(true);
            !zombie && cmd.contains("\0--worker") && cmd.contains(&root)
        })
        .collect()
}

/// Output of a docker command: (stdout, stderr, exit code).
fn run_docker(api: &ApiService, args: &[&str], input: &str) -> (String, String, Option<i32>) {
    use std::io::Write;
    let mut c = api.docker();
    c.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

/// Hijacked streams: an attached `docker run` (attach before start, so
/// nothing is missed; stdout and stderr apart; the exit code through
/// wait, also once `--rm` removed the container), stdin piped in, `exec`
/// with and without input, and `-it` under a real terminal with the
/// window size and the exit code.
#[test]
fn docker_run_and_exec_relay_streams_terminals_and_exit_codes() {
    let (_reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    let (out, err, code) = run_docker(
        &api,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        "",
    );
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("out\n", "err\n", Some(3))
    );
    assert_eq!(berth.ok(&["ps", "-aq"]), "", "--rm left the container");
    let (out, _, code) = run_docker(
        &api,
        &[
            "run",
            "-i",
            "--name",
            "once",
            "busybox",
            "sh",
            "-c",
            "cat; echo done",
        ],
        "piped\n",
    );
    assert_eq!((out.as_str(), code), ("piped\ndone\n", Some(0)));
    api.ok(&["rm", "once"]);

    // logs -f follows until the container ends.
    api.ok(&[
        "run",
        "-d",
        "--name",
        "lf",
        "busybox",
        "sh",
        "-c",
        "echo a; sleep 0.5; echo b",
    ]);
    assert_eq!(api.ok(&["logs", "-f", "lf"]), "a\nb\n");
    api.ok(&["rm", "lf"]);
    api.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    let (out, err, code) = run_docker(
        &api,
        &["exec", "box", "sh", "-c", "echo o; echo e >&2; exit 7"],
        "",
    );
    assert_eq!((out.as_str(), err.as_str(), code), ("o\n", "e\n", Some(7)));
    let (out, _, code) = run_docker(&api, &["exec", "-i", "box", "cat"], "in\n");
    assert_eq!((out.as_str(), code), ("in\n", Some(0)));
    // exec -d: the session goes on after the request; its end is recorded.
    api.ok(&["exec", "-d", "box", "sh", "-c", "echo bg > /tmp/bg"]);
    let t = Instant::now();
    while run_docker(&api, &["exec", "box", "cat", "/tmp/bg"], "").0 != "bg\n" {
        assert!(t.elapsed() < Duration::from_secs(10), "exec -d did not run");
        std::thread::sleep(Duration::from_millis(50));
    }

    // -it under a real terminal: the size follows the caller's.
    let mut cmd = api.docker();
    cmd.args(["exec", "-it", "box", "sh"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 31, 93);
    // The client sizes the terminal once the session started: type at
    // the prompt, as a person does.
    pty.expect("# ", 10);
    pty.send(b"stty size; echo sum-$((40+2))\r");
    pty.expect("31 93\r\nsum-42", 10);
    pty.send(b"exit 5\r");
    assert_eq!(wait_timeout(&mut child, 10), Some(5));
    let mut cmd = api.docker();
    cmd.args(["run", "-it", "--rm", "busybox", "sh"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 27, 81);
    pty.expect("# ", 10);
    pty.send(b"stty size; tty\r");
    pty.expect("27 81\r\n/dev/pts/0", 10);
    pty.send(b"exit 9\r");
    assert_eq!(wait_timeout(&mut child, 10), Some(9));
    api.ok(&["rm", "-f", "box"]);
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
}

/// Networks and volumes through the API: created, listed and inspected
/// in docker's documents, used by a container (its address on the
/// network, a file in the volume, a DNS alias), refused while in use, and
/// removed.
#[test]
fn docker_networks_and_volumes() {
    let (_reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    let _shared = network_guard(false);
    let net = format!("apinet{}", std::process::id());
    /// The network goes with the test, passed or failed (networks are
    /// the host's).
    struct Gone<'a>(&'a Berth, String);
    impl Drop for Gone<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["network", "rm", "-f", &self.1]);
        }
    }
    let _gone = Gone(&berth, net.clone());
    api.ok(&[
        "network",
        "create",
        "--subnet",
        "10.213.47.0/24",
        "--label",
        "a=b",
        &net,
    ]);
    let shown = api.ok(&[
        "network",
        "inspect",
        &net,
        "--format",
        "{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels}}",
    ]);
    assert_eq!(shown.trim(), format!("{net} 10.213.47.0/24 map[a:b]"));
    assert!(
        api.ok(&["network", "ls", "--format", "{{.Name}}"])
            .lines()
            .any(|l| l == net)
    );
    api.ok(&["volume", "create", "--label", "x=y", "apivol"]);
    assert_eq!(
        api.ok(&[
            "volume",
            "inspect",
            "apivol",
            "--format",
            "{{.Name}} {{.Driver}} {{.Labels}}"
        ])
        .trim(),
        "apivol local map[x:y]"
    );
    assert_eq!(api.ok(&["volume", "ls", "-q"]).trim(), "apivol");
    api.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        &net,
        "--network-alias",
        "web",
        "-v",
        "apivol:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f; exec sleep 300",
    ]);
    let out = api.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "-v",
        "apivol:/data",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; cat /data/f; nslookup web >/dev/null && echo resolved",
    ]);
    assert_eq!(out, "kept\nresolved\n");
    let members = api.ok(&[
        "network",
        "inspect",
        &net,
        "--format",
        "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}",
    ]);
    assert!(members.starts_with("srv 10.213.47."), "{members}");
    let err = api.fails(&["network", "rm", &net]);
    assert!(err.contains("is being used"), "{err}");
    let err = api.fails(&["volume", "rm", "apivol"]);
    assert!(err.contains("being used"), "{err}");
    api.ok(&["network", "disconnect", &net, "srv"]);
    api.ok(&["network", "rm", &net]);
    api.ok(&["rm", "-f", "srv"]);
    api.ok(&["volume", "rm", "apivol"]);
    assert_eq!(api.ok(&["volume", "ls", "-q"]), "");
    let err = api.fails(&["volume", "inspect", "apivol"]);
    assert!(err.contains("No such volume"), "{err}");
}

/// Images through the API: inspect and history in docker's documents, a
/// tag, a push to the registry (checked by pulling it back with berth),
/// save and load through the socket, and prune.
#[test]
fn docker_image_inspect_tag_push_save_load_and_prune() {
    let (reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    let name = format!("{}/busybox:latest", reg.host());
    let id = api.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{.Os}} {{.Architecture}}",
        &name,
    ]);
    assert!(
        id.starts_with("sha256:") && id.trim().ends_with(" linux amd64"),
        "{id}"
    );
    let history = api.ok(&["history", "--format", "{{.ID}}", &name]);
    assert!(
        history.starts_with("sha256:") || history.len() >= 12,
        "{history}"
    );
    let pushed = format!("{}/pushed:v1", reg.host());
    api.ok(&["tag", &name, &pushed]);
    let out = api.ok(&["push", &pushed]);
    assert!(out.contains("digest: sha256:"), "{out}");
    // The registry has it: berth pulls it back by that name.
    api.ok(&["rmi", &pushed]);
    berth.ok(&["pull", "-q", &pushed]);
    // save and load through the socket.
    let tar = berth.dir.path().join("saved.tar");
    api.ok(&["save", "-o", tar.to_str().unwrap(), &pushed]);
    api.ok(&["rmi", &pushed]);
    let loaded = api.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert!(
        loaded.contains(&format!("Loaded image: {pushed}")),
        "{loaded}"
    );
    assert_eq!(
        api.ok(&["run", "--rm", &pushed, "echo", "from-loaded"]),
        "from-loaded\n"
    );
    // A dangling image (its tag taken by a newer build) goes with prune.
    let ctx = berth.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    for n in ["1", "2"] {
        std::fs::write(
            ctx.join("Containerfile"),
            format!("FROM {name}\nRUN echo {n} > /a\n"),
        )
        .unwrap();
        berth.ok(&[
            "build",
            "-q",
            "-t",
            "localhost/dangle:x",
            ctx.to_str().unwrap(),
        ]);
    }
    let before = berth.ok(&["images", "-a", "--format", "{{.Repository}}:{{.Tag}}"]);
    let out = api.ok(&["image", "prune", "-f"]);
    assert!(out.contains("deleted: sha256:"), "{out}");
    let after = berth.ok(&["images", "-a", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(before.replacen("<none>:<none>\n", "", 1), after, "{before}");
    assert_eq!(
        api.ok(&["run", "--rm", "localhost/dangle:x", "cat", "/a"]),
        "2\n"
    );
    let err = api.fails(&["image", "inspect", "nosuch:image"]);
    assert!(err.contains("No such image"), "{err}");
}

/// A container's insides through the API: top, changes (docker's kinds),
/// cp both ways (archive PUT and GET with its stat header), rename,
/// update, stats, export, events (recorded and streamed), system df and
/// prune.
#[test]
fn docker_top_diff_cp_rename_update_stats_export_events_and_prune() {
    let (_reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    let since = api.ok(&["version", "--format", "{{.Server.Version}}"]);
    assert!(!since.is_empty());
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    api.ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /tmp/d; echo inner > /tmp/d/f; echo made > /tmp/made; exec sleep 300",
    ]);
    let t = Instant::now();
    while !api.ok(&["diff", "c1"]).contains("A /tmp/made") {
        assert!(t.elapsed() < Duration::from_secs(10), "no changes");
        std::thread::sleep(Duration::from_millis(50));
    }
    let top = api.ok(&["top", "c1"]);
    assert!(
        top.lines().nth(1).is_some_and(|l| l.contains("sleep 300")),
        "{top}"
    );
    let host = berth.dir.path().join("cp");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("up.txt"), "uploaded\n").unwrap();
    api.ok(&["cp", host.join("up.txt").to_str().unwrap(), "c1:/tmp/"]);
    assert_eq!(api.ok(&["exec", "c1", "cat", "/tmp/up.txt"]), "uploaded\n");
    api.ok(&["cp", "c1:/tmp/d", host.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(host.join("d/f")).unwrap(),
        "inner\n"
    );
    api.ok(&["cp", "c1:/tmp/made", host.join("copied").to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(host.join("copied")).unwrap(),
        "made\n"
    );
    let err = api.fails(&["cp", "c1:/nowhere", host.to_str().unwrap()]);
    assert!(err.contains("nowhere"), "{err}");
    api.ok(&["rename", "c1", "c2"]);
    api.ok(&["update", "--memory", "64m", "c2"]);
    assert_eq!(
        api.ok(&["inspect", "--format", "{{.HostConfig.Memory}}", "c2"])
            .trim(),
        "67108864"
    );
    let stats = api.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "c2",
    ]);
    assert_eq!(stats.trim(), "c2 1");
    let out = api.docker().args(["export", "c2"]).output().unwrap();
    assert!(out.status.success());
    let listing = Command::new("tar")
        .arg("t")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut tar| {
            use std::io::Write;
            tar.stdin.take().unwrap().write_all(&out.stdout)?;
            tar.wait_with_output()
        })
        .unwrap();
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(names.lines().any(|l| l == "tmp/made"), "{names}");
    api.ok(&["rm", "-f", "c2"]);
    // Events: the run's, recorded, in docker's names.
    let st = api
        .docker()
        .args(["run", "--name", "ev", "busybox", "sh", "-c", "exit 3"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(3));
    std::thread::sleep(Duration::from_millis(1100));
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let events = api.ok(&[
        "events",
        "--since",
        &start.to_string(),
        "--until",
        &end.to_string(),
        "--filter",
        "container=ev",
        "--format",
        "{{.Action}} {{.Actor.Attributes.exitCode}}",
    ]);
    assert!(
        events.contains("start <no value>\n") && events.contains("die 3\n"),
        "{events}"
    );
    let df = api.ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert!(df.contains("Containers 1"), "{df}");
    let pruned = api.ok(&["container", "prune", "-f"]);
    assert!(pruned.contains("Deleted Containers"), "{pruned}");
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
}

/// `docker build` through the API: the context sent as the body, a build
/// argument, COPY and RUN (its output in the stream), the tag, `-q`
/// printing the ID alone, and a failing RUN failing the build.
#[test]
fn docker_build_sends_its_context_and_streams_the_steps() {
    let (reg, berth) = pulled(busybox_layer());
    let api = ApiService::start(&berth, "0");
    let ctx = berth.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM {}/busybox:latest\nARG GREETING=none\nCOPY hello.txt /hello.txt\nRUN echo \"built with $GREETING\" > /built; cat /hello.txt\nCMD [\"cat\", \"/built\"]\n",
            reg.host()
        ),
    )
    .unwrap();
    std::fs::write(ctx.join("hello.txt"), "hello-file\n").unwrap();
    let dir = ctx.to_str().unwrap();
    let out = api.ok(&[
        "build",
        "-t",
        "localhost/apibuilt:1",
        "--build-arg",
        "GREETING=hi",
        dir,
    ]);
    assert!(out.contains("hello-file\n"), "{out}");
    assert!(
        out.contains("Successfully tagged localhost/apibuilt:1"),
        "{out}"
    );
    assert_eq!(
        api.ok(&["run", "--rm", "localhost/apibuilt:1"]),
        "built with hi\n"
    );
    let id = api.ok(&["build", "-q", "--build-arg", "GREETING=hi", dir]);
    assert!(
        id.trim().starts_with("sha256:") && id.trim().lines().count() == 1,
        "{id}"
    );
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {}/busybox:latest\nRUN exit 4\n", reg.host()),
    )
    .unwrap();
    let err = api.fails(&["build", dir]);
    assert!(err.contains("exit 4"), "{err}");
}

/// `/metrics` scraped by Prometheus (Debian's, unpacked): the service on
/// loopback TCP (prometheus speaks no unix sockets), a running container,
/// and its memory, CPU and network series answered by Prometheus's own
/// query API under cAdvisor's names.
#[test]
fn prometheus_scrapes_container_metrics() {
    let prom = prometheus();
    let (_reg, berth) = pulled(busybox_layer());
    let port = free_port();
    let mut svc = berth
        .cmd()
        .args([
            "system",
            "service",
            "--time",
            "0",
            &format!("tcp://127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = svc.stderr.take().unwrap();
    let _svc = Kill(svc);
    let mut warning = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut warning).unwrap();
    assert!(
        warning.contains("without TLS or authentication"),
        "{warning}"
    );
    berth.ok(&["run", "-d", "--name", "scraped", "busybox", "sleep", "300"]);
    let metrics = Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        text.contains("# TYPE container_cpu_usage_seconds_total counter"),
        "{text}"
    );
    assert!(text.contains("name=\"scraped\""), "{text}");
    let dir = berth.dir.path().join("prometheus");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: berth\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let web = free_port();
    let p = Command::new(&prom)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _p = Kill(p);
    let query = |q: &str| {
        let o = Command::new("curl")
            .args([
                "-s",
                "--data-urlencode",
                &format!("query={q}"),
                &format!("http://127.0.0.1:{web}/api/v1/query"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let t = Instant::now();
    let mut last = String::new();
    while t.elapsed() < Duration::from_secs(60) {
        last = query("container_memory_usage_bytes{name=\"scraped\"}");
        if last.contains("\"name\":\"scraped\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(last.contains("\"name\":\"scraped\""), "{last}");
    assert!(last.contains("\"job\":\"berth\""), "{last}");
    for m in [
        "container_cpu_usage_seconds_total",
        "container_network_receive_bytes_total",
        "container_processes",
    ] {
        let r = query(&format!("{m}{{name=\"scraped\"}}"));
        assert!(r.contains("\"name\":\"scraped\""), "{m}: {r}");
    }
}

/// The shipped systemd units (contrib/systemd, system and user) pass
/// `systemd-analyze verify` with berth's binary in ExecStart, and a
/// socket handed over as systemd does (LISTEN_FDS, through
/// systemd-socket-activate) answers its first request.
#[test]
fn systemd_units_verify_and_socket_activation_serves() {
    let (_reg, berth) = pulled(busybox_layer());
    let units = berth.dir.path().join("units");
    let runtime = berth.dir.path().join("xdg");
    std::fs::create_dir_all(&runtime).unwrap();
    for scope in ["system", "user"] {
        let dir = units.join(scope);
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["berth.socket", "berth.service", "berth-restart.service"] {
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("contrib/systemd")
                    .join(scope)
                    .join(name),
            )
            .unwrap();
            std::fs::write(dir.join(name), text.replace("/usr/local/bin/berth", bin())).unwrap();
        }
        let mut c = Command::new("systemd-analyze");
        if scope == "user" {
            c.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
        }
        let o = c
            .args(["verify", "--man=no"])
            .arg(dir.join("berth.socket"))
            .arg(dir.join("berth.service"))
            .arg(dir.join("berth-restart.service"))
            .output()
            .unwrap();
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "{scope}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let socket = berth.dir.path().join("activated.sock");
    let mut activator = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&socket)
        .arg(bin())
        .arg("--root")
        .arg(berth.root())
        .arg("--runroot")
        .arg(berth.dir.path().join("run"))
        .args(["system", "service", "--time", "1"])
        .env("CONTAINERS_REGISTRIES_CONF", &berth.registries_conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_socket(&socket);
    let o = Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(&socket)
        .arg("http://d/_ping")
        .output()
        .unwrap();
    let _ = activator.kill();
    let _ = activator.wait();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "OK");
}

/// The service is only a front door: killed (SIGKILL, workers and all)
/// while a container it started runs, the container goes on under its own
/// monitor, and a new service finds it.
#[test]
fn containers_outlive_the_service() {
    let (_reg, berth) = pulled(busybox_layer());
    let mut api = ApiService::start(&berth, "0");
    api.ok(&["run", "-d", "--name", "lasting", "busybox", "sleep", "300"]);
    // A followed log holds a worker open as the service dies.
    let mut follower = api
        .docker()
        .args(["logs", "-f", "lasting"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = api.child.kill();
    let _ = api.child.wait();
    let _ = follower.kill();
    let _ = follower.wait();
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.State.Status}}", "lasting"])
            .trim(),
        "running"
    );
    let api = ApiService::start(&berth, "0");
    assert_eq!(
        api.ok(&["ps", "--format", "{{.Names}} {{.State}}"]).trim(),
        "lasting running"
    );
    api.ok(&["rm", "-f", "lasting"]);
}
