//! What a container's cgroup has counted (`stats`): CPU time, memory in use
//! and its limit, block I/O and the number of processes, from the v1
//! controller directories or the v2 unified one. Read as podman 4.3.1's
//! cgroups package reads them, so the numbers match `podman stats`:
//! memory is v1's `memory.usage_in_bytes` and v2's `anon` of memory.stat;
//! block I/O sums the read and write bytes of every device.

use super::cgroups::Cgroup;
use std::fs;
use std::path::Path;

/// One reading; None where the controller's file could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// CPU time, nanoseconds: all of it, and the part spent in the kernel.
    pub cpu_nanos: Option<u64>,
    pub cpu_system_nanos: Option<u64>,
    /// Per CPU (v1's cpuacct.usage_percpu; v2 has no such file).
    pub per_cpu: Vec<u64>,
    pub memory: Option<u64>,
    pub block_read: Option<u64>,
    pub block_write: Option<u64>,
    pub pids: Option<u64>,
}

/// A small cgroupfs or procfs file: open and read, nothing else (no
/// metadata call for a size hint, as `fs::read_to_string` makes: `stats`
/// reads a dozen of these per container per report).
pub fn read_small(p: &Path) -> Option<String> {
    use std::io::Read;
    let mut f = fs::File::open(p).ok()?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    String::from_utf8(buf).ok()
}

fn read_u64(p: &Path) -> Option<u64> {
    read_small(p)?.trim().parse().ok()
}

/// A "key value" line's value from a flat keyed file (memory.stat, cpu.stat).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// v1's blkio `MAJ:MIN Op Bytes` lines: Read and Write summed over devices.
/// An empty file (only "Total 0") means the policy is not in use.
fn v1_blkio(text: &str) -> Option<(u64, u64)> {
    let (mut r, mut w, mut any) = (0, 0, false);
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let (Some(_dev), Some(op), Some(v)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let v: u64 = v.parse().unwrap_or(0);
        any = true;
        match op.to_ascii_lowercase().as_str() {
            "read" => r += v,
            "write" => w += v,
            _ => {}
        }
    }
    any.then_some((r, w))
}

