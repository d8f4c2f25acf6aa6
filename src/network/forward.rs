//! Published ports of rootless containers on user-defined networks: their
//! bridge lives in the rootless network namespace, which the host cannot
//! route to, so a small forwarder per container (podman's rootlessport)
//! listens on the host ports and connects to the container's address from
//! inside that namespace. TCP only.

use super::ports::PortMapping;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

/// The host side, bound before the container starts (so a taken port fails
/// the start, as a reservation does).
pub fn bind(ports: &[PortMapping]) -> std::io::Result<Vec<(TcpListener, u16)>> {
    let mut out = Vec::new();
    for p in ports {
        let addr = tcp_addr(
            p,
            "rootless containers on user-defined networks publish TCP ports only; use --network pasta for UDP",
        )?;
        out.push((TcpListener::bind(addr)?, p.container_port));
    }
    Ok(out)
}

/// The host address of a TCP port mapping (`why` says what refuses UDP).
fn tcp_addr(p: &PortMapping, why: &str) -> std::io::Result<SocketAddr> {
    if p.protocol != "tcp" {
        return Err(std::io::Error::other(format!(
            "{}/{}: {why}",
            p.host_addr(),
            p.protocol
        )));
    }
    let ip: IpAddr = p
        .host_ip
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    Ok(SocketAddr::new(ip, p.host_port))
}

/// Ports several containers publish together (the pods of a kube
/// Service): each binds with SO_REUSEPORT, and the kernel spreads new
/// connections over the listeners of every container that runs. Only
/// sockets of the same user can join such a group.
pub fn bind_shared(ports: &[PortMapping]) -> std::io::Result<Vec<(TcpListener, u16)>> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, bind, listen, socket_with, sockopt};
    let mut out = Vec::new();
    for p in ports {
        let addr = tcp_addr(p, "ports shared by several pods are TCP only")?;
        let family = if addr.is_ipv6() {
            AddressFamily::INET6
        } else {
            AddressFamily::INET
        };
        let fd = socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
        sockopt::set_socket_reuseaddr(&fd, true)?;
        sockopt::set_socket_reuseport(&fd, true)?;
        bind(&fd, &addr)?;
        listen(&fd, 128)?;
        out.push((TcpListener::from(fd), p.container_port));
    }
    Ok(out)
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

fn serve(listener: TcpListener, target: SocketAddr) {
    for conn in listener.incoming() {
        let Ok(client) = conn else { continue };
        std::thread::spawn(move || {
            let Ok(upstream) = TcpStream::connect(target) else {
                return;
            };
            let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
                return;
            };
            let t = std::thread::spawn(move || pump(c2, u2));
            pump(upstream, client);
            let _ = t.join();
        });
    }
}

/// Fork the forwarder: it joins `netns` (its listeners stay in the host's)
/// and relays until killed; it dies with the monitor. Returns its pid.
pub fn spawn(
    listeners: Vec<(TcpListener, u16)>,
    netns: &std::fs::File,
    ctr_ip: IpAddr,
) -> std::io::Result<i32> {
    // SAFETY: fork from the single-threaded monitor; the child only joins
    // a namespace, relays on its own threads and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(pid);
    }
    let mut keep: Vec<i32> = listeners.iter().map(|(l, _)| l.as_raw_fd()).collect();
    keep.push(netns.as_raw_fd());
    crate::process::close_fds(&keep);
    crate::process::devnull_stdio(&[0, 1, 2]);
    // SAFETY: prctl/setns with plain arguments in the new child.
    let joined = unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) == 0
    };
    if !joined {
        // SAFETY: leave the forked child at once.
        unsafe { libc::_exit(1) };
    }
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|(l, port)| std::thread::spawn(move || serve(l, SocketAddr::new(ctr_ip, port))))
        .collect();
    for t in threads {
        let _ = t.join();
    }
    // SAFETY: leave the forked child, running no destructors of the monitor.
    unsafe { libc::_exit(0) }
}
