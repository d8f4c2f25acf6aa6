//! Rootless networking in user mode: pasta (Debian's `passt`, the
//! default) or slirp4netns connect a container's network namespace to the
//! host's through a tap device, as an unprivileged user may. Published
//! ports are bound on the host by these helpers themselves.
//!
//! Both need `/dev/net/tun` to be usable by the user (mode 0666, as distros
//! ship it).

use super::NetworkError;
use super::ports::PortMapping;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The helper serving one run of a container; `stop` ends it.
pub enum UserNet {
    /// pasta forks into the background once the namespace is configured;
    /// it outlives its target, so it is killed by pid (from its pid file).
    Pasta { pid_file: PathBuf },
    /// slirp4netns stays our child and exits when the exit pipe closes,
    /// also when the monitor is killed.
    Slirp {
        pid: i32,
        _exit: OwnedFd,
        api: PathBuf,
    },
}

fn spawn_err(what: &str, e: std::io::Error) -> NetworkError {
    NetworkError::Invalid(format!(
        "cannot run {what} ({e}): install the {} package, or use --network private",
        if what == "pasta" { "passt" } else { what }
    ))
}

/// pasta's port spec: `[ADDR/]HOSTPORT:CTRPORT`.
fn pasta_spec(p: &PortMapping) -> String {
    let addr = if p.host_ip.is_empty() {
        String::new()
    } else {
        format!("{}/", p.host_ip)
    };
    format!("{addr}{}:{}", p.host_port, p.container_port)
}

/// The container's network namespace reaches the helper as an inherited
/// fd, named by this path: both drop privileges before opening their
/// target, and /proc/PID/ns of a process that is not their descendant is
/// then closed to them, while their own fds are not.
const NETNS_FD: i32 = 3;
const NETNS_PATH: &str = "/proc/self/fd/3";

pub fn pasta_args(opts: &[String], ports: &[PortMapping], pid_file: &Path) -> Vec<String> {
    let mut a: Vec<String> = vec!["--config-net".into(), "--quiet".into(), "--pid".into()];
    a.push(pid_file.display().to_string());
    for (flag, proto) in [("-t", "tcp"), ("-u", "udp")] {
        let specs: Vec<String> = ports
            .iter()
            .filter(|p| p.protocol == proto)
            .map(pasta_spec)
            .collect();
        a.push(flag.into());
        a.push(if specs.is_empty() {
            "none".into()
        } else {
            specs.join(",")
        });
    }
    // Nothing from the container's side is forwarded to the host unless
    // asked for (pasta's default would be every bound port).
    for flag in ["-T", "-U"] {
        a.push(flag.into());
        a.push("none".into());
    }
    // IPv4 only unless asked for (`--network pasta:enable_ipv6=true`, the
    // key podman's slirp4netns options use): rootless podman 4 and docker
    // give containers no IPv6 by default either, and pasta's IPv6 set-up
    // is a third of its start-up time.
    let mut ipv6 = false;
    for o in opts {
        match o.as_str() {
            "enable_ipv6=true" => ipv6 = true,
            "enable_ipv6=false" => ipv6 = false,
            _ => a.push(o.clone()),
        }
    }
    if !ipv6 {
        a.push("-4".into());
    }
    a.push("--netns".into());
    a.push(NETNS_PATH.into());
    a
}

