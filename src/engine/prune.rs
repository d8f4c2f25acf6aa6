//! Pruning: stopped containers, unused images (dangling or all) and the
//! build cache, unused volumes, unused networks. One implementation for
//! each `prune` command and for `system prune`, which runs them in turn.

use super::Engine;
use super::containers::ContainerError;
use crate::network::{NetworkConfig, NetworkError};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("{0}")]
    Filter(String),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl From<super::EngineError> for PruneError {
    fn from(e: super::EngineError) -> Self {
        PruneError::Container(e.into())
    }
}

impl From<crate::state::DbError> for PruneError {
    fn from(e: crate::state::DbError) -> Self {
        PruneError::Container(e.into())
    }
}

/// `--filter label=K[=V]`, `label!=K[=V]`, `until=T`: every filter must
/// hold for an object to be pruned (podman's prune filters).
#[derive(Debug, Default, Clone)]
pub struct PruneFilter {
    labels: Vec<(String, Option<String>)>,
    not_labels: Vec<(String, Option<String>)>,
    /// Unix seconds: only objects created before it.
    until: Option<i64>,
}

impl PruneFilter {
    /// Parse `raw`, allowing the keys in `allowed` (a command's own set,
    /// named in the error as that command names it).
    pub fn parse(raw: &[String], allowed: &[&str]) -> Result<PruneFilter, PruneError> {
        let mut f = PruneFilter::default();
        for r in raw {
            let Some((k, v)) = r.split_once('=') else {
                return Err(PruneError::Filter(format!(
                    "invalid filter {r:?}: expected KEY=VALUE"
                )));
            };
            if !allowed.contains(&k) {
                return Err(PruneError::Filter(format!(
                    "invalid filter {k:?}: supported are {}",
                    allowed.join(", ")
                )));
            }
            let label = || match v.split_once('=') {
                Some((lk, lv)) => (lk.to_string(), Some(lv.to_string())),
                None => (v.to_string(), None),
            };
            match k {
                "label" => f.labels.push(label()),
                "label!" => f.not_labels.push(label()),
                "until" => {
                    let t = until_secs(v).ok_or_else(|| {
                        PruneError::Filter(format!(
                            "invalid until filter {v:?}: use RFC 3339, Unix seconds or a duration like 24h"
                        ))
                    })?;
                    f.until = Some(f.until.map_or(t, |u: i64| u.max(t)));
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// Does an object with these labels, created at `created` (Unix
    /// seconds), pass every filter?
    pub fn matches(&self, labels: &BTreeMap<String, String>, created: i64) -> bool {
        let has = |(k, v): &(String, Option<String>)| match v {
            Some(v) => labels.get(k).is_some_and(|x| x == v),
            None => labels.contains_key(k),
        };
        self.labels.iter().all(has)
            && !self.not_labels.iter().any(has)
            && self.until.is_none_or(|u| created < u)
    }
}

/// An `until=` value in Unix seconds: an RFC 3339 time, Unix seconds, or a
/// Go duration (`10m`, `1h30m`, `24h`) before now.
pub fn until_secs(v: &str) -> Option<i64> {
    let now = crate::state::images::now();
    if let Some(t) = crate::format::units::parse_rfc3339(v) {
        return Some(t);
    }
    if let Ok(t) = v.parse::<f64>() {
        return Some(t as i64);
    }
    let d = crate::format::units::parse_go_duration(v).filter(|d| *d >= 0)?;
    Some(now - d / 1_000_000_000)
}

/// What a prune did: the objects removed (IDs or names), the bytes that
/// freed, and one line per failure (teardown keeps going past them).
#[derive(Debug, Default)]
pub struct PruneReport {
    pub removed: Vec<String>,
    pub reclaimed: u64,
    pub errors: Vec<String>,
}

/// What `system prune` removed, by kind, with the bytes freed and the
/// failures of every round.
#[derive(Debug, Default)]
pub struct SystemPruneReport {
    pub containers: Vec<String>,
    pub images: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    pub reclaimed: u64,
    pub errors: Vec<String>,
}

impl Engine {
    /// `system prune`: stopped containers, images (dangling, or every
    /// unused one with `all`) and the build cache, unused networks, and
    /// with `volumes` unused volumes, all that pass `f`.
    pub fn prune_system(
        &self,
        all: bool,
        volumes: bool,
        f: &PruneFilter,
    ) -> Result<SystemPruneReport, PruneError> {
        let mut out = SystemPruneReport::default();
        // As podman: again while a round removed something a later round's
        // objects depended on (an image freed by a container, a volume by it).
        loop {
            let c = self.prune_containers(f)?;
            let i = self.prune_images(all, f)?;
            let n = self.prune_networks(f)?;
            let v = if volumes {
                let names = self.prunable_volumes(f)?;
                self.prune_volumes(&names)
            } else {
                Default::default()
            };
            let found = !i.removed.is_empty() || !n.removed.is_empty() || !v.removed.is_empty();
            for r in [&c, &i, &n, &v] {
                out.reclaimed += r.reclaimed;
                out.errors.extend(r.errors.iter().cloned());
            }
            out.containers.extend(c.removed);
            out.images.extend(i.removed);
            out.networks.extend(n.removed);
            out.volumes.extend(v.removed);
            if !found || !out.errors.is_empty() {
                break;
            }
        }
        Ok(out)
    }
}

impl Engine {
    /// Remove the containers that are not running and pass `f`.
    pub fn prune_containers(&self, f: &PruneFilter) -> Result<PruneReport, PruneError> {
        let mut r = PruneReport::default();
        for c in self.containers()? {
            if c.is_running() || !f.matches(&c.config().labels, c.created / 1_000_000_000) {
                continue;
            }
            let size = super::disk::tree_size(&self.container_dir(&c.id).join("upper"));
            match self.remove_container(&c, false) {
                Ok(()) => {
                    r.removed.push(c.id);
                    r.reclaimed += size;
                }
                Err(e) => r.errors.push(e.to_string()),
            }
        }
        Ok(r)
    }

    /// Forget the build cache and remove the images only it kept (no
    /// name, no container). Their IDs.
    pub fn prune_build_cache(&self) -> Result<Vec<String>, PruneError> {
        let conn = &self.db.conn;
        let cached = crate::state::images::cache_images(conn)?;
        crate::state::images::cache_clear(conn)?;
        let mut removed = Vec::new();
        for rec in self.images()? {
            let hex = rec.id.hex().to_string();
            if !cached.contains(&hex) || !rec.names.is_empty() {
                continue;
            }
            if !crate::state::containers::users_of_image(conn, &hex)?.is_empty() {
                continue;
            }
            self.delete_image(&rec.id)?;
            removed.push(hex);
        }
        self.gc_orphan_layers()?;
        let _ = std::fs::remove_dir_all(self.store.root().join("build-cache"));
        Ok(removed)
    }

    /// Remove the build cache, then the images no container uses that pass
    /// `f`: dangling ones (no name), or with `all` every one. The space
    /// freed is the store's image bytes before less after.
    pub fn prune_images(&self, all: bool, f: &PruneFilter) -> Result<PruneReport, PruneError> {
        let before = self.image_bytes()?;
        let mut r = PruneReport {
            removed: self.prune_build_cache()?,
            ..Default::default()
        };
        for rec in self.images()? {
            if !all && !rec.names.is_empty() {
                continue;
            }
            if !crate::state::containers::users_of_image(&self.db.conn, rec.id.hex())?.is_empty() {
                continue;
            }
            let labels = self
                .store
                .read_blob(&rec.id)
                .ok()
                .and_then(|b| crate::image::config::ImageConfig::parse(&b).ok())
                .map(|c| c.labels())
                .unwrap_or_default();
            let created = crate::format::units::parse_rfc3339(&rec.created).unwrap_or(rec.added);
            if !f.matches(&labels, created) {
                continue;
            }
            match self.delete_image(&rec.id) {
                Ok(()) => r.removed.push(rec.id.hex().to_string()),
                Err(e) => r.errors.push(format!("{}: {e}", rec.id.hex())),
            }
        }
        self.gc_orphan_layers()?;
        r.reclaimed = before.saturating_sub(self.image_bytes()?);
        Ok(r)
    }

    /// The volumes no container mounts that pass `f`, by name.
    pub fn prunable_volumes(&self, f: &PruneFilter) -> Result<Vec<String>, PruneError> {
        let mut used = std::collections::BTreeSet::new();
        for c in crate::state::containers::list(&self.db.conn)? {
            used.extend(c.config().volumes.into_iter().map(|v| v.name));
        }
        Ok(self
            .volumes()?
            .into_iter()
            .filter(|v| !used.contains(&v.name) && f.matches(&v.labels, v.created))
            .map(|v| v.name)
            .collect())
    }

    /// Remove these volumes (from [`Engine::prunable_volumes`]); one a
    /// container took meanwhile is refused, and said so.
    pub fn prune_volumes(&self, names: &[String]) -> PruneReport {
        let mut r = PruneReport::default();
        for n in names {
            let size = super::disk::tree_size(&self.volume_data(n));
            match self.remove_volume(n, false) {
                Ok(()) => {
                    r.removed.push(n.clone());
                    r.reclaimed += size;
                }
                Err(e) => r.errors.push(e.to_string()),
            }
        }
        r
    }

    /// Remove the networks (not the default one) that no container of any
    /// root is attached to and that pass `f`: their bridges, firewall
    /// chains and DNS servers go with them.
    pub fn prune_networks(&self, f: &PruneFilter) -> Result<PruneReport, PruneError> {
        let nd = self.netdb()?;
        let mut r = PruneReport::default();
        for n in super::networks::list(&nd)? {
            if n.name == crate::network::DEFAULT_NETWORK {
                continue;
            }
            let cfg = NetworkConfig::parse(&n.config);
            if !f.matches(&cfg.labels, n.created)
                || !crate::state::networks::endpoints_of_network(&nd.conn, &n.name)?.is_empty()
            {
                continue;
            }
            match super::networks::remove(self, &nd, &n) {
                Ok(errs) => {
                    r.errors.extend(errs);
                    r.removed.push(n.name.clone());
                }
                Err(e) => r.errors.push(e.to_string()),
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_all_hold_and_until_takes_dates_seconds_and_durations() {
        let all = ["label", "label!", "until"];
        let f = PruneFilter::parse(&["label=a=1".into(), "label!=keep".into()], &all).unwrap();
        assert!(f.matches(&labels(&[("a", "1")]), 0));
        assert!(!f.matches(&labels(&[("a", "2")]), 0));
        assert!(!f.matches(&labels(&[("a", "1"), ("keep", "")]), 0));
        let now = crate::state::images::now();
        let f = PruneFilter::parse(&["until=1h".into()], &all).unwrap();
        assert!(f.matches(&labels(&[]), now - 7200));
        assert!(!f.matches(&labels(&[]), now));
        assert_eq!(until_secs("2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(until_secs("1577836800"), Some(1_577_836_800));
        assert_eq!(until_secs("1h30m"), Some(now - 5400));
        assert_eq!(until_secs("soon"), None);
        let e = PruneFilter::parse(&["dangling=true".into()], &["label", "until"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid filter \"dangling\": supported are label, until"
        );
    }
}
