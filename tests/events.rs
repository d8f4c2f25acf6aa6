//! `berth events` end to end: what real containers, images, volumes and
//! networks record, filters, following as it happens, concurrent writers,
//! rotation and the `none` backend.

mod common;

use common::*;
use serde_json::Value;
use std::io::BufRead;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// Unix nanoseconds of an event's RFC 3339 time.
fn nanos(t: &str) -> i64 {
    let out = std::process::Command::new("date")
        .args(["-d", t, "+%s%N"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

#[test]
fn a_containers_life_and_the_rest_in_order() {
    let _net = network_guard(false);
    let (_reg, berth) = pulled(busybox_layer());
    let id = berth
        .ok(&[
            "create",
            "--name",
            "ev1",
            "--label",
            "team=blue green",
            "busybox",
            "sleep",
            "100",
        ])
        .trim()
        .to_string();
    berth.ok(&["start", "ev1"]);
    berth.ok(&["exec", "ev1", "true"]);
    berth.ok(&["kill", "ev1"]);
    berth.ok(&["wait", "ev1"]);
    berth.ok(&["rm", "ev1"]);
    berth.ok(&["network", "create", "evnet"]);
    let other = berth.ok(&["create", "--name", "evc", "busybox", "true"]);
    berth.ok(&["network", "connect", "evnet", "evc"]);
    berth.ok(&["network", "disconnect", "evnet", "evc"]);
    berth.ok(&["rm", "evc"]);
    berth.ok(&["volume", "create", "evvol"]);
    berth.ok(&["tag", "busybox", "evtag"]);
    berth.ok(&["network", "rm", "evnet"]);
    berth.ok(&["volume", "rm", "evvol"]);

    let all = json_lines(&berth.ok(&["events", "--stream=false", "--format", "json"]));
    // The pull of the setup came first, without an ID (podman 4.3.1).
    assert_eq!(all[0]["Type"], "image");
    assert_eq!(all[0]["Status"], "pull");
    assert_eq!(all[0]["Name"], "busybox");
    assert!(all[0].get("ID").is_none());
    let mine: Vec<&Value> = all.iter().filter(|e| e["ID"] == id.as_str()).collect();
    let statuses: Vec<&str> = mine.iter().map(|e| e["Status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            "create",
            "init",
            "start",
            "exec",
            "exec_died",
            "kill",
            "died",
            "cleanup",
            "remove"
        ],
        "{all:#?}"
    );
    for e in &mine {
        assert_eq!(e["Type"], "container");
        assert_eq!(e["Name"], "ev1");
        assert!(e["Image"].as_str().unwrap().contains("busybox"), "{e}");
        if e["Status"] != "exec_died" {
            assert_eq!(e["Attributes"]["team"], "blue green", "{e}");
        }
    }
    let died = mine.iter().find(|e| e["Status"] == "died").unwrap();
    assert_eq!(died["ContainerExitCode"], 137);
    // Times only go forward within one writer's sequence.
    let times: Vec<i64> = mine
        .iter()
        .map(|e| nanos(e["Time"].as_str().unwrap()))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let rest: Vec<(String, String)> = all
        .iter()
        .filter(|e| e["Type"] != "container")
        .skip(1)
        .map(|e| {
            (
                format!(
                    "{} {}",
                    e["Type"].as_str().unwrap(),
                    e["Status"].as_str().unwrap()
                ),
                e.get("network")
                    .or(e.get("Name"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let want = [
        ("network create", "evnet"),
        ("network connect", "evnet"),
        ("network disconnect", "evnet"),
        ("volume create", "evvol"),
        ("image tag", "evtag"),
        ("network remove", "evnet"),
        ("volume remove", "evvol"),
    ];
    assert_eq!(
        rest,
        want.map(|(a, b)| (a.to_string(), b.to_string())),
        "{all:#?}"
    );
    // connect/disconnect name the container (ID and name) and the network.
    let connect = all.iter().find(|e| e["Status"] == "connect").unwrap();
    assert_eq!(connect["ID"], other.trim());
    assert_eq!(connect["Name"], "evc");
    let line = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "network=evnet",
        "--filter",
        "event=connect",
    ]);
    assert!(
        line.trim().ends_with(&format!(
            " network connect {0} (container={0}, name=evnet)",
            other.trim()
        )),
        "{line}"
    );

    // The default line, as podman prints it, and --no-trunc=false.
    let human = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "container=ev1",
        "--filter",
        "event=start",
        "--no-trunc=false",
    ]);
    let line = human.trim();
    assert!(
        line.contains(&format!(" container start {} (image=", &id[..12]))
            && line.contains(", name=ev1, ")
            && line.contains(", team=blue green"),
        "{line}"
    );
    // Same key ORs, different keys AND; labels; status is event.
    let got = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=died",
        "--filter",
        "status=remove",
        "--filter",
        "label=team=blue green",
        "--format",
        "{{.Status}} {{.ContainerExitCode}} {{.Attributes.team}}",
    ]);
    assert_eq!(got, "died 137 blue green\nremove 0 blue green\n");
    // --since/--until bound the window: nothing before the pull, all after.
    let t = all[3]["Time"].as_str().unwrap().to_string();
    let after = berth.ok(&[
        "events",
        "--stream=false",
        "--since",
        &t,
        "--format",
        "json",
    ]);
    assert_eq!(json_lines(&after).len(), all.len() - 4);
    let before = berth.ok(&[
        "events",
        "--stream=false",
        "--until",
        &t,
        "--format",
        "json",
    ]);
    assert_eq!(json_lines(&before).len(), 3);
    assert_eq!(
        berth.ok(&[
            "events",
            "--stream=false",
            "--since",
            "1h",
            "--format",
            "json"
        ]),
        berth.ok(&["events", "--stream=false", "--format", "json"])
    );
    assert_eq!(
        berth.ok(&["events", "--stream=false", "--until", "-1h"]),
        ""
    );
    // Bad input says what is wrong.
    let err = berth.fails(&["events", "--stream=false", "--filter", "colour=red"], 125);
    assert!(err.contains("colour is an invalid filter"), "{err}");
    let err = berth.fails(&["events", "--stream=false", "--since", "yesterday"], 125);
    assert!(
        err.contains("unable to convert since time of yesterday"),
        "{err}"
    );
    // `system events` is the same command.
    assert_eq!(
        berth.ok(&["system", "events", "--stream=false", "--format", "json"]),
        berth.ok(&["events", "--stream=false", "--format", "json"])
    );
}

#[test]
fn a_follower_sees_each_event_within_a_second() {
    let (_reg, berth) = pulled(busybox_layer());
    let mut follower = berth
        .cmd()
        .args(["events", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(Value, i64)>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let v: Value = serde_json::from_str(&line).unwrap();
            if tx.send((v, now_nanos())).is_err() {
                break;
            }
        }
    });
    // The follower is up once it sees what happens next.
    std::thread::sleep(Duration::from_millis(300));
    let run = berth.run(&[
        "run",
        "--rm",
        "--name",
        "fol",
        "busybox",
        "sh",
        "-c",
        "sleep 1.5; exit 3",
    ]);
    assert_eq!(run.status.code(), Some(3));
    berth.ok(&["volume", "create", "folvol"]);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let Ok((e, at)) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let late = at - nanos(e["Time"].as_str().unwrap());
        assert!(late < 1_000_000_000, "{e} arrived {late} ns late");
        let s = format!(
            "{} {}",
            e["Type"].as_str().unwrap(),
            e["Status"].as_str().unwrap()
        );
        let done = s == "volume create";
        seen.push(s);
        if done {
            break;
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert_eq!(
        seen,
        [
            "container create",
            "container init",
            "container start",
            "container attach",
            "container died",
            "container cleanup",
            "container remove",
            "volume create"
        ]
    );
}

#[test]
fn concurrent_writers_leave_every_line_whole() {
    let (_reg, berth) = pulled(busybox_layer());
    // 8 writer processes at once, each creating and removing volumes.
    let script = format!(
        "for i in $(seq 1 15); do {b} volume create w$1-$i >/dev/null && {b} volume rm w$1-$i >/dev/null || exit 1; done",
        b = format!(
            "{} --root {} --runroot {}",
            bin(),
            berth.root().display(),
            berth.dir.path().join("run").display()
        )
    );
    let kids: Vec<_> = (0..8)
        .map(|w| {
            std::process::Command::new("sh")
                .args(["-c", &script, "sh", &w.to_string()])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    let log = std::fs::read_to_string(berth.dir.path().join("run/events/events.log")).unwrap();
    let lines = json_lines(&log);
    let volumes: Vec<&Value> = lines.iter().filter(|e| e["Type"] == "volume").collect();
    assert_eq!(volumes.len(), 8 * 15 * 2);
    for w in 0..8 {
        for i in 1..=15 {
            let name = format!("w{w}-{i}");
            let mine: Vec<&str> = volumes
                .iter()
                .filter(|e| e["Name"] == name.as_str())
                .map(|e| e["Status"].as_str().unwrap())
                .collect();
            assert_eq!(mine, ["create", "remove"], "{name}");
        }
    }
}

#[test]
fn the_log_rotates_at_its_limit_as_podmans() {
    let (_reg, berth) = pulled(busybox_layer());
    let dir = berth.dir.path();
    let log = dir.join("custom/events.txt");
    let conf = dir.join("containers.conf");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let populate = || {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!(
                "{{\"Name\":\"busybox\",\"Status\":\"pull\",\"Time\":\"2022-04-06T11:26:42.7236679{i:02}+02:00\",\"Type\":\"image\",\"Attributes\":null}}\n"
            ));
        }
        std::fs::write(&log, &text).unwrap();
        text
    };
    let with_conf = |args: &[&str]| {
        let out = berth
            .cmd()
            .env("CONTAINERS_CONF", &conf)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // No limit set: podman's 1 MB default leaves it be.
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger=\"file\"\nevents_logfile_path=\"{}\"\n",
            log.display()
        ),
    )
    .unwrap();
    assert_eq!(with_conf(&["events", "--stream=false"]), "");
    let before = populate();
    with_conf(&["volume", "create", "r1"]);
    assert!(std::fs::read_to_string(&log).unwrap().starts_with(&before));
    // Half the log's size: the next event rotates it.
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger=\"file\"\nevents_logfile_path=\"{}\"\nevents_logfile_max_size=4750\n",
            log.display()
        ),
    )
    .unwrap();
    let before = populate();
    with_conf(&["volume", "rm", "r1"]);
    let after = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines.len(), 51);
    assert_eq!(lines[..49], before.lines().collect::<Vec<_>>()[51..]);
    let listed = with_conf(&[
        "events",
        "--stream=false",
        "--since",
        "2022-03-06T11:26:42.723667984+02:00",
    ]);
    let listed: Vec<&str> = listed.lines().collect();
    assert_eq!(listed.len(), 51);
    assert!(
        listed[49].ends_with(&format!(" system log-rotation {}", log.display())),
        "{}",
        listed[49]
    );
    assert!(listed[50].ends_with(" volume remove r1"), "{}", listed[50]);
}

