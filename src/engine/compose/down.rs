//! `compose down`: the project's containers stopped side by side and
//! removed, then its networks, and with `-v` its volumes; with `--rmi` its
//! images. Teardown keeps going past a failure and reports them all.

use super::{ComposeRunError, Member, NETWORK, PROJECT, VOLUME, labels, members};
use crate::compose::Project;
use crate::engine::Engine;
use crate::engine::lifecycle::RemoveOptions;

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    pub remove_orphans: bool,
    pub timeout: Option<u64>,
    /// `--rmi all|local`.
    pub rmi: Option<String>,
    /// Services of every profile (empty: the project's): containers of
    /// other services are orphans.
    pub known_services: Vec<String>,
}

/// Tear the project down; the error lists every failure met.
pub fn down(
    engine: &Engine,
    project: &Project,
    opts: &DownOptions,
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    let mut errors = Vec::new();
    let all = members(engine, &project.name)?;
    let (targets, orphans): (Vec<Member>, Vec<Member>) = all.into_iter().partition(|m| {
        // A project known by its name alone (no file): all of it.
        project.services.is_empty()
            || m.oneoff
            || project.services.contains_key(&m.service)
            || opts.known_services.contains(&m.service)
    });
    let mut targets = targets;
    if opts.remove_orphans {
        targets.extend(orphans);
    } else if !orphans.is_empty() {
        let names: Vec<&str> = orphans.iter().map(|m| m.row.name.as_str()).collect();
        say(format!(
            "WARN[0000] Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(" ")
        ));
    }
    let names: Vec<String> = targets.iter().map(|m| m.row.id.clone()).collect();
    for m in &targets {
        if m.row.is_running() {
            say(format!(" Container {}  Stopping", m.row.name));
        }
    }
    let sent = engine.send_stop_signals(&names);
    for m in targets.iter().rev() {
        let was_running = m.row.is_running();
        let r = engine.container(&m.row.id).and_then(|c| {
            engine.remove(
                &c,
                &RemoveOptions {
                    force: true,
                    volumes: true,
                    depend: true,
                    timeout: opts.timeout,
                    with_pod: false,
                },
                &sent,
                &mut |_| {},
            )
        });
        match r {
            Ok(()) => {
                if was_running {
                    say(format!(" Container {}  Stopped", m.row.name));
                }
                say(format!(" Container {}  Removed", m.row.name));
            }
            Err(crate::engine::containers::ContainerError::NotFound(_)) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    let files = super::spec::project_files_dir(engine, &project.name);
    if let Err(e) = std::fs::remove_dir_all(&files)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        errors.push(format!("{}: {e}", files.display()));
    }
    networks(engine, project, say, &mut errors);
    if opts.volumes {
        volumes(engine, project, say, &mut errors);
    }
    if let Some(mode) = &opts.rmi {
        images(engine, project, mode, say, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ComposeRunError::Engine(errors.join("; ")))
    }
}

fn networks(
    engine: &Engine,
    project: &Project,
    say: &mut dyn FnMut(String),
    errors: &mut Vec<String>,
) {
    let nd = match engine.netdb() {
        Ok(nd) => nd,
        Err(e) => {
            errors.push(e.to_string());
            return;
        }
    };
    let mut names: Vec<String> = project
        .networks
        .values()
        .filter(|n| !n.external)
        .map(|n| n.name.clone())
        .collect();
    // Networks the project made under names this file no longer declares.
    for n in crate::engine::networks::list(&nd).unwrap_or_default() {
        let l = crate::network::NetworkConfig::parse(&n.config).labels;
        if l.get(PROJECT) == Some(&project.name) && l.contains_key(NETWORK) {
            names.push(n.name);
        }
    }
    names.sort();
    names.dedup();
    for name in names {
        let Ok(net) = crate::engine::networks::find(&nd, &name) else {
            continue;
        };
        say(format!(" Network {name}  Removing"));
        match crate::engine::networks::remove(engine, &nd, &net) {
            Ok(errs) => {
                errors.extend(errs);
                say(format!(" Network {name}  Removed"));
            }
            Err(e) => errors.push(format!("network {name}: {e}")),
        }
    }
}

fn volumes(
    engine: &Engine,
    project: &Project,
    say: &mut dyn FnMut(String),
    errors: &mut Vec<String>,
) {
    let mut names: Vec<String> = project
        .volumes
        .values()
        .filter(|v| !v.external)
        .map(|v| v.name.clone())
        .collect();
    for v in engine.volumes().unwrap_or_default() {
        if v.labels.get(PROJECT) == Some(&project.name) && v.labels.contains_key(VOLUME) {
            names.push(v.name);
        }
    }
    names.sort();
    names.dedup();
    for name in names {
        if engine.volume(&name).is_err() {
            continue;
        }
        say(format!(" Volume {name}  Removing"));
        match engine.remove_volume(&name, false) {
            Ok(()) => say(format!(" Volume {name}  Removed")),
            Err(e) => errors.push(format!("volume {name}: {e}")),
        }
    }
}

fn images(
    engine: &Engine,
    project: &Project,
    mode: &str,
    say: &mut dyn FnMut(String),
    errors: &mut Vec<String>,
) {
    let mut words: Vec<String> = project
        .services
        .iter()
        .filter(|(_, s)| mode == "all" || s.image.is_none())
        .map(|(n, s)| labels::default_image(project, n, s))
        .collect();
    words.sort();
    words.dedup();
    for w in words {
        let Ok(found) = engine.find_image(&w) else {
            continue;
        };
        match engine.delete_image(&found.image.id) {
            Ok(()) => say(format!(" Image {w}  Removed")),
            Err(e) => errors.push(format!("image {w}: {e}")),
        }
    }
}
