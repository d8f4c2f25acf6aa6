//! Docker's documents (moby's api/swagger.yaml) made from the engine's
//! records: version, info, container and image summaries, and the image
//! endpoints (pull, inspect, remove).

use super::worker::{Answer, ApiError, Request, write_head};
use crate::engine::Engine;
use crate::engine::image_remove::RemoveImageOptions;
use crate::process::now_nanos;
use serde_json::{Value, json};
use std::io::Write;

/// The API version berth answers as (docker 20.10's); clients asking for
/// an older one under /v1.NN get the same documents.
pub const API_VERSION: &str = "1.41";
const MIN_API_VERSION: &str = "1.24";

fn kernel() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

pub fn version() -> Value {
    let built = crate::format::units::rfc3339(crate::process::built());
    json!({
        "Platform": { "Name": "berth" },
        "Components": [{
            "Name": "Engine",
            "Version": env!("CARGO_PKG_VERSION"),
            "Details": {
                "ApiVersion": API_VERSION,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
                "Arch": docker_arch(),
                "KernelVersion": kernel(),
                "BuildTime": built,
            },
        }],
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": docker_arch(),
        "KernelVersion": kernel(),
        "BuildTime": built,
    })
}

fn docker_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn info(engine: &Engine) -> Result<Value, ApiError> {
    let containers = engine.containers()?;
    let count = |f: &dyn Fn(&str) -> bool| containers.iter().filter(|c| f(&c.state)).count();
    let images = engine.images()?.len();
    let hostname = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let cgroup = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    Ok(json!({
        "ID": "",
        "Containers": containers.len(),
        "ContainersRunning": count(&|s| s == "running" || s == "stopping"),
        "ContainersPaused": count(&|s| s == "paused"),
        "ContainersStopped": count(&|s| !matches!(s, "running" | "stopping" | "paused")),
        "Images": images,
        "Driver": "overlay",
        "DriverStatus": [["Backing Filesystem", "overlayfs"]],
        "DockerRootDir": engine.store.root().display().to_string(),
        "Plugins": { "Volume": ["local"], "Network": ["bridge", "macvlan"], "Log": ["k8s-file", "json-file", "none"] },
        "MemoryLimit": true,
        "SwapLimit": true,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "IPv4Forwarding": true,
        "Debug": false,
        "NFd": 0,
        "NGoroutines": 0,
        "SystemTime": crate::format::units::rfc3339(now_nanos() / 1_000_000_000),
        "LoggingDriver": "k8s-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup,
        "KernelVersion": kernel(),
        "OperatingSystem": os_name(),
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "MemTotal": crate::engine::stats::host_memory(),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": { "IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": [] },
        "Name": hostname,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": { "berth": { "path": "berth" } },
        "DefaultRuntime": "berth",
        "Swarm": { "LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null },
        "LiveRestoreEnabled": false,
        "Isolation": "",
        "InitBinary": "",
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Warnings": [],
    }))
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// docker's container states: created, running, paused, restarting,
/// removing, exited, dead.
fn docker_state(state: &str) -> &str {
    match state {
        "stopping" => "running",
        "stopped" | "exited" => "exited",
        "configured" | "initialized" => "created",
        s => s,
    }
}

/// `GET /containers/json`: `all`, `limit`, and `filters` of id, name,
/// label, status.
pub fn container_list(engine: &Engine, r: &Request) -> Result<Value, ApiError> {
    let filters = r.filters()?;
    let mut rows = engine.containers()?;
    rows.sort_by_key(|c| std::cmp::Reverse(c.created));
    let all = r.flag("all");
    let now = now_nanos();
    let mut out = Vec::new();
    for c in rows {
        let cfg = c.config();
        let state = docker_state(&c.state);
        if !all && !filters.contains_key("status") && state != "running" && state != "paused" {
            continue;
        }
        // docker: every label must match; other keys match any value.
        let ok = filters.iter().all(|(k, vals)| match k.as_str() {
            "label" => super::objects::labels_match(&cfg.labels, vals),
            _ => vals.iter().any(|v| match k.as_str() {
                "id" => c.id.starts_with(v.as_str()),
                "name" => c.name.contains(v.trim_start_matches('/')),
                "status" => state == v,
                _ => true,
            }),
        });
        if !ok {
            continue;
        }
        let ports: Vec<Value> = cfg
            .ports
            .iter()
            .map(|p| {
                json!({
                    "IP": if p.host_ip.is_empty() { "0.0.0.0" } else { p.host_ip.as_str() },
                    "PrivatePort": p.container_port,
                    "PublicPort": p.host_port,
                    "Type": p.protocol,
                })
            })
            .collect();
        out.push(json!({
            "Id": c.id,
            "Names": [format!("/{}", c.name)],
            "Image": c.image_name,
            "ImageID": format!("sha256:{}", c.image_id),
            "Command": cfg.args.join(" "),
            "Created": c.created / 1_000_000_000,
            "Ports": ports,
            "Labels": cfg.labels,
            "State": state,
            "Status": c.status_text(now),
            "HostConfig": { "NetworkMode": if cfg.network == "bridge" { "bridge" } else { cfg.network.as_str() } },
            "NetworkSettings": { "Networks": {} },
            "Mounts": [],
        }));
        if let Some(limit) = r.query.get("limit").and_then(|l| l.parse::<usize>().ok())
            && limit > 0
            && out.len() >= limit
        {
            break;
        }
    }
    Ok(Value::Array(out))
}

/// docker's `filters` query: JSON `{"key": ["v", ...]}` (or the old
/// `{"key": {"v": true}}`).
pub fn parse_filters(
    text: &str,
) -> Result<std::collections::HashMap<String, Vec<String>>, ApiError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ApiError(400, format!("invalid filters {text:?}: {e}")))?;
    let mut out = std::collections::HashMap::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        let list: Vec<String> = match vals {
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            Value::Object(o) => o.keys().cloned().collect(),
            _ => Vec::new(),
        };
        out.insert(k.clone(), list);
    }
    Ok(out)
}

