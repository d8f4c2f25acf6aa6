//! The image configuration (OCI image-spec `config.json`; Docker's is the
//! same document). Parsed for what berth reads; the stored bytes stay the
//! source of truth, since the image ID is their digest.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RunConfig>,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// The execution defaults (image-spec "config" field; Docker's field names).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, rename = "OnBuild", skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("image config is not valid: {}", super::json_error(.0))]
    Json(#[from] serde_json::Error),
    #[error("image config has rootfs type {0:?}, expected \"layers\"")]
    RootFsType(String),
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, ConfigError> {
        let c: ImageConfig = serde_json::from_slice(bytes)?;
        if c.rootfs.kind != "layers" {
            return Err(ConfigError::RootFsType(c.rootfs.kind));
        }
        Ok(c)
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
    }
}

/// Apply a Dockerfile-style `--change` instruction (podman import/commit):
/// CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL.
pub fn apply_change(cfg: &mut RunConfig, change: &str) -> Result<(), String> {
    let change = change.trim();
    let (word, rest) = change
        .split_once([' ', '='])
        .ok_or_else(|| format!("invalid change {change:?}: expected INSTRUCTION VALUE"))?;
    let rest = rest.trim();
    let list = |s: &str| -> Vec<String> {
        // JSON array form, else shell form as Docker does: /bin/sh -c.
        match serde_json::from_str::<Vec<String>>(s) {
            Ok(v) => v,
            Err(_) => vec!["/bin/sh".into(), "-c".into(), s.into()],
        }
    };
    let pairs = |s: &str| -> Vec<(String, String)> {
        s.split_whitespace()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.trim_matches('"').to_string()),
                None => (kv.to_string(), String::new()),
            })
            .collect()
    };
    match word.to_ascii_uppercase().as_str() {
        "CMD" => cfg.cmd = Some(list(rest)),
        "ENTRYPOINT" => cfg.entrypoint = Some(list(rest)),
        "USER" => cfg.user = Some(rest.into()),
        "WORKDIR" => cfg.working_dir = Some(rest.into()),
        "STOPSIGNAL" => cfg.stop_signal = Some(rest.into()),
        "ENV" => {
            let env = cfg.env.get_or_insert_with(Vec::new);
            let kvs = if rest.contains('=') {
                pairs(rest)
            } else {
                let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
                vec![(k.to_string(), v.trim().to_string())]
            };
            for (k, v) in kvs {
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            let labels = cfg.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(pairs(rest));
        }
        "EXPOSE" => {
            let ports = cfg.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in rest.split_whitespace() {
                let p = if p.contains('/') {
                    p.to_string()
                } else {
                    format!("{p}/tcp")
                };
                ports.insert(p, serde_json::json!({}));
            }
        }
        "VOLUME" => {
            let vols = cfg.volumes.get_or_insert_with(BTreeMap::new);
            let paths = serde_json::from_str::<Vec<String>>(rest)
                .unwrap_or_else(|_| rest.split_whitespace().map(String::from).collect());
            for p in paths {
                vols.insert(p, serde_json::json!({}));
            }
        }
        other => {
            return Err(format!(
                "invalid change {change:?}: {other} is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes() {
        let mut c = RunConfig::default();
        apply_change(&mut c, r#"CMD ["/bin/echo", "hi"]"#).unwrap();
        apply_change(&mut c, "ENTRYPOINT /bin/sh").unwrap();
        apply_change(&mut c, "ENV A=1 B=2").unwrap();
        apply_change(&mut c, "ENV A=3").unwrap();
        apply_change(&mut c, "CMD=/bin/true").unwrap();
        apply_change(&mut c, "EXPOSE 80 53/udp").unwrap();
        apply_change(&mut c, "LABEL a=b").unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["/bin/sh", "-c", "/bin/true"]);
        assert_eq!(c.entrypoint.unwrap(), vec!["/bin/sh", "-c", "/bin/sh"]);
        assert_eq!(c.env.unwrap(), vec!["B=2", "A=3"]);
        assert!(c.exposed_ports.unwrap().contains_key("80/tcp"));
        assert_eq!(c.labels.unwrap()["a"], "b");
        assert!(apply_change(&mut RunConfig::default(), "FROM x").is_err());
        assert!(apply_change(&mut RunConfig::default(), "CMD").is_err());
    }

    #[test]
    fn parse_rejects_bad_rootfs() {
        assert!(ImageConfig::parse(br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#).is_ok());
        assert!(ImageConfig::parse(br#"{"rootfs":{"type":"other"}}"#).is_err());
        assert!(ImageConfig::parse(b"nope").is_err());
    }
}
