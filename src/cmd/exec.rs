use super::{Ctx, exit};
use crate::runtime::exec::{ExecOptions, spawn};
use crate::runtime::linux::ChildIo;
use clap::Args;
use std::io::IsTerminal;
use std::os::fd::{AsFd, OwnedFd};

#[derive(Args)]
pub struct ExecArgs {
    /// Container to run the command in
    pub container: String,
    /// Command and arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
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
}

fn dup_std(fd: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: fds 0-2 are open for the life of the CLI.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

pub fn run(ctx: &Ctx, a: ExecArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let c = engine.container(&a.container)?;
    if c.state != "running" {
        return Err(exit(
            125,
            format!(
                "can only create exec sessions on running containers: container {} is {}: container state improper",
                c.name,
                super::ps::state_name(&c)
            ),
        ));
    }
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
    let mut console = None;
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
        console = Some(mine);
        ChildIo {
            stdin: None,
            stdout: null()?,
            stderr: null()?,
            console: Some(theirs),
        }
    } else {
        ChildIo {
            stdin: if a.interactive {
                Some(dup_std(0)?)
            } else {
                None
            },
            stdout: dup_std(1)?,
            stderr: dup_std(2)?,
            console: None,
        }
    };
    let child = spawn(&engine, &c, c.pid as i32, &opts, io)
        .map_err(|e| exit(e.exit_code(), e.to_string()))?;
    if a.detach {
        println!("{}", &crate::engine::containers::new_id());
        return Ok(());
    }
    if let Some(sock) = console {
        let master = crate::runtime::tty::recv_fd(&sock)?;
        let _raw = if std::io::stdin().is_terminal() {
            Some(crate::runtime::tty::RawMode::enter(
                std::io::stdin().as_fd(),
            )?)
        } else {
            None
        };
        crate::runtime::tty::copy_winsize(std::io::stdin().as_fd(), master.as_fd());
        relay_pty(&master, a.interactive, child);
    }
    let mut status = 0;
    // SAFETY: wait for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    if code != 0 {
        return Err(exit(code, ""));
    }
    Ok(())
}

/// Copy between the user's terminal and the pty master until the process
/// ends (the master reads EIO once every slave holder is gone).
fn relay_pty(master: &OwnedFd, interactive: bool, _child: i32) {
    use rustix::event::{PollFd, PollFlags};
    let stdin = std::io::stdin();
    let mut buf = vec![0u8; 32 * 1024];
    let mut stdin_open = interactive;
    loop {
        let mut fds = vec![PollFd::new(master, PollFlags::IN)];
        if stdin_open {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        if rustix::event::poll(&mut fds, None).is_err() {
            continue;
        }
        let (m, i) = (fds[0].revents(), fds.get(1).map(|f| f.revents()));
        drop(fds);
        if !m.is_empty() {
            match rustix::io::read(master, &mut buf) {
                Ok(n) if n > 0 => crate::monitor::write_all(std::io::stdout().as_fd(), &buf[..n]),
                _ => return,
            }
        }
        if let Some(r) = i
            && !r.is_empty()
        {
            match rustix::io::read(&stdin, &mut buf) {
                Ok(n) if n > 0 => crate::monitor::write_all(master.as_fd(), &buf[..n]),
                _ => stdin_open = false,
            }
        }
    }
}
