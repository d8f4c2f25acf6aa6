//! Naming images locally: `tag` adds names, `untag` takes them away (one
//! event per name, as podman's libimage writes them).

use super::images::ImageError;
use super::{Engine, EngineError};
use crate::registry::reference::{Reference, ReferenceError};
use crate::state::images as db;

#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error("{0}: a tag name cannot include a digest")]
    Digest(String),
    #[error("{0}: tag not known")]
    NotKnown(String),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

impl From<crate::state::DbError> for TagError {
    fn from(e: crate::state::DbError) -> Self {
        TagError::Engine(e.into())
    }
}

/// podman's rule for names given locally: a short name lives in
/// `localhost/`, and the tag defaults to latest.
pub fn local_name(word: &str) -> Result<String, TagError> {
    let r = Reference::parse(word)?;
    if r.digest.is_some() {
        return Err(TagError::Digest(word.into()));
    }
    Ok(r.qualified("localhost").stored_name())
}

impl Engine {
    /// Add `names` (as the user typed them) to the image `image` names.
    pub fn tag(&self, image: &str, names: &[String]) -> Result<(), TagError> {
        let found = self.find_image(image)?;
        let stored = names
            .iter()
            .map(|n| local_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        let _lock = self.lock()?;
        for (n, given) in stored.iter().zip(names) {
            db::add_name(&self.db.conn, &found.image.id, n)?;
            // podman's libimage names the tag as it was given.
            super::events::image("tag", found.image.id.hex(), given);
        }
        Ok(())
    }

    /// Remove `names` from the image `image`, or all of its names when
    /// `names` is empty. Stops at the first name the image does not have.
    pub fn untag(&self, image: &str, names: &[String]) -> Result<(), TagError> {
        let found = self.find_image(image)?;
        let _lock = self.lock()?;
        if names.is_empty() {
            for n in &found.image.names {
                db::remove_name(&self.db.conn, n)?;
                super::events::image("untag", found.image.id.hex(), n);
            }
            return Ok(());
        }
        for n in names {
            // `REPO[:TAG]@DIGEST`: podman keeps the digested name (tag and
            // all) among the names; berth keeps REPO@DIGEST beside them.
            if let Ok(r) = Reference::parse(n)
                && let Some(d) = r.digest.clone()
            {
                let repo = r.qualified("localhost").repo();
                let d = d.to_string();
                if !db::remove_digest(&self.db.conn, &found.image.id, &repo, &d)? {
                    return Err(TagError::NotKnown(n.clone()));
                }
                continue;
            }
            // Match the name as given, qualified the podman way, or by short form.
            let full = local_name(n)?;
            let hit = found
                .image
                .names
                .iter()
                .find(|s| **s == full || **s == *n)
                .cloned()
                .or_else(|| {
                    self.find_image(n)
                        .ok()
                        .filter(|f| f.image.id == found.image.id)
                        .and_then(|f| f.name)
                });
            match hit {
                Some(h) => {
                    db::remove_name(&self.db.conn, &h)?;
                    super::events::image("untag", found.image.id.hex(), &h);
                }
                None => return Err(TagError::NotKnown(n.clone())),
            }
        }
        Ok(())
    }
}
