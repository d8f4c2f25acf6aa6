//! `run`/`create` flags read into an `engine::create::CreateSpec` (the
//! image's defaults are the engine's to add).

use super::run::CreateArgs;
use crate::engine::containers::{ContainerConfig, Health, RestartPolicy, Ulimit};
use crate::engine::create::{CreateSpec, EnvSpec, HealthSpec};
use crate::engine::networks::NetworkRequest;
use crate::network::ports::PortMapping;

/// Go's time.ParseDuration, for the units people use: 1h30m, 30s, 500ms.
pub fn parse_duration(s: &str) -> anyhow::Result<std::time::Duration> {
    crate::format::units::parse_go_duration(s.trim())
        .filter(|n| *n >= 0)
        .map(|n| std::time::Duration::from_nanos(n as u64))
        .ok_or_else(|| anyhow::anyhow!("invalid duration {s:?}: expected e.g. 30s, 1m, 500ms"))
}

pub(super) fn words(s: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(s)
        .unwrap_or_else(|_| s.split_whitespace().map(String::from).collect())
}

/// podman's floor for `--memory` (docker's linuxMinMemory): below it the
/// kernel OOM-kills a container before it gets going.
const MIN_MEMORY: i64 = 6 << 20;

/// The flags that need no image: checked before anything is pulled, so a
/// typo costs no download (podman checks `--dns` this early too).
pub(super) fn check_flags(a: &CreateArgs) -> anyhow::Result<()> {
    // podman (cmd/podman/common/netflags.go): every server must be an IP
    // address; "none" (keep the image's resolv.conf) is podman's only word.
    for d in &a.dns {
        if d == "none" {
            anyhow::bail!(
                "--dns none (keep the image's resolv.conf) is not supported: give DNS server addresses"
            );
        }
        if d.parse::<std::net::IpAddr>().is_err() {
            anyhow::bail!("{d} is not an ip address");
        }
    }
    for e in &a.env {
        env_entry(e)?;
    }
    for l in &a.label {
        // podman (cmd/podman/parse/net.go GetAllLabels).
        if l.split('=').next() == Some("") {
            anyhow::bail!("invalid label format: {}", go_quote(l));
        }
    }
    for h in &a.add_host {
        // podman's ValidateExtraHost: NAME:IP, split on the first colon so
        // IPv6 addresses keep theirs.
        match h.split_once(':') {
            Some((name, ip)) if !name.is_empty() => {
                if ip.trim().parse::<std::net::IpAddr>().is_err() {
                    anyhow::bail!("invalid IP address in add-host: {}", go_quote(ip));
                }
            }
            _ => anyhow::bail!("bad format for add-host: {}", go_quote(h)),
        }
    }
    if let Some(s) = &a.stop_signal {
        // podman parses it as `kill -s` does ("valid signals are 1 through 64").
        crate::process::signal::signal_number(s)?;
    }
    memory_limits(a)?;
    cpus(a)?;
    Ok(())
}

/// Go's %q for the strings people type: double quotes, `"` and `\` escaped.
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

/// One `-e`/`--env` word as podman's pkg/env parseEnv reads it: `NAME=VALUE`;
/// `NAME` copies the host's value (if set); `NAME*` copies every host
/// variable starting with NAME. An empty name (`=x`, `=`) is refused.
fn env_entry(e: &str) -> anyhow::Result<Vec<String>> {
    let (name, value) = match e.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (e, None),
    };
    if name.is_empty() {
        anyhow::bail!("invalid environment variable: {}", go_quote(e));
    }
    let name = name.trim_start_matches([' ', '\t']);
    Ok(match value {
        Some(v) => vec![format!("{name}={v}")],
        None => match name.strip_suffix('*') {
            Some(prefix) => std::env::vars()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            None => std::env::var(name)
                .map(|v| vec![format!("{name}={v}")])
                .unwrap_or_default(),
        },
    })
}

/// `--memory` and `--memory-swap` in bytes, as podman reads them
/// (pkg/specgenutil getMemoryLimits, pkg/specgen/generate/validate.go):
/// `--memory 0` is no limit; `--memory-swap -1` is unlimited swap.
fn memory_limits(a: &CreateArgs) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    memory_limits_of(a.memory.as_deref(), a.memory_swap.as_deref())
}

