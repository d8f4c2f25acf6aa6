//! berth under systemd, without a running systemd: `--sdnotify` against a
//! NOTIFY_SOCKET the test listens on (a unix datagram socket, as systemd's
//! is), `--cgroups`, and the units `generate systemd` and the quadlet
//! generator write: checked by `systemd-analyze verify`, and their
//! commands run as systemd would run them.

mod common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A NOTIFY_SOCKET of the test's own.
struct Listener {
    _dir: tempfile::TempDir,
    path: PathBuf,
    sock: UnixDatagram,
}

impl Listener {
    fn new() -> Listener {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        Listener {
            _dir: dir,
            path,
            sock,
        }
    }

    /// The next message (None after the timeout).
    fn next(&self) -> Option<String> {
        let mut buf = [0u8; 4096];
        let n = self.sock.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    fn quiet_for(&self, d: Duration) -> bool {
        self.sock.set_read_timeout(Some(d)).unwrap();
        let got = self.next();
        self.sock
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        got.is_none()
    }
}

fn notified(berth: &Berth, l: &Listener, args: &[&str]) -> String {
    let out = berth
        .cmd()
        .env("NOTIFY_SOCKET", &l.path)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn monitor_pid(berth: &Berth, name: &str) -> String {
    berth
        .ok(&["inspect", "--format", "{{.State.ConmonPid}}", name])
        .trim()
        .to_string()
}

#[test]
fn sdnotify_conmon_tells_ready_with_the_monitor_as_main_pid() {
    let (_reg, berth) = pulled(busybox_layer());
    let l = Listener::new();
    notified(
        &berth,
        &l,
        &[
            "run",
            "-d",
            "--name",
            "nconmon",
            "--sdnotify=conmon",
            "busybox",
            "sleep",
            "300",
        ],
    );
    let msg = l.next().expect("no READY=1");
    let pid = monitor_pid(&berth, "nconmon");
    assert_eq!(msg, format!("MAINPID={pid}\nREADY=1\n"));
    // The container is not told of any socket.
    let env = berth.ok(&["exec", "nconmon", "env"]);
    assert!(!env.contains("NOTIFY_SOCKET"), "{env}");
    // Once only: a restart by its policy does not say READY again.
    berth.ok(&["rm", "-f", "-t", "0", "nconmon"]);
    // --sdnotify=ignore: nothing is said, nothing is passed in.
    notified(
        &berth,
        &l,
        &[
            "run",
            "-d",
            "--name",
            "nignore",
            "--sdnotify=ignore",
            "busybox",
            "sleep",
            "300",
        ],
    );
    assert!(l.quiet_for(Duration::from_millis(700)));
    assert!(
        !berth
            .ok(&["exec", "nignore", "env"])
            .contains("NOTIFY_SOCKET")
    );
    berth.ok(&["rm", "-f", "-t", "0", "nignore"]);
    let e = berth.fails(&["create", "--sdnotify=sometimes", "busybox"], 125);
    assert!(
        e.contains("invalid --sdnotify \"sometimes\": use container, conmon or ignore"),
        "{e}"
    );
}

#[test]
fn sdnotify_container_relays_the_containers_own_messages() {
    let (_reg, berth) = pulled(busybox_layer());
    let l = Listener::new();
    // The host's python, to speak sd_notify from inside the container.
    let script = "import os, socket, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.sendto(b'MAINPID=1\\nSTATUS=warming up', os.environ['NOTIFY_SOCKET'])\ntime.sleep(0.3)\ns.sendto(b'READY=1\\nSTATUS=serving', os.environ['NOTIFY_SOCKET'])\ntime.sleep(300)\n";
    notified(
        &berth,
        &l,
        &[
            "run",
            "-d",
            "--name",
            "ncontainer",
            "--user",
            "1000:1000",
            "-v",
            "/usr:/usr:ro",
            "-v",
            "/lib:/lib:ro",
            "-v",
            "/lib64:/lib64:ro",
            "busybox",
            "/usr/bin/python3",
            "-c",
            script,
        ],
    );
    let pid = monitor_pid(&berth, "ncontainer");
    assert_eq!(
        l.next().as_deref(),
        Some(format!("MAINPID={pid}\n").as_str())
    );
    // The container's own MAINPID (a pid in its namespace) is not passed on.
    assert_eq!(l.next().as_deref(), Some("STATUS=warming up\n"));
    assert_eq!(l.next().as_deref(), Some("READY=1\nSTATUS=serving\n"));
    let env = berth.ok(&["exec", "ncontainer", "env"]);
    assert!(
        env.contains("NOTIFY_SOCKET=/run/notify/notify.sock"),
        "{env}"
    );
    berth.ok(&["rm", "-f", "-t", "0", "ncontainer"]);
    // Without a NOTIFY_SOCKET at create, the default gives the container none.
    berth.ok(&["run", "-d", "--name", "nnone", "busybox", "sleep", "300"]);
    assert!(
        !berth
            .ok(&["exec", "nnone", "env"])
            .contains("NOTIFY_SOCKET")
    );
    berth.ok(&["rm", "-f", "-t", "0", "nnone"]);
}

/// A unit's command line as systemd splits it: words, double quotes with
/// backslash escapes, `$$` and `%%` unescaped, and `%t`/`%n` given.
fn exec_words(line: &str, t: &Path, n: &str) -> Vec<String> {
    let line = line
        .replace("%t", &t.display().to_string())
        .replace("%n", n)
        .replace("%%", "%")
        .replace("$$", "$");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => cur.extend(chars.next()),
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn key<'a>(unit: &'a str, k: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{k}=")))
        .collect()
}

fn verify(dir: &Path, units: &[&str]) {
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units.iter().map(|u| dir.join(u)))
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A v1 memory cgroup of the test's, standing for a unit's.
struct UnitCgroup(PathBuf);

impl Drop for UnitCgroup {
    fn drop(&mut self) {
        for d in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            if d.path().is_dir() {
                let _ = std::fs::remove_dir(d.path());
            }
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn generated_units_verify_and_run_as_systemd_runs_them() {
    let _net = network_guard(false);
    let (_reg, berth) = pulled(web_layer("served by a unit\n"));
    let port = free_port();
    berth.ok(&[
        "create",
        "--name",
        "sdweb",
        "-p",
        &format!("{port}:80"),
        "-e",
        "GREETING=hello world",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    let units = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(units.path().join(name), text).unwrap();
    let old = berth.ok(&["generate", "systemd", "--name", "sdweb"]);
    write("container-sdweb.service", &old);
    assert_eq!(key(&old, "Type"), ["forking"]);
    verify(units.path(), &["container-sdweb.service"]);
    // The forking unit: ExecStart returns, PIDFile names the monitor.
    let start = exec_words(key(&old, "ExecStart")[0], units.path(), "x");
    let st = Command::new(&start[0]).args(&start[1..]).status().unwrap();
    assert!(st.success());
    let pidfile = std::fs::read_to_string(key(&old, "PIDFile")[0]).unwrap();
    assert_eq!(pidfile, monitor_pid(&berth, "sdweb"));
    let stop = exec_words(key(&old, "ExecStop")[0], units.path(), "x");
    assert!(
        Command::new(&stop[0])
            .args(&stop[1..])
            .status()
            .unwrap()
            .success()
    );

    // --new: the container is made anew by the unit, which systemd hears
    // of through the monitor; run here in a cgroup standing for the unit's.
    let new = berth.ok(&["generate", "systemd", "--new", "--name", "sdweb"]);
    write("container-sdweb-new.service", &new);
    verify(units.path(), &["container-sdweb-new.service"]);
    assert_eq!(key(&new, "Type"), ["notify"]);
    assert_eq!(key(&new, "NotifyAccess"), ["all"]);
    berth.ok(&["rm", "sdweb"]);
    let l = Listener::new();
    // v1: the memory controller's tree (berth's split follows it); v2:
    // the unified one.
    let base = if Path::new("/sys/fs/cgroup/memory").is_dir() {
        "/sys/fs/cgroup/memory"
    } else {
        "/sys/fs/cgroup"
    };
    let unit_cg = UnitCgroup(PathBuf::from(format!(
        "{base}/berth-test-unit-{}",
        std::process::id()
    )));
    std::fs::create_dir_all(&unit_cg.0).unwrap();
    let t = tempfile::tempdir().unwrap();
    let n = "container-sdweb-new.service";
    let pre = exec_words(key(&new, "ExecStartPre")[0], t.path(), n);
    assert!(
        Command::new(&pre[0])
            .args(&pre[1..])
            .status()
            .unwrap()
            .success()
    );
    let start = exec_words(key(&new, "ExecStart")[0], t.path(), n);
    assert!(
        start.contains(&"GREETING=hello world".to_string()),
        "{start:?}"
    );
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec \"$@\"",
            unit_cg.0.display()
        ))
        .arg("sh")
        .args(&start)
        .env("NOTIFY_SOCKET", &l.path)
        .status()
        .unwrap();
    assert!(st.success());
    let pid = monitor_pid(&berth, "sdweb");
    assert_eq!(l.next().unwrap(), format!("MAINPID={pid}\nREADY=1\n"));
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("served by a unit"), "{page}");
    // --cgroups=split: the container's cgroup is inside the unit's, and
    // the monitor stays in the unit's own.
    let id = berth
        .ok(&["inspect", "--format", "{{.Id}}", "sdweb"])
        .trim()
        .to_string();
    let ctr_pid = berth
        .ok(&["inspect", "--format", "{{.State.Pid}}", "sdweb"])
        .trim()
        .to_string();
    let procs =
        std::fs::read_to_string(unit_cg.0.join(format!("berth-{id}/cgroup.procs"))).unwrap();
    assert!(procs.lines().any(|p| p == ctr_pid), "{procs}");
    // (v2 moves the unit's processes to a child of its own first.)
    let own = std::fs::read_to_string(unit_cg.0.join("cgroup.procs")).unwrap()
        + &std::fs::read_to_string(unit_cg.0.join("supervisor/cgroup.procs")).unwrap_or_default();
    assert!(own.lines().any(|p| p == pid), "{own}");
    let cid = std::fs::read_to_string(t.path().join(format!("{n}.ctr-id"))).unwrap();
    assert_eq!(cid.trim(), id);
    for k in ["ExecStop", "ExecStopPost"] {
        let w = exec_words(key(&new, k)[0], t.path(), n);
        let o = Command::new(&w[0]).args(&w[1..]).output().unwrap();
        assert!(o.status.success(), "{k}: {o:?}");
    }
    assert!(berth.ok(&["ps", "-aq"]).is_empty());
    assert!(!unit_cg.0.join(format!("berth-{id}")).exists());
    // Stopping again finds nothing, and says nothing is wrong (--ignore).
    let w = exec_words(key(&new, "ExecStopPost")[0], t.path(), n);
    assert!(
        Command::new(&w[0])
            .args(&w[1..])
            .status()
            .unwrap()
            .success()
    );

    // A pod: its unit and its members', bound to it.
    berth.ok(&["pod", "create", "--name", "sdpod"]);
    berth.ok(&[
        "create", "--pod", "sdpod", "--name", "sdm", "busybox", "sleep", "300",
    ]);
    let out = berth.ok(&["generate", "systemd", "--name", "--files", "sdpod"]);
    let files: Vec<&str> = out.lines().collect();
    assert_eq!(files.len(), 2, "{out}");
    let pod_unit = std::fs::read_to_string(files[0]).unwrap();
    assert!(files[0].ends_with("pod-sdpod.service"), "{out}");
    assert_eq!(
        key(&pod_unit, "Wants"),
        ["network-online.target", "container-sdm.service"]
    );
    let member = std::fs::read_to_string(files[1]).unwrap();
    assert_eq!(key(&member, "BindsTo"), ["pod-sdpod.service"]);
    let dir = Path::new(files[0]).parent().unwrap();
    verify(dir, &["pod-sdpod.service", "container-sdm.service"]);
    for f in files {
        std::fs::remove_file(f).unwrap();
    }
    let e = berth.fails(&["generate", "systemd", "--new", "sdpod"], 125);
    assert!(e.contains("kube generate"), "{e}");
    let e = berth.fails(
        &[
            "generate",
            "systemd",
            "--restart-policy",
            "sometimes",
            "sdpod",
        ],
        125,
    );
    assert!(e.contains("sometimes is not a valid restart policy"), "{e}");
    berth.ok(&["pod", "rm", "-f", "sdpod"]);
}

#[test]
fn cgroups_disabled_runs_in_the_callers_cgroup() {
    let (_reg, berth) = pulled(busybox_layer());
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "cgoff",
        "--cgroups=disabled",
        "busybox",
        "sleep",
        "300",
    ]);
    let pid = berth
        .ok(&["inspect", "--format", "{{.State.Pid}}", "cgoff"])
        .trim()
        .to_string();
    let mine = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let its = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let memory = |t: &str| {
        t.lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|c| c == "memory"))
            })
            .map(String::from)
    };
    assert_eq!(memory(&its), memory(&mine));
    berth.ok(&["rm", "-f", "-t", "0", "cgoff"]);
    let e = berth.fails(
        &["create", "--cgroups=disabled", "-m", "64m", "busybox"],
        125,
    );
    assert!(e.contains("resource limits need a cgroup"), "{e}");
    let e = berth.fails(&["create", "--cgroups=sometimes", "busybox"], 125);
    assert!(e.contains("invalid --cgroups \"sometimes\""), "{e}");
}

