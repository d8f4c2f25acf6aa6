//! Secrets end to end: `secret create/ls/inspect/rm/exists` and `run
//! --secret` (mounted files and environment variables) in real containers.

mod common;

use common::*;
use std::io::Write;
use std::process::Stdio;

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

fn create(berth: &Berth, name: &str, data: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("data");
    std::fs::write(&f, data).unwrap();
    let id = berth.ok(&["secret", "create", name, f.to_str().unwrap()]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 25, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    id
}

#[test]
fn mount_and_env_secrets_reach_the_container() {
    let (_reg, berth) = setup();
    create(&berth, "dbpass", "hunter2");
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "dbpass",
        "--secret",
        "dbpass,type=env,target=DB_PASSWORD",
        "busybox",
        "sh",
        "-c",
        "cat /run/secrets/dbpass; echo; echo env=$DB_PASSWORD; stat -c '%u %g %a' /run/secrets/dbpass",
    ]);
    assert_eq!(out, "hunter2\nenv=hunter2\n0 0 444\n");
    // type=env without a target: the secret's name.
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "source=dbpass,type=env",
        "busybox",
        "sh",
        "-c",
        "echo $dbpass",
    ]);
    assert_eq!(out, "hunter2\n");

    // Read-only, even for the container's root.
    let o = berth.run(&[
        "run",
        "--rm",
        "--secret",
        "dbpass",
        "busybox",
        "sh",
        "-c",
        "echo changed > /run/secrets/dbpass",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Read-only file system"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // inspect: the mount secret under Config.Secrets, the value nowhere.
    berth.ok(&[
        "create",
        "--name",
        "c",
        "--secret",
        "dbpass",
        "--secret",
        "dbpass,type=env,target=PW",
        "busybox",
        "sh",
        "-c",
        "cat /run/secrets/dbpass; echo; echo $PW",
    ]);
    let id = berth.ok(&["secret", "inspect", "--format", "{{.ID}}", "dbpass"]);
    let v: serde_json::Value = serde_json::from_str(&berth.ok(&["inspect", "c"])).unwrap();
    let s = &v[0]["Config"]["Secrets"];
    assert_eq!(s.as_array().unwrap().len(), 1, "{s}");
    assert_eq!(s[0]["Name"], "dbpass");
    assert_eq!(s[0]["ID"], id.trim());
    assert_eq!(
        (s[0]["UID"].as_u64(), s[0]["Mode"].as_u64()),
        (Some(0), Some(0o444))
    );
    assert!(!v.to_string().contains("hunter2"), "{v}");

    // exec sees the env secret too (podman's exec adds EnvSecrets).
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "bg",
        "--secret",
        "dbpass,type=env,target=PW",
        "busybox",
        "sleep",
        "100",
    ]);
    assert_eq!(
        berth.ok(&["exec", "bg", "sh", "-c", "echo $PW"]),
        "hunter2\n"
    );
    berth.ok(&["rm", "-f", "-t", "0", "bg"]);

    // Removing the secret leaves the container its copy (podman: copied at
    // create), and the name is free again.
    berth.ok(&["secret", "rm", "dbpass"]);
    create(&berth, "dbpass", "other");
    let out = berth.ok(&["start", "-a", "c"]);
    assert_eq!(out, "hunter2\nhunter2\n");
    berth.ok(&["rm", "c"]);
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "dbpass",
        "busybox",
        "cat",
        "/run/secrets/dbpass",
    ]);
    assert_eq!(out, "other");
}

#[test]
fn owner_mode_and_target_of_a_mounted_secret() {
    let (_reg, berth) = setup();
    create(&berth, "key", "k3y");
    let secret = "key,type=mount,target=app.key,uid=1000,gid=1001,mode=0400";
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        secret,
        "-u",
        "1000",
        "busybox",
        "sh",
        "-c",
        "stat -c '%u %g %a' /run/secrets/app.key; cat /run/secrets/app.key; echo; test -e /run/secrets/key || echo no-name",
    ]);
    assert_eq!(out, "1000 1001 400\nk3y\nno-name\n");
    // Another container user cannot read a 0400 secret of uid 1000.
    let o = berth.run(&[
        "run",
        "--rm",
        "--secret",
        secret,
        "-u",
        "1002",
        "busybox",
        "cat",
        "/run/secrets/app.key",
    ]);
    assert_ne!(o.status.code(), Some(0));
    // An absolute target is taken as it is.
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "key,target=/etc/app.key",
        "busybox",
        "cat",
        "/etc/app.key",
    ]);
    assert_eq!(out, "k3y");
    // Option errors, as podman words them.
    for (flag, msg) in [
        (
            "key,type=env,uid=1",
            "UID, GID, Mode options cannot be set with secret type env",
        ),
        ("key,type=bogus", "type bogus is invalid"),
        ("key,mode=999", "mode 999 invalid"),
    ] {
        let err = berth.fails(&["run", "--rm", "--secret", flag, "busybox", "true"], 125);
        assert!(err.contains(msg), "{flag}: {err}");
    }
    let err = berth.fails(&["run", "--rm", "--secret", "nope", "busybox", "true"], 125);
    assert_eq!(
        err.trim(),
        "Error: no secret with name or id \"nope\": no such secret"
    );
}

