use super::pull::RemoteArgs;
use super::{Ctx, exit};
use crate::engine::Engine;
use crate::engine::containers::{ContainerConfig, Health, NewContainer, RestartPolicy, Ulimit};
use crate::engine::volumes::VolumeMount;
use crate::image::ImageConfig;
use crate::monitor::{Attach, Event};
use crate::state::containers::ContainerRow;
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
    /// Bind a host path: /HOST/PATH:/CONTAINER/PATH[:ro|rw|rprivate|rshared|rslave...]
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Attach a mount: type=bind,source=,target=[,readonly][,bind-propagation=] or type=tmpfs,target=[,tmpfs-size=]
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount the volumes and binds of another container (CONTAINER[:ro|rw])
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// Size of /dev/shm
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Memory limit (e.g. 32m, 1g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory plus swap limit (-1: unlimited swap)
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long)]
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
    #[arg(long)]
    pub dns_option: Vec<String>,
    /// Add a line to /etc/hosts (NAME:IP)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Do not generate /etc/hosts; keep the image's
    #[arg(long)]
    pub no_hosts: bool,
    /// Network: private (loopback only, the default), none, host, container:NAME, ns:PATH
    #[arg(long, visible_alias = "net", default_value = "private")]
    pub network: String,
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
    /// User namespace: keep-id (rootless: run as yourself, same uid inside), host
    #[arg(long)]
    pub userns: Option<String>,
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
}

