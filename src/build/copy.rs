//! COPY and ADD as data: the entries a step adds to the image (from the
//! build context, an earlier stage, a heredoc, a URL or a tar archive),
//! their content hash for the cache key, and the layer tar they become.

use super::context::ContextFile;
use super::view::View;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub enum Kind {
    Dir,
    /// A regular file whose bytes are read from this host path (a layer of
    /// the store, a file ADD fetched).
    File(PathBuf),
    /// A regular file of the build context, opened beneath its root.
    Context(ContextFile),
    Data(Vec<u8>),
    Symlink(String),
    /// A hard link to an entry written earlier in the same layer (its
    /// path relative to the image root): COPY keeps a context's hard
    /// links, as buildah does.
    Hardlink(String),
}

/// One entry of the new layer; `path` is relative to the image root.
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
}

/// What applies to every entry a COPY makes.
#[derive(Clone, Copy, Default)]
pub struct Owner {
    pub ids: Option<(u32, u32)>,
    pub chmod: Option<u32>,
}

impl Owner {
    pub fn apply(&self, e: &mut Entry, default_ids: (u32, u32)) {
        (e.uid, e.gid) = self.ids.unwrap_or(default_ids);
        if let Some(m) = self.chmod {
            e.mode = m;
        }
    }
}

/// Go's filepath.Match for one path component (`*`, `?`, `[...]`, `\`).
pub fn fnmatch(pat: &[char], name: &[char]) -> bool {
    match pat.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|i| fnmatch(&pat[1..], &name[i..])),
        Some('?') => !name.is_empty() && fnmatch(&pat[1..], &name[1..]),
        Some('[') => {
            let Some(c) = name.first() else { return false };
            let mut i = 1;
            let negate = matches!(pat.get(1), Some('^' | '!'));
            if negate {
                i += 1;
            }
            let mut hit = false;
            let mut first = true;
            while let Some(&p) = pat.get(i) {
                if p == ']' && !first {
                    break;
                }
                first = false;
                let lo = if p == '\\' {
                    i += 1;
                    pat.get(i).copied().unwrap_or('\\')
                } else {
                    p
                };
                if pat.get(i + 1) == Some(&'-') && pat.get(i + 2).is_some_and(|&x| x != ']') {
                    let hi = pat[i + 2];
                    hit |= lo <= *c && *c <= hi;
                    i += 3;
                } else {
                    hit |= lo == *c;
                    i += 1;
                }
            }
            if pat.get(i) != Some(&']') {
                return false;
            }
            hit != negate && fnmatch(&pat[i + 1..], &name[1..])
        }
        Some('\\') if pat.len() > 1 => {
            name.first() == Some(&pat[1]) && fnmatch(&pat[2..], &name[1..])
        }
        Some(p) => name.first() == Some(p) && fnmatch(&pat[1..], &name[1..]),
    }
}