/// Hand `fds` (source, target) to a child being spawned.
fn pass_fds(cmd: &mut Command, fds: Vec<(i32, i32)>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only dup2/fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first: a source may sit on another's target.
            let mut high = Vec::with_capacity(fds.len());
            for &(src, dst) in &fds {
                let tmp = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, 100);
                if tmp < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                high.push((tmp, dst));
            }
            for (tmp, dst) in high {
                if libc::dup2(tmp, dst) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// podman's slirp4netns options (`--network slirp4netns:OPT=V,...`) as
/// slirp4netns arguments, with podman's defaults (no host loopback).
pub fn slirp_args(opts: &[String]) -> Result<Vec<String>, String> {
    let mut out = vec!["--mtu=65520".to_string()];
    let mut loopback = false;
    for o in opts {
        match o.split_once('=') {
            Some(("allow_host_loopback", v)) if v == "true" || v == "false" => {
                loopback = v == "true"
            }
            Some(("enable_ipv6", "true")) => out.push("--enable-ipv6".into()),
            Some(("enable_ipv6", "false")) => {}
            Some(("mtu", v)) if v.parse::<u32>().is_ok() => out[0] = format!("--mtu={v}"),
            Some(("cidr", v)) if v.parse::<super::ipam::Subnet>().is_ok() => {
                out.push(format!("--cidr={v}"))
            }
            Some(("outbound_addr", v)) if !v.is_empty() => out.push(format!("--outbound-addr={v}")),
            _ => {
                return Err(format!(
                    "invalid slirp4netns option {o:?}: supported are allow_host_loopback=true|false, enable_ipv6=true|false, mtu=N, cidr=CIDR, outbound_addr=ADDR"
                ));
            }
        }
    }
    if !loopback {
        out.push("--disable-host-loopback".into());
    }
    Ok(out)
}

/// Connect the namespace of `pid` with pasta or slirp4netns. `api` is
/// slirp4netns's control socket: a short path (sun_path holds 108 bytes).
pub fn start(
    mode: &str,
    opts: &[String],
    ports: &[PortMapping],
    rundir: &Path,
    api: &Path,
    pid: i32,
) -> Result<UserNet, NetworkError> {
    std::fs::create_dir_all(rundir)
        .map_err(|e| NetworkError::Io(format!("creating {}", rundir.display()), e))?;
    let netns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| NetworkError::Io("opening the container's network namespace".into(), e))?;
    if mode == "pasta" {
        let pid_file = rundir.join("pasta.pid");
        run_pasta(&netns, &pasta_args(opts, ports, &pid_file), &pid_file)?;
        return Ok(UserNet::Pasta { pid_file });
    }
    start_slirp(opts, ports, rundir, api, &netns)
}

/// pasta's own AVX2 build when the CPU has AVX2 and the distro ships it
/// (Debian: pasta.avx2 beside pasta): pasta would re-exec into it anyway,
/// and the extra exec is a measurable part of a container's start.
fn pasta_program() -> &'static str {
    static PROGRAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(|| {
        let avx2 = std::fs::read_to_string("/proc/cpuinfo")
            .map(|c| {
                c.lines()
                    .find(|l| l.starts_with("flags"))
                    .is_some_and(|l| l.split_whitespace().any(|f| f == "avx2"))
            })
            .unwrap_or(false);
        let on_path = std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("pasta.avx2"))
                .find(|c| c.exists())
        });
        match on_path {
            Some(p) if avx2 => p.display().to_string(),
            _ => "pasta".to_string(),
        }
    })
}

/// Is pasta on PATH?
pub fn pasta_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pasta").exists()))
}

/// Run pasta on `netns`; it returns once the namespace is configured and
/// stays in the background, its pid in `pid_file`.
fn run_pasta(netns: &std::fs::File, args: &[String], pid_file: &Path) -> Result<(), NetworkError> {
    let _ = std::fs::remove_file(pid_file);
    let mut cmd = Command::new(pasta_program());
    pass_fds(&mut cmd, vec![(netns.as_raw_fd(), NETNS_FD)]);
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| spawn_err("pasta", e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr)
            .lines()
            .rfind(|l| !l.starts_with("Failed to send") && !l.trim().is_empty())
            .unwrap_or("failed")
            .to_string();
        return Err(NetworkError::Invalid(format!("pasta: {msg}")));
    }
    Ok(())
}

/// The rootless network namespace's way out: a pasta with no ports of its
/// own (published ports are forwarded per container).
pub fn attach_pasta(netns: &std::fs::File, pid_file: &Path) -> Result<(), NetworkError> {
    run_pasta(netns, &pasta_args(&[], &[], pid_file), pid_file)
}

fn pasta_pid(pid_file: &Path) -> Option<i32> {
    let pid = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse::<i32>()
        .ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    // pasta runs as passt (or a CPU-specific passt.avx2 it re-executes).
    (comm.starts_with("pasta") || comm.starts_with("passt")).then_some(pid)
}

pub fn pasta_alive(pid_file: &Path) -> bool {
    pasta_pid(pid_file).is_some()
}

