//! A container's filesystem from the outside: its merged view (`mount`,
//! `export`), what it changed against its image (`diff`), and those
//! changes as a new layer (`commit`).

use super::Engine;
use super::containers::ContainerError;
use crate::state::containers::ContainerRow;
use crate::state::images::ImageRecord;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ContainerError {
    let what = what.into();
    move |e| ContainerError::Engine(super::EngineError::Io(what, e))
}

fn is_mounted(p: &Path) -> bool {
    let target = p.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(target.as_str()))
}

/// The merged root of a container, and whether this call mounted it.
pub struct Merged {
    pub path: PathBuf,
    pub mounted_here: bool,
}

impl Engine {
    /// Paths (relative, no leading /) the runtime mounts over: their
    /// placeholders in the upper dir, and whatever is mounted there, are not
    /// the container's changes (podman leaves them out too).
    pub fn mount_points(&self, c: &ContainerRow) -> Vec<String> {
        let spec: Option<oci_spec::runtime::Spec> =
            std::fs::read(self.container_dir(&c.id).join("config.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
        spec.and_then(|s| s.mounts().clone())
            .unwrap_or_default()
            .iter()
            .map(|m| {
                m.destination()
                    .to_string_lossy()
                    .trim_start_matches('/')
                    .to_string()
            })
            .collect()
    }

    fn image_layers_of(
        &self,
        c: &ContainerRow,
    ) -> Result<Vec<crate::digest::Digest>, ContainerError> {
        let id: crate::digest::Digest = format!("sha256:{}", c.image_id)
            .parse()
            .map_err(|e: crate::digest::DigestError| ContainerError::Invalid(e.to_string()))?;
        let rec = crate::state::images::get(&self.db.conn, &id)?.ok_or_else(|| {
            ContainerError::Invalid(format!(
                "image {} of container {} is gone",
                c.image_id, c.name
            ))
        })?;
        Ok(rec.layers)
    }

    /// The container's merged filesystem: a running container's own root
    /// (through /proc/PID/root: its overlay cannot be mounted twice), else
    /// the overlay mounted at the container's `rootfs` dir.
    pub fn merged_root(&self, c: &ContainerRow) -> Result<Merged, ContainerError> {
        if c.is_running() && crate::process::alive(c.pid, c.pid_start) {
            return Ok(Merged {
                path: PathBuf::from(format!("/proc/{}/root", c.pid)),
                mounted_here: false,
            });
        }
        let rootfs = self.container_dir(&c.id).join("rootfs");
        if is_mounted(&rootfs) {
            return Ok(Merged {
                path: rootfs,
                mounted_here: false,
            });
        }
        if self.paths.rootless {
            return Err(ContainerError::Invalid(
                "mounting a container's filesystem on the host needs root; run this as root".into(),
            ));
        }
        let dir = self.container_dir(&c.id);
        let lower: Vec<String> = self
            .image_layers_of(c)?
            .iter()
            .rev()
            .map(|l| format!("{}/diff", l.hex()))
            .collect();
        let opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.join(":"),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        crate::log::debug(&format!(
            "mounting overlay at {} ({opts})",
            rootfs.display()
        ));
        let cwd = std::env::current_dir().map_err(io("reading the working directory"))?;
        std::env::set_current_dir(self.store.root().join("layers"))
            .map_err(io("entering the layers dir"))?;
        let r = rustix::mount::mount(
            "overlay",
            &rootfs,
            "overlay",
            rustix::mount::MountFlags::empty(),
            Some(
                std::ffi::CString::new(opts)
                    .map_err(|e| ContainerError::Invalid(e.to_string()))?
                    .as_c_str(),
            ),
        );
        std::env::set_current_dir(cwd).map_err(io("restoring the working directory"))?;
        r.map_err(|e| {
            ContainerError::Invalid(format!("mounting the filesystem of {}: {e}", c.name))
        })?;
        Ok(Merged {
            path: rootfs,
            mounted_here: true,
        })
    }

    /// `export`: the container's whole filesystem as a tar stream, its
    /// runtime mount points as empty directories.
    pub fn export_container<W: Write>(
        &self,
        c: &ContainerRow,
        out: W,
    ) -> Result<(), ContainerError> {
        let merged = self.merged_root(c)?;
        let skip = self.mount_points(c);
        let write = || -> std::io::Result<()> {
            let mut b = tar::Builder::new(out);
            b.follow_symlinks(false);
            add_tree(&mut b, &merged.path, "", &skip)?;
            b.into_inner()?.flush()
        };
        let r = write().map_err(io(format!("exporting {}", c.name)));
        if merged.mounted_here {
            self.unmount_root(c)?;
        }
        r
    }

    pub fn unmount_root(&self, c: &ContainerRow) -> Result<bool, ContainerError> {
        let rootfs = self.container_dir(&c.id).join("rootfs");
        if !is_mounted(&rootfs) {
            return Ok(false);
        }
        rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::empty())
            .map_err(|e| ContainerError::Invalid(format!("unmounting {}: {e}", c.name)))?;
        Ok(true)
    }

    /// Changes against the image, as podman lists them: (kind, path) with
    /// kind A (added), C (changed) or D (deleted), sorted by path.
    pub fn container_diff(&self, c: &ContainerRow) -> Result<Vec<(char, String)>, ContainerError> {
        let layers = self.image_layers_of(c)?;
        let lowers: Vec<PathBuf> = layers
            .iter()
            .rev()
            .map(|l| self.store.layer_diff(l))
            .collect();
        let in_image = |rel: &str| {
            lowers
                .iter()
                .any(|l| std::fs::symlink_metadata(l.join(rel)).is_ok())
        };
        let mut out = Vec::new();
        let upper = self.container_dir(&c.id).join("upper");
        let skip = self.mount_points(c);
        walk(&upper, &upper, &mut |rel, m| {
            if skip.iter().any(|s| s == rel) {
                return false;
            }
            // What the engine itself creates in every container, as
            // libpod's diff leaves out (libpod/diff.go initInodes).
            if INIT_INODES.contains(&rel) {
                return true;
            }
            let kind = if m.file_type().is_char_device() && m.rdev() == 0 {
                'D'
            } else if in_image(rel) {
                'C'
            } else {
                'A'
            };
            out.push((kind, format!("/{rel}")));
            true
        })
        .map_err(io("reading the container's changes"))?;
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    /// Write the container's changes (its upper dir) as a layer tar:
    /// overlay whiteouts back to `.wh.` entries, opaque dirs to
    /// `.wh..wh..opq` (OCI image-spec "Whiteouts").
    pub fn changes_tar<W: Write>(&self, c: &ContainerRow, out: W) -> Result<(), ContainerError> {
        let upper = self.container_dir(&c.id).join("upper");
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        let mut entries = Vec::new();
        let skip = self.mount_points(c);
        walk(&upper, &upper, &mut |rel, _| {
            if skip.iter().any(|s| s == rel) {
                return false;
            }
            entries.push(rel.to_string());
            true
        })
        .map_err(io("reading the container's changes"))?;
        entries.sort();
        let prefix = if self.paths.rootless {
            "user.overlay.opaque"
        } else {
            "trusted.overlay.opaque"
        };
        for rel in entries {
            let p = upper.join(&rel);
            let m = std::fs::symlink_metadata(&p).map_err(io(format!("reading {rel}")))?;
            if m.file_type().is_char_device() && m.rdev() == 0 {
                let (dir, name) = rel
                    .rsplit_once('/')
                    .map(|(d, n)| (format!("{d}/"), n))
                    .unwrap_or((String::new(), rel.as_str()));
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                h.set_mtime(m.mtime().max(0) as u64);
                b.append_data(&mut h, format!("{dir}.wh.{name}"), std::io::empty())
                    .map_err(io("writing the layer"))?;
                continue;
            }
            b.append_path_with_name(&p, &rel)
                .map_err(io(format!("adding {rel} to the layer")))?;
            if m.is_dir() && xattr_is_y(&p, prefix) {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                b.append_data(&mut h, format!("{rel}/.wh..wh..opq"), std::io::empty())
                    .map_err(io("writing the layer"))?;
            }
        }
        b.into_inner()
            .and_then(|mut w| w.flush())
            .map_err(io("writing the layer"))?;
        Ok(())
    }
}

/// Paths every container has changed by the engine, not by its processes
/// (libpod/diff.go `initInodes`), relative to the root.
const INIT_INODES: [&str; 11] = [
    "dev",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "proc",
    "run",
    "run/notify",
    "run/.containerenv",
    "run/secrets",
    "sys",
    "etc/mtab",
];

fn xattr_is_y(p: &Path, name: &str) -> bool {
    let mut buf = [0u8; 4];
    matches!(rustix::fs::lgetxattr(p, name, &mut buf), Ok(1) if buf[0] == b'y')
}

/// Depth-first walk calling `f(relative path, metadata)`; `f` returns
/// whether to descend into a directory.
fn walk(
    base: &Path,
    dir: &Path,
    f: &mut dyn FnMut(&str, &std::fs::Metadata) -> bool,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let m = std::fs::symlink_metadata(&p)?;
        let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
        let descend = f(&rel, &m);
        if m.is_dir() && descend {
            walk(base, &p, f)?;
        }
    }
    Ok(())
}

/// What `commit` records besides the changes.
pub struct CommitOptions<'a> {
    pub changes: &'a [String],
    pub message: Option<&'a str>,
    pub author: Option<&'a str>,
    pub names: Vec<String>,
}

