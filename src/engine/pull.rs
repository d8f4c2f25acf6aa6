//! Getting an image to run: found in the store, pulled from a registry as
//! a `--pull` policy says, or loaded from a `docker-archive:`/`oci-archive:`
//! path (podman's transports).

use super::Engine;
use super::images::{Found, ImageError};
use crate::format::progress::Progress;
use crate::image::archive::ArchiveError;
use crate::registry::pull::{PullError, PullOptions};

#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Pull(#[from] PullError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Conf(#[from] crate::registry::config::ConfError),
    #[error("{0}")]
    Invalid(String),
}

/// podman's `--pull` policies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
    Newer,
}

impl PullPolicy {
    pub fn parse(word: &str) -> Result<PullPolicy, String> {
        Ok(match word {
            "always" => PullPolicy::Always,
            "missing" => PullPolicy::Missing,
            "never" => PullPolicy::Never,
            "newer" => PullPolicy::Newer,
            p => {
                return Err(format!(
                    "invalid --pull {p:?}: use always, missing, never or newer"
                ));
            }
        })
    }
}

impl Engine {
    /// Find an image locally or pull it, as `policy` says (also what
    /// `build` does for FROM). `quiet` keeps the progress lines off stderr.
    pub fn find_or_pull(
        &self,
        word: &str,
        policy: PullPolicy,
        opts: &PullOptions,
        quiet: bool,
    ) -> Result<Found, AcquireError> {
        if let Some(found) = self.from_archive(word, quiet)? {
            super::events::image("pull", "", word);
            return Ok(found);
        }
        let local = self.find_image(word);
        let pull = match (policy, &local) {
            (PullPolicy::Always, _) => true,
            (PullPolicy::Missing | PullPolicy::Newer, Err(_)) => true,
            (_, Err(_)) => return Err(ImageError::NotFound(word.to_string()).into()),
            (_, Ok(_)) => false,
        };
        if pull {
            self.pull(word, opts, quiet)?;
            return Ok(self.find_image(word)?);
        }
        Ok(local?)
    }

    /// `pull`: the image `word` names, from the registries `registries.conf`
    /// lists for it. Returns its ID.
    pub fn pull(
        &self,
        word: &str,
        opts: &PullOptions,
        quiet: bool,
    ) -> Result<crate::digest::Digest, AcquireError> {
        let conf = crate::registry::RegistriesConf::load()?;
        let id = crate::registry::pull::pull(self, &conf, word, opts, &Progress::new(quiet))?;
        // podman 4.3.1's libimage writes the pull without an image ID.
        super::events::image("pull", "", word);
        Ok(id)
    }

    /// `docker-archive:PATH` / `oci-archive:PATH` (podman's transports):
    /// the archive is loaded into the store first, with podman's copy
    /// lines. None for any other word.
    pub fn from_archive(&self, word: &str, quiet: bool) -> Result<Option<Found>, AcquireError> {
        let Some(path) = word
            .strip_prefix("docker-archive:")
            .or_else(|| word.strip_prefix("oci-archive:"))
        else {
            return Ok(None);
        };
        let file =
            std::fs::File::open(path).map_err(|e| AcquireError::Invalid(format!("{path}: {e}")))?;
        if !quiet {
            eprintln!("Getting image source signatures");
        }
        let loaded = crate::image::archive::load(self, file)?;
        let Some(first) = loaded.first() else {
            return Err(AcquireError::Invalid(format!(
                "{path}: the archive holds no image"
            )));
        };
        if !quiet {
            if let Ok(img) = self.find_image(first.id.hex()) {
                for l in &img.image.layers {
                    eprintln!("Copying blob {} done", &l.hex()[..12]);
                }
            }
            eprintln!("Copying config {} done", &first.id.hex()[..12]);
            eprintln!("Writing manifest to image destination");
        }
        let word = first
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| first.id.hex().to_string());
        Ok(Some(self.find_image(&word)?))
    }
}
