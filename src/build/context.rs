//! The build context, read beneath its root.
//!
//! Every path a build takes from the context (COPY/ADD sources and the glob
//! walk that finds them, the trees they copy, ADD's archives, RUN
//! `--mount=type=bind` sources, `.dockerignore` and the default Dockerfile)
//! is opened with openat2(RESOLVE_BENEATH) from an O_PATH descriptor of the
//! context root. The kernel refuses (EXDEV) any symlink, `..` or absolute
//! link target that would leave the root, at every component and with no
//! window between check and use; berth reports that as "path escapes the
//! build context" rather than copy the host's /etc/shadow into an image.
//! buildah (podman build) and buildkit resolve such links inside the
//! context instead (buildah's copier chroots into it, buildkit's fsutil
//! walks it scoped), so the build fails on a missing file; refusing by
//! name tells the user which source and why.
//!
//! Docker's rules that stay: a symlink named as a source is followed
//! (beneath the root); links inside a copied tree are copied as links and
//! a walk never descends through one. What `.dockerignore` leaves out is
//! judged on the named path and on the path it leads to, so an in-context
//! link does not reach an excluded file either.

use super::copy::{Entry, Kind, Owner, clean, fnmatch, has_glob, join};
use super::ignore::Ignore;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Beneath the root, and never through /proc's magic links.
const BENEATH: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// Resolving the path would leave the context (the kernel's EXDEV).
    #[error("{0}: path escapes the build context")]
    Escapes(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl ContextError {
    fn of(path: &str, e: Errno) -> ContextError {
        io_err(path, e.into())
    }
}

/// A context path for a message on one line: a name with a newline or
/// another control character in it is shown quoted and escaped.
pub fn shown(p: &str) -> String {
    if p.chars().any(char::is_control) {
        format!("{p:?}")
    } else {
        p.to_string()
    }
}

/// A COPY/ADD/bind source found in the context.
pub struct Source {
    /// The context path as named or matched; its last component names the
    /// copy (`COPY inlink /d/` makes `/d/inlink`).
    pub name: String,
    /// Where it leads beneath the root, symlinks followed ("" the root);
    /// no component of it was a symlink when it was resolved.
    pub real: PathBuf,
    pub is_dir: bool,
}

/// A regular file of the context, reopened beneath the root when read.
#[derive(Clone)]
pub struct ContextFile {
    dir: Arc<OwnedFd>,
    rel: PathBuf,
}

impl ContextFile {
    /// Opened through no symlink: the file read is the one walked.
    pub fn open(&self) -> std::io::Result<std::fs::File> {
        open_regular(&self.dir, &self.rel, false)
    }
}

/// The build context: its root, open, and what `.dockerignore` leaves out.
pub struct Context {
    dir: Arc<OwnedFd>,
    /// The root's real path (what the kernel resolved the fd to).
    root: PathBuf,
    pub ignore: Ignore,
}

/// openat2 beneath `dir` ("" is `dir` itself). Without `follow`, no
/// symlink at all is followed (RESOLVE_NO_SYMLINKS): the path was resolved
/// once and must still be what was checked; a trailing link is then
/// opened itself with O_PATH|O_NOFOLLOW.
fn beneath(dir: &OwnedFd, rel: &Path, flags: OFlags, follow: bool) -> rustix::io::Result<OwnedFd> {
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let resolve = if follow {
        BENEATH
    } else {
        BENEATH | ResolveFlags::NO_SYMLINKS
    };
    rustix::fs::openat2(dir, rel, flags | OFlags::CLOEXEC, Mode::empty(), resolve)
}

/// A regular file beneath `dir`, open for reading. O_NONBLOCK: a fifo
/// put in the context must not hang the build; it is refused below.
fn open_regular(dir: &OwnedFd, rel: &Path, follow: bool) -> std::io::Result<std::fs::File> {
    let fd = beneath(dir, rel, OFlags::RDONLY | OFlags::NONBLOCK, follow)?;
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(std::fs::File::from(fd))
}

/// The path the kernel has for an open fd. A source is bound by this
/// path, so the runtime mounts exactly what was checked.
fn fd_path(fd: &impl AsRawFd) -> std::io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn kind_of(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Context {
    /// Open the context root (a directory).
    pub fn open(root: &Path, ignore: Ignore) -> std::io::Result<Context> {
        let dir = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let root = fd_path(&dir)?;
        Ok(Context {
            dir: Arc::new(dir),
            root,
            ignore,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn visible(&self, rel: &str) -> bool {
        rel.is_empty() || !self.ignore.excluded(rel)
    }

    /// A file of the context read whole (`.dockerignore`, the default
    /// Dockerfile), None when there is none. Links in the context are
    /// followed, beneath it. `.dockerignore` does not apply: Docker sends
    /// these files regardless.
    pub fn read_file(&self, name: &str) -> Result<Option<String>, ContextError> {
        let rel = clean(name);
        let mut f = match open_regular(&self.dir, Path::new(&rel), true) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => return Ok(None),
            Err(e) => return Err(io_err(&rel, e)),
        };
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(|e| io_err(&rel, e))?;
        Ok(Some(text))
    }

    /// Where context path `rel` leads, symlinks followed beneath the root;
    /// None when it is not there or `.dockerignore` leaves it (or what it
    /// leads to) out.
    pub fn resolve(&self, rel: &str) -> Result<Option<Source>, ContextError> {
        let rel = clean(rel);
        if !self.visible(&rel) {
            return Ok(None);
        }
        let fd = match beneath(&self.dir, Path::new(&rel), OFlags::PATH, true) {
            Ok(fd) => fd,
            Err(Errno::NOENT | Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(ContextError::of(&rel, e)),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| ContextError::of(&rel, e))?;
        let real = self.relative(&fd, &rel)?;
        if !self.visible(&text(&real)) {
            return Ok(None);
        }
        Ok(Some(Source {
            name: rel,
            real,
            is_dir: kind_of(&st) == FileType::Directory,
        }))
    }

    /// An open fd's path relative to the root.
    fn relative(&self, fd: &OwnedFd, rel: &str) -> Result<PathBuf, ContextError> {
        let p = fd_path(fd).map_err(|e| io_err(rel, e))?;
        // RESOLVE_BENEATH already kept it inside; a context moved away
        // while the build runs is not followed either.
        let below = p
            .strip_prefix(&self.root)
            .map_err(|_| ContextError::Escapes(shown(rel)))?;
        Ok(below.to_path_buf())
    }

    /// A source that is a regular file, open for reading beneath the root.
    pub fn file(&self, src: &Source) -> Result<std::fs::File, ContextError> {
        open_regular(&self.dir, &src.real, false).map_err(|e| io_err(&src.name, e))
    }

    /// The real host path of a source, for a bind mount.
    pub fn host_path(&self, src: &Source) -> PathBuf {
        self.root.join(&src.real)
    }

    /// Names in a context directory (sorted), and the directory open for
    /// reading; the directory is reached beneath the root.
    fn read_dir(&self, rel: &Path, follow: bool) -> rustix::io::Result<(OwnedFd, Vec<OsString>)> {
        let fd = beneath(&self.dir, rel, OFlags::RDONLY | OFlags::DIRECTORY, follow)?;
        let mut names = Vec::new();
        for e in rustix::fs::Dir::read_from(&fd)? {
            let e = e?;
            let n = e.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(OsStr::from_bytes(n).to_os_string());
            }
        }
        names.sort();
        Ok((fd, names))
    }

    /// The sources a COPY/ADD word names: itself, or what its glob matches
    /// component by component, in order. A match that leads out of the
    /// context is an error, not a silent skip: the Dockerfile asked for it.
    pub fn sources(&self, src: &str) -> Result<Vec<Source>, ContextError> {
        let rel = clean(src);
        if !has_glob(&rel) {
            return Ok(self.resolve(&rel)?.into_iter().collect());
        }
        let mut found = vec![String::new()];
        for comp in rel.split('/') {
            let pat: Vec<char> = comp.chars().collect();
            let mut next = Vec::new();
            for dir in &found {
                // Directories are opened beneath the root like any source,
                // so the walk cannot look through a link to outside.
                let Ok((_, names)) = self.read_dir(Path::new(dir), true) else {
                    continue;
                };
                for n in names {
                    let n = n.to_string_lossy();
                    let chars: Vec<char> = n.chars().collect();
                    if fnmatch(&pat, &chars) {
                        next.push(join(dir, &n));
                    }
                }
            }
            found = next;
        }
        let mut out = Vec::new();
        for p in found {
            out.extend(self.resolve(&p)?);
        }
        Ok(out)
    }

    /// Entries for a source copied to `dest` (a directory's contents go
    /// into `dest`, as Docker copies them, after an entry for `dest`
    /// itself). True when `.dockerignore` left something below it out.
    pub fn entries(
        &self,
        src: &Source,
        dest: &str,
        owner: Owner,
        out: &mut Vec<Entry>,
    ) -> Result<bool, ContextError> {
        let rel = &src.real;
        let fd = beneath(&self.dir, rel, OFlags::PATH | OFlags::NOFOLLOW, false)
            .map_err(|e| ContextError::of(&src.name, e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| ContextError::of(&src.name, e))?;
        let mut left_out = false;
        let mut w = Walk {
            owner,
            links: BTreeMap::new(),
        };
        if let Some(e) = self.entry(&fd, OsStr::new(""), rel, &st, dest.to_string(), &mut w)? {
            out.push(e);
        }
        if kind_of(&st) == FileType::Directory {
            self.tree(rel, dest, &mut w, out, &mut left_out)?;
        }
        Ok(left_out)
    }

    /// One entry from a stat of `name` in directory `dir` (an O_PATH fd of
    /// the entry itself with `name` ""): root-owned unless `--chown`, the
    /// file's own mode and mtime. Sockets, fifos and devices are left out.
    fn entry(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        rel: &Path,
        st: &Stat,
        path: String,
        w: &mut Walk,
    ) -> Result<Option<Entry>, ContextError> {
        let owner = w.owner;
        let kind = match kind_of(st) {
            FileType::Directory => Kind::Dir,
            FileType::RegularFile if st.st_nlink > 1 => {
                match w.links.get(&(st.st_dev, st.st_ino)) {
                    Some(first) => Kind::Hardlink(first.clone()),
                    None => {
                        w.links.insert((st.st_dev, st.st_ino), path.clone());
                        Kind::Context(ContextFile {
                            dir: self.dir.clone(),
                            rel: rel.to_path_buf(),
                        })
                    }
                }
            }
            FileType::RegularFile => Kind::Context(ContextFile {
                dir: self.dir.clone(),
                rel: rel.to_path_buf(),
            }),
            FileType::Symlink => {
                let t = rustix::fs::readlinkat(dir, name, Vec::new())
                    .map_err(|e| ContextError::of(&text(rel), e))?;
                Kind::Symlink(t.to_string_lossy().into_owned())
            }
            _ => return Ok(None),
        };
        let mut e = Entry {
            path,
            kind,
            mode: st.st_mode & 0o7777,
            uid: 0,
            gid: 0,
            mtime: st.st_mtime.max(0) as u64,
        };
        owner.apply(&mut e, (0, 0));
        Ok(Some(e))
    }

    /// The tree below directory `rel`; symlinks are entries, never followed.
    fn tree(
        &self,
        rel: &Path,
        dest: &str,
        w: &mut Walk,
        out: &mut Vec<Entry>,
        left_out: &mut bool,
    ) -> Result<(), ContextError> {
        let (dir, names) = self
            .read_dir(rel, false)
            .map_err(|e| ContextError::of(&text(rel), e))?;
        for name in names {
            let host = rel.join(&name);
            let sub = text(&host);
            let st = rustix::fs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| ContextError::of(&sub, e))?;
            let d = join(dest, &name.to_string_lossy());
            let is_dir = kind_of(&st) == FileType::Directory;
            if is_dir && self.ignore.skip_dir(&sub) {
                *left_out = true;
                continue;
            }
            if self.visible(&sub) {
                out.extend(self.entry(&dir, &name, &host, &st, d.clone(), w)?);
            } else {
                *left_out = true;
            }
            if is_dir {
                self.tree(&host, &d, w, out, left_out)?;
            }
        }
        Ok(())
    }
}

/// One walk of a source: the owner its entries get, and the files seen
/// so far with more than one link, by (device, inode): a later name of
/// the same file becomes a hard link to the first.
struct Walk {
    owner: Owner,
    links: BTreeMap<(u64, u64), String>,
}

fn io_err(path: &str, e: std::io::Error) -> ContextError {
    if e.raw_os_error() == Some(Errno::XDEV.raw_os_error()) {
        return ContextError::Escapes(shown(path));
    }
    ContextError::Io {
        path: shown(path),
        source: e,
    }
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
