//! `POST /build`: docker's classic builder API over berth's builder. The
//! context is the body (a tar, maybe compressed); everything the build
//! prints (its steps, the RUN containers' output) goes back as docker's
//! JSON stream (`{"stream": ...}`), the image ID as `{"aux": {"ID": ...}}`.

use super::worker::{Answer, ApiError, Request, stream_error, write_head};
use crate::build::context::Context;
use crate::build::ignore::Ignore;
use crate::build::{BuildOptions, RunSpec};
use crate::engine::Engine;
use crate::engine::build::StepDoor;
use crate::engine::containers::ContainerConfig;
use crate::engine::create::CreateSpec;
use crate::engine::pull::PullPolicy;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn json_map(r: &Request, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(text) = r.query.get(key).filter(|t| !t.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let v: Value =
        serde_json::from_str(text).map_err(|e| ApiError(400, format!("invalid {key}: {e}")))?;
    Ok(v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect())
}

/// The API's side of RUN steps: docker's defaults (its default network
/// unless the step asks for another) and a start that only waits.
fn api_door<'a>(pull: PullPolicy, r: &Request) -> StepDoor<'a> {
    StepDoor {
        pull,
        pull_opts: crate::registry::pull::PullOptions {
            remote: super::images::remote_options(r),
            ..Default::default()
        },
        quiet: true,
        spec_for: Box::new(|spec: &RunSpec| {
            let (network, networks) = match spec.network.as_str() {
                "" => super::create::default_network(),
                other => (other.to_string(), Vec::new()),
            };
            Ok(CreateSpec {
                config: ContainerConfig {
                    network,
                    networks,
                    tmpfs: spec.tmpfs.clone(),
                    log_driver: "k8s-file".into(),
                    runtime: crate::runtime::options::global_runtime(),
                    ..Default::default()
                },
                user: Some(spec.user.clone()).filter(|u| !u.is_empty()),
                workdir: Some(spec.workdir.clone()),
                env: crate::engine::create::EnvSpec {
                    defaults: true,
                    ..Default::default()
                },
                image_volume: "bind".into(),
                ..Default::default()
            })
        }),
        start: Box::new(|engine: &mut Engine, row| engine.run_attached(row)),
    }
}

/// What the build writes on stdout and stderr, as docker's stream
/// messages on the worker's real stdout (`out`), line by line.
struct Capture {
    saved_out: i32,
    saved_err: i32,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    /// `quiet`: what the build prints is dropped.
    fn start(quiet: bool) -> std::io::Result<Capture> {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        // SAFETY: duplicating and replacing this process's own stdio.
        let (saved_out, saved_err) = unsafe {
            let so = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
            let se = libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3);
            libc::dup2(w.as_raw_fd(), 1);
            libc::dup2(w.as_raw_fd(), 2);
            (so, se)
        };
        drop(w);
        // SAFETY: saved_out is a fresh duplicate owned by the reader.
        let out_fd = unsafe { libc::fcntl(saved_out, libc::F_DUPFD_CLOEXEC, 3) };
        let reader = std::thread::spawn(move || {
            // SAFETY: out_fd is ours alone.
            let mut out = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(out_fd) });
            let mut r = std::io::BufReader::new(std::fs::File::from(r));
            let mut line = Vec::new();
            while let Ok(n @ 1..) = std::io::BufRead::read_until(&mut r, b'\n', &mut line) {
                if !quiet {
                    let text = String::from_utf8_lossy(&line[..n]);
                    let _ = writeln!(out, "{}", json!({ "stream": text }));
                    let _ = out.flush();
                }
                line.clear();
            }
        });
        Ok(Capture {
            saved_out,
            saved_err,
            reader: Some(reader),
        })
    }

    /// Back to the real stdout and stderr, once the stream is written.
    fn finish(mut self) {
        let _ = std::io::stdout().flush();
        // SAFETY: restoring the descriptors saved by start.
        unsafe {
            libc::dup2(self.saved_out, 1);
            libc::dup2(self.saved_err, 2);
            libc::close(self.saved_out);
            libc::close(self.saved_err);
        }
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

pub fn build(engine: &mut Engine, r: &Request) -> Result<Answer, ApiError> {
    let tags: Vec<String> = r
        .all("t")
        .iter()
        .map(|t| crate::engine::tags::local_name(t).map_err(|e| ApiError(400, e.to_string())))
        .collect::<Result<_, _>>()?;
    let pull = if r.flag("pull") {
        PullPolicy::Always
    } else {
        PullPolicy::Missing
    };
    let mut data = Vec::new();
    std::io::stdin().lock().read_to_end(&mut data)?;
    let ctx_dir = engine
        .stdin_context(&data)
        .map_err(|e| ApiError(400, e.to_string()))?;
    drop(data);
    let result = (|| {
        let mut ctx = Context::open(&ctx_dir.dir, Ignore::empty())
            .map_err(|e| ApiError(400, format!("build context: {e}")))?;
        let wanted = r.query.get("dockerfile").filter(|d| !d.is_empty()).cloned();
        let mut found = None;
        let names = match &wanted {
            Some(w) => vec![w.clone()],
            None => vec!["Dockerfile".to_string(), "Containerfile".to_string()],
        };
        for name in names {
            if let Some(text) = ctx
                .read_file(&name)
                .map_err(|e| ApiError(400, e.to_string()))?
            {
                found = Some((text, name));
                break;
            }
        }
        let (dockerfile, file_name) = match (found, ctx_dir.containerfile.clone()) {
            (Some(f), _) => f,
            (None, Some(text)) => (text, "Dockerfile".to_string()),
            (None, None) => {
                return Err(ApiError(
                    400,
                    "Cannot locate specified Dockerfile: Dockerfile".into(),
                ));
            }
        };
        for name in [".dockerignore", ".containerignore"] {
            if let Ok(Some(t)) = ctx.read_file(name) {
                ctx.ignore =
                    Ignore::parse(&t).map_err(|e| ApiError(400, format!("{name}: {e}")))?;
                break;
            }
        }
        let labels = json_map(r, "labels")?.into_iter().collect();
        let o = BuildOptions {
            dockerfile,
            file_name,
            context: ctx,
            build_args: json_map(r, "buildargs")?,
            target: r.query.get("target").filter(|t| !t.is_empty()).cloned(),
            no_cache: r.flag("nocache"),
            layers: true,
            squash: r.flag("squash"),
            labels,
            network: r
                .query
                .get("networkmode")
                .filter(|n| !n.is_empty() && *n != "default")
                .cloned()
                .unwrap_or_default(),
            secrets: BTreeMap::new(),
            quiet: false,
            docker_format: true,
            timestamp: None,
        };
        let mut out = std::io::stdout().lock();
        write_head(&mut out, 200, "application/json")?;
        out.flush()?;
        drop(out);
        let quiet = r.flag("q");
        let capture = Capture::start(quiet)?;
        let mut door = api_door(pull, r);
        let built = crate::build::build(engine, &mut door, &o);
        let named = built.as_ref().map_err(|e| e.to_string()).and_then(|id| {
            engine
                .name_built_image(id, &tags)
                .map_err(|e| e.to_string())
        });
        if let Ok(id) = &built {
            println!("Successfully built {}", &id.hex()[..12]);
            for t in &tags {
                println!("Successfully tagged {t}");
            }
        }
        capture.finish();
        let mut out = std::io::stdout().lock();
        match built.and_then(|id| named.map(|()| id).map_err(crate::build::BuildError::Other)) {
            Ok(id) => {
                if quiet {
                    writeln!(out, "{}", json!({ "stream": format!("{id}\n") }))?;
                }
                writeln!(out, "{}", json!({ "aux": { "ID": id.to_string() } }))?
            }
            Err(e) => stream_error(&mut out, &e.to_string())?,
        }
        Ok(Answer::Done)
    })();
    let _ = engine.remove_stdin_context(&ctx_dir);
    result
}
