//! `build` (also `image build`) and `builder prune`.

use super::pull::RemoteArgs;
use super::run::CreateArgs;
use super::{Ctx, exit};
use crate::build::context::Context;
use crate::build::ignore::Ignore;
use crate::build::{BuildError, BuildOptions, RunSpec};
use crate::engine::ContainerRow;
use crate::engine::Engine;
use crate::engine::build::StepDoor;
use crate::engine::pull::PullPolicy;
use clap::{Args, Parser};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct BuildArgs {
    /// Build context directory, or - for a tar archive or a Containerfile on stdin
    /// (default: the directory of the first -f file, else .)
    pub context: Option<String>,
    /// Name the image (repeatable)
    #[arg(short, long = "tag", value_name = "NAME")]
    pub tag: Vec<String>,
    /// Containerfile to use, repeatable (read in order, as one); - for stdin.
    /// A relative path not found from the working directory is looked up in the context
    #[arg(short, long, value_name = "FILE")]
    pub file: Vec<String>,
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
    /// Always pull the base images (as --pull=always)
    #[arg(long, hide = true)]
    pub pull_always: bool,
    /// Never pull the base images (as --pull=never)
    #[arg(long, hide = true)]
    pub pull_never: bool,
    /// Add a label to the image (KEY=VALUE)
    #[arg(long, value_name = "LABEL")]
    pub label: Vec<String>,
    /// Cache intermediate images (default true, or $BUILDAH_LAYERS)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = go_bool)]
    pub layers: Option<bool>,
    /// Squash the layers the build adds into one
    #[arg(long)]
    pub squash: bool,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the image ID to this file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Manifest format of the built image: oci (default, or $BUILDAH_FORMAT) or docker
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Ignore file to use instead of the context's .containerignore/.dockerignore
    #[arg(long, value_name = "FILE")]
    pub ignorefile: Option<PathBuf>,
    /// How many stages may run at once (berth builds them one after another)
    #[arg(long, value_name = "N")]
    pub jobs: Option<u32>,
    /// Write the build's output to this file instead of the terminal
    #[arg(long, value_name = "FILE")]
    pub logfile: Option<PathBuf>,
    /// Created time of the image, its history and every file its layers
    /// add, in seconds since the epoch (reproducible builds)
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub timestamp: Option<i64>,
    /// Keep the built image in local storage (what a build always does)
    #[arg(long, hide = true)]
    pub load: bool,
    /// Ulimit for RUN steps (NAME=SOFT[:HARD])
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Security options for RUN steps: seccomp=unconfined|FILE.json, no-new-privileges, ...
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// DNS server for RUN steps
    #[arg(long)]
    pub dns: Vec<String>,
    /// DNS search domain for RUN steps
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// DNS option for RUN steps
    #[arg(long)]
    pub dns_option: Vec<String>,
    /// Line for /etc/hosts in RUN steps (NAME:IP)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// External OCI runtime (runc, crun, ...) for RUN steps
    #[arg(long)]
    pub runtime: Option<String>,
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

/// Go's strconv.ParseBool, which podman's boolean flags and
/// BUILDAH_LAYERS go through (`--layers=1`).
fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
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

#[derive(clap::Subcommand)]
pub enum BuildxCommand {
    /// Build an image from a Containerfile (the same as `build`)
    Build(Box<BuildArgs>),
}

/// Parses `create` flags for a RUN step's container.
#[derive(Parser)]
#[command(disable_help_flag = true)]
struct RunStepArgs {
    #[command(flatten)]
    create: CreateArgs,
}

/// The CLI's side of RUN steps: its `create` flags, parsed as `create`
/// parses them with the step's own, and an attached start that relays
/// signals, as `run` does.
fn cli_door<'a>(
    pull: &str,
    remote: &RemoteArgs,
    quiet: bool,
    create_flags: Vec<String>,
) -> anyhow::Result<StepDoor<'a>> {
    let policy = match pull {
        "true" => "always",
        "false" => "never",
        p => p,
    };
    Ok(StepDoor {
        pull: PullPolicy::parse(policy).map_err(anyhow::Error::msg)?,
        pull_opts: crate::registry::pull::PullOptions {
            remote: remote.options()?,
            ..Default::default()
        },
        quiet,
        spec_for: Box::new(move |spec: &RunSpec| {
            let mut argv: Vec<String> = vec!["create".into()];
            argv.extend(create_flags.iter().cloned());
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
            // A RUN step tells systemd nothing, whatever called the build.
            argv.push("--sdnotify=ignore".into());
            // The image is the builder's; a name is needed to parse.
            argv.push("scratch".into());
            let a = RunStepArgs::try_parse_from(&argv)
                .map_err(|e| format!("setting up the RUN container: {e}"))?
                .create;
            super::run_config::create_spec(&a).map_err(|e| e.to_string())
        }),
        start: Box::new(|engine: &mut Engine, row: &ContainerRow| {
            super::run::start_container(engine, row, true, true, true).map_err(|e| e.to_string())
        }),
    })
}

