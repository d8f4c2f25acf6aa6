//! Attaching to a running container: the monitor serves a unix socket
//! (`attach` in the container's run dir); clients get the container's
//! output and may send its input. Without a terminal, output is framed so
//! stdout and stderr stay apart: one byte for the stream (1 or 2), four
//! bytes of big-endian length, the data. With a terminal it is raw.
//!
//! A client that must see everything from the start (the API's attach
//! before start, as docker's `run` does) binds a socket in `attach-pending/`
//! first: the monitor connects to each such socket before it reads any
//! output. With a terminal, a `ctl` socket takes `resize ROWS COLS` lines.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// The socket's name, relative to the container's run dir (paths there can
/// be longer than a socket address allows, so both sides chdir first).
pub const SOCKET: &str = "attach";
/// Where clients wait for the next start (relative to the run dir).
pub const PENDING: &str = "attach-pending";
/// The terminal's control socket (relative to the run dir).
pub const CTL: &str = "ctl";

/// "ctrl-p,ctrl-q" -> [0x10, 0x11] (docker's --detach-keys syntax).
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for k in s.split(',').filter(|k| !k.is_empty()) {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c {
                "@" => 0,
                "[" => 27,
                "\\" => 28,
                "]" => 29,
                "^" => 30,
                "_" => 31,
                c if c.len() == 1 && c.as_bytes()[0].is_ascii_alphabetic() => {
                    c.as_bytes()[0].to_ascii_lowercase() - b'a' + 1
                }
                _ => return Err(format!("invalid detach key {k:?}")),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(format!(
                "invalid detach key {k:?}: use ctrl-<letter> or a single character"
            ));
        }
    }
    Ok(out)
}

/// Watches a byte stream for the detach sequence.
pub struct DetachWatch {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachWatch {
    pub fn new(keys: Vec<u8>) -> DetachWatch {
        DetachWatch { keys, matched: 0 }
    }

    /// Feed input; returns (bytes to pass on, detach seen).
    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, bool) {
        let mut pass = Vec::with_capacity(data.len());
        for &b in data {
            if self.keys.is_empty() {
                pass.push(b);
                continue;
            }
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (pass, true);
                }
            } else {
                pass.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    pass.push(b);
                }
            }
        }
        (pass, false)
    }
}

struct Client {
    stream: UnixStream,
    /// Its input has not ended yet.
    reading: bool,
}

pub struct Server {
    listener: UnixListener,
    ctl: Option<UnixListener>,
    clients: Vec<Client>,
    tty: bool,
}