/// v2's io.stat `MAJ:MIN rbytes=N wbytes=N ...` lines, summed.
fn v2_io(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        for kv in l.split_whitespace().skip(1) {
            match kv.split_once('=') {
                Some(("rbytes", v)) => r += v.parse().unwrap_or(0),
                Some(("wbytes", v)) => w += v.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    (r, w)
}

/// The kernel's USER_HZ, the unit of cpuacct.stat.
const USER_HZ: u64 = 100;

impl Cgroup {
    /// Read the counters. A cgroup that is gone reads as all None.
    /// `detail`: also the kernel part of the CPU time and v1's per-CPU
    /// times (only some templates ask for them).
    pub fn counters(&self, detail: bool) -> Counters {
        match self {
            Cgroup::V1 { root, path } => {
                let d = |c: &str| root.join(c).join(path);
                let acct = d("cpuacct");
                let system = detail
                    .then(|| read_small(&acct.join("cpuacct.stat")))
                    .flatten()
                    .and_then(|t| keyed(&t, "system"))
                    .map(|ticks| ticks * (1_000_000_000 / USER_HZ));
                let per_cpu = if detail {
                    read_small(&acct.join("cpuacct.usage_percpu"))
                        .unwrap_or_default()
                        .split_whitespace()
                        .filter_map(|v| v.parse().ok())
                        .collect()
                } else {
                    vec![]
                };
                let blkio = d("blkio");
                // runc's order: CFQ's files, else BFQ's, else the throttle policy's.
                let block = [
                    "blkio.io_service_bytes_recursive",
                    "blkio.bfq.io_service_bytes_recursive",
                    "blkio.throttle.io_service_bytes_recursive",
                ]
                .iter()
                .find_map(|f| v1_blkio(&read_small(&blkio.join(f))?))
                .or_else(|| blkio.is_dir().then_some((0, 0)));
                let mem = d("memory");
                Counters {
                    cpu_nanos: read_u64(&acct.join("cpuacct.usage")),
                    cpu_system_nanos: system,
                    per_cpu,
                    memory: read_u64(&mem.join("memory.usage_in_bytes")),
                    block_read: block.map(|b| b.0),
                    block_write: block.map(|b| b.1),
                    pids: read_u64(&d("pids").join("pids.current")),
                }
            }
            Cgroup::V2 { root, path } => {
                let d = root.join(path);
                let cpu = read_small(&d.join("cpu.stat"));
                let usec = |k: &str| cpu.as_deref().and_then(|t| keyed(t, k)).map(|v| v * 1000);
                let io = read_small(&d.join("io.stat")).map(|t| v2_io(&t));
                Counters {
                    cpu_nanos: usec("usage_usec"),
                    cpu_system_nanos: usec("system_usec"),
                    per_cpu: vec![],
                    memory: read_small(&d.join("memory.stat")).and_then(|t| keyed(&t, "anon")),
                    block_read: io.map(|b| b.0),
                    block_write: io.map(|b| b.1),
                    pids: read_u64(&d.join("pids.current")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::cgroups::{Limits, Version};

    fn put(dir: &Path, file: &str, text: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn v1_counters_come_from_each_controller() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let c = |ctl: &str| r.join(ctl).join("berth/abc");
        put(&c("cpuacct"), "cpuacct.usage", "28361138\n");
        put(&c("cpuacct"), "cpuacct.usage_percpu", "2965435 25395703 \n");
        put(&c("cpuacct"), "cpuacct.stat", "user 1\nsystem 2\n");
        put(&c("memory"), "memory.usage_in_bytes", "262144\n");
        put(
            &c("memory"),
            "memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        put(&c("pids"), "pids.current", "3\n");
        // CFQ's file is empty (policy unused); BFQ's has the numbers.
        put(&c("blkio"), "blkio.io_service_bytes_recursive", "Total 0\n");
        put(
            &c("blkio"),
            "blkio.bfq.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:16 Read 1\nTotal 12289\n",
        );
        let cg = Cgroup::new(Version::V1, r, "berth", "abc");
        let got = cg.counters(true);
        assert_eq!(
            got,
            Counters {
                cpu_nanos: Some(28361138),
                cpu_system_nanos: Some(20_000_000),
                per_cpu: vec![2965435, 25395703],
                memory: Some(262144),
                block_read: Some(4097),
                block_write: Some(8192),
                pids: Some(3),
            }
        );
        // Without detail, the two files only some templates need are not read.
        let plain = cg.counters(false);
        assert_eq!((plain.cpu_system_nanos, plain.per_cpu.len()), (None, 0));
        assert_eq!(plain.cpu_nanos, Some(28361138));
        // Gone: nothing to read, nothing made up.
        let gone = Cgroup::new(Version::V1, r, "berth", "gone");
        assert_eq!(gone.counters(true), Counters::default());
    }

    #[test]
    fn v2_counters_come_from_the_unified_directory() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("berth/abc");
        put(
            &d,
            "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
        );
        put(&d, "memory.stat", "anon 41943040\nfile 8192\nanon_thp 0\n");
        put(&d, "pids.current", "2\n");
        put(
            &d,
            "io.stat",
            "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n7:1 rbytes=1 wbytes=0\n",
        );
        let cg = Cgroup::new(Version::V2, t.path(), "berth", "abc");
        let got = cg.counters(true);
        assert_eq!(got.cpu_nanos, Some(1_500_000));
        assert_eq!(got.cpu_system_nanos, Some(500_000));
        assert_eq!(got.memory, Some(40 << 20));
        assert_eq!((got.block_read, got.block_write), (Some(101), Some(200)));
        assert_eq!(got.pids, Some(2));
    }

    #[test]
    fn v1_update_orders_memory_and_swap() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for c in [
            "memory", "pids", "cpu", "cpuacct", "blkio", "freezer", "cpuset",
        ] {
            fs::create_dir(r.join(c)).unwrap();
        }
        fs::write(r.join("cpuset/cpuset.cpus"), "0-1").unwrap();
        fs::write(r.join("cpuset/cpuset.mems"), "0").unwrap();
        let cg = Cgroup::new(Version::V1, r, "berth", "abc");
        cg.create(&Limits::default()).unwrap();
        // create makes the cpuset; a container started by an older berth
        // has none, and update makes it.
        assert!(r.join("cpuset/berth/abc").is_dir());
        fs::remove_dir_all(r.join("cpuset/berth/abc")).unwrap();
        let mem = r.join("memory/berth/abc");
        fs::write(mem.join("memory.limit_in_bytes"), "1048576").unwrap();
        fs::write(mem.join("memory.memsw.limit_in_bytes"), "2097152").unwrap();
        fs::write(r.join("pids/berth/abc/cgroup.procs"), "42\n").unwrap();
        cg.update(&Limits {
            memory: Some(1 << 30),
            memory_swap: Some(3 << 30),
            memory_reservation: Some(400 << 20),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0".into()),
            blkio_weight: Some(321),
            ..Default::default()
        })
        .unwrap();
        let read = |p: &str| fs::read_to_string(r.join(p)).unwrap();
        assert_eq!(read("memory/berth/abc/memory.limit_in_bytes"), "1073741824");
        assert_eq!(
            read("memory/berth/abc/memory.memsw.limit_in_bytes"),
            "3221225472"
        );
        assert_eq!(
            read("memory/berth/abc/memory.soft_limit_in_bytes"),
            "419430400"
        );
        assert_eq!(read("cpu/berth/abc/cpu.shares"), "512");
        assert_eq!(read("blkio/berth/abc/blkio.weight"), "321");
        // A cpuset made by update takes the container's processes.
        assert_eq!(read("cpuset/berth/abc/cpuset.cpus"), "0");
        assert_eq!(read("cpuset/berth/abc/cgroup.procs"), "42");
    }

    #[test]
    fn v2_update_writes_reservation_and_weight() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("cgroup.controllers"), "cpu io memory pids").unwrap();
        let d = t.path().join("berth/abc");
        put(&d, "io.bfq.weight", "default 100\n");
        let cg = Cgroup::new(Version::V2, t.path(), "berth", "abc");
        cg.update(&Limits {
            memory_reservation: Some(400 << 20),
            blkio_weight: Some(321),
            cpu_quota: Some(500_000),
            cpu_period: Some(100_000),
            ..Default::default()
        })
        .unwrap();
        let read = |f: &str| fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("memory.low"), "419430400");
        assert_eq!(read("io.bfq.weight"), "default 321");
        assert_eq!(read("cpu.max"), "500000 100000");
    }
}
