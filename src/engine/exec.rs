//! Processes in running containers: what the runtime needs to join one
//! (its spec, init pid, cgroup and default user), read from the store.

use super::Engine;
use super::containers::ContainerError;
use crate::runtime::cgroups::Cgroup;
pub use crate::runtime::exec::ExecOptions;
use crate::runtime::exec::Target;
pub use crate::runtime::linux::ChildIo;
use crate::runtime::linux::RuntimeError;
use crate::state::containers::ContainerRow;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl ExecError {
    /// podman's exit code: 125 for the engine, 126/127 when the command
    /// cannot be run or found.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::Container(_) => 125,
            ExecError::Runtime(e) => e.exit_code(),
        }
    }
}

/// A process started in a container (`exec`): its pid (our child, whose
/// exit status is the process's) and podman's session ID.
pub struct ExecSession {
    pub child: i32,
    pub id: String,
    container: ContainerRow,
}

impl ExecSession {
    /// Record the process's end (podman's exec_died event, with the code
    /// and the session instead of labels).
    pub fn died(&self, code: i32) {
        if super::events::enabled() {
            let mut e = super::events::Event::container("exec_died", &self.container);
            e.exit_code = code.into();
            e.attributes = Some([("execID".to_string(), self.id.clone())].into());
            super::events::emit(e);
        }
    }
}

impl Engine {
    /// The cgroup of container `id` (None when cgroups cannot be used:
    /// rootless without delegation).
    pub fn cgroup(&self, c: &ContainerRow) -> Option<Cgroup> {
        crate::runtime::cgroup_for(self.paths.rootless, c.config().cgroup_path(&c.id))
    }

    /// What undoes a container's host state once its processes are gone.
    pub fn cleanup_after_exit(&self, c: &ContainerRow) {
        let rootfs = self.container_dir(&c.id).join("rootfs");
        crate::runtime::cleanup_after_exit(self.cgroup(c), &rootfs);
    }

    /// Start `opts` in running container `c` with `io` as its stdio (pipes
    /// or a console socket: never the caller's own files). Returns once it
    /// has been exec'd.
    pub fn exec(
        &self,
        c: &ContainerRow,
        opts: &ExecOptions,
        io: ChildIo,
    ) -> Result<ExecSession, ExecError> {
        if c.state != "running" {
            return Err(ContainerError::State(format!(
                "can only create exec sessions on running containers: container {} is {}: container state improper",
                c.name,
                c.podman_state()
            ))
            .into());
        }
        let target = self
            .exec_target(c, c.pid as i32)
            .map_err(RuntimeError::from)?;
        let child = crate::runtime::exec::spawn(&target, opts, io)?;
        super::events::container("exec", c);
        Ok(ExecSession {
            child,
            id: super::containers::new_id(),
            container: c.clone(),
        })
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
            cgroup: self.cgroup(row),
            user: row.config().user,
        })
    }
}
