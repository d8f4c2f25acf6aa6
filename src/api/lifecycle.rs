//! `/containers/{id}/...`: start, stop, restart, kill, pause, unpause,
//! wait, remove and logs, each one engine call (docker's statuses: 204
//! done, 304 nothing to do, 404 no such container, 409 conflict).

use super::worker::{Answer, ApiError, Request, write_head};
use crate::engine::Engine;
use crate::engine::lifecycle::RemoveOptions;
use crate::engine::lifecycle::poll_pause;
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

fn timeout(r: &Request) -> Option<u64> {
    r.query
        .get("t")
        .and_then(|t| t.parse::<i64>().ok())
        .map(|t| t.max(0) as u64)
}

pub fn verb(engine: &mut Engine, r: &Request, id: &str, verb: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    match verb {
        "start" => {
            if c.is_running() {
                return Ok(Answer::Empty(304));
            }
            engine
                .start_detached(&c)
                .map_err(|e| ApiError(500, e.to_string()))?;
            Ok(Answer::Empty(204))
        }
        "stop" => {
            if !c.is_running() {
                return Ok(Answer::Empty(304));
            }
            engine.stop(&c, timeout(r))?;
            Ok(Answer::Empty(204))
        }
        "restart" => {
            engine
                .restart(&c, timeout(r))
                .map_err(|e| ApiError(500, e.to_string()))?;
            Ok(Answer::Empty(204))
        }
        "kill" => {
            if !c.is_running() {
                return Err(ApiError(
                    409,
                    format!(
                        "Cannot kill container: {id}: Container {} is not running",
                        c.id
                    ),
                ));
            }
            let word = r
                .query
                .get("signal")
                .map(String::as_str)
                .unwrap_or("SIGKILL");
            let sig = crate::process::signal::parse_signal(word)
                .map_err(|e| ApiError(400, e.to_string()))?;
            engine.kill(&c, sig)?;
            Ok(Answer::Empty(204))
        }
        "pause" | "unpause" => {
            engine.pause(&c, verb == "pause")?;
            Ok(Answer::Empty(204))
        }
        "wait" => {
            // docker's conditions: not-running (default), next-exit, removed.
            let cond = r
                .query
                .get("condition")
                .map(String::as_str)
                .unwrap_or("not-running");
            if !matches!(cond, "not-running" | "next-exit" | "removed") {
                return Err(ApiError(400, format!("invalid condition: {cond:?}")));
            }
            // The head goes at once, the body when the condition is met:
            // docker's CLI starts the container only once the wait's
            // head has come (its `run` waits for next-exit first).
            let mut out = std::io::stdout().lock();
            write_head(&mut out, 200, "application/json")?;
            out.flush()?;
            let waited = if cond == "removed" {
                wait_removed(engine, &c.id)
            } else {
                let every = Duration::from_millis(100);
                let since = std::time::Instant::now();
                // next-exit: an exit still to come, after it has run.
                // It may start and end between two looks: anything past
                // created has run.
                let ran = match cond == "next-exit" && c.state == "created" {
                    true => loop {
                        match engine.container(&c.id) {
                            Ok(cur) if cur.state == "created" => {
                                std::thread::sleep(poll_pause(since, every))
                            }
                            Ok(_) => break Ok(()),
                            Err(e) => break Err(e),
                        }
                    },
                    false => Ok(()),
                };
                ran.and_then(|()| engine.wait_for(&c.id, &["stopped".into()], every))
                    .map_err(ApiError::from)
            };
            let body = match waited {
                Ok(code) => json!({ "StatusCode": code, "Error": null }),
                Err(ApiError(_, msg)) => json!({ "StatusCode": -1, "Error": { "Message": msg } }),
            };
            writeln!(out, "{body}")?;
            Ok(Answer::Done)
        }
        other => Err(ApiError(
            404,
            format!("page not found: berth serves no POST /containers/{{id}}/{other}"),
        )),
    }
}

/// `wait?condition=removed`: the exit code once the record is gone.
fn wait_removed(engine: &Engine, id: &str) -> Result<i64, ApiError> {
    let since = std::time::Instant::now();
    loop {
        match engine.container(id) {
            Ok(_) => {}
            Err(crate::engine::containers::ContainerError::NotFound(_)) => {
                return Ok(engine.removed_exit_code(id).unwrap_or(0));
            }
            Err(e) => return Err(e.into()),
        }
        std::thread::sleep(poll_pause(since, Duration::from_millis(100)));
    }
}

pub fn remove(engine: &mut Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    if c.is_running() && !r.flag("force") {
        return Err(ApiError(
            409,
            format!(
                "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                c.id
            ),
        ));
    }
    // docker's force kills at once (SIGKILL), no stop timeout.
    let opts = RemoveOptions {
        force: r.flag("force"),
        volumes: r.flag("v"),
        timeout: r.flag("force").then_some(0),
        ..Default::default()
    };
    engine.remove(&c, &opts, &HashMap::new(), &mut |_| {})?;
    Ok(Answer::Empty(204))
}

/// docker's log stream: without a TTY each chunk is framed (stream byte,
/// three zeros, big-endian length); with one, raw.
pub fn logs(engine: &mut Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    use crate::engine::logs::Driver;
    let c = engine.container(id)?;
    let cfg = c.config();
    let driver = Driver::parse(&cfg.log_driver).map_err(|e| ApiError(500, e))?;
    if driver == Driver::None {
        return Err(ApiError(
            501,
            "configured logging driver does not support reading".into(),
        ));
    }
    let (want_out, want_err) = (r.flag("stdout"), r.flag("stderr"));
    let since = r
        .query
        .get("since")
        .and_then(|s| s.parse::<f64>().ok())
        .map(|s| (s * 1e9) as i64)
        .unwrap_or(0);
    let tail: Option<usize> = r.query.get("tail").and_then(|t| t.parse().ok());
    let (timestamps, follow) = (r.flag("timestamps"), r.flag("follow"));
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, super::attach::stream_type(cfg.tty))?;
    let (mut recs, mut offset) = engine.read_log(&c.id, driver, 0);
    recs.retain(|rec| rec.nanos >= since);
    if let Some(n) = tail {
        let skip = recs.len().saturating_sub(n);
        recs.drain(..skip);
    }
    loop {
        for rec in &recs {
            if (rec.stream == 0 && !want_out) || (rec.stream == 1 && !want_err) {
                continue;
            }
            let line = rec.line(timestamps);
            if cfg.tty {
                out.write_all(line.as_bytes())?;
            } else {
                out.write_all(&super::attach::frame(rec.stream as u8 + 1, line.as_bytes()))?;
            }
        }
        out.flush()?;
        if !follow {
            return Ok(Answer::Done);
        }
        let running = engine
            .container(&c.id)
            .map(|c| c.is_running())
            .unwrap_or(false);
        let (more, next) = engine.read_log(&c.id, driver, offset);
        offset = next;
        if more.is_empty() && !running {
            return Ok(Answer::Done);
        }
        if more.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
        recs = more;
    }
}
