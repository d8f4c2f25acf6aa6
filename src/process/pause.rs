//! The rootless pause process (podman's design): one long-lived process per
//! user holds a user namespace mapped from /etc/subuid and /etc/subgid.
//! Every rootless berth command joins it before touching storage, so layer
//! unpacks keep their files' owners (as mapped ids) and every container of
//! the user shares one id mapping. It also holds the user's rootless
//! network namespace, where the bridges of rootless user-defined networks
//! live (podman's rootless-netns).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::OnceLock;

static HOST_IDS: OnceLock<(u32, u32)> = OnceLock::new();

/// The uid and gid berth was started with, before joining the namespace
/// (inside it, berth is uid 0).
pub fn host_ids() -> (u32, u32) {
    *HOST_IDS.get_or_init(|| {
        (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        )
    })
}

/// Whether this process runs inside the pause namespace.
pub fn joined() -> bool {
    host_ids().0 != 0 && rustix::process::getuid().is_root()
}

fn read_pid(file: &Path) -> Option<(i64, u64)> {
    let s = std::fs::read_to_string(file).ok()?;
    let (p, st) = s.trim().split_once(' ')?;
    Some((p.parse().ok()?, st.parse().ok()?))
}

fn join(pid: i64) -> std::io::Result<()> {
    let f = std::fs::File::open(format!("/proc/{pid}/ns/user"))?;
    // SAFETY: setns on a namespace fd; the caller is single-threaded.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWUSER) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Become root in there: fresh credentials, all capabilities of the ns.
    // SAFETY: plain credential syscalls.
    unsafe {
        if libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The rootless network namespace: the pause process's. None without a
/// pause process, or with one from before it held a namespace of its own.
pub fn netns(runroot: &Path) -> Option<std::fs::File> {
    let (pid, start) = read_pid(&runroot.join("pause.pid"))?;
    if !crate::process::alive(pid, start) {
        return None;
    }
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).ok()?;
    let own = std::fs::metadata("/proc/self/ns/net").ok()?;
    use std::os::unix::fs::MetadataExt;
    (ns.metadata().ok()?.ino() != own.ino()).then_some(ns)
}

/// The runroot, made 0700 and checked to be the user's own: with the
/// `/tmp/berth-run-UID` fallback, another local user could have made that
/// directory first and would then own the pause process's pid file.
fn owned_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::symlink_metadata(dir);
    if let Ok(md) = &md
        && (md.uid() != host_ids().0 || !md.is_dir())
    {
        return Err(std::io::Error::other(format!(
            "{} is not a directory of yours (owner uid {}): remove it or set XDG_RUNTIME_DIR",
            dir.display(),
            md.uid()
        )));
    }
    crate::process::private::dir(dir)
}

/// Join the user's pause namespace, creating the pause process if there is
/// none. Must run before any thread is started.
pub fn join_or_create(runroot: &Path) -> std::io::Result<()> {
    let _ = host_ids();
    if joined() {
        return Ok(());
    }
    owned_private_dir(runroot)?;
    let pid_file = runroot.join("pause.pid");
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(runroot.join("pause.lock"))?;
    lock.lock()?;
    if let Some((pid, start)) = read_pid(&pid_file)
        && crate::process::alive(pid, start)
    {
        return join(pid);
    }
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let (r2, w2) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // SAFETY: fork while single-threaded; the child only unshares and waits.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if child == 0 {
        drop(r);
        drop(w2);
        // SAFETY: the pause process: new session, new user namespace,
        // then nothing but waiting for signals, forever.
        unsafe {
            libc::setsid();
            // Root of the new user namespace, it may make a network
            // namespace owned by it.
            let ok =
                libc::unshare(libc::CLONE_NEWUSER) == 0 && libc::unshare(libc::CLONE_NEWNET) == 0;
            let _ = std::fs::File::from(w).write_all(if ok { b"u" } else { b"x" });
            let mut b = [0u8; 1];
            let _ = std::fs::File::from(r2).read(&mut b);
            for fd in 0..1024 {
                libc::close(fd);
            }
            libc::prctl(
                libc::PR_SET_NAME,
                c"berth-pause".as_ptr() as libc::c_ulong,
                0,
                0,
                0,
            );
            for sig in 1..32 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP && sig != libc::SIGTERM {
                    libc::signal(sig, libc::SIG_IGN);
                }
            }
            loop {
                libc::pause();
            }
        }
    }
    drop(w);
    drop(r2);
    let mut b = [0u8; 1];
    std::fs::File::from(r).read_exact(&mut b)?;
    if b[0] != b'u' {
        return Err(std::io::Error::other(
            "cannot create a user namespace (is kernel.unprivileged_userns_clone enabled?)",
        ));
    }
    let (uids, gids) = super::userns::mappings(false);
    if uids.len() == 1 || gids.len() == 1 {
        eprintln!(
            "Warning: no subordinate id range for this user in /etc/subuid or /etc/subgid: containers get a single-id mapping (add one with usermod --add-subuids/--add-subgids)"
        );
    }
    super::userns::write_maps(child, &uids, &gids)?;
    drop(w2);
    let start = crate::process::start_time(child as i64).unwrap_or(0);
    let tmp = pid_file.with_extension("tmp");
    std::fs::write(&tmp, format!("{child} {start}"))?;
    std::fs::rename(&tmp, &pid_file)?;
    join(child as i64)
}