/// Go's time.ParseDuration, for the units people use: 1h30m, 30s, 500ms.
pub fn parse_duration(s: &str) -> anyhow::Result<std::time::Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    while !rest.is_empty() {
        let n: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let v: f64 = n
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid duration {s:?}: expected e.g. 30s, 1m, 500ms"))?;
        rest = &rest[n.len()..];
        let unit: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        rest = &rest[unit.len()..];
        total += v * match unit.as_str() {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => anyhow::bail!("invalid duration {s:?}: unknown unit {unit:?}"),
        };
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

fn words(s: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(s)
        .unwrap_or_else(|_| s.split_whitespace().map(String::from).collect())
}

fn set_env(env: &mut Vec<String>, kv: String) {
    let key = kv.split('=').next().unwrap_or("").to_string();
    env.retain(|e| e.split('=').next() != Some(key.as_str()));
    env.push(kv);
}

/// `runtime = "..."` from berth.conf (`$XDG_CONFIG_HOME/berth/berth.conf`,
/// else `/etc/berth/berth.conf`): an external OCI runtime for every container.
fn configured_runtime() -> Option<String> {
    let user = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")))
        .map(|c| c.join("berth/berth.conf"));
    let text = user
        .and_then(|p| std::fs::read_to_string(p).ok())
        .or_else(|| std::fs::read_to_string("/etc/berth/berth.conf").ok())?;
    let v: toml::Value = toml::from_str(&text).ok()?;
    v.get("runtime")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Merge the image's defaults and the user's flags into a container config.
pub fn build_config(
    a: &CreateArgs,
    image: &ImageConfig,
    detach_rm: bool,
) -> anyhow::Result<ContainerConfig> {
    let ic = image.config.clone().unwrap_or_default();
    let (entrypoint, cmd) = match &a.entrypoint {
        Some(e) => (
            if e.is_empty() { vec![] } else { words(e) },
            a.command.clone(),
        ),
        None => (
            ic.entrypoint.clone().unwrap_or_default(),
            if a.command.is_empty() {
                ic.cmd.clone().unwrap_or_default()
            } else {
                a.command.clone()
            },
        ),
    };
    let args: Vec<String> = entrypoint.iter().chain(cmd.iter()).cloned().collect();
    let mut env =
        vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()];
    for e in ic.env.clone().unwrap_or_default() {
        set_env(&mut env, e);
    }
    if a.env_host {
        for (k, v) in std::env::vars() {
            set_env(&mut env, format!("{k}={v}"));
        }
    }
    for f in &a.env_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("reading env file {}: {e}", f.display()))?;
        for l in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            set_env(
                &mut env,
                if l.contains('=') {
                    l.to_string()
                } else {
                    format!("{l}={}", std::env::var(l).unwrap_or_default())
                },
            );
        }
    }
    for e in &a.env {
        if e.contains('=') {
            set_env(&mut env, e.clone());
        } else if let Ok(v) = std::env::var(e) {
            set_env(&mut env, format!("{e}={v}"));
        }
    }
    if a.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    set_env(&mut env, "container=berth".into());
    let mut labels = ic.labels.clone().unwrap_or_default();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.into(), v.into());
    }
    let annotations = a
        .annotation
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let restart = match a.restart.split_once(':') {
        Some(("on-failure", n)) => RestartPolicy {
            name: "on-failure".into(),
            max_retries: n.parse().map_err(|_| {
                anyhow::anyhow!(
                    "invalid --restart {:?}: the retry count must be a number",
                    a.restart
                )
            })?,
        },
        None if matches!(
            a.restart.as_str(),
            "no" | "on-failure" | "always" | "unless-stopped"
        ) =>
        {
            RestartPolicy {
                name: a.restart.clone(),
                max_retries: 0,
            }
        }
        _ => anyhow::bail!(
            "invalid --restart {:?}: use no, on-failure[:N], always or unless-stopped",
            a.restart
        ),
    };
    if detach_rm && restart.name != "no" {
        anyhow::bail!(
            "the --rm option conflicts with --restart: a removed container cannot restart"
        );
    }
    let bytes = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_deref()
            .map(|s| {
                if s == "-1" {
                    Ok(-1)
                } else {
                    crate::runtime::parse_bytes(s).ok_or_else(|| {
                        anyhow::anyhow!("invalid {flag} {s:?}: expected a size like 32m or 1g")
                    })
                }
            })
            .transpose()
    };
    let mut ulimits = Vec::new();
    for u in &a.ulimit {
        let (name, vals) = u
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid --ulimit {u:?}: expected NAME=SOFT[:HARD]"))?;
        let lim = |x: &str| -> anyhow::Result<u64> {
            if x == "-1" || x == "unlimited" {
                Ok(u64::MAX)
            } else {
                x.parse()
                    .map_err(|_| anyhow::anyhow!("invalid --ulimit {u:?}: limits must be numbers"))
            }
        };
        let (soft, hard) = match vals.split_once(':') {
            Some((s, h)) => (lim(s)?, lim(h)?),
            None => (lim(vals)?, lim(vals)?),
        };
        if soft > hard {
            anyhow::bail!("invalid --ulimit {u:?}: the soft limit exceeds the hard limit");
        }
        ulimits.push(Ulimit {
            name: name.to_string(),
            soft,
            hard,
        });
    }
    let mut no_new_privileges = false;
    let mut seccomp = None;
    for o in &a.security_opt {
        match o.split_once(['=', ':']) {
            None if o == "no-new-privileges" => no_new_privileges = true,
            Some(("no-new-privileges", v)) => no_new_privileges = v != "false",
            Some(("seccomp", v)) => seccomp = Some(v.to_string()),
            Some(("label", _)) | Some(("apparmor", _)) => {}
            _ => anyhow::bail!(
                "invalid --security-opt {o:?}: supported are no-new-privileges, seccomp=unconfined|FILE.json"
            ),
        }
    }
    let network = match a.network.as_str() {
        "private" | "none" | "host" => a.network.clone(),
        n if n.starts_with("ns:") && n.len() > 3 => {
            if !std::path::Path::new(&n[3..]).exists() {
                anyhow::bail!("--network {n}: no network namespace at {}", &n[3..]);
            }
            n.to_string()
        }
        n if n.starts_with("container:") && n.len() > 10 => n.to_string(),
        "bridge" | "slirp4netns" | "pasta" => anyhow::bail!(
            "--network {}: bridge and rootless networking are not available yet; use none, host or private",
            a.network
        ),
        other => anyhow::bail!("invalid --network {other:?}: use none, host or private"),
    };
    let mut log_max_size = None;
    for o in &a.log_opt {
        match o.split_once('=') {
            Some(("max-size", v)) => {
                log_max_size = Some(
                    crate::runtime::parse_bytes(v)
                        .ok_or_else(|| anyhow::anyhow!("invalid --log-opt {o:?}"))?
                        as u64,
                )
            }
            Some(("path" | "tag" | "max-file", _)) => {}
            _ => anyhow::bail!("invalid --log-opt {o:?}: supported is max-size=SIZE"),
        }
    }
    crate::monitor::logs::Driver::parse(&a.log_driver).map_err(anyhow::Error::msg)?;
    let healthcheck = match (&a.health_cmd, a.no_healthcheck) {
        (_, true) => None,
        (Some(cmd), false) if cmd != "none" => Some(Health {
            test: {
                let v = words(cmd);
                if cmd.trim_start().starts_with('[') {
                    v
                } else {
                    vec!["CMD-SHELL".into(), cmd.clone()]
                }
            },
            interval_secs: parse_duration(&a.health_interval)?.as_secs().max(1),
            timeout_secs: parse_duration(&a.health_timeout)?.as_secs().max(1),
            retries: a.health_retries,
            start_period_secs: parse_duration(&a.health_start_period)?.as_secs(),
        }),
        _ => None,
    };
    if a.runtime.is_some() && a.tty {
        anyhow::bail!(
            "-t with --runtime is not supported yet: terminals need the OCI console socket; use berth's own runtime"
        );
    }
    // Fail on a bad capability name now, not at start.
    crate::runtime::caps::resolve(a.privileged, &a.cap_add, &a.cap_drop)
        .map_err(anyhow::Error::msg)?;
    let mounts = super::mounts::binds(&a.volume, &a.mount)?;
    let binds_taken: Vec<String> = mounts.0.iter().map(|b| b.destination.clone()).collect();
    Ok(ContainerConfig {
        args,
        entrypoint,
        cmd,
        env,
        workdir: a
            .workdir
            .clone()
            .or(ic.working_dir.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into()),
        user: a.user.clone().or(ic.user.clone()).unwrap_or_default(),
        hostname: a.hostname.clone().unwrap_or_default(),
        labels,
        annotations,
        tty: a.tty,
        interactive: a.interactive,
        stop_signal: a
            .stop_signal
            .clone()
            .or(ic.stop_signal.clone())
            .unwrap_or_else(|| "SIGTERM".into()),
        stop_timeout: a.stop_timeout.unwrap_or(10),
        restart,
        init: a.init,
        read_only: a.read_only,
        tmpfs: {
            let mut t = a.tmpfs.clone();
            t.extend(super::mounts::tmpfs_from_mounts(&a.mount)?);
            t
        },
        binds: mounts.0,
        volumes: {
            // The image's VOLUMEs not covered by another mount become
            // anonymous volumes.
            let mut v = mounts.1;
            let taken: Vec<String> = v
                .iter()
                .map(|m| m.destination.clone())
                .chain(
                    a.tmpfs
                        .iter()
                        .map(|t| t.split(':').next().unwrap_or("").to_string()),
                )
                .collect();
            for dest in ic.volumes.clone().unwrap_or_default().into_keys() {
                if !taken.contains(&dest) && !binds_taken.contains(&dest) {
                    v.push(VolumeMount {
                        name: crate::engine::containers::new_id(),
                        destination: dest,
                        anonymous: true,
                        ..Default::default()
                    });
                }
            }
            v
        },
        shm_size: bytes("--shm-size", &a.shm_size)?.unwrap_or(0).max(0) as u64,
        memory: bytes("--memory", &a.memory)?,
        memory_swap: bytes("--memory-swap", &a.memory_swap)?,
        cpus: a.cpus,
        cpu_shares: a.cpu_shares,
        pids_limit: a.pids_limit,
        ulimits,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        privileged: a.privileged,
        no_new_privileges,
        seccomp,
        network,
        log_driver: a.log_driver.clone(),
        log_max_size,
        healthcheck,
        runtime: a.runtime.clone().or_else(configured_runtime),
        detach_keys: String::new(),
        dns: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        dns_options: a.dns_option.clone(),
        add_hosts: {
            for h in &a.add_host {
                if !h.contains(':') {
                    anyhow::bail!("invalid --add-host {h:?}: expected NAME:IP");
                }
            }
            a.add_host.clone()
        },
        no_hosts: a.no_hosts,
        userns: match a.userns.as_deref() {
            None | Some("") | Some("host") => String::new(),
            Some("keep-id") => "keep-id".into(),
            Some(other) => anyhow::bail!("invalid --userns {other:?}: use keep-id or host"),
        },
        rm: a.rm,
    })
}