#[test]
fn secret_commands_list_inspect_remove_as_podman() {
    let (_reg, berth) = setup();
    let a = create(&berth, "alpha", "A");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b");
    std::fs::write(&f, "B").unwrap();
    let b = berth.ok(&[
        "secret",
        "create",
        "--label",
        "team=blue",
        "-l",
        "bare",
        "beta",
        f.to_str().unwrap(),
    ]);
    let b = b.trim().to_string();

    let ls = berth.ok(&["secret", "ls"]);
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]
    );
    assert_eq!(lines.len(), 3, "{ls}");
    assert!(lines[1].starts_with(&a) && lines[1].contains("alpha") && lines[1].contains("file"));
    assert!(lines[1].ends_with("ago"), "{ls}");
    let out = berth.ok(&["secret", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert_eq!(out, "alpha file\nbeta file\n");
    let out = berth.ok(&["secret", "ls", "--noheading", "--filter", "name=^be"]);
    assert!(out.starts_with(&b) && !out.contains("NAME"), "{out}");
    let out = berth.ok(&["secret", "ls", "-q", "--filter", &format!("id={}", &a[..6])]);
    assert_eq!(out, format!("{a}\n"));
    let err = berth.fails(&["secret", "ls", "--filter", "color=red"], 125);
    assert!(err.contains("invalid filter"), "{err}");

    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["secret", "inspect", "beta"])).unwrap();
    assert_eq!(v[0]["ID"], b);
    assert_eq!(v[0]["Spec"]["Name"], "beta");
    assert_eq!(v[0]["Spec"]["Driver"]["Name"], "file");
    assert_eq!(v[0]["Spec"]["Labels"]["team"], "blue");
    assert_eq!(v[0]["Spec"]["Labels"]["bare"], "");
    assert_eq!(v[0]["CreatedAt"], v[0]["UpdatedAt"]);
    assert!(v[0]["CreatedAt"].as_str().unwrap().ends_with('Z'));
    // By ID prefix, and --format.
    let out = berth.ok(&["secret", "inspect", "--format", "{{.Spec.Name}}", &b[..8]]);
    assert_eq!(out, "beta\n");
    // A missing one: what was found is printed, then the error.
    let o = berth.run(&["secret", "inspect", "alpha", "nope"]);
    assert_eq!(o.status.code(), Some(125));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["Spec"]["Name"], "alpha");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "Error: inspecting secret: no secret with name or id \"nope\": no such secret"
    );

    // Create errors.
    let err = berth.fails(&["secret", "create", "alpha", f.to_str().unwrap()], 125);
    assert_eq!(err.trim(), "Error: alpha: secret name in use");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let err = berth.fails(&["secret", "create", "e", empty.to_str().unwrap()], 125);
    assert!(err.contains("secret data must be larger than 0 and less than 512000 bytes"));
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 512_000]).unwrap();
    berth.fails(&["secret", "create", "big", big.to_str().unwrap()], 125);
    let err = berth.fails(&["secret", "create", "m", "/no/such/file"], 125);
    assert!(err.contains("no such file or directory"), "{err}");
    let err = berth.fails(
        &[
            "secret",
            "create",
            "--driver",
            "pass",
            "p",
            f.to_str().unwrap(),
        ],
        125,
    );
    assert!(err.contains("invalid driver"), "{err}");
    assert_eq!(berth.ok(&["secret", "ls", "-q"]).lines().count(), 2);

    // Standard input (a pipe) and an environment variable.
    let mut child = berth
        .cmd()
        .args(["secret", "create", "piped", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from-stdin")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let err = berth.fails(&["secret", "create", "tty", "-"], 125);
    assert!(
        err.contains("if `-` is used, data must be passed into stdin"),
        "{err}"
    );
    let o = berth
        .cmd()
        .args(["secret", "create", "--env", "fromenv", "MY_SECRET_VAR"])
        .env("MY_SECRET_VAR", "from-env")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = berth.fails(&["secret", "create", "--env", "x", "UNSET_VAR_X"], 125);
    assert!(
        err.contains("environment variable UNSET_VAR_X is not set"),
        "{err}"
    );
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "piped",
        "--secret",
        "fromenv,type=env,target=E",
        "busybox",
        "sh",
        "-c",
        "cat /run/secrets/piped; echo; echo $E",
    ]);
    assert_eq!(out, "from-stdin\nfrom-env\n");

    // exists, rm.
    berth.ok(&["secret", "exists", "alpha"]);
    berth.ok(&["secret", "exists", &a]);
    berth.fails(&["secret", "exists", "nope"], 1);
    assert_eq!(berth.ok(&["secret", "rm", "alpha"]), format!("{a}\n"));
    berth.fails(&["secret", "exists", "alpha"], 1);
    let err = berth.fails(&["secret", "rm", "alpha"], 125);
    assert_eq!(
        err.trim(),
        "Error: no secret with name or id \"alpha\": no such secret"
    );
    assert_eq!(
        berth.ok(&["secret", "rm", "--ignore", "alpha", "beta"]),
        format!("{b}\n")
    );
    let err = berth.fails(&["secret", "rm"], 125);
    assert!(
        err.contains("requires one argument, or the --all flag"),
        "{err}"
    );
    berth.fails(&["secret", "rm", "--all", "piped"], 125);
    assert_eq!(berth.ok(&["secret", "rm", "--all"]).lines().count(), 2);
    assert_eq!(berth.ok(&["secret", "ls", "-q"]), "");
    // Removal leaves no data behind.
    let data = berth.root().join("secrets/filedriver");
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}

