//! Attaching to a running container: the monitor serves a unix socket
//! (`attach` in the container's run dir); clients get the container's
//! output and may send its input. Without a terminal, output is framed so
//! stdout and stderr stay apart: one byte for the stream (1 or 2), four
//! bytes of big-endian length, the data. With a terminal it is raw.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// The socket's name, relative to the container's run dir (paths there can
/// be longer than a socket address allows, so both sides chdir first).
pub const SOCKET: &str = "attach";

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

pub struct Server {
    listener: UnixListener,
    clients: Vec<UnixStream>,
    tty: bool,
}

impl Server {
    pub fn bind(rundir: &Path, tty: bool) -> std::io::Result<Server> {
        std::fs::create_dir_all(rundir)?;
        std::env::set_current_dir(rundir)?;
        let _ = std::fs::remove_file(SOCKET);
        let listener = UnixListener::bind(SOCKET)?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            clients: Vec::new(),
            tty,
        })
    }

    /// Descriptors to poll: the listener, then each client.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        std::iter::once(self.listener.as_fd())
            .chain(self.clients.iter().map(|c| c.as_fd()))
            .collect()
    }

    /// Handle readiness (flags in `fds()` order): accept clients, and pass
    /// what they send to the container's stdin.
    pub fn ready(&mut self, ready: &[bool], stdin: Option<&OwnedFd>) {
        let mut drop_idx = Vec::new();
        let mut buf = [0u8; 8192];
        for (i, c) in self.clients.iter_mut().enumerate() {
            if !ready.get(i + 1).copied().unwrap_or(false) {
                continue;
            }
            match c.read(&mut buf) {
                Ok(n) if n > 0 => {
                    if let Some(w) = stdin {
                        super::write_all(w.as_fd(), &buf[..n]);
                    }
                }
                _ => drop_idx.push(i),
            }
        }
        for i in drop_idx.into_iter().rev() {
            self.clients.remove(i);
        }
        if ready.first().copied().unwrap_or(false) {
            while let Ok((s, _)) = self.listener.accept() {
                let _ = s.set_nonblocking(false);
                self.clients.push(s);
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
        self.clients.retain_mut(|c| c.write_all(&frame).is_ok());
    }
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
            clients: vec![a],
            tty: false,
        };
        s.broadcast(1, b"err");
        assert_eq!(read_frame(&mut b), Some((2, b"err".to_vec())));
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("berth-attach-test-{}", std::process::id())),
        );
    }
}
