//! An image's filesystem read straight from its layer dirs, as overlayfs
//! would show it: what COPY needs to know about the destination (does it
//! exist, is it a directory, where do its symlinks lead) and what
//! `COPY --from` reads, without mounting anything.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The layer dirs of one image, top layer first.
pub struct View {
    layers: Vec<PathBuf>,
    opaque_xattr: &'static str,
}

/// Something found in the view: where it lives on the host, and its metadata.
pub struct Found {
    pub host: PathBuf,
    pub meta: std::fs::Metadata,
}

fn is_whiteout(m: &std::fs::Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

impl View {
    /// `diffs` base first, as an image lists its layers.
    pub fn new(diffs: Vec<PathBuf>, rootless: bool) -> View {
        let mut layers = diffs;
        layers.reverse();
        View {
            layers,
            opaque_xattr: if rootless {
                "user.overlay.opaque"
            } else {
                "trusted.overlay.opaque"
            },
        }
    }

    fn opaque(&self, p: &Path) -> bool {
        let mut buf = [0u8; 4];
        matches!(rustix::fs::lgetxattr(p, self.opaque_xattr, &mut buf), Ok(1) if buf[0] == b'y')
    }

    /// The layer directories that make up directory `rel` in the merged
    /// tree, top first, or the entry `rel` itself when it is not a
    /// directory. Walked one component at a time with lstat, as overlayfs
    /// looks up: the topmost layer that has a name decides what it is (a
    /// whiteout hides it, a non-directory hides everything below it), and a
    /// directory merges with lower ones until one is opaque or not a
    /// directory (OCI image-spec "Whiteouts"). No symlink on the host is
    /// ever followed, so no path of an image leads out of its layers (a
    /// crafted image must not make `COPY --from` or a `from=` bind read the
    /// host: CVE-2024-1753 was that escape in buildah).
    fn locate(&self, rel: &str) -> Option<(Found, Vec<PathBuf>)> {
        let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        let mut dirs: Vec<PathBuf> = self.layers.clone();
        let mut top = match dirs.first() {
            Some(h) => Found {
                host: h.clone(),
                meta: std::fs::symlink_metadata(h).ok()?,
            },
            None => return None,
        };
        for c in parts {
            if !top.meta.is_dir() {
                return None;
            }
            let mut first: Option<Found> = None;
            let mut below = Vec::new();
            for d in &dirs {
                let p = d.join(c);
                let Ok(m) = std::fs::symlink_metadata(&p) else {
                    continue;
                };
                if is_whiteout(&m) {
                    // It hides the name in the layers below it.
                    if first.is_some() {
                        break;
                    }
                    return None;
                }
                let is_dir = m.is_dir();
                if first.is_none() {
                    first = Some(Found {
                        host: p.clone(),
                        meta: m,
                    });
                }
                if !is_dir {
                    break;
                }
                let opaque = self.opaque(&p);
                below.push(p);
                if opaque {
                    break;
                }
            }
            top = first?;
            dirs = below;
        }
        Some((top, dirs))
    }

    /// The entry at a clean relative path (no symlinks followed), or None.
    pub fn lookup(&self, rel: &str) -> Option<Found> {
        self.locate(rel).map(|(f, _)| f)
    }

    /// Follow symlinks inside the image's root (never out of it) and
    /// return the clean relative path they lead to. With `last`, the final
    /// component is followed too.
    pub fn resolve(&self, rel: &str, last: bool) -> String {
        let mut todo: Vec<String> = rel
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(String::from)
            .collect();
        let mut out: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    out.pop();
                    continue;
                }
                _ => {}
            }
            out.push(c);
            if todo.is_empty() && !last {
                break;
            }
            let cur = out.join("/");
            let Some(f) = self.lookup(&cur) else { continue };
            if !f.meta.file_type().is_symlink() || hops >= 40 {
                continue;
            }
            hops += 1;
            let Ok(target) = std::fs::read_link(&f.host) else {
                continue;
            };
            out.pop();
            let t = target.to_string_lossy().into_owned();
            if t.starts_with('/') {
                out.clear();
            }
            todo.extend(
                t.split('/')
                    .filter(|c| !c.is_empty())
                    .rev()
                    .map(String::from),
            );
        }
        out.join("/")
    }

    /// Names in a directory, merged over the layers (sorted).
    pub fn read_dir(&self, rel: &str) -> Vec<String> {
        let mut seen = std::collections::BTreeMap::new();
        let Some((top, dirs)) = self.locate(rel) else {
            return vec![];
        };
        if !top.meta.is_dir() {
            return vec![];
        }
        for p in dirs {
            let Ok(rd) = std::fs::read_dir(&p) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let white = e.metadata().map(|m| is_whiteout(&m)).unwrap_or(false);
                seen.entry(name).or_insert(!white);
            }
        }
        seen.into_iter()
            .filter(|(_, v)| *v)
            .map(|(k, _)| k)
            .collect()
    }

    /// A regular file's text; a link left unresolved (a loop) is not read.
    pub fn read_to_string(&self, rel: &str) -> Option<String> {
        let f = self.lookup(&self.resolve(rel, true))?;
        if !f.meta.is_file() {
            return None;
        }
        std::fs::read_to_string(f.host).ok()
    }

    /// Depth-first walk below `rel`, calling `f(relative path below rel,
    /// entry)` for each entry (directories before their contents).
    pub fn walk(&self, rel: &str, f: &mut dyn FnMut(&str, &Found)) {
        for name in self.read_dir(rel) {
            let sub = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if let Some(found) = self.lookup(&sub) {
                f(&sub, &found);
                if found.meta.is_dir() {
                    self.walk(&sub, f);
                }
            }
        }
    }
}

