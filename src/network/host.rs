//! Where bridge networks live: the host's own network namespace (root), or
//! the user's rootless network namespace, held by the pause process and
//! connected to the host by one pasta (podman's rootless-netns). Netlink,
//! sysctls, nft and the DNS servers all act inside it.

use super::NetworkError;
use super::netlink::Netlink;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::process::Command;

pub struct HostNs {
    /// None: the namespace we are in (the host's).
    netns: Option<File>,
}

fn setns(fd: i32) -> std::io::Result<()> {
    // SAFETY: setns on a namespace fd we hold.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl HostNs {
    pub fn host() -> HostNs {
        HostNs { netns: None }
    }

    /// The rootless network namespace of the user whose runtime dir this
    /// is.
    pub fn rootless(runroot: &Path) -> Result<HostNs, NetworkError> {
        let netns = crate::process::pause::netns(runroot).ok_or_else(|| {
            NetworkError::Invalid(
                "no rootless network namespace: the user's pause process predates it; end it (kill the berth-pause process) and retry".into(),
            )
        })?;
        Ok(HostNs { netns: Some(netns) })
    }

    pub fn netns_file(&self) -> Option<&File> {
        self.netns.as_ref()
    }

    pub fn is_rootless(&self) -> bool {
        self.netns.is_some()
    }

    pub fn netlink(&self) -> Result<Netlink, NetworkError> {
        Ok(match &self.netns {
            None => Netlink::connect()?,
            Some(ns) => Netlink::connect_in(ns.as_fd())?,
        })
    }

    /// Write a sysctl of this namespace: /proc/sys/net shows the namespace
    /// of whoever opens it, so inside another one it is written from a
    /// thread that joined it.
    pub fn sysctl(&self, path: &str, value: &str) -> Result<(), NetworkError> {
        let write = || {
            let cur = std::fs::read_to_string(path).unwrap_or_default();
            if cur.trim() == value {
                return Ok(());
            }
            std::fs::write(path, value)
        };
        let r = match &self.netns {
            None => write(),
            Some(ns) => {
                let fd = ns.as_raw_fd();
                std::thread::scope(|s| {
                    s.spawn(|| setns(fd).and_then(|()| write()))
                        .join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("sysctl thread panicked")))
                })
            }
        };
        r.map_err(|e| NetworkError::Io(format!("setting {path}"), e))
    }

    /// A command that runs inside this namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        if let Some(ns) = &self.netns {
            use std::os::unix::process::CommandExt;
            let fd = ns.as_raw_fd();
            // SAFETY: setns only, between fork and exec.
            unsafe {
                cmd.pre_exec(move || setns(fd));
            }
        }
        cmd
    }

    /// Rootless: make sure the namespace has its loopback up and a way out,
    /// one pasta for all of the user's networks (its pid in `runroot`).
    pub fn ensure_uplink(&self, runroot: &Path) -> Result<(), NetworkError> {
        let Some(ns) = &self.netns else {
            return Ok(());
        };
        let pid_file = runroot.join("rootless-netns-pasta.pid");
        let _lock = crate::state::WriterLock::acquire(&runroot.join("rootless-netns.lock"))
            .map_err(|e| NetworkError::Io("locking the rootless network namespace".into(), e))?;
        if super::usermode::pasta_alive(&pid_file) {
            return Ok(());
        }
        let mut nl = self.netlink()?;
        if let Some(lo) = nl.link_index("lo")? {
            nl.set_up(lo)?;
        }
        super::usermode::attach_pasta(ns, &pid_file)
    }
}
