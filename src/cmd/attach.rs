use super::{Ctx, exit};
use crate::monitor::attach::{DetachWatch, SOCKET, parse_detach_keys, read_frame};
use clap::Args;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

#[derive(Args)]
pub struct AttachArgs {
    /// Container to attach to
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
    /// Attach to the latest container created
    #[arg(short, long)]
    pub latest: bool,
    /// Key sequence that detaches (default ctrl-p,ctrl-q)
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Forward signals to the container (accepted for compatibility; the terminal's keys reach it)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
}

pub fn run(ctx: &Ctx, a: AttachArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let name = match (&a.container, a.latest) {
        (Some(_), true) => anyhow::bail!("--latest and containers cannot be used together"),
        (Some(n), false) => n.clone(),
        (None, _) => super::latest_container(&engine)?,
    };
    let c = engine.container(&name)?;
    if c.state != "running" {
        return Err(exit(
            125,
            format!(
                "you can only attach to running containers: {} is {}",
                c.name,
                super::ps::state_name(&c)
            ),
        ));
    }
    let cfg = c.config();
    let keys = parse_detach_keys(&a.detach_keys).map_err(anyhow::Error::msg)?;
    let cwd = std::env::current_dir()?;
    std::env::set_current_dir(engine.container_rundir(&c.id))?;
    let sock =
        UnixStream::connect(SOCKET).map_err(|e| anyhow::anyhow!("attaching to {}: {e}", c.name))?;
    std::env::set_current_dir(cwd)?;
    crate::engine::events::container("attach", &c);
    let _raw = if cfg.tty && std::io::stdin().is_terminal() {
        Some(crate::runtime::tty::RawMode::enter(
            std::io::stdin().as_fd(),
        )?)
    } else {
        None
    };
    let send_input = cfg.interactive && !a.no_stdin;
    if send_input {
        let mut w = sock.try_clone()?;
        // Input on its own thread: a plain blocking copy, watching for the
        // detach keys.
        std::thread::spawn(move || {
            let mut watch = DetachWatch::new(keys);
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin();
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = w.shutdown(std::net::Shutdown::Write);
                        return;
                    }
                    Ok(n) => n,
                };
                let (pass, detached) = watch.feed(&buf[..n]);
                let _ = w.write_all(&pass);
                if detached {
                    // Detaching ends the CLI; the container goes on.
                    std::process::exit(0);
                }
            }
        });
    }
    let mut r = sock;
    if cfg.tty {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => crate::monitor::write_all(std::io::stdout().as_fd(), &buf[..n]),
            }
        }
    } else {
        while let Some((stream, data)) = read_frame(&mut r) {
            if stream == 2 {
                crate::monitor::write_all(std::io::stderr().as_fd(), &data);
            } else {
                crate::monitor::write_all(std::io::stdout().as_fd(), &data);
            }
        }
    }
    // The container ended: its exit code, once the monitor recorded it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let cur = engine.container(&c.id)?;
        if !cur.is_running() || std::time::Instant::now() > deadline {
            let code = cur.exit_code as i32;
            return if code == 0 {
                Ok(())
            } else {
                Err(exit(code, ""))
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
