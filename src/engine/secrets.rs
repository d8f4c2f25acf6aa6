//! Secrets, as podman's `secret` commands and `--secret` have them
//! (containers/common pkg/secrets, its file driver, and libpod's copy into
//! the container at create).
//!
//! A secret's record (name, ID, labels) is a row of the state database; its
//! data is one file, `<root>/secrets/filedriver/<id>`, 0600 in a 0700 dir,
//! written to a temp name and renamed in, so no reader ever sees half of
//! it. Creation and removal run under the writer lock, which also makes the
//! sweep safe: a data file without a row (a create or rm killed half-way)
//! is removed by the next secret command.
//!
//! A container gets copies made at create (podman: "secrets are copied and
//! mounted into the container when a container is created", so `secret rm`
//! is safe while a container uses one): a mount secret as a file beside the
//! container's other files, bound read-only at /run/secrets/NAME (or its
//! target); an env secret into the runtime spec's environment (config.json,
//! 0600 as it holds `-e` values), never into the record `inspect` shows.

use super::containers::{Bind, ContainerConfig};
use super::{Engine, EngineError};
use crate::state::secrets as db;
pub use crate::state::secrets::SecretRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// podman's maxSecretSize: data must be shorter than this.
pub const MAX_SIZE: usize = 512_000;
/// podman's secretIDLength.
const ID_LEN: usize = 25;
const TEMP_PREFIX: &str = ".tmp-";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0}: secret name in use")]
    NameInUse(String),
    #[error("no secret with name or id {0:?}: no such secret")]
    NotFound(String),
    #[error("more than one result secret with prefix {0}: secret is ambiguous")]
    Ambiguous(String),
    #[error(
        "only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]: {0}: invalid secret name"
    )]
    InvalidName(String),
    #[error("secret data must be larger than 0 and less than 512000 bytes")]
    Size,
    #[error("{0}: invalid driver (berth stores secrets with the file driver)")]
    Driver(String),
    #[error("parsing secret: {0}")]
    Flag(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<crate::state::DbError> for SecretError {
    fn from(e: crate::state::DbError) -> Self {
        SecretError::Engine(e.into())
    }
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> SecretError + '_ {
    move |e| SecretError::Engine(EngineError::Io(what.to_string(), e))
}

/// podman's validateSecretName: `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`, at most 64
/// characters, not ending in `-` or `.`. No `/`, so no name reaches
/// outside the data dir; and the data file is named by ID anyway.
pub fn validate_name(name: &str) -> Result<(), SecretError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && !name.ends_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(SecretError::InvalidName(name.to_string()))
    }
}

/// One `--secret` of a container: what it asked for, and the secret it
/// was resolved to at create.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct SecretRef {
    /// The name or ID the user gave.
    pub source: String,
    /// The secret's name and ID at create.
    pub name: String,
    pub id: String,
    /// "mount" or "env".
    pub kind: String,
    /// mount: a path (relative to /run/secrets); env: the variable's name.
    pub target: String,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// Parse one `--secret` value as podman's parseSecrets does:
/// `NAME` or `[source=]NAME,type=mount|env,target=T,uid=U,gid=G,mode=M`.
pub fn parse_flag(val: &str) -> Result<SecretRef, SecretError> {
    let bad = |m: String| SecretError::Flag(m);
    let mut r = SecretRef {
        mode: 0o444,
        ..Default::default()
    };
    let mut parts: Vec<&str> = val.split(',').collect();
    if parts.len() == 1 {
        r.source = val.to_string();
        r.kind = "mount".into();
        return Ok(r);
    }
    if !parts[0].contains('=') {
        r.source = parts.remove(0).to_string();
    }
    let mut mount_only = false;
    for p in parts {
        let Some((k, v)) = p.split_once('=') else {
            return Err(bad(format!("option {p} must be in form option=value")));
        };
        match k {
            "source" => r.source = v.to_string(),
            "type" => {
                if !r.kind.is_empty() {
                    return Err(bad("cannot set more than one secret type".into()));
                }
                if v != "mount" && v != "env" {
                    return Err(bad(format!("type {v} is invalid")));
                }
                r.kind = v.to_string();
            }
            "target" => r.target = v.to_string(),
            "mode" => {
                mount_only = true;
                r.mode = u32::from_str_radix(v, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| bad(format!("mode {v} invalid")))?;
            }
            "uid" | "UID" => {
                mount_only = true;
                r.uid = v.parse().map_err(|_| bad(format!("UID {v} invalid")))?;
            }
            "gid" | "GID" => {
                mount_only = true;
                r.gid = v.parse().map_err(|_| bad(format!("GID {v} invalid")))?;
            }
            _ => return Err(bad(format!("option {p} invalid"))),
        }
    }
    if r.kind.is_empty() {
        r.kind = "mount".into();
    }
    if r.source.is_empty() {
        return Err(bad(format!("no source found {val}")));
    }
    if r.kind == "env" {
        if mount_only {
            return Err(bad(
                "UID, GID, Mode options cannot be set with secret type env".into(),
            ));
        }
        if r.target.is_empty() {
            r.target = r.source.clone();
        }
    }
    Ok(r)
}

