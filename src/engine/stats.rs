//! `stats`: one reading of a container's resource use, and the figures
//! podman derives from two readings (libpod's GetContainerStats): CPU % is
//! CPU time over wall time between the readings (the first one against the
//! container's start), so 100% is one CPU; memory % is usage over the
//! container's limit, or the host's RAM when it has none.
//!
//! Where the container has a cgroup the counters come from it
//! (`runtime::cgroup_stats`). A rootless container has none on a host
//! without delegation: then CPU time, resident memory and the process count
//! are summed over the processes of its pid namespace from /proc, and block
//! I/O is not known (`Stats::unavailable` says so).

use super::Engine;
use crate::runtime::cgroup_stats::read_small;
use crate::state::containers::ContainerRow;
use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// podman's define.ContainerStats, field for field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub id: String,
    pub name: String,
    /// CPU %: since the previous reading (the first: since the start).
    pub cpu: f64,
    /// CPU % over the container's whole run.
    pub avg_cpu: f64,
    pub cpu_nanos: u64,
    pub cpu_system_nanos: u64,
    pub per_cpu: Vec<u64>,
    /// When this reading was taken, Unix nanoseconds.
    pub system_nanos: u64,
    pub mem_usage: u64,
    pub mem_limit: u64,
    pub mem_perc: f64,
    pub net_input: u64,
    pub net_output: u64,
    pub block_input: u64,
    pub block_output: u64,
    pub pids: u64,
    /// Columns this reading could not fill ("BLOCK IO").
    pub unavailable: Vec<&'static str>,
}

/// The processes of each pid namespace (by its inode), read from /proc once
/// per round and only when some container has no cgroup to ask.
#[derive(Default)]
pub struct ProcTable {
    by_ns: Option<HashMap<u64, Vec<i32>>>,
}

/// What one round of readings shares: the /proc table, the host's RAM,
/// and whether the kernel CPU time and per-CPU times are wanted.
#[derive(Default)]
pub struct Round {
    pub procs: ProcTable,
    pub detail: bool,
    host_memory: Option<u64>,
}

impl Round {
    pub fn new(detail: bool) -> Round {
        Round {
            detail,
            ..Default::default()
        }
    }
}

impl ProcTable {
    fn members(&mut self, init: i32) -> Vec<i32> {
        let Some(ns) = pid_ns(init) else {
            return vec![];
        };
        // A container sharing the host's pid namespace: its init alone.
        if Some(ns) == pid_ns(std::process::id() as i32) {
            return vec![init];
        }
        let table = self.by_ns.get_or_insert_with(|| {
            let mut m: HashMap<u64, Vec<i32>> = HashMap::new();
            for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                if let Some(ns) = pid_ns(pid) {
                    m.entry(ns).or_default().push(pid);
                }
            }
            m
        });
        table.get(&ns).cloned().unwrap_or_default()
    }
}

fn pid_ns(pid: i32) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(format!("/proc/{pid}/ns/pid"))
        .ok()
        .map(|m| m.ino())
}

/// Received and sent bytes of every interface but loopback, from the
/// network namespace the process is in.
fn net_io(pid: i32) -> Option<(u64, u64)> {
    let text = read_small(Path::new(&format!("/proc/{pid}/net/dev")))?;
    Some(parse_net_dev(&text))
}

