use super::{Ctx, exit};
use crate::engine::ContainerRow;
use crate::engine::Engine;
use crate::engine::containers::ContainerError;
use crate::engine::lifecycle::{RemoveOptions, WAIT_CONDITIONS};
use crate::process::signal::parse_signal;
use clap::Args;
use std::collections::HashMap;
use std::time::Duration;

/// podman's exit code for a container error: `missing` when it does not
/// exist (1 for rm, 125 for the other verbs), else 125.
fn code_of(e: &ContainerError, missing: i32) -> i32 {
    match e {
        ContainerError::NotFound(_) => missing,
        _ => 125,
    }
}

/// Run `f` for every named container, keep going past failures, report
/// them all, exit with the last one's code (`missing` for one that does
/// not exist).
fn each(
    engine: &Engine,
    names: &[String],
    ignore_missing: bool,
    missing: i32,
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
            Err(e) => errors.push((code_of(&e, missing), e.to_string())),
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

/// podman's other ways to name containers: the latest one, ID files.
#[derive(Args, Default)]
pub struct Pick {
    /// Act on the latest container created
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from the file
    #[arg(long)]
    pub cidfile: Vec<String>,
}

/// The containers a verb acts on: the named ones, those in `--cidfile`s,
/// the latest, or with `--all` every container (`keep` picks which), then
/// narrowed by `--filter`; checked as podman's CheckAllLatestAndIDs.
fn all_or(
    engine: &Engine,
    all: bool,
    names: &[String],
    pick: &Pick,
    filter: &[String],
    keep: impl Fn(&ContainerRow) -> bool,
) -> anyhow::Result<Vec<String>> {
    if !names.is_empty() && pick.latest {
        anyhow::bail!("--latest and containers cannot be used together");
    }
    if all && !names.is_empty() {
        anyhow::bail!("no arguments are needed with --all");
    }
    if all && pick.latest {
        anyhow::bail!("--all and --latest cannot be used together");
    }
    if !all && !pick.latest && names.is_empty() && pick.cidfile.is_empty() && filter.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    let filters = super::ps::Filters::parse(engine, filter)?;
    let mut out: Vec<String> = names.to_vec();
    for f in &pick.cidfile {
        let id = std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("reading CIDFile: {e}"))?;
        out.push(id.trim().to_string());
    }
    if all || pick.latest || (out.is_empty() && !filter.is_empty()) {
        // The store lists the newest first.
        let mut list = engine.containers()?;
        if pick.latest {
            list.truncate(1);
        }
        out.extend(
            list.iter()
                .filter(|c| (pick.latest || keep(c)) && filters.matches(c))
                .map(|c| c.id.clone()),
        );
        return Ok(out);
    }
    if filter.is_empty() {
        return Ok(out);
    }
    // Named containers narrowed by the filters; a missing one stays, so
    // that it is reported as missing.
    Ok(out
        .into_iter()
        .filter(|n| engine.container(n).map_or(true, |c| filters.matches(&c)))
        .collect())
}

#[derive(Args)]
pub struct StartArgs {
    /// Containers to start
    pub containers: Vec<String>,
    /// Attach to the container's output
    #[arg(short, long)]
    pub attach: bool,
    /// Attach STDIN too
    #[arg(short, long)]
    pub interactive: bool,
    /// Start all containers that are not running
    #[arg(long)]
    pub all: bool,
    /// Start only the containers that match (the keys of `ps --filter`)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Start the latest container created
    #[arg(short, long)]
    pub latest: bool,
}