/// Where a mount secret appears in the container (libpod: a relative
/// target is under /run/secrets, an absolute one is taken as it is).
pub fn mount_destination(r: &SecretRef) -> String {
    let t = if r.target.is_empty() {
        &r.name
    } else {
        &r.target
    };
    let joined = if t.starts_with('/') {
        t.clone()
    } else {
        format!("/run/secrets/{t}")
    };
    // filepath.Join cleans: the runtime resolves it inside the root anyway.
    let mut out: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    hex::encode(b)[..ID_LEN].to_string()
}

/// Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros cut).
pub fn rfc3339_nanos(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let base = crate::format::units::rfc3339(secs);
    if frac == 0 {
        return base;
    }
    let digits = format!("{frac:09}");
    format!(
        "{}.{}Z",
        base.trim_end_matches('Z'),
        digits.trim_end_matches('0')
    )
}

impl Engine {
    /// The file driver's dir: one 0600 file per secret, named by its ID.
    pub fn secrets_data_dir(&self) -> PathBuf {
        self.paths.root.join("secrets").join("filedriver")
    }

    fn open_secrets_dir(&self) -> Result<PathBuf, SecretError> {
        let d = self.secrets_data_dir();
        for p in [self.paths.root.join("secrets"), d.clone()] {
            crate::process::private::dir(&p).map_err(io_err("creating the secrets directory"))?;
        }
        Ok(d)
    }

