//! Top-level `networks:`, `volumes:`, `secrets:`, `configs:` -> typed definitions.

use std::collections::BTreeMap;

use super::ComposeError;
use super::model::*;
use super::node::{Node, Value};
use super::read::*;
use super::service::{ServiceContext, resolve_path};

/// `external: true`, or the legacy `external: {name: x}` (its name becomes the resource's name).
fn external(n: &Node, path: &str, name: &mut Option<String>) -> R<bool> {
    match &n.value {
        Value::Map(_) => {
            if let Some(x) = n.get("name") {
                *name = Some(string(x, &format!("{path}.name"))?);
            }
            Ok(true)
        }
        _ => boolean(n, path),
    }
}

/// Each entry of a top-level section (a null entry is all defaults).
fn each<'n>(n: &'n Node, path: &str) -> R<Vec<(String, &'n Node, String)>> {
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Map(m) => Ok(m
            .iter()
            .map(|(k, v)| (k.name.clone(), v, format!("{path}.{}", k.name)))
            .collect()),
        _ => Err(wrong(n, path, "a mapping")),
    }
}

fn default_name(project: &str, key: &str, external: bool) -> String {
    if external {
        key.to_string()
    } else {
        format!("{project}_{key}")
    }
}

pub fn networks(rd: &mut Reader, n: &Node, project: &str) -> R<BTreeMap<String, Network>> {
    let mut out = BTreeMap::new();
    for (key, x, path) in each(n, "networks")? {
        let mut net = Network::default();
        let mut name = None;
        if !x.is_null() {
            let known = [
                "name",
                "driver",
                "driver_opts",
                "ipam",
                "external",
                "internal",
                "attachable",
                "enable_ipv4",
                "enable_ipv6",
                "labels",
            ];
            for (k, v, p) in rd.entries(x, &path, &known)? {
                let p = p.as_str();
                match k {
                    "name" => name = opt_string(v, p)?,
                    "driver" => net.driver = opt_string(v, p)?,
                    "driver_opts" => net.driver_opts = dict_strings(v, p, '=')?,
                    "ipam" => net.ipam = Some(ipam(rd, v, p)?),
                    "external" => net.external = external(v, p, &mut name)?,
                    "internal" => net.internal = boolean(v, p)?,
                    "attachable" => net.attachable = boolean(v, p)?,
                    "enable_ipv6" => net.enable_ipv6 = Some(boolean(v, p)?),
                    "labels" => net.labels = dict_strings(v, p, '=')?,
                    _ => {}
                }
            }
        }
        net.name = name.unwrap_or_else(|| default_name(project, &key, net.external));
        out.insert(key, net);
    }
    Ok(out)
}

fn ipam(rd: &mut Reader, n: &Node, path: &str) -> R<Ipam> {
    let mut i = Ipam::default();
    for (k, v, p) in rd.entries(n, path, &["driver", "config", "options"])? {
        match k {
            "driver" => i.driver = opt_string(v, &p)?,
            "options" => i.options = dict_strings(v, &p, '=')?,
            _ => {
                let Value::Seq(items) = &v.value else {
                    return Err(wrong(v, &p, "a list"));
                };
                for (j, x) in items.iter().enumerate() {
                    let q = format!("{p}[{j}]");
                    let mut pool = IpamPool::default();
                    let known = ["subnet", "gateway", "ip_range", "aux_addresses"];
                    for (k, y, r) in rd.entries(x, &q, &known)? {
                        match k {
                            "subnet" => pool.subnet = Some(cidr(y, &r)?),
                            "gateway" => pool.gateway = opt_string(y, &r)?,
                            "ip_range" => pool.ip_range = Some(cidr(y, &r)?),
                            _ => pool.aux_addresses = dict_strings(y, &r, '=')?,
                        }
                    }
                    i.config.push(pool);
                }
            }
        }
    }
    Ok(i)
}

