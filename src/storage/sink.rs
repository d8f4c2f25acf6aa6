//! Where image transports (a registry pull or push, archive load, save and
//! import) put what they fetch and read what they send: the blob and layer
//! store and the image records kept over it. The engine is one
//! (`impl ImageSink for Engine`); the trait keeps `registry/` and
//! `image/` below the engine, as ARCHITECTURE.md layers them.

use super::{LayerInfo, Store};
use crate::digest::Digest;

/// What a pull, load or import hands over to become an image.
pub struct NewImage<'a> {
    pub config: &'a [u8],
    pub manifest: &'a [u8],
    pub manifest_type: &'a str,
    /// The manifest list the manifest was picked from, if any.
    pub index: Option<&'a [u8]>,
    pub layers: &'a [LayerInfo],
    pub names: Vec<String>,
    /// Repository the manifest digests are recorded for (`RepoDigests`).
    pub repo: Option<String>,
}

/// A failure of the records behind the store (the engine's database or
/// its writer lock), as the transport passes it on.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SinkError(pub Box<dyn std::error::Error + Send + Sync>);

pub trait ImageSink {
    fn store(&self) -> &Store;
    /// Record an image: `Ok(None)` when one of its layers vanished
    /// meanwhile (a concurrent removal), so fetch again and retry.
    fn commit_image(&self, image: &NewImage) -> Result<Option<Digest>, SinkError>;
    /// A recorded layer, by chain ID.
    fn layer(&self, chain: &Digest) -> Result<Option<LayerInfo>, SinkError>;
    /// A push put `image_id` at `repo` under manifest `digest`
    /// (`RepoDigests`).
    fn record_pushed(&self, image_id: &str, repo: &str, digest: &Digest) -> Result<(), SinkError>;
}
