//! `compose up`/`create`: converge a project's containers on its file.
//! An unchanged service (same config hash) is left as it runs, a changed
//! one recreated, replicas added or removed from the top, services started
//! in dependency order once their `depends_on` conditions hold.

use super::spec::{Replica, service_spec};
use super::{ComposeRunError, Member, labels, members};
use crate::compose::{Condition, Project, Service};
use crate::engine::Engine;
use crate::engine::create::CreateRequest;
use crate::engine::images::Found;
use crate::engine::lifecycle::RemoveOptions;
use crate::engine::pull::PullPolicy;
use crate::engine::volumes::VolumeMount;
use crate::state::containers::ContainerRow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Services named on the command line (empty: all).
    pub services: Vec<String>,
    pub no_deps: bool,
    pub force_recreate: bool,
    pub no_recreate: bool,
    /// `--scale SERVICE=N`.
    pub scale: BTreeMap<String, u64>,
    pub remove_orphans: bool,
    /// `create` / `up --no-start`.
    pub no_start: bool,
    /// `--wait`: until every container runs (and is healthy, with a check).
    pub wait: bool,
    /// `-t`: the stop timeout for containers stopped on the way.
    pub timeout: Option<u64>,
    /// Services of every profile (empty: the project's): containers of
    /// other services are orphans.
    pub known_services: Vec<String>,
}

/// The services to act on, in dependency order: those named and (unless
/// `no_deps`) what they depend on, else all.
pub fn selected(
    project: &Project,
    names: &[String],
    no_deps: bool,
) -> Result<Vec<String>, ComposeRunError> {
    let order = project
        .dependency_order()
        .map_err(|e| ComposeRunError::Compose(e.to_string()))?;
    if names.is_empty() {
        return Ok(order);
    }
    let mut want: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = names.to_vec();
    while let Some(n) = todo.pop() {
        let s = project
            .services
            .get(&n)
            .ok_or_else(|| ComposeRunError::Compose(format!("no such service: {n}")))?;
        if want.insert(n.clone()) && !no_deps {
            todo.extend(s.depends_on.keys().cloned());
        }
    }
    Ok(order.into_iter().filter(|s| want.contains(s)).collect())
}

/// The image for a service: `image:` (or `PROJECT-SERVICE` when it is
/// built), found or pulled as its pull_policy (or `pull`) says.
pub fn image(
    engine: &Engine,
    project: &Project,
    service: &str,
    pull: Option<PullPolicy>,
) -> Result<Found, ComposeRunError> {
    let s = &project.services[service];
    let word = labels::default_image(project, service, s);
    let policy = match (pull, s.pull_policy) {
        (Some(p), _) => p,
        (None, Some(crate::compose::PullPolicy::Always)) => PullPolicy::Always,
        (None, Some(crate::compose::PullPolicy::Never)) => PullPolicy::Never,
        (None, Some(crate::compose::PullPolicy::Build)) => PullPolicy::Never,
        _ if s.image.is_none() => PullPolicy::Never,
        _ => PullPolicy::Missing,
    };
    engine
        .find_or_pull(&word, policy, &Default::default(), true)
        .map_err(|e| match (&s.build, e) {
            (Some(_), _) if s.image.is_none() || policy == PullPolicy::Never => {
                ComposeRunError::Compose(format!(
                    "service {service:?}: image {word} is not built yet: run `berth compose build` or `up --build`"
                ))
            }
            (_, e) => e.into(),
        })
}

/// Converge the project's containers (see the module doc). `say` hears
/// docker compose's progress lines (` Container p-web-1  Started`).
pub fn up(
    engine: &mut Engine,
    project: &Project,
    opts: &UpOptions,
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    let services = selected(project, &opts.services, opts.no_deps)?;
    let mut images = BTreeMap::new();
    for s in &services {
        images.insert(s.clone(), image(engine, project, s, None)?);
    }
    orphans(engine, project, opts, say)?;
    super::ensure_networks(engine, project, &services, say)?;
    super::ensure_volumes(engine, project, &services, say)?;
    let mut recreated = BTreeSet::new();
    for name in &services {
        let s = &project.services[name];
        if !opts.no_start {
            wait_dependencies(engine, project, s, say)?;
        }
        let restart = s
            .depends_on
            .iter()
            .any(|(d, dep)| dep.restart && recreated.contains(d));
        if converge(engine, project, name, &images[name], opts, restart, say)? {
            recreated.insert(name.clone());
        }
    }
    if opts.wait && !opts.no_start {
        for m in members(engine, &project.name)? {
            if !m.oneoff && services.contains(&m.service) {
                wait_ready(engine, &m.row, say)?;
            }
        }
    }
    Ok(())
}

