//! A container's life after create: start (its monitor), stop (the stop
//! signal, the timeout, SIGKILL), kill, restart, pause, rename, removal
//! with its dependents, and waiting for a condition.

use super::Engine;
use super::containers::ContainerError;
use crate::monitor::{Attach, Event, Launched};
use crate::process::signal::{parse_signal, signal_name};
use crate::state::containers::{self as db, ContainerRow};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The conditions `wait --condition` takes (podman 4's define.ContainerStatus
/// names, and the health states).
pub const WAIT_CONDITIONS: [&str; 11] = [
    "configured",
    "created",
    "exited",
    "healthy",
    "initialized",
    "paused",
    "removing",
    "running",
    "stopped",
    "stopping",
    "unhealthy",
];

/// How `remove` goes about it.
#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    /// Stop a running container first (and remove it whatever its state).
    pub force: bool,
    /// Its anonymous volumes go too.
    pub volumes: bool,
    /// The containers that depend on it go first.
    pub depend: bool,
    /// The stop timeout, instead of the container's.
    pub timeout: Option<u64>,
    /// Its pod is being removed: its infra container may go too.
    pub with_pod: bool,
}

impl Engine {
    /// Start a created container's monitor relaying the `attach` streams,
    /// the containers it requires (`--requires`) first; `reopen` brings the
    /// database back once it is forked. The caller reads the monitor's
    /// events from what is returned.
    /// Start created container `row` with its output on this process's
    /// stdout and stderr, and wait for its end: its exit code (a build's
    /// RUN step through the API).
    pub fn run_attached(&mut self, row: &ContainerRow) -> Result<i32, String> {
        use crate::monitor::Event;
        let attach = crate::monitor::Attach {
            stdin: false,
            stdout: true,
            stderr: true,
            attached: true,
        };
        let mut launched = self.launch(row, attach, true).map_err(|e| e.to_string())?;
        match launched.next_event() {
            Some(Event::Started(_)) => loop {
                match launched.next_event() {
                    Some(Event::Exited(code)) => return Ok(code),
                    Some(Event::Detached) => return Ok(0),
                    Some(_) => continue,
                    None => {
                        self.reopen_db().map_err(|e| e.to_string())?;
                        return self
                            .container(&row.id)
                            .map(|c| c.exit_code as i32)
                            .map_err(|e| e.to_string());
                    }
                }
            },
            Some(Event::Failed(_, msg)) => Err(msg),
            _ => Err(format!(
                "{}: the container monitor died before starting it",
                row.name
            )),
        }
    }

    pub fn launch(
        &mut self,
        row: &ContainerRow,
        attach: Attach,
        reopen: bool,
    ) -> Result<Launched, ContainerError> {
        let cfg = row.config();
        self.start_required(&cfg.requires)?;
        let io = |e: std::io::Error| ContainerError::State(format!("{}: {e}", row.name));
        let launched = crate::monitor::launch(self, row, attach, reopen).map_err(io)?;
        // The monitor's pid for systemd (`generate systemd`'s PIDFile=).
        let rundir = self.container_rundir(&row.id);
        let _ = std::fs::create_dir_all(&rundir);
        let _ = crate::process::private::write(
            &rundir.join("monitor.pid"),
            launched.monitor_pid.to_string().as_bytes(),
        );
        if let Some(f) = &cfg.conmon_pidfile {
            std::fs::write(f, launched.monitor_pid.to_string()).map_err(|e| {
                ContainerError::State(format!("writing the monitor PID file {f}: {e}"))
            })?;
        }
        Ok(launched)
    }

    /// Start the containers `requires` names that are not running, what
    /// they require first. A container can only require containers that
    /// existed before it, so this ends.
    fn start_required(&mut self, requires: &[String]) -> Result<(), ContainerError> {
        for id in requires {
            let dep = self.container(id)?;
            if dep.is_running() {
                continue;
            }
            self.start_detached(&dep).map_err(|e| {
                ContainerError::State(format!("starting required container {}: {e}", dep.name))
            })?;
        }
        Ok(())
    }