/// `--memory`/`--memory-swap` words as run and update read them.
pub(super) fn memory_limits_of(
    memory: Option<&str>,
    memory_swap: Option<&str>,
) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    let size = |s: &str| {
        crate::runtime::parse_bytes(s)
            .ok_or_else(|| anyhow::anyhow!("invalid value for memory: invalid size: '{s}'"))
    };
    let memory = match memory {
        None => None,
        Some(m) => match size(m)? {
            0 => None,
            // podman hands this on and the OCI runtime's cgroup OOM-kills the
            // container before its first instruction; docker refuses it
            // with this text, and so does berth.
            n if n < MIN_MEMORY => anyhow::bail!("minimum memory limit allowed is 6MB"),
            n => Some(n),
        },
    };
    let swap = match memory_swap {
        None => None,
        Some("-1") => Some(-1),
        Some(s) => Some(size(s)?),
    };
    match (memory, swap) {
        (None, Some(s)) if s != -1 => anyhow::bail!(
            "you should always set a memory limit when using a memoryswap limit, see usage"
        ),
        (Some(m), Some(s)) if s != -1 && s < m => {
            anyhow::bail!("minimum memoryswap limit should be larger than memory limit, see usage")
        }
        _ => {}
    }
    Ok((memory, swap))
}

/// `--cpus`: 0 is no limit (podman: "The default is 0.000 which means no
/// limit"). podman 4.3.1 drops a negative value without a word and hands a
/// tiny one to the runtime, whose cgroup refuses a quota under 1ms per
/// 100ms period; berth refuses both up front.
fn cpus(a: &CreateArgs) -> anyhow::Result<Option<f64>> {
    cpus_of(a.cpus)
}

/// `--restart` as run and update read it.
pub(super) fn restart_policy(word: &str) -> anyhow::Result<RestartPolicy> {
    Ok(match word.split_once(':') {
        Some(("on-failure", n)) => RestartPolicy {
            name: "on-failure".into(),
            max_retries: n.parse().map_err(|_| {
                anyhow::anyhow!("invalid --restart {word:?}: the retry count must be a number")
            })?,
        },
        None if matches!(word, "no" | "on-failure" | "always" | "unless-stopped") => {
            RestartPolicy {
                name: word.to_string(),
                max_retries: 0,
            }
        }
        _ => anyhow::bail!(
            "invalid --restart {word:?}: use no, on-failure[:N], always or unless-stopped"
        ),
    })
}

/// `--cpus` as run and update check it.
pub(super) fn cpus_of(cpus: Option<f64>) -> anyhow::Result<Option<f64>> {
    match cpus {
        None => Ok(None),
        Some(0.0) => Ok(None),
        Some(c) if c >= 0.01 && c.is_finite() => Ok(Some(c)),
        Some(c) => anyhow::bail!(
            "invalid --cpus {c}: the range of CPUs is from 0.01 upwards (0 means no limit)"
        ),
    }
}

