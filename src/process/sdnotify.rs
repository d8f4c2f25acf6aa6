//! systemd's notify protocol: one datagram to `$NOTIFY_SOCKET` (a path,
//! or `@name` in the abstract namespace).

use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The socket systemd named, if any.
pub fn socket() -> Option<SocketAddr> {
    let v = std::env::var("NOTIFY_SOCKET")
        .ok()
        .filter(|v| !v.is_empty())?;
    match v.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes()).ok()
        }
        None => SocketAddr::from_pathname(v).ok(),
    }
}

/// Send `msg` (`READY=1\n`, ...) to `addr`; systemd's silence is not an
/// error worth failing a container for.
pub fn send(addr: &SocketAddr, msg: &str) {
    if let Ok(s) = UnixDatagram::unbound() {
        let _ = s.send_to_addr(msg.as_bytes(), addr);
    }
}
