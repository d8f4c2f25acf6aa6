//! Private modes for everything under the root and the runroot: dirs 0700,
//! files 0600, whatever the umask.
//!
//! A store holds what images and containers put there: setuid-root
//! binaries and device nodes in layers and upper dirs, `-e` secrets in
//! `config.json`, the database and the logs. containers/storage keeps its
//! graph root and run root 0700 (`MkdirAll(graphRoot, 0o700)`) so that no
//! other local user can reach any of it; berth does the same. Container
//! rootfs access still works below a 0700 parent: overlayfs checks the
//! mounter's credentials on its lower and upper dirs, and bind mounts do
//! not check the mount source's parents.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Create `path` (and missing parents) as a private dir, or make an
/// existing one private again: a store left 0755 by an older berth gets
/// its mode back on the next command. A dir someone else owns (a squatted
/// `/tmp/berth-run-UID`) cannot be chmodded and fails here.
pub fn dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    restrict(path, DIR_MODE)
}

/// Create `path` as an empty private file if it is missing, or make an
/// existing one private (SQLite creates files 0644 and gives a database's
/// -wal and -shm files the database's own mode, so it is created first).
pub fn file(path: &Path) -> io::Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(f) => f.set_permissions(fs::Permissions::from_mode(FILE_MODE)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => restrict(path, FILE_MODE),
        Err(e) => Err(e),
    }
}

/// Write `bytes` to `path` (created or truncated) as a private file.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    f.write_all(bytes)
}

/// A new private file for writing (`File::create` with mode 0600); it must
/// not exist yet.
pub fn create_new(path: &Path) -> io::Result<fs::File> {
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// chmod `path` to `mode` unless it already has it (one stat on the
/// common path, no write to a store that is already right).
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    let m = fs::metadata(path)?;
    if m.permissions().mode() & 0o7777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn creates_and_repairs_private_modes() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b");
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);

        let f = d.join("db");
        file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        fs::write(&f, b"keep").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(fs::read(&f).unwrap(), b"keep");

        let w = d.join("config.json");
        write(&w, b"{}").unwrap();
        assert_eq!(mode(&w), 0o600);
        let n = d.join("blob");
        create_new(&n).unwrap();
        assert_eq!(mode(&n), 0o600);
        assert!(create_new(&n).is_err());
    }
}