/// Run a unit's `KEY=` command (all of them, in order) as systemd would:
/// specifiers filled, `-` prefixes allowing failure, the test's store.
fn run_unit(berth: &Berth, unit: &str, k: &str, t: &Path, n: &str, notify: Option<&Path>) {
    let stem = n.rsplit_once('.').map(|(s, _)| s).unwrap_or(n);
    for cmd in key(unit, k) {
        let (may_fail, cmd) = match cmd.strip_prefix('-') {
            Some(c) => (true, c),
            None => (false, cmd),
        };
        let w = exec_words(&cmd.replace("%N", stem), t, n);
        let mut c = Command::new(&w[0]);
        c.args(&w[1..])
            .env("BERTH_ROOT", berth.root())
            .env("BERTH_RUNROOT", berth.dir.path().join("run"))
            .env("CONTAINERS_REGISTRIES_CONF", &berth.registries_conf);
        if let Some(p) = notify {
            c.env("NOTIFY_SOCKET", p);
        }
        let o = c.output().unwrap();
        assert!(may_fail || o.status.success(), "{n} {k}: {w:?}: {o:?}");
    }
}

#[test]
fn quadlet_files_become_units_that_verify_and_run() {
    let _net = network_guard(false);
    let (_reg, berth) = pulled(web_layer("served by quadlet\n"));
    // `make install` into a staging root: the generators are links to berth.
    let stage = tempfile::tempdir().unwrap();
    let st = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install.sh"))
        .env("DESTDIR", stage.path())
        .env("PREFIX", "/usr")
        .env("BERTH", bin())
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    for kind in ["system", "user"] {
        let link = stage.path().join(format!(
            "usr/lib/systemd/{kind}-generators/berth-{kind}-generator"
        ));
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("/usr/bin/berth")
        );
    }
    assert!(
        stage
            .path()
            .join("usr/lib/systemd/system/berth-restart.service")
            .is_file()
    );
    assert!(
        stage
            .path()
            .join("usr/share/man/man1/berth-run.1")
            .is_file()
    );
    // The same link to this build, run as systemd runs a generator.
    let gen_dir = tempfile::tempdir().unwrap();
    let generator = gen_dir.path().join("berth-system-generator");
    std::os::unix::fs::symlink(bin(), &generator).unwrap();
    let src = tempfile::tempdir().unwrap();
    let port = free_port();
    let files = [
        (
            "web.container",
            format!(
                "[Unit]\nDescription=The web\n\n[Container]\nImage=busybox\nExec=sh -c 'echo $$GREETING > /data/hi; exec httpd -f -p 80 -h /www'\nEnvironment=GREETING=hello\nPublishPort={port}:80\nVolume=data.volume:/data\nNetwork=front.network\nLabel=app=web\nStopTimeout=1\n\n[Service]\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n"
            ),
        ),
        ("data.volume", "[Volume]\nLabel=kind=data\n".to_string()),
        (
            "front.network",
            "[Network]\nSubnet=10.201.77.0/24\nLabel=kind=front\n".to_string(),
        ),
        ("grp.pod", "[Pod]\n".to_string()),
        (
            "member.container",
            "[Container]\nImage=busybox\nExec=sleep 300\nPod=grp.pod\nStopTimeout=1\n".to_string(),
        ),
        ("app.kube", "[Kube]\nYaml=app.yaml\n".to_string()),
        (
            "app.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: qkube}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: c, image: busybox, command: [sleep, '300']}\n".to_string(),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(src.path().join(name), text).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(&generator)
        .arg(out.path())
        .arg(out.path().join("early"))
        .arg(out.path().join("late"))
        .env("QUADLET_UNIT_DIRS", src.path())
        .output()
        .unwrap();
    assert!(o.status.success() && o.stderr.is_empty(), "{o:?}");
    let units = [
        "web.service",
        "data-volume.service",
        "front-network.service",
        "grp-pod.service",
        "member.service",
        "app.service",
    ];
    for u in units {
        assert!(out.path().join(u).is_file(), "{u} not generated");
    }
    assert_eq!(
        std::fs::read_link(out.path().join("multi-user.target.wants/web.service")).unwrap(),
        Path::new("../web.service")
    );
    let read = |u: &str| std::fs::read_to_string(out.path().join(u)).unwrap();
    let web = read("web.service");
    assert!(web.contains("Requires=data-volume.service\n"), "{web}");
    assert!(web.contains("Restart=always\n"), "{web}");
    // systemd-analyze verify, with the output directory on the unit path.
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units.iter().map(|u| out.path().join(u)))
        .env("SYSTEMD_UNIT_PATH", format!("{}:", out.path().display()))
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Run them in dependency order, as systemd would.
    let t = tempfile::tempdir().unwrap();
    run_unit(
        &berth,
        &read("data-volume.service"),
        "ExecStart",
        t.path(),
        "data-volume.service",
        None,
    );
    run_unit(
        &berth,
        &read("front-network.service"),
        "ExecStart",
        t.path(),
        "front-network.service",
        None,
    );
    assert!(berth.ok(&["volume", "ls", "-q"]).contains("systemd-data"));
    assert!(
        berth
            .ok(&["network", "ls", "--format", "{{.Name}}"])
            .contains("systemd-front")
    );
    let l = Listener::new();
    run_unit(
        &berth,
        &web,
        "ExecStart",
        t.path(),
        "web.service",
        Some(&l.path),
    );
    let pid = monitor_pid(&berth, "systemd-web");
    assert_eq!(l.next().unwrap(), format!("MAINPID={pid}\nREADY=1\n"));
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("served by quadlet"), "{page}");
    assert_eq!(
        berth.ok(&["exec", "systemd-web", "cat", "/data/hi"]),
        "hello\n"
    );
    assert_eq!(
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{index .Config.Labels \"app\"}}",
                "systemd-web"
            ])
            .trim(),
        "web"
    );
    // The pod and its member, bound to it.
    let grp = read("grp-pod.service");
    run_unit(
        &berth,
        &grp,
        "ExecStartPre",
        t.path(),
        "grp-pod.service",
        None,
    );
    run_unit(&berth, &grp, "ExecStart", t.path(), "grp-pod.service", None);
    let member = read("member.service");
    assert!(member.contains("Requires=grp-pod.service\n"), "{member}");
    run_unit(
        &berth,
        &member,
        "ExecStart",
        t.path(),
        "member.service",
        None,
    );
    let pods = berth.ok(&["ps", "--format", "{{.Names}} {{.PodName}}"]);
    assert!(pods.contains("systemd-member systemd-grp"), "{pods}");
    // The kube unit plays its YAML (beside the .kube file).
    let app = read("app.service");
    run_unit(&berth, &app, "ExecStart", t.path(), "app.service", None);
    assert!(
        berth
            .ok(&["pod", "ps", "--format", "{{.Name}}"])
            .contains("qkube")
    );
    // And everything stops.
    for (u, n) in [(&web, "web.service"), (&member, "member.service")] {
        run_unit(&berth, u, "ExecStop", t.path(), n, None);
        run_unit(&berth, u, "ExecStopPost", t.path(), n, None);
    }
    run_unit(&berth, &app, "ExecStop", t.path(), "app.service", None);
    run_unit(&berth, &grp, "ExecStop", t.path(), "grp-pod.service", None);
    run_unit(
        &berth,
        &grp,
        "ExecStopPost",
        t.path(),
        "grp-pod.service",
        None,
    );
    assert!(berth.ok(&["ps", "-aq"]).is_empty());
    assert!(berth.ok(&["pod", "ps", "-q"]).is_empty());
    berth.ok(&["network", "rm", "systemd-front"]);
    // A file berth cannot read is named, and the others still made.
    std::fs::write(src.path().join("bad.container"), "[Container]\nExec=true\n").unwrap();
    let o = Command::new(&generator)
        .arg("--dryrun")
        .env("QUADLET_UNIT_DIRS", src.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.container: [Container] Image: is required"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("---web.service---"));
    assert_eq!(o.status.code(), Some(1));
}
