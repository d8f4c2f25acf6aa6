//! Container cgroups behind one interface: the v1 backend (one directory
//! per controller, as on this hybrid host) and the v2 backend (one unified
//! directory). Both work against any root path, so the logic is tested on a
//! fake cgroupfs tree; the real one is /sys/fs/cgroup.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// Bytes.
    pub memory: Option<i64>,
    /// Memory plus swap, bytes (-1: unlimited swap).
    pub memory_swap: Option<i64>,
    /// CFS quota and period in microseconds.
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub pids: Option<i64>,
    /// `--cpuset-cpus`, `--cpuset-mems` ("0-1,3").
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// `--memory-reservation`: the soft limit, bytes.
    pub memory_reservation: Option<i64>,
    /// `--blkio-weight` (10..1000).
    pub blkio_weight: Option<u16>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Version {
    V1,
    V2,
}

/// Which backend a host has: the unified hierarchy mounted at the root
/// means v2; controller directories (memory, pids) mean v1.
pub fn detect(root: &Path) -> Option<Version> {
    if root.join("cgroup.controllers").exists() {
        Some(Version::V2)
    } else if root.join("memory").is_dir() || root.join("pids").is_dir() {
        Some(Version::V1)
    } else {
        None
    }
}

/// One container's cgroup.
#[derive(Debug, Clone)]
pub enum Cgroup {
    V1 { root: PathBuf, path: String },
    V2 { root: PathBuf, path: String },
}

/// cpuacct and blkio hold no limits berth sets at create, but `stats`
/// reads CPU time and block I/O from them (on hosts that mount cpu and
/// cpuacct together both names lead to the same directory).
pub const V1_CONTROLLERS: [&str; 6] = ["memory", "pids", "cpu", "cpuacct", "blkio", "freezer"];

/// v1's cpuset: a new directory starts with no CPUs and no memory nodes
/// (no task may join it), so each level from the controller's root down
/// takes its parent's, then the container's own are written.
fn v1_cpuset(root: &Path, path: &str, limits: &Limits) -> io::Result<()> {
    let mut dir = root.to_path_buf();
    for part in path.split('/') {
        let parent = dir.clone();
        dir = dir.join(part);
        fs::create_dir_all(&dir)?;
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let cur = fs::read_to_string(dir.join(f)).unwrap_or_default();
            if cur.trim().is_empty() {
                let from = fs::read_to_string(parent.join(f)).unwrap_or_default();
                write(&dir.join(f), from.trim())?;
            }
        }
    }
    if let Some(c) = &limits.cpuset_cpus {
        write(&dir.join("cpuset.cpus"), c)?;
    }
    if let Some(m) = &limits.cpuset_mems {
        write(&dir.join("cpuset.mems"), m)?;
    }
    Ok(())
}

fn write(p: &Path, v: &str) -> io::Result<()> {
    fs::write(p, v)
        .map_err(|e| io::Error::new(e.kind(), format!("writing {v:?} to {}: {e}", p.display())))
}

/// cgroup v2 gives controllers to a cgroup's children only when it holds
/// no process itself. Under `--cgroups=split` the parent is the caller's
/// own cgroup (a systemd unit's, with the caller and the monitor in it):
/// its processes move to a `supervisor` child first, as podman moves
/// its own (still inside the unit, so systemd's MAINPID stays valid).
fn v2_make_room(dir: &Path) -> io::Result<()> {
    let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    let pids: Vec<&str> = procs.split_whitespace().collect();
    if pids.is_empty() {
        return Ok(());
    }
    let sup = dir.join("supervisor");
    fs::create_dir_all(&sup)?;
    for pid in pids {
        // A process gone meanwhile is no longer in the way.
        match fs::write(sup.join("cgroup.procs"), pid) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("moving {pid} to {}: {e}", sup.display()),
                ));
            }
        }
    }
    Ok(())
}

impl Cgroup {
    /// The cgroup for container `id` under `parent` (e.g. "berth").
    pub fn new(version: Version, root: &Path, parent: &str, id: &str) -> Cgroup {
        Cgroup::at(version, root, format!("{parent}/{id}"))
    }

