use super::Ctx;
use crate::engine::Engine;
use crate::format::units::rfc3339;
use crate::state::containers::ContainerRow;
use clap::Args;
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
    let caps: Vec<String> =
        crate::runtime::caps::resolve(cfg.privileged, &cfg.cap_add, &cfg.cap_drop)
            .unwrap_or_default()
            .into_iter()
            .collect();
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
            "Status": super::ps::state_name(c),
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
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        "LogPath": log_path,
        "PidFile": cfg.pidfile.clone().unwrap_or_default(),
        "Name": c.name,
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
            "CpuQuota": crate::runtime::cgroups::Limits::of(&cfg).cpu_quota.unwrap_or(0),
            "CpuPeriod": crate::runtime::cgroups::Limits::of(&cfg).cpu_period.unwrap_or(0),
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

#[derive(Args)]
pub struct TopArgs {
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
    /// psgo descriptors, as podman takes them (default: user,pid,ppid,pcpu,etime,tty,time,args)
    pub descriptors: Vec<String>,
    /// Show the latest container created (the first word is then a descriptor)
    #[arg(short, long)]
    pub latest: bool,
}

/// Every process whose pid namespace is the container's.
pub fn container_pids(pid: i64) -> Vec<i64> {
    let Ok(target) = std::fs::read_link(format!("/proc/{pid}/ns/pid")) else {
        return vec![];
    };
    let mut out: Vec<i64> = std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    out.retain(|p| {
        std::fs::read_link(format!("/proc/{p}/ns/pid"))
            .ok()
            .as_ref()
            == Some(&target)
    });
    out.sort_unstable();
    out
}

pub fn top(ctx: &Ctx, mut a: TopArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let name = if a.latest {
        if let Some(first) = a.container.take() {
            a.descriptors.insert(0, first);
        }
        super::latest_container(&engine)?
    } else {
        a.container.clone().unwrap_or_default()
    };
    let c = engine.container(&name)?;
    if !c.is_running() {
        return Err(super::exit(
            125,
            format!(
                "top can only be used on running containers: {} is {}",
                c.name,
                super::ps::state_name(&c)
            ),
        ));
    }
    let words: Vec<String> = if a.descriptors.is_empty() {
        [
            "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
        ]
        .map(String::from)
        .to_vec()
    } else {
        a.descriptors
            .iter()
            .flat_map(|d| d.split([',', ' ']))
            .filter(|d| !d.is_empty())
            .map(String::from)
            .collect()
    };
    let cols: Vec<&'static str> = words
        .iter()
        .map(|w| top::descriptor(w).ok_or_else(|| anyhow::anyhow!("unknown descriptor: {w}")))
        .collect::<anyhow::Result<_>>()?;
    let names = top::Names::read(c.pid);
    let mut out = cols
        .iter()
        .map(|d| top::header(d))
        .collect::<Vec<_>>()
        .join("\t");
    out.push('\n');
    for pid in container_pids(c.pid) {
        let Some(p) = top::Proc::read(pid) else {
            continue;
        };
        let row: Vec<String> = cols.iter().map(|d| p.value(d, &names)).collect();
        out.push_str(&row.join("\t"));
        out.push('\n');
    }
    print!("{}", crate::format::template::tabwrite(&out));
    Ok(())
}

/// `top` as podman's psgo reads /proc: each process as the container sees
/// it (its pid namespace, its user namespace, its /etc/passwd) and as the
/// host does (the `h...` descriptors), without running any program of
/// the container's (CVE-2022-1227).
mod top {
    use std::collections::HashMap;