pub fn start(ctx: &Ctx, a: StartArgs) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    if a.all && !a.containers.is_empty() {
        anyhow::bail!("either start all containers or the container(s) provided in the arguments");
    }
    if a.latest && (a.all || !a.containers.is_empty()) {
        anyhow::bail!("--latest and containers cannot be used together");
    }
    if !a.all && !a.latest && a.containers.is_empty() {
        anyhow::bail!("start requires at least one argument");
    }
    if a.attach && (a.all || a.containers.len() > 1) {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let filters = super::ps::Filters::parse(&engine, &a.filter)?;
    // --all starts what is not running and reports full IDs; named
    // containers are reported as the user wrote them.
    let targets: Vec<String> = if a.all {
        engine
            .containers()?
            .into_iter()
            .filter(|c| !c.is_running())
            .map(|c| c.id)
            .collect()
    } else if a.latest {
        engine
            .containers()?
            .into_iter()
            .take(1)
            .map(|c| c.id)
            .collect()
    } else {
        a.containers.clone()
    };
    let mut code = 0;
    let mut errors = Vec::new();
    for n in &targets {
        let c = match engine.container(n) {
            Ok(c) => c,
            Err(e) => {
                errors.push((code_of(&e, 125), e.to_string()));
                continue;
            }
        };
        if !filters.matches(&c) {
            continue;
        }
        if c.is_running() {
            println!("{n}");
            continue;
        }
        match super::run::start_container(&mut engine, &c, a.attach, true, true) {
            Ok(c) => code = c,
            Err(e) => {
                // podman's start: any failure to start is 125 (run alone
                // maps a missing command to 127, an unrunnable one to 126).
                errors.push((125, format!("{e:#}")));
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
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub time: Option<u64>,
    /// Stop all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    #[command(flatten)]
    pub pick: Pick,
    /// Stop the containers that match (the keys of `ps --filter`)
    #[arg(short, long)]
    pub filter: Vec<String>,
}

pub fn stop(ctx: &Ctx, a: StopArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let names = all_or(&engine, a.all, &a.containers, &a.pick, &a.filter, |_| true)?;
    let sent = engine.send_stop_signals(&names);
    each(&engine, &names, a.ignore, 125, |c, n| {
        match sent.get(&c.id) {
            Some(at) => engine.stop_signalled(c, a.time, Some(*at))?,
            None => engine.stop(c, a.time)?,
        }
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct KillArgs {
    pub containers: Vec<String>,
    /// Signal to send (a name, number, or either with a leading dash)
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
    /// Signal all running containers
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub pick: Pick,
}

pub fn kill(ctx: &Ctx, a: KillArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let sig = parse_signal(&a.signal)?;
    let names = all_or(&engine, a.all, &a.containers, &a.pick, &[], |c| {
        c.is_running()
    })?;
    each(&engine, &names, false, 125, |c, n| {
        engine.kill(c, sig)?;
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct RestartArgs {
    pub containers: Vec<String>,
    /// Seconds to wait for a stop before killing
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Restart all containers
    #[arg(short, long)]
    pub all: bool,
    /// With --all, restart only the running containers
    #[arg(long)]
    pub running: bool,
    #[command(flatten)]
    pub pick: Pick,
    /// Restart the containers that match (the keys of `ps --filter`)
    #[arg(short, long)]
    pub filter: Vec<String>,
}

pub fn restart(ctx: &Ctx, a: RestartArgs) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    let names = all_or(&engine, a.all, &a.containers, &a.pick, &a.filter, |c| {
        !a.running || c.is_running()
    })?;
    for n in &names {
        let c = engine.container(n)?;
        engine
            .restart(&c, a.time)
            .map_err(|e| exit(e.exit_code(), e.to_string()))?;
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
    /// Remove the containers that depend on these first
    #[arg(long)]
    pub depend: bool,
    #[command(flatten)]
    pub pick: Pick,
    /// Remove the containers that match (the keys of `ps --filter`)
    #[arg(long)]
    pub filter: Vec<String>,
}

pub fn rm(ctx: &Ctx, a: RmArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let names = all_or(&engine, a.all, &a.containers, &a.pick, &a.filter, |_| true)?;
    // podman: --force also ignores containers that do not exist; with
    // --all, one a dependency removal took first is no error either.
    let sent = if a.force {
        engine.send_stop_signals(&names)
    } else {
        HashMap::new()
    };
    let opts = RemoveOptions {
        force: a.force,
        volumes: a.volumes,
        depend: a.depend || a.all,
        timeout: a.time,
        with_pod: false,
    };
    each(&engine, &names, a.ignore || a.force || a.all, 1, |c, n| {
        // The container as the user named it; its dependents by ID.
        engine
            .remove(c, &opts, &sent, &mut |gone| {
                println!("{}", if gone.id == c.id { n } else { &gone.id })
            })
            .map_err(|e| match e {
                ContainerError::State(m) => exit(2, m),
                e => e.into(),
            })
    })
}

#[derive(Args)]
pub struct WaitArgs {
    pub containers: Vec<String>,
    /// Condition to wait for: stopped, exited, running, healthy, unhealthy
    #[arg(long, default_value = "stopped")]
    pub condition: Vec<String>,
    /// Ignore containers that do not exist
    #[arg(long)]
    pub ignore: bool,
    /// Time interval between checks (a duration, e.g. 250ms)
    #[arg(short, long, default_value = "250ms")]
    pub interval: String,
    /// Wait for the latest container created
    #[arg(short, long)]
    pub latest: bool,
}

pub fn wait(ctx: &Ctx, a: WaitArgs) -> anyhow::Result<()> {
    if a.containers.is_empty() && !a.latest {
        anyhow::bail!("\"podman wait\" requires a name, id, or the \"--latest\" flag");
    }
    if !a.containers.is_empty() && a.latest {
        anyhow::bail!("--latest and containers cannot be used together");
    }
    let interval = super::run_config::parse_duration(&a.interval)
        .map_err(|_| anyhow::anyhow!("time: invalid duration {:?}", a.interval))?;
    let interval = interval.max(Duration::from_millis(1));
    let engine = ctx.engine()?;
    for cond in &a.condition {
        if !WAIT_CONDITIONS.contains(&cond.as_str()) {
            anyhow::bail!(
                "invalid --condition {cond:?}: use one of {}",
                WAIT_CONDITIONS.join(", ")
            );
        }
    }
    let names = if a.latest {
        all_or(
            &engine,
            false,
            &[],
            &Pick {
                latest: true,
                ..Pick::default()
            },
            &[],
            |_| true,
        )?
    } else {
        a.containers.clone()
    };
    each(&engine, &names, a.ignore, 125, |c, _| {
        println!("{}", engine.wait_for(&c.id, &a.condition, interval)?);
        Ok(())
    })
}

#[derive(Args)]
pub struct PauseArgs {
    pub containers: Vec<String>,
    /// Act on all running (pause) or paused (unpause) containers
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub pick: Pick,
    /// Act on the containers that match (the keys of `ps --filter`)
    #[arg(short, long)]
    pub filter: Vec<String>,
}

pub fn pause(ctx: &Ctx, a: PauseArgs, frozen: bool) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    // --all: pause what runs, unpause what is paused.
    let want = if frozen { "running" } else { "paused" };
    let names = all_or(&engine, a.all, &a.containers, &a.pick, &a.filter, |c| {
        c.state == want
    })?;
    each(&engine, &names, false, 125, |c, n| {
        engine.pause(c, frozen)?;
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
    Ok(engine.rename(&c, &a.name)?)
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (label=KEY[=VALUE], until=TIMESTAMP)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
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
    let filter =
        crate::engine::prune::PruneFilter::parse(&a.filter, &["label", "label!", "until"])?;
    let r = engine.prune_containers(&filter)?;
    for id in &r.removed {
        println!("{id}");
    }
    super::report_errors(&r.errors, 125)
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
