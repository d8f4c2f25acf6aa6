//! `system df`, `system prune`, `system reset` (podman's
//! cmd/podman/system/{df,prune,reset}.go: texts, columns and fields).

use super::{Ctx, print_rows};
use crate::engine::disk::DiskUsage;
use crate::engine::prune::PruneFilter;
use crate::format::units::{human_duration, human_size_4};
use clap::Args;
use serde_json::{Value, json};
use std::io::{BufRead, Write};

#[derive(Args)]
pub struct DfArgs {
    /// Show detailed information on disk usage
    #[arg(short, long)]
    pub verbose: bool,
    /// Pretty-print the summary using a Go template or json
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused data (every image without a container, not only dangling ones)
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Prune volumes too
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values (label=KEY[=VALUE], until=TIMESTAMP)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Args)]
pub struct ResetArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// podman's summary row: the raw figures and their human forms.
fn summary(kind: &str, total: usize, active: usize, size: u64, reclaimable: u64) -> Value {
    // podman: math.Round of the share, 0 for an empty total.
    let percent = if size > 0 {
        (reclaimable as f64 / size as f64 * 100.0).round() as u64
    } else {
        0
    };
    json!({
        "Type": kind,
        "Total": total,
        "TotalCount": total,
        "Active": active,
        "RawSize": size,
        "RawReclaimable": reclaimable,
        "Size": human_size_4(size),
        "Reclaimable": format!("{} ({percent}%)", human_size_4(reclaimable)),
    })
}

