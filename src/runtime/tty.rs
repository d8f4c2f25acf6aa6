//! Terminals: the container init makes a pty inside its own devpts and
//! sends the master to the monitor over a unix socket (runc's
//! --console-socket protocol, done in-process).

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// In the container, after pivot_root: open a pty, hand the master over
/// `sock`, and make the slave the controlling terminal and stdio.
pub fn setup_console(sock: &OwnedFd) -> io::Result<()> {
    use rustix::pty::OpenptFlags;
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
        rustix::fs::Mode::empty(),
    )?;
    send_fd(sock, &master)?;
    drop(master);
    // /dev/console is the terminal, as runc sets it up.
    if std::fs::File::create("/dev/console").is_ok() {
        let _ = rustix::mount::mount_bind(name.as_c_str(), c"/dev/console");
    }
    // SAFETY: ioctl/dup2 on descriptors we own.
    unsafe {
        if libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        for fd in 0..3 {
            libc::dup2(slave.as_raw_fd(), fd);
        }
    }
    Ok(())
}

pub fn send_fd(sock: &impl AsFd, fd: &impl AsFd) -> io::Result<()> {
    let fds = [fd.as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut buf = SendAncillaryBuffer::new(&mut space);
    buf.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(sock, &[IoSlice::new(b"f")], &mut buf, SendFlags::empty())?;
    Ok(())
}

pub fn recv_fd(sock: &impl AsFd) -> io::Result<OwnedFd> {
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut buf = RecvAncillaryBuffer::new(&mut space);
    let mut b = [0u8; 1];
    rustix::net::recvmsg(
        sock,
        &mut [IoSliceMut::new(&mut b)],
        &mut buf,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    for msg in buf.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg
            && let Some(fd) = fds.next()
        {
            return Ok(fd);
        }
    }
    Err(io::Error::other("no terminal received from the container"))
}

/// Put the user's terminal in raw mode for the life of the guard.
pub struct RawMode {
    fd: std::os::fd::RawFd,
    saved: rustix::termios::Termios,
}

impl RawMode {
    pub fn enter(fd: std::os::fd::BorrowedFd) -> io::Result<RawMode> {
        let saved = rustix::termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, &raw)?;
        Ok(RawMode {
            fd: fd.as_raw_fd(),
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: the fd outlives the guard (it is the process's stdin).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
        let _ = rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, &self.saved);
    }
}

/// Copy the user's terminal size onto the container's pty.
pub fn copy_winsize(from: std::os::fd::BorrowedFd, to: std::os::fd::BorrowedFd) {
    if let Ok(ws) = rustix::termios::tcgetwinsize(from) {
        let _ = rustix::termios::tcsetwinsize(to, ws);
    }
}
