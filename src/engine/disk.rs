//! Disk usage of a root, as `system df` and `ps --size` report it: images
//! (their layers' trees and blobs, each layer counted once however many
//! images share it), containers (their upper dirs) and volumes.
//!
//! Sizes are containers/storage's: the apparent sizes of everything that
//! is not a directory, a hard-linked inode once (pkg/directory's Usage,
//! podman's util.SizeOfPath). A layer never changes once unpacked, so its
//! size is measured once and kept beside it (`layers/<chain-id>/disk-size`);
//! only upper dirs and volumes are walked on every call.

use super::Engine;
use super::containers::ContainerError;
use crate::digest::Digest;
use crate::state::containers::ContainerRow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes under `dir` (see the module docs); 0 when it is missing.
pub fn tree_size(dir: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    walk(dir, &mut seen, &mut total);
    total
}

fn walk(dir: &Path, seen: &mut HashSet<(u64, u64)>, total: &mut u64) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&e.path(), seen, total);
            continue;
        }
        // DirEntry::metadata is an lstat: links are not followed.
        let Ok(m) = e.metadata() else { continue };
        if m.nlink() > 1 && !seen.insert((m.dev(), m.ino())) {
            continue;
        }
        *total += m.len();
    }
}

/// One image as `system df -v` lists it (per name, as podman's rows are).
#[derive(Debug, Clone)]
pub struct ImageUsage {
    pub id: Digest,
    pub repository: String,
    pub tag: String,
    /// Unix seconds.
    pub created: i64,
    pub size: u64,
    /// Bytes of layers another image has too.
    pub shared: u64,
    pub unique: u64,
    pub containers: usize,
}

#[derive(Debug, Clone)]
pub struct ContainerUsage {
    pub row: ContainerRow,
    /// The upper dir: what the container wrote.
    pub rw: u64,
    pub volumes: usize,
}

#[derive(Debug, Clone)]
pub struct VolumeUsage {
    pub name: String,
    /// Containers (any state) that mount it.
    pub links: usize,
    pub size: u64,
}

#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    /// Every layer and blob on disk once: the store's image bytes.
    pub images_size: u64,
    /// The bytes of the images with no container (layers they share with
    /// an image in use are not reclaimable).
    pub images_reclaimable: u64,
    pub containers: Vec<ContainerUsage>,
    pub volumes: Vec<VolumeUsage>,
}

