//! Reading the events log: podman's filters (same key ORs, different keys
//! AND), `--since`/`--until` times, and following the log with inotify
//! across rotations.

use super::events::{Event, EventsError};
use crate::format::units::parse_go_duration;
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Seek};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `--filter`s, grouped by key (podman's generateEventOptions).
#[derive(Debug, Default, Clone)]
pub struct Filters {
    by_key: BTreeMap<String, Vec<String>>,
}

const KEYS: &[&str] = &[
    "container",
    "event",
    "status",
    "image",
    "label",
    "network",
    "pod",
    "type",
    "volume",
];

impl Filters {
    pub fn parse(raw: &[String]) -> Result<Filters, String> {
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in raw {
            let Some((k, v)) = f.split_once('=') else {
                return Err(format!("{f} is an invalid filter"));
            };
            let key = k.to_ascii_lowercase();
            if !KEYS.contains(&key.as_str()) {
                return Err(format!("{k} is an invalid filter"));
            }
            // `event` and `status` are one key to podman.
            let key = if key == "status" { "event".into() } else { key };
            by_key.entry(key).or_default().push(v.to_string());
        }
        Ok(Filters { by_key })
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.by_key
            .iter()
            .all(|(k, vals)| vals.iter().any(|v| matches_one(k, v, e)))
    }
}

fn matches_one(key: &str, v: &str, e: &Event) -> bool {
    let named = |kind: &str| e.kind == kind && (e.name == v || e.id.starts_with(v));
    match key {
        "container" => named(super::events::CONTAINER),
        "image" => named(super::events::IMAGE),
        "pod" => named(super::events::POD),
        "event" => e.status == v,
        "type" => e.kind == v,
        // docker's prefix match on the name (podman's VOLUME filter).
        "volume" => e.kind == super::events::VOLUME && e.name.starts_with(v),
        "network" => e.kind == super::events::NETWORK && (e.network == v || e.id.starts_with(v)),
        "label" => {
            let (lk, lv) = v.split_once('=').unwrap_or((v, ""));
            e.attributes
                .as_ref()
                .and_then(|a| a.get(lk))
                .is_some_and(|x| x == lv)
        }
        _ => false,
    }
}

/// podman's util.ParseInputTime: RFC 3339 (with or without fraction and
/// zone), a date, Unix seconds (`1600000000.5`), or a Go duration taken
/// back from now (`--since`) or forward (`--until`). Unix nanoseconds.
pub fn parse_time(s: &str, since: bool, now: i64) -> Result<i64, String> {
    if let Some(n) = parse_datetime(s) {
        return Ok(n);
    }
    if let Some(n) = parse_unix(s) {
        return Ok(n);
    }
    match parse_go_duration(s) {
        Some(d) if since => Ok(now - d),
        Some(d) => Ok(now + d),
        None => Err(format!(
            "unable to convert {} time of {s}: unable to interpret time value",
            if since { "since" } else { "until" }
        )),
    }
}

fn parse_datetime(s: &str) -> Option<i64> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00")
    } else if s.len() == 16 && s.as_bytes().get(10) == Some(&b'T') {
        // "2006-01-02Z07:00" is podman's too, rare; a date with a zone.
        return None;
    } else {
        s.to_string()
    };
    crate::monitor::logs::parse_timestamp(&full)
}

fn parse_unix(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(secs * 1_000_000_000 + nanos)
}

/// What `events` reads and how.
pub struct Query {
    pub filters: Filters,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Query {
    fn wants(&self, e: &Event) -> bool {
        self.since.is_none_or(|s| e.time > s)
            && self.until.is_none_or(|u| e.time < u)
            && self.filters.matches(e)
    }
}

/// Parse the whole lines of `buf`; a line that is not an event (a torn
/// write by another tool, say) is skipped.
fn events_in(buf: &[u8]) -> impl Iterator<Item = Event> + '_ {
    buf.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice::<Event>(l).ok())
}

/// Every recorded event the query wants, in log order (`--stream=false`).
/// A log that does not exist yet holds no events.
pub fn read_all(path: &Path, q: &Query, out: &mut dyn FnMut(&Event) -> bool) {
    let Ok(buf) = std::fs::read(path) else {
        return;
    };
    let whole = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    for e in events_in(&buf[..whole]) {
        if q.wants(&e) && !out(&e) {
            return;
        }
    }
}

