//! `cp`'s tree mechanics: a container root opened once and resolved in
//! (RESOLVE_IN_ROOT), trees read into a tar and removed one name at a
//! time through descriptors, never following a link, and the pipe from
//! the tar writer to the unpacker.

use super::CopyError;
use crate::storage::unpack::{UnpackOptions, unpack};
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, StatxFlags};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Kernel filesystems mounted in a running container (/proc, /sys, ...):
/// the host kernel's state, not the container's files. podman copies from
/// the container's storage, where they are empty directories; berth reads
/// a running container through /proc/PID/root and must not wander in.
pub(super) fn kernel_fs(fd: BorrowedFd<'_>) -> bool {
    use rustix::fs::{PROC_SUPER_MAGIC, fstatfs};
    // statfs(2) magic numbers; all fit 32 bits, whatever the width of f_type.
    const KERNEL: [u32; 17] = [
        PROC_SUPER_MAGIC as u32,
        0x6265_6572, // sysfs
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x1cd1,      // devpts
        0x1980_0202, // mqueue
        0x7363_6673, // securityfs
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0xcafe_4a11, // bpf
        0x6265_6570, // configfs
        0x6165_676c, // pstore
        0xde5e_81e4, // efivarfs
        0xf97c_ff8c, // selinuxfs
        0x6573_5543, // fusectl
        0x4249_4e4d, // binfmt_misc
        0x6e73_6673, // nsfs
    ];
    fstatfs(fd).is_ok_and(|s| KERNEL.contains(&(s.f_type as u32)))
}

/// The mount an fd is on (statx STATX_MNT_ID, Linux 5.8).
pub(super) fn mount_id(fd: BorrowedFd<'_>) -> Option<u64> {
    rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)
        .ok()
        .filter(|s| s.stx_mask & StatxFlags::MNT_ID.bits() != 0)
        .map(|s| s.stx_mnt_id)
}

/// An fd's File view (for metadata and reading): an O_PATH fd reopened
/// through /proc/self/fd, which reaches the same inode and nothing else.
pub(super) fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> std::io::Result<File> {
    let fd = rustix::fs::open(
        format!("/proc/self/fd/{}", fd.as_raw_fd()),
        flags | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

pub(super) fn metadata(fd: BorrowedFd<'_>) -> std::io::Result<std::fs::Metadata> {
    // fstat of an O_PATH fd: a symlink's own metadata when opened NOFOLLOW.
    File::from(rustix::io::dup(fd)?).metadata()
}

/// Writes a tree into a tar stream through fds only: every child is opened
/// by its single name relative to its parent's fd with O_NOFOLLOW, so a
/// running container swapping a directory for a symlink mid-copy cannot
/// send the walk out of its root (CVE-2018-15664's race).
pub(super) struct TreeWriter<W: Write> {
    tar: tar::Builder<W>,
    /// The mount the copied path is on: directories on other mounts below
    /// it (a running container's /proc, /sys, /dev) are copied empty, as
    /// podman's copy from the container's storage sees them.
    mount: Option<u64>,
}

impl<W: Write> TreeWriter<W> {
    /// `stay_on_mount`: a container's tree, whose nested mounts are not
    /// copied; a host tree the user named is copied whole.
    pub(super) fn new(out: W, top: BorrowedFd<'_>, stay_on_mount: bool) -> Self {
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        TreeWriter {
            tar,
            mount: if stay_on_mount { mount_id(top) } else { None },
        }
    }

    /// `fd` (an O_PATH fd, already resolved) and everything below it, as `name`.
    pub(super) fn append(&mut self, fd: BorrowedFd<'_>, name: &str) -> std::io::Result<()> {
        let md = metadata(fd)?;
        let ft = md.file_type();
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&md, tar::HeaderMode::Complete);
        if ft.is_dir() {
            h.set_size(0);
            self.tar.append_data(&mut h, name, std::io::empty())?;
            let nested_mount = self.mount.is_some() && mount_id(fd) != self.mount;
            if !nested_mount && !kernel_fs(fd) {
                self.children(fd, name)?;
            }
        } else if ft.is_file() {
            // Exactly the size the header gives, should a running
            // container grow or shrink the file meanwhile.
            let size = md.len();
            let f = reopen(fd, OFlags::RDONLY)?;
            let data = std::io::Read::take(
                std::io::Read::chain(std::io::Read::take(f, size), std::io::repeat(0)),
                size,
            );
            self.tar.append_data(&mut h, name, data)?;
        } else if ft.is_symlink() {
            let target = rustix::fs::readlinkat(fd, "", Vec::new())?;
            let target = PathBuf::from(
                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(
                    target.into_bytes(),
                ),
            );
            h.set_size(0);
            self.tar.append_link(&mut h, name, target)?;
        } else if ft.is_socket() {
            // A socket cannot be archived (tar has no type for it); skip
            // it as GNU tar does.
        } else {
            // Fifos and device nodes: the header says it all.
            h.set_size(0);
            if ft.is_char_device() || ft.is_block_device() {
                h.set_device_major(rustix::fs::major(md.rdev()))?;
                h.set_device_minor(rustix::fs::minor(md.rdev()))?;
            }
            self.tar.append_data(&mut h, name, std::io::empty())?;
        }
        Ok(())
    }

    pub(super) fn children(&mut self, dir: BorrowedFd<'_>, name: &str) -> std::io::Result<()> {
        let readable = reopen(dir, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let mut names: Vec<std::ffi::CString> = rustix::fs::Dir::read_from(&readable)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_owned())
            .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
            .collect();
        names.sort();
        for n in names {
            let child = rustix::fs::openat(
                dir,
                n.as_c_str(),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let child_name = format!("{name}/{}", n.to_string_lossy());
            self.append(child.as_fd(), &child_name)?;
        }
        Ok(())
    }

    pub(super) fn finish(self) -> std::io::Result<W> {
        self.tar.into_inner()
    }
}

/// Tar `src` as `name` on one thread and unpack it under `dest_root` on
/// this one, through a pipe: memory stays flat whatever the size.
pub(super) fn stream(
    src: OwnedFd,
    from_container: bool,
    name: &str,
    children_only: bool,
    dest_root: &Path,
    opts: &UnpackOptions,
) -> Result<(), CopyError> {
    let (r, w) = std::io::pipe()?;
    let name = name.to_string();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let out = std::io::BufWriter::with_capacity(1 << 20, w);
        let mut t = TreeWriter::new(out, src.as_fd(), from_container);
        if children_only {
            // `SRC/.` into an existing directory: what is in it, not itself.
            t.children(src.as_fd(), if name.is_empty() { "." } else { &name })?;
        } else {
            t.append(src.as_fd(), &name)?;
        }
        t.finish()?.flush()?;
        Ok(())
    });
    let unpacked = unpack(
        std::io::BufReader::with_capacity(1 << 20, r),
        dest_root,
        opts,
    );
    let written = writer
        .join()
        .map_err(|_| CopyError::msg("the archiving thread panicked"))?;
    match (written, unpacked) {
        (Ok(()), Ok(())) => Ok(()),
        (Ok(()), Err(u)) => Err(CopyError::chain(&u)),
        // The unpacker stopped reading: its error is the story, not the
        // writer's broken pipe.
        (Err(w), Err(u)) if w.kind() == std::io::ErrorKind::BrokenPipe => Err(CopyError::chain(&u)),
        (Err(w), _) => Err(w.into()),
    }
}

