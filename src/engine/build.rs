//! What `build` asks of the store around `build::build`: a context given
//! on stdin unpacked into temp space, a RUN step's image config, and the
//! built image's names and event.

use super::containers::{Bind, NewContainer};
use super::create::CreateSpec;
use super::{Engine, EngineError};
use crate::build::{Host, RunError, RunSpec};
use crate::digest::Digest;
use crate::image::config::{ConfigError, ImageConfig};
use crate::state::containers::ContainerRow;
use crate::state::images::{self as db, ImageRecord};
use crate::storage::StoreError;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BuildContextError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ImageConfigError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What `build -` found on stdin, in a temp dir of the store that
/// [`Engine::remove_stdin_context`] removes.
pub struct StdinContext {
    pub dir: PathBuf,
    /// The Containerfile, when stdin held one rather than a context
    /// archive (the context is then empty).
    pub containerfile: Option<String>,
}

/// A context archive (plain, gzip, zstd, xz or bzip2 tar), else a
/// Containerfile, as podman takes either.
fn is_archive(head: &[u8]) -> bool {
    use crate::image::manifest::Compression;
    Compression::sniff(head) != Compression::None
        || crate::build::copy::Packed::sniff(head).is_some()
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

/// A context given as a tar on stdin, unpacked into `dir`.
fn unpack_context(dir: &Path, data: &[u8]) -> Result<(), BuildContextError> {
    std::fs::create_dir_all(dir)?;
    let fail = |e: std::io::Error| {
        BuildContextError::Invalid(format!(
            "unpacking the build context from stdin: {}",
            crate::storage::unpack::tar_error(e)
        ))
    };
    let r = crate::build::copy::archive_reader(std::io::Cursor::new(data)).map_err(fail)?;
    let mut a = tar::Archive::new(r);
    a.set_preserve_permissions(true);
    for entry in a.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        // Written sparse by the tar crate, a sparse member would still be
        // read out in full by a later COPY: refused, as podman does.
        if let Some(how) = crate::storage::unpack::sparse_reason(&mut entry).map_err(fail)? {
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            return Err(BuildContextError::Invalid(format!(
                "unpacking the build context from stdin: member {name:?}: sparse files are not supported ({how})"
            )));
        }
        // unpack_in refuses members that would land outside `dir`.
        entry.unpack_in(dir).map_err(fail)?;
    }
    Ok(())
}

impl Engine {
    /// `build -`: what was read from stdin, as a context directory in the
    /// store's temp space (a failed unpack leaves it to the temp sweep).
    pub fn stdin_context(&self, data: &[u8]) -> Result<StdinContext, BuildContextError> {
        let dir = self.store.temp_path("build-context");
        if is_archive(&data[..data.len().min(512)]) {
            unpack_context(&dir, data)?;
            return Ok(StdinContext {
                dir,
                containerfile: None,
            });
        }
        std::fs::create_dir_all(&dir)?;
        Ok(StdinContext {
            dir,
            containerfile: Some(String::from_utf8_lossy(data).into_owned()),
        })
    }

    /// Remove a stdin context once the build is done.
    pub fn remove_stdin_context(&self, c: &StdinContext) -> Result<(), StoreError> {
        self.store.remove_path(&c.dir)
    }

    /// A stored image's config (a RUN step's container is made from it).
    pub fn image_config(&self, rec: &ImageRecord) -> Result<ImageConfig, ImageConfigError> {
        Ok(ImageConfig::parse(&self.store.read_blob(&rec.id)?)?)
    }

    /// After a build: the tags go on the final image under the writer
    /// lock, and its `build` event names the first tag (else the ID), as
    /// podman's does.
    pub fn name_built_image(&self, id: &Digest, tags: &[String]) -> Result<(), EngineError> {
        {
            let _lock = self.lock()?;
            for t in tags {
                db::add_name(&self.db.conn, id, t)?;
            }
        }
        super::events::image(
            "build",
            id.hex(),
            tags.first().map_or(id.hex(), String::as_str),
        );
        Ok(())
    }
}

