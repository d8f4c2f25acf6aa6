//! Container logs: `k8s-file` (podman's default: `TIME STREAM F|P text`),
//! `json-file` (docker's), or `none`; rotation by `--log-opt max-size`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Driver {
    K8sFile,
    JsonFile,
    None,
}

impl Driver {
    pub fn parse(s: &str) -> Result<Driver, String> {
        match s {
            "" | "k8s-file" => Ok(Driver::K8sFile),
            "json-file" => Ok(Driver::JsonFile),
            "none" => Ok(Driver::None),
            other => Err(format!(
                "unsupported log driver {other:?}: use k8s-file, json-file or none"
            )),
        }
    }
}

/// RFC 3339 with nanoseconds, UTC: what `--since`/`--until` compare and `-t` prints.
pub fn timestamp(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let base = crate::format::units::rfc3339(secs);
    format!("{}.{frac:09}Z", base.trim_end_matches('Z'))
}

pub struct LogWriter {
    driver: Driver,
    path: PathBuf,
    file: Option<File>,
    max_size: Option<u64>,
    written: u64,
    /// Per stream: bytes of a line not yet terminated.
    partial: [Vec<u8>; 2],
}

/// A container's output may hold its secrets: 0600, as podman's logs.
fn open_log(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

impl LogWriter {
    pub fn open(driver: Driver, path: &Path, max_size: Option<u64>) -> std::io::Result<LogWriter> {
        let file = match driver {
            Driver::None => None,
            _ => Some(open_log(path)?),
        };
        let written = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.len())
            .unwrap_or(0);
        Ok(LogWriter {
            driver,
            path: path.to_path_buf(),
            file,
            max_size,
            written,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Record output from stream 0 (stdout) or 1 (stderr); whole lines are
    /// written as they complete.
    pub fn write(&mut self, stream: usize, data: &[u8]) {
        if self.driver == Driver::None {
            return;
        }
        self.partial[stream].extend_from_slice(data);
        while let Some(i) = self.partial[stream].iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial[stream].drain(..=i).collect();
            self.entry(stream, &line[..line.len() - 1], true);
        }
    }

    /// Write out unterminated output (at exit), marked partial as podman does.
    pub fn flush(&mut self) {
        for s in 0..2 {
            if !self.partial[s].is_empty() {
                let line = std::mem::take(&mut self.partial[s]);
                self.entry(s, &line, false);
            }
        }
    }

    fn entry(&mut self, stream: usize, line: &[u8], full: bool) {
        let now = crate::process::now_nanos();
        let name = if stream == 0 { "stdout" } else { "stderr" };
        let text = String::from_utf8_lossy(line);
        let rec = match self.driver {
            Driver::K8sFile => format!(
                "{} {name} {} {text}\n",
                timestamp(now),
                if full { "F" } else { "P" }
            ),
            Driver::JsonFile => {
                let mut log = text.into_owned();
                if full {
                    log.push('\n');
                }
                format!(
                    "{}\n",
                    serde_json::json!({"log": log, "stream": name, "time": timestamp(now)})
                )
            }
            Driver::None => return,
        };
        if let Some(max) = self.max_size
            && self.written + rec.len() as u64 > max
        {
            // Keep one rotated file, as podman's k8s-file driver does.
            let _ = std::fs::rename(&self.path, self.path.with_extension("log.1"));
            self.file = open_log(&self.path).ok();
            self.written = 0;
        }
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(rec.as_bytes());
            self.written += rec.len() as u64;
        }
    }
}

/// One log record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub time: String,
    pub nanos: i64,
    pub stream: usize,
    pub text: String,
    /// The line ended (k8s "F"); partial lines join the next.
    pub full: bool,
}

impl Record {
    /// The record as `logs` prints it: its time first when asked, its
    /// newline when the line ended.
    pub fn line(&self, timestamps: bool) -> String {
        let mut line = String::with_capacity(self.text.len() + 40);
        if timestamps {
            line.push_str(&self.time);
            line.push(' ');
        }
        line.push_str(&self.text);
        if self.full {
            line.push('\n');
        }
        line
    }
}

pub fn parse_timestamp(t: &str) -> Option<i64> {
    let secs = crate::format::units::parse_rfc3339(t)?;
    let frac = t
        .split_once('.')
        .map(|(_, f)| f.trim_end_matches('Z'))
        .unwrap_or("");
    let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
    let nanos = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}")[..9].parse::<i64>().unwrap_or(0)
    };
    Some(secs * 1_000_000_000 + nanos)
}

pub fn parse_line(driver: Driver, line: &str) -> Option<Record> {
    match driver {
        Driver::K8sFile => {
            let mut it = line.splitn(4, ' ');
            let time = it.next()?.to_string();
            let stream = if it.next()? == "stderr" { 1 } else { 0 };
            let full = it.next()? == "F";
            let text = it.next().unwrap_or("").to_string();
            Some(Record {
                nanos: parse_timestamp(&time)?,
                time,
                stream,
                text,
                full,
            })
        }
        Driver::JsonFile => {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let time = v["time"].as_str()?.to_string();
            let log = v["log"].as_str()?.to_string();
            let full = log.ends_with('\n');
            Some(Record {
                nanos: parse_timestamp(&time)?,
                time,
                stream: if v["stream"] == "stderr" { 1 } else { 0 },
                text: log.trim_end_matches('\n').to_string(),
                full,
            })
        }
        Driver::None => None,
    }
}

/// Read records from `offset` on; returns them and the new offset (only
/// whole lines are consumed, so a follower never splits one).
pub fn read_from(driver: Driver, path: &Path, offset: u64) -> (Vec<Record>, u64) {
    use std::io::Seek;
    let Ok(mut f) = File::open(path) else {
        return (vec![], offset);
    };
    if f.seek(std::io::SeekFrom::Start(offset)).is_err() {
        return (vec![], offset);
    }
    let mut r = BufReader::new(f);
    let mut out = Vec::new();
    let mut pos = offset;
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !line.ends_with('\n') {
                    break;
                }
                pos += n as u64;
                if let Some(rec) = parse_line(driver, line.trim_end_matches('\n')) {
                    out.push(rec);
                }
            }
        }
    }
    (out, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k8s_and_json_round_trip() {
        for driver in [Driver::K8sFile, Driver::JsonFile] {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("ctr.log");
            let mut w = LogWriter::open(driver, &p, None).unwrap();
            w.write(0, b"hello\nwor");
            w.write(1, b"oops\n");
            w.write(0, b"ld\npartial");
            w.flush();
            let (recs, off) = read_from(driver, &p, 0);
            let texts: Vec<(&str, usize, bool)> = recs
                .iter()
                .map(|r| (r.text.as_str(), r.stream, r.full))
                .collect();
            assert_eq!(
                texts,
                [
                    ("hello", 0, true),
                    ("oops", 1, true),
                    ("world", 0, true),
                    ("partial", 0, false)
                ],
                "{driver:?}"
            );
            assert_eq!(off, std::fs::metadata(&p).unwrap().len());
        }
    }

    #[test]
    fn rotation_keeps_one_old_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ctr.log");
        let mut w = LogWriter::open(Driver::K8sFile, &p, Some(200)).unwrap();
        for i in 0..20 {
            w.write(0, format!("line {i}\n").as_bytes());
        }
        assert!(std::fs::metadata(&p).unwrap().len() <= 200);
        assert!(p.with_extension("log.1").exists());
    }

    #[test]
    fn timestamps() {
        let t = timestamp(1_700_000_000_123_456_789);
        assert_eq!(t, "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_timestamp(&t), Some(1_700_000_000_123_456_789));
    }
}
