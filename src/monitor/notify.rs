//! sd_notify for containers run by systemd units (`--sdnotify`). The
//! unit's NOTIFY_SOCKET is in the monitor's environment (inherited from
//! `berth run`/`start`), and the monitor is the process systemd should
//! watch: it lives as long as the container, in the unit's cgroup.
//! - conmon: once the container runs, `MAINPID=<monitor>` and `READY=1`.
//! - container: `MAINPID=<monitor>` at once, then whatever the container
//!   sends to its own NOTIFY_SOCKET (/run/notify/notify.sock, a socket of
//!   the monitor's bound into it) is passed on, except a MAINPID of its own
//!   (a pid in its namespace means nothing to systemd).

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;

pub struct Notify {
    host: Option<SocketAddr>,
    mode: String,
    relay: Option<UnixDatagram>,
    /// READY=1 is told once, not at every restart.
    ready_sent: bool,
}

impl Notify {
    pub fn new(mode: &str) -> Notify {
        let host = match mode {
            "conmon" | "container" => crate::process::sdnotify::socket(),
            _ => None,
        };
        Notify {
            host,
            mode: mode.to_string(),
            relay: None,
            ready_sent: false,
        }
    }

    fn send(&self, msg: &str) {
        if let Some(addr) = &self.host {
            crate::process::sdnotify::send(addr, msg);
        }
    }

    /// Before a start: with "container", the socket the container will
    /// see, at `rundir/notify/notify.sock` (made anew, writable by any user
    /// of the container).
    pub fn prepare(&mut self, rundir: &Path) -> std::io::Result<()> {
        if self.mode != "container" {
            return Ok(());
        }
        use std::os::unix::fs::PermissionsExt;
        // Bound relative to the run dir, as the attach socket is: its full
        // path may be longer than a socket address holds.
        std::fs::create_dir_all(rundir.join("notify"))?;
        std::env::set_current_dir(rundir)?;
        let dir = Path::new("notify");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))?;
        sock.set_nonblocking(true)?;
        self.relay = Some(sock);
        Ok(())
    }

    /// The container runs.
    pub fn started(&mut self) {
        let me = std::process::id();
        match self.mode.as_str() {
            "conmon" if !self.ready_sent => {
                self.send(&format!("MAINPID={me}\nREADY=1\n"));
                self.ready_sent = true;
            }
            "container" => self.send(&format!("MAINPID={me}\n")),
            _ => {}
        }
    }

    /// The relay socket, to poll.
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.relay.as_ref().map(|s| s.as_fd())
    }

    /// Pass on what the container sent.
    pub fn relay(&self) {
        let Some(sock) = &self.relay else { return };
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with("MAINPID="))
                .collect();
            if !kept.is_empty() {
                self.send(&format!("{}\n", kept.join("\n")));
            }
        }
    }
}
