//! `top`: a container's processes as podman's psgo reads them from /proc:
//! each process as the container sees it (its pid namespace, its user
//! namespace, its /etc/passwd) and as the host does (the `h...`
//! descriptors), without running any program of the container's
//! (CVE-2022-1227). Words that are not descriptors (`-ef`, `aux`) are
//! ps(1) options: as podman 4.3 does, the container's own `ps` runs with
//! them through exec, confined like any exec.

use crate::engine::Engine;
use crate::runtime::exec::{ExecOptions, spawn};
use crate::runtime::linux::{ChildIo, RuntimeError};
use crate::state::containers::ContainerRow;
use std::collections::HashMap;

/// The default listing, as podman's.
pub const DEFAULT_DESCRIPTORS: [&str; 8] = [
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

/// What `top` shows: psgo's table, or the lines ps(1) printed.
pub enum Listing {
    Table {
        titles: Vec<&'static str>,
        rows: Vec<Vec<String>>,
    },
    Lines(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
pub enum TopError {
    #[error("top can only be used on running containers: {0} is {1}")]
    NotRunning(String, String),
    #[error("executing ps(1) in the container: {0}")]
    Ps(String),
}

/// The processes of running container `c`, described by `words` (psgo
/// descriptors, comma- or space-separated, else ps(1) options; empty =
/// the default listing).
pub fn list(engine: &Engine, c: &ContainerRow, words: &[String]) -> Result<Listing, TopError> {
    if !c.is_running() {
        let state = if c.state == "exited" || c.state == "stopped" {
            "exited".to_string()
        } else {
            c.state.clone()
        };
        return Err(TopError::NotRunning(c.name.clone(), state));
    }
    let split: Vec<&str> = words
        .iter()
        .flat_map(|d| d.split([',', ' ']))
        .filter(|d| !d.is_empty())
        .collect();
    let cols: Option<Vec<&'static str>> = if split.is_empty() {
        Some(DEFAULT_DESCRIPTORS.to_vec())
    } else {
        split.iter().map(|w| descriptor(w)).collect()
    };
    let Some(cols) = cols else {
        return ps(engine, c, words).map(Listing::Lines);
    };
    let names = Names::read(c.pid);
    let rows = container_pids(c.pid)
        .into_iter()
        .filter_map(Proc::read)
        .map(|p| cols.iter().map(|d| p.value(d, &names)).collect())
        .collect();
    Ok(Listing::Table {
        titles: cols.iter().map(|d| header(d)).collect(),
        rows,
    })
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

/// podman 4.3's execPS: the container's `ps` with the user's words, its
/// own line (which names those words) left out.
fn ps(engine: &Engine, c: &ContainerRow, words: &[String]) -> Result<Vec<String>, TopError> {
    let fail = |e: &dyn std::fmt::Display| TopError::Ps(e.to_string());
    let pipe = || rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| fail(&e));
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let opts = ExecOptions {
        args: std::iter::once("ps".to_string())
            .chain(words.iter().cloned())
            .collect(),
        env: vec![],
        user: None,
        workdir: None,
        privileged: false,
        tty: false,
    };
    let io = ChildIo {
        stdin: None,
        stdout: out_w,
        stderr: err_w,
        console: None,
    };
    let target = engine
        .exec_target(c, c.pid as i32)
        .map_err(|e| fail(&RuntimeError::from(e)))?;
    let child = spawn(&target, &opts, io).map_err(|e| fail(&e))?;
    // stderr on its own thread, so that neither pipe can fill and stall ps.
    let errors = std::thread::spawn(move || read_all(err_r));
    let out = read_all(out_r);
    let err = errors.join().unwrap_or_default();
    let mut status = 0;
    // SAFETY: wait for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    if code != 0 {
        return Err(TopError::Ps(format!(
            "ps(1) exited with code {code}: {}",
            err.trim()
        )));
    }
    let own = words.join(" ");
    Ok(out
        .lines()
        .filter(|l| own.is_empty() || !l.contains(&own))
        .map(String::from)
        .collect())
}

fn read_all(fd: std::os::fd::OwnedFd) -> String {
    let mut s = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut s);
    String::from_utf8_lossy(&s).into_owned()
}

