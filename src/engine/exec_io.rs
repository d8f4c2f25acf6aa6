//! The caller's side of an exec session, for every door: the caller's
//! input into the process, the process's output back, until the process
//! exits (whatever it left running in the background may keep the pipes
//! open; that must not keep the caller waiting). The CLI's caller is its
//! terminal or pipes; the API's is a hijacked connection.

use rustix::event::{PollFd, PollFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Where a session's streams go.
pub trait Caller {
    /// Where input comes from.
    fn input(&self) -> BorrowedFd<'_>;
    /// Output of stream 1 (stdout, or the terminal) or 2 (stderr).
    fn output(&mut self, stream: u8, data: &[u8]);
    /// The process's terminal came (the CLI takes its size from its own
    /// and goes raw).
    fn terminal(&mut self, _master: &OwnedFd) -> std::io::Result<()> {
        Ok(())
    }
    /// One more descriptor to watch (the API's resize socket).
    fn watch(&self) -> Option<BorrowedFd<'_>> {
        None
    }
    /// The watched descriptor is ready, or a signal came (SIGWINCH).
    fn poke(&mut self, _master: Option<&OwnedFd>) {}
}

/// The process's ends of a session: what `Engine::exec` was given the
/// other ends of.
#[derive(Default)]
pub struct Relay {
    /// Write end of the process's stdin pipe.
    pub stdin: Option<OwnedFd>,
    /// Read ends of its stdout and stderr, with their stream (1, 2).
    pub outputs: Vec<(OwnedFd, u8)>,
    /// With a terminal: the socket its pty master arrives on.
    pub console: Option<OwnedFd>,
}

impl Relay {
    /// Relay until `child` exits; returns its exit code.
    pub fn run(
        mut self,
        child: i32,
        interactive: bool,
        caller: &mut dyn Caller,
    ) -> std::io::Result<i32> {
        let mut master = None;
        if let Some(sock) = self.console.take() {
            let m = crate::runtime::tty::recv_fd(&sock)?;
            caller.terminal(&m)?;
            if interactive {
                self.stdin = Some(m.try_clone()?);
            }
            master = Some(m.try_clone()?);
            self.outputs.push((m, 1));
        }
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(child).expect("a child's pid is positive"),
            rustix::process::PidfdFlags::empty(),
        )?;
        let mut stdin_open = self.stdin.is_some();
        let mut buf = vec![0u8; 32 * 1024];
        let mut exited = false;
        while !exited && (!self.outputs.is_empty() || stdin_open) {
            let mut fds: Vec<PollFd> = self
                .outputs
                .iter()
                .map(|(fd, _)| PollFd::new(fd, PollFlags::IN))
                .collect();
            fds.push(PollFd::new(&pidfd, PollFlags::IN));
            let input = caller.input();
            if stdin_open {
                fds.push(PollFd::new(&input, PollFlags::IN));
            }
            let watched = caller.watch();
            if let Some(w) = &watched {
                fds.push(PollFd::new(w, PollFlags::IN));
            }
            if rustix::event::poll(&mut fds, None).is_err() {
                drop(fds);
                caller.poke(master.as_ref());
                continue;
            }
            let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
            drop(fds);
            let n_out = self.outputs.len();
            exited = ready[n_out];
            let mut next = n_out + 1;
            if stdin_open {
                if ready[next] {
                    match rustix::io::read(input, &mut buf) {
                        Ok(n) if n > 0 => {
                            if let Some(w) = &self.stdin {
                                crate::monitor::write_all(w.as_fd(), &buf[..n]);
                            }
                        }
                        Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => {}
                        _ => {
                            // End of input: the process reads end of file
                            // on its stdin pipe (a pty stays open through
                            // its master, which relays its output).
                            stdin_open = false;
                            self.stdin = None;
                        }
                    }
                }
                next += 1;
            }
            if watched.is_some() && ready[next] {
                caller.poke(master.as_ref());
            }
            let mut closed = vec![];
            for (i, (fd, to)) in self.outputs.iter().enumerate() {
                if ready[i] && !copy_once(fd, *to, &mut buf, caller) {
                    closed.push(i);
                }
            }
            for i in closed.into_iter().rev() {
                self.outputs.remove(i);
            }
        }
        // The process is gone: take what it wrote before it went, without
        // waiting for writers it left behind.
        for (fd, to) in &self.outputs {
            let _ = rustix::io::ioctl_fionbio(fd, true);
            while copy_once(fd, *to, &mut buf, caller) {}
        }
        let mut status = 0;
        // SAFETY: wait for our own child.
        unsafe { libc::waitpid(child, &mut status, 0) };
        Ok(if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        })
    }
}

/// One read from `from` handed to the caller as stream `to`; false at end
/// of file or error (a pty master reads EIO once every slave holder is
/// gone).
fn copy_once(from: &OwnedFd, to: u8, buf: &mut [u8], caller: &mut dyn Caller) -> bool {
    match rustix::io::read(from, &mut *buf) {
        Ok(n) if n > 0 => {
            caller.output(to, &buf[..n]);
            true
        }
        Err(rustix::io::Errno::INTR) => true,
        _ => false,
    }
}

/// The process's stdio for a session and the caller's ends of it: pipes,
/// or a pty through a console socket; `/dev/null` when detached. Never the
/// caller's own files: a descriptor of ours in the container is a way out
/// of it.
pub fn session_io(
    detach: bool,
    tty: bool,
    interactive: bool,
) -> std::io::Result<(super::exec::ChildIo, Relay)> {
    use super::exec::ChildIo;
    let null = || -> std::io::Result<OwnedFd> {
        Ok(OwnedFd::from(
            std::fs::File::options()
                .read(true)
                .write(true)
                .open("/dev/null")?,
        ))
    };
    let pipe = || rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC);
    let mut relay = Relay::default();
    let io = if detach {
        ChildIo {
            stdin: None,
            stdout: null()?,
            stderr: null()?,
            console: None,
        }
    } else if tty {
        let (mine, theirs) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )?;
        relay.console = Some(mine);
        ChildIo {
            stdin: None,
            stdout: null()?,
            stderr: null()?,
            console: Some(theirs),
        }
    } else {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        relay.outputs = vec![(out_r, 1), (err_r, 2)];
        let stdin = if interactive {
            let (in_r, in_w) = pipe()?;
            relay.stdin = Some(in_w);
            Some(in_r)
        } else {
            None
        };
        ChildIo {
            stdin,
            stdout: out_w,
            stderr: err_w,
            console: None,
        }
    };
    Ok((io, relay))
}
