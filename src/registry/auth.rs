//! Registry credentials in podman's `auth.json` (containers-auth.json(5)),
//! also read from Docker's `~/.docker/config.json`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
}

/// Where `login` writes: `--authfile`, else `$REGISTRY_AUTH_FILE`, else
/// `${XDG_RUNTIME_DIR}/containers/auth.json` (`/run/containers/0/auth.json`
/// for root), as podman does.
pub fn default_auth_file() -> PathBuf {
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|v| !v.is_empty()) {
        return p.into();
    }
    let uid = crate::process::pause::host_ids().0;
    if uid == 0 {
        return "/run/containers/0/auth.json".into();
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("containers/auth.json"),
        None => PathBuf::from(format!("/run/user/{uid}/containers/auth.json")),
    }
}

/// Every file credentials are looked up in, most preferred first.
pub fn lookup_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    let mut v = vec![default_auth_file()];
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    if let Some(c) = config {
        v.push(c.join("containers/auth.json"));
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        v.push(PathBuf::from(d).join("config.json"));
    } else if let Some(h) = home {
        v.push(h.join(".docker/config.json"));
    }
    v
}

fn read_json(path: &Path) -> Result<Option<Value>, AuthFileError> {
    match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|source| AuthFileError::Json {
                path: path.display().to_string(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuthFileError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Keys to try for `repo` (`host/path`) on `host`: the most specific
/// namespace first, then the host (and Docker Hub's legacy URL).
fn keys_for(host: &str, repo: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut r = repo;
    while r.len() > host.len() {
        keys.push(r.to_string());
        r = match r.rfind('/') {
            Some(i) => &r[..i],
            None => break,
        };
    }
    keys.push(host.to_string());
    if host == "docker.io" {
        keys.push("https://index.docker.io/v1/".into());
        keys.push("index.docker.io".into());
    }
    keys
}

fn decode(entry: &Value) -> Option<Credentials> {
    let auth = entry.get("auth")?.as_str()?;
    let raw = B64.decode(auth.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some(Credentials {
        username: u.into(),
        password: p.into(),
    })
}

/// Credentials for a repository, if any file has them.
pub fn lookup(
    files: &[PathBuf],
    host: &str,
    repo: &str,
) -> Result<Option<Credentials>, AuthFileError> {
    for f in files {
        let Some(v) = read_json(f)? else { continue };
        let Some(auths) = v.get("auths") else {
            continue;
        };
        for k in keys_for(host, repo) {
            if let Some(c) = auths.get(&k).and_then(decode) {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

fn write_json(path: &Path, v: &Value) -> Result<(), AuthFileError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let io = |source| AuthFileError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    let body = serde_json::to_vec_pretty(v).unwrap_or_default();
    std::io::Write::write_all(&mut f, &body)
        .and_then(|_| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Store credentials under `key` (a host, or host/namespace).
pub fn store(path: &Path, key: &str, c: &Credentials) -> Result<(), AuthFileError> {
    let mut v = read_json(path)?.unwrap_or_else(|| json!({}));
    if !v.is_object() {
        v = json!({});
    }
    let obj = v.as_object_mut().expect("object");
    let auths = obj
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let token = B64.encode(format!("{}:{}", c.username, c.password));
    auths
        .as_object_mut()
        .expect("object")
        .insert(key.into(), json!({ "auth": token }));
    write_json(path, &v)
}

/// Remove `key` (or everything with `None`); returns whether it was there.
pub fn remove(path: &Path, key: Option<&str>) -> Result<bool, AuthFileError> {
    let Some(mut v) = read_json(path)? else {
        return Ok(false);
    };
    let Some(auths) = v.get_mut("auths").and_then(|a| a.as_object_mut()) else {
        return Ok(false);
    };
    let removed = match key {
        Some(k) => auths.remove(k).is_some(),
        None => {
            let any = !auths.is_empty();
            auths.clear();
            any
        }
    };
    if removed {
        write_json(path, &v)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_lookup_remove() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("sub/auth.json");
        let c = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        store(&f, "reg:5000", &c).unwrap();
        let files = vec![f.clone()];
        assert_eq!(
            lookup(&files, "reg:5000", "reg:5000/a/b").unwrap(),
            Some(c.clone())
        );
        assert_eq!(lookup(&files, "other", "other/a").unwrap(), None);
        store(
            &f,
            "reg:5000/a",
            &Credentials {
                username: "ns".into(),
                password: "x".into(),
            },
        )
        .unwrap();
        assert_eq!(
            lookup(&files, "reg:5000", "reg:5000/a/b")
                .unwrap()
                .unwrap()
                .username,
            "ns"
        );
        assert!(remove(&f, Some("reg:5000")).unwrap());
        assert!(!remove(&f, Some("reg:5000")).unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn docker_hub_legacy_key() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config.json");
        std::fs::write(
            &f,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YTpi"}}}"#,
        )
        .unwrap();
        let c = lookup(&[f], "docker.io", "docker.io/library/x")
            .unwrap()
            .unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("a", "b"));
    }
}