/// Find the image locally or pull it, as `--pull` says.
fn resolve_image(
    ctx: &Ctx,
    engine: &Engine,
    a: &CreateArgs,
    quiet: bool,
) -> anyhow::Result<crate::engine::images::Found> {
    let local = engine.find_image(&a.image);
    let pull = match (a.pull.as_str(), &local) {
        ("always", _) => true,
        ("missing" | "newer", Err(_)) => true,
        ("never", Err(_)) => {
            return Err(exit(
                125,
                format!("{}: image not known, and --pull=never", a.image),
            ));
        }
        ("missing" | "never" | "newer", Ok(_)) => false,
        (p, _) => anyhow::bail!("invalid --pull {p:?}: use always, missing, never or newer"),
    };
    if pull {
        let conf = crate::registry::RegistriesConf::load()?;
        let opts = crate::registry::pull::PullOptions {
            platform: super::pull::platform_from(a.platform.as_deref(), None, None, None)?,
            remote: a.remote.options()?,
            ..Default::default()
        };
        let progress = crate::format::progress::Progress::new(quiet);
        crate::registry::pull::pull(engine, &conf, &a.image, &opts, &progress)?;
        let _ = ctx;
        return Ok(engine.find_image(&a.image)?);
    }
    Ok(local?)
}