/// Look a user (and their primary group) or a group up in the image's
/// /etc/passwd and /etc/group; numbers pass through.
pub fn lookup_id(view: &View, file: &str, name: &str) -> Option<(u32, Option<u32>)> {
    if let Ok(n) = name.parse::<u32>() {
        return Some((n, None));
    }
    let text = view.read_to_string(file)?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.first() != Some(&name) || f.len() < 3 {
            return None;
        }
        let id = f[2].parse().ok()?;
        let group = if file == "etc/passwd" {
            f.get(3).and_then(|g| g.parse().ok())
        } else {
            None
        };
        Some((id, group))
    })
}

/// `--chown=user[:group]` to numeric ids, as Docker resolves them: names
/// through the image's files, a user alone also sets its primary group.
pub fn chown_ids(view: &View, spec: &str) -> Result<(u32, u32), String> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let (uid, primary) = lookup_id(view, "etc/passwd", u)
        .ok_or_else(|| format!("unable to find user {u}: no matching entries in passwd file"))?;
    let gid = match g {
        Some(g) => {
            lookup_id(view, "etc/group", g)
                .ok_or_else(|| {
                    format!("unable to find group {g}: no matching entries in group file")
                })?
                .0
        }
        None => primary.unwrap_or(uid),
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Two layers, base first: what the test makes in each.
    fn layers(make: impl Fn(&Path, &Path)) -> (tempfile::TempDir, View) {
        let t = tempfile::tempdir().unwrap();
        let (base, top) = (t.path().join("base"), t.path().join("top"));
        std::fs::create_dir_all(&base).unwrap();
        std::fs::create_dir_all(&top).unwrap();
        make(&base, &top);
        let v = View::new(vec![base, top], false);
        (t, v)
    }

    #[test]
    fn lookup_never_follows_a_host_symlink() {
        let (_t, v) = layers(|base, top| {
            std::fs::create_dir_all(base.join("etc")).unwrap();
            std::fs::write(base.join("etc/passwd"), "image").unwrap();
            symlink("/", top.join("rootlink")).unwrap();
        });
        assert!(v.lookup("rootlink/etc/passwd").is_none());
        assert!(v.read_dir("rootlink").is_empty());
        // Resolved inside the image, the link leads to the image's file.
        assert_eq!(v.resolve("rootlink/etc/passwd", true), "etc/passwd");
        assert_eq!(
            v.read_to_string("rootlink/etc/passwd").as_deref(),
            Some("image")
        );
    }

    #[test]
    fn a_lower_link_under_an_upper_dir_is_not_listed_through() {
        let (_t, v) = layers(|base, top| {
            symlink("/etc", base.join("d")).unwrap();
            std::fs::create_dir_all(top.join("d")).unwrap();
            std::fs::write(top.join("d/mine"), "m").unwrap();
        });
        assert_eq!(v.read_dir("d"), ["mine"]);
        assert!(v.lookup("d/passwd").is_none());
    }

    #[test]
    fn an_upper_file_hides_the_lower_directory() {
        let (_t, v) = layers(|base, top| {
            std::fs::create_dir_all(base.join("d")).unwrap();
            std::fs::write(base.join("d/old"), "o").unwrap();
            std::fs::write(top.join("d"), "now a file").unwrap();
        });
        assert!(v.lookup("d").is_some_and(|f| f.meta.is_file()));
        assert!(v.lookup("d/old").is_none());
        assert!(v.read_dir("d").is_empty());
    }

    #[test]
    fn a_link_loop_is_not_read() {
        let (_t, v) = layers(|_, top| {
            symlink("b", top.join("a")).unwrap();
            symlink("a", top.join("b")).unwrap();
        });
        assert!(v.read_to_string("a").is_none());
    }
}
