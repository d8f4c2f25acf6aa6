//! Engine settings: berth.conf, and the containers.conf a user names.
//!
//! berth reads, first found wins per key:
//! 1. the file `$CONTAINERS_CONF` names (podman's override; containers.conf
//!    syntax: `[containers] dns_servers = [...]`, `[engine] runtime = "..."`);
//! 2. the user's `$XDG_CONFIG_HOME/berth/berth.conf` (else
//!    `~/.config/berth/berth.conf`), else `/etc/berth/berth.conf`.
//!
//! berth does not read `/etc/containers/containers.conf` by default: that file
//! configures podman on the same machine (its OCI runtime, its ulimits), and
//! berth's own runtime and defaults differ. A user who wants podman's settings
//! points `CONTAINERS_CONF` at them.
//!
//! A key is looked up in its table (`engine`, `containers`, `network`) and,
//! for berth.conf's flat form, at the top level too.

use std::path::PathBuf;

/// The config files, in lookup order.
fn files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("CONTAINERS_CONF").filter(|p| !p.is_empty()) {
        files.push(PathBuf::from(p));
    }
    let user = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|c| c.join("berth/berth.conf"));
    match user.filter(|p| p.is_file()) {
        Some(p) => files.push(p),
        None => files.push(PathBuf::from("/etc/berth/berth.conf")),
    }
    files
}

/// The value of `[table] key`, or of a top-level `key`, from the first file
/// that has it. The files are read and parsed once per process: `run`
/// asks for several keys (runtime, DNS, hosts), and each would otherwise
/// read them again.
pub fn value(table: &str, key: &str) -> Option<toml::Value> {
    static SOURCES: std::sync::OnceLock<Vec<toml::Value>> = std::sync::OnceLock::new();
    lookup(SOURCES.get_or_init(|| parse(&files())), table, key)
}

fn parse(files: &[PathBuf]) -> Vec<toml::Value> {
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|t| toml::from_str::<toml::Value>(&t).ok())
        .collect()
}

fn lookup(sources: &[toml::Value], table: &str, key: &str) -> Option<toml::Value> {
    sources.iter().find_map(|v| {
        v.get(table)
            .and_then(|t| t.get(key))
            .or_else(|| v.get(key))
            .cloned()
    })
}

#[cfg(test)]
fn find(files: &[PathBuf], table: &str, key: &str) -> Option<toml::Value> {
    lookup(&parse(files), table, key)
}

/// A non-empty string setting.
pub fn string(table: &str, key: &str) -> Option<String> {
    value(table, key)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A list-of-strings setting (empty when unset).
pub fn strings(table: &str, key: &str) -> Vec<String> {
    value(table, key)
        .and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_file_with_the_key_wins_tables_and_top_level() {
        let dir = std::env::temp_dir().join(format!("berth-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("containers.conf");
        let berth = dir.join("berth.conf");
        std::fs::write(
            &conf,
            "[containers]\ndns_servers = [\"1.1.1.1\", \"8.8.8.8\"]\n[engine]\nruntime = \"idonotexist\"\n",
        )
        .unwrap();
        std::fs::write(
            &berth,
            "runtime = \"runc\"\ndns_searches = [\"example.com\"]\n",
        )
        .unwrap();
        let both = [conf.clone(), berth.clone()];
        let rt = find(&both, "engine", "runtime");
        assert_eq!(
            rt.and_then(|v| v.as_str().map(String::from)).as_deref(),
            Some("idonotexist")
        );
        let rt = find(std::slice::from_ref(&berth), "engine", "runtime");
        assert_eq!(
            rt.and_then(|v| v.as_str().map(String::from)).as_deref(),
            Some("runc")
        );
        let search = find(&both, "containers", "dns_searches").unwrap();
        assert_eq!(search.as_array().unwrap().len(), 1);
        assert!(find(&both, "containers", "dns_options").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