/// The Containerfile text and its name for messages. `-f` names any file
/// (the user's choice, as with podman): as given from the working
/// directory, else beneath the context (buildah's lookup); several are
/// read as one. The default one is read from the context like any context
/// file, so a `Dockerfile` linked out of the context is refused.
fn read_dockerfile(
    files: &[String],
    stdin_file: Option<String>,
    context: &Path,
    ctx: &Context,
) -> anyhow::Result<(String, String)> {
    if let Some(text) = stdin_file {
        return Ok((text, "Dockerfile".into()));
    }
    if files.is_empty() {
        for name in ["Containerfile", "Dockerfile"] {
            match ctx.read_file(name) {
                Ok(Some(text)) => return Ok((text, name.into())),
                Ok(None) => {}
                Err(e) => return Err(exit(125, e.to_string())),
            }
        }
        return Err(exit(
            125,
            format!(
                "stat {}: no such file or directory",
                std::path::absolute(context)
                    .unwrap_or_else(|_| context.to_path_buf())
                    .join("Dockerfile")
                    .display()
            ),
        ));
    }
    let mut text = String::new();
    let mut first = None;
    for f in files {
        let body = if f == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        } else {
            let mut path = PathBuf::from(f);
            if !path.exists() && path.is_relative() {
                let joined = context.join(f);
                path = std::path::absolute(&joined).unwrap_or(joined);
            }
            std::fs::read_to_string(&path).map_err(|e| {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                    _ => e.to_string(),
                };
                exit(125, format!("stat {}: {why}", path.display()))
            })?
        };
        first.get_or_insert_with(|| {
            Path::new(f)
                .file_name()
                .filter(|_| f != "-")
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Dockerfile".into())
        });
        text.push_str(&body);
        text.push('\n');
    }
    Ok((text, first.unwrap_or_else(|| "Dockerfile".into())))
}

/// `--logfile`: everything the build prints (steps, RUN output, errors)
/// goes to the file instead, as podman does.
fn redirect_output(path: &Path) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| exit(125, format!("opening log file {}: {e}", path.display())))?;
    // SAFETY: duplicating a descriptor this process owns onto stdout/stderr.
    unsafe {
        libc::dup2(f.as_raw_fd(), 1);
        libc::dup2(f.as_raw_fd(), 2);
    }
    Ok(())
}

