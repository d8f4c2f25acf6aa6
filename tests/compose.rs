//! `berth compose` end to end with real containers: the apps under
//! tests/compose/apps, each run as its own project (networks are
//! host-wide: each app has its own subnet in 10.201.40-59.0/24) and taken
//! down with `down -v` when its test ends.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Output;

fn app(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compose/apps")
        .join(name)
}

/// One app as project `project`; `down -v` on drop.
struct Project<'a> {
    berth: &'a Berth,
    file: PathBuf,
    project: String,
    /// `SUBNET` for apps that interpolate it: two tests running one app
    /// side by side need two subnets.
    subnet: Option<&'static str>,
}

impl<'a> Project<'a> {
    fn new(berth: &'a Berth, app_name: &str, project: &str) -> Project<'a> {
        Project::on(berth, app_name, project, None)
    }

    fn on(
        berth: &'a Berth,
        app_name: &str,
        project: &str,
        subnet: Option<&'static str>,
    ) -> Project<'a> {
        let p = Project {
            berth,
            file: app(app_name).join("compose.yaml"),
            project: project.to_string(),
            subnet,
        };
        let _ = p.run(&["down", "-v", "-t", "0"]);
        p
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.berth.cmd();
        c.args(self.args(args));
        if let Some(s) = self.subnet {
            c.env("SUBNET", s);
        }
        c
    }

    fn args<'b>(&'b self, args: &[&'b str]) -> Vec<&'b str> {
        let mut a = vec![
            "compose",
            "-f",
            self.file.to_str().unwrap(),
            "-p",
            &self.project,
        ];
        a.extend_from_slice(args);
        a
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "compose {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(code), "compose {args:?}: {out:?}");
        String::from_utf8(out.stderr).unwrap()
    }

    fn inspect(&self, container: &str, what: &str) -> String {
        self.berth
            .ok(&["inspect", "--format", what, container])
            .trim()
            .to_string()
    }
}

impl Drop for Project<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "-t", "0"]);
    }
}

fn setup() -> (std::fs::File, Registry, Berth) {
    let guard = network_guard(false);
    let (reg, berth) = pulled(web_layer("hello from compose\n"));
    (guard, reg, berth)
}

#[test]
fn depends_on_conditions_order_the_start() {
    let (_g, _reg, berth) = setup();
    let p = Project::new(&berth, "health", "bchealth");
    let out = p.run(&["up", "-d"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    // Names and labels as docker compose writes them.
    for c in ["bchealth-db-1", "bchealth-migrate-1", "bchealth-web-1"] {
        assert_eq!(
            p.inspect(c, "{{index .Config.Labels \"com.docker.compose.project\"}}"),
            "bchealth"
        );
    }
    assert_eq!(
        p.inspect(
            "bchealth-web-1",
            "{{index .Config.Labels \"com.docker.compose.service\"}} {{index .Config.Labels \"com.docker.compose.container-number\"}} {{index .Config.Labels \"com.docker.compose.oneoff\"}}"
        ),
        "web 1 False"
    );
    // migrate ran to completion after db was healthy, before web started.
    assert_eq!(p.inspect("bchealth-migrate-1", "{{.State.ExitCode}}"), "0");
    assert_eq!(
        p.inspect("bchealth-db-1", "{{.State.Health.Status}}"),
        "healthy"
    );
    let migrate_done = p.inspect("bchealth-migrate-1", "{{.State.FinishedAt}}");
    let web_started = p.inspect("bchealth-web-1", "{{.State.StartedAt}}");
    assert!(
        migrate_done <= web_started,
        "{migrate_done} > {web_started}"
    );
    assert!(err.contains("Healthy"), "{err}");
    // The named volume is the project's, shared by migrate and web.
    assert_eq!(
        p.ok(&["exec", "-T", "web", "cat", "/data/migrated"]).trim(),
        "migrated"
    );
    let vols = berth.ok(&["volume", "ls", "--format", "{{.Name}}"]);
    assert!(vols.lines().any(|v| v == "bchealth_data"), "{vols}");
    let nets = berth.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(nets.lines().any(|n| n == "bchealth_default"), "{nets}");
    // down -v: containers, network and volume go.
    p.ok(&["down", "-v", "-t", "0"]);
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("bchealth"), "{all}");
    let nets = berth.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains("bchealth"), "{nets}");
    let vols = berth.ok(&["volume", "ls", "--format", "{{.Name}}"]);
    assert!(!vols.contains("bchealth"), "{vols}");
}

