//! The built-in runtime: execute an OCI spec in-process. clone(2) into new
//! namespaces, then in the child: mounts (overlay rootfs, /proc, /dev, /sys,
//! binds), pivot_root, masked and read-only paths, hostname, rlimits, user,
//! capabilities, no_new_privs, seccomp, exec.
//!
//! The child reports a failure before exec on a close-on-exec pipe: end of
//! file there means exec succeeded (runc's and crun's trick).

use super::caps;
use super::cgroups::Cgroup;
use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{msg}")]
    Start { code: i32, msg: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<rustix::io::Errno> for RuntimeError {
    fn from(e: rustix::io::Errno) -> Self {
        RuntimeError::Io(e.into())
    }
}

impl RuntimeError {
    /// podman's codes: 127 command not found, 126 not executable, 125 else.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::Start { code, .. } => *code,
            RuntimeError::Io(_) => 125,
        }
    }
}

/// The container's side of stdio.
pub struct ChildIo {
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// With a terminal: the socket the pty master is sent over.
    pub console: Option<OwnedFd>,
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

fn ns_flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => 0x80,
    }
}

/// Start the container's init. Returns its pid (in our namespace) once it
/// has exec'd the container process.
pub fn spawn(
    spec: &Spec,
    cgroup: Option<&Cgroup>,
    io: ChildIo,
    layers_dir: &Path,
    init: bool,
) -> Result<i32, RuntimeError> {
    let (go_r, go_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let mut flags = 0;
    if let Some(ns) = spec.linux().as_ref().and_then(|l| l.namespaces().clone()) {
        for n in ns {
            if n.path().is_none() {
                flags |= ns_flag(n.typ());
            }
        }
    }
    // SAFETY: clone without a new stack behaves as fork(): the child runs on
    // a copy of this stack. The caller (the monitor) is single-threaded.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if pid == 0 {
        drop(go_w);
        drop(err_r);
        let err_fd = err_w.as_raw_fd();
        let (code, msg) = match child(spec, io, go_r, layers_dir, init, err_fd) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let mut f = std::fs::File::from(err_w);
        let _ = f.write_all(format!("{code} {msg}").as_bytes());
        // SAFETY: leave the forked child at once, running no destructors.
        unsafe { libc::_exit(code) };
    }
    let pid = pid as i32;
    drop(go_r);
    drop(err_w);
    drop(io);
    let fail = |e: std::io::Error| {
        // SAFETY: kill/waitpid on our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        RuntimeError::Io(e)
    };
    if let Some(cg) = cgroup {
        cg.add(pid).map_err(fail)?;
    }
    if flags & libc::CLONE_NEWUSER != 0 {
        let linux = spec.linux().clone().unwrap_or_default();
        let conv =
            |m: Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<super::userns::IdMap> {
                m.unwrap_or_default()
                    .iter()
                    .map(|e| super::userns::IdMap {
                        container_id: e.container_id(),
                        host_id: e.host_id(),
                        size: e.size(),
                    })
                    .collect()
            };
        super::userns::write_maps(
            pid,
            &conv(linux.uid_mappings().clone()),
            &conv(linux.gid_mappings().clone()),
        )
        .map_err(fail)?;
    }
    std::fs::File::from(go_w).write_all(b"g").map_err(fail)?;
    let mut msg = String::new();
    std::fs::File::from(err_r)
        .read_to_string(&mut msg)
        .map_err(fail)?;
    if msg.is_empty() {
        return Ok(pid);
    }
    // SAFETY: reap our own child, which has exited or is about to.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    let (code, text) = msg.split_once(' ').unwrap_or(("125", &msg));
    Err(RuntimeError::Start {
        code: code.parse().unwrap_or(125),
        msg: text.to_string(),
    })
}

type ChildResult = Result<std::convert::Infallible, (i32, String)>;

fn ctx<E: std::fmt::Display>(what: impl Fn() -> String) -> impl FnOnce(E) -> (i32, String) {
    move |e| (125, format!("{}: {e}", what()))
}

