use super::Ctx;
use crate::storage::unpack::{UnpackOptions, unpack};
use clap::Args;
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, StatxFlags};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct CpArgs {
    /// Source: a host path, CONTAINER:PATH, or - (a tar stream on stdin)
    pub source: String,
    /// Destination: a host path, CONTAINER:PATH, or - (a tar stream on stdout)
    pub destination: String,
    /// Keep owners (the default, as podman's --archive)
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub archive: bool,
    /// Replace a directory with a non-directory and the other way round
    #[arg(long)]
    pub overwrite: bool,
    /// Pause running containers while copying
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub pause: bool,
}

/// `CONTAINER:PATH` -> Some((container, path)); a host path (which may
/// contain ':' after a '/') -> None.
fn split_container(s: &str) -> Option<(&str, &str)> {
    let (c, p) = s.split_once(':')?;
    (!c.is_empty() && !c.contains('/')).then_some((c, p))
}

/// Kernel filesystems mounted in a running container (/proc, /sys, ...):
/// the host kernel's state, not the container's files. podman copies from
/// the container's storage, where they are empty directories; berth reads
/// a running container through /proc/PID/root and must not wander in.
fn kernel_fs(fd: BorrowedFd<'_>) -> bool {
    use rustix::fs::{PROC_SUPER_MAGIC, fstatfs};
    // statfs(2) magic numbers; all fit 32 bits, whatever the width of f_type.
    const KERNEL: [u32; 17] = [
        PROC_SUPER_MAGIC as u32,
        0x6265_6572, // sysfs
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x1cd1,      // devpts
        0x1980_0202, // mqueue
        0x7363_6673, // securityfs
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0xcafe_4a11, // bpf
        0x6265_6570, // configfs
        0x6165_676c, // pstore
        0xde5e_81e4, // efivarfs
        0xf97c_ff8c, // selinuxfs
        0x6573_5543, // fusectl
        0x4249_4e4d, // binfmt_misc
        0x6e73_6673, // nsfs
    ];
    fstatfs(fd).is_ok_and(|s| KERNEL.contains(&(s.f_type as u32)))
}

/// The mount an fd is on (statx STATX_MNT_ID, Linux 5.8).
fn mount_id(fd: BorrowedFd<'_>) -> Option<u64> {
    rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)
        .ok()
        .filter(|s| s.stx_mask & StatxFlags::MNT_ID.bits() != 0)
        .map(|s| s.stx_mnt_id)
}

