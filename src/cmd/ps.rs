use super::{Ctx, print_rows};
use crate::engine::ContainerRow;
use crate::format::units::{go_time, human_duration};
use crate::process::now_nanos;
use clap::Args;
use serde_json::{Value, json};
use std::collections::HashMap;

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
    /// Filter: status=, name=, label=, ancestor=, id=, exited=, health=, network=, volume=, restart-policy=, before=, since=, until=, pod=, interrupted=
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Output format: json, table, or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print column headings
    #[arg(long)]
    pub noheading: bool,
    /// Show containers in storage not controlled by berth. Every container
    /// in berth's store has a record, so there are none beyond `-a`'s
    /// (podman appends its storage-only, e.g. buildah, containers).
    #[arg(long)]
    pub external: bool,
    /// Sort output by: command, created, id, image, names, runningfor, size, status
    #[arg(long, default_value = "created", value_parser = SORT_KEYS)]
    pub sort: String,
    /// Sync container state with the runtime (berth checks every
    /// container's processes on each listing, so it always is)
    #[arg(long)]
    pub sync: bool,
    /// Display the total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Show the pod of each container (POD ID and PODNAME)
    #[arg(short, long)]
    pub pod: bool,
}

const SORT_KEYS: [&str; 8] = [
    "command",
    "created",
    "id",
    "image",
    "names",
    "runningfor",
    "size",
    "status",
];

/// podman's ps sort orders (cmd/podman/containers/ps.go): oldest first
/// by default; `runningfor` newest first.
fn sort_rows(rows: &mut [ContainerRow], key: &str) {
    match key {
        "command" => rows.sort_by_key(|c| c.config().args.join(" ")),
        "id" => rows.sort_by(|a, b| a.id.cmp(&b.id)),
        "image" => rows.sort_by(|a, b| a.image_name.cmp(&b.image_name)),
        "names" => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        "runningfor" => rows.sort_by_key(|c| std::cmp::Reverse(c.created)),
        "status" => rows.sort_by(|a, b| state_name(a).cmp(state_name(b))),
        // "size" sorts by the sizes computed for `--size` (see run).
        _ => rows.sort_by_key(|c| c.created),
    }
}

/// State as podman names it.
pub fn state_name(c: &ContainerRow) -> &str {
    c.podman_state()
}

/// A container as ps shows it; `pod_names` maps pod IDs to names.
pub fn row_json(
    c: &ContainerRow,
    now: i64,
    no_trunc: bool,
    pod_names: &HashMap<String, String>,
) -> Value {
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
        "Status": c.status_text(now),
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
        "Pod": if no_trunc { cfg.pod.as_str() } else { &cfg.pod[..cfg.pod.len().min(12)] },
        "PodName": pod_names.get(&cfg.pod).map(String::as_str).unwrap_or(""),
        "IsInfra": cfg.annotations.contains_key(crate::runtime::INFRA_ANNOTATION),
    })
}

/// `ps --filter`, checked before any container is listed, as podman's
/// GenerateContainerFilterFuncs does (pkg/domain/filters/containers.go):
/// a key's values are alternatives, different keys must all match, and
/// every `label=` must match.
pub(super) struct Filters {
    by_key: Vec<(String, Vec<String>)>,
    /// `before=`/`since=`: the named container's creation time.
    before: Option<i64>,
    since: Option<i64>,
    /// `until=`: Unix seconds.
    until: Option<i64>,
}

