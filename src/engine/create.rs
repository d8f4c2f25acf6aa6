//! Creating a container: what a front door asks for (the run flags, a
//! compose service, a pod's member) is a `CreateSpec`; the image's defaults
//! fill what it leaves open (`with_image`), and `Engine::create` records it.

use super::containers::{ContainerConfig, ContainerError, Health, NewContainer};
use super::images::Found;
use super::volumes::VolumeMount;
use super::{Engine, EngineError};
use crate::image::config::RunConfig;
use crate::network::ports::PortMapping;
use crate::state::containers::ContainerRow;
use std::collections::BTreeMap;

/// A container as asked for, before the image is looked at.
#[derive(Debug, Clone, Default)]
pub struct CreateSpec {
    /// Everything that does not depend on the image. Its `args`,
    /// `entrypoint`, `cmd`, `workdir`, `user`, `stop_signal`, `healthcheck`
    /// and `exposed_ports` are set by `with_image` from the fields below;
    /// its `env` and `labels` go over the image's; its `ports` get the
    /// image's exposed ports with `publish_all`; the image's VOLUMEs join
    /// its mounts as `image_volume` says.
    pub config: ContainerConfig,
    /// `--entrypoint` (Some(empty): none at all, not the image's).
    pub entrypoint: Option<Vec<String>>,
    /// The command after the image: empty means the image's CMD (unless the
    /// entrypoint was given).
    pub command: Vec<String>,
    pub env: EnvSpec,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub stop_signal: Option<String>,
    pub healthcheck: HealthSpec,
    /// `--expose`d ports as `PORT/PROTO`, after the image's.
    pub expose: Vec<String>,
    /// `-P`: publish every exposed port on a random host port.
    pub publish_all: bool,
    /// What becomes of the image's VOLUMEs: bind (anonymous volumes),
    /// tmpfs, or ignore.
    pub image_volume: String,
}

/// A container's environment: podman's defaults and the image's, unless
/// `defaults` is off (`--unsetenv-all`), then `set` in order, then `unset`.
#[derive(Debug, Clone, Default)]
pub struct EnvSpec {
    pub defaults: bool,
    /// The host's proxy variables under the image's (`--http-proxy`).
    pub proxy: bool,
    /// `KEY=VALUE` entries: the host's (`--env-host`), env files', `-e`'s.
    pub set: Vec<String>,
    pub unset: Vec<String>,
}

/// The health check: the image's, none, or the one given.
#[derive(Debug, Clone, Default)]
pub enum HealthSpec {
    #[default]
    Image,
    Disabled,
    Set(Health),
}

/// Set `kv` (`KEY=VALUE`) in an environment list, replacing its key.
pub fn set_env(env: &mut Vec<String>, kv: String) {
    let key = kv.split('=').next().unwrap_or("").to_string();
    env.retain(|e| e.split('=').next() != Some(key.as_str()));
    env.push(kv);
}

