//! Finding, naming and removing local images, and collecting the layers
//! and blobs no image needs any more.

use super::{Engine, EngineError};
use crate::digest::Digest;
use crate::image::config::ImageConfig;
use crate::registry::reference::{DOCKER_HUB, Reference};
use crate::state::images as db;
pub use crate::state::images::{ImageRecord, now};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}: image not known")]
    NotFound(String),
    #[error("{0}: image ID prefix is ambiguous; use more characters")]
    Ambiguous(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Reference(#[from] crate::registry::reference::ReferenceError),
}

impl From<crate::state::DbError> for ImageError {
    fn from(e: crate::state::DbError) -> Self {
        ImageError::Engine(e.into())
    }
}

/// How a user's word matched an image.
#[derive(Debug, Clone)]
pub struct Found {
    pub image: ImageRecord,
    /// The stored name that matched, if the word was a name.
    pub name: Option<String>,
}

impl Found {
    /// The image to save as the user named it: by a name, with that name;
    /// by its ID, without names (podman's rule).
    pub fn save_item(&self) -> crate::image::archive::SaveItem<'_> {
        crate::image::archive::SaveItem {
            image: &self.image,
            names: self.name.clone().into_iter().collect(),
        }
    }
}

/// Does stored name `stored` answer to the short `want` (no registry)?
/// `busybox` matches `docker.io/library/busybox:latest` and
/// `127.0.0.1:5000/busybox:latest`, as podman's local lookup does.
fn short_name_matches(stored: &str, want: &Reference) -> bool {
    let Ok(s) = Reference::parse(stored) else {
        return false;
    };
    let tail_ok = s.path == want.path
        || (s.domain.as_deref() == Some(DOCKER_HUB)
            && s.path.strip_prefix("library/") == Some(want.path.as_str()))
        || s.path.ends_with(&format!("/{}", want.path));
    tail_ok && tag_digest_match(&s, want)
}

fn tag_digest_match(stored: &Reference, want: &Reference) -> bool {
    match (&want.tag, &want.digest) {
        (_, Some(_)) => false, // digests are matched against repo digests
        (Some(t), None) => stored.tag.as_deref() == Some(t.as_str()),
        (None, None) => stored.tag.as_deref() == Some("latest"),
    }
}

impl Engine {
    pub fn images(&self) -> Result<Vec<ImageRecord>, EngineError> {
        Ok(db::list(&self.db.conn)?)
    }

    /// Resolve what a user typed: a full or abbreviated ID, `sha256:ID`, a
    /// name (short or qualified, tag defaulting to latest), or `name@digest`.
    pub fn find_image(&self, word: &str) -> Result<Found, ImageError> {
        let all = self.images()?;
        let hexish = word.strip_prefix("sha256:").unwrap_or(word);
        if hexish.len() >= 3 && hexish.len() <= 64 && hexish.bytes().all(|b| b.is_ascii_hexdigit())
        {
            let hits: Vec<&ImageRecord> = all
                .iter()
                .filter(|r| r.id.hex().starts_with(&hexish.to_ascii_lowercase()))
                .collect();
            match hits.len() {
                1 => {
                    return Ok(Found {
                        image: hits[0].clone(),
                        name: None,
                    });
                }
                0 => {}
                _ => {
                    // A name that looks like hex (rare) wins over ambiguity.
                    if !all
                        .iter()
                        .any(|r| r.names.iter().any(|n| n.starts_with(word)))
                    {
                        return Err(ImageError::Ambiguous(word.into()));
                    }
                }
            }
        }
        let want = Reference::parse(word).map_err(|_| ImageError::NotFound(word.into()))?;
        if let Some(d) = &want.digest {
            for r in &all {
                let repo_ok = |repo: &str| match &want.domain {
                    Some(_) => repo == want.repo(),
                    None => repo.ends_with(&format!("/{}", want.path)) || repo == want.path,
                };
                if r.digests.iter().any(|(repo, dg)| dg == d && repo_ok(repo))
                    || r.names.iter().any(|n| {
                        n.ends_with(&format!("@{d}")) && repo_ok(n.split('@').next().unwrap_or(""))
                    })
                {
                    return Ok(Found {
                        image: r.clone(),
                        name: r
                            .names
                            .iter()
                            .find(|n| n.ends_with(&format!("@{d}")))
                            .cloned(),
                    });
                }
            }
            return Err(ImageError::NotFound(word.into()));
        }
        // Exact qualified name first, then podman's short-name matching.
        if want.domain.is_some() {
            let full = want.clone().qualified(DOCKER_HUB).stored_name();
            for r in &all {
                if let Some(n) = r.names.iter().find(|n| **n == full) {
                    return Ok(Found {
                        image: r.clone(),
                        name: Some(n.clone()),
                    });
                }
            }
            return Err(ImageError::NotFound(word.into()));
        }
        for prefer_localhost in [true, false] {
            for r in &all {
                if let Some(n) = r.names.iter().find(|n| {
                    short_name_matches(n, &want)
                        && (n.starts_with("localhost/") == prefer_localhost)
                }) {
                    return Ok(Found {
                        image: r.clone(),
                        name: Some(n.clone()),
                    });
                }
            }
        }
        Err(ImageError::NotFound(word.into()))
    }