impl Filters {
    pub(super) fn parse(engine: &crate::engine::Engine, raw: &[String]) -> anyhow::Result<Filters> {
        let mut by_key: Vec<(String, Vec<String>)> = Vec::new();
        for f in raw {
            // podman's ps.go: a filter without "=" is refused whole.
            let Some((k, v)) = f.split_once('=') else {
                anyhow::bail!("invalid filter {f:?}");
            };
            match by_key.iter_mut().find(|(key, _)| key == k) {
                Some((_, vals)) => vals.push(v.to_string()),
                None => by_key.push((k.to_string(), vec![v.to_string()])),
            }
        }
        let mut f = Filters {
            by_key,
            before: None,
            since: None,
            until: None,
        };
        // A pod by name or ID prefix: its full ID (podman's pod filter).
        for (k, vals) in f.by_key.iter_mut() {
            if k == "pod" {
                for v in vals.iter_mut() {
                    if let Ok(p) = engine.pod(v) {
                        *v = p.id;
                    }
                }
            }
        }
        for (k, vals) in &f.by_key {
            match k.as_str() {
                "id" | "name" | "label" | "ancestor" | "volume" | "health" | "network" | "pod" => {}
                "status" => {
                    for v in vals {
                        if !matches!(
                            v.as_str(),
                            "unknown"
                                | "created"
                                | "initialized"
                                | "running"
                                | "stopped"
                                | "paused"
                                | "exited"
                                | "removing"
                                | "stopping"
                        ) {
                            anyhow::bail!("unknown container state: {v}: invalid argument");
                        }
                    }
                }
                "exited" => {
                    for v in vals {
                        exit_code(v)?;
                    }
                }
                "interrupted" => {
                    if let Some(v) = vals
                        .iter()
                        .find(|v| !matches!(v.as_str(), "true" | "false"))
                    {
                        anyhow::bail!("invalid filter interrupted={v}: use true or false");
                    }
                }
                "restart-policy" => {
                    let bad: Vec<&str> = vals
                        .iter()
                        .map(String::as_str)
                        .filter(|p| {
                            !matches!(
                                *p,
                                "" | "none" | "no" | "on-failure" | "always" | "unless-stopped"
                            )
                        })
                        .collect();
                    match bad.len() {
                        0 => {}
                        1 => anyhow::bail!("{} invalid restart policy", bad[0]),
                        _ => anyhow::bail!("{} invalid restart policies", bad.join(", ")),
                    }
                }
                "before" | "since" => {
                    // The oldest of the named containers, as podman takes it.
                    let mut oldest: Option<i64> = None;
                    for v in vals {
                        let created = engine.container(v)?.created;
                        oldest = Some(oldest.map_or(created, |o| o.min(created)));
                    }
                    if k == "before" {
                        f.before = oldest;
                    } else {
                        f.since = oldest;
                    }
                }
                "until" => {
                    let mut latest: Option<i64> = None;
                    for v in vals {
                        let t = until_secs(v)?;
                        latest = Some(latest.map_or(t, |l| l.max(t)));
                    }
                    f.until = latest;
                }
                other => anyhow::bail!("{other} is an invalid filter"),
            }
        }
        Ok(f)
    }

    fn has(&self, key: &str) -> bool {
        self.by_key.iter().any(|(k, _)| k == key)
    }

    pub(super) fn matches(&self, c: &ContainerRow) -> bool {
        let cfg = c.config();
        self.by_key.iter().all(|(k, vals)| match k.as_str() {
            "label" => vals.iter().all(|v| match v.split_once('=') {
                Some((lk, lv)) => cfg.labels.get(lk).is_some_and(|x| x == lv),
                None => cfg.labels.contains_key(v),
            }),
            "before" => self.before.is_some_and(|t| c.created < t),
            "since" => self.since.is_some_and(|t| c.created > t),
            "until" => self.until.is_some_and(|t| c.created / 1_000_000_000 <= t),
            _ => vals.iter().any(|v| matches(c, &cfg, k, v)),
        })
    }
}

/// One value of a filter key against a container.
fn matches(
    c: &ContainerRow,
    cfg: &crate::engine::containers::ContainerConfig,
    k: &str,
    v: &str,
) -> bool {
    match k {
        "status" => {
            let v = if v == "stopped" { "exited" } else { v };
            state_name(c) == v
        }
        "name" => c.name.contains(v) || super::images::glob(v, &c.name),
        "id" => c.id.starts_with(v),
        "ancestor" => {
            c.image_name == v
                || c.image_id.starts_with(v)
                || super::images::reference_matches(v, &c.image_name)
        }
        "exited" => {
            matches!(c.state.as_str(), "exited" | "stopped")
                && exit_code(v).ok() == Some(c.exit_code)
        }
        "health" => c.health == v,
        "network" => cfg.networks.iter().any(|n| {
            let name = if n.network == "bridge" {
                crate::network::DEFAULT_NETWORK
            } else {
                n.network.as_str()
            };
            name == v
        }),
        // volume=SOURCE[:DESTINATION]: a bind's host path or a volume's name.
        "volume" => {
            let (source, dest) = match v.split_once(':') {
                Some((s, d)) => (s, Some(d)),
                None => (v, None),
            };
            let dest_ok = |d: &str| dest.is_none_or(|want| want == d);
            cfg.binds
                .iter()
                .any(|b| b.source == source && dest_ok(&b.destination))
                || cfg
                    .volumes
                    .iter()
                    .any(|m| m.name == source && dest_ok(&m.destination))
        }
        // podman's RestartPolicyMap: "none" is the policy of a container
        // created without --restart (berth records it as "" or "no").
        "restart-policy" => {
            cfg.restart.name == v
                || (matches!(v, "" | "none") && matches!(cfg.restart.name.as_str(), "" | "no"))
        }
        "pod" => !cfg.pod.is_empty() && cfg.pod == v,
        // berth's own: the monitor died while the container ran (a
        // reboot), rather than anyone stopping it.
        "interrupted" => {
            matches!(c.state.as_str(), "exited" | "stopped") && c.interrupted == (v == "true")
        }
        _ => false,
    }
}

