//! Input that should be refused, and input that leads through a container's
//! own symlinks: a flag value podman refuses is refused with podman's
//! words (one line, exit 125, nothing created, nothing pulled), and `cp`
//! through links to `/` or `../..` reads and writes the container, never
//! the host.

use super::common::*;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// busybox, plus links a hostile image (or a user in the container) may
/// plant: `/linkroot -> /`, `/sub/deep/up -> ../..`, `/hn -> /etc/hostname`.
fn setup() -> (Registry, Berth) {
    let reg = Registry::start();
    let mut l = Layout::new();
    let mut layer = busybox_layer();
    layer.extend([
        Entry::Symlink("linkroot", "/"),
        Entry::Dir("sub", 0o755),
        Entry::Dir("sub/deep", 0o755),
        Entry::Symlink("sub/deep/up", "../.."),
        Entry::Symlink("hn", "/etc/hostname"),
    ]);
    l.image(&[layer], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    (reg, berth)
}

/// The image's /etc/passwd (the host's is another file).
const CTR_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

/// Exactly one line, `Error: ` and then `msg`.
fn assert_one_line(stderr: &str, msg: &str) {
    assert_eq!(stderr, format!("Error: {msg}\n"));
}

#[test]
fn run_flags_podman_refuses_are_refused_before_anything_is_made() {
    let (_reg, berth) = setup();
    let cases: &[(&[&str], &str)] = &[
        (&["-m", "5m"], "minimum memory limit allowed is 6MB"),
        (&["--memory=1k"], "minimum memory limit allowed is 6MB"),
        (
            &["-m", "-1"],
            "invalid value for memory: invalid size: '-1'",
        ),
        (
            &["--memory-swap", "1g"],
            "you should always set a memory limit when using a memoryswap limit, see usage",
        ),
        (
            &["-m", "64m", "--memory-swap", "32m"],
            "minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            &["--shm-size=-1"],
            "unable to translate --shm-size: invalid size: '-1'",
        ),
        (&["--dns", "notanip"], "notanip is not an ip address"),
        (&["--dns=1.2.3.4.5"], "1.2.3.4.5 is not an ip address"),
        (
            &["-e", "=value"],
            "invalid environment variable: \"=value\"",
        ),
        (&["--env", "="], "invalid environment variable: \"=\""),
        (&["--label", "=x"], "invalid label format: \"=x\""),
        (
            &["--add-host", "db:notanip"],
            "invalid IP address in add-host: \"notanip\"",
        ),
        (
            &["--cpus", "-1"],
            "invalid --cpus -1: the range of CPUs is from 0.01 upwards (0 means no limit)",
        ),
        (
            &["--cpus=-0.5"],
            "invalid --cpus -0.5: the range of CPUs is from 0.01 upwards (0 means no limit)",
        ),
    ];
    for (flags, msg) in cases {
        for verb in ["run", "create"] {
            let mut args = vec![verb, "--rm"];
            args.extend_from_slice(flags);
            args.extend(["busybox", "true"]);
            assert_one_line(&berth.fails(&args, 125), msg);
        }
    }
    assert_eq!(berth.ok(&["ps", "-a", "-q"]), "", "nothing was created");
    // Checked before the image is looked for: no pull for a typo.
    assert_one_line(
        &berth.fails(
            &["run", "--dns", "notanip", "--pull=always", "nosuchimage"],
            125,
        ),
        "notanip is not an ip address",
    );
}

#[test]
fn memory_zero_is_no_limit() {
    let (_reg, berth) = setup();
    // podman: "If a limit of 0 is specified, the container's memory is not
    // limited"; a 0-byte cgroup limit would OOM-kill it at once.
    assert_eq!(
        berth.ok(&["run", "--rm", "--memory=0", "busybox", "echo", "ran"]),
        "ran\n"
    );
    let id = berth
        .ok(&["run", "-d", "-m", "0", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    assert_eq!(
        berth
            .ok(&["inspect", "--format", "{{.HostConfig.Memory}}", &id])
            .trim(),
        "0"
    );
    for (file, unlimited) in [
        (format!("/sys/fs/cgroup/berth/{id}/memory.max"), "max"),
        (
            format!("/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes"),
            "9223372036854771712",
        ),
    ] {
        if let Ok(v) = std::fs::read_to_string(&file) {
            assert_eq!(v.trim(), unlimited, "{file}");
        }
    }
    // The floor itself is a limit, and is kept.
    assert_eq!(
        berth.ok(&["run", "--rm", "-m", "6m", "busybox", "echo", "ran"]),
        "ran\n"
    );
    berth.ok(&["rm", "-f", &id]);
}

#[test]
fn ps_filters_are_checked_before_listing() {
    let (_reg, berth) = setup();
    // With nothing to list, a bad filter is still an error (as podman).
    assert_one_line(
        &berth.fails(&["ps", "--filter", "bogus=1"], 125),
        "bogus is an invalid filter",
    );
    assert_one_line(
        &berth.fails(&["ps", "-a", "--filter", "bogus"], 125),
        "invalid filter \"bogus\"",
    );
    assert_one_line(
        &berth.fails(&["ps", "-a", "--filter", "status=bogus"], 125),
        "unknown container state: bogus: invalid argument",
    );
    assert_one_line(
        &berth.fails(&["ps", "-a", "--filter", "exited=abc"], 125),
        "exited code out of range '\\x00': strconv.ParseInt: parsing \"abc\": invalid syntax",
    );
    assert_one_line(
        &berth.fails(&["ps", "-a", "--filter", "restart-policy=sometimes"], 125),
        "sometimes invalid restart policy",
    );
    berth.ok(&["create", "--name", "one", "busybox", "true"]);
    berth.ok(&[
        "create",
        "--name",
        "two",
        "--restart",
        "always",
        "busybox",
        "true",
    ]);
    // One key's values are alternatives; different keys must all match.
    let names = |args: &[&str]| {
        let mut v = vec!["ps", "-a", "--format", "{{.Names}}"];
        v.extend_from_slice(args);
        let mut n: Vec<String> = berth.ok(&v).lines().map(String::from).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(&["--filter", "name=one", "--filter", "name=two"]),
        ["one", "two"]
    );
    assert_eq!(
        names(&["--filter", "name=one", "--filter", "status=created"]),
        ["one"]
    );
    assert_eq!(names(&["--filter", "restart-policy=always"]), ["two"]);
    assert_eq!(names(&["--filter", "since=one"]), ["two"]);
    assert_eq!(names(&["--filter", "before=two"]), ["one"]);
}

#[test]
fn unknown_template_fields_fail_in_one_line_as_podman() {
    let (_reg, berth) = setup();
    // podman runs no template without rows, and so fails on none.
    assert_eq!(berth.ok(&["ps", "--format", "{{.NoSuchField}}"]), "");
    berth.ok(&[
        "create", "--name", "box", "--label", "a=b", "busybox", "true",
    ]);
    let out = berth.run(&["ps", "-a", "--format", "{{.Names}} {{.NoSuchField}}"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(out.stdout, b"", "nothing printed before the error");
    assert_one_line(
        &String::from_utf8_lossy(&out.stderr),
        "template: ps:1:24: executing \"ps\" at <.NoSuchField>: can't evaluate field NoSuchField in type containers.psReporter",
    );
    assert_one_line(
        &berth.fails(&["ps", "-a", "--format", "table {{.Names.x}}"], 125),
        "template: ps:1:19: executing \"ps\" at <.Names.x>: can't evaluate field x in type string",
    );
    assert_one_line(
        &berth.fails(&["images", "--format", "{{.Nope}}"], 125),
        "template: images:1:13: executing \"images\" at <.Nope>: can't evaluate field Nope in type images.imageReporter",
    );
    assert_one_line(
        &berth.fails(&["inspect", "--format", "{{.Nope}}", "box"], 125),
        "inspecting object: printing inspect output: template: inspect:1:13: executing \"inspect\" at <.Nope>: can't evaluate field Nope in type interface {}",
    );
    assert_one_line(
        &berth.fails(&["ps", "-a", "--format", "{{nofunc .Names}}"], 125),
        "template: ps:1: function \"nofunc\" not defined",
    );
    // Empty fields print nothing; a missing map key prints <no value>, or
    // nothing through index (Go's zero value): podman 4.3.1's output.
    assert_eq!(
        berth.ok(&[
            "ps",
            "-a",
            "--format",
            "{{.Pod}}|{{.Labels.missing}}|{{index .Labels \"missing\"}}|{{.Labels.a}}"
        ]),
        "|<no value>||b\n"
    );
    assert_eq!(
        berth.ok(&[
            "inspect",
            "--format",
            "{{.Config.Labels.zz}}|{{index .Config.Labels \"zz\"}}|{{.Config.Labels.a}}",
            "box"
        ]),
        "<no value>||b\n"
    );
}

/// `tar` of one file `name` holding `data`.
fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, data).unwrap();
    b.into_inner().unwrap()
}

fn cp_stdin(berth: &Berth, dest: &str, tar: &[u8]) {
    let mut child = berth
        .cmd()
        .args(["cp", "-", dest])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(tar).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cp - {dest}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn cp_through_links_to_root_stays_in_the_running_container() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--hostname",
        "ctrname",
        "busybox",
        "sleep",
        "1000",
    ]);
    let host = tempfile::tempdir().unwrap();
    let h = |p: &str| host.path().join(p).display().to_string();
    let probe = format!("berth-cp-probe-{}", std::process::id());

    // A tar stream into the container's root, and through a link to it.
    cp_stdin(&berth, "box:/", &tar_of("fromtar", b"T"));
    cp_stdin(&berth, "box:/linkroot", &tar_of(&probe, b"P"));
    assert_eq!(berth.ok(&["exec", "box", "cat", "/fromtar"]), "T");
    assert_eq!(berth.ok(&["exec", "box", "cat", &format!("/{probe}")]), "P");
    assert!(!Path::new("/").join(&probe).exists(), "not the host's root");

    // The whole root into a directory: the container's files, its kernel
    // filesystems as empty directories, and nothing beside the target.
    std::fs::create_dir(h("all")).unwrap();
    berth.ok(&["cp", "box:/", &h("all")]);
    assert_eq!(
        std::fs::read_to_string(h("all/etc/passwd")).unwrap(),
        CTR_PASSWD
    );
    assert_eq!(
        std::fs::read_to_string(h("all/etc/hostname")).unwrap(),
        "ctrname\n"
    );
    for kernel in ["proc", "sys"] {
        assert!(
            names_in(&host.path().join("all").join(kernel)).is_empty(),
            "/{kernel} is not copied"
        );
    }
    assert_eq!(
        std::fs::read_link(h("all/linkroot")).unwrap(),
        Path::new("/"),
        "links below the copied path are copied as links"
    );
    assert_eq!(names_in(host.path()), ["all"], "nothing written beside it");

    // Through a link to the root (podman follows a link given as the
    // source): a new directory holding the root's contents.
    berth.ok(&["cp", "box:/linkroot", &h("viaroot")]);
    assert_eq!(
        std::fs::read_to_string(h("viaroot/etc/passwd")).unwrap(),
        CTR_PASSWD
    );
    std::fs::create_dir(h("into")).unwrap();
    berth.ok(&["cp", "box:/sub/deep/up", &h("into")]);
    assert!(
        host.path().join("into/etc/passwd").exists(),
        "the root's contents, not a directory named up"
    );

    // Files reached through those links are the container's, not the host's.
    berth.ok(&["cp", "box:/linkroot/etc/hostname", &h("hostname")]);
    assert_eq!(std::fs::read_to_string(h("hostname")).unwrap(), "ctrname\n");
    berth.ok(&["cp", "box:/sub/deep/up/etc/passwd", &h("passwd")]);
    assert_eq!(std::fs::read_to_string(h("passwd")).unwrap(), CTR_PASSWD);
    // podman names a followed link's copy after its target.
    std::fs::create_dir(h("named")).unwrap();
    berth.ok(&["cp", "box:/hn", &h("named")]);
    assert_eq!(names_in(&host.path().join("named")), ["hostname"]);

    // Host -> container through the links: into the container.
    std::fs::write(h("payload"), "from the host").unwrap();
    let in_tmp = format!("/tmp/{probe}");
    berth.ok(&["cp", &h("payload"), &format!("box:/linkroot{in_tmp}")]);
    berth.ok(&["cp", &h("payload"), &format!("box:/sub/deep/up{in_tmp}-2")]);
    assert_eq!(berth.ok(&["exec", "box", "cat", &in_tmp]), "from the host");
    assert_eq!(
        berth.ok(&["exec", "box", "cat", &format!("{in_tmp}-2")]),
        "from the host"
    );
    assert!(!Path::new(&in_tmp).exists() && !Path::new(&format!("{in_tmp}-2")).exists());

    // The container's /proc is the host kernel's: neither read nor written.
    let err = berth.fails(&["cp", "box:/linkroot/proc/self/status", &h("status")], 125);
    assert!(
        err.lines().count() == 1 && err.contains("/proc/self/status"),
        "{err}"
    );
    let err = berth.fails(&["cp", &h("payload"), "box:/proc/"], 125);
    assert!(
        err.lines().count() == 1 && err.contains("box:/proc/"),
        "{err}"
    );
    assert!(!host.path().join("status").exists());

    // A source that is not there, in podman's words.
    assert_one_line(
        &berth.fails(&["cp", "box:/nonexist", &h("x")], 125),
        "\"/nonexist\" could not be found on container box: no such file or directory",
    );
    berth.ok(&["rm", "-f", "box"]);
}