impl Engine {
    /// The container's changes stored as a layer on top of `parent`.
    pub fn changes_layer(
        &self,
        c: &ContainerRow,
        parent: Option<&crate::digest::Digest>,
    ) -> Result<crate::storage::LayerInfo, ContainerError> {
        let tmp = self.store.temp_path("commit-layer");
        {
            let f = std::fs::File::create(&tmp).map_err(io("creating the layer"))?;
            self.changes_tar(c, std::io::BufWriter::new(f))?;
        }
        let f = std::fs::File::open(&tmp).map_err(io("reading the layer"))?;
        let info = self.store.import_layer(f, parent);
        let _ = std::fs::remove_file(&tmp);
        info.map_err(|e| ContainerError::Invalid(e.to_string()))
    }

    /// A new image: the container's image plus one layer holding its
    /// changes, with the config adjusted by `changes`.
    pub fn commit_container(
        &self,
        c: &ContainerRow,
        o: &CommitOptions,
    ) -> Result<crate::digest::Digest, ContainerError> {
        let bad = |e: String| ContainerError::Invalid(e);
        let image_id: crate::digest::Digest = format!("sha256:{}", c.image_id)
            .parse()
            .map_err(|e: crate::digest::DigestError| bad(e.to_string()))?;
        let base = self
            .store
            .read_blob(&image_id)
            .map_err(|e| bad(e.to_string()))?;
        let mut config: serde_json::Value =
            serde_json::from_slice(&base).map_err(|e| bad(format!("image config: {e}")))?;
        let chain = self.image_layers_of(c)?;
        let mut layers = Vec::new();
        for l in &chain {
            layers.push(
                crate::state::images::layer(&self.db.conn, l)?
                    .ok_or_else(|| bad(format!("layer {l} is not in the store")))?,
            );
        }
        let info = self.changes_layer(c, chain.last())?;
        let mut run: crate::image::config::RunConfig =
            serde_json::from_value(config.get("config").cloned().unwrap_or_default())
                .unwrap_or_default();
        // podman (libpod container_commit.go): the image runs what the
        // container ran, its entrypoint and command (an `--entrypoint`
        // given at create drops the image's CMD, and so the new image's).
        let cc = c.config();
        run.entrypoint = (!cc.entrypoint.is_empty()).then(|| cc.entrypoint.clone());
        run.cmd = (!cc.cmd.is_empty()).then(|| cc.cmd.clone());
        for ch in o.changes {
            crate::image::config::apply_change(&mut run, ch).map_err(bad)?;
        }
        let now = crate::format::units::rfc3339(crate::state::images::now());
        config["config"] = serde_json::to_value(&run).unwrap_or_default();
        config["created"] = serde_json::json!(now);
        if let Some(a) = o.author {
            config["author"] = serde_json::json!(a);
        }
        config["rootfs"]["diff_ids"]
            .as_array_mut()
            .ok_or_else(|| bad("image config has no diff_ids".into()))?
            .push(serde_json::json!(info.diff_id));
        let mut h =
            serde_json::json!({"created": now, "created_by": format!("berth commit {}", c.name)});
        if let Some(m) = o.message {
            h["comment"] = serde_json::json!(m);
        }
        if let Some(a) = o.author {
            h["author"] = serde_json::json!(a);
        }
        match config.get_mut("history").and_then(|v| v.as_array_mut()) {
            Some(hist) => hist.push(h),
            None => config["history"] = serde_json::json!([h]),
        }
        layers.push(info);
        let bytes = serde_json::to_vec(&config).map_err(|e| bad(e.to_string()))?;
        crate::image::archive::commit_own(self, &bytes, &layers, o.names.clone())
            .map_err(|e| bad(e.to_string()))
    }
}

