//! `/containers/{id}/...` beyond the lifecycle verbs: top, changes,
//! export, archive (GET, HEAD, PUT), rename, update, stats, and
//! `/containers/prune`, each over the engine's own calls.

use super::worker::{Answer, ApiError, Request, write_head, write_head_with};
use crate::engine::Engine;
use crate::engine::copy::{CopyError, CopyOptions, CopySource, CopyTarget};
use crate::engine::stats::{Round, Stats};
use crate::engine::top::Listing;
use crate::engine::update::Update;
use crate::state::containers::ContainerRow;
use serde_json::{Value, json};
use std::io::Write;

impl From<CopyError> for ApiError {
    fn from(e: CopyError) -> Self {
        let msg = e.to_string();
        let status = if msg.contains("could not be found") {
            404
        } else {
            400
        };
        ApiError(status, msg)
    }
}

/// `GET /containers/{id}/top?ps_args=`.
pub fn top(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    let words: Vec<String> = r
        .query
        .get("ps_args")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let listing = crate::engine::top::list(engine, &c, &words).map_err(|e| match e {
        crate::engine::top::TopError::NotRunning(..) => ApiError(409, e.to_string()),
        _ => ApiError(500, e.to_string()),
    })?;
    let (titles, rows): (Vec<String>, Vec<Vec<String>>) = match listing {
        Listing::Table { titles, rows } => (titles.iter().map(|t| t.to_string()).collect(), rows),
        Listing::Lines(lines) => {
            let mut it = lines.iter();
            let titles: Vec<String> = it
                .next()
                .map(|h| h.split_whitespace().map(String::from).collect())
                .unwrap_or_default();
            let n = titles.len().max(1);
            let rows = it
                .map(|l| {
                    let mut cols: Vec<String> =
                        l.splitn(n, char::is_whitespace).map(String::from).collect();
                    cols.retain(|c| !c.is_empty());
                    cols
                })
                .collect();
            (titles, rows)
        }
    };
    Ok(Answer::Json(
        200,
        json!({ "Titles": titles, "Processes": rows }),
    ))
}

/// `GET /containers/{id}/changes`: docker's kinds (0 changed, 1 added,
/// 2 deleted).
pub fn changes(engine: &Engine, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    let out: Vec<Value> = engine
        .container_diff(&c)?
        .into_iter()
        .map(|(k, p)| {
            let kind = match k {
                'A' => 1,
                'D' => 2,
                _ => 0,
            };
            json!({ "Path": p, "Kind": kind })
        })
        .collect();
    Ok(Answer::Json(200, Value::Array(out)))
}

/// `GET /containers/{id}/export`.
pub fn export(engine: &Engine, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, "application/x-tar")?;
    engine.export_container(&c, std::io::BufWriter::new(&mut out))?;
    Ok(Answer::Done)
}

/// docker's X-Docker-Container-Path-Stat: base64 of the path's stat.
fn stat_header(engine: &Engine, id: &str, path: &str) -> Result<(String, String), ApiError> {
    use base64::Engine as _;
    let st = engine.stat_container_path(id, path)?;
    let doc = json!({
        "name": st.name,
        "size": st.size,
        "mode": st.mode,
        "mtime": crate::format::units::rfc3339(st.mtime),
        "linkTarget": st.link_target,
    });
    Ok((
        "X-Docker-Container-Path-Stat".into(),
        base64::engine::general_purpose::STANDARD.encode(doc.to_string()),
    ))
}

