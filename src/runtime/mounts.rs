//! The container's filesystem view, built in its own mount namespace:
//! spec mounts (every target opened inside the root), /dev, masked and
//! read-only paths, pivot_root, and the loopback interface.

use oci_spec::runtime::{Mount, Spec};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

pub(super) fn mount(
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
pub(super) fn parse_options(opts: &[String]) -> (libc::c_ulong, Vec<String>, libc::c_ulong, bool) {
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
            // mount(8)'s positive forms clear what an earlier option set.
            "suid" => flags &= !libc::MS_NOSUID,
            "dev" => flags &= !libc::MS_NODEV,
            "exec" => flags &= !libc::MS_NOEXEC,
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
            "z" | "Z" | "U" | "nocopy" | "tmpcopyup" | "notmpcopyup" => {}
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
pub(super) fn open_in_root(root: &OwnedFd, dest: &str, is_dir: bool) -> std::io::Result<OwnedFd> {
    open_in_root_depth(root, dest, is_dir, 0)
}

/// As securejoin's MkdirAll: missing components are created; a dangling
/// symlink on the way is followed *inside the root* (its target created
/// there), never on the host.
pub(super) fn open_in_root_depth(
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

pub(super) fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

pub(super) fn do_mount(root: &OwnedFd, m: &Mount) -> std::io::Result<()> {
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
        let data = (!data.is_empty()).then_some(data.as_str());
        let copy_up = typ == "tmpfs" && opts.iter().any(|o| o == "tmpcopyup");
        // What the image has at the destination, opened before the tmpfs
        // hides it (the fd keeps naming the covered directory).
        let lower = if copy_up {
            Some(rustix::fs::openat(
                &target,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?)
        } else {
            None
        };
        let flags = flags & !libc::MS_REC;
        match &lower {
            Some(lower) => {
                mount(
                    src.as_deref(),
                    &tpath,
                    Some(&typ),
                    flags & !libc::MS_RDONLY,
                    data,
                )?;
                let t = open_in_root(root, &dest, true)?;
                let upper = rustix::fs::openat(
                    &t,
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                copy_up_tree(lower, &upper, 0)?;
                if flags & libc::MS_RDONLY != 0 {
                    mount(None, &fd_path(&t), None, libc::MS_REMOUNT | flags, data)?;
                }
            }
            None => mount(src.as_deref(), &tpath, Some(&typ), flags, data)?,
        }
    }
    if prop != 0 {
        let t = open_in_root(root, &dest, is_dir)?;
        mount(None, &fd_path(&t), None, prop, None)?;
    }
    Ok(())
}

/// crun's `tmpcopyup`: copy a directory's tree into the fresh tmpfs over
/// it. Every name is opened relative to its parent's fd without following
/// symlinks (a symlink is copied as a symlink), so an image cannot point
/// the copy at anything outside its own directory.
fn copy_up_tree(src: &OwnedFd, dst: &OwnedFd, depth: u32) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, FileType};
    if depth > 256 {
        return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
    }
    let nofollow = AtFlags::SYMLINK_NOFOLLOW;
    for e in rustix::fs::Dir::read_from(src)? {
        let e = e?;
        let name = e.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let st = rustix::fs::statat(src, name, nofollow)?;
        let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                match rustix::fs::mkdirat(dst, name, mode) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let s = rustix::fs::openat(src, name, dir, Mode::empty())?;
                let d = rustix::fs::openat(dst, name, dir, Mode::empty())?;
                copy_up_tree(&s, &d, depth + 1)?;
            }
            FileType::RegularFile => {
                let s = rustix::fs::openat(
                    src,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let d = rustix::fs::openat(
                    dst,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    mode,
                )?;
                std::io::copy(&mut std::fs::File::from(s), &mut std::fs::File::from(d))?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(src, name, Vec::new())?;
                rustix::fs::symlinkat(&target, dst, name)?;
            }
            ft @ (FileType::CharacterDevice
            | FileType::BlockDevice
            | FileType::Fifo
            | FileType::Socket) => {
                // A user namespace may not make device nodes: skipped, as
                // nothing else could stand in for them.
                match rustix::fs::mknodat(dst, name, ft, mode, st.st_rdev) {
                    Ok(()) => {}
                    Err(rustix::io::Errno::PERM) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            FileType::Unknown => continue,
        }
        // Owners as in the image (ids this namespace cannot map are left
        // to the creator); chown clears set-id bits, so the mode goes after.
        let _ = rustix::fs::chownat(
            dst,
            name,
            Some(rustix::fs::Uid::from_raw(st.st_uid)),
            Some(rustix::fs::Gid::from_raw(st.st_gid)),
            nofollow,
        );
        if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
            rustix::fs::chmodat(dst, name, mode, AtFlags::empty())?;
        }
    }
    Ok(())
}

/// The spec's extra devices (a privileged container's host devices):
/// made inside /dev, their directories too; a node the kernel will not let
/// us make (a user namespace) is skipped, as nothing may be bound instead.
fn make_spec_devices(root: &OwnedFd, spec: &Spec) -> std::io::Result<()> {
    let devices = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    for d in devices {
        let path = d.path().to_string_lossy().into_owned();
        let Some(rel) = path.strip_prefix("/dev/") else {
            continue;
        };
        if rel.is_empty() || rel.split('/').any(|c| c == ".." || c.is_empty()) {
            continue;
        }
        let (parent, name) = match rel.rsplit_once('/') {
            Some((p, n)) => (format!("/dev/{p}"), n),
            None => ("/dev".to_string(), rel),
        };
        let dir = open_in_root(root, &parent, true)?;
        let dir = rustix::fs::openat(
            &dir,
            ".",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let ft = match d.typ() {
            oci_spec::runtime::LinuxDeviceType::B => rustix::fs::FileType::BlockDevice,
            _ => rustix::fs::FileType::CharacterDevice,
        };
        let mode = d.file_mode().unwrap_or(0o666);
        match rustix::fs::mknodat(
            &dir,
            name,
            ft,
            Mode::from_raw_mode(mode),
            rustix::fs::makedev(d.major() as u32, d.minor() as u32),
        ) {
            Ok(()) | Err(rustix::io::Errno::EXIST) | Err(rustix::io::Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
        let _ = rustix::fs::chmodat(
            &dir,
            name,
            Mode::from_raw_mode(mode),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        );
        let _ = rustix::fs::chownat(
            &dir,
            name,
            d.uid().map(rustix::fs::Uid::from_raw),
            d.gid().map(rustix::fs::Gid::from_raw),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        );
    }
    Ok(())
}

/// The device nodes every container gets, the spec's own, and the usual
/// /dev symlinks.
pub(super) fn setup_dev(root: &OwnedFd, spec: &Spec) -> std::io::Result<()> {
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
    make_spec_devices(root, spec)
}

/// A new network namespace starts with `lo` down; podman's `--network
/// none` has it up, and so do we.
pub(super) fn loopback_up() -> std::io::Result<()> {
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

pub(super) fn pivot_root(rootfs: &str) -> std::io::Result<()> {
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

pub(super) fn mask_paths(spec: &Spec) {
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
