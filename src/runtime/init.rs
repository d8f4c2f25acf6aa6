//! `--init`: berth itself as the container's pid 1 (catatonit's job): it
//! forks the command, forwards every signal it gets to it, reaps orphans,
//! and exits with the command's status.
//!
//! `err_fd` is the runtime's close-on-exec error pipe: the command reports
//! a failed exec on it, and pid 1 closes its own copy, so the monitor sees
//! end-of-file once the command is running.

pub fn run_as_init(
    prog: &str,
    args: &[String],
    env: &[String],
    err_fd: i32,
) -> Result<std::convert::Infallible, (i32, String)> {
    // SAFETY: signal-mask and fork/wait calls on our own process; the child
    // restores the mask and execs at once.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old);
        let child = libc::fork();
        if child < 0 {
            return Err((
                125,
                format!("init: fork: {}", std::io::Error::last_os_error()),
            ));
        }
        if child == 0 {
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            let r = super::linux::exec(prog, args, env);
            let (code, msg) = match r {
                Err(e) => e,
                Ok(never) => match never {},
            };
            let m = format!("{code} {msg}");
            libc::write(err_fd, m.as_ptr() as *const libc::c_void, m.len());
            libc::_exit(code);
        }
        libc::close(err_fd);
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = libc::sigwaitinfo(&all, &mut info);
            if sig < 0 {
                continue;
            }
            if sig == libc::SIGCHLD {
                loop {
                    let mut status = 0;
                    let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
                    if pid <= 0 {
                        break;
                    }
                    if pid == child {
                        let code = if libc::WIFEXITED(status) {
                            libc::WEXITSTATUS(status)
                        } else {
                            128 + libc::WTERMSIG(status)
                        };
                        libc::_exit(code);
                    }
                }
            } else {
                libc::kill(child, sig);
            }
        }
    }
}

/// A pod's infra process, in place of an exec (catatonit -P's job, with no
/// binary in the container): it holds the pod's namespaces and leaves on
/// SIGINT, SIGTERM or SIGHUP. Closing every descriptor but stdio closes the
/// error pipe, which tells the monitor it runs as an exec would.
///
/// It is berth's own code, so as root it stays non-dumpable: a `--pid host`
/// container must not reach berth's binary through /proc/PID/exe (members
/// join its namespaces as real root all the same). Rootless, the members'
/// monitors open its /proc/PID/ns files as the user, so it is made
/// dumpable there, where no container can see the host's processes.
pub fn pause() -> ! {
    crate::process::close_fds(&[0, 1, 2]);
    let identity = std::fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]);
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, if identity { 0 } else { 1 }, 0, 0, 0) };
    extern "C" fn leave(_: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(0) }
    }
    // SAFETY: naming our own thread, installing handlers that only _exit,
    // and waiting for signals.
    unsafe {
        libc::prctl(
            libc::PR_SET_NAME,
            c"berth-pause".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        );
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(s, leave as *const () as libc::sighandler_t);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        loop {
            libc::sigsuspend(&none);
        }
    }
}
