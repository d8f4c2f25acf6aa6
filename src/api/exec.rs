//! docker's exec: `POST /containers/{id}/exec` records a session,
//! `POST /exec/{id}/start` runs it (hijacked, as attach), `/exec/{id}/resize`
//! sizes its terminal, `GET /exec/{id}/json` says how it went. A session
//! is a small JSON record under the run root (`api-exec/ID.json`); the
//! worker that starts it is the process's parent, relays its streams
//! (`engine::exec_io`, as the CLI's exec) and records its exit code.

use super::attach::{frame, hijack_status, send_resize, stream_type};
use super::worker::{Answer, ApiError, Request, write_head};
use crate::engine::Engine;
use crate::engine::exec::ExecOptions;
use crate::engine::exec_io::{Caller, session_io};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// Sessions that ended longer ago than this are forgotten.
const KEPT_SECS: u64 = 600;

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Session {
    id: String,
    container: String,
    /// docker's request, as sent.
    config: Value,
    started: bool,
    running: bool,
    pid: i32,
    exit_code: Option<i64>,
}

fn dir(engine: &Engine) -> PathBuf {
    engine.paths.runroot.join("api-exec")
}

fn load(engine: &Engine, id: &str) -> Result<Session, ApiError> {
    let missing = || ApiError(404, format!("No such exec instance: {id}"));
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(missing());
    }
    let text = std::fs::read(dir(engine).join(format!("{id}.json"))).map_err(|_| missing())?;
    serde_json::from_slice(&text).map_err(|e| ApiError(500, format!("exec {id}: {e}")))
}