fn mount(
    src: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> std::io::Result<()> {
    let c = |s: &str| CString::new(s).map_err(std::io::Error::other);
    let src = src.map(c).transpose()?;
    let target = c(target)?;
    let fstype = fstype.map(c).transpose()?;
    let data = data.map(c).transpose()?;
    // SAFETY: every pointer is a valid C string or null.
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            target.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            data.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr() as *const libc::c_void),
        )
    };
    if r != 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// mount(8)-style options -> (flags, data, propagation flags).
fn parse_options(opts: &[String]) -> (libc::c_ulong, Vec<String>, libc::c_ulong, bool) {
    let mut flags = 0;
    let mut prop = 0;
    let mut data = Vec::new();
    let mut bind = false;
    for o in opts {
        match o.as_str() {
            "ro" => flags |= libc::MS_RDONLY,
            "rw" => {}
            "nosuid" => flags |= libc::MS_NOSUID,
            "nodev" => flags |= libc::MS_NODEV,
            "noexec" => flags |= libc::MS_NOEXEC,
            "strictatime" => flags |= libc::MS_STRICTATIME,
            "relatime" => flags |= libc::MS_RELATIME,
            "noatime" => flags |= libc::MS_NOATIME,
            "bind" => bind = true,
            "rbind" => {
                bind = true;
                flags |= libc::MS_REC;
            }
            "private" => prop |= libc::MS_PRIVATE,
            "rprivate" => prop |= libc::MS_PRIVATE | libc::MS_REC,
            "slave" => prop |= libc::MS_SLAVE,
            "rslave" => prop |= libc::MS_SLAVE | libc::MS_REC,
            "shared" => prop |= libc::MS_SHARED,
            "rshared" => prop |= libc::MS_SHARED | libc::MS_REC,
            "z" | "Z" | "U" | "nocopy" => {}
            other => data.push(other.to_string()),
        }
    }
    (flags, data, prop, bind)
}

/// Open (creating if missing) `dest` inside the rootfs without ever
/// leaving it: openat2(RESOLVE_IN_ROOT) treats the rootfs as "/", so a
/// symlink planted in the image cannot point a mount at the host
/// (CVE-2021-30465's class). Returns an O_PATH fd to mount onto through
/// /proc/self/fd.
fn open_in_root(root: &OwnedFd, dest: &str, is_dir: bool) -> std::io::Result<OwnedFd> {
    open_in_root_depth(root, dest, is_dir, 0)
}

