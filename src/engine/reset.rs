//! `system reset`: everything of one root gone, as podman's
//! libpod/reset.go does it — containers (killed, their monitors with
//! them), images, manifest lists and the build cache, volumes, secrets,
//! the networks nothing else uses (bridges, firewall chains, DNS
//! servers), the rootless pause process and its network namespace, then
//! the root and runroot directories themselves (the events log with the
//! runroot).

use super::Engine;
use std::path::{Path, PathBuf};

impl Engine {
    /// Remove everything of this root; every step is tried, and every
    /// failure returned (teardown keeps going). The engine must not be
    /// used afterwards: its database is deleted.
    pub fn reset(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let mut note = |what: &str, e: &dyn std::fmt::Display| errors.push(format!("{what}: {e}"));
        match self.containers() {
            Ok(all) => {
                for c in all {
                    if let Err(e) = self.remove_container(&c, true) {
                        note(&format!("removing container {}", c.id), &e);
                    }
                }
            }
            Err(e) => note("listing containers", &e),
        }
        if let Ok(lists) = crate::image::lists::Lists::open(self.store.root())
            && let Ok(all) = lists.all()
        {
            for l in all {
                if let Err(e) = lists.remove(&l.id) {
                    note(&format!("removing manifest list {}", l.id), &e);
                }
            }
        }
        if let Err(e) = self.prune_build_cache() {
            note("removing the build cache", &e);
        }
        match self.images() {
            Ok(all) => {
                for rec in all {
                    if let Err(e) = self.delete_image(&rec.id) {
                        note(&format!("removing image {}", rec.id.hex()), &e);
                    }
                }
            }
            Err(e) => note("listing images", &e),
        }
        match self.volumes() {
            Ok(all) => {
                for v in all {
                    if let Err(e) = self.remove_volume(&v.name, true) {
                        note(&format!("removing volume {}", v.name), &e);
                    }
                }
            }
            Err(e) => note("listing volumes", &e),
        }
        match self.secrets() {
            Ok(all) => {
                for s in all {
                    if let Err(e) = self.remove_secret(&s.id) {
                        note(&format!("removing secret {}", s.name), &e);
                    }
                }
            }
            Err(e) => note("listing secrets", &e),
        }
        errors.extend(self.reset_networks());
        if self.paths.rootless {
            stop_rootless_helpers(&self.paths.runroot);
        }
        for dir in [&self.paths.root, &self.paths.runroot] {
            if let Err(e) = remove_root_dir(dir) {
                errors.push(e);
            }
        }
        errors
    }

    /// The networks (but the default one, as podman keeps it) that no
    /// container of any root is attached to; and once no container
    /// anywhere uses a berth network, the default bridge and berth's
    /// firewall table too.
    fn reset_networks(&self) -> Vec<String> {
        let mut errors = Vec::new();
        match self.prune_networks(&super::prune::PruneFilter::default()) {
            Ok(r) => errors.extend(r.errors),
            Err(e) => errors.push(format!("removing networks: {e}")),
        }
        let Ok(nd) = self.netdb() else {
            return errors;
        };
        let Ok(nets) = crate::state::networks::all(&nd.conn) else {
            return errors;
        };
        let mut in_use = false;
        for n in &nets {
            in_use |= crate::state::networks::endpoints_of_network(&nd.conn, &n.name)
                .map(|e| !e.is_empty())
                .unwrap_or(true);
        }
        if in_use {
            return errors;
        }
        // Rootless, the namespace holding them dies with the pause process.
        if self.paths.rootless {
            return errors;
        }
        let ns = crate::network::host::HostNs::host();
        for n in nets
            .iter()
            .filter(|n| n.name == crate::network::DEFAULT_NETWORK)
        {
            // The record stays (podman's default network is never
            // removed); its bridge is made again by the next container.
            // A bridge with ports still serves containers this store does
            // not know (another network database): it stays.
            let dir = Path::new("/sys/class/net").join(&n.interface);
            let ports = std::fs::read_dir(dir.join("brif"))
                .map(|d| d.count())
                .unwrap_or(0);
            if dir.exists() && ports == 0 {
                errors.extend(crate::network::remove_bridge(&ns, n));
            }
        }
        // The firewall table goes with the last berth bridge.
        let bridges_left = std::fs::read_dir("/sys/class/net")
            .map(|d| {
                d.flatten().any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(crate::network::BRIDGE_PREFIX)
                        && e.path().join("bridge").exists()
                })
            })
            .unwrap_or(true);
        if nets.len() <= 1 && !bridges_left {
            let _ = crate::network::nft::apply(
                &ns,
                "system reset",
                &format!("delete table {}\n", crate::network::nft::TABLE),
            );
        }
        errors
    }
}

/// Rootless: the pause process (holder of the user and network
/// namespaces) and the pasta that gave that namespace its way out.
fn stop_rootless_helpers(runroot: &Path) {
    // Killed and gone before reset returns: a pidfd turns readable once the
    // process has exited, so nothing of this root outlives the command.
    let kill = |pid: i32| {
        let Some(p) = rustix::process::Pid::from_raw(pid) else {
            return;
        };
        let pidfd = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok();
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        if let Some(fd) = pidfd {
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            let limit = rustix::event::Timespec {
                tv_sec: 5,
                tv_nsec: 0,
            };
            let _ = rustix::event::poll(&mut fds, Some(&limit));
        }
    };
    if let Ok(s) = std::fs::read_to_string(runroot.join("rootless-netns-pasta.pid"))
        && let Ok(pid) = s.trim().parse::<i32>()
    {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.starts_with("pasta") || comm.starts_with("passt") {
            kill(pid);
        }
    }
    if let Ok(s) = std::fs::read_to_string(runroot.join("pause.pid"))
        && let Some((pid, start)) = s.trim().split_once(' ')
        && let (Ok(pid), Ok(start)) = (pid.parse::<i64>(), start.parse::<u64>())
        && crate::process::alive(pid, start)
    {
        kill(pid as i32);
    }
}

/// Mount points at or below `dir`, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(unescape)
        .filter(|p| p.starts_with(dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v.dedup();
    v
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && let Ok(n) = u8::from_str_radix(&s[i + 1..i + 4], 8)
        {
            out.push(n);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// Delete a root or runroot: first whatever is still mounted beneath it
/// (detached, deepest first), and never through a mount that would not
/// go — deleting through a bind mount would delete the host's files.
fn remove_root_dir(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        return Ok(());
    }
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR")
        && Path::new(&run) == dir
    {
        return Err(format!(
            "failed to remove {}, since it is the same as XDG_RUNTIME_DIR",
            dir.display()
        ));
    }
    for m in mounts_under(dir) {
        let _ = rustix::mount::unmount(&m, rustix::mount::UnmountFlags::DETACH);
    }
    if let Some(m) = mounts_under(dir).first() {
        return Err(format!(
            "{} is still mounted: unmount it, then remove {}",
            m.display(),
            dir.display()
        ));
    }
    std::fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape("/a\\040b\\011c"), PathBuf::from("/a b\tc"));
        assert_eq!(unescape("/plain"), PathBuf::from("/plain"));
    }
}
