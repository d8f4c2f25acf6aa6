//! Side by side with podman build: the same files and config, bind
//! mounts from stages, URLs, platform args and shells, podman's CLI forms
//! (files, archives, links, timestamps).

use super::*;

/// A file list as `tar tv` shows it, numeric owners, without what the
/// engines mount or generate.
pub(crate) fn file_list(tar: &Path) -> Vec<String> {
    let out = std::process::Command::new("tar")
        .args(["--numeric-owner", "-tvf", tar.to_str().unwrap()])
        .output()
        .unwrap();
    let skip = [
        "etc/hosts",
        "etc/resolv.conf",
        "etc/hostname",
        "run/.containerenv",
        "dev",
        "proc",
        "sys",
        "run",
    ];
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let path = f.get(5)?.trim_start_matches("./").trim_end_matches('/');
            (!path.is_empty() && !skip.contains(&path)).then(|| format!("{} {} {path}", f[0], f[1]))
        })
        .collect();
    v.sort_by(|a, b| a.rsplit(' ').next().cmp(&b.rsplit(' ').next()));
    v
}

#[test]
fn same_files_and_config_as_podman_build() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    let pod = tempfile::tempdir().unwrap();
    let podman = |args: &[&str]| podman_in(pod.path(), args);
    // The same base in both stores.
    let base = ctx.path().join("base.tar");
    berth.ok(&["tag", "busybox", "localhost/base:1"]);
    berth.ok(&["save", "-o", base.to_str().unwrap(), "localhost/base:1"]);
    podman(&["load", "-q", "-i", base.to_str().unwrap()]);
    std::fs::remove_file(&base).unwrap();
    write(
        ctx.path(),
        &[
            ("a.txt", "a\n"),
            ("d/sub/x", "x\n"),
            ("d/y.tmp", "ignored\n"),
            (".dockerignore", "**/*.tmp\n"),
            (
                "Dockerfile",
                "FROM localhost/base:1\nARG V=3\nENV A=1 B=\"two words\" V=$V\nWORKDIR /app\nCOPY a.txt .\nCOPY d /data/\nCOPY --chown=1000:1000 --chmod=600 a.txt /owned/a\nUSER app\nLABEL x=y\nEXPOSE 80/tcp 53/udp\nVOLUME /vol\nSTOPSIGNAL SIGINT\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"cat /app/a.txt\"]\n",
            ),
        ],
    );
    let c = ctx.path().to_str().unwrap();
    berth.ok(&["build", "-q", "-t", "cmp", c]);
    podman(&["build", "-q", "-t", "cmp", c]);
    let pick = |j: &str| {
        let v: serde_json::Value = serde_json::from_str(j).unwrap();
        let cfg = &v[0]["Config"];
        let mut labels = cfg["Labels"].clone();
        // podman stamps its own version; not part of the Dockerfile.
        labels.as_object_mut().unwrap().remove("io.buildah.version");
        let keys = [
            "Env",
            "Cmd",
            "Entrypoint",
            "WorkingDir",
            "User",
            "ExposedPorts",
            "Volumes",
            "StopSignal",
        ];
        let mut out: Vec<String> = keys.iter().map(|k| format!("{k}={}", cfg[*k])).collect();
        out.push(format!("Labels={labels}"));
        out.push(format!(
            "history={}",
            v[0]["History"].as_array().unwrap().len()
        ));
        out
    };
    assert_eq!(
        pick(&berth.ok(&["image", "inspect", "cmp"])),
        pick(&podman(&["image", "inspect", "cmp"]))
    );
    let bt = ctx.path().join("b.tar");
    let pt = ctx.path().join("p.tar");
    let bc = berth.ok(&["create", "cmp"]).trim().to_string();
    berth.ok(&["export", "-o", bt.to_str().unwrap(), &bc]);
    let pc = podman(&["create", "cmp"]).trim().to_string();
    podman(&["export", "-o", pt.to_str().unwrap(), &pc]);
    podman(&["rm", &pc]);
    let (b, p) = (file_list(&bt), file_list(&pt));
    assert!(
        b.iter().any(|l| l == "-rw------- 1000/1000 owned/a"),
        "{b:?}"
    );
    assert_eq!(b, p);
}

/// Serves `body` to every GET on a loopback port, for ADD of a URL.
fn http_file(body: &'static [u8]) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut s, &mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = std::io::Write::write_all(&mut s, head.as_bytes());
            let _ = std::io::Write::write_all(&mut s, body);
        }
    });
    port
}

#[test]
fn bind_mounts_from_stages_urls_platform_args_and_shell() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    let port = http_file(b"fetched over http\n");
    let df = format!(
        r#"FROM busybox AS tools
RUN mkdir /kit && echo tool-output > /kit/tool

FROM busybox
ARG TARGETPLATFORM
ARG TARGETARCH
RUN echo "$TARGETPLATFORM $TARGETARCH" > /platform
RUN --mount=type=bind,from=tools,source=/kit,target=/mnt/kit cat /mnt/kit/tool > /from-stage
RUN --mount=type=bind,source=conf,target=/mnt/conf cat /mnt/conf/c > /from-context
ADD http://127.0.0.1:{port}/files/remote.txt /downloads/
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "$0" > /shell
"#
    );
    write(
        ctx.path(),
        &[("conf/c", "context-conf\n"), ("Dockerfile", &df)],
    );
    build(&berth, ctx.path(), &["-t", "mounts", "--format", "docker"]);
    let sh = |script: &str| berth.ok(&["run", "--rm", "mounts", "sh", "-c", script]);
    assert_eq!(sh("cat /platform"), "linux/amd64 amd64\n");
    assert_eq!(
        sh("cat /from-stage /from-context"),
        "tool-output\ncontext-conf\n"
    );
    assert_eq!(
        sh("cat /downloads/remote.txt; stat -c %a /downloads/remote.txt"),
        "fetched over http\n600\n"
    );
    assert_eq!(
        sh("cat /shell; test -e /mnt && echo present || echo absent"),
        "/bin/sh\nabsent\n"
    );
    assert_eq!(
        inspect(&berth, "mounts")["Config"]["Shell"],
        serde_json::json!(["/bin/sh", "-e", "-c"])
    );
    // A changed bind-mounted context file makes that RUN miss the cache.
    write(ctx.path(), &[("conf/c", "changed\n")]);
    let out = build(&berth, ctx.path(), &["-t", "mounts", "--format", "docker"]);
    assert_eq!(sh("cat /from-context"), "changed\n", "{out}");
}

