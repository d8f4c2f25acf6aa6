//! `rmi`: removing images by name or ID (and manifest lists, which podman
//! keeps in the same image store), with podman's rules for images that
//! have several names or are used by containers.

use super::containers::ContainerError;
use super::images::ImageError;
use super::manifests::{ListError, lookup_list};
use super::{Engine, EngineError};
use crate::state::images as db;

#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveImageOptions {
    /// Remove an image named by ID though it has several names, and the
    /// containers that use an image; pass over missing images.
    pub force: bool,
    /// Remove every image and manifest list (the words are ignored).
    pub all: bool,
    /// Pass over missing images.
    pub ignore: bool,
}

/// What `remove_images` did: the lines podman prints (`Untagged: NAME`,
/// `Deleted: ID`) in order, and the failures that did not stop it.
#[derive(Debug, Default)]
pub struct RemoveImagesReport {
    pub lines: Vec<String>,
    pub errors: Vec<String>,
    /// A named image was not found.
    pub missing: bool,
    /// An image was refused because containers use it.
    pub in_use: bool,
    /// The failure that stopped the removal (after `lines`), if any.
    pub fatal: Option<RemoveImageError>,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoveImageError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    List(#[from] ListError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<crate::state::DbError> for RemoveImageError {
    fn from(e: crate::state::DbError) -> Self {
        RemoveImageError::Engine(e.into())
    }
}

impl Engine {
    /// Remove the images (or manifest lists) `words` name, as podman rmi
    /// does: by name, that name goes and the image with its last name; by
    /// ID, every name and the image; an image's dangling parents follow.
    /// Keeps going past a failure on one word.
    pub fn remove_images(&self, words: &[String], o: RemoveImageOptions) -> RemoveImagesReport {
        let mut r = RemoveImagesReport::default();
        if let Err(e) = self.remove_images_into(words, o, &mut r) {
            r.fatal = Some(e);
        }
        r
    }

    fn remove_images_into(
        &self,
        words: &[String],
        o: RemoveImageOptions,
        r: &mut RemoveImagesReport,
    ) -> Result<(), RemoveImageError> {
        let lists = self.manifest_lists()?;
        let words: Vec<String> = if o.all {
            // In the order they came into the store, as podman's -a goes.
            let mut images = self.images()?;
            images.sort_by_key(|i| i.added);
            images
                .iter()
                .map(|r| r.id.hex().to_string())
                .chain(lists.all()?.into_iter().map(|l| l.id))
                .collect()
        } else {
            words.to_vec()
        };
        for w in &words {
            let found = match self.find_image(w) {
                Ok(f) => f,
                // podman: --force, like --ignore, passes over a missing image (and
                // --all over one a removed child took along).
                Err(ImageError::NotFound(_)) if o.ignore || o.force || o.all => continue,
                // A manifest list goes as an image does (podman keeps both in
                // one image store).
                Err(ImageError::NotFound(_)) if lookup_list(&lists, w)?.is_some() => {
                    if let Some(l) = lookup_list(&lists, w)? {
                        self.remove_manifest_list(&lists, &l)?;
                        r.lines
                            .extend(l.names.iter().map(|n| format!("Untagged: {n}")));
                        r.lines.push(format!("Deleted: {}", l.id));
                    }
                    continue;
                }
                Err(e @ ImageError::NotFound(_)) => {
                    r.missing = true;
                    r.errors.push(e.to_string());
                    continue;
                }
                Err(e) => {
                    r.errors.push(e.to_string());
                    continue;
                }
            };
            let rec = &found.image;
            let by_name = found.name.is_some();
            if !by_name && rec.names.len() > 1 && !o.force && !o.all {
                r.errors.push(format!(
                    "unable to delete image {:?} by ID with more than one tag ({}): please force removal",
                    rec.id.hex(),
                    rec.names.join(", ")
                ));
                continue;
            }
            // By name: drop that name; the image goes when its last name does.
            // By ID: every name, in the order they were given (podman's libimage).
            let untag: Vec<String> = match &found.name {
                Some(n) => vec![n.clone()],
                None => db::names_in_order(&self.db.conn, rec.id.hex())?,
            };
            let users = crate::state::containers::users_of_image(&self.db.conn, rec.id.hex())?;
            if untag.len() == rec.names.len() && !users.is_empty() {
                if !o.force {
                    r.in_use = true;
                    r.errors.push(format!(
                        "image used by {}: image is in use by a container: consider listing external containers and force-removing image",
                        users.iter().map(|u| &u[..12]).collect::<Vec<_>>().join(", ")
                    ));
                    continue;
                }
                // podman rmi -f removes the containers first; an infra
                // container takes its pod along (the members live in its
                // namespaces).
                for u in &users {
                    let Ok(c) = self.container(u) else { continue };
                    let cfg = c.config();
                    let pod = match cfg
                        .annotations
                        .contains_key(crate::runtime::INFRA_ANNOTATION)
                    {
                        true => self.pod(&cfg.pod).ok(),
                        false => None,
                    };
                    match pod {
                        Some(pod) => self.remove_pod(&pod, true, Some(0)).map_err(|e| match e {
                            super::pods::PodError::Container(e) => e,
                            e => ContainerError::Invalid(e.to_string()),
                        })?,
                        None => self.remove_container(&c, true)?,
                    }
                }
            }
            {
                let _lock = self.lock()?;
                for n in &untag {
                    db::remove_name(&self.db.conn, n)?;
                    super::events::image("untag", rec.id.hex(), n);
                    r.lines.push(format!("Untagged: {n}"));
                }
            }
            if untag.len() == rec.names.len() {
                let parent = self.image_parent(&rec.id)?;
                match self.delete_image(&rec.id) {
                    Ok(()) => r.lines.push(format!("Deleted: {}", rec.id.hex())),
                    Err(e) => {
                        r.errors.push(format!("{}: {e}", rec.id.hex()));
                        continue;
                    }
                }
                match self.prune_dangling_parents(parent) {
                    Ok(gone) => r
                        .lines
                        .extend(gone.iter().map(|p| format!("Deleted: {}", p.hex()))),
                    Err(e) => r.errors.push(e.to_string()),
                }
            }
        }
        Ok(())
    }
}
