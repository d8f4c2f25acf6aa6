//! `manifest`: manifest lists (OCI image indexes) made and edited locally.

use super::Ctx;
use super::pull::RemoteArgs;
use crate::digest::Digest;
use crate::engine::Engine;
use crate::image::ImageConfig;
use crate::image::lists::{Lists, StoredList, pretty};
use crate::image::manifest::{self, Descriptor, Index, Manifest, OCI_INDEX, Platform};
use crate::registry::RegistriesConf;
use crate::registry::client::Access;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;

#[derive(Subcommand)]
pub enum ManifestCommand {
    /// Create manifest list or image index
    Create(CreateArgs),
    /// Add images to a manifest list or image index
    Add(AddArgs),
    /// Display the contents of a manifest list or image index
    Inspect(InspectArgs),
    /// Remove an entry from a manifest list or image index
    Remove(RemoveArgs),
    /// Remove manifest list or image index from local storage
    Rm(RmArgs),
    /// Check if a manifest list exists in local storage
    Exists(InspectArgs),
    /// Push a manifest list or image index to a registry
    Push(PushArgs),
}

#[derive(Args)]
pub struct PushArgs {
    pub list: String,
    /// Where to push it: [docker://]REGISTRY/REPOSITORY[:TAG] (default: the list's name)
    pub destination: Option<String>,
    /// Push the images the list names too, not only the list
    #[arg(long)]
    pub all: bool,
    /// Remove the manifest list from local storage once it is pushed
    #[arg(long)]
    pub rm: bool,
    /// Write the pushed list's digest to this file
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<std::path::PathBuf>,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Args)]
pub struct CreateArgs {
    /// Name of the new list
    pub list: String,
    /// Images to add to it (as `manifest add` takes them)
    pub images: Vec<String>,
    /// Add all of the lists' images if the images to add are lists
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Args)]
pub struct AddArgs {
    pub list: String,
    /// docker://REFERENCE (the default transport) or containers-storage:IMAGE
    pub image: String,
    /// Add all of the list's images if the image is a list
    #[arg(long)]
    pub all: bool,
    /// Override the architecture of the entry
    #[arg(long)]
    pub arch: Option<String>,
    /// Override the operating system of the entry
    #[arg(long)]
    pub os: Option<String>,
    /// Override the variant of the entry
    #[arg(long)]
    pub variant: Option<String>,
    /// Override the OS version of the entry
    #[arg(long)]
    pub os_version: Option<String>,
    /// Set an annotation on the entry (KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Args)]
pub struct InspectArgs {
    pub list: String,
}

#[derive(Args)]
pub struct RemoveArgs {
    pub list: String,
    /// Digest of the entry to remove
    pub digest: String,
}

#[derive(Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub lists: Vec<String>,
}

pub fn run(ctx: &Ctx, c: ManifestCommand) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let lists = engine.manifest_lists()?;
    match c {
        ManifestCommand::Create(a) => create(&engine, &lists, a),
        ManifestCommand::Add(a) => {
            let _lock = engine.lock()?;
            let mut l = find(&lists, &a.list)?;
            add(&engine, &mut l, &a)?;
            lists.save(&l)?;
            println!("{}", l.id);
            Ok(())
        }
        ManifestCommand::Inspect(a) => {
            println!("{}", pretty(&find(&lists, &a.list)?.index));
            Ok(())
        }
        ManifestCommand::Exists(a) => match lookup(&lists, &a.list)? {
            Some(_) => Ok(()),
            None => Err(super::exit(1, String::new())),
        },
        ManifestCommand::Remove(a) => {
            let _lock = engine.lock()?;
            let mut l = find(&lists, &a.list)?;
            let want = a.digest.parse::<Digest>().map_err(|e| {
                anyhow::anyhow!("error removing from manifest list {}: {e}", a.list)
            })?;
            let before = l.index.manifests.len();
            l.index.manifests.retain(|d| d.digest != want);
            if l.index.manifests.len() == before {
                anyhow::bail!(
                    "error removing from manifest list {}: no instance matching digest {want} found in manifest list",
                    a.list
                );
            }
            l.sources.remove(&want.to_string());
            lists.save(&l)?;
            println!("{}", l.id);
            Ok(())
        }
        ManifestCommand::Push(a) => push(&engine, &lists, a),
        ManifestCommand::Rm(a) => {
            let mut errors = Vec::new();
            for w in &a.lists {
                match lookup(&lists, w)? {
                    Some(l) => remove_list(&engine, &lists, &l)?,
                    None => errors.push(format!("{w}: image not known")),
                }
            }
            super::report_errors(&errors, 1)
        }
    }
}

