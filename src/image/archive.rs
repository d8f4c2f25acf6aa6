//! Image archives: `docker-archive` (docker save's layout: manifest.json,
//! config JSON, one uncompressed tar per layer) and `oci-archive` (an OCI
//! image layout in a tar), both ways; and `import` of a plain rootfs tar.

use super::manifest::{self, Compression, Descriptor, Index, Manifest};
use super::members::{MemberError, Members};
use super::{ImageConfig, Platform, json_error};
use crate::digest::{self, Digest};
use crate::state::images::ImageRecord;
use crate::storage::layer::decompress;
use crate::storage::{ImageSink, NewImage, SinkError};
use crate::storage::{LayerInfo, PutLayer, StoreError};
use serde_json::json;
use std::io::{self, Read, Write};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Invalid(String),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Member(#[from] MemberError),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ArchiveError {
    let what = what.into();
    move |source| ArchiveError::Io { what, source }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArchiveFormat {
    DockerArchive,
    OciArchive,
}

/// One image to save, with the names to record in the archive.
pub struct SaveItem<'a> {
    pub image: &'a ImageRecord,
    pub names: Vec<String>,
}

fn add_bytes<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(bytes.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, bytes)
}

fn add_stream<W: Write, R: Read>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    r: R,
) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, r)
}

/// Write images as an archive to `out`; `uncompressed`: an oci-archive's
/// layers as plain tars (docker-archive's always are).
pub fn save<W: Write>(
    sink: &dyn ImageSink,
    items: &[SaveItem],
    format: ArchiveFormat,
    uncompressed: bool,
    out: W,
) -> Result<(), ArchiveError> {
    let mut tar = tar::Builder::new(out);
    let store = sink.store();
    match format {
        ArchiveFormat::DockerArchive => {
            let mut manifest = Vec::new();
            let mut written = std::collections::BTreeSet::new();
            for it in items {
                let config_name = format!("{}.json", it.image.id.hex());
                if written.insert(config_name.clone()) {
                    add_bytes(&mut tar, &config_name, &store.read_blob(&it.image.id)?)
                        .map_err(io_err("writing archive"))?;
                }
                let mut layers = Vec::new();
                for chain in &it.image.layers {
                    let info = sink.layer(chain)?.ok_or_else(|| {
                        ArchiveError::Invalid(format!("layer {chain} is not in the store"))
                    })?;
                    // docker save's layout: uncompressed layer tars named by diff ID.
                    let name = format!("{}.tar", info.diff_id.hex());
                    if written.insert(name.clone()) {
                        let blob = store.open_blob(&info.blob_digest)?;
                        let c = Compression::of_media_type(&info.media_type)
                            .unwrap_or(Compression::Gzip);
                        let r = decompress(io::BufReader::new(blob), c)
                            .map_err(io_err("reading layer"))?;
                        add_stream(&mut tar, &name, info.size, r)
                            .map_err(io_err("writing archive"))?;
                    }
                    layers.push(name);
                }
                manifest
                    .push(json!({ "Config": config_name, "RepoTags": it.names, "Layers": layers }));
            }
            add_bytes(
                &mut tar,
                "manifest.json",
                serde_json::to_vec(&manifest).unwrap_or_default().as_slice(),
            )
            .map_err(io_err("writing archive"))?;
        }
        ArchiveFormat::OciArchive => {
            add_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)
                .map_err(io_err("writing archive"))?;
            let mut index = Vec::new();
            let mut written = std::collections::BTreeSet::new();
            for it in items {
                let mut manifest_bytes = store.read_blob(&it.image.manifest_digest)?;
                let mut manifest_digest = it.image.manifest_digest.clone();
                let m: Manifest = serde_json::from_slice(&manifest_bytes)
                    .map_err(|e| ArchiveError::Invalid(format!("stored manifest: {e}")))?;
                let mut layers = Vec::new();
                for chain in &it.image.layers {
                    layers.push(sink.layer(chain)?.ok_or_else(|| {
                        ArchiveError::Invalid(format!("layer {chain} is not in the store"))
                    })?);
                }
                // (digest in the archive, size, stored blob, decompress it?)
                let mut blobs: Vec<(Digest, u64, Digest, Option<Compression>)> = m
                    .layers
                    .iter()
                    .map(|l| (l.digest.clone(), l.size, l.digest.clone(), None))
                    .collect();
                if uncompressed {
                    // podman save --uncompressed: every layer as its plain
                    // tar (named by its diff ID), in a manifest rewritten
                    // to say so.
                    let mut doc: serde_json::Value = serde_json::from_slice(&manifest_bytes)
                        .map_err(|e| ArchiveError::Invalid(format!("stored manifest: {e}")))?;
                    let plain = if it.image.manifest_type == manifest::DOCKER_MANIFEST {
                        manifest::DOCKER_LAYER
                    } else {
                        manifest::OCI_LAYER
                    };
                    for (i, b) in blobs.iter_mut().enumerate() {
                        let Some(info) = layers.iter().find(|l| l.blob_digest == b.2) else {
                            continue;
                        };
                        let c = Compression::of_media_type(&info.media_type)
                            .unwrap_or(Compression::Gzip);
                        if matches!(c, Compression::None) {
                            continue;
                        }
                        *b = (info.diff_id.clone(), info.size, b.2.clone(), Some(c));
                        if let Some(d) = doc["layers"].get_mut(i) {
                            d["mediaType"] = json!(plain);
                            d["digest"] = json!(info.diff_id.to_string());
                            d["size"] = json!(info.size);
                        }
                    }
                    manifest_bytes = serde_json::to_vec(&doc)
                        .map_err(|e| ArchiveError::Invalid(format!("manifest: {e}")))?;
                    manifest_digest = Digest::of(&manifest_bytes);
                }
                let c = &m.config.digest;
                blobs.push((c.clone(), m.config.size, c.clone(), None));
                for (d, size, stored, c) in blobs {
                    if written.insert(d.clone()) {
                        let blob = store.open_blob(&stored)?;
                        let name = format!("blobs/sha256/{}", d.hex());
                        match c {
                            None => add_stream(&mut tar, &name, size, blob),
                            Some(c) => {
                                let r = decompress(io::BufReader::new(blob), c)
                                    .map_err(io_err("reading layer"))?;
                                add_stream(&mut tar, &name, size, r)
                            }
                        }
                        .map_err(io_err("writing archive"))?;
                    }
                }
                if written.insert(manifest_digest.clone()) {
                    add_bytes(
                        &mut tar,
                        &format!("blobs/sha256/{}", manifest_digest.hex()),
                        &manifest_bytes,
                    )
                    .map_err(io_err("writing archive"))?;
                }
                let names = if it.names.is_empty() {
                    vec![None]
                } else {
                    it.names.iter().map(Some).collect()
                };
                for n in names {
                    let mut d = json!({
                        "mediaType": it.image.manifest_type,
                        "digest": manifest_digest,
                        "size": manifest_bytes.len(),
                    });
                    if let Some(n) = n {
                        d["annotations"] = json!({ "org.opencontainers.image.ref.name": n, "io.containerd.image.name": n });
                    }
                    index.push(d);
                }
            }
            let idx =
                json!({ "schemaVersion": 2, "mediaType": manifest::OCI_INDEX, "manifests": index });
            add_bytes(
                &mut tar,
                "index.json",
                serde_json::to_vec(&idx).unwrap_or_default().as_slice(),
            )
            .map_err(io_err("writing archive"))?;
        }
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(io_err("writing archive"))?;
    Ok(())
}

