//! Image formats: OCI and Docker schema2 manifests, indexes, image configs,
//! and the archive formats (`save`/`load`/`import`).

pub mod archive;
pub mod config;
pub mod manifest;

pub use config::ImageConfig;
pub use manifest::{Descriptor, Index, Manifest, Platform};
