//! `berth build`: Dockerfiles with expected outcomes, the layer cache,
//! secrets, errors, and a built image pushed and read back by skopeo.

mod common;

use common::*;
use std::path::Path;

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, body) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
}

/// podman with its own store under `dir`; its stdout.
fn podman_in(dir: &Path, args: &[&str]) -> String {
    let (root, run) = (dir.join("root"), dir.join("run"));
    let out = std::process::Command::new("podman")
        .args([
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            run.to_str().unwrap(),
        ])
        .args(["--storage-driver", "overlay"])
        .args(args)
        .output()
        .expect("podman installed (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn inspect(berth: &Berth, image: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&berth.ok(&["image", "inspect", image])).unwrap();
    v[0].clone()
}

fn build(berth: &Berth, ctx: &Path, extra: &[&str]) -> String {
    let mut args = vec!["build"];
    args.extend_from_slice(extra);
    args.push(ctx.to_str().unwrap());
    berth.ok(&args)
}

#[test]
fn every_config_instruction_lands_in_the_image() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        &[(
            "Dockerfile",
            r#"# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
ARG VERSION=1.0
ENV APP_VERSION=$VERSION \
    GREETING="hello world"
LABEL org.example.version="${APP_VERSION}" team=core
EXPOSE 8080 53/udp
WORKDIR /srv
WORKDIR app
USER app:app
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD test -f /srv/app || exit 1
SHELL ["/bin/sh", "-c"]
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $GREETING"]
"#,
        )],
    );
    let out = build(
        &berth,
        ctx.path(),
        // docker: an OCI config has no HEALTHCHECK, SHELL or ONBUILD (podman
        // drops them, with a warning, in its default oci format).
        &[
            "-t",
            "cfg:1",
            "--build-arg",
            "VERSION=2.5",
            "--format",
            "docker",
        ],
    );
    assert!(out.contains("STEP 1/15: FROM ${BASE} AS base"), "{out}");
    let c = inspect(&berth, "cfg:1");
    let cfg = &c["Config"];
    let env: Vec<&str> = cfg["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(env[0], "PATH=/bin", "the base's PATH is kept");
    assert!(env.contains(&"APP_VERSION=2.5"), "{env:?}");
    assert!(env.contains(&"GREETING=hello world"), "{env:?}");
    assert!(
        !env.iter().any(|e| e.starts_with("VERSION=")),
        "ARG is not ENV: {env:?}"
    );
    assert_eq!(cfg["Labels"]["org.example.version"], "2.5");
    assert_eq!(cfg["Labels"]["team"], "core");
    assert!(cfg["ExposedPorts"]["8080/tcp"].is_object());
    assert!(cfg["ExposedPorts"]["53/udp"].is_object());
    assert_eq!(cfg["WorkingDir"], "/srv/app");
    assert_eq!(cfg["User"], "app:app");
    assert!(cfg["Volumes"]["/data"].is_object());
    assert_eq!(cfg["StopSignal"], "SIGINT");
    assert_eq!(cfg["Healthcheck"]["Test"][0], "CMD-SHELL");
    assert_eq!(cfg["Healthcheck"]["Interval"], 5_000_000_000u64);
    assert_eq!(cfg["Healthcheck"]["Retries"], 2);
    assert_eq!(cfg["OnBuild"][0], "RUN echo triggered");
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(cfg["Cmd"], serde_json::json!(["echo $GREETING"]));
    // One history entry per instruction on top of the base's one; only the
    // new WORKDIRs made layers.
    let hist = c["History"].as_array().unwrap();
    assert_eq!(hist.len(), 1 + 14, "{hist:?}");
    let layers = hist.iter().filter(|h| h["empty_layer"] != true).count();
    assert_eq!(layers, c["RootFS"]["Layers"].as_array().unwrap().len());
    assert_eq!(layers, 3);
    assert_eq!(berth.ok(&["run", "--rm", "cfg:1"]), "hello world\n");
    // The trigger runs in a child build.
    let child = tempfile::tempdir().unwrap();
    write(child.path(), &[("Dockerfile", "FROM cfg:1\n")]);
    let out = build(&berth, child.path(), &["-t", "child"]);
    assert!(out.contains("triggered"), "{out}");
    assert!(inspect(&berth, "child")["Config"]["OnBuild"].is_null());
}

