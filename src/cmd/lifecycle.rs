use super::{Ctx, exit};
use crate::engine::Engine;
use crate::engine::containers::{ContainerError, alive};
use crate::state::containers::{self as db, ContainerRow};
use clap::Args;
use std::time::Duration;

/// podman's signal names: KILL, SIGKILL, 9.
pub fn parse_signal(s: &str) -> anyhow::Result<rustix::process::Signal> {
    use rustix::process::Signal as S;
    let up = s.trim().to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let sig = match name {
        "HUP" | "1" => S::HUP,
        "INT" | "2" => S::INT,
        "QUIT" | "3" => S::QUIT,
        "ILL" | "4" => S::ILL,
        "TRAP" | "5" => S::TRAP,
        "ABRT" | "6" => S::ABORT,
        "BUS" | "7" => S::BUS,
        "FPE" | "8" => S::FPE,
        "KILL" | "9" => S::KILL,
        "USR1" | "10" => S::USR1,
        "SEGV" | "11" => S::SEGV,
        "USR2" | "12" => S::USR2,
        "PIPE" | "13" => S::PIPE,
        "ALRM" | "14" => S::ALARM,
        "TERM" | "15" => S::TERM,
        "CHLD" | "17" => S::CHILD,
        "CONT" | "18" => S::CONT,
        "STOP" | "19" => S::STOP,
        "TSTP" | "20" => S::TSTP,
        "WINCH" | "28" => S::WINCH,
        _ => anyhow::bail!("invalid signal {s:?}"),
    };
    Ok(sig)
}

/// podman's exit code for a container error: 1 when it does not exist.
fn code_of(e: &ContainerError) -> i32 {
    match e {
        ContainerError::NotFound(_) => 1,
        _ => 125,
    }
}

