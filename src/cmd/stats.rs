//! `stats`: podman's table (or `--format` template, or its JSON), once
//! with `--no-stream`, else every `--interval` seconds: on a terminal the
//! table is redrawn in place (cursor home, each line cleared to its end,
//! the rest of the screen cleared), as `top` does, so nothing flickers.

use super::{Ctx, exit};
use crate::engine::stats::{Round, Stats};
use crate::format::Origin;
use crate::format::units::human_size_4;
use clap::Args;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};

#[derive(Args)]
pub struct StatsArgs {
    /// Show all containers. Only running containers are shown by default. The default is false
    #[arg(short, long)]
    pub all: bool,
    /// Pretty-print container statistics to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Time in seconds between stats reports
    #[arg(short, long, default_value_t = 5, allow_negative_numbers = true)]
    pub interval: i64,
    /// Act on the latest container berth is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Disable resetting the screen between intervals
    #[arg(long)]
    pub no_reset: bool,
    /// Disable streaming stats and only pull the first result, default setting is false
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// podman's template for stats: `{{range .}}` over containers.containerStats.
const STATS: Origin = Origin {
    name: "stats",
    type_name: "containers.containerStats",
    ranged: true,
    prefix: "",
};

const DEFAULT_FORMAT: &str = "table {{.ID}} {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDS}} {{.UpTime}} {{.AVGCPU}}";

const HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "NAME"),
    ("UpTime", "CPU TIME"),
    ("CPUPerc", "CPU %"),
    ("AVGCPU", "AVG CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemUsageBytes", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET IO"),
    ("BlockIO", "BLOCK IO"),
    ("PIDS", "PIDS"),
];

fn percent(f: f64) -> String {
    format!("{:.2}%", if f.is_finite() { f } else { 0.0 })
}

fn pair(a: u64, b: u64) -> String {
    format!("{} / {}", human_size_4(a), human_size_4(b))
}

/// docker/go-units BytesSize: binary units, "%.4g" ("256KiB", "23.54GiB").
fn bytes_size(size: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let (mut v, mut i) = (size as f64, 0);
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let decimals = if v == 0.0 {
        0
    } else {
        (3 - v.log10().floor() as i32).max(0) as usize
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// The row a template sees: podman's containerStats, its methods (the
/// strings) shadowing the raw fields of the same name.
fn row(s: &Stats, no_trunc: bool) -> Value {
    let unknown = |col: &str| s.unavailable.contains(&col);
    let block = if unknown("BLOCK IO") {
        "-- / --".to_string()
    } else {
        pair(s.block_input, s.block_output)
    };
    json!({
        "ID": if no_trunc { s.id.clone() } else { s.id.chars().take(12).collect() },
        "ContainerID": s.id,
        "Name": s.name,
        "CPUPerc": percent(s.cpu),
        "CPU": s.cpu,
        "AVGCPU": percent(s.avg_cpu),
        "AvgCPU": s.avg_cpu,
        "CPUNano": s.cpu_nanos,
        "CPUSystemNano": s.cpu_system_nanos,
        "SystemNano": s.system_nanos,
        "PerCPU": s.per_cpu,
        "MemUsage": pair(s.mem_usage, s.mem_limit),
        "MemUsageBytes": format!("{} / {}", bytes_size(s.mem_usage), bytes_size(s.mem_limit)),
        "MemLimit": s.mem_limit,
        "MemPerc": percent(s.mem_perc),
        "NetIO": pair(s.net_input, s.net_output),
        "NetInput": s.net_input,
        "NetOutput": s.net_output,
        "BlockIO": block,
        "BlockInput": s.block_input,
        "BlockOutput": s.block_output,
        "PIDS": s.pids.to_string(),
        "PIDs": s.pids,
        "UpTime": crate::format::units::go_duration(s.cpu_nanos),
        "Up": crate::format::units::go_duration(s.cpu_nanos),
        "Duration": s.cpu_nanos,
    })
}

/// podman's `--format json` entry: its own field names, in its order.
#[derive(serde::Serialize)]
struct JsonStat<'a> {
    id: &'a Value,
    name: &'a Value,
    cpu_time: &'a Value,
    cpu_percent: &'a Value,
    avg_cpu: &'a Value,
    mem_usage: &'a Value,
    mem_percent: &'a Value,
    net_io: &'a Value,
    block_io: &'a Value,
    pids: &'a Value,
}

/// podman's `--format json`: the list, indented by one space.
fn json_report(rows: &[Value]) -> String {
    let list: Vec<JsonStat> = rows
        .iter()
        .map(|r| JsonStat {
            id: &r["ID"],
            name: &r["Name"],
            cpu_time: &r["UpTime"],
            cpu_percent: &r["CPUPerc"],
            avg_cpu: &r["AVGCPU"],
            mem_usage: &r["MemUsage"],
            mem_percent: &r["MemPerc"],
            net_io: &r["NetIO"],
            block_io: &r["BlockIO"],
            pids: &r["PIDS"],
        })
        .collect();
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&list, &mut ser).expect("JSON of strings");
    String::from_utf8(out).expect("JSON is UTF-8") + "\n"
}

