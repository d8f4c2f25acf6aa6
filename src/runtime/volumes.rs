//! Filling a new volume from the image (docker's and podman's copy-up):
//! the first time a volume is mounted over a path that has content in the
//! image, that content is copied in, owners and modes kept. Runs in the
//! container's mount namespace with the rootfs mounted, before the volume
//! is bound over it; the image side is read through openat2(RESOLVE_IN_ROOT)
//! so a symlink in the image cannot make us copy host files in.

use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

pub fn copy_up(root: &OwnedFd, list: &str) -> std::io::Result<()> {
    let entries: Vec<(String, String, String)> =
        serde_json::from_str(list).map_err(std::io::Error::other)?;
    for (dest, data, marker) in entries {
        // podman's NeedsChown turns false at the first mount, NeedsCopyUp
        // only once an image directory with content met the volume.
        let used = Path::new(&marker).with_file_name("used");
        if !used.exists() {
            std::fs::write(&used, b"")?;
        }
        if Path::new(&marker).exists() {
            continue;
        }
        let empty = std::fs::read_dir(&data)?.next().is_none();
        let src = rustix::fs::openat2(
            root,
            dest.trim_start_matches('/'),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        );
        let Ok(src) = src else { continue };
        let from = format!("/proc/self/fd/{}", src.as_raw_fd());
        if std::fs::read_dir(&from)?.next().is_none() {
            continue;
        }
        if empty {
            copy_tree(Path::new(&from), Path::new(&data))?;
            // The volume's root takes the image directory's owner and mode.
            let m = std::fs::metadata(&from)?;
            let _ = std::os::unix::fs::chown(&data, Some(m.uid()), Some(m.gid()));
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
        }
        std::fs::write(&marker, b"")?;
    }
    Ok(())
}

/// Copy a directory tree, never following symlinks; owners, modes and
/// hard-linked files are copied as separate files.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let src = e.path();
        let dst = to.join(e.file_name());
        let m = std::fs::symlink_metadata(&src)?;
        let ft = m.file_type();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            let _ = std::os::unix::fs::lchown(&dst, Some(m.uid()), Some(m.gid()));
            continue;
        }
        if ft.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_tree(&src, &dst)?;
        } else if ft.is_file() {
            std::fs::copy(&src, &dst)?;
        } else {
            // Devices, fifos and sockets are not volume content.
            continue;
        }
        // chown first: it clears set-id bits that the mode then restores.
        let _ = std::os::unix::fs::lchown(&dst, Some(m.uid()), Some(m.gid()));
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
    }
    Ok(())
}