fn save(engine: &Engine, s: &Session) -> Result<(), ApiError> {
    let d = dir(engine);
    std::fs::create_dir_all(&d)?;
    let tmp = d.join(format!(".{}.{}", s.id, std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(s).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, d.join(format!("{}.json", s.id)))?;
    Ok(())
}

/// Forget sessions that ended a while ago.
fn prune(engine: &Engine) {
    for e in std::fs::read_dir(dir(engine))
        .into_iter()
        .flatten()
        .flatten()
    {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > KEPT_SECS);
        if old
            && let Ok(s) =
                serde_json::from_slice::<Session>(&std::fs::read(e.path()).unwrap_or_default())
            && !s.running
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn not_running(name: &str) -> ApiError {
    ApiError(409, format!("Container {name} is not running"))
}

/// `POST /containers/{id}/exec`.
pub fn create(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    if c.state != "running" {
        return Err(not_running(&c.name));
    }
    let config: Value = serde_json::from_slice(&r.body)
        .map_err(|e| ApiError(400, format!("invalid exec config: {e}")))?;
    if config["Cmd"].as_array().is_none_or(|a| a.is_empty()) {
        return Err(ApiError(400, "No exec command specified".into()));
    }
    prune(engine);
    let s = Session {
        id: crate::engine::containers::new_id(),
        container: c.id.clone(),
        config,
        ..Default::default()
    };
    save(engine, &s)?;
    Ok(Answer::Json(201, json!({ "Id": s.id })))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .collect()
}

/// `POST /exec/{id}/start`.
pub fn start(engine: &mut Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let mut s = load(engine, id)?;
    let body: Value = if r.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&r.body)
            .map_err(|e| ApiError(400, format!("invalid exec start config: {e}")))?
    };
    if s.started {
        return Err(ApiError(409, format!("exec {id} has already been started")));
    }
    let c = engine.container(&s.container)?;
    if c.state != "running" {
        return Err(not_running(&c.name));
    }
    let cfg = &s.config;
    let tty = cfg["Tty"].as_bool().unwrap_or(false) || body["Tty"].as_bool().unwrap_or(false);
    let detach = body["Detach"].as_bool().unwrap_or(false);
    let interactive = cfg["AttachStdin"].as_bool().unwrap_or(false);
    let opts = ExecOptions {
        args: strings(&cfg["Cmd"]),
        env: strings(&cfg["Env"]),
        user: cfg["User"]
            .as_str()
            .filter(|u| !u.is_empty())
            .map(String::from),
        workdir: cfg["WorkingDir"]
            .as_str()
            .filter(|w| !w.is_empty())
            .map(String::from),
        privileged: cfg["Privileged"].as_bool().unwrap_or(false),
        tty,
    };
    if detach {
        // The session outlives this request: a child of ours in its own
        // session runs it and records how it ends.
        let mut out = std::io::stdout().lock();
        // SQLite state must not cross a fork.
        engine.close_db();
        // SAFETY: the worker is single-threaded; the child only runs the
        // session below and exits.
        let pid = unsafe { libc::fork() };
        engine.reopen_db()?;
        match pid {
            -1 => return Err(std::io::Error::last_os_error().into()),
            0 => {
                crate::process::devnull_stdio(&[0, 1, 2]);
                // SAFETY: setsid in the child, which leads nothing yet.
                unsafe { libc::setsid() };
                let code = run(engine, &mut s, &c, &opts, true, false, None).is_ok();
                // SAFETY: leave without the parent's destructors.
                unsafe { libc::_exit(i32::from(!code)) };
            }
            _ => {
                write_head(&mut out, 200, "")?;
                return Ok(Answer::Done);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    write_head(&mut out, hijack_status(r), stream_type(tty))?;
    out.flush()?;
    drop(out);
    run(engine, &mut s, &c, &opts, false, interactive, Some(tty))?;
    Ok(Answer::Done)
}

/// Run session `s` (`stream`: relay it to the worker's stdio, with or
/// without a terminal) and record its end.
fn run(
    engine: &Engine,
    s: &mut Session,
    c: &crate::state::containers::ContainerRow,
    opts: &ExecOptions,
    detach: bool,
    interactive: bool,
    stream: Option<bool>,
) -> Result<(), ApiError> {
    let (io, relay) = session_io(detach, opts.tty, interactive)?;
    let session = match engine.exec(c, opts, io) {
        Ok(x) => x,
        Err(e) => {
            s.started = true;
            s.exit_code = Some(e.exit_code().into());
            save(engine, s)?;
            if let Some(tty) = stream {
                let msg = format!("{e}\n");
                let mut out = std::io::stdout().lock();
                let _ = match tty {
                    true => out.write_all(msg.as_bytes()),
                    false => out.write_all(&frame(2, msg.as_bytes())),
                };
            }
            return Ok(());
        }
    };
    s.started = true;
    s.running = true;
    s.pid = session.child;
    save(engine, s)?;
    let code = if detach {
        let mut status = 0;
        // SAFETY: wait for our own child.
        unsafe { libc::waitpid(session.child, &mut status, 0) };
        if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        }
    } else {
        let mut caller = Stream::new(engine, &s.id, stream.unwrap_or(false))?;
        relay.run(session.child, interactive, &mut caller)?
    };
    session.died(code);
    s.running = false;
    s.exit_code = Some(code.into());
    save(engine, s)
}

/// The API's side of a session: the hijacked connection on the worker's
/// stdin and stdout (framed without a terminal), and a control socket
/// that `resize` requests reach.
struct Stream {
    tty: bool,
    ctl: UnixListener,
    path: PathBuf,
}

impl Stream {
    fn new(engine: &Engine, id: &str, tty: bool) -> std::io::Result<Stream> {
        let d = dir(engine);
        std::env::set_current_dir(&d)?;
        let name = format!("{id}.ctl");
        let _ = std::fs::remove_file(&name);
        let ctl = UnixListener::bind(&name)?;
        ctl.set_nonblocking(true)?;
        Ok(Stream {
            tty,
            ctl,
            path: d.join(name),
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Caller for Stream {
    fn input(&self) -> BorrowedFd<'_> {
        // SAFETY: fd 0 is the worker's stdin for its whole life.
        unsafe { BorrowedFd::borrow_raw(0) }
    }

    fn output(&mut self, stream: u8, data: &[u8]) {
        // SAFETY: fd 1 is the worker's stdout for its whole life.
        let out = unsafe { BorrowedFd::borrow_raw(1) };
        if self.tty {
            crate::monitor::write_all(out, data);
        } else {
            crate::monitor::write_all(out, &frame(stream, data));
        }
    }

    fn watch(&self) -> Option<BorrowedFd<'_>> {
        Some(self.ctl.as_fd())
    }

    fn poke(&mut self, master: Option<&OwnedFd>) {
        while let Ok((s, _)) = self.ctl.accept() {
            crate::monitor::attach::resize(s, master);
        }
    }
}

/// `POST /exec/{id}/resize?h=&w=`.
pub fn resize(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let s = load(engine, id)?;
    let (rows, cols) = super::attach::dims(r)?;
    if !s.running {
        return Err(ApiError(409, format!("exec {id} is not running")));
    }
    std::env::set_current_dir(dir(engine))?;
    send_resize(Path::new(&format!("{id}.ctl")), rows, cols)?;
    Ok(Answer::Empty(200))
}

/// `GET /exec/{id}/json`.
pub fn inspect(engine: &Engine, id: &str) -> Result<Answer, ApiError> {
    let s = load(engine, id)?;
    let cfg = &s.config;
    let args = strings(&cfg["Cmd"]);
    Ok(Answer::Json(
        200,
        json!({
            "ID": s.id,
            "ContainerID": s.container,
            "Running": s.running,
            "ExitCode": s.exit_code,
            "Pid": s.pid,
            "CanRemove": false,
            "DetachKeys": cfg["DetachKeys"].as_str().unwrap_or(""),
            "OpenStdin": cfg["AttachStdin"].as_bool().unwrap_or(false),
            "OpenStdout": cfg["AttachStdout"].as_bool().unwrap_or(false),
            "OpenStderr": cfg["AttachStderr"].as_bool().unwrap_or(false),
            "ProcessConfig": {
                "entrypoint": args.first().cloned().unwrap_or_default(),
                "arguments": args.get(1..).unwrap_or_default(),
                "tty": cfg["Tty"].as_bool().unwrap_or(false),
                "privileged": cfg["Privileged"].as_bool().unwrap_or(false),
                "user": cfg["User"].as_str().unwrap_or(""),
            },
        }),
    ))
}