/// What `load` brought in.
pub struct Loaded {
    pub id: Digest,
    pub names: Vec<String>,
}

/// Unpack the archive's files into a temp dir (their order in the tar is
/// not fixed), then bring each image in through the verified paths. Every
/// path the archive names is opened inside that dir only (see
/// [`Members`]).
pub fn load<R: Read>(sink: &dyn ImageSink, input: R) -> Result<Vec<Loaded>, ArchiveError> {
    let dir = sink.store().temp_path("load");
    crate::process::private::dir(&dir).map_err(io_err("creating temp dir"))?;
    let r = load_in(sink, input, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn load_in<R: Read>(
    sink: &dyn ImageSink,
    input: R,
    dir: &Path,
) -> Result<Vec<Loaded>, ArchiveError> {
    let mut input = io::BufReader::new(input);
    let head = io::BufRead::fill_buf(&mut input)
        .map_err(io_err("reading archive"))?
        .to_vec();
    // podman tries each transport in turn and, when none takes the
    // payload, lists why each refused it.
    let unknown = |why: &str| {
        ArchiveError::Invalid(format!(
            "payload does not match any of the supported image formats:\n * oci-archive: {why}\n * docker-archive: {why}"
        ))
    };
    let dec = decompress(input, Compression::sniff(&head)).map_err(|e| unknown(&e.to_string()))?;
    let members = match Members::extract(dec, dir) {
        Ok(m) => m,
        Err(MemberError::Io { what, source }) if what == "reading archive" => {
            return Err(unknown(&format!("reading the payload as a tar: {source}")));
        }
        Err(e) => return Err(e.into()),
    };
    if members.has("index.json") {
        load_oci(sink, &members)
    } else if members.has("manifest.json") {
        load_docker(sink, &members)
    } else {
        Err(unknown(
            "it has neither index.json (oci-archive) nor manifest.json (docker-archive)",
        ))
    }
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn verified_blob(
    members: &Members,
    kind: &'static str,
    d: &Digest,
) -> Result<Vec<u8>, ArchiveError> {
    let b = members.read(kind, &blob_path(d))?;
    let got = Digest::of(&b);
    if got != *d {
        return Err(StoreError::DigestMismatch {
            expected: d.clone(),
            actual: got,
            size: b.len() as u64,
        }
        .into());
    }
    Ok(b)
}

/// A name from an archive: qualified as docker does for docker-archive tags
/// ("busybox:latest" is docker.io/library/busybox:latest).
fn archive_name(n: &str) -> Option<String> {
    let r = crate::registry::Reference::parse(n).ok()?;
    Some(
        r.qualified(crate::registry::reference::DOCKER_HUB)
            .stored_name(),
    )
}

fn load_oci(sink: &dyn ImageSink, members: &Members) -> Result<Vec<Loaded>, ArchiveError> {
    let idx: Index = serde_json::from_slice(&members.read("index", "index.json")?)
        .map_err(|e| ArchiveError::Invalid(format!("index.json: {}", json_error(&e))))?;
    let mut out = Vec::new();
    for d in &idx.manifests {
        let mut desc: Descriptor = d.clone();
        let mut bytes = verified_blob(members, "manifest", &desc.digest)?;
        if manifest::is_index_type(&desc.media_type) {
            let inner: Index = serde_json::from_slice(&bytes)
                .map_err(|e| ArchiveError::Invalid(format!("nested index: {}", json_error(&e))))?;
            desc = inner.select(&Platform::host()).cloned().ok_or_else(|| {
                ArchiveError::Invalid("nested index has no image for this platform".into())
            })?;
            bytes = verified_blob(members, "manifest", &desc.digest)?;
        }
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            ArchiveError::Invalid(format!("manifest {}: {}", desc.digest, json_error(&e)))
        })?;
        let config = verified_blob(members, "config", &m.config.digest)?;
        let cfg = ImageConfig::parse(&config).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
        if cfg.rootfs.diff_ids.len() != m.layers.len() {
            return Err(ArchiveError::Invalid(format!(
                "manifest {} and its config disagree on the layer count",
                desc.digest
            )));
        }
        let chain = digest::chain_ids(&cfg.rootfs.diff_ids);
        let mut layers = Vec::new();
        for (i, l) in m.layers.iter().enumerate() {
            if let Some(info) = sink
                .store()
                .layer_info(&chain[i])
                .filter(|i| sink.store().has_blob(&i.blob_digest))
            {
                layers.push(info);
                continue;
            }
            let f = members.open("layer", &blob_path(&l.digest))?;
            let compression = Compression::of_media_type(&l.media_type).ok_or_else(|| {
                ArchiveError::Invalid(format!(
                    "layer {} has unsupported media type {}",
                    l.digest, l.media_type
                ))
            })?;
            let req = PutLayer {
                parent: (i > 0).then(|| &chain[i - 1]),
                diff_id: Some(&cfg.rootfs.diff_ids[i]),
                blob_digest: &l.digest,
                blob_size: Some(l.size),
                media_type: &l.media_type,
                compression,
            };
            layers.push(sink.store().put_layer(f, &req)?);
        }
        let names: Vec<String> = d
            .annotations
            .as_ref()
            .and_then(|a| {
                a.get("io.containerd.image.name")
                    .or_else(|| a.get("org.opencontainers.image.ref.name"))
            })
            .and_then(|n| archive_name(n))
            .into_iter()
            .collect();
        let repo = names
            .first()
            .map(|n| crate::registry::reference::split_name(n).0.to_string());
        let image = NewImage {
            config: &config,
            manifest: &bytes,
            manifest_type: &desc.media_type,
            index: None,
            layers: &layers,
            names: names.clone(),
            repo,
        };
        let id = sink.commit_image(&image)?.ok_or_else(|| {
            ArchiveError::Invalid("layers vanished while loading; try again".into())
        })?;
        out.push(Loaded { id, names });
    }
    Ok(out)
}

/// Build an OCI manifest for layers berth made itself (load of a
/// docker-archive, import).
fn oci_manifest(config: &[u8], layers: &[LayerInfo]) -> Vec<u8> {
    let m = json!({
        "schemaVersion": 2,
        "mediaType": manifest::OCI_MANIFEST,
        "config": { "mediaType": manifest::OCI_CONFIG, "digest": Digest::of(config), "size": config.len() },
        "layers": layers.iter().map(|l| json!({ "mediaType": l.media_type, "digest": l.blob_digest, "size": l.blob_size })).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&m).unwrap_or_default()
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn load_docker(sink: &dyn ImageSink, members: &Members) -> Result<Vec<Loaded>, ArchiveError> {
    let entries: Vec<DockerEntry> =
        serde_json::from_slice(&members.read("manifest", "manifest.json")?)
            .map_err(|e| ArchiveError::Invalid(format!("manifest.json: {}", json_error(&e))))?;
    let mut out = Vec::new();
    for e in entries {
        // Every path first, before any layer is read: one bad name refuses
        // the archive whatever order it lists things in.
        for rel in &e.layers {
            members.open("layer", rel)?;
        }
        let config = members.read("config", &e.config)?;
        let cfg =
            ImageConfig::parse(&config).map_err(|er| ArchiveError::Invalid(er.to_string()))?;
        if cfg.rootfs.diff_ids.len() != e.layers.len() {
            return Err(ArchiveError::Invalid(format!(
                "{}: config and manifest.json disagree on the layer count",
                e.config
            )));
        }
        let chain = digest::chain_ids(&cfg.rootfs.diff_ids);
        let mut layers = Vec::new();
        for (i, rel) in e.layers.iter().enumerate() {
            if let Some(info) = sink
                .store()
                .layer_info(&chain[i])
                .filter(|i| sink.store().has_blob(&i.blob_digest))
            {
                layers.push(info);
                continue;
            }
            let f = members.open("layer", rel)?;
            let info = sink
                .store()
                .import_layer(f, (i > 0).then(|| &chain[i - 1]))?;
            if info.diff_id != cfg.rootfs.diff_ids[i] {
                return Err(StoreError::DiffIdMismatch {
                    diff_id: cfg.rootfs.diff_ids[i].clone(),
                    actual: info.diff_id,
                }
                .into());
            }
            layers.push(info);
        }
        let names: Vec<String> = e
            .repo_tags
            .unwrap_or_default()
            .iter()
            .filter_map(|n| archive_name(n))
            .collect();
        let id = commit_own(sink, &config, &layers, names.clone())?;
        out.push(Loaded { id, names });
    }
    Ok(out)
}

/// `import`: a rootfs tar (any compression) becomes a one-layer image.
pub fn import<R: Read>(
    sink: &dyn ImageSink,
    input: R,
    run_config: super::config::RunConfig,
    message: Option<&str>,
    names: Vec<String>,
) -> Result<Digest, ArchiveError> {
    let layer = sink.store().import_layer(input, None)?;
    let now = crate::format::units::rfc3339(crate::state::images::now());
    let platform = Platform::host();
    let mut history = json!({ "created": now, "created_by": "/bin/sh -c #(nop) ADD file in / " });
    if let Some(m) = message {
        history["comment"] = json!(m);
    }
    let config = json!({
        "created": now,
        "architecture": platform.architecture,
        "os": platform.os,
        "config": run_config,
        "rootfs": { "type": "layers", "diff_ids": [layer.diff_id] },
        "history": [history],
    });
    let config = serde_json::to_vec(&config).unwrap_or_default();
    commit_own(sink, &config, &[layer], names)
}

/// Record an image whose layers berth made itself (a docker-archive load,
/// an import), under a fresh OCI manifest.
pub fn commit_own(
    sink: &dyn ImageSink,
    config: &[u8],
    layers: &[LayerInfo],
    names: Vec<String>,
) -> Result<Digest, ArchiveError> {
    let manifest = oci_manifest(config, layers);
    let image = NewImage {
        config,
        manifest: &manifest,
        manifest_type: manifest::OCI_MANIFEST,
        index: None,
        layers,
        names,
        repo: None,
    };
    sink.commit_image(&image)?.ok_or_else(|| {
        ArchiveError::Invalid("layers vanished while storing the image; try again".into())
    })
}