/// `berth` with `stdin` piped in; (exit status, stdout).
fn with_stdin(berth: &Berth, dir: &Path, args: &[&str], stdin: &[u8]) -> (bool, String) {
    let mut child = berth
        .cmd()
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn podman_cli_files_archives_links_and_timestamps() {
    let (_reg, berth) = setup();
    let top = tempfile::tempdir().unwrap();
    let ctx = top.path().join("ctx");
    write(
        &ctx,
        &[
            ("sub/x", "linked"),
            ("subtest/f", "packed"),
            ("Cf1", "FROM busybox\n"),
        ],
    );
    std::fs::hard_link(ctx.join("sub/x"), ctx.join("hl")).unwrap();
    for (flag, name) in [("-cJf", "a.tar.xz"), ("-cjf", "a.tar.bz2")] {
        let ok = std::process::Command::new("tar")
            .args(["-C", ctx.to_str().unwrap(), flag, name, "subtest"])
            .current_dir(&ctx)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tar {flag}");
    }
    write(
        top.path(),
        &[(
            "elsewhere/Cf2",
            "COPY . /c/\nADD a.tar.xz /xz/\nADD a.tar.bz2 /bz/\nLABEL x=y\n",
        )],
    );
    // -f twice, read as one: the first from the context, the second from
    // the working directory; podman's tail: COMMIT NAME, --> short ID.
    let out = berth.ok(&[
        "build",
        "-t",
        "pc",
        "-f",
        "Cf1",
        "-f",
        top.path().join("elsewhere/Cf2").to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let n = lines.len();
    assert_eq!(lines[n - 4], "COMMIT pc", "{out}");
    assert_eq!(
        lines[n - 3],
        format!("--> {}", &lines[n - 1][..11]),
        "{out}"
    );
    let sh = "stat -c %i /c/sub/x /c/hl | uniq | wc -l; cat /xz/subtest/f /bz/subtest/f";
    assert_eq!(
        berth.ok(&["run", "--rm", "pc", "sh", "-c", sh]),
        "1\npackedpacked"
    );
    // A missing -f names the path it looked for, as podman does.
    let err = berth.fails(&["build", "-f", "nope", ctx.to_str().unwrap()], 125);
    assert!(
        err.contains(&format!(
            "stat {}/nope: no such file or directory",
            ctx.display()
        )),
        "{err}"
    );
    // `build -` with a Containerfile (not a tar) on stdin.
    let (ok, out) = with_stdin(
        &berth,
        top.path(),
        &["build", "-q", "-t", "piped", "-"],
        b"FROM busybox\nRUN echo piped > /p\n",
    );
    assert!(ok, "{out}");
    assert_eq!(berth.ok(&["run", "--rm", "piped", "cat", "/p"]), "piped\n");
    // --timestamp: the same sources give the same image, files included.
    write(
        &ctx,
        &[(
            "Containerfile",
            "FROM busybox\nCOPY sub /sub\nRUN touch /r\n",
        )],
    );
    let a = build(&berth, &ctx, &["-q", "--timestamp", "1000"]);
    let b = build(&berth, &ctx, &["-q", "--no-cache", "--timestamp", "1000"]);
    assert_eq!(a, b);
    assert_eq!(
        berth.ok(&["run", "--rm", a.trim(), "stat", "-c", "%Y", "/sub/x", "/r"]),
        "1000\n1000\n"
    );
    // The default oci format has no HEALTHCHECK: left out, with podman's
    // warning; --format docker keeps it.
    write(
        &ctx,
        &[("Containerfile", "FROM busybox\nHEALTHCHECK CMD true\n")],
    );
    let out = berth.run(&["build", "-t", "hc", ctx.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HEALTHCHECK is not supported for OCI image format and will be ignored"),
        "{err}"
    );
    assert!(inspect(&berth, "hc")["Config"]["Healthcheck"].is_null());
    build(&berth, &ctx, &["-q", "-t", "hc", "--format", "docker"]);
    assert_eq!(
        inspect(&berth, "hc")["Config"]["Healthcheck"]["Test"][0],
        "CMD-SHELL"
    );
    write(
        &ctx,
        &[(
            "Containerfile",
            "FROM busybox\nCOPY sub /sub\nRUN touch /r\n",
        )],
    );
    // --layers=false: no cache used, no per-step IDs.
    let out = build(&berth, &ctx, &["--layers=false"]);
    assert!(!out.contains("Using cache"), "{out}");
    assert_eq!(out.matches("--> ").count(), 1, "{out}");
}