fn summaries(du: &DiskUsage) -> Vec<Value> {
    let active_images = du
        .images
        .iter()
        .filter(|i| i.containers > 0)
        .map(|i| &i.id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let (mut running, mut ctr_size, mut ctr_reclaimable) = (0, 0, 0);
    for c in &du.containers {
        ctr_size += c.rw;
        if c.row.state == "running" {
            running += 1;
        } else {
            ctr_reclaimable += c.rw;
        }
    }
    let vol_size: u64 = du.volumes.iter().map(|v| v.size).sum();
    let vol_reclaimable: u64 = du
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    vec![
        summary(
            "Images",
            du.images.len(),
            active_images,
            du.images_size,
            du.images_reclaimable,
        ),
        summary(
            "Containers",
            du.containers.len(),
            running,
            ctr_size,
            ctr_reclaimable,
        ),
        summary(
            "Local Volumes",
            du.volumes.len(),
            du.volumes.iter().map(|v| v.links).sum(),
            vol_size,
            vol_reclaimable,
        ),
    ]
}

pub fn df(ctx: &Ctx, a: DfArgs) -> anyhow::Result<()> {
    if a.verbose && a.format.is_some() {
        anyhow::bail!("cannot combine --format and --verbose flags");
    }
    let engine = ctx.engine()?;
    let du = engine.disk_usage()?;
    if !a.verbose {
        let rows = summaries(&du);
        // podman's json: the summaries as one indented array.
        if a.format.as_deref().map(str::trim) == Some("json") {
            println!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(());
        }
        return print_rows(
            a.format.as_deref(),
            "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
            &rows,
            &[],
            false,
        );
    }
    let now = crate::engine::images::now();
    println!("Images space usage:\n");
    let images: Vec<Value> = du
        .images
        .iter()
        .map(|i| {
            json!({
                "Repository": i.repository,
                "Tag": i.tag,
                "ImageID": &i.id.hex()[..12],
                "Created": human_duration(now - i.created),
                "Size": human_size_4(i.size),
                "SharedSize": human_size_4(i.shared),
                "UniqueSize": human_size_4(i.unique),
                "Containers": i.containers,
            })
        })
        .collect();
    print_rows(
        None,
        "table {{.Repository}}\t{{.Tag}}\t{{.ImageID}}\t{{.Created}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &images,
        &[
            ("ImageID", "IMAGE ID"),
            ("SharedSize", "SHARED SIZE"),
            ("UniqueSize", "UNIQUE SIZE"),
        ],
        false,
    )?;
    println!("\nContainers space usage:\n");
    let containers: Vec<Value> = du
        .containers
        .iter()
        .map(|c| {
            let cfg = c.row.config();
            json!({
                "ContainerID": &c.row.id[..12],
                "Image": c.row.image_id.get(..12).unwrap_or(&c.row.image_id),
                "Command": cfg.args.join(" "),
                "LocalVolumes": c.volumes,
                "RWSize": human_size_4(c.rw),
                "Created": human_duration(now - c.row.created / 1_000_000_000),
                "Status": super::ps::state_name(&c.row),
                "Names": c.row.name,
            })
        })
        .collect();
    print_rows(
        None,
        "table {{.ContainerID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.RWSize}}\t{{.Created}}\t{{.Status}}\t{{.Names}}",
        &containers,
        &[
            ("ContainerID", "CONTAINER ID"),
            ("LocalVolumes", "LOCAL VOLUMES"),
            ("RWSize", "SIZE"),
        ],
        false,
    )?;
    println!("\nLocal Volumes space usage:\n");
    let volumes: Vec<Value> = du
        .volumes
        .iter()
        .map(|v| json!({"VolumeName": v.name, "Links": v.links, "Size": human_size_4(v.size)}))
        .collect();
    print_rows(
        None,
        "table {{.VolumeName}}\t{{.Links}}\t{{.Size}}",
        &volumes,
        &[("VolumeName", "VOLUME NAME")],
        false,
    )
}

/// Read one answer from stdin as podman does: yes when it starts with y.
fn answer() -> bool {
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    line.to_ascii_lowercase().starts_with('y')
}

pub fn prune(ctx: &Ctx, a: PruneArgs) -> anyhow::Result<()> {
    let filter = PruneFilter::parse(&a.filter, &["label", "label!", "until"])?;
    if !a.force {
        let volumes = if a.volumes {
            "\n\t- all volumes not used by at least one container"
        } else {
            ""
        };
        let (images, cache) = if a.all {
            (
                "all images without at least one container associated with them",
                "all build cache",
            )
        } else {
            ("all dangling images", "all dangling build cache")
        };
        print!(
            "WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container{volumes}\n\t- {images}\n\t- {cache}\n\nAre you sure you want to continue? [y/N] "
        );
        if !answer() {
            return Ok(());
        }
    }
    let engine = ctx.engine()?;
    let r = engine.prune_system(a.all, a.volumes, &filter)?;
    for (heading, list) in [
        ("Deleted Containers", &r.containers),
        ("Deleted Volumes", &r.volumes),
        ("Deleted Images", &r.images),
        ("Deleted Networks", &r.networks),
    ] {
        if !list.is_empty() {
            println!("{heading}");
            for id in list {
                println!("{id}");
            }
        }
    }
    println!("Total reclaimed space: {}", human_size_4(r.reclaimed));
    super::report_errors(&r.errors, 125)
}

pub fn reset(ctx: &Ctx, a: ResetArgs) -> anyhow::Result<()> {
    if !a.force {
        println!(
            "WARNING! This will remove:\n        - all containers\n        - all pods\n        - all images\n        - all networks\n        - all build cache\n        - all machines\n        - all volumes"
        );
        print!("Are you sure you want to continue? [y/N] ");
        if !answer() {
            return Ok(());
        }
    }
    let engine = ctx.engine()?;
    let errors = engine.reset();
    drop(engine);
    // podman logs each failure and exits 125 when the reset itself failed.
    super::report_errors(&errors, 125)
}

#[derive(Args)]
pub struct ServiceArgs {
    /// Seconds without a request before the service exits (0: never)
    #[arg(short, long, default_value_t = 5)]
    pub time: u64,
    /// Where to listen: unix://PATH (default: $XDG_RUNTIME_DIR/berth/berth.sock rootless, /run/berth/berth.sock as root), or tcp://ADDRESS:PORT (unauthenticated: anyone reaching it drives berth)
    pub uri: Option<String>,
    /// Answer one request from the environment (the service's own workers)
    #[arg(long, hide = true)]
    pub worker: bool,
}

/// `system service`: the Docker Engine API (src/api/) until idle for
/// `--time` seconds.
pub fn service(ctx: &Ctx, a: ServiceArgs) -> anyhow::Result<()> {
    if a.worker {
        crate::api::worker::run(|| ctx.engine());
        return Ok(());
    }
    let listener = crate::api::listener(a.uri.as_deref(), ctx.paths.rootless)
        .map_err(|e| super::exit(125, e))?;
    // The workers find the same store: the global options, as given.
    let worker = crate::api::server::Worker {
        exe: crate::process::sealed::SELF_EXE.into(),
        args: vec![
            "--root".into(),
            ctx.paths.root.display().to_string(),
            "--runroot".into(),
            ctx.paths.runroot.display().to_string(),
        ],
    };
    let idle = (a.time > 0).then(|| std::time::Duration::from_secs(a.time));
    let served = crate::api::server::serve(listener.socket, idle, worker);
    // The socket goes with the service (systemd keeps its own).
    if let Some(path) = listener.path {
        let _ = std::fs::remove_file(path);
    }
    Ok(served?)
}
