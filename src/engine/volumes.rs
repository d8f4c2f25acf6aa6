//! Volumes: directories under `<root>/volumes/<name>/_data` that outlive
//! containers, created on first use, populated from the image the first
//! time they are mounted (unless `nocopy`), removed only when unused.

use super::Engine;
use super::containers::{ContainerError, new_id};
use crate::state::volumes as db;
pub use crate::state::volumes::VolumeRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A volume in a container (`-v NAME:/dest`, `-v /dest`, image VOLUME).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct VolumeMount {
    pub name: String,
    pub destination: String,
    pub readonly: bool,
    /// Do not copy the image's content at the destination into a new volume.
    pub nocopy: bool,
    /// Made for this container alone (`-v /dest`, image VOLUME).
    pub anonymous: bool,
    /// `:U`: chown the volume to the container's user.
    #[serde(default)]
    pub chown: bool,
    /// Mount flags asked for: exec/noexec, suid/nosuid, dev/nodev.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// Chown a tree (never following symlinks), for `:U`.
pub fn chown_tree(p: &std::path::Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid))?;
    if std::fs::symlink_metadata(p)?.is_dir() {
        for e in std::fs::read_dir(p)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// Check `volume create --opt` values: the local driver's `type=tmpfs`
/// (with `o=size=..`), or `o=bind` with `device=/host/path`.
pub fn check_options(opts: &BTreeMap<String, String>) -> Result<(), String> {
    for (k, v) in opts {
        match k.as_str() {
            "type" if v == "tmpfs" || v == "none" || v == "bind" => {}
            "o" | "device" => {}
            _ => {
                return Err(format!(
                    "unsupported volume option {k}={v}: the local driver takes type=tmpfs|none, o=, device="
                ));
            }
        }
    }
    let bind = opts.get("type").is_some_and(|t| t == "bind")
        || opts
            .get("o")
            .is_some_and(|o| o.split(',').any(|x| x == "bind"));
    if bind {
        let dev = opts.get("device").ok_or("o=bind needs device=/host/path")?;
        // podman's check and text (libpod newVolume).
        if let Err(e) = std::fs::metadata(dev) {
            let why = crate::format::go_errno_text(&e);
            return Err(format!(
                "invalid volume option device for driver 'local': stat {dev}: {why}"
            ));
        }
        if !std::path::Path::new(dev).is_dir() {
            return Err(format!("device {dev:?} is not a directory on the host"));
        }
    }
    Ok(())
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

impl Engine {
    pub fn volume_dir(&self, name: &str) -> PathBuf {
        self.paths.root.join("volumes").join(name)
    }

    pub fn volume_data(&self, name: &str) -> PathBuf {
        self.volume_dir(name).join("_data")
    }

    /// Create a volume (a random name when `None`). With `exist_ok`, an
    /// existing volume of that name is returned as it is.
    pub fn create_volume(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        anonymous: bool,
        exist_ok: bool,
    ) -> Result<VolumeRow, ContainerError> {
        self.create_volume_with(name, labels, BTreeMap::new(), anonymous, exist_ok)
    }

    pub fn create_volume_with(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
        anonymous: bool,
        exist_ok: bool,
    ) -> Result<VolumeRow, ContainerError> {
        check_options(&options).map_err(ContainerError::Invalid)?;
        let name = match name {
            Some(n) if !valid_name(n) => {
                return Err(ContainerError::Invalid(format!(
                    "invalid volume name {n:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
            Some(n) => n.to_string(),
            None => new_id(),
        };
        if let Some(v) = db::get(&self.db.conn, &name)? {
            return if exist_ok {
                Ok(v)
            } else {
                Err(ContainerError::Invalid(format!(
                    "volume with name {name} already exists: volume already exists"
                )))
            };
        }
        std::fs::create_dir_all(self.volume_data(&name)).map_err(|e| {
            ContainerError::Engine(super::EngineError::Io(format!("creating volume {name}"), e))
        })?;
        let v = VolumeRow {
            name: name.clone(),
            driver: "local".into(),
            created: crate::state::images::now(),
            labels,
            options,
            anonymous,
        };
        let inserted = db::insert(&self.db.conn, &v)?;
        if !inserted && !exist_ok {
            return Err(ContainerError::Invalid(format!(
                "volume with name {name} already exists: volume already exists"
            )));
        }
        if inserted {
            super::events::volume("create", &name);
        }
        Ok(db::get(&self.db.conn, &name)?.unwrap_or(v))
    }

    pub fn volumes(&self) -> Result<Vec<VolumeRow>, ContainerError> {
        Ok(db::list(&self.db.conn)?)
    }

    pub fn volume(&self, name: &str) -> Result<VolumeRow, ContainerError> {
        db::get(&self.db.conn, name)?.ok_or_else(|| {
            ContainerError::Invalid(format!(
                "no volume with name {name:?} found: no such volume"
            ))
        })
    }

    /// podman's NeedsChown: true until a container first mounts the volume.
    pub fn volume_needs_chown(&self, name: &str) -> bool {
        !self.volume_dir(name).join("used").exists()
    }

    /// `volume mount`: where the volume's data is on the host. A local
    /// volume's data dir is always in place; one made of mount options
    /// (tmpfs, a bind of a device) exists only inside its containers.
    pub fn mount_volume(&self, name: &str) -> Result<PathBuf, ContainerError> {
        let v = self.volume(name)?;
        if self.paths.rootless {
            return Err(ContainerError::Invalid(
                "cannot run command \"berth volume mount\" in rootless mode: a rootless volume is reachable only inside berth's user namespace".into(),
            ));
        }
        if !v.options.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "volume {name} is made of mount options ({}): it is mounted only in its containers",
                v.options
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
        Ok(self.volume_data(name))
    }

    /// `volume unmount`: the counterpart of [`Engine::mount_volume`].
    pub fn unmount_volume(&self, name: &str) -> Result<(), ContainerError> {
        self.volume(name)?;
        Ok(())
    }

    /// IDs of the containers that mount `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>, ContainerError> {
        Ok(crate::state::containers::list(&self.db.conn)?
            .into_iter()
            .filter(|c| c.config().volumes.iter().any(|v| v.name == name))
            .map(|c| c.id)
            .collect())
    }

    /// Remove a volume and its data; one in use is refused unless `force`,
    /// which removes its containers first (podman's rule).
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<(), ContainerError> {
        self.volume(name)?;
        let users = self.volume_users(name)?;
        if !users.is_empty() {
            if !force {
                return Err(ContainerError::State(format!(
                    "volume {name} is being used by the following container(s): {}: volume is being used",
                    users.join(", ")
                )));
            }
            for u in users {
                if let Ok(c) = self.container(&u) {
                    self.remove_container(&c, true)?;
                }
            }
        }
        db::delete(&self.db.conn, name)?;
        let _ = std::fs::remove_dir_all(self.volume_dir(name));
        super::events::volume("remove", name);
        Ok(())
    }
}

/// Why `remove_volume_stopping` failed: before removing anything (`Users`,
/// `Stop`: the command stops there) or in the removal itself.
#[derive(Debug, thiserror::Error)]
pub enum RemoveVolumeError {
    #[error(transparent)]
    Users(ContainerError),
    #[error("{0}")]
    Stop(String),
    #[error(transparent)]
    Remove(ContainerError),
}

impl Engine {
    /// `volume create`: a named (or random) volume with labels and driver
    /// options, under the writer lock; with `ignore`, an existing one is
    /// returned as it is.
    pub fn create_named_volume(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
        ignore: bool,
    ) -> Result<VolumeRow, ContainerError> {
        let _lock = self.lock()?;
        self.create_volume_with(name, labels, options, false, ignore)
    }

    /// `volume rm`: with `force`, a missing volume is passed over
    /// (`Ok(false)`), and each container using it is stopped (timeout
    /// `stop_timeout`) before `remove_volume` removes it.
    pub fn remove_volume_stopping(
        &self,
        name: &str,
        force: bool,
        stop_timeout: u64,
    ) -> Result<bool, RemoveVolumeError> {
        if force {
            if self.volume(name).is_err() {
                // podman: --force passes over a missing volume.
                return Ok(false);
            }
            // Stop the containers using it gracefully first (-t).
            for id in self.volume_users(name).map_err(RemoveVolumeError::Users)? {
                if let Ok(c) = self.container(&id) {
                    self.stop(&c, Some(stop_timeout))
                        .map_err(|e| RemoveVolumeError::Stop(e.to_string()))?;
                }
            }
        }
        self.remove_volume(name, force)
            .map_err(RemoveVolumeError::Remove)?;
        Ok(true)
    }

    /// `volume prune`: as [`Engine::prune_volumes`], each removal recorded
    /// as a `prune` event (`system prune` records none).
    pub fn prune_volumes_with_events(&self, names: &[String]) -> super::prune::PruneReport {
        let r = self.prune_volumes(names);
        for n in &r.removed {
            super::events::volume("prune", n);
        }
        r
    }

    /// `volume export`: the volume's contents as a tar (its own entries,
    /// not the directory), never following symlinks.
    pub fn export_volume<W: std::io::Write>(&self, name: &str, out: W) -> std::io::Result<()> {
        let data = self.volume_data(name);
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        let mut entries: Vec<_> = std::fs::read_dir(&data)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let name = e.file_name();
            if e.file_type()?.is_dir() {
                b.append_dir_all(&name, &p)?;
            } else {
                b.append_path_with_name(&p, &name)?;
            }
        }
        std::io::Write::flush(&mut b.into_inner()?)?;
        Ok(())
    }

    /// The volume `volume import` may write into: one without mount
    /// options (their data lives elsewhere).
    pub fn importable_volume(&self, name: &str) -> Result<VolumeRow, ContainerError> {
        let v = self.volume(name)?;
        if !v.options.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "volume {name} has mount options: import into it from a container instead"
            )));
        }
        Ok(v)
    }

    /// `volume import`: unpack a tar into the volume's data, as a layer is
    /// unpacked (overlay whiteouts kept as plain xattrs, owners kept when
    /// rootful).
    pub fn import_volume<R: std::io::Read>(
        &self,
        name: &str,
        input: R,
    ) -> Result<(), ContainerError> {
        let opts = crate::storage::unpack::UnpackOptions {
            overlay_xattr_prefix: "user.berth-unused.",
            privileged: !self.paths.rootless,
        };
        crate::storage::unpack::unpack(
            std::io::BufReader::new(input),
            &self.volume_data(name),
            &opts,
        )
        .map_err(|e| ContainerError::Invalid(format!("importing into volume {name}: {e}")))
    }
}
