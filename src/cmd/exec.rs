use super::{Ctx, exit};
use crate::engine::exec::ExecOptions;
use crate::engine::exec_io::{Caller, session_io};
use clap::Args;
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

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
    let (io, relay) = session_io(a.detach, a.tty, a.interactive)?;
    let session = engine
        .exec(&c, &opts, io)
        .map_err(|e| exit(e.exit_code(), e.to_string()))?;
    drop(engine);
    if a.detach {
        println!("{}", session.id);
        return Ok(());
    }
    let code = relay.run(session.child, a.interactive, &mut Terminal::default())?;
    session.died(code);
    if code != 0 {
        return Err(exit(code, ""));
    }
    Ok(())
}

/// The CLI's side of an exec: its own stdin, stdout and stderr; with a
/// terminal, raw and followed in size.
#[derive(Default)]
struct Terminal {
    _raw: Option<crate::runtime::tty::RawMode>,
    winsize_to: Option<OwnedFd>,
}

static WINCH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    WINCH.store(true, std::sync::atomic::Ordering::Relaxed);
}

impl Caller for Terminal {
    fn input(&self) -> BorrowedFd<'_> {
        // SAFETY: fd 0 is open for the life of the CLI.
        unsafe { BorrowedFd::borrow_raw(0) }
    }

    fn output(&mut self, stream: u8, data: &[u8]) {
        // SAFETY: fds 1 and 2 are open for the life of the CLI.
        let out = unsafe { BorrowedFd::borrow_raw(stream.into()) };
        crate::monitor::write_all(out, data);
    }

    fn terminal(&mut self, master: &OwnedFd) -> std::io::Result<()> {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            self._raw = Some(crate::runtime::tty::RawMode::enter(stdin.as_fd())?);
            crate::runtime::tty::copy_winsize(stdin.as_fd(), master.as_fd());
            self.winsize_to = Some(master.try_clone()?);
            // SAFETY: the handler only stores to an atomic.
            unsafe { libc::signal(libc::SIGWINCH, on_winch as *const () as libc::sighandler_t) };
        }
        Ok(())
    }

    fn poke(&mut self, _master: Option<&OwnedFd>) {
        if WINCH.swap(false, std::sync::atomic::Ordering::Relaxed)
            && let Some(m) = &self.winsize_to
        {
            crate::runtime::tty::copy_winsize(std::io::stdin().as_fd(), m.as_fd());
        }
    }
}
