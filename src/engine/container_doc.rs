//! A container's inspect document, as podman 4 (and docker's Engine API,
//! whose `/containers/{id}/json` it follows) writes it.

use crate::engine::ContainerRow;
use crate::engine::Engine;
use crate::format::units::rfc3339;
use serde_json::{Value, json};

fn time(nanos: i64) -> String {
    if nanos <= 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    crate::monitor::logs::timestamp(nanos)
}

/// podman's container inspect document.
pub fn container_json(engine: &Engine, c: &ContainerRow) -> Value {
    let cfg = c.config();
    let dir = engine.container_dir(&c.id);
    // Joined to another container's network: its hosts file and resolv.conf.
    let net_dir = match cfg.network.strip_prefix("container:") {
        Some(other) => engine.container_dir(other),
        None => dir.clone(),
    };
    let caps = crate::engine::inspect::effective_caps(&cfg);
    let (cpu_quota, cpu_period) = crate::engine::inspect::cpu_quota_period(&cfg);
    let running = c.is_running();
    // No log file with the none driver: podman leaves the path empty.
    let log_path = if cfg.log_driver == "none" {
        String::new()
    } else {
        dir.join("ctr.log").display().to_string()
    };
    let health = if cfg.healthcheck.is_some() {
        serde_json::to_value(crate::engine::health::state(engine, &c.id)).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    json!({
        "Id": c.id,
        "Created": time(c.created),
        "Path": cfg.args.first().cloned().unwrap_or_default(),
        "Args": cfg.args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "OciVersion": "1.0.2",
            "Status": c.podman_state(),
            "Running": c.state == "running",
            "Paused": c.state == "paused",
            "Restarting": false,
            "OOMKilled": c.oom_killed,
            "Dead": false,
            "Pid": if running { c.pid } else { 0 },
            "ConmonPid": if running { c.monitor_pid } else { 0 },
            "ExitCode": c.exit_code,
            "Error": "",
            "StartedAt": time(c.started),
            "FinishedAt": time(c.finished),
            // docker's key, and podman 4's (which its own tests read).
            "Health": health.clone(),
            "Healthcheck": health,
        },
        "Image": c.image_id,
        "ImageName": c.image_name,
        // The manifest digest of the image the container was made from
        // (empty once the image is gone).
        "ImageDigest": engine
            .find_image(&c.image_id)
            .map(|f| f.image.manifest_digest.to_string())
            .unwrap_or_default(),
        "Rootfs": "",
        "ResolvConfPath": net_dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": net_dir.join("hosts"),
        "LogPath": log_path,
        "PidFile": cfg.pidfile.clone().unwrap_or_default(),
        "Name": c.name,
        "Pod": cfg.pod,
        "RestartCount": c.restart_count,
        "Driver": "overlay",
        "OCIRuntime": cfg.runtime.clone().unwrap_or_else(|| "berth".into()),
        "EffectiveCaps": caps,
        "BoundingCaps": caps,
        "ExecIDs": [],
        "GraphDriver": {"Name": "overlay", "Data": {"UpperDir": dir.join("upper"), "WorkDir": dir.join("work"), "MergedDir": dir.join("rootfs")}},
        "Mounts": cfg
            .binds
            .iter()
            .map(|b| json!({"Type": "bind", "Source": b.source, "Destination": b.destination, "Driver": "", "Mode": "", "Options": ["rbind"], "RW": !b.readonly, "Propagation": if b.propagation.is_empty() { "rprivate" } else { b.propagation.as_str() }}))
            .chain(cfg.volumes.iter().map(|v| json!({"Type": "volume", "Name": v.name, "Source": engine.volume_data(&v.name), "Destination": v.destination, "Driver": "local", "Mode": "", "Options": ["nosuid", "nodev", "rbind"], "RW": !v.readonly, "Propagation": "rprivate"})))
            .collect::<Vec<_>>(),
        "Dependencies": [],
        "NetworkSettings": network_settings(engine, c),
        "Namespace": "",
        "IsInfra": false,
        "Config": {
            "Hostname": cfg.hostname,
            "Domainname": "",
            "User": cfg.user,
            "AttachStdin": cfg.interactive,
            "AttachStdout": false,
            "AttachStderr": false,
            "Tty": cfg.tty,
            "OpenStdin": cfg.interactive,
            "StdinOnce": false,
            "Env": cfg.env,
            "Cmd": cfg.cmd,
            "Image": c.image_name,
            "Volumes": null,
            "WorkingDir": cfg.workdir,
            "Entrypoint": cfg.entrypoint.join(" "),
            "OnBuild": null,
            "Labels": cfg.labels,
            "ExposedPorts": cfg.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect::<serde_json::Map<_, _>>(),
            "Annotations": cfg.annotations,
            "StopSignal": cfg.stop_signal,
            "StopTimeout": cfg.stop_timeout,
            "HealthcheckOnFailureAction": if cfg.health_on_failure.is_empty() { "none" } else { cfg.health_on_failure.as_str() },
            "Healthcheck": cfg.healthcheck.as_ref().map(|h| json!({"Test": h.test, "Interval": h.interval_secs * 1_000_000_000, "Timeout": h.timeout_secs * 1_000_000_000, "Retries": h.retries, "StartPeriod": h.start_period_secs * 1_000_000_000})),
            // podman: the mount secrets (env ones are not listed), or nothing.
            "Secrets": Some(cfg.secrets.iter().filter(|s| s.kind != "env").map(|s| json!({"Name": s.name, "ID": s.id, "UID": s.uid, "GID": s.gid, "Mode": s.mode})).collect::<Vec<_>>()).filter(|v| !v.is_empty()),
        },
        "HostConfig": {
            "CgroupManager": "cgroupfs",
            "LogConfig": {"Type": if cfg.log_driver.is_empty() { "k8s-file" } else { cfg.log_driver.as_str() }, "Config": null, "Path": log_path, "Size": crate::format::units::human_size_4(cfg.log_max_size.unwrap_or(0))},
            "NetworkMode": if cfg.network == "private" { "private" } else { cfg.network.as_str() },
            "PortBindings": {},
            "RestartPolicy": {"Name": cfg.restart.name, "MaximumRetryCount": cfg.restart.max_retries},
            "AutoRemove": cfg.rm,
            "CapAdd": cfg.cap_add,
            "CapDrop": cfg.cap_drop,
            "Privileged": cfg.privileged,
            "ReadonlyRootfs": cfg.read_only,
            "SecurityOpt": cfg.seccomp.iter().map(|s| format!("seccomp={s}")).chain(cfg.no_new_privileges.then(|| "no-new-privileges".to_string())).collect::<Vec<_>>(),
            "Tmpfs": cfg.tmpfs.iter().map(|t| { let (d, o) = t.split_once(':').unwrap_or((t.as_str(), "")); (d.to_string(), json!(o)) }).collect::<serde_json::Map<_, _>>(),
            "ShmSize": if cfg.shm_size > 0 { cfg.shm_size } else { 64 << 20 },
            "Runtime": cfg.runtime.clone().unwrap_or_else(|| "berth".into()),
            "Memory": cfg.memory.unwrap_or(0),
            "MemorySwap": cfg.memory_swap.unwrap_or(0),
            "NanoCpus": cfg.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            "CpuShares": cfg.cpu_shares.unwrap_or(0),
            "PidsLimit": cfg.pids_limit.unwrap_or(0),
            "CpuQuota": cpu_quota,
            "CpuPeriod": cpu_period,
            "MemoryReservation": cfg.memory_reservation.unwrap_or(0),
            "BlkioWeight": cfg.blkio_weight.unwrap_or(0),
            "Ulimits": cfg.ulimits.iter().map(|u| json!({"Name": format!("RLIMIT_{}", u.name.to_ascii_uppercase()), "Soft": u.soft, "Hard": u.hard})).collect::<Vec<_>>(),
            "Init": cfg.init,
            "GroupAdd": cfg.group_add,
            "Sysctls": cfg.sysctls,
            "CpusetCpus": cfg.cpuset_cpus,
            "CpusetMems": cfg.cpuset_mems,
            "UTSMode": if cfg.uts.is_empty() { "private" } else { cfg.uts.as_str() },
            "IpcMode": if cfg.ipc.is_empty() { "private" } else { cfg.ipc.as_str() },
        },
        "CreatedAt": rfc3339(c.created / 1_000_000_000),
    })
}

