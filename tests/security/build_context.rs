//! A build context (a cloned repository, an unpacked tarball) whose
//! symlinks, `..` or archives try to put host files into the image or to
//! change the host's files: each build is refused with one line naming the
//! source and exit 125, or is kept inside the context, the image or the
//! destination; no image is tagged and no secret is echoed.

use super::common::*;
use std::path::{Path, PathBuf};

/// A host the build must not read: a secret outside the context with a
/// unique marker in it, and a context full of links to it.
struct Attack {
    _base: tempfile::TempDir,
    /// The secret's absolute path.
    secret: PathBuf,
    marker: String,
    ctx: PathBuf,
    outside: PathBuf,
}

fn attack() -> Attack {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    let ctx = base.path().join("ctx");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(ctx.join("sub")).unwrap();
    std::fs::create_dir_all(ctx.join("tree")).unwrap();
    let marker = format!(
        "berth-secret-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let secret = outside.join("secret");
    std::fs::write(&secret, format!("{marker}\n")).unwrap();
    let link = |name: &str, target: &Path| {
        std::os::unix::fs::symlink(target, ctx.join(name)).unwrap();
    };
    link("link", &secret);
    link("rootlink", Path::new("/"));
    link("dotdot", Path::new("../outside/secret"));
    link("ldir", Path::new("../outside"));
    link("inlink", Path::new("sub/file"));
    link("tree/link", &secret);
    std::fs::write(ctx.join("sub/file"), "inside\n").unwrap();
    std::fs::write(ctx.join("tree/ok.txt"), "ok\n").unwrap();
    Attack {
        _base: base,
        secret,
        marker,
        ctx,
        outside,
    }
}

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

/// The first line of the host's /etc/shadow (its root entry), which no
/// output may show.
fn shadow_line() -> String {
    std::fs::read_to_string("/etc/shadow")
        .expect("tests run as root; /etc/shadow readable")
        .lines()
        .next()
        .unwrap_or("root:")
        .to_string()
}

/// Build `dockerfile` in the attack's context as `tag`: it must fail with
/// exit 125 and one line containing `want`, show neither the marker nor
/// the host's shadow, and tag nothing. The line.
#[track_caller]
fn refused(berth: &Berth, a: &Attack, dockerfile: &str, tag: &str, want: &str) -> String {
    std::fs::write(a.ctx.join("Dockerfile"), dockerfile).unwrap();
    let out = berth.run(&["build", "--no-cache", "-t", tag, a.ctx.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(125),
        "{dockerfile:?} must be refused: stdout {stdout} stderr {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{dockerfile:?}: {stderr}");
    assert!(stderr.contains(want), "{dockerfile:?}: {stderr}");
    let shadow = shadow_line();
    for text in [&*stdout, &*stderr] {
        assert!(!text.contains(&a.marker), "{dockerfile:?} leaked: {text}");
        assert!(!text.contains(&shadow), "{dockerfile:?} leaked: {text}");
    }
    assert!(
        !berth.run(&["image", "exists", tag]).status.success(),
        "{dockerfile:?}: {tag} was tagged"
    );
    stderr
}

#[test]
fn copy_add_and_bind_sources_linked_out_of_the_context_are_refused() {
    let (_reg, berth) = setup();
    let a = attack();
    let secret_rel = a.secret.to_str().unwrap().trim_start_matches('/');
    let cases = [
        ("FROM busybox\nCOPY link /x\n", "Dockerfile:2: COPY link: "),
        (
            &*format!("FROM busybox\nCOPY rootlink/{secret_rel} /y\n"),
            &*format!("Dockerfile:2: COPY rootlink/{secret_rel}: "),
        ),
        (
            &*format!("FROM busybox\nADD rootlink/{secret_rel} /z\n"),
            &*format!("Dockerfile:2: ADD rootlink/{secret_rel}: "),
        ),
        (
            "FROM busybox\nCOPY rootlink/etc/shadow /y\n",
            "Dockerfile:2: COPY rootlink/etc/shadow: ",
        ),
        (
            "FROM busybox\nRUN --mount=type=bind,source=rootlink/etc,target=/h cat /h/shadow\n",
            "Dockerfile:2: RUN --mount=type=bind,source=rootlink/etc,target=/h: ",
        ),
        (
            "FROM busybox\nRUN --mount=type=bind,source=link,target=/s cat /s\n",
            "Dockerfile:2: RUN --mount=type=bind,source=link,target=/s: ",
        ),
        // The glob matches ldir and link, both leading out.
        (
            "FROM busybox\nCOPY l* /d/\n",
            "Dockerfile:2: COPY l* (ldir): ",
        ),
        (
            "FROM busybox\nCOPY dotdot /w\n",
            "Dockerfile:2: COPY dotdot: ",
        ),
        ("FROM busybox\nCOPY ldir/secret /v\n", "COPY ldir/secret: "),
        (
            "FROM busybox\nCOPY ./sub/../link /u\n",
            "COPY ./sub/../link: ",
        ),
    ];
    for (i, (df, at)) in cases.iter().enumerate() {
        let line = refused(
            &berth,
            &a,
            df,
            &format!("evil{i}"),
            "path escapes the build context",
        );
        assert!(line.contains(at), "{df:?}: {line}");
        assert!(line.starts_with("Error: "), "{line}");
    }
}

#[test]
fn in_context_links_are_followed_and_links_in_a_tree_stay_links() {
    let (_reg, berth) = setup();
    let a = attack();
    std::fs::write(
        a.ctx.join("Dockerfile"),
        "FROM busybox\nCOPY inlink /in\nCOPY tree /d/\nCOPY i* /g/\n",
    )
    .unwrap();
    berth.ok(&["build", "-q", "-t", "fine", a.ctx.to_str().unwrap()]);
    let run = |args: &[&str]| {
        let mut v = vec!["run", "--rm", "fine"];
        v.extend_from_slice(args);
        berth.run(&v)
    };
    assert_eq!(berth.ok(&["run", "--rm", "fine", "cat", "/in"]), "inside\n");
    assert_eq!(
        berth.ok(&["run", "--rm", "fine", "cat", "/g/inlink"]),
        "inside\n"
    );
    assert_eq!(
        berth.ok(&["run", "--rm", "fine", "cat", "/d/ok.txt"]),
        "ok\n"
    );
    assert_eq!(
        berth
            .ok(&["run", "--rm", "fine", "readlink", "/d/link"])
            .trim(),
        a.secret.to_str().unwrap(),
        "the link is copied as a link"
    );
    let cat = run(&["cat", "/d/link"]);
    assert!(!cat.status.success(), "the link leads nowhere in the image");
    assert!(!String::from_utf8_lossy(&cat.stdout).contains(&a.marker));
    berth.assert_image_lacks("fine", &a.marker);
}

#[test]
fn a_dockerignore_or_default_dockerfile_linked_out_is_refused_but_f_may_point_anywhere() {
    let (_reg, berth) = setup();
    let a = attack();
    // Bait that would be echoed if parsed: an invalid ignore pattern and an
    // unknown instruction, both carrying the marker.
    let bait_ignore = a.outside.join("ignore-bait");
    std::fs::write(&bait_ignore, format!("[{}\n", a.marker)).unwrap();
    let bait_df = a.outside.join("Dockerfile");
    std::fs::write(&bait_df, format!("FROM busybox\n{} x\n", a.marker)).unwrap();

    std::os::unix::fs::symlink(&bait_ignore, a.ctx.join(".dockerignore")).unwrap();
    let err = refused(&berth, &a, "FROM busybox\n", "ign", "");
    assert!(
        err.contains("Error: .dockerignore: path escapes the build context"),
        "{err}"
    );
    std::fs::remove_file(a.ctx.join(".dockerignore")).unwrap();

    // The default Dockerfile is a context file: linked out, it is refused.
    std::fs::remove_file(a.ctx.join("Dockerfile")).ok();
    std::os::unix::fs::symlink(&bait_df, a.ctx.join("Dockerfile")).unwrap();
    let out = berth.run(&["build", "-t", "df", a.ctx.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "Error: Dockerfile: path escapes the build context"
    );
    assert!(!berth.run(&["image", "exists", "df"]).status.success());

    // -f is the user's own choice, and may name a file anywhere.
    std::fs::write(&bait_df, "FROM busybox\nCOPY sub/file /f\n").unwrap();
    berth.ok(&[
        "build",
        "-q",
        "-t",
        "dashf",
        "-f",
        bait_df.to_str().unwrap(),
        a.ctx.to_str().unwrap(),
    ]);
    assert_eq!(berth.ok(&["run", "--rm", "dashf", "cat", "/f"]), "inside\n");
}

#[test]
fn dockerignored_files_stay_out_through_links_and_bind_mounts() {
    let (_reg, berth) = setup();
    let a = attack();
    std::fs::write(a.ctx.join("private.env"), "TOKEN=hidden\n").unwrap();
    std::fs::write(a.ctx.join("public.txt"), "public\n").unwrap();
    std::os::unix::fs::symlink("private.env", a.ctx.join("plink")).unwrap();
    std::fs::write(a.ctx.join(".dockerignore"), "private.env\n").unwrap();
    let err = berth_fails_build(&berth, &a, "FROM busybox\nCOPY plink /p\n");
    assert!(
        err.contains("Dockerfile:2: COPY: file not found in build context or excluded"),
        "{err}"
    );
    assert!(!err.contains("hidden"), "{err}");
    // A bind of the whole context does not show the excluded file, and a
    // glob walk does not match it.
    std::fs::write(
        a.ctx.join("Dockerfile"),
        "FROM busybox\n\
         RUN --mount=type=bind,target=/c sh -c 'test ! -e /c/private.env && cat /c/sub/file > /seen'\n\
         COPY p* /q/\n",
    )
    .unwrap();
    let out = berth.run(&["build", "-q", "-t", "ign", a.ctx.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        berth.ok(&["run", "--rm", "ign", "cat", "/seen"]),
        "inside\n"
    );
    assert_eq!(
        berth.ok(&["run", "--rm", "ign", "ls", "/q"]),
        "public.txt\n",
        "neither the excluded file nor the link to it matched"
    );
    berth.assert_image_lacks("ign", "TOKEN=hidden");
}

/// A build that must fail with 125; its stderr.
fn berth_fails_build(berth: &Berth, a: &Attack, dockerfile: &str) -> String {
    std::fs::write(a.ctx.join("Dockerfile"), dockerfile).unwrap();
    berth.fails(&["build", "--no-cache", a.ctx.to_str().unwrap()], 125)
}

#[test]
fn a_rw_bind_of_the_context_cannot_change_the_hosts_files() {
    let (_reg, berth) = setup();
    let a = attack();
    std::fs::write(
        a.ctx.join("Dockerfile"),
        "FROM busybox\n\
         RUN --mount=type=bind,source=sub,target=/c,rw sh -c 'echo pwned > /c/file && echo new > /c/planted'\n",
    )
    .unwrap();
    berth.ok(&["build", "-q", a.ctx.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(a.ctx.join("sub/file")).unwrap(),
        "inside\n"
    );
    assert!(!a.ctx.join("sub/planted").exists());
}

#[test]
fn a_bind_or_copy_from_an_image_stays_inside_that_images_root() {
    // CVE-2024-1753 (buildah): a stage with `rootlink -> /` bound from= put
    // the host's root into the step.
    let (_reg, berth) = setup();
    let a = attack();
    let secret_rel = a.secret.to_str().unwrap().trim_start_matches('/');
    let evil = "FROM busybox AS evil\nRUN ln -s / /rootlink && ln -s /etc /etclink\nFROM busybox\n";
    // Inside the image the link leads to the image's root: the host's
    // secret is simply not there.
    let err = refused(
        &berth,
        &a,
        &format!(
            "{evil}RUN --mount=type=bind,from=evil,source=rootlink/{secret_rel},target=/h cat /h\n"
        ),
        "from1",
        "no such file or directory in the source image",
    );
    assert!(err.contains("Dockerfile:4: RUN:"), "{err}");
    let err = refused(
        &berth,
        &a,
        &format!("{evil}COPY --from=evil rootlink/{secret_rel} /x\n"),
        "from2",
        "no such file or directory in the source image",
    );
    assert!(err.contains("Dockerfile:4: COPY:"), "{err}");
    // And through the link the image's own /etc is what is bound.
    std::fs::write(
        a.ctx.join("Dockerfile"),
        format!(
            "{evil}RUN --mount=type=bind,from=evil,source=etclink,target=/h cp /h/passwd /seen && ls /h > /list\n"
        ),
    )
    .unwrap();
    berth.ok(&["build", "-q", "-t", "fromok", a.ctx.to_str().unwrap()]);
    assert_eq!(
        berth.ok(&["run", "--rm", "fromok", "head", "-1", "/seen"]),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
    let list = berth.ok(&["run", "--rm", "fromok", "cat", "/list"]);
    assert!(
        list.contains("passwd") && !list.contains("shadow"),
        "the image's /etc, not the host's: {list}"
    );
}

#[test]
fn add_of_an_archive_keeps_every_member_inside_the_destination() {
    let (_reg, berth) = setup();
    let a = attack();
    // A member written through a link the archive made to /etc.
    let through_link = layer_tar(&[
        Entry::Symlink("l", "/etc"),
        Entry::File("l/planted", b"x".to_vec(), 0o644),
    ]);
    std::fs::write(a.ctx.join("link.tar"), &through_link).unwrap();
    // A member that climbs out with `..`.
    let climbing = layer_tar(&[Entry::RawFile("../../etc/planted".into(), b"x".to_vec())]);
    std::fs::write(a.ctx.join("climb.tar"), &climbing).unwrap();
    // A link chain that leaves by its second hop.
    let chain = layer_tar(&[
        Entry::Symlink("a", "b"),
        Entry::Symlink("b", "../.."),
        Entry::File("a/planted", b"x".to_vec(), 0o644),
    ]);
    std::fs::write(a.ctx.join("chain.tar"), gzip(&chain)).unwrap();
    for (name, member) in [
        ("link.tar", "l/planted"),
        ("climb.tar", "../../etc/planted"),
        ("chain.tar", "a/planted"),
    ] {
        let err = refused(
            &berth,
            &a,
            &format!("FROM busybox\nADD {name} /opt/app/\n"),
            "tarred",
            "would land outside the destination",
        );
        assert!(
            err.contains(&format!(
                "Dockerfile:2: ADD: unpacking {name}: archive member {member:?}"
            )),
            "{err}"
        );
    }
    // Links that stay inside still work, as in Docker.
    let fine = layer_tar(&[
        Entry::Dir("lib64", 0o755),
        Entry::Symlink("lib", "lib64"),
        Entry::File("lib/x", b"kept".to_vec(), 0o644),
    ]);
    std::fs::write(a.ctx.join("fine.tar"), &fine).unwrap();
    std::fs::write(
        a.ctx.join("Dockerfile"),
        "FROM busybox\nADD fine.tar /opt/app/\n",
    )
    .unwrap();
    berth.ok(&["build", "-q", "-t", "finetar", a.ctx.to_str().unwrap()]);
    assert_eq!(
        berth.ok(&["run", "--rm", "finetar", "cat", "/opt/app/lib/x"]),
        "kept"
    );
    assert!(
        !berth
            .run(&["run", "--rm", "finetar", "test", "-e", "/etc/planted"])
            .status
            .success()
    );
}