/// The container's config: `spec` over the image's defaults. The second
/// value holds warnings for the user (ports a namespace cannot publish).
pub fn with_image(
    spec: CreateSpec,
    image: &RunConfig,
) -> Result<(ContainerConfig, Vec<String>), String> {
    let mut warnings = Vec::new();
    let ic = image;
    let mut cfg = spec.config;
    let (entrypoint, cmd) = match spec.entrypoint {
        Some(e) => (e, spec.command),
        None => (
            ic.entrypoint.clone().unwrap_or_default(),
            if spec.command.is_empty() {
                ic.cmd.clone().unwrap_or_default()
            } else {
                spec.command
            },
        ),
    };
    cfg.args = entrypoint.iter().chain(cmd.iter()).cloned().collect();
    cfg.entrypoint = entrypoint;
    cfg.cmd = cmd;
    // podman's defaults (containers.conf `env`), then the image's; both go
    // with --unsetenv-all.
    let mut env = Vec::new();
    if spec.env.defaults {
        env = vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "TERM=xterm".to_string(),
        ];
        if spec.env.proxy {
            env.extend(crate::network::proxy_env());
        }
        for e in ic.env.clone().unwrap_or_default() {
            set_env(&mut env, e);
        }
    }
    for kv in spec.env.set {
        set_env(&mut env, kv);
    }
    // `container=podman` as podman sets it: systemd-detect-virt and other
    // tools know this value (an unknown one reads as "container-other").
    if spec.env.defaults && !env.iter().any(|e| e.starts_with("container=")) {
        env.push("container=podman".into());
    }
    env.retain(|e| {
        let name = e.split('=').next().unwrap_or("");
        !spec.env.unset.iter().any(|u| u == name)
    });
    cfg.env = env;
    let mut labels: BTreeMap<String, String> = ic.labels.clone().unwrap_or_default();
    labels.append(&mut cfg.labels);
    cfg.labels = labels;
    cfg.workdir = spec
        .workdir
        .or(ic.working_dir.clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    cfg.user = spec.user.or(ic.user.clone()).unwrap_or_default();
    cfg.stop_signal = spec
        .stop_signal
        .or(ic.stop_signal.clone())
        .unwrap_or_else(|| "SIGTERM".into());
    cfg.healthcheck = match spec.healthcheck {
        HealthSpec::Image => image_healthcheck(ic),
        HealthSpec::Disabled => None,
        HealthSpec::Set(h) => Some(h),
    };
    if !cfg.health_on_failure.is_empty() && cfg.healthcheck.is_none() {
        return Err(format!(
            "cannot set on-failure action to {} without a health check",
            cfg.health_on_failure
        ));
    }
    let mut exposed: Vec<String> = ic
        .exposed_ports
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect();
    for e in spec.expose {
        if !exposed.contains(&e) {
            exposed.push(e);
        }
    }
    if spec.publish_all {
        for key in &exposed {
            let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if !cfg
                .ports
                .iter()
                .any(|p| p.container_port == port && p.protocol == proto)
            {
                cfg.ports.push(PortMapping {
                    host_ip: String::new(),
                    host_port: 0,
                    container_port: port,
                    protocol: proto.to_string(),
                });
            }
        }
    }
    cfg.exposed_ports = exposed;
    if !cfg.ports.is_empty() {
        match cfg.network.as_str() {
            "bridge" | "pasta" | "slirp4netns" => {}
            // As podman: these namespaces have nothing to publish.
            m if m == "host" || m == "none" || m.starts_with("container:") => {
                warnings.push(
                    "Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use".to_string(),
                );
                cfg.ports.clear();
            }
            m => {
                return Err(format!(
                    "-p/--publish needs a bridge network, pasta or slirp4netns; --network {m} has no ports to publish"
                ));
            }
        }
    }
    image_volumes(&mut cfg, ic, &spec.image_volume);
    Ok((cfg, warnings))
}

/// The image's VOLUMEs no other mount covers: anonymous volumes (`bind`),
/// tmpfs mounts (`tmpfs`), or nothing (`ignore`).
fn image_volumes(cfg: &mut ContainerConfig, ic: &RunConfig, mode: &str) {
    let dests = ic.volumes.iter().flat_map(|v| v.keys());
    match mode {
        "tmpfs" => {
            for d in dests {
                let (dest, opts) = super::mounts::tmpfs_entry(d);
                let taken = cfg.binds.iter().any(|b| b.destination == dest)
                    || cfg.volumes.iter().any(|v| v.destination == dest)
                    || cfg
                        .tmpfs
                        .iter()
                        .any(|t| super::mounts::tmpfs_entry(t).0 == dest);
                if !taken {
                    cfg.tmpfs.push(format!("{dest}:{opts}"));
                }
            }
        }
        "bind" => {
            let taken: Vec<String> = cfg
                .volumes
                .iter()
                .map(|m| m.destination.clone())
                .chain(
                    cfg.tmpfs
                        .iter()
                        .map(|t| t.split(':').next().unwrap_or("").to_string()),
                )
                .chain(cfg.binds.iter().map(|b| b.destination.clone()))
                .collect();
            for dest in dests {
                if !taken.contains(dest) {
                    cfg.volumes.push(VolumeMount {
                        name: super::containers::new_id(),
                        destination: dest.clone(),
                        anonymous: true,
                        ..Default::default()
                    });
                }
            }
        }
        _ => {}
    }
}

/// The image's HEALTHCHECK (docker's config: Test, and durations in
/// nanoseconds, 0 meaning the default), unless it is `NONE`.
pub fn image_healthcheck(ic: &RunConfig) -> Option<Health> {
    let h = ic.healthcheck.as_ref()?;
    let test: Vec<String> = h
        .get("Test")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    if test.is_empty() || test[0] == "NONE" {
        return None;
    }
    let secs = |k: &str, default: u64| {
        h.get(k)
            .and_then(|v| v.as_u64())
            .filter(|n| *n > 0)
            .map(|n| (n / 1_000_000_000).max(1))
            .unwrap_or(default)
    };
    Some(Health {
        test,
        interval_secs: secs("Interval", 30),
        timeout_secs: secs("Timeout", 30),
        retries: h
            .get("Retries")
            .and_then(|v| v.as_u64())
            .filter(|n| *n > 0)
            .unwrap_or(3) as u32,
        start_period_secs: h
            .get("StartPeriod")
            .and_then(|v| v.as_u64())
            .map(|n| n / 1_000_000_000)
            .unwrap_or(0),
    })
}

/// A container to create: the image already found (or pulled).
pub struct CreateRequest {
    pub name: Option<String>,
    pub image: Found,
    pub spec: CreateSpec,
    /// `--volumes-from CTR[:ro|rw]`.
    pub volumes_from: Vec<String>,
    /// `--requires`: containers to start before this one.
    pub requires: Vec<String>,
    /// `--replace`: a container of that name goes first.
    pub replace: bool,
}