/// Merge the image's defaults and the user's flags into a container config.
/// The run/create flags as a `CreateSpec`: everything checked that can be
/// without the image, whose defaults `engine::create` adds.
pub fn create_spec(a: &CreateArgs) -> anyhow::Result<CreateSpec> {
    check_flags(a)?;
    let mut set = Vec::new();
    if a.env_host {
        for (k, v) in std::env::vars() {
            set.push(format!("{k}={v}"));
        }
    }
    for f in &a.env_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("reading env file {}: {e}", f.display()))?;
        // podman reads each line as an -e word (pkg/env ParseFile).
        for l in text
            .lines()
            .map(|l| l.trim_start_matches([' ', '\t']))
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            set.extend(env_entry(l)?);
        }
    }
    for e in &a.env {
        set.extend(env_entry(e)?);
    }
    if a.kernel_memory.is_some() {
        eprintln!(
            "WARN[0000] The --kernel-memory flag is no longer supported. This flag is a noop."
        );
    }
    for r in &a.device_cgroup_rule {
        crate::engine::spec::DeviceRule::parse(r).map_err(anyhow::Error::msg)?;
    }
    let mut labels: std::collections::BTreeMap<String, String> =
        super::run_flags::label_file_labels(a)?
            .into_iter()
            .collect();
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
    let restart = restart_policy(&a.restart)?;
    if a.rm && restart.name != "no" {
        anyhow::bail!(
            "the --rm option conflicts with --restart: a removed container cannot restart"
        );
    }
    let (memory, memory_swap) = memory_limits(a)?;
    let shm_size = match a.shm_size.as_deref() {
        None => 0,
        Some(s) => crate::runtime::parse_bytes(s)
            .ok_or_else(|| anyhow::anyhow!("unable to translate --shm-size: invalid size: '{s}'"))?
            as u64,
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
    let expose = super::run_flags::exposed_ports(a)?;
    let (network, network_options, networks, ports) = network_config(a)?;
    let (uts, ipc) = (
        super::run_flags::uts_mode(a)?,
        super::run_flags::ipc_mode(a)?,
    );
    let sysctls = super::run_flags::sysctls(a, &network, &uts, &ipc)?;
    let mut log_max_size = None;
    let mut log_details = vec![];
    for o in &a.log_opt {
        match o.split_once('=') {
            // podman reads the size with go-units FromHumanSize: decimal
            // units, so 3.033m is 3033000 bytes and inspect shows "3.033MB".
            Some(("max-size", v)) => {
                log_max_size = Some(
                    crate::format::units::from_human_size(v)
                        .ok_or_else(|| anyhow::anyhow!("invalid --log-opt {o:?}"))?,
                )
            }
            Some(("path" | "tag" | "max-file", _)) => {}
            Some(("labels" | "env", _)) => log_details.push(o.clone()),
            _ => anyhow::bail!(
                "invalid --log-opt {o:?}: supported are max-size=SIZE, labels=LABEL,... and env=VAR,..."
            ),
        }
    }
    crate::monitor::logs::Driver::parse(&a.log_driver).map_err(|e| {
        match a.log_driver.as_str() {
            "journald" | "passthrough" => anyhow::Error::msg(e),
            // podman's text for a driver name it does not know.
            _ => anyhow::anyhow!(
                "running container create option: invalid log driver: invalid argument"
            ),
        }
    })?;
    let healthcheck = match (&a.health_cmd, a.no_healthcheck) {
        (_, true) => HealthSpec::Disabled,
        (Some(cmd), false) if cmd != "none" => HealthSpec::Set(Health {
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
        (Some(_), false) => HealthSpec::Disabled,
        (None, false) => HealthSpec::Image,
    };
    let health_on_failure = super::run_flags::health_on_failure(a)?;
    let sdnotify = super::run_flags::sdnotify(a)?;
    // Only a command line that ends in this image and command is kept
    // (not a pod's infra, made by hand).
    let mut argv: Vec<String> = std::env::args().collect();
    let tail = argv.len().saturating_sub(1 + a.command.len());
    if a.image.is_empty() || argv.get(tail) != Some(&a.image) || argv[tail + 1..] != a.command[..] {
        argv.clear();
    }
    let (cgroups, cgroup_parent) = super::run_flags::cgroups(a)?;
    if a.runtime.is_some() && a.tty {
        anyhow::bail!(
            "-t with --runtime is not supported yet: terminals need the OCI console socket; use berth's own runtime"
        );
    }
    // Fail on a bad capability name now, not at start.
    crate::runtime::caps::resolve(a.privileged, &a.cap_add, &a.cap_drop)
        .map_err(anyhow::Error::msg)?;
    let mounts = crate::engine::mounts::binds(&a.volume, &a.mount).map_err(anyhow::Error::msg)?;
    let mut tmpfs = a.tmpfs.clone();
    tmpfs.extend(crate::engine::mounts::tmpfs_from_mounts(&a.mount).map_err(anyhow::Error::msg)?);
    // podman's --image-volume (default: containers.conf's
    // image_volume_mode, else bind): a VOLUME no other mount covers
    // becomes an anonymous volume (bind), a tmpfs, or nothing (ignore).
    let image_volume = crate::engine::mounts::image_volume_mode(a.image_volume.as_deref())
        .map_err(anyhow::Error::msg)?;
    let (binds, volumes, tmpfs) =
        crate::engine::mounts::unify(mounts.0, mounts.1, tmpfs).map_err(anyhow::Error::msg)?;
    let config = ContainerConfig {
        mtab_link: false,
        hostname: a.hostname.clone().unwrap_or_default(),
        labels,
        annotations,
        tty: a.tty,
        interactive: a.interactive,
        stop_timeout: a.stop_timeout.unwrap_or(10),
        restart,
        init: a.init,
        read_only: a.read_only,
        tmpfs,
        binds,
        volumes,
        shm_size,
        memory,
        memory_swap,
        cpus: cpus(a)?,
        cpu_shares: a.cpu_shares,
        pids_limit: a.pids_limit,
        ulimits,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        privileged: a.privileged,
        no_new_privileges,
        seccomp,
        network,
        network_options,
        networks,
        ports,
        log_driver: a.log_driver.clone(),
        log_max_size,
        log_details,
        pid: match a.pid.as_deref() {
            None | Some("") | Some("private") => String::new(),
            Some("host") if crate::process::pause::host_ids().0 != 0 => {
                anyhow::bail!(
                    "--pid host needs root: a rootless container cannot mount the host's /proc"
                )
            }
            Some("host") => "host".into(),
            Some(o) if super::run_flags::joins_container(o) => o.to_string(),
            Some(o) => anyhow::bail!("invalid --pid {o:?}: use private, host or container:NAME"),
        },
        // The global one was checked when the command started.
        runtime: match &a.runtime {
            Some(r) => {
                crate::runtime::options::check_runtime(r).map_err(anyhow::Error::msg)?;
                Some(r.clone())
            }
            None => crate::runtime::options::global_runtime(),
        },
        timeout: a.timeout,
        detach_keys: String::new(),
        dns: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        dns_options: a.dns_option.clone(),
        add_hosts: a.add_host.clone(),
        no_hosts: a.no_hosts,
        userns: match a.userns.as_deref() {
            None | Some("") | Some("host") => String::new(),
            Some("keep-id") => "keep-id".into(),
            Some(other) => anyhow::bail!("invalid --userns {other:?}: use keep-id or host"),
        },
        rm: a.rm,
        timezone: a.tz.last().cloned().unwrap_or_default(),
        device_cgroup_rules: a.device_cgroup_rule.clone(),
        conmon_pidfile: a.conmon_pidfile.as_ref().map(|p| p.display().to_string()),
        pidfile: a.pidfile.as_ref().map(|p| p.display().to_string()),
        group_add: a.group_add.clone(),
        sysctls,
        cpuset_cpus: super::run_flags::cpuset("cpuset-cpus", &a.cpuset_cpus)?,
        cpuset_mems: super::run_flags::cpuset("cpuset-mems", &a.cpuset_mems)?,
        uts,
        ipc,
        health_on_failure,
        sdnotify,
        cgroups,
        cgroup_parent,
        create_command: argv.clone(),
        create_image_at: argv.len().saturating_sub(1 + a.command.len()),
        secrets: a
            .secret
            .iter()
            .map(|s| crate::engine::secrets::parse_flag(s))
            .collect::<Result<_, _>>()?,
        ..Default::default()
    };
    Ok(CreateSpec {
        config,
        entrypoint: a
            .entrypoint
            .as_ref()
            .map(|e| if e.is_empty() { vec![] } else { words(e) }),
        command: a.command.clone(),
        env: EnvSpec {
            defaults: !a.unsetenv_all,
            proxy: a.http_proxy,
            set,
            unset: a.unsetenv.clone(),
        },
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        stop_signal: a.stop_signal.clone(),
        healthcheck,
        expose,
        publish_all: a.publish_all,
        image_volume,
    })
}

/// A `--network` value that names networks rather than a mode.
fn is_network_name(v: &str) -> bool {
    !matches!(
        v,
        "pasta" | "slirp4netns" | "private" | "none" | "host" | ""
    ) && !["pasta:", "slirp4netns:", "ns:", "container:"]
        .iter()
        .any(|p| v.starts_with(p))
}

/// One `--network` value of bridge networks: `NET[,NET...]`, or podman 4's
/// `NET:alias=A,ip=IP,mac=MAC,interface_name=NAME` (options repeatable:
/// aliases add up). `--network-alias` applies to each.
fn network_requests(value: &str, aliases: &[String]) -> anyhow::Result<Vec<NetworkRequest>> {
    let bad = |why: String| anyhow::anyhow!("invalid --network {value:?}: {why}");
    let Some((name, opts)) = value.split_once(':') else {
        return value
            .split(',')
            .map(|n| match n {
                "" => Err(bad("empty network name".into())),
                n => Ok(NetworkRequest {
                    network: n.to_string(),
                    aliases: aliases.to_vec(),
                    ..Default::default()
                }),
            })
            .collect();
    };
    if name.is_empty() {
        return Err(bad("empty network name".into()));
    }
    let mut r = NetworkRequest {
        network: name.to_string(),
        aliases: aliases.to_vec(),
        ..Default::default()
    };
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| bad(format!("option {o:?} needs a value (KEY=VALUE)")))?;
        match k {
            "alias" => r.aliases.push(v.to_string()),
            "ip" | "ip6" => {
                r.ip = Some(
                    v.parse()
                        .map_err(|_| bad(format!("{k}={v:?} is not an IP address")))?,
                )
            }
            "mac" => {
                crate::network::ipam::parse_mac(v).map_err(&bad)?;
                r.mac = Some(v.to_string());
            }
            "interface_name" => {
                if v.is_empty() || v.len() > 15 || v.contains(['/', ' ', ':']) {
                    return Err(bad(format!("{v:?} is not a valid interface name")));
                }
                r.interface_name = Some(v.to_string());
            }
            _ => {
                return Err(bad(format!(
                    "unknown option {k:?} (use alias, ip, ip6, mac or interface_name)"
                )));
            }
        }
    }
    Ok(vec![r])
}