pub fn create_container(
    ctx: &Ctx,
    engine: &Engine,
    a: &CreateArgs,
    detach_keys: Option<&str>,
) -> anyhow::Result<ContainerRow> {
    let found = resolve_image(ctx, engine, a, false)?;
    let image_cfg = ImageConfig::parse(&engine.store.read_blob(&found.image.id)?)?;
    let mut cfg = build_config(a, &image_cfg, a.rm)?;
    if let Some(other) = cfg.network.strip_prefix("container:") {
        // By ID, so a rename does not break it.
        let c = engine.container(other)?;
        cfg.network = format!("container:{}", c.id);
    }
    // --volumes-from: the other container's binds and volumes, unless this
    // one mounts something at the same place.
    for vf in &a.volumes_from {
        let (name, mode) = vf.split_once(':').unwrap_or((vf.as_str(), ""));
        let readonly = match mode {
            "" | "rw" => None,
            "ro" => Some(true),
            other => anyhow::bail!(
                "invalid --volumes-from {vf:?}: unknown mode {other:?} (use ro or rw)"
            ),
        };
        let other = engine.container(name)?.config();
        let taken = |d: &str, c: &crate::engine::containers::ContainerConfig| {
            c.binds.iter().any(|b| b.destination == d)
                || c.volumes.iter().any(|v| v.destination == d && !v.anonymous)
        };
        for mut b in other.binds.clone() {
            if !taken(&b.destination, &cfg) {
                b.readonly = readonly.unwrap_or(b.readonly);
                b.chown = false;
                cfg.binds.push(b);
            }
        }
        for mut v in other.volumes.clone() {
            if !taken(&v.destination, &cfg) {
                v.readonly = readonly.unwrap_or(v.readonly);
                // Shared, not this container's own: `rm -v` leaves it.
                v.anonymous = false;
                v.chown = false;
                cfg.volumes.retain(|x| x.destination != v.destination);
                cfg.volumes.push(v);
            }
        }
    }
    if let Some(k) = detach_keys {
        crate::monitor::attach::parse_detach_keys(k).map_err(anyhow::Error::msg)?;
        cfg.detach_keys = k.to_string();
    }
    if cfg.userns == "keep-id" {
        if !engine.paths.rootless {
            anyhow::bail!(
                "--userns=keep-id is for rootless users: as root there is no other id to keep"
            );
        }
        if a.user.is_none() {
            let (uid, gid) = crate::runtime::pause::host_ids();
            cfg.user = format!("{uid}:{gid}");
        }
    }
    let limits = cfg.memory.is_some()
        || cfg.memory_swap.is_some()
        || cfg.cpus.is_some()
        || cfg.cpu_shares.is_some()
        || cfg.pids_limit.is_some();
    if limits && crate::runtime::cgroup_for(engine, "probe").is_none() {
        eprintln!(
            "Warning: resource limits need cgroups, which a rootless user without cgroup delegation cannot use; running without them"
        );
    }
    if a.replace
        && let Some(name) = &a.name
        && let Ok(old) = engine.container(name)
    {
        engine.remove_container(&old, true)?;
    }
    if let Some(f) = &a.cidfile
        && f.exists()
    {
        anyhow::bail!(
            "container ID file {} already exists: remove it or choose another",
            f.display()
        );
    }
    let image_name = found
        .name
        .clone()
        .unwrap_or_else(|| found.image.id.hex().to_string());
    let row = engine.create_container(NewContainer {
        name: a.name.clone(),
        image: &found.image,
        image_name,
        config: cfg,
    })?;
    if let Some(f) = &a.cidfile {
        std::fs::write(f, &row.id)
            .map_err(|e| anyhow::anyhow!("writing container ID file {}: {e}", f.display()))?;
    }
    Ok(row)
}

pub fn create(ctx: &Ctx, a: CreateArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let row = create_container(ctx, &engine, &a, None)?;
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
    let attach = if attached {
        Attach {
            stdin: cfg.interactive,
            stdout: true,
            stderr: true,
        }
    } else {
        Attach::default()
    };
    let raw = if attached && cfg.tty && std::io::stdin().is_terminal() {
        Some(crate::runtime::tty::RawMode::enter(
            std::io::stdin().as_fd_borrowed(),
        )?)
    } else {
        None
    };
    let mut launched = crate::monitor::launch(engine, row, attach, reopen)?;
    let code = match launched.next_event() {
        Some(Event::Started(pid)) => {
            if !attached {
                return Ok(0);
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

trait StdinFd {
    fn as_fd_borrowed(&self) -> std::os::fd::BorrowedFd<'_>;
}

impl StdinFd for std::io::Stdin {
    fn as_fd_borrowed(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

pub fn run(ctx: &Ctx, a: RunArgs) -> anyhow::Result<()> {
    let mut engine = ctx.engine()?;
    let row = create_container(ctx, &engine, &a.create, a.detach_keys.as_deref())?;
    let code = start_container(&mut engine, &row, !a.detach, a.sig_proxy, false)?;
    if a.detach {
        println!("{}", row.id);
        return Ok(());
    }
    if code != 0 {
        return Err(exit(code, ""));
    }
    Ok(())
}
