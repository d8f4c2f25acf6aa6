//! podman's `file` events backend: every berth process and every monitor
//! appends what happened (container create/start/died, image pull, ...)
//! as one JSON line to one log per root, `<runroot>/events/events.log`
//! unless `[engine] events_logfile_path` names another.
//!
//! The line is podman 4.3.1's `events.Event` as Go marshals it (field
//! order and omitted empties included), so podman's tools and berth's read
//! each other's logs. Writers append under an flock on the log itself, with
//! one write(2) per line, so concurrent writers never interleave; rotation
//! (`events_logfile_max_size`) follows podman's logfile.go: keep the second
//! half of the log from its first whole line, then a `log-rotation` system
//! event, then the event that did not fit.

use crate::state::containers::ContainerRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// podman's default `events_logfile_max_size` (containers/common:
/// DefaultEventsLogSizeMax, 1 MB).
pub const DEFAULT_MAX_SIZE: u64 = 1_000_000;

/// One event, as podman's events.Event marshals it. `Time` is Unix
/// nanoseconds here, RFC 3339 in the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Go's `int` with `omitempty`: a zero exit code is not written.
    #[serde(rename = "ContainerExitCode", default, skip_serializing_if = "is_zero")]
    pub exit_code: i64,
    #[serde(rename = "ID", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "network", default, skip_serializing_if = "String::is_empty")]
    pub network: String,
    #[serde(rename = "Status", default)]
    pub status: String,
    #[serde(rename = "Time", with = "json_time")]
    pub time: i64,
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(
        rename = "health_status",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub health_status: String,
    /// Container labels for container events (`{}` when none); `null`
    /// for the other types, as podman writes them.
    #[serde(rename = "Attributes", default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// The labels of a container's config JSON, without building the whole
/// config (every lifecycle step emits an event; this keeps them cheap).
fn labels(config: &str) -> BTreeMap<String, String> {
    #[derive(Deserialize)]
    struct Labels {
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }
    serde_json::from_str::<Labels>(config)
        .map(|l| l.labels)
        .unwrap_or_default()
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

mod json_time {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339_local(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        crate::monitor::logs::parse_timestamp(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid time {s:?}")))
    }
}

pub const CONTAINER: &str = "container";
pub const IMAGE: &str = "image";
pub const NETWORK: &str = "network";
pub const POD: &str = "pod";
pub const SYSTEM: &str = "system";
pub const VOLUME: &str = "volume";

/// podman's `Rotate` status.
pub const ROTATE: &str = "log-rotation";

impl Event {
    pub fn new(kind: &str, status: &str) -> Event {
        Event {
            kind: kind.to_string(),
            status: status.to_string(),
            time: crate::process::now_nanos(),
            ..Event::default()
        }
    }

    /// A container event: its ID, name, image name and labels.
    pub fn container(status: &str, c: &ContainerRow) -> Event {
        Event {
            id: c.id.clone(),
            name: c.name.clone(),
            image: c.image_name.clone(),
            attributes: Some(labels(&c.config)),
            ..Event::new(CONTAINER, status)
        }
    }

    /// An image event: `name` is what the operation was given (the pull
    /// reference, the new tag, the archive path), as podman's libimage
    /// writes it.
    pub fn image(status: &str, id: &str, name: &str) -> Event {
        Event {
            id: id.to_string(),
            name: name.to_string(),
            ..Event::new(IMAGE, status)
        }
    }

    pub fn volume(status: &str, name: &str) -> Event {
        Event {
            name: name.to_string(),
            ..Event::new(VOLUME, status)
        }
    }

    /// A pod event: its ID and name.
    pub fn pod(status: &str, id: &str, name: &str) -> Event {
        Event {
            id: id.to_string(),
            name: name.to_string(),
            ..Event::new(POD, status)
        }
    }

    /// A network event: connect/disconnect name the container (ID) and the
    /// network; create/remove the network's ID and name.
    pub fn network(status: &str, id: &str, network: &str) -> Event {
        Event {
            id: id.to_string(),
            network: network.to_string(),
            ..Event::new(NETWORK, status)
        }
    }

    /// podman's ToHumanReadable: the default `events` line.
    pub fn human(&self, truncate: bool) -> String {
        let id = if truncate && self.id.len() > 12 {
            &self.id[..12]
        } else {
            &self.id
        };
        let (t, kind, status) = (go_time(self.time), &self.kind, &self.status);
        match kind.as_str() {
            CONTAINER | "pod" => {
                let mut s = format!(
                    "{t} {kind} {status} {id} (image={}, name={}",
                    self.image, self.name
                );
                if !self.health_status.is_empty() {
                    s.push_str(&format!(", health_status={}", self.health_status));
                }
                for (k, v) in self.attributes.iter().flatten() {
                    s.push_str(&format!(", {k}={v}"));
                }
                s.push(')');
                s
            }
            NETWORK => format!(
                "{t} {kind} {status} {id} (container={id}, name={})",
                self.network
            ),
            IMAGE => format!("{t} {kind} {status} {id} {}", self.name),
            SYSTEM if self.name.is_empty() => format!("{t} {kind} {status}"),
            _ => format!("{t} {kind} {status} {}", self.name),
        }
    }

    /// The fields a `--format` template sees, named as podman's Event
    /// struct names them (`.Time` prints as Go's time.Time String()).
    pub fn template_value(&self) -> serde_json::Value {
        serde_json::json!({
            "ContainerExitCode": self.exit_code,
            "ID": self.id,
            "Image": self.image,
            "Name": self.name,
            "Network": self.network,
            "Status": self.status,
            "Time": go_time(self.time),
            "Type": self.kind,
            "HealthStatus": self.health_status,
            "Attributes": self.attributes.clone().unwrap_or_default(),
            "Details": {"Attributes": self.attributes.clone().unwrap_or_default()},
        })
    }
}

/// Which backend this process writes events to (`--events-backend`, else
/// `[engine] events_logger`, else `file`).
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    File { path: PathBuf, max_size: u64 },
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("cannot read events with the \"none\" backend")]
    NoneBackend,
    #[error("{0:?} is not a valid events backend")]
    Unknown(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

static BACKEND: OnceLock<Backend> = OnceLock::new();

/// Choose this process's backend, once, before anything is emitted (a
/// forked monitor inherits it). `flag` is `--events-backend`. True when
/// journald was asked for and the file backend serves instead.
pub fn configure(flag: Option<&str>, runroot: &Path) -> Result<bool, EventsError> {
    let logger = flag
        .map(String::from)
        .or_else(|| crate::config::string("engine", "events_logger"))
        .unwrap_or_else(|| "file".into());
    let b = backend_for(&logger, runroot)?;
    let _ = BACKEND.set(b);
    Ok(logger == "journald")
}

fn backend_for(logger: &str, runroot: &Path) -> Result<Backend, EventsError> {
    match logger {
        "file" => Ok(Backend::File {
            path: crate::config::string("engine", "events_logfile_path")
                .map(PathBuf::from)
                .unwrap_or_else(|| runroot.join("events").join("events.log")),
            max_size: crate::config::value("engine", "events_logfile_max_size")
                .and_then(|v| max_size(&v))
                .unwrap_or(DEFAULT_MAX_SIZE),
        }),
        "none" => Ok(Backend::None),
        // berth writes no journal; podman itself falls back to the file
        // when journald cannot be used, and so does berth, always: the
        // events are still recorded and `events` reads them.
        "journald" => backend_for("file", runroot),
        other => Err(EventsError::Unknown(other.to_string())),
    }
}

/// `events_logfile_max_size`: bytes, or a go-units size ("1m", "500k");
/// 0 turns rotation off.
fn max_size(v: &toml::Value) -> Option<u64> {
    if let Some(n) = v.as_integer() {
        return u64::try_from(n).ok();
    }
    crate::format::units::from_human_size(v.as_str()?)
}

/// The backend in force: none until `configure` ran (library users and
/// unit tests write no events).
pub fn backend() -> &'static Backend {
    BACKEND.get_or_init(|| Backend::None)
}

/// Append one event. A failure to record it does not fail the operation
/// it describes; it is said on stderr, as podman's "Unable to write event".
pub fn emit(e: Event) {
    if let Backend::File { path, max_size } = backend()
        && let Err(err) = append(path, *max_size, &e)
    {
        crate::log::log(
            crate::log::Level::Error,
            &format!("Unable to write {} event: {err}", e.kind),
        );
    }
}

/// Shorthands for the common cases.
pub fn container(status: &str, c: &ContainerRow) {
    if enabled() {
        emit(Event::container(status, c));
    }
}

pub fn image(status: &str, id: &str, name: &str) {
    if enabled() {
        emit(Event::image(status, id, name));
    }
}

pub fn volume(status: &str, name: &str) {
    if enabled() {
        emit(Event::volume(status, name));
    }
}

pub fn pod(status: &str, id: &str, name: &str) {
    if enabled() {
        emit(Event::pod(status, id, name));
    }
}

pub fn network(status: &str, id: &str, network: &str) {
    if enabled() {
        emit(Event::network(status, id, network));
    }
}

/// `connect`/`disconnect`: podman names the container too.
pub fn container_network(status: &str, c: &ContainerRow, network: &str) {
    if enabled() {
        emit(Event {
            name: c.name.clone(),
            ..Event::network(status, &c.id, network)
        });
    }
}

/// `died`, with the exit code.
pub fn died(c: &ContainerRow, code: i64) {
    if enabled() {
        emit(Event {
            exit_code: code,
            ..Event::container("died", c)
        });
    }
}

/// `health_status`, with the container's new status.
pub fn health(c: &ContainerRow, status: &str) {
    if enabled() {
        emit(Event {
            health_status: status.to_string(),
            ..Event::container("health_status", c)
        });
    }
}

pub fn enabled() -> bool {
    matches!(backend(), Backend::File { .. })
}

/// Open the log for appending and lock it. Rotation renames a new file
/// over the path; a writer that waited on the old file's lock sees that
/// and locks the new one instead.
fn open_locked(path: &Path) -> std::io::Result<std::fs::File> {
    loop {
        let f = match open_append(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(dir)?;
                }
                open_append(path)?
            }
            r => r?,
        };
        rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)?;
        let held = f.metadata()?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => return Ok(f),
            _ => continue,
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    // Readable too: rotation reads the kept half through it.
    std::fs::File::options()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// Append `e` to the log at `path`, rotating it first when the line would
/// take it to `max_size` (0: never).
pub fn append(path: &Path, max_size: u64, e: &Event) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = open_locked(path)?;
    // podman's logNeedsRotation: size + the new line's characters reach the limit.
    let size = f.metadata()?.len();
    let chars = String::from_utf8_lossy(&line[..line.len() - 1])
        .chars()
        .count() as u64;
    if max_size > 0 && size + chars >= max_size {
        f = rotate(path, &f)?;
        let mut r = serde_json::to_vec(&Event {
            name: path.display().to_string(),
            ..Event::new(SYSTEM, ROTATE)
        })
        .map_err(std::io::Error::other)?;
        r.push(b'\n');
        f.write_all(&r)?;
    }
    // One write(2): O_APPEND and the lock keep whole lines whole.
    f.write_all(&line)
}

