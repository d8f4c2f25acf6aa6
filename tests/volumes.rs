//! Volumes end to end: named and anonymous volumes, copy-up from the
//! image, sharing, read-only mounts, and the volume commands.

mod common;

use common::*;

fn setup() -> (Registry, Berth) {
    let reg = Registry::start();
    let mut l = Layout::new();
    l.volumes = vec!["/vol"];
    let mut layer = busybox_layer();
    layer.push(Entry::Dir("vol", 0o755));
    layer.push(Entry::File("vol/seed", b"from-image\n".to_vec(), 0o640));
    layer.push(Entry::Dir("srv", 0o750));
    layer.push(Entry::Owned("srv/config", b"cfg\n".to_vec(), 1000, 1000));
    l.image(&[layer], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    (reg, berth)
}

#[test]
fn named_volume_outlives_its_container() {
    let (_reg, berth) = setup();
    // A database-like workload: many writes, fsynced, then checksummed.
    let sum = berth.ok(&["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "for i in $(seq 1 200); do echo row-$i >> /data/table; done; dd if=/dev/urandom of=/data/blob bs=64k count=32 2>/dev/null; sync; cat /data/table /data/blob | sha256sum"]);
    assert_eq!(berth.ok(&["volume", "ls", "-q"]).trim(), "data");
    let again = berth.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data:ro",
        "busybox",
        "sh",
        "-c",
        "cat /data/table /data/blob | sha256sum",
    ]);
    assert_eq!(sum, again, "every byte survived");
    let o = berth.run(&[
        "run",
        "--rm",
        "-v",
        "data:/data:ro",
        "busybox",
        "touch",
        "/data/x",
    ]);
    assert_ne!(o.status.code(), Some(0), "read-only refuses writes");
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(v[0]["Name"], "data");
    assert_eq!(v[0]["Driver"], "local");
    let mp = v[0]["Mountpoint"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(mp).join("table"))
            .unwrap()
            .lines()
            .count(),
        200
    );
    berth.ok(&["volume", "exists", "data"]);
    berth.fails(&["volume", "exists", "nope"], 1);
}

