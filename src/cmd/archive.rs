use super::Ctx;
use super::tag::local_name;
use crate::image::archive::{self, ArchiveFormat, SaveItem};
use crate::image::config::{RunConfig, apply_change};
use clap::Args;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct SaveArgs {
    /// Images to save
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive format
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive"])]
    pub format: String,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
    /// Save several images into one docker-archive
    #[arg(short = 'm', long)]
    pub multi_image_archive: bool,
    /// Keep the layers of an oci-archive uncompressed
    #[arg(long)]
    pub uncompressed: bool,
}

pub fn save(ctx: &Ctx, a: SaveArgs) -> anyhow::Result<()> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("refusing to save to terminal: use -o or redirect standard output");
    }
    let engine = ctx.engine()?;
    let mut found = Vec::new();
    for w in &a.images {
        found.push(engine.find_image(w)?);
    }
    let items: Vec<SaveItem> = found.iter().map(|f| f.save_item()).collect();
    let format = if a.format == "oci-archive" {
        ArchiveFormat::OciArchive
    } else {
        ArchiveFormat::DockerArchive
    };
    match &a.output {
        None => archive::save(
            &engine,
            &items,
            format,
            a.uncompressed,
            std::io::BufWriter::new(std::io::stdout().lock()),
        )?,
        Some(path) => {
            // Written beside the target and renamed, so a failure leaves no
            // half archive under the name asked for.
            let tmp = path.with_file_name(format!(
                ".{}.berth-tmp",
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            let f = std::fs::File::create(&tmp)
                .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
            let r = archive::save(
                &engine,
                &items,
                format,
                a.uncompressed,
                std::io::BufWriter::new(&f),
            )
            .map_err(anyhow::Error::from)
            .and_then(|_| Ok(f.sync_all()?));
            if let Err(e) = r {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            std::fs::rename(&tmp, path)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        }
    }
    let to = a
        .output
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    for f in &found {
        crate::engine::events::image("save", f.image.id.hex(), &to);
    }
    Ok(())
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from this archive (a file or an http(s) URL) instead of standard input
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<String>,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn load(ctx: &Ctx, a: LoadArgs) -> anyhow::Result<()> {
    let input: Box<dyn Read> = match &a.input {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Box::new(
            ureq::get(u)
                .call()
                .map_err(|e| anyhow::anyhow!("fetching {u}: {e}"))?
                .into_reader(),
        ),
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| anyhow::anyhow!("{p}: {e}"))?),
        None => {
            if std::io::stdin().is_terminal() {
                anyhow::bail!(
                    "cannot read an archive from a terminal: use -i or redirect standard input"
                );
            }
            Box::new(std::io::stdin().lock())
        }
    };
    let engine = ctx.engine()?;
    let loaded = archive::load(&engine, input)?;
    // podman 4.3.1: one event for the archive, no image ID.
    crate::engine::events::image("loadfromarchive", "", a.input.as_deref().unwrap_or(""));
    let mut out = std::io::stdout().lock();
    for l in loaded {
        if l.names.is_empty() {
            writeln!(out, "Loaded image: {}", l.id)?;
        }
        for n in l.names {
            writeln!(out, "Loaded image: {n}")?;
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct ImportArgs {
    /// Tarball to import: a file, a URL, or - for standard input
    pub source: String,
    /// Name for the new image
    pub reference: Option<String>,
    /// Apply a Dockerfile instruction to the image config (CMD, ENV, ...)
    #[arg(short, long, value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Commit message for the image history
    #[arg(short, long)]
    pub message: Option<String>,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn import(ctx: &Ctx, a: ImportArgs) -> anyhow::Result<()> {
    let mut run = RunConfig::default();
    for c in &a.change {
        apply_change(&mut run, c).map_err(anyhow::Error::msg)?;
    }
    let names = match &a.reference {
        Some(r) => vec![local_name(r)?],
        None => vec![],
    };
    let input: Box<dyn Read> = if a.source == "-" {
        Box::new(std::io::stdin().lock())
    } else if a.source.starts_with("http://") || a.source.starts_with("https://") {
        Box::new(
            ureq::get(&a.source)
                .call()
                .map_err(|e| anyhow::anyhow!("fetching {}: {e}", a.source))?
                .into_reader(),
        )
    } else {
        Box::new(
            std::fs::File::open(&a.source)
                .map_err(|e| anyhow::anyhow!("opening {}: {e}", a.source))?,
        )
    };
    let engine = ctx.engine()?;
    let id = archive::import(&engine, input, run, a.message.as_deref(), names.clone())?;
    // podman 4.3.1 records an import as the tag it gives (none without a name).
    for n in &names {
        crate::engine::events::image("tag", id.hex(), n);
    }
    println!("{}", id.hex());
    Ok(())
}
