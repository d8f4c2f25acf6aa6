//! Health checks as podman keeps them: each probe's start, end, exit code
//! and output (the last five), the failing streak and the status, in the
//! container's `healthcheck.log` (JSON, podman's field names), and the
//! `--health-on-failure` action once the container turns unhealthy. The
//! monitor probes on its timer and `healthcheck run` on demand; both go
//! through here, so a streak counts every probe whoever ran it.

use super::Engine;
use crate::engine::containers::ContainerConfig;
use crate::runtime::linux::RuntimeError;
use crate::state::containers::{self as db, ContainerRow};
use serde::{Deserialize, Serialize};

/// podman keeps this many probes (define.MaxHealthCheckNumberLogs).
const KEEP: usize = 5;
/// and this much of each probe's output (define.MaxHealthCheckLogLength).
const MAX_OUTPUT: usize = 500;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Probe {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    pub status: String,
    pub failing_streak: u32,
    pub log: Vec<Probe>,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            status: "starting".into(),
            failing_streak: 0,
            log: vec![],
        }
    }
}

fn log_path(engine: &Engine, id: &str) -> std::path::PathBuf {
    engine.container_dir(id).join("healthcheck.log")
}

/// What inspect shows: the recorded state, or "starting" before a probe.
pub fn state(engine: &Engine, id: &str) -> HealthState {
    std::fs::read(log_path(engine, id))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// A fresh start: status "starting", streak and log kept (podman keeps the
/// log across restarts).
pub fn reset(engine: &Engine, id: &str) {
    let mut s = state(engine, id);
    s.status = "starting".into();
    s.failing_streak = 0;
    let _ = save(engine, id, &s);
}

fn save(engine: &Engine, id: &str, s: &HealthState) -> std::io::Result<()> {
    let path = log_path(engine, id);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(s).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, &path)?;
    let _ = db::set_health(&engine.db.conn, id, &s.status);
    Ok(())
}

/// Run the container's check once in it (pid: its init; started: when it
/// started, Unix nanoseconds, for the start period), and record it.
/// Returns the new state and whether this probe turned it unhealthy.
pub fn probe(
    engine: &Engine,
    row: &ContainerRow,
    cfg: &ContainerConfig,
    pid: i32,
    started: i64,
) -> (HealthState, bool) {
    let Some(check) = cfg.healthcheck.as_ref().filter(|h| !h.test.is_empty()) else {
        return (state(engine, &row.id), false);
    };
    let start = now();
    let timeout = std::time::Duration::from_secs(check.timeout_secs.max(1));
    let (code, output) = match engine.exec_target(row, pid) {
        Ok(target) => crate::runtime::exec::run_check(&target, &check.test, timeout),
        Err(e) => (1, RuntimeError::from(e).to_string().into_bytes()),
    };
    let end = now();
    let mut output = String::from_utf8_lossy(&output).into_owned();
    if output.ends_with('\n') {
        output.pop();
    }
    if output.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !output.is_char_boundary(cut) {
            cut -= 1;
        }
        output.truncate(cut);
    }
    let in_start_period = start.0 - started < (check.start_period_secs as i64) * 1_000_000_000;
    let probe = Probe {
        start: start.1,
        end: end.1,
        exit_code: code,
        output,
    };
    // Under the writer lock: the monitor and `healthcheck run` may probe
    // at once, and each must count the other's.
    let _lock = engine.lock();
    let mut s = state(engine, &row.id);
    let was = s.status.clone();
    if code == 0 {
        s.failing_streak = 0;
        s.status = "healthy".into();
    } else if !in_start_period {
        s.failing_streak += 1;
        if s.failing_streak >= check.retries.max(1) {
            s.status = "unhealthy".into();
        }
    }
    s.log.push(probe);
    if s.log.len() > KEEP {
        s.log.drain(..s.log.len() - KEEP);
    }
    let _ = save(engine, &row.id, &s);
    // podman: every check run is a health_status event.
    super::events::health(row, &s.status);
    let turned = s.status == "unhealthy" && was != "unhealthy";
    (s, turned)
}

/// Where `--health-on-failure=restart` leaves word for the monitor: after
/// this exit it starts the container again, whatever its restart policy.
pub fn restart_marker(engine: &Engine, id: &str) -> std::path::PathBuf {
    engine.container_rundir(id).join("health-restart")
}

/// `--health-on-failure`, as podman acts once the container turns
/// unhealthy: kill it; stop it (the stop signal now, marked as stopping so
/// no restart policy applies; the caller sends SIGKILL after the returned
/// timeout); or restart it (killed, and the monitor starts it again).
pub fn act(
    engine: &Engine,
    row: &ContainerRow,
    cfg: &ContainerConfig,
    pid: i32,
) -> Option<std::time::Duration> {
    let signal = |s: i32| {
        // SAFETY: signals the container's init, checked alive by the caller.
        unsafe { libc::kill(pid, s) };
    };
    match cfg.health_on_failure.as_str() {
        "kill" => signal(libc::SIGKILL),
        "restart" => {
            let _ = std::fs::write(restart_marker(engine, &row.id), b"");
            signal(libc::SIGKILL);
        }
        "stop" => {
            let _ = db::set_state(&engine.db.conn, &row.id, "stopping");
            signal(
                crate::process::signal::signal_number(&cfg.stop_signal).unwrap_or(libc::SIGTERM),
            );
            return Some(std::time::Duration::from_secs(cfg.stop_timeout.into()));
        }
        _ => {}
    }
    None
}

/// Unix nanoseconds, and podman's time text for them.
fn now() -> (i64, String) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let nanos = d.as_nanos() as i64;
    (nanos, crate::monitor::logs::timestamp(nanos))
}
