//! The runtime: OCI spec generation and its execution, in-process (the
//! built-in runtime) or by an external OCI runtime (`--runtime`).

use std::path::Path;

pub mod caps;
pub mod cgroup_stats;
pub mod cgroups;
pub mod exec;
pub mod external;
pub mod init;
pub mod linux;
pub mod mounts;
pub mod options;
pub mod seccomp;
pub mod tty;
pub mod user;
pub mod volumes;

/// The annotation carrying the overlay options for the built-in runtime,
/// which mounts the rootfs inside the container's own mount namespace.
pub const OVERLAY_ANNOTATION: &str = "io.berth.rootfs.overlay";

/// Volumes to fill from the image on first use: a JSON list of
/// [destination, data dir, marker file].
pub const COPY_UP_ANNOTATION: &str = "io.berth.volumes.copy-up";

/// The container's ID, for the runtime's messages (runc gets it on its
/// command line).
pub const CONTAINER_ID_ANNOTATION: &str = "io.berth.container.id";

/// Marks a pod's infra container (engine::pods). Its value "true": the
/// runtime holds the namespaces with a pause of its own instead of
/// executing anything; "image": the infra image's command holds them.
pub const INFRA_ANNOTATION: &str = "io.berth.infra";

/// `--ipc container:X` (a pod's members): the mount namespace of the
/// container whose /dev/shm this one shares with its IPC namespace
/// (`/proc/PID/ns/mnt`, filled in by the monitor at each start).
pub const SHM_FROM_ANNOTATION: &str = "io.berth.shm-from";

/// docker's RAMInBytes: "32m", "1g", "512k", "100" (bytes), case-insensitive,
/// an optional trailing "b".
pub fn parse_bytes(s: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1i64 << 10),
        'm' => (&t[..t.len() - 1], 1 << 20),
        'g' => (&t[..t.len() - 1], 1 << 30),
        't' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.parse().ok()?;
    (v >= 0.0).then_some((v * mult as f64) as i64)
}

/// The cgroup of container `id` (None when cgroups cannot be used:
/// rootless without delegation).
pub fn cgroup_for(rootless: bool, path: Option<String>) -> Option<cgroups::Cgroup> {
    if rootless {
        return None;
    }
    let path = path?;
    host_cgroup_version().map(|v| cgroups::Cgroup::at(v, Path::new(CGROUP_ROOT), path))
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The host's kind of cgroups, read once: it does not change while berth
/// runs, and `stats` and the spec of every container ask for it.
pub fn host_cgroup_version() -> Option<cgroups::Version> {
    static VERSION: std::sync::OnceLock<Option<cgroups::Version>> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| cgroups::detect(Path::new(CGROUP_ROOT)))
}

/// What is left to undo on the host once a container's processes are gone:
/// its cgroup, and the rootfs an external runtime needed mounted on the host.
pub fn cleanup_after_exit(cgroup: Option<cgroups::Cgroup>, rootfs: &Path) {
    if let Some(cg) = cgroup {
        cg.destroy();
    }
    let _ = rustix::mount::unmount(rootfs, rustix::mount::UnmountFlags::DETACH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("32m"), Some(32 << 20));
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        assert_eq!(parse_bytes("512kb"), Some(512 << 10));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("1.5k"), Some(1536));
        assert_eq!(parse_bytes("lots"), None);
    }
}