impl Server {
    /// Listen in `rundir`, after connecting to every client waiting there
    /// for this start.
    pub fn bind(rundir: &Path, tty: bool) -> std::io::Result<Server> {
        std::fs::create_dir_all(rundir)?;
        std::env::set_current_dir(rundir)?;
        let mut clients = Vec::new();
        for entry in std::fs::read_dir(PENDING).into_iter().flatten().flatten() {
            let path = Path::new(PENDING).join(entry.file_name());
            match UnixStream::connect(&path) {
                Ok(stream) => clients.push(Client {
                    stream,
                    reading: true,
                }),
                // Its client is gone.
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let _ = std::fs::remove_file(SOCKET);
        let listener = UnixListener::bind(SOCKET)?;
        listener.set_nonblocking(true)?;
        let _ = std::fs::remove_file(CTL);
        let ctl = if tty {
            let l = UnixListener::bind(CTL)?;
            l.set_nonblocking(true)?;
            Some(l)
        } else {
            None
        };
        Ok(Server {
            listener,
            ctl,
            clients,
            tty,
        })
    }

    /// Descriptors to poll: the listener, the control socket, then each
    /// client whose input goes on.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        std::iter::once(self.listener.as_fd())
            .chain(self.ctl.iter().map(|c| c.as_fd()))
            .chain(
                self.clients
                    .iter()
                    .filter(|c| c.reading)
                    .map(|c| c.stream.as_fd()),
            )
            .collect()
    }

    /// Handle readiness (flags in `fds()` order): accept clients, pass
    /// what they send to the container's stdin, resize the terminal
    /// (`master`). A client whose input ends still gets the output; with
    /// `stdin_once` the container's stdin is closed then.
    pub fn ready(
        &mut self,
        ready: &[bool],
        stdin: &mut Option<OwnedFd>,
        stdin_once: bool,
        master: Option<&OwnedFd>,
    ) {
        let mut drop_idx = Vec::new();
        let mut buf = [0u8; 8192];
        let first = 1 + usize::from(self.ctl.is_some());
        let mut flag = first;
        for (i, c) in self.clients.iter_mut().enumerate() {
            if !c.reading {
                continue;
            }
            let is_ready = ready.get(flag).copied().unwrap_or(false);
            flag += 1;
            if !is_ready {
                continue;
            }
            match c.stream.read(&mut buf) {
                Ok(n) if n > 0 => {
                    if let Some(w) = stdin.as_ref() {
                        super::write_all(w.as_fd(), &buf[..n]);
                    }
                }
                Ok(_) => {
                    c.reading = false;
                    if stdin_once && !self.tty {
                        *stdin = None;
                    }
                }
                Err(_) => drop_idx.push(i),
            }
        }
        for i in drop_idx.into_iter().rev() {
            self.clients.remove(i);
        }
        if ready.first().copied().unwrap_or(false) {
            while let Ok((stream, _)) = self.listener.accept() {
                let _ = stream.set_nonblocking(false);
                self.clients.push(Client {
                    stream,
                    reading: true,
                });
            }
        }
        if let Some(ctl) = &self.ctl
            && ready.get(1).copied().unwrap_or(false)
        {
            while let Ok((s, _)) = ctl.accept() {
                resize(s, master);
            }
        }
    }

    /// Send container output to every client; drop those that went away.
    pub fn broadcast(&mut self, stream: usize, data: &[u8]) {
        let mut frame = Vec::with_capacity(data.len() + 5);
        if !self.tty {
            frame.push(stream as u8 + 1);
            frame.extend_from_slice(&(data.len() as u32).to_be_bytes());
        }
        frame.extend_from_slice(data);
        self.clients
            .retain_mut(|c| c.stream.write_all(&frame).is_ok());
    }
}

/// One `resize ROWS COLS` line from a control client, applied to the
/// terminal (the kernel tells the container's foreground with SIGWINCH).
pub fn resize(mut s: UnixStream, master: Option<&OwnedFd>) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(200)));
    let mut line = [0u8; 64];
    let n = s.read(&mut line).unwrap_or(0);
    let Some((rows, cols)) = parse_resize(&String::from_utf8_lossy(&line[..n])) else {
        return;
    };
    if let Some(m) = master {
        let ws = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let _ = rustix::termios::tcsetwinsize(m, ws);
    }
}

/// `resize ROWS COLS` -> (rows, cols).
pub fn parse_resize(line: &str) -> Option<(u16, u16)> {
    let mut w = line.split_whitespace();
    if w.next()? != "resize" {
        return None;
    }
    Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
}

/// The client side: read one frame (stream 1 or 2, data), or None at end.
pub fn read_frame(s: &mut impl Read) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut data = vec![0u8; len];
    s.read_exact(&mut data).ok()?;
    Some((head[0], data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            vec![0x10, 0x11]
        );
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert_eq!(parse_resize("resize 40 120\n"), Some((40, 120)));
        assert_eq!(parse_resize("resize 40"), None);
        let mut w = DetachWatch::new(vec![0x10, 0x11]);
        assert_eq!(w.feed(b"ab\x10c"), (b"ab\x10c".to_vec(), false));
        assert_eq!(w.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(w.feed(b"\x11rest"), (vec![], true));
    }

    #[test]
    fn frames() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let l = UnixListener::bind(
            std::env::temp_dir().join(format!("berth-attach-test-{}", std::process::id())),
        )
        .unwrap();
        let mut s = Server {
            listener: l,
            ctl: None,
            clients: vec![Client {
                stream: a,
                reading: true,
            }],
            tty: false,
        };
        s.broadcast(1, b"err");
        assert_eq!(read_frame(&mut b), Some((2, b"err".to_vec())));
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("berth-attach-test-{}", std::process::id())),
        );
    }
}
