//! push: upload the blobs a registry lacks (layers, then config), then the
//! manifest exactly as stored, so the pushed digest is the local one.

use super::client::{Access, RegistryError};
use super::config::{Endpoint, RegistriesConf};
use super::reference::Reference;
use super::{RemoteOptions, Reporter};
use crate::digest::Digest;
use crate::image::Manifest;
use crate::state::images::ImageRecord;
use crate::storage::StoreError;
use crate::storage::{ImageSink, SinkError};

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{0}")]
    Other(String),
}

pub fn push(
    sink: &dyn ImageSink,
    conf: &RegistriesConf,
    image: &ImageRecord,
    dest: &Reference,
    opts: &RemoteOptions,
    rep: &dyn Reporter,
) -> Result<Digest, PushError> {
    let ep = Endpoint {
        host: dest.domain().to_string(),
        insecure: false,
    };
    let client = opts
        .client(conf, &ep, &dest.path, Access::Push)
        .map_err(|e| PushError::Other(e.to_string()))?;
    let store = sink.store();
    let manifest_bytes = store.read_blob(&image.manifest_digest)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        PushError::Other(format!(
            "stored manifest {} is invalid: {e}",
            image.manifest_digest
        ))
    })?;
    let repo = &dest.path;
    for l in &manifest.layers {
        if client.has_blob(repo, &l.digest)? {
            rep.blob_done(&l.digest, true);
            continue;
        }
        let f = store.open_blob(&l.digest)?;
        let tick = rep.copying_blob(&l.digest, Some(l.size));
        let counting = super::Counting {
            inner: f,
            tick: &*tick,
        };
        client.upload_blob(repo, &l.digest, l.size, counting)?;
        rep.blob_done(&l.digest, false);
    }
    rep.copying_config(&manifest.config.digest);
    if !client.has_blob(repo, &manifest.config.digest)? {
        let f = store.open_blob(&manifest.config.digest)?;
        client.upload_blob(repo, &manifest.config.digest, manifest.config.size, f)?;
    }
    rep.writing_manifest();
    client.put_manifest(repo, &dest.lookup(), &image.manifest_type, &manifest_bytes)?;
    sink.record_pushed(image.id.hex(), &dest.repo(), &image.manifest_digest)?;
    Ok(image.manifest_digest.clone())
}
