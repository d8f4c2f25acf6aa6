//! The built-in runtime: execute an OCI spec in-process. clone(2) into new
//! namespaces, then in the child: mounts (overlay rootfs, /proc, /dev, /sys,
//! binds), pivot_root, masked and read-only paths, hostname, rlimits, user,
//! capabilities, no_new_privs, seccomp, exec.
//!
//! The child reports a failure before exec on a close-on-exec pipe: end of
//! file there means exec succeeded (runc's and crun's trick).

use super::caps;
use super::cgroups::Cgroup;
use super::mounts::{do_mount, loopback_up, mask_paths, mount, pivot_root, setup_dev};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use rustix::fs::{Mode, OFlags};
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

impl ChildIo {
    pub fn raw_fds(&self) -> Vec<RawFd> {
        [
            Some(&self.stdout),
            Some(&self.stderr),
            self.stdin.as_ref(),
            self.console.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|f| f.as_raw_fd())
        .collect()
    }

    /// In the process about to exec: make these its fds 0, 1 and 2 (with
    /// a terminal: a new pty's slave, its master sent over the console
    /// socket). No stdin reads /dev/null.
    pub fn install(self) -> std::io::Result<()> {
        let dup = |fd: &OwnedFd, to: RawFd| {
            // SAFETY: dup2 onto a standard descriptor.
            unsafe { libc::dup2(fd.as_raw_fd(), to) };
        };
        match &self.stdin {
            Some(fd) => dup(fd, 0),
            None => dup(&OwnedFd::from(std::fs::File::open("/dev/null")?), 0),
        }
        match &self.console {
            Some(console) => super::tty::setup_console(console)?,
            None => {
                dup(&self.stdout, 1);
                dup(&self.stderr, 2);
            }
        }
        Ok(())
    }
}