    /// Start a container detached: returns once it runs (or failed to).
    pub fn start_detached(&mut self, row: &ContainerRow) -> Result<(), StartError> {
        let mut launched = self.launch(row, Attach::default(), true)?;
        match launched.next_event() {
            Some(Event::Started(_)) => Ok(()),
            Some(Event::Failed(code, msg)) => Err(StartError::Failed(code, msg)),
            _ => Err(StartError::Failed(
                125,
                format!(
                    "{}: the container monitor died before starting it",
                    row.name
                ),
            )),
        }
    }

    /// Stop: the stop signal, then SIGKILL after the timeout (at once for a
    /// timeout of 0), warning as podman's oci runtime does when it must.
    pub fn stop(&self, c: &ContainerRow, timeout: Option<u64>) -> Result<(), ContainerError> {
        let sent = self.send_stop_signal(c)?;
        self.stop_signalled(c, timeout, sent)
    }

    /// The first half of a stop: "stopping" recorded, a paused container
    /// thawed, its stop signal sent. Returns when it was sent, which the
    /// timeout counts from (None: it was not running).
    pub fn send_stop_signal(&self, c: &ContainerRow) -> Result<Option<Instant>, ContainerError> {
        if !c.is_running() {
            return Ok(None);
        }
        {
            let _lock = self.lock()?;
            db::set_state(&self.db.conn, &c.id, "stopping")?;
        }
        if c.state == "paused"
            && let Some(cg) = self.cgroup(c)
        {
            let _ = cg.freeze(false);
        }
        let sig = parse_signal(&c.config().stop_signal).unwrap_or(rustix::process::Signal::TERM);
        self.kill_and_wait(c, sig, Duration::ZERO)?;
        Ok(Some(Instant::now()))
    }

    /// Stop signals for every running container named, all at once: podman
    /// stops containers side by side, so N that ignore SIGTERM cost one stop
    /// timeout, not N. Each container's timeout then runs from its signal.
    pub fn send_stop_signals(&self, names: &[String]) -> HashMap<String, Instant> {
        let mut sent = HashMap::new();
        if names.len() < 2 {
            return sent;
        }
        for n in names {
            if let Ok(c) = self.container(n)
                && let Ok(Some(at)) = self.send_stop_signal(&c)
            {
                sent.insert(c.id, at);
            }
        }
        sent
    }

    /// The second half: wait out what is left of the timeout since the
    /// stop signal went (`sent`), then SIGKILL with podman's warning.
    pub fn stop_signalled(
        &self,
        c: &ContainerRow,
        timeout: Option<u64>,
        sent: Option<Instant>,
    ) -> Result<(), ContainerError> {
        let Some(sent) = sent else {
            return Ok(());
        };
        let cfg = c.config();
        let sig = parse_signal(&cfg.stop_signal).unwrap_or(rustix::process::Signal::TERM);
        let secs = timeout.unwrap_or(cfg.stop_timeout as u64);
        if secs > 0 {
            let left = Duration::from_secs(secs).saturating_sub(sent.elapsed());
            // The stop signal went once (send_stop_signal): a second could
            // run the container's handler twice.
            if self.wait_exit(c, left)? {
                super::events::container("stop", c);
                return Ok(());
            }
            crate::log::warn(&format!(
                "StopSignal {} failed to stop container {} in {secs} seconds, resorting to SIGKILL",
                signal_name(sig),
                c.name
            ));
        }
        self.kill_and_wait(c, rustix::process::Signal::KILL, Duration::from_secs(30))?;
        super::events::container("stop", c);
        Ok(())
    }

