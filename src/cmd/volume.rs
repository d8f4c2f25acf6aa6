use super::{Ctx, exit, print_rows};
use crate::engine::Engine;
use crate::engine::containers::ContainerError;
use crate::engine::volumes::{RemoveVolumeError, VolumeRow};
use crate::format::template::render_one;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a new volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused volumes
    Prune(PruneArgs),
    /// Check if a volume exists
    Exists(ExistsArgs),
    /// Export a volume's contents as a tar archive
    Export(ExportArgs),
    /// Import a tar archive into a volume
    Import(ImportArgs),
    /// Mount a volume and print its mount point
    Mount(MountArgs),
    /// Unmount a volume
    #[command(visible_alias = "umount")]
    Unmount(MountArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Volume name (random when omitted)
    pub name: Option<String>,
    /// Set metadata labels (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Do not fail if the volume exists
    #[arg(long)]
    pub ignore: bool,
    /// Driver options: type=tmpfs, o=size=64m, o=bind, device=/host/path
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Print volume names only
    #[arg(short, long)]
    pub quiet: bool,
    /// Filter: name=, label=, dangling=
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Output format: json, table, or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print column headings
    #[arg(short, long)]
    pub noheading: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    pub names: Vec<String>,
    /// Inspect all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Format the output with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args)]
pub struct RmArgs {
    pub names: Vec<String>,
    /// Remove all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Remove volumes in use, and the containers using them (a missing volume is no error)
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for running containers to stop before killing them
    #[arg(short, long, value_name = "SECONDS")]
    pub time: Option<u64>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Prune only the volumes that match (label=, label!=, until=)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Args)]
pub struct ExportArgs {
    pub name: String,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub struct ImportArgs {
    pub name: String,
    /// The tar archive, or - for standard input
    pub source: String,
}

#[derive(Args)]
pub struct MountArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args)]
pub struct ExistsArgs {
    pub name: String,
}

fn volume_json(engine: &Engine, v: &VolumeRow) -> Value {
    let users = engine.volume_users(&v.name).map(|u| u.len()).unwrap_or(0);
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": engine.volume_data(&v.name),
        "CreatedAt": crate::format::units::rfc3339(v.created),
        "Labels": v.labels,
        "Scope": "local",
        "Options": v.options,
        "MountCount": users,
        "NeedsCopyUp": !engine.volume_dir(&v.name).join("populated").exists(),
        "NeedsChown": engine.volume_needs_chown(&v.name),
        "Anonymous": v.anonymous,
    })
}