#[test]
fn two_containers_share_a_volume() {
    let (_reg, berth) = setup();
    berth.ok(&["volume", "create", "--label", "team=a", "shared"]);
    berth.ok(&["run", "-d", "--name", "writer", "-v", "shared:/s", "busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /s/tick.tmp; mv /s/tick.tmp /s/tick; sleep 0.05; done"]);
    // The tick file appears once the writer has run a little.
    let read = |b: &Berth| -> Option<u64> {
        let o = b.run(&[
            "run",
            "--rm",
            "-v",
            "shared:/s",
            "busybox",
            "cat",
            "/s/tick",
        ]);
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    };
    let start = std::time::Instant::now();
    let first = loop {
        if let Some(n) = read(&berth) {
            break n;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the writer never wrote"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        read(&berth).unwrap() > first,
        "the reader sees the writer's progress"
    );
    let err = berth.fails(&["volume", "rm", "shared"], 2);
    assert!(err.contains("being used"), "{err}");
    assert_eq!(
        berth
            .ok(&["volume", "ls", "--filter", "label=team=a", "-q"])
            .trim(),
        "shared"
    );
    let table = berth.ok(&["volume", "ls"]);
    assert!(
        table.starts_with("DRIVER") && table.contains("VOLUME NAME") && table.contains("local"),
        "{table}"
    );
    berth.ok(&["volume", "rm", "-f", "shared"]);
    assert_eq!(
        berth.ok(&["ps", "-a", "-q"]),
        "",
        "forced removal took the container too"
    );
}

#[test]
fn image_volumes_are_copied_up_and_anonymous() {
    let (_reg, berth) = setup();
    // No -v: the image's VOLUME /vol becomes an anonymous volume holding the image's files.
    let id = berth
        .ok(&[
            "run",
            "-d",
            "busybox",
            "sh",
            "-c",
            "cat /vol/seed; echo more > /vol/added",
        ])
        .trim()
        .to_string();
    berth.ok(&["wait", &id]);
    assert_eq!(berth.ok(&["logs", &id]), "from-image\n");
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["container", "inspect", &id])).unwrap();
    let m = &v[0]["Mounts"][0];
    assert_eq!(
        (m["Type"].as_str(), m["Destination"].as_str()),
        (Some("volume"), Some("/vol"))
    );
    let anon = m["Name"].as_str().unwrap().to_string();
    let data = std::path::Path::new(m["Source"].as_str().unwrap()).to_path_buf();
    assert_eq!(
        std::fs::read_to_string(data.join("seed")).unwrap(),
        "from-image\n"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("added")).unwrap(),
        "more\n"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(data.join("seed"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    // A named volume over image content is populated once, with owners kept...
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "-v",
            "cfg:/srv",
            "busybox",
            "stat",
            "-c",
            "%u %a %n",
            "/srv/config",
            "/srv"
        ]),
        "1000 640 /srv/config\n0 750 /srv\n"
    );
    berth.ok(&[
        "run",
        "--rm",
        "-v",
        "cfg:/srv",
        "busybox",
        "rm",
        "/srv/config",
    ]);
    assert_eq!(
        berth
            .run(&[
                "run",
                "--rm",
                "-v",
                "cfg:/srv",
                "busybox",
                "test",
                "-e",
                "/srv/config"
            ])
            .status
            .code(),
        Some(1),
        "not copied again"
    );
    // ...and not at all with nocopy.
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "-v",
            "empty:/srv:nocopy",
            "busybox",
            "ls",
            "-A",
            "/srv"
        ]),
        ""
    );
    // rm -v removes the anonymous volume; named ones stay.
    berth.ok(&["rm", "-v", &id]);
    assert!(!berth.ok(&["volume", "ls", "-q"]).contains(&anon));
    // run --rm removes its anonymous volumes too.
    berth.ok(&[
        "run",
        "--rm",
        "-v",
        "/scratch",
        "busybox",
        "touch",
        "/scratch/x",
    ]);
    let left: Vec<String> = berth
        .ok(&["volume", "ls", "-q"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(left, ["cfg", "empty"]);
    assert_eq!(berth.ok(&["volume", "prune", "-f"]).lines().count(), 2);
    assert_eq!(berth.ok(&["volume", "ls", "-q"]), "");
    let err = berth.fails(&["volume", "rm", "nosuch"], 1);
    assert!(err.contains("no such volume"), "{err}");
}

#[test]
fn volume_driver_options_and_chown() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "o=size=1m",
        "scratch",
    ]);
    let o = berth.ok(&[
        "run",
        "--rm",
        "-v",
        "scratch:/t",
        "busybox",
        "sh",
        "-c",
        "echo x > /t/f; df -k /t | tail -1",
    ]);
    assert!(o.contains(" 1024 "), "bounded by its size: {o}");
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "-v",
            "scratch:/t",
            "busybox",
            "ls",
            "-A",
            "/t"
        ]),
        "",
        "a tmpfs volume is empty on every start"
    );
    let host = tempfile::tempdir().unwrap();
    let dev = host.path().display().to_string();
    berth.ok(&[
        "volume",
        "create",
        "--opt",
        "o=bind",
        "--opt",
        &format!("device={dev}"),
        "hostdir",
    ]);
    berth.ok(&[
        "run",
        "--rm",
        "-v",
        "hostdir:/b",
        "busybox",
        "sh",
        "-c",
        "echo here > /b/f",
    ]);
    assert_eq!(
        std::fs::read_to_string(host.path().join("f")).unwrap(),
        "here\n"
    );
    let err = berth.fails(&["volume", "create", "--opt", "type=nfs", "bad"], 125);
    assert!(err.contains("type=nfs"), "{err}");
    // :U hands the volume to the container's user.
    let o = berth.ok(&[
        "run",
        "--rm",
        "-u",
        "app",
        "-v",
        "mine:/data:U",
        "busybox",
        "sh",
        "-c",
        "touch /data/ok && stat -c '%u %g' /data",
    ]);
    assert_eq!(o, "1000 1000\n");
}