/// As securejoin's MkdirAll: missing components are created; a dangling
/// symlink on the way is followed *inside the root* (its target created
/// there), never on the host.
fn open_in_root_depth(
    root: &OwnedFd,
    dest: &str,
    is_dir: bool,
    depth: u32,
) -> std::io::Result<OwnedFd> {
    if depth > 40 {
        return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
    }
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let rel = dest.trim_start_matches('/');
    if rel.is_empty() {
        return Ok(rustix::fs::openat(
            root,
            ".",
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        )?);
    }
    match rustix::fs::openat2(
        root,
        rel,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    ) {
        Ok(fd) => return Ok(fd),
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let pfd = open_in_root_depth(root, parent, true, depth + 1)?;
    let pfd = rustix::fs::openat(
        &pfd,
        ".",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    // A dangling symlink here: make its target, resolved in the root.
    if let Ok(target) = rustix::fs::readlinkat(&pfd, name, Vec::new()) {
        let target = target.to_string_lossy().into_owned();
        let joined = if target.starts_with('/') {
            target
        } else {
            format!("{parent}/{target}")
        };
        return open_in_root_depth(root, &joined, is_dir, depth + 1);
    }
    if is_dir {
        match rustix::fs::mkdirat(&pfd, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
    } else {
        match rustix::fs::openat(
            &pfd,
            name,
            OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o644),
        ) {
            Ok(_) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(rustix::fs::openat2(
        root,
        rel,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    )?)
}

fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn do_mount(root: &OwnedFd, m: &Mount) -> std::io::Result<()> {
    let dest = m.destination().to_string_lossy().into_owned();
    let opts = m.options().clone().unwrap_or_default();
    let (flags, data, prop, bind_opt) = parse_options(&opts);
    let typ = m.typ().clone().unwrap_or_default();
    let bind = bind_opt || typ == "bind";
    let src = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned());
    let is_dir = !bind || src.as_deref().is_some_and(|s| Path::new(s).is_dir());
    let target = open_in_root(root, &dest, is_dir)?;
    let tpath = fd_path(&target);
    if bind {
        let src = src.unwrap_or_default();
        mount(
            Some(&src),
            &tpath,
            None,
            libc::MS_BIND | (flags & libc::MS_REC),
            None,
        )?;
        let remount =
            flags & (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC);
        if remount != 0 {
            // Re-open: the fd still names the directory under the new mount.
            let t = open_in_root(root, &dest, is_dir)?;
            // In a user namespace the source mount's nosuid/nodev/noexec
            // are locked: a remount must repeat them or be refused.
            let locked = rustix::fs::fstatvfs(&t)
                .map(|v| {
                    let f = v.f_flag;
                    let mut m = 0;
                    if f.contains(rustix::fs::StatVfsMountFlags::NOSUID) {
                        m |= libc::MS_NOSUID;
                    }
                    if f.contains(rustix::fs::StatVfsMountFlags::NODEV) {
                        m |= libc::MS_NODEV;
                    }
                    if f.contains(rustix::fs::StatVfsMountFlags::NOEXEC) {
                        m |= libc::MS_NOEXEC;
                    }
                    m
                })
                .unwrap_or(0);
            mount(
                None,
                &fd_path(&t),
                None,
                libc::MS_BIND | libc::MS_REMOUNT | remount | locked,
                None,
            )?;
        }
    } else {
        let data = data.join(",");
        mount(
            src.as_deref(),
            &tpath,
            Some(&typ),
            flags & !libc::MS_REC,
            (!data.is_empty()).then_some(data.as_str()),
        )?;
    }
    if prop != 0 {
        let t = open_in_root(root, &dest, is_dir)?;
        mount(None, &fd_path(&t), None, prop, None)?;
    }
    Ok(())
}

/// The device nodes every container gets, and the usual /dev symlinks.
fn setup_dev(root: &OwnedFd) -> std::io::Result<()> {
    let dev = open_in_root(root, "/dev", true)?;
    let dev = rustix::fs::openat(
        &dev,
        ".",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        match rustix::fs::mknodat(
            &dev,
            name,
            rustix::fs::FileType::CharacterDevice,
            Mode::from_raw_mode(0o666),
            rustix::fs::makedev(major, minor),
        ) {
            Ok(()) => {}
            Err(rustix::io::Errno::PERM) => {
                // In a user namespace: bind the host's node instead.
                let t = open_in_root(root, &format!("/dev/{name}"), false)?;
                mount(
                    Some(&format!("/dev/{name}")),
                    &fd_path(&t),
                    None,
                    libc::MS_BIND,
                    None,
                )?;
            }
            Err(e) => return Err(e.into()),
        }
        let _ = rustix::fs::chmodat(
            &dev,
            name,
            Mode::from_raw_mode(0o666),
            rustix::fs::AtFlags::empty(),
        );
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
        ("core", "/proc/kcore"),
    ] {
        let _ = rustix::fs::symlinkat(target, &dev, link);
    }
    Ok(())
}

/// A new network namespace starts with `lo` down; podman's `--network
/// none` has it up, and so do we.
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: an ifreq for "lo" and SIOC[GS]IFFLAGS on a datagram socket.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let r = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            libc::ioctl(sock, libc::SIOCSIFFLAGS, &mut req);
        }
        libc::close(sock);
    }
    Ok(())
}

fn pivot_root(rootfs: &str) -> std::io::Result<()> {
    std::env::set_current_dir(rootfs)?;
    let dot = CString::new(".").expect("no NUL");
    // SAFETY: pivot_root(".", ".") then detaching the old root (runc's way,
    // needs no directory for the old root).
    unsafe {
        if libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::umount2(dot.as_ptr(), libc::MNT_DETACH) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    std::env::set_current_dir("/")
}

fn mask_paths(spec: &Spec) {
    let linux = spec.linux().clone().unwrap_or_default();
    for p in linux.masked_paths().clone().unwrap_or_default() {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                let _ = mount(Some("tmpfs"), &p, Some("tmpfs"), libc::MS_RDONLY, None);
            }
            Ok(_) => {
                let _ = mount(Some("/dev/null"), &p, None, libc::MS_BIND, None);
            }
            Err(_) => {}
        }
    }
    for p in linux.readonly_paths().clone().unwrap_or_default() {
        if Path::new(&p).exists()
            && mount(Some(&p), &p, None, libc::MS_BIND | libc::MS_REC, None).is_ok()
        {
            let _ = mount(
                None,
                &p,
                None,
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC,
                None,
            );
        }
    }
}

fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    })
}

/// Find `cmd` on PATH as execvp would, inside the container.
fn lookup_path(cmd: &str, env: &[String]) -> Result<String, (i32, String)> {
    if cmd.contains('/') {
        return Ok(cmd.to_string());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let p = format!("{dir}/{cmd}");
        if let Ok(m) = std::fs::metadata(&p)
            && m.is_file()
        {
            return Ok(p);
        }
    }
    Err((
        127,
        format!(
            "{cmd}: executable file not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found"
        ),
    ))
}

fn child(
    spec: &Spec,
    io: ChildIo,
    go: OwnedFd,
    layers_dir: &Path,
    init: bool,
    err_fd: RawFd,
) -> ChildResult {
    let mut b = [0u8; 1];
    std::fs::File::from(go)
        .read_exact(&mut b)
        .map_err(ctx(|| "waiting for the monitor".into()))?;
    // SAFETY: prctl/setsid with integer arguments only.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        libc::setsid();
    }
    // Namespaces to join rather than create (--network container:|ns:).
    for n in spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
    {
        if let Some(path) = n.path() {
            let f = std::fs::File::open(path)
                .map_err(|e| (125, format!("opening namespace {}: {e}", path.display())))?;
            // SAFETY: setns on a namespace fd we just opened.
            if unsafe { libc::setns(f.as_raw_fd(), ns_flag(n.typ())) } != 0 {
                return Err((
                    125,
                    format!(
                        "joining namespace {}: {}",
                        path.display(),
                        std::io::Error::last_os_error()
                    ),
                ));
            }
        }
    }
    let new_net = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none());
    if new_net {
        loopback_up().map_err(ctx(|| "bringing up the loopback interface".into()))?;
    }
    let root = spec
        .root()
        .as_ref()
        .ok_or((125, "spec has no root".to_string()))?;
    let rootfs = root.path().to_string_lossy().into_owned();
    mount(None, "/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(ctx(|| "making / private".into()))?;
    let overlay = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(super::spec::OVERLAY_ANNOTATION).cloned());
    match overlay {
        Some(opts) => {
            // Relative lowerdirs keep the option string short (the page-size
            // limit on mount data); hence the chdir.
            std::env::set_current_dir(layers_dir)
                .map_err(ctx(|| format!("entering {}", layers_dir.display())))?;
            mount(Some("overlay"), &rootfs, Some("overlay"), 0, Some(&opts))
                .map_err(ctx(|| "mounting the overlay rootfs".into()))?;
        }
        None => mount(
            Some(&rootfs),
            &rootfs,
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .map_err(ctx(|| "binding the rootfs".into()))?,
    }
    let rootfd = rustix::fs::open(
        rootfs.as_str(),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(ctx(|| "opening the rootfs".into()))?;
    if let Some(list) = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(super::spec::COPY_UP_ANNOTATION).cloned())
    {
        super::volumes::copy_up(&rootfd, &list)
            .map_err(ctx(|| "filling a new volume from the image".into()))?;
    }
    for m in spec.mounts().clone().unwrap_or_default() {
        let dest = m.destination().display().to_string();
        do_mount(&rootfd, &m).map_err(ctx(|| format!("mounting {dest}")))?;
        if dest == "/dev" {
            setup_dev(&rootfd).map_err(ctx(|| "populating /dev".into()))?;
        }
    }
    drop(rootfd);
    pivot_root(&rootfs).map_err(ctx(|| "pivot_root".into()))?;
    mask_paths(spec);
    if root.readonly().unwrap_or(false) {
        mount(
            None,
            "/",
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
        .map_err(ctx(|| "making the rootfs read-only".into()))?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        rustix::system::sethostname(h.as_bytes()).map_err(ctx(|| "setting the hostname".into()))?;
    }
    let process = spec
        .process()
        .clone()
        .ok_or((125, "spec has no process".to_string()))?;
    for r in process.rlimits().clone().unwrap_or_default() {
        let name = format!("{:?}", r.typ());
        let name = if name.starts_with("RLIMIT_") {
            name
        } else {
            format!(
                "RLIMIT_{}",
                name.trim_start_matches("Rlimit").to_ascii_uppercase()
            )
        };
        if let Some(res) = rlimit_resource(&name) {
            let lim = libc::rlimit {
                rlim_cur: r.soft(),
                rlim_max: r.hard(),
            };
            // SAFETY: setrlimit with a valid struct.
            if unsafe { libc::setrlimit(res, &lim) } != 0 {
                return Err((
                    125,
                    format!(
                        "setting {name} to {}:{} (never above the current hard limit without CAP_SYS_RESOURCE): {}",
                        r.soft(),
                        r.hard(),
                        std::io::Error::last_os_error()
                    ),
                ));
            }
        }
    }
    // stdio
    let dup = |fd: &OwnedFd, to: RawFd| {
        // SAFETY: dup2 onto a standard descriptor.
        unsafe { libc::dup2(fd.as_raw_fd(), to) }
    };
    match &io.stdin {
        Some(fd) => {
            dup(fd, 0);
        }
        None => {
            let null =
                std::fs::File::open("/dev/null").map_err(ctx(|| "opening /dev/null".into()))?;
            dup(&OwnedFd::from(null), 0);
        }
    }
    if let Some(console) = &io.console {
        super::tty::setup_console(console).map_err(ctx(|| "setting up the terminal".into()))?;
    } else {
        dup(&io.stdout, 1);
        dup(&io.stderr, 2);
    }
    drop(io);
    // Before dropping privileges: without no_new_privs, installing a filter
    // needs CAP_SYS_ADMIN, which the container itself usually lacks.
    if let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().clone()) {
        super::seccomp::load(&s).map_err(|e| (125, format!("loading the seccomp profile: {e}")))?;
    }
    let cap_names = caps::names_of;
    if let Some(c) = process.capabilities() {
        caps::drop_bounding(&cap_names(c.bounding()))
            .map_err(ctx(|| "dropping capabilities from the bounding set".into()))?;
    }
    let user = process.user();
    let gids: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    caps::switch_user(user.uid(), user.gid(), &gids).map_err(|e| (125, e.to_string()))?;
    if let Some(c) = process.capabilities() {
        caps::set(
            &cap_names(c.effective()),
            &cap_names(c.permitted()),
            &cap_names(c.inheritable()),
            &cap_names(c.ambient()),
        )
        .map_err(ctx(|| "setting capabilities".into()))?;
    }
    if process.no_new_privileges().unwrap_or(false) {
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    }
    let cwd = process.cwd().to_string_lossy().into_owned();
    std::env::set_current_dir(&cwd).map_err(|e| {
        (
            126,
            format!("{cwd}: cannot enter the working directory: {e}"),
        )
    })?;
    let args = process.args().clone().unwrap_or_default();
    let env = process.env().clone().unwrap_or_default();
    if args.is_empty() {
        return Err((
            125,
            "no command specified: the image has no CMD or ENTRYPOINT and none was given".into(),
        ));
    }
    let prog = lookup_path(&args[0], &env)?;
    if init {
        super::init::run_as_init(&prog, &args, &env, err_fd)
    } else {
        exec(&prog, &args, &env)
    }
}

pub fn exec(prog: &str, args: &[String], env: &[String]) -> ChildResult {
    let c =
        |s: &str| CString::new(s).map_err(|_| (125, format!("argument {s:?} contains a NUL byte")));
    let cprog = c(prog)?;
    let cargs: Vec<CString> = args.iter().map(|a| c(a)).collect::<Result<_, _>>()?;
    let cenv: Vec<CString> = env.iter().map(|a| c(a)).collect::<Result<_, _>>()?;
    let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = cenv.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NUL-terminated arrays of valid C strings.
    unsafe { libc::execve(cprog.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let e = std::io::Error::last_os_error();
    let code = match e.raw_os_error() {
        Some(libc::ENOENT) => 127,
        _ => 126,
    };
    Err((code, format!("{prog}: {e}: OCI runtime error")))
}
