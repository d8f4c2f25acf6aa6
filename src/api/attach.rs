//! Hijacked streams: `/containers/{id}/attach` and `/containers/{id}/resize`.
//! The worker is the client of the container's monitor (its `attach`
//! socket, as `berth attach` is); on the API side its stdin is the
//! client's stream and its stdout goes back, in docker's frames without a
//! terminal (stream byte, three zeros, big-endian length), raw with one.

use super::worker::{Answer, ApiError, Request, write_head};
use crate::engine::Engine;
use crate::monitor::attach::{CTL, DetachWatch, PENDING, SOCKET, parse_detach_keys, read_frame};
use crate::state::containers::ContainerRow;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// docker's multiplexed frame: stream (1 stdout, 2 stderr), three zeros,
/// the length big-endian, the data.
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(data.len() + 8);
    f.extend_from_slice(&[stream, 0, 0, 0]);
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// The content type of a container's stream.
pub fn stream_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// The status that starts a hijacked stream: 101 when the client asked
/// to upgrade, else 200 (the stream is then the body).
pub fn hijack_status(r: &Request) -> u16 {
    if r.upgrade { 101 } else { 200 }
}

pub fn attach(engine: &mut Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    let cfg = c.config();
    let logs = r.flag("logs");
    if !c.is_running() && c.state != "created" && !logs {
        return Err(ApiError(
            409,
            "You cannot attach to a stopped container, start it first".into(),
        ));
    }
    let keys = parse_detach_keys(
        r.query
            .get("detachKeys")
            .map(String::as_str)
            .filter(|k| !k.is_empty())
            .unwrap_or("ctrl-p,ctrl-q"),
    )
    .map_err(|e| ApiError(400, e))?;
    let (want_out, want_err) = (r.flag("stdout"), r.flag("stderr"));
    // The head goes first: docker's `run` starts the container only once
    // its attach is answered.
    let mut out = std::io::stdout().lock();
    write_head(&mut out, hijack_status(r), stream_type(cfg.tty))?;
    if logs {
        replay_log(engine, &c, want_out, want_err, &mut out)?;
    }
    out.flush()?;
    if !r.flag("stream") {
        return Ok(Answer::Done);
    }
    let sock = match connect(engine, &c) {
        Ok(s) => s,
        Err(ApiError(_, msg)) => {
            crate::log::debug(&format!("API attach: {msg}"));
            return Ok(Answer::Done);
        }
    };
    if r.flag("stdin") && cfg.interactive {
        let w = sock.try_clone()?;
        let detach = cfg.tty.then(|| DetachWatch::new(keys));
        std::thread::spawn(move || pump_input(w, detach));
    }
    let mut rd = sock;
    if cfg.tty {
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = rd.read(&mut buf) {
            if want_out {
                out.write_all(&buf[..n])?;
                out.flush()?;
            }
        }
    } else {
        while let Some((stream, data)) = read_frame(&mut rd) {
            if (stream == 1 && want_out) || (stream == 2 && want_err) {
                out.write_all(&frame(stream, &data))?;
                out.flush()?;
            }
        }
    }
    Ok(Answer::Done)
}

/// The client's input (the worker's stdin) to the container until it
/// ends (then the monitor sees the end: with StdinOnce the container's
/// stdin closes) or the detach keys come (then the stream ends here).
fn pump_input(mut to: UnixStream, mut detach: Option<DetachWatch>) {
    let mut buf = [0u8; 8192];
    let mut stdin = std::io::stdin();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(n) => n,
        };
        let (pass, detached) = match detach.as_mut() {
            Some(w) => w.feed(&buf[..n]),
            None => (buf[..n].to_vec(), false),
        };
        let _ = to.write_all(&pass);
        if detached {
            let _ = std::io::stdout().flush();
            std::process::exit(0);
        }
    }
}