    /// psgo's descriptor names and ps(1)'s AIX codes, to one name.
    pub fn descriptor(w: &str) -> Option<&'static str> {
        Some(match w {
            "user" | "%U" | "ruser" | "%u" => "user",
            "huser" => "huser",
            "group" | "%G" | "rgroup" | "%g" => "group",
            "hgroup" => "hgroup",
            "pid" | "%p" => "pid",
            "hpid" => "hpid",
            "ppid" | "%P" => "ppid",
            "pcpu" | "%C" | "%cpu" => "pcpu",
            "etime" | "%t" => "etime",
            "tty" | "%y" => "tty",
            "time" | "%x" => "time",
            "args" | "%a" => "args",
            "comm" | "%c" => "comm",
            "nice" | "%n" => "nice",
            "vsz" | "%z" => "vsz",
            "rss" => "rss",
            "state" => "state",
            _ => return None,
        })
    }

    pub fn header(d: &str) -> &'static str {
        match d {
            "user" => "USER",
            "huser" => "HUSER",
            "group" => "GROUP",
            "hgroup" => "HGROUP",
            "pid" => "PID",
            "hpid" => "HPID",
            "ppid" => "PPID",
            "pcpu" => "%CPU",
            "etime" => "ELAPSED",
            "tty" => "TTY",
            "time" => "TIME",
            "args" | "comm" => "COMMAND",
            "nice" => "NI",
            "vsz" => "VSZ",
            "rss" => "RSS",
            _ => "STATE",
        }
    }

    /// Names for ids: the container's /etc/passwd and /etc/group (read
    /// beneath its root), and the host's.
    pub struct Names {
        users: HashMap<u32, String>,
        groups: HashMap<u32, String>,
        host_users: HashMap<u32, String>,
        host_groups: HashMap<u32, String>,
        uid_map: Vec<(u32, u32, u32)>,
        gid_map: Vec<(u32, u32, u32)>,
    }

    fn id_names(text: &str) -> HashMap<u32, String> {
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
            })
            .collect()
    }

    /// A file of the container's, opened through its root with
    /// RESOLVE_IN_ROOT so that no link in the image leads to the host.
    fn read_in_root(pid: i64, rel: &str) -> String {
        use rustix::fs::{Mode, OFlags, ResolveFlags};
        let Ok(root) = rustix::fs::open(
            format!("/proc/{pid}/root").as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return String::new();
        };
        let Ok(fd) = rustix::fs::openat2(
            &root,
            rel,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) else {
            return String::new();
        };
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut s);
        s
    }

    fn id_map(path: &str) -> Vec<(u32, u32, u32)> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace().map(|x| x.parse::<u32>().ok());
                Some((w.next()??, w.next()??, w.next()??))
            })
            .collect()
    }

    /// A host id as the container's user namespace sees it.
    fn inside(map: &[(u32, u32, u32)], host: u32) -> u32 {
        map.iter()
            .find(|(_, out, n)| host >= *out && host - out < *n)
            .map(|(i, out, _)| i + (host - out))
            .unwrap_or(65534)
    }

    impl Names {
        pub fn read(pid: i64) -> Names {
            Names {
                users: id_names(&read_in_root(pid, "etc/passwd")),
                groups: id_names(&read_in_root(pid, "etc/group")),
                host_users: id_names(&std::fs::read_to_string("/etc/passwd").unwrap_or_default()),
                host_groups: id_names(&std::fs::read_to_string("/etc/group").unwrap_or_default()),
                uid_map: id_map(&format!("/proc/{pid}/uid_map")),
                gid_map: id_map(&format!("/proc/{pid}/gid_map")),
            }
        }
    }

    fn name(names: &HashMap<u32, String>, id: u32) -> String {
        names.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }

    /// One process, from /proc/PID/{stat,status,cmdline}.
    pub struct Proc {
        hpid: i64,
        pid: String,
        ppid: String,
        uid: u32,
        gid: u32,
        state: String,
        tty_nr: u64,
        cpu_ticks: u64,
        start_ticks: u64,
        nice: i64,
        vsz_kb: u64,
        rss_pages: u64,
        comm: String,
        args: String,
    }

    /// The last NSpid field: the pid in the innermost (the container's)
    /// namespace.
    fn ns_pid(hpid: i64) -> Option<String> {
        let status = std::fs::read_to_string(format!("/proc/{hpid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|v| v.split_whitespace().last().map(String::from))
    }

    impl Proc {
        pub fn read(hpid: i64) -> Option<Proc> {
            let stat = std::fs::read_to_string(format!("/proc/{hpid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(") ")?;
            let comm = head.split_once(" (")?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
            let status = std::fs::read_to_string(format!("/proc/{hpid}/status")).ok()?;
            let ids = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let host_ppid: i64 = f.get(1).and_then(|x| x.parse().ok()).unwrap_or(0);
            let same_ns = |p: i64| {
                std::fs::read_link(format!("/proc/{p}/ns/pid")).ok()
                    == std::fs::read_link(format!("/proc/{hpid}/ns/pid")).ok()
            };
            let ppid = if host_ppid > 0 && same_ns(host_ppid) {
                ns_pid(host_ppid).unwrap_or_else(|| "0".into())
            } else {
                "0".into()
            };
            let cmdline = std::fs::read(format!("/proc/{hpid}/cmdline")).unwrap_or_default();
            let args = cmdline
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            Some(Proc {
                hpid,
                pid: ns_pid(hpid).unwrap_or_else(|| hpid.to_string()),
                ppid,
                uid: ids("Uid:"),
                gid: ids("Gid:"),
                state: f.first().unwrap_or(&"?").to_string(),
                tty_nr: num(4),
                cpu_ticks: num(11) + num(12),
                start_ticks: num(19),
                nice: f.get(16).and_then(|x| x.parse().ok()).unwrap_or(0),
                vsz_kb: num(20) / 1024,
                rss_pages: num(21),
                args: if args.is_empty() {
                    format!("[{comm}]")
                } else {
                    args
                },
                comm,
            })
        }

        pub fn value(&self, d: &str, n: &Names) -> String {
            // SAFETY: sysconf with a constant name.
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
            // SAFETY: sysconf with a constant name.
            let page_kb = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) / 1024) as u64;
            let elapsed = || {
                let uptime: f64 = std::fs::read_to_string("/proc/uptime")
                    .ok()
                    .and_then(|u| u.split_whitespace().next().and_then(|x| x.parse().ok()))
                    .unwrap_or(0.0);
                (uptime - self.start_ticks as f64 / hz).max(0.0)
            };
            match d {
                "user" => name(&n.users, inside(&n.uid_map, self.uid)),
                "huser" => name(&n.host_users, self.uid),
                "group" => name(&n.groups, inside(&n.gid_map, self.gid)),
                "hgroup" => name(&n.host_groups, self.gid),
                "pid" => self.pid.clone(),
                "hpid" => self.hpid.to_string(),
                "ppid" => self.ppid.clone(),
                "pcpu" => {
                    let e = elapsed();
                    let pct = if e > 0.0 {
                        self.cpu_ticks as f64 / hz / e * 100.0
                    } else {
                        0.0
                    };
                    format!("{pct:.3}")
                }
                "etime" => go_duration(elapsed()),
                "time" => go_duration(self.cpu_ticks as f64 / hz),
                "tty" => tty_name(self.tty_nr),
                "args" => self.args.clone(),
                "comm" => self.comm.clone(),
                "nice" => self.nice.to_string(),
                "vsz" => self.vsz_kb.to_string(),
                "rss" => (self.rss_pages * page_kb).to_string(),
                _ => self.state.clone(),
            }
        }
    }

    /// The controlling terminal as psgo names it: "?" for none.
    fn tty_name(nr: u64) -> String {
        let major = (nr >> 8) & 0xfff;
        let minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
        match major {
            0 => "?".into(),
            4 if minor < 64 => format!("tty{minor}"),
            136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
            _ => "?".into(),
        }
    }

    /// Go's time.Duration String for whole and fractional seconds:
    /// "0s", "1.5s", "2m3s", "1h2m3s".
    pub fn go_duration(secs: f64) -> String {
        let total = secs.max(0.0);
        let h = (total / 3600.0).floor();
        let m = ((total - h * 3600.0) / 60.0).floor();
        let s = total - h * 3600.0 - m * 60.0;
        let s = format!("{s:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        let s = if s.is_empty() { "0" } else { s };
        match (h as u64, m as u64) {
            (0, 0) => format!("{s}s"),
            (0, m) => format!("{m}m{s}s"),
            (h, m) => format!("{h}h{m}m{s}s"),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn log_sizes_as_go_units() {
            assert_eq!(crate::format::units::human_size_4(0), "0B");
            assert_eq!(crate::format::units::human_size_4(3_033_000), "3.033MB");
            assert_eq!(crate::format::units::human_size_4(1_030_000), "1.03MB");
        }

        #[test]
        fn durations_as_go() {
            assert_eq!(go_duration(0.0), "0s");
            assert_eq!(go_duration(1.5), "1.5s");
            assert_eq!(go_duration(123.0), "2m3s");
            assert_eq!(go_duration(3723.0), "1h2m3s");
        }

        #[test]
        fn ttys() {
            assert_eq!(tty_name(0), "?");
            assert_eq!(tty_name(136 << 8), "pts/0");
            assert_eq!(tty_name((4 << 8) | 1), "tty1");
        }

        #[test]
        fn descriptors() {
            assert_eq!(descriptor("%C"), Some("pcpu"));
            assert_eq!(descriptor("huser"), Some("huser"));
            assert_eq!(descriptor("bogus"), None);
        }
    }
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