    /// Stop containers `ids` side by side: every stop signal at once, then
    /// each one's timeout from its signal. `on(c, done)` hears of each
    /// running one before (false) and after (true) it stops. Stops at the
    /// first failure.
    pub fn stop_many(
        &self,
        ids: &[String],
        timeout: Option<u64>,
        on: &mut dyn FnMut(&ContainerRow, bool),
    ) -> Result<(), ContainerError> {
        let sent = self.send_stop_signals(ids);
        for id in ids {
            let c = self.container(id)?;
            if !c.is_running() && !sent.contains_key(&c.id) {
                continue;
            }
            on(&c, false);
            match sent.get(&c.id) {
                Some(at) => self.stop_signalled(&c, timeout, Some(*at))?,
                None => self.stop(&c, timeout)?,
            }
            on(&c, true);
        }
        Ok(())
    }

    /// Send `sig` to a running container's init.
    pub fn kill(
        &self,
        c: &ContainerRow,
        sig: rustix::process::Signal,
    ) -> Result<(), ContainerError> {
        if !c.is_running() || !crate::process::alive(c.pid, c.pid_start) {
            return Err(ContainerError::State(format!(
                "can only kill running containers. {} is in state {}: container state improper",
                c.id,
                c.podman_state()
            )));
        }
        if let Some(pid) = rustix::process::Pid::from_raw(c.pid as i32) {
            rustix::process::kill_process(pid, sig)
                .map_err(|e| ContainerError::State(format!("{}: {e}", c.name)))?;
        }
        super::events::container("kill", c);
        Ok(())
    }

    /// Stop (as `stop`), then start again detached.
    pub fn restart(&mut self, c: &ContainerRow, timeout: Option<u64>) -> Result<(), StartError> {
        self.stop(c, timeout)?;
        let c = self.container(&c.id)?;
        self.start_detached(&c)?;
        super::events::container("restart", &c);
        Ok(())
    }

    /// Pause (`frozen`) a running container or unpause a paused one.
    pub fn pause(&self, c: &ContainerRow, frozen: bool) -> Result<(), ContainerError> {
        let want = if frozen { "running" } else { "paused" };
        if c.state != want {
            // libpod's texts: the state for pause, the ID for unpause.
            return Err(ContainerError::State(if frozen {
                format!(
                    "{:?} is not running, can't pause: container state improper",
                    c.podman_state()
                )
            } else {
                format!(
                    "{:?} is not paused, can't unpause: container state improper",
                    c.id
                )
            }));
        }
        let cg = self.cgroup(c).ok_or_else(|| {
            ContainerError::State(format!(
                "{}: pausing needs cgroups, which this rootless setup cannot use",
                c.name
            ))
        })?;
        cg.freeze(frozen)
            .map_err(|e| ContainerError::State(format!("{}: {e}", c.name)))?;
        db::set_state(
            &self.db.conn,
            &c.id,
            if frozen { "paused" } else { "running" },
        )?;
        super::events::container(if frozen { "pause" } else { "unpause" }, c);
        Ok(())
    }

    /// Give a container a new name.
    pub fn rename(&self, c: &ContainerRow, name: &str) -> Result<(), ContainerError> {
        let _lock = self.lock()?;
        if let Some(other) = db::name_taken(&self.db.conn, name)? {
            return Err(ContainerError::NameInUse(name.to_string(), other));
        }
        db::rename(&self.db.conn, &c.id, name)?;
        super::events::container(
            "rename",
            &ContainerRow {
                name: name.to_string(),
                ..c.clone()
            },
        );
        Ok(())
    }

