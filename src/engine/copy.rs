//! `cp`: copying between a container and the host (or a tar stream), as
//! podman does: a running container is read and written through its
//! /proc/PID/root, paused for the copy; a stopped one through its mounted
//! root, with its volumes and binds at their mount points. Every path
//! resolves inside its root (RESOLVE_IN_ROOT); trees go through a tar
//! pipe (`copy_tree.rs`).

#[path = "copy_tree.rs"]
mod tree;
use super::Engine;
use super::containers::ContainerError;
use crate::state::containers::ContainerRow;
use crate::storage::unpack::{UnpackOptions, unpack};
use rustix::fs::{Mode, OFlags};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use tree::{Root, TreeWriter, base_name, kernel_fs, metadata, remove_at, stream};

/// A failed copy, in podman's words (a cause's own causes follow it after
/// ": ", as the CLI prints an error chain).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CopyError(String);

impl CopyError {
    fn msg(m: impl Into<String>) -> CopyError {
        CopyError(m.into())
    }

    /// An error and its causes on one line.
    fn chain(e: &(dyn std::error::Error + 'static)) -> CopyError {
        CopyError(crate::format::error_chain(e))
    }
}

impl From<std::io::Error> for CopyError {
    fn from(e: std::io::Error) -> Self {
        CopyError::chain(&e)
    }
}

impl From<ContainerError> for CopyError {
    fn from(e: ContainerError) -> Self {
        CopyError::chain(&e)
    }
}

macro_rules! err {
    ($($t:tt)*) => { CopyError::msg(format!($($t)*)) };
}

macro_rules! bail {
    ($($t:tt)*) => { return Err(err!($($t)*)) };
}

/// Where a copy comes from.
pub enum CopySource<'a> {
    /// A path on the host (a symlink named is followed, as podman does).
    Host(&'a str),
    /// `CONTAINER:PATH`.
    Container { name: &'a str, path: &'a str },
    /// A tar stream, compressed or not (`cp -`): into a container
    /// directory only.
    Tar(Box<dyn std::io::Read + 'a>),
}

/// Where a copy goes.
pub enum CopyTarget<'a> {
    Host(&'a str),
    Container {
        name: &'a str,
        path: &'a str,
    },
    /// The source as a tar stream.
    Tar(Box<dyn Write + 'a>),
}

#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// Replace a directory with a non-directory and the other way round.
    pub overwrite: bool,
    /// Pause a running container while copying.
    pub pause: bool,
}

/// podman's text for a source that is not there.
fn not_found(path: &str, on: &str, e: std::io::Error) -> CopyError {
    let why = crate::format::go_errno_text(&e);
    err!("{path:?} could not be found on {on}: {why}")
}

/// podman's (buildah copier's) text for a directory meeting a
/// non-directory without --overwrite.
fn file_exists(side: &str, shown: &str, src_is_dir: bool) -> CopyError {
    let call = if src_is_dir { "mkdir" } else { "open" };
    err!("copying to {side}: error creating {shown:?}: {call} {shown}: file exists")
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
        engine: &Engine,
        c: &ContainerRow,
        merged: &Path,
        cname: &str,
        raw: &str,
    ) -> Result<Place, CopyError> {
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
        let open_err = |e: std::io::Error| err!("opening the filesystem of {cname}: {e}");
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
    fn container(place: &Place, raw: &str) -> Result<Source, CopyError> {
        let fd = place
            .root
            .resolve(&place.path, OFlags::PATH)
            .map_err(|e| not_found(raw, &place.on(), e))?;
        if kernel_fs(fd.as_fd()) {
            bail!(
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

    fn host(raw: &str) -> Result<Source, CopyError> {
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
fn container_target<'a>(
    place: &'a Place,
    raw: &str,
    src: &Source,
) -> Result<Target<'a>, CopyError> {
    let base = strip_dots(&place.path).to_string();
    let (rel, children_only) = match place.root.resolve(&place.path, OFlags::PATH) {
        Ok(fd) if metadata(fd.as_fd())?.is_dir() => match &src.name {
            None => (base, true),
            Some(n) if base.is_empty() => (n.clone(), false),
            Some(n) => (format!("{base}/{n}"), false),
        },
        Ok(_) if src.is_dir => {
            bail!("destination must be a directory when copying a directory")
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
        bail!(
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
fn host_target(dest: &str, src: &Source) -> Result<(Root, String, bool), CopyError> {
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
                bail!("destination must be a directory when copying a directory");
            }
            Ok((open(&parent_of(dest))?, base_name(dest), false))
        }
        Ok(_) => {
            bail!("invalid destination: {dest:?} must be a directory or a regular file")
        }
        Err(e) => {
            if dest.ends_with('/') {
                return Err(not_found(dest, "the host", e));
            }
            Ok((open(&parent_of(dest))?, base_name(dest), false))
        }
    }
}

/// Copy `src` to `t`: a directory and a non-directory meeting at the
/// target is an error unless --overwrite, which removes what is there.
fn land(
    src: Source,
    t: Target<'_>,
    overwrite: bool,
    opts: &UnpackOptions,
) -> Result<(), CopyError> {
    if !t.children_only
        && let Ok(existing) = t.root.resolve(&t.rel, OFlags::PATH | OFlags::NOFOLLOW)
        && metadata(existing.as_fd())?.is_dir() != src.is_dir
    {
        if !overwrite {
            return Err(file_exists(t.side, &t.shown, src.is_dir));
        }
        remove_at(t.root, &t.rel)
            .map_err(|e| err!("copying to {}: removing {}: {e}", t.side, t.shown))?;
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
    .map_err(|e| err!("copying to {}: {e}", t.side))
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
fn stdin_into(
    place: &Place,
    input: Box<dyn std::io::Read + '_>,
    opts: &UnpackOptions,
) -> Result<(), CopyError> {
    use std::io::{BufRead, Read};
    let fd = place
        .root
        .resolve(&place.path, OFlags::PATH | OFlags::DIRECTORY)
        .map_err(|_| err!("destination must be a directory when copying from stdin"))?;
    if kernel_fs(fd.as_fd()) {
        bail!(
            "{}:{}: is on a kernel filesystem (/proc, /sys...) of the container, which cp does not write to",
            place.cname,
            place.path
        );
    }
    let mut input = std::io::BufReader::new(input);
    let head = input.fill_buf()?.to_vec();
    let not_tar = || err!("source must be a (compressed) tar archive when copying from stdin");
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
    .map_err(|e| err!("copying to {}:{}: {e}", place.cname, place.path))?;
    Ok(())
}

/// A container cp works on: its merged root (mounted here if need be) and
/// its cgroup while frozen for the copy.
struct Opened {
    c: ContainerRow,
    merged: crate::engine::rootfs::Merged,
    frozen: Option<crate::runtime::cgroups::Cgroup>,
}

fn open_container(engine: &Engine, name: &str, pause: bool) -> Result<Opened, CopyError> {
    let c = engine.container(name)?;
    let merged = engine.merged_root(&c)?;
    let mut frozen = None;
    // podman cp --pause (the default): a running container is paused for
    // the copy, so it sees the copy whole.
    if pause
        && c.state == "running"
        && merged.path.starts_with("/proc")
        && let Some(cg) = engine.cgroup(&c)
        && cg.freeze(true).is_ok()
    {
        frozen = Some(cg);
    }
    Ok(Opened { c, merged, frozen })
}

fn close_container(engine: &Engine, o: Opened) -> Result<(), CopyError> {
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
    engine: &Engine,
    source: CopySource<'_>,
    target: CopyTarget<'_>,
    ends: &[End<'_>],
    overwrite: bool,
    opts: &UnpackOptions,
) -> Result<(), CopyError> {
    let (src_end, dest_end) = (&ends[0], &ends[1]);
    let place = |end: &End<'_>| -> Result<Option<Place>, CopyError> {
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
    let src = match source {
        CopySource::Tar(input) => {
            let Some(p) = dest_place.as_ref() else {
                bail!("copying from stdin needs a container destination (CONTAINER:DIR)");
            };
            return stdin_into(p, input, opts);
        }
        // The container was opened above: its place is there.
        CopySource::Container { path, .. } => match &src_place {
            Some(p) => Source::container(p, path)?,
            None => Source::host(path)?,
        },
        CopySource::Host(path) => Source::host(path)?,
    };
    let dest = match target {
        CopyTarget::Tar(out) => {
            let out = std::io::BufWriter::new(out);
            let mut t = TreeWriter::new(out, src.fd.as_fd(), true);
            t.append(src.fd.as_fd(), src.name.as_deref().unwrap_or("."))?;
            t.finish()?.flush()?;
            return Ok(());
        }
        CopyTarget::Host(d) | CopyTarget::Container { path: d, .. } => d,
    };
    match (&dest_place, dest_end.0) {
        (Some(p), Some((_, raw))) => {
            let t = container_target(p, raw, &src)?;
            land(src, t, overwrite, opts)
        }
        _ => {
            let (root, rel, children_only) = host_target(dest, &src)?;
            let t = Target {
                root: &root,
                shown: format!("/{rel}"),
                rel,
                children_only,
                side: "host",
            };
            land(src, t, overwrite, opts)
        }
    }
}

/// What docker's archive HEAD (and GET, in a header) says of a container
/// path: the name, size, mode (Go's FileMode bits), mtime and where a
/// symlink points.
#[derive(Debug, Clone)]
pub struct PathStat {
    pub name: String,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub link_target: String,
}

impl Engine {
    /// Stat `path` in container `name`, resolved inside its root as `cp`
    /// resolves it (a final symlink is described, not followed).
    pub fn stat_container_path(&self, name: &str, path: &str) -> Result<PathStat, CopyError> {
        use std::os::unix::fs::MetadataExt;
        let o = open_container(self, name, false)?;
        let r = (|| {
            let place = Place::open(self, &o.c, &o.merged.path, &o.c.name, path)?;
            let fd = place
                .root
                .resolve(&place.path, OFlags::PATH | OFlags::NOFOLLOW)
                .map_err(|e| not_found(path, &place.on(), e))?;
            let md = metadata(fd.as_fd())?;
            let link_target = if md.file_type().is_symlink() {
                rustix::fs::readlinkat(&fd, "", Vec::new())
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            Ok(PathStat {
                name: base_name(&clean(&absolute(&o.c.config().workdir, path))),
                size: md.size(),
                mode: go_file_mode(md.mode()),
                mtime: md.mtime(),
                link_target,
            })
        })();
        close_container(self, o)?;
        r
    }

    /// `cp`: copy `source` to `target` (at least one of them in a
    /// container, or a tar stream into one), docker's and podman's rules
    /// for where a copy lands. Containers are opened (a stopped one's root
    /// mounted here, a running one paused with `pause`) for the copy and
    /// closed after it, whatever its outcome.
    pub fn copy(
        &self,
        source: CopySource<'_>,
        target: CopyTarget<'_>,
        o: CopyOptions,
    ) -> Result<(), CopyError> {
        let opts = UnpackOptions {
            overlay_xattr_prefix: "user.berth-unused.",
            privileged: !self.paths.rootless,
        };
        let src = match &source {
            CopySource::Container { name, path } => Some((*name, *path)),
            _ => None,
        };
        let dest = match &target {
            CopyTarget::Container { name, path } => Some((*name, *path)),
            _ => None,
        };
        let mut opened: Vec<Option<Opened>> = Vec::new();
        let mut r = Ok(());
        for end in [src, dest] {
            match end
                .map(|(c, _)| open_container(self, c, o.pause))
                .transpose()
            {
                Ok(x) => opened.push(x),
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
                .map(|(e, x)| (*e, x.as_ref()))
                .collect();
            r = copy(self, source, target, &ends, o.overwrite, &opts);
        }
        for x in opened.into_iter().flatten() {
            if let Err(e) = close_container(self, x)
                && r.is_ok()
            {
                r = Err(e);
            }
        }
        r
    }
}

/// A Unix mode as Go's os.FileMode: permission bits, and the type as
/// Go's flag bits (docker's clients decode it so).
fn go_file_mode(mode: u32) -> u32 {
    let mut m = mode & 0o777;
    if mode & libc::S_ISUID != 0 {
        m |= 1 << 23;
    }
    if mode & libc::S_ISGID != 0 {
        m |= 1 << 22;
    }
    if mode & libc::S_ISVTX != 0 {
        m |= 1 << 20;
    }
    m | match mode & libc::S_IFMT {
        libc::S_IFDIR => 1 << 31,
        libc::S_IFLNK => 1 << 27,
        libc::S_IFIFO => 1 << 25,
        libc::S_IFSOCK => 1 << 24,
        libc::S_IFBLK => 1 << 26,
        libc::S_IFCHR => (1 << 26) | (1 << 21),
        _ => 0,
    }
}
