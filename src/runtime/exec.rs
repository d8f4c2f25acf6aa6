//! Running another process in a running container (`exec`, health checks):
//! join its namespaces with setns(2), its cgroup, then drop to its user,
//! capabilities and seccomp profile, and exec.

use super::linux::{ChildIo, RuntimeError};
use oci_spec::runtime::Spec;
use std::os::fd::{AsRawFd, OwnedFd};

pub struct ExecOptions {
    pub args: Vec<String>,
    /// Added to (and overriding) the container's environment.
    pub env: Vec<String>,
    /// `-u`; None: the container's user.
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub privileged: bool,
    pub tty: bool,
}

const NAMESPACES: [(&str, libc::c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
];

/// The running container a process joins: its OCI spec (the process
/// defaults: env, capabilities, seccomp, rlimits, ...), its init's pid, its
/// cgroup, and the user its processes run as unless told otherwise.
pub struct Target {
    pub spec: Spec,
    pub pid: i32,
    pub cgroup: Option<super::cgroups::Cgroup>,
    pub user: String,
}

fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = base.to_vec();
    for e in extra {
        let key = e.split('=').next().unwrap_or("");
        out.retain(|x| x.split('=').next() != Some(key));
        out.push(e.clone());
    }
    out
}

/// Fork a process that joins the container of `pid` and execs. Returns the
/// pid of our direct child, whose exit status is the exec'd process's,
/// once the command has been exec'd (or the error that kept it from it).
///
/// The helper is non-dumpable from its first instruction and keeps only
/// the descriptors it needs: it is visible in the container's pid
/// namespace until it execs, and container root must not reach the host
/// through /proc/<helper>/fd or /exe (runc's nsexec does the same).
pub fn spawn(target: &Target, opts: &ExecOptions, io: ChildIo) -> Result<i32, RuntimeError> {
    let spec = &target.spec;
    let pid = target.pid;
    // Open the namespace files now, while /proc is the host's.
    let mut ns: Vec<(OwnedFd, libc::c_int)> = Vec::new();
    let self_ns = |n: &str| std::fs::read_link(format!("/proc/self/ns/{n}")).ok();
    for (name, flag) in NAMESPACES {
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{name}")).ok();
        if theirs.is_some() && theirs != self_ns(name) {
            let f = std::fs::File::open(format!("/proc/{pid}/ns/{name}"))?;
            ns.push((OwnedFd::from(f), flag));
        }
    }
    let cgroup = target.cgroup.as_ref();
    let user_spec = opts.user.clone().unwrap_or_else(|| target.user.clone());
    let process = spec.process().clone().unwrap_or_default();
    let env = merge_env(process.env().as_deref().unwrap_or(&[]), &opts.env);
    let (err_r, err_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // SAFETY: fork; the child only joins namespaces, forks and waits.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if child == 0 {
        crate::process::set_undumpable();
        drop(err_r);
        let mut keep: Vec<i32> = ns.iter().map(|(fd, _)| fd.as_raw_fd()).collect();
        keep.push(err_w.as_raw_fd());
        keep.extend(io.raw_fds());
        keep.extend(super::options::preserved_fds());
        crate::process::close_fds(&keep);
        let code = match child_main(spec, ns, cgroup, &user_spec, &env, opts, io, err_w) {
            Ok(c) => c,
            Err((code, msg, err_w)) => {
                let _ = rustix::io::write(&err_w, format!("{code} {msg}").as_bytes());
                code
            }
        };
        // SAFETY: leave the forked child without running destructors.
        unsafe { libc::_exit(code) };
    }
    drop(err_w);
    drop(io);
    let mut msg = String::new();
    let _ = std::io::Read::read_to_string(&mut std::fs::File::from(err_r), &mut msg);
    if !msg.is_empty() {
        // SAFETY: reap our own child.
        unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
        let (code, text) = msg.split_once(' ').unwrap_or(("125", &msg));
        return Err(RuntimeError::Start {
            code: code.parse().unwrap_or(125),
            msg: text.to_string(),
        });
    }
    Ok(child)
}

#[allow(clippy::too_many_arguments)]
fn child_main(
    spec: &Spec,
    ns: Vec<(OwnedFd, libc::c_int)>,
    cgroup: Option<&super::cgroups::Cgroup>,
    user_spec: &str,
    env: &[String],
    opts: &ExecOptions,
    io: ChildIo,
    err_w: OwnedFd,
) -> Result<i32, (i32, String, OwnedFd)> {
    if let Some(cg) = cgroup {
        let _ = cg.add(std::process::id() as i32);
    }
    for (fd, flag) in &ns {
        // SAFETY: setns on a namespace fd we opened.
        if unsafe { libc::setns(fd.as_raw_fd(), *flag) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err((
                125,
                format!("joining the container's namespaces: {e}"),
                err_w,
            ));
        }
    }
    drop(ns);
    // Joining a pid namespace applies to children: fork once more. This
    // process stays to pass the status on.
    // SAFETY: fork; the grandchild execs, this child waits for it.
    let gc = unsafe { libc::fork() };
    if gc < 0 {
        let e = std::io::Error::last_os_error();
        return Err((125, format!("fork: {e}"), err_w));
    }
    if gc > 0 {
        // The grandchild holds the error pipe until it execs: the caller
        // sees end-of-file then, not when the command ends.
        drop(err_w);
        drop(io);
        let mut status = 0;
        // SAFETY: wait for our own child.
        unsafe { libc::waitpid(gc, &mut status, 0) };
        return Ok(if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        });
    }
    let r = grandchild(spec, user_spec, env, opts, io, err_w.as_raw_fd());
    let (code, msg) = match r {
        Err(e) => e,
        Ok(never) => match never {},
    };
    let _ = rustix::io::write(&err_w, format!("{code} {msg}").as_bytes());
    // SAFETY: leave at once.
    unsafe { libc::_exit(code) };
}