/// Follow the log: the events the query wants as they are appended (with
/// `--since`, the recorded ones first), until `out` returns false or
/// `--until` passes. inotify on the log's directory wakes the reader for
/// appends, a new log (creation) and a rotated one (renamed over it).
pub fn follow(
    path: &Path,
    q: &Query,
    out: &mut dyn FnMut(&Event) -> bool,
) -> Result<(), EventsError> {
    use rustix::fs::inotify;
    let io = |what: &str, e: std::io::Error| EventsError::Io(what.to_string(), e);
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| io(&format!("creating {}", dir.display()), e))?;
    let ino = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
        .map_err(|e| io("inotify", e.into()))?;
    inotify::add_watch(
        &ino,
        &dir,
        inotify::WatchFlags::MODIFY
            | inotify::WatchFlags::CREATE
            | inotify::WatchFlags::MOVED_TO
            | inotify::WatchFlags::CLOSE_WRITE,
    )
    .map_err(|e| io(&format!("watching {}", dir.display()), e.into()))?;
    let mut log = Tail::open(path, q.since.is_some());
    let mut evbuf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
    loop {
        if !log.drain(path, q, out) {
            return Ok(());
        }
        let now = crate::process::now_nanos();
        if q.until.is_some_and(|u| now >= u) {
            return Ok(());
        }
        let timeout = q.until.map(|u| {
            let d = (u - now).max(0);
            rustix::fs::Timespec {
                tv_sec: d / 1_000_000_000,
                tv_nsec: d % 1_000_000_000,
            }
        });
        let mut fds = [rustix::event::PollFd::new(
            &ino,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io("waiting for events", e.into())),
        }
        // Only the wake-up matters: drain what inotify queued.
        let mut reader = inotify::Reader::new(&ino, &mut evbuf);
        while reader.next().is_ok() {}
    }
}

/// The log as a follower holds it: the open file, how far it has read,
/// and a partial last line.
struct Tail {
    file: Option<std::fs::File>,
    ino: u64,
    offset: u64,
    partial: Vec<u8>,
}

impl Tail {
    fn open(path: &Path, from_start: bool) -> Tail {
        let mut t = Tail {
            file: None,
            ino: 0,
            offset: 0,
            partial: Vec::new(),
        };
        if let Ok(f) = std::fs::File::open(path) {
            let m = f.metadata().ok();
            t.ino = m.as_ref().map_or(0, |m| m.ino());
            // Without --since, only new events: start at the end (of the
            // last whole line).
            t.offset = if from_start {
                0
            } else {
                m.map_or(0, |m| m.len())
            };
            t.file = Some(f);
        }
        t
    }

    /// Read what was appended; on a rotation, finish the old file, then
    /// skip what rotation copied into the new one. False when `out` is done.
    fn drain(&mut self, path: &Path, q: &Query, out: &mut dyn FnMut(&Event) -> bool) -> bool {
        if !self.read_more(q, out) {
            return false;
        }
        let now = std::fs::metadata(path).ok();
        match (&self.file, now) {
            (_, None) => true,
            (Some(_), Some(m)) if m.ino() == self.ino => {
                if m.len() < self.offset {
                    // Truncated in place: read it again from the start.
                    self.offset = 0;
                    self.partial.clear();
                    return self.read_more(q, out);
                }
                true
            }
            (_, Some(_)) => {
                // Renamed over: the old file is final now; finish it.
                if !self.read_more(q, out) {
                    return false;
                }
                let old = &self.file;
                let skip = old.as_ref().map_or(0, |f| kept_by_rotation(f, self.offset));
                let Ok(f) = std::fs::File::open(path) else {
                    return true;
                };
                self.ino = f.metadata().map_or(0, |m| m.ino());
                self.file = Some(f);
                self.offset = skip;
                self.partial.clear();
                self.read_more(q, out)
            }
        }
    }

    fn read_more(&mut self, q: &Query, out: &mut dyn FnMut(&Event) -> bool) -> bool {
        let Some(f) = self.file.as_mut() else {
            return true;
        };
        if f.seek(std::io::SeekFrom::Start(self.offset)).is_err() {
            return true;
        }
        let mut buf = std::mem::take(&mut self.partial);
        let n = f.read_to_end(&mut buf).unwrap_or(0);
        self.offset += n as u64;
        let whole = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        self.partial = buf[whole..].to_vec();
        for e in events_in(&buf[..whole]) {
            if q.wants(&e) && !out(&e) {
                return false;
            }
        }
        true
    }
}

/// How many bytes at the start of a rotated log are the old log's kept
/// half (podman's truncate: from the first whole line after the middle),
/// given the old log's final size: a follower has read those already.
fn kept_by_rotation(old: &std::fs::File, size: u64) -> u64 {
    let mut r = std::io::BufReader::new(old);
    if r.seek(std::io::SeekFrom::Start(size / 2)).is_err() {
        return 0;
    }
    let mut first = Vec::new();
    let dropped = r.read_until(b'\n', &mut first).unwrap_or(0) as u64;
    size.saturating_sub(size / 2 + dropped)
}

/// The events log of the backend in force, or why there is none to read.
pub fn log_path() -> Result<PathBuf, EventsError> {
    match super::events::backend() {
        super::events::Backend::File { path, .. } => Ok(path.clone()),
        super::events::Backend::None => Err(EventsError::NoneBackend),
    }
}

#[cfg(test)]
#[path = "events_read_tests.rs"]
mod tests;
