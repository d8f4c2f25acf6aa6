//! Manifest lists made locally (`manifest create/add/remove/rm/push`), as
//! OCI indexes in `storage/manifest-lists/`: finding them by name or ID,
//! adding entries from the store or a registry, and pushing them.

use super::{Engine, EngineError};
use crate::digest::Digest;
use crate::image::ImageConfig;
use crate::image::lists::{Lists, StoredList};
use crate::image::manifest::{self, Descriptor, Index, Manifest, OCI_INDEX, Platform};
use crate::registry::client::Access;
use crate::registry::reference::{DOCKER_HUB, Reference};
use crate::registry::{RegistriesConf, RemoteOptions};
use std::collections::BTreeMap;

/// A failed list operation, in podman's words (causes follow after ": ",
/// as the CLI prints an error chain).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ListError(String);

impl ListError {
    fn chain(e: &(dyn std::error::Error + 'static)) -> ListError {
        ListError(crate::format::error_chain(e))
    }
}

macro_rules! err {
    ($($t:tt)*) => { ListError(format!($($t)*)) };
}

macro_rules! bail {
    ($($t:tt)*) => { return Err(err!($($t)*)) };
}

macro_rules! chained_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ListError {
            fn from(e: $t) -> Self {
                ListError::chain(&e)
            }
        }
    )*};
}

chained_from!(
    std::io::Error,
    EngineError,
    super::images::ImageError,
    super::tags::TagError,
    crate::registry::reference::ReferenceError,
    crate::storage::StoreError,
    crate::registry::RegistryError,
    crate::registry::auth::AuthFileError,
    crate::registry::config::ConfError,
    crate::registry::pull::PullError,
    crate::registry::push::PushError,
    serde_json::Error
);

/// `--creds`/`--authfile`/`--tls-verify`, read only when a registry is
/// contacted (a bad `--creds` does not fail a local-only add).
pub type RemoteFn<'a> = &'a dyn Fn() -> Result<RemoteOptions, String>;

/// One `manifest add` (or an image of `manifest create`).
#[derive(Debug, Clone, Default)]
pub struct ListAdd {
    /// docker://REFERENCE (the default transport) or containers-storage:IMAGE
    pub image: String,
    /// Every entry of a list, not only the host platform's.
    pub all: bool,
    pub arch: Option<String>,
    pub os: Option<String>,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    /// KEY=VALUE
    pub annotations: Vec<String>,
}

/// What `manifest push` is asked.
pub struct ListPush<'a> {
    pub list: &'a str,
    /// [docker://]REGISTRY/REPOSITORY[:TAG]; the list's name when None.
    pub destination: Option<&'a str>,
    /// Push the images the list names too.
    pub all: bool,
    pub quiet: bool,
}

impl Engine {
    /// The store's manifest lists (`storage/manifest-lists/`).
    pub fn manifest_lists(&self) -> std::io::Result<Lists> {
        Lists::open(self.store.root())
    }

    /// Remove a list from local storage, under the writer lock.
    pub fn remove_manifest_list(&self, lists: &Lists, l: &StoredList) -> Result<(), ListError> {
        let _lock = self.lock()?;
        lists.remove(&l.id)?;
        Ok(())
    }

    /// `manifest create`: a new list named `name` with `images` added;
    /// its ID.
    pub fn create_manifest_list(
        &self,
        lists: &Lists,
        name: &str,
        images: &[ListAdd],
        remote: RemoteFn,
    ) -> Result<String, ListError> {
        let stored = super::tags::local_name(name)?;
        let _lock = self.lock()?;
        if lookup_list(lists, name)?.is_some() || self.find_image(&stored).is_ok() {
            bail!("creating manifest list: image name {stored:?} is already in use");
        }
        let mut l = StoredList {
            id: super::containers::new_id(),
            names: vec![stored],
            created: super::images::now(),
            index: Index {
                schema_version: 2,
                media_type: Some(OCI_INDEX.into()),
                manifests: vec![],
                annotations: None,
            },
            sources: BTreeMap::new(),
        };
        for a in images {
            self.add_to_list(&mut l, a, remote)?;
        }
        lists.save(&l)?;
        Ok(l.id)
    }