use crate::engine::manifest_lists::lookup_list as lookup;

fn find(lists: &Lists, word: &str) -> anyhow::Result<StoredList> {
    lookup(lists, word)?.ok_or_else(|| anyhow::anyhow!("{word}: image not known"))
}

/// Remove a list from local storage, printing as `rmi` does.
fn remove_list(engine: &Engine, lists: &Lists, l: &StoredList) -> anyhow::Result<()> {
    engine.remove_manifest_list(lists, l)?;
    for n in &l.names {
        println!("Untagged: {n}");
    }
    println!("Deleted: {}", l.id);
    Ok(())
}

fn create(engine: &Engine, lists: &Lists, a: CreateArgs) -> anyhow::Result<()> {
    let name = super::tag::local_name(&a.list)?;
    let _lock = engine.lock()?;
    if lookup(lists, &a.list)?.is_some() || engine.find_image(&name).is_ok() {
        anyhow::bail!("creating manifest list: image name {name:?} is already in use");
    }
    let mut l = StoredList {
        id: crate::engine::containers::new_id(),
        names: vec![name],
        created: crate::state::images::now(),
        index: Index {
            schema_version: 2,
            media_type: Some(OCI_INDEX.into()),
            manifests: vec![],
            annotations: None,
        },
        sources: BTreeMap::new(),
    };
    for image in &a.images {
        let add_args = AddArgs {
            list: a.list.clone(),
            image: image.clone(),
            all: a.all,
            arch: None,
            os: None,
            variant: None,
            os_version: None,
            annotation: vec![],
            remote: a.remote.clone(),
        };
        add(engine, &mut l, &add_args)?;
    }
    lists.save(&l)?;
    println!("{}", l.id);
    Ok(())
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

/// The entries `image` adds: a local image's manifest
/// (`containers-storage:`), or what a registry serves for the reference
/// (`docker://`, podman's default transport): a manifest, or from a list
/// the host platform's entry (every entry with `--all`).
fn resolve(engine: &Engine, a: &AddArgs) -> anyhow::Result<Vec<(Descriptor, String)>> {
    if let Some(local) = a.image.strip_prefix("containers-storage:") {
        let rec = engine.find_image(local)?.image;
        let size = engine.store.read_blob(&rec.manifest_digest)?.len() as u64;
        let platform = platform_of(&engine.store.read_blob(&rec.id)?);
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
        anyhow::bail!(
            "{}: unsupported transport (use docker:// or containers-storage:)",
            a.image
        );
    }
    let conf = RegistriesConf::load()?;
    let remote = a.remote.options()?;
    let cands = crate::registry::pull::candidates(word, &conf)?;
    let mut last_err = None;
    for r in &cands {
        for (ep, repo) in conf
            .pull_endpoints(r.domain(), &r.path)
            .map_err(anyhow::Error::msg)?
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
                anyhow::bail!("{r}: the registry's manifest has digest {digest}, not {pinned}");
            }
            let mt = manifest::detect_media_type(resp.content_type.as_deref(), &resp.body)
                .ok_or_else(|| {
                    anyhow::anyhow!("{r}: the registry's answer is not an image manifest")
                })?;
            let source = |d: &Digest| format!("docker://{}@{d}", r.repo());
            if manifest::is_index_type(&mt) {
                let idx: Index = serde_json::from_slice(&resp.body).map_err(|e| {
                    anyhow::anyhow!(
                        "{r}: invalid manifest list: {}",
                        crate::image::json_error(&e)
                    )
                })?;
                let picked: Vec<Descriptor> = if a.all {
                    idx.manifests.clone()
                } else {
                    let host = Platform::host();
                    let d = idx.select(&host).ok_or_else(|| {
                        anyhow::anyhow!("{r}: no image in the manifest list for {host}")
                    })?;
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
            let m: Manifest = serde_json::from_slice(&resp.body).map_err(|e| {
                anyhow::anyhow!("{r}: invalid manifest: {}", crate::image::json_error(&e))
            })?;
            let config = client.get_blob_bytes(&repo, &m.config.digest, m.config.size)?;
            if Digest::of(&config) != m.config.digest {
                anyhow::bail!("{r}: the config blob does not match its digest");
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
    anyhow::bail!(
        "{}: {}",
        a.image,
        last_err.unwrap_or_else(|| "image not known".into())
    )
}

fn add(engine: &Engine, l: &mut StoredList, a: &AddArgs) -> anyhow::Result<()> {
    let mut annotations = BTreeMap::new();
    for kv in &a.annotation {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("no value given for annotation {kv:?}"))?;
        annotations.insert(k.to_string(), v.to_string());
    }
    for (mut d, source) in resolve(engine, a)? {
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

/// `manifest push`: with `--all`, each entry's manifest and blobs first (a
/// local image as `push` sends it, a registry's copied across), then the
/// index under the destination's tag. The index's own digest is what was
/// pushed; a registry refuses an index naming manifests it lacks.
fn push(engine: &Engine, lists: &Lists, a: PushArgs) -> anyhow::Result<()> {
    use crate::registry::reference::{DOCKER_HUB, Reference};
    let l = find(lists, &a.list)?;
    let word = match &a.destination {
        Some(d) => d.strip_prefix("docker://").unwrap_or(d).to_string(),
        None => l.names.first().cloned().unwrap_or_default(),
    };
    let dest = Reference::parse(&word)?;
    if dest.domain.is_none() || dest.digest.is_some() {
        anyhow::bail!(
            "{word}: destination must name a registry and a tag, e.g. localhost:5000/list:latest"
        );
    }
    let dest = dest.qualified(DOCKER_HUB);
    let conf = RegistriesConf::load()?;
    let remote = a.remote.options()?;
    let say = |m: String| {
        if !a.quiet {
            eprintln!("{m}");
        }
    };
    if a.all {
        let n = l.index.manifests.len();
        say(format!(
            "Copying {n} images generated from {n} images in list"
        ));
        for d in &l.index.manifests {
            let at = Reference::parse(&format!("{}@{}", dest.repo(), d.digest))?;
            match l.sources.get(&d.digest.to_string()).map(String::as_str) {
                Some(s) if s.starts_with("containers-storage:") => {
                    let id = &s["containers-storage:".len()..];
                    let rec = engine.find_image(id)?.image;
                    let progress = crate::format::progress::Progress::new(a.quiet);
                    crate::registry::push::push(engine, &conf, &rec, &at, &remote, &progress)?;
                }
                Some(s) => copy_remote(&conf, &remote, s, d, &dest)?,
                None => anyhow::bail!("{}: no source recorded for this entry", d.digest),
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
    if let Some(f) = &a.digestfile {
        std::fs::write(f, digest.to_string())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", f.display()))?;
    }
    if a.rm {
        remove_list(engine, lists, &l)?;
    }
    Ok(())
}

/// One entry of a list that came from a registry: its manifest and the
/// blobs it names, streamed from there to the destination repository.
fn copy_remote(
    conf: &RegistriesConf,
    remote: &crate::registry::RemoteOptions,
    source: &str,
    d: &Descriptor,
    dest: &crate::registry::reference::Reference,
) -> anyhow::Result<()> {
    let src = crate::registry::reference::Reference::parse(
        source.strip_prefix("docker://").unwrap_or(source),
    )?;
    let (ep, repo) = conf
        .pull_endpoints(src.domain(), &src.path)
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{source}: no endpoint to pull from"))?;
    let from = remote.client(conf, &ep, &repo, Access::Pull)?;
    let resp = from.get_manifest(&repo, &d.digest.to_string(), Some(d.size))?;
    if Digest::of(&resp.body) != d.digest {
        anyhow::bail!("{source}: the registry's manifest does not match its digest");
    }
    let m: Manifest = serde_json::from_slice(&resp.body).map_err(|e| {
        anyhow::anyhow!(
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
