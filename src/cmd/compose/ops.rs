//! The compose verbs that change containers: up, create, down, start,
//! stop, restart, kill, rm, pause, exec, run, wait.

use super::args::{
    CreateArgs, DownArgs, ExecArgs, KillArgs, RmArgs, RunArgs, StopArgs, UpArgs, WaitArgs,
};
use super::{Ctx, exit, fail, say};
use crate::compose::Project;
use crate::engine::Engine;
use crate::engine::compose::down::DownOptions;
use crate::engine::compose::spec::{Replica, service_spec};
use crate::engine::compose::up::{UpOptions, image, selected, wait_dependencies};
use crate::engine::compose::{Member, labels, members};
use crate::engine::create::CreateRequest;
use crate::engine::pull::PullPolicy;
use std::collections::BTreeMap;

fn up_options(c: &CreateArgs) -> anyhow::Result<UpOptions> {
    let mut scale = BTreeMap::new();
    for s in &c.scale {
        let (svc, n) = s
            .split_once('=')
            .and_then(|(s, n)| Some((s, n.parse::<u64>().ok()?)))
            .ok_or_else(|| exit(1, format!("invalid --scale {s:?}: expected SERVICE=NUM")))?;
        scale.insert(svc.to_string(), n);
    }
    Ok(UpOptions {
        services: c.services.clone(),
        force_recreate: c.force_recreate,
        no_recreate: c.no_recreate,
        scale,
        remove_orphans: c.remove_orphans,
        no_start: c.no_start,
        ..Default::default()
    })
}

/// Build what `--build` (or a missing image of a service that has a
/// `build:`) asks for, and pull as `--pull` says, before converging.
fn prepare_images(
    ctx: &Ctx,
    engine: &Engine,
    project: &Project,
    c: &CreateArgs,
    services: &[String],
) -> anyhow::Result<()> {
    let mut to_build = Vec::new();
    for name in services {
        let s = &project.services[name];
        if s.build.is_none() || c.no_build {
            continue;
        }
        let word = labels::default_image(project, name, s);
        let missing = engine.find_image(&word).is_err();
        let policy_build = s.pull_policy == Some(crate::compose::PullPolicy::Build);
        if c.build || missing || policy_build {
            to_build.push(name.clone());
        }
    }
    if !to_build.is_empty() {
        super::show::build(ctx, project, &to_build, false)?;
    }
    if let Some(p) = &c.pull {
        let policy = PullPolicy::parse(p).map_err(|e| exit(1, e))?;
        for name in services {
            if project.services[name].image.is_some() && !to_build.contains(name) {
                image(engine, project, name, Some(policy)).map_err(fail)?;
            }
        }
    }
    Ok(())
}

pub fn up(ctx: &Ctx, project: &Project, u: UpArgs, known: Vec<String>) -> anyhow::Result<()> {
    let mut create = u.create.clone();
    create.no_start = u.no_start;
    let mut opts = up_options(&create)?;
    opts.no_deps = u.no_deps;
    opts.wait = u.wait;
    opts.timeout = u.timeout;
    opts.known_services = known;
    let mut engine = ctx.engine()?;
    let services = selected(project, &opts.services, opts.no_deps).map_err(fail)?;
    prepare_images(ctx, &engine, project, &create, &services)?;
    crate::engine::compose::up::up(&mut engine, project, &opts, &mut say).map_err(fail)?;
    if u.detach || u.wait || u.no_start {
        return Ok(());
    }
    super::logs::attached(
        &mut engine,
        project,
        &services,
        &super::logs::Attached {
            no_color: u.no_color,
            abort_on_exit: u.abort_on_container_exit || u.exit_code_from.is_some(),
            exit_code_from: u.exit_code_from.clone(),
            timeout: u.timeout,
        },
    )
}

pub fn create(ctx: &Ctx, project: &Project, mut c: CreateArgs) -> anyhow::Result<()> {
    c.no_start = true;
    let opts = up_options(&c)?;
    let mut engine = ctx.engine()?;
    let services = selected(project, &opts.services, false).map_err(fail)?;
    prepare_images(ctx, &engine, project, &c, &services)?;
    crate::engine::compose::up::up(&mut engine, project, &opts, &mut say).map_err(fail)
}