/// An fd's File view (for metadata and reading): an O_PATH fd reopened
/// through /proc/self/fd, which reaches the same inode and nothing else.
fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> std::io::Result<File> {
    let fd = rustix::fs::open(
        format!("/proc/self/fd/{}", fd.as_raw_fd()),
        flags | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

fn metadata(fd: BorrowedFd<'_>) -> std::io::Result<std::fs::Metadata> {
    // fstat of an O_PATH fd: a symlink's own metadata when opened NOFOLLOW.
    File::from(rustix::io::dup(fd)?).metadata()
}

/// Writes a tree into a tar stream through fds only: every child is opened
/// by its single name relative to its parent's fd with O_NOFOLLOW, so a
/// running container swapping a directory for a symlink mid-copy cannot
/// send the walk out of its root (CVE-2018-15664's race).
struct TreeWriter<W: Write> {
    tar: tar::Builder<W>,
    /// The mount the copied path is on: directories on other mounts below
    /// it (a running container's /proc, /sys, /dev) are copied empty, as
    /// podman's copy from the container's storage sees them.
    mount: Option<u64>,
}

impl<W: Write> TreeWriter<W> {
    /// `stay_on_mount`: a container's tree, whose nested mounts are not
    /// copied; a host tree the user named is copied whole.
    fn new(out: W, top: BorrowedFd<'_>, stay_on_mount: bool) -> Self {
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        TreeWriter {
            tar,
            mount: if stay_on_mount { mount_id(top) } else { None },
        }
    }

    /// `fd` (an O_PATH fd, already resolved) and everything below it, as `name`.
    fn append(&mut self, fd: BorrowedFd<'_>, name: &str) -> anyhow::Result<()> {
        let md = metadata(fd)?;
        let ft = md.file_type();
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&md, tar::HeaderMode::Complete);
        if ft.is_dir() {
            h.set_size(0);
            self.tar.append_data(&mut h, name, std::io::empty())?;
            let nested_mount = self.mount.is_some() && mount_id(fd) != self.mount;
            if !nested_mount && !kernel_fs(fd) {
                self.children(fd, name)?;
            }
        } else if ft.is_file() {
            // Exactly the size the header gives, should a running
            // container grow or shrink the file meanwhile.
            let size = md.len();
            let f = reopen(fd, OFlags::RDONLY)?;
            let data = std::io::Read::take(
                std::io::Read::chain(std::io::Read::take(f, size), std::io::repeat(0)),
                size,
            );
            self.tar.append_data(&mut h, name, data)?;
        } else if ft.is_symlink() {
            let target = rustix::fs::readlinkat(fd, "", Vec::new())?;
            let target = PathBuf::from(
                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(
                    target.into_bytes(),
                ),
            );
            h.set_size(0);
            self.tar.append_link(&mut h, name, target)?;
        } else if ft.is_socket() {
            // A socket cannot be archived (tar has no type for it); skip
            // it as GNU tar does.
        } else {
            // Fifos and device nodes: the header says it all.
            h.set_size(0);
            if ft.is_char_device() || ft.is_block_device() {
                h.set_device_major(rustix::fs::major(md.rdev()))?;
                h.set_device_minor(rustix::fs::minor(md.rdev()))?;
            }
            self.tar.append_data(&mut h, name, std::io::empty())?;
        }
        Ok(())
    }

    fn children(&mut self, dir: BorrowedFd<'_>, name: &str) -> anyhow::Result<()> {
        let readable = reopen(dir, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let mut names: Vec<std::ffi::CString> = rustix::fs::Dir::read_from(&readable)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_owned())
            .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
            .collect();
        names.sort();
        for n in names {
            let child = rustix::fs::openat(
                dir,
                n.as_c_str(),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let child_name = format!("{name}/{}", n.to_string_lossy());
            self.append(child.as_fd(), &child_name)?;
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<W> {
        Ok(self.tar.into_inner()?)
    }
}

/// Tar `src` as `name` on one thread and unpack it under `dest_root` on
/// this one, through a pipe: memory stays flat whatever the size.
fn stream(
    src: OwnedFd,
    from_container: bool,
    name: &str,
    children_only: bool,
    dest_root: &Path,
    opts: &UnpackOptions,
) -> anyhow::Result<()> {
    let (r, w) = std::io::pipe()?;
    let name = name.to_string();
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        let out = std::io::BufWriter::with_capacity(1 << 20, w);
        let mut t = TreeWriter::new(out, src.as_fd(), from_container);
        if children_only {
            // `SRC/.` into an existing directory: what is in it, not itself.
            t.children(src.as_fd(), if name.is_empty() { "." } else { &name })?;
        } else {
            t.append(src.as_fd(), &name)?;
        }
        t.finish()?.flush()?;
        Ok(())
    });
    let unpacked = unpack(
        std::io::BufReader::with_capacity(1 << 20, r),
        dest_root,
        opts,
    );
    let written = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the archiving thread panicked"))?;
    match (written, unpacked) {
        (Ok(()), Ok(())) => Ok(()),
        (Ok(()), Err(u)) => Err(u.into()),
        // The unpacker stopped reading: its error is the story, not the
        // writer's broken pipe.
        (Err(w), Err(u))
            if w.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Err(u.into())
        }
        (Err(w), _) => Err(w),
    }
}

/// A container's root, opened once: every path in it resolves with
/// RESOLVE_IN_ROOT from here, so "/" and ".." stop at it and no symlink
/// leads out of it.
struct Root(OwnedFd);

impl Root {
    fn open(path: &Path) -> std::io::Result<Root> {
        Ok(Root(rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?))
    }

    /// `path` inside the root ("/" or "" is the root itself).
    fn resolve(&self, path: &str, flags: OFlags) -> std::io::Result<OwnedFd> {
        let rel = path.trim_start_matches('/');
        Ok(rustix::fs::openat2(
            &self.0,
            if rel.is_empty() { "." } else { rel },
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )?)
    }

    fn is(&self, fd: BorrowedFd<'_>) -> bool {
        match (metadata(self.0.as_fd()), metadata(fd)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    /// The name a copy of `path` (resolved to `fd`) takes, as podman names
    /// it: a symlink is followed and the copy named after its target
    /// (`/hn -> /etc/hostname` copies as `hostname`); the root, however
    /// reached (`/`, a link to `/`, `../..`), has no name of its own and
    /// its contents are copied.
    fn source_name(&self, path: &str, fd: BorrowedFd<'_>) -> Option<String> {
        if self.is(fd) {
            return None;
        }
        let own = || {
            std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        };
        let last = base_name(path);
        if matches!(last.as_str(), "." | "..") {
            return own().or(Some(last));
        }
        let link = self.resolve(path, OFlags::PATH | OFlags::NOFOLLOW).ok()?;
        if !metadata(link.as_fd()).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(last);
        }
        let target = rustix::fs::readlinkat(&link, "", Vec::new()).ok()?;
        let target = target.to_string_lossy();
        match Path::new(target.as_ref()).components().next_back() {
            Some(std::path::Component::Normal(n)) => Some(n.to_string_lossy().into_owned()),
            _ => own().or(Some(last)),
        }
    }
}

fn base_name(p: &str) -> String {
    Path::new(p.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

/// podman's text for a source that is not there.
fn not_found(path: &str, on: &str, e: std::io::Error) -> anyhow::Error {
    let why = crate::format::go_errno_text(&e);
    anyhow::anyhow!("{path:?} could not be found on {on}: {why}")
}

/// podman's (buildah copier's) text for a directory meeting a
/// non-directory without --overwrite.
fn file_exists(side: &str, shown: &str, src_is_dir: bool) -> anyhow::Error {
    let call = if src_is_dir { "mkdir" } else { "open" };
    anyhow::anyhow!("copying to {side}: error creating {shown:?}: {call} {shown}: file exists")
}

/// A container path as podman reads it: relative paths start at the
/// container's working directory.
fn absolute(workdir: &str, p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    let wd = if workdir.is_empty() { "/" } else { workdir };
    format!("{}/{p}", wd.trim_end_matches('/'))
}

/// `/a/./b/../c/` -> `/a/c`, lexically (links resolve later, in the root).
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `p` below the directory `dir` ("" for `dir` itself).
fn under(p: &str, dir: &str) -> Option<String> {
    if dir == "/" {
        return None;
    }
    if p == dir {
        return Some(String::new());
    }
    p.strip_prefix(dir)
        .and_then(|r| r.strip_prefix('/'))
        .map(String::from)
}

/// The directory part of a relative path ("" for the root).
fn strip_dots(p: &str) -> &str {
    let mut b = p;
    loop {
        if let Some(x) = b.strip_suffix("/.") {
            b = x;
        } else if let Some(x) = b.strip_suffix('/') {
            b = x;
        } else {
            break;
        }
    }
    if b == "." { "" } else { b }
}

/// One side of a copy inside a container: the root its path resolves in
/// (the container's, or for a container that is not running the host
/// directory mounted at a prefix of the path, as podman copies into a
/// stopped container's volumes), and the path there.
struct Place {
    root: Root,
    /// Relative to `root`, with the user's trailing `/` or `/.` kept.
    path: String,
    /// The mount point `root` stands for ("" for the container's root).
    prefix: String,
    /// The container's name, for messages.
    cname: String,
}

impl Place {
    fn open(
        engine: &crate::engine::Engine,
        c: &crate::state::containers::ContainerRow,
        merged: &Path,
        cname: &str,
        raw: &str,
    ) -> anyhow::Result<Place> {
        let cfg = c.config();
        let abs = absolute(&cfg.workdir, raw);
        let suffix = if abs.ends_with("/.") {
            "/."
        } else if abs.ends_with('/') && abs != "/" {
            "/"
        } else {
            ""
        };
        let cleaned = clean(&abs);
        let open_err =
            |e: std::io::Error| anyhow::anyhow!("opening the filesystem of {cname}: {e}");
        // A running container's mounts are in its root already.
        if !merged.starts_with("/proc") {
            let mut mounts: Vec<(String, PathBuf)> = cfg
                .binds
                .iter()
                .map(|b| (clean(&b.destination), PathBuf::from(&b.source)))
                .chain(cfg.volumes.iter().filter_map(|v| {
                    engine
                        .volume(&v.name)
                        .ok()
                        .filter(|row| row.options.is_empty())
                        .map(|_| (clean(&v.destination), engine.volume_data(&v.name)))
                }))
                .filter(|(_, src)| src.is_dir())
                .collect();
            mounts.sort_by_key(|(d, _)| std::cmp::Reverse(d.len()));
            for (dest, src) in mounts {
                if let Some(rest) = under(&cleaned, &dest) {
                    return Ok(Place {
                        root: Root::open(&src).map_err(open_err)?,
                        path: format!("{rest}{suffix}"),
                        prefix: dest,
                        cname: cname.to_string(),
                    });
                }
            }
        }
        Ok(Place {
            root: Root::open(merged).map_err(open_err)?,
            path: format!("{}{suffix}", cleaned.trim_start_matches('/')),
            prefix: String::new(),
            cname: cname.to_string(),
        })
    }

    fn on(&self) -> String {
        format!("container {}", self.cname)
    }

    fn shown(&self, rel: &str) -> String {
        let p = format!("{}/{}", self.prefix, rel.trim_start_matches('/'));
        clean(&p)
    }

    fn kernel_fs_dir(&self, rel: &str) -> bool {
        self.root
            .resolve(rel, OFlags::PATH | OFlags::DIRECTORY)
            .is_ok_and(|fd| kernel_fs(fd.as_fd()))
    }
}

/// What is copied: an fd opened on it, the name its copy takes (None: the
/// contents of a directory, `DIR/.` or a root), and what it is.
struct Source {
    fd: OwnedFd,
    name: Option<String>,
    is_dir: bool,
    from_container: bool,
}

impl Source {
    fn container(place: &Place, raw: &str) -> anyhow::Result<Source> {
        let fd = place
            .root
            .resolve(&place.path, OFlags::PATH)
            .map_err(|e| not_found(raw, &place.on(), e))?;
        if kernel_fs(fd.as_fd()) {
            anyhow::bail!(
                "{}:{raw}: is on a kernel filesystem (/proc, /sys...) of the container, which cp does not copy",
                place.cname
            );
        }
        let is_dir = metadata(fd.as_fd())?.is_dir();
        let name = if place.path.ends_with("/.") || place.path == "." {
            None
        } else if !place.prefix.is_empty() && place.root.is(fd.as_fd()) {
            // A mount point itself: named as it is in the container.
            Some(base_name(&place.prefix))
        } else {
            place.root.source_name(&place.path, fd.as_fd())
        };
        Ok(Source {
            fd,
            name,
            is_dir,
            from_container: true,
        })
    }

    fn host(raw: &str) -> anyhow::Result<Source> {
        // podman: a host symlink given as the source is followed.
        let fd = rustix::fs::open(raw, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| not_found(raw, "the host", e.into()))?;
        let is_dir = metadata(fd.as_fd())?.is_dir();
        let contents = is_dir && (raw.ends_with("/.") || raw == ".");
        Ok(Source {
            fd,
            name: (!contents).then(|| base_name(raw)),
            is_dir,
            from_container: false,
        })
    }
}

/// Where a copy lands: a root the unpacker resolves every name in
/// (RESOLVE_IN_ROOT), the target relative to it, and whether only the
/// source's contents go there.
struct Target<'a> {
    root: &'a Root,
    rel: String,
    children_only: bool,
    side: &'static str,
    /// The target as podman names it in errors.
    shown: String,
}

/// The target in a container for `src` copied to `place` (docker's rules:
/// into an existing directory, else as that name in an existing parent).
fn container_target<'a>(place: &'a Place, raw: &str, src: &Source) -> anyhow::Result<Target<'a>> {
    let base = strip_dots(&place.path).to_string();
    let (rel, children_only) = match place.root.resolve(&place.path, OFlags::PATH) {
        Ok(fd) if metadata(fd.as_fd())?.is_dir() => match &src.name {
            None => (base, true),
            Some(n) if base.is_empty() => (n.clone(), false),
            Some(n) => (format!("{base}/{n}"), false),
        },
        Ok(_) if src.is_dir => {
            anyhow::bail!("destination must be a directory when copying a directory")
        }
        Ok(_) => (base, false),
        Err(e) => {
            if place.path.ends_with('/') || place.path.ends_with("/.") {
                return Err(not_found(raw, &place.on(), e));
            }
            // A dangling link is followed: the copy lands where it points
            // (podman creates the link's target), still inside the root.
            let base = match dangling_target(&place.root, &base) {
                Some(t) => t,
                None => base,
            };
            let parent = Path::new(&base)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            place
                .root
                .resolve(&parent, OFlags::PATH | OFlags::DIRECTORY)
                .map_err(|e| not_found(raw, &place.on(), e))?;
            (base, false)
        }
    };
    let parent = if children_only {
        rel.clone()
    } else {
        Path::new(&rel)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    if place.kernel_fs_dir(&parent) {
        anyhow::bail!(
            "{}:{raw}: is on a kernel filesystem (/proc, /sys...) of the container, which cp does not write to",
            place.cname
        );
    }
    Ok(Target {
        root: &place.root,
        shown: place.shown(&rel),
        rel,
        children_only,
        side: "container",
    })
}

/// Where the link at `rel` points, as a path relative to the root (an
/// absolute target is taken inside the root), if `rel` is a symlink.
fn dangling_target(root: &Root, rel: &str) -> Option<String> {
    let link = root.resolve(rel, OFlags::PATH | OFlags::NOFOLLOW).ok()?;
    if !metadata(link.as_fd()).ok()?.file_type().is_symlink() {
        return None;
    }
    let target = rustix::fs::readlinkat(&link, "", Vec::new()).ok()?;
    let target = target.to_string_lossy();
    let joined = if target.starts_with('/') {
        target.into_owned()
    } else {
        let parent = Path::new(rel)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("/{parent}/{target}")
    };
    Some(clean(&joined).trim_start_matches('/').to_string())
}

/// The target on the host; `root` is opened on the directory it lands in.
fn host_target(dest: &str, src: &Source) -> anyhow::Result<(Root, String, bool)> {
    let open = |dir: &Path| Root::open(dir).map_err(|e| not_found(dest, "the host", e));
    let parent_of = |d: &str| {
        Path::new(d)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ".".into())
    };
    match std::fs::metadata(dest) {
        Ok(m) if m.is_dir() => {
            let root = open(Path::new(dest))?;
            Ok(match &src.name {
                None => (root, String::new(), true),
                Some(n) => (root, n.clone(), false),
            })
        }
        Ok(m) if m.is_file() => {
            if src.is_dir {
                anyhow::bail!("destination must be a directory when copying a directory");
            }
            Ok((open(&parent_of(dest))?, base_name(dest), false))
        }
        Ok(_) => {
            anyhow::bail!("invalid destination: {dest:?} must be a directory or a regular file")
        }
        Err(e) => {
            if dest.ends_with('/') {
                return Err(not_found(dest, "the host", e));
            }
            Ok((open(&parent_of(dest))?, base_name(dest), false))
        }
    }
}

/// Remove `rel` (a file or a whole tree) inside `root`, through fds opened
/// one name at a time without following links.
fn remove_at(root: &Root, rel: &str) -> std::io::Result<()> {
    let p = Path::new(rel);
    let parent = p
        .parent()
        .map(|x| x.display().to_string())
        .unwrap_or_default();
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = root.resolve(&parent, OFlags::PATH | OFlags::DIRECTORY)?;
    remove_tree(dir.as_fd(), &name)
}

fn remove_tree(dir: BorrowedFd<'_>, name: &str) -> std::io::Result<()> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Directory {
        return Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?);
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let names: Vec<String> = rustix::fs::Dir::read_from(&sub)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    for n in names {
        remove_tree(sub.as_fd(), &n)?;
    }
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

/// Copy `src` to `t`: a directory and a non-directory meeting at the
/// target is an error unless --overwrite, which removes what is there.
fn land(src: Source, t: Target<'_>, overwrite: bool, opts: &UnpackOptions) -> anyhow::Result<()> {
    if !t.children_only
        && let Ok(existing) = t.root.resolve(&t.rel, OFlags::PATH | OFlags::NOFOLLOW)
        && metadata(existing.as_fd())?.is_dir() != src.is_dir
    {
        if !overwrite {
            return Err(file_exists(t.side, &t.shown, src.is_dir));
        }
        remove_at(t.root, &t.rel)
            .map_err(|e| anyhow::anyhow!("copying to {}: removing {}: {e}", t.side, t.shown))?;
    }
    let root_path = format!("/proc/self/fd/{}", t.root.0.as_raw_fd());
    stream(
        src.fd,
        src.from_container,
        &t.rel,
        t.children_only,
        Path::new(&root_path),
        opts,
    )
    .map_err(|e| anyhow::anyhow!("copying to {}: {e:#}", t.side))
}

/// Does this 512-byte block parse as a tar header (its checksum holds)?
fn looks_like_tar(b: &[u8]) -> bool {
    if b.len() < 512 {
        return false;
    }
    let stored = std::str::from_utf8(&b[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = b[..512]
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if (148..156).contains(&i) {
                32
            } else {
                x as u32
            }
        })
        .sum();
    stored == Some(sum)
}

/// `cp - CTR:DIR`: a tar stream (compressed or not) into a directory.
fn stdin_into(place: &Place, opts: &UnpackOptions) -> anyhow::Result<()> {
    use std::io::{BufRead, Read};
    let fd = place
        .root
        .resolve(&place.path, OFlags::PATH | OFlags::DIRECTORY)
        .map_err(|_| anyhow::anyhow!("destination must be a directory when copying from stdin"))?;
    if kernel_fs(fd.as_fd()) {
        anyhow::bail!(
            "{}:{}: is on a kernel filesystem (/proc, /sys...) of the container, which cp does not write to",
            place.cname,
            place.path
        );
    }
    let mut input = std::io::BufReader::new(std::io::stdin().lock());
    let head = input.fill_buf()?.to_vec();
    let not_tar =
        || anyhow::anyhow!("source must be a (compressed) tar archive when copying from stdin");
    let mut dec =
        crate::storage::layer::decompress(input, crate::image::manifest::Compression::sniff(&head))
            .map_err(|_| not_tar())?;
    let mut block = vec![0u8; 512];
    dec.read_exact(&mut block).map_err(|_| not_tar())?;
    if !looks_like_tar(&block) {
        return Err(not_tar());
    }
    unpack(
        std::io::Cursor::new(block).chain(dec),
        Path::new(&format!("/proc/self/fd/{}", fd.as_raw_fd())),
        opts,
    )
    .map_err(|e| anyhow::anyhow!("copying to {}:{}: {e}", place.cname, place.path))?;
    Ok(())
}

/// A container cp works on: its merged root (mounted here if need be) and
/// its cgroup while frozen for the copy.
struct Opened {
    c: crate::state::containers::ContainerRow,
    merged: crate::engine::rootfs::Merged,
    frozen: Option<crate::runtime::cgroups::Cgroup>,
}

fn open_container(
    engine: &crate::engine::Engine,
    name: &str,
    pause: bool,
) -> anyhow::Result<Opened> {
    let c = engine.container(name)?;
    let merged = engine.merged_root(&c)?;
    let mut frozen = None;
    // podman cp --pause (the default): a running container is paused for
    // the copy, so it sees the copy whole.
    if pause
        && c.state == "running"
        && merged.path.starts_with("/proc")
        && let Some(cg) = crate::runtime::cgroup_for(engine, &c.id)
        && cg.freeze(true).is_ok()
    {
        frozen = Some(cg);
    }
    Ok(Opened { c, merged, frozen })
}

fn close_container(engine: &crate::engine::Engine, o: Opened) -> anyhow::Result<()> {
    if let Some(cg) = o.frozen {
        cg.freeze(false)?;
    }
    if o.merged.mounted_here {
        engine.unmount_root(&o.c)?;
    }
    Ok(())
}

/// One side of `cp`: `CONTAINER:PATH` split (None for the host) and the
/// container opened for it.
type End<'a> = (Option<(&'a str, &'a str)>, Option<&'a Opened>);

