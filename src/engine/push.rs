//! `push`: an image to a registry (docker://, or a plain reference) or to
//! a directory (containers/image's `dir:` transport).

use super::Engine;
use super::images::Found;
use crate::digest::Digest;
use crate::format::progress::Progress;
use crate::registry::RemoteOptions;
use crate::registry::reference::{DOCKER_HUB, Reference};

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Registry(#[from] crate::registry::push::PushError),
    #[error(transparent)]
    Conf(#[from] crate::registry::config::ConfError),
    #[error(transparent)]
    Reference(#[from] crate::registry::reference::ReferenceError),
    #[error(transparent)]
    Store(#[from] crate::storage::StoreError),
    #[error("{0}")]
    Invalid(String),
}

impl Engine {
    /// Push `found` to `dest_word` (given by the user: where the image's own
    /// name is meant, the name it was found by). Returns the manifest's
    /// digest; `quiet` keeps podman's progress lines off stderr.
    pub fn push(
        &self,
        found: &Found,
        dest_word: &str,
        dest_given: bool,
        remote: &RemoteOptions,
        quiet: bool,
    ) -> Result<Digest, PushError> {
        if let Some(path) = dest_word.strip_prefix("dir:") {
            if !quiet {
                eprintln!("Getting image source signatures");
            }
            let digest = crate::image::dir::write(&self.store, &found.image, path.as_ref())?;
            if !quiet {
                eprintln!("Writing manifest to image destination");
            }
            super::events::image("push", found.image.id.hex(), dest_word);
            return Ok(digest);
        }
        let conf = crate::registry::RegistriesConf::load()?;
        let dest_word = match dest_word.split_once("://") {
            Some(("docker", rest)) => rest,
            Some((t, _)) => {
                return Err(PushError::Invalid(format!(
                    "unsupported transport {t:?} in {dest_word:?}: berth pushes to registries (docker://)"
                )));
            }
            None => dest_word,
        };
        let mut dest = Reference::parse(dest_word)?;
        if dest.domain.is_none() {
            // An unqualified destination means the name the image already has.
            match found.name.as_deref().map(Reference::parse) {
                Some(Ok(n)) if !dest_given => dest = n,
                _ => {
                    return Err(PushError::Invalid(format!(
                        "{dest_word}: destination must include a registry, e.g. localhost:5000/{}",
                        dest.path
                    )));
                }
            }
        }
        let dest = dest.qualified(DOCKER_HUB);
        let progress = Progress::new(quiet);
        if !quiet {
            eprintln!("Getting image source signatures");
        }
        let digest =
            crate::registry::push::push(self, &conf, &found.image, &dest, remote, &progress)?;
        super::events::image("push", found.image.id.hex(), dest_word);
        Ok(digest)
    }
}