pub fn down(ctx: &Ctx, project: &Project, d: DownArgs, known: Vec<String>) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let opts = DownOptions {
        volumes: d.volumes,
        remove_orphans: d.remove_orphans,
        timeout: d.timeout,
        rmi: d.rmi,
        known_services: known,
    };
    crate::engine::compose::down::down(&engine, project, &opts, &mut say).map_err(fail)
}

/// The project's service containers (not one-offs) of the services named (all when none).
pub fn service_members(
    engine: &Engine,
    project: &Project,
    services: &[String],
) -> anyhow::Result<Vec<Member>> {
    for s in services {
        if !project.services.contains_key(s) {
            return Err(exit(1, format!("no such service: {s}")));
        }
    }
    Ok(members(engine, &project.name)
        .map_err(fail)?
        .into_iter()
        .filter(|m| !m.oneoff && (services.is_empty() || services.contains(&m.service)))
        .collect())
}

/// Containers in dependency order (`reverse` for stopping).
fn ordered(project: &Project, mut ms: Vec<Member>, reverse: bool) -> Vec<Member> {
    let order = project.dependency_order().unwrap_or_default();
    let pos = |s: &str| order.iter().position(|o| o == s).unwrap_or(usize::MAX);
    ms.sort_by_key(|m| (pos(&m.service), m.number));
    if reverse {
        ms.reverse();
    }
    ms
}

pub fn start(ctx: &Ctx, project: &Project, services: &[String]) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    let ms = ordered(project, service_members(&engine, project, services)?, false);
    let mut waited = std::collections::BTreeSet::new();
    for m in ms {
        let c = engine.container(&m.row.id)?;
        if c.is_running() {
            continue;
        }
        if waited.insert(m.service.clone())
            && let Some(s) = project.services.get(&m.service)
        {
            wait_dependencies(&engine, project, s, &mut say).map_err(fail)?;
        }
        say(format!(" Container {}  Starting", c.name));
        engine
            .start_detached(&c)
            .map_err(|e| exit(e.exit_code(), e.to_string()))?;
        say(format!(" Container {}  Started", c.name));
    }
    Ok(())
}

pub fn stop(ctx: &Ctx, project: &Project, s: &StopArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let ms = ordered(
        project,
        service_members(&engine, project, &s.services)?,
        true,
    );
    let ids: Vec<String> = ms.iter().map(|m| m.row.id.clone()).collect();
    engine.stop_many(&ids, s.timeout, &mut |c, done| {
        say(format!(
            " Container {}  {}",
            c.name,
            if done { "Stopped" } else { "Stopping" }
        ))
    })?;
    Ok(())
}

pub fn restart(ctx: &Ctx, project: &Project, s: &StopArgs) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    let ms = ordered(
        project,
        service_members(&engine, project, &s.services)?,
        false,
    );
    for m in ms {
        let c = engine.container(&m.row.id)?;
        say(format!(" Container {}  Restarting", c.name));
        engine
            .restart(&c, s.timeout)
            .map_err(|e| exit(e.exit_code(), e.to_string()))?;
        say(format!(" Container {}  Started", c.name));
    }
    Ok(())
}

pub fn kill(ctx: &Ctx, project: &Project, k: &KillArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let sig =
        crate::process::signal::parse_signal(&k.signal).map_err(|e| exit(1, e.to_string()))?;
    for m in service_members(&engine, project, &k.services)? {
        let c = engine.container(&m.row.id)?;
        if !c.is_running() {
            continue;
        }
        say(format!(" Container {}  Killing", c.name));
        engine.kill(&c, sig)?;
        // As docker's kill: SIGKILL returns once the container is dead.
        if sig == rustix::process::Signal::KILL {
            engine.wait_for(
                &c.id,
                &["stopped".to_string()],
                std::time::Duration::from_millis(20),
            )?;
        }
        say(format!(" Container {}  Killed", c.name));
    }
    Ok(())
}

