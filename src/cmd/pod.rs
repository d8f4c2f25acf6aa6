//! `pod create|start|stop|restart|kill|pause|unpause|rm|ps|inspect|top|
//! logs|exists|prune`: podman 4's pod commands over engine::pods.

pub use super::pod_create::CreateArgs;
use super::pod_create::pod_spec;
use super::{Ctx, exit, print_rows, report_errors};
use crate::engine::Engine;
use crate::engine::pods::{PodError, status};
use crate::format::Origin;
use crate::state::pods::PodRow;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum PodCommand {
    /// Create a new empty pod
    Create(Box<CreateArgs>),
    /// Start one or more pods
    Start(PodsArgs),
    /// Stop one or more pods
    Stop(StopArgs),
    /// Restart one or more pods
    Restart(PodsArgs),
    /// Send a signal to the containers of one or more pods
    Kill(KillArgs),
    /// Pause one or more pods
    Pause(PodsArgs),
    /// Unpause one or more pods
    Unpause(PodsArgs),
    /// Remove one or more pods
    Rm(RmArgs),
    /// List pods
    #[command(visible_aliases = ["ls", "list"])]
    Ps(PsArgs),
    /// Display a pod's configuration
    Inspect(InspectArgs),
    /// Display the running processes of the containers in a pod
    Top(TopArgs),
    /// Fetch the logs of the containers of a pod
    Logs(LogsArgs),
    /// Check if a pod exists
    Exists(ExistsArgs),
    /// Remove all stopped pods and their containers
    Prune(PruneArgs),
    /// Display the resource use of the containers of pods
    Stats(StatsArgs),
}

#[derive(Args)]
pub struct StatsArgs {
    pub pods: Vec<String>,
    /// Show all pods (default: the running ones)
    #[arg(short, long)]
    pub all: bool,
    /// Show the latest pod created
    #[arg(short, long)]
    pub latest: bool,
    /// Print once, not every interval
    #[arg(long)]
    pub no_stream: bool,
    /// Do not clear the screen between intervals
    #[arg(long)]
    pub no_reset: bool,
    /// Go template or json
    #[arg(long)]
    pub format: Option<String>,
    /// Seconds between readings
    #[arg(short, long, default_value_t = 5)]
    pub interval: i64,
}

#[derive(Args)]
pub struct PodsArgs {
    pub pods: Vec<String>,
    /// Act on all pods
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest pod created
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub pick: PodsArgs,
    /// Seconds to wait before killing the containers
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Ignore pods that do not exist
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub pick: PodsArgs,
    /// Signal to send
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
}

#[derive(Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub pick: PodsArgs,
    /// Stop and remove the pods' containers too
    #[arg(short, long)]
    pub force: bool,
    /// Ignore pods that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for the containers to stop
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
}

#[derive(Args)]
pub struct PsArgs {
    /// Print only the pod IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// Show the containers' names
    #[arg(long)]
    pub ctr_names: bool,
    /// Show the containers' IDs
    #[arg(long)]
    pub ctr_ids: bool,
    /// Show the containers' states
    #[arg(long)]
    pub ctr_status: bool,
    /// Filter pods (name, id, label, status)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Go template or json
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print the header
    #[arg(long)]
    pub noheading: bool,
    /// Show the latest pod created
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    pub pods: Vec<String>,
    /// Go template or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Inspect the latest pod created
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args)]
pub struct TopArgs {
    pub pod: String,
    /// psgo descriptors or ps(1) options
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub descriptors: Vec<String>,
}

#[derive(Args)]
pub struct LogsArgs {
    pub pod: String,
    /// Only this container of the pod
    #[arg(short, long)]
    pub container: Option<String>,
    #[command(flatten)]
    pub logs: super::logs::LogsFlags,
}