/// What the container logged so far (`logs=1`), framed as its stream.
fn replay_log(
    engine: &Engine,
    c: &ContainerRow,
    want_out: bool,
    want_err: bool,
    out: &mut dyn Write,
) -> Result<(), ApiError> {
    let cfg = c.config();
    let Ok(driver) = crate::engine::logs::Driver::parse(&cfg.log_driver) else {
        return Ok(());
    };
    if driver == crate::engine::logs::Driver::None {
        return Ok(());
    }
    let (recs, _) = engine.read_log(&c.id, driver, 0);
    for rec in recs {
        if (rec.stream == 0 && !want_out) || (rec.stream == 1 && !want_err) {
            continue;
        }
        let line = rec.line(false);
        if cfg.tty {
            out.write_all(line.as_bytes())?;
        } else {
            out.write_all(&frame(rec.stream as u8 + 1, line.as_bytes()))?;
        }
    }
    Ok(())
}

/// Removes a waiting client's socket when it is done.
struct Pending(PathBuf);

impl Drop for Pending {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A connection to `c`'s monitor. A running container's `attach` socket
/// takes it at once. A created one is waited for: a socket in
/// `attach-pending/`, which the monitor connects to before it reads any
/// output, so nothing the container writes first is missed.
fn connect(engine: &Engine, c: &ContainerRow) -> Result<UnixStream, ApiError> {
    let rundir = engine.container_rundir(&c.id);
    let pending_dir = rundir.join(PENDING);
    std::fs::create_dir_all(&pending_dir)?;
    // Socket addresses are short: name them relative to the run dir.
    std::env::set_current_dir(&rundir)?;
    let name = Path::new(PENDING).join(std::process::id().to_string());
    let _ = std::fs::remove_file(&name);
    let listener = UnixListener::bind(&name)?;
    let _guard = Pending(pending_dir.join(std::process::id().to_string()));
    listener.set_nonblocking(true)?;
    loop {
        // The monitor connects before it records the container running:
        // accept first, then look at the state.
        if let Ok((s, _)) = listener.accept() {
            s.set_nonblocking(false)?;
            return Ok(s);
        }
        let cur = engine.container(&c.id)?;
        if cur.is_running() {
            if let Ok((s, _)) = listener.accept() {
                s.set_nonblocking(false)?;
                return Ok(s);
            }
            // It started before we waited: from now on.
            std::env::set_current_dir(&rundir)?;
            return UnixStream::connect(SOCKET)
                .map_err(|e| ApiError(500, format!("attaching to {}: {e}", c.name)));
        }
        if cur.state != "created" {
            return Err(ApiError(
                409,
                format!("container {} exited before it could be attached", c.name),
            ));
        }
        let mut fds = [rustix::event::PollFd::new(
            &listener,
            rustix::event::PollFlags::IN,
        )];
        let _ = rustix::event::poll(
            &mut fds,
            Some(&rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 200_000_000,
            }),
        );
    }
}

/// `/containers/{id}/resize?h=ROWS&w=COLS`: the monitor resizes the
/// container's terminal.
pub fn resize(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    if !c.is_running() {
        return Err(ApiError(
            409,
            format!("cannot resize container {}: it is not running", c.name),
        ));
    }
    let (rows, cols) = dims(r)?;
    if !c.config().tty {
        return Ok(Answer::Empty(200));
    }
    std::env::set_current_dir(engine.container_rundir(&c.id))?;
    send_resize(Path::new(CTL), rows, cols)?;
    Ok(Answer::Empty(200))
}

/// The `h` and `w` of a resize request.
pub fn dims(r: &Request) -> Result<(u16, u16), ApiError> {
    let get = |k: &str| -> Result<u16, ApiError> {
        r.query
            .get(k)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiError(400, format!("resize: {k} must be a number of cells")))
    };
    Ok((get("h")?, get("w")?))
}

/// Send `resize ROWS COLS` to a control socket.
pub fn send_resize(ctl: &Path, rows: u16, cols: u16) -> Result<(), ApiError> {
    let mut s = UnixStream::connect(ctl).map_err(|e| ApiError(500, format!("resizing: {e}")))?;
    s.set_write_timeout(Some(Duration::from_secs(1)))?;
    s.write_all(format!("resize {rows} {cols}\n").as_bytes())?;
    Ok(())
}
