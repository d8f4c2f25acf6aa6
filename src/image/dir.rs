//! containers/image's `dir:` transport, the writing side (`push IMAGE
//! dir:PATH`): the manifest as stored in `manifest.json`, every blob in a
//! file named by its hex digest, and the `version` file skopeo and podman
//! look for. The manifest is copied byte for byte, so its digest is the
//! local one.

use crate::digest::Digest;
use crate::image::Manifest;
use crate::state::images::ImageRecord;
use crate::storage::{Store, StoreError};
use std::path::Path;

/// containers/image's dir transport version marker.
const VERSION: &str = "Directory Transport Version: 1.1\n";

pub fn write(store: &Store, image: &ImageRecord, dest: &Path) -> Result<Digest, StoreError> {
    let io = |what: String| move |source| StoreError::Io { what, source };
    let manifest_bytes = store.read_blob(&image.manifest_digest)?;
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| StoreError::Io {
            what: format!("stored manifest {}", image.manifest_digest),
            source: std::io::Error::other(crate::image::json_error(&e)),
        })?;
    std::fs::create_dir_all(dest).map_err(io(format!("creating {}", dest.display())))?;
    for d in manifest
        .layers
        .iter()
        .map(|l| &l.digest)
        .chain([&manifest.config.digest])
    {
        let to = dest.join(d.hex());
        std::fs::copy(store.blob_path(d), &to).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound if !store.has_blob(d) => {
                StoreError::MissingBlob(d.clone())
            }
            _ => StoreError::Io {
                what: format!("writing {}", to.display()),
                source: e,
            },
        })?;
    }
    let m = dest.join("manifest.json");
    std::fs::write(&m, &manifest_bytes).map_err(io(format!("writing {}", m.display())))?;
    let v = dest.join("version");
    std::fs::write(&v, VERSION).map_err(io(format!("writing {}", v.display())))?;
    Ok(image.manifest_digest.clone())
}
