//! ContainerConfig -> OCI runtime spec (runtime-spec config.json), with
//! podman's defaults: mounts, masked and read-only paths, capabilities.

use super::containers::ContainerConfig;
use crate::runtime::caps;
use crate::runtime::cgroups::Limits;
use crate::runtime::{CONTAINER_ID_ANNOTATION, COPY_UP_ANNOTATION, OVERLAY_ANNOTATION};
use oci_spec::runtime::Spec;
use serde_json::{Value, json};

/// podman's (containers/common) masked paths.
pub const MASKED_PATHS: [&str; 13] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
    "/proc/interrupts",
    "/sys/devices/virtual/powercap",
];

pub const READONLY_PATHS: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// One `--device-cgroup-rule` ("TYPE MAJOR:MINOR ACCESS"), checked with
/// podman's texts (pkg/specgenutil parseLinuxResourcesDeviceAccess).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRule {
    pub typ: String,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

impl DeviceRule {
    pub fn parse(rule: &str) -> Result<DeviceRule, String> {
        let words: Vec<&str> = rule.split(' ').collect();
        let [typ, numbers, access] = words[..] else {
            return Err(format!(
                "invalid device cgroup rule requires type, major:Minor, and access rules: {rule:?}"
            ));
        };
        if !matches!(typ, "a" | "b" | "c") {
            return Err(format!("invalid device type in device-access-add: {typ}"));
        }
        let number = |n: &str| -> Result<Option<i64>, String> {
            if n == "*" {
                return Ok(None);
            }
            n.parse::<u32>()
                .map(|v| Some(i64::from(v)))
                .map_err(|_| format!("strconv.ParseUint: parsing {n:?}: invalid syntax"))
        };
        let (major, minor) = match numbers.split_once(':') {
            Some((ma, mi)) => (number(ma)?, number(mi)?),
            None => (number(numbers)?, None),
        };
        if let Some(c) = access.chars().find(|c| !matches!(c, 'r' | 'w' | 'm')) {
            return Err(format!("invalid device access in device-access-add: {c}"));
        }
        Ok(DeviceRule {
            typ: typ.into(),
            major,
            minor,
            access: access.into(),
        })
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"allow": true, "type": self.typ, "access": self.access});
        if let Some(m) = self.major {
            v["major"] = json!(m);
        }
        if let Some(m) = self.minor {
            v["minor"] = json!(m);
        }
        v
    }
}

pub struct SpecInputs<'a> {
    pub id: &'a str,
    pub config: &'a ContainerConfig,
    pub rootfs: &'a str,
    pub user: &'a crate::runtime::user::ExecUser,
    /// Files bound over /etc/hosts, /etc/hostname, /etc/resolv.conf.
    pub etc_files: &'a [(String, String)],
    pub cgroups_path: &'a str,
    pub overlay: &'a str,
    /// (mount, data dir, "populated" marker) for each volume.
    pub volumes: &'a [(super::volumes::VolumeMount, String, String)],
    pub rootless: bool,
}

/// The container's own cgroups, read-only at /sys/fs/cgroup (what runc's
/// "cgroup" mount gives podman's containers, so `cat
/// /sys/fs/cgroup/memory/memory.limit_in_bytes` inside shows the
/// container's limit): v1, a tmpfs with each controller berth makes a
/// cgroup in bound from that cgroup; v2, the one unified directory. An
/// external runtime mounts its own from the "cgroup" type.
pub fn cgroup_mounts(
    root: &std::path::Path,
    version: Option<crate::runtime::cgroups::Version>,
    cgroups_path: &str,
    external: bool,
) -> Vec<Value> {
    let ro = json!(["rbind", "rprivate", "nosuid", "noexec", "nodev", "ro"]);
    if external {
        return vec![
            json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]}),
        ];
    }
    match version {
        Some(crate::runtime::cgroups::Version::V2) => vec![
            json!({"destination": "/sys/fs/cgroup", "type": "bind", "source": root.join(cgroups_path), "options": ro}),
        ],
        Some(crate::runtime::cgroups::Version::V1) => {
            let mut m = vec![
                json!({"destination": "/sys/fs/cgroup", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "nodev", "mode=755", "size=64k"]}),
            ];
            for c in crate::runtime::cgroups::V1_CONTROLLERS
                .iter()
                .chain(["cpuset"].iter())
            {
                if root.join(c).is_dir() {
                    m.push(json!({"destination": format!("/sys/fs/cgroup/{c}"), "type": "bind", "source": root.join(c).join(cgroups_path), "options": ro}));
                }
            }
            m
        }
        None => vec![],
    }
}

