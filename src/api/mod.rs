//! The Docker Engine API on demand (`berth system service`), as podman's
//! service offers it: a front door like the CLI, over the same engine.
//! `server` listens (async, never forks); each request runs in a `worker`
//! process that calls the engine; `docker` makes docker's documents,
//! `lifecycle` the container verbs.

pub mod attach;
pub mod build;
pub mod containers;
pub mod create;
pub mod docker;
pub mod exec;
pub mod images;
pub mod lifecycle;
pub mod metrics;
pub mod objects;
pub mod server;
pub mod system;
pub mod worker;

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// How the server hands a worker its request: this envelope, as JSON,
/// preceded by its length on a line of its own, first on the worker's
/// stdin; the request's body follows. Workers are started ahead of their
/// requests (see `server::Workers`), so nothing of a request can come in
/// their environment.
#[derive(serde::Serialize, serde::Deserialize, Default, Debug)]
pub struct Envelope {
    pub method: String,
    /// The path and query as sent (`/v1.41/containers/json?all=1`).
    pub target: String,
    /// Set (to the body's length) when the client asked to upgrade: the
    /// body is then followed on stdin by the hijacked connection's bytes.
    pub upgrade: Option<usize>,
    /// The request's X-Registry-Auth header (push, pull, build).
    pub auth: Option<String>,
}

/// Where the socket goes by default: `$XDG_RUNTIME_DIR/berth/berth.sock`
/// rootless, `/run/berth/berth.sock` as root.
pub fn default_socket(rootless: bool) -> PathBuf {
    if rootless {
        let dir = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(format!("/run/user/{}", crate::process::pause::host_ids().0))
            });
        dir.join("berth/berth.sock")
    } else {
        PathBuf::from("/run/berth/berth.sock")
    }
}

/// What the service listens on: a unix socket (the default, and
/// systemd's), or TCP when asked (anyone who can reach the port drives the
/// engine: for a scraper of `/metrics` on loopback, say).
pub enum Socket {
    Unix(UnixListener),
    Tcp(std::net::TcpListener),
}

/// A socket to serve on, and its path when berth bound it.
pub struct Listener {
    pub socket: Socket,
    pub path: Option<PathBuf>,
}

/// The socket to serve on: systemd's (LISTEN_FDS, fd 3) when it passed
/// one to this process, else `unix://PATH` bound now (mode 0600; a stale
/// socket file is replaced).
pub fn listener(uri: Option<&str>, rootless: bool) -> Result<Listener, String> {
    if let Some(socket) = socket_activated() {
        return Ok(Listener {
            socket: Socket::Unix(socket),
            path: None,
        });
    }
    if let Some(addr) = uri.and_then(|u| u.strip_prefix("tcp://")) {
        let socket = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("listening on tcp://{addr}: {e}"))?;
        crate::log::warn(&format!(
            "serving the API on tcp://{addr} without TLS or authentication: whoever reaches it controls berth's containers"
        ));
        return Ok(Listener {
            socket: Socket::Tcp(socket),
            path: None,
        });
    }
    let path = match uri {
        None => default_socket(rootless),
        Some(u) => match u.strip_prefix("unix://") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                return Err(format!(
                    "invalid URI {u:?}: berth serves on unix://PATH or tcp://ADDRESS:PORT"
                ));
            }
        },
    };
    let socket = bind(&path).map_err(|e| format!("listening on {}: {e}", path.display()))?;
    Ok(Listener {
        socket: Socket::Unix(socket),
        path: Some(path),
    })
}

fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        // A stale socket (a service that did not clean up) is replaced.
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)?,
        // Anything else is not berth's to replace.
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "it exists and is not a socket; remove it or choose another path",
            ));
        }
        Err(_) => {}
    }
    // Bound under a umask that leaves it the owner's alone, then said so
    // again: no moment when another user may connect. Bound beside its
    // name and renamed once listening: a client that sees the socket can
    // connect (bind alone would refuse it until listen).
    let tmp = path.with_file_name(format!(
        ".{}.{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(&tmp);
    rustix::process::umask(old);
    let l = bound?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    // berth.conf `[engine] service_group`: that group may connect too
    // (docker's `docker` group): its gid first, then 0660.
    if let Some(group) = crate::config::string("engine", "service_group") {
        let gid = group_id(&group).ok_or_else(|| {
            std::io::Error::other(format!(
                "service_group {group:?} in berth.conf: no such group"
            ))
        })?;
        std::os::unix::fs::chown(&tmp, None, Some(gid))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o660))?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(l)
}

/// A group's ID, by name or number.
fn group_id(group: &str) -> Option<u32> {
    if let Ok(n) = group.parse() {
        return Some(n);
    }
    let name = std::ffi::CString::new(group).ok()?;
    // SAFETY: getgrnam returns a pointer to static storage or null; read
    // at once in this single-threaded moment (before the server starts).
    let g = unsafe { libc::getgrnam(name.as_ptr()) };
    // SAFETY: non-null: a valid group entry.
    (!g.is_null()).then(|| unsafe { (*g).gr_gid })
}

/// sd_listen_fds: LISTEN_PID names this process and LISTEN_FDS >= 1.
fn socket_activated() -> Option<UnixListener> {
    use std::os::fd::FromRawFd;
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let n: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || n < 1 {
        return None;
    }
    // SAFETY: systemd passed fd 3 to this process for it to own.
    let l = unsafe { UnixListener::from_raw_fd(3) };
    let _ = rustix::io::fcntl_setfd(&l, rustix::io::FdFlags::CLOEXEC);
    Some(l)
}
