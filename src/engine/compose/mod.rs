//! Compose projects run: the operations behind `berth compose` (and, later,
//! the API), on the engine's own calls. Containers, networks and volumes
//! carry docker compose v2's names and labels, so a project is found again
//! from its containers' labels alone.

pub mod down;
pub mod labels;
pub mod spec;
pub mod up;

use super::Engine;
use crate::compose::Project;
use crate::state::containers::ContainerRow;
use std::collections::BTreeMap;

pub use labels::*;

/// What went wrong running a project. `Compose` is a project-level
/// failure (docker compose exits 1); the rest are engine errors (125).
#[derive(Debug, thiserror::Error)]
pub enum ComposeRunError {
    #[error("{0}")]
    Compose(String),
    #[error("{0}")]
    Engine(String),
}

impl ComposeRunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ComposeRunError::Compose(_) => 1,
            ComposeRunError::Engine(_) => 125,
        }
    }
}

macro_rules! engine_error {
    ($($t:ty),*) => {$(
        impl From<$t> for ComposeRunError {
            fn from(e: $t) -> Self {
                ComposeRunError::Engine(e.to_string())
            }
        }
    )*};
}
engine_error!(
    crate::engine::containers::ContainerError,
    crate::engine::lifecycle::StartError,
    crate::network::NetworkError,
    crate::engine::pull::AcquireError,
    crate::engine::images::ImageError,
    crate::engine::EngineError
);

/// A container of a project, as its labels describe it.
#[derive(Debug, Clone)]
pub struct Member {
    pub row: ContainerRow,
    pub service: String,
    pub number: u64,
    pub oneoff: bool,
    pub hash: String,
}

impl Member {
    fn of(row: ContainerRow, project: &str) -> Option<Member> {
        let l = row.config().labels;
        if l.get(PROJECT)? != project {
            return None;
        }
        Some(Member {
            service: l.get(SERVICE).cloned().unwrap_or_default(),
            number: l
                .get(CONTAINER_NUMBER)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            oneoff: l.get(ONEOFF).is_some_and(|v| v == "True"),
            hash: l.get(CONFIG_HASH).cloned().unwrap_or_default(),
            row,
        })
    }
}

/// Every container of project `name` (one-offs too), by service then number.
pub fn members(engine: &Engine, name: &str) -> Result<Vec<Member>, ComposeRunError> {
    let mut out: Vec<Member> = engine
        .containers()?
        .into_iter()
        .filter_map(|r| Member::of(r, name))
        .collect();
    out.sort_by(|a, b| {
        (a.oneoff, &a.service, a.number, &a.row.name).cmp(&(
            b.oneoff,
            &b.service,
            b.number,
            &b.row.name,
        ))
    });
    Ok(out)
}

/// The projects that have containers: name -> (containers, running, config files).
pub fn projects(engine: &Engine) -> Result<BTreeMap<String, ProjectSummary>, ComposeRunError> {
    let mut out: BTreeMap<String, ProjectSummary> = BTreeMap::new();
    for r in engine.containers()? {
        let l = r.config().labels;
        let Some(p) = l.get(PROJECT) else { continue };
        let e = out.entry(p.clone()).or_default();
        e.containers += 1;
        if r.is_running() {
            e.running += 1;
        }
        if let Some(f) = l.get(CONFIG_FILES) {
            e.config_files = f.clone();
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct ProjectSummary {
    pub containers: usize,
    pub running: usize,
    pub config_files: String,
}

/// Create the project's networks the services use and lack; an external
/// one must exist. Says `Network NAME  Created` for each new one.
pub fn ensure_networks(
    engine: &Engine,
    project: &Project,
    services: &[String],
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    let nd = engine.netdb()?;
    let used: std::collections::BTreeSet<&String> = services
        .iter()
        .filter_map(|s| project.services.get(s))
        .filter(|s| s.network_mode.is_none() || matches!(s.network_mode.as_deref(), Some("bridge")))
        .flat_map(|s| s.networks.keys())
        .collect();
    for key in used {
        let Some(n) = project.networks.get(key) else {
            continue;
        };
        if crate::engine::networks::find(&nd, &n.name).is_ok() {
            continue;
        }
        if n.external {
            return Err(ComposeRunError::Compose(format!(
                "network {} declared as external, but could not be found",
                n.name
            )));
        }
        let mut subnets = Vec::new();
        for pool in n.ipam.iter().flat_map(|i| i.config.iter()) {
            let Some(sub) = &pool.subnet else { continue };
            let bad = |what: &str, v: &str| {
                ComposeRunError::Compose(format!("network {key}: invalid {what} {v:?}"))
            };
            let subnet = sub.parse().map_err(|_| bad("subnet", sub))?;
            let gw = match &pool.gateway {
                Some(g) => Some(g.parse().map_err(|_| bad("gateway", g))?),
                None => None,
            };
            let range = match &pool.ip_range {
                Some(r) => Some(r.parse().map_err(|_| bad("ip_range", r))?),
                None => None,
            };
            subnets.push((subnet, gw, range));
        }
        let mut l = n.labels.clone();
        l.insert(NETWORK.into(), key.clone());
        l.insert(PROJECT.into(), project.name.clone());
        l.insert(VERSION.into(), COMPOSE_VERSION.into());
        crate::engine::networks::create(
            &nd,
            crate::engine::networks::NetworkSpec {
                name: Some(n.name.clone()),
                driver: n.driver.clone().unwrap_or_else(|| "bridge".into()),
                subnets,
                internal: n.internal,
                ipv6: n.enable_ipv6.unwrap_or(false),
                labels: l,
                options: n.driver_opts.clone(),
                ..Default::default()
            },
        )?;
        say(format!(" Network {}  Created", n.name));
    }
    Ok(())
}

/// Create the project's named volumes the services mount and lack; an
/// external one must exist.
pub fn ensure_volumes(
    engine: &Engine,
    project: &Project,
    services: &[String],
    say: &mut dyn FnMut(String),
) -> Result<(), ComposeRunError> {
    let used: std::collections::BTreeSet<&String> = services
        .iter()
        .filter_map(|s| project.services.get(s))
        .flat_map(|s| s.volumes.iter())
        .filter(|v| v.kind == crate::compose::VolumeType::Volume)
        .filter_map(|v| v.source.as_ref())
        .collect();
    for key in used {
        let Some(v) = project.volumes.get(key) else {
            continue;
        };
        if engine.volume(&v.name).is_ok() {
            continue;
        }
        if v.external {
            return Err(ComposeRunError::Compose(format!(
                "external volume {:?} not found",
                v.name
            )));
        }
        let mut l = v.labels.clone();
        l.insert(VOLUME.into(), key.clone());
        l.insert(PROJECT.into(), project.name.clone());
        l.insert(VERSION.into(), COMPOSE_VERSION.into());
        engine.create_named_volume(Some(&v.name), l, v.driver_opts.clone(), true)?;
        say(format!(" Volume {:?}  Created", v.name));
    }
    Ok(())
}

#[cfg(test)]
mod spec_tests;
