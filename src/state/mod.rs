//! Engine state: where things live, the SQLite database, and the writer lock.

pub mod containers;
mod db;
pub mod images;
pub mod networks;
pub mod pods;
pub mod secrets;
pub mod volumes;

pub use db::{Db, DbError};

/// podman's lookup of a named object (`table` with `id` and `name`
/// columns): an exact ID, then an exact name, then a unique ID prefix of
/// at most `id_len` hex digits. Err(n) when nothing (0) or more than one
/// (n > 1) matches.
pub(crate) fn lookup_named<T>(
    conn: &rusqlite::Connection,
    table: &str,
    cols: &str,
    id_len: usize,
    word: &str,
    row: fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Result<T, usize>, DbError> {
    use rusqlite::OptionalExtension;
    let exact = conn
        .query_row(
            &format!("SELECT {cols} FROM {table} WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC"),
            [word],
            row,
        )
        .optional()?;
    if let Some(s) = exact {
        return Ok(Ok(s));
    }
    if word.is_empty() || word.len() > id_len || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Err(0));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT {cols} FROM {table} WHERE substr(id, 1, ?2) = ?1 LIMIT 2"
    ))?;
    let mut found: Vec<T> = stmt
        .query_map(rusqlite::params![word, word.len() as i64], row)?
        .collect::<Result<_, _>>()?;
    Ok(match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(n),
    })
}

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
