//! Engine state: where things live, the SQLite database, and the writer lock.

pub mod containers;
mod db;
pub mod images;
pub mod networks;
pub mod pods;
pub mod secrets;
pub mod volumes;

pub use db::{Db, DbError};

use std::fs::File;
use std::path::{Path, PathBuf};

/// The directories one berth instance works in.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Persistent storage: database, blobs, layers.
    pub root: PathBuf,
    /// Runtime state that does not survive a reboot.
    pub runroot: PathBuf,
    pub rootless: bool,
}

impl Paths {
    /// The defaults: rootful under /var/lib and /run, rootless under the
    /// XDG data and runtime dirs (podman's rule, with berth's own name).
    pub fn default_for_user() -> Paths {
        let uid = crate::process::pause::host_ids().0;
        if uid == 0 {
            return Paths {
                root: "/var/lib/berth".into(),
                runroot: "/run/berth".into(),
                rootless: false,
            };
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/".into());
        let data = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".local/share"));
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("/tmp/berth-run-{uid}")));
        Paths {
            root: data.join("berth"),
            runroot: runtime.join("berth"),
            rootless: true,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.root.join("berth.db")
    }

    pub fn lock(&self) -> PathBuf {
        self.root.join("berth.lock")
    }

    /// Networks and their address leases, shared by every root of one user
    /// (as podman's network config dir and netavark's IPAM database are):
    /// bridges and subnets are host-wide, so two roots must not hand out
    /// one address twice. `BERTH_NETWORK_DB` overrides.
    pub fn network_db(&self) -> PathBuf {
        if let Some(p) = std::env::var_os("BERTH_NETWORK_DB").filter(|v| !v.is_empty()) {
            return p.into();
        }
        if self.rootless {
            return self.root.join("networks.db");
        }
        "/var/lib/berth/networks.db".into()
    }

    /// Runtime state of networks (DNS records and servers), host-wide too.
    pub fn network_run(&self) -> PathBuf {
        if self.rootless {
            return self.runroot.join("networks");
        }
        "/run/berth/networks".into()
    }
}

/// The exclusive writer lock shared by every berth process using one root.
/// Held for read-modify-write sequences on the store (committing an image,
/// garbage collection); released on drop, and by the kernel if we die.
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    pub fn acquire(path: &Path) -> std::io::Result<WriterLock> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        file.lock()?;
        Ok(WriterLock { _file: file })
    }
}
