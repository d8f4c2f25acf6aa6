//! `update`: new resource limits and restart policy for an existing
//! container. They go into its record (so `inspect` shows them and every
//! later start applies them), into its OCI bundle's `linux.resources` (what
//! an external runtime reads at the next start), and, when it runs, into
//! its live cgroup. The monitor reads the restart policy again at each exit.

use super::Engine;
use super::containers::{ContainerConfig, ContainerError, RestartPolicy};
use crate::runtime::cgroups::Limits;
use crate::state::containers::{self as db, ContainerRow};
use serde_json::{Value, json};

/// What to change; None leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    /// Some(None): no limit any more (`--memory 0`).
    pub memory: Option<Option<i64>>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub cpus: Option<f64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    pub restart: Option<RestartPolicy>,
}

impl Update {
    /// The new settings applied to a config.
    pub fn apply(&self, cfg: &mut ContainerConfig) {
        if let Some(m) = self.memory {
            cfg.memory = m;
        }
        if let Some(s) = self.memory_swap {
            cfg.memory_swap = Some(s);
        }
        if let Some(r) = self.memory_reservation {
            cfg.memory_reservation = Some(r);
        }
        if let Some(c) = self.cpus {
            // --cpus is a quota over podman's 100 ms period: it replaces both.
            cfg.cpus = Some(c).filter(|c| *c > 0.0);
            cfg.cpu_quota = None;
            cfg.cpu_period = None;
        }
        if self.cpu_quota.is_some() || self.cpu_period.is_some() {
            let old = crate::engine::spec::limits(cfg);
            cfg.cpus = None;
            cfg.cpu_quota = self.cpu_quota.or(old.cpu_quota);
            cfg.cpu_period = self.cpu_period.or(old.cpu_period);
        }
        if let Some(s) = self.cpu_shares {
            cfg.cpu_shares = Some(s);
        }
        if let Some(c) = &self.cpuset_cpus {
            cfg.cpuset_cpus = c.clone();
        }
        if let Some(m) = &self.cpuset_mems {
            cfg.cpuset_mems = m.clone();
        }
        if let Some(p) = self.pids_limit {
            cfg.pids_limit = Some(p);
        }
        if let Some(w) = self.blkio_weight {
            cfg.blkio_weight = Some(w);
        }
        if let Some(r) = &self.restart {
            cfg.restart = r.clone();
        }
    }

    /// Only what changes, for the live cgroup.
    fn limits(&self, cfg: &ContainerConfig) -> Limits {
        let all = crate::engine::spec::limits(cfg);
        let cpu = self.cpus.is_some() || self.cpu_quota.is_some() || self.cpu_period.is_some();
        Limits {
            // The kernel's "no limit": v1 takes -1, v2 "max" (see cgroups).
            memory: self.memory.map(|m| m.unwrap_or(-1)),
            memory_swap: self.memory_swap,
            cpu_quota: if cpu {
                Some(all.cpu_quota.unwrap_or(-1))
            } else {
                None
            },
            cpu_period: if cpu {
                all.cpu_period.or(Some(100_000))
            } else {
                None
            },
            cpu_shares: self.cpu_shares,
            pids: self.pids_limit,
            cpuset_cpus: self.cpuset_cpus.clone().filter(|s| !s.is_empty()),
            cpuset_mems: self.cpuset_mems.clone().filter(|s| !s.is_empty()),
            memory_reservation: self.memory_reservation,
            blkio_weight: self.blkio_weight,
        }
    }
}

/// The bundle's `linux.resources`, rewritten from the config.
fn spec_resources(cfg: &ContainerConfig, resources: &mut serde_json::Map<String, Value>) {
    let l = crate::engine::spec::limits(cfg);
    let set = |m: &mut serde_json::Map<String, Value>, k: &str, v: Option<Value>| match v {
        Some(v) => {
            m.insert(k.into(), v);
        }
        None => {
            m.remove(k);
        }
    };
    let mut mem = resources
        .remove("memory")
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    set(&mut mem, "limit", l.memory.map(|v| json!(v)));
    set(&mut mem, "swap", l.memory_swap.map(|v| json!(v)));
    set(
        &mut mem,
        "reservation",
        l.memory_reservation.map(|v| json!(v)),
    );
    let mut cpu = resources
        .remove("cpu")
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    set(&mut cpu, "quota", l.cpu_quota.map(|v| json!(v)));
    set(&mut cpu, "period", l.cpu_period.map(|v| json!(v)));
    set(&mut cpu, "shares", l.cpu_shares.map(|v| json!(v)));
    set(&mut cpu, "cpus", l.cpuset_cpus.map(|v| json!(v)));
    set(&mut cpu, "mems", l.cpuset_mems.map(|v| json!(v)));
    for (k, m) in [("memory", mem), ("cpu", cpu)] {
        if !m.is_empty() {
            resources.insert(k.into(), Value::Object(m));
        }
    }
    set(resources, "pids", l.pids.map(|p| json!({"limit": p})));
    set(
        resources,
        "blockIO",
        l.blkio_weight.map(|w| json!({"weight": w})),
    );
}

