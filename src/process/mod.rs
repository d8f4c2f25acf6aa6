//! Process hygiene shared by every floor: which descriptors, signal
//! dispositions and dumpability a process has when berth forks it, and the
//! sealed binary every process that enters a container runs from.
//!
//! Every process berth starts inside a container (the init, `exec`,
//! health checks, build RUN steps) must begin as a freshly exec'd program
//! would: fds 0, 1 and 2 only, default signal dispositions, an empty signal
//! mask. Anything else is either a way out (a host directory fd is the
//! CVE-2024-21626 class of escape) or a container that behaves unlike
//! podman's (Ctrl-C ignored when SIGINT is inherited as SIG_IGN).

pub mod pause;
pub mod private;
pub mod sdnotify;
pub mod sealed;
pub mod signal;
pub mod userns;

use std::os::fd::{AsRawFd, RawFd};

/// Close every descriptor from 3 up except those in `keep`. Uses
/// close_range(2) (Linux 5.9), falling back to a /proc walk.
pub fn close_fds(keep: &[RawFd]) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&fd| fd > 2).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from: u32 = 3;
    let mut ok = true;
    for &k in &keep {
        if k as u32 > from {
            ok &= close_range(from, k as u32 - 1);
        }
        from = k as u32 + 1;
    }
    ok &= close_range(from, u32::MAX);
    if !ok {
        close_by_listing(&keep);
    }
}

/// Mark every descriptor from 3 up close-on-exec (close_range(2) with
/// CLOSE_RANGE_CLOEXEC, Linux 5.11): for a std::process::Command's
/// pre_exec, where closing outright would also close the pipe std uses to
/// report a failed exec.
pub fn cloexec_fds() {
    // SAFETY: only sets FD_CLOEXEC on descriptors of this process.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}

fn close_range(first: u32, last: u32) -> bool {
    // SAFETY: closes descriptors in a range; callers own every fd there.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) == 0 }
}

fn close_by_listing(keep: &[RawFd]) {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            // SAFETY: the caller gives up every descriptor not kept.
            unsafe { libc::close(fd) };
        }
    }
}

/// Point the standard descriptors in `which` at /dev/null.
pub fn devnull_stdio(which: &[RawFd]) {
    if let Ok(f) = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in which {
            // SAFETY: dup2 onto a standard descriptor.
            unsafe { libc::dup2(f.as_raw_fd(), *fd) };
        }
    }
}

/// Default dispositions for every signal and an empty mask: what a process
/// gets from a clean exec. The monitor ignores SIGPIPE/SIGHUP/SIGINT, and
/// ignored dispositions (unlike handled ones) survive execve(2).
pub fn reset_signals() {
    /// The kernel's struct sigaction (x86_64 and aarch64 layout).
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // The raw syscall: glibc's sigaction refuses the two real-time signals
    // it keeps for itself (32 and 33), which can still arrive ignored.
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: rt_sigaction with a valid struct and the kernel's
            // sigset size; no old action is asked for.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &dfl as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8usize,
                )
            };
        }
    }
    let empty: u64 = 0;
    // SAFETY: rt_sigprocmask with a valid 8-byte set.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        )
    };
}

/// Make this process non-dumpable: its /proc/<pid>/{fd,exe,mem,environ}
/// cannot be opened by other processes of the same uid without
/// CAP_SYS_PTRACE (runc's nsexec does this before joining a container;
/// execve(2) makes the exec'd program dumpable again).
pub fn set_undumpable() {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

/// After chdir(2) into a container's working directory: the directory
/// must be inside the process's root. A descriptor leaked from the host
/// (CVE-2024-21626: `-w /proc/self/fd/N`) would leave the cwd outside it,
/// which getcwd(2) reports as "(unreachable)/...".
pub fn cwd_is_inside_root() -> bool {
    match std::env::current_dir() {
        Ok(p) => p.is_absolute(),
        Err(_) => false,
    }
}

/// Start time of a process in clock ticks since boot (/proc/PID/stat field
/// 22): with the pid it names one process for its whole life.
pub fn start_time(pid: i64) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Is (pid, start) still the same live process (a zombie counts as dead)?
pub fn alive(pid: i64, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(i) = s.rfind(')') else { return false };
    let mut f = s[i + 2..].split_whitespace();
    let state = f.next().unwrap_or("");
    let st: Option<u64> = f.nth(18).and_then(|v| v.parse().ok());
    state != "Z" && state != "X" && st == Some(start)
}

pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The version of podman's CLI berth speaks (`version`, `info`, the pause
/// image's tag).
pub const PODMAN_VERSION: &str = "4.3.1";

/// Carries `built()` across the re-exec from a sealed copy (whose file
/// times are the copy's).
pub const BUILT_ENV: &str = "_BERTH_BUILT";

/// When this binary was built, Unix seconds: its file's modification time
/// (cargo writes it at link time), read before any sealed re-exec.
pub fn built() -> i64 {
    static BUILT: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BUILT.get_or_init(|| {
        if let Some(v) = std::env::var(BUILT_ENV).ok().and_then(|v| v.parse().ok()) {
            return v;
        }
        std::env::current_exe()
            .and_then(std::fs::metadata)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;

    /// Fork, run `f` in the child, and return its exit code.
    fn in_child(f: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the test child only runs `f` and _exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = f();
            // SAFETY: leave the forked child at once.
            unsafe { libc::_exit(code) };
        }
        let mut st = 0;
        // SAFETY: reap our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        libc::WEXITSTATUS(st)
    }

    fn is_open(fd: RawFd) -> bool {
        // SAFETY: F_GETFD only asks whether fd is open.
        unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
    }

    #[test]
    fn close_fds_keeps_only_what_it_is_told() {
        let code = in_child(|| {
            let a = std::fs::File::open("/dev/null").unwrap().into_raw_fd();
            let b = std::fs::File::open("/dev/null").unwrap().into_raw_fd();
            let c = std::fs::File::open("/dev/null").unwrap().into_raw_fd();
            close_fds(&[b]);
            let ok = !is_open(a) && is_open(b) && !is_open(c) && is_open(0);
            i32::from(!ok)
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn reset_signals_restores_defaults_and_mask() {
        let code = in_child(|| {
            // SAFETY: signal/sigprocmask on the test child.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGTERM);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            reset_signals();
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let field = |k: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .map(|v| v.trim().to_string())
                    .unwrap()
            };
            let ok =
                field("SigIgn:") == "0000000000000000" && field("SigBlk:") == "0000000000000000";
            i32::from(!ok)
        });
        assert_eq!(code, 0);
    }
}