/// docker's NetworkSettings: the published ports, and each network's
/// address (the first network's also at the top level).
fn network_settings(engine: &Engine, c: &ContainerRow) -> Value {
    let cfg = c.config();
    let mut ports = serde_json::Map::new();
    for p in &cfg.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        let entry = ports.entry(key).or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            list.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}));
        }
    }
    let atts = if cfg.network == "bridge" {
        engine
            .netdb()
            .ok()
            .and_then(|nd| crate::engine::networks::attachments(&nd, &c.id).ok())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut networks = serde_json::Map::new();
    let mut top = json!({"IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "MacAddress": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPv6Gateway": ""});
    for (i, a) in atts.iter().enumerate() {
        let v4 = a.config.v4();
        let v6 = a.config.v6();
        let n = json!({
            "EndpointID": "",
            "Gateway": v4.and_then(|s| s.gateway).map(|g| g.to_string()).unwrap_or_default(),
            "IPAddress": a.endpoint.ip,
            "IPPrefixLen": v4.map(|s| s.subnet.prefix).unwrap_or(0),
            "IPv6Gateway": v6.and_then(|s| s.gateway).map(|g| g.to_string()).unwrap_or_default(),
            "GlobalIPv6Address": a.endpoint.ipv6.clone().unwrap_or_default(),
            "GlobalIPv6PrefixLen": v6.map(|s| s.subnet.prefix).unwrap_or(0),
            "MacAddress": a.endpoint.mac,
            "NetworkID": a.network.id,
            "Aliases": a.endpoint.aliases,
            "InterfaceName": a.endpoint.interface,
        });
        if i == 0 {
            for k in [
                "IPAddress",
                "IPPrefixLen",
                "Gateway",
                "MacAddress",
                "GlobalIPv6Address",
                "GlobalIPv6PrefixLen",
                "IPv6Gateway",
            ] {
                top[k] = n[k].clone();
            }
        }
        networks.insert(a.network.name.clone(), n);
    }
    let mut out = json!({"Bridge": "", "SandboxID": "", "Ports": ports, "Networks": networks});
    if let (Some(o), Some(t)) = (out.as_object_mut(), top.as_object()) {
        o.extend(t.clone());
    }
    out
}
