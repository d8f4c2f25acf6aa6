use super::pull::RemoteArgs;
use super::{Ctx, exit};
use crate::engine::ContainerRow;
use crate::engine::Engine;
use crate::engine::create::CreateRequest;
use crate::engine::pull::PullPolicy;
use crate::monitor::{Attach, Event};
use clap::Args;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicI32, Ordering};

#[derive(Args, Clone, Default)]
pub struct CreateArgs {
    /// Image to create the container from
    pub image: String,
    /// Command and arguments (default: the image's)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Replace a container with the same name
    #[arg(long)]
    pub replace: bool,
    /// Write the container ID to this file
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<std::path::PathBuf>,
    /// Set environment variables (KEY=VALUE, or KEY to copy the host's)
    #[arg(short, long = "env", value_name = "ENV")]
    pub env: Vec<String>,
    /// Read environment variables from a file
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Pass the host's whole environment
    #[arg(long)]
    pub env_host: bool,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User (name|uid[:group|gid]) to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Override the image's ENTRYPOINT (a command, or a JSON array)
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container hostname
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Set metadata labels (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines (--label wins)
    #[arg(long, value_name = "FILE")]
    pub label_file: Vec<std::path::PathBuf>,
    /// Add annotations to the runtime spec (KEY=VALUE)
    #[arg(long)]
    pub annotation: Vec<String>,
    /// Signal to stop the container with
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Seconds to wait before killing the container on stop
    #[arg(long)]
    pub stop_timeout: Option<u32>,
    /// Restart policy: no, on-failure[:N], always, unless-stopped
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Mount the root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Mount a tmpfs (PATH[:OPTIONS])
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// What the image's VOLUMEs become: bind (anonymous volumes), tmpfs, or ignore
    #[arg(long, value_name = "MODE", value_parser = ["bind", "tmpfs", "ignore"])]
    pub image_volume: Option<String>,
    /// Bind a host path: /HOST/PATH:/CONTAINER/PATH[:ro|rw|rprivate|rshared|rslave...]
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Attach a mount: type=bind,source=,target=[,readonly][,bind-propagation=] or type=tmpfs,target=[,tmpfs-size=]
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount the volumes and binds of another container (CONTAINER[:ro|rw])
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// Run in a pod: an existing one, or new:NAME to create it (the container's network and ports become the pod's)
    #[arg(long)]
    pub pod: Option<String>,
    /// Read the pod to run in from this file
    #[arg(long)]
    pub pod_id_file: Option<std::path::PathBuf>,
    /// Containers this one needs: they are started before it (CONTAINER[,CONTAINER...])
    #[arg(long, value_delimiter = ',')]
    pub requires: Vec<String>,
    /// Size of /dev/shm
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Memory limit (e.g. 32m, 1g; at least 6m; 0: no limit)
    // Negative numbers reach the value checks, which name them (podman's
    // pflag takes `-1` as the value too), instead of a clap usage error.
    #[arg(short, long, allow_negative_numbers = true)]
    pub memory: Option<String>,
    /// Memory plus swap limit (-1: unlimited swap)
    #[arg(long, allow_negative_numbers = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs (0: no limit)
    #[arg(long, allow_negative_numbers = true)]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<u64>,
    /// Process limit (-1: unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Ulimit (NAME=SOFT[:HARD])
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Add capabilities
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop capabilities
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Give the container all capabilities, no seccomp, no masked paths
    #[arg(long)]
    pub privileged: bool,
    /// Security options: no-new-privileges, seccomp=unconfined|FILE.json
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Add a custom DNS server
    #[arg(long)]
    pub dns: Vec<String>,
    /// Add a DNS search domain
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Add a DNS option (resolv.conf options)
    #[arg(long, visible_alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a line to /etc/hosts (NAME:IP)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Do not generate /etc/hosts; keep the image's
    #[arg(long)]
    pub no_hosts: bool,
    /// Pass the host's proxy variables (http_proxy, https_proxy, ftp_proxy, no_proxy, either case) into the container
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub http_proxy: bool,
    /// Network: bridge (the default network; default as root), NETWORK[,NETWORK...] or NETWORK:alias=A,ip=IP,mac=MAC,interface_name=N (repeatable), private (loopback only; default rootless), none, host, container:NAME, ns:PATH
    #[arg(long, visible_alias = "net")]
    pub network: Vec<String>,
    /// Publish a container's port to the host ([[IP:][HOSTPORT]:]CTRPORT[/PROTO], ranges allowed)
    #[arg(short = 'p', long)]
    pub publish: Vec<String>,
    /// Publish every port the image EXPOSEs, on random host ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or a range (PORT[-PORT][/PROTO]) as EXPOSE does: -P publishes it
    #[arg(long)]
    pub expose: Vec<String>,
    /// The container's IPv4 (or IPv6) address on its network
    #[arg(long)]
    pub ip: Option<String>,
    /// The container's MAC address on its network
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Another name the container answers to on its networks (DNS)
    #[arg(long)]
    pub network_alias: Vec<String>,
    /// Logging driver: k8s-file, json-file, none
    #[arg(long, default_value = "k8s-file")]
    pub log_driver: String,
    /// Logging driver options (max-size=SIZE)
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Health check command (run with /bin/sh -c)
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Time between health checks
    #[arg(long, default_value = "30s")]
    pub health_interval: String,
    /// Consecutive failures before unhealthy
    #[arg(long, default_value_t = 3)]
    pub health_retries: u32,
    /// Grace period before failures count
    #[arg(long, default_value = "0s")]
    pub health_start_period: String,
    /// Maximum time a check may take
    #[arg(long, default_value = "30s")]
    pub health_timeout: String,
    /// Disable the image's health check
    #[arg(long)]
    pub no_healthcheck: bool,
    /// Pull policy: always, missing, never, newer
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Platform to pull (OS/ARCH[/VARIANT])
    #[arg(long)]
    pub platform: Option<String>,
    /// An external OCI runtime (runc, crun, ...) instead of berth's own
    #[arg(long)]
    pub runtime: Option<String>,
    /// PID namespace: private (the default) or host (root only)
    #[arg(long)]
    pub pid: Option<String>,
    /// Seconds the container may run before it is killed (0: no limit)
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub timeout: u32,
    /// User namespace: keep-id (rootless: run as yourself, same uid inside), host
    #[arg(long)]
    pub userns: Option<String>,
    /// Timezone in the container (a zoneinfo name such as Europe/Paris, or local); the last one wins
    #[arg(long)]
    pub tz: Vec<String>,
    /// Unset a default environment variable (TERM, container, or one of the image's)
    #[arg(long)]
    pub unsetenv: Vec<String>,
    /// Unset every default and image environment variable
    #[arg(long)]
    pub unsetenv_all: bool,
    /// Add a rule to the cgroup's allowed devices list ("TYPE MAJOR:MINOR ACCESS")
    #[arg(long)]
    pub device_cgroup_rule: Vec<String>,
    /// Kernel memory limit (no longer supported: a no-op, as in podman)
    #[arg(long)]
    pub kernel_memory: Option<String>,
    /// Write the container's PID to this file at each start
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<std::path::PathBuf>,
    /// Additional groups for the container's processes (names from the image's /etc/group, or GIDs)
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Set a namespaced kernel parameter (KEY=VALUE: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// CPUs the container may run on (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use (0-3, 0,1)
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// UTS namespace: private (the default) or host
    #[arg(long)]
    pub uts: Option<String>,
    /// IPC namespace: private (the default), shareable, or host
    #[arg(long)]
    pub ipc: Option<String>,
    /// What to do when the health check turns unhealthy: none, kill, restart, stop
    #[arg(long, default_value = "none")]
    pub health_on_failure: String,
    /// How systemd hears the container is ready (NOTIFY_SOCKET): container (its own messages, relayed), conmon (berth's monitor, once it runs), ignore
    #[arg(long, default_value = "container", value_name = "MODE")]
    pub sdnotify: String,
    /// The container's cgroup: enabled (berth's own), split (under the caller's, for systemd units), no-conmon, disabled (the caller's)
    #[arg(long, default_value = "enabled", value_name = "MODE")]
    pub cgroups: String,
    /// The parent of the container's cgroup (a path in each cgroup hierarchy)
    #[arg(long, value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// Add a secret: NAME[,type=mount|env][,target=PATH|VAR][,uid=UID,gid=GID,mode=MODE] (mounted read-only at /run/secrets/NAME by default)
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
    /// Write the container monitor's PID to this file
    #[arg(long, value_name = "FILE")]
    pub conmon_pidfile: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Print help (-h is --hostname, as in podman)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Run in the background and print the container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Forward signals received by the CLI to the container
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Key sequence to detach from an attached terminal (default ctrl-p,ctrl-q)
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Attach to STDIN, STDOUT or STDERR (default: all of them)
    #[arg(short, long, value_name = "STREAM")]
    pub attach: Vec<String>,
    /// Remove the image after the container exits, unless another container uses it
    #[arg(long)]
    pub rmi: bool,
    /// Pass this many more file descriptors (3 and up) into the container
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
}

/// Find an image locally or pull it, as a `--pull` policy says (also what
/// `build` does for FROM).
pub fn find_or_pull(
    engine: &Engine,
    word: &str,
    policy: &str,
    platform: Option<&str>,
    remote: &super::pull::RemoteArgs,
    quiet: bool,
) -> anyhow::Result<crate::engine::images::Found> {
    let policy = PullPolicy::parse(policy).map_err(anyhow::Error::msg)?;
    let opts = crate::registry::pull::PullOptions {
        platform: super::pull::platform_from(platform, None, None, None)?,
        remote: remote.options()?,
        ..Default::default()
    };
    Ok(engine.find_or_pull(word, policy, &opts, quiet)?)
}

pub fn create_container(
    engine: &Engine,
    a: &CreateArgs,
    detach_keys: Option<&str>,
) -> anyhow::Result<ContainerRow> {
    let mut spec = super::run_config::create_spec(a)?;
    if let Some(pod) = pod_of(engine, a, &mut spec)? {
        engine.join_pod(&mut spec, &pod)?;
    }
    if let Some(k) = detach_keys {
        crate::monitor::attach::parse_detach_keys(k).map_err(anyhow::Error::msg)?;
        spec.config.detach_keys = k.to_string();
    }
    if let Some(f) = &a.cidfile
        && f.exists()
    {
        anyhow::bail!(
            "container ID file {} already exists: remove it or choose another",
            f.display()
        );
    }
    let image = find_or_pull(
        engine,
        &a.image,
        &a.pull,
        a.platform.as_deref(),
        &a.remote,
        false,
    )?;
    let (row, warnings) = engine.create(CreateRequest {
        name: a.name.clone(),
        image,
        spec,
        volumes_from: a.volumes_from.clone(),
        requires: a.requires.clone(),
        replace: a.replace,
    })?;
    for w in warnings {
        eprintln!("{w}");
    }
    if let Some(f) = &a.cidfile {
        std::fs::write(f, &row.id)
            .map_err(|e| anyhow::anyhow!("writing container ID file {}: {e}", f.display()))?;
    }
    Ok(row)
}

/// `--pod NAME|new:NAME` / `--pod-id-file`: the pod to join, created
/// first for new:, with the container's network and ports.
fn pod_of(
    engine: &Engine,
    a: &CreateArgs,
    spec: &mut crate::engine::create::CreateSpec,
) -> anyhow::Result<Option<crate::state::pods::PodRow>> {
    let word = match (&a.pod, &a.pod_id_file) {
        (Some(_), Some(_)) => anyhow::bail!("cannot specify both --pod and --pod-id-file"),
        (Some(p), None) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("reading pod ID file {}: {e}", f.display()))?
            .trim()
            .to_string(),
        (None, None) => return Ok(None),
    };
    let Some(name) = word.strip_prefix("new:") else {
        return Ok(Some(engine.pod(&word)?));
    };
    let mut infra = crate::engine::create::CreateSpec::default();
    let c = &mut spec.config;
    infra.config.network = c.network.clone();
    infra.config.network_options = std::mem::take(&mut c.network_options);
    infra.config.networks = std::mem::take(&mut c.networks);
    infra.config.ports = std::mem::take(&mut c.ports);
    infra.config.dns = c.dns.clone();
    infra.config.dns_search = c.dns_search.clone();
    infra.config.dns_options = c.dns_options.clone();
    infra.config.add_hosts = c.add_hosts.clone();
    infra.config.runtime = c.runtime.clone();
    infra.expose = std::mem::take(&mut spec.expose);
    infra.publish_all = std::mem::take(&mut spec.publish_all);
    let hostname = Some(c.hostname.clone()).filter(|h| !h.is_empty());
    let pod = engine.create_pod(crate::engine::pods::PodSpec {
        name: Some(name.to_string()),
        hostname,
        share: ["ipc", "net", "uts"].map(String::from).to_vec(),
        infra: true,
        infra_spec: infra,
        exit_policy: "continue".into(),
        create_command: std::env::args().collect(),
        ..Default::default()
    })?;
    Ok(Some(pod))
}

pub fn create(ctx: &Ctx, a: CreateArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let row = create_container(&engine, &a, None)?;
    println!("{}", row.id);
    Ok(())
}

static PROXY_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = PROXY_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

fn proxy_signals() {
    for sig in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        // SAFETY: installing a handler that only calls kill(2).
        unsafe { libc::signal(sig, forward as *const () as libc::sighandler_t) };
    }
}

