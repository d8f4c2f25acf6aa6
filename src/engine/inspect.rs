//! What `container inspect` reports that the runtime derives from a
//! container's config: its capability sets and CPU limits, computed as
//! the spec gets them, so inspect shows what the container runs with.

use super::containers::ContainerConfig;

/// The capabilities the container runs with (`EffectiveCaps`,
/// `BoundingCaps`): the defaults, or all with `--privileged`, then
/// `--cap-add`/`--cap-drop`.
pub fn effective_caps(cfg: &ContainerConfig) -> Vec<String> {
    crate::runtime::caps::resolve(cfg.privileged, &cfg.cap_add, &cfg.cap_drop)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// The CFS quota and period the cgroup gets (`--cpus`, `--cpu-quota`,
/// `--cpu-period`), 0 when unset.
pub fn cpu_quota_period(cfg: &ContainerConfig) -> (i64, u64) {
    let l = super::spec::limits(cfg);
    (l.cpu_quota.unwrap_or(0), l.cpu_period.unwrap_or(0))
}