/// Run `f` for every named container, keep going past failures, report
/// them all, exit with the last one's code.
fn each(
    engine: &Engine,
    names: &[String],
    ignore_missing: bool,
    mut f: impl FnMut(&ContainerRow, &str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut errors: Vec<(i32, String)> = Vec::new();
    for n in names {
        match engine.container(n) {
            Ok(c) => {
                if let Err(e) = f(&c, n) {
                    let code = e
                        .downcast_ref::<super::Exit>()
                        .map(|x| x.code)
                        .unwrap_or(125);
                    errors.push((code, format!("{e:#}")));
                }
            }
            Err(ContainerError::NotFound(_)) if ignore_missing => {}
            Err(e) => errors.push((code_of(&e), e.to_string())),
        }
    }
    let Some((code, last)) = errors.pop() else {
        return Ok(());
    };
    for (_, e) in errors {
        eprintln!("Error: {e}");
    }
    Err(exit(code, last))
}

fn all_or(engine: &Engine, all: bool, names: &[String], what: &str) -> anyhow::Result<Vec<String>> {
    if all != names.is_empty() {
        anyhow::bail!("{what}: give container names or --all, not both or neither");
    }
    if all {
        return Ok(engine.containers()?.iter().map(|c| c.id.clone()).collect());
    }
    Ok(names.to_vec())
}

#[derive(Args)]
pub struct StartArgs {
    /// Containers to start
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Attach to the container's output
    #[arg(short, long)]
    pub attach: bool,
    /// Attach STDIN too
    #[arg(short, long)]
    pub interactive: bool,
}

pub fn start(ctx: &Ctx, a: StartArgs) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    if a.attach && a.containers.len() > 1 {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let mut code = 0;
    let mut errors = Vec::new();
    for n in &a.containers {
        let c = match engine.container(n) {
            Ok(c) => c,
            Err(e) => {
                errors.push((code_of(&e), e.to_string()));
                continue;
            }
        };
        if c.is_running() {
            println!("{n}");
            continue;
        }
        match super::run::start_container(&mut engine, &c, a.attach, true, true) {
            Ok(c) => code = c,
            Err(e) => {
                errors.push((
                    e.downcast_ref::<super::Exit>()
                        .map(|x| x.code)
                        .unwrap_or(125),
                    format!("{e:#}"),
                ));
                continue;
            }
        }
        if !a.attach {
            println!("{n}");
        }
    }
    if let Some((c, last)) = errors.pop() {
        for (_, e) in errors {
            eprintln!("Error: {e}");
        }
        return Err(exit(c, last));
    }
    if code != 0 {
        return Err(exit(code, ""));
    }
    Ok(())
}

#[derive(Args)]
pub struct StopArgs {
    pub containers: Vec<String>,
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Stop all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
}

/// Stop: the stop signal, then SIGKILL after the timeout.
pub fn stop_one(engine: &Engine, c: &ContainerRow, timeout: Option<u64>) -> anyhow::Result<()> {
    if !c.is_running() {
        return Ok(());
    }
    let cfg = c.config();
    {
        let _lock = engine.lock()?;
        db::set_state(&engine.db.conn, &c.id, "stopping")?;
    }
    let sig = parse_signal(&cfg.stop_signal).unwrap_or(rustix::process::Signal::TERM);
    let t = Duration::from_secs(timeout.unwrap_or(cfg.stop_timeout as u64));
    if c.state == "paused"
        && let Some(cg) = crate::runtime::cgroup_for(engine, &c.id)
    {
        let _ = cg.freeze(false);
    }
    if !engine.kill_and_wait(c, sig, t)? {
        engine.kill_and_wait(c, rustix::process::Signal::KILL, Duration::from_secs(30))?;
    }
    Ok(())
}

pub fn stop(ctx: &Ctx, a: StopArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let names = all_or(&engine, a.all, &a.containers, "stop")?;
    each(&engine, &names, a.ignore, |c, n| {
        stop_one(&engine, c, a.time)?;
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct KillArgs {
    pub containers: Vec<String>,
    /// Signal to send
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    /// Signal all running containers
    #[arg(short, long)]
    pub all: bool,
}

pub fn kill(ctx: &Ctx, a: KillArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let sig = parse_signal(&a.signal)?;
    let names = if a.all {
        engine
            .containers()?
            .iter()
            .filter(|c| c.is_running())
            .map(|c| c.id.clone())
            .collect()
    } else {
        a.containers.clone()
    };
    each(&engine, &names, false, |c, n| {
        if !c.is_running() || !alive(c.pid, c.pid_start) {
            return Err(exit(
                125,
                format!(
                    "can only kill running containers. {} is in state {}: container state improper",
                    c.id,
                    super::ps::state_name(c)
                ),
            ));
        }
        if let Some(pid) = rustix::process::Pid::from_raw(c.pid as i32) {
            rustix::process::kill_process(pid, sig)?;
        }
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct RestartArgs {
    pub containers: Vec<String>,
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    #[arg(short, long)]
    pub all: bool,
}

pub fn restart(ctx: &Ctx, a: RestartArgs) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    let names = all_or(&engine, a.all, &a.containers, "restart")?;
    for n in &names {
        let c = engine.container(n)?;
        stop_one(&engine, &c, a.time)?;
        let c = engine.container(&c.id)?;
        super::run::start_container(&mut engine, &c, false, false, true)?;
        println!("{n}");
    }
    Ok(())
}

#[derive(Args)]
pub struct RmArgs {
    pub containers: Vec<String>,
    /// Stop and remove running containers
    #[arg(short, long)]
    pub force: bool,
    /// Remove the anonymous volumes of the container
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for a stop before killing
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
}

pub fn rm(ctx: &Ctx, a: RmArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let names = all_or(&engine, a.all, &a.containers, "rm")?;
    each(&engine, &names, a.ignore, |c, n| {
        if c.is_running() && a.force && a.time.is_some() {
            stop_one(&engine, c, a.time)?;
        }
        engine.remove_container(c, a.force).map_err(|e| match e {
            ContainerError::State(m) => exit(2, m),
            e => e.into(),
        })?;
        if a.volumes {
            engine.remove_anonymous_volumes(&c.config());
        }
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Condition to wait for: stopped, exited, running, healthy, unhealthy
    #[arg(long, default_value = "stopped")]
    pub condition: Vec<String>,
    /// Ignore containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
}

pub fn wait(ctx: &Ctx, a: WaitArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    for cond in &a.condition {
        if !matches!(
            cond.as_str(),
            "stopped" | "exited" | "running" | "healthy" | "unhealthy" | "created" | "paused"
        ) {
            anyhow::bail!(
                "invalid --condition {cond:?}: use stopped, exited, running, healthy, unhealthy, created or paused"
            );
        }
    }
    each(&engine, &a.containers, a.ignore, |c, _| {
        loop {
            let cur = engine.container(&c.id)?;
            let met = a.condition.iter().any(|cond| match cond.as_str() {
                "stopped" | "exited" => !cur.is_running() && cur.state != "created",
                "running" => cur.state == "running",
                "healthy" | "unhealthy" => cur.health == *cond,
                other => cur.state == other,
            });
            if met {
                println!("{}", if cur.is_running() { -1 } else { cur.exit_code });
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[derive(Args)]
pub struct PauseArgs {
    pub containers: Vec<String>,
    #[arg(short, long)]
    pub all: bool,
}

pub fn pause(ctx: &Ctx, a: PauseArgs, frozen: bool) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let names = all_or(
        &engine,
        a.all,
        &a.containers,
        if frozen { "pause" } else { "unpause" },
    )?;
    each(&engine, &names, false, |c, n| {
        let want = if frozen { "running" } else { "paused" };
        if c.state != want {
            return Err(exit(
                125,
                format!("{} is not {want}: container state improper", c.name),
            ));
        }
        let cg = crate::runtime::cgroup_for(&engine, &c.id).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: pausing needs cgroups, which this rootless setup cannot use",
                c.name
            )
        })?;
        cg.freeze(frozen)?;
        db::set_state(
            &engine.db.conn,
            &c.id,
            if frozen { "paused" } else { "running" },
        )?;
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct RenameArgs {
    pub container: String,
    pub name: String,
}

pub fn rename(ctx: &Ctx, a: RenameArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let c = engine.container(&a.container)?;
    let _lock = engine.lock()?;
    if let Some(other) = db::name_taken(&engine.db.conn, &a.name)? {
        return Err(ContainerError::NameInUse(a.name, other).into());
    }
    db::rename(&engine.db.conn, &c.id, &a.name)?;
    Ok(())
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub fn prune(ctx: &Ctx, a: PruneArgs) -> anyhow::Result<()> {
    if !a.force
        && !super::rmi::confirm(
            "WARNING! This will remove all non running containers.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let engine = ctx.engine()?;
    for c in engine.containers()? {
        if !c.is_running() {
            engine.remove_container(&c, false)?;
            println!("{}", c.id);
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct ExistsArgs {
    pub container: String,
}

pub fn exists(ctx: &Ctx, a: ExistsArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    match engine.container(&a.container) {
        Ok(_) => Ok(()),
        Err(ContainerError::NotFound(_)) => Err(exit(1, "")),
        Err(e) => Err(e.into()),
    }
}