pub fn build(ctx: &Ctx, a: BuildArgs) -> anyhow::Result<()> {
    if let Some(f) = &a.logfile {
        redirect_output(f)?;
    }
    if let Some(p) = &a.platform {
        crate::build::stage::check_platform(p).map_err(|e| exit(125, e))?;
    }
    let format = a
        .format
        .clone()
        .or_else(|| {
            std::env::var("BUILDAH_FORMAT")
                .ok()
                .filter(|f| !f.is_empty())
        })
        .unwrap_or_else(|| "oci".into());
    if !matches!(format.as_str(), "oci" | "docker") {
        return Err(exit(125, format!("unrecognized image type {format:?}")));
    }
    if let Some(f) = &a.remote.authfile
        && let Err(e) = std::fs::metadata(f)
    {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => e.to_string(),
        };
        return Err(exit(
            125,
            format!("checking authfile: stat {}: {why}", f.display()),
        ));
    }
    let pull = if a.pull_never {
        "never"
    } else if a.pull_always {
        "always"
    } else {
        a.pull.as_str()
    };
    if !matches!(pull, "always" | "missing" | "never" | "true" | "false") {
        anyhow::bail!("invalid --pull {:?}: use always, missing or never", a.pull);
    }
    let tags = a
        .tag
        .iter()
        .map(|t| super::tag::local_name(t))
        .collect::<Result<Vec<_>, _>>()?;
    let mut engine = ctx.engine()?;
    let context_arg = match &a.context {
        Some(c) => c.clone(),
        // No context: the directory of the first Containerfile (podman's rule).
        None => match a.file.iter().find(|f| *f != "-") {
            Some(f) => {
                let p = std::path::absolute(f).unwrap_or_else(|_| PathBuf::from(f));
                p.parent()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_else(|| ".".into())
            }
            None => ".".into(),
        },
    };
    let mut stdin_file = None;
    let mut stdin_context = None;
    let context = match context_arg == "-" {
        true => {
            let mut data = Vec::new();
            std::io::stdin().lock().read_to_end(&mut data)?;
            let c = engine.stdin_context(&data)?;
            stdin_file = c.containerfile.clone();
            let dir = c.dir.clone();
            stdin_context = Some(c);
            dir
        }
        false => {
            let p = PathBuf::from(&context_arg);
            if !p.is_dir() {
                return Err(exit(
                    125,
                    format!("build context {}: not a directory", p.display()),
                ));
            }
            p
        }
    };
    let r = build_in(
        &mut engine,
        &a,
        &context,
        stdin_file,
        tags,
        pull,
        format == "docker",
    );
    if let Some(c) = stdin_context {
        let _ = engine.remove_stdin_context(&c);
    }
    r
}

/// The `create` flags RUN containers get from the build's own flags.
fn create_flags(a: &BuildArgs) -> Vec<String> {
    let mut out = Vec::new();
    let mut each = |flag: &str, vals: &[String]| {
        out.extend(vals.iter().map(|v| format!("--{flag}={v}")));
    };
    each("ulimit", &a.ulimit);
    each("security-opt", &a.security_opt);
    each("dns", &a.dns);
    each("dns-search", &a.dns_search);
    each("dns-option", &a.dns_option);
    each("add-host", &a.add_host);
    if let Some(r) = &a.runtime {
        out.push(format!("--runtime={r}"));
    }
    out
}

fn build_in(
    engine: &mut Engine,
    a: &BuildArgs,
    context: &Path,
    stdin_file: Option<String>,
    tags: Vec<String>,
    pull: &str,
    docker_format: bool,
) -> anyhow::Result<()> {
    let mut ctx = Context::open(context, Ignore::empty())
        .map_err(|e| exit(125, format!("build context {}: {e}", context.display())))?;
    let (dockerfile, file_name) = read_dockerfile(&a.file, stdin_file, context, &ctx)?;
    let mut ignore_text = String::new();
    if let Some(f) = &a.ignorefile {
        // Named by the user, like -f: read where it is.
        ignore_text = std::fs::read_to_string(f)
            .map_err(|e| exit(125, format!("reading ignore file {}: {e}", f.display())))?;
    } else {
        // Read beneath the context like any context file: a .dockerignore
        // linked to a file outside is refused, and its content never shown.
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
    // podman: --layers, else $BUILDAH_LAYERS, else true.
    let layers = match a.layers {
        Some(l) => l,
        None => match std::env::var("BUILDAH_LAYERS") {
            Ok(v) if !v.is_empty() => go_bool(&v).map_err(|e| exit(125, e))?,
            _ => true,
        },
    };
    let o = BuildOptions {
        dockerfile,
        file_name,
        context: ctx,
        build_args,
        target: a.target.clone(),
        no_cache: a.no_cache,
        layers,
        squash: a.squash,
        labels,
        network,
        secrets,
        quiet: a.quiet,
        docker_format,
        timestamp: a.timestamp,
    };
    let mut host = cli_door(pull, &a.remote, a.quiet, create_flags(a))?;
    let id = crate::build::build(engine, &mut host, &o).map_err(|e| match e {
        BuildError::Step { code: Some(c), .. } => exit(c, format!("{e}")),
        other => exit(125, other.to_string()),
    })?;
    engine.name_built_image(&id, &tags)?;
    // podman's tail: COMMIT with the name as given, the short ID, the tags.
    if !a.quiet {
        if let Some(t) = a.tag.first() {
            println!("COMMIT {t}");
        }
        println!("--> {}", &id.hex()[..11]);
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
    for id in engine.prune_build_cache()? {
        println!("{id}");
    }
    Ok(())
}
