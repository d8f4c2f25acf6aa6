//! Unpack a layer tar into a directory, as an overlayfs lower layer.
//!
//! OCI image-spec "Whiteouts": `.wh.NAME` hides NAME from lower layers and
//! becomes an overlayfs whiteout (a 0/0 character device); `.wh..wh..opq`
//! makes its directory opaque (the `overlay.opaque` xattr).
//!
//! Every path is resolved with openat2(RESOLVE_IN_ROOT), so neither `../`
//! nor a symlink planted by an earlier entry can make us write outside the
//! layer directory (the class of bug behind CVE-2018-15664 and
//! CVE-2019-14271); the final component is never followed.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps};
use rustix::io::Errno;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("layer entry {0:?} escapes the layer root")]
    Escape(String),
    #[error("layer entry {0:?} escapes through a symlink")]
    SymlinkEscape(String),
    #[error("layer entry {path:?}: sparse files are not supported ({how})")]
    Sparse { path: String, how: String },
    #[error("layer entry {path:?}: {source}")]
    Entry { path: String, source: io::Error },
    #[error("reading layer tar: {0}")]
    Read(io::Error),
}

/// Why a tar entry is a sparse file, if it is one: GNU type 'S' (83), or
/// a PAX header of the GNU sparse formats 0.0-1.0 (`GNU.sparse.*`).
///
/// A sparse entry declares a "real size" its data need not have: 127
/// bytes of gzip can claim 8 GiB of zeros, which writing the file out in
/// full would put on disk. Image layers never need them (docker and
/// buildah never write them), and containers/storage refuses them
/// (`unhandled tar header type 83`); so does berth, wherever it reads a
/// tar.
pub fn sparse_reason<R: Read>(entry: &mut tar::Entry<R>) -> io::Result<Option<String>> {
    if entry.header().entry_type() == tar::EntryType::GNUSparse {
        return Ok(Some("tar header type 83".into()));
    }
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            if let Ok(k) = ext.key()
                && k.starts_with("GNU.sparse.")
            {
                return Ok(Some(format!("PAX header {k}")));
            }
        }
    }
    Ok(None)
}

/// A tar reading error, without the bytes the tar crate quotes: its
/// header-field errors print the field and the first 100 bytes of the
/// "header" (`numeric field was not a number: ... when getting cksum for
/// ...`), which for something that is not a tar is the start of that file.
pub fn tar_error(e: io::Error) -> io::Error {
    let msg = e.to_string();
    if msg.contains("numeric field") {
        return io::Error::new(
            io::ErrorKind::InvalidData,
            "malformed tar header (a numeric field is not a number)",
        );
    }
    e
}

/// How to write what a layer says.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// Prefix of the overlay xattrs: "trusted.overlay." for a rootful mount,
    /// "user.overlay." for an overlay mounted with `userxattr` in a user
    /// namespace.
    pub overlay_xattr_prefix: &'static str,
    /// Failing to chown or mknod is fatal (rootful) or skipped (an
    /// unprivileged user outside a user namespace cannot do either).
    pub privileged: bool,
}

impl UnpackOptions {
    pub fn for_current_user() -> UnpackOptions {
        // Rootless (inside the pause namespace or not) overlayfs is mounted
        // with userxattr, and device nodes cannot be made.
        let rootless = crate::process::pause::host_ids().0 != 0;
        UnpackOptions {
            overlay_xattr_prefix: if rootless {
                "user.overlay."
            } else {
                "trusted.overlay."
            },
            privileged: !rootless,
        }
    }
}

/// Turn a tar path into clean relative components. Leading `/` and `./` are
/// dropped (tar convention); a `..` that climbs above the root is refused.
pub fn clean_path(raw: &str) -> Result<Vec<&str>, UnpackError> {
    let mut parts: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(UnpackError::Escape(raw.into()));
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts)
}

struct Unpacker<'a> {
    root: OwnedFd,
    opts: &'a UnpackOptions,
    /// Parent directories opened recently, by relative path.
    dirs: HashMap<String, OwnedFd>,
    /// Directory mtimes, applied at the end since creating children moves them.
    dir_times: Vec<(String, Timestamps)>,
}

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