#[test]
fn unmet_conditions_fail_naming_the_service() {
    let (_g, _reg, berth) = setup();
    let p = Project::new(&berth, "failing", "bcfail");
    let err = p.fails(&["up", "-d", "after_job"], 1);
    assert!(
        err.contains("service \"job\" didn't complete successfully: exit 3"),
        "{err}"
    );
    let err = p.fails(&["up", "-d", "after_sick"], 1);
    assert!(
        err.contains("dependency failed to start: container bcfail-sick-1 is unhealthy"),
        "{err}"
    );
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("bcfail-after"), "{all}");
}

#[test]
fn replicas_answer_to_the_service_name() {
    let (_g, _reg, berth) = setup();
    let p = Project::new(&berth, "replicas", "bcrep");
    p.ok(&["up", "-d", "--scale", "web=2"]);
    let ps = p.ok(&["ps"]);
    let header = ps.lines().next().unwrap_or_default();
    for col in [
        "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
    ] {
        assert!(header.contains(col), "{ps}");
    }
    for c in ["bcrep-web-1", "bcrep-web-2", "bcrep-client-1"] {
        assert!(ps.contains(c), "{ps}");
    }
    let ip1 = p.inspect(
        "bcrep-web-1",
        "{{.NetworkSettings.Networks.bcrep_default.IPAddress}}",
    );
    let ip2 = p.inspect(
        "bcrep-web-2",
        "{{.NetworkSettings.Networks.bcrep_default.IPAddress}}",
    );
    let look = p.ok(&["exec", "-T", "client", "nslookup", "web"]);
    assert!(
        look.contains(&ip1) && look.contains(&ip2),
        "{ip1} {ip2}: {look}"
    );
    let page = p.ok(&["exec", "-T", "client", "wget", "-q", "-O-", "http://web/"]);
    assert_eq!(page, "hello from compose\n");
    // exec: --index, -e, -w, -u.
    let o = p.ok(&[
        "exec",
        "-T",
        "--index",
        "2",
        "-e",
        "X=42",
        "-w",
        "/www",
        "-u",
        "app",
        "web",
        "sh",
        "-c",
        "echo $X $(pwd) $(id -u) $(hostname)",
    ]);
    let words: Vec<&str> = o.split_whitespace().collect();
    assert_eq!(&words[..3], ["42", "/www", "1000"], "{o}");
    // ps --format json, --services, -q.
    let json = p.ok(&["ps", "--format", "json"]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "{json}");
    assert!(
        rows.iter()
            .all(|r| r["Project"] == "bcrep" && r["State"] == "running")
    );
    assert_eq!(p.ok(&["ps", "--services"]), "client\nweb\n");
    assert_eq!(p.ok(&["ps", "-q"]).lines().count(), 3);
    // logs: each line under its container's prefix.
    let logs = p.ok(&["logs", "web"]);
    assert!(logs.contains("web-1  | serving"), "{logs}");
    assert!(logs.contains("web-2  | serving"), "{logs}");
    let logs = p.ok(&["logs", "--no-log-prefix", "--tail", "1", "web"]);
    assert_eq!(logs, "serving\nserving\n");
    // Scaling down removes the highest number; the rest stays as it is.
    let id1 = p.inspect("bcrep-web-1", "{{.Id}}");
    p.ok(&["up", "-d", "--scale", "web=1"]);
    assert_eq!(p.inspect("bcrep-web-1", "{{.Id}}"), id1);
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("bcrep-web-2"), "{all}");
    // run --rm: a one-off on the project network, gone after.
    let o = p.ok(&[
        "run",
        "--rm",
        "client",
        "sh",
        "-c",
        "echo $GREETING; wget -q -O- http://web/",
    ]);
    assert_eq!(o, "hello\nhello from compose\n");
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("-run-"), "{all}");
    // stop / start / restart / kill / rm.
    p.ok(&["stop", "-t", "0", "web"]);
    assert_eq!(p.ok(&["ps", "-q"]).lines().count(), 1);
    p.ok(&["start", "web"]);
    assert_eq!(p.ok(&["ps", "-q"]).lines().count(), 2);
    p.ok(&["kill", "client"]);
    p.ok(&["rm", "-f", "client"]);
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("bcrep-client-1"), "{all}");
}

