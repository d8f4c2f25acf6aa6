use super::{Ctx, exit};
use crate::registry::reference::Reference;
use crate::state::images as db;
use clap::Args;

#[derive(Args)]
pub struct TagArgs {
    /// Image to name
    pub image: String,
    /// New names
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// podman's rule for names given locally: a short name lives in
/// `localhost/`, and the tag defaults to latest.
pub fn local_name(word: &str) -> anyhow::Result<String> {
    let r = Reference::parse(word)?;
    if r.digest.is_some() {
        anyhow::bail!("{word}: a tag name cannot include a digest");
    }
    Ok(r.qualified("localhost").stored_name())
}

pub fn tag(ctx: &Ctx, a: TagArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let found = engine.find_image(&a.image)?;
    let names = a
        .names
        .iter()
        .map(|n| local_name(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let _lock = engine.lock()?;
    for (n, given) in names.iter().zip(&a.names) {
        db::add_name(&engine.db.conn, &found.image.id, n)?;
        // podman's libimage names the tag as it was given.
        crate::engine::events::image("tag", found.image.id.hex(), given);
    }
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
    let engine = ctx.engine()?;
    let found = engine.find_image(&a.image)?;
    let _lock = engine.lock()?;
    if a.names.is_empty() {
        for n in &found.image.names {
            db::remove_name(&engine.db.conn, n)?;
            crate::engine::events::image("untag", found.image.id.hex(), n);
        }
        return Ok(());
    }
    for n in &a.names {
        // `REPO[:TAG]@DIGEST`: podman keeps the digested name (tag and
        // all) among the names; berth keeps REPO@DIGEST beside them.
        if let Ok(r) = Reference::parse(n)
            && let Some(d) = r.digest.clone()
        {
            let repo = r.qualified("localhost").repo();
            let d = d.to_string();
            if !db::remove_digest(&engine.db.conn, &found.image.id, &repo, &d)? {
                return Err(exit(125, format!("{n}: tag not known")));
            }
            continue;
        }
        // Match the name as given, qualified the podman way, or by short form.
        let full = local_name(n)?;
        let hit = found
            .image
            .names
            .iter()
            .find(|s| **s == full || **s == *n)
            .cloned()
            .or_else(|| {
                engine
                    .find_image(n)
                    .ok()
                    .filter(|f| f.image.id == found.image.id)
                    .and_then(|f| f.name)
            });
        match hit {
            Some(h) => {
                db::remove_name(&engine.db.conn, &h)?;
                crate::engine::events::image("untag", found.image.id.hex(), &h);
            }
            None => {
                return Err(exit(125, format!("{n}: tag not known")));
            }
        }
    }
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