fn copy(
    engine: &crate::engine::Engine,
    a: &CpArgs,
    ends: &[End<'_>],
    opts: &UnpackOptions,
) -> anyhow::Result<()> {
    let (src_end, dest_end) = (&ends[0], &ends[1]);
    let place = |end: &End<'_>| -> anyhow::Result<Option<Place>> {
        match (end.0, end.1) {
            (Some((cname, cpath)), Some(o)) => Ok(Some(Place::open(
                engine,
                &o.c,
                &o.merged.path,
                cname,
                cpath,
            )?)),
            _ => Ok(None),
        }
    };
    let src_place = place(src_end)?;
    let dest_place = place(dest_end)?;
    if a.source == "-" {
        let p = dest_place.as_ref().expect("a container destination");
        return stdin_into(p, opts);
    }
    let src = match (&src_place, src_end.0) {
        (Some(p), Some((_, raw))) => Source::container(p, raw)?,
        _ => Source::host(&a.source)?,
    };
    if a.destination == "-" {
        let out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut t = TreeWriter::new(out, src.fd.as_fd(), true);
        t.append(src.fd.as_fd(), src.name.as_deref().unwrap_or("."))?;
        t.finish()?.flush()?;
        return Ok(());
    }
    match (&dest_place, dest_end.0) {
        (Some(p), Some((_, raw))) => {
            let t = container_target(p, raw, &src)?;
            land(src, t, a.overwrite, opts)
        }
        _ => {
            let (root, rel, children_only) = host_target(&a.destination, &src)?;
            let t = Target {
                root: &root,
                shown: format!("/{rel}"),
                rel,
                children_only,
                side: "host",
            };
            land(src, t, a.overwrite, opts)
        }
    }
}

