//! What `build` asks of the store around `build::build`: a context given
//! on stdin unpacked into temp space, a RUN step's image config, and the
//! built image's names and event.

use super::{Engine, EngineError};
use crate::digest::Digest;
use crate::image::config::{ConfigError, ImageConfig};
use crate::state::images::{self as db, ImageRecord};
use crate::storage::StoreError;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BuildContextError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ImageConfigError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What `build -` found on stdin, in a temp dir of the store that
/// [`Engine::remove_stdin_context`] removes.
pub struct StdinContext {
    pub dir: PathBuf,
    /// The Containerfile, when stdin held one rather than a context
    /// archive (the context is then empty).
    pub containerfile: Option<String>,
}

/// A context archive (plain, gzip, zstd, xz or bzip2 tar), else a
/// Containerfile, as podman takes either.
fn is_archive(head: &[u8]) -> bool {
    use crate::image::manifest::Compression;
    Compression::sniff(head) != Compression::None
        || crate::build::copy::Packed::sniff(head).is_some()
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

/// A context given as a tar on stdin, unpacked into `dir`.
fn unpack_context(dir: &Path, data: &[u8]) -> Result<(), BuildContextError> {
    std::fs::create_dir_all(dir)?;
    let fail = |e: std::io::Error| {
        BuildContextError::Invalid(format!(
            "unpacking the build context from stdin: {}",
            crate::storage::unpack::tar_error(e)
        ))
    };
    let r = crate::build::copy::archive_reader(std::io::Cursor::new(data)).map_err(fail)?;
    let mut a = tar::Archive::new(r);
    a.set_preserve_permissions(true);
    for entry in a.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        // Written sparse by the tar crate, a sparse member would still be
        // read out in full by a later COPY: refused, as podman does.
        if let Some(how) = crate::storage::unpack::sparse_reason(&mut entry).map_err(fail)? {
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            return Err(BuildContextError::Invalid(format!(
                "unpacking the build context from stdin: member {name:?}: sparse files are not supported ({how})"
            )));
        }
        // unpack_in refuses members that would land outside `dir`.
        entry.unpack_in(dir).map_err(fail)?;
    }
    Ok(())
}

impl Engine {
    /// `build -`: what was read from stdin, as a context directory in the
    /// store's temp space (a failed unpack leaves it to the temp sweep).
    pub fn stdin_context(&self, data: &[u8]) -> Result<StdinContext, BuildContextError> {
        let dir = self.store.temp_path("build-context");
        if is_archive(&data[..data.len().min(512)]) {
            unpack_context(&dir, data)?;
            return Ok(StdinContext {
                dir,
                containerfile: None,
            });
        }
        std::fs::create_dir_all(&dir)?;
        Ok(StdinContext {
            dir,
            containerfile: Some(String::from_utf8_lossy(data).into_owned()),
        })
    }

    /// Remove a stdin context once the build is done.
    pub fn remove_stdin_context(&self, c: &StdinContext) -> Result<(), StoreError> {
        self.store.remove_path(&c.dir)
    }

    /// A stored image's config (a RUN step's container is made from it).
    pub fn image_config(&self, rec: &ImageRecord) -> Result<ImageConfig, ImageConfigError> {
        Ok(ImageConfig::parse(&self.store.read_blob(&rec.id)?)?)
    }

    /// After a build: the tags go on the final image under the writer
    /// lock, and its `build` event names the first tag (else the ID), as
    /// podman's does.
    pub fn name_built_image(&self, id: &Digest, tags: &[String]) -> Result<(), EngineError> {
        {
            let _lock = self.lock()?;
            for t in tags {
                db::add_name(&self.db.conn, id, t)?;
            }
        }
        super::events::image(
            "build",
            id.hex(),
            tags.first().map_or(id.hex(), String::as_str),
        );
        Ok(())
    }
}
