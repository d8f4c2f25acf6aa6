//! `compose logs` and attached `up`: each container's log lines with
//! docker compose's `web-1  | ` prefix (coloured per container on a
//! terminal), followed until the containers stop or Ctrl-C.

use super::args::LogsArgs;
use super::{Ctx, exit, ops::service_members, say};
use crate::compose::Project;
use crate::engine::Engine;
use crate::engine::compose::Member;
use crate::engine::logs::Driver;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// docker compose's palette (cyan, yellow, green, magenta, blue, then bright ones).
const COLORS: [&str; 10] = [
    "\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[93m", "\x1b[92m",
    "\x1b[95m", "\x1b[94m",
];

struct Source {
    id: String,
    prefix: String,
    color: Option<&'static str>,
    driver: Driver,
    offset: u64,
    running: bool,
}

/// The prefix docker compose prints: the container name without `PROJECT-`.
fn short_name(project: &Project, name: &str) -> String {
    name.strip_prefix(&format!("{}-", project.name))
        .unwrap_or(name)
        .to_string()
}

fn sources(
    engine: &Engine,
    project: &Project,
    ms: &[Member],
    color: bool,
    prefix: bool,
) -> Vec<Source> {
    let width = ms
        .iter()
        .map(|m| short_name(project, &m.row.name).len())
        .max()
        .unwrap_or(0);
    ms.iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let c = engine.container(&m.row.id).ok()?;
            let driver = Driver::parse(&c.config().log_driver).ok()?;
            Some(Source {
                prefix: if prefix {
                    format!("{:<width$}  | ", short_name(project, &c.name))
                } else {
                    String::new()
                },
                color: color.then_some(COLORS[i % COLORS.len()]),
                running: c.is_running(),
                id: c.id,
                driver,
                offset: 0,
            })
        })
        .collect()
}

/// Print what each source has written since its offset; `tail` on the first read.
fn drain(engine: &Engine, srcs: &mut [Source], tail: Option<usize>, timestamps: bool) {
    let mut out = std::io::stdout().lock();
    for s in srcs.iter_mut() {
        let (mut recs, next) = engine.read_log(&s.id, s.driver, s.offset);
        s.offset = next;
        if let Some(t) = tail
            && recs.len() > t
        {
            recs.drain(..recs.len() - t);
        }
        for r in recs {
            let mut line = String::new();
            match s.color {
                Some(c) => line.push_str(&format!("{c}{}\x1b[0m", s.prefix)),
                None => line.push_str(&s.prefix),
            }
            line.push_str(&r.line(timestamps));
            let _ = out.write_all(line.as_bytes());
        }
    }
    let _ = out.flush();
}

pub fn logs(ctx: &Ctx, project: &Project, a: &LogsArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let ms = service_members(&engine, project, &a.services)?;
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        t => Some(
            t.parse::<usize>()
                .map_err(|_| exit(1, format!("invalid --tail {t:?}: a number or \"all\"")))?,
        ),
    };
    let color = !a.no_color && std::io::stdout().is_terminal();
    let mut srcs = sources(&engine, project, &ms, color, !a.no_log_prefix);
    drain(&engine, &mut srcs, tail, a.timestamps);
    while a.follow && srcs.iter().any(|s| s.running) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        for s in srcs.iter_mut() {
            s.running = engine.container(&s.id).is_ok_and(|c| c.is_running());
        }
        drain(&engine, &mut srcs, None, a.timestamps);
    }
    Ok(())
}

pub struct Attached {
    pub no_color: bool,
    pub abort_on_exit: bool,
    pub exit_code_from: Option<String>,
    pub timeout: Option<u64>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Attached `up`: follow every service's logs; Ctrl-C (or, with
/// `--abort-on-container-exit`, the first exit) stops them all.
pub fn attached(
    engine: &mut Engine,
    project: &Project,
    services: &[String],
    a: &Attached,
) -> anyhow::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { libc::signal(sig, on_interrupt as *const () as libc::sighandler_t) };
    }
    let ms: Vec<Member> = service_members(engine, project, services)?
        .into_iter()
        .filter(|m| {
            project
                .services
                .get(&m.service)
                .is_none_or(|s| s.attach != Some(false))
        })
        .collect();
    let color = !a.no_color && std::io::stdout().is_terminal();
    let names: Vec<String> = ms
        .iter()
        .map(|m| short_name(project, &m.row.name))
        .collect();
    println!("Attaching to {}", names.join(", "));
    let mut srcs = sources(engine, project, &ms, color, true);
    let mut exited: Option<(String, i64)> = None;
    loop {
        drain(engine, &mut srcs, None, false);
        if INTERRUPTED.load(Ordering::SeqCst) {
            say("Gracefully stopping... (press Ctrl+C again to force)".into());
            stop_all(engine, project, services, a.timeout)?;
            drain(engine, &mut srcs, None, false);
            return Err(exit(130, ""));
        }
        for s in srcs.iter_mut() {
            let c = engine.container(&s.id).ok();
            let now = c.as_ref().is_some_and(|c| c.is_running());
            if s.running && !now {
                let (name, code) = c.map(|c| (c.name.clone(), c.exit_code)).unwrap_or_default();
                println!("{name} exited with code {code}");
                if exited.is_none() {
                    exited = Some((name, code));
                }
            }
            s.running = now;
        }
        if a.abort_on_exit && exited.is_some() {
            say("Aborting on container exit...".into());
            stop_all(engine, project, services, a.timeout)?;
            drain(engine, &mut srcs, None, false);
            let code = match &a.exit_code_from {
                Some(svc) => service_members(engine, project, std::slice::from_ref(svc))?
                    .first()
                    .and_then(|m| engine.container(&m.row.id).ok())
                    .map(|c| c.exit_code)
                    .unwrap_or(0),
                None => exited.map(|e| e.1).unwrap_or(0),
            };
            return if code == 0 {
                Ok(())
            } else {
                Err(exit(code as i32, ""))
            };
        }
        if srcs.iter().all(|s| !s.running) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn stop_all(
    engine: &Engine,
    project: &Project,
    services: &[String],
    timeout: Option<u64>,
) -> anyhow::Result<()> {
    let ms = service_members(engine, project, services)?;
    let ids: Vec<String> = ms.iter().map(|m| m.row.id.clone()).collect();
    engine.stop_many(&ids, timeout, &mut |c, done| {
        say(format!(
            " Container {}  {}",
            c.name,
            if done { "Stopped" } else { "Stopping" }
        ))
    })?;
    Ok(())
}
