//! `--runtime PATH`: the same bundle handed to an external OCI runtime
//! (runc, crun, youki). berth mounts the rootfs on the host, runs
//! `RUNTIME run --detach`, and becomes the container's parent as a child
//! subreaper (conmon's arrangement), so the monitor waits on it as usual.

use super::linux::{ChildIo, RuntimeError};
use std::path::Path;
use std::process::{Command, Stdio};

fn state_root(runroot: &Path) -> std::path::PathBuf {
    runroot.join("oci-runtime")
}

/// Start container `id` from the bundle in `bundle`. Returns the
/// container's pid.
pub fn spawn(
    runtime: &str,
    runroot: &Path,
    bundle: &Path,
    id: &str,
    // The overlay options, relative to the layers dir.
    overlay: Option<(&Path, &str)>,
    io: ChildIo,
    prestart: Option<super::linux::Prestart>,
) -> Result<i32, RuntimeError> {
    let rootfs = bundle.join("rootfs");
    if let Some((layers_dir, opts)) = overlay {
        // Relative lowerdirs, as the built-in runtime uses them.
        let cwd = std::env::current_dir()?;
        std::env::set_current_dir(layers_dir)?;
        let r = rustix::mount::mount(
            "overlay",
            &rootfs,
            "overlay",
            rustix::mount::MountFlags::empty(),
            Some(
                std::ffi::CString::new(opts)
                    .map_err(std::io::Error::other)?
                    .as_c_str(),
            ),
        );
        std::env::set_current_dir(cwd)?;
        r.map_err(|e| RuntimeError::Start {
            code: 125,
            msg: format!("mounting the rootfs for {runtime}: {e}"),
        })?;
    }
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let pid_file = bundle.join("oci-runtime.pid");
    let log_file = bundle.join("oci-runtime.log");
    let _ = std::fs::remove_file(&pid_file);
    let stdin: Stdio = match io.stdin {
        Some(fd) => Stdio::from(fd),
        None => Stdio::null(),
    };
    let mut cmd = Command::new(runtime);
    let preserved = super::options::preserved_fds();
    // The runtime gets stdio and nothing else of the monitor's (but the
    // `--preserve-fds` it is told to hand on), and default signals (the
    // monitor ignores SIGINT/SIGHUP/SIGPIPE, and a Go runtime such as runc
    // keeps ignored signals ignored for the container): it cannot hand on
    // what it never had.
    let keep = preserved.clone();
    // SAFETY: close_range, fcntl and rt_sigaction between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            crate::process::cloexec_fds();
            for fd in keep.clone() {
                libc::fcntl(fd, libc::F_SETFD, 0);
            }
            crate::process::reset_signals();
            Ok(())
        })
    };
    // podman hands `--runtime-flag`s to the runtime before its subcommand.
    cmd.args(super::options::external_args());
    let st = cmd
        .arg("--root")
        .arg(state_root(runroot))
        .arg("--log")
        .arg(&log_file)
        .args(["--log-format", "json"])
        // With work to do before the process runs: create, then start.
        .args(if prestart.is_some() {
            &["create", "--pid-file"][..]
        } else {
            &["run", "--detach", "--pid-file"][..]
        })
        .arg(&pid_file)
        // runc's and crun's `run`/`create` flag for fds 3.. to pass on.
        .args((!preserved.is_empty()).then(|| format!("--preserve-fds={}", preserved.len())))
        .arg("--bundle")
        .arg(bundle)
        .arg(id)
        .stdin(stdin)
        .stdout(Stdio::from(io.stdout))
        .stderr(Stdio::from(io.stderr))
        .status()
        .map_err(|e| RuntimeError::Start {
            code: 126,
            msg: format!("cannot run OCI runtime {runtime}: {e}"),
        })?;
    if !st.success() {
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        let msg = log
            .lines()
            .rev()
            .find_map(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .ok()
                    .and_then(|v| v["msg"].as_str().map(String::from))
            })
            .unwrap_or_else(|| format!("{runtime} failed ({st})"));
        cleanup(runtime, runroot, bundle, id);
        let code = if msg.contains("no such file or directory") || msg.contains("not found") {
            127
        } else {
            // podman's class for any other runtime failure (ErrOCIRuntime).
            126
        };
        return Err(RuntimeError::Start {
            code,
            msg: format!("{runtime}: {msg}"),
        });
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)?
        .trim()
        .parse()
        .map_err(std::io::Error::other)?;
    if let Some(hook) = prestart {
        let started = hook(pid).and_then(|()| {
            let st = Command::new(runtime)
                .args(super::options::external_args())
                .arg("--root")
                .arg(state_root(runroot))
                .args(["start", id])
                .status()
                .map_err(|e| format!("cannot run OCI runtime {runtime}: {e}"))?;
            if st.success() {
                Ok(())
            } else {
                Err(format!("{runtime} start failed ({st})"))
            }
        });
        if let Err(msg) = started {
            cleanup(runtime, runroot, bundle, id);
            return Err(RuntimeError::Start { code: 125, msg });
        }
    }
    Ok(pid)
}

/// After the container exited: the runtime's state, and the host mount.
pub fn cleanup(runtime: &str, runroot: &Path, bundle: &Path, id: &str) {
    let _ = Command::new(runtime)
        .args(super::options::external_args())
        .arg("--root")
        .arg(state_root(runroot))
        .args(["delete", "--force", id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = rustix::mount::unmount(bundle.join("rootfs"), rustix::mount::UnmountFlags::DETACH);
}
