use super::Ctx;
use super::pull::RemoteArgs;
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
    let engine = ctx.engine()?;
    let found = engine.find_image(&a.image)?;
    let dest_word = a.destination.as_deref().unwrap_or(&a.image);
    let digest = engine.push(
        &found,
        dest_word,
        a.destination.is_some(),
        &a.remote.options()?,
        a.quiet,
    )?;
    if let Some(f) = a.digestfile {
        std::fs::write(&f, digest.to_string())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", f.display()))?;
    }
    Ok(())
}
