use super::{Ctx, exit};
use clap::Args;

#[derive(Args)]
pub struct TagArgs {
    /// Image to name
    pub image: String,
    /// New names
    #[arg(required = true)]
    pub names: Vec<String>,
}

pub use crate::engine::tags::local_name;

pub fn tag(ctx: &Ctx, a: TagArgs) -> anyhow::Result<()> {
    ctx.engine()?.tag(&a.image, &a.names)?;
    Ok(())
}

#[derive(Args)]
pub struct UntagArgs {
    /// Image to remove names from
    pub image: String,
    /// Names to remove (all when none are given)
    pub names: Vec<String>,
}

pub fn untag(ctx: &Ctx, a: UntagArgs) -> anyhow::Result<()> {
    ctx.engine()?.untag(&a.image, &a.names)?;
    Ok(())
}

#[derive(Args)]
pub struct ExistsArgs {
    /// Image to look for
    pub image: String,
}

/// Exit 0 if the image exists, 1 if not (podman image exists).
pub fn exists(ctx: &Ctx, a: ExistsArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    match engine.find_image(&a.image) {
        Ok(_) => Ok(()),
        Err(crate::engine::images::ImageError::NotFound(_)) => Err(exit(1, "")),
        Err(e) => Err(e.into()),
    }
}
