use super::{Ctx, exit};
use crate::engine::Engine;
use crate::engine::containers::ContainerError;
use crate::process::alive;
use crate::process::signal::{parse_signal, signal_name};
use crate::state::containers::{self as db, ContainerRow};
use clap::Args;
use std::collections::HashMap;
use std::time::{Duration, Instant};

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

/// Stop: the stop signal, then SIGKILL after the timeout (at once for a
/// timeout of 0), warning as podman's oci runtime does when it must.
pub fn stop_one(engine: &Engine, c: &ContainerRow, timeout: Option<u64>) -> anyhow::Result<()> {
    let sent = send_stop_signal(engine, c)?;
    stop_signalled(engine, c, timeout, sent)
}

/// The first half of a stop: "stopping" recorded, a paused container
/// thawed, its stop signal sent. Returns when it was sent, which the
/// timeout counts from (None: it was not running).
fn send_stop_signal(engine: &Engine, c: &ContainerRow) -> anyhow::Result<Option<Instant>> {
    if !c.is_running() {
        return Ok(None);
    }
    {
        let _lock = engine.lock()?;
        db::set_state(&engine.db.conn, &c.id, "stopping")?;
    }
    if c.state == "paused"
        && let Some(cg) = engine.cgroup(&c.id)
    {
        let _ = cg.freeze(false);
    }
    let sig = parse_signal(&c.config().stop_signal).unwrap_or(rustix::process::Signal::TERM);
    engine.kill_and_wait(c, sig, Duration::ZERO)?;
    Ok(Some(Instant::now()))
}

/// Stop signals for every running container named, all at once: podman
/// stops containers side by side, so N that ignore SIGTERM cost one stop
/// timeout, not N. Each container's timeout then runs from its signal.
fn send_stop_signals(engine: &Engine, names: &[String]) -> HashMap<String, Instant> {
    let mut sent = HashMap::new();
    if names.len() < 2 {
        return sent;
    }
    for n in names {
        if let Ok(c) = engine.container(n)
            && let Ok(Some(at)) = send_stop_signal(engine, &c)
        {
            sent.insert(c.id, at);
        }
    }
    sent
}

/// The second half: wait out what is left of the timeout since the stop
/// signal went (`sent`), then SIGKILL with podman's warning.
fn stop_signalled(
    engine: &Engine,
    c: &ContainerRow,
    timeout: Option<u64>,
    sent: Option<Instant>,
) -> anyhow::Result<()> {
    let Some(sent) = sent else {
        return Ok(());
    };
    let cfg = c.config();
    let sig = parse_signal(&cfg.stop_signal).unwrap_or(rustix::process::Signal::TERM);
    let secs = timeout.unwrap_or(cfg.stop_timeout as u64);
    if secs > 0 {
        let left = Duration::from_secs(secs).saturating_sub(sent.elapsed());
        if engine.kill_and_wait(c, sig, left)? {
            crate::engine::events::container("stop", c);
            return Ok(());
        }
        super::log::warn(&format!(
            "StopSignal {} failed to stop container {} in {secs} seconds, resorting to SIGKILL",
            signal_name(sig),
            c.name
        ));
    }
    engine.kill_and_wait(c, rustix::process::Signal::KILL, Duration::from_secs(30))?;
    crate::engine::events::container("stop", c);
    Ok(())
}

pub fn stop(ctx: &Ctx, a: StopArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let names = all_or(&engine, a.all, &a.containers, &a.pick, &a.filter, |_| true)?;
    let sent = send_stop_signals(&engine, &names);
    each(&engine, &names, a.ignore, 125, |c, n| {
        match sent.get(&c.id) {
            Some(at) => stop_signalled(&engine, c, a.time, Some(*at))?,
            None => stop_one(&engine, c, a.time)?,
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
        crate::engine::events::container("kill", c);
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
        stop_one(&engine, &c, a.time)?;
        let c = engine.container(&c.id)?;
        super::run::start_container(&mut engine, &c, false, false, true)?;
        crate::engine::events::container("restart", &c);
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
        send_stop_signals(&engine, &names)
    } else {
        HashMap::new()
    };
    each(&engine, &names, a.ignore || a.force || a.all, 1, |c, n| {
        rm_one(&engine, &a, c, n, &sent)
    })
}

/// Remove one container, its dependents first with --depend (or --all),
/// printing each as it goes.
fn rm_one(
    engine: &Engine,
    a: &RmArgs,
    c: &ContainerRow,
    shown: &str,
    sent: &HashMap<String, Instant>,
) -> anyhow::Result<()> {
    let deps = engine.dependents(c)?;
    if !deps.is_empty() {
        if !(a.depend || a.all) {
            let ids: Vec<&str> = deps.iter().map(|d| d.id.as_str()).collect();
            return Err(exit(
                125,
                format!(
                    "container {} has dependent containers which must be removed before it: {}: container already exists",
                    c.id,
                    ids.join(",")
                ),
            ));
        }
        for d in &deps {
            rm_one(engine, a, d, &d.id, sent)?;
        }
    }
    // As podman, a forced removal stops first (stop signal, the
    // container's or --time's timeout, then SIGKILL).
    if a.force && (c.is_running() || sent.contains_key(&c.id)) {
        match sent.get(&c.id) {
            Some(at) => stop_signalled(engine, c, a.time, Some(*at))?,
            None => stop_one(engine, c, a.time)?,
        }
    }
    engine.remove_container(c, a.force).map_err(|e| match e {
        ContainerError::State(m) => exit(2, m),
        e => e.into(),
    })?;
    if a.volumes {
        engine.remove_anonymous_volumes(&c.config());
    }
    println!("{shown}");
    Ok(())
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
        if !matches!(
            cond.as_str(),
            "stopped" | "exited" | "running" | "healthy" | "unhealthy" | "created" | "paused"
        ) {
            anyhow::bail!(
                "invalid --condition {cond:?}: use stopped, exited, running, healthy, unhealthy, created or paused"
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
        loop {
            let cur = engine.container(&c.id)?;
            // A container that never ran counts as stopped (podman returns
            // its exit code, 0, at once).
            let met = a.condition.iter().any(|cond| match cond.as_str() {
                "stopped" | "exited" => !cur.is_running(),
                "running" => cur.state == "running",
                "healthy" | "unhealthy" => cur.health == *cond,
                other => cur.state == other,
            });
            if met {
                println!("{}", if cur.is_running() { -1 } else { cur.exit_code });
                return Ok(());
            }
            std::thread::sleep(interval);
        }
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
        if c.state != want {
            // libpod's texts: the state for pause, the ID for unpause.
            let msg = if frozen {
                format!(
                    "{:?} is not running, can't pause: container state improper",
                    super::ps::state_name(c)
                )
            } else {
                format!(
                    "{:?} is not paused, can't unpause: container state improper",
                    c.id
                )
            };
            return Err(exit(125, msg));
        }
        let cg = engine.cgroup(&c.id).ok_or_else(|| {
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
        crate::engine::events::container(if frozen { "pause" } else { "unpause" }, c);
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
    crate::engine::events::container(
        "rename",
        &ContainerRow {
            name: a.name.clone(),
            ..c
        },
    );
    Ok(())
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