fn orphans(
    engine: &Engine,
    project: &Project,
    opts: &UpOptions,
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    let orphans: Vec<Member> = members(engine, &project.name)?
        .into_iter()
        .filter(|m| {
            !m.oneoff
                && !project.services.contains_key(&m.service)
                && !opts.known_services.contains(&m.service)
        })
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    if !opts.remove_orphans {
        let names: Vec<&str> = orphans.iter().map(|m| m.row.name.as_str()).collect();
        say(format!(
            "WARN[0000] Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(" ")
        ));
        return Ok(());
    }
    for m in orphans {
        remove(engine, &m.row, opts.timeout, say)?;
    }
    Ok(())
}

/// Stop and remove one container (its anonymous volumes too), saying so.
pub fn remove(
    engine: &Engine,
    c: &ContainerRow,
    timeout: Option<u64>,
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    remove_with(engine, c, timeout, true, say)
}

fn remove_with(
    engine: &Engine,
    c: &ContainerRow,
    timeout: Option<u64>,
    volumes: bool,
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    if c.is_running() {
        say(format!(" Container {}  Stopping", c.name));
        engine.stop(c, timeout)?;
        say(format!(" Container {}  Stopped", c.name));
    }
    say(format!(" Container {}  Removing", c.name));
    let c = engine.container(&c.id)?;
    engine.remove(
        &c,
        &RemoveOptions {
            force: true,
            volumes,
            depend: true,
            timeout,
            with_pod: false,
        },
        &HashMap::new(),
        &mut |_| {},
    )?;
    say(format!(" Container {}  Removed", c.name));
    Ok(())
}

/// One service's replicas as the file and `--scale` want them. Returns
/// whether any container was (re)created.
fn converge(
    engine: &mut Engine,
    project: &Project,
    name: &str,
    image: &Found,
    opts: &UpOptions,
    restart: bool,
    say: &mut dyn FnMut(String),
) -> Result<bool, ComposeRunError> {
    let s = &project.services[name];
    let want = opts
        .scale
        .get(name)
        .copied()
        .unwrap_or_else(|| s.replicas());
    if s.container_name.is_some() && want > 1 {
        return Err(ComposeRunError::Compose(format!(
            "service {name:?}: container_name {:?} names one container; it cannot have {want} replicas",
            s.container_name.as_deref().unwrap_or_default()
        )));
    }
    let hash = s.config_hash(project);
    let existing: Vec<Member> = members(engine, &project.name)?
        .into_iter()
        .filter(|m| !m.oneoff && m.service == name)
        .collect();
    for m in existing.iter().rev() {
        if m.number == 0 || m.number > want {
            remove(engine, &m.row, opts.timeout, say)?;
        }
    }
    let mut changed = false;
    for n in 1..=want {
        let current = existing.iter().find(|m| m.number == n);
        let row = match current {
            Some(m) if (m.hash != hash || opts.force_recreate) && !opts.no_recreate => {
                say(format!(" Container {}  Recreate", m.row.name));
                // As docker compose: the new container takes over the old
                // one's anonymous volumes (an image VOLUME's data survives).
                let keep: Vec<VolumeMount> = m
                    .row
                    .config()
                    .volumes
                    .into_iter()
                    .filter(|v| v.anonymous)
                    .collect();
                remove_with(engine, &m.row, opts.timeout, false, &mut |_| {})?;
                let row = create(engine, project, name, s, n, image, keep, say)?;
                say(format!(" Container {}  Recreated", row.name));
                changed = true;
                row
            }
            Some(m) => {
                let c = engine.container(&m.row.id)?;
                if c.is_running() && restart && !opts.no_start {
                    say(format!(" Container {}  Restarting", c.name));
                    engine.restart(&c, opts.timeout)?;
                    say(format!(" Container {}  Restarted", c.name));
                    continue;
                }
                if c.is_running() || c.state == "paused" {
                    say(format!(" Container {}  Running", c.name));
                    continue;
                }
                c
            }
            None => {
                let c = create(engine, project, name, s, n, image, vec![], say)?;
                changed = true;
                c
            }
        };
        if !opts.no_start {
            say(format!(" Container {}  Starting", row.name));
            engine.start_detached(&row)?;
            say(format!(" Container {}  Started", row.name));
        }
    }
    Ok(changed)
}

