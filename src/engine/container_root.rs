//! A container's root before it runs: files read from its image's layers,
//! the upper dir prepared from the image's root, `/run/.containerenv`, the
//! `--tz` zone file and the `/etc/mtab` link each start makes.

use super::Engine;
use super::EngineError;
use super::containers::{ContainerConfig, ContainerError};
use std::path::PathBuf;

/// Read a file from an image's layers, top layer first, as overlayfs would
/// show it (a whiteout hides it).
pub fn read_image_file(
    engine: &Engine,
    layers: &[crate::digest::Digest],
    rel: &str,
) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    for l in layers.iter().rev() {
        let p = engine.store.layer_diff(l).join(rel);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_char_device() => return None,
            Ok(m) if m.is_file() => return std::fs::read_to_string(p).ok(),
            _ => {}
        }
    }
    None
}

/// `/run/.containerenv`, as podman writes it: empty, except for a
/// privileged container, which learns its engine, name, ids and image.
/// berth presents podman 4.3.1's interface (`version`'s API Version), and
/// tools inside containers (toolbox, systemd) key on `engine="podman-..."`.
pub(super) fn containerenv(
    cfg: &ContainerConfig,
    name: &str,
    id: &str,
    image: &str,
    image_id: &str,
    rootless: bool,
) -> String {
    if !cfg.privileged {
        return String::new();
    }
    format!(
        "engine=\"podman-4.3.1\"\nname={name:?}\nid={id:?}\nimage={image:?}\nimageid={image_id:?}\nrootless={}\n",
        u8::from(rootless)
    )
}

/// `--tz`: the zone's file (the host's /etc/localtime for "local"), copied
/// beside the container to be bound over /etc/localtime (podman does the
/// same: libpod's Timezone handling).
pub(super) fn copy_timezone(tz: &str, dest: &std::path::Path) -> Result<(), ContainerError> {
    let src = if tz == "local" {
        PathBuf::from("/etc/localtime")
    } else {
        if tz.starts_with('/') || tz.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(ContainerError::Invalid(format!(
                "finding timezone: unknown time zone {tz}"
            )));
        }
        PathBuf::from("/usr/share/zoneinfo").join(tz)
    };
    let data = std::fs::read(&src).map_err(|_| {
        ContainerError::Invalid(format!("finding timezone: unknown time zone {tz}"))
    })?;
    std::fs::write(dest, data).map_err(|e| {
        ContainerError::Engine(EngineError::Io(
            "writing the container's localtime".into(),
            e,
        ))
    })
}

/// The container's upper dir before its first start: its root takes the
/// mode and owner of the image's (overlayfs shows the upper dir's, so the
/// image's 0555 / stays 0555, as containers/storage does), and an image
/// without /etc/mtab gets its /etc ready for the link each start makes
/// (returns whether it needs one).
pub(super) fn prepare_upper(
    engine: &Engine,
    layers: &[crate::digest::Digest],
    upper: &std::path::Path,
) -> std::io::Result<bool> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    let meta_of = |rel: &str| {
        for l in layers.iter().rev() {
            match std::fs::symlink_metadata(engine.store.layer_diff(l).join(rel)) {
                // A whiteout hides it.
                Ok(m) if m.file_type().is_char_device() && m.rdev() == 0 => return None,
                Ok(m) => return Some(m),
                Err(_) => {}
            }
        }
        None
    };
    let copy_attrs = |m: &std::fs::Metadata, p: &std::path::Path| -> std::io::Result<()> {
        // Best effort: a rootless store may not own the image's ids.
        let _ = std::os::unix::fs::chown(p, Some(m.uid()), Some(m.gid()));
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m.mode() & 0o7777))
    };
    if let Some(top) = layers.last() {
        let m = std::fs::metadata(engine.store.layer_diff(top))?;
        copy_attrs(&m, upper)?;
    }
    if meta_of("etc/mtab").is_none() {
        let etc = upper.join("etc");
        match meta_of("etc") {
            Some(m) if m.is_dir() => {
                std::fs::create_dir(&etc)?;
                copy_attrs(&m, &etc)?;
            }
            // /etc is something else in the image: leave it alone.
            Some(_) => return Ok(false),
            None => std::fs::create_dir(&etc)?,
        }
        return Ok(true);
    }
    Ok(false)
}

/// Before a start: the /etc/mtab link `prepare_upper` found missing.
pub fn link_mtab(upper: &std::path::Path) -> std::io::Result<()> {
    let link = upper.join("etc/mtab");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink("/proc/mounts", link)?;
    }
    Ok(())
}
