//! Loading the valid corpus: every service key, merges of `-f` and override files, extends, profiles, anchors, interpolation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compose/valid")
        .join(name)
}

fn env_of(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    let mut m: BTreeMap<String, String> = [("HOME", "/home/tester")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    m.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Some(m)
}

fn load_dir(name: &str, opts: LoadOptions) -> Loaded {
    let opts = LoadOptions {
        working_dir: Some(dir(name)),
        environment: opts.environment.clone().or_else(|| env_of(&[])),
        ..opts
    };
    load(&opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_service_key_parses() {
    let l = load_dir(
        "full",
        LoadOptions {
            environment: env_of(&[("FROM_PROCESS", "p")]),
            ..Default::default()
        },
    );
    let p = &l.project;
    let d = dir("full");
    assert_eq!(p.name, "full_project");
    assert_eq!(
        p.service_names(),
        ["db", "web"],
        "cache is behind a profile"
    );
    let w = &p.services["web"];
    assert_eq!(
        w.restart.as_deref(),
        Some("unless-stopped"),
        "from the << merge key"
    );
    let b = w.build.as_ref().unwrap();
    assert_eq!(b.context, d.join("web"));
    assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile.dev"));
    assert_eq!(b.args["VERSION"].as_deref(), Some("1"));
    assert_eq!(b.args["NOVALUE"], None);
    assert_eq!(
        (b.target.as_deref(), b.network.as_deref()),
        (Some("dev"), Some("host"))
    );
    assert_eq!(b.secrets[0].source, "npmrc");
    assert_eq!(b.labels["built.by"], "compose");
    assert_eq!(
        w.command.as_deref().unwrap(),
        ["nginx", "-g", "daemon off;"]
    );
    assert_eq!(w.entrypoint.as_deref().unwrap(), ["/docker-entrypoint.sh"]);
    assert_eq!(w.environment["FROM_LIST"], "1");
    assert_eq!(w.environment["FROM_PROCESS"], "p");
    assert!(!w.environment.contains_key("NOT_SET_ANYWHERE"));
    assert_eq!(w.environment["FROM_ENV_FILE"], "yes");
    assert_eq!(
        w.environment["OVERRIDDEN"], "from-environment",
        "environment wins over env_file"
    );
    assert_eq!(
        w.env_file[0],
        EnvFile {
            path: d.join("web.env"),
            required: true
        }
    );
    assert!(!w.env_file[1].required);
    assert_eq!(w.ports.len(), 5);
    assert_eq!(
        (w.ports[0].target, w.ports[0].published.as_deref()),
        (80, Some("8080"))
    );
    assert_eq!(
        (w.ports[1].host_ip.as_deref(), w.ports[1].protocol.as_str()),
        (Some("127.0.0.1"), "udp")
    );
    assert_eq!(
        (w.ports[3].target, w.ports[3].published.as_deref()),
        (9001, Some("9001"))
    );
    assert_eq!((w.ports[4].mode.as_str(), w.ports[4].target), ("host", 81));
    assert_eq!(w.expose, ["3000", "3001"]);
    let v = &w.volumes;
    assert_eq!(
        (v[0].kind, v[0].source.as_deref(), v[0].read_only),
        (VolumeType::Volume, Some("data"), true)
    );
    assert_eq!(
        v[1].source.as_deref(),
        Some(d.join("html").to_str().unwrap())
    );
    assert_eq!(v[2].source.as_deref(), Some("/home/tester/cache"));
    assert_eq!(v[2].bind.as_ref().unwrap().selinux.as_deref(), Some("z"));
    assert_eq!(
        (v[3].kind, v[3].tmpfs.as_ref().unwrap().size),
        (VolumeType::Tmpfs, Some(64 << 20))
    );
    assert!(v[4].volume.as_ref().unwrap().nocopy);
    assert!(!v[5].bind.as_ref().unwrap().create_host_path && v[5].read_only);
    let front = w.networks["front"].as_ref().unwrap();
    assert_eq!(front.aliases, ["www"]);
    assert_eq!(front.ipv4_address.as_deref(), Some("172.28.0.10"));
    assert_eq!(front.ipv6_address.as_deref(), Some("fd00::10"));
    assert_eq!(front.priority, Some(100));
    assert_eq!(w.networks["back"], None);
    let dep = &w.depends_on["db"];
    assert_eq!(
        (dep.condition, dep.restart, dep.required),
        (Condition::ServiceHealthy, true, true)
    );
    assert!(
        !w.depends_on.contains_key("cache"),
        "optional dependency on a disabled service dropped"
    );
    let h = w.healthcheck.as_ref().unwrap();
    assert_eq!(h.test, ["CMD-SHELL", "curl -f http://localhost/"]);
    assert_eq!(
        h.interval.as_ref().unwrap().duration,
        Duration::from_secs(90)
    );
    assert_eq!(
        h.timeout.as_ref().unwrap().duration,
        Duration::from_secs(10)
    );
    assert_eq!(h.retries, Some(3));
    assert_eq!(
        h.start_period.as_ref().unwrap().duration,
        Duration::from_secs(40)
    );
    assert_eq!(
        h.start_interval.as_ref().unwrap().duration,
        Duration::from_secs(5)
    );
    let dp = w.deploy.as_ref().unwrap();
    let lim = dp.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert_eq!(
        (lim.cpus, lim.memory, lim.pids),
        (Some(0.5), Some(512 << 20), Some(100))
    );
    assert_eq!(
        dp.resources
            .as_ref()
            .unwrap()
            .reservations
            .as_ref()
            .unwrap()
            .memory,
        Some(128 << 20)
    );
    assert_eq!(w.replicas(), 2);
    assert_eq!(w.labels["com.example.role"], "frontend");
    assert_eq!(w.user.as_deref(), Some("1000:1000"));
    assert_eq!(w.working_dir.as_deref(), Some("/srv"));
    assert_eq!(
        (w.hostname.as_deref(), w.domainname.as_deref()),
        (Some("web1"), Some("example.com"))
    );
    assert_eq!(
        (w.cap_add.as_slice(), w.cap_drop.as_slice()),
        (&["NET_ADMIN".to_string()][..], &["ALL".to_string()][..])
    );
    assert!(!w.privileged);
    assert_eq!(w.security_opt, ["no-new-privileges:true"]);
    assert_eq!(
        w.ulimits["nproc"],
        Ulimit {
            soft: 65535,
            hard: 65535
        }
    );
    assert_eq!(
        w.ulimits["nofile"],
        Ulimit {
            soft: 20000,
            hard: 40000
        }
    );
    assert_eq!(w.init, Some(true));
    assert_eq!(w.stop_signal.as_deref(), Some("SIGQUIT"));
    let g = w.stop_grace_period.as_ref().unwrap();
    assert_eq!((g.text.as_str(), g.seconds()), ("1m30s", 90.0));
    let lg = w.logging.as_ref().unwrap();
    assert_eq!(
        (lg.driver.as_deref(), lg.options["max-size"].as_str()),
        (Some("json-file"), "10m")
    );
    assert_eq!(w.extra_hosts["somehost"], "162.242.195.82");
    assert_eq!(w.extra_hosts["otherhost"], "50.31.209.229");
    assert_eq!(
        (
            w.dns.as_slice(),
            w.dns_search.as_slice(),
            w.dns_opt.as_slice()
        ),
        (
            &["8.8.8.8".to_string()][..],
            &["example.com".to_string()][..],
            &["use-vc".to_string()][..]
        )
    );
    assert!(w.read_only);
    assert_eq!(w.tmpfs, ["/run"]);
    assert_eq!(
        (w.shm_size, w.mem_limit, w.mem_reservation, w.memswap_limit),
        (
            Some(64 << 20),
            Some(1 << 30),
            Some(256 << 20),
            Some(2 << 30)
        )
    );
    assert_eq!(
        (w.cpus, w.cpu_shares, w.cpuset.as_deref(), w.pids_limit),
        (Some(1.5), Some(512), Some("0,1"), Some(200))
    );
    assert_eq!(w.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(w.devices, ["/dev/fuse:/dev/fuse:rwm"]);
    assert_eq!(w.secrets[0].source, "npmrc");
    let t = &w.secrets[1];
    assert_eq!(
        (t.target.as_deref(), t.uid.as_deref(), t.mode),
        (Some("/run/secrets/api_token"), Some("1000"), Some(0o440))
    );
    assert_eq!(w.configs[0].source, "nginx_conf");
    assert_eq!(w.pull_policy, Some(PullPolicy::Missing));
    assert_eq!(w.platform.as_deref(), Some("linux/amd64"));
    assert_eq!((w.attach, w.tty, w.stdin_open), (Some(false), true, true));
    assert_eq!(w.container_name.as_deref(), Some("the-web"));
    assert_eq!(
        (w.links.as_slice(), w.external_links.as_slice()),
        (&["db".to_string()][..], &["redis_1".to_string()][..])
    );
    assert_eq!(w.annotations["com.example.note"], "hi");
    assert_eq!(w.group_add, ["mail"]);
    assert_eq!(
        (w.pid.as_deref(), w.ipc.as_deref(), w.userns_mode.as_deref()),
        (Some("host"), Some("shareable"), Some("host"))
    );
    assert_eq!(
        (w.oom_score_adj, w.cgroup_parent.as_deref()),
        (Some(-500), Some("/berth"))
    );
    assert_eq!(w.extensions["x-team"], serde_json::json!("platform"));

    let db = &p.services["db"];
    assert_eq!(
        db.command.as_deref().unwrap(),
        ["postgres", "-c", "fsync=off"]
    );
    assert_eq!(db.healthcheck.as_ref().unwrap().test, ["CMD", "pg_isready"]);
    assert_eq!(
        (
            db.replicas(),
            db.restart.as_deref(),
            db.network_mode.as_deref()
        ),
        (1, Some("on-failure:3"), Some("none"))
    );
    assert!(db.networks.is_empty(), "network_mode: no default network");

    let f = &p.networks["front"];
    assert_eq!(
        (f.name.as_str(), f.driver.as_deref(), f.enable_ipv6),
        ("full_project_front", Some("bridge"), Some(true))
    );
    assert_eq!(f.driver_opts["com.docker.network.bridge.name"], "br-front");
    let pool = &f.ipam.as_ref().unwrap().config[0];
    assert_eq!(
        (
            pool.subnet.as_deref(),
            pool.gateway.as_deref(),
            pool.ip_range.as_deref()
        ),
        (
            Some("172.28.0.0/16"),
            Some("172.28.0.1"),
            Some("172.28.5.0/24")
        )
    );
    assert_eq!(f.labels["tier"], "front");
    assert!(p.networks["back"].internal && p.networks["back"].attachable);
    assert_eq!(
        (
            p.networks["outside"].external,
            p.networks["outside"].name.as_str()
        ),
        (true, "outside")
    );
    assert_eq!(p.networks["legacy"].name, "legacy_net");
    assert!(
        !p.networks.contains_key("default"),
        "every service has networks or a network_mode"
    );
    assert_eq!(p.volumes["data"].name, "full_project_data");
    assert_eq!(p.volumes["data"].labels["keep"], "yes");
    assert_eq!(
        (
            p.volumes["shared"].external,
            p.volumes["shared"].name.as_str()
        ),
        (true, "shared_data")
    );
    assert_eq!(p.volume_names(), ["data", "shared"]);
    assert_eq!(
        p.secrets["npmrc"].file.as_deref(),
        Some(d.join("npmrc").as_path())
    );
    assert_eq!(p.secrets["token"].environment.as_deref(), Some("API_TOKEN"));
    assert_eq!(p.configs["inline"].content.as_deref(), Some("hello\n"));

    assert!(
        l.warnings
            .iter()
            .any(|w| w == "compose.yaml:155: services.web: unknown key \"frobnicate\" ignored"),
        "{:?}",
        l.warnings
    );
    assert!(
        !l.warnings
            .iter()
            .any(|w| w.contains("x-team") || w.contains("x-common")),
        "{:?}",
        l.warnings
    );
    assert_eq!(p.dependency_order().unwrap(), ["db", "web"]);
}

#[test]
fn override_file_is_merged_by_the_spec_rules() {
    let p = load_dir("override", LoadOptions::default()).project;
    assert_eq!(p.name, "override");
    let a = &p.services["app"];
    assert_eq!(
        a.command.as_deref().unwrap(),
        ["run", "--override"],
        "command is replaced"
    );
    assert_eq!(a.environment["A"], "base");
    assert_eq!(a.environment["B"], "override");
    assert_eq!(a.environment["C"], "override");
    assert_eq!(
        (a.labels["one"].as_str(), a.labels["two"].as_str()),
        ("1", "2")
    );
    let ports: Vec<_> = a.ports.iter().map(|p| p.target).collect();
    assert_eq!(ports, [80, 90], "an identical port is kept once");
    let vols: Vec<_> = a
        .volumes
        .iter()
        .map(|v| (v.source.clone().unwrap_or_default(), v.target.clone()))
        .collect();
    assert_eq!(
        vols[0],
        ("other".to_string(), "/data".to_string()),
        "same target: the later entry wins"
    );
    assert_eq!(vols.len(), 2);
    assert_eq!(a.dns, ["1.1.1.1", "8.8.8.8"]);
    assert_eq!(p.volume_names(), ["data", "other"]);
    assert_eq!(p.networks["default"].name, "override_default");
    assert!(a.networks.contains_key("default"));
}

#[test]
fn several_files_merge_in_order() {
    let files = vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")];
    let p = load_dir(
        "multi",
        LoadOptions {
            files,
            ..Default::default()
        },
    )
    .project;
    assert_eq!(p.name, "multi");
    let w = &p.services["web"];
    assert_eq!(w.image.as_deref(), Some("web:2"));
    let h = w.healthcheck.as_ref().unwrap();
    assert_eq!(
        h.test,
        ["CMD", "b"],
        "healthcheck.test is replaced, not appended"
    );
    assert_eq!(
        h.interval.as_ref().unwrap().duration,
        Duration::from_secs(5)
    );
    assert_eq!(p.service_names(), ["web", "worker"]);
}

#[test]
fn extends_same_file_and_other_file() {
    let p = load_dir("extends", LoadOptions::default()).project;
    let c = &p.services["child"];
    assert_eq!(c.image.as_deref(), Some("base:1"));
    assert_eq!(
        (
            c.environment["LEVEL"].as_str(),
            c.environment["CHILD"].as_str()
        ),
        ("base", "1")
    );
    let g = &p.services["grandchild"];
    assert_eq!(
        (
            g.environment["LEVEL"].as_str(),
            g.environment["CHILD"].as_str()
        ),
        ("grand", "1")
    );
    assert_eq!(g.ports.len(), 1);
    let r = &p.services["remote"];
    let common = dir("extends").join("common");
    assert_eq!(r.image.as_deref(), Some("shared:1"));
    assert_eq!(r.build.as_ref().unwrap().context, common.join("ctx"));
    assert_eq!(
        r.environment["SHARED"], "1",
        "env_file relative to the extended file"
    );
    assert_eq!(
        r.volumes[0].source.as_deref(),
        Some(common.join("data").to_str().unwrap())
    );
    assert_eq!(r.command.as_deref().unwrap(), ["echo", "remote"]);
}

#[test]
fn profiles_enable_services() {
    let names = |opts: LoadOptions| load_dir("profiles", opts).project.service_names();
    assert_eq!(names(LoadOptions::default()), ["app"]);
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(LoadOptions {
            profiles: p(&["ops"]),
            ..Default::default()
        }),
        ["app", "ops"]
    );
    assert_eq!(
        names(LoadOptions {
            profiles: p(&["debug", "tools"]),
            ..Default::default()
        }),
        ["app", "debug", "helper", "ops"]
    );
    assert_eq!(
        names(LoadOptions {
            profiles: p(&["*"]),
            ..Default::default()
        }),
        ["app", "debug", "helper", "ops"]
    );
    assert_eq!(
        names(LoadOptions {
            environment: env_of(&[("COMPOSE_PROFILES", "ops,tools")]),
            ..Default::default()
        }),
        ["app", "helper", "ops"]
    );
    // Named on the command line: enabled with its dependencies.
    assert_eq!(
        names(LoadOptions {
            services: p(&["debug"]),
            ..Default::default()
        }),
        ["app", "debug", "helper"]
    );
    // debug's profile on, helper's not: its required dependency is missing.
    let e = load(&LoadOptions {
        working_dir: Some(dir("profiles")),
        profiles: p(&["debug"]),
        environment: env_of(&[]),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "compose.yaml:7: services.debug.depends_on: service \"debug\" depends on undefined service \"helper\""
    );
    let e = load(&LoadOptions {
        working_dir: Some(dir("profiles")),
        services: p(&["nope"]),
        environment: env_of(&[]),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "no such service: nope");
}

#[test]
fn anchors_and_merge_keys() {
    let p = load_dir("anchors", LoadOptions::default()).project;
    let one = &p.services["one"];
    assert_eq!(
        (one.image.as_deref(), one.restart.as_deref()),
        (Some("base"), Some("always"))
    );
    assert_eq!(one.environment["MODE"], "prod");
    let two = &p.services["two"];
    assert_eq!(two.image.as_deref(), Some("two"));
    assert_eq!(
        (
            two.environment["LOG"].as_str(),
            two.environment["MODE"].as_str()
        ),
        ("info", "dev")
    );
}

#[test]
fn interpolation_from_dotenv_and_process() {
    let l = load_dir(
        "interp",
        LoadOptions {
            environment: env_of(&[("IN_BOTH", "process"), ("GREETING", "hello")]),
            ..Default::default()
        },
    );
    let p = &l.project;
    assert_eq!(p.name, "fromdotenv", "COMPOSE_PROJECT_NAME from .env");
    let a = &p.services["app"];
    assert_eq!(a.image.as_deref(), Some("busybox:1.2"));
    assert_eq!(a.command.as_deref().unwrap(), ["echo", "$HOME", "hello"]);
    assert_eq!(a.environment["FROM_DOTENV"], "dot");
    assert_eq!(
        a.environment["BOTH"], "process",
        "the process environment wins over .env"
    );
    assert_eq!(a.environment["NESTED"], "deep");
    assert_eq!(a.environment["ALT"], "tagged");
    assert_eq!(a.environment["BLANK"], "");
    assert_eq!(a.replicas(), 3, "an interpolated string read as an integer");
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("\"NOT_DEFINED\" variable is not set")),
        "{:?}",
        l.warnings
    );
    // --env-file replaces .env; -p wins over everything.
    let tmp = tempfile::tempdir().unwrap();
    let alt = tmp.path().join("alt.env");
    std::fs::write(&alt, "TAG=9\nREPLICAS=1\n").unwrap();
    let l = load_dir(
        "interp",
        LoadOptions {
            env_files: vec![alt],
            project_name: Some("Given".into()),
            ..Default::default()
        },
    );
    assert_eq!(l.project.name, "given");
    assert_eq!(
        l.project.services["app"].image.as_deref(),
        Some("busybox:9")
    );
}

#[test]
fn discovery_walks_up_and_finds_the_override() {
    let sub = dir("override").join("nested-missing");
    assert!(!sub.exists());
    let files = discover(&dir("override")).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["compose.yaml", "compose.override.yaml"]);
    let tmp = tempfile::tempdir().unwrap();
    let deep = tmp.path().join("a/b");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(tmp.path().join("docker-compose.yml"), "services: {}\n").unwrap();
    assert_eq!(
        discover(&deep).unwrap(),
        [tmp.path().join("docker-compose.yml")]
    );
}

#[test]
fn oversize_file_is_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("compose.yaml");
    let mut text = String::from("services:\n  a:\n    image: x\n");
    text.push_str(&"# padding padding padding padding\n".repeat(MAX_FILE_BYTES / 30));
    std::fs::write(&f, text).unwrap();
    let e = load(&LoadOptions {
        working_dir: Some(tmp.path().into()),
        environment: env_of(&[]),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        e.to_string().starts_with("compose.yaml: ") && e.to_string().contains("limit"),
        "{e}"
    );
}

#[test]
fn config_output_and_hash() {
    let p = load_dir("override", LoadOptions::default()).project;
    let y = p.to_yaml();
    assert!(y.starts_with("name: override\nservices:\n  app:\n"), "{y}");
    assert!(
        y.contains("published: \"8080\"") || y.contains("published: '8080'"),
        "{y}"
    );
    assert!(
        y.contains("networks:\n  default:\n    name: override_default"),
        "{y}"
    );
    let mut s = p.services["app"].clone();
    let h = s.config_hash(&p);
    assert_eq!(h.len(), 64);
    s.scale = Some(5);
    s.depends_on.clear();
    assert_eq!(s.config_hash(&p), h, "scaling does not change the hash");
    s.image = Some("app:2".into());
    assert_ne!(s.config_hash(&p), h);
    // A config's content is part of the hash of the services that mount it.
    let mut full = load_dir("full", LoadOptions::default()).project;
    let web = full.services["web"].clone();
    let h = web.config_hash(&full);
    full.configs.get_mut("nginx_conf").unwrap().file = Some("/elsewhere".into());
    assert_ne!(web.config_hash(&full), h);
    let db = full.services["db"].clone();
    let hdb = db.config_hash(&full);
    full.configs.get_mut("inline").unwrap().content = Some("changed".into());
    assert_eq!(db.config_hash(&full), hdb, "db mounts no config");
}

#[test]
fn reset_and_override_tags() {
    let p = load_dir("reset", LoadOptions::default()).project;
    let a = &p.services["app"];
    assert!(a.ports.is_empty(), "!reset [] clears the ports");
    assert!(!a.environment.contains_key("FOO"));
    assert_eq!(a.environment["KEEP"], "1");
    assert_eq!(
        a.dns,
        ["8.8.8.8"],
        "!override replaces instead of appending"
    );
    assert!(a.cap_add.is_empty(), "!reset with nothing before is unset");
}

#[test]
fn warnings_for_unknown_keys_and_version() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "version: \"3.9\"\nx-top: {a: 1}\nbogus: 1\nservices:\n  web:\n    image: nginx\n    x-note: fine\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      intervall: 5s\nnetworks:\n  n1:\n    drivr: bridge\n";
    std::fs::write(tmp.path().join("compose.yaml"), text).unwrap();
    let l = load(&LoadOptions {
        working_dir: Some(tmp.path().into()),
        environment: env_of(&[]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        l.warnings,
        [
            "compose.yaml:1: version: the attribute `version` is obsolete, it will be ignored",
            "compose.yaml:3: (root): unknown key \"bogus\" ignored",
            "compose.yaml:10: services.web.healthcheck: unknown key \"intervall\" ignored",
            "compose.yaml:13: networks.n1: unknown key \"drivr\" ignored",
        ]
    );
    let dir_name = tmp.path().file_name().unwrap().to_str().unwrap();
    assert_eq!(
        l.project.name,
        normalize_project_name(dir_name),
        "named after the directory"
    );
}

#[test]
fn include_adds_another_files_resources() {
    let p = load_dir("include", LoadOptions::default()).project;
    assert_eq!(p.service_names(), ["db", "web"]);
    assert_eq!(p.dependency_order().unwrap(), ["db", "web"]);
    assert_eq!(p.volumes["dbdata"].name, "include_dbdata");
    let ctx = &p.services["db"].build.as_ref().unwrap().context;
    assert_eq!(
        ctx,
        &dir("include").join("db/image"),
        "relative to the included file"
    );
}

#[test]
fn links_and_service_modes_are_dependencies() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "services:\n  a:\n    image: x\n    network_mode: service:b\n    links: [\"c:alias\"]\n  b:\n    image: x\n    ipc: service:c\n  c:\n    image: x\n";
    std::fs::write(tmp.path().join("compose.yaml"), text).unwrap();
    let l = load(&LoadOptions {
        working_dir: Some(tmp.path().into()),
        environment: env_of(&[]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(l.project.dependency_order().unwrap(), ["c", "b", "a"]);
    assert_eq!(
        l.project.services["a"].depends_on["c"].condition,
        Condition::ServiceStarted
    );
}