/// A container's root, opened once: every path in it resolves with
/// RESOLVE_IN_ROOT from here, so "/" and ".." stop at it and no symlink
/// leads out of it.
pub(super) struct Root(pub(super) OwnedFd);

impl Root {
    pub(super) fn open(path: &Path) -> std::io::Result<Root> {
        Ok(Root(rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?))
    }

    /// `path` inside the root ("/" or "" is the root itself).
    pub(super) fn resolve(&self, path: &str, flags: OFlags) -> std::io::Result<OwnedFd> {
        let rel = path.trim_start_matches('/');
        Ok(rustix::fs::openat2(
            &self.0,
            if rel.is_empty() { "." } else { rel },
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )?)
    }

    pub(super) fn is(&self, fd: BorrowedFd<'_>) -> bool {
        match (metadata(self.0.as_fd()), metadata(fd)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    /// The name a copy of `path` (resolved to `fd`) takes, as podman names
    /// it: a symlink is followed and the copy named after its target
    /// (`/hn -> /etc/hostname` copies as `hostname`); the root, however
    /// reached (`/`, a link to `/`, `../..`), has no name of its own and
    /// its contents are copied.
    pub(super) fn source_name(&self, path: &str, fd: BorrowedFd<'_>) -> Option<String> {
        if self.is(fd) {
            return None;
        }
        let own = || {
            std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        };
        let last = base_name(path);
        if matches!(last.as_str(), "." | "..") {
            return own().or(Some(last));
        }
        let link = self.resolve(path, OFlags::PATH | OFlags::NOFOLLOW).ok()?;
        if !metadata(link.as_fd()).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(last);
        }
        let target = rustix::fs::readlinkat(&link, "", Vec::new()).ok()?;
        let target = target.to_string_lossy();
        match Path::new(target.as_ref()).components().next_back() {
            Some(std::path::Component::Normal(n)) => Some(n.to_string_lossy().into_owned()),
            _ => own().or(Some(last)),
        }
    }
}

pub(super) fn base_name(p: &str) -> String {
    Path::new(p.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

/// Remove `rel` (a file or a whole tree) inside `root`, through fds opened
/// one name at a time without following links.
pub(super) fn remove_at(root: &Root, rel: &str) -> std::io::Result<()> {
    let p = Path::new(rel);
    let parent = p
        .parent()
        .map(|x| x.display().to_string())
        .unwrap_or_default();
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = root.resolve(&parent, OFlags::PATH | OFlags::DIRECTORY)?;
    remove_tree(dir.as_fd(), &name)
}

pub(super) fn remove_tree(dir: BorrowedFd<'_>, name: &str) -> std::io::Result<()> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Directory {
        return Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?);
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let names: Vec<String> = rustix::fs::Dir::read_from(&sub)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    for n in names {
        remove_tree(sub.as_fd(), &n)?;
    }
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}