/// Start a created container's monitor; attached, relay and wait and return
/// the container's exit code.
pub fn start_container(
    engine: &mut Engine,
    row: &ContainerRow,
    attached: bool,
    sig_proxy: bool,
    reopen: bool,
) -> anyhow::Result<i32> {
    let cfg = row.config();
    let attach = attached.then_some(Attach {
        stdin: cfg.interactive,
        stdout: true,
        stderr: true,
        attached: true,
    });
    start_attached(engine, row, attach, sig_proxy, reopen)
}

/// `--attach`/`-a` words: the streams to relay (podman's run.go texts).
fn attach_streams(words: &[String], interactive: bool) -> anyhow::Result<Attach> {
    if words.is_empty() {
        return Ok(Attach {
            stdin: interactive,
            stdout: true,
            stderr: true,
            attached: true,
        });
    }
    let mut a = Attach::default();
    for w in words {
        match w.to_ascii_lowercase().as_str() {
            "stdin" => a.stdin = interactive,
            "stdout" => a.stdout = true,
            "stderr" => a.stderr = true,
            _ => {
                return Err(exit(
                    125,
                    format!(
                        "invalid stream {w:?} for --attach - must be one of stdin, stdout, or stderr: invalid argument"
                    ),
                ));
            }
        }
    }
    Ok(a)
}