#[test]
fn a_changed_service_is_recreated_and_an_unchanged_one_kept() {
    let (_g, _reg, berth) = setup();
    let p = Project::new(&berth, "recreate", "bcrec");
    p.ok(&["up", "-d"]);
    let a = (
        p.inspect("bcrec-a-1", "{{.Id}}"),
        p.inspect("bcrec-a-1", "{{.State.StartedAt}}"),
    );
    let b = p.inspect("bcrec-b-1", "{{.Id}}");
    p.ok(&["exec", "-T", "b", "sh", "-c", "echo kept > /cache/f"]);
    let vols_before = berth.ok(&["volume", "ls", "-q"]);
    // Nothing changed: nothing touched.
    let t = std::time::Instant::now();
    let err = String::from_utf8_lossy(&p.run(&["up", "-d"]).stderr).into_owned();
    eprintln!("up -d with nothing changed: {:?}", t.elapsed());
    assert!(err.contains("bcrec-a-1  Running"), "{err}");
    assert_eq!(p.inspect("bcrec-b-1", "{{.Id}}"), b);
    let out = p
        .berth
        .cmd()
        .args(p.args(&["up", "-d"]))
        .env("B_VALUE", "two")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        (
            p.inspect("bcrec-a-1", "{{.Id}}"),
            p.inspect("bcrec-a-1", "{{.State.StartedAt}}")
        ),
        a
    );
    let b2 = p.inspect("bcrec-b-1", "{{.Id}}");
    assert_ne!(b2, b);
    assert_eq!(
        p.ok(&["exec", "-T", "b", "sh", "-c", "echo $VALUE"]),
        "two\n"
    );
    // The recreated container has its predecessor's anonymous volume.
    assert_eq!(p.ok(&["exec", "-T", "b", "cat", "/cache/f"]), "kept\n");
    assert_eq!(berth.ok(&["volume", "ls", "-q"]), vols_before);
    // config --hash matches the label of the running container.
    let hash = p.ok(&["config", "--hash", "a"]);
    let label = p.inspect(
        "bcrec-a-1",
        "{{index .Config.Labels \"com.docker.compose.config-hash\"}}",
    );
    assert_eq!(hash.trim(), format!("a {label}"));
    // --force-recreate recreates even the unchanged.
    p.ok(&["up", "-d", "--force-recreate", "a"]);
    assert_ne!(p.inspect("bcrec-a-1", "{{.Id}}"), a.0);
    // down -v takes the anonymous volume along.
    p.ok(&["down", "-v", "-t", "0"]);
    assert_eq!(berth.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn profiles_enable_services() {
    let (_g, _reg, berth) = setup();
    let p = Project::new(&berth, "profiles", "bcprof");
    assert_eq!(p.ok(&["config", "--services"]), "base\n");
    p.ok(&["up", "-d"]);
    assert_eq!(p.ok(&["ps", "--format", "{{.Service}}"]).trim(), "base");
    let mut args = vec!["compose", "--profile", "debug", "-f"];
    let file = p.file.to_str().unwrap().to_string();
    args.extend([file.as_str(), "-p", "bcprof", "up", "-d"]);
    berth.ok(&args);
    assert_eq!(p.ok(&["ps", "--format", "{{.Service}}"]), "base\ndebug\n");
    // Without the profile, its containers are the project's still: no
    // orphan warning, and down removes them.
    let out = p.run(&["up", "-d"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("orphan"),
        "{out:?}"
    );
    p.ok(&["down", "-t", "0"]);
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("bcprof"), "{all}");
}

#[test]
fn errors_name_the_file_line_and_key() {
    let berth = Berth::new(&[]);
    let interp = app("interp").join("compose.yaml");
    let f = interp.to_str().unwrap();
    let err = berth.fails(&["compose", "-f", f, "config"], 1);
    assert!(err.contains("IMG must be set"), "{err}");
    let out = berth
        .cmd()
        .args(["compose", "-f", f, "config"])
        .env("IMG", "busybox")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("image: busybox"),
        "{out:?}"
    );
    let invalid = app("invalid").join("compose.yaml");
    let err = berth.fails(&["compose", "-f", invalid.to_str().unwrap(), "up", "-d"], 1);
    assert!(
        err.contains("compose.yaml:5: services.web.ports[0]: invalid port"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let out = berth
        .cmd()
        .args(["compose", "ps"])
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error: no configuration file provided: not found"
    );
}

#[test]
fn config_prints_the_normalized_project() {
    let berth = Berth::new(&[]);
    let f = app("recreate").join("compose.yaml");
    let f = f.to_str().unwrap();
    let out = berth.ok(&["compose", "-f", f, "-p", "cfg", "config"]);
    assert!(
        out.starts_with("name: cfg\n") || out.contains("\nservices:\n"),
        "{out}"
    );
    assert!(out.contains("VALUE: one"), "{out}");
    assert!(out.contains("subnet: 10.201.43.0/24"), "{out}");
    assert_eq!(
        berth.ok(&["compose", "-f", f, "config", "--services"]),
        "a\nb\n"
    );
    assert_eq!(berth.ok(&["compose", "-f", f, "config", "-q"]), "");
    let v = berth.ok(&["compose", "version", "--short"]);
    assert!(v.trim().starts_with('2'), "{v}");
    // Under the name docker-compose (a symlink), berth is `berth compose`.
    let link = berth.dir.path().join("docker-compose");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let out = std::process::Command::new(&link)
        .args(["-f", f, "config", "--services"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nb\n", "{out:?}");
}

#[test]
fn a_built_service_with_its_keys_mapped() {
    let (_g, _reg, berth) = setup();
    let port = free_port().to_string();
    let p = Project::new(&berth, "full", "bcfull");
    let up = |args: &[&str]| {
        p.berth
            .cmd()
            .args(p.args(args))
            .env("WEB_PORT", &port)
            .env("BCFULL_SECRET", "from the environment")
            .output()
            .unwrap()
    };
    let out = up(&["up", "-d", "--wait"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    // Built as PROJECT-SERVICE; the key berth lacks is named, not dropped.
    assert!(err.contains("Service web  Built"), "{err}");
    assert!(err.contains("devices is not supported"), "{err}");
    assert!(
        berth
            .ok(&["images", "--format", "{{.Repository}}"])
            .contains("bcfull-web")
    );
    assert_eq!(
        p.inspect("bcfull-web-1", "{{.State.Health.Status}}"),
        "healthy"
    );
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("built by compose"), "{page}");
    assert_eq!(
        p.ok(&["port", "web", "80"]).trim(),
        format!("127.0.0.1:{port}")
    );
    let o = p.ok(&[
        "exec",
        "-T",
        "web",
        "sh",
        "-c",
        "cat /run/secrets/token /etc/app.conf /data/file; hostname; echo $MODE; \
         grep db.example /etc/hosts; awk '/open files/{print $4}' /proc/1/limits; grep -c scratch /proc/mounts; \
         touch /data/x 2>/dev/null || echo read-only",
    ]);
    let lines: Vec<&str> = o.lines().collect();
    assert_eq!(
        &lines[..5],
        ["s3cret", "setting=1", "bound", "webhost", "test"],
        "{o}"
    );
    assert!(lines[5].starts_with("10.9.9.9"), "{o}");
    assert_eq!(&lines[6..], ["1024", "1", "read-only"], "{o}");
    assert_eq!(
        p.ok(&[
            "exec",
            "-T",
            "web",
            "cat",
            "/etc/inline.conf",
            "/run/secrets/envsecret"
        ]),
        "written inline\nfrom the environment"
    );
    assert_eq!(
        p.inspect("bcfull-web-1", "{{index .Config.Labels \"app.tier\"}}"),
        "front"
    );
    // up again: nothing to build or change.
    let out = up(&["up", "-d"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("bcfull-web-1  Running") && !err.contains("Built"),
        "{err}"
    );
    // images, top, ls, pause/unpause, restart.
    let images = p.ok(&["images"]);
    assert!(
        images.contains("bcfull-web-1") && images.contains("bcfull-web"),
        "{images}"
    );
    assert!(p.ok(&["top", "web"]).contains("httpd"));
    let ls = berth.ok(&["compose", "ls"]);
    assert!(
        ls.lines()
            .any(|l| l.starts_with("bcfull") && l.contains("running(1)")),
        "{ls}"
    );
    p.ok(&["pause", "web"]);
    assert_eq!(p.inspect("bcfull-web-1", "{{.State.Status}}"), "paused");
    p.ok(&["unpause", "web"]);
    let started = p.inspect("bcfull-web-1", "{{.State.StartedAt}}");
    p.ok(&["restart", "-t", "0", "web"]);
    assert_ne!(p.inspect("bcfull-web-1", "{{.State.StartedAt}}"), started);
    // down --rmi local: the built image goes too.
    let out = up(&["down", "-t", "0", "--rmi", "local"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !berth
            .ok(&["images", "--format", "{{.Repository}}"])
            .contains("bcfull-web")
    );
    assert!(!berth.root().join("compose/bcfull").exists());
}

#[test]
fn attached_up_prefixes_logs_and_aborts_on_exit() {
    let (_g, _reg, berth) = setup();
    let p = Project::new(&berth, "attached", "bcatt");
    let out = p.run(&["up", "--abort-on-container-exit"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(4), "{stdout} {out:?}");
    assert!(
        stdout.starts_with("Attaching to one-1, two-1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("one-1  | one says hi"), "{stdout}");
    assert!(stdout.contains("two-1  | two here"), "{stdout}");
    assert!(
        stdout.contains("bcatt-one-1 exited with code 4"),
        "{stdout}"
    );
    assert_eq!(p.inspect("bcatt-two-1", "{{.State.Running}}"), "false");
}

#[test]
fn orphans_create_start_and_one_offs() {
    let (_g, _reg, berth) = setup();
    let p = Project::on(&berth, "profiles", "bcorph", Some("10.201.50.0/24"));
    // create, then start: nothing runs between.
    p.ok(&["create"]);
    assert_eq!(p.inspect("bcorph-base-1", "{{.State.Status}}"), "created");
    p.ok(&["start"]);
    assert_eq!(p.inspect("bcorph-base-1", "{{.State.Status}}"), "running");
    // The same project from another file: base is an orphan, named, then removed.
    let other = Project {
        berth: &berth,
        file: app("recreate").join("compose.yaml"),
        project: "bcorph".into(),
        subnet: Some("10.201.50.0/24"),
    };
    let out = other.run(&["up", "-d", "a"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Found orphan containers ([bcorph-base-1])"),
        "{err}"
    );
    assert_eq!(p.inspect("bcorph-base-1", "{{.State.Status}}"), "running");
    other.ok(&["up", "-d", "--remove-orphans", "a"]);
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("bcorph-base-1"), "{all}");
    // run -d: a one-off named PROJECT-SERVICE-run-<12 hex>, labelled so.
    let name = other.ok(&["run", "-d", "b", "sleep", "60"]);
    let name = name.trim();
    assert!(
        name.starts_with("bcorph-b-run-") && name.len() == "bcorph-b-run-".len() + 12,
        "{name}"
    );
    assert_eq!(
        other.inspect(
            name,
            "{{index .Config.Labels \"com.docker.compose.oneoff\"}}"
        ),
        "True"
    );
    // ps leaves one-offs out; ps -a shows them; down takes them along.
    assert!(!other.ok(&["ps"]).contains("-run-"));
    assert!(other.ok(&["ps", "-a"]).contains(name));
    // By its name alone, without the file: ps and down find it by its labels.
    let empty = tempfile::tempdir().unwrap();
    let by_name = |args: &[&str]| {
        let out = berth
            .cmd()
            .args(["compose", "-p", "bcorph"])
            .args(args)
            .current_dir(empty.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(by_name(&["ps", "-a"]).contains(name));
    by_name(&["down", "-t", "0"]);
    let all = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("bcorph"), "{all}");
    let nets = berth.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains("bcorph"), "{nets}");
}

#[test]
fn build_push_pull_wait_and_follow() {
    let (_g, reg, berth) = setup();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ctx")).unwrap();
    std::fs::write(
        dir.path().join("ctx/Dockerfile"),
        "FROM busybox\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /built\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("tok.txt"), "from a build secret\n").unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  app:\n    image: ${REG}/bcpush/app:1\n    build:\n      context: ./ctx\n      secrets: [tok]\n    command: [\"sh\", \"-c\", \"cat /built; sleep 1; exit 5\"]\nsecrets:\n  tok:\n    file: ./tok.txt\nnetworks:\n  default:\n    ipam:\n      config:\n        - subnet: 10.201.47.0/24\n",
    )
    .unwrap();
    let p = Project {
        berth: &berth,
        file: dir.path().join("compose.yaml"),
        project: "bcpush".into(),
        subnet: None,
    };
    let host = reg.host();
    let run = |args: &[&str]| {
        let out = berth
            .cmd()
            .args(p.args(args))
            .env("REG", &host)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["build"]);
    let image = format!("{host}/bcpush/app:1");
    run(&["push"]);
    berth.ok(&["rmi", &image]);
    run(&["pull"]);
    berth.ok(&["image", "exists", &image]);
    run(&["up", "-d"]);
    assert_eq!(run(&["wait", "app"]).trim(), "5");
    assert_eq!(
        run(&["logs", "-f", "app"]),
        "app-1  | from a build secret\n"
    );
    run(&["down", "-t", "0"]);
}

#[test]
fn ctrl_c_stops_an_attached_up() {
    let (_g, _reg, berth) = setup();
    let p = Project::on(&berth, "attached", "bcint", Some("10.201.51.0/24"));
    let mut child = berth
        .cmd()
        .args(p.args(&["up", "two"]))
        .env("SUBNET", "10.201.51.0/24")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let running = || {
        let o = berth.run(&["inspect", "--format", "{{.State.Running}}", "bcint-two-1"]);
        String::from_utf8_lossy(&o.stdout).trim() == "true"
    };
    while !running() {
        assert!(std::time::Instant::now() < deadline, "two never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(out.contains("two-1  | two here"), "{out}");
    assert_eq!(p.inspect("bcint-two-1", "{{.State.Running}}"), "false");
}

#[test]
fn a_recreated_dependency_restarts_its_dependents() {
    let (_g, _reg, berth) = setup();
    let p = Project::new(&berth, "restart", "bcrst");
    p.ok(&["up", "-d"]);
    let id = p.inspect("bcrst-app-1", "{{.Id}}");
    let started = p.inspect("bcrst-app-1", "{{.State.StartedAt}}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = berth
        .cmd()
        .args(p.args(&["up", "-d"]))
        .env("DB_V", "2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("bcrst-db-1  Recreated"), "{err}");
    assert!(err.contains("bcrst-app-1  Restarting"), "{err}");
    assert_eq!(p.inspect("bcrst-app-1", "{{.Id}}"), id);
    assert_ne!(p.inspect("bcrst-app-1", "{{.State.StartedAt}}"), started);
}