/// chdir into the process's working directory, inside its root. A
/// container's missing workdir is told as podman does (libpod:
/// `workdir "..." does not exist on container ID`).
pub(super) fn enter_workdir(cwd: &str, container: Option<&str>) -> Result<(), (i32, String)> {
    std::env::set_current_dir(cwd).map_err(|e| match container {
        Some(id) if e.kind() == std::io::ErrorKind::NotFound => (
            126,
            format!("workdir {cwd:?} does not exist on container {id}"),
        ),
        _ => (
            126,
            format!("{cwd}: cannot enter the working directory: {e}"),
        ),
    })?;
    if !crate::process::cwd_is_inside_root() {
        return Err((
            126,
            format!("{cwd}: the working directory is outside the container's root"),
        ));
    }
    Ok(())
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

/// Work done on a created container before it may go on: wiring its
/// network namespace (given the init's pid). An error stops the start.
pub type Prestart<'a> = &'a mut dyn FnMut(i32) -> Result<(), String>;

/// Start the container's init. Returns its pid (in our namespace) once it
/// has exec'd the container process.
pub fn spawn(
    spec: &Spec,
    cgroup: Option<&Cgroup>,
    io: ChildIo,
    layers_dir: &Path,
    init: bool,
    prestart: Option<Prestart>,
) -> Result<i32, RuntimeError> {
    let (go_r, go_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // The child sets up its root while the monitor moves it into its
    // cgroup (a cgroup v1 migration waits for an RCU grace period, ~10 ms)
    // and wires its network; it waits for this pipe only before it execs.
    let (gate_r, gate_w) = pipe()?;
    let mut flags = 0;
    for n in namespaces(spec) {
        if n.path().is_none() {
            flags |= ns_flag(n.typ());
        }
    }
    if crate::log::enabled(crate::log::Level::Debug) {
        let mounts: Vec<String> = spec
            .mounts()
            .iter()
            .flatten()
            .map(|m| {
                format!(
                    "{}:{}",
                    m.typ().as_deref().unwrap_or("bind"),
                    m.destination().display()
                )
            })
            .collect();
        crate::log::debug(&format!(
            "runtime: clone flags {flags:#x}, root {}, mounts {}",
            spec.root()
                .as_ref()
                .map(|r| r.path().display().to_string())
                .unwrap_or_default(),
            mounts.join(" ")
        ));
    }
    let pid = clone_child(flags, joined_pid_ns(spec)?.as_ref())?;
    if pid == 0 {
        drop(go_w);
        drop(err_r);
        let err_fd = err_w.as_raw_fd();
        drop(gate_w);
        let (code, msg) = match child(spec, io, go_r, gate_r, layers_dir, init, err_fd) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let mut f = std::fs::File::from(err_w);
        let _ = f.write_all(format!("{code} {msg}").as_bytes());
        // SAFETY: leave the forked child at once, running no destructors.
        unsafe { libc::_exit(code) };
    }
    drop(go_r);
    drop(gate_r);
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
    if flags & libc::CLONE_NEWUSER != 0 {
        let linux = spec.linux().clone().unwrap_or_default();
        let conv =
            |m: Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<crate::process::userns::IdMap> {
                m.unwrap_or_default()
                    .iter()
                    .map(|e| crate::process::userns::IdMap {
                        container_id: e.container_id(),
                        host_id: e.host_id(),
                        size: e.size(),
                    })
                    .collect()
            };
        crate::process::userns::write_maps(
            pid,
            &conv(linux.uid_mappings().clone()),
            &conv(linux.gid_mappings().clone()),
        )
        .map_err(fail)?;
    }
    std::fs::File::from(go_w).write_all(b"g").map_err(fail)?;
    let (joined, wired) = std::thread::scope(|s| {
        let joining = cgroup.map(|cg| s.spawn(move || cg.add(pid)));
        let wired = prestart.map(|hook| hook(pid)).unwrap_or(Ok(()));
        let joined = joining
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("cgroup thread panicked")))
            })
            .unwrap_or(Ok(()));
        (joined, wired)
    });
    joined.map_err(fail)?;
    if let Err(msg) = wired {
        // SAFETY: kill/waitpid on our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        return Err(RuntimeError::Start { code: 125, msg });
    }
    // A child that already failed reports that on the error pipe.
    let _ = std::fs::File::from(gate_w).write_all(b"n");
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

/// A detached copy of the /dev/shm mount of another container, given its
/// mount namespace: a mount cannot be bound across namespaces, so the child
/// enters that one for the copy and comes back to its own.
fn other_shm(ns: &str) -> std::io::Result<OwnedFd> {
    let own = std::fs::File::open("/proc/self/ns/mnt")?;
    let other = std::fs::File::open(ns)?;
    setns(&other, libc::CLONE_NEWNS)?;
    use rustix::mount::OpenTreeFlags as F;
    let tree = rustix::mount::open_tree(
        rustix::fs::CWD,
        "/dev/shm",
        F::OPEN_TREE_CLONE | F::OPEN_TREE_CLOEXEC | F::AT_SYMLINK_NOFOLLOW,
    );
    setns(&own, libc::CLONE_NEWNS)?;
    Ok(tree?)
}

fn raw_clone(flags: libc::c_int) -> std::io::Result<i32> {
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
        return Err(std::io::Error::last_os_error());
    }
    Ok(pid as i32)
}