pub fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A path made clean and relative: `./a//b/../c` → `a/c`.
pub fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// An entry for a file of an image's layer as `COPY --from` makes it: the
/// file's own mode, owners and mtime unless `--chown`/`--chmod` say
/// otherwise. Sockets and fifos are not copied (a layer tar entry of ours
/// holds no such kind; opening a fifo would block the build).
fn layer_entry(host: &Path, m: &std::fs::Metadata, path: String, owner: Owner) -> Option<Entry> {
    let kind = if m.is_dir() {
        Kind::Dir
    } else if m.file_type().is_symlink() {
        Kind::Symlink(
            std::fs::read_link(host)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    } else if m.is_file() {
        Kind::File(host.to_path_buf())
    } else {
        return None;
    };
    let mut e = Entry {
        path,
        kind,
        mode: m.permissions().mode() & 0o7777,
        uid: 0,
        gid: 0,
        mtime: m.mtime().max(0) as u64,
    };
    owner.apply(&mut e, (m.uid(), m.gid()));
    Some(e)
}

/// Entries for a path of another image (`COPY --from`): owners are kept
/// unless `--chown` says otherwise. The view walks the layers without
/// following a host symlink, so nothing outside the image is read.
pub fn image_entries(view: &View, rel: &str, dest: &str, owner: Owner, out: &mut Vec<Entry>) {
    let resolved = view.resolve(rel, true);
    let Some(top) = view.lookup(&resolved) else {
        return;
    };
    out.extend(layer_entry(&top.host, &top.meta, dest.to_string(), owner));
    if top.meta.is_dir() {
        view.walk(&resolved, &mut |sub, f| {
            let below = sub.strip_prefix(&resolved).unwrap_or(sub);
            let below = below.trim_start_matches('/');
            out.extend(layer_entry(&f.host, &f.meta, join(dest, below), owner));
        });
    }
}

/// Why ADD would not unpack an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Read(#[from] std::io::Error),
    /// Docker's "breakout" check (moby pkg/archive): a member whose name
    /// climbs out with `..`, or whose parent goes through a symlink the
    /// archive itself made that leads out of the destination, would land
    /// elsewhere in the image.
    #[error("archive member {0:?} would land outside the destination")]
    Outside(String),
    /// podman refuses them (`unhandled tar header type 83`); expanded,
    /// a few bytes of archive become gigabytes of zeros in the image.
    #[error("archive member {0:?}: sparse files are not supported ({1})")]
    Sparse(String, String),
}

/// Does directory `dir` (relative to the destination) stay inside it when
/// the archive's own symlinks met on the way are followed, as the layer
/// unpacker will follow them? An absolute target leaves: it is relative to
/// the image's root.
fn stays_inside(links: &BTreeMap<String, String>, dir: &str) -> bool {
    let mut todo: Vec<String> = dir.split('/').rev().map(String::from).collect();
    let mut out: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                if out.pop().is_none() {
                    return false;
                }
                continue;
            }
            _ => out.push(c),
        }
        let Some(target) = links.get(&out.join("/")) else {
            continue;
        };
        hops += 1;
        // 40: the kernel's limit on links followed in one lookup (ELOOP).
        if hops > 40 || target.starts_with('/') {
            return false;
        }
        out.pop();
        todo.extend(target.split('/').rev().map(String::from));
    }
    true
}

/// The entries of a tar archive (ADD auto-extraction), under `dest`.
/// Owners in the archive are kept, as Docker keeps them. Every member must
/// land inside `dest`.
pub fn tar_entries<R: Read>(r: R, dest: &str, out: &mut Vec<Entry>) -> Result<(), ArchiveError> {
    let mut a = tar::Archive::new(r);
    // The archive's symlinks so far, by member path.
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    // The regular files so far, which a hard link may name.
    let mut seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for e in a.entries()? {
        let mut e = e?;
        let h = e.header().clone();
        let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let path = crate::image::members::clean_relative(&raw)
            .ok_or_else(|| ArchiveError::Outside(raw.clone()))?;
        if path.is_empty() {
            continue;
        }
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        if !stays_inside(&links, parent) {
            return Err(ArchiveError::Outside(raw));
        }
        if let Some(how) = crate::storage::unpack::sparse_reason(&mut e)? {
            return Err(ArchiveError::Sparse(raw, how));
        }
        let kind = match h.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink(
                e.link_name()?
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut buf = Vec::new();
                e.read_to_end(&mut buf)?;
                Kind::Data(buf)
            }
            tar::EntryType::Link => {
                // A hard link names an earlier member; it must be one that
                // lands inside `dest` too.
                let raw_target = e
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default();
                let target = crate::image::members::clean_relative(&raw_target)
                    .filter(|t| seen.contains(t))
                    .ok_or_else(|| ArchiveError::Outside(raw_target.clone()))?;
                Kind::Hardlink(join(dest, &target))
            }
            _ => continue,
        };
        match &kind {
            Kind::Symlink(t) => links.insert(path.clone(), t.clone()),
            _ => links.remove(&path),
        };
        if matches!(kind, Kind::Data(_)) {
            seen.insert(path.clone());
        }
        out.push(Entry {
            path: join(dest, &path),
            kind,
            mode: h.mode().unwrap_or(0o644) & 0o7777,
            uid: h.uid().unwrap_or(0) as u32,
            gid: h.gid().unwrap_or(0) as u32,
            mtime: h.mtime().unwrap_or(0),
        });
    }
    Ok(())
}

