//! pull: reference -> manifest (via an index for the wanted platform) ->
//! config -> layers fetched in parallel, verified while they stream and
//! unpacked once -> one transaction that records the image.

use super::client::{Access, Client, RegistryError};
use super::config::RegistriesConf;
use super::reference::{Reference, ReferenceError};
use super::{RemoteOptions, Reporter};
use crate::digest::{self, Digest};
use crate::image::ImageConfig;
use crate::image::manifest::{self, Compression, Index, Manifest, Platform};
use crate::storage::{ImageSink, NewImage, SinkError};
use crate::storage::{LayerInfo, PutLayer, Store, StoreError};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(
        "short-name {0:?} did not resolve to an alias and no unqualified-search registries are defined in registries.conf"
    )]
    NoSearchRegistries(String),
    #[error("{name}: image not found in any search registry (tried {tried}){errors}")]
    NotFound {
        name: String,
        tried: String,
        errors: String,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A registry that cannot be reached, as podman (containers/image)
    /// words it.
    #[error("initializing source docker://{reference}: {cause}")]
    Unreachable {
        reference: String,
        cause: RegistryError,
    },
    #[error("{0}")]
    Config(String),
    #[error(
        "{reference}: no image for platform {platform} in the manifest list (it has: {available})"
    )]
    NoPlatform {
        reference: String,
        platform: String,
        available: String,
    },
    #[error("{reference}: {what} digest mismatch: expected {expected}, got {actual}")]
    ManifestDigest {
        reference: String,
        what: &'static str,
        expected: String,
        actual: Digest,
    },
    #[error("{reference}: {0}", reference = .1)]
    BadManifest(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// The largest image config berth reads (they hold history and
/// environment; real ones are kilobytes).
const MAX_CONFIG: u64 = 16 << 20;

#[derive(Debug, Clone)]
pub struct PullOptions {
    pub platform: Platform,
    pub remote: RemoteOptions,
    /// How many layers download at once (podman's default is 6).
    pub parallel: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: Platform::host(),
            remote: RemoteOptions::default(),
            parallel: 6,
        }
    }
}

/// The fully qualified references a user's word stands for, in the order to
/// try them: itself if qualified, else its alias, else one per search
/// registry.
pub fn candidates(word: &str, conf: &RegistriesConf) -> Result<Vec<Reference>, PullError> {
    let r = Reference::parse(word)?;
    if r.domain.is_some() {
        return Ok(vec![r.qualified(super::reference::DOCKER_HUB)]);
    }
    if let Some(alias) = conf.aliases.get(&r.path) {
        let mut a = Reference::parse(alias)?;
        a.tag = r.tag.clone();
        a.digest = r.digest.clone();
        if a.domain.is_some() {
            return Ok(vec![a.qualified(super::reference::DOCKER_HUB)]);
        }
    }
    if conf.unqualified_search_registries.is_empty() {
        return Err(PullError::NoSearchRegistries(word.into()));
    }
    Ok(conf
        .unqualified_search_registries
        .iter()
        .map(|reg| r.clone().qualified(reg))
        .collect())
}

/// A manifest found for a reference, and where it came from.
struct Resolved {
    client: Client,
    /// Repository path on the endpoint that answered (mirrors may differ).
    repo: String,
    reference: Reference,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    manifest_type: String,
    /// The manifest list it was picked from, if any.
    index: Option<Vec<u8>>,
}