/// Create replica `number`; `keep`: anonymous volumes of the container it
/// replaces, mounted where they were unless the service mounts something
/// else there now.
#[allow(clippy::too_many_arguments)]
fn create(
    engine: &Engine,
    project: &Project,
    name: &str,
    s: &Service,
    number: u64,
    image: &Found,
    keep: Vec<VolumeMount>,
    say: &mut dyn FnMut(String),
) -> Result<ContainerRow, ComposeRunError> {
    let cname = labels::container_name(project, name, s, number);
    let mut warnings = Vec::new();
    let replica = Replica {
        name: &cname,
        number,
        oneoff: false,
    };
    let files = super::spec::project_files_dir(engine, &project.name);
    let mut spec = service_spec(project, name, s, &replica, Some(&files), &mut warnings)?;
    for k in keep {
        let cfg = &mut spec.config;
        match cfg
            .volumes
            .iter_mut()
            .find(|v| v.destination == k.destination)
        {
            Some(v) if v.anonymous => v.name = k.name,
            Some(_) => {}
            None if cfg.binds.iter().any(|b| b.destination == k.destination)
                || cfg
                    .tmpfs
                    .iter()
                    .any(|t| crate::engine::mounts::tmpfs_entry(t).0 == k.destination) => {}
            None => cfg.volumes.push(k),
        }
    }
    say(format!(" Container {cname}  Creating"));
    let (row, w) = engine.create(CreateRequest {
        name: Some(cname.clone()),
        image: image.clone(),
        spec,
        volumes_from: vec![],
        requires: vec![],
        replace: false,
    })?;
    for w in warnings.into_iter().chain(w) {
        say(format!("WARN[0000] {w}"));
    }
    say(format!(" Container {cname}  Created"));
    Ok(row)
}

/// Hold `name` back until each dependency meets its condition.
pub fn wait_dependencies(
    engine: &Engine,
    project: &Project,
    s: &Service,
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    for (dep, d) in &s.depends_on {
        if d.condition == Condition::ServiceStarted {
            continue;
        }
        let deps: Vec<Member> = members(engine, &project.name)?
            .into_iter()
            .filter(|m| !m.oneoff && &m.service == dep)
            .collect();
        if deps.is_empty() && !d.required {
            continue;
        }
        for m in deps {
            say(format!(" Container {}  Waiting", m.row.name));
            match d.condition {
                Condition::ServiceHealthy => wait_healthy(engine, &m.row)?,
                Condition::ServiceCompletedSuccessfully => {
                    let code = engine.wait_for(&m.row.id, &["stopped".to_string()], POLL)?;
                    if code != 0 {
                        return Err(ComposeRunError::Compose(format!(
                            "service {dep:?} didn't complete successfully: exit {code}"
                        )));
                    }
                    say(format!(" Container {}  Exited", m.row.name));
                    continue;
                }
                Condition::ServiceStarted => {}
            }
            say(format!(" Container {}  Healthy", m.row.name));
        }
    }
    Ok(())
}

fn wait_healthy(engine: &Engine, c: &ContainerRow) -> Result<(), ComposeRunError> {
    if c.config().healthcheck.is_none() {
        return Err(ComposeRunError::Compose(format!(
            "dependency failed to start: container {} has no healthcheck configured",
            c.name
        )));
    }
    loop {
        let cur = engine.container(&c.id)?;
        match crate::engine::health::state(engine, &c.id).status.as_str() {
            "healthy" => return Ok(()),
            "unhealthy" => {
                return Err(ComposeRunError::Compose(format!(
                    "dependency failed to start: container {} is unhealthy",
                    c.name
                )));
            }
            _ => {}
        }
        if !cur.is_running() {
            return Err(ComposeRunError::Compose(format!(
                "dependency failed to start: container {} exited ({})",
                c.name, cur.exit_code
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// How often a dependency's state is read while `up` waits on it: a
/// record read is cheap, and a one-shot job's exit should not cost `up`
/// a tenth of a second.
const POLL: Duration = Duration::from_millis(10);

/// `--wait`: running, and healthy when it has a check.
fn wait_ready(
    engine: &Engine,
    c: &ContainerRow,
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    say(format!(" Container {}  Waiting", c.name));
    if c.config().healthcheck.is_some() {
        wait_healthy(engine, c)?;
        say(format!(" Container {}  Healthy", c.name));
        return Ok(());
    }
    let cur = engine.container(&c.id)?;
    if !cur.is_running() {
        return Err(ComposeRunError::Compose(format!(
            "container {} exited ({})",
            c.name, cur.exit_code
        )));
    }
    say(format!(" Container {}  Running", c.name));
    Ok(())
}