/// Clone the container's init: 0 in the child, its pid in the parent.
/// Into another container's pid namespace (a pod's, `--pid container:`),
/// a helper does it: setns(CLONE_NEWPID) places the caller's later children
/// for good (rootless, there is no going back to the host's namespace), so
/// a short-lived fork enters it and clones with CLONE_PARENT, which keeps
/// the monitor the init's parent.
fn clone_child(flags: libc::c_int, pid_ns: Option<&std::fs::File>) -> std::io::Result<i32> {
    let Some(ns) = pid_ns else {
        return raw_clone(flags);
    };
    let (r, w) = pipe()?;
    let helper = raw_clone(0)?;
    if helper == 0 {
        drop(r);
        let said = match setns(ns, libc::CLONE_NEWPID)
            .and_then(|()| raw_clone(flags | libc::CLONE_PARENT))
        {
            Ok(0) => {
                drop(w);
                return Ok(0);
            }
            Ok(pid) => format!("{pid}"),
            Err(e) => format!("E{}", e.raw_os_error().unwrap_or(libc::EIO)),
        };
        let _ = std::fs::File::from(w).write_all(said.as_bytes());
        // SAFETY: leave the helper at once, running no destructors.
        unsafe { libc::_exit(0) };
    }
    drop(w);
    let mut said = String::new();
    let read = std::fs::File::from(r).read_to_string(&mut said);
    // SAFETY: reap the helper, our own child (which has written or died).
    unsafe { libc::waitpid(helper, std::ptr::null_mut(), 0) };
    read?;
    match said.strip_prefix('E') {
        Some(errno) => Err(std::io::Error::from_raw_os_error(
            errno.parse().unwrap_or(libc::EIO),
        )),
        None => said
            .parse()
            .map_err(|_| std::io::Error::other("the pid namespace helper died")),
    }
}

/// The pid namespace the spec joins rather than creates, opened.
fn joined_pid_ns(spec: &Spec) -> std::io::Result<Option<std::fs::File>> {
    let path = namespaces(spec)
        .into_iter()
        .find(|n| n.typ() == LinuxNamespaceType::Pid)
        .and_then(|n| n.path().clone());
    match path {
        Some(p) => std::fs::File::open(&p)
            .map(Some)
            .map_err(|e| std::io::Error::new(e.kind(), format!("opening {}: {e}", p.display()))),
        None => Ok(None),
    }
}