/// The compressions ADD unpacks beyond the layer formats (gzip, zstd):
/// buildah's DecompressStream also takes xz and bzip2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Packed {
    Xz,
    Bzip2,
}

impl Packed {
    pub fn sniff(head: &[u8]) -> Option<Packed> {
        if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Packed::Xz)
        } else if head.starts_with(b"BZh") {
            Some(Packed::Bzip2)
        } else {
            None
        }
    }
}

/// A stream decompressed by what its first bytes say (none, gzip, zstd,
/// xz, bzip2).
pub fn archive_reader<'a, R: Read + 'a>(r: R) -> std::io::Result<Box<dyn Read + 'a>> {
    use std::io::BufRead;
    let mut r = std::io::BufReader::with_capacity(256 * 1024, r);
    let head = r.fill_buf()?.to_vec();
    Ok(match Packed::sniff(&head) {
        Some(Packed::Xz) => {
            // lzma-rs decodes xz whole; ADD reads each member's bytes into
            // memory anyway.
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut r, &mut out)
                .map_err(|e| std::io::Error::other(format!("xz: {e}")))?;
            Box::new(std::io::Cursor::new(out))
        }
        Some(Packed::Bzip2) => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        None => {
            let c = crate::image::manifest::Compression::sniff(&head);
            crate::storage::layer::decompress(r, c)?
        }
    })
}

/// Does this file hold a tar archive (plain, gzip, zstd, xz or bzip2) ADD
/// unpacks? The file is read from its start and left there.
pub fn is_archive<F: Read + Seek>(f: &mut F) -> std::io::Result<bool> {
    f.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(512);
    // A decompression error means "not an archive", as for buildah, whose
    // check reads a tar header through DecompressStream.
    if let Ok(r) = archive_reader(&mut *f) {
        let _ = r.take(512).read_to_end(&mut head);
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(head.len() >= 262 && &head[257..262] == b"ustar")
}

/// A hash of everything the entries would put in the layer (names,
/// owners, modes and contents; not mtimes, as Docker's cache ignores them).
pub fn content_hash(entries: &[Entry]) -> std::io::Result<String> {
    let mut h = Sha256::new();
    for e in entries {
        h.update(format!("{}\0{:o}\0{}\0{}\0", e.path, e.mode, e.uid, e.gid).as_bytes());
        match &e.kind {
            Kind::Dir => h.update(b"d"),
            Kind::Symlink(t) => h.update(format!("l{t}").as_bytes()),
            Kind::Hardlink(t) => h.update(format!("h{t}").as_bytes()),
            Kind::Data(d) => {
                h.update(b"f");
                h.update(d);
            }
            Kind::File(_) | Kind::Context(_) => {
                h.update(b"f");
                let mut f = open(&e.kind)?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
            }
        }
        h.update(b"\n");
    }
    Ok(hex::encode(h.finalize()))
}

/// The entries (paths relative to `dir`, "" being `dir` itself) as files
/// on the host: a copy a RUN step may see or change without touching
/// where they came from. Modes are set last, so a read-only directory
/// still gets its contents.
pub fn write_tree(entries: &[Entry], dir: &Path) -> std::io::Result<()> {
    let at = |p: &str| {
        if p.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(p)
        }
    };
    for e in entries {
        let p = at(&e.path);
        match &e.kind {
            Kind::Dir => std::fs::create_dir_all(&p)?,
            Kind::Symlink(t) => std::os::unix::fs::symlink(t, &p)?,
            Kind::Hardlink(t) => std::fs::hard_link(at(t), &p)?,
            Kind::Data(d) => std::fs::write(&p, d)?,
            Kind::File(_) | Kind::Context(_) => {
                let mut from = open(&e.kind)?;
                let mut to = std::fs::File::create(&p)?;
                std::io::copy(&mut from, &mut to)?;
            }
        }
    }
    for e in entries.iter().rev() {
        if !matches!(e.kind, Kind::Symlink(_) | Kind::Hardlink(_)) {
            std::fs::set_permissions(at(&e.path), std::fs::Permissions::from_mode(e.mode))?;
        }
    }
    Ok(())
}

