use super::{Ctx, print_rows};
use crate::engine::containers::now_nanos;
use crate::format::units::{go_time, human_duration};
use crate::state::containers::ContainerRow;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers (default: only running)
    #[arg(short, long)]
    pub all: bool,
    /// Display only container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest created container
    #[arg(short, long)]
    pub latest: bool,
    /// Show the N last created containers
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter: status=, name=, label=, ancestor=, id=, exited=, health=, network=
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Output format: json, table, or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print column headings
    #[arg(long)]
    pub noheading: bool,
}

/// podman's STATUS column.
pub fn status(c: &ContainerRow, now: i64) -> String {
    let ago = |t: i64| human_duration((now - t) / 1_000_000_000);
    let health = match c.health.as_str() {
        "" => String::new(),
        h => format!(" ({h})"),
    };
    match c.state.as_str() {
        "running" => format!("Up {}{health}", ago(c.started)),
        "paused" => "Paused".into(),
        "stopping" => "Stopping".into(),
        "exited" | "stopped" => format!("Exited ({}) {} ago", c.exit_code, ago(c.finished)),
        "created" => "Created".into(),
        other => other.to_string(),
    }
}

/// State as podman names it.
pub fn state_name(c: &ContainerRow) -> &str {
    match c.state.as_str() {
        "stopped" => "exited",
        s => s,
    }
}

pub fn row_json(c: &ContainerRow, now: i64, no_trunc: bool) -> Value {
    let cfg = c.config();
    let mut command = cfg.args.join(" ");
    if !no_trunc && command.chars().count() > 20 {
        command = command.chars().take(17).collect::<String>() + "...";
    }
    json!({
        "ID": if no_trunc { c.id.clone() } else { c.id[..12].to_string() },
        "Id": c.id,
        "Image": c.image_name,
        "ImageID": c.image_id,
        "Command": command,
        "CreatedHuman": format!("{} ago", human_duration((now - c.created) / 1_000_000_000)),
        "Created": c.created / 1_000_000_000,
        "CreatedAt": go_time(c.created / 1_000_000_000),
        "Status": status(c, now),
        "State": state_name(c),
        "Ports": cfg
            .ports
            .iter()
            .map(|p| format!("{}->{}/{}", p.host_addr(), p.container_port, p.protocol))
            .collect::<Vec<_>>()
            .join(", "),
        "Names": c.name,
        "Labels": cfg.labels,
        "Pid": c.pid,
        "ExitCode": c.exit_code,
        "Exited": matches!(c.state.as_str(), "exited" | "stopped"),
        "ExitedAt": c.finished / 1_000_000_000,
        "StartedAt": c.started / 1_000_000_000,
        "RunningFor": human_duration((now - c.created) / 1_000_000_000),
        "Restarts": c.restart_count,
        "Mounts": [],
        "Networks": cfg
            .networks
            .iter()
            .map(|n| if n.network == "bridge" { crate::network::DEFAULT_NETWORK } else { n.network.as_str() })
            .collect::<Vec<_>>(),
        "Pod": "",
        "IsInfra": false,
    })
}

fn matches(c: &ContainerRow, k: &str, v: &str) -> anyhow::Result<bool> {
    Ok(match k {
        "status" => state_name(c) == v || c.state == v,
        "name" => c.name.contains(v) || super::images::glob(v, &c.name),
        "id" => c.id.starts_with(v),
        "label" => {
            let labels = c.config().labels;
            match v.split_once('=') {
                Some((lk, lv)) => labels.get(lk).is_some_and(|x| x == lv),
                None => labels.contains_key(v),
            }
        }
        "ancestor" => {
            c.image_name == v
                || c.image_id.starts_with(v)
                || super::images::reference_matches(v, &c.image_name)
        }
        "exited" => {
            matches!(c.state.as_str(), "exited" | "stopped")
                && v.parse::<i64>().ok() == Some(c.exit_code)
        }
        "health" => c.health == v,
        "network" => c.config().networks.iter().any(|n| {
            let name = if n.network == "bridge" {
                crate::network::DEFAULT_NETWORK
            } else {
                n.network.as_str()
            };
            name == v
        }),
        _ => anyhow::bail!(
            "invalid filter {k:?}: supported are status, name, id, label, ancestor, exited, health, network"
        ),
    })
}

pub fn run(ctx: &Ctx, a: PsArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let filters = super::images::parse_filters(&a.filter)?;
    let mut list = engine.containers()?;
    let limit = if a.latest { Some(1) } else { a.last };
    if !a.all && limit.is_none() && !filters.iter().any(|(k, _)| k == "status" || k == "exited") {
        list.retain(|c| c.is_running());
    }
    let mut kept = Vec::new();
    for c in list {
        let mut ok = true;
        for (k, v) in &filters {
            ok &= matches(&c, k, v)?;
        }
        if ok {
            kept.push(c);
        }
    }
    if let Some(n) = limit {
        kept.truncate(n);
    }
    if a.quiet {
        for c in &kept {
            println!("{}", if a.no_trunc { &c.id[..] } else { &c.id[..12] });
        }
        return Ok(());
    }
    let now = now_nanos();
    let rows: Vec<Value> = kept.iter().map(|c| row_json(c, now, a.no_trunc)).collect();
    let default = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    print_rows(
        a.format.as_deref(),
        default,
        &rows,
        &[
            ("ID", "CONTAINER ID"),
            ("CreatedHuman", "CREATED"),
            ("Names", "NAMES"),
        ],
        a.noheading,
    )
}
