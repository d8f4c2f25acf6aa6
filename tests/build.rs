//! `berth build`: Dockerfiles with expected outcomes, the layer cache,
//! secrets, errors, and a built image pushed and read back by skopeo.

mod common;

use common::*;
use std::path::Path;

#[path = "build/podman_parity.rs"]
mod podman_parity;
use podman_parity::file_list;

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
