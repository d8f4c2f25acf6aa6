//! A real terminal for the tests of what a person types: the test holds
//! the pty's master, the berth (or docker) process gets the slave.

use std::time::{Duration, Instant};

/// A terminal for a berth process: the test holds the master; the child
/// gets the slave as its controlling terminal and stdio, as a shell would
/// give it.
pub struct Pty {
    pub master: std::fs::File,
}

impl Pty {
    pub fn spawn(
        cmd: &mut std::process::Command,
        rows: u16,
        cols: u16,
    ) -> (Pty, std::process::Child) {
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::os::unix::process::CommandExt;
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills two fds; the winsize is valid.
        let r =
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(r, 0);
        // SAFETY: fresh fds from openpty, owned here.
        let (master, slave) =
            unsafe { (std::fs::File::from_raw_fd(m), std::fs::File::from_raw_fd(s)) };
        // SAFETY: fcntl on our master.
        unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: setsid and TIOCSCTTY between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        (Pty { master }, child)
    }

    pub fn send(&mut self, b: &[u8]) {
        use std::io::Write;
        self.master.write_all(b).unwrap();
    }

    /// Read until `want` shows up; panics with what was read after `secs`.
    pub fn expect(&mut self, want: &str, secs: u64) -> String {
        self.expect_that(|got| got.contains(want), want, secs)
    }

    /// Read until what was read satisfies `done`; panics (naming `what`)
    /// with what was read after `secs`.
    pub fn expect_that(&mut self, done: impl Fn(&str) -> bool, what: &str, secs: u64) -> String {
        use std::os::fd::AsRawFd;
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut got = Vec::new();
        while !done(&String::from_utf8_lossy(&got)) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "waited for {what:?}, got {:?}",
                String::from_utf8_lossy(&got)
            );
            let mut p = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one valid pollfd.
            if unsafe { libc::poll(&mut p, 1, left.as_millis() as i32) } > 0 {
                let mut buf = [0u8; 4096];
                match std::io::Read::read(&mut self.master, &mut buf) {
                    Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }
}

pub fn wait_timeout(child: &mut std::process::Child, secs: u64) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}