impl Engine {
    /// Create a container: the image's defaults under the spec, the
    /// other containers it names resolved, its record, files and bundle.
    /// Returns the record and warnings for the user.
    pub fn create(
        &self,
        req: CreateRequest,
    ) -> Result<(ContainerRow, Vec<String>), ContainerError> {
        let image_cfg = crate::image::ImageConfig::parse(
            &self
                .store
                .read_blob(&req.image.image.id)
                .map_err(EngineError::from)?,
        )
        .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let user_given = req.spec.user.is_some();
        let (mut cfg, mut warnings) =
            with_image(req.spec, &image_cfg.config.clone().unwrap_or_default())
                .map_err(ContainerError::Invalid)?;
        // Another container's namespaces: by ID, so a rename does not
        // break them.
        for mode in [&mut cfg.network, &mut cfg.ipc, &mut cfg.uts, &mut cfg.pid] {
            if let Some(other) = mode.strip_prefix("container:") {
                let c = self.container(other)?;
                *mode = format!("container:{}", c.id);
            }
        }
        for vf in &req.volumes_from {
            self.volumes_from(&mut cfg, vf)?;
        }
        for r in &req.requires {
            cfg.requires.push(self.container(r)?.id);
        }
        if cfg.userns == "keep-id" {
            if !self.paths.rootless {
                return Err(ContainerError::Invalid(
                    "--userns=keep-id is for rootless users: as root there is no other id to keep"
                        .into(),
                ));
            }
            if !user_given {
                let (uid, gid) = crate::process::pause::host_ids();
                cfg.user = format!("{uid}:{gid}");
            }
        }
        let limits = cfg.memory.is_some()
            || cfg.memory_swap.is_some()
            || cfg.cpus.is_some()
            || cfg.cpu_shares.is_some()
            || cfg.pids_limit.is_some();
        if limits && cfg.cgroups == "disabled" {
            return Err(ContainerError::Invalid(
                "--cgroups=disabled: resource limits need a cgroup; drop the limits or --cgroups=disabled".into(),
            ));
        }
        if limits && (self.paths.rootless || crate::runtime::host_cgroup_version().is_none()) {
            warnings.push(
                "Warning: resource limits need cgroups, which a rootless user without cgroup delegation cannot use; running without them".into(),
            );
        }
        if req.replace
            && let Some(name) = &req.name
            && let Ok(old) = self.container(name)
        {
            self.remove_container(&old, true)?;
        }
        let image_name = req
            .image
            .name
            .clone()
            .unwrap_or_else(|| req.image.image.id.hex().to_string());
        let row = self.create_container(NewContainer {
            name: req.name,
            image: &req.image.image,
            image_name,
            config: cfg,
        })?;
        Ok((row, warnings))
    }

    /// `--volumes-from CTR[:ro|rw]`: the other container's binds and
    /// volumes, unless this one mounts something at the same place.
    fn volumes_from(&self, cfg: &mut ContainerConfig, vf: &str) -> Result<(), ContainerError> {
        let (name, mode) = vf.split_once(':').unwrap_or((vf, ""));
        let readonly = match mode {
            "" | "rw" => None,
            "ro" => Some(true),
            other => {
                return Err(ContainerError::Invalid(format!(
                    "invalid --volumes-from {vf:?}: unknown mode {other:?} (use ro or rw)"
                )));
            }
        };
        let other = self.container(name)?.config();
        let taken = |d: &str, c: &ContainerConfig| {
            c.binds.iter().any(|b| b.destination == d)
                || c.volumes.iter().any(|v| v.destination == d && !v.anonymous)
        };
        for mut b in other.binds.clone() {
            if !taken(&b.destination, cfg) {
                b.readonly = readonly.unwrap_or(b.readonly);
                b.chown = false;
                cfg.binds.push(b);
            }
        }
        for mut v in other.volumes.clone() {
            if !taken(&v.destination, cfg) {
                v.readonly = readonly.unwrap_or(v.readonly);
                // Shared, not this container's own: `rm -v` leaves it.
                v.anonymous = false;
                v.chown = false;
                cfg.volumes.retain(|x| x.destination != v.destination);
                cfg.volumes.push(v);
            }
        }
        Ok(())
    }

    /// `run --rmi`: remove the image once no container uses it (a
    /// container kept without --rm still does, and keeps it).
    pub fn remove_image_if_unused(&self, image_id: &str) -> Result<(), ContainerError> {
        if self.containers()?.iter().any(|c| c.image_id == image_id) {
            return Ok(());
        }
        if let Ok(found) = self.find_image(image_id) {
            self.delete_image(&found.image.id)?;
        }
        Ok(())
    }
}
