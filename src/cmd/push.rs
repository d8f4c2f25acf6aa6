use super::Ctx;
use super::pull::RemoteArgs;
use crate::format::progress::Progress;
use crate::registry::reference::{DOCKER_HUB, Reference};
use crate::registry::{RegistriesConf, push};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct PushArgs {
    /// Local image to push
    pub image: String,
    /// Destination (default: the image's name), optionally docker://REFERENCE
    pub destination: Option<String>,
    /// Suppress progress output
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the digest of the pushed manifest to this file
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(ctx: &Ctx, a: PushArgs) -> anyhow::Result<()> {
    let conf = RegistriesConf::load()?;
    let engine = ctx.engine()?;
    let found = engine.find_image(&a.image)?;
    let dest_word = a.destination.as_deref().unwrap_or(&a.image);
    // containers/image's `dir:` transport: a directory of blobs.
    if let Some(path) = dest_word.strip_prefix("dir:") {
        if !a.quiet {
            eprintln!("Getting image source signatures");
        }
        let digest = crate::image::dir::write(&engine.store, &found.image, path.as_ref())?;
        if !a.quiet {
            eprintln!("Writing manifest to image destination");
        }
        crate::engine::events::image("push", found.image.id.hex(), dest_word);
        if let Some(f) = a.digestfile {
            std::fs::write(&f, digest.to_string())
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", f.display()))?;
        }
        return Ok(());
    }
    let dest_word = match dest_word.split_once("://") {
        Some(("docker", rest)) => rest,
        Some((t, _)) => anyhow::bail!(
            "unsupported transport {t:?} in {dest_word:?}: berth pushes to registries (docker://)"
        ),
        None => dest_word,
    };
    let mut dest = Reference::parse(dest_word)?;
    if dest.domain.is_none() {
        // An unqualified destination means the name the image already has.
        match found.name.as_deref().map(Reference::parse) {
            Some(Ok(n)) if a.destination.is_none() => dest = n,
            _ => anyhow::bail!(
                "{dest_word}: destination must include a registry, e.g. localhost:5000/{}",
                dest.path
            ),
        }
    }
    let dest = dest.qualified(DOCKER_HUB);
    let progress = Progress::new(a.quiet);
    if !a.quiet {
        eprintln!("Getting image source signatures");
    }
    let digest = push::push(
        &engine,
        &conf,
        &found.image,
        &dest,
        &a.remote.options()?,
        &progress,
    )?;
    crate::engine::events::image("push", found.image.id.hex(), dest_word);
    if let Some(f) = a.digestfile {
        std::fs::write(&f, digest.to_string())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", f.display()))?;
    }
    Ok(())
}
