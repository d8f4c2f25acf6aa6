use super::Ctx;
use crate::storage::unpack::{UnpackOptions, unpack};
use clap::Args;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct CpArgs {
    /// Source: a host path, CONTAINER:PATH, or - (a tar stream on stdin)
    pub source: String,
    /// Destination: a host path, CONTAINER:PATH, or - (a tar stream on stdout)
    pub destination: String,
    /// Keep owners (the default, as podman's --archive)
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub archive: bool,
}

/// `CONTAINER:PATH` -> Some((container, path)); a host path (which may
/// contain ':' after a '/') -> None.
fn split_container(s: &str) -> Option<(&str, &str)> {
    let (c, p) = s.split_once(':')?;
    (!c.is_empty() && !c.contains('/')).then_some((c, p))
}

/// Tar `src` (a file or a tree) under the name `name`. `src` may be a
/// /proc/self/fd/N handle of something resolved inside a container: the
/// top is read through it, everything below without following symlinks.
fn tar_path<W: Write>(b: &mut tar::Builder<W>, src: &Path, name: &str) -> anyhow::Result<()> {
    let md = std::fs::metadata(src)?;
    if md.is_dir() {
        // "dir/." reaches the directory itself, through the handle.
        b.append_path_with_name(src.join("."), name)?;
        tar_children(b, src, name)
    } else if md.is_file() {
        let mut h = tar::Header::new_gnu();
        h.set_metadata(&md);
        b.append_data(&mut h, name, std::fs::File::open(src)?)?;
        Ok(())
    } else {
        b.append_path_with_name(src, name)?;
        Ok(())
    }
}

fn tar_children<W: Write>(b: &mut tar::Builder<W>, dir: &Path, name: &str) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let child = format!("{name}/{}", e.file_name().to_string_lossy());
        b.append_path_with_name(e.path(), &child)?;
        if e.file_type()?.is_dir() {
            tar_children(b, &e.path(), &child)?;
        }
    }
    Ok(())
}

/// Tar `src` as `name` on one thread and unpack it under `dest_root` on
/// this one, through a pipe: memory stays flat whatever the size.
fn stream(src: &Path, name: &str, dest_root: &Path, opts: &UnpackOptions) -> anyhow::Result<()> {
    let (r, w) = std::io::pipe()?;
    let (src, name) = (src.to_path_buf(), name.to_string());
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        let mut b = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, w));
        b.follow_symlinks(false);
        tar_path(&mut b, &src, &name)?;
        b.into_inner()?.flush()?;
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

/// Open `path` inside the container whose root is `root`: "/" is that
/// root and symlinks resolve within it, so nothing outside can be reached.
fn resolve_in(root: &Path, path: &str, flags: OFlags) -> std::io::Result<std::os::fd::OwnedFd> {
    let root = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(rustix::fs::openat2(
        &root,
        path.trim_start_matches('/'),
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )?)
}

fn base_name(p: &str) -> String {
    Path::new(p.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

pub fn run(ctx: &Ctx, a: CpArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let opts = UnpackOptions {
        overlay_xattr_prefix: "user.berth-unused.",
        privileged: !engine.paths.rootless,
    };
    match (split_container(&a.source), split_container(&a.destination)) {
        (Some((cname, cpath)), None) => {
            let c = engine.container(cname)?;
            let merged = engine.merged_root(&c)?;
            let r = (|| -> anyhow::Result<()> {
                let fd = resolve_in(&merged.path, cpath, OFlags::PATH)
                    .map_err(|e| anyhow::anyhow!("{cname}:{cpath}: {e}"))?;
                let src = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
                let name = base_name(cpath);
                if a.destination == "-" {
                    let mut b =
                        tar::Builder::new(std::io::BufWriter::new(std::io::stdout().lock()));
                    b.follow_symlinks(false);
                    tar_path(&mut b, &src, &name)?;
                    b.into_inner()?.flush()?;
                    return Ok(());
                }
                // Into an existing directory, or as the destination itself.
                let dest = PathBuf::from(&a.destination);
                let (dir, target) = if dest.is_dir() {
                    (dest.clone(), name.clone())
                } else {
                    (
                        dest.parent()
                            .map(Path::to_path_buf)
                            .filter(|p| !p.as_os_str().is_empty())
                            .unwrap_or_else(|| ".".into()),
                        base_name(&a.destination),
                    )
                };
                stream(&src, &target, &dir, &opts)
                    .map_err(|e| anyhow::anyhow!("copying {cname}:{cpath}: {e:#}"))
            })();
            if merged.mounted_here {
                engine.unmount_root(&c)?;
            }
            r
        }
        (None, Some((cname, cpath))) => {
            let c = engine.container(cname)?;
            let merged = engine.merged_root(&c)?;
            let r = (|| -> anyhow::Result<()> {
                if a.source == "-" {
                    // A tar stream into a directory of the container.
                    let fd = resolve_in(&merged.path, cpath, OFlags::PATH | OFlags::DIRECTORY)
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "{cname}:{cpath}: not a directory in the container: {e}"
                            )
                        })?;
                    unpack(
                        std::io::stdin().lock(),
                        Path::new(&format!("/proc/self/fd/{}", fd.as_raw_fd())),
                        &opts,
                    )?;
                    return Ok(());
                }
                let src = PathBuf::from(&a.source);
                src.symlink_metadata()
                    .map_err(|e| anyhow::anyhow!("{}: {e}", a.source))?;
                // Where it lands, as a path inside the container: into an
                // existing directory, else as that name.
                let is_dir =
                    resolve_in(&merged.path, cpath, OFlags::PATH | OFlags::DIRECTORY).is_ok();
                let target = if is_dir || cpath.ends_with('/') {
                    format!("{}/{}", cpath.trim_end_matches('/'), base_name(&a.source))
                } else {
                    cpath.to_string()
                };
                // The unpacker resolves every path with RESOLVE_IN_ROOT from
                // the container's root: a symlink in the container cannot
                // send the copy to the host (CVE-2019-14271's class).
                stream(&src, target.trim_start_matches('/'), &merged.path, &opts)
                    .map_err(|e| anyhow::anyhow!("copying to {cname}:{cpath}: {e:#}"))
            })();
            if merged.mounted_here {
                engine.unmount_root(&c)?;
            }
            r
        }
        (Some(_), Some(_)) => {
            anyhow::bail!("copying between containers is not supported: copy to the host first")
        }
        (None, None) => anyhow::bail!("one of source and destination must be CONTAINER:PATH"),
    }
}
