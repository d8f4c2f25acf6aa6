//! What a loaded project answers: dependency order, `config` output, service config hashes, name lists.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::ComposeError;
use super::model::{Project, Service, VolumeType};

impl Project {
    /// Service names sorted, as `docker compose config --services` prints them.
    pub fn service_names(&self) -> Vec<String> {
        self.services.keys().cloned().collect()
    }

    /// Top-level volume keys sorted (`config --volumes`).
    pub fn volume_names(&self) -> Vec<String> {
        self.volumes.keys().cloned().collect()
    }

    /// Services ordered so that each comes after everything it depends on
    /// (ties by name). A cycle is an error naming it.
    pub fn dependency_order(&self) -> Result<Vec<String>, ComposeError> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::new();
        while order.len() < self.services.len() {
            let next = self.services.iter().find(|(name, s)| {
                !done.contains(name.as_str())
                    && s.depends_on
                        .keys()
                        .all(|d| done.contains(d.as_str()) || !self.services.contains_key(d))
            });
            match next {
                Some((name, _)) => {
                    done.insert(name);
                    order.push(name.clone());
                }
                None => return Err(self.cycle_error(&done)),
            }
        }
        Ok(order)
    }

    fn cycle_error(&self, done: &BTreeSet<&str>) -> ComposeError {
        // Walk dependencies from the first unplaced service until a name repeats.
        let start = self.services.keys().find(|n| !done.contains(n.as_str()));
        let mut path: Vec<&str> = Vec::new();
        let mut cur = start.map(String::as_str);
        while let Some(name) = cur {
            if let Some(i) = path.iter().position(|p| *p == name) {
                let mut cycle: Vec<&str> = path[i..].to_vec();
                cycle.push(name);
                let file = self.services[name].origin.file.to_string();
                return ComposeError::Invalid {
                    file,
                    line: 0,
                    path: "services".into(),
                    msg: format!("dependency cycle: {}", cycle.join(" -> ")),
                };
            }
            path.push(name);
            cur = self.services[name]
                .depends_on
                .keys()
                .find(|d| self.services.contains_key(*d) && !done.contains(d.as_str()))
                .map(String::as_str);
        }
        ComposeError::Invalid {
            file: String::new(),
            line: 0,
            path: "services".into(),
            msg: "dependency cycle".into(),
        }
    }

    /// The normalized project as `docker compose config` prints it
    /// (go-yaml v3 style: YAML 1.2 quoting, sequences indented under their key).
    pub fn to_yaml(&self) -> String {
        let opts = serde_saphyr::ser_options! {
            yaml_12: true,
            no_lang_directive: true,
            compact_list_indent: false,
        };
        serde_saphyr::to_string_with_options(self, opts).unwrap_or_default()
    }

    /// Checks what services refer to: named volumes, networks, secrets and
    /// configs must be declared at the top level, `depends_on` must name a
    /// service unless `required: false` (then it is dropped with a warning).
    pub(crate) fn check_references(
        &mut self,
        warnings: &mut Vec<String>,
    ) -> Result<(), ComposeError> {
        let names: BTreeSet<String> = self.services.keys().cloned().collect();
        for (name, s) in self.services.iter_mut() {
            let mut missing = Vec::new();
            for (dep, d) in &s.depends_on {
                if names.contains(dep) {
                    continue;
                }
                if d.required {
                    return Err(ComposeError::Invalid {
                        file: d.origin.file.to_string(),
                        line: d.origin.line,
                        path: format!("services.{name}.depends_on"),
                        msg: format!("service {name:?} depends on undefined service {dep:?}"),
                    });
                }
                warnings.push(format!(
                    "{}:{}: services.{name}.depends_on: optional dependency {dep:?} is not enabled, ignored",
                    d.origin.file, d.origin.line
                ));
                missing.push(dep.clone());
            }
            for dep in missing {
                s.depends_on.remove(&dep);
            }
            let at = |what: &str, key: &str| ComposeError::Invalid {
                file: s.origin.file.to_string(),
                line: s.origin.line,
                path: format!("services.{name}.{what}"),
                msg: format!(
                    "service {name:?} refers to undefined {} {key:?}",
                    what.trim_end_matches('s')
                ),
            };
            for v in &s.volumes {
                if v.kind == VolumeType::Volume
                    && let Some(src) = &v.source
                    && !self.volumes.contains_key(src)
                {
                    return Err(at("volumes", src));
                }
            }
            for n in s.networks.keys() {
                if n != "default" && !self.networks.contains_key(n) {
                    return Err(at("networks", n));
                }
            }
            for f in &s.secrets {
                if !self.secrets.contains_key(&f.source) {
                    return Err(at("secrets", &f.source));
                }
            }
            for f in &s.configs {
                if !self.configs.contains_key(&f.source) {
                    return Err(at("configs", &f.source));
                }
            }
        }
        Ok(())
    }

    /// compose's implicit network: a service with neither `networks` nor
    /// `network_mode` joins `default`, which is then `<project>_default`.
    pub(crate) fn add_default_network(&mut self) {
        let mut uses_default = false;
        for s in self.services.values_mut() {
            if s.networks.is_empty() && s.network_mode.is_none() {
                s.networks.insert("default".into(), None);
            }
            uses_default |= s.networks.contains_key("default");
        }
        if uses_default && !self.networks.contains_key("default") {
            let net = super::model::Network {
                name: format!("{}_default", self.name),
                ..Default::default()
            };
            self.networks.insert("default".into(), net);
        }
    }
}

impl Service {
    /// sha256 (hex) of the service's canonical JSON, as docker compose's
    /// ServiceHash: build, pull_policy, scale, deploy.replicas, depends_on
    /// and profiles are left out, so scaling or reordering does not
    /// recreate containers. The project's definitions of the secrets and
    /// configs the service mounts are hashed with it (compose keeps those in
    /// separate hashes, ServiceConfigsHash/ServiceSecretsHash): a changed
    /// `content:` or `file:` recreates the container too.
    pub fn config_hash(&self, project: &Project) -> String {
        let mut s = self.clone();
        s.build = None;
        s.pull_policy = None;
        s.scale = None;
        if let Some(d) = &mut s.deploy {
            d.replicas = None;
        }
        s.depends_on = BTreeMap::new();
        s.profiles = Vec::new();
        let secrets: BTreeMap<&str, _> = self
            .secrets
            .iter()
            .filter_map(|f| Some((f.source.as_str(), project.secrets.get(&f.source)?)))
            .collect();
        let configs: BTreeMap<&str, _> = self
            .configs
            .iter()
            .filter_map(|f| Some((f.source.as_str(), project.configs.get(&f.source)?)))
            .collect();
        let json = serde_json::json!({ "service": s, "secrets": secrets, "configs": configs });
        hex::encode(Sha256::digest(json.to_string().as_bytes()))
    }
}