    /// Remove an image record and whatever layers and blobs nothing else
    /// uses. Teardown keeps going past individual failures.
    pub fn delete_image(&self, id: &Digest) -> Result<(), EngineError> {
        let _lock = self.lock()?;
        // c/storage unmounts a mounted image's layers before deleting them.
        self.unmount_image_locked(id, true).map_err(|e| {
            EngineError::Io(
                format!("removing image {}", id.hex()),
                std::io::Error::other(e.to_string()),
            )
        })?;
        let tx = self
            .db
            .conn
            .unchecked_transaction()
            .map_err(crate::state::DbError::from)?;
        // podman's libimage: each name still on it is untagged, then it goes.
        let names = match super::events::enabled() {
            true => db::names_in_order(&tx, id.hex())?,
            false => Vec::new(),
        };
        db::delete_image(&tx, id)?;
        let unused = db::take_unused_layers(&tx)?;
        tx.commit().map_err(crate::state::DbError::from)?;
        for n in &names {
            super::events::image("untag", id.hex(), n);
        }
        super::events::image("remove", id.hex(), id.hex());
        let mut first_err = None;
        for l in &unused {
            if let Err(e) = self.store.remove_path(&self.store.layer_dir(&l.chain_id)) {
                first_err.get_or_insert(e);
            }
        }
        if let Err(e) = self.gc_blobs() {
            first_err.get_or_insert(e);
        }
        match first_err {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Remove blobs no image references. Runs under the writer lock.
    fn gc_blobs(&self) -> Result<(), crate::storage::StoreError> {
        let keep =
            db::referenced_blobs(&self.db.conn).map_err(|e| crate::storage::StoreError::Io {
                what: "listing referenced blobs".into(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let dir = self.store.root().join("blobs/sha256");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !keep.contains(&format!("sha256:{name}")) {
                self.store.remove_path(&e.path())?;
            }
        }
        Ok(())
    }

    /// Remove layer dirs no image record mentions (left by a pull that died
    /// between unpacking and committing). Runs under the writer lock; a
    /// pull in flight re-checks its layers when it commits.
    pub fn gc_orphan_layers(&self) -> Result<usize, EngineError> {
        let _lock = self.lock()?;
        let known: std::collections::BTreeSet<String> = self
            .images()?
            .iter()
            .flat_map(|r| r.layers.iter().map(|l| l.hex().to_string()))
            .collect();
        let mut n = 0;
        if let Ok(rd) = std::fs::read_dir(self.store.root().join("layers")) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !known.contains(&name) {
                    self.store.remove_path(&e.path())?;
                    n += 1;
                }
            }
        }
        self.gc_blobs()?;
        Ok(n)
    }
}

pub use crate::storage::NewImage;

impl crate::storage::ImageSink for Engine {
    fn store(&self) -> &crate::storage::Store {
        &self.store
    }

    fn commit_image(&self, image: &NewImage) -> Result<Option<Digest>, crate::storage::SinkError> {
        Engine::commit_image(self, image).map_err(|e| crate::storage::SinkError(Box::new(e)))
    }

    fn layer(
        &self,
        chain: &Digest,
    ) -> Result<Option<crate::storage::LayerInfo>, crate::storage::SinkError> {
        db::layer(&self.db.conn, chain).map_err(|e| crate::storage::SinkError(Box::new(e)))
    }

    fn record_pushed(
        &self,
        image_id: &str,
        repo: &str,
        digest: &Digest,
    ) -> Result<(), crate::storage::SinkError> {
        let sink = |e: EngineError| crate::storage::SinkError(Box::new(e));
        let _lock = self.lock().map_err(sink)?;
        db::add_digest(&self.db.conn, image_id, repo, &digest.to_string())
            .map_err(|e| sink(e.into()))
    }
}

impl Engine {
    /// Record an image in one transaction, under the writer lock, after
    /// checking every layer it needs is still in the store. `Ok(None)`
    /// means a layer vanished (a concurrent `rmi` collected it): fetch it
    /// again and retry.
    pub fn commit_image(&self, n: &NewImage) -> Result<Option<Digest>, EngineError> {
        let _lock = self.lock()?;
        let all_there = n.layers.iter().all(|l| {
            self.store.layer_info(&l.chain_id).is_some() && self.store.has_blob(&l.blob_digest)
        });
        if !all_there {
            return Ok(None);
        }
        let id = self.store.put_blob_bytes(n.config, None)?;
        let manifest_digest = self.store.put_blob_bytes(n.manifest, None)?;
        let mut digests = Vec::new();
        if let Some(repo) = &n.repo {
            digests.push((repo.clone(), manifest_digest.clone()));
            if let Some(idx) = n.index {
                digests.push((repo.clone(), self.store.put_blob_bytes(idx, None)?));
            }
        }
        let created = serde_json::from_slice::<serde_json::Value>(n.config)
            .ok()
            .and_then(|v| v.get("created").and_then(|c| c.as_str()).map(String::from))
            .unwrap_or_default();
        let rec = ImageRecord {
            id: id.clone(),
            manifest_digest,
            manifest_type: n.manifest_type.to_string(),
            created,
            size: n.layers.iter().map(|l| l.size).sum(),
            added: db::now(),
            names: n.names.clone(),
            digests,
            layers: vec![],
        };
        let tx = self
            .db
            .conn
            .unchecked_transaction()
            .map_err(crate::state::DbError::from)?;
        db::put_image(&tx, &rec, n.layers)?;
        tx.commit().map_err(crate::state::DbError::from)?;
        Ok(Some(id))
    }
}

/// libimage's `areParentAndChild`: the child uses all of the parent's
/// layers and repeats its history, plus one more entry.
fn is_parent_of(parent: &ImageConfig, child: &ImageConfig) -> bool {
    let (p, c) = (&parent.rootfs.diff_ids, &child.rootfs.diff_ids);
    p.len() <= c.len()
        && c[..p.len()] == p[..]
        && parent.history.len() + 1 == child.history.len()
        && child.history[..parent.history.len()] == parent.history[..]
}

impl Engine {
    fn image_configs(&self) -> Result<Vec<(ImageRecord, ImageConfig)>, EngineError> {
        Ok(self
            .images()?
            .into_iter()
            .filter_map(|r| {
                let c = ImageConfig::parse(&self.store.read_blob(&r.id).ok()?).ok()?;
                Some((r, c))
            })
            .collect())
    }

    /// The image `id` was built on (podman's `Parent`), if it is here.
    pub fn image_parent(&self, id: &Digest) -> Result<Option<Digest>, EngineError> {
        let all = self.image_configs()?;
        let Some((_, child)) = all.iter().find(|(r, _)| r.id == *id) else {
            return Ok(None);
        };
        Ok(all
            .iter()
            .find(|(r, c)| r.id != *id && is_parent_of(c, child))
            .map(|(r, _)| r.id.clone()))
    }

    /// After `rmi` removed a child: its parent goes too when it is a
    /// dangling intermediate nothing else needs (no name, no other child,
    /// no container), and so on down the chain, as libimage removes
    /// "a dangling parent that no other image depends on". Returns the
    /// images removed, in order.
    pub fn prune_dangling_parents(
        &self,
        mut parent: Option<Digest>,
    ) -> Result<Vec<Digest>, EngineError> {
        let mut removed = Vec::new();
        while let Some(p) = parent.take() {
            let all = self.image_configs()?;
            let Some((rec, cfg)) = all.iter().find(|(r, _)| r.id == p) else {
                break;
            };
            let has_child = all.iter().any(|(r, c)| r.id != p && is_parent_of(cfg, c));
            let used =
                !crate::state::containers::users_of_image(&self.db.conn, p.hex())?.is_empty();
            if !rec.names.is_empty() || has_child || used {
                break;
            }
            parent = all
                .iter()
                .find(|(r, c)| r.id != p && is_parent_of(c, cfg))
                .map(|(r, _)| r.id.clone());
            self.delete_image(&p)?;
            removed.push(p);
        }
        Ok(removed)
    }
}

/// An image as `images` and `image inspect` show it.
pub struct Listed {
    pub rec: ImageRecord,
    pub config: ImageConfig,
    pub created: i64,
    /// Every name the image has had, current ones first.
    pub names_history: Vec<String>,
}

impl Engine {
    /// Every image with its config and name history, newest first.
    pub fn list_images(&self) -> Result<Vec<Listed>, EngineError> {
        let mut out = Vec::new();
        for rec in self.images()? {
            let config = self
                .store
                .read_blob(&rec.id)
                .ok()
                .and_then(|b| ImageConfig::parse(&b).ok())
                .unwrap_or_default();
            let created = crate::format::units::parse_rfc3339(&rec.created).unwrap_or(rec.added);
            let mut names_history = db::names_history(&self.db.conn, &rec.id)?;
            if names_history.is_empty() {
                names_history = rec.names.clone();
            }
            out.push(Listed {
                rec,
                config,
                created,
                names_history,
            });
        }
        out.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then(b.rec.added.cmp(&a.rec.added))
        });
        Ok(out)
    }

    /// The IDs of the build cache's intermediate images (unnamed steps).
    pub fn intermediate_images(&self) -> Result<std::collections::BTreeSet<String>, EngineError> {
        Ok(db::cache_images(&self.db.conn)?)
    }
}

impl Engine {
    /// The diff dirs of an image's layers, top first (`GraphDriver` in
    /// `image inspect`).
    pub fn image_layer_diffs(&self, rec: &ImageRecord) -> Vec<std::path::PathBuf> {
        rec.layers
            .iter()
            .rev()
            .map(|ch| self.store.layer_diff(ch))
            .collect()
    }

    /// The recorded size of each of an image's layers, bottom first (0 for
    /// one without a record), for `history`.
    pub fn image_layer_sizes(&self, rec: &ImageRecord) -> Vec<u64> {
        rec.layers
            .iter()
            .map(|ch| {
                db::layer(&self.db.conn, ch)
                    .ok()
                    .flatten()
                    .map(|i| i.size)
                    .unwrap_or(0)
            })
            .collect()
    }
}