    /// `manifest add`: the entries `a` names added to the list (the same
    /// manifest again replaces its entry); the list's ID.
    pub fn add_to_manifest_list(
        &self,
        lists: &Lists,
        list: &str,
        a: &ListAdd,
        remote: RemoteFn,
    ) -> Result<String, ListError> {
        let _lock = self.lock()?;
        let mut l = find_list(lists, list)?;
        self.add_to_list(&mut l, a, remote)?;
        lists.save(&l)?;
        Ok(l.id)
    }

    /// `manifest remove`: the entry with `digest` taken out; the list's ID.
    pub fn remove_from_manifest_list(
        &self,
        lists: &Lists,
        list: &str,
        digest: &str,
    ) -> Result<String, ListError> {
        let _lock = self.lock()?;
        let mut l = find_list(lists, list)?;
        let want = digest
            .parse::<Digest>()
            .map_err(|e| err!("error removing from manifest list {list}: {e}"))?;
        let before = l.index.manifests.len();
        l.index.manifests.retain(|d| d.digest != want);
        if l.index.manifests.len() == before {
            bail!(
                "error removing from manifest list {list}: no instance matching digest {want} found in manifest list"
            );
        }
        l.sources.remove(&want.to_string());
        lists.save(&l)?;
        Ok(l.id)
    }

