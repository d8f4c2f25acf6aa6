//! `manifest`: manifest lists (OCI image indexes) made and edited locally.

use super::Ctx;
use super::pull::RemoteArgs;
use crate::engine::Engine;
use crate::engine::manifests::{ListAdd, ListPush, find_list, lookup_list};
use crate::image::lists::{Lists, StoredList, pretty};
use clap::{Args, Subcommand};

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
        ManifestCommand::Create(a) => {
            let images: Vec<ListAdd> = a
                .images
                .iter()
                .map(|image| ListAdd {
                    image: image.clone(),
                    all: a.all,
                    ..ListAdd::default()
                })
                .collect();
            let remote = || a.remote.options().map_err(|e| format!("{e:#}"));
            let id = engine.create_manifest_list(&lists, &a.list, &images, &remote)?;
            println!("{id}");
            Ok(())
        }
        ManifestCommand::Add(a) => {
            let add = ListAdd {
                image: a.image.clone(),
                all: a.all,
                arch: a.arch.clone(),
                os: a.os.clone(),
                variant: a.variant.clone(),
                os_version: a.os_version.clone(),
                annotations: a.annotation.clone(),
            };
            let remote = || a.remote.options().map_err(|e| format!("{e:#}"));
            let id = engine.add_to_manifest_list(&lists, &a.list, &add, &remote)?;
            println!("{id}");
            Ok(())
        }
        ManifestCommand::Inspect(a) => {
            println!("{}", pretty(&find_list(&lists, &a.list)?.index));
            Ok(())
        }
        ManifestCommand::Exists(a) => match lookup_list(&lists, &a.list)? {
            Some(_) => Ok(()),
            None => Err(super::exit(1, String::new())),
        },
        ManifestCommand::Remove(a) => {
            let id = engine.remove_from_manifest_list(&lists, &a.list, &a.digest)?;
            println!("{id}");
            Ok(())
        }
        ManifestCommand::Push(a) => push(&engine, &lists, a),
        ManifestCommand::Rm(a) => {
            let mut errors = Vec::new();
            for w in &a.lists {
                match lookup_list(&lists, w)? {
                    Some(l) => remove_list(&engine, &lists, &l)?,
                    None => errors.push(format!("{w}: image not known")),
                }
            }
            super::report_errors(&errors, 1)
        }
    }
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

/// `manifest push`; `--digestfile` and `--rm` after it.
fn push(engine: &Engine, lists: &Lists, a: PushArgs) -> anyhow::Result<()> {
    let p = ListPush {
        list: &a.list,
        destination: a.destination.as_deref(),
        all: a.all,
        quiet: a.quiet,
    };
    let remote = || a.remote.options().map_err(|e| format!("{e:#}"));
    let (digest, l) = engine.push_manifest_list(lists, &p, &remote)?;
    if let Some(f) = &a.digestfile {
        std::fs::write(f, digest.to_string())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", f.display()))?;
    }
    if a.rm {
        remove_list(engine, lists, &l)?;
    }
    Ok(())
}