/// The bytes of a file entry.
fn open(k: &Kind) -> std::io::Result<std::fs::File> {
    match k {
        Kind::File(p) => std::fs::File::open(p),
        Kind::Context(c) => c.open(),
        _ => Err(std::io::Error::other("not a regular file")),
    }
}

/// Write the entries as a layer tar.
pub fn write_tar<W: Write>(entries: &[Entry], w: W) -> std::io::Result<W> {
    let mut b = tar::Builder::new(w);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode);
        h.set_uid(e.uid as u64);
        h.set_gid(e.gid as u64);
        h.set_mtime(e.mtime);
        match &e.kind {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, format!("{}/", e.path), std::io::empty())?;
            }
            Kind::Symlink(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, &e.path, t)?;
            }
            Kind::Hardlink(t) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, &e.path, t)?;
            }
            Kind::Data(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                b.append_data(&mut h, &e.path, d.as_slice())?;
            }
            Kind::File(_) | Kind::Context(_) => {
                let f = open(&e.kind)?;
                let len = f.metadata()?.len();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(len);
                // A file that grew since it was hashed must not overrun its
                // header's size and corrupt the archive.
                b.append_data(&mut h, &e.path, f.take(len))?;
            }
        }
    }
    b.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::members::clean_relative;

    fn tar(members: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, link) in members {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            match link {
                Some(t) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, path, t).unwrap();
                }
                None => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(1);
                    // Raw name bytes: the tar crate refuses to write `..`.
                    let name = path.as_bytes();
                    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
                    h.set_cksum();
                    b.append(&h, &b"x"[..]).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    fn unpack(members: &[(&str, Option<&str>)]) -> Result<Vec<String>, ArchiveError> {
        let mut out = Vec::new();
        tar_entries(&tar(members)[..], "opt/app", &mut out)?;
        Ok(out.into_iter().map(|e| e.path).collect())
    }

    #[test]
    fn member_names_that_climb_out_are_refused() {
        assert_eq!(clean_relative("/etc/x").as_deref(), Some("etc/x"));
        assert_eq!(clean_relative("./a/../b").as_deref(), Some("b"));
        assert_eq!(clean_relative("a/../../b"), None);
        assert_eq!(clean_relative("../x"), None);
        let err = unpack(&[("../../etc/x", None)]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "archive member \"../../etc/x\" would land outside the destination"
        );
        assert_eq!(unpack(&[("/etc/x", None)]).unwrap(), ["opt/app/etc/x"]);
    }

    #[test]
    fn members_through_the_archives_own_links_stay_inside() {
        // Out: an absolute target, a climbing one, a chain that leaves on
        // its second hop, a loop.
        for bad in [
            vec![("l", Some("/etc")), ("l/x", None)],
            vec![("l", Some("../..")), ("l/x", None)],
            vec![("a", Some("b")), ("b", Some("../x")), ("a/f", None)],
            vec![("a", Some("b")), ("b", Some("a")), ("a/f", None)],
            vec![("d/l", Some("../../..")), ("d/l/x", None)],
        ] {
            assert!(
                matches!(unpack(&bad), Err(ArchiveError::Outside(_))),
                "{bad:?}"
            );
        }
        // In: a link to a sibling, and one to the member's own parent.
        assert_eq!(
            unpack(&[("lib", Some("lib64")), ("lib/x", None)]).unwrap(),
            ["opt/app/lib", "opt/app/lib/x"]
        );
        assert_eq!(
            unpack(&[("d/l", Some("..")), ("d/l/x", None)]).unwrap(),
            ["opt/app/d/l", "opt/app/d/l/x"]
        );
    }
}
