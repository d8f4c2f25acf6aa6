//! COPY and ADD as data: the entries a step adds to the image (from the
//! build context, an earlier stage, a heredoc, a URL or a tar archive),
//! their content hash for the cache key, and the layer tar they become.

use super::ignore::Ignore;
use super::view::View;
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub enum Kind {
    Dir,
    /// A regular file whose bytes are read from this host path.
    File(PathBuf),
    Data(Vec<u8>),
    Symlink(String),
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

/// The build context: a directory and what `.dockerignore` leaves out of it.
pub struct Context {
    pub root: PathBuf,
    pub ignore: Ignore,
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

impl Context {
    fn visible(&self, rel: &str) -> bool {
        rel.is_empty() || !self.ignore.excluded(rel)
    }

    /// The context paths a COPY source names: itself, or what its glob
    /// matches, component by component; excluded paths are not there.
    pub fn glob(&self, src: &str) -> Vec<String> {
        let rel = clean(src);
        if !has_glob(&rel) {
            let there = std::fs::symlink_metadata(self.root.join(&rel)).is_ok();
            return if there && self.visible(&rel) {
                vec![rel]
            } else {
                vec![]
            };
        }
        let mut found = vec![String::new()];
        for comp in rel.split('/') {
            let pat: Vec<char> = comp.chars().collect();
            let mut next = Vec::new();
            for dir in &found {
                let Ok(rd) = std::fs::read_dir(self.root.join(dir)) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                for n in names {
                    let chars: Vec<char> = n.chars().collect();
                    if fnmatch(&pat, &chars) {
                        let p = if dir.is_empty() {
                            n
                        } else {
                            format!("{dir}/{n}")
                        };
                        if self.visible(&p) {
                            next.push(p);
                        }
                    }
                }
            }
            found = next;
        }
        found
    }

    /// Entries for a context file or directory tree copied to `dest`
    /// (a directory's contents go into `dest`, as Docker copies them).
    pub fn entries(&self, rel: &str, dest: &str, owner: Owner, out: &mut Vec<Entry>) {
        let host = self.root.join(rel);
        // The named source itself is followed if it is a symlink (Docker
        // does); links inside a copied tree stay links.
        let Ok(meta) = std::fs::metadata(&host) else {
            return;
        };
        if !meta.is_dir() {
            out.push(host_entry(&host, &meta, dest.to_string(), owner));
            return;
        }
        out.push(host_entry(&host, &meta, dest.to_string(), owner));
        self.tree(rel, &host, dest, owner, out);
    }

    fn tree(&self, rel: &str, host: &Path, dest: &str, owner: Owner, out: &mut Vec<Entry>) {
        let Ok(rd) = std::fs::read_dir(host) else {
            return;
        };
        let mut names: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            let name = n.to_string_lossy();
            let sub = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let p = host.join(&n);
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let d = join(dest, &name);
            if m.is_dir() {
                if self.ignore.skip_dir(&sub) {
                    continue;
                }
                if self.visible(&sub) {
                    out.push(host_entry(&p, &m, d.clone(), owner));
                }
                self.tree(&sub, &p, &d, owner, out);
            } else if self.visible(&sub) {
                out.push(host_entry(&p, &m, d, owner));
            }
        }
    }
}

pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// An entry for a host file as COPY from the context makes it: root-owned
/// unless `--chown`, the file's own mode and mtime.
fn host_entry(host: &Path, m: &std::fs::Metadata, path: String, owner: Owner) -> Entry {
    let kind = if m.is_dir() {
        Kind::Dir
    } else if m.file_type().is_symlink() {
        Kind::Symlink(
            std::fs::read_link(host)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    } else {
        Kind::File(host.to_path_buf())
    };
    let mut e = Entry {
        path,
        kind,
        mode: m.permissions().mode() & 0o7777,
        uid: 0,
        gid: 0,
        mtime: m.mtime().max(0) as u64,
    };
    owner.apply(&mut e, (0, 0));
    e
}

/// Entries for a path of another image (`COPY --from`): owners are kept
/// unless `--chown` says otherwise.
pub fn image_entries(view: &View, rel: &str, dest: &str, owner: Owner, out: &mut Vec<Entry>) {
    let resolved = view.resolve(rel, true);
    let Some(top) = view.lookup(&resolved) else {
        return;
    };
    let mk = |host: &Path, m: &std::fs::Metadata, path: String| {
        let mut e = host_entry(host, m, path, Owner::default());
        owner.apply(&mut e, (m.uid(), m.gid()));
        e
    };
    out.push(mk(&top.host, &top.meta, dest.to_string()));
    if top.meta.is_dir() {
        view.walk(&resolved, &mut |sub, f| {
            let below = sub.strip_prefix(&resolved).unwrap_or(sub);
            let below = below.trim_start_matches('/');
            out.push(mk(&f.host, &f.meta, join(dest, below)));
        });
    }
}

/// The entries of a tar archive (ADD auto-extraction), under `dest`.
/// Owners in the archive are kept, as Docker keeps them.
pub fn tar_entries<R: Read>(r: R, dest: &str, out: &mut Vec<Entry>) -> std::io::Result<()> {
    let mut a = tar::Archive::new(r);
    for e in a.entries()? {
        let mut e = e?;
        let h = e.header().clone();
        let path = clean(&e.path()?.to_string_lossy());
        if path.is_empty() {
            continue;
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
            _ => continue,
        };
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

/// Does this file hold a tar archive (plain, gzip or zstd) ADD unpacks?
pub fn archive_kind(p: &Path) -> Option<crate::image::manifest::Compression> {
    let mut head = [0u8; 512];
    let mut f = std::fs::File::open(p).ok()?;
    let n = f.read(&mut head).ok()?;
    let c = crate::image::manifest::Compression::sniff(&head[..n]);
    match c {
        crate::image::manifest::Compression::None => {
            (n >= 262 && &head[257..262] == b"ustar").then_some(c)
        }
        _ => Some(c),
    }
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
            Kind::Data(d) => {
                h.update(b"f");
                h.update(d);
            }
            Kind::File(p) => {
                h.update(b"f");
                let mut f = std::fs::File::open(p)?;
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
            Kind::Data(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                b.append_data(&mut h, &e.path, d.as_slice())?;
            }
            Kind::File(p) => {
                let f = std::fs::File::open(p)?;
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(f.metadata()?.len());
                b.append_data(&mut h, &e.path, f)?;
            }
        }
    }
    b.into_inner()
}