/// podman's truncate(): keep the lines after the middle of the log in a
/// new file renamed over it. The new file is locked before the rename, so
/// nobody writes to it before the rotation event.
fn rotate(path: &Path, old: &std::fs::File) -> std::io::Result<std::fs::File> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.rotate-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut reader = std::io::BufReader::new(old.try_clone()?);
    let size = old.metadata()?.len();
    reader.seek(std::io::SeekFrom::Start(size / 2))?;
    let mut first = Vec::new();
    reader.read_until(b'\n', &mut first)?;
    let mut kept = Vec::new();
    reader.read_to_end(&mut kept)?;
    let mut new = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp)?;
    rustix::fs::flock(&new, rustix::fs::FlockOperation::LockExclusive)?;
    let done = new
        .write_all(&kept)
        .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The file position is at the end of the kept lines, and the lock is
    // held until the event is written: nobody appends before it.
    Ok(new)
}

/// The local timezone's offset (seconds east of UTC) and abbreviation at
/// `secs`, from the C library (which reads TZ and /etc/localtime).
fn local_zone(secs: i64) -> (i64, String) {
    // SAFETY: localtime_r fills the tm we own; tm_zone points to static
    // storage of the C library (or is null).
    unsafe {
        let t: libc::time_t = secs;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return (0, "UTC".into());
        }
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        };
        (tm.tm_gmtoff, zone)
    }
}