    /// The cgroup at `path` (relative to each hierarchy's root).
    pub fn at(version: Version, root: &Path, path: String) -> Cgroup {
        match version {
            Version::V1 => Cgroup::V1 {
                root: root.into(),
                path,
            },
            Version::V2 => Cgroup::V2 {
                root: root.into(),
                path,
            },
        }
    }

    pub fn path(&self) -> &str {
        match self {
            Cgroup::V1 { path, .. } | Cgroup::V2 { path, .. } => path,
        }
    }

    fn dirs(&self) -> Vec<PathBuf> {
        match self {
            // cpuset too: made for every container (see create).
            Cgroup::V1 { root, path } => V1_CONTROLLERS
                .iter()
                .chain(["cpuset"].iter())
                .map(|c| root.join(c).join(path))
                .collect(),
            Cgroup::V2 { root, path } => vec![root.join(path)],
        }
    }

    /// Create the directories and write the limits.
    pub fn create(&self, limits: &Limits) -> io::Result<()> {
        match self {
            Cgroup::V1 { root, path } => {
                for c in V1_CONTROLLERS {
                    if root.join(c).is_dir() {
                        fs::create_dir_all(root.join(c).join(path))?;
                    }
                }
                let mem = root.join("memory").join(path);
                if let Some(m) = limits.memory {
                    write(&mem.join("memory.limit_in_bytes"), &m.to_string())?;
                }
                if let Some(s) = limits.memory_swap {
                    // Only when the kernel accounts swap (swapaccount=1).
                    let f = mem.join("memory.memsw.limit_in_bytes");
                    if f.exists() {
                        write(&f, &s.to_string())?;
                    }
                }
                if let Some(r) = limits.memory_reservation {
                    write(&mem.join("memory.soft_limit_in_bytes"), &r.to_string())?;
                }
                if let Some(w) = limits.blkio_weight {
                    let blkio = root.join("blkio").join(path);
                    // CFQ's file, else BFQ's (the only one on newer kernels).
                    let f = ["blkio.weight", "blkio.bfq.weight"]
                        .into_iter()
                        .map(|f| blkio.join(f))
                        .find(|f| f.exists())
                        .unwrap_or_else(|| blkio.join("blkio.weight"));
                    write(&f, &w.to_string())?;
                }
                let cpu = root.join("cpu").join(path);
                if let Some(p) = limits.cpu_period {
                    write(&cpu.join("cpu.cfs_period_us"), &p.to_string())?;
                }
                if let Some(q) = limits.cpu_quota {
                    write(&cpu.join("cpu.cfs_quota_us"), &q.to_string())?;
                }
                if let Some(s) = limits.cpu_shares {
                    write(&cpu.join("cpu.shares"), &s.to_string())?;
                }
                if let Some(p) = limits.pids {
                    let v = if p <= 0 {
                        "max".to_string()
                    } else {
                        p.to_string()
                    };
                    write(&root.join("pids").join(path).join("pids.max"), &v)?;
                }
                // Always made (seeded from its parent): the container sees
                // it at /sys/fs/cgroup/cpuset, and `update --cpuset-cpus`
                // finds it.
                if root.join("cpuset").is_dir() {
                    v1_cpuset(&root.join("cpuset"), path, limits)?;
                }
            }
            Cgroup::V2 { root, path } => {
                // Controllers must be enabled in every ancestor's subtree_control.
                let mut dir = root.clone();
                let cpuset = limits.cpuset_cpus.is_some() || limits.cpuset_mems.is_some();
                for part in path.split('/') {
                    let avail =
                        fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
                    let want: Vec<String> = ["memory", "pids", "cpu", "cpuset"]
                        .iter()
                        .filter(|c| cpuset || **c != "cpuset")
                        .filter(|c| avail.split_whitespace().any(|a| a == **c))
                        .map(|c| format!("+{c}"))
                        .collect();
                    if !want.is_empty() {
                        if dir != *root {
                            v2_make_room(&dir)?;
                        }
                        let _ = write(&dir.join("cgroup.subtree_control"), &want.join(" "));
                    }
                    dir = dir.join(part);
                    fs::create_dir_all(&dir)?;
                }
                // A negative limit is "none" (update's `--memory 0`).
                let v2 = |v: i64| {
                    if v < 0 {
                        "max".to_string()
                    } else {
                        v.to_string()
                    }
                };
                if let Some(m) = limits.memory {
                    write(&dir.join("memory.max"), &v2(m))?;
                    if let Some(s) = limits.memory_swap {
                        let v = if s < 0 {
                            "max".to_string()
                        } else {
                            (s - m).max(0).to_string()
                        };
                        write(&dir.join("memory.swap.max"), &v)?;
                    }
                }
                if limits.cpu_quota.is_some() || limits.cpu_period.is_some() {
                    let q = limits.cpu_quota.map(v2).unwrap_or_else(|| "max".into());
                    write(
                        &dir.join("cpu.max"),
                        &format!("{q} {}", limits.cpu_period.unwrap_or(100_000)),
                    )?;
                }
                if let Some(s) = limits.cpu_shares {
                    // The conversion runc and crun use from shares (2..262144) to weight (1..10000).
                    let w = 1 + ((s.clamp(2, 262_144) - 2) * 9999) / 262_142;
                    write(&dir.join("cpu.weight"), &w.to_string())?;
                }
                if let Some(p) = limits.pids {
                    let v = if p <= 0 {
                        "max".to_string()
                    } else {
                        p.to_string()
                    };
                    write(&dir.join("pids.max"), &v)?;
                }
                if let Some(c) = &limits.cpuset_cpus {
                    write(&dir.join("cpuset.cpus"), c)?;
                }
                if let Some(m) = &limits.cpuset_mems {
                    write(&dir.join("cpuset.mems"), m)?;
                }
                if let Some(r) = limits.memory_reservation {
                    write(&dir.join("memory.low"), &r.to_string())?;
                }
                if let Some(w) = limits.blkio_weight {
                    // BFQ's file takes "default N"; io.weight is the fallback.
                    if dir.join("io.bfq.weight").exists() {
                        write(&dir.join("io.bfq.weight"), &format!("default {w}"))?;
                    } else {
                        write(&dir.join("io.weight"), &format!("default {w}"))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Change the limits of a live cgroup (`update`): only what `limits`
    /// names is written. v1's memory and memory+swap limits must stay
    /// ordered (memory <= memsw) at every step, so a raise writes memsw
    /// first; a v1 cpuset made now gets the container's processes moved in.
    pub fn update(&self, limits: &Limits) -> io::Result<()> {
        let Cgroup::V1 { root, path } = self else {
            return self.create(limits);
        };
        let mem = root.join("memory").join(path);
        let memsw = mem.join("memory.memsw.limit_in_bytes");
        let mut rest = limits.clone();
        if let (Some(m), Some(s)) = (limits.memory, limits.memory_swap)
            && memsw.exists()
        {
            let cur = fs::read_to_string(mem.join("memory.limit_in_bytes"))
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(i64::MAX);
            let (first, second) = if m > cur {
                (
                    ("memory.memsw.limit_in_bytes", s),
                    ("memory.limit_in_bytes", m),
                )
            } else {
                (
                    ("memory.limit_in_bytes", m),
                    ("memory.memsw.limit_in_bytes", s),
                )
            };
            write(&mem.join(first.0), &first.1.to_string())?;
            write(&mem.join(second.0), &second.1.to_string())?;
            rest.memory = None;
            rest.memory_swap = None;
        }
        let new_cpuset = (limits.cpuset_cpus.is_some() || limits.cpuset_mems.is_some())
            && !root.join("cpuset").join(path).is_dir();
        self.create(&rest)?;
        if new_cpuset {
            let procs = root.join("cpuset").join(path).join("cgroup.procs");
            for pid in self.procs() {
                // A process that exited meanwhile is not an error.
                let _ = fs::write(&procs, pid.to_string());
            }
        }
        Ok(())
    }

    pub fn add(&self, pid: i32) -> io::Result<()> {
        for d in self.dirs() {
            if d.exists() {
                write(&d.join("cgroup.procs"), &pid.to_string())?;
            }
        }
        Ok(())
    }

    /// Whether the kernel OOM-killed something in this cgroup.
    pub fn oom_killed(&self) -> bool {
        let (file, key) = match self {
            Cgroup::V1 { root, path } => (
                root.join("memory").join(path).join("memory.oom_control"),
                "oom_kill",
            ),
            Cgroup::V2 { root, path } => (root.join(path).join("memory.events"), "oom_kill"),
        };
        fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|l| {
                l.split_once(' ')
                    .is_some_and(|(k, v)| k == key && v.trim().parse::<u64>().unwrap_or(0) > 0)
            })
    }

    pub fn freeze(&self, frozen: bool) -> io::Result<()> {
        match self {
            Cgroup::V1 { root, path } => write(
                &root.join("freezer").join(path).join("freezer.state"),
                if frozen { "FROZEN" } else { "THAWED" },
            ),
            Cgroup::V2 { root, path } => write(
                &root.join(path).join("cgroup.freeze"),
                if frozen { "1" } else { "0" },
            ),
        }
    }

    /// Every process in the cgroup.
    pub fn procs(&self) -> Vec<i32> {
        let d = match self {
            Cgroup::V1 { root, path } => root.join("pids").join(path),
            Cgroup::V2 { root, path } => root.join(path),
        };
        fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Remove the directories (they must be empty of processes).
    pub fn destroy(&self) {
        for d in self.dirs() {
            let _ = fs::remove_dir(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_v2() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join("cgroup.controllers"),
            "cpuset cpu io memory pids",
        )
        .unwrap();
        fs::write(t.path().join("cgroup.subtree_control"), "").unwrap();
        t
    }

    #[test]
    fn v2_split_moves_the_callers_processes_aside_first() {
        // `--cgroups=split` in a unit: the unit's cgroup holds berth and
        // the monitor, which must leave it before it can give controllers.
        let t = fake_v2();
        let unit = t.path().join("system.slice/app.service");
        fs::create_dir_all(&unit).unwrap();
        fs::write(
            t.path().join("system.slice/cgroup.controllers"),
            "cpu memory pids",
        )
        .unwrap();
        fs::write(unit.join("cgroup.controllers"), "cpu memory pids").unwrap();
        fs::write(unit.join("cgroup.procs"), "4242\n").unwrap();
        let cg = Cgroup::at(
            Version::V2,
            t.path(),
            "system.slice/app.service/berth-abc".into(),
        );
        cg.create(&Limits {
            memory: Some(16 << 20),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            fs::read_to_string(unit.join("supervisor/cgroup.procs")).unwrap(),
            "4242"
        );
        assert_eq!(
            fs::read_to_string(unit.join("cgroup.subtree_control")).unwrap(),
            "+memory +pids +cpu"
        );
        assert_eq!(
            fs::read_to_string(unit.join("berth-abc/memory.max")).unwrap(),
            (16 << 20).to_string()
        );
    }

    #[test]
    fn v2_writes_limits_and_enables_controllers() {
        let t = fake_v2();
        assert_eq!(detect(t.path()), Some(Version::V2));
        let cg = Cgroup::new(Version::V2, t.path(), "berth", "abc");
        // The kernel would create these files; the fake tree needs them for the parent.
        fs::create_dir_all(t.path().join("berth")).unwrap();
        fs::write(t.path().join("berth/cgroup.controllers"), "cpu memory pids").unwrap();
        let limits = Limits {
            memory: Some(32 << 20),
            memory_swap: Some(64 << 20),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            cpu_shares: Some(1024),
            pids: Some(10),
            ..Default::default()
        };
        cg.create(&limits).unwrap();
        let d = t.path().join("berth/abc");
        let read = |f: &str| fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("memory.max"), (32 << 20).to_string());
        assert_eq!(read("memory.swap.max"), (32 << 20).to_string());
        assert_eq!(read("cpu.max"), "50000 100000");
        assert_eq!(read("cpu.weight"), "39");
        assert_eq!(read("pids.max"), "10");
        assert_eq!(
            fs::read_to_string(t.path().join("cgroup.subtree_control")).unwrap(),
            "+memory +pids +cpu"
        );
        cg.add(1234).unwrap();
        assert_eq!(read("cgroup.procs"), "1234");
        fs::write(
            d.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        assert!(cg.oom_killed());
        cg.freeze(true).unwrap();
        assert_eq!(read("cgroup.freeze"), "1");
        assert_eq!(cg.procs(), vec![1234]);
    }

    #[test]
    fn v1_uses_a_directory_per_controller() {
        let t = tempfile::tempdir().unwrap();
        for c in ["memory", "pids", "cpu", "freezer"] {
            fs::create_dir(t.path().join(c)).unwrap();
        }
        assert_eq!(detect(t.path()), Some(Version::V1));
        let cg = Cgroup::new(Version::V1, t.path(), "berth", "abc");
        cg.create(&Limits {
            memory: Some(1 << 20),
            pids: Some(5),
            cpu_shares: Some(512),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            fs::read_to_string(t.path().join("memory/berth/abc/memory.limit_in_bytes")).unwrap(),
            "1048576"
        );
        assert_eq!(
            fs::read_to_string(t.path().join("pids/berth/abc/pids.max")).unwrap(),
            "5"
        );
        assert_eq!(
            fs::read_to_string(t.path().join("cpu/berth/abc/cpu.shares")).unwrap(),
            "512"
        );
        fs::write(
            t.path().join("memory/berth/abc/memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
        )
        .unwrap();
        assert!(!cg.oom_killed());
        cg.freeze(false).unwrap();
        assert_eq!(
            fs::read_to_string(t.path().join("freezer/berth/abc/freezer.state")).unwrap(),
            "THAWED"
        );
    }

    #[test]
    fn v2_cpuset_only_when_asked() {
        let t = fake_v2();
        fs::create_dir_all(t.path().join("berth")).unwrap();
        fs::write(
            t.path().join("berth/cgroup.controllers"),
            "cpuset cpu memory pids",
        )
        .unwrap();
        let cg = Cgroup::new(Version::V2, t.path(), "berth", "abc");
        cg.create(&Limits {
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some("0".into()),
            ..Default::default()
        })
        .unwrap();
        let read = |f: &str| fs::read_to_string(t.path().join(f)).unwrap();
        assert_eq!(read("berth/abc/cpuset.cpus"), "0-1");
        assert_eq!(read("berth/abc/cpuset.mems"), "0");
        assert!(read("cgroup.subtree_control").contains("+cpuset"));
        let plain = Cgroup::new(Version::V2, t.path(), "berth", "def");
        fs::write(t.path().join("cgroup.subtree_control"), "").unwrap();
        plain.create(&Limits::default()).unwrap();
        assert!(!read("cgroup.subtree_control").contains("cpuset"));
    }

    #[test]
    fn v1_cpuset_levels_take_their_parents_sets() {
        let t = tempfile::tempdir().unwrap();
        for c in ["memory", "pids", "cpu", "freezer", "cpuset"] {
            fs::create_dir(t.path().join(c)).unwrap();
        }
        fs::write(t.path().join("cpuset/cpuset.cpus"), "0-3\n").unwrap();
        fs::write(t.path().join("cpuset/cpuset.mems"), "0\n").unwrap();
        let cg = Cgroup::new(Version::V1, t.path(), "berth", "abc");
        cg.create(&Limits {
            cpuset_cpus: Some("1".into()),
            ..Default::default()
        })
        .unwrap();
        let read = |f: &str| fs::read_to_string(t.path().join("cpuset").join(f)).unwrap();
        assert_eq!(read("berth/cpuset.cpus"), "0-3");
        assert_eq!(read("berth/cpuset.mems"), "0");
        assert_eq!(read("berth/abc/cpuset.cpus"), "1");
        assert_eq!(read("berth/abc/cpuset.mems"), "0");
        cg.add(77).unwrap();
        assert_eq!(read("berth/abc/cgroup.procs"), "77");
    }
}