#[test]
fn the_none_backend_records_nothing_and_cannot_be_read() {
    let (_reg, berth) = pulled(busybox_layer());
    let log = berth.dir.path().join("run/events/events.log");
    let before = std::fs::read_to_string(&log).unwrap();
    berth.ok(&["--events-backend", "none", "run", "--rm", "busybox", "true"]);
    berth.ok(&["--events-backend=none", "volume", "create", "quiet"]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), before);
    for args in [
        &["--events-backend", "none", "events"][..],
        &["--events-backend", "none", "events", "--stream=false"][..],
    ] {
        let err = berth.fails(args, 125);
        assert_eq!(err, "Error: cannot read events with the \"none\" backend\n");
    }
    let err = berth.fails(&["--events-backend", "syslog", "events"], 125);
    assert!(
        err.contains("\"syslog\" is not a valid events backend"),
        "{err}"
    );
}

#[test]
fn image_operations_as_podman_names_them() {
    let (_reg, berth) = pulled(busybox_layer());
    let dir = berth.dir.path();
    let id = berth
        .ok(&["image", "inspect", "--format", "{{.ID}}", "busybox"])
        .trim()
        .to_string();
    let name = berth
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .trim()
        .to_string();
    let pushed = format!("dir:{}", dir.join("pushed").display());
    let ball = dir.join("ball.tar").display().to_string();
    let archive = format!("docker-archive:{ball}");
    berth.ok(&["push", "-q", "busybox", &pushed]);
    berth.ok(&["save", "busybox", "-o", &ball]);
    berth.ok(&["load", "-q", "-i", &ball]);
    berth.ok(&["pull", "-q", &archive]);
    berth.ok(&["tag", "busybox", "registry.com/evtag"]);
    berth.ok(&["untag", "busybox", "registry.com/evtag"]);
    berth.ok(&["tag", "busybox", "registry.com/evtag"]);
    berth.ok(&["rmi", "-f", &id]);
    let got = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "type=image",
        "--format",
        "{{.Status}}--{{.ID}}--{{.Name}}",
    ]);
    let want = [
        "pull----busybox".to_string(),
        format!("push--{id}--{pushed}"),
        format!("save--{id}--{ball}"),
        format!("loadfromarchive----{ball}"),
        format!("pull----{archive}"),
        format!("tag--{id}--registry.com/evtag"),
        format!("untag--{id}--registry.com/evtag:latest"),
        format!("tag--{id}--registry.com/evtag"),
        format!("untag--{id}--{name}"),
        format!("untag--{id}--registry.com/evtag:latest"),
        format!("remove--{id}--{id}"),
    ];
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    // The pushed directory is what containers/image's dir transport reads.
    let pushed_dir = dir.join("pushed");
    assert_eq!(
        std::fs::read_to_string(pushed_dir.join("version")).unwrap(),
        "Directory Transport Version: 1.1\n"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(pushed_dir.join("manifest.json")).unwrap()).unwrap();
    for d in manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["digest"])
        .chain([&manifest["config"]["digest"]])
    {
        let hex = d.as_str().unwrap().trim_start_matches("sha256:");
        let blob = std::fs::read(pushed_dir.join(hex)).unwrap();
        assert_eq!(sha256(&blob), d.as_str().unwrap());
    }
}