/// Start a created container's monitor relaying the `attach` streams (None:
/// detached); attached, wait and return the container's exit code.
fn start_attached(
    engine: &mut Engine,
    row: &ContainerRow,
    attach: Option<Attach>,
    sig_proxy: bool,
    reopen: bool,
) -> anyhow::Result<i32> {
    let cfg = row.config();
    let attached = attach.is_some();
    let attach = Attach {
        attached,
        ..attach.unwrap_or_default()
    };
    let raw = if attached && cfg.tty && std::io::stdin().is_terminal() {
        Some(crate::runtime::tty::RawMode::enter(
            std::os::fd::AsFd::as_fd(&std::io::stdin()),
        )?)
    } else {
        None
    };
    let print_id = attached && !attach.stdout && !attach.stderr;
    let mut launched = engine.launch(row, attach, reopen)?;
    let code = match launched.next_event() {
        Some(Event::Started(pid)) => {
            if !attached {
                return Ok(0);
            }
            // As podman (terminal.StartAttachCtr): with neither stdout nor
            // stderr attached, say which container runs.
            if print_id {
                println!("{}", row.id);
            }
            if sig_proxy && !cfg.tty {
                PROXY_PID.store(pid, Ordering::SeqCst);
                proxy_signals();
            }
            loop {
                match launched.next_event() {
                    Some(Event::Exited(code)) => break code,
                    Some(Event::Detached) => break 0,
                    Some(_) => continue,
                    None => {
                        engine.reopen_db()?;
                        break engine
                            .container(&row.id)
                            .map(|c| c.exit_code as i32)
                            .unwrap_or(125);
                    }
                }
            }
        }
        Some(Event::Failed(code, msg)) => {
            drop(raw);
            return Err(exit(code, msg));
        }
        _ => {
            drop(raw);
            return Err(exit(
                125,
                format!(
                    "{}: the container monitor died before starting it",
                    row.name
                ),
            ));
        }
    };
    drop(raw);
    Ok(code)
}

pub fn run(ctx: &Ctx, a: RunArgs) -> anyhow::Result<()> {
    // First: berth's own files must not be taken for the caller's.
    crate::runtime::options::set_preserve_fds(a.preserve_fds).map_err(|e| exit(125, e))?;
    let mut engine = ctx.engine()?;
    let attach = if a.detach {
        None
    } else {
        Some(attach_streams(&a.attach, a.create.interactive)?)
    };
    let row = create_container(&engine, &a.create, a.detach_keys.as_deref())?;
    let code = start_attached(&mut engine, &row, attach, a.sig_proxy, false)?;
    if a.detach {
        println!("{}", row.id);
        return Ok(());
    }
    if a.rmi {
        engine.reopen_db()?;
        engine.remove_image_if_unused(&row.image_id)?;
    }
    if code != 0 {
        return Err(exit(code, ""));
    }
    Ok(())
}