    /// Remove data files no record names (a create or rm killed half-way).
    /// Under the writer lock, so no create is between its rename and its
    /// insert.
    fn sweep_secret_data(&self, dir: &Path) -> Result<(), SecretError> {
        let entries = std::fs::read_dir(dir).map_err(io_err("reading the secrets directory"))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let known = !name.starts_with(TEMP_PREFIX)
                && matches!(db::lookup(&self.db.conn, &name)?, Ok(s) if s.id == name);
            if !known {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    /// `secret create`: store `data` under a new ID and record it. Prints
    /// nothing; returns the record.
    pub fn create_secret(
        &self,
        name: &str,
        data: &[u8],
        driver: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<SecretRow, SecretError> {
        validate_name(name)?;
        if data.is_empty() || data.len() >= MAX_SIZE {
            return Err(SecretError::Size);
        }
        if driver != "file" {
            return Err(SecretError::Driver(driver.to_string()));
        }
        let dir = self.open_secrets_dir()?;
        let _lock = self.lock()?;
        self.sweep_secret_data(&dir)?;
        if let Ok(s) = db::lookup(&self.db.conn, name)?
            && s.name == name
        {
            return Err(SecretError::NameInUse(name.to_string()));
        }
        let id = loop {
            let id = random_id();
            if db::lookup(&self.db.conn, &id)?.is_err() {
                break id;
            }
        };
        let temp = dir.join(format!("{TEMP_PREFIX}{id}"));
        let write = || -> std::io::Result<()> {
            let mut f = crate::process::private::create_new(&temp)?;
            f.write_all(data)?;
            f.sync_all()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&temp);
            return Err(io_err("writing the secret's data")(e));
        }
        let path = dir.join(&id);
        if let Err(e) = std::fs::rename(&temp, &path) {
            let _ = std::fs::remove_file(&temp);
            return Err(io_err("storing the secret's data")(e));
        }
        let row = SecretRow {
            id: id.clone(),
            name: name.to_string(),
            driver: driver.to_string(),
            created: crate::process::now_nanos(),
            labels,
            options: BTreeMap::from([("path".to_string(), dir.display().to_string())]),
        };
        match db::insert(&self.db.conn, &row) {
            Ok(true) => Ok(row),
            Ok(false) => {
                let _ = std::fs::remove_file(&path);
                Err(SecretError::NameInUse(name.to_string()))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(e.into())
            }
        }
    }

    pub fn secret(&self, word: &str) -> Result<SecretRow, SecretError> {
        match db::lookup(&self.db.conn, word)? {
            Ok(s) => Ok(s),
            Err(0) => Err(SecretError::NotFound(word.to_string())),
            Err(_) => Err(SecretError::Ambiguous(word.to_string())),
        }
    }

    pub fn secrets(&self) -> Result<Vec<SecretRow>, SecretError> {
        Ok(db::list(&self.db.conn)?)
    }

    /// `secret rm`: the record, then the data. Returns the ID.
    pub fn remove_secret(&self, word: &str) -> Result<String, SecretError> {
        // podman validates the word as a name first (Delete).
        validate_name(word)?;
        let dir = self.open_secrets_dir()?;
        let _lock = self.lock()?;
        let s = self.secret(word)?;
        db::delete(&self.db.conn, &s.id)?;
        match std::fs::remove_file(dir.join(&s.id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err("removing the secret's data")(e));
            }
            _ => {}
        }
        self.sweep_secret_data(&dir)?;
        Ok(s.id)
    }

    /// A secret's data, read from its file (at most MAX_SIZE bytes).
    pub fn secret_data(&self, s: &SecretRow) -> Result<Vec<u8>, SecretError> {
        let f = std::fs::File::open(self.secrets_data_dir().join(&s.id))
            .map_err(io_err("reading the secret's data"))?;
        let mut data = Vec::new();
        f.take(MAX_SIZE as u64)
            .read_to_end(&mut data)
            .map_err(io_err("reading the secret's data"))?;
        Ok(data)
    }

    /// At container create, before the spec is built: resolve each
    /// `--secret` (recorded in `cfg` with its ID), and give `spec_cfg` the
    /// binds of the mount secrets and the values of the env secrets.
    /// The copies are written by [`Engine::write_secret_copies`].
    pub(crate) fn apply_secrets(
        &self,
        dir: &Path,
        cfg: &mut ContainerConfig,
        spec_cfg: &mut ContainerConfig,
    ) -> Result<(), SecretError> {
        // podman: in a --read-only container these binds are read-only
        // too, and nosuid, noexec, nodev.
        let ro_options: Vec<String> = if cfg.read_only {
            ["nosuid", "noexec", "nodev"].map(String::from).to_vec()
        } else {
            Vec::new()
        };
        let mut any_mount = false;
        for (i, r) in cfg.secrets.iter_mut().enumerate() {
            let s = self.secret(&r.source)?;
            r.name = s.name.clone();
            r.id = s.id.clone();
            if r.kind == "env" {
                let value = String::from_utf8_lossy(&self.secret_data(&s)?).into_owned();
                let key = format!("{}=", r.target);
                spec_cfg.env.retain(|e| !e.starts_with(&key));
                spec_cfg.env.push(format!("{key}{value}"));
                continue;
            }
            any_mount = true;
            let mut b = Bind {
                source: secret_copy(dir, i, &r.name).display().to_string(),
                destination: mount_destination(r),
                readonly: true,
                ..Default::default()
            };
            b.options.clone_from(&ro_options);
            spec_cfg.binds.push(b);
        }
        if any_mount {
            // libpod's createSecretMountDir: an empty /run/secrets of the
            // container's own, so the mount points are not made in its
            // root (nothing of a secret reaches commit or export).
            let run = dir.join("run-secrets");
            std::fs::create_dir_all(&run).map_err(io_err("creating /run/secrets"))?;
            let mut b = Bind {
                source: run.display().to_string(),
                destination: "/run/secrets".into(),
                readonly: cfg.read_only,
                ..Default::default()
            };
            b.options = ro_options;
            spec_cfg.binds.push(b);
        }
        Ok(())
    }

    /// After the spec is built: each mount secret's copy, owned by its
    /// uid/gid as the container's user namespace maps them (the spec's
    /// mappings; none: the ids as they are), with its mode.
    pub(crate) fn write_secret_copies(
        &self,
        dir: &Path,
        cfg: &ContainerConfig,
        spec: &oci_spec::runtime::Spec,
    ) -> Result<(), SecretError> {
        let r = self.write_copies(dir, cfg, spec);
        if r.is_err() {
            // No copy outlives a create that failed.
            let _ = std::fs::remove_dir_all(dir.join("secrets"));
        }
        r
    }

    fn write_copies(
        &self,
        dir: &Path,
        cfg: &ContainerConfig,
        spec: &oci_spec::runtime::Spec,
    ) -> Result<(), SecretError> {
        use std::os::unix::fs::PermissionsExt;
        let linux = spec.linux().as_ref();
        let map = |id: u32, maps: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| match maps {
            Some(ms) if !ms.is_empty() => ms
                .iter()
                .find(|m| id >= m.container_id() && id - m.container_id() < m.size())
                .map(|m| m.host_id() + (id - m.container_id())),
            _ => Some(id),
        };
        let mounts: Vec<(usize, &SecretRef)> = cfg
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind != "env")
            .collect();
        if mounts.is_empty() {
            return Ok(());
        }
        let root_uid = map(0, linux.and_then(|l| l.uid_mappings().as_ref()));
        let root_gid = map(0, linux.and_then(|l| l.gid_mappings().as_ref()));
        let run = dir.join("run-secrets");
        let _ = std::os::unix::fs::chown(&run, root_uid, root_gid);
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755))
            .map_err(io_err("creating /run/secrets"))?;
        let copies = dir.join("secrets");
        crate::process::private::dir(&copies).map_err(io_err("creating the secrets copy dir"))?;
        for (i, r) in mounts {
            // The mount point, made here: /run/secrets may be read-only.
            if let Some(rel) = mount_destination(r).strip_prefix("/run/secrets/") {
                let point = run.join(rel);
                if let Some(parent) = point.parent() {
                    std::fs::create_dir_all(parent).map_err(io_err("creating /run/secrets"))?;
                }
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&point)
                    .map_err(io_err("creating a secret's mount point"))?;
            }
            let s = self.secret(&r.id)?;
            let data = self.secret_data(&s)?;
            let path = secret_copy(dir, i, &r.name);
            let _ = std::fs::remove_file(&path);
            let mut f = crate::process::private::create_new(&path)
                .map_err(io_err("copying the secret into the container"))?;
            f.write_all(&data)
                .map_err(io_err("copying the secret into the container"))?;
            let uid = map(r.uid, linux.and_then(|l| l.uid_mappings().as_ref()));
            let gid = map(r.gid, linux.and_then(|l| l.gid_mappings().as_ref()));
            let (Some(uid), Some(gid)) = (uid, gid) else {
                return Err(SecretError::Flag(format!(
                    "secret {}: uid {} or gid {} is not mapped in the container",
                    r.name, r.uid, r.gid
                )));
            };
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
                .map_err(io_err("chowning the secret's copy"))?;
            f.set_permissions(std::fs::Permissions::from_mode(r.mode))
                .map_err(io_err("setting the secret's mode"))?;
        }
        Ok(())
    }
}