#[test]
fn rootless_events_are_the_users_own() {
    let (uid, gid) = test_user();
    let reg = registry_with(busybox_layer());
    let berth = Berth::new(&[&reg]);
    std::fs::create_dir_all(berth.dir.path().join("runtime")).unwrap();
    berth.give_to(uid, gid);
    let run = |args: &[&str]| {
        let out = berth.rootless_cmd(uid, gid).args(args).output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "berth {args:?}: {out:?}"
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["pull", "-q", "busybox"]);
    run(&["run", "--rm", "--name", "rl", "busybox", "true"]);
    // The user's runroot holds the log, the user's, private; the monitor
    // (in the user namespace) wrote to it too.
    let log = berth.dir.path().join("runtime/berth/events/events.log");
    let meta = std::fs::metadata(&log).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (uid, gid, 0o600)
    );
    let got = run(&[
        "events",
        "--stream=false",
        "--filter",
        "container=rl",
        "--format",
        "{{.Status}}",
    ]);
    assert_eq!(got, "create\ninit\nstart\nattach\ndied\ncleanup\nremove\n");
}

#[test]
fn pause_rename_restart_stop_and_health_checks() {
    let (_reg, berth) = pulled(busybox_layer());
    let id = berth
        .ok(&[
            "run",
            "-d",
            "--name",
            "lc",
            "--health-cmd",
            "true",
            "--health-interval",
            "1h",
            "busybox",
            "sleep",
            "100",
        ])
        .trim()
        .to_string();
    berth.ok(&["healthcheck", "run", "lc"]);
    berth.ok(&["pause", "lc"]);
    berth.ok(&["unpause", "lc"]);
    berth.ok(&["rename", "lc", "lc2"]);
    berth.ok(&["restart", "-t", "0", "lc2"]);
    berth.ok(&["stop", "-t", "0", "lc2"]);
    berth.ok(&["rm", "lc2"]);
    let got = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        &format!("container={}", &id[..12]),
        "--format",
        "{{.Status}} {{.Name}} {{.HealthStatus}}",
    ]);
    assert_eq!(
        got.lines().map(str::trim_end).collect::<Vec<_>>(),
        [
            "create lc",
            "init lc",
            "start lc",
            "health_status lc healthy",
            "pause lc",
            "unpause lc",
            "rename lc2",
            "died lc2",
            "cleanup lc2",
            "stop lc2",
            "init lc2",
            "start lc2",
            "restart lc2",
            "died lc2",
            "cleanup lc2",
            "stop lc2",
            "remove lc2",
        ]
    );
    let health = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=health_status",
    ]);
    assert!(
        health.contains(&format!(" container health_status {id} (image="))
            && health.contains(", name=lc, health_status=healthy"),
        "{health}"
    );
}
