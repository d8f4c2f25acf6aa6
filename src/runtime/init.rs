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
///
/// A pod sharing its pid namespace shows this process to every member
/// (as pid 1), and /proc/PID/cmdline is anyone's to read: the command line
/// and environment it inherited from the monitor (the user's `berth run
/// ...` and its environment, secrets perhaps) are wiped first, leaving
/// `/catatonit -P` as podman's infra shows.
pub fn pause() -> ! {
    crate::process::close_fds(&[0, 1, 2]);
    wipe_cmdline_and_environ();
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
        // In a pod sharing its pid namespace, this is the namespace's init:
        // orphans of the members come to it, to be reaped.
        extern "C" fn child(_: libc::c_int) {}
        libc::signal(libc::SIGCHLD, child as *const () as libc::sighandler_t);
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        loop {
            libc::sigsuspend(&none);
            while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        }
    }
}

/// Overwrite this process's argument and environment areas, the memory
/// /proc/PID/cmdline and /proc/PID/environ read (their bounds are fields
/// 48 to 51 of /proc/self/stat), with `/catatonit -P` and zeros.
fn wipe_cmdline_and_environ() {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields from the third on follow the command name's closing paren.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return;
    };
    let f: Vec<usize> = rest
        .split_whitespace()
        .skip(45)
        .take(4)
        .filter_map(|v| v.parse().ok())
        .collect();
    let [arg_start, arg_end, env_start, env_end] = f[..] else {
        return;
    };
    for (start, end) in [(arg_start, arg_end), (env_start, env_end)] {
        if start == 0 || end <= start {
            continue;
        }
        // SAFETY: the kernel's bounds of this process's own argv and envp
        // strings (on the initial stack, mapped and writable); nothing reads
        // them again in a process that only waits for signals.
        unsafe { std::ptr::write_bytes(start as *mut u8, 0, end - start) };
    }
    let shown = b"/catatonit\0-P\0";
    if arg_start != 0 && arg_end - arg_start >= shown.len() {
        // SAFETY: within the argument area zeroed above.
        unsafe { std::ptr::copy_nonoverlapping(shown.as_ptr(), arg_start as *mut u8, shown.len()) };
    }
}
