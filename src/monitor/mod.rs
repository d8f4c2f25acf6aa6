//! The per-container monitor (conmon's job): forked from the CLI, detached
//! with setsid, it starts the container, holds its stdio, writes the log,
//! relays to an attached CLI, records the exit (code, time, OOM) in the
//! database, applies the restart policy and runs health checks.
//!
//! The CLI learns how things went over a pipe: `started PID`, then
//! `exited CODE`, or `failed CODE MESSAGE`.

pub mod attach;
pub mod logs;
mod net;
mod notify;

use crate::engine::Engine;
use crate::engine::containers::ContainerConfig;
use crate::process::{now_nanos, start_time};
use crate::runtime::linux::{ChildIo, RuntimeError};
use crate::state::Paths;
use crate::state::containers::{self as db, ContainerRow};
use rustix::event::{PollFd, PollFlags};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// Which of the CLI's stdio the monitor relays (attached run/start).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attach {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// An attached run/start (even with no stream): podman's attach event
    /// follows start, written here so that it comes before died.
    pub attached: bool,
}

pub enum Event {
    Started(i32),
    Exited(i32),
    Detached,
    Failed(i32, String),
}

/// The CLI's end of the conversation with a monitor.
pub struct Launched {
    reader: BufReader<std::fs::File>,
    pub monitor_pid: i32,
}

impl Launched {
    pub fn next_event(&mut self) -> Option<Event> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "started" => rest.parse().ok().map(Event::Started),
            "exited" => rest.parse().ok().map(Event::Exited),
            "detached" => Some(Event::Detached),
            "failed" => {
                let (code, msg) = rest.split_once(' ').unwrap_or((rest, ""));
                Some(Event::Failed(code.parse().unwrap_or(125), msg.to_string()))
            }
            _ => None,
        }
    }
}

/// Fork a monitor for container `c`. The engine is not used by the child:
/// it opens its own database connection. SQLite state must not cross a
/// fork (its per-inode lock bookkeeping would be shared), so the CLI's
/// connection is closed first; `reopen` opens it again in the CLI after.
pub fn launch(
    engine: &mut Engine,
    c: &ContainerRow,
    attach: Attach,
    reopen: bool,
) -> std::io::Result<Launched> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    engine.close_db();
    // SAFETY: fork in a single-threaded CLI; the child only continues into
    // monitor_main and exits without returning.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        drop(r);
        let paths = engine.paths.clone();
        let id = c.id.clone();
        let code = monitor_main(paths, &id, attach, w);
        // SAFETY: leave without running the parent's destructors (its
        // database handle and temp space belong to the CLI).
        unsafe { libc::_exit(code) };
    }
    drop(w);
    if reopen {
        engine.reopen_db().map_err(std::io::Error::other)?;
    }
    Ok(Launched {
        reader: BufReader::new(std::fs::File::from(r)),
        monitor_pid: pid,
    })
}

struct Report(Option<std::fs::File>);

impl Report {
    fn send(&mut self, s: &str) {
        if let Some(f) = self.0.as_mut()
            && f.write_all(format!("{s}\n").as_bytes()).is_err()
        {
            self.0 = None;
        }
    }
}