pub fn rm(ctx: &Ctx, project: &Project, r: &RmArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let mut ms = service_members(&engine, project, &r.services)?;
    if r.stop {
        for m in &ms {
            let c = engine.container(&m.row.id)?;
            if c.is_running() {
                say(format!(" Container {}  Stopping", c.name));
                engine.stop(&c, None)?;
                say(format!(" Container {}  Stopped", c.name));
            }
        }
    }
    ms.retain(|m| engine.container(&m.row.id).is_ok_and(|c| !c.is_running()));
    if ms.is_empty() {
        say("No stopped containers".into());
        return Ok(());
    }
    if !r.force {
        let names: Vec<&str> = ms.iter().map(|m| m.row.name.as_str()).collect();
        say(format!("Going to remove {}", names.join(", ")));
    }
    for m in ms {
        let c = engine.container(&m.row.id)?;
        say(format!(" Container {}  Removing", c.name));
        engine.remove(
            &c,
            &crate::engine::lifecycle::RemoveOptions {
                force: false,
                volumes: r.volumes,
                depend: false,
                timeout: None,
                with_pod: false,
            },
            &Default::default(),
            &mut |_| {},
        )?;
        say(format!(" Container {}  Removed", c.name));
    }
    Ok(())
}

pub fn pause(
    ctx: &Ctx,
    project: &Project,
    services: &[String],
    frozen: bool,
) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    for m in service_members(&engine, project, services)? {
        let c = engine.container(&m.row.id)?;
        let (verb, done) = if frozen {
            ("Pausing", "Paused")
        } else {
            ("Unpausing", "Unpaused")
        };
        if (frozen && c.state != "running") || (!frozen && c.state != "paused") {
            continue;
        }
        say(format!(" Container {}  {verb}", c.name));
        engine.pause(&c, frozen)?;
        say(format!(" Container {}  {done}", c.name));
    }
    Ok(())
}

/// The running container `--index` of a service.
fn replica(
    engine: &Engine,
    project: &Project,
    service: &str,
    index: u64,
) -> anyhow::Result<String> {
    let ms = service_members(engine, project, &[service.to_string()])?;
    let m = ms
        .iter()
        .find(|m| m.number == index)
        .ok_or_else(|| exit(1, format!("service {service:?} is not running")))?;
    let c = engine.container(&m.row.id)?;
    if !c.is_running() {
        return Err(exit(1, format!("container {} is not running", c.name)));
    }
    Ok(c.id)
}

pub fn exec(ctx: &Ctx, project: &Project, e: ExecArgs) -> anyhow::Result<()> {
    let id = {
        let engine = ctx.engine()?;
        replica(&engine, project, &e.service, e.index)?
    };
    use std::io::IsTerminal;
    let mut argv = vec!["exec".to_string()];
    if !e.detach {
        argv.push("-i".into());
    }
    if !e.no_tty && !e.detach && std::io::stdin().is_terminal() {
        argv.push("-t".into());
    }
    if e.detach {
        argv.push("-d".into());
    }
    if e.privileged {
        argv.push("--privileged".into());
    }
    for v in &e.env {
        argv.extend(["-e".into(), v.clone()]);
    }
    if let Some(u) = &e.user {
        argv.extend(["-u".into(), u.clone()]);
    }
    if let Some(w) = &e.workdir {
        argv.extend(["-w".into(), w.clone()]);
    }
    argv.push(id);
    argv.extend(e.command.iter().cloned());
    let a: crate::cmd::exec::ExecArgs = super::show::parsed(&argv)?;
    crate::cmd::exec::run(ctx, a)
}