fn entry_err(path: &str) -> impl Fn(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Entry {
        path: path.into(),
        source,
    }
}

/// Unpack `tar` into `dest` (an existing, empty directory). Returns nothing;
/// the caller hashes the stream it feeds in.
pub fn unpack<R: Read>(tar: R, dest: &Path, opts: &UnpackOptions) -> Result<(), UnpackError> {
    let root = rustix::fs::open(
        dest,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| UnpackError::Entry {
        path: dest.display().to_string(),
        source: e.into(),
    })?;
    let mut u = Unpacker {
        root,
        opts,
        dirs: HashMap::new(),
        dir_times: Vec::new(),
    };
    let mut archive = tar::Archive::new(tar);
    let mut root_mode = None;
    let read_err = |e| UnpackError::Read(tar_error(e));
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if let Some(how) = sparse_reason(&mut entry).map_err(read_err)? {
            return Err(UnpackError::Sparse { path: raw, how });
        }
        let parts = clean_path(&raw)?;
        let Some((name, parent)) = parts.split_last() else {
            // The root itself ("./"): take its metadata, not its place.
            // Its mode is set last, as containers/storage keeps it (an
            // image's 0555 / stays 0555).
            // A tar that says nothing useful (mode 0) leaves the default.
            root_mode = entry.header().mode().ok().filter(|m| m & 0o777 != 0);
            continue;
        };
        let parent = parent.join("/");
        if let Err(e) = u.entry(&mut entry, &parent, name) {
            return Err(if u.escapes(&parent, &e) {
                UnpackError::SymlinkEscape(raw)
            } else {
                entry_err(&raw)(e)
            });
        }
    }
    // Deepest first, so setting a parent's time is not undone by a child.
    for (path, times) in u.dir_times.iter().rev() {
        let fd = rustix::fs::openat2(
            &u.root,
            path.as_str(),
            OFlags::PATH | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            RESOLVE,
        );
        if let Ok(fd) = fd {
            let _ = rustix::fs::utimensat(&fd, "", times, AtFlags::EMPTY_PATH);
        }
    }
    if let Some(mode) = root_mode {
        rustix::fs::chmodat(
            &u.root,
            ".",
            Mode::from_raw_mode(mode & 0o7777),
            AtFlags::empty(),
        )
        .map_err(|e| entry_err("./")(e.into()))?;
    }
    Ok(())
}