#[derive(Args)]
pub struct ExistsArgs {
    pub pod: String,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

/// The pods named, all, or the latest (podman's errors for mixing them).
fn pick(engine: &Engine, p: &PodsArgs) -> anyhow::Result<Vec<String>> {
    if p.all && !p.pods.is_empty() {
        anyhow::bail!("--all and pods cannot be used together");
    }
    if p.latest && !p.pods.is_empty() {
        anyhow::bail!("--latest and pods cannot be used together");
    }
    if p.all {
        return Ok(engine.pods()?.into_iter().map(|r| r.id).collect());
    }
    if p.latest {
        return Ok(engine.pods()?.into_iter().take(1).map(|r| r.id).collect());
    }
    if p.pods.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    Ok(p.pods.clone())
}

/// Run `f` on each pod, print its ID as podman does, report the failures.
fn each(
    engine: &mut Engine,
    words: &[String],
    ignore: bool,
    missing: i32,
    mut f: impl FnMut(&mut Engine, &PodRow) -> Result<Vec<String>, PodError>,
) -> anyhow::Result<()> {
    let mut errors = Vec::new();
    let mut code = 125;
    for w in words {
        let pod = match engine.pod(w) {
            Ok(p) => p,
            Err(PodError::NotFound(_)) if ignore => continue,
            Err(e) => {
                if matches!(e, PodError::NotFound(_)) {
                    code = missing;
                }
                errors.push(e.to_string());
                continue;
            }
        };
        match f(engine, &pod) {
            Ok(errs) if errs.is_empty() => println!("{}", pod.id),
            Ok(errs) => errors.extend(errs),
            Err(e) => {
                code = 125;
                errors.push(e.to_string());
            }
        }
    }
    report_errors(&errors, code)
}

pub fn run(ctx: &Ctx, cmd: PodCommand) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    match cmd {
        PodCommand::Create(a) => {
            let pod = engine.create_pod(pod_spec(&a)?)?;
            if let Some(f) = &a.pod_id_file {
                std::fs::write(f, &pod.id)
                    .map_err(|e| anyhow::anyhow!("writing pod ID file {}: {e}", f.display()))?;
            }
            println!("{}", pod.id);
            Ok(())
        }
        PodCommand::Start(a) => {
            let words = pick(&engine, &a)?;
            each(&mut engine, &words, false, 125, |e, p| e.start_pod(p))
        }
        PodCommand::Stop(a) => {
            let words = pick(&engine, &a.pick)?;
            each(&mut engine, &words, a.ignore, 125, |e, p| {
                e.stop_pod(p, a.time)
            })
        }
        PodCommand::Restart(a) => {
            let words = pick(&engine, &a)?;
            each(&mut engine, &words, false, 125, |e, p| {
                e.restart_pod(p, None)
            })
        }
        PodCommand::Kill(a) => {
            let sig = crate::process::signal::parse_signal(&a.signal)?;
            let words = pick(&engine, &a.pick)?;
            each(&mut engine, &words, false, 125, |e, p| e.kill_pod(p, sig))
        }
        PodCommand::Pause(a) => {
            let words = pick(&engine, &a)?;
            each(&mut engine, &words, false, 125, |e, p| e.pause_pod(p, true))
        }
        PodCommand::Unpause(a) => {
            let words = pick(&engine, &a)?;
            each(&mut engine, &words, false, 125, |e, p| {
                e.pause_pod(p, false)
            })
        }
        PodCommand::Rm(a) => {
            let words = pick(&engine, &a.pick)?;
            // podman: --force passes over a missing pod too.
            each(&mut engine, &words, a.ignore || a.force, 1, |e, p| {
                e.remove_pod(p, a.force, a.time).map(|_| Vec::new())
            })
        }
        PodCommand::Ps(a) => ps(&engine, a),
        PodCommand::Inspect(a) => inspect(&engine, a),
        PodCommand::Top(a) => top(&engine, a),
        PodCommand::Logs(a) => {
            let pod = engine.pod(&a.pod)?;
            let members: Vec<String> = match &a.container {
                Some(c) => vec![engine.container(c)?.id],
                None => engine
                    .pod_members(&pod)?
                    .into_iter()
                    .filter(|c| c.id != pod.config().infra_id)
                    .map(|c| c.id)
                    .collect(),
            };
            drop(engine);
            super::logs::show(ctx, &members, a.logs, true)
        }
        PodCommand::Stats(a) => stats(&engine, a),
        PodCommand::Exists(a) => match engine.pod(&a.pod) {
            Ok(_) => Ok(()),
            Err(PodError::NotFound(_)) => Err(exit(1, "")),
            Err(e) => Err(e.into()),
        },
        PodCommand::Prune(a) => {
            if !a.force
                && !super::rmi::confirm(
                    "WARNING! This will remove all stopped/exited pods..\nAre you sure you want to continue?",
                )
            {
                return Ok(());
            }
            let mut errors = Vec::new();
            for p in engine.pods()? {
                let members = engine.pod_members(&p)?;
                if members.iter().any(|c| c.is_running()) {
                    continue;
                }
                match engine.remove_pod(&p, true, Some(0)) {
                    Ok(()) => println!("{}", p.id),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            report_errors(&errors, 125)
        }
    }
}

fn pod_json(engine: &Engine, p: &PodRow, no_trunc: bool) -> anyhow::Result<Value> {
    let cfg = p.config();
    let members = engine.pod_members(p)?;
    let id = |s: &str| {
        if no_trunc {
            s.to_string()
        } else {
            short(s).to_string()
        }
    };
    let networks: Vec<String> = members
        .iter()
        .find(|c| c.id == cfg.infra_id)
        .map(|c| {
            c.config()
                .networks
                .iter()
                .map(|n| n.network.clone())
                .collect()
        })
        .unwrap_or_default();
    let now = crate::process::now_nanos();
    Ok(json!({
        "Id": p.id,
        "ID": id(&p.id),
        "Name": p.name,
        "Status": status(&members),
        "Created": format!("{} ago", crate::format::units::human_duration((now - p.created) / 1_000_000_000)),
        "InfraId": id(&cfg.infra_id),
        "InfraID": id(&cfg.infra_id),
        "NumberOfContainers": members.len(),
        "Labels": cfg.labels,
        "Networks": networks.join(","),
        "Cgroup": "",
        "ContainerNames": members.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(","),
        "ContainerIds": members.iter().map(|c| id(&c.id)).collect::<Vec<_>>().join(","),
        "ContainerStatuses": members.iter().map(|c| c.podman_state().to_string()).collect::<Vec<_>>().join(","),
    }))
}

fn ps(engine: &Engine, a: PsArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut pods = engine.pods()?;
    if a.latest {
        pods.truncate(1);
    }
    for p in &pods {
        let v = pod_json(engine, p, a.no_trunc)?;
        if !passes(&v, p, &a.filter)? {
            continue;
        }
        rows.push(v);
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(());
    }
    if a.format.as_deref().map(str::trim) == Some("json") {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut default =
        "table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}".to_string();
    for (on, field) in [
        (a.ctr_names, "{{.ContainerNames}}"),
        (a.ctr_ids, "{{.ContainerIds}}"),
        (a.ctr_status, "{{.ContainerStatuses}}"),
    ] {
        if on {
            default.push('\t');
            default.push_str(field);
        }
    }
    if !(a.ctr_names || a.ctr_ids || a.ctr_status) {
        default.push_str("\t{{.NumberOfContainers}}");
    }
    crate::format::set_origin(Origin {
        name: "ps",
        type_name: "*entities.ListPodsReport",
        ranged: true,
        prefix: "",
    });
    print_rows(
        a.format.as_deref(),
        &default,
        &rows,
        &[
            ("ID", "POD ID"),
            ("InfraID", "INFRA ID"),
            ("NumberOfContainers", "# OF CONTAINERS"),
            ("ContainerNames", "NAMES"),
            ("ContainerIds", "IDS"),
            ("ContainerStatuses", "STATUS"),
        ],
        a.noheading,
    )
}

/// `pod ps --filter`: name, id, label, status (podman's keys; all must match).
fn passes(v: &Value, p: &PodRow, filters: &[String]) -> anyhow::Result<bool> {
    for f in filters {
        let (k, want) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: expected KEY=VALUE"))?;
        let ok = match k {
            "name" => regex::Regex::new(want)
                .map_err(|e| anyhow::anyhow!("invalid filter {f:?}: {e}"))?
                .is_match(&p.name),
            "id" => p.id.starts_with(want),
            "status" => v["Status"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(want)),
            "label" => {
                let (lk, lv) = want.split_once('=').unwrap_or((want, ""));
                p.config()
                    .labels
                    .get(lk)
                    .is_some_and(|x| lv.is_empty() || x == lv)
            }
            _ => anyhow::bail!("invalid filter {k:?}: use name, id, label or status"),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn inspect(engine: &Engine, a: InspectArgs) -> anyhow::Result<()> {
    let words = if a.latest {
        engine.pods()?.into_iter().take(1).map(|p| p.id).collect()
    } else {
        a.pods.clone()
    };
    if words.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    let mut out = Vec::new();
    for w in &words {
        let p = engine.pod(w)?;
        let cfg = p.config();
        let members = engine.pod_members(&p)?;
        let infra = members.iter().find(|c| c.id == cfg.infra_id);
        let icfg = infra.map(|c| c.config()).unwrap_or_default();
        let ports: serde_json::Map<String, Value> = icfg
            .ports
            .iter()
            .map(|m| {
                (
                    format!("{}/{}", m.container_port, m.protocol),
                    json!([{"HostIp": m.host_ip, "HostPort": m.host_port.to_string()}]),
                )
            })
            .collect();
        out.push(json!({
            "Id": p.id,
            "Name": p.name,
            "Created": crate::format::units::rfc3339(p.created / 1_000_000_000),
            "CreateCommand": cfg.create_command,
            "ExitPolicy": cfg.exit_policy,
            "State": status(&members),
            "Hostname": cfg.hostname,
            "Labels": cfg.labels,
            "CreateCgroup": false,
            "CreateInfra": !cfg.infra_id.is_empty(),
            "InfraContainerID": cfg.infra_id,
            "InfraConfig": infra.map(|_| json!({
                "PortBindings": ports,
                "HostNetwork": icfg.network == "host",
                "StaticIP": "",
                "StaticMAC": "",
                "NoManageResolvConf": false,
                "DNSServer": icfg.dns,
                "DNSSearch": icfg.dns_search,
                "DNSOption": icfg.dns_options,
                "NoManageHosts": icfg.no_hosts,
                "HostAdd": icfg.add_hosts,
                "Networks": icfg.networks.iter().map(|n| n.network.clone()).collect::<Vec<_>>(),
                "NetworkOptions": null,
                "pid_ns": "private",
                "userns": "host",
                "uts_ns": if cfg.share.iter().any(|s| s == "uts") { "private" } else { "" },
            })),
            "SharedNamespaces": cfg.share,
            "NumContainers": members.len(),
            "Containers": members.iter().map(|c| json!({
                "Id": c.id, "Name": c.name, "State": c.podman_state(),
            })).collect::<Vec<_>>(),
        }));
    }
    match a.format.as_deref().filter(|f| f.trim() != "json") {
        Some(f) => {
            crate::format::set_origin(Origin::INSPECT);
            for v in &out {
                println!(
                    "{}",
                    crate::format::template::render_one(f, &super::inspect::with_go_id(v))?
                        .trim_end_matches('\n')
                );
            }
        }
        // podman prints one pod as an object, several as a list.
        None if out.len() == 1 => println!("{}", serde_json::to_string_pretty(&out[0])?),
        None => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    Ok(())
}

/// The processes of every running container of the pod, in one table.
fn top(engine: &Engine, a: TopArgs) -> anyhow::Result<()> {
    use crate::engine::top::{Listing, list};
    let pod = engine.pod(&a.pod)?;
    let mut titles = Vec::new();
    let mut rows = Vec::new();
    for c in engine
        .pod_members(&pod)?
        .iter()
        .filter(|c| c.state == "running")
    {
        match list(engine, c, &a.descriptors).map_err(|e| exit(125, e.to_string()))? {
            Listing::Table { titles: t, rows: r } => {
                titles = t;
                rows.extend(r);
            }
            Listing::Lines(lines) => {
                for l in lines {
                    println!("{l}");
                }
            }
        }
    }
    if titles.is_empty() {
        if rows.is_empty() {
            return Err(exit(
                125,
                format!(
                    "pod {} has no running containers: container state improper",
                    pod.id
                ),
            ));
        }
        return Ok(());
    }
    super::top::print_table(&titles, &rows);
    Ok(())
}

/// podman's `pod stats`: every container of the pods, with its pod.
fn stats(engine: &Engine, a: StatsArgs) -> anyhow::Result<()> {
    if a.interval < 1 {
        return Err(exit(
            125,
            "invalid interval, must be a positive number greater zero",
        ));
    }
    if (a.all || a.latest) && !a.pods.is_empty() {
        anyhow::bail!("--all, --latest and pods cannot be used together");
    }
    let pods: Vec<PodRow> = if a.pods.is_empty() {
        let mut all = engine.pods()?;
        if a.latest {
            all.truncate(1);
        }
        all
    } else {
        a.pods
            .iter()
            .map(|p| engine.pod(p))
            .collect::<Result<_, _>>()?
    };
    let names: std::collections::HashMap<String, String> = pods
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let opts = super::stats::Stream {
        format: a.format.as_deref().unwrap_or(
            "table {{.Pod}} {{.CID}} {{.Name}} {{.CPU}} {{.MemUsage}} {{.Mem}} {{.NetIO}} {{.BlockIO}} {{.PIDS}}",
        ),
        headers: &[
            ("Pod", "POD"),
            ("CID", "CID"),
            ("Name", "NAME"),
            ("CPU", "CPU %"),
            ("MemUsage", "MEM USAGE/ LIMIT"),
            ("Mem", "MEM %"),
            ("NetIO", "NET IO"),
            ("BlockIO", "BLOCK IO"),
            ("PIDS", "PIDS"),
        ],
        interval: a.interval,
        no_stream: a.no_stream,
        no_reset: a.no_reset,
        no_trunc: false,
    };
    let all = a.all || !a.pods.is_empty();
    super::stats::stream(
        engine,
        &opts,
        |engine| {
            let mut out = Vec::new();
            for p in &pods {
                out.extend(
                    engine
                        .pod_members(p)?
                        .into_iter()
                        .filter(|c| all || c.is_running()),
                );
            }
            Ok(out)
        },
        |c, row| {
            let pod = c.config().pod;
            row["Pod"] = Value::String(short(&pod).to_string());
            row["PodName"] = Value::String(names.get(&pod).cloned().unwrap_or_default());
            row["CID"] = row["ID"].clone();
            row["CPU"] = row["CPUPerc"].clone();
            row["Mem"] = row["MemPerc"].clone();
        },
    )
}