pub fn run(ctx: &Ctx, project: &Project, r: RunArgs) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    let s = project
        .services
        .get(&r.service)
        .ok_or_else(|| exit(1, format!("no such service: {}", r.service)))?;
    if !r.no_deps {
        let deps: Vec<String> = s.depends_on.keys().cloned().collect();
        if !deps.is_empty() {
            let opts = UpOptions {
                services: deps,
                ..Default::default()
            };
            crate::engine::compose::up::up(&mut engine, project, &opts, &mut say).map_err(fail)?;
        }
        wait_dependencies(&engine, project, s, &mut say).map_err(fail)?;
    }
    let services = vec![r.service.clone()];
    crate::engine::compose::ensure_networks(&engine, project, &services, &mut say).map_err(fail)?;
    crate::engine::compose::ensure_volumes(&engine, project, &services, &mut say).map_err(fail)?;
    let found = image(&engine, project, &r.service, None).map_err(fail)?;
    let name = r
        .name
        .clone()
        .unwrap_or_else(|| labels::oneoff_name(project, &r.service));
    let mut warnings = Vec::new();
    let files = crate::engine::compose::spec::project_files_dir(&engine, &project.name);
    let rep = Replica {
        name: &name,
        number: 1,
        oneoff: true,
    };
    let mut spec =
        service_spec(project, &r.service, s, &rep, Some(&files), &mut warnings).map_err(fail)?;
    for w in warnings {
        say(format!("WARN[0000] {w}"));
    }
    if !r.service_ports {
        spec.config.ports.clear();
    }
    if r.use_aliases {
        for req in spec.config.networks.iter_mut() {
            let key = project
                .networks
                .iter()
                .find(|(_, n)| n.name == req.network)
                .map(|(k, _)| k.clone());
            req.aliases = vec![r.service.clone()];
            if let Some(Some(sn)) = key.and_then(|k| s.networks.get(&k)) {
                req.aliases.extend(sn.aliases.iter().cloned());
            }
        }
    }
    for p in &r.publish {
        spec.config
            .ports
            .extend(crate::network::ports::parse(p).map_err(|e| exit(1, e))?);
    }
    if !r.command.is_empty() {
        spec.command = r.command.clone();
    }
    if let Some(e) = &r.entrypoint {
        spec.entrypoint = Some(
            crate::compose::shell_split(e)
                .ok_or_else(|| exit(1, format!("invalid --entrypoint {e:?}")))?,
        );
    }
    for e in &r.env {
        let kv = if e.contains('=') {
            e.clone()
        } else {
            format!("{e}={}", std::env::var(e).unwrap_or_default())
        };
        spec.env.set.push(kv);
    }
    if r.user.is_some() {
        spec.user = r.user.clone();
    }
    if r.workdir.is_some() {
        spec.workdir = r.workdir.clone();
    }
    use std::io::IsTerminal;
    spec.config.tty = !r.no_tty && !r.detach && std::io::stdin().is_terminal();
    spec.config.interactive = !r.detach;
    spec.config.rm = r.rm;
    spec.config.restart = Default::default();
    let (row, w) = engine.create(CreateRequest {
        name: Some(name),
        image: found,
        spec,
        volumes_from: vec![],
        requires: vec![],
        replace: false,
    })?;
    for w in w {
        say(format!("WARN[0000] {w}"));
    }
    if r.detach {
        engine
            .start_detached(&row)
            .map_err(|e| exit(e.exit_code(), e.to_string()))?;
        println!("{}", row.name);
        return Ok(());
    }
    let code = crate::cmd::run::start_container(&mut engine, &row, true, true, true)?;
    if code != 0 {
        return Err(exit(code, ""));
    }
    Ok(())
}

pub fn wait(ctx: &Ctx, project: &Project, w: &WaitArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let ms = service_members(&engine, project, &w.services)?;
    if ms.is_empty() {
        return Err(exit(1, "no containers for project"));
    }
    // docker compose: block until the first of them stops, print its code.
    loop {
        for m in &ms {
            let c = engine.container(&m.row.id)?;
            if !c.is_running() {
                println!("{}", c.exit_code);
                if w.down_project {
                    crate::engine::compose::down::down(
                        &engine,
                        project,
                        &Default::default(),
                        &mut say,
                    )
                    .map_err(fail)?;
                }
                return Ok(());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
