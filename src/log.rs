//! podman's diagnostics on stderr, as its logrus prints them, for every
//! layer (registry requests, mounts, netlink, timings): `--log-level`
//! (default warn) picks what is shown; a terminal gets `WARN[0000] msg`,
//! anything else `time="..." level=warning msg="..."`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Panic = 0,
    Fatal,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The names podman's `--log-level` takes (logrus.ParseLevel).
    pub const NAMES: &'static str = "trace, debug, info, warn, warning, error, fatal, panic";

    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            "fatal" => Level::Fatal,
            "panic" => Level::Panic,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Level::Panic => "panic",
            Level::Fatal => "fatal",
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    fn from_u8(n: u8) -> Level {
        [
            Level::Panic,
            Level::Fatal,
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ][usize::from(n.min(6))]
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

pub fn set_level(l: Level) {
    LEVEL.store(l as u8, Ordering::Relaxed);
}

pub fn enabled(l: Level) -> bool {
    l <= Level::from_u8(LEVEL.load(Ordering::Relaxed))
}

pub fn log(l: Level, msg: &str) {
    if !enabled(l) {
        return;
    }
    let stderr = std::io::stderr();
    let line = if stderr.is_terminal() {
        let tag: String = l.name().to_ascii_uppercase().chars().take(4).collect();
        format!("{tag}[0000] {msg}\n")
    } else {
        let now = crate::process::now_nanos() / 1_000_000_000;
        format!(
            "time=\"{}\" level={} msg={}\n",
            crate::format::units::rfc3339(now),
            l.name(),
            go_quote(msg)
        )
    };
    use std::io::Write;
    let _ = stderr.lock().write_all(line.as_bytes());
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg);
}

pub fn info(msg: &str) {
    log(Level::Info, msg);
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

pub fn trace(msg: &str) {
    log(Level::Trace, msg);
}

/// Go's %q for the text logrus prints (printable text kept, `"` and `\`
/// escaped, control characters as escapes).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_as_logrus() {
        assert_eq!(Level::parse("warning"), Some(Level::Warn));
        assert_eq!(Level::parse("TRACE"), Some(Level::Trace));
        assert_eq!(Level::parse("telepathic"), None);
        assert!(Level::Debug > Level::Info);
        assert_eq!(go_quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
    }
}