    fn add_to_list(
        &self,
        l: &mut StoredList,
        a: &ListAdd,
        remote: RemoteFn,
    ) -> Result<(), ListError> {
        let mut annotations = BTreeMap::new();
        for kv in &a.annotations {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| err!("no value given for annotation {kv:?}"))?;
            annotations.insert(k.to_string(), v.to_string());
        }
        for (mut d, source) in self.resolve_entries(a, remote)? {
            let p = d.platform.get_or_insert_with(Platform::default);
            if let Some(v) = &a.arch {
                p.architecture = v.clone();
            }
            if let Some(v) = &a.os {
                p.os = v.clone();
            }
            if let Some(v) = &a.variant {
                p.variant = Some(v.clone());
            }
            if let Some(v) = &a.os_version {
                p.os_version = Some(v.clone());
            }
            if !annotations.is_empty() {
                d.annotations
                    .get_or_insert_with(BTreeMap::new)
                    .extend(annotations.clone());
            }
            // The same manifest added again replaces its entry.
            l.index.manifests.retain(|x| x.digest != d.digest);
            l.sources.insert(d.digest.to_string(), source);
            l.index.manifests.push(d);
        }
        Ok(())
    }

    /// The entries `a.image` adds: a local image's manifest
    /// (`containers-storage:`), or what a registry serves for the reference
    /// (`docker://`, podman's default transport): a manifest, or from a list
    /// the host platform's entry (every entry with `all`).
    fn resolve_entries(
        &self,
        a: &ListAdd,
        remote: RemoteFn,
    ) -> Result<Vec<(Descriptor, String)>, ListError> {
        if let Some(local) = a.image.strip_prefix("containers-storage:") {
            let rec = self.find_image(local)?.image;
            let size = self.store.read_blob(&rec.manifest_digest)?.len() as u64;
            let platform = platform_of(&self.store.read_blob(&rec.id)?);
            let d = Descriptor {
                media_type: rec.manifest_type.clone(),
                digest: rec.manifest_digest.clone(),
                size,
                platform,
                annotations: None,
                urls: None,
            };
            return Ok(vec![(d, format!("containers-storage:{}", rec.id.hex()))]);
        }
        let word = a.image.strip_prefix("docker://").unwrap_or(&a.image);
        if a.image.contains("://") && !a.image.starts_with("docker://") {
            bail!(
                "{}: unsupported transport (use docker:// or containers-storage:)",
                a.image
            );
        }
        let conf = RegistriesConf::load()?;
        let remote = remote().map_err(ListError)?;
        let cands = crate::registry::pull::candidates(word, &conf)?;
        let mut last_err = None;
        for r in &cands {
            for (ep, repo) in conf
                .pull_endpoints(r.domain(), &r.path)
                .map_err(ListError)?
            {
                let client = remote.client(&conf, &ep, &repo, Access::Pull)?;
                let resp = match client.get_manifest(&repo, &r.lookup(), None) {
                    Ok(resp) => resp,
                    Err(e) => {
                        last_err = Some(e.to_string());
                        continue;
                    }
                };
                let digest = Digest::of(&resp.body);
                if let Some(pinned) = &r.digest
                    && *pinned != digest
                {
                    bail!("{r}: the registry's manifest has digest {digest}, not {pinned}");
                }
                let mt = manifest::detect_media_type(resp.content_type.as_deref(), &resp.body)
                    .ok_or_else(|| err!("{r}: the registry's answer is not an image manifest"))?;
                let source = |d: &Digest| format!("docker://{}@{d}", r.repo());
                if manifest::is_index_type(&mt) {
                    let idx: Index = serde_json::from_slice(&resp.body).map_err(|e| {
                        err!(
                            "{r}: invalid manifest list: {}",
                            crate::image::json_error(&e)
                        )
                    })?;
                    let picked: Vec<Descriptor> = if a.all {
                        idx.manifests.clone()
                    } else {
                        let host = Platform::host();
                        let d = idx
                            .select(&host)
                            .ok_or_else(|| err!("{r}: no image in the manifest list for {host}"))?;
                        vec![d.clone()]
                    };
                    return Ok(picked
                        .into_iter()
                        .map(|d| {
                            let s = source(&d.digest);
                            (d, s)
                        })
                        .collect());
                }
                let m: Manifest = serde_json::from_slice(&resp.body)
                    .map_err(|e| err!("{r}: invalid manifest: {}", crate::image::json_error(&e)))?;
                let config = client.get_blob_bytes(&repo, &m.config.digest, m.config.size)?;
                if Digest::of(&config) != m.config.digest {
                    bail!("{r}: the config blob does not match its digest");
                }
                let d = Descriptor {
                    media_type: mt,
                    size: resp.body.len() as u64,
                    platform: platform_of(&config),
                    digest: digest.clone(),
                    annotations: None,
                    urls: None,
                };
                return Ok(vec![(d, source(&digest))]);
            }
        }
        bail!(
            "{}: {}",
            a.image,
            last_err.unwrap_or_else(|| "image not known".into())
        )
    }

    /// `manifest push`: with `all`, each entry's manifest and blobs first (a
    /// local image as `push` sends it, a registry's copied across), then the
    /// index under the destination's tag. The index's own digest is what was
    /// pushed, returned with the list; a registry refuses an index naming
    /// manifests it lacks. Progress lines go to stderr unless `quiet`.
    pub fn push_manifest_list(
        &self,
        lists: &Lists,
        p: &ListPush,
        remote: RemoteFn,
    ) -> Result<(Digest, StoredList), ListError> {
        let l = find_list(lists, p.list)?;
        let word = match p.destination {
            Some(d) => d.strip_prefix("docker://").unwrap_or(d).to_string(),
            None => l.names.first().cloned().unwrap_or_default(),
        };
        let dest = Reference::parse(&word)?;
        if dest.domain.is_none() || dest.digest.is_some() {
            bail!(
                "{word}: destination must name a registry and a tag, e.g. localhost:5000/list:latest"
            );
        }
        let dest = dest.qualified(DOCKER_HUB);
        let conf = RegistriesConf::load()?;
        let remote = remote().map_err(ListError)?;
        let say = |m: String| {
            if !p.quiet {
                eprintln!("{m}");
            }
        };
        if p.all {
            let n = l.index.manifests.len();
            say(format!(
                "Copying {n} images generated from {n} images in list"
            ));
            for d in &l.index.manifests {
                let at = Reference::parse(&format!("{}@{}", dest.repo(), d.digest))?;
                match l.sources.get(&d.digest.to_string()).map(String::as_str) {
                    Some(s) if s.starts_with("containers-storage:") => {
                        let id = &s["containers-storage:".len()..];
                        let rec = self.find_image(id)?.image;
                        let progress = crate::format::progress::Progress::new(p.quiet);
                        crate::registry::push::push(self, &conf, &rec, &at, &remote, &progress)?;
                    }
                    Some(s) => copy_remote(&conf, &remote, s, d, &dest)?,
                    None => bail!("{}: no source recorded for this entry", d.digest),
                }
            }
        }
        say("Writing manifest list to image destination".into());
        let body = serde_json::to_vec(&l.index)?;
        let ep = crate::registry::config::Endpoint {
            host: dest.domain().to_string(),
            insecure: false,
        };
        let client = remote.client(&conf, &ep, &dest.path, Access::Push)?;
        client.put_manifest(&dest.path, &dest.lookup(), OCI_INDEX, &body)?;
        let digest = Digest::of(&body);
        say("Storing list signatures".into());
        Ok((digest, l))
    }
}

