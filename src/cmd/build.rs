//! `build` (also `image build`) and `builder prune`.

use super::pull::RemoteArgs;
use super::run::CreateArgs;
use super::{Ctx, exit};
use crate::build::context::Context;
use crate::build::ignore::Ignore;
use crate::build::{BuildError, BuildOptions, Host, RunSpec};
use crate::engine::Engine;
use crate::engine::containers::{Bind, NewContainer};
use crate::image::config::ImageConfig;
use crate::state::containers::ContainerRow;
use crate::state::images::ImageRecord;
use clap::{Args, Parser};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct BuildArgs {
    /// Build context directory, or - for a tar archive on stdin
    #[arg(default_value = ".")]
    pub context: String,
    /// Name the image (repeatable)
    #[arg(short, long = "tag", value_name = "NAME")]
    pub tag: Vec<String>,
    /// Dockerfile to use (default: Dockerfile, else Containerfile, in the context; - for stdin)
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<String>,
    /// Set a build-time variable (KEY=VALUE, or KEY to take it from the environment)
    #[arg(long, value_name = "ARG")]
    pub build_arg: Vec<String>,
    /// Build up to this stage
    #[arg(long)]
    pub target: Option<String>,
    /// Do not use cached steps
    #[arg(long)]
    pub no_cache: bool,
    /// Pull the base images: always, missing (default), never
    #[arg(long, default_value = "missing", num_args = 0..=1, default_missing_value = "always")]
    pub pull: String,
    /// Add a label to the image (KEY=VALUE)
    #[arg(long, value_name = "LABEL")]
    pub label: Vec<String>,
    /// Cache intermediate images (default true)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub layers: bool,
    /// Squash the layers the build adds into one
    #[arg(long)]
    pub squash: bool,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the image ID to this file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Network for RUN steps: none, host, private, a network name, pasta, ...
    #[arg(long)]
    pub network: Option<String>,
    /// Secret for RUN --mount=type=secret (id=ID,src=PATH)
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
    /// Target platform (only the host platform can be built)
    #[arg(long)]
    pub platform: Option<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Args)]
pub struct BuilderPruneArgs {
    /// Remove all the build cache (berth keeps no other kind)
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(clap::Subcommand)]
pub enum BuilderCommand {
    /// Build an image from a Dockerfile
    Build(Box<BuildArgs>),
    /// Remove the build cache and the intermediate images it holds
    Prune(BuilderPruneArgs),
}

/// Parses `create` flags for a RUN step's container.
#[derive(Parser)]
#[command(disable_help_flag = true)]
struct RunStepArgs {
    #[command(flatten)]
    create: CreateArgs,
}

struct CliHost<'a> {
    pull: &'a str,
    remote: &'a RemoteArgs,
    quiet: bool,
}

impl Host for CliHost<'_> {
    fn base_image(&mut self, engine: &mut Engine, name: &str) -> Result<ImageRecord, String> {
        let policy = match self.pull {
            "true" => "always",
            "false" => "never",
            p => p,
        };
        super::run::find_or_pull(engine, name, policy, None, self.remote, self.quiet)
            .map(|f| f.image)
            .map_err(|e| e.to_string())
    }

    fn run(
        &mut self,
        engine: &mut Engine,
        image: &ImageRecord,
        spec: &RunSpec,
    ) -> Result<(ContainerRow, i32), String> {
        let mut argv: Vec<String> = vec!["create".into()];
        if !spec.network.is_empty() {
            argv.push(format!("--network={}", spec.network));
        }
        if !spec.user.is_empty() {
            argv.push(format!("--user={}", spec.user));
        }
        argv.push(format!("--workdir={}", spec.workdir));
        for t in &spec.tmpfs {
            argv.push(format!("--tmpfs={t}"));
        }
        argv.push(image.id.hex().to_string());
        let a = RunStepArgs::try_parse_from(&argv)
            .map_err(|e| format!("setting up the RUN container: {e}"))?
            .create;
        let image_cfg = ImageConfig::parse(
            &engine
                .store
                .read_blob(&image.id)
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let mut cfg =
            super::run_config::build_config(&a, &image_cfg, false).map_err(|e| e.to_string())?;
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
        let r = super::run::start_container(engine, &row, true, true, true);
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
                return Err(e.to_string());
            }
        };
        let row = engine.container(&row.id).map_err(|e| e.to_string())?;
        Ok((row, code))
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

