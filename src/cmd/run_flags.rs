//! The `run`/`create` flags podman has beside the core ones: label files,
//! `--expose`, `--sysctl`, `--group-add`, the cpuset, `--uts`/`--ipc` and
//! `--health-on-failure`, each checked here as podman checks it.

use super::run::CreateArgs;
use std::collections::BTreeMap;

/// Labels from `--label-file` (KEY=VALUE lines; blank lines and `#`
/// comments skipped), as podman's GetAllLabels reads them: file labels
/// first, so `--label` wins.
pub(super) fn label_file_labels(a: &CreateArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for f in &a.label_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("reading label file {}: {e}", f.display()))?;
        for l in text.lines().map(str::trim) {
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            if k.is_empty() {
                anyhow::bail!("invalid label format: {l:?} in {}", f.display());
            }
            out.push((k.to_string(), v.to_string()));
        }
    }
    Ok(out)
}

/// `--expose PORT[-PORT][/PROTO]` as "PORT/PROTO" keys (engine::create
/// puts the image's EXPOSE first).
pub(super) fn exposed_ports(a: &CreateArgs) -> anyhow::Result<Vec<String>> {
    add_exposed(&[], &a.expose)
}

fn add_exposed(image: &[String], expose: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = image.to_vec();
    for e in expose {
        let (ports, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
        let bad = || anyhow::anyhow!("invalid --expose {e:?}: expected PORT[-PORT][/tcp|udp|sctp]");
        if !matches!(proto, "tcp" | "udp" | "sctp") {
            return Err(bad());
        }
        let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
        let (lo, hi): (u16, u16) = (
            lo.parse().map_err(|_| bad())?,
            hi.parse().map_err(|_| bad())?,
        );
        if lo == 0 || hi < lo {
            return Err(bad());
        }
        for p in lo..=hi {
            let key = format!("{p}/{proto}");
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    Ok(out)
}

/// The kernel parameters a container may set: those of the namespaces it
/// owns (podman's and runc's list). Anything else would change the host.
fn sysctl_namespace(key: &str) -> Option<&'static str> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some("ipc")
    } else if key.starts_with("net.") {
        Some("net")
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some("uts")
    } else {
        None
    }
}

/// `--sysctl KEY=VALUE` checked against the namespaces the container
/// really gets: a parameter of a namespace it shares with the host is
/// refused (podman's and runc's rule).
pub(super) fn sysctls(
    a: &CreateArgs,
    network: &str,
    uts: &str,
    ipc: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in &a.sysctl {
        let Some((k, v)) = s.split_once('=') else {
            anyhow::bail!("{s:?} is not in a valid format: use --sysctl KEY=VALUE");
        };
        let well_formed = !k.is_empty()
            && k.split('.').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !well_formed {
            anyhow::bail!("sysctl {k:?} is not a kernel parameter name");
        }
        let shared = match sysctl_namespace(k) {
            None => anyhow::bail!("sysctl {k:?} is not allowed: it is not namespaced"),
            Some("ipc") => ipc == "host",
            Some("uts") => uts == "host",
            _ => network == "host" || network.starts_with("container:"),
        };
        if shared {
            anyhow::bail!(
                "sysctl {k:?} is not allowed in the host's namespace: the container shares it (--network/--ipc/--uts host)"
            );
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// `--uts`: "" (private) or "host".
pub(super) fn uts_mode(a: &CreateArgs) -> anyhow::Result<String> {
    match a.uts.as_deref() {
        None | Some("") | Some("private") => Ok(String::new()),
        Some("host") if a.hostname.is_some() => {
            anyhow::bail!(
                "invalid config provided: cannot set hostname when running in the host UTS namespace"
            )
        }
        Some("host") => Ok("host".into()),
        Some(o) if joins_container(o) => Ok(o.to_string()),
        Some(o) => anyhow::bail!("invalid --uts {o:?}: use private, host or container:NAME"),
    }
}

/// `--ipc`: "" (private), "shareable" (private: others may join it with
/// container:NAME, as they may join any private one), "host" or
/// `container:NAME`.
pub(super) fn ipc_mode(a: &CreateArgs) -> anyhow::Result<String> {
    match a.ipc.as_deref() {
        None | Some("") | Some("private") => Ok(String::new()),
        Some("shareable") => Ok("shareable".into()),
        Some("host") => Ok("host".into()),
        Some(o) if joins_container(o) => Ok(o.to_string()),
        Some(o) => {
            anyhow::bail!("invalid --ipc {o:?}: use private, shareable, host or container:NAME")
        }
    }
}

/// `container:NAME`: another container's namespace, joined.
pub(super) fn joins_container(mode: &str) -> bool {
    mode.strip_prefix("container:")
        .is_some_and(|c| !c.is_empty())
}

/// `--cpuset-cpus` / `--cpuset-mems`: lists and ranges of numbers.
pub(super) fn cpuset(flag: &str, v: &Option<String>) -> anyhow::Result<String> {
    let Some(v) = v.as_deref().filter(|v| !v.is_empty()) else {
        return Ok(String::new());
    };
    let ok = v.split(',').all(|part| {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        matches!((lo.parse::<u32>(), hi.parse::<u32>()), (Ok(l), Ok(h)) if l <= h)
    });
    if !ok {
        anyhow::bail!("invalid --{flag} {v:?}: expected a list such as 0-3 or 0,2");
    }
    Ok(v.to_string())
}

/// `--health-on-failure`: none, kill, restart, stop (the latter three
/// need a health check, the user's or the image's).
pub(super) fn health_on_failure(a: &CreateArgs) -> anyhow::Result<String> {
    match a.health_on_failure.as_str() {
        "" | "none" => Ok(String::new()),
        s @ ("kill" | "restart" | "stop") => Ok(s.to_string()),
        o => anyhow::bail!(
            "invalid on-failure action {o:?} for health check: use none, kill, restart or stop"
        ),
    }
}

/// `--sdnotify`: what the container records. "container" (the flag's
/// default) only when there is a NOTIFY_SOCKET to relay to, as podman
/// does; a spec made without the flag (a pod's infra) gets nothing.
pub(super) fn sdnotify(a: &CreateArgs) -> anyhow::Result<String> {
    let notify = std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty());
    match a.sdnotify.as_str() {
        "container" if notify => Ok("container".into()),
        "" | "container" => Ok(String::new()),
        "conmon" if notify => Ok("conmon".into()),
        "conmon" => Ok(String::new()),
        "ignore" => Ok("ignore".into()),
        o => anyhow::bail!("invalid --sdnotify {o:?}: use container, conmon or ignore"),
    }
}

/// `--cgroups` and `--cgroup-parent`: the mode and the parent of the
/// container's cgroup ("split": the caller's own cgroup).
pub(super) fn cgroups(a: &CreateArgs) -> anyhow::Result<(String, String)> {
    let mode = match a.cgroups.as_str() {
        "" | "enabled" | "no-conmon" => String::new(),
        m @ ("split" | "disabled") => m.to_string(),
        o => anyhow::bail!("invalid --cgroups {o:?}: use enabled, split, no-conmon or disabled"),
    };
    if let Some(p) = &a.cgroup_parent {
        if mode == "split" {
            anyhow::bail!(
                "--cgroup-parent and --cgroups=split cannot be combined: split's parent is the caller's cgroup"
            );
        }
        if p.split('/').any(|c| c == "..") {
            anyhow::bail!("invalid --cgroup-parent {p:?}: no '..' components");
        }
        return Ok((mode, p.trim_matches('/').to_string()));
    }
    if mode == "split" {
        return Ok((mode, own_cgroup()?));
    }
    Ok((mode, String::new()))
}

/// This process's cgroup: cgroup v2's, or on v1 the memory controller's.
fn own_cgroup() -> anyhow::Result<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup")?;
    let v2 = matches!(
        crate::runtime::host_cgroup_version(),
        Some(crate::runtime::cgroups::Version::V2)
    );
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            Some((f.next()?, f.next()?, f.next()?))
        })
        .find(|(_, ctrls, _)| {
            if v2 {
                ctrls.is_empty()
            } else {
                ctrls.split(',').any(|c| c == "memory")
            }
        })
        .map(|(_, _, path)| path.trim_matches('/').to_string())
        .ok_or_else(|| {
            anyhow::anyhow!("--cgroups=split: this process's cgroup is not in /proc/self/cgroup")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expose_ranges_and_protocols() {
        let e = add_exposed(
            &["80/tcp".into()],
            &["80".into(), "53/udp".into(), "7-9".into()],
        )
        .unwrap();
        assert_eq!(e, ["80/tcp", "53/udp", "7/tcp", "8/tcp", "9/tcp"]);
        assert!(add_exposed(&[], &["9-7".into()]).is_err());
        assert!(add_exposed(&[], &["80/icmp".into()]).is_err());
        assert!(add_exposed(&[], &["x".into()]).is_err());
    }

    #[test]
    fn sysctls_only_of_namespaces_the_container_owns() {
        let args = |s: &[&str]| CreateArgs {
            sysctl: s.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let ok = sysctls(
            &args(&["net.ipv4.ip_forward=1", "kernel.shmmax=1000"]),
            "bridge",
            "",
            "",
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        // Not namespaced: the host's.
        assert!(sysctls(&args(&["kernel.panic=1"]), "bridge", "", "").is_err());
        assert!(sysctls(&args(&["vm.swappiness=1"]), "bridge", "", "").is_err());
        // Shared with the host.
        assert!(sysctls(&args(&["net.ipv4.ip_forward=1"]), "host", "", "").is_err());
        assert!(sysctls(&args(&["kernel.shmmax=1"]), "bridge", "", "host").is_err());
        assert!(sysctls(&args(&["kernel.hostname=x"]), "bridge", "host", "").is_err());
        // Path tricks never reach /proc/sys.
        assert!(sysctls(&args(&["net.ipv4/../../kernel/panic=1"]), "bridge", "", "").is_err());
        assert!(sysctls(&args(&["net..x=1"]), "bridge", "", "").is_err());
        assert!(sysctls(&args(&["net.x"]), "bridge", "", "").is_err());
    }

    #[test]
    fn cpusets() {
        assert_eq!(
            cpuset("cpuset-cpus", &Some("0-1,3".into())).unwrap(),
            "0-1,3"
        );
        assert!(cpuset("cpuset-cpus", &Some("1-0".into())).is_err());
        assert!(cpuset("cpuset-cpus", &Some("a".into())).is_err());
        assert_eq!(cpuset("cpuset-cpus", &None).unwrap(), "");
    }
}