/// The copy for the container's `i`th `--secret` in its dir (libpod:
/// SecretsPath/NAME; by position, so one secret mounted twice with two
/// owners or modes gets two copies).
fn secret_copy(dir: &Path, i: usize, name: &str) -> PathBuf {
    dir.join("secrets").join(format!("{i}-{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_podman_validates_them() {
        for ok in ["a", "my_secret.v2", "A-1", &"x".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "/abs",
            ".hidden",
            "-x",
            "x-",
            "x.",
            &"x".repeat(65),
        ] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.ends_with(": invalid secret name"), "{bad}: {e}");
        }
    }

    #[test]
    fn secret_flags_as_podman_parses_them() {
        let r = parse_flag("s").unwrap();
        assert_eq!(
            (r.source.as_str(), r.kind.as_str(), r.mode),
            ("s", "mount", 0o444)
        );
        let r = parse_flag("s,type=mount,target=t,uid=10,gid=20,mode=400").unwrap();
        assert_eq!(
            (r.uid, r.gid, r.mode, r.target.as_str()),
            (10, 20, 0o400, "t")
        );
        let r = parse_flag("source=s,type=env").unwrap();
        assert_eq!((r.kind.as_str(), r.target.as_str()), ("env", "s"));
        let r = parse_flag("s,type=env,target=PW").unwrap();
        assert_eq!(r.target, "PW");
        for (bad, msg) in [
            ("s,type=env,uid=1", "UID, GID, Mode options cannot be set"),
            ("s,type=foo", "type foo is invalid"),
            (
                "s,type=env,type=mount",
                "cannot set more than one secret type",
            ),
            ("s,mode=9", "mode 9 invalid"),
            ("s,bogus", "option bogus must be in form option=value"),
            ("s,what=1", "option what=1 invalid"),
            ("type=env,target=x", "no source found"),
        ] {
            let e = parse_flag(bad).unwrap_err().to_string();
            assert!(e.contains(msg), "{bad}: {e}");
        }
    }

    #[test]
    fn destinations_are_under_run_secrets_unless_absolute() {
        let r = |name: &str, target: &str| SecretRef {
            name: name.into(),
            target: target.into(),
            ..Default::default()
        };
        assert_eq!(mount_destination(&r("s", "")), "/run/secrets/s");
        assert_eq!(mount_destination(&r("s", "sub/f")), "/run/secrets/sub/f");
        assert_eq!(mount_destination(&r("s", "/etc/app.key")), "/etc/app.key");
        assert_eq!(mount_destination(&r("s", "../../etc/x")), "/etc/x");
    }

    #[test]
    fn times_as_go_marshals_them() {
        assert_eq!(rfc3339_nanos(1_000_000_000), "1970-01-01T00:00:01Z");
        assert_eq!(rfc3339_nanos(1_500_000_000), "1970-01-01T00:00:01.5Z");
    }
}
