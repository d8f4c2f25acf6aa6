//! `berth compose` flags, spelled as docker compose v2 spells them.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct ComposeArgs {
    /// Compose configuration files
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long, value_name = "NAME")]
    pub project_name: Option<String>,
    /// Specify an alternate working directory (default: the path of the first compose file)
    #[arg(long, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Specify an alternate environment file
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Specify a profile to enable
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,
    #[command(subcommand)]
    pub command: ComposeCommand,
}

#[derive(Subcommand)]
pub enum ComposeCommand {
    /// Create and start containers
    Up(UpArgs),
    /// Stop and remove containers, networks
    Down(DownArgs),
    /// List containers
    Ps(PsArgs),
    /// View output from containers
    Logs(LogsArgs),
    /// Build or rebuild services
    Build(BuildArgs),
    /// Pull service images
    Pull(PullArgs),
    /// Push service images
    Push(Services),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Run a one-off command on a service
    Run(RunArgs),
    /// Start services
    Start(Services),
    /// Stop services
    Stop(StopArgs),
    /// Restart service containers
    Restart(StopArgs),
    /// Force stop service containers
    Kill(KillArgs),
    /// Removes stopped service containers
    Rm(RmArgs),
    /// Pause services
    Pause(Services),
    /// Unpause services
    Unpause(Services),
    /// Creates containers for a service
    Create(CreateArgs),
    /// Parse, resolve and render compose file in canonical format
    #[command(visible_alias = "convert")]
    Config(ConfigArgs),
    /// List images used by the created containers
    Images(ImagesArgs),
    /// Display the running processes
    Top(Services),
    /// Print the public port for a port binding
    Port(PortArgs),
    /// List running compose projects
    Ls(LsArgs),
    /// Show the Docker Compose version information
    Version(VersionArgs),
    /// Block until the first service container stops
    Wait(WaitArgs),
}

impl ComposeCommand {
    /// The services named on the command line (enabled whatever their profiles).
    pub fn services(&self) -> Vec<String> {
        use ComposeCommand as C;
        match self {
            C::Up(a) => a.create.services.clone(),
            C::Create(a) => a.services.clone(),
            C::Ps(a) => a.services.clone(),
            C::Logs(a) => a.services.clone(),
            C::Build(a) => a.services.clone(),
            C::Pull(a) => a.services.clone(),
            C::Exec(a) => vec![a.service.clone()],
            C::Run(a) => vec![a.service.clone()],
            C::Port(a) => vec![a.service.clone()],
            C::Images(a) => a.services.clone(),
            C::Push(a) | C::Start(a) | C::Pause(a) | C::Unpause(a) | C::Top(a) => {
                a.services.clone()
            }
            C::Stop(a) | C::Restart(a) => a.services.clone(),
            C::Kill(a) => a.services.clone(),
            C::Rm(a) => a.services.clone(),
            C::Wait(a) => a.services.clone(),
            C::Down(_) | C::Config(_) | C::Ls(_) | C::Version(_) => vec![],
        }
    }

    /// Whether it starts container processes (then berth re-executes sealed first).
    pub fn starts_containers(&self) -> bool {
        use ComposeCommand as C;
        match self {
            C::Up(a) => !a.create.no_start,
            C::Run(_) | C::Exec(_) | C::Start(_) | C::Restart(_) => true,
            _ => false,
        }
    }
}

#[derive(Args, Clone, Default)]
pub struct Services {
    pub services: Vec<String>,
}

#[derive(Args, Clone, Default)]
pub struct CreateArgs {
    /// Build images before starting containers
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Don't build an image, even if it's policy
    #[arg(long)]
    pub no_build: bool,
    /// Pull image before running ("always"|"missing"|"never")
    #[arg(long, value_name = "POLICY", value_parser = ["always", "missing", "never"])]
    pub pull: Option<String>,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long)]
    pub no_recreate: bool,
    /// Scale SERVICE to NUM instances
    #[arg(long, value_name = "SERVICE=NUM")]
    pub scale: Vec<String>,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    pub services: Vec<String>,
    #[arg(skip)]
    pub no_start: bool,
}

#[derive(Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Detached mode: Run containers in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// Wait for services to be running|healthy. Implies detached mode
    #[arg(long)]
    pub wait: bool,
    /// Stops all containers if any container was stopped
    #[arg(long)]
    pub abort_on_container_exit: bool,
    /// Return the exit code of the selected service container
    #[arg(long, value_name = "SERVICE")]
    pub exit_code_from: Option<String>,
    /// Don't start the services after creating them
    #[arg(long = "no-start")]
    pub no_start: bool,
    /// Produce monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// Use this timeout in seconds for container shutdown
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Args)]
pub struct DownArgs {
    /// Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove images used by services ("local"|"all")
    #[arg(long, value_name = "TYPE", value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Args)]
pub struct PsArgs {
    /// Show all stopped containers (including those created by the run command)
    #[arg(short, long)]
    pub all: bool,
    /// Display services
    #[arg(long = "services")]
    pub services_only: bool,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output ("table"|"json")
    #[arg(long, default_value = "table")]
    pub format: String,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(long, default_value = "all")]
    pub tail: String,
    /// Produce monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long)]
    pub no_log_prefix: bool,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct BuildArgs {
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct PullArgs {
    /// Pull without printing progress information
    #[arg(short, long)]
    pub quiet: bool,
    /// Ignore images that can be built
    #[arg(long)]
    pub ignore_buildable: bool,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct ExecArgs {
    /// Detached mode: Run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VAL")]
    pub env: Vec<String>,
    /// Disable pseudo-TTY allocation
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Run the command as this user
    #[arg(short, long)]
    pub user: Option<String>,
    /// Path to workdir directory for this command
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u64,
    /// Give extended privileges to the process
    #[arg(long)]
    pub privileged: bool,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VAL")]
    pub env: Vec<String>,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// Override the entrypoint of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Run command with all service's ports enabled and mapped to the host
    #[arg(long)]
    pub service_ports: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Use the service's network aliases in the networks the container joins
    #[arg(long)]
    pub use_aliases: bool,
    /// Disable pseudo-TTY allocation
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Run as specified username or uid
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args)]
pub struct StopArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct KillArgs {
    /// SIGNAL to send to the container
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Don't ask to confirm removal
    #[arg(short, long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short, long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short, long)]
    pub volumes: bool,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct ConfigArgs {
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the service config hash, one per line ("SERVICE" or "*")
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ImagesArgs {
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output ("table"|"json")
    #[arg(long, default_value = "table")]
    pub format: String,
    pub services: Vec<String>,
}

#[derive(Args)]
pub struct PortArgs {
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u64,
    /// tcp or udp
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    pub service: String,
    pub port: u16,
}

#[derive(Args)]
pub struct LsArgs {
    /// Show all stopped Compose projects
    #[arg(short, long)]
    pub all: bool,
    /// Format the output ("table"|"json")
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct VersionArgs {
    /// Shows only Compose's version number
    #[arg(long)]
    pub short: bool,
    /// Format the output ("pretty"|"json")
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args)]
pub struct WaitArgs {
    /// Drops project when the first container stops
    #[arg(long)]
    pub down_project: bool,
    pub services: Vec<String>,
}