#[test]
fn copy_add_heredocs_and_dockerignore() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        &[
            ("src/main.txt", "main\n"),
            ("src/debug.log", "noise\n"),
            ("src/keep.log", "kept\n"),
            ("src/deep/a/b.txt", "deep\n"),
            ("secret.env", "TOKEN=x\n"),
            ("one.md", "1"),
            ("two.md", "2"),
            (
                ".dockerignore",
                "# comments are fine\n**/*.log\n!src/keep.log\nsecret.env\n",
            ),
            (
                "Dockerfile",
                r#"FROM busybox
COPY src /app/
COPY --chown=app:app --chmod=0640 *.md /docs/
ADD bundle.tar.gz /opt/
COPY <<EOF /etc/motd
welcome $HOSTNAME_UNSET-ok
EOF
RUN <<EOT
set -e
echo from-heredoc > /made
EOT
RUN cat <<EOF > /etc/conf
key=value
EOF
"#,
            ),
        ],
    );
    // A tar that ADD unpacks.
    let tar = layer_tar(&[
        Entry::Dir("pkg", 0o755),
        Entry::File("pkg/x", b"x1".to_vec(), 0o600),
    ]);
    std::fs::write(ctx.path().join("bundle.tar.gz"), gzip(&tar)).unwrap();
    build(&berth, ctx.path(), &["-t", "files"]);
    let sh = |script: &str| berth.ok(&["run", "--rm", "files", "sh", "-c", script]);
    assert_eq!(
        sh("cd /app && find . | sort"),
        ".\n./deep\n./deep/a\n./deep/a/b.txt\n./keep.log\n./main.txt\n"
    );
    assert_eq!(
        sh("ls -ln /docs | awk 'NR>1{print $1, $3, $4, $9}'"),
        "-rw-r----- 1000 1000 one.md\n-rw-r----- 1000 1000 two.md\n"
    );
    assert_eq!(sh("cat /opt/pkg/x; stat -c %a /opt/pkg/x"), "x1600\n");
    assert_eq!(sh("cat /etc/motd"), "welcome -ok\n");
    assert_eq!(sh("cat /made /etc/conf"), "from-heredoc\nkey=value\n");
    assert!(sh("test -e /secret.env && echo yes || echo no").contains("no"));
}

#[test]
fn multi_stage_copies_from_stages_and_skips_what_the_target_does_not_need() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        &[(
            "Dockerfile",
            r#"ARG MSG=meta
FROM busybox AS builder
ARG MSG
RUN mkdir -p /out && echo "built $MSG" > /out/artifact && chown 1000:1000 /out/artifact

FROM busybox AS broken
RUN exit 7

FROM scratch AS final
COPY --from=builder /out/artifact /artifact
COPY --from=busybox /bin/busybox /bin/busybox
COPY --from=0 /etc/passwd /etc/passwd
ENTRYPOINT ["/bin/busybox"]
"#,
        )],
    );
    let out = build(
        &berth,
        ctx.path(),
        &["-t", "multi", "--build-arg", "MSG=arg"],
    );
    assert!(!out.contains("exit 7"), "the unused stage ran: {out}");
    assert_eq!(
        berth.ok(&["run", "--rm", "multi", "cat", "/artifact"]),
        "built arg\n"
    );
    assert_eq!(
        berth.ok(&["run", "--rm", "multi", "stat", "-c", "%u", "/artifact"]),
        "1000\n"
    );
    let c = inspect(&berth, "multi");
    // FROM scratch gets the default PATH, as with docker and buildah.
    assert_eq!(
        c["Config"]["Env"][0],
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(c["RootFS"]["Layers"].as_array().unwrap().len(), 3);
    // --target builds a stage on its own; the broken one fails with its code.
    build(&berth, ctx.path(), &["-t", "stage1", "--target", "builder"]);
    assert_eq!(
        berth.ok(&["run", "--rm", "stage1", "cat", "/out/artifact"]),
        "built meta\n"
    );
    let err = berth.fails(
        &["build", "--target", "broken", ctx.path().to_str().unwrap()],
        7,
    );
    assert!(err.contains("Dockerfile:7: RUN:"), "{err}");
    let err = berth.fails(
        &["build", "--target", "nope", ctx.path().to_str().unwrap()],
        125,
    );
    assert!(
        err.contains("target stage \"nope\" could not be found"),
        "{err}"
    );
}

fn cache_hits(out: &str) -> usize {
    out.matches("--> Using cache").count()
}