pub fn pull(
    sink: &dyn ImageSink,
    conf: &RegistriesConf,
    word: &str,
    opts: &PullOptions,
    rep: &dyn Reporter,
) -> Result<Digest, PullError> {
    let cands = candidates(word, conf)?;
    let mut tried = Vec::new();
    let mut errors = Vec::new();
    let mut all_not_found = true;
    for c in &cands {
        rep.trying(&c.to_string());
        let endpoints = conf
            .pull_endpoints(c.domain(), &c.path)
            .map_err(PullError::Config)?;
        for (ep, repo) in endpoints {
            tried.push(ep.host.clone());
            let client = opts
                .remote
                .client(conf, &ep, &repo, Access::Pull)
                .map_err(|e| PullError::Config(e.to_string()))?;
            match resolve(client, &repo, c, &opts.platform) {
                Ok(res) => return fetch(sink, res, rep, opts),
                Err(PullError::Registry(RegistryError::NotFound { .. })) => {}
                Err(e) => {
                    // A single qualified reference: its error is the answer.
                    if cands.len() == 1 {
                        return Err(match e {
                            PullError::Registry(cause @ RegistryError::Transport { .. }) => {
                                PullError::Unreachable {
                                    reference: c.to_string(),
                                    cause,
                                }
                            }
                            e => e,
                        });
                    }
                    all_not_found = false;
                    errors.push(format!("{c}: {e}"));
                }
            }
        }
    }
    tried.dedup();
    if cands.len() == 1 && all_not_found {
        return Err(PullError::Registry(RegistryError::NotFound {
            host: cands[0].domain().into(),
            what: format!("image {}", cands[0]),
        }));
    }
    let errors = if errors.is_empty() {
        String::new()
    } else {
        format!("; errors: {}", errors.join("; "))
    };
    Err(PullError::NotFound {
        name: word.into(),
        tried: tried.join(", "),
        errors,
    })
}

fn check_digest(
    reference: &Reference,
    what: &'static str,
    expected: Option<&str>,
    actual: &Digest,
) -> Result<(), PullError> {
    if let Some(e) = expected
        && e != actual.to_string()
    {
        return Err(PullError::ManifestDigest {
            reference: reference.to_string(),
            what,
            expected: e.into(),
            actual: actual.clone(),
        });
    }
    Ok(())
}

fn resolve(
    client: Client,
    repo: &str,
    reference: &Reference,
    platform: &Platform,
) -> Result<Resolved, PullError> {
    let resp = client.get_manifest(repo, &reference.lookup(), None)?;
    client.note_anonymous();
    let digest = Digest::of(&resp.body);
    let pinned = reference.digest.as_ref().map(|d| d.to_string());
    check_digest(
        reference,
        "manifest",
        pinned.as_deref().or(resp.digest.as_deref()),
        &digest,
    )?;
    let bad = |m: String| PullError::BadManifest(m, reference.to_string());
    let mt = manifest::detect_media_type(resp.content_type.as_deref(), &resp.body)
        .ok_or_else(|| bad("registry returned something that is not an image manifest".into()))?;
    let (bytes, _, mt, index) = if manifest::is_index_type(&mt) {
        let idx: Index = serde_json::from_slice(&resp.body)
            .map_err(|e| bad(format!("invalid manifest list: {e}")))?;
        let Some(d) = idx.select(platform) else {
            let available: Vec<String> = idx
                .manifests
                .iter()
                .filter_map(|m| m.platform.as_ref().map(|p| p.to_string()))
                .collect();
            return Err(PullError::NoPlatform {
                reference: reference.to_string(),
                platform: platform.to_string(),
                available: available.join(", "),
            });
        };
        let inner = client.get_manifest(repo, &d.digest.to_string(), Some(d.size))?;
        let got = Digest::of(&inner.body);
        check_digest(
            reference,
            "platform manifest",
            Some(&d.digest.to_string()),
            &got,
        )?;
        (inner.body, got, d.media_type.clone(), Some(resp.body))
    } else if manifest::is_manifest_type(&mt) {
        (resp.body, digest, mt, None)
    } else {
        return Err(bad(format!("unsupported manifest type {mt}")));
    };
    let m: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid manifest: {e}")))?;
    for l in &m.layers {
        if Compression::of_media_type(&l.media_type).is_none() {
            return Err(bad(format!(
                "layer {} has unsupported media type {}",
                l.digest, l.media_type
            )));
        }
    }
    Ok(Resolved {
        client,
        repo: repo.into(),
        reference: reference.clone(),
        manifest: m,
        manifest_bytes: bytes,
        manifest_type: mt,
        index,
    })
}