/// An `exited=` value: podman parses it as a 32-bit integer and words the
/// failure as its filters.go does.
fn exit_code(v: &str) -> anyhow::Result<i64> {
    match v.parse::<i32>() {
        Ok(n) => Ok(n.into()),
        Err(e) => {
            // Go's %q of the value ParseInt returned: 0 on bad syntax, the
            // clamped bound (no valid rune) when out of range.
            let (got, why) = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    ("\u{fffd}", "value out of range")
                }
                _ => ("\\x00", "invalid syntax"),
            };
            anyhow::bail!(
                "exited code out of range '{got}': strconv.ParseInt: parsing {v:?}: {why}"
            )
        }
    }
}

/// An `until=` value in Unix seconds: an RFC 3339 time, Unix seconds, or a
/// Go duration before now (podman's util.ComputeUntilTimestamp forms).
fn until_secs(v: &str) -> anyhow::Result<i64> {
    crate::engine::prune::until_secs(v).ok_or_else(|| {
        anyhow::anyhow!(
            "invalid until filter {v:?}: use RFC 3339, Unix seconds or a duration like 10m"
        )
    })
}

pub fn run(ctx: &Ctx, a: PsArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::PS);
    if a.quiet && a.size {
        anyhow::bail!("quiet conflicts with size and namespace");
    }
    let engine = ctx.engine()?;
    let filters = Filters::parse(&engine, &a.filter)?;
    let mut list = engine.containers()?;
    let limit = if a.latest { Some(1) } else { a.last };
    if !a.all && limit.is_none() && !filters.has("status") && !filters.has("exited") {
        list.retain(|c| c.is_running());
    }
    let mut kept: Vec<ContainerRow> = list.into_iter().filter(|c| filters.matches(c)).collect();
    if let Some(n) = limit {
        kept.truncate(n);
    }
    sort_rows(&mut kept, &a.sort);
    let sized: Vec<(u64, u64)> = if a.size || a.sort == "size" {
        // SizeRw and SizeRootFs: the upper dir, and the image's
        // uncompressed layers plus it (podman's RootFsSize).
        let image_size: std::collections::BTreeMap<String, u64> = engine
            .images()?
            .into_iter()
            .map(|r| (r.id.hex().to_string(), r.size))
            .collect();
        kept.iter()
            .map(|c| engine.container_sizes(c, image_size.get(&c.image_id).copied().unwrap_or(0)))
            .collect()
    } else {
        Vec::new()
    };
    if a.sort == "size" {
        let mut both: Vec<(ContainerRow, (u64, u64))> = kept.into_iter().zip(sized).collect();
        both.sort_by_key(|(_, (rw, _))| *rw);
        let (k, s): (Vec<_>, Vec<_>) = both.into_iter().unzip();
        kept = k;
        return print_ps(&a, &kept, &s, &engine.pods()?);
    }
    print_ps(&a, &kept, &sized, &engine.pods()?)
}

fn print_ps(
    a: &PsArgs,
    kept: &[ContainerRow],
    sized: &[(u64, u64)],
    pods: &[crate::state::pods::PodRow],
) -> anyhow::Result<()> {
    if a.quiet {
        for c in kept {
            println!("{}", if a.no_trunc { &c.id[..] } else { &c.id[..12] });
        }
        return Ok(());
    }
    let now = now_nanos();
    let json_out = a.format.as_deref().map(str::trim) == Some("json");
    let pod_names: HashMap<String, String> = pods
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let rows: Vec<Value> = kept
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = row_json(c, now, a.no_trunc, &pod_names);
            // podman: an object in json, its Size() text in a template
            // (HumanSizeWithPrecision(n, 3): "12.3kB (virtual 1.98MB)").
            if let Some((rw, root)) = sized.get(i) {
                row["Size"] = if json_out {
                    json!({"rootFsSize": root, "rwSize": rw})
                } else {
                    let h = |n: u64| crate::format::units::human_size(n).replace(' ', "");
                    Value::String(format!("{} (virtual {})", h(*rw), h(*root)))
                };
            }
            row
        })
        .collect();
    let mut default = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}".to_string();
    if a.size {
        default.push_str("\t{{.Size}}");
    }
    if a.pod {
        default.push_str("\t{{.Pod}}\t{{.PodName}}");
    }
    print_rows(
        a.format.as_deref(),
        &default,
        &rows,
        &[
            ("ID", "CONTAINER ID"),
            ("CreatedHuman", "CREATED"),
            ("Names", "NAMES"),
            ("Pod", "POD ID"),
            ("PodName", "PODNAME"),
        ],
        a.noheading,
    )
}