fn setns(ns: &std::fs::File, flag: libc::c_int) -> std::io::Result<()> {
    // SAFETY: setns on an open namespace fd.
    if unsafe { libc::setns(ns.as_raw_fd(), flag) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn ctx<E: std::fmt::Display>(what: impl Fn() -> String) -> impl FnOnce(E) -> (i32, String) {
    move |e| (125, format!("{}: {e}", what()))
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
pub(super) fn lookup_path(cmd: &str, env: &[String]) -> Result<String, (i32, String)> {
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
    gate: OwnedFd,
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
    // Namespaces to join rather than create (--network container:|ns:);
    // the pid namespace the parent entered for the clone.
    for n in namespaces(spec) {
        if n.typ() == LinuxNamespaceType::Pid {
            continue;
        }
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
    let shared_shm = match spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(super::SHM_FROM_ANNOTATION))
    {
        Some(ns) => Some(other_shm(ns).map_err(ctx(|| format!("sharing /dev/shm of {ns}")))?),
        None => None,
    };
    if has_namespace(spec, LinuxNamespaceType::Network) {
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
        .and_then(|a| a.get(super::OVERLAY_ANNOTATION).cloned());
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
        .and_then(|a| a.get(super::COPY_UP_ANNOTATION).cloned())
    {
        super::volumes::copy_up(&rootfd, &list)
            .map_err(ctx(|| "filling a new volume from the image".into()))?;
    }
    for m in spec.mounts().clone().unwrap_or_default() {
        let dest = m.destination().display().to_string();
        match &shared_shm {
            Some(tree) if dest == "/dev/shm" => {
                let target = super::mounts::open_in_root(&rootfd, &dest, true)
                    .map_err(ctx(|| format!("opening {dest}")))?;
                rustix::mount::move_mount(
                    tree,
                    "",
                    &target,
                    "",
                    rustix::mount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH
                        | rustix::mount::MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
                )
                .map_err(ctx(|| format!("mounting the shared {dest}")))?;
            }
            _ => do_mount(&rootfd, &m).map_err(ctx(|| format!("mounting {dest}")))?,
        }
        if dest == "/dev" {
            setup_dev(&rootfd, spec).map_err(ctx(|| "populating /dev".into()))?;
        }
    }
    drop(rootfd);
    pivot_root(&rootfs).map_err(ctx(|| "pivot_root".into()))?;
    write_sysctls(spec)?;
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
        // Only in a UTS namespace of the container's own: never the host's name.
        if !has_namespace(spec, LinuxNamespaceType::Uts) {
            return Err((
                125,
                "a hostname needs a private UTS namespace (--uts host shares the host's)".into(),
            ));
        }
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
    // In its cgroup, its network wired: only now may it run its process.
    let mut b = [0u8; 1];
    std::fs::File::from(gate)
        .read_exact(&mut b)
        .map_err(ctx(|| "waiting for the monitor".into()))?;
    // Until now the monitor needed this process's /proc files (id maps,
    // /proc/<pid>/ns/net for pasta), which a non-dumpable process's are
    // not, rootless; and nothing else could see it: it is alone in its
    // new pid namespace. From here on its /proc/<pid>/fd and /exe are
    // closed to whatever may share its namespaces.
    crate::process::set_undumpable();
    io.install().map_err(ctx(|| "setting up stdio".into()))?;
    // Exactly fds 0, 1, 2 (and the close-on-exec error pipe) reach exec,
    // and those `run --preserve-fds` hands on, at their own numbers.
    let mut keep: Vec<RawFd> = super::options::preserved_fds().collect();
    for &fd in &keep {
        // SAFETY: clears FD_CLOEXEC on a descriptor this process holds.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    keep.push(err_fd);
    crate::process::close_fds(&keep);
    crate::process::reset_signals();
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
    let id = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(super::CONTAINER_ID_ANNOTATION).cloned());
    enter_workdir(&process.cwd().to_string_lossy(), id.as_deref())?;
    if spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(super::INFRA_ANNOTATION))
        .is_some_and(|v| v != "image")
    {
        super::init::pause();
    }
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
    // runc's wording (`exec: "/etc": permission denied`), errno as Go
    // spells it, and podman's OCI error class.
    let text = crate::format::go_errno_text(&e);
    let (code, class) = match e.raw_os_error() {
        Some(libc::ENOENT) => (
            127,
            "OCI runtime attempted to invoke a command that was not found",
        ),
        Some(libc::EACCES) | Some(libc::EPERM) => (126, "OCI permission denied"),
        _ => (126, "OCI runtime error"),
    };
    Err((code, format!("exec: {prog:?}: {text}: {class}")))
}

/// The spec's namespaces: those to create (no path) and to join.
fn namespaces(spec: &Spec) -> Vec<oci_spec::runtime::LinuxNamespace> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
}

/// Whether the container has a namespace of `typ` of its own (created).
fn has_namespace(spec: &Spec, typ: LinuxNamespaceType) -> bool {
    namespaces(spec)
        .iter()
        .any(|n| n.typ() == typ && n.path().is_none())
}

/// `linux.sysctl`, written into the container's own /proc/sys after the
/// pivot and before /proc/sys turns read-only. Each parameter must belong
/// to a namespace the container has of its own (create checked the names;
/// this checks again, so a spec from elsewhere cannot reach the host).
fn write_sysctls(spec: &Spec) -> Result<(), (i32, String)> {
    let Some(map) = spec.linux().as_ref().and_then(|l| l.sysctl().clone()) else {
        return Ok(());
    };
    for (k, v) in map {
        let ns = if k.starts_with("net.") {
            LinuxNamespaceType::Network
        } else if k == "kernel.hostname" || k == "kernel.domainname" {
            LinuxNamespaceType::Uts
        } else {
            LinuxNamespaceType::Ipc
        };
        let well_formed = k.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if !well_formed || !has_namespace(spec, ns) {
            return Err((
                125,
                format!("sysctl {k:?} is not allowed: the container does not own its namespace"),
            ));
        }
        std::fs::write(format!("/proc/sys/{}", k.replace('.', "/")), v.as_bytes())
            .map_err(|e| (125, format!("setting sysctl {k}={v}: {e}")))?;
    }
    Ok(())
}