/// On a terminal, a frame overwrites the previous one line by line.
fn redraw(frame: &str, first: bool) -> String {
    let mut out = String::from(if first { "\x1b[2J\x1b[H" } else { "\x1b[H" });
    for line in frame.lines() {
        out.push_str(line);
        out.push_str("\x1b[K\n");
    }
    out.push_str("\x1b[J");
    out
}

pub fn run(ctx: &Ctx, a: StatsArgs) -> anyhow::Result<()> {
    let chosen = usize::from(a.all) + usize::from(a.latest) + usize::from(!a.containers.is_empty());
    if chosen > 1 {
        return Err(exit(
            125,
            "--all, --latest and containers cannot be used together",
        ));
    }
    if a.interval < 1 {
        return Err(exit(
            125,
            "invalid interval, must be a positive number greater zero",
        ));
    }
    let engine = ctx.engine()?;
    let opts = Stream {
        format: a.format.as_deref().unwrap_or(DEFAULT_FORMAT),
        headers: HEADERS,
        interval: a.interval,
        no_stream: a.no_stream,
        no_reset: a.no_reset,
        no_trunc: a.no_trunc,
    };
    stream(
        &engine,
        &opts,
        |engine| {
            Ok(if a.latest {
                vec![engine.container(&super::latest_container(engine)?)?]
            } else if !a.containers.is_empty() {
                a.containers
                    .iter()
                    .map(|n| {
                        engine.container(n).map_err(|e| {
                            exit(
                                125,
                                format!("unable to get list of containers: unable to look up container {n}: {e}"),
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            } else {
                let mut all = engine.containers()?;
                if !a.all {
                    all.retain(|c| c.is_running());
                }
                all
            })
        },
        |_, _| {},
    )
}

/// How `stats` and `pod stats` print.
pub struct Stream<'a> {
    pub format: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub interval: i64,
    pub no_stream: bool,
    pub no_reset: bool,
    pub no_trunc: bool,
}

/// Read the containers `targets` picks each interval, and print a table
/// (redrawn in place on a terminal) or JSON; `extra` adds fields to a
/// container's row (`pod stats`: its pod).
pub fn stream(
    engine: &crate::engine::Engine,
    o: &Stream,
    mut targets: impl FnMut(&crate::engine::Engine) -> anyhow::Result<Vec<crate::engine::ContainerRow>>,
    extra: impl Fn(&crate::engine::ContainerRow, &mut Value),
) -> anyhow::Result<()> {
    let format = o.format;
    let is_json = format.trim() == "json";
    let template = crate::format::Format::parse(format).with_origin(STATS);
    // Two more cgroup files per container, read only for the fields that show them.
    let detail = ["PerCPU", "CPUSystemNano", "json ."]
        .iter()
        .any(|f| format.contains(f));
    let tty = std::io::stdout().is_terminal() && !o.no_stream && !o.no_reset;
    let interval = std::time::Duration::from_secs(o.interval as u64);
    let mut prev: HashMap<String, Stats> = HashMap::new();
    let mut warned = false;
    let mut first = true;
    loop {
        let began = std::time::Instant::now();
        let targets = targets(engine)?;
        let mut round = Round::new(detail);
        let stats: Vec<Stats> = targets
            .iter()
            .map(|c| engine.container_stats(c, prev.get(&c.id), &mut round))
            .collect();
        if !warned && let Some(s) = stats.iter().find(|s| !s.unavailable.is_empty()) {
            warned = true;
            super::log::warn(&format!(
                "no cgroup to read (rootless without delegated cgroups): {} is not available; CPU, memory (resident) and PIDs are counted from /proc",
                s.unavailable.join(", ")
            ));
        }
        let rows: Vec<Value> = stats
            .iter()
            .zip(&targets)
            .map(|(s, c)| {
                let mut r = row(s, o.no_trunc);
                extra(c, &mut r);
                r
            })
            .collect();
        let frame = if is_json {
            json_report(&rows)
        } else {
            template
                .render(&rows, o.headers)
                .map_err(|e| exit(125, e.to_string()))?
        };
        let text = if tty { redraw(&frame, first) } else { frame };
        {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        if o.no_stream {
            return Ok(());
        }
        first = false;
        prev = stats.into_iter().map(|s| (s.id.clone(), s)).collect();
        std::thread::sleep(interval.saturating_sub(began.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go_prints_them() {
        assert_eq!(crate::format::units::go_duration(0), "0s");
        assert_eq!(crate::format::units::go_duration(750), "750ns");
        assert_eq!(crate::format::units::go_duration(1_500), "1.5µs");
        assert_eq!(crate::format::units::go_duration(28_361_138), "28.361138ms");
        assert_eq!(crate::format::units::go_duration(1_000_000_000), "1s");
        assert_eq!(crate::format::units::go_duration(123_500_000_000), "2m3.5s");
        assert_eq!(
            crate::format::units::go_duration(3_600_000_000_000),
            "1h0m0s"
        );
    }

    #[test]
    fn sizes_and_percents_as_podman_prints_them() {
        assert_eq!(pair(262_144, 25_275_990_016), "262.1kB / 25.28GB");
        assert_eq!(bytes_size(262_144), "256KiB");
        assert_eq!(bytes_size(25_275_990_016), "23.54GiB");
        assert_eq!(percent(6.138274986641617), "6.14%");
        assert_eq!(percent(f64::NAN), "0.00%");
    }

    #[test]
    fn json_is_podmans_report() {
        let s = Stats {
            id: "e40db6adc4e609aeb5ca214587d8d104ebd73442c7aa131e6e35e195b22d38b2".into(),
            name: "run1".into(),
            cpu_nanos: 28_361_138,
            mem_usage: 262_144,
            mem_limit: 25_275_990_016,
            pids: 1,
            ..Default::default()
        };
        let out = json_report(&[row(&s, false)]);
        assert!(out.starts_with("[\n {\n  \"id\": \"e40db6adc4e6\",\n  \"name\": \"run1\",\n  \"cpu_time\": \"28.361138ms\",\n"), "{out}");
        assert!(out.contains("  \"mem_usage\": \"262.1kB / 25.28GB\",\n"));
        assert!(out.ends_with("  \"pids\": \"1\"\n }\n]\n"));
        assert_eq!(json_report(&[]), "[]\n");
    }

    #[test]
    fn redraw_overwrites_in_place() {
        let f = redraw("A\nB\n", false);
        assert_eq!(f, "\x1b[HA\x1b[K\nB\x1b[K\n\x1b[J");
        assert!(redraw("A\n", true).starts_with("\x1b[2J\x1b[H"));
    }
}