fn monitor_main(paths: Paths, id: &str, attach: Attach, report: OwnedFd) -> i32 {
    let mut keep: Vec<i32> = crate::runtime::options::preserved_fds().collect();
    keep.push(report.as_raw_fd());
    crate::process::close_fds(&keep);
    // SAFETY: setsid and signal disposition in the new monitor process.
    unsafe {
        libc::setsid();
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    let mut detached: Vec<i32> = Vec::new();
    if !attach.stdin {
        detached.push(0);
    }
    if !attach.stdout {
        detached.push(1);
    }
    if !attach.stderr {
        detached.push(2);
    }
    crate::process::devnull_stdio(&detached);
    let mut report = Report(Some(std::fs::File::from(report)));
    let engine = match Engine::open(paths) {
        Ok(e) => e,
        Err(e) => {
            report.send(&format!("failed 125 {e}"));
            return 125;
        }
    };
    // The monitor lives as long as its container: keep it small. SQLite's
    // page cache need not be big for a few row updates.
    let _ = engine.db.conn.execute_batch("PRAGMA cache_size = -64;");
    let Ok(Some(row)) = db::get(&engine.db.conn, id) else {
        report.send(&format!("failed 125 container {id} vanished"));
        return 125;
    };
    let mut cfg = row.config();
    let mut restarts = row.restart_count;
    let mut backoff = std::time::Duration::from_millis(100);
    let mut notify = notify::Notify::new(&cfg.sdnotify);
    loop {
        let (code, stopped_by_user) =
            match run_once(&engine, &row, &cfg, attach, &mut report, &mut notify) {
                Ok(r) => r,
                Err(e) => {
                    if cfg.rm {
                        let _ = engine.remove_container(&row, true);
                        engine.remove_anonymous_volumes(&cfg);
                        engine.remove_anonymous_volumes(&cfg);
                    }
                    report.send(&format!(
                        "failed {} {}",
                        e.exit_code(),
                        e.to_string().replace('\n', " ")
                    ));
                    return e.exit_code();
                }
            };
        // `update` may have changed the restart policy or the limits
        // while this run went on: the next decision and run use them.
        if let Ok(Some(now)) = db::get(&engine.db.conn, id) {
            cfg = now.config();
        }
        // `--health-on-failure=restart` restarts whatever the policy says.
        let again = std::fs::remove_file(crate::engine::health::restart_marker(&engine, id))
            .is_ok()
            || match cfg.restart.name.as_str() {
                "always" | "unless-stopped" => !stopped_by_user,
                "on-failure" => {
                    code != 0
                        && !stopped_by_user
                        && (cfg.restart.max_retries == 0
                            || (restarts as u32) < cfg.restart.max_retries)
                }
                _ => false,
            };
        if !again {
            // Removed before the CLI hears of the exit, so a `run --rm`
            // leaves nothing behind by the time it returns.
            if cfg.rm {
                let _ = engine.remove_container(&row, true);
                engine.remove_anonymous_volumes(&cfg);
            }
            if !cfg.pod.is_empty() {
                engine.apply_exit_policy(&cfg.pod);
            }
            report.send(&format!("exited {code}"));
            return 0;
        }
        restarts += 1;
        let _ = db::set_restart_count(&engine.db.conn, id, restarts);
        crate::engine::events::container("restart", &current(&engine, &row));
        // docker's back-off: 100ms doubling, capped.
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
    }
}

fn set_nonblocking(fd: BorrowedFd) {
    if let Ok(fl) = rustix::fs::fcntl_getfl(fd) {
        let _ = rustix::fs::fcntl_setfl(fd, fl | rustix::fs::OFlags::NONBLOCK);
    }
}

/// Start the container once and relay until it exits. Returns its exit
/// code (128+signal when killed), and whether `stop` asked for the exit.
fn run_once(
    engine: &Engine,
    row: &ContainerRow,
    cfg: &ContainerConfig,
    attach: Attach,
    report: &mut Report,
    notify: &mut notify::Notify,
) -> Result<(i32, bool), RuntimeError> {
    let dir = engine.container_dir(&row.id);
    // `--runtime-flag`s: an external runtime judges them itself (podman's
    // exit 126 when it refuses); berth's own takes the few it honours.
    let builtin_flags = match &cfg.runtime {
        Some(_) => crate::runtime::options::BuiltinFlags::default(),
        None => crate::runtime::options::BuiltinFlags::parse(crate::runtime::options::flags())
            .map_err(|msg| RuntimeError::Start { code: 126, msg })?,
    };
    builtin_flags.log(&dir, true, &format!("starting container {}", row.id));
    if cfg.mtab_link {
        crate::engine::containers::link_mtab(&dir.join("upper"))?;
    }
    let spec_bytes = std::fs::read(dir.join("config.json"))?;
    let mut spec: oci_spec::runtime::Spec =
        serde_json::from_slice(&spec_bytes).map_err(std::io::Error::other)?;
    if [&cfg.network, &cfg.ipc, &cfg.uts, &cfg.pid]
        .iter()
        .any(|m| m.starts_with("container:"))
    {
        join_container_namespaces(engine, &mut spec, cfg)?;
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(&spec).map_err(std::io::Error::other)?,
        )?;
    }
    let driver = logs::Driver::parse(&cfg.log_driver).map_err(std::io::Error::other)?;
    let mut log = logs::LogWriter::open(driver, &dir.join("ctr.log"), cfg.log_max_size)?;
    let cgroup = engine.cgroup(row);
    // An external runtime sets up the cgroup itself, from the spec.
    if let Some(cg) = cgroup.as_ref().filter(|_| cfg.runtime.is_none()) {
        cg.create(&crate::engine::spec::limits(cfg))?;
    }
    // The container's stdio.
    let (mut out_r, mut err_r, mut in_w, mut master) = (None, None, None, None);
    let io = if cfg.tty {
        let (a, b) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )?;
        let null = OwnedFd::from(std::fs::File::options().write(true).open("/dev/null")?);
        let null2 = null.try_clone()?;
        let io = ChildIo {
            stdin: None,
            stdout: null,
            stderr: null2,
            console: Some(b),
        };
        master = Some(a);
        io
    } else {
        let (or, ow) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let (er, ew) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        // Kept open whether or not anyone is attached now: `attach` may
        // bring input later.
        let stdin = if cfg.interactive {
            let (ir, iw) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
            in_w = Some(iw);
            Some(ir)
        } else {
            None
        };
        out_r = Some(or);
        err_r = Some(er);
        ChildIo {
            stdin,
            stdout: ow,
            stderr: ew,
            console: None,
        }
    };
    let layers = engine.store.root().join("layers");
    notify.prepare(&engine.container_rundir(&row.id))?;
    let mut net = net::RunNet::prepare(engine, row, cfg)?;
    let wired = net.needs_prestart();
    let mut wire = |pid: i32| net.wire(pid);
    let prestart: Option<crate::runtime::linux::Prestart> =
        if wired { Some(&mut wire) } else { None };
    let started = match &cfg.runtime {
        Some(rt) => {
            let overlay = spec
                .annotations()
                .as_ref()
                .and_then(|a| a.get(crate::runtime::OVERLAY_ANNOTATION).cloned());
            crate::runtime::external::spawn(
                rt,
                &engine.paths.runroot,
                &dir,
                &row.id,
                overlay.as_deref().map(|o| (layers.as_path(), o)),
                io,
                prestart,
            )
        }
        None => {
            crate::runtime::linux::spawn(&spec, cgroup.as_ref(), io, &layers, cfg.init, prestart)
        }
    };
    crate::runtime::options::release_preserved_fds();
    let pid = match started {
        Ok(p) => p,
        Err(e) => {
            builtin_flags.log(&dir, false, &e.to_string());
            // An external runtime that refused its command line (a flag,
            // say) said so on stderr, before it had a log.
            let e = match (&cfg.runtime, e, err_r.as_ref()) {
                (Some(rt), RuntimeError::Start { code, msg }, Some(r)) => {
                    set_nonblocking(r.as_fd());
                    let mut said = vec![0u8; 4096];
                    let n = rustix::io::read(r, &mut said[..]).unwrap_or(0);
                    let said = String::from_utf8_lossy(&said[..n]);
                    let said = said.trim();
                    RuntimeError::Start {
                        code,
                        msg: if said.is_empty() {
                            msg
                        } else {
                            format!("{rt}: {}", said.replace('\n', ": "))
                        },
                    }
                }
                (_, e, _) => e,
            };
            net.finish();
            if let Some(cg) = &cgroup {
                cg.destroy();
            }
            return Err(e);
        }
    };
    if let Err(e) = net.started() {
        // SAFETY: kill and reap our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        net.finish();
        return Err(e);
    }
    if let Some(sock) = master.take() {
        let m = crate::runtime::tty::recv_fd(&sock)?;
        // SAFETY: fd 0 stays open for the life of the monitor.
        crate::runtime::tty::copy_winsize(unsafe { BorrowedFd::borrow_raw(0) }, m.as_fd());
        master = Some(m);
        if cfg.interactive {
            in_w = master.as_ref().map(|m| m.try_clone()).transpose()?;
        }
        out_r = master.take();
    }
    // Before the container is recorded as running: a client waiting for
    // this start is connected before any output is read (see attach).
    let mut server = attach::Server::bind(&engine.container_rundir(&row.id), cfg.tty).ok();
    let my_start = start_time(std::process::id() as i64).unwrap_or(0);
    // Under the writer lock, against a concurrent `rm` (see remove_container).
    let writer = engine.lock().map_err(std::io::Error::other)?;
    let recorded = db::set_running(
        &engine.db.conn,
        &row.id,
        pid as i64,
        start_time(pid as i64).unwrap_or(0),
        std::process::id() as i64,
        my_start,
        now_nanos(),
    )
    .map_err(std::io::Error::other)?;
    drop(writer);
    if recorded == 0 {
        // `rm` took the container while it was starting (its CLI died, say):
        // it must not run on with nothing to account for it.
        // SAFETY: kill and reap the child we just started.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        net.finish();
        crate::engine::endpoints::teardown(engine, row, true);
        if let Some(rt) = &cfg.runtime {
            crate::runtime::external::cleanup(rt, &engine.paths.runroot, &dir, &row.id);
        }
        if let Some(cg) = &cgroup {
            cg.destroy();
        }
        return Err(RuntimeError::Start {
            code: 125,
            msg: format!("container {} was removed while it started", row.id),
        });
    }
    builtin_flags.log(
        &dir,
        true,
        &format!("container {} started as pid {pid}", row.id),
    );
    // podman's pair: the runtime created it (init), then started it.
    if crate::engine::events::enabled() {
        let now = current(engine, row);
        crate::engine::events::container("init", &now);
        crate::engine::events::container("start", &now);
        if attach.attached {
            crate::engine::events::container("attach", &now);
        }
    }
    if let Some(f) = &cfg.pidfile
        && let Err(e) = std::fs::write(f, pid.to_string())
    {
        builtin_flags.log(&dir, false, &format!("writing the pid file {f}: {e}"));
    }
    report.send(&format!("started {pid}"));
    notify.started();
    let mut attach = attach;
    let keys = attach::parse_detach_keys(if cfg.detach_keys.is_empty() {
        "ctrl-p,ctrl-q"
    } else {
        &cfg.detach_keys
    })
    .unwrap_or_else(|_| vec![0x10, 0x11]);
    let mut detach = attach::DetachWatch::new(keys);

    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid).expect("pid > 0"),
        rustix::process::PidfdFlags::empty(),
    )?;
    for fd in [out_r.as_ref(), err_r.as_ref()].into_iter().flatten() {
        set_nonblocking(fd.as_fd());
    }
    let mut stdin_open = attach.stdin && in_w.is_some();
    let mut health = Health::new(cfg);
    // `--timeout`, as conmon keeps it: past it the container is killed
    // (SIGKILL) and its exit code is -1.
    let deadline = (cfg.timeout > 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_secs(cfg.timeout.into()));
    let mut timed_out = false;
    // `--health-on-failure=stop`: SIGKILL after the stop timeout.
    let mut kill_at: Option<std::time::Instant> = None;
    if health.check.is_some() {
        crate::engine::health::reset(engine, &row.id);
    }
    let mut buf = vec![0u8; 16 * 1024];
    // Give back what the CLI allocated before the fork and we no longer use.
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe { libc::malloc_trim(0) };
    let mut exited = false;
    while !exited {
        let stdin_fd = unsafe { BorrowedFd::borrow_raw(0) };
        let mut fds = Vec::with_capacity(4);
        fds.push(PollFd::new(&pidfd, PollFlags::IN));
        if let Some(o) = &out_r {
            fds.push(PollFd::new(o, PollFlags::IN));
        }
        if let Some(e) = &err_r {
            fds.push(PollFd::new(e, PollFlags::IN));
        }
        if stdin_open {
            fds.push(PollFd::new(&stdin_fd, PollFlags::IN));
        }
        let base = fds.len();
        let server_fds = server.as_ref().map(|s| s.fds()).unwrap_or_default();
        for f in &server_fds {
            fds.push(PollFd::new(f, PollFlags::IN));
        }
        let notify_fd = notify.fd();
        if let Some(f) = &notify_fd {
            fds.push(PollFd::new(f, PollFlags::IN));
        }
        let timeout = health.next_timeout(
            [deadline.filter(|_| !timed_out), kill_at]
                .into_iter()
                .flatten()
                .min(),
        );
        let _ = rustix::event::poll(&mut fds, timeout.as_ref());
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        drop(server_fds);
        if notify_fd.is_some() && ready.last().is_some_and(|r| !r.is_empty()) {
            notify.relay();
        }
        if let Some(srv) = server.as_mut() {
            let end = ready.len() - usize::from(notify_fd.is_some());
            let flags: Vec<bool> = ready[base..end].iter().map(|r| !r.is_empty()).collect();
            let master = if cfg.tty { out_r.as_ref() } else { None };
            srv.ready(&flags, &mut in_w, cfg.stdin_once, master);
        }
        let mut i = 1;
        for (stream, src) in [(0usize, &mut out_r), (1usize, &mut err_r)] {
            if src.is_none() {
                continue;
            }
            let r = ready[i];
            i += 1;
            if r.is_empty() {
                continue;
            }
            if !relay(src, stream, &mut log, &mut buf, attach, &mut server) {
                *src = None;
            }
        }
        if stdin_open && !ready[i].is_empty() {
            match rustix::io::read(stdin_fd, &mut buf) {
                Ok(n) if n > 0 => {
                    // On a terminal the user may detach (ctrl-p ctrl-q): the
                    // CLI goes, the container stays.
                    let (pass, detached) = if cfg.tty {
                        detach.feed(&buf[..n])
                    } else {
                        (buf[..n].to_vec(), false)
                    };
                    if let Some(w) = &in_w {
                        write_all(w.as_fd(), &pass);
                    }
                    if detached {
                        attach = Attach::default();
                        stdin_open = false;
                        crate::process::devnull_stdio(&[0, 1, 2]);
                        report.send("detached");
                    }
                }
                _ => {
                    stdin_open = false;
                    // EOF on a pipe: the container sees EOF too. On a pty, ^D
                    // is the user's to type; keep the master open.
                    if !cfg.tty {
                        in_w = None;
                    }
                }
            }
        }
        if !ready[0].is_empty() {
            exited = true;
        }
        if health.tick(engine, row, cfg, pid) {
            let stop = crate::engine::health::act(engine, row, cfg, pid);
            kill_at = kill_at.or(stop.map(|t| std::time::Instant::now() + t));
        }
        if kill_at.is_some_and(|t| std::time::Instant::now() >= t) {
            kill_at = None;
            // SAFETY: signals our own child (or the container we adopted).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if let Some(d) = deadline
            && !timed_out
            && std::time::Instant::now() >= d
        {
            timed_out = true;
            // SAFETY: signals our own child (or the container we adopted).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let mut status = 0;
    // SAFETY: reap our own child (or, with an external runtime, the
    // container we adopted as subreaper).
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if let Some(rt) = &cfg.runtime {
        crate::runtime::external::cleanup(rt, &engine.paths.runroot, &dir, &row.id);
    }
    // Whatever is still buffered in the pipes.
    for (stream, src) in [(0usize, &mut out_r), (1usize, &mut err_r)] {
        while src.is_some() && relay(src, stream, &mut log, &mut buf, attach, &mut server) {}
    }
    drop(in_w);
    log.flush();
    let code = if timed_out {
        -1
    } else if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let oom = cgroup.as_ref().is_some_and(|c| c.oom_killed());
    builtin_flags.log(&dir, true, &format!("container {} exited: {code}", row.id));
    let now = current(engine, row);
    let stopping = now.state == "stopping";
    net.finish();
    let _ = db::set_exited(&engine.db.conn, &row.id, code as i64, now_nanos(), oom);
    if oom {
        crate::engine::events::container("oom", &now);
    }
    crate::engine::events::died(&now, code as i64);
    if let Some(cg) = &cgroup {
        cg.destroy();
    }
    crate::engine::events::container("cleanup", &now);
    Ok((code, stopping))
}

/// The container's record as it is now (`rename` may have changed it while
/// it ran); the one the monitor started with if it is gone.
fn current(engine: &Engine, row: &ContainerRow) -> ContainerRow {
    db::get(&engine.db.conn, &row.id)
        .ok()
        .flatten()
        .unwrap_or_else(|| row.clone())
}

/// `--network`/`--ipc`/`--uts`/`--pid container:ID` (and a pod's members): the
/// other container's namespaces, as they are now (its pid changes when it
/// restarts).
fn join_container_namespaces(
    engine: &Engine,
    spec: &mut oci_spec::runtime::Spec,
    cfg: &ContainerConfig,
) -> Result<(), RuntimeError> {
    use oci_spec::runtime::LinuxNamespaceType as T;
    for (typ, proc_name, mode, what) in [
        (T::Network, "net", &cfg.network, "network"),
        (T::Ipc, "ipc", &cfg.ipc, "IPC namespace"),
        (T::Uts, "uts", &cfg.uts, "UTS namespace"),
        (T::Pid, "pid", &cfg.pid, "PID namespace"),
    ] {
        let Some(other) = mode.strip_prefix("container:") else {
            continue;
        };
        let c = engine.container(other).map_err(|e| RuntimeError::Start {
            code: 125,
            msg: e.to_string(),
        })?;
        if c.state != "running" {
            return Err(RuntimeError::Start {
                code: 125,
                msg: format!(
                    "cannot join the {what} of container {}: it is not running",
                    c.name
                ),
            });
        }
        let path = format!("/proc/{}/ns/{proc_name}", c.pid);
        if typ == T::Ipc {
            // Its /dev/shm goes with its IPC namespace.
            let mut notes = spec.annotations().clone().unwrap_or_default();
            notes.insert(
                crate::runtime::SHM_FROM_ANNOTATION.into(),
                format!("/proc/{}/ns/mnt", c.pid),
            );
            spec.set_annotations(Some(notes));
        }
        if let Some(linux) = spec.linux_mut().as_mut() {
            let mut ns = linux.namespaces().clone().unwrap_or_default();
            for n in ns.iter_mut() {
                if n.typ() == typ {
                    n.set_path(Some(path.clone().into()));
                }
            }
            linux.set_namespaces(Some(ns));
        }
    }
    Ok(())
}

/// Move one chunk from a container stream to the log and the attached CLI.
/// False at end of stream.
fn relay(
    src: &mut Option<OwnedFd>,
    stream: usize,
    log: &mut logs::LogWriter,
    buf: &mut [u8],
    attach: Attach,
    server: &mut Option<attach::Server>,
) -> bool {
    let Some(fd) = src.as_ref() else { return false };
    match rustix::io::read(fd, &mut *buf) {
        Ok(0) => false,
        Ok(n) => {
            log.write(stream, &buf[..n]);
            if let Some(srv) = server.as_mut() {
                srv.broadcast(stream, &buf[..n]);
            }
            let to = if stream == 0 {
                attach.stdout
            } else {
                attach.stderr
            };
            if to {
                // SAFETY: fds 1 and 2 stay open for the life of the monitor.
                write_all(
                    unsafe { BorrowedFd::borrow_raw(1 + stream as i32) },
                    &buf[..n],
                );
            }
            true
        }
        Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => false,
        Err(_) => false,
    }
}

/// Write everything, riding out a full pipe; give up if the reader is gone.
pub fn write_all(fd: BorrowedFd, mut data: &[u8]) {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => {
                let mut p = [PollFd::new(&fd, PollFlags::OUT)];
                let _ = rustix::event::poll(&mut p, None);
            }
            Err(_) => return,
        }
    }
}