/// `/containers/{id}/archive?path=P`: HEAD stats the path, GET streams
/// it as tar, PUT unpacks the body (a tar) into the directory.
pub fn archive(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    let path = r
        .query
        .get("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError(400, "path is required".into()))?;
    let mut out = std::io::stdout().lock();
    match r.method.as_str() {
        "HEAD" => {
            let h = stat_header(engine, &c.id, path)?;
            write_head_with(&mut out, 200, "", &[h])?;
        }
        "GET" => {
            let h = stat_header(engine, &c.id, path)?;
            write_head_with(&mut out, 200, "application/x-tar", &[h])?;
            let target = CopyTarget::Tar(Box::new(std::io::BufWriter::new(&mut out)));
            let source = CopySource::Container { name: &c.id, path };
            engine.copy(source, target, copy_options(r))?;
        }
        _ => {
            let source = CopySource::Tar(Box::new(std::io::stdin().lock()));
            let target = CopyTarget::Container { name: &c.id, path };
            engine.copy(source, target, copy_options(r))?;
            write_head(&mut out, 200, "")?;
        }
    }
    Ok(Answer::Done)
}

fn copy_options(r: &Request) -> CopyOptions {
    CopyOptions {
        overwrite: !r.flag("noOverwriteDirNonDir"),
        pause: false,
    }
}

/// `POST /containers/{id}/rename?name=`.
pub fn rename(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    let name = r
        .query
        .get("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError(400, "name is required".into()))?;
    engine.rename(&c, name)?;
    Ok(Answer::Empty(204))
}

/// `POST /containers/{id}/update`: docker's resources and restart policy.
pub fn update(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let b: Value = serde_json::from_slice(&r.body)
        .map_err(|e| ApiError(400, format!("invalid update: {e}")))?;
    let int = |k: &str| b[k].as_i64().filter(|v| *v != 0);
    let text = |k: &str| b[k].as_str().filter(|v| !v.is_empty()).map(String::from);
    let restart = b["RestartPolicy"]["Name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(|n| crate::engine::containers::RestartPolicy {
            name: n.to_string(),
            max_retries: b["RestartPolicy"]["MaximumRetryCount"]
                .as_u64()
                .unwrap_or(0) as u32,
        });
    let u = Update {
        memory: int("Memory").map(Some),
        memory_swap: int("MemorySwap"),
        memory_reservation: int("MemoryReservation"),
        cpus: int("NanoCpus").map(|n| n as f64 / 1e9),
        cpu_quota: int("CpuQuota"),
        cpu_period: int("CpuPeriod").map(|p| p as u64),
        cpu_shares: int("CpuShares").map(|s| s as u64),
        cpuset_cpus: text("CpusetCpus"),
        cpuset_mems: text("CpusetMems"),
        pids_limit: int("PidsLimit"),
        blkio_weight: int("BlkioWeight").map(|w| w as u16),
        restart,
    };
    engine.update_container(id, &u)?;
    Ok(Answer::Json(200, json!({ "Warnings": [] })))
}

/// `POST /containers/prune`.
pub fn prune(engine: &Engine, r: &Request) -> Result<Answer, ApiError> {
    let f = r.prune_filter()?;
    let rep = engine
        .prune_containers(&f)
        .map_err(|e| ApiError(500, e.to_string()))?;
    Ok(Answer::Json(
        200,
        json!({ "ContainersDeleted": rep.removed, "SpaceReclaimed": rep.reclaimed }),
    ))
}

/// The host's CPU time in nanoseconds (the first line of /proc/stat),
/// which docker's clients divide a container's CPU time by.
pub fn host_cpu_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * (1_000_000_000 / hz)
}

fn online_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn cpu_doc(s: &Stats, system: u64) -> Value {
    json!({
        "cpu_usage": {
            "total_usage": s.cpu_nanos,
            "percpu_usage": s.per_cpu,
            "usage_in_kernelmode": s.cpu_system_nanos,
            "usage_in_usermode": s.cpu_nanos.saturating_sub(s.cpu_system_nanos),
        },
        "system_cpu_usage": system,
        "online_cpus": online_cpus(),
        "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
    })
}

/// docker's stats document: this reading, and the one before it.
pub fn stats_doc(c: &ContainerRow, s: &Stats, system: u64, prev: Option<(&Stats, u64)>) -> Value {
    let (pre, pre_system) = match prev {
        Some((p, sys)) => (cpu_doc(p, sys), p.system_nanos),
        None => (cpu_doc(&Stats::default(), 0), 0),
    };
    json!({
        "read": crate::monitor::logs::timestamp(s.system_nanos as i64),
        "preread": if pre_system > 0 {
            crate::monitor::logs::timestamp(pre_system as i64)
        } else {
            "0001-01-01T00:00:00Z".to_string()
        },
        "name": format!("/{}", c.name),
        "id": c.id,
        "num_procs": 0,
        "pids_stats": { "current": s.pids },
        "cpu_stats": cpu_doc(s, system),
        "precpu_stats": pre,
        "memory_stats": { "usage": s.mem_usage, "limit": s.mem_limit, "stats": {} },
        "blkio_stats": {
            "io_service_bytes_recursive": [
                { "major": 0, "minor": 0, "op": "read", "value": s.block_input },
                { "major": 0, "minor": 0, "op": "write", "value": s.block_output },
            ],
        },
        "networks": {
            "eth0": {
                "rx_bytes": s.net_input, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
                "tx_bytes": s.net_output, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
            },
        },
        "storage_stats": {},
    })
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: a document a second
/// while the client reads (stream), or one (with the reading a second
/// before it, unless one-shot).
pub fn stats(engine: &Engine, r: &Request, id: &str) -> Result<Answer, ApiError> {
    let c = engine.container(id)?;
    let stream = r
        .query
        .get("stream")
        .is_none_or(|v| v == "1" || v == "true");
    let one_shot = r.flag("one-shot");
    let mut round = Round::new(true);
    let mut prev: Option<(Stats, u64)> = None;
    if !stream && !one_shot {
        prev = Some((
            engine.container_stats(&c, None, &mut round),
            host_cpu_nanos(),
        ));
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, "application/json")?;
    loop {
        let c = match engine.container(&c.id) {
            Ok(c) => c,
            Err(_) => return Ok(Answer::Done),
        };
        let mut round = Round::new(true);
        let s = engine.container_stats(&c, prev.as_ref().map(|(p, _)| p), &mut round);
        let system = host_cpu_nanos();
        let doc = stats_doc(&c, &s, system, prev.as_ref().map(|(p, sys)| (p, *sys)));
        if writeln!(out, "{doc}").and_then(|_| out.flush()).is_err() || !stream {
            return Ok(Answer::Done);
        }
        prev = Some((s, system));
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