impl Unpacker<'_> {
    /// Whether an entry under `parent` failed because `parent` leads out
    /// of the layer through a symlink. RESOLVE_IN_ROOT keeps such a path
    /// inside (an absolute or `../` target is re-rooted), where it usually
    /// names nothing: say why, not "No such file or directory".
    /// RESOLVE_BENEATH refuses (EXDEV) the same walk as soon as a symlink
    /// would leave, and `parent` has no `..` of its own (`clean_path`).
    fn escapes(&self, parent: &str, e: &io::Error) -> bool {
        let resolving = [Errno::NOENT, Errno::NOTDIR, Errno::LOOP, Errno::XDEV]
            .iter()
            .any(|x| e.raw_os_error() == Some(x.raw_os_error()));
        resolving && !parent.is_empty() && leaves_root(&self.root, parent)
    }

    /// An O_PATH fd of directory `rel` inside the root, creating missing
    /// directories (0755, as docker does for implied parents).
    fn dir(&mut self, rel: &str) -> io::Result<&OwnedFd> {
        if !self.dirs.contains_key(rel) {
            if self.dirs.len() > 64 {
                self.dirs.clear();
            }
            let fd = if rel.is_empty() {
                rustix::fs::openat(
                    &self.root,
                    ".",
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?
            } else {
                match self.open_dir(rel) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => {
                        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
                        let pfd = self.dir(parent)?;
                        match rustix::fs::mkdirat(pfd, name, Mode::from_raw_mode(0o755)) {
                            Ok(()) | Err(Errno::EXIST) => {}
                            Err(e) => return Err(e.into()),
                        }
                        self.open_dir(rel)?
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            self.dirs.insert(rel.to_string(), fd);
        }
        Ok(&self.dirs[rel])
    }

    fn open_dir(&self, rel: &str) -> rustix::io::Result<OwnedFd> {
        rustix::fs::openat2(
            &self.root,
            rel,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        parent: &str,
        name: &str,
    ) -> io::Result<()> {
        let header = entry.header().clone();
        let kind = header.entry_type();
        let xattr_prefix = self.opts.overlay_xattr_prefix;
        if name == ".wh..wh..opq" {
            let dir = self.dir(parent)?;
            let fd = rustix::fs::openat(
                dir,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            rustix::fs::fsetxattr(
                &fd,
                format!("{xattr_prefix}opaque"),
                b"y",
                rustix::fs::XattrFlags::empty(),
            )?;
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let dir = self.dir(parent)?;
            remove_existing(dir, hidden)?;
            return self.mknod(parent, hidden, FileType::CharacterDevice, 0o000, 0, 0);
        }
        let mode = header.mode().map_err(io::Error::other)? & 0o7777;
        let uid = header.uid().map_err(io::Error::other)? as u32;
        let gid = header.gid().map_err(io::Error::other)? as u32;
        let mtime = header.mtime().unwrap_or(0) as i64;
        let times = Timestamps {
            last_access: Timespec {
                tv_sec: mtime,
                tv_nsec: 0,
            },
            last_modification: Timespec {
                tv_sec: mtime,
                tv_nsec: 0,
            },
        };
        let xattrs = collect_xattrs(entry)?;
        let rel = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}/{name}")
        };
        match kind {
            tar::EntryType::Directory => {
                let dir = self.dir(parent)?;
                match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
                    Ok(()) => {}
                    Err(Errno::EXIST) => {
                        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
                        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                            remove_existing(dir, name)?;
                            rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))?;
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
                let fd = open_subdir(dir, name)?;
                self.set_meta(&fd, uid, gid, mode, &xattrs)?;
                self.dir_times.push((rel.clone(), times));
                self.dirs.remove(&rel);
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let dir = self.dir(parent)?;
                let flags = OFlags::WRONLY
                    | OFlags::CREATE
                    | OFlags::EXCL
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC;
                let fd = match rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600)) {
                    Err(Errno::EXIST) => {
                        remove_existing(dir, name)?;
                        rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?
                    }
                    other => other?,
                };
                let mut file = std::fs::File::from(fd);
                copy_data(entry, &mut file)?;
                self.set_meta(&file, uid, gid, mode, &xattrs)?;
                rustix::fs::futimens(&file, &times)?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| io::Error::other("symlink without target"))?;
                let target = String::from_utf8_lossy(&target).into_owned();
                let dir = self.dir(parent)?;
                match rustix::fs::symlinkat(target.as_str(), dir, name) {
                    Err(Errno::EXIST) => {
                        remove_existing(dir, name)?;
                        rustix::fs::symlinkat(target.as_str(), dir, name)?;
                    }
                    other => other?,
                }
                self.chown_at(parent, name, uid, gid)?;
                let dir = self.dir(parent)?;
                let _ = rustix::fs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW);
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| io::Error::other("hard link without target"))?;
                let target = String::from_utf8_lossy(&target).into_owned();
                let tparts = clean_path(&target).map_err(|_| {
                    io::Error::other(format!(
                        "hard link target {target:?} escapes the layer root"
                    ))
                })?;
                let Some((tname, tparent)) = tparts.split_last() else {
                    return Err(io::Error::other("hard link to the layer root"));
                };
                let tparent = tparent.join("/");
                let tdir = rustix::fs::openat2(
                    &self.root,
                    tparent.as_str(),
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                    RESOLVE,
                )
                .map_err(|e| {
                    if leaves_root(&self.root, &tparent) {
                        io::Error::other(format!(
                            "hard link target {target:?} escapes through a symlink"
                        ))
                    } else {
                        e.into()
                    }
                })?;
                let dir = self.dir(parent)?;
                if rel == tparts.join("/") {
                    return Ok(());
                }
                match rustix::fs::linkat(&tdir, *tname, dir, name, AtFlags::empty()) {
                    Err(Errno::EXIST) => {
                        remove_existing(dir, name)?;
                        rustix::fs::linkat(&tdir, *tname, dir, name, AtFlags::empty())?;
                    }
                    other => other?,
                }
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let ft = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let dir = self.dir(parent)?;
                remove_existing(dir, name)?;
                if self.mknod(parent, name, ft, mode, major, minor).is_ok() {
                    self.chown_at(parent, name, uid, gid)?;
                    // mknod applied the umask; the tar's mode is the truth.
                    let dir = self.dir(parent)?;
                    rustix::fs::chmodat(dir, name, Mode::from_raw_mode(mode), AtFlags::empty())?;
                    rustix::fs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)?;
                }
            }
            // pax/GNU meta headers are consumed by the tar reader; anything
            // else (e.g. Solaris ACLs) carries nothing an overlay can hold.
            _ => {}
        }
        Ok(())
    }

    fn mknod(
        &mut self,
        parent: &str,
        name: &str,
        ft: FileType,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> io::Result<()> {
        let privileged = self.opts.privileged;
        let dir = self.dir(parent)?;
        match rustix::fs::mknodat(
            dir,
            name,
            ft,
            Mode::from_raw_mode(mode),
            rustix::fs::makedev(major, minor),
        ) {
            Ok(()) => Ok(()),
            Err(Errno::PERM) if !privileged => Err(io::Error::from(Errno::PERM)),
            Err(e) => Err(e.into()),
        }
    }

    fn chown_at(&mut self, parent: &str, name: &str, uid: u32, gid: u32) -> io::Result<()> {
        let privileged = self.opts.privileged;
        let dir = self.dir(parent)?;
        let r = rustix::fs::chownat(
            dir,
            name,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        );
        match r {
            Err(Errno::PERM | Errno::INVAL) if !privileged => Ok(()),
            other => Ok(other?),
        }
    }

    fn set_meta<Fd: AsFd>(
        &self,
        fd: Fd,
        uid: u32,
        gid: u32,
        mode: u32,
        xattrs: &[(String, Vec<u8>)],
    ) -> io::Result<()> {
        match rustix::fs::fchown(
            &fd,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        ) {
            Err(Errno::PERM | Errno::INVAL) if !self.opts.privileged => {}
            other => other?,
        }
        for (k, v) in xattrs {
            match rustix::fs::fsetxattr(&fd, k.as_str(), v, rustix::fs::XattrFlags::empty()) {
                // Not every filesystem or user can hold every namespace.
                Err(Errno::PERM | Errno::NOTSUP | Errno::ACCESS)
                    if !self.opts.privileged || !k.starts_with("security.") => {}
                other => other?,
            }
        }
        // After chown: chown clears set-id bits.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
        Ok(())
    }
}