fn start_slirp(
    opts: &[String],
    ports: &[PortMapping],
    rundir: &Path,
    api: &Path,
    netns: &std::fs::File,
) -> Result<UserNet, NetworkError> {
    let pipe = || {
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| NetworkError::Io("creating a pipe".into(), e.into()))
    };
    let (ready_r, ready_w) = pipe()?;
    let (exit_r, exit_w) = pipe()?;
    let _ = std::fs::remove_file(api);
    let mut cmd = Command::new("slirp4netns");
    cmd.args([
        "--configure",
        "--ready-fd=4",
        "--exit-fd=5",
        "--netns-type=path",
    ])
    .arg(format!("--api-socket={}", api.display()))
    .args(slirp_args(opts).map_err(NetworkError::Invalid)?)
    .arg(NETNS_PATH)
    .arg("tap0")
    .stdin(Stdio::null())
    .stdout(Stdio::null());
    let log = rundir.join("slirp4netns.log");
    if let Ok(f) = std::fs::File::create(&log) {
        cmd.stderr(f);
    }
    pass_fds(
        &mut cmd,
        vec![
            (netns.as_raw_fd(), NETNS_FD),
            (ready_w.as_raw_fd(), 4),
            (exit_r.as_raw_fd(), 5),
        ],
    );
    let child = cmd.spawn().map_err(|e| spawn_err("slirp4netns", e))?;
    drop(ready_w);
    drop(exit_r);
    let mut b = [0u8; 1];
    let ready = std::fs::File::from(ready_r).read(&mut b).unwrap_or(0) == 1;
    let net = UserNet::Slirp {
        pid: child.id() as i32,
        _exit: exit_w,
        api: api.to_path_buf(),
    };
    if !ready {
        stop(net);
        let why = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(NetworkError::Invalid(format!(
            "slirp4netns exited before the network was ready: {}",
            why.lines().last().unwrap_or("no message")
        )));
    }
    for p in ports {
        let req = serde_json::json!({"execute": "add_hostfwd", "arguments": {
            "proto": p.protocol,
            "host_addr": if p.host_ip.is_empty() { "0.0.0.0" } else { p.host_ip.as_str() },
            "host_port": p.host_port,
            "guest_port": p.container_port,
        }});
        if let Err(e) = slirp_api(api, &req) {
            stop(net);
            return Err(NetworkError::Invalid(format!(
                "cannot publish port {}/{}: {e}; choose another host port",
                p.host_addr(),
                p.protocol
            )));
        }
    }
    Ok(net)
}

fn slirp_api(sock: &Path, req: &serde_json::Value) -> Result<(), String> {
    let mut s = std::os::unix::net::UnixStream::connect(sock).map_err(|e| e.to_string())?;
    s.write_all(req.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    match v.get("error") {
        Some(e) => Err(e["desc"].as_str().unwrap_or("error").to_string()),
        None => Ok(()),
    }
}

/// End the helper of one run.
pub fn stop(net: UserNet) {
    match net {
        UserNet::Pasta { pid_file } => kill_pasta(&pid_file),
        UserNet::Slirp { pid, _exit, api } => {
            drop(_exit);
            let _ = std::fs::remove_file(api);
            // SAFETY: reap our own child, which exits once its exit pipe closed.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        }
    }
}

/// Kill the pasta whose pid file this is (a container whose monitor died
/// leaves it behind until `rm`); a recycled pid is left alone.
pub fn kill_pasta(pid_file: &Path) {
    if let Some(pid) = pasta_pid(pid_file) {
        // SAFETY: a signal to the process we started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(pid_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasta_arguments() {
        let ports = crate::network::ports::parse("127.0.0.1:8080:80").unwrap();
        let udp = crate::network::ports::parse("5353:53/udp").unwrap();
        let all: Vec<PortMapping> = ports.into_iter().chain(udp).collect();
        let a = pasta_args(
            &["--mtu".into(), "1500".into()],
            &all,
            Path::new("/r/p.pid"),
        );
        assert_eq!(
            a.join(" "),
            "--config-net --quiet --pid /r/p.pid -t 127.0.0.1/8080:80 -u 5353:53 -T none -U none --mtu 1500 -4 --netns /proc/self/fd/3"
        );
        let s = slirp_args(&["allow_host_loopback=true".into(), "mtu=1500".into()]).unwrap();
        assert_eq!(s, vec!["--mtu=1500"]);
        assert!(
            slirp_args(&[])
                .unwrap()
                .contains(&"--disable-host-loopback".to_string())
        );
        assert!(slirp_args(&["port_handler=rootlesskit".into()]).is_err());
        let v6 = pasta_args(&["enable_ipv6=true".into()], &[], Path::new("/p"));
        assert!(!v6.contains(&"-4".to_string()) && !v6.contains(&"enable_ipv6=true".to_string()));
        let a = pasta_args(&[], &[], Path::new("/p"));
        assert!(a.join(" ").contains("-t none -u none"));
    }
}