fn unix_created(created: &str) -> i64 {
    crate::format::units::parse_rfc3339(created).unwrap_or(0)
}

/// `GET /images/json`.
pub fn image_list(engine: &Engine) -> Result<Value, ApiError> {
    let images = engine.images()?;
    let out: Vec<Value> = images
        .iter()
        .map(|i| {
            let tags: Vec<&String> = i.names.iter().filter(|n| !n.contains('@')).collect();
            let digests: Vec<String> = i
                .digests
                .iter()
                .map(|(repo, d)| format!("{repo}@{d}"))
                .collect();
            json!({
                "Id": i.id.to_string(),
                "ParentId": "",
                "RepoTags": if tags.is_empty() { json!(["<none>:<none>"]) } else { json!(tags) },
                "RepoDigests": digests,
                "Created": unix_created(&i.created),
                "Size": i.size,
                "VirtualSize": i.size,
                "SharedSize": -1,
                "Labels": {},
                "Containers": -1,
            })
        })
        .collect();
    Ok(Value::Array(out))
}

/// `POST /images/create?fromImage=NAME&tag=TAG`: a pull, reported as
/// docker's JSON progress messages.
pub fn pull(engine: &Engine, r: &Request) -> Result<Answer, ApiError> {
    let Some(from) = r.query.get("fromImage").filter(|f| !f.is_empty()) else {
        return Err(ApiError(
            400,
            "fromImage is required (fromSrc is not supported)".into(),
        ));
    };
    let tag = r.query.get("tag").filter(|t| !t.is_empty());
    let word = match tag {
        Some(t) if t.starts_with("sha256:") => format!("{from}@{t}"),
        Some(t) => format!("{from}:{t}"),
        None => from.clone(),
    };
    let opts = crate::registry::pull::PullOptions {
        remote: super::images::remote_options(r),
        ..Default::default()
    };
    let id = engine
        .pull(&word, &opts, true)
        .map_err(|e| ApiError(404, e.to_string()))?;
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, "application/json")?;
    for status in [
        format!("Pulling from {from}"),
        format!("Digest: {id}"),
        format!("Status: Downloaded newer image for {word}"),
    ] {
        writeln!(out, "{}", json!({ "status": status }))?;
    }
    Ok(Answer::Done)
}

/// `DELETE /images/{name}?force=`.
pub fn remove_image(engine: &Engine, r: &Request, name: &str) -> Result<Answer, ApiError> {
    let report = engine.remove_images(
        &[name.to_string()],
        RemoveImageOptions {
            force: r.flag("force"),
            ..Default::default()
        },
    );
    if let Some(e) = report.fatal {
        return Err(ApiError(500, e.to_string()));
    }
    if let Some(e) = report.errors.first() {
        let status = if report.missing {
            404
        } else if report.in_use {
            409
        } else {
            500
        };
        return Err(ApiError(status, e.clone()));
    }
    let items: Vec<Value> = report
        .lines
        .iter()
        .filter_map(|l| {
            l.strip_prefix("Untagged: ")
                .map(|n| json!({ "Untagged": n }))
                .or_else(|| {
                    l.strip_prefix("Deleted: ")
                        .map(|d| json!({ "Deleted": format!("sha256:{d}") }))
                })
        })
        .collect();
    Ok(Answer::Json(200, Value::Array(items)))
}
