//! Processes in running containers: what the runtime needs to join one
//! (its spec, init pid, cgroup and default user), read from the store.

use super::Engine;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::exec::Target;
use crate::state::containers::ContainerRow;

impl Engine {
    /// The cgroup of container `id` (None when cgroups cannot be used:
    /// rootless without delegation).
    pub fn cgroup(&self, id: &str) -> Option<Cgroup> {
        crate::runtime::cgroup_for(self.paths.rootless, id)
    }

    /// What undoes a container's host state once its processes are gone.
    pub fn cleanup_after_exit(&self, c: &ContainerRow) {
        let rootfs = self.container_dir(&c.id).join("rootfs");
        crate::runtime::cleanup_after_exit(self.cgroup(&c.id), &rootfs);
    }

    /// The running container `row` (init `pid`) as the runtime joins it.
    pub fn exec_target(&self, row: &ContainerRow, pid: i32) -> std::io::Result<Target> {
        let spec = serde_json::from_slice(&std::fs::read(
            self.container_dir(&row.id).join("config.json"),
        )?)
        .map_err(std::io::Error::other)?;
        Ok(Target {
            spec,
            pid,
            cgroup: self.cgroup(&row.id),
            user: row.config().user,
        })
    }
}
