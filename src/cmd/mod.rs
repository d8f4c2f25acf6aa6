//! The command line: clap definitions, one module per command group, and
//! the mapping from errors to podman's exit codes.

mod archive;
mod argv;
mod attach;
pub mod build;
mod completion;
mod compose;
mod cp;
mod events;
mod exec;
mod fs;
mod healthcheck;
mod images;
mod info;
mod inspect;
mod kube;
mod lifecycle;
pub use crate::log;
mod login;
mod logs;
mod manifest;

mod network;
mod pod;
mod pod_create;
mod port;
mod ps;
mod pull;
mod push;
mod rmi;
mod run;
mod run_config;
mod run_flags;
mod secret;
mod stats;
mod system;
mod systemd;
mod tag;
mod top;
mod update;
mod volume;

use crate::engine::Engine;
use crate::engine::Paths;
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

/// Called as `berth-system-generator` or `berth-user-generator` (links to
/// this binary, as systemd runs generators: `NORMAL-DIR [EARLY-DIR
/// LATE-DIR]`), berth is the quadlet generator; `--dryrun` prints the
/// units instead, `--user` reads the user's files.
fn generator() -> Option<i32> {
    let argv: Vec<String> = std::env::args().collect();
    let me = std::path::Path::new(argv.first()?).file_name()?.to_str()?;
    let mut user = match me {
        "berth-system-generator" => false,
        "berth-user-generator" => true,
        _ => return None,
    };
    let mut dryrun = false;
    let mut dirs = Vec::new();
    for a in &argv[1..] {
        match a.as_str() {
            "--dryrun" | "-dryrun" => dryrun = true,
            "--user" | "-user" => user = true,
            d => dirs.push(d.to_string()),
        }
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/usr/bin/berth".into());
    if dryrun {
        let (made, errors) = crate::quadlet::generate_all(user, &exe);
        for g in &made {
            println!("---{}---", g.service);
            print!("{}", g.text);
        }
        for e in &errors {
            eprintln!("berth quadlet: {e}");
        }
        return Some(i32::from(!errors.is_empty()));
    }
    let Some(out) = dirs.first() else {
        eprintln!("{me}: usage: {me} [--dryrun] [--user] NORMAL-DIR [EARLY-DIR LATE-DIR]");
        return Some(1);
    };
    crate::quadlet::run(std::path::Path::new(out), user, &exe);
    // A generator never fails the boot: the files it could not convert
    // were named on stderr.
    Some(0)
}

/// An error that carries its own exit code (podman's: 125 engine error,
/// 1 for "no such image" in rmi, ...).
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub msg: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Exit {}

pub fn exit(code: i32, msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code,
        msg: msg.into(),
    })
}

/// The podman release whose command line berth implements: what
/// `--version` and `version` report, so tools that gate features on
/// podman's version (podman-compose, scripts) see the one berth speaks.
pub use crate::process::PODMAN_VERSION;

