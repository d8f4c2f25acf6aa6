//! `berth build`: a Dockerfile parsed by our own parser, run stage by
//! stage; every step is an image (COPY/ADD/RUN add a layer, the rest only
//! change the config), found again by its cache key when nothing it reads
//! has changed.

pub mod context;
pub mod copy;
pub mod dockerfile;
pub mod ignore;
mod instruction;
pub mod lex;
mod mounts;
mod run;
pub mod stage;
mod timestamp;
pub mod view;

use crate::engine::Engine;
use crate::state::containers::ContainerRow;
use crate::state::images::ImageRecord;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Parse(#[from] dockerfile::ParseError),
    /// A step failed. podman's prefix (`building at STEP "COPY a b": `)
    /// and then where: `Dockerfile:7: COPY: no source files were specified`.
    #[error("building at STEP \"{step}\": {file}:{line}: {instr}: {msg}")]
    Step {
        /// The instruction as written (podman names the step by it).
        step: String,
        file: String,
        line: usize,
        instr: String,
        msg: String,
        /// The exit code of a failed RUN, else None (an engine error).
        code: Option<i32>,
    },
    /// A source leads out of the build context (a symlink, `..` or an
    /// absolute link target): `Dockerfile:3: COPY link: path escapes the
    /// build context`. `src` is the source as written (and what a glob
    /// matched); the file's content is never read, so never shown.
    #[error(
        "building at STEP \"{step}\": {file}:{line}: {instr} {src}: path escapes the build context"
    )]
    Escapes {
        step: String,
        file: String,
        line: usize,
        instr: String,
        src: String,
    },
    /// The base image could not be had (podman's text).
    #[error("creating build container: {0}")]
    Base(String),
    #[error("{0}")]
    Other(String),
}

/// What the build asks for (the `build` flags).
pub struct BuildOptions {
    pub dockerfile: String,
    /// The Dockerfile's name for messages (`Dockerfile`, `Containerfile`).
    pub file_name: String,
    /// The context, open, with its `.dockerignore`.
    pub context: context::Context,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// Keep intermediate images and the cache (`--layers`, the default).
    pub layers: bool,
    pub squash: bool,
    pub labels: Vec<(String, String)>,
    /// The network RUN steps get (`--network`); "" is the default.
    pub network: String,
    /// `--secret id=ID,src=PATH`.
    pub secrets: BTreeMap<String, PathBuf>,
    pub quiet: bool,
    /// `--format docker`: Docker schema 2 manifests instead of OCI ones.
    pub docker_format: bool,
    /// `--timestamp`: the time (seconds since the epoch) of every image's
    /// creation, history entry and layer file, for reproducible builds.
    pub timestamp: Option<i64>,
}

/// A RUN step's container, as the builder wants it.
pub struct RunSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    pub network: String,
    /// (host source, destination, read-only)
    pub binds: Vec<(String, String, bool)>,
    pub tmpfs: Vec<String>,
    pub quiet: bool,
}

/// What the builder needs from the command line: base images (pulled per
/// `--pull`) and RUN containers (created and run as `run` does).
/// Why a RUN step's container did not run to its end.
#[derive(Debug)]
pub enum RunError {
    /// Setting it up failed, on berth's side.
    Setup(String),
    /// The runtime did not start it (it refused its flags, the command
    /// was not found, ...).
    Start(String),
}

impl From<String> for RunError {
    fn from(s: String) -> RunError {
        RunError::Setup(s)
    }
}

pub trait Host {
    fn base_image(&mut self, engine: &mut Engine, name: &str) -> Result<ImageRecord, String>;
    /// Run to the end; the container (exited) and its exit code.
    fn run(
        &mut self,
        engine: &mut Engine,
        image: &ImageRecord,
        spec: &RunSpec,
    ) -> Result<(ContainerRow, i32), RunError>;
    /// A warning for the user (podman prints them as logrus lines).
    fn warn(&mut self, msg: &str);
}

/// The host platform, the only one berth builds for.
pub fn host_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    ("linux", arch)
}

/// Build; the final image's ID.
pub fn build(
    engine: &mut Engine,
    host: &mut dyn Host,
    o: &BuildOptions,
) -> Result<crate::digest::Digest, BuildError> {
    let df = dockerfile::parse(&o.dockerfile, &o.file_name)?;
    stage::Builder::new(engine, host, o, &df).build()
}