/// The host's device nodes under `dir` as runtime-spec devices, skipping
/// what every container has its own of (runc's GetDevices: pts, shm,
/// mqueue, fd, and /dev/console).
pub fn host_devices(dir: &std::path::Path) -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name();
        let Ok(m) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if m.is_dir() {
            if !matches!(
                name.to_str(),
                Some("pts" | "shm" | "mqueue" | "fd" | ".lxc" | ".lxd-mounts" | ".udev")
            ) {
                out.extend(host_devices(&path));
            }
            continue;
        }
        let typ = if m.file_type().is_char_device() {
            "c"
        } else if m.file_type().is_block_device() {
            "b"
        } else {
            continue;
        };
        if path == std::path::Path::new("/dev/console") {
            continue;
        }
        let rdev = m.rdev();
        out.push(json!({
            "path": path,
            "type": typ,
            "major": libc::major(rdev),
            "minor": libc::minor(rdev),
            "fileMode": m.mode() & 0o7777,
            "uid": m.uid(),
            "gid": m.gid(),
        }));
    }
    out
}

pub fn build(i: &SpecInputs) -> Result<Spec, String> {
    let c = i.config;
    let capset: Vec<String> = caps::resolve(c.privileged, &c.cap_add, &c.cap_drop)?
        .into_iter()
        .collect();
    let uid_zero = i.user.uid == 0;
    let mut rlimits = Vec::new();
    for u in &c.ulimits {
        let name = format!("RLIMIT_{}", u.name.to_ascii_uppercase());
        rlimits.push(json!({ "type": name, "soft": u.soft, "hard": u.hard }));
    }
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={}", if c.shm_size > 0 { c.shm_size } else { 64 << 20 })]}),
    ];
    if c.network == "host" || i.rootless {
        // sysfs needs a network namespace we own; bind the host's instead.
        mounts[4] = json!({"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
    }
    if !i.rootless {
        mounts.extend(cgroup_mounts(
            std::path::Path::new("/sys/fs/cgroup"),
            crate::runtime::host_cgroup_version(),
            i.cgroups_path,
            c.runtime.is_some(),
        ));
    }
    for t in &c.tmpfs {
        let (dest, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
        let mut o: Vec<String> = vec!["nosuid".into(), "nodev".into()];
        o.extend(opts.split(',').filter(|s| !s.is_empty()).map(String::from));
        if !o.iter().any(|x| x.starts_with("size=")) {
            o.push("size=65536k".into());
        }
        mounts.push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": o}));
    }
    for (dest, src) in i.etc_files {
        mounts.push(json!({"destination": dest, "type": "bind", "source": src, "options": ["rbind", "rprivate"]}));
    }
    // User binds and volumes last (they win over generated files), parents
    // before children (as podman sorts them).
    let mut binds = c.binds.clone();
    for (v, data, _) in i.volumes {
        binds.push(super::containers::Bind {
            source: data.clone(),
            destination: v.destination.clone(),
            readonly: v.readonly,
            propagation: String::new(),
            chown: false,
            options: v.options.clone(),
        });
    }
    binds.sort_by_key(|b| b.destination.trim_end_matches('/').matches('/').count());
    for b in &binds {
        let prop = if b.propagation.is_empty() {
            "rprivate"
        } else {
            b.propagation.as_str()
        };
        let mut o = vec!["rbind", prop];
        if b.readonly {
            o.push("ro");
        }
        o.extend(b.options.iter().map(String::as_str));
        mounts.push(
            json!({"destination": b.destination, "type": "bind", "source": b.source, "options": o}),
        );
    }
    let mut namespaces = vec![json!({"type": "mount"}), json!({"type": "cgroup"})];
    // `--ipc host` / `--uts host`: the host's namespace (and so no hostname
    // of the container's own).
    // `--pid host`: the host's pid namespace, as podman's; create allows
    // it to root only.
    // `container:ID`: another container's, joined (the monitor fills in
    // its current one at each start).
    for (typ, mode) in [("ipc", &c.ipc), ("uts", &c.uts), ("pid", &c.pid)] {
        match mode.strip_prefix("container:") {
            _ if mode == "host" => {}
            Some(_) => {
                namespaces.push(json!({"type": typ, "path": format!("/proc/self/ns/{typ}")}))
            }
            None => namespaces.push(json!({"type": typ})),
        }
    }
    match c.network.split_once(':') {
        _ if c.network == "host" => {}
        // Another network namespace, joined (the monitor fills in a
        // container's current one at each start).
        Some(("ns", path)) => namespaces.push(json!({"type": "network", "path": path})),
        Some(("container", _)) => {
            namespaces.push(json!({"type": "network", "path": "/proc/self/ns/net"}))
        }
        _ => namespaces.push(json!({"type": "network"})),
    }
    // Rootless containers share the pause namespace, unless they need
    // their own mapping (keep-id).
    let mappings = if i.rootless {
        crate::process::userns::container_mappings(c.userns == "keep-id")
    } else {
        None
    };
    if mappings.is_some() {
        namespaces.push(json!({"type": "user"}));
    }
    if i.rootless && crate::process::userns::mappings(false).1.len() == 1 {
        // No subordinate gids: gid 5 (tty) does not exist to own the ptys.
        mounts[2] = json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]});
    }
    let mut resources = serde_json::Map::new();
    if c.memory.is_some() || c.memory_swap.is_some() {
        let mut m = serde_json::Map::new();
        if let Some(v) = c.memory {
            m.insert("limit".into(), json!(v));
        }
        if let Some(v) = c.memory_swap {
            m.insert("swap".into(), json!(v));
        }
        resources.insert("memory".into(), Value::Object(m));
    }
    if c.cpus.is_some()
        || c.cpu_shares.is_some()
        || !c.cpuset_cpus.is_empty()
        || !c.cpuset_mems.is_empty()
    {
        let mut m = serde_json::Map::new();
        if !c.cpuset_cpus.is_empty() {
            m.insert("cpus".into(), json!(c.cpuset_cpus));
        }
        if !c.cpuset_mems.is_empty() {
            m.insert("mems".into(), json!(c.cpuset_mems));
        }
        if let Some(cpus) = c.cpus {
            m.insert("quota".into(), json!((cpus * 100_000.0) as i64));
            m.insert("period".into(), json!(100_000));
        }
        if let Some(s) = c.cpu_shares {
            m.insert("shares".into(), json!(s));
        }
        resources.insert("cpu".into(), Value::Object(m));
    }
    if let Some(p) = c.pids_limit {
        resources.insert("pids".into(), json!({"limit": p}));
    }
    let mut devices = Vec::new();
    for r in &c.device_cgroup_rules {
        devices.push(DeviceRule::parse(r)?.to_json());
    }
    if !devices.is_empty() {
        resources.insert("devices".into(), Value::Array(devices));
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": i.cgroups_path,
        "resources": resources,
    });
    if !c.sysctls.is_empty() {
        linux["sysctl"] = json!(c.sysctls);
    }
    if let Some((uids, gids)) = mappings {
        let j = |m: Vec<crate::process::userns::IdMap>| {
            m.iter()
                .map(
                    |e| json!({"containerID": e.container_id, "hostID": e.host_id, "size": e.size}),
                )
                .collect::<Vec<_>>()
        };
        linux["uidMappings"] = json!(j(uids));
        linux["gidMappings"] = json!(j(gids));
    }
    if !c.privileged {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
    } else if !i.rootless {
        // podman: a privileged container sees the host's devices.
        linux["devices"] = json!(host_devices(std::path::Path::new("/dev")));
    }
    let mut annotations: serde_json::Map<String, Value> = c
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    annotations.insert(OVERLAY_ANNOTATION.into(), json!(i.overlay));
    annotations.insert(CONTAINER_ID_ANNOTATION.into(), json!(i.id));
    let copy_up: Vec<Value> = i
        .volumes
        .iter()
        .filter(|(v, _, _)| !v.nocopy)
        .map(|(v, data, marker)| json!([v.destination, data, marker]))
        .collect();
    if !copy_up.is_empty() {
        annotations.insert(
            COPY_UP_ANNOTATION.into(),
            json!(serde_json::to_string(&copy_up).unwrap_or_default()),
        );
    }
    let mut process = json!({
        "terminal": c.tty,
        "user": {"uid": i.user.uid, "gid": i.user.gid, "additionalGids": i.user.additional_gids},
        "args": c.args,
        "env": c.env,
        "cwd": if c.workdir.is_empty() { "/" } else { c.workdir.as_str() },
        "capabilities": {
            "bounding": capset,
            "effective": if uid_zero { capset.clone() } else { vec![] },
            "permitted": capset,
            "inheritable": [],
        },
        "noNewPrivileges": c.no_new_privileges,
    });
    if !rlimits.is_empty() {
        process["rlimits"] = json!(rlimits);
    }
    let doc = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": i.rootfs, "readonly": c.read_only},
        // The host's or another container's UTS namespace: its name as it is.
        "hostname": if c.uts == "host" || c.uts.starts_with("container:") { "" } else { c.hostname.as_str() },
        "mounts": mounts,
        "linux": linux,
        "annotations": annotations,
    });
    serde_json::from_value(doc).map_err(|e| format!("building the runtime spec: {e}"))
}