/// psgo's descriptor names and ps(1)'s AIX codes, to one name.
pub fn descriptor(w: &str) -> Option<&'static str> {
    Some(match w {
        "user" | "%U" => "user",
        "ruser" | "%u" => "ruser",
        "huser" => "huser",
        "group" | "%G" => "group",
        "rgroup" | "%g" => "rgroup",
        "hgroup" => "hgroup",
        "groups" => "groups",
        "hgroups" => "hgroups",
        "pid" | "%p" => "pid",
        "hpid" => "hpid",
        "ppid" | "%P" => "ppid",
        "pgid" | "%r" => "pgid",
        "pcpu" | "%C" | "%cpu" => "pcpu",
        "etime" | "%t" => "etime",
        "stime" => "stime",
        "tty" | "%y" => "tty",
        "time" | "%x" => "time",
        "args" | "%a" => "args",
        "comm" | "%c" => "comm",
        "nice" | "%n" => "nice",
        "vsz" | "%z" => "vsz",
        "rss" => "rss",
        "state" => "state",
        "capamb" => "capamb",
        "capbnd" => "capbnd",
        "capeff" => "capeff",
        "capinh" => "capinh",
        "capprm" => "capprm",
        "seccomp" => "seccomp",
        "label" => "label",
        _ => return None,
    })
}

/// The column title psgo gives a descriptor.
pub fn header(d: &str) -> &'static str {
    match d {
        "user" => "USER",
        "ruser" => "RUSER",
        "huser" => "HUSER",
        "group" => "GROUP",
        "rgroup" => "RGROUP",
        "hgroup" => "HGROUP",
        "groups" => "GROUPS",
        "hgroups" => "HGROUPS",
        "pid" => "PID",
        "hpid" => "HPID",
        "ppid" => "PPID",
        "pgid" => "PGID",
        "pcpu" => "%CPU",
        "etime" => "ELAPSED",
        "stime" => "STIME",
        "tty" => "TTY",
        "time" => "TIME",
        "args" | "comm" => "COMMAND",
        "nice" => "NI",
        "vsz" => "VSZ",
        "rss" => "RSS",
        "capamb" => "AMBIENT CAPS",
        "capbnd" => "BOUNDING CAPS",
        "capeff" => "EFFECTIVE CAPS",
        "capinh" => "INHERITED CAPS",
        "capprm" => "PERMITTED CAPS",
        "seccomp" => "SECCOMP",
        "label" => "LABEL",
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

/// A host id as the container's user namespace sees it (the overflow id
/// for one it does not map).
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
    pgid: String,
    /// Real and effective ids (status Uid:/Gid: fields 1 and 2).
    uids: (u32, u32),
    gids: (u32, u32),
    groups: Vec<u32>,
    state: String,
    tty_nr: u64,
    cpu_ticks: u64,
    start_ticks: u64,
    nice: i64,
    vsz_kb: u64,
    rss_pages: u64,
    comm: String,
    args: String,
    status: String,
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

fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
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
            let mut w = status_field(&status, key)
                .unwrap_or("")
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0));
            (w.next().unwrap_or(0), w.next().unwrap_or(0))
        };
        let own_ns = std::fs::read_link(format!("/proc/{hpid}/ns/pid")).ok();
        // A host pid as the container names it: 0 for one outside it.
        let in_ns = |p: i64| {
            if p > 0 && std::fs::read_link(format!("/proc/{p}/ns/pid")).ok() == own_ns {
                ns_pid(p).unwrap_or_else(|| "0".into())
            } else {
                "0".into()
            }
        };
        let field_pid = |i: usize| f.get(i).and_then(|x| x.parse().ok()).unwrap_or(0);
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
            ppid: in_ns(field_pid(1)),
            pgid: in_ns(field_pid(2)),
            uids: ids("Uid:"),
            gids: ids("Gid:"),
            groups: status_field(&status, "Groups:")
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect(),
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
            status,
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
        let caps = |key: &str| {
            cap_names(
                status_field(&self.status, key)
                    .and_then(|v| u64::from_str_radix(v, 16).ok())
                    .unwrap_or(0),
            )
        };
        let groups = |names: &HashMap<u32, String>, map: Option<&[(u32, u32, u32)]>| {
            self.groups
                .iter()
                .map(|g| name(names, map.map_or(*g, |m| inside(m, *g))))
                .collect::<Vec<_>>()
                .join(",")
        };
        match d {
            "user" => name(&n.users, inside(&n.uid_map, self.uids.1)),
            "ruser" => name(&n.users, inside(&n.uid_map, self.uids.0)),
            "huser" => name(&n.host_users, self.uids.1),
            "group" => name(&n.groups, inside(&n.gid_map, self.gids.1)),
            "rgroup" => name(&n.groups, inside(&n.gid_map, self.gids.0)),
            "hgroup" => name(&n.host_groups, self.gids.1),
            "groups" => groups(&n.groups, Some(&n.gid_map)),
            "hgroups" => groups(&n.host_groups, None),
            "pid" => self.pid.clone(),
            "hpid" => self.hpid.to_string(),
            "ppid" => self.ppid.clone(),
            "pgid" => self.pgid.clone(),
            "pcpu" => {
                let e = elapsed();
                let pct = if e > 0.0 {
                    self.cpu_ticks as f64 / hz / e * 100.0
                } else {
                    0.0
                };
                format!("{pct:.3}")
            }
            "etime" => secs(elapsed()),
            "stime" => crate::engine::events::go_time(
                (boot_time() + (self.start_ticks as f64 / hz) as i64) * 1_000_000_000,
            ),
            "time" => secs(self.cpu_ticks as f64 / hz),
            "tty" => tty_name(self.tty_nr),
            "args" => self.args.clone(),
            "comm" => self.comm.clone(),
            "nice" => self.nice.to_string(),
            "vsz" => self.vsz_kb.to_string(),
            "rss" => (self.rss_pages * page_kb).to_string(),
            "capamb" => caps("CapAmb:"),
            "capbnd" => caps("CapBnd:"),
            "capeff" => caps("CapEff:"),
            "capinh" => caps("CapInh:"),
            "capprm" => caps("CapPrm:"),
            "seccomp" => match status_field(&self.status, "Seccomp:") {
                Some("0") => "disabled".into(),
                Some("1") => "strict".into(),
                Some("2") => "filter".into(),
                _ => "?".into(),
            },
            "label" => std::fs::read_to_string(format!("/proc/{}/attr/current", self.hpid))
                .ok()
                .map(|l| l.trim_end_matches(['\0', '\n']).to_string())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "?".into()),
            _ => self.state.clone(),
        }
    }
}