fn parse_net_dev(text: &str) -> (u64, u64) {
    let (mut rx, mut tx) = (0, 0);
    for line in text.lines().skip(2) {
        let Some((iface, nums)) = line.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let n: Vec<u64> = nums
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        rx += n.first().copied().unwrap_or(0);
        tx += n.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

/// CPU time (utime + stime + the waited-for children's) and resident
/// memory of a set of processes, from /proc.
fn proc_usage(pids: &[i32]) -> (u64, u64, u64) {
    let tick = 1_000_000_000 / clock_ticks();
    let (mut cpu, mut sys, mut rss) = (0u64, 0u64, 0u64);
    for p in pids {
        if let Ok(s) = fs::read_to_string(format!("/proc/{p}/stat"))
            && let Some(close) = s.rfind(')')
        {
            // Fields 14-17 (utime stime cutime cstime), counted from field 3.
            let f: Vec<u64> = s[close + 2..]
                .split_whitespace()
                .skip(11)
                .take(4)
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            cpu += f.iter().sum::<u64>() * tick;
            sys += (f.get(1).copied().unwrap_or(0) + f.get(3).copied().unwrap_or(0)) * tick;
        }
        if let Ok(s) = fs::read_to_string(format!("/proc/{p}/status")) {
            rss += s
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                * 1024;
        }
    }
    (cpu, sys, rss)
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// The host's RAM: the limit of a container without one (podman's getMemLimit).
pub fn host_memory() -> u64 {
    // SAFETY: sysinfo fills the struct it is given.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return 0;
    }
    si.totalram as u64 * si.mem_unit as u64
}

fn now_nanos() -> u64 {
    crate::process::now_nanos().max(0) as u64
}

/// podman's calculateCPUPercent: CPU time over wall time, in percent of one CPU.
fn cpu_percent(cpu: u64, prev_cpu: u64, now: u64, prev_time: u64) -> f64 {
    let cpu_delta = cpu.saturating_sub(prev_cpu) as f64;
    let wall = now.saturating_sub(prev_time) as f64;
    if wall > 0.0 && cpu_delta > 0.0 {
        cpu_delta / wall * 100.0
    } else {
        0.0
    }
}

impl Engine {
    /// One reading of `c`; `prev` is this container's previous reading in a
    /// stream. A container that is not running reads as zeros, as podman's.
    pub fn container_stats(
        &self,
        c: &ContainerRow,
        prev: Option<&Stats>,
        round: &mut Round,
    ) -> Stats {
        let mut s = Stats {
            id: c.id.clone(),
            name: c.name.clone(),
            ..Default::default()
        };
        if !matches!(c.state.as_str(), "running" | "paused") || c.pid <= 0 {
            return s;
        }
        let cfg = c.config();
        let host = *round.host_memory.get_or_insert_with(host_memory);
        s.mem_limit = match cfg.memory {
            Some(m) if m > 0 && (m as u64) < host => m as u64,
            _ => host,
        };
        let pid = c.pid as i32;
        // No cgroup (rootless), or none where berth keeps them (an external
        // runtime may place it elsewhere): /proc.
        let counters = self
            .cgroup(c)
            .map(|cg| cg.counters(round.detail))
            .filter(|k| k.cpu_nanos.is_some() || k.memory.is_some());
        match counters {
            Some(k) => {
                s.cpu_nanos = k.cpu_nanos.unwrap_or(0);
                s.cpu_system_nanos = k.cpu_system_nanos.unwrap_or(0);
                s.per_cpu = k.per_cpu;
                s.mem_usage = k.memory.unwrap_or(0);
                s.block_input = k.block_read.unwrap_or(0);
                s.block_output = k.block_write.unwrap_or(0);
                s.pids = k.pids.unwrap_or(0);
            }
            None => {
                let members = round.procs.members(pid);
                let (cpu, sys, rss) = proc_usage(&members);
                s.cpu_nanos = cpu;
                s.cpu_system_nanos = sys;
                s.mem_usage = rss;
                s.pids = members.len() as u64;
                s.unavailable.push("BLOCK IO");
            }
        }
        if let Some((rx, tx)) = net_io(pid) {
            s.net_input = rx;
            s.net_output = tx;
        }
        s.system_nanos = now_nanos();
        let started = c.started.max(0) as u64;
        s.avg_cpu = cpu_percent(s.cpu_nanos, 0, s.system_nanos, started);
        s.cpu = match prev.filter(|p| p.system_nanos > 0) {
            Some(p) => cpu_percent(s.cpu_nanos, p.cpu_nanos, s.system_nanos, p.system_nanos),
            None => s.avg_cpu,
        };
        s.mem_perc = if s.mem_limit > 0 {
            s.mem_usage as f64 / s.mem_limit as f64 * 100.0
        } else {
            0.0
        };
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_skips_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:     382       5    0    0    0     0          0         0      880       9    0    0    0     0       0          0\n  eth1:      18       1    0    0    0     0          0         0       20       1    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(text), (400, 900));
    }

    #[test]
    fn cpu_percent_is_of_one_cpu() {
        // Half a second of CPU in one second of wall time.
        assert_eq!(
            cpu_percent(1_500_000_000, 1_000_000_000, 3_000_000_000, 2_000_000_000),
            50.0
        );
        assert_eq!(cpu_percent(5, 5, 10, 0), 0.0);
        assert_eq!(cpu_percent(5, 0, 10, 10), 0.0);
    }

    #[test]
    fn own_process_is_read_from_proc() {
        let me = std::process::id() as i32;
        let (cpu, _, rss) = proc_usage(&[me]);
        assert!(rss > 0);
        // The test runner has used some CPU by now.
        let _ = cpu;
        assert!(host_memory() > rss);
    }
}
