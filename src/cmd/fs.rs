use super::{Ctx, exit, print_rows};
use crate::engine::rootfs::CommitOptions;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub struct MountArgs {
    /// Containers to mount (all mounted ones are listed when none is given)
    pub containers: Vec<String>,
}

pub fn mount(ctx: &Ctx, a: MountArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    if a.containers.is_empty() {
        for c in engine.containers()? {
            let p = engine.container_dir(&c.id).join("rootfs");
            if std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap_or_default()
                .contains(&format!(" {} ", p.display()))
            {
                println!("{} {}", &c.id[..12], p.display());
            }
        }
        return Ok(());
    }
    for n in &a.containers {
        let c = engine.container(n)?;
        let m = engine.merged_root(&c)?;
        crate::engine::events::container("mount", &c);
        println!("{}", m.path.display());
    }
    Ok(())
}

#[derive(Args)]
pub struct UnmountArgs {
    pub containers: Vec<String>,
    /// Unmount every container
    #[arg(short, long)]
    pub all: bool,
}

pub fn unmount(ctx: &Ctx, a: UnmountArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let list = if a.all {
        engine.containers()?
    } else {
        a.containers
            .iter()
            .map(|n| engine.container(n))
            .collect::<Result<Vec<_>, _>>()?
    };
    for c in list {
        let was = engine.unmount_root(&c)?;
        if was {
            crate::engine::events::container("unmount", &c);
        }
        if was || !a.all {
            println!("{}", c.id);
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
    pub container: String,
    /// Write to this file instead of standard output
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// A flat tar of the container's filesystem.
pub fn export(ctx: &Ctx, a: ExportArgs) -> anyhow::Result<()> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("refusing to export to terminal: use -o or redirect standard output");
    }
    let engine = ctx.engine()?;
    let c = engine.container(&a.container)?;
    match &a.output {
        Some(p) => {
            engine.export_container(&c, std::io::BufWriter::new(std::fs::File::create(p)?))?
        }
        None => engine.export_container(&c, std::io::BufWriter::new(std::io::stdout().lock()))?,
    }
    Ok(())
}

#[derive(Args)]
pub struct DiffArgs {
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
    /// Act on the container created last
    #[arg(short, long, conflicts_with = "container")]
    pub latest: bool,
    /// Output format: json or a Go template
    #[arg(long)]
    pub format: Option<String>,
}

pub fn diff(ctx: &Ctx, a: DiffArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let c = match &a.container {
        Some(n) => engine.container(n)?,
        None => engine
            .containers()?
            .into_iter()
            .max_by_key(|c| c.created)
            .ok_or_else(|| anyhow::anyhow!("no containers to diff: no such container"))?,
    };
    let changes = engine.container_diff(&c)?;
    if a.format.as_deref().map(str::trim) == Some("json") {
        let mut m = serde_json::Map::new();
        for (k, name) in [('A', "added"), ('C', "changed"), ('D', "deleted")] {
            let v: Vec<&String> = changes
                .iter()
                .filter(|(kind, _)| *kind == k)
                .map(|(_, p)| p)
                .collect();
            if !v.is_empty() {
                m.insert(name.into(), serde_json::json!(v));
            }
        }
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = changes
        .iter()
        .map(|(k, p)| serde_json::json!({"ChangeType": k.to_string(), "Path": p}))
        .collect();
    print_rows(
        a.format.as_deref(),
        "{{.ChangeType}} {{.Path}}",
        &rows,
        &[],
        false,
    )
}

#[derive(Args)]
pub struct CommitArgs {
    pub container: String,
    /// Name of the new image
    pub image: Option<String>,
    /// Apply a Dockerfile instruction to the image config
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Author of the image
    #[arg(short, long)]
    pub author: Option<String>,
    /// Pause the container while committing
    #[arg(short, long)]
    pub pause: bool,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn commit(ctx: &Ctx, a: CommitArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let c = engine.container(&a.container)?;
    let names = match &a.image {
        Some(n) => vec![super::tag::local_name(n)?],
        None => vec![],
    };
    let cg = if a.pause && c.state == "running" {
        engine.cgroup(&c)
    } else {
        None
    };
    if let Some(cg) = &cg {
        cg.freeze(true)?;
    }
    let r = engine.commit_container(
        &c,
        &CommitOptions {
            changes: &a.change,
            message: a.message.as_deref(),
            author: a.author.as_deref(),
            names,
        },
    );
    if let Some(cg) = &cg {
        cg.freeze(false)?;
    }
    let id = r.map_err(|e| exit(125, e.to_string()))?;
    crate::engine::events::container("commit", &c);
    println!("{}", id.hex());
    Ok(())
}