pub fn run(ctx: &Ctx, a: CpArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let opts = UnpackOptions {
        overlay_xattr_prefix: "user.berth-unused.",
        privileged: !engine.paths.rootless,
    };
    let src = split_container(&a.source);
    let dest = split_container(&a.destination);
    if src.is_none() && dest.is_none() {
        anyhow::bail!(
            "invalid arguments {}, {} you must use just one container",
            a.source,
            a.destination
        );
    }
    if a.source == "-" && dest.is_none() {
        anyhow::bail!("copying from stdin needs a container destination (CONTAINER:DIR)");
    }
    let mut opened: Vec<Option<Opened>> = Vec::new();
    let mut r = Ok(());
    for end in [src, dest] {
        match end
            .map(|(c, _)| open_container(&engine, c, a.pause))
            .transpose()
        {
            Ok(o) => opened.push(o),
            Err(e) => {
                r = Err(e);
                break;
            }
        }
    }
    if r.is_ok() {
        let ends: Vec<End<'_>> = [src, dest]
            .iter()
            .zip(&opened)
            .map(|(e, o)| (*e, o.as_ref()))
            .collect();
        r = copy(&engine, &a, &ends, &opts);
    }
    for o in opened.into_iter().flatten() {
        if let Err(e) = close_container(&engine, o)
            && r.is_ok()
        {
            r = Err(e);
        }
    }
    r
}