fn cidr(n: &Node, path: &str) -> R<String> {
    let s = string(n, path)?;
    let ok = s.split_once('/').is_some_and(|(ip, bits)| {
        ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 128)
    });
    if !ok {
        return Err(ComposeError::at(n, path, format!("invalid subnet {s:?}")));
    }
    Ok(s)
}

pub fn volumes(rd: &mut Reader, n: &Node, project: &str) -> R<BTreeMap<String, Volume>> {
    let mut out = BTreeMap::new();
    for (key, x, path) in each(n, "volumes")? {
        let mut vol = Volume::default();
        let mut name = None;
        if !x.is_null() {
            let known = ["name", "driver", "driver_opts", "external", "labels"];
            for (k, v, p) in rd.entries(x, &path, &known)? {
                let p = p.as_str();
                match k {
                    "name" => name = opt_string(v, p)?,
                    "driver" => vol.driver = opt_string(v, p)?,
                    "driver_opts" => vol.driver_opts = dict_strings(v, p, '=')?,
                    "external" => vol.external = external(v, p, &mut name)?,
                    _ => vol.labels = dict_strings(v, p, '=')?,
                }
            }
        }
        vol.name = name.unwrap_or_else(|| default_name(project, &key, vol.external));
        out.insert(key, vol);
    }
    Ok(out)
}

/// Secrets and configs share their shape; `content` is for configs only.
struct FileObject {
    name: String,
    file: Option<std::path::PathBuf>,
    content: Option<String>,
    environment: Option<String>,
    external: bool,
}

fn file_objects(
    rd: &mut Reader,
    cx: &ServiceContext,
    n: &Node,
    section: &str,
    project: &str,
) -> R<Vec<(String, FileObject)>> {
    let mut out = Vec::new();
    let known: &[&str] = if section == "configs" {
        &[
            "name",
            "file",
            "content",
            "environment",
            "external",
            "labels",
            "driver",
            "template_driver",
        ]
    } else {
        &[
            "name",
            "file",
            "environment",
            "external",
            "labels",
            "driver",
            "driver_opts",
            "template_driver",
        ]
    };
    for (key, x, path) in each(n, section)? {
        let mut o = FileObject {
            name: String::new(),
            file: None,
            content: None,
            environment: None,
            external: false,
        };
        let mut name = None;
        for (k, v, p) in rd.entries(x, &path, known)? {
            let p = p.as_str();
            match k {
                "name" => name = opt_string(v, p)?,
                "file" => o.file = Some(resolve_path(cx.dir, &string(v, p)?, cx.lookup).into()),
                "content" => o.content = opt_string(v, p)?,
                "environment" => o.environment = opt_string(v, p)?,
                "external" => o.external = external(v, p, &mut name)?,
                _ => {}
            }
        }
        let sources = [
            o.file.is_some(),
            o.content.is_some(),
            o.environment.is_some(),
            o.external,
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            let what = if section == "configs" {
                "file, content, environment or external"
            } else {
                "file, environment or external"
            };
            return Err(ComposeError::at(
                x,
                &path,
                format!("needs exactly one of {what}"),
            ));
        }
        o.name = name.unwrap_or_else(|| default_name(project, &key, o.external));
        out.push((key, o));
    }
    Ok(out)
}

pub fn secrets(
    rd: &mut Reader,
    cx: &ServiceContext,
    n: &Node,
    project: &str,
) -> R<BTreeMap<String, Secret>> {
    Ok(file_objects(rd, cx, n, "secrets", project)?
        .into_iter()
        .map(|(k, o)| {
            let s = Secret {
                name: o.name,
                file: o.file,
                environment: o.environment,
                external: o.external,
            };
            (k, s)
        })
        .collect())
}

pub fn configs(
    rd: &mut Reader,
    cx: &ServiceContext,
    n: &Node,
    project: &str,
) -> R<BTreeMap<String, Config>> {
    Ok(file_objects(rd, cx, n, "configs", project)?
        .into_iter()
        .map(|(k, o)| {
            let c = Config {
                name: o.name,
                file: o.file,
                content: o.content,
                environment: o.environment,
                external: o.external,
            };
            (k, c)
        })
        .collect())
}