#[derive(Parser)]
#[command(
    name = "berth",
    about = "A daemonless container engine",
    disable_version_flag = true
)]
pub struct Cli {
    /// Storage root (images, layers, database)
    #[arg(long, global = true, value_name = "PATH", env = "BERTH_ROOT")]
    root: Option<PathBuf>,
    /// Runtime state directory
    #[arg(long, global = true, value_name = "PATH", env = "BERTH_RUNROOT")]
    runroot: Option<PathBuf>,
    /// Log messages above specified level (trace, debug, info, warn, warning, error, fatal, panic)
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Same as --log-level=debug (docker compatibility)
    #[arg(short = 'D', long, global = true, hide = true)]
    debug: bool,
    /// Do not output to stdout
    #[arg(long, global = true)]
    noout: bool,
    /// Storage driver: berth's store is overlay (vfs is accepted and served by it)
    #[arg(long, global = true, value_name = "DRIVER")]
    storage_driver: Option<String>,
    /// Option for the storage driver (berth's overlay store takes none)
    #[arg(long, global = true, value_name = "OPT")]
    storage_opt: Vec<String>,
    /// Events backend ("file"|"journald"|"none")
    #[arg(long, global = true, value_name = "BACKEND")]
    events_backend: Option<String>,
    /// The OCI runtime for new containers: a name on $PATH or a path (runc, crun, ...; default: berth's own)
    #[arg(long, value_name = "RUNTIME")]
    runtime: Option<String>,
    /// Add a global flag for the OCI runtime (debug, log=FILE, ...: passed as --FLAG)
    #[arg(long, global = true, value_name = "FLAG")]
    runtime_flag: Vec<String>,
    /// Cgroup manager to use ("cgroupfs"|"systemd")
    #[arg(long, global = true, value_name = "MANAGER")]
    cgroup_manager: Option<String>,
    /// Ignored; exists for Docker compatibility
    #[arg(long, global = true, hide = true, value_name = "PATH")]
    config: Option<String>,
    /// Print the version
    #[arg(short = 'v', long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Containers(Box<ContainerVerbs>),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Pull an image from a registry
    Pull(pull::PullArgs),
    /// Push an image to a registry
    Push(push::PushArgs),
    /// Build an image from a Dockerfile
    Build(Box<build::BuildArgs>),
    /// Manage the build cache
    #[command(subcommand)]
    Builder(build::BuilderCommand),
    /// Build images, as `docker buildx` spells it (`buildx build` is `build`)
    #[command(subcommand)]
    Buildx(build::BuildxCommand),
    /// List images in local storage
    Images(images::ImagesArgs),
    /// Remove one or more images from local storage
    Rmi(rmi::RmiArgs),
    /// Add an additional name to a local image
    Tag(tag::TagArgs),
    /// Remove a name from a local image
    Untag(tag::UntagArgs),
    /// Display the configuration of an object
    Inspect(inspect::InspectArgs),
    /// Show history of a specified image
    History(inspect::HistoryArgs),
    /// Save image(s) to an archive
    Save(archive::SaveArgs),
    /// Load image(s) from a tar archive
    Load(archive::LoadArgs),
    /// Import a tarball to create a filesystem image
    Import(archive::ImportArgs),
    /// Log in to a container registry
    Login(login::LoginArgs),
    /// Log out of a container registry
    Logout(login::LogoutArgs),
    /// Display the berth version information
    Version(info::VersionArgs),
    /// Display berth system information
    Info(info::InfoArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Manage pods
    #[command(subcommand)]
    Pod(pod::PodCommand),
    /// Manage secrets
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Run a container's health check
    #[command(subcommand)]
    Healthcheck(healthcheck::HealthcheckCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Manipulate manifest lists and image indexes
    #[command(subcommand)]
    Manifest(manifest::ManifestCommand),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
    /// Generate shell completion scripts
    Completion(completion::CompletionArgs),
    /// Write the manual pages (man/berth*.1) from the command definitions
    #[command(hide = true)]
    GenerateMan(completion::GenerateManArgs),
    /// Show berth events
    Events(events::EventsArgs),
    /// Run multi-container applications from compose files (docker compose v2)
    Compose(compose::ComposeArgs),
    /// Play containers, pods or volumes from Kubernetes YAML, or generate it
    #[command(subcommand)]
    Kube(kube::KubeCommand),
    /// Play a Kubernetes YAML (`kube play`, as podman 3 spelled it)
    #[command(subcommand)]
    Play(PlayCommand),
    /// Generate structured data (Kubernetes YAML, systemd units) from containers and pods
    #[command(subcommand)]
    Generate(GenerateCommand),
}

#[derive(Subcommand)]
enum PlayCommand {
    /// Create containers, pods and volumes from Kubernetes YAML
    Kube(kube::PlayArgs),
}

#[derive(Subcommand)]
enum GenerateCommand {
    /// Generate Kubernetes YAML from containers or pods
    Kube(kube::GenerateArgs),
    /// Generate systemd units for a container or pod
    Systemd(systemd::GenerateArgs),
}

#[derive(Subcommand)]
enum ImageCommand {
    /// List images in local storage
    #[command(visible_alias = "list")]
    Ls(images::ImagesArgs),
    /// Pull an image from a registry
    Pull(pull::PullArgs),
    /// Push an image to a registry
    Push(push::PushArgs),
    /// Build an image from a Dockerfile
    Build(Box<build::BuildArgs>),
    /// Remove one or more images from local storage
    Rm(rmi::RmiArgs),
    /// Add an additional name to a local image
    Tag(tag::TagArgs),
    /// Remove a name from a local image
    Untag(tag::UntagArgs),
    /// Display the configuration of an image
    Inspect(inspect::ImageInspectArgs),
    /// Show history of a specified image
    History(inspect::HistoryArgs),
    /// Save image(s) to an archive
    Save(archive::SaveArgs),
    /// Load image(s) from a tar archive
    Load(archive::LoadArgs),
    /// Import a tarball to create a filesystem image
    Import(archive::ImportArgs),
    /// Remove unused images
    Prune(rmi::PruneArgs),
    /// Check if an image exists in local storage
    Exists(tag::ExistsArgs),
    /// Mount an image's root filesystem (read-only)
    Mount(images::ImageMountArgs),
    /// Unmount an image's root filesystem
    #[command(visible_alias = "umount")]
    Unmount(images::ImageUnmountArgs),
}

/// The container verbs, at the top level and under `container`.
#[derive(Subcommand)]
enum ContainerVerbs {
    /// Run a command in a new container
    #[command(disable_help_flag = true)]
    Run(run::RunArgs),
    /// Create but do not start a container
    #[command(disable_help_flag = true)]
    Create(run::CreateArgs),
    /// Start one or more containers
    Start(lifecycle::StartArgs),
    /// Stop one or more containers
    Stop(lifecycle::StopArgs),
    /// Kill one or more running containers with a signal
    Kill(lifecycle::KillArgs),
    /// Restart one or more containers
    Restart(lifecycle::RestartArgs),
    /// Remove one or more containers
    Rm(lifecycle::RmArgs),
    /// List containers
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(ps::PsArgs),
    /// Fetch the logs of one or more containers
    Logs(logs::LogsArgs),
    /// Run a process in a running container
    Exec(exec::ExecArgs),
    /// Block until containers stop, then print their exit codes
    Wait(lifecycle::WaitArgs),
    /// Attach to a running container's input and output
    Attach(attach::AttachArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// List a container's published ports
    Port(port::PortArgs),
    /// Pause all the processes in one or more containers
    Pause(lifecycle::PauseArgs),
    /// Unpause the processes in one or more containers
    Unpause(lifecycle::PauseArgs),
    /// Rename an existing container
    Rename(lifecycle::RenameArgs),
    /// Mount a container's root filesystem and print where
    Mount(fs::MountArgs),
    /// Unmount a container's root filesystem
    #[command(visible_alias = "umount")]
    Unmount(fs::UnmountArgs),
    /// Copy files between a container and the host
    Cp(cp::CpArgs),
    /// Export a container's filesystem as a tar archive
    Export(fs::ExportArgs),
    /// Show the changes in a container's filesystem against its image
    Diff(fs::DiffArgs),
    /// Create a new image from a container's changes
    Commit(fs::CommitArgs),
    /// Display a live stream of container resource usage statistics
    Stats(stats::StatsArgs),
    /// Update an existing container's resource limits and restart policy
    Update(update::UpdateArgs),
}

#[derive(Subcommand)]
enum ContainerCommand {
    #[command(flatten)]
    Verbs(Box<ContainerVerbs>),
    /// Display the configuration of containers
    Inspect(inspect::ContainerInspectArgs),
    /// Remove all stopped containers
    Prune(lifecycle::PruneArgs),
    /// Check if a container exists
    Exists(lifecycle::ExistsArgs),
}

fn run_verb(ctx: &Ctx, v: ContainerVerbs) -> anyhow::Result<()> {
    use ContainerVerbs as V;
    match v {
        V::Run(a) => run::run(ctx, a),
        V::Create(a) => run::create(ctx, a),
        V::Start(a) => lifecycle::start(ctx, a),
        V::Stop(a) => lifecycle::stop(ctx, a),
        V::Kill(a) => lifecycle::kill(ctx, a),
        V::Restart(a) => lifecycle::restart(ctx, a),
        V::Rm(a) => lifecycle::rm(ctx, a),
        V::Ps(a) => ps::run(ctx, a),
        V::Logs(a) => logs::run(ctx, a),
        V::Exec(a) => exec::run(ctx, a),
        V::Wait(a) => lifecycle::wait(ctx, a),
        V::Attach(a) => attach::run(ctx, a),
        V::Top(a) => top::run(ctx, a),
        V::Port(a) => port::run(ctx, a),
        V::Pause(a) => lifecycle::pause(ctx, a, true),
        V::Unpause(a) => lifecycle::pause(ctx, a, false),
        V::Rename(a) => lifecycle::rename(ctx, a),
        V::Mount(a) => fs::mount(ctx, a),
        V::Unmount(a) => fs::unmount(ctx, a),
        V::Cp(a) => cp::run(ctx, a),
        V::Export(a) => fs::export(ctx, a),
        V::Diff(a) => fs::diff(ctx, a),
        V::Commit(a) => fs::commit(ctx, a),
        V::Stats(a) => stats::run(ctx, a),
        V::Update(a) => update::run(ctx, a),
    }
}

#[derive(Subcommand)]
enum SystemCommand {
    /// Display berth system information
    Info(info::InfoArgs),
    /// Show berth disk usage
    Df(system::DfArgs),
    /// Remove unused data
    Prune(system::PruneArgs),
    /// Reset berth storage
    Reset(system::ResetArgs),
    /// Show berth events
    Events(events::EventsArgs),
    /// Serve the Docker Engine API on a unix socket (docker CLI, docker-py, compose)
    Service(system::ServiceArgs),
}

/// Everything a command needs to open the engine lazily: commands like
/// `version` or `login` never touch the store.
pub struct Ctx {
    pub paths: Paths,
}

impl Ctx {
    /// Open the engine; rootless, first join the user's pause namespace
    /// (before any thread exists, as setns requires).
    pub fn engine(&self) -> anyhow::Result<Engine> {
        if self.paths.rootless {
            crate::process::pause::join_or_create(&self.paths.runroot)
                .map_err(|e| anyhow::anyhow!("joining the rootless user namespace: {e}"))?;
        }
        Ok(Engine::open(self.paths.clone())?)
    }
}

pub fn main() -> i32 {
    if let Some(code) = generator() {
        return code;
    }
    completion::complete_if_asked();
    let started = std::time::Instant::now();
    crate::process::pause::host_ids();
    let args = compose::alias_argv(std::env::args_os().collect());
    // Before clap: the re-exec would parse everything twice.
    if argv::enters_containers(&args) {
        let mut paths = Paths::default_for_user();
        if let Some(r) = argv::global_value(&args, "--runroot", "BERTH_RUNROOT") {
            paths.runroot = r;
        }
        crate::process::sealed::ensure(&paths.runroot, paths.rootless);
    }
    let argv_text = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    // cobra: --version answers whatever follows it (podman-compose runs
    // `podman --version ""`).
    if args.get(1).is_some_and(|a| a == "--version" || a == "-v") {
        println!("podman version {PODMAN_VERSION}");
        return 0;
    }
    let cli = match parse(args) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 125,
            };
            let _ = e.print();
            return code;
        }
    };
    // podman's persistent pre-run checks: a bad level or --debug with
    // --log-level print their text alone and exit 1.
    if cli.debug && cli.log_level.is_some() {
        eprintln!("Setting --log-level and --debug is not allowed");
        return 1;
    }
    let level = match cli.log_level.as_deref() {
        None if cli.debug => log::Level::Debug,
        None => log::Level::Warn,
        Some(l) => match log::Level::parse(l) {
            Some(l) => l,
            None => {
                eprintln!(
                    "Log Level {l:?} is not supported, choose from: {}",
                    log::Level::NAMES
                );
                return 1;
            }
        },
    };
    log::set_level(level);
    if cli.version {
        println!("podman version {PODMAN_VERSION}");
        return 0;
    }
    if let Err(e) = global_checks(&cli) {
        eprintln!("Error: {e}");
        return 125;
    }
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        return 125;
    };
    if cli.noout {
        silence_stdout();
    }
    log::info(&format!(
        "berth filtering at log level {}",
        cli.log_level
            .as_deref()
            .unwrap_or(if cli.debug { "debug" } else { "warn" })
    ));
    log::debug(&format!(
        "Called {}.PersistentPreRunE({argv_text})",
        command_name(&argv_text)
    ));
    let mut paths = Paths::default_for_user();
    if let Some(r) = cli.root {
        paths.root = r;
    }
    if let Some(r) = cli.runroot {
        paths.runroot = r;
    }
    log::debug(&format!("Using graph root {}", paths.root.display()));
    log::debug(&format!("Using run root {}", paths.runroot.display()));
    log::trace(&format!(
        "global options: storage driver {:?}, storage options {:?}, events backend {:?}, runtime flags {:?}, cgroup manager {:?}",
        cli.storage_driver,
        cli.storage_opt,
        cli.events_backend,
        cli.runtime_flag,
        cli.cgroup_manager
    ));
    match crate::engine::events::configure(cli.events_backend.as_deref(), &paths.runroot) {
        Ok(true) => {
            log::info("berth has no journald events backend: events go to the file backend")
        }
        Ok(false) => {}
        Err(e) => {
            eprintln!("Error: {e}");
            return 125;
        }
    }
    let ctx = Ctx { paths };
    let r = match command {
        Command::Containers(v) | Command::Container(ContainerCommand::Verbs(v)) => {
            run_verb(&ctx, *v)
        }
        Command::Container(ContainerCommand::Inspect(a)) => inspect::container_inspect(&ctx, a),
        Command::Container(ContainerCommand::Prune(a)) => lifecycle::prune(&ctx, a),
        Command::Container(ContainerCommand::Exists(a)) => lifecycle::exists(&ctx, a),
        Command::Volume(c) => volume::run(&ctx, c),
        Command::Pod(c) => pod::run(&ctx, c),
        Command::Secret(c) => secret::run(&ctx, c),
        Command::Healthcheck(c) => healthcheck::run(&ctx, c),
        Command::Network(c) => network::run(&ctx, c),
        Command::Manifest(c) => manifest::run(&ctx, c),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(&ctx, a),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(&ctx, a),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(&ctx, a),
        Command::Build(a)
        | Command::Image(ImageCommand::Build(a))
        | Command::Builder(build::BuilderCommand::Build(a))
        | Command::Buildx(build::BuildxCommand::Build(a)) => build::build(&ctx, *a),
        Command::Builder(build::BuilderCommand::Prune(a)) => build::prune(&ctx, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(&ctx, a),
        Command::Image(ImageCommand::Prune(a)) => rmi::prune(&ctx, a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::tag(&ctx, a),
        Command::Untag(a) | Command::Image(ImageCommand::Untag(a)) => tag::untag(&ctx, a),
        Command::Image(ImageCommand::Exists(a)) => tag::exists(&ctx, a),
        Command::Image(ImageCommand::Mount(a)) => images::mount(&ctx, a),
        Command::Image(ImageCommand::Unmount(a)) => images::unmount(&ctx, a),
        Command::Inspect(a) => inspect::inspect(&ctx, a),
        Command::Image(ImageCommand::Inspect(a)) => inspect::image_inspect(&ctx, a),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => inspect::history(&ctx, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => archive::save(&ctx, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => archive::load(&ctx, a),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => archive::import(&ctx, a),
        Command::Login(a) => login::login(&ctx, a),
        Command::Logout(a) => login::logout(&ctx, a),
        Command::Version(a) => info::version(&ctx, a),
        Command::Completion(a) => completion::completion(&ctx, a),
        Command::GenerateMan(a) => completion::generate_man(&ctx, a),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => info::info(&ctx, a),
        Command::System(SystemCommand::Df(a)) => system::df(&ctx, a),
        Command::System(SystemCommand::Prune(a)) => system::prune(&ctx, a),
        Command::System(SystemCommand::Reset(a)) => system::reset(&ctx, a),
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => events::run(&ctx, a),
        Command::System(SystemCommand::Service(a)) => system::service(&ctx, a),
        Command::Compose(a) => compose::run(&ctx, a),
        Command::Kube(c) => kube::run(&ctx, c),
        Command::Play(PlayCommand::Kube(a)) => kube::run(&ctx, kube::KubeCommand::Play(a)),
        Command::Generate(GenerateCommand::Kube(a)) => {
            kube::run(&ctx, kube::KubeCommand::Generate(a))
        }
        Command::Generate(GenerateCommand::Systemd(a)) => systemd::generate(&ctx, a),
    };
    log::debug(&format!(
        "Called {}.PersistentPostRunE({argv_text}) after {:.1?}",
        command_name(&argv_text),
        started.elapsed()
    ));
    match r {
        Ok(()) => 0,
        Err(e) => {
            let (code, msg) = match e.downcast_ref::<Exit>() {
                Some(x) => (x.code, x.msg.clone()),
                None => (125, format!("{e:#}")),
            };
            if !msg.is_empty() {
                eprintln!("Error: {msg}");
            }
            code
        }
    }
}

/// Parse the command line as podman's pflag does: a repeated option takes
/// its last value (clap refuses a repeat unless told otherwise, per command).
fn parse(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    fn override_self(c: clap::Command) -> clap::Command {
        c.args_override_self(true).mut_subcommands(override_self)
    }
    let mut m = override_self(Cli::command()).try_get_matches_from(args)?;
    Cli::from_arg_matches_mut(&mut m)
}

/// The global options berth validates as podman does, and those it can
/// only accept: said once, at the level that fits.
fn global_checks(cli: &Cli) -> anyhow::Result<()> {
    if let Some(m) = cli.cgroup_manager.as_deref() {
        match m {
            "cgroupfs" => {}
            "systemd" => log::warn(
                "berth manages cgroups through cgroupfs; --cgroup-manager=systemd is ignored",
            ),
            _ => anyhow::bail!(
                "configuring runtime: cgroup manager must be one of cgroupfs and systemd: invalid argument"
            ),
        }
    }
    if let Some(b) = cli.events_backend.as_deref()
        && !matches!(b, "file" | "journald" | "none")
    {
        anyhow::bail!("configuring runtime: {b:?} is not a valid events backend: invalid argument");
    }
    if let Some(d) = cli.storage_driver.as_deref() {
        match d {
            "overlay" | "overlay2" => {}
            // vfs differs from overlay in how layers sit on disk, not in
            // what containers see: berth's overlay store serves it.
            "vfs" => log::info("berth's store is overlay; --storage-driver=vfs is served by it"),
            _ => anyhow::bail!("failed to GetDriver graph {d}: driver not supported"),
        }
    }
    if cli.storage_opt.iter().any(|o| !o.is_empty()) {
        log::warn("berth's overlay store takes no storage options; --storage-opt is ignored");
    }
    // podman's runtime set-up: the default runtime must exist, whatever
    // the command.
    crate::runtime::options::set_global_runtime(cli.runtime.clone());
    if let Some(r) = crate::runtime::options::global_runtime() {
        crate::runtime::options::check_runtime(&r).map_err(anyhow::Error::msg)?;
    }
    crate::runtime::options::set_flags(cli.runtime_flag.clone());
    if cli.config.is_some() {
        log::warn("The --config flag is ignored by Podman. Exists for Docker compatibility");
    }
    Ok(())
}

/// `--noout`: stdout goes to /dev/null for the whole command, children
/// included, as podman points its stdout there.
fn silence_stdout() {
    use std::os::fd::AsRawFd;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 onto fd 1 replaces stdout; both fds are open and
        // no Rust object owns fd 1 exclusively.
        unsafe { libc::dup2(null.as_raw_fd(), 1) };
    }
}

/// The subcommand's name as podman's debug line gives it.
fn command_name(argv: &str) -> String {
    let mut words = argv.split(' ').skip(1);
    while let Some(w) = words.next() {
        if argv::GLOBAL_VALUE_OPTS.contains(&w) {
            words.next();
        } else if !w.starts_with('-') {
            return w.to_string();
        }
    }
    "berth".into()
}

/// `-l`/`--latest`: the container created last (podman's
/// GetLatestContainer); the store lists the newest first.
pub(crate) fn latest_container(engine: &Engine) -> anyhow::Result<String> {
    match engine.containers()?.into_iter().next() {
        Some(c) => Ok(c.id),
        None => Err(exit(125, "no such container")),
    }
}

/// podman's way with several failures: each but the last on stderr, the
/// last as the command's error, with exit `code`.
pub(crate) fn report_errors(errors: &[String], code: i32) -> anyhow::Result<()> {
    match errors.split_last() {
        None => Ok(()),
        Some((last, rest)) => {
            for e in rest {
                eprintln!("Error: {e}");
            }
            Err(exit(code, last.clone()))
        }
    }
}

/// Print rows with a user's `--format`, or the command's default table.
pub fn print_rows(
    format: Option<&str>,
    default: &str,
    rows: &[serde_json::Value],
    headers: &[(&str, &str)],
    noheading: bool,
) -> anyhow::Result<()> {
    let mut f = crate::format::Format::parse(format.unwrap_or(default));
    if noheading {
        f = f.without_header();
    }
    let out = f.render(rows, headers)?;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    Ok(())
}