fn fetch(
    sink: &dyn ImageSink,
    res: Resolved,
    rep: &dyn Reporter,
    opts: &PullOptions,
) -> Result<Digest, PullError> {
    let m = &res.manifest;
    let bad = |msg: String| PullError::BadManifest(msg, res.reference.to_string());
    // Configs are read into memory: refuse one declared absurdly large
    // before fetching it (containers/image caps them too).
    if m.config.size > MAX_CONFIG {
        return Err(bad(format!(
            "config {} declares {} bytes, more than the {} MiB berth accepts",
            m.config.digest,
            m.config.size,
            MAX_CONFIG >> 20
        )));
    }
    let config_bytes = res
        .client
        .get_blob_bytes(&res.repo, &m.config.digest, m.config.size)?;
    let got = Digest::of(&config_bytes);
    if got != m.config.digest {
        return Err(StoreError::DigestMismatch {
            expected: m.config.digest.clone(),
            actual: got,
            size: config_bytes.len() as u64,
        }
        .into());
    }
    let config = ImageConfig::parse(&config_bytes).map_err(|e| bad(e.to_string()))?;
    if config.rootfs.diff_ids.len() != m.layers.len() {
        return Err(bad(format!(
            "config lists {} layers, manifest {}",
            config.rootfs.diff_ids.len(),
            m.layers.len()
        )));
    }
    let chain = digest::chain_ids(&config.rootfs.diff_ids);

    // Commit re-checks that every layer is still there (an `rmi` may have
    // collected a shared one meanwhile) and fetches again if not.
    for _attempt in 0..3 {
        let infos = fetch_layers(sink.store(), &res, &config, &chain, rep, opts)?;
        rep.copying_config(&m.config.digest);
        rep.writing_manifest();
        let image = NewImage {
            config: &config_bytes,
            manifest: &res.manifest_bytes,
            manifest_type: &res.manifest_type,
            index: res.index.as_deref(),
            layers: &infos,
            names: vec![res.reference.stored_name()],
            repo: Some(res.reference.repo()),
        };
        if let Some(id) = sink.commit_image(&image)? {
            return Ok(id);
        }
    }
    Err(PullError::Config(format!(
        "{}: layers kept disappearing while pulling (concurrent removal); try again",
        res.reference
    )))
}

fn fetch_layers(
    store: &Store,
    res: &Resolved,
    config: &ImageConfig,
    chain: &[Digest],
    rep: &dyn Reporter,
    opts: &PullOptions,
) -> Result<Vec<LayerInfo>, PullError> {
    let layers = &res.manifest.layers;
    let results: Vec<Mutex<Option<Result<LayerInfo, PullError>>>> =
        layers.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let workers = opts.parallel.clamp(1, layers.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= layers.len() || failed.load(Ordering::SeqCst) {
                        return;
                    }
                    let r = fetch_layer(store, res, i, &config.rootfs.diff_ids[i], chain, rep);
                    if r.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(layers.len());
    for r in results {
        match r.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(info)) => out.push(info),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    if out.len() != layers.len() {
        return Err(PullError::Config("layer download stopped early".into()));
    }
    Ok(out)
}

fn fetch_layer(
    store: &Store,
    res: &Resolved,
    i: usize,
    diff_id: &Digest,
    chain: &[Digest],
    rep: &dyn Reporter,
) -> Result<LayerInfo, PullError> {
    let desc = &res.manifest.layers[i];
    let chain_id = &chain[i];
    let present = |chain_id: &Digest| -> Option<LayerInfo> {
        let info = store.layer_info(chain_id)?;
        store.has_blob(&info.blob_digest).then_some(info)
    };
    if let Some(info) = present(chain_id) {
        rep.blob_done(&desc.digest, true);
        return Ok(info);
    }
    let _lock = store.content_lock(&desc.digest)?;
    if let Some(info) = present(chain_id) {
        rep.blob_done(&desc.digest, true);
        return Ok(info);
    }
    let tick = rep.copying_blob(&desc.digest, Some(desc.size));
    let body = res.client.get_blob(&res.repo, &desc.digest)?;
    let counting = super::Counting {
        inner: body,
        tick: &*tick,
    };
    let req = PutLayer {
        parent: if i == 0 { None } else { Some(&chain[i - 1]) },
        diff_id: Some(diff_id),
        blob_digest: &desc.digest,
        blob_size: Some(desc.size),
        media_type: &desc.media_type,
        compression: Compression::of_media_type(&desc.media_type).unwrap_or(Compression::Gzip),
    };
    let info = store.put_layer(counting, &req)?;
    rep.blob_done(&desc.digest, false);
    Ok(info)
}