impl Engine {
    /// A layer's bytes: its tree (measured once, then read back) and its
    /// compressed blob when the store keeps one.
    pub fn layer_disk_size(&self, chain_id: &Digest, blob: Option<&str>) -> u64 {
        let dir = self.store.layer_dir(chain_id);
        let cache = dir.join("disk-size");
        let tree = match std::fs::read_to_string(&cache)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            Some(n) => n,
            None => {
                let n = tree_size(&dir.join("diff"));
                // Written whole (rename) so a reader never sees half a number;
                // losing the race to another writer is harmless.
                let tmp = dir.join(format!(".disk-size-{}", std::process::id()));
                if std::fs::write(&tmp, n.to_string()).is_ok() {
                    let _ = std::fs::rename(&tmp, &cache);
                }
                n
            }
        };
        tree + blob.map(|b| self.blob_size(b)).unwrap_or(0)
    }

    /// A stored blob's size, 0 if the store does not hold it.
    fn blob_size(&self, digest: &str) -> u64 {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        std::fs::symlink_metadata(self.store.root().join("blobs/sha256").join(hex))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// The uncompressed image size plus what the container wrote: podman's
    /// `ps --size` pair (SizeRw, SizeRootFs).
    pub fn container_sizes(&self, c: &ContainerRow, image_size: u64) -> (u64, u64) {
        let rw = tree_size(&self.container_dir(&c.id).join("upper"));
        (rw, image_size + rw)
    }

    /// Everything `system df` reports, each tree walked once.
    pub fn disk_usage(&self) -> Result<DiskUsage, ContainerError> {
        let images = self.images()?;
        let containers = self.containers()?;
        let blobs = crate::state::images::layer_blobs(&self.db.conn)?;
        let mut users: BTreeMap<&str, usize> = BTreeMap::new();
        let mut volume_links: BTreeMap<String, usize> = BTreeMap::new();
        let mut out = DiskUsage::default();
        for c in &containers {
            *users.entry(c.image_id.as_str()).or_default() += 1;
            let cfg = c.config();
            let mut named = BTreeSet::new();
            for v in &cfg.volumes {
                if named.insert(v.name.clone()) {
                    *volume_links.entry(v.name.clone()).or_default() += 1;
                }
            }
            out.containers.push(ContainerUsage {
                rw: tree_size(&self.container_dir(&c.id).join("upper")),
                volumes: cfg.volumes.len() + cfg.binds.len(),
                row: c.clone(),
            });
        }
        // Layers: how many images use each, and its bytes once.
        let mut layer_count: BTreeMap<&Digest, usize> = BTreeMap::new();
        for rec in &images {
            for l in rec.layers.iter().collect::<BTreeSet<_>>() {
                *layer_count.entry(l).or_default() += 1;
            }
        }
        let layer_size: BTreeMap<&Digest, u64> = layer_count
            .keys()
            .map(|l| {
                let blob = blobs.get(l.hex()).map(String::as_str);
                (*l, self.layer_disk_size(l, blob))
            })
            .collect();
        out.images_size = layer_size.values().sum();
        for rec in &images {
            let (mut shared, mut unique) = (0, 0);
            for l in rec.layers.iter().collect::<BTreeSet<_>>() {
                if layer_count[l] > 1 {
                    shared += layer_size[l];
                } else {
                    unique += layer_size[l];
                }
            }
            // The config and manifest are the image's own.
            let own = self.blob_size(&rec.id.to_string())
                + if rec.manifest_digest != rec.id {
                    self.blob_size(&rec.manifest_digest.to_string())
                } else {
                    0
                };
            unique += own;
            out.images_size += own;
            let n = users.get(rec.id.hex()).copied().unwrap_or(0);
            let created = crate::format::units::parse_rfc3339(&rec.created).unwrap_or(rec.added);
            let base = ImageUsage {
                id: rec.id.clone(),
                repository: "<none>".into(),
                tag: "<none>".into(),
                created,
                size: shared + unique,
                shared,
                unique,
                containers: n,
            };
            let tagged: Vec<&String> = rec.names.iter().filter(|n| !n.contains('@')).collect();
            if tagged.is_empty() {
                out.images.push(base.clone());
            }
            for name in tagged {
                let (repo, tag) = match name.rsplit_once(':') {
                    Some((r, t)) if !t.contains('/') => (r, t),
                    _ => (name.as_str(), "latest"),
                };
                out.images.push(ImageUsage {
                    repository: repo.into(),
                    tag: tag.into(),
                    ..base.clone()
                });
            }
        }
        // What a prune of the unused images frees: all but the bytes of the
        // images in use (a layer they share with an unused one stays).
        let mut in_use_layers = BTreeSet::new();
        for rec in images.iter().filter(|r| users.contains_key(r.id.hex())) {
            in_use_layers.extend(rec.layers.iter());
        }
        let kept: u64 = in_use_layers.iter().map(|l| layer_size[l]).sum::<u64>()
            + images
                .iter()
                .filter(|r| users.contains_key(r.id.hex()))
                .map(|r| {
                    self.blob_size(&r.id.to_string())
                        + if r.manifest_digest != r.id {
                            self.blob_size(&r.manifest_digest.to_string())
                        } else {
                            0
                        }
                })
                .sum::<u64>();
        out.images_reclaimable = out.images_size.saturating_sub(kept);
        for v in self.volumes()? {
            out.volumes.push(VolumeUsage {
                links: volume_links.get(&v.name).copied().unwrap_or(0),
                size: tree_size(&self.volume_data(&v.name)),
                name: v.name,
            });
        }
        Ok(out)
    }

    /// The store's image bytes (layers and blobs once each): what a prune
    /// of images frees is this before less this after.
    pub fn image_bytes(&self) -> Result<u64, super::EngineError> {
        let images = self.images()?;
        let blobs = crate::state::images::layer_blobs(&self.db.conn)?;
        let layers: BTreeSet<&Digest> = images.iter().flat_map(|r| r.layers.iter()).collect();
        let mut total: u64 = layers
            .iter()
            .map(|l| self.layer_disk_size(l, blobs.get(l.hex()).map(String::as_str)))
            .sum();
        let own: BTreeSet<String> = images
            .iter()
            .flat_map(|r| [r.id.to_string(), r.manifest_digest.to_string()])
            .collect();
        total += own.iter().map(|d| self.blob_size(d)).sum::<u64>();
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_size_counts_files_and_links_once_and_no_directories() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("a/b/f"), vec![0u8; 1000]).unwrap();
        std::fs::write(d.path().join("g"), vec![0u8; 24]).unwrap();
        std::fs::hard_link(d.path().join("g"), d.path().join("a/h")).unwrap();
        std::os::unix::fs::symlink("a/b/f", d.path().join("l")).unwrap();
        // 1000 + 24 once + the link's 5-byte target.
        assert_eq!(tree_size(d.path()), 1029);
        assert_eq!(tree_size(&d.path().join("missing")), 0);
        std::fs::create_dir(d.path().join("empty")).unwrap();
        assert_eq!(tree_size(&d.path().join("empty")), 0);
    }
}