pub fn run(ctx: &Ctx, cmd: VolumeCommand) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    match cmd {
        VolumeCommand::Create(a) => {
            let labels = a
                .label
                .iter()
                .map(|l| {
                    let (k, v) = l.split_once('=').unwrap_or((l, ""));
                    (k.to_string(), v.to_string())
                })
                .collect();
            let mut options = std::collections::BTreeMap::new();
            for o in &a.opt {
                let (k, v) = o
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("invalid --opt {o:?}: expected KEY=VALUE"))?;
                // o= may repeat: its values join, as mount options do.
                options
                    .entry(k.to_string())
                    .and_modify(|cur: &mut String| {
                        cur.push(',');
                        cur.push_str(v);
                    })
                    .or_insert_with(|| v.to_string());
            }
            let v = engine.create_named_volume(a.name.as_deref(), labels, options, a.ignore)?;
            println!("{}", v.name);
        }
        VolumeCommand::Ls(a) => {
            let filters = super::images::parse_filters(&a.filter)?;
            let mut rows = Vec::new();
            for v in engine.volumes()? {
                let mut ok = true;
                for (k, val) in &filters {
                    ok &= match k.as_str() {
                        // podman matches names as (unanchored) regular expressions.
                        "name" => regex::Regex::new(val)
                            .map_err(|e| anyhow::anyhow!("invalid name filter {val:?}: {e}"))?
                            .is_match(&v.name),
                        "label" => match val.split_once('=') {
                            Some((lk, lv)) => v.labels.get(lk).is_some_and(|x| x == lv),
                            None => v.labels.contains_key(val.as_str()),
                        },
                        "dangling" => {
                            engine.volume_users(&v.name)?.is_empty()
                                == matches!(val.as_str(), "true" | "1")
                        }
                        "driver" => v.driver == *val,
                        _ => anyhow::bail!(
                            "invalid filter {k:?}: supported are name, label, dangling, driver"
                        ),
                    };
                }
                if ok {
                    rows.push(v);
                }
            }
            if a.quiet {
                for v in rows {
                    println!("{}", v.name);
                }
                return Ok(());
            }
            let json: Vec<Value> = rows.iter().map(|v| volume_json(&engine, v)).collect();
            crate::format::set_origin(crate::format::Origin::VOLUME_LS);
            print_rows(
                a.format.as_deref(),
                "table {{.Driver}}\t{{.Name}}",
                &json,
                &[("Name", "VOLUME NAME")],
                a.noheading,
            )?;
        }
        VolumeCommand::Inspect(a) => {
            let names: Vec<String> = if a.all {
                engine.volumes()?.into_iter().map(|v| v.name).collect()
            } else {
                a.names.clone()
            };
            if names.is_empty() {
                anyhow::bail!("name at least one volume, or use --all");
            }
            let mut out = Vec::new();
            let mut missing = Vec::new();
            for n in &names {
                match engine.volume(n) {
                    Ok(v) => out.push(volume_json(&engine, &v)),
                    Err(_) => missing.push(n.clone()),
                }
            }
            match a.format.as_deref() {
                Some(f) if f.trim() != "json" => {
                    for v in &out {
                        crate::format::set_origin(crate::format::Origin::INSPECT);
                        print!("{}", render_one(f, v)?);
                    }
                }
                _ => println!("{}", serde_json::to_string_pretty(&out)?),
            }
            if let Some(n) = missing.last() {
                return Err(exit(125, format!("no such volume {n}")));
            }
        }
        VolumeCommand::Rm(a) => {
            if a.all != a.names.is_empty() {
                anyhow::bail!("volume rm: give volume names or --all, not both or neither");
            }
            let names: Vec<String> = if a.all {
                engine.volumes()?.into_iter().map(|v| v.name).collect()
            } else {
                a.names.clone()
            };
            let mut last = None;
            for n in &names {
                match engine.remove_volume_stopping(n, a.force, a.time.unwrap_or(10)) {
                    Ok(true) => println!("{n}"),
                    Ok(false) => {}
                    Err(RemoveVolumeError::Users(e)) => return Err(e.into()),
                    Err(RemoveVolumeError::Stop(e)) => return Err(anyhow::Error::msg(e)),
                    Err(RemoveVolumeError::Remove(e)) => {
                        let code = if matches!(e, ContainerError::State(_)) {
                            2
                        } else if e.to_string().contains("no such volume") {
                            1
                        } else {
                            125
                        };
                        if let Some((_, m)) = last.replace((code, e.to_string())) {
                            eprintln!("Error: {m}");
                        }
                    }
                }
            }
            if let Some((code, m)) = last {
                return Err(exit(code, m));
            }
        }
        VolumeCommand::Prune(a) => prune(&engine, a)?,
        VolumeCommand::Export(a) => {
            engine.volume(&a.name)?;
            match &a.output {
                Some(p) => {
                    let f = std::fs::File::create(p)
                        .map_err(|e| anyhow::anyhow!("creating {}: {e}", p.display()))?;
                    engine.export_volume(&a.name, std::io::BufWriter::new(f))?;
                }
                None => {
                    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                        anyhow::bail!(
                            "cannot write to terminal, use command-line redirection or the --output flag"
                        );
                    }
                    engine.export_volume(
                        &a.name,
                        std::io::BufWriter::new(std::io::stdout().lock()),
                    )?;
                }
            }
        }
        VolumeCommand::Import(a) => {
            engine.importable_volume(&a.name)?;
            let input: Box<dyn std::io::Read> = if a.source == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(
                    std::fs::File::open(&a.source)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", a.source))?,
                )
            };
            engine.import_volume(&a.name, input)?;
        }
        VolumeCommand::Mount(a) => {
            for n in &a.names {
                println!("{}", engine.mount_volume(n)?.display());
            }
        }
        VolumeCommand::Unmount(a) => {
            for n in &a.names {
                engine.unmount_volume(n)?;
                println!("{n}");
            }
        }
        VolumeCommand::Exists(a) => {
            if engine.volume(&a.name).is_err() {
                return Err(exit(1, ""));
            }
        }
    }
    Ok(())
}

/// `volume prune`: the unused volumes that pass the filters; without
/// --force, podman lists them and asks first.
fn prune(engine: &Engine, a: PruneArgs) -> anyhow::Result<()> {
    let filter =
        crate::engine::prune::PruneFilter::parse(&a.filter, &["label", "label!", "until"])?;
    let doomed = engine.prunable_volumes(&filter)?;
    if !a.force {
        println!(
            "WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:"
        );
        if doomed.is_empty() {
            println!("No dangling volumes found");
            return Ok(());
        }
        for n in &doomed {
            println!("{n}");
        }
        if !super::rmi::confirm("Are you sure you want to continue?") {
            return Ok(());
        }
    }
    let r = engine.prune_volumes_with_events(&doomed);
    for n in &r.removed {
        println!("{n}");
    }
    super::report_errors(&r.errors, 125)
}