/// What a container's config asks of its cgroup: `--cpus` is a quota
/// over a 100 ms period unless `--cpu-quota`/`--cpu-period` say otherwise.
pub fn limits(cfg: &ContainerConfig) -> Limits {
    let period = cfg.cpu_period.or(cfg.cpus.map(|_| 100_000));
    Limits {
        memory: cfg.memory,
        memory_swap: cfg.memory_swap,
        cpu_quota: cfg.cpu_quota.or(cfg
            .cpus
            .map(|c| (c * period.unwrap_or(100_000) as f64) as i64)),
        cpu_period: period,
        cpu_shares: cfg.cpu_shares,
        pids: cfg.pids_limit,
        cpuset_cpus: Some(cfg.cpuset_cpus.clone()).filter(|s| !s.is_empty()),
        cpuset_mems: Some(cfg.cpuset_mems.clone()).filter(|s| !s.is_empty()),
        memory_reservation: cfg.memory_reservation,
        blkio_weight: cfg.blkio_weight,
    }
}

impl super::containers::ContainerConfig {
    /// The container's cgroup path under each hierarchy's root (None with
    /// `--cgroups=disabled`).
    pub fn cgroup_path(&self, id: &str) -> Option<String> {
        if self.cgroups == "disabled" {
            return None;
        }
        let parent = self.cgroup_parent.trim_matches('/');
        Some(if parent.is_empty() {
            format!("berth/{id}")
        } else {
            format!("{parent}/berth-{id}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_containers_own_cgroups_are_mounted_read_only() {
        use crate::runtime::cgroups::detect;
        let t = tempfile::tempdir().unwrap();
        for c in ["memory", "pids", "cpu", "cpuset"] {
            std::fs::create_dir(t.path().join(c)).unwrap();
        }
        let m = cgroup_mounts(t.path(), detect(t.path()), "berth/abc", false);
        let dests: Vec<&str> = m
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(
            dests,
            [
                "/sys/fs/cgroup",
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup/pids",
                "/sys/fs/cgroup/cpu",
                "/sys/fs/cgroup/cpuset"
            ]
        );
        assert_eq!(m[0]["type"], "tmpfs");
        assert_eq!(
            m[1]["source"],
            t.path().join("memory/berth/abc").to_str().unwrap()
        );
        assert!(m[1]["options"].as_array().unwrap().contains(&json!("ro")));
        std::fs::write(t.path().join("cgroup.controllers"), "cpu memory").unwrap();
        let v2 = cgroup_mounts(t.path(), detect(t.path()), "berth/abc", false);
        assert_eq!(v2.len(), 1);
        assert_eq!(
            v2[0]["source"],
            t.path().join("berth/abc").to_str().unwrap()
        );
        assert_eq!(
            cgroup_mounts(t.path(), detect(t.path()), "berth/abc", true)[0]["type"],
            "cgroup"
        );
    }

    #[test]
    fn device_rules_as_podman_reads_them() {
        let r = DeviceRule::parse("c 7:* rmw").unwrap();
        assert_eq!((r.typ.as_str(), r.major, r.minor), ("c", Some(7), None));
        assert_eq!(DeviceRule::parse("a 7 rmw").unwrap().major, Some(7));
        assert_eq!(
            DeviceRule::parse("b 7:* rmX").unwrap_err(),
            "invalid device access in device-access-add: X"
        );
        assert_eq!(
            DeviceRule::parse("b 7:2").unwrap_err(),
            "invalid device cgroup rule requires type, major:Minor, and access rules: \"b 7:2\""
        );
        assert_eq!(
            DeviceRule::parse("x 7:* rmw").unwrap_err(),
            "invalid device type in device-access-add: x"
        );
        assert_eq!(
            DeviceRule::parse("a a:* rmw").unwrap_err(),
            "strconv.ParseUint: parsing \"a\": invalid syntax"
        );
    }
}

#[cfg(test)]
mod cgroup_path_tests {
    use crate::engine::containers::ContainerConfig;

    #[test]
    fn cgroup_paths_follow_the_cgroups_mode() {
        let mut c = ContainerConfig::default();
        assert_eq!(c.cgroup_path("abc").as_deref(), Some("berth/abc"));
        c.cgroups = "split".into();
        c.cgroup_parent = "/system.slice/app.service".into();
        assert_eq!(
            c.cgroup_path("abc").as_deref(),
            Some("system.slice/app.service/berth-abc")
        );
        c.cgroups = "disabled".into();
        assert_eq!(c.cgroup_path("abc"), None);
    }
}