/// A capability mask as psgo prints it: "none", or the names without
/// CAP_, sorted.
fn cap_names(mask: u64) -> String {
    if mask == 0 {
        return "none".into();
    }
    let mut names: Vec<String> = (0..64u32)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| {
            crate::runtime::caps::NAMES
                .get(b as usize)
                .map(|n| n.trim_start_matches("CAP_").to_string())
                .unwrap_or_else(|| "unknown".into())
        })
        .collect();
    names.sort();
    names.join(",")
}

/// The boot time, seconds since the epoch (/proc/stat btime).
fn boot_time() -> i64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Seconds as Go's time.Duration prints them.
fn secs(s: f64) -> String {
    crate::format::units::go_duration((s.max(0.0) * 1e9) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go() {
        assert_eq!(secs(0.0), "0s");
        assert_eq!(secs(1.5), "1.5s");
        assert_eq!(secs(123.0), "2m3s");
        assert_eq!(secs(3723.0), "1h2m3s");
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
        assert_eq!(descriptor("%r"), Some("pgid"));
        assert_eq!(descriptor("-ef"), None);
        assert_eq!(header("capeff"), "EFFECTIVE CAPS");
    }

    #[test]
    fn capabilities_as_psgo() {
        assert_eq!(cap_names(0), "none");
        // CAP_CHOWN (0), CAP_KILL (5), CAP_NET_BIND_SERVICE (10)
        assert_eq!(
            cap_names(1 | 1 << 5 | 1 << 10),
            "CHOWN,KILL,NET_BIND_SERVICE"
        );
    }

    #[test]
    fn ids_through_a_map() {
        let map = [(0, 100000, 65536)];
        assert_eq!(inside(&map, 100000), 0);
        assert_eq!(inside(&map, 100005), 5);
        assert_eq!(inside(&map, 5), 65534);
    }
}