/// Health checks, run by the monitor itself on a timer.
pub struct Health {
    check: Option<crate::engine::containers::Health>,
    next: Option<std::time::Instant>,
    /// Unix nanoseconds: the start period counts from here.
    started: i64,
}

impl Health {
    fn new(cfg: &ContainerConfig) -> Health {
        let check = cfg.healthcheck.clone().filter(|h| !h.test.is_empty());
        let next = check.as_ref().map(|h| {
            std::time::Instant::now() + std::time::Duration::from_secs(h.interval_secs.max(1))
        });
        Health {
            check,
            next,
            started: now_nanos(),
        }
    }

    /// How long the monitor may sleep: until the next check, or `also`.
    fn next_timeout(&self, also: Option<std::time::Instant>) -> Option<rustix::fs::Timespec> {
        let n = [self.next, also].into_iter().flatten().min()?;
        let d = n.saturating_duration_since(std::time::Instant::now());
        Some(rustix::fs::Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: d.subsec_nanos() as i64,
        })
    }

    /// Run the check when it is due. True when the container has just
    /// turned unhealthy.
    fn tick(
        &mut self,
        engine: &Engine,
        row: &ContainerRow,
        cfg: &ContainerConfig,
        pid: i32,
    ) -> bool {
        let (Some(check), Some(next)) = (&self.check, self.next) else {
            return false;
        };
        if std::time::Instant::now() < next {
            return false;
        }
        self.next = Some(
            std::time::Instant::now() + std::time::Duration::from_secs(check.interval_secs.max(1)),
        );
        crate::engine::health::probe(engine, row, cfg, pid, self.started).1
    }
}
