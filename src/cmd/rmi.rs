use super::{Ctx, exit};
use crate::engine::images::ImageError;
use crate::state::images as db;
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
    let lists = crate::image::lists::Lists::open(engine.store.root())?;
    let words: Vec<String> = if a.all {
        engine
            .images()?
            .iter()
            .map(|r| r.id.hex().to_string())
            .chain(lists.all()?.into_iter().map(|l| l.id))
            .collect()
    } else {
        a.images.clone()
    };
    let mut missing = false;
    let mut in_use = false;
    let mut errors = Vec::new();
    for w in &words {
        let found = match engine.find_image(w) {
            Ok(f) => f,
            // podman: --force, like --ignore, passes over a missing image (and
            // --all over one a removed child took along).
            Err(ImageError::NotFound(_)) if a.ignore || a.force || a.all => continue,
            // A manifest list goes as an image does (podman keeps both in
            // one image store).
            Err(ImageError::NotFound(_)) if super::manifest::lookup(&lists, w)?.is_some() => {
                if let Some(l) = super::manifest::lookup(&lists, w)? {
                    super::manifest::remove_list(&engine, &lists, &l)?;
                }
                continue;
            }
            Err(e @ ImageError::NotFound(_)) => {
                missing = true;
                errors.push(e.to_string());
                continue;
            }
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let rec = &found.image;
        let by_name = found.name.is_some();
        if !by_name && rec.names.len() > 1 && !a.force && !a.all {
            errors.push(format!(
                "unable to delete image {:?} by ID with more than one tag ({}): please force removal",
                rec.id.hex(),
                rec.names.join(", ")
            ));
            continue;
        }
        // By name: drop that name; the image goes when its last name does.
        // By ID: every name, in the order they were given (podman's libimage).
        let untag: Vec<String> = match &found.name {
            Some(n) => vec![n.clone()],
            None => db::names_in_order(&engine.db.conn, rec.id.hex())?,
        };
        let users = crate::state::containers::users_of_image(&engine.db.conn, rec.id.hex())?;
        if untag.len() == rec.names.len() && !users.is_empty() {
            if !a.force {
                in_use = true;
                errors.push(format!(
                    "image used by {}: image is in use by a container: consider listing external containers and force-removing image",
                    users.iter().map(|u| &u[..12]).collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            // podman rmi -f removes the containers first.
            for u in &users {
                if let Ok(c) = engine.container(u) {
                    engine.remove_container(&c, true)?;
                }
            }
        }
        {
            let _lock = engine.lock()?;
            for n in &untag {
                db::remove_name(&engine.db.conn, n)?;
                crate::engine::events::image("untag", rec.id.hex(), n);
                println!("Untagged: {n}");
            }
        }
        if untag.len() == rec.names.len() {
            let parent = engine.image_parent(&rec.id)?;
            match engine.delete_image(&rec.id) {
                Ok(()) => println!("Deleted: {}", rec.id.hex()),
                Err(e) => {
                    errors.push(format!("{}: {e}", rec.id.hex()));
                    continue;
                }
            }
            match engine.prune_dangling_parents(parent) {
                Ok(gone) => gone.iter().for_each(|p| println!("Deleted: {}", p.hex())),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    for e in &errors[..errors.len() - 1] {
        eprintln!("Error: {e}");
    }
    let code = if missing && errors.iter().all(|e| e.ends_with("image not known")) {
        1
    } else if in_use {
        2
    } else {
        125
    };
    Err(exit(code, errors.last().cloned().unwrap_or_default()))
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