/// `--network`, `--ip`, `--mac-address`, `--network-alias`, `-p`:
/// the network mode, the networks to join and the ports to publish.
#[allow(clippy::type_complexity)]
fn network_config(
    a: &CreateArgs,
) -> anyhow::Result<(String, Vec<String>, Vec<NetworkRequest>, Vec<PortMapping>)> {
    let rootless = crate::process::pause::host_ids().0 != 0;
    if a.network.len() > 1
        && let Some(n) = a.network.iter().find(|n| !is_network_name(n))
    {
        anyhow::bail!(
            "--network {n} cannot be combined with other networks: only network names can"
        );
    }
    let given = a.network.first().cloned().unwrap_or_else(|| {
        if rootless {
            crate::engine::networks::default_rootless_mode()
        } else {
            "bridge".to_string()
        }
    });
    let mut options = Vec::new();
    let mode = match given.as_str() {
        "pasta" | "slirp4netns" => given.clone(),
        n if n.starts_with("pasta:") || n.starts_with("slirp4netns:") => {
            let (mode, opts) = n.split_once(':').unwrap_or((n, ""));
            options = opts
                .split(',')
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect();
            if mode == "slirp4netns" {
                crate::network::usermode::slirp_args(&options).map_err(anyhow::Error::msg)?;
            }
            mode.to_string()
        }
        "private" | "none" | "host" => given.clone(),
        n if n.starts_with("ns:") && n.len() > 3 => {
            if !std::path::Path::new(&n[3..]).exists() {
                anyhow::bail!("--network {n}: no network namespace at {}", &n[3..]);
            }
            n.to_string()
        }
        n if n.starts_with("container:") && n.len() > 10 => n.to_string(),
        "" => anyhow::bail!("--network needs a value"),
        _ => "bridge".to_string(),
    };
    let mut networks = Vec::new();
    if mode == "bridge" {
        for value in a
            .network
            .iter()
            .chain(a.network.is_empty().then_some(&given))
        {
            networks.extend(network_requests(value, &a.network_alias)?);
        }
        if let Some(first) = networks.first_mut() {
            if let Some(ip) = &a.ip {
                first.ip = Some(ip.parse().map_err(|_| {
                    anyhow::anyhow!("invalid --ip {ip:?}: expected an IPv4 or IPv6 address")
                })?);
            }
            if let Some(m) = &a.mac_address {
                crate::network::ipam::parse_mac(m).map_err(anyhow::Error::msg)?;
                first.mac = Some(m.clone());
            }
        }
    } else if a.ip.is_some() || a.mac_address.is_some() || !a.network_alias.is_empty() {
        anyhow::bail!(
            "--ip, --mac-address and --network-alias need a bridge network, not --network {given}"
        );
    }
    let mut ports = Vec::new();
    for p in &a.publish {
        ports.extend(crate::network::ports::parse(p).map_err(anyhow::Error::msg)?);
    }
    Ok((mode, options, networks, ports))
}
