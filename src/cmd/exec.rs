use super::{Ctx, exit};
use crate::engine::exec::{ChildIo, ExecOptions};
use clap::Args;
use std::io::IsTerminal;
use std::os::fd::{AsFd, OwnedFd};

#[derive(Args)]
pub struct ExecArgs {
    /// Container to run the command in
    pub container: String,
    /// Command and arguments
    #[arg(
        required_unless_present = "latest",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
    /// Run in the latest container created (the first word is then the command)
    #[arg(short, long)]
    pub latest: bool,
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Run in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// User (name|uid[:group|gid])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Give the process all capabilities and no seccomp filter
    #[arg(long)]
    pub privileged: bool,
    /// Pass this many more file descriptors (3 and up) into the process
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
}

pub fn run(ctx: &Ctx, mut a: ExecArgs) -> anyhow::Result<()> {
    // First: berth's own files must not be taken for the caller's.
    crate::runtime::options::set_preserve_fds(a.preserve_fds).map_err(|e| exit(125, e))?;
    let engine = ctx.engine()?;
    if a.latest {
        let latest = super::latest_container(&engine)?;
        a.command
            .insert(0, std::mem::replace(&mut a.container, latest));
    }
    let c = engine.container(&a.container)?;
    let env = a
        .env
        .iter()
        .map(|e| {
            if e.contains('=') {
                e.clone()
            } else {
                format!("{e}={}", std::env::var(e).unwrap_or_default())
            }
        })
        .collect();
    let opts = ExecOptions {
        args: a.command.clone(),
        env,
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        privileged: a.privileged,
        tty: a.tty,
    };
    let null = || -> std::io::Result<OwnedFd> {
        Ok(OwnedFd::from(
            std::fs::File::options()
                .read(true)
                .write(true)
                .open("/dev/null")?,
        ))
    };
    let pipe = || rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC);
    // The process gets pipes or a pty, never the caller's own files: a
    // descriptor of ours in the container is a way out of it.
    let mut relay = Relay::default();
    let io = if a.detach {
        ChildIo {
            stdin: None,
            stdout: null()?,
            stderr: null()?,
            console: None,
        }
    } else if a.tty {
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
        let stdin = if a.interactive {
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
    let session = engine
        .exec(&c, &opts, io)
        .map_err(|e| exit(e.exit_code(), e.to_string()))?;
    drop(engine);
    if a.detach {
        println!("{}", session.id);
        return Ok(());
    }
    let code = relay.run(session.child, a.interactive)?;
    session.died(code);
    if code != 0 {
        return Err(exit(code, ""));
    }
    Ok(())
}

/// The caller's side of an exec: its stdin into the process, the
/// process's output out to the caller's stdout and stderr, until the
/// process exits (whatever it left running in the background may keep the
/// pipes open; that must not keep `exec` waiting).
#[derive(Default)]
struct Relay {
    /// Write end of the process's stdin pipe.
    stdin: Option<OwnedFd>,
    /// Read ends of its stdout and stderr, with where they go.
    outputs: Vec<(OwnedFd, i32)>,
    /// With a terminal: the socket its pty master arrives on.
    console: Option<OwnedFd>,
}

static WINCH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    WINCH.store(true, std::sync::atomic::Ordering::Relaxed);
}

impl Relay {
    /// Relay until `child` exits; returns its exit code.
    fn run(mut self, child: i32, interactive: bool) -> anyhow::Result<i32> {
        use rustix::event::{PollFd, PollFlags};
        let stdin = std::io::stdin();
        let mut _raw = None;
        let mut winsize_to = None;
        if let Some(sock) = self.console.take() {
            let master = crate::runtime::tty::recv_fd(&sock)?;
            if stdin.is_terminal() {
                _raw = Some(crate::runtime::tty::RawMode::enter(stdin.as_fd())?);
                crate::runtime::tty::copy_winsize(stdin.as_fd(), master.as_fd());
                winsize_to = Some(master.try_clone()?);
                // SAFETY: the handler only stores to an atomic.
                unsafe {
                    libc::signal(libc::SIGWINCH, on_winch as *const () as libc::sighandler_t)
                };
            }
            if interactive {
                self.stdin = Some(master.try_clone()?);
            }
            self.outputs.push((master, 1));
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
            if stdin_open {
                fds.push(PollFd::new(&stdin, PollFlags::IN));
            }
            if rustix::event::poll(&mut fds, None).is_err() {
                drop(fds);
                if WINCH.swap(false, std::sync::atomic::Ordering::Relaxed)
                    && let Some(m) = &winsize_to
                {
                    crate::runtime::tty::copy_winsize(stdin.as_fd(), m.as_fd());
                }
                continue;
            }
            let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
            drop(fds);
            let n_out = self.outputs.len();
            exited = ready[n_out];
            if stdin_open && ready[n_out + 1] {
                match rustix::io::read(&stdin, &mut buf) {
                    Ok(n) if n > 0 => {
                        if let Some(w) = &self.stdin {
                            crate::monitor::write_all(w.as_fd(), &buf[..n]);
                        }
                    }
                    Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => {}
                    _ => {
                        // End of input: the process reads end of file on
                        // its stdin pipe (a pty stays open through its
                        // master, which relays its output).
                        stdin_open = false;
                        self.stdin = None;
                    }
                }
            }
            let mut closed = vec![];
            for (i, (fd, to)) in self.outputs.iter().enumerate() {
                if ready[i] && !copy_once(fd, *to, &mut buf) {
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
            while copy_once(fd, *to, &mut buf) {}
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

/// One read from `from` copied to fd `to`; false at end of file or error
/// (a pty master reads EIO once every slave holder is gone).
fn copy_once(from: &OwnedFd, to: i32, buf: &mut [u8]) -> bool {
    match rustix::io::read(from, &mut *buf) {
        Ok(n) if n > 0 => {
            // SAFETY: fds 1 and 2 are open for the life of the CLI.
            let out = unsafe { std::os::fd::BorrowedFd::borrow_raw(to) };
            crate::monitor::write_all(out, &buf[..n]);
            true
        }
        Err(rustix::io::Errno::INTR) => true,
        _ => false,
    }
}
