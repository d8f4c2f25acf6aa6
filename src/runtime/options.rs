//! What one berth invocation hands to the OCI runtime besides the bundle,
//! as podman hands them to conmon on its command line: the global
//! `--runtime-flag`s and `run --preserve-fds`. The CLI sets them once; the
//! monitors it forks read them, so they apply to the containers this
//! invocation starts (podman's runtime flags are per invocation too).
//!
//! Also the choice of runtime itself: `--runtime NAME|PATH`, or
//! `[engine] runtime` from containers.conf, checked as podman checks it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

static FLAGS: OnceLock<Vec<String>> = OnceLock::new();
static PRESERVE_FDS: AtomicU32 = AtomicU32::new(0);
static GLOBAL_RUNTIME: OnceLock<Option<String>> = OnceLock::new();

/// `--runtime-flag` words as given (`debug`, `log-format=json`).
pub fn set_flags(flags: Vec<String>) {
    let _ = FLAGS.set(flags);
}

pub fn flags() -> &'static [String] {
    FLAGS.get().map(Vec::as_slice).unwrap_or(&[])
}

/// The flags as an external runtime takes them, before its subcommand:
/// podman prefixes each word with `--`.
pub fn external_args() -> Vec<String> {
    flags().iter().map(|f| format!("--{f}")).collect()
}

/// The global `--runtime`, else containers.conf's `[engine] runtime`, for
/// new containers that name none of their own: resolved once, when the
/// command starts.
pub fn set_global_runtime(r: Option<String>) {
    let _ = GLOBAL_RUNTIME.set(r.or_else(|| crate::config::string("engine", "runtime")));
}

pub fn global_runtime() -> Option<String> {
    GLOBAL_RUNTIME.get().cloned().flatten()
}

/// Check a runtime name or path as podman's runtime set-up does: a path
/// must be an executable file; a name must be found on $PATH. podman's
/// texts (libpod/runtime.go).
pub fn check_runtime(r: &str) -> Result<PathBuf, String> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    };
    if r.starts_with('/') {
        let p = PathBuf::from(r);
        return if executable(&p) {
            Ok(p)
        } else {
            Err(format!(
                "no valid executable found for OCI runtime {r}: invalid argument"
            ))
        };
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    if !r.contains('/') {
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let p = Path::new(dir).join(r);
            if executable(&p) {
                return Ok(p);
            }
        }
    }
    Err(format!(
        "default OCI runtime {r:?} not found: invalid argument"
    ))
}

/// `run --preserve-fds N`: fds 3 .. 3+N-1 of the CLI go into the
/// container at the same numbers. Each must be open now (podman: "the
/// preserve-fds option requires that all file descriptors must be passed").
pub fn set_preserve_fds(n: u32) -> Result<(), String> {
    for fd in 3..3 + n as i32 {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(format!(
                "file descriptor {fd} is not available - the preserve-fds option requires that all file descriptors must be passed"
            ));
        }
    }
    PRESERVE_FDS.store(n, Ordering::SeqCst);
    Ok(())
}

/// The descriptors to pass (empty without `--preserve-fds`).
pub fn preserved_fds() -> std::ops::Range<i32> {
    3..3 + PRESERVE_FDS.load(Ordering::SeqCst) as i32
}

/// Once the container has them: the monitor's own copies go (it must not
/// hold a pipe's end open for the container's lifetime), and a restart
/// hands on nothing, as those numbers may be the monitor's own files then.
pub fn release_preserved_fds() {
    for fd in preserved_fds() {
        // SAFETY: closes a descriptor the CLI handed this process for the
        // container and that nothing else here uses.
        unsafe { libc::close(fd) };
    }
    PRESERVE_FDS.store(0, Ordering::SeqCst);
}

/// The runtime-flag text berth's own runtime understands: runc's global
/// flags that mean something for a runtime living in the monitor. The rest
/// (`--root`, `--systemd-cgroup`, `--criu`, `--rootless`) name state or
/// machinery it does not have, and are refused rather than ignored.
#[derive(Debug, Default, PartialEq)]
pub struct BuiltinFlags {
    pub debug: bool,
    pub log: Option<PathBuf>,
    pub json: bool,
}

impl BuiltinFlags {
    pub fn parse(flags: &[String]) -> Result<BuiltinFlags, String> {
        let mut b = BuiltinFlags::default();
        for f in flags {
            match f.split_once('=') {
                None if f == "debug" => b.debug = true,
                Some(("debug", v)) => {
                    b.debug = v.parse().map_err(|_| {
                        format!("invalid boolean value {v:?} for runtime flag --debug")
                    })?
                }
                Some(("log", p)) if !p.is_empty() => b.log = Some(PathBuf::from(p)),
                Some(("log-format", "json")) => b.json = true,
                Some(("log-format", "text")) => b.json = false,
                Some(("log-format", v)) => {
                    return Err(format!(
                        "berth's built-in OCI runtime: invalid log-format {v:?} (use text or json)"
                    ));
                }
                _ => {
                    return Err(format!(
                        "berth's built-in OCI runtime: flag provided but not defined: --{f} (it takes debug, log=FILE and log-format=text|json; other runtime flags need --runtime runc or crun)"
                    ));
                }
            }
        }
        Ok(b)
    }

    /// Append a line to the runtime log (runc's logrus text or JSON);
    /// debug lines only with `debug`. Without `log=`, the bundle's
    /// `oci-runtime.log`, where an external runtime's log goes too.
    pub fn log(&self, bundle: &Path, debug: bool, msg: &str) {
        let wanted = if debug {
            self.debug
        } else {
            self.debug || self.log.is_some()
        };
        if !wanted {
            return;
        }
        let level = if debug { "debug" } else { "error" };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let time = crate::format::units::rfc3339(now);
        let line = if self.json {
            serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
        } else {
            format!("time={time:?} level={level} msg={msg:?}")
        };
        let path = self
            .log
            .clone()
            .unwrap_or_else(|| bundle.join("oci-runtime.log"));
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn builtin_runtime_takes_runc_logging_flags_only() {
        let b =
            BuiltinFlags::parse(&words(&["debug", "log=/tmp/x.log", "log-format=json"])).unwrap();
        assert_eq!(
            b,
            BuiltinFlags {
                debug: true,
                log: Some(PathBuf::from("/tmp/x.log")),
                json: true
            }
        );
        for bad in [
            "invalidflag",
            "systemd-cgroup",
            "root=/x",
            "log-format=xml",
            "log=",
        ] {
            let e = BuiltinFlags::parse(&words(&[bad])).unwrap_err();
            assert!(e.contains(bad.split('=').next().unwrap()), "{e}");
        }
    }

    #[test]
    fn runtimes_are_found_as_podman_finds_them() {
        assert!(check_runtime("sh").is_ok());
        assert_eq!(
            check_runtime("idonotexist").unwrap_err(),
            "default OCI runtime \"idonotexist\" not found: invalid argument"
        );
        assert!(
            check_runtime("/nonexistent/runc")
                .unwrap_err()
                .contains("no valid executable found")
        );
    }
}