/// Nanoseconds as (local date-time text "YYYY-MM-DDTHH:MM:SS", trimmed
/// fraction ".123" or "", offset seconds, zone abbreviation).
fn local_parts(nanos: i64) -> (String, String, i64, String) {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let (off, zone) = local_zone(secs);
    let base = crate::format::units::rfc3339(secs + off);
    let frac = if frac == 0 {
        String::new()
    } else {
        format!(".{}", format!("{frac:09}").trim_end_matches('0'))
    };
    (base.trim_end_matches('Z').to_string(), frac, off, zone)
}

/// Go's RFC3339Nano in local time, as podman marshals the event's Time.
pub fn rfc3339_local(nanos: i64) -> String {
    let (base, frac, off, _) = local_parts(nanos);
    if off == 0 {
        return format!("{base}{frac}Z");
    }
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    format!("{base}{frac}{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// Go's time.Time String() in local time: "2022-04-06 11:26:42.7236679 +0200 CEST".
pub fn go_time(nanos: i64) -> String {
    let (base, frac, off, zone) = local_parts(nanos);
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    let num = format!("{sign}{:02}{:02}", a / 3600, a % 3600 / 60);
    let zone = if zone.is_empty() { num.clone() } else { zone };
    format!("{} {}{frac} {num} {zone}", &base[..10], &base[11..])
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