/// What a door decides for a build's RUN steps: the container's settings
/// before the step's own (the CLI's `create` flags; the API's defaults)
/// and how an attached container is run to its end (the CLI relays its
/// signals; the API only waits).
pub struct StepDoor<'a> {
    pub pull: crate::engine::pull::PullPolicy,
    pub pull_opts: crate::registry::pull::PullOptions,
    pub quiet: bool,
    /// The step's container spec (network, user, workdir and tmpfs of
    /// the step applied).
    pub spec_for: Box<SpecFor<'a>>,
    /// Start the created container attached; its exit code.
    pub start: Box<StartStep<'a>>,
}

/// A door's RUN-step container spec.
pub type SpecFor<'a> = dyn FnMut(&RunSpec) -> Result<CreateSpec, String> + 'a;
/// A door's attached start of a RUN step: its exit code.
pub type StartStep<'a> = dyn FnMut(&mut Engine, &ContainerRow) -> Result<i32, String> + 'a;

impl Host for StepDoor<'_> {
    fn base_image(&mut self, engine: &mut Engine, name: &str) -> Result<ImageRecord, String> {
        engine
            .find_or_pull(name, self.pull, &self.pull_opts, self.quiet)
            .map(|f| f.image)
            .map_err(|e| e.to_string())
    }

    fn run(
        &mut self,
        engine: &mut Engine,
        image: &ImageRecord,
        spec: &RunSpec,
    ) -> Result<(ContainerRow, i32), RunError> {
        let image_cfg = engine.image_config(image).map_err(|e| e.to_string())?;
        let run_spec = (self.spec_for)(spec)?;
        let mut cfg =
            super::create::with_image(run_spec, &image_cfg.config.clone().unwrap_or_default())?.0;
        cfg.entrypoint = vec![];
        cfg.cmd = spec.args.clone();
        cfg.args = spec.args.clone();
        cfg.env = spec.env.clone();
        cfg.healthcheck = None;
        // Binds go in as values, not as `--mount` text: a source path the
        // build resolved (a context directory may be named
        // `x,target=/etc`) must not be re-read as options, nor resolved
        // again on the host.
        for (src, dst, ro) in &spec.binds {
            cfg.binds.push(Bind {
                source: src.clone(),
                destination: dst.clone(),
                readonly: *ro,
                propagation: String::new(),
                chown: false,
                options: Vec::new(),
            });
        }
        cfg.volumes
            .retain(|v| !spec.binds.iter().any(|(_, d, _)| *d == v.destination));
        cfg.labels
            .insert("io.berth.build".into(), "run-step".into());
        let row = engine
            .create_container(NewContainer {
                name: None,
                image,
                image_name: image.id.hex().to_string(),
                config: cfg,
            })
            .map_err(|e| e.to_string())?;
        // -q: the steps' own output is not shown either (podman's rule).
        let saved = if spec.quiet { quiet_stdout() } else { None };
        let r = (self.start)(engine, &row);
        if let Some(fd) = saved {
            // SAFETY: restoring the stdout saved by quiet_stdout.
            unsafe {
                libc::dup2(fd, 1);
                libc::close(fd);
            }
        }
        let code = match r {
            Ok(c) => c,
            Err(e) => {
                let _ = engine.remove_container(&row, true);
                return Err(RunError::Start(e));
            }
        };
        let row = engine.container(&row.id).map_err(|e| e.to_string())?;
        Ok((row, code))
    }

    fn warn(&mut self, msg: &str) {
        crate::log::warn(msg);
    }
}

/// Point stdout at /dev/null; the saved descriptor to restore.
fn quiet_stdout() -> Option<i32> {
    use std::os::fd::AsRawFd;
    let null = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .ok()?;
    // SAFETY: plain descriptor duplication on fds this process owns.
    unsafe {
        let saved = libc::dup(1);
        if saved < 0 {
            return None;
        }
        libc::dup2(null.as_raw_fd(), 1);
        Some(saved)
    }
}