    /// Remove a container, its dependents first with `depend`; `removed`
    /// hears of each one gone (dependents by ID). `sent`: stop signals
    /// already sent (`send_stop_signals`).
    pub fn remove(
        &self,
        c: &ContainerRow,
        opts: &RemoveOptions,
        sent: &HashMap<String, Instant>,
        removed: &mut dyn FnMut(&ContainerRow),
    ) -> Result<(), ContainerError> {
        let cfg = c.config();
        if !opts.with_pod
            && cfg
                .annotations
                .contains_key(crate::runtime::INFRA_ANNOTATION)
        {
            if !opts.depend {
                return Err(ContainerError::Invalid(format!(
                    "container {} is the infra container of pod {} and cannot be removed without removing the pod",
                    c.id, cfg.pod
                )));
            }
            // --depend (and --all): the pod goes, its members first.
            let whole = RemoveOptions {
                with_pod: true,
                ..opts.clone()
            };
            self.remove(c, &whole, sent, removed)?;
            if let Ok(pod) = self.pod(&cfg.pod) {
                self.forget_pod(&pod)?;
            }
            return Ok(());
        }
        let deps = self.dependents(c)?;
        if !deps.is_empty() {
            if !opts.depend {
                let ids: Vec<&str> = deps.iter().map(|d| d.id.as_str()).collect();
                return Err(ContainerError::Invalid(format!(
                    "container {} has dependent containers which must be removed before it: {}: container already exists",
                    c.id,
                    ids.join(",")
                )));
            }
            for d in &deps {
                self.remove(d, opts, sent, removed)?;
            }
        }
        // As podman, a forced removal stops first (stop signal, the
        // container's or the given timeout, then SIGKILL).
        if opts.force && (c.is_running() || sent.contains_key(&c.id)) {
            match sent.get(&c.id) {
                Some(at) => self.stop_signalled(c, opts.timeout, Some(*at))?,
                None => self.stop(c, opts.timeout)?,
            }
        }
        self.remove_container(c, opts.force)?;
        if opts.volumes {
            self.remove_anonymous_volumes(&c.config());
        }
        removed(c);
        Ok(())
    }

    /// The exit code of container `id` (its full ID), removed in the last
    /// minutes.
    pub fn removed_exit_code(&self, id: &str) -> Option<i64> {
        crate::state::containers::removed_exit_code(&self.db.conn, id)
            .ok()
            .flatten()
    }

    /// Wait until container `id` meets one of `conditions` (WAIT_CONDITIONS),
    /// looking at most every `interval` (see [`poll_pause`]). Returns its
    /// exit code, -1 while it runs. A container that never ran counts as
    /// stopped and exited.
    pub fn wait_for(
        &self,
        id: &str,
        conditions: &[String],
        interval: Duration,
    ) -> Result<i64, ContainerError> {
        let since = std::time::Instant::now();
        loop {
            let cur = match self.container(id) {
                Ok(c) => c,
                // Gone while waited for: it was removed after it stopped.
                Err(ContainerError::NotFound(_)) if conditions.iter().any(|c| c == "removing") => {
                    return Ok(self.removed_exit_code(id).unwrap_or(0));
                }
                Err(e) => return Err(e),
            };
            let met = conditions.iter().any(|cond| match cond.as_str() {
                "stopped" | "exited" => !cur.is_running(),
                "running" => cur.state == "running",
                "healthy" | "unhealthy" => cur.health == *cond,
                // Created and set up: every state from created on.
                "configured" | "initialized" => true,
                "stopping" => cur.state == "stopping",
                other => cur.state == other,
            });
            if met {
                return Ok(if cur.is_running() { -1 } else { cur.exit_code });
            }
            std::thread::sleep(poll_pause(since, interval));
        }
    }
}

/// How long a waiter sleeps between two looks at the state: a tenth of
/// the time it has waited so far, between 2 ms and `most`. A short-lived
/// container's end is seen within milliseconds (`run --rm` through the
/// API waits for it), a long wait costs few queries.
pub fn poll_pause(since: std::time::Instant, most: Duration) -> Duration {
    (since.elapsed() / 10).clamp(Duration::from_millis(2), most.max(Duration::from_millis(2)))
}

/// A start that did not happen: the container's error (and podman's code
/// for it: 125, or 126/127 when its command cannot be run or found).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error("{1}")]
    Failed(i32, String),
}

impl StartError {
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Container(_) => 125,
            StartError::Failed(code, _) => *code,
        }
    }
}