/// A list by name (short names live in `localhost/`, as `tag` stores them)
/// or ID.
pub fn lookup_list(lists: &Lists, word: &str) -> std::io::Result<Option<StoredList>> {
    let name = super::tags::local_name(word).ok();
    lists.find(word, name.as_deref())
}

/// A list that must be there.
pub fn find_list(lists: &Lists, word: &str) -> Result<StoredList, ListError> {
    lookup_list(lists, word)?.ok_or_else(|| err!("{word}: image not known"))
}

/// The platform an image config names.
fn platform_of(config: &[u8]) -> Option<Platform> {
    let c = ImageConfig::parse(config).ok()?;
    Some(Platform {
        architecture: c.architecture,
        os: c.os,
        variant: c.variant,
        os_version: None,
    })
}

/// One entry of a list that came from a registry: its manifest and the
/// blobs it names, streamed from there to the destination repository.
fn copy_remote(
    conf: &RegistriesConf,
    remote: &RemoteOptions,
    source: &str,
    d: &Descriptor,
    dest: &Reference,
) -> Result<(), ListError> {
    let src = Reference::parse(source.strip_prefix("docker://").unwrap_or(source))?;
    let (ep, repo) = conf
        .pull_endpoints(src.domain(), &src.path)
        .map_err(ListError)?
        .into_iter()
        .next()
        .ok_or_else(|| err!("{source}: no endpoint to pull from"))?;
    let from = remote.client(conf, &ep, &repo, Access::Pull)?;
    let resp = from.get_manifest(&repo, &d.digest.to_string(), Some(d.size))?;
    if Digest::of(&resp.body) != d.digest {
        bail!("{source}: the registry's manifest does not match its digest");
    }
    let m: Manifest = serde_json::from_slice(&resp.body).map_err(|e| {
        err!(
            "{source}: only image manifests can be copied: {}",
            crate::image::json_error(&e)
        )
    })?;
    let to_ep = crate::registry::config::Endpoint {
        host: dest.domain().to_string(),
        insecure: false,
    };
    let to = remote.client(conf, &to_ep, &dest.path, Access::Push)?;
    for b in m.layers.iter().chain(std::iter::once(&m.config)) {
        if !to.has_blob(&dest.path, &b.digest)? {
            let body = from.get_blob(&repo, &b.digest)?;
            to.upload_blob(&dest.path, &b.digest, b.size, body)?;
        }
    }
    to.put_manifest(&dest.path, &d.digest.to_string(), &d.media_type, &resp.body)?;
    Ok(())
}