#[test]
fn cache_hits_unless_a_copied_file_changed() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    let df = "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\nCOPY b.txt /b.txt\nCMD [\"cat\", \"/copy\"]\n";
    write(
        ctx.path(),
        &[
            ("Dockerfile", df),
            ("a.txt", "A1"),
            ("b.txt", "B1"),
            ("other", "o1"),
        ],
    );
    let first = build(&berth, ctx.path(), &["-t", "cached"]);
    assert_eq!(cache_hits(&first), 0, "{first}");
    let id1 = first.lines().last().unwrap().to_string();
    // An unrelated file: every step is a hit, the same image comes out.
    write(ctx.path(), &[("other", "o2")]);
    let second = build(&berth, ctx.path(), &["-t", "cached"]);
    assert_eq!(cache_hits(&second), 4, "{second}");
    assert_eq!(second.lines().last().unwrap(), id1);
    // A file the last COPY reads: the steps before it still hit.
    write(ctx.path(), &[("b.txt", "B2")]);
    let third = build(&berth, ctx.path(), &["-t", "cached"]);
    assert_eq!(cache_hits(&third), 2, "{third}");
    // A file the first COPY reads: the RUN runs again.
    write(ctx.path(), &[("a.txt", "A2")]);
    let fourth = build(&berth, ctx.path(), &["-t", "cached"]);
    assert_eq!(cache_hits(&fourth), 0, "{fourth}");
    assert_eq!(berth.ok(&["run", "--rm", "cached"]), "A2");
    // --no-cache runs everything.
    let fifth = build(&berth, ctx.path(), &["--no-cache", "-t", "cached"]);
    assert_eq!(cache_hits(&fifth), 0, "{fifth}");
    // Intermediate images are hidden, prune removes them with the cache.
    let listed = berth.ok(&["images", "-q"]);
    let all = berth.ok(&["images", "-a", "-q"]);
    assert!(all.lines().count() > listed.lines().count());
    berth.ok(&["builder", "prune", "-f"]);
    assert_eq!(
        berth.ok(&["images", "-a", "-q"]).lines().count(),
        listed.lines().count()
    );
    let again = build(&berth, ctx.path(), &["-t", "cached"]);
    assert_eq!(cache_hits(&again), 0, "{again}");
}

#[test]
fn secrets_are_mounted_for_run_and_never_stored() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    let secret = ctx.path().join("token.txt");
    std::fs::write(&secret, "s3cr3t-value-42").unwrap();
    write(
        ctx.path(),
        &[
            (".dockerignore", "token.txt\n"),
            (
                "Dockerfile",
                "FROM busybox\nRUN --mount=type=secret,id=tok,required test \"$(wc -c < /run/secrets/tok)\" = 15 && grep -q value-42 /run/secrets/tok && echo used > /used\nRUN --mount=type=cache,target=/cache echo c >> /cache/n && wc -l < /cache/n > /count\n",
            ),
        ],
    );
    let src = format!("id=tok,src={}", secret.display());
    build(&berth, ctx.path(), &["-t", "sec", "--secret", &src]);
    assert_eq!(berth.ok(&["run", "--rm", "sec", "cat", "/used"]), "used\n");
    // The mount points were not committed; the cache dir kept its content.
    // (/run itself is in every running container: /run/.containerenv.)
    let sh = "ls -d /run/secrets /cache 2>/dev/null; cat /count";
    assert_eq!(berth.ok(&["run", "--rm", "sec", "sh", "-c", sh]), "1\n");
    berth.assert_image_lacks("sec", "s3cr3t-value-42");
    // Without the secret the required mount fails, naming it.
    let err = berth.fails(&["build", "--no-cache", ctx.path().to_str().unwrap()], 125);
    assert!(
        err.contains("Dockerfile:2: RUN: secret tok is required"),
        "{err}"
    );
}