fn grandchild(
    spec: &Spec,
    user_spec: &str,
    env: &[String],
    opts: &ExecOptions,
    io: ChildIo,
    err_fd: i32,
) -> Result<std::convert::Infallible, (i32, String)> {
    // SAFETY: prctl/setsid with plain arguments.
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
    io.install()
        .map_err(|e| (125, format!("setting up the terminal: {e}")))?;
    // Nothing but stdio, the close-on-exec error pipe and what
    // `exec --preserve-fds` hands on from here on.
    let mut keep: Vec<i32> = super::options::preserved_fds().collect();
    for &fd in &keep {
        // SAFETY: clears FD_CLOEXEC on a descriptor this process holds.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    keep.push(err_fd);
    crate::process::close_fds(&keep);
    crate::process::reset_signals();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let mut user = super::user::resolve(user_spec, &passwd, &group).map_err(|e| (125, e))?;
    let process = spec.process().clone().unwrap_or_default();
    // As the container's own user, the container's groups (`--group-add`
    // included), as podman's exec gives them.
    if opts.user.is_none()
        && let Some(g) = process.user().additional_gids()
    {
        user.additional_gids = g.clone();
    }
    if !opts.privileged
        && let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().clone())
    {
        super::seccomp::load(&s).map_err(|e| (125, format!("loading the seccomp profile: {e}")))?;
    }
    let names = super::caps::names_of;
    let caps = process.capabilities().clone().unwrap_or_default();
    let (bounding, permitted) = if opts.privileged {
        let all: Vec<String> = super::caps::NAMES
            .iter()
            .take(super::caps::last_cap() as usize + 1)
            .map(|s| s.to_string())
            .collect();
        (all.clone(), all)
    } else {
        (names(caps.bounding()), names(caps.permitted()))
    };
    super::caps::drop_bounding(&bounding)
        .map_err(|e| (125, format!("dropping capabilities: {e}")))?;
    super::caps::switch_user(user.uid, user.gid, &user.additional_gids)
        .map_err(|e| (125, format!("switching to user {user_spec:?}: {e}")))?;
    let effective = if user.uid == 0 {
        permitted.clone()
    } else {
        vec![]
    };
    super::caps::set(&effective, &permitted, &[], &[])
        .map_err(|e| (125, format!("setting capabilities: {e}")))?;
    if process.no_new_privileges().unwrap_or(false) {
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    }
    let cwd = opts
        .workdir
        .clone()
        .unwrap_or_else(|| process.cwd().to_string_lossy().into_owned());
    super::linux::enter_workdir(&cwd, None)?;
    let mut env = env.to_vec();
    if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let prog = super::linux::lookup_path(&opts.args[0], &env)?;
    super::linux::exec(&prog, &opts.args, &env)
}

/// Run a health check command: its exit code (-1 past `timeout`, as
/// podman records it) and what it wrote to stdout and stderr, in order.
pub fn run_check(target: &Target, test: &[String], timeout: std::time::Duration) -> (i32, Vec<u8>) {
    let args: Vec<String> = match test.first().map(String::as_str) {
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")],
        Some("CMD") => test[1..].to_vec(),
        Some("NONE") | None => return (0, vec![]),
        Some(_) => test.to_vec(),
    };
    if args.is_empty() {
        return (0, vec![]);
    }
    let failed = |what: &str, e: std::io::Error| (1, format!("{what}: {e}").into_bytes());
    // One anonymous file for both streams, so their lines keep their order.
    let out = match rustix::fs::memfd_create("healthcheck", rustix::fs::MemfdFlags::CLOEXEC) {
        Ok(fd) => fd,
        Err(e) => return failed("creating the output file", e.into()),
    };
    let (stdout, stderr) = match (out.try_clone(), out.try_clone()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return failed("duplicating the output file", e),
    };
    let io = ChildIo {
        stdin: None,
        stdout,
        stderr,
        console: None,
    };
    let opts = ExecOptions {
        args,
        env: vec![],
        user: None,
        workdir: None,
        privileged: false,
        tty: false,
    };
    let child = match spawn(target, &opts, io) {
        Ok(c) => c,
        Err(e) => return (1, e.to_string().into_bytes()),
    };
    let deadline = std::time::Instant::now() + timeout;
    let code = loop {
        let mut status = 0;
        // SAFETY: poll our own child.
        let r = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
        if r == child {
            break if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            };
        }
        if std::time::Instant::now() > deadline {
            // SAFETY: kill and reap our own child.
            unsafe {
                libc::kill(child, libc::SIGKILL);
                libc::waitpid(child, std::ptr::null_mut(), 0);
            }
            break -1;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // The first 4 KiB are plenty: the record keeps 500 bytes.
    let mut buf = vec![0u8; 4096];
    let n = rustix::io::pread(&out, &mut buf, 0).unwrap_or(0);
    buf.truncate(n);
    (code, buf)
}
