//! Container records: identity, the config they were created with, and the
//! state the monitor keeps current (pid, exit code, OOM, restarts, health).

use super::DbError;
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerRow {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub image_name: String,
    pub created: i64,
    /// JSON of the engine's ContainerConfig.
    pub config: String,
    pub state: String,
    pub pid: i64,
    /// Start time of `pid` (field 22 of /proc/PID/stat), to tell a live
    /// process from a recycled pid.
    pub pid_start: u64,
    pub monitor_pid: i64,
    pub monitor_start: u64,
    /// Unix nanoseconds.
    pub started: i64,
    pub finished: i64,
    pub exit_code: i64,
    pub oom_killed: bool,
    pub restart_count: i64,
    pub health: String,
    /// Its monitor died while it ran (a reboot, a SIGKILL): not stopped by
    /// anyone. Cleared at each start. (`ps --filter interrupted=true`, for
    /// unless-stopped containers at boot.)
    pub interrupted: bool,
}

const COLS: &str = "id, name, image_id, image_name, created, config, state, pid, pid_start, monitor_pid, monitor_start, started, finished, exit_code, oom_killed, restart_count, health, interrupted";

fn row(r: &Row) -> rusqlite::Result<ContainerRow> {
    Ok(ContainerRow {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: r.get(2)?,
        image_name: r.get(3)?,
        created: r.get(4)?,
        config: r.get(5)?,
        state: r.get(6)?,
        pid: r.get(7)?,
        pid_start: r.get::<_, i64>(8)? as u64,
        monitor_pid: r.get(9)?,
        monitor_start: r.get::<_, i64>(10)? as u64,
        started: r.get(11)?,
        finished: r.get(12)?,
        exit_code: r.get(13)?,
        oom_killed: r.get::<_, i64>(14)? != 0,
        restart_count: r.get(15)?,
        health: r.get(16)?,
        interrupted: r.get::<_, i64>(17)? != 0,
    })
}

pub fn insert(conn: &Connection, c: &ContainerRow) -> Result<(), DbError> {
    conn.execute(
        &format!("INSERT INTO containers ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"),
        params![
            c.id,
            c.name,
            c.image_id,
            c.image_name,
            c.created,
            c.config,
            c.state,
            c.pid,
            c.pid_start as i64,
            c.monitor_pid,
            c.monitor_start as i64,
            c.started,
            c.finished,
            c.exit_code,
            c.oom_killed as i64,
            c.restart_count,
            c.health,
            c.interrupted as i64
        ],
    )?;
    Ok(())
}

pub fn list(conn: &Connection) -> Result<Vec<ContainerRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM containers ORDER BY created DESC, id"
    ))?;
    let rows = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<ContainerRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM containers WHERE id = ?1"))?;
    Ok(stmt.query_row([id], row).optional()?)
}

/// Find by exact name, full ID, or unique ID prefix. `Err(n)` with n > 1
/// for an ambiguous prefix.
pub fn lookup(conn: &Connection, word: &str) -> Result<Result<ContainerRow, usize>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM containers WHERE name = ?1 OR id = ?1"
    ))?;
    if let Some(r) = stmt.query_row([word], row).optional()? {
        return Ok(Ok(r));
    }
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Err(0));
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM containers WHERE id LIKE ?1 || '%' LIMIT 2"
    ))?;
    let mut hits: Vec<ContainerRow> = stmt
        .query_map([word.to_ascii_lowercase()], row)?
        .collect::<Result<_, _>>()?;
    Ok(if hits.len() == 1 {
        Ok(hits.remove(0))
    } else {
        Err(hits.len())
    })
}

pub fn name_taken(conn: &Connection, name: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn set_running(
    conn: &Connection,
    id: &str,
    pid: i64,
    pid_start: u64,
    monitor_pid: i64,
    monitor_start: u64,
    started: i64,
) -> Result<usize, DbError> {
    // Returns how many rows changed: 0 means the container was removed
    // while it started, and the caller must not let it run.
    Ok(conn.execute(
        "UPDATE containers SET state = 'running', pid = ?2, pid_start = ?3, monitor_pid = ?4, monitor_start = ?5, started = ?6, exit_code = 0, oom_killed = 0, interrupted = 0 WHERE id = ?1",
        params![id, pid, pid_start as i64, monitor_pid, monitor_start as i64, started],
    )?)
}

pub fn set_exited(
    conn: &Connection,
    id: &str,
    exit_code: i64,
    finished: i64,
    oom_killed: bool,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE containers SET state = 'exited', pid = 0, pid_start = 0, monitor_pid = 0, monitor_start = 0, exit_code = ?2, finished = ?3, oom_killed = ?4 WHERE id = ?1",
        params![id, exit_code, finished, oom_killed as i64],
    )?;
    Ok(())
}

/// Record a running container as exited (killed) if it still has the
/// monitor `monitor_pid`; returns whether it did.
pub fn set_exited_if(
    conn: &Connection,
    id: &str,
    monitor_pid: i64,
    exit_code: i64,
    finished: i64,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE containers SET state = 'exited', pid = 0, pid_start = 0, monitor_pid = 0, monitor_start = 0, exit_code = ?3, finished = ?4, interrupted = (state != 'stopping') WHERE id = ?1 AND monitor_pid = ?2 AND state IN ('running', 'paused', 'stopping')",
        params![id, monitor_pid, exit_code, finished],
    )? > 0)
}

pub fn set_state(conn: &Connection, id: &str, state: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE containers SET state = ?2 WHERE id = ?1",
        params![id, state],
    )?;
    Ok(())
}

pub fn set_config(conn: &Connection, id: &str, config: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE containers SET config = ?2 WHERE id = ?1",
        params![id, config],
    )?;
    Ok(())
}

pub fn set_restart_count(conn: &Connection, id: &str, n: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE containers SET restart_count = ?2 WHERE id = ?1",
        params![id, n],
    )?;
    Ok(())
}

pub fn set_health(conn: &Connection, id: &str, health: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE containers SET health = ?2 WHERE id = ?1",
        params![id, health],
    )?;
    Ok(())
}

pub fn rename(conn: &Connection, id: &str, name: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE containers SET name = ?2 WHERE id = ?1",
        params![id, name],
    )?;
    Ok(())
}

/// How long a removed container's exit code is kept (podman: 5 minutes).
const EXIT_CODE_KEPT_SECS: i64 = 300;

/// Remove a container's record, keeping its exit code for a while.
pub fn delete(conn: &Connection, id: &str) -> Result<(), DbError> {
    let now = crate::process::now_nanos() / 1_000_000_000;
    conn.execute(
        "DELETE FROM exit_codes WHERE removed < ?1",
        [now - EXIT_CODE_KEPT_SECS],
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO exit_codes (id, code, removed)
         SELECT id, exit_code, ?2 FROM containers WHERE id = ?1",
        params![id, now],
    )?;
    conn.execute("DELETE FROM containers WHERE id = ?1", [id])?;
    Ok(())
}

/// The exit code of a container removed lately (full ID).
pub fn removed_exit_code(conn: &Connection, id: &str) -> Result<Option<i64>, DbError> {
    Ok(conn
        .query_row("SELECT code FROM exit_codes WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn users_of_image(conn: &Connection, image_id: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM containers WHERE image_id = ?1")?;
    let v = stmt
        .query_map([image_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(v)
}