/// A context given as a tar on stdin, unpacked into a temp dir.
fn context_from_stdin(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut buf = std::io::BufReader::new(std::io::stdin().lock());
    let head = std::io::BufRead::fill_buf(&mut buf)?.to_vec();
    let c = crate::image::manifest::Compression::sniff(&head);
    let r = crate::storage::layer::decompress(buf, c)?;
    let mut a = tar::Archive::new(r);
    a.set_preserve_permissions(true);
    let fail = |e: std::io::Error| {
        anyhow::anyhow!(
            "unpacking the build context from stdin: {}",
            crate::storage::unpack::tar_error(e)
        )
    };
    for entry in a.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        // Written sparse by the tar crate, a sparse member would still be
        // read out in full by a later COPY: refused, as podman does.
        if let Some(how) = crate::storage::unpack::sparse_reason(&mut entry).map_err(fail)? {
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            anyhow::bail!(
                "unpacking the build context from stdin: member {name:?}: sparse files are not supported ({how})"
            );
        }
        // unpack_in refuses members that would land outside `dir`.
        entry.unpack_in(dir).map_err(fail)?;
    }
    Ok(())
}

/// The Dockerfile: `-f` names any file (the user's choice, as with
/// docker); the default one is read from the context like any context
/// file, so a `Dockerfile` linked out of the context is refused.
fn read_dockerfile(a: &BuildArgs, ctx: &Context) -> anyhow::Result<(String, String)> {
    if a.file.as_deref() == Some("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok((s, "Dockerfile".into()));
    }
    let hint = "give the Dockerfile with -f or put a Dockerfile or Containerfile in the context";
    let Some(f) = &a.file else {
        for name in ["Dockerfile", "Containerfile"] {
            match ctx.read_file(name) {
                Ok(Some(text)) => return Ok((text, name.into())),
                Ok(None) => {}
                Err(e) => return Err(exit(125, e.to_string())),
            }
        }
        return Err(exit(
            125,
            format!(
                "no Dockerfile or Containerfile in the context {}; {hint}",
                ctx.root().display()
            ),
        ));
    };
    let path = PathBuf::from(f);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| exit(125, format!("reading {}: {e}; {hint}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".into());
    Ok((text, name))
}

pub fn build(ctx: &Ctx, a: BuildArgs) -> anyhow::Result<()> {
    if let Some(p) = &a.platform {
        crate::build::stage::check_platform(p).map_err(|e| exit(125, e))?;
    }
    if !matches!(
        a.pull.as_str(),
        "always" | "missing" | "never" | "true" | "false"
    ) {
        anyhow::bail!("invalid --pull {:?}: use always, missing or never", a.pull);
    }
    let tags = a
        .tag
        .iter()
        .map(|t| super::tag::local_name(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut engine = ctx.engine()?;
    let stdin_dir = (a.context == "-").then(|| engine.store.temp_path("build-context"));
    let context = match &stdin_dir {
        Some(d) => {
            context_from_stdin(d)?;
            d.clone()
        }
        None => {
            let p = PathBuf::from(&a.context);
            if !p.is_dir() {
                return Err(exit(
                    125,
                    format!("build context {}: not a directory", p.display()),
                ));
            }
            p
        }
    };
    let r = build_in(&mut engine, &a, &context, tags);
    if let Some(d) = stdin_dir {
        let _ = engine.store.remove_path(&d);
    }
    r
}

fn build_in(
    engine: &mut Engine,
    a: &BuildArgs,
    context: &Path,
    tags: Vec<String>,
) -> anyhow::Result<()> {
    let mut ctx = Context::open(context, Ignore::empty())
        .map_err(|e| exit(125, format!("build context {}: {e}", context.display())))?;
    let (dockerfile, file_name) = read_dockerfile(a, &ctx)?;
    // Read beneath the context like any context file: a .dockerignore
    // linked to a file outside is refused, and its content never shown.
    let mut ignore_text = String::new();
    for name in [".containerignore", ".dockerignore"] {
        match ctx.read_file(name) {
            Ok(Some(t)) => {
                ignore_text = t;
                break;
            }
            Ok(None) => {}
            Err(e) => return Err(exit(125, e.to_string())),
        }
    }
    ctx.ignore =
        Ignore::parse(&ignore_text).map_err(|e| exit(125, format!(".dockerignore: {e}")))?;
    let mut build_args = BTreeMap::new();
    for b in &a.build_arg {
        match b.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), v.to_string()),
            None => match std::env::var(b) {
                Ok(v) => build_args.insert(b.clone(), v),
                Err(_) => continue,
            },
        };
    }
    let mut labels = Vec::new();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.push((k.to_string(), v.to_string()));
    }
    let mut secrets = BTreeMap::new();
    for s in &a.secret {
        let mut id = None;
        let mut src = None;
        for kv in s.split(',') {
            match kv.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
                _ => anyhow::bail!("invalid --secret {s:?}: use id=ID,src=PATH"),
            }
        }
        let (Some(id), Some(src)) = (id, src) else {
            anyhow::bail!("invalid --secret {s:?}: use id=ID,src=PATH");
        };
        if !src.is_file() {
            anyhow::bail!("secret {id}: {} is not a readable file", src.display());
        }
        secrets.insert(id, std::fs::canonicalize(&src)?);
    }
    let network = a.network.clone().unwrap_or_else(|| {
        // RUN steps reach the network by default, as in podman; rootless
        // that is pasta when it is installed.
        if engine.paths.rootless && crate::network::usermode::pasta_installed() {
            "pasta".into()
        } else {
            String::new()
        }
    });
    let o = BuildOptions {
        dockerfile,
        file_name,
        context: ctx,
        build_args,
        target: a.target.clone(),
        no_cache: a.no_cache,
        layers: a.layers,
        squash: a.squash,
        labels,
        network,
        secrets,
        quiet: a.quiet,
    };
    let mut host = CliHost {
        pull: &a.pull,
        remote: &a.remote,
        quiet: a.quiet,
    };
    let id = crate::build::build(engine, &mut host, &o).map_err(|e| match e {
        BuildError::Step { code: Some(c), .. } => exit(c, format!("{e}")),
        other => exit(125, other.to_string()),
    })?;
    {
        let _lock = engine.lock()?;
        for t in &tags {
            crate::state::images::add_name(&engine.db.conn, &id, t)?;
        }
    }
    if let Some(t) = tags.first()
        && !a.quiet
    {
        println!("COMMIT {t}");
        for t in &tags {
            println!("Successfully tagged {t}");
        }
    }
    if let Some(f) = &a.iidfile {
        std::fs::write(f, id.to_string())
            .map_err(|e| anyhow::anyhow!("writing the image ID file {}: {e}", f.display()))?;
    }
    println!("{}", id.hex());
    Ok(())
}

pub fn prune(ctx: &Ctx, a: BuilderPruneArgs) -> anyhow::Result<()> {
    let _ = a.all;
    if !a.force
        && !super::rmi::confirm(
            "WARNING! This removes the build cache and the intermediate images it holds.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let engine = ctx.engine()?;
    for id in prune_cache(&engine)? {
        println!("{id}");
    }
    Ok(())
}

/// Forget the build cache and remove the images only it kept: no name,
/// no container. Their IDs.
pub fn prune_cache(engine: &Engine) -> anyhow::Result<Vec<String>> {
    let cached = crate::state::images::cache_images(&engine.db.conn)?;
    crate::state::images::cache_clear(&engine.db.conn)?;
    let mut removed = Vec::new();
    for rec in engine.images()? {
        let hex = rec.id.hex().to_string();
        if !cached.contains(&hex) || !rec.names.is_empty() {
            continue;
        }
        if !crate::state::containers::users_of_image(&engine.db.conn, &hex)?.is_empty() {
            continue;
        }
        engine.delete_image(&rec.id)?;
        removed.push(hex);
    }
    engine.gc_orphan_layers()?;
    let _ = std::fs::remove_dir_all(engine.store.root().join("build-cache"));
    Ok(removed)
}