/// An image's root filesystem mounted read-only (`image mount`): the
/// mount point and its mount count live under the store (0700, so no
/// other user reaches them), as c/storage keeps them beside its layers.
pub struct ImageMount {
    pub path: PathBuf,
}

impl Engine {
    fn image_mount_dir(&self, id: &crate::digest::Digest) -> PathBuf {
        self.store.root().join("image-mounts").join(id.hex())
    }

    /// Where an image is mounted in this mount namespace, if it is.
    pub fn image_mountpoint(&self, id: &crate::digest::Digest) -> Option<PathBuf> {
        let p = self.image_mount_dir(id).join("merged");
        is_mounted(&p).then_some(p)
    }

    fn image_mount_count(&self, id: &crate::digest::Digest) -> u32 {
        std::fs::read_to_string(self.image_mount_dir(id).join("count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn set_image_mount_count(
        &self,
        id: &crate::digest::Digest,
        n: u32,
    ) -> Result<(), ContainerError> {
        let dir = self.image_mount_dir(id);
        let tmp = dir.join("count.tmp");
        std::fs::write(&tmp, format!("{n}\n")).map_err(io("writing the image mount count"))?;
        std::fs::rename(&tmp, dir.join("count")).map_err(io("writing the image mount count"))
    }

    /// `image mount`: the image's layers as a read-only overlay (one layer:
    /// a read-only bind of it), nosuid and nodev. Mounting a mounted image
    /// again counts up, as c/storage does; nothing stays mounted if a later
    /// step fails.
    fn mount_image_layers(&self, rec: &ImageRecord) -> Result<ImageMount, ContainerError> {
        if self.paths.rootless {
            return Err(ContainerError::Invalid(
                "cannot mount images as a rootless user: the mount needs root".into(),
            ));
        }
        let _lock = self.lock()?;
        let dir = self.image_mount_dir(&rec.id);
        let merged = dir.join("merged");
        if is_mounted(&merged) {
            let n = self.image_mount_count(&rec.id).max(1);
            self.set_image_mount_count(&rec.id, n + 1)?;
            return Ok(ImageMount { path: merged });
        }
        crate::process::private::dir(&self.store.root().join("image-mounts"))
            .map_err(io("creating the image mounts dir"))?;
        std::fs::create_dir_all(&merged).map_err(io("creating the image mount point"))?;
        let flags = rustix::mount::MountFlags::RDONLY
            | rustix::mount::MountFlags::NOSUID
            | rustix::mount::MountFlags::NODEV;
        let fail = |e: rustix::io::Errno| {
            let _ = std::fs::remove_dir_all(&dir);
            ContainerError::Invalid(format!("mounting image {}: {e}", rec.id.hex()))
        };
        match rec.layers.as_slice() {
            [] => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(ContainerError::Invalid(format!(
                    "image {} has no layers to mount",
                    rec.id.hex()
                )));
            }
            [one] => {
                let diff = self.store.layer_dir(one).join("diff");
                rustix::mount::mount_bind(&diff, &merged).map_err(fail)?;
                if let Err(e) = rustix::mount::mount_remount(
                    &merged,
                    flags | rustix::mount::MountFlags::BIND,
                    "",
                ) {
                    let _ = rustix::mount::unmount(&merged, rustix::mount::UnmountFlags::DETACH);
                    return Err(fail(e));
                }
            }
            layers => {
                // overlay(5): several lowerdirs and no upperdir make a
                // read-only mount. Relative paths from the layers dir keep
                // the option string short, as for containers.
                let lower: Vec<String> = layers
                    .iter()
                    .rev()
                    .map(|l| format!("{}/diff", l.hex()))
                    .collect();
                let opts = std::ffi::CString::new(format!("lowerdir={}", lower.join(":")))
                    .map_err(|e| ContainerError::Invalid(e.to_string()))?;
                crate::log::debug(&format!(
                    "mounting overlay at {} ({opts:?})",
                    merged.display()
                ));
                let cwd = std::env::current_dir().map_err(io("reading the working directory"))?;
                std::env::set_current_dir(self.store.root().join("layers"))
                    .map_err(io("entering the layers dir"))?;
                let r = rustix::mount::mount(
                    "overlay",
                    &merged,
                    "overlay",
                    flags,
                    Some(opts.as_c_str()),
                );
                std::env::set_current_dir(cwd).map_err(io("restoring the working directory"))?;
                r.map_err(fail)?;
            }
        }
        if let Err(e) = self.set_image_mount_count(&rec.id, 1) {
            let _ = rustix::mount::unmount(&merged, rustix::mount::UnmountFlags::DETACH);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(ImageMount { path: merged })
    }

    /// `image mount` of one image, and its event.
    pub fn mount_image(&self, rec: &ImageRecord) -> Result<ImageMount, ContainerError> {
        let m = self.mount_image_layers(rec)?;
        let name = rec.names.first().map_or(rec.id.hex(), String::as_str);
        super::events::image("mount", rec.id.hex(), name);
        Ok(m)
    }

    /// `image unmount`: count down, unmounting at zero (or at once with
    /// `force`). Returns whether the image was mounted.
    pub fn unmount_image(&self, rec: &ImageRecord, force: bool) -> Result<bool, ContainerError> {
        let unmounted = {
            let _lock = self.lock()?;
            self.unmount_image_locked(&rec.id, force)?
        };
        if unmounted {
            let name = rec.names.first().map_or(rec.id.hex(), String::as_str);
            super::events::image("unmount", rec.id.hex(), name);
        }
        Ok(unmounted)
    }

    /// As `unmount_image`, for callers holding the writer lock (`rmi`
    /// unmounts before it removes, as c/storage deletes a mounted layer).
    pub(super) fn unmount_image_locked(
        &self,
        id: &crate::digest::Digest,
        force: bool,
    ) -> Result<bool, ContainerError> {
        let dir = self.image_mount_dir(id);
        let merged = dir.join("merged");
        if !is_mounted(&merged) {
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(false);
        }
        let n = self.image_mount_count(id);
        if !force && n > 1 {
            self.set_image_mount_count(id, n - 1)?;
            return Ok(true);
        }
        rustix::mount::unmount(&merged, rustix::mount::UnmountFlags::empty())
            .map_err(|e| ContainerError::Invalid(format!("unmounting image {}: {e}", id.hex())))?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(true)
    }
}

/// Add `dir` (relative name `rel`) to the archive, never following
/// symlinks; mount points of the runtime (/proc, /sys, /dev, generated
/// /etc files, volumes) appear as empty directories or not at all.
fn add_tree<W: Write>(
    b: &mut tar::Builder<W>,
    root: &std::path::Path,
    rel: &str,
    skip: &[String],
) -> std::io::Result<()> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let md = e.path().symlink_metadata()?;
        let mounted = skip.contains(&child);
        if mounted && !md.is_dir() {
            continue;
        }
        b.append_path_with_name(e.path(), &child)?;
        if md.is_dir() && !mounted {
            add_tree(b, root, &child, skip)?;
        }
    }
    Ok(())
}
