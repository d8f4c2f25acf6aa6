//! `/networks/...` and `/volumes/...`: docker's documents over the same
//! engine calls as `berth network` and `berth volume`.

use super::worker::{Answer, ApiError, Request};
use crate::engine::Engine;
use crate::engine::endpoints;
use crate::engine::networks::{self as nets, NetworkRequest, NetworkSpec};
use crate::network::{NetworkConfig, NetworkError};
use crate::state::networks::NetworkRow;
use crate::state::volumes::VolumeRow;
use serde_json::{Value, json};
use std::collections::BTreeMap;

impl From<NetworkError> for ApiError {
    fn from(e: NetworkError) -> Self {
        let status = match &e {
            NetworkError::NotFound(_) => 404,
            NetworkError::Exists(_) => 409,
            NetworkError::InUse(_) => 403,
            NetworkError::Invalid(_) => 400,
            _ => 500,
        };
        ApiError(status, e.to_string())
    }
}

fn body(r: &Request) -> Result<Value, ApiError> {
    if r.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&r.body).map_err(|e| ApiError(400, format!("invalid request: {e}")))
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect()
}

pub fn labels_match(labels: &BTreeMap<String, String>, want: &[String]) -> bool {
    want.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(w),
    })
}

/// docker's network document.
fn network_doc(engine: &Engine, nd: &crate::state::Db, n: &NetworkRow) -> Value {
    let cfg = NetworkConfig::parse(&n.config);
    let ipam: Vec<Value> = cfg
        .subnets
        .iter()
        .map(|s| {
            let mut v = json!({ "Subnet": s.subnet.to_string() });
            if let Some(g) = s.gateway {
                v["Gateway"] = json!(g.to_string());
            }
            v
        })
        .collect();
    let mut containers = serde_json::Map::new();
    for ep in crate::state::networks::endpoints_of_network(&nd.conn, &n.name).unwrap_or_default() {
        let Ok(c) = engine.container(&ep.container_id) else {
            continue;
        };
        let prefix = cfg.v4().map(|s| s.subnet.prefix).unwrap_or(24);
        containers.insert(
            ep.container_id.clone(),
            json!({
                "Name": c.name,
                "EndpointID": "",
                "MacAddress": ep.mac,
                "IPv4Address": format!("{}/{prefix}", ep.ip),
                "IPv6Address": ep.ipv6.unwrap_or_default(),
            }),
        );
    }
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": crate::format::units::rfc3339(n.created),
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": cfg.ipv6_enabled,
        "IPAM": { "Driver": "default", "Options": {}, "Config": ipam },
        "Internal": cfg.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": containers,
        "Options": cfg.options,
        "Labels": cfg.labels,
    })
}

