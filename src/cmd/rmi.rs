use super::{Ctx, exit};
use crate::engine::image_remove::RemoveImageOptions;
use clap::Args;
use std::io::{BufRead, Write};

#[derive(Args)]
pub struct RmiArgs {
    /// Images to remove (names or IDs)
    pub images: Vec<String>,
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of an image referenced by ID with several names
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors when a specified image is missing
    #[arg(short, long)]
    pub ignore: bool,
}

/// podman rmi's exit codes: 1 if an image was missing (and nothing else
/// failed), 125 for any other failure.
pub fn run(ctx: &Ctx, a: RmiArgs) -> anyhow::Result<()> {
    if a.all != a.images.is_empty() {
        anyhow::bail!(
            "when using the --all switch, you may not pass any image names or IDs; without it, name at least one image"
        );
    }
    let engine = ctx.engine()?;
    let opts = RemoveImageOptions {
        force: a.force,
        all: a.all,
        ignore: a.ignore,
    };
    let r = engine.remove_images(&a.images, opts);
    // podman prints every Untagged line, then every Deleted one.
    let (untagged, deleted): (Vec<&String>, Vec<&String>) =
        r.lines.iter().partition(|l| l.starts_with("Untagged:"));
    for l in untagged.iter().chain(&deleted) {
        println!("{l}");
    }
    if let Some(e) = r.fatal {
        return Err(e.into());
    }
    let (errors, missing, in_use) = (r.errors, r.missing, r.in_use);
    if errors.is_empty() {
        return Ok(());
    }
    let code = if missing && errors.iter().all(|e| e.ends_with("image not known")) {
        1
    } else if in_use {
        2
    } else {
        125
    };
    Err(exit(code, crate::format::joined_errors(&errors)))
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all images not in use by containers, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Filter images to prune (label=, until=)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
}

/// Ask on the terminal (or stdin); anything but y/yes is no.
pub fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub fn prune(ctx: &Ctx, a: PruneArgs) -> anyhow::Result<()> {
    let filter = crate::engine::prune::PruneFilter::parse(&a.filter, &["label", "until"])?;
    if !a.force {
        let q = if a.all {
            "WARNING! This command removes all images without at least one container associated with them.\nAre you sure you want to continue?"
        } else {
            "WARNING! This command removes all dangling images.\nAre you sure you want to continue?"
        };
        if !confirm(q) {
            return Ok(());
        }
    }
    let engine = ctx.engine()?;
    // The build cache goes too: its intermediate images are dangling.
    let r = engine.prune_images(a.all, &filter)?;
    for id in &r.removed {
        println!("{id}");
    }
    super::report_errors(&r.errors, 125)
}