#[test]
fn a_create_killed_half_way_leaves_nothing_behind() {
    let (_reg, berth) = setup();
    create(&berth, "kept", "keep-me");
    // What a create killed between its write and its record leaves: a temp
    // file, and a renamed data file no record names.
    let data = berth.root().join("secrets/filedriver");
    std::fs::write(data.join(".tmp-0123456789abcdef012345678"), "half").unwrap();
    std::fs::write(data.join("0123456789abcdef012345678"), "orphan").unwrap();
    create(&berth, "next", "n");
    let mut left: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["keep-me", "n"]);
    // The data files are named by ID, 0600.
    for e in std::fs::read_dir(&data).unwrap() {
        let e = e.unwrap();
        let id = e.file_name().into_string().unwrap();
        berth.ok(&["secret", "exists", &id]);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(e.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn secrets_stay_out_of_commit_and_export() {
    let (_reg, berth) = setup();
    create(&berth, "tok", "TOKEN-9e1d");
    berth.ok(&[
        "run",
        "--name",
        "c",
        "--secret",
        "tok",
        "--secret",
        "tok,target=/etc/tok.conf",
        "--secret",
        "tok,type=env,target=TOK",
        "busybox",
        "sh",
        "-c",
        "cat /run/secrets/tok /etc/tok.conf >/dev/null && echo $TOK >/dev/null && touch /changed",
    ]);
    // podman: "Secrets will not be committed to an image with podman
    // commit, and will not be in the archive created by a podman export".
    berth.ok(&["commit", "-q", "c", "committed"]);
    berth.assert_image_lacks("committed", "TOKEN-9e1d");
    let out = berth.cmd().args(["export", "c"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        !out.stdout.windows(10).any(|w| w == b"TOKEN-9e1d"),
        "the secret is in the export"
    );
    let names: Vec<String> = tar::Archive::new(&out.stdout[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.trim_start_matches("./") == "changed"),
        "{names:?}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", "committed"])).unwrap();
    assert!(!v.to_string().contains("TOKEN-9e1d"), "{v}");
}

#[test]
fn secrets_in_a_read_only_container() {
    let (_reg, berth) = setup();
    create(&berth, "ro", "ro-data");
    let out = berth.ok(&[
        "run",
        "--rm",
        "--read-only",
        "--secret",
        "ro",
        "--secret",
        "ro,target=sub/dir/f",
        "busybox",
        "sh",
        "-c",
        "cat /run/secrets/ro /run/secrets/sub/dir/f; touch /run/secrets/new 2>/dev/null && echo wrote; true",
    ]);
    // podman: /run/secrets too is read-only in a --read-only container.
    assert_eq!(out, "ro-dataro-data");
    // One secret twice, with two owners and modes: two copies.
    let out = berth.ok(&[
        "run",
        "--rm",
        "--secret",
        "ro,uid=1,mode=0400",
        "--secret",
        "ro,target=again,uid=2,mode=0440",
        "busybox",
        "stat",
        "-c",
        "%u %a",
        "/run/secrets/ro",
        "/run/secrets/again",
    ]);
    assert_eq!(out, "1 400\n2 440\n");
}
