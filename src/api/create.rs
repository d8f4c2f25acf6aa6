//! `POST /containers/create?name=NAME`: docker's container config and
//! HostConfig as a `CreateSpec`, created by the engine as every door
//! creates (a missing image is a 404 the client answers with a pull).

use super::worker::{Answer, ApiError, Request};
use crate::engine::Engine;
use crate::engine::containers::{ContainerConfig, Health, RestartPolicy};
use crate::engine::create::{CreateRequest, CreateSpec, EnvSpec, HealthSpec};
use crate::engine::networks::NetworkRequest;
use serde_json::{Value, json};

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn string(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(String::from)
}

fn bad(msg: String) -> ApiError {
    ApiError(400, msg)
}

/// docker's durations are nanoseconds; berth's health check counts seconds.
fn secs(v: &Value, default: u64) -> u64 {
    match v.as_i64() {
        Some(ns) if ns > 0 => ((ns as u64) / 1_000_000_000).max(1),
        _ => default,
    }
}

pub fn create(engine: &mut Engine, r: &Request) -> Result<Answer, ApiError> {
    let body: Value = serde_json::from_slice(&r.body)
        .map_err(|e| bad(format!("invalid container config: {e}")))?;
    let Some(image) = string(&body["Image"]) else {
        return Err(bad("config has no Image".into()));
    };
    let found = engine
        .find_image(&image)
        .map_err(|_| ApiError(404, format!("No such image: {image}")))?;
    let host = &body["HostConfig"];
    let (network, networks) = network(host, &body["NetworkingConfig"])?;
    let mut ports = Vec::new();
    for (port, bindings) in host["PortBindings"].as_object().into_iter().flatten() {
        for b in bindings.as_array().into_iter().flatten() {
            let ip = b["HostIp"].as_str().unwrap_or("");
            let hp = b["HostPort"].as_str().unwrap_or("");
            let text = match (ip, hp) {
                ("", "") => port.clone(),
                ("", hp) => format!("{hp}:{port}"),
                (ip, hp) => format!("{ip}:{hp}:{port}"),
            };
            ports.extend(crate::network::ports::parse(&text).map_err(bad)?);
        }
    }
    let (binds, volumes) =
        crate::engine::mounts::binds(&strings(&host["Binds"]), &[]).map_err(bad)?;
    let restart = match host["RestartPolicy"]["Name"].as_str().unwrap_or("") {
        "" | "no" => RestartPolicy {
            name: "no".into(),
            max_retries: 0,
        },
        n @ ("always" | "unless-stopped" | "on-failure") => RestartPolicy {
            name: n.into(),
            max_retries: host["RestartPolicy"]["MaximumRetryCount"]
                .as_u64()
                .unwrap_or(0) as u32,
        },
        n => return Err(bad(format!("invalid restart policy {n:?}"))),
    };
    let privileged = host["Privileged"].as_bool().unwrap_or(false);
    let (cap_add, cap_drop) = (strings(&host["CapAdd"]), strings(&host["CapDrop"]));
    crate::runtime::caps::resolve(privileged, &cap_add, &cap_drop).map_err(bad)?;
    let config = ContainerConfig {
        hostname: string(&body["Hostname"]).unwrap_or_default(),
        labels: serde_json::from_value(body["Labels"].clone()).unwrap_or_default(),
        tty: body["Tty"].as_bool().unwrap_or(false),
        interactive: body["OpenStdin"].as_bool().unwrap_or(false),
        stdin_once: body["StdinOnce"].as_bool().unwrap_or(false),
        stop_timeout: body["StopTimeout"].as_u64().unwrap_or(10) as u32,
        restart,
        rm: host["AutoRemove"].as_bool().unwrap_or(false),
        init: host["Init"].as_bool().unwrap_or(false),
        read_only: host["ReadonlyRootfs"].as_bool().unwrap_or(false),
        binds,
        volumes,
        memory: host["Memory"].as_i64().filter(|m| *m > 0),
        cpus: host["NanoCpus"]
            .as_i64()
            .filter(|n| *n > 0)
            .map(|n| n as f64 / 1e9),
        pids_limit: host["PidsLimit"].as_i64().filter(|p| *p > 0),
        cap_add,
        cap_drop,
        privileged,
        network,
        networks,
        ports,
        log_driver: "k8s-file".into(),
        runtime: crate::runtime::options::global_runtime(),
        dns: strings(&host["Dns"]),
        dns_search: strings(&host["DnsSearch"]),
        dns_options: strings(&host["DnsOptions"]),
        add_hosts: strings(&host["ExtraHosts"]),
        ..Default::default()
    };
    let healthcheck = match body["Healthcheck"]["Test"].as_array() {
        None => HealthSpec::Image,
        Some(t) if t.first().and_then(|x| x.as_str()) == Some("NONE") => HealthSpec::Disabled,
        Some(_) => {
            let h = &body["Healthcheck"];
            HealthSpec::Set(Health {
                test: strings(&h["Test"]),
                interval_secs: secs(&h["Interval"], 30),
                timeout_secs: secs(&h["Timeout"], 30),
                retries: h["Retries"].as_u64().filter(|r| *r > 0).unwrap_or(3) as u32,
                start_period_secs: secs(&h["StartPeriod"], 0),
            })
        }
    };
    let spec = CreateSpec {
        config,
        entrypoint: body["Entrypoint"]
            .as_array()
            .filter(|e| !e.is_empty())
            .map(|_| strings(&body["Entrypoint"])),
        command: strings(&body["Cmd"]),
        env: EnvSpec {
            defaults: true,
            proxy: false,
            set: strings(&body["Env"]),
            unset: vec![],
        },
        workdir: string(&body["WorkingDir"]),
        user: string(&body["User"]),
        stop_signal: string(&body["StopSignal"]),
        healthcheck,
        expose: body["ExposedPorts"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
        publish_all: host["PublishAllPorts"].as_bool().unwrap_or(false),
        image_volume: "bind".into(),
    };
    let (row, warnings) = engine.create(CreateRequest {
        name: r.query.get("name").filter(|n| !n.is_empty()).cloned(),
        image: found,
        spec,
        volumes_from: strings(&host["VolumesFrom"]),
        requires: Vec::new(),
        replace: false,
    })?;
    Ok(Answer::Json(
        201,
        json!({ "Id": row.id, "Warnings": warnings }),
    ))
}

/// docker's default network: the podman bridge as root, the rootless
/// default user-mode network otherwise.
pub fn default_network() -> (String, Vec<NetworkRequest>) {
    if crate::process::pause::host_ids().0 != 0 {
        (crate::engine::networks::default_rootless_mode(), Vec::new())
    } else {
        (
            "bridge".into(),
            vec![NetworkRequest {
                network: "bridge".into(),
                ..Default::default()
            }],
        )
    }
}

/// HostConfig.NetworkMode (and NetworkingConfig's endpoints): docker's
/// "default"/"bridge" is berth's default (the podman bridge as root, the
/// rootless default user-mode network otherwise); a network's name joins
/// that bridge network, with the endpoint's aliases and address.
fn network(host: &Value, netcfg: &Value) -> Result<(String, Vec<NetworkRequest>), ApiError> {
    let rootless = crate::process::pause::host_ids().0 != 0;
    let mode = host["NetworkMode"].as_str().unwrap_or("");
    let endpoints = netcfg["EndpointsConfig"].as_object();
    let request = |name: &str| {
        let ep = endpoints.and_then(|e| e.get(name));
        NetworkRequest {
            network: name.to_string(),
            aliases: ep.map(|e| strings(&e["Aliases"])).unwrap_or_default(),
            ip: ep
                .and_then(|e| e["IPAMConfig"]["IPv4Address"].as_str())
                .and_then(|ip| ip.parse().ok()),
            ..Default::default()
        }
    };
    Ok(match mode {
        "" | "default" | "bridge" if rootless => default_network(),
        "" | "default" | "bridge" => ("bridge".into(), vec![request("bridge")]),
        "host" | "none" => (mode.into(), Vec::new()),
        m if m.starts_with("container:") && m.len() > 10 => (m.into(), Vec::new()),
        name => ("bridge".into(), vec![request(name)]),
    })
}
