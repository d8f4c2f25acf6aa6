//! registries.conf (containers-registries.conf(5), version 2): search
//! registries for short names, short-name aliases, and per-registry
//! `insecure`, `blocked` and mirrors. Read from where podman reads it.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "kebab-case")]
pub struct RegistriesConf {
    #[serde(default)]
    pub unqualified_search_registries: Vec<String>,
    #[serde(default)]
    pub registry: Vec<RegistryEntry>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct RegistryEntry {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub mirror: Vec<Mirror>,
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct Mirror {
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {msg}")]
pub struct ConfError {
    pub path: String,
    pub msg: String,
}

/// One place to try a repository: a registry host (maybe a mirror) and the
/// repository path there.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub host: String,
    pub insecure: bool,
}

impl RegistriesConf {
    /// The files podman reads, in order: `$CONTAINERS_REGISTRIES_CONF` alone
    /// when set; else the user's `~/.config/containers/registries.conf` (or
    /// the system one), then `registries.conf.d/*.conf` drop-ins.
    pub fn load() -> Result<RegistriesConf, ConfError> {
        if let Some(p) = std::env::var_os("CONTAINERS_REGISTRIES_CONF").filter(|v| !v.is_empty()) {
            // A file named explicitly must be there: reading it as empty
            // would silently drop its mirrors, blocks and insecure flags
            // (podman fails the same way).
            let p = PathBuf::from(p);
            let text = std::fs::read_to_string(&p).map_err(|e| unreadable(&p, &e))?;
            return Self::parse(&text, &p);
        }
        let mut files = Vec::new();
        let user = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|c| c.join("containers"));
        let base = match &user {
            Some(u)
                if crate::process::pause::host_ids().0 != 0
                    && u.join("registries.conf").exists() =>
            {
                u.clone()
            }
            _ => PathBuf::from("/etc/containers"),
        };
        files.push(base.join("registries.conf"));
        for dir in [
            Some(PathBuf::from("/etc/containers/registries.conf.d")),
            user.map(|u| u.join("registries.conf.d")),
        ]
        .into_iter()
        .flatten()
        {
            if let Ok(rd) = std::fs::read_dir(&dir) {
                let mut drop_ins: Vec<PathBuf> = rd
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                    .collect();
                drop_ins.sort();
                files.extend(drop_ins);
            }
        }
        Self::load_files(&files)
    }

    /// The default files: a missing one is skipped; one that is there
    /// but cannot be read is an error, as in containers/image.
    fn load_files(files: &[PathBuf]) -> Result<RegistriesConf, ConfError> {
        let mut conf = RegistriesConf::default();
        for f in files {
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(unreadable(f, &e)),
            };
            conf.merge(Self::parse(&text, f)?);
        }
        Ok(conf)
    }

    pub fn parse(text: &str, path: &Path) -> Result<RegistriesConf, ConfError> {
        toml::from_str(text).map_err(|e| ConfError {
            path: path.display().to_string(),
            msg: e.message().to_string(),
        })
    }

    /// Drop-ins override: a non-empty search list replaces, registries with
    /// the same prefix replace, aliases add.
    fn merge(&mut self, other: RegistriesConf) {
        if !other.unqualified_search_registries.is_empty() {
            self.unqualified_search_registries = other.unqualified_search_registries;
        }
        for r in other.registry {
            self.registry.retain(|x| x.key() != r.key());
            self.registry.push(r);
        }
        self.aliases.extend(other.aliases);
    }

    /// The entry with the longest prefix matching `repo` (`host/path`).
    pub fn find(&self, repo: &str) -> Option<&RegistryEntry> {
        self.registry
            .iter()
            .filter(|r| {
                let k = r.key();
                !k.is_empty()
                    && (repo == k
                        || repo.starts_with(&format!("{k}/"))
                        || repo.starts_with(&format!("{k}:")))
            })
            .max_by_key(|r| r.key().len())
    }

    /// Where to pull `repo` from: its mirrors first, then the registry
    /// itself. Returns the endpoints with the repo path to use at each.
    pub fn pull_endpoints(
        &self,
        host: &str,
        path: &str,
    ) -> Result<Vec<(Endpoint, String)>, String> {
        let repo = format!("{host}/{path}");
        let Some(entry) = self.find(&repo) else {
            return Ok(vec![(
                Endpoint {
                    host: host.into(),
                    insecure: false,
                },
                path.into(),
            )]);
        };
        if entry.blocked {
            return Err(format!("registry {host} is blocked in registries.conf"));
        }
        let key = entry.key();
        // Rewrite the prefix to the location: `prefix = "example.com/foo"`,
        // `location = "internal:5000/bar"`.
        let rest = &repo[key.len()..];
        let mut out = Vec::new();
        for m in &entry.mirror {
            out.push(split_location(&format!("{}{rest}", m.location), m.insecure));
        }
        let loc = if entry.location.is_empty() {
            key.to_string()
        } else {
            entry.location.clone()
        };
        out.push(split_location(&format!("{loc}{rest}"), entry.insecure));
        Ok(out)
    }

    /// Whether plain HTTP / unverified TLS is allowed for `host`.
    pub fn insecure(&self, host: &str) -> bool {
        self.find(host).is_some_and(|r| r.insecure)
    }
}

impl RegistryEntry {
    fn key(&self) -> &str {
        if self.prefix.is_empty() {
            &self.location
        } else {
            &self.prefix
        }
    }
}

fn unreadable(path: &Path, e: &std::io::Error) -> ConfError {
    ConfError {
        path: path.display().to_string(),
        msg: format!("cannot read registries configuration: {e}"),
    }
}

fn split_location(loc: &str, insecure: bool) -> (Endpoint, String) {
    let (host, path) = loc.split_once('/').unwrap_or((loc, ""));
    (
        Endpoint {
            host: host.into(),
            insecure,
        },
        path.into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
unqualified-search-registries = ["127.0.0.1:5000", "docker.io"]

[[registry]]
location = "127.0.0.1:5000"
insecure = true

[[registry]]
prefix = "example.com/team"
location = "internal.example:8443/mirror/team"
[[registry.mirror]]
location = "cache.local/team"
insecure = true

[[registry]]
location = "evil.example"
blocked = true

[aliases]
"busybox" = "docker.io/library/busybox"
"#;

    #[test]
    fn parse_and_route() {
        let c = RegistriesConf::parse(CONF, Path::new("t")).unwrap();
        assert_eq!(
            c.unqualified_search_registries,
            ["127.0.0.1:5000", "docker.io"]
        );
        assert!(c.insecure("127.0.0.1:5000"));
        assert!(!c.insecure("127.0.0.1:5001"));
        assert!(!c.insecure("docker.io"));
        let eps = c.pull_endpoints("example.com", "team/app").unwrap();
        assert_eq!(
            eps[0].0,
            Endpoint {
                host: "cache.local".into(),
                insecure: true
            }
        );
        assert_eq!(eps[0].1, "team/app");
        assert_eq!(eps[1].0.host, "internal.example:8443");
        assert_eq!(eps[1].1, "mirror/team/app");
        assert!(c.pull_endpoints("evil.example", "x").is_err());
        assert_eq!(c.aliases["busybox"], "docker.io/library/busybox");
    }

    #[test]
    fn bad_toml_names_the_file() {
        let e = RegistriesConf::parse(
            "unqualified-search-registries = 3",
            Path::new("/x/registries.conf"),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("/x/registries.conf"));
    }
}
