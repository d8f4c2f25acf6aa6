//! An image archive's members, unpacked into a private temp dir so they
//! can be read in any order, and opened only from inside it.
//!
//! Every path an archive names (docker-archive `manifest.json` Layers and
//! Config, an oci-archive's `blobs/sha256/<hex>`) is the archive's word:
//! `"/etc/shadow"`, `"../../etc/shadow"` or a symlink member pointing out
//! must not become a read of the host (the class of CVE-2019-14271 and
//! containers/image's `docker-archive` path checks). Members are written
//! and opened through openat2 confined to the dir; symlinks between
//! members (old `docker save` links duplicate layers so) work as long as
//! they stay inside.

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("{kind} path {path:?} is not inside the archive")]
    Outside { kind: &'static str, path: String },
    #[error("{kind} path {path:?} is not in the archive")]
    Missing { kind: &'static str, path: String },
    #[error("{kind} path {path:?} is not a regular file")]
    NotFile { kind: &'static str, path: String },
    #[error("archive member {path:?}: sparse files are not supported ({how})")]
    Sparse { path: String, how: String },
    #[error("archive member {path:?} escapes the archive")]
    BadMember { path: String },
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> MemberError {
    let what = what.into();
    move |source| MemberError::Io { what, source }
}

/// `raw` as a clean path relative to where it is unpacked: `.` and empty
/// parts dropped, `a/../b` is `b`, a leading `/` is relative too (as
/// Docker unpacks layers and ADD archives); None when `..` climbs above
/// the start. The destination itself is "".
pub fn clean_relative(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// The clean relative form of a path an archive's index names, or None
/// when it does not stay inside: absolute, or climbing out with `..`.
pub fn member_path(raw: &str) -> Option<String> {
    if raw.starts_with('/') {
        return None;
    }
    clean_relative(raw).filter(|p| !p.is_empty())
}

/// Resolution for every open below the dir: never out of it (EXDEV), never
/// through /proc magic links.
const BENEATH: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

pub struct Members {
    root: OwnedFd,
}

impl Members {
    /// Unpack the regular files, directories and symlinks of the archive
    /// `tar` into `dir` (an existing, empty, private directory). Other
    /// member types (devices, fifos, hard links) are not something an
    /// image archive has, and are skipped: a device node never becomes a
    /// "layer" to read.
    pub fn extract<R: Read>(tar: R, dir: &Path) -> Result<Members, MemberError> {
        let root = rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err(format!("opening {}", dir.display()))(e.into()))?;
        let m = Members { root };
        let read_err =
            |e: io::Error| io_err("reading archive")(crate::storage::unpack::tar_error(e));
        let mut ar = tar::Archive::new(tar);
        for e in ar.entries().map_err(read_err)? {
            let mut e = e.map_err(read_err)?;
            let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            if let Some(how) = crate::storage::unpack::sparse_reason(&mut e).map_err(read_err)? {
                return Err(MemberError::Sparse { path: raw, how });
            }
            let kind = e.header().entry_type();
            if !matches!(
                kind,
                tar::EntryType::Regular | tar::EntryType::Symlink | tar::EntryType::Directory
            ) {
                continue;
            }
            // Leading `/` is tar's convention for relative-to-the-archive.
            let Some(rel) = member_path(raw.trim_start_matches('/')) else {
                if raw.trim_matches(['/', '.']).is_empty() {
                    continue;
                }
                return Err(MemberError::BadMember { path: raw });
            };
            let (parent, name) = rel.rsplit_once('/').unwrap_or(("", &rel));
            let pdir = m
                .mkdirs(parent)
                .map_err(io_err(format!("unpacking {raw}")))?;
            replace(&pdir, name).map_err(io_err(format!("unpacking {raw}")))?;
            match kind {
                tar::EntryType::Directory => {
                    match rustix::fs::mkdirat(&pdir, name, Mode::from_raw_mode(0o700)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(err) => return Err(io_err(format!("unpacking {raw}"))(err.into())),
                    }
                }
                tar::EntryType::Symlink => {
                    let target = e.link_name_bytes().unwrap_or_default();
                    let target = String::from_utf8_lossy(&target).into_owned();
                    rustix::fs::symlinkat(target.as_str(), &pdir, name)
                        .map_err(|err| io_err(format!("unpacking {raw}"))(err.into()))?;
                }
                _ => {
                    let fd = rustix::fs::openat(
                        &pdir,
                        name,
                        OFlags::WRONLY
                            | OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::NOFOLLOW
                            | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o600),
                    )
                    .map_err(|err| io_err(format!("unpacking {raw}"))(err.into()))?;
                    let mut f = std::fs::File::from(fd);
                    io::copy(&mut e, &mut f)
                        .map_err(|err| io_err(format!("reading {raw} from archive"))(err))?;
                }
            }
        }
        Ok(m)
    }

    /// The directory `rel` (clean, relative), made of real directories
    /// only: no symlink is followed on the way.
    fn mkdirs(&self, rel: &str) -> io::Result<OwnedFd> {
        let mut cur = rustix::fs::openat(
            &self.root,
            ".",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        for c in rel.split('/').filter(|c| !c.is_empty()) {
            match rustix::fs::mkdirat(&cur, c, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            cur = rustix::fs::openat(
                &cur,
                c,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
        }
        Ok(cur)
    }

    /// Open the member an archive names as a `kind` ("layer", "config",
    /// ...) for reading: a regular file inside the archive, reached through
    /// symlinks only while they stay inside.
    pub fn open(&self, kind: &'static str, raw: &str) -> Result<std::fs::File, MemberError> {
        let outside = || MemberError::Outside {
            kind,
            path: raw.to_string(),
        };
        let rel = member_path(raw).ok_or_else(outside)?;
        let fd = rustix::fs::openat2(
            &self.root,
            rel.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::empty(),
            BENEATH,
        )
        .map_err(|e| match e {
            Errno::XDEV | Errno::LOOP => outside(),
            Errno::NOENT | Errno::NOTDIR => MemberError::Missing {
                kind,
                path: raw.to_string(),
            },
            e => io_err(format!("opening {kind} {raw:?} in the archive"))(e.into()),
        })?;
        let st = rustix::fs::fstat(&fd)
            .map_err(|e| io_err(format!("opening {kind} {raw:?} in the archive"))(e.into()))?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(MemberError::NotFile {
                kind,
                path: raw.to_string(),
            });
        }
        Ok(std::fs::File::from(fd))
    }

    /// The whole member, for the small JSON ones.
    pub fn read(&self, kind: &'static str, raw: &str) -> Result<Vec<u8>, MemberError> {
        let mut v = Vec::new();
        self.open(kind, raw)?
            .read_to_end(&mut v)
            .map_err(io_err(format!("reading {kind} {raw:?} from the archive")))?;
        Ok(v)
    }

    /// Whether a regular file `rel` is at the top of the archive.
    pub fn has(&self, rel: &str) -> bool {
        self.open("file", rel).is_ok()
    }
}

/// Remove whatever is at `name` in `dir` (a later member replaces an
/// earlier one, as tar extraction does); a directory stays, to be merged.
fn replace(dir: &OwnedFd, name: &str) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) | Err(Errno::ISDIR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths() {
        assert_eq!(member_path("abc.tar").as_deref(), Some("abc.tar"));
        assert_eq!(member_path("./a/b.tar").as_deref(), Some("a/b.tar"));
        assert_eq!(member_path("a/../b.json").as_deref(), Some("b.json"));
        assert_eq!(member_path("/etc/shadow"), None);
        assert_eq!(member_path("../../etc/shadow"), None);
        assert_eq!(member_path("a/../../x"), None);
        assert_eq!(member_path(""), None);
        assert_eq!(member_path("."), None);
    }

    fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    #[test]
    fn opens_only_inside() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, b"SECRET").unwrap();
        let t = tempfile::tempdir().unwrap();
        let tar = archive(|b| {
            let mut h = header(tar::EntryType::Regular, 5);
            b.append_data(&mut h, "dir/layer.tar", &b"layer"[..])
                .unwrap();
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "dup/layer.tar", "../dir/layer.tar")
                .unwrap();
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "abs.tar", secret.to_str().unwrap())
                .unwrap();
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "up.tar", "../../../../../../../../etc/passwd")
                .unwrap();
            let mut h = header(tar::EntryType::Char, 0);
            b.append_data(&mut h, "dev.tar", &b""[..]).unwrap();
        });
        let m = Members::extract(&tar[..], t.path()).unwrap();
        assert_eq!(m.read("layer", "dir/layer.tar").unwrap(), b"layer");
        assert_eq!(m.read("layer", "dup/layer.tar").unwrap(), b"layer");
        for p in [
            secret.to_str().unwrap(),
            "../../etc/shadow",
            "abs.tar",
            "up.tar",
        ] {
            let e = m.read("layer", p).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("layer path {p:?} is not inside the archive")
            );
        }
        assert!(matches!(
            m.read("layer", "dev.tar"),
            Err(MemberError::Missing { .. })
        ));
        assert!(matches!(
            m.read("layer", "dir"),
            Err(MemberError::NotFile { .. })
        ));
    }

    #[test]
    fn members_cannot_be_written_through_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        let t = tempfile::tempdir().unwrap();
        let tar = archive(|b| {
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "x", outside.path().to_str().unwrap())
                .unwrap();
            let mut h = header(tar::EntryType::Regular, 4);
            b.append_data(&mut h, "x/evil", &b"evil"[..]).unwrap();
        });
        assert!(Members::extract(&tar[..], t.path()).is_err());
        assert!(!outside.path().join("evil").exists());
        // A symlink replaced by a file is written as the file, in place.
        let t = tempfile::tempdir().unwrap();
        let tar = archive(|b| {
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "y", outside.path().join("y").to_str().unwrap())
                .unwrap();
            let mut h = header(tar::EntryType::Regular, 4);
            b.append_data(&mut h, "y", &b"file"[..]).unwrap();
        });
        let m = Members::extract(&tar[..], t.path()).unwrap();
        assert_eq!(m.read("config", "y").unwrap(), b"file");
        assert!(!outside.path().join("y").exists());
    }
}