/// Whether resolving `rel` from `root` would leave `root` through a
/// symlink (an absolute target, or `..` past the top).
fn leaves_root(root: &OwnedFd, rel: &str) -> bool {
    matches!(
        rustix::fs::openat2(
            root,
            rel,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ),
        Err(Errno::XDEV)
    )
}

/// Open directory NAME in DIR for reading, never following a symlink.
fn open_subdir(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Remove whatever NAME is in DIR (file, link, or a whole tree), so a later
/// tar entry replaces an earlier one as tar semantics say.
fn remove_existing(dir: &OwnedFd, name: &str) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::ISDIR) => {
            remove_tree_at(&open_subdir(dir, name)?)?;
            rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn remove_tree_at(dir: &OwnedFd) -> io::Result<()> {
    let mut names = Vec::new();
    for e in rustix::fs::Dir::read_from(dir)? {
        let e = e?;
        let n = e.file_name().to_string_lossy().into_owned();
        if n != "." && n != ".." {
            names.push(n);
        }
    }
    for n in names {
        remove_existing(dir, &n)?;
    }
    Ok(())
}

fn collect_xattrs<R: Read>(entry: &mut tar::Entry<R>) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            if let Some(name) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) {
                out.push((name.to_string(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn copy_data<R: Read, W: Write>(r: &mut R, w: &mut W) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path("./a/b/").unwrap(), vec!["a", "b"]);
        assert_eq!(clean_path("/etc/passwd").unwrap(), vec!["etc", "passwd"]);
        assert_eq!(clean_path("a/../b").unwrap(), vec!["b"]);
        assert!(clean_path("../x").is_err());
        assert!(clean_path("a/../../x").is_err());
        assert!(clean_path("./").unwrap().is_empty());
    }

    /// A GNU sparse entry (type 'S') of 512 stored bytes claiming 8 GiB.
    fn gnu_sparse_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_path("big").unwrap();
        h.set_mode(0o644);
        h.set_size(512);
        let g = h.as_gnu_mut().unwrap();
        g.sparse[0].set_offset((8 << 30) - 512);
        g.sparse[0].set_length(512);
        g.set_real_size(8 << 30);
        h.set_cksum();
        b.append(&h, &[b'x'; 512][..]).unwrap();
        b.into_inner().unwrap()
    }

    fn opts() -> UnpackOptions {
        UnpackOptions {
            overlay_xattr_prefix: "user.overlay.",
            privileged: false,
        }
    }

    #[test]
    fn refuses_gnu_sparse_entries() {
        let t = tempfile::tempdir().unwrap();
        let e = unpack(&gnu_sparse_tar()[..], t.path(), &opts()).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"layer entry "big": sparse files are not supported (tar header type 83)"#
        );
        assert!(!t.path().join("big").exists());
    }

    #[test]
    fn refuses_pax_sparse_entries() {
        let mut b = tar::Builder::new(Vec::new());
        let pax = [
            ("GNU.sparse.major", &b"1"[..]),
            ("GNU.sparse.minor", &b"0"[..]),
            ("GNU.sparse.name", &b"big"[..]),
            ("GNU.sparse.realsize", &b"8589934592"[..]),
        ];
        b.append_pax_extensions(pax).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(4);
        b.append_data(&mut h, "GNUSparseFile.0/big", &b"1\n0\n"[..4])
            .unwrap();
        let tar = b.into_inner().unwrap();
        let t = tempfile::tempdir().unwrap();
        let e = unpack(&tar[..], t.path(), &opts()).unwrap_err();
        assert!(
            e.to_string()
                .contains("sparse files are not supported (PAX header GNU.sparse."),
            "{e}"
        );
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h
    }

    fn symlink_then_file(target: &str) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = header(tar::EntryType::Symlink, 0, 0o777);
        b.append_link(&mut h, "x", target).unwrap();
        let mut h = header(tar::EntryType::Regular, 4, 0o644);
        b.append_data(&mut h, "x/evil", &b"evil"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn escape_through_a_symlink_is_named() {
        for target in ["/nonexistent-dir", "../../../../nonexistent-dir"] {
            let t = tempfile::tempdir().unwrap();
            let root = t.path().join("root");
            std::fs::create_dir(&root).unwrap();
            let e = unpack(&symlink_then_file(target)[..], &root, &opts()).unwrap_err();
            assert_eq!(
                e.to_string(),
                r#"layer entry "x/evil" escapes through a symlink"#,
                "{target}"
            );
            assert!(!t.path().join("nonexistent-dir").exists());
        }
        // A dangling link inside the layer is not an escape.
        let t = tempfile::tempdir().unwrap();
        let e = unpack(&symlink_then_file("nowhere")[..], t.path(), &opts()).unwrap_err();
        assert!(!e.to_string().contains("escapes"), "{e}");
    }

    #[test]
    fn tar_errors_do_not_quote_the_input() {
        let mut junk = b"SECRET-MARKER:root:$6$salt$hash:19000:0:99999:7:::\n".repeat(20);
        junk.truncate(1024);
        let t = tempfile::tempdir().unwrap();
        let e = unpack(&junk[..], t.path(), &opts()).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
}