impl Engine {
    /// Change a created, running or stopped container's limits and policy.
    pub fn update_container(&self, word: &str, u: &Update) -> Result<ContainerRow, ContainerError> {
        let _lock = self.lock()?;
        let c = self.container(word)?;
        let mut cfg = c.config();
        if u.restart.as_ref().is_some_and(|r| r.name != "no") && cfg.rm {
            return Err(ContainerError::Invalid(
                "the --rm option conflicts with --restart: a removed container cannot restart"
                    .into(),
            ));
        }
        u.apply(&mut cfg);
        if let (Some(m), Some(s)) = (cfg.memory, cfg.memory_swap)
            && s != -1
            && s < m
        {
            return Err(ContainerError::Invalid(
                "minimum memoryswap limit should be larger than memory limit, see usage".into(),
            ));
        }
        if cfg.memory.is_none() && cfg.memory_swap.is_some_and(|s| s != -1) {
            return Err(ContainerError::Invalid(
                "you should always set a memory limit when using a memoryswap limit, see usage"
                    .into(),
            ));
        }
        // The live cgroup first: a limit the kernel refuses (below what
        // the container uses now) changes nothing.
        if c.is_running()
            && cfg.runtime.is_none()
            && let Some(cg) = self.cgroup(&c)
        {
            cg.update(&u.limits(&cfg)).map_err(|e| {
                ContainerError::State(format!("updating the cgroup of container {}: {e}", c.id))
            })?;
        }
        let bundle = self.container_dir(&c.id).join("config.json");
        if let Ok(bytes) = std::fs::read(&bundle)
            && let Ok(mut spec) = serde_json::from_slice::<Value>(&bytes)
        {
            if let Some(linux) = spec.get_mut("linux").and_then(|l| l.as_object_mut()) {
                let res = linux
                    .entry("resources")
                    .or_insert_with(|| json!({}))
                    .as_object_mut();
                if let Some(res) = res {
                    spec_resources(&cfg, res);
                }
            }
            let text = serde_json::to_vec_pretty(&spec).unwrap_or(bytes);
            crate::process::private::write(&bundle, &text)
                .map_err(|e| ContainerError::State(format!("writing {}: {e}", bundle.display())))?;
        }
        let json =
            serde_json::to_string(&cfg).map_err(|e| ContainerError::Invalid(e.to_string()))?;
        db::set_config(&self.db.conn, &c.id, &json)?;
        Ok(db::get(&self.db.conn, &c.id)?.unwrap_or(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_and_quota_replace_each_other() {
        let mut cfg = ContainerConfig {
            cpus: Some(0.5),
            ..Default::default()
        };
        Update {
            cpu_quota: Some(20_000),
            ..Default::default()
        }
        .apply(&mut cfg);
        assert_eq!(
            (cfg.cpus, cfg.cpu_quota, cfg.cpu_period),
            (None, Some(20_000), Some(100_000))
        );
        let l = crate::engine::spec::limits(&cfg);
        assert_eq!((l.cpu_quota, l.cpu_period), (Some(20_000), Some(100_000)));
        let u = Update {
            cpus: Some(5.0),
            ..Default::default()
        };
        u.apply(&mut cfg);
        assert_eq!(
            (cfg.cpus, cfg.cpu_quota, cfg.cpu_period),
            (Some(5.0), None, None)
        );
        let live = u.limits(&cfg);
        assert_eq!(
            (live.cpu_quota, live.cpu_period),
            (Some(500_000), Some(100_000))
        );
        assert_eq!(live.memory, None);
    }

    #[test]
    fn bundle_resources_follow_the_config() {
        let cfg = ContainerConfig {
            memory: Some(1 << 30),
            memory_reservation: Some(400 << 20),
            cpu_shares: Some(512),
            pids_limit: Some(10),
            ..Default::default()
        };
        let mut res = json!({"memory": {"limit": 5, "swap": 9}, "devices": []})
            .as_object()
            .cloned()
            .unwrap();
        spec_resources(&cfg, &mut res);
        assert_eq!(
            Value::Object(res),
            json!({
                "memory": {"limit": 1073741824, "reservation": 419430400},
                "cpu": {"shares": 512},
                "pids": {"limit": 10},
                "devices": []
            })
        );
    }
}