#[test]
fn volumes_from_tmpfs_and_symlinked_mount_points() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "create",
        "--name",
        "src",
        "-v",
        "shared:/shared",
        "busybox",
        "true",
    ]);
    berth.ok(&[
        "run",
        "--rm",
        "-v",
        "shared:/shared",
        "busybox",
        "sh",
        "-c",
        "echo via-src > /shared/f",
    ]);
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "src",
            "busybox",
            "cat",
            "/shared/f",
            "/vol/seed"
        ]),
        "via-src\nfrom-image\n"
    );
    let o = berth.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "src:ro",
        "busybox",
        "touch",
        "/shared/x",
    ]);
    assert_ne!(o.status.code(), Some(0), ":ro makes them read-only");
    // A --tmpfs is empty on every start and bounded by its size.
    berth.ok(&[
        "create",
        "--name",
        "t",
        "--tmpfs",
        "/scratch:size=512k",
        "busybox",
        "sh",
        "-c",
        "ls -A /scratch; echo x > /scratch/f; df -k /scratch | tail -1",
    ]);
    berth.ok(&["start", "-a", "t"]);
    let o = berth.ok(&["start", "-a", "t"]);
    assert!(
        !o.starts_with('f') && o.contains(" 512 "),
        "empty again, 512k: {o}"
    );
    // An image whose mount point is a symlink to a host directory: the
    // mount resolves inside the container, never at the host path.
    let reg2 = Registry::start();
    let host_target = tempfile::tempdir().unwrap();
    let t: &'static str = Box::leak(host_target.path().display().to_string().into_boxed_str());
    let mut l = Layout::new();
    let mut layer = busybox_layer();
    layer.push(Entry::Symlink("data", t));
    l.image(&[layer], "amd64", &["/bin/sh"], Some("latest"));
    reg2.push_layout(l.path(), "latest", "evil:latest", false);
    let b2 = Berth::new(&[&reg2]);
    b2.ok(&["pull", "-q", "evil"]);
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("from-src"), "ok").unwrap();
    let o = b2.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/data", src.path().display()),
        "evil",
        "sh",
        "-c",
        "cat /data/from-src; touch /data/m",
    ]);
    assert_eq!(
        o, "ok",
        "the bind is visible through the symlink, inside the container"
    );
    assert!(src.path().join("m").exists());
    assert!(
        std::fs::read_dir(host_target.path())
            .unwrap()
            .next()
            .is_none(),
        "the host directory the symlink names is untouched"
    );
    let o = b2.ok(&[
        "run",
        "--rm",
        "-v",
        "vol:/data",
        "evil",
        "sh",
        "-c",
        "touch /data/in-volume && echo done",
    ]);
    assert_eq!(o, "done\n");
    assert!(
        std::fs::read_dir(host_target.path())
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn one_mount_per_destination_mount_flags_and_tmpfs_copy_up() {
    let (_reg, berth) = setup();
    let host = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let (h, o) = (
        host.path().display().to_string(),
        other.path().display().to_string(),
    );
    // The same mount twice is one mount; two on one destination are refused.
    berth.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{h}:/d"),
        "-v",
        &format!("{h}:/d"),
        "busybox",
        "true",
    ]);
    berth.ok(&[
        "run", "--rm", "--tmpfs", "/t", "--tmpfs", "/t", "busybox", "true",
    ]);
    for args in [
        vec!["-v", &*format!("{h}:/d"), "-v", &*format!("{o}:/d")],
        vec!["-v", "v1:/d", "-v", "v2:/d"],
        vec!["-v", "v1:/d", "--tmpfs", "/d"],
        vec!["--tmpfs", "/d", "--tmpfs", "/d:ro"],
        vec![
            "--mount",
            &*format!("type=bind,src={h},dst=/d"),
            "--tmpfs",
            "/d/",
        ],
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args.iter().copied());
        a.extend(["busybox", "true"]);
        let e = berth.fails(&a, 125);
        assert_eq!(
            e.trim(),
            "Error: /d: duplicate mount destination",
            "{args:?}"
        );
    }
    // noexec/exec, nosuid, nodev as real mount flags, on binds and volumes.
    std::fs::write(host.path().join("s"), "#!/bin/sh\necho ran\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        host.path().join("s"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let e = berth.fails(
        &[
            "run",
            "--rm",
            "-v",
            &format!("{h}:/d:noexec,z"),
            "busybox",
            "/d/s",
        ],
        126,
    );
    assert!(e.contains("permission denied"), "{e}");
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "-v",
            &format!("{h}:/d:exec"),
            "busybox",
            "/d/s"
        ]),
        "ran\n"
    );
    let m = berth.ok(&[
        "run",
        "--rm",
        "-v",
        "fl:/d:noexec,nosuid,nodev",
        "busybox",
        "grep",
        " /d ",
        "/proc/mounts",
    ]);
    for f in ["noexec", "nosuid", "nodev"] {
        assert!(m.split([' ', ',']).any(|x| x == f), "{f}: {m}");
    }
    berth.fails(
        &["run", "--rm", "-v", "fl:/d:noexec,exec", "busybox", "true"],
        125,
    );
    // --tmpfs starts with the image's content at its destination (podman's
    // tmpcopyup), owners and modes kept; notmpcopyup starts empty.
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "--tmpfs",
            "/srv",
            "busybox",
            "sh",
            "-c",
            "stat -c '%u %a' /srv/config; grep ' /srv ' /proc/mounts | cut -d' ' -f3"
        ]),
        "1000 640\ntmpfs\n"
    );
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "--tmpfs",
            "/srv:notmpcopyup",
            "busybox",
            "ls",
            "-A",
            "/srv"
        ]),
        ""
    );
    // A file put into a created container's tmpfs destination (cp writes
    // its upper layer) is there once the tmpfs is mounted at start.
    berth.ok(&[
        "create",
        "--name",
        "c",
        "--mount",
        "type=tmpfs,dst=/srv",
        "busybox",
        "sleep",
        "60",
    ]);
    berth.ok(&["cp", &format!("{h}/s"), "c:/srv/copied"]);
    berth.ok(&["start", "c"]);
    assert_eq!(berth.ok(&["exec", "c", "ls", "/srv"]), "config\ncopied\n");
    berth.ok(&["rm", "-f", "-t0", "c"]);
}