#[test]
fn errors_name_file_line_and_instruction() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    let cases = [
        (
            "FROM busybox\nRUN true\nFORM x\n",
            "Dockerfile:3: unknown instruction: FORM",
        ),
        (
            "FROM busybox\n\n# c\nCOPY only\n",
            "Dockerfile:4: COPY: requires at least two arguments",
        ),
        (
            "FROM busybox\nCOPY nothere /x\n",
            "Dockerfile:2: COPY: file not found in build context",
        ),
        (
            "FROM busybox\nCOPY *.none /x/\n",
            "Dockerfile:2: COPY: no source files were specified",
        ),
        (
            "RUN true\n",
            "Dockerfile:1: RUN: instruction must come after FROM",
        ),
        (
            "FROM busybox\nCOPY a b /notdir\n",
            "Dockerfile:2: COPY: When using COPY with more than one source file",
        ),
        (
            "FROM --platform=linux/s390x busybox\n",
            "Dockerfile:1: FROM: platform \"linux/s390x\" cannot be built here",
        ),
        // podman's text for a base image that cannot be had.
        (
            "FROM nosuchimage:latest\n",
            "Error: creating build container: nosuchimage:latest: image not known",
        ),
    ];
    write(ctx.path(), &[("a", "a"), ("b", "b")]);
    for (df, want) in cases {
        write(ctx.path(), &[("Dockerfile", df)]);
        let err = berth.fails(
            &["build", "--pull=never", ctx.path().to_str().unwrap()],
            125,
        );
        assert!(err.contains(want), "{df:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let err = berth.fails(
        &[
            "build",
            "--platform",
            "linux/arm64",
            ctx.path().to_str().unwrap(),
        ],
        125,
    );
    assert!(err.contains("host platform"), "{err}");
}

#[test]
fn built_image_pushes_and_skopeo_reads_it() {
    let (reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        &[
            ("f", "data"),
            (
                "Dockerfile",
                "FROM busybox\nCOPY f /f\nRUN echo ran > /ran\nLABEL built=yes\n",
            ),
        ],
    );
    let iid = ctx.path().join("iid");
    let out = build(
        &berth,
        ctx.path(),
        &[
            "-q",
            "-t",
            "pushme:1",
            "-t",
            "pushme:2",
            "--iidfile",
            iid.to_str().unwrap(),
            "--label",
            "extra=1",
        ],
    );
    let id = out.trim();
    assert_eq!(id.len(), 64, "-q prints only the ID: {out}");
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{id}")
    );
    assert!(berth.ok(&["images"]).contains("pushme"));
    let dest = format!("{}/built/app:v1", reg.host());
    berth.ok(&["push", "-q", "pushme:2", &dest]);
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &format!("docker://{dest}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Labels"]["built"], "yes");
    assert_eq!(v["Labels"]["extra"], "1");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 3);
    // podman pulls it and sees the same files.
    let pod = tempfile::tempdir().unwrap();
    let podman = |args: &[&str]| podman_in(pod.path(), args);
    podman(&["pull", "-q", "--tls-verify=false", &dest]);
    let pc = podman(&["create", &dest]).trim().to_string();
    let pt = ctx.path().join("p.tar");
    podman(&["export", "-o", pt.to_str().unwrap(), &pc]);
    podman(&["rm", &pc]);
    let bc = berth.ok(&["create", "pushme:2"]).trim().to_string();
    let bt = ctx.path().join("b.tar");
    berth.ok(&["export", "-o", bt.to_str().unwrap(), &bc]);
    assert_eq!(file_list(&bt), file_list(&pt));
    // A fresh store pulls it and runs it.
    let fresh = Berth::new(&[&reg]);
    fresh.ok(&["pull", "-q", &dest]);
    assert_eq!(
        fresh.ok(&["run", "--rm", &dest, "cat", "/f", "/ran"]),
        "dataran\n"
    );
}

#[test]
fn squash_context_on_stdin_and_containerfile() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        &[
            ("x", "1"),
            (
                "Containerfile",
                "FROM busybox\nCOPY x /x\nRUN echo 2 > /y && rm /x\nRUN echo 3 > /z\n",
            ),
        ],
    );
    build(&berth, ctx.path(), &["--squash", "-t", "sq"]);
    let c = inspect(&berth, "sq");
    assert_eq!(c["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        berth.ok(&[
            "run",
            "--rm",
            "sq",
            "sh",
            "-c",
            "cat /y /z; test -e /x || echo gone"
        ]),
        "2\n3\ngone\n"
    );
    // The context as a tar on stdin.
    let tar = layer_tar(&[
        Entry::File(
            "Dockerfile",
            b"FROM busybox\nCOPY hello /hello\n".to_vec(),
            0o644,
        ),
        Entry::File("hello", b"from stdin".to_vec(), 0o644),
    ]);
    let mut child = berth
        .cmd()
        .args(["build", "-q", "-t", "stdin", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &tar).unwrap();
    drop(child.stdin.take());
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(
        berth.ok(&["run", "--rm", "stdin", "cat", "/hello"]),
        "from stdin"
    );
}

/// A file list as `tar tv` shows it, numeric owners, without what the
/// engines mount or generate.
fn file_list(tar: &Path) -> Vec<String> {
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