pub fn networks(engine: &mut Engine, r: &Request, p: &[&str]) -> Result<Answer, ApiError> {
    let nd = engine.netdb()?;
    match (r.method.as_str(), p) {
        ("GET", []) => {
            let filters = r.filters()?;
            let mut out = Vec::new();
            for n in nets::list(&nd)? {
                let cfg = NetworkConfig::parse(&n.config);
                let ok = filters.iter().all(|(k, vals)| match k.as_str() {
                    "name" => vals.iter().any(|v| n.name.contains(v.as_str())),
                    "id" => vals.iter().any(|v| n.id.starts_with(v.as_str())),
                    "driver" => vals.contains(&n.driver),
                    "label" => labels_match(&cfg.labels, vals),
                    "type" => vals.iter().any(|v| v == "custom" || v == "builtin"),
                    _ => true,
                });
                if ok {
                    out.push(network_doc(engine, &nd, &n));
                }
            }
            Ok(Answer::Json(200, Value::Array(out)))
        }
        ("GET", [id]) => {
            let n = nets::find(&nd, id)?;
            Ok(Answer::Json(200, network_doc(engine, &nd, &n)))
        }
        ("POST", ["create"]) => {
            let b = body(r)?;
            let name = b["Name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ApiError(400, "a network needs a Name".into()))?;
            let mut subnets = Vec::new();
            for c in b["IPAM"]["Config"].as_array().into_iter().flatten() {
                let Some(s) = c["Subnet"].as_str() else {
                    continue;
                };
                let parse_ip = |k: &str| {
                    c[k].as_str()
                        .filter(|g| !g.is_empty())
                        .map(|g| {
                            g.parse()
                                .map_err(|_| ApiError(400, format!("invalid {k} {g:?}")))
                        })
                        .transpose()
                };
                let range = match c["IPRange"].as_str().filter(|x| !x.is_empty()) {
                    Some(x) => Some(x.parse().map_err(|e: String| ApiError(400, e))?),
                    None => None,
                };
                subnets.push((
                    s.parse().map_err(|e: String| ApiError(400, e))?,
                    parse_ip("Gateway")?,
                    range,
                ));
            }
            let spec = NetworkSpec {
                name: Some(name.to_string()),
                driver: b["Driver"]
                    .as_str()
                    .filter(|d| !d.is_empty())
                    .unwrap_or("bridge")
                    .to_string(),
                subnets,
                internal: b["Internal"].as_bool().unwrap_or(false),
                disable_dns: false,
                ipv6: b["EnableIPv6"].as_bool().unwrap_or(false),
                labels: string_map(&b["Labels"]),
                options: string_map(&b["Options"]),
            };
            let n = nets::create(&nd, spec)?;
            Ok(Answer::Json(201, json!({ "Id": n.id, "Warning": "" })))
        }
        ("POST", ["prune"]) => {
            let f = r.prune_filter()?;
            let rep = engine
                .prune_networks(&f)
                .map_err(|e| ApiError(500, e.to_string()))?;
            Ok(Answer::Json(200, json!({ "NetworksDeleted": rep.removed })))
        }
        ("DELETE", [id]) => {
            engine.remove_network(&nd, id, false, None)?;
            Ok(Answer::Empty(204))
        }
        ("POST", [id, verb @ ("connect" | "disconnect")]) => {
            let b = body(r)?;
            let who = b["Container"]
                .as_str()
                .ok_or_else(|| ApiError(400, "no Container given".into()))?;
            let c = engine.container(who)?;
            let net = nets::find(&nd, id)?;
            if *verb == "connect" {
                let ep = &b["EndpointConfig"];
                let req = NetworkRequest {
                    network: net.name.clone(),
                    aliases: ep["Aliases"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.as_str().map(String::from))
                        .collect(),
                    ip: ep["IPAMConfig"]["IPv4Address"]
                        .as_str()
                        .and_then(|ip| ip.parse().ok()),
                    ..Default::default()
                };
                endpoints::connect(engine, &nd, &c, req)?;
            } else {
                endpoints::disconnect(engine, &nd, &c, &net.name)?;
            }
            Ok(Answer::Empty(200))
        }
        _ => Err(not_served(r)),
    }
}

pub fn not_served(r: &Request) -> ApiError {
    ApiError(
        404,
        format!(
            "page not found: berth serves no {} /{}",
            r.method,
            r.path.join("/")
        ),
    )
}

/// docker's volume document.
fn volume_doc(engine: &Engine, v: &VolumeRow) -> Value {
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": engine.volume_data(&v.name),
        "CreatedAt": crate::format::units::rfc3339(v.created),
        "Labels": v.labels,
        "Scope": "local",
        "Options": v.options,
    })
}

pub fn volumes(engine: &mut Engine, r: &Request, p: &[&str]) -> Result<Answer, ApiError> {
    match (r.method.as_str(), p) {
        ("GET", []) => {
            let filters = r.filters()?;
            let mut out = Vec::new();
            for v in engine.volumes()? {
                let mut ok = true;
                for (k, vals) in &filters {
                    ok &= match k.as_str() {
                        "name" => vals.iter().any(|x| v.name.contains(x.as_str())),
                        "label" => labels_match(&v.labels, vals),
                        "driver" => vals.contains(&v.driver),
                        "dangling" => {
                            let unused = engine.volume_users(&v.name)?.is_empty();
                            vals.iter()
                                .any(|x| matches!(x.as_str(), "true" | "1") == unused)
                        }
                        _ => true,
                    };
                }
                if ok {
                    out.push(volume_doc(engine, &v));
                }
            }
            Ok(Answer::Json(200, json!({ "Volumes": out, "Warnings": [] })))
        }
        ("GET", [name]) => {
            let v = engine.volume(name)?;
            Ok(Answer::Json(200, volume_doc(engine, &v)))
        }
        ("POST", ["create"]) => {
            let b = body(r)?;
            let driver = b["Driver"].as_str().unwrap_or("local");
            if !driver.is_empty() && driver != "local" {
                return Err(ApiError(
                    400,
                    format!(
                        "volume driver {driver:?} is not available: berth has the local driver"
                    ),
                ));
            }
            let name = b["Name"].as_str().filter(|n| !n.is_empty());
            // docker answers an existing name with that volume.
            let v = engine.create_named_volume(
                name,
                string_map(&b["Labels"]),
                string_map(&b["DriverOpts"]),
                true,
            )?;
            Ok(Answer::Json(201, volume_doc(engine, &v)))
        }
        ("POST", ["prune"]) => {
            let f = r.prune_filter()?;
            let names = engine
                .prunable_volumes(&f)
                .map_err(|e| ApiError(500, e.to_string()))?;
            let rep = engine.prune_volumes(&names);
            Ok(Answer::Json(
                200,
                json!({ "VolumesDeleted": rep.removed, "SpaceReclaimed": rep.reclaimed }),
            ))
        }
        ("DELETE", [name]) => {
            engine.remove_volume(name, r.flag("force"))?;
            Ok(Answer::Empty(204))
        }
        _ => Err(not_served(r)),
    }
}