#[test]
fn image_volume_mode_bind_tmpfs_or_ignore() {
    let (_reg, berth) = setup();
    let fs = |args: &[&str]| {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(args);
        a.extend([
            "busybox",
            "sh",
            "-c",
            "grep ' /vol ' /proc/mounts | cut -d' ' -f3; cat /vol/seed",
        ]);
        berth.ok(&a)
    };
    assert_ne!(
        fs(&[]).lines().next(),
        Some("tmpfs"),
        "bind: an anonymous volume"
    );
    assert_eq!(fs(&["--image-volume", "tmpfs"]), "tmpfs\nfrom-image\n");
    assert_eq!(
        fs(&["--image-volume", "ignore"]),
        "from-image\n",
        "no mount at all"
    );
    assert!(
        berth.ok(&["volume", "ls", "-q"]).is_empty(),
        "only bind made volumes (--rm took them)"
    );
    berth.fails(
        &["run", "--rm", "--image-volume", "nope", "busybox", "true"],
        125,
    );
    // containers.conf's image_volume_mode is the default; the flag wins.
    let conf = berth.dir.path().join("containers.conf");
    std::fs::write(&conf, "[engine]\nimage_volume_mode = \"tmpfs\"\n").unwrap();
    let run = |extra: &[&str]| {
        let mut c = berth.cmd();
        c.env("CONTAINERS_CONF", &conf)
            .args(["run", "--rm"])
            .args(extra);
        c.args([
            "busybox",
            "sh",
            "-c",
            "grep ' /vol ' /proc/mounts | cut -d' ' -f3",
        ]);
        String::from_utf8(c.output().unwrap().stdout).unwrap()
    };
    assert_eq!(run(&[]), "tmpfs\n");
    assert_eq!(run(&["--image-volume", "ignore"]), "");
}
