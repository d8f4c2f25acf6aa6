//! CVE-2019-5736: a process in a container can reach the binary of any
//! process that enters it through /proc/<pid>/exe — or make berth exec
//! itself inside the container with an entrypoint of `#!/proc/self/exe` —
//! and, once no process runs it any more, open it for writing and replace
//! the host's berth. runc answers by running container setup from a copy
//! of itself that cannot be written: since runc 1.2 a private, read-only
//! overlayfs whose lower layer is the binary's directory (nothing to
//! "unwrap", unlike a read-only bind mount), else a sealed memfd copy
//! (runc's libcontainer/exeseal). berth does the same: the commands that
//! start processes in containers re-exec themselves once from such a file,
//! so the CLI, the monitor it forks and every process they fork into a
//! container run from it.
//!
//! The overlay costs no copy (page cache is shared with the real binary);
//! it needs CAP_SYS_ADMIN over the host's mount namespace, so rootless
//! berth uses a memfd — and only when the user could write the binary in
//! the first place: a rootless container's processes have no more rights
//! on host files than the user who started it.

use rustix::fs::{Mode, OFlags};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// Set on the re-exec'd process so that it never loops, whatever it finds.
const GUARD: &str = "_BERTH_SEALED_EXE";

/// How to run berth again from a running berth: the kernel resolves this
/// to the sealed file, where a path would name the writable original.
pub const SELF_EXE: &str = "/proc/self/exe";

/// Re-exec from a sealed binary unless this process already runs from one.
/// Returns only when it did not re-exec (already sealed, or no way to
/// seal: then berth goes on unprotected rather than not at all, with a
/// warning).
pub fn ensure(runroot: &Path, rootless: bool) {
    if std::env::var_os(GUARD).is_some() {
        // SAFETY: single-threaded at start-up; no one reads the environment
        // concurrently.
        unsafe { std::env::remove_var(GUARD) };
        return;
    }
    let Ok(exe) = rustix::fs::open(SELF_EXE, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()) else {
        return;
    };
    if is_sealed(&exe) {
        return;
    }
    if rootless && !writable_by_us() {
        return;
    }
    let sealed = if rootless {
        memfd_copy()
    } else {
        overlay(runroot).or_else(|_| memfd_copy())
    };
    match sealed {
        Ok(fd) => {
            let e = reexec(&fd);
            eprintln!(
                "Warning: cannot re-execute berth from a sealed copy ({e}): running unprotected against CVE-2019-5736"
            );
        }
        Err(e) => eprintln!(
            "Warning: cannot make a sealed copy of berth ({e}): running unprotected against CVE-2019-5736"
        ),
    }
}

/// On a read-only mount (the private overlay, or an installation on a
/// read-only /usr) or a memfd sealed against writes.
fn is_sealed(exe: &OwnedFd) -> bool {
    if let Ok(st) = rustix::fs::fstatvfs(exe)
        && st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY)
    {
        return true;
    }
    let Ok(f) = rustix::fs::open(SELF_EXE, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return false;
    };
    rustix::fs::fcntl_get_seals(&f).is_ok_and(|s| s.contains(rustix::fs::SealFlags::WRITE))
}

fn writable_by_us() -> bool {
    rustix::fs::access(SELF_EXE, rustix::fs::Access::WRITE_OK).is_ok()
}

/// runc's sealedOverlayfs: a detached overlayfs mount, read-only, whose
/// top lower layer is the binary's directory. overlayfs needs two lower
/// layers to run without an upper one; the second is an empty directory.
fn overlay(runroot: &Path) -> std::io::Result<OwnedFd> {
    use rustix::mount::{
        FsMountFlags, FsOpenFlags, MountAttrFlags, fsconfig_create, fsconfig_set_string, fsmount,
        fsopen,
    };
    let target = std::fs::read_link(SELF_EXE)?;
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return Err(std::io::Error::other("the binary has no directory"));
    };
    let empty = runroot.join("empty");
    if let Err(e) = std::fs::create_dir(&empty)
        && e.kind() != std::io::ErrorKind::AlreadyExists
    {
        std::fs::create_dir_all(runroot)?;
        std::fs::create_dir(&empty)?;
    }
    let escape = |p: &Path| {
        p.to_string_lossy()
            .replace('\\', "\\\\")
            .replace(':', "\\:")
            .replace(',', "\\,")
    };
    let ctx = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    fsconfig_set_string(
        &ctx,
        "lowerdir",
        format!("{}:{}", escape(dir), escape(&empty)),
    )?;
    // xino is of no use here and logs to dmesg when the layers are on
    // different filesystems (runc does the same).
    let _ = fsconfig_set_string(&ctx, "xino", "off");
    fsconfig_create(&ctx)?;
    let mnt = fsmount(
        &ctx,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY
            | MountAttrFlags::MOUNT_ATTR_NODEV
            | MountAttrFlags::MOUNT_ATTR_NOSUID,
    )?;
    Ok(rustix::fs::openat(
        &mnt,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// A memfd holding a copy of the binary, sealed against any change.
fn memfd_copy() -> std::io::Result<OwnedFd> {
    use rustix::fs::{MemfdFlags, SealFlags};
    let src = std::fs::File::open(SELF_EXE)?;
    let len = src.metadata()?.len();
    let fd = rustix::fs::memfd_create("berth", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    let mut left = len;
    while left > 0 {
        let n = rustix::fs::sendfile(&fd, &src, None, left.min(1 << 30) as usize)?;
        if n == 0 {
            return Err(std::io::Error::other("short copy of the binary"));
        }
        left -= n as u64;
    }
    rustix::fs::fcntl_add_seals(
        &fd,
        SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
    )?;
    Ok(fd)
}

/// execveat(fd, "", argv, environ + GUARD, AT_EMPTY_PATH). Returns only on
/// failure.
fn reexec(fd: &impl AsFd) -> std::io::Error {
    let to_c = |s: std::ffi::OsString| CString::new(s.into_encoded_bytes()).ok();
    let args: Vec<CString> = std::env::args_os().filter_map(to_c).collect();
    let mut env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            to_c(kv)
        })
        .collect();
    env.push(CString::new(format!("{GUARD}=1")).expect("no NUL in a constant"));
    // The original's build time: the sealed copy's file times are its own.
    env.retain(|e| !e.to_bytes().starts_with(super::BUILT_ENV.as_bytes()));
    env.push(
        CString::new(format!("{}={}", super::BUILT_ENV, super::built()))
            .expect("no NUL in a number"),
    );
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NUL-terminated arrays of valid C strings; on success this
    // process image is replaced.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    std::io::Error::last_os_error()
}
