//! Rootless user namespaces: the invoking user becomes root inside, and
//! its /etc/subuid and /etc/subgid ranges supply the other ids, written by
//! the setuid helpers newuidmap/newgidmap (uidmap package), as podman does.

use std::process::Command;

#[derive(Debug, Clone, PartialEq)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// The first range for `name` or `id` in a subuid/subgid file's text.
pub fn sub_range(text: &str, name: &str, id: u32) -> Option<(u32, u32)> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.trim().split(':').collect();
        if f.len() == 3 && (f[0] == name || f[0] == id.to_string()) {
            Some((f[1].parse().ok()?, f[2].parse().ok()?))
        } else {
            None
        }
    })
}

fn user_name(uid: u32) -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; we
    // copy the name out at once.
    unsafe {
        let pw = libc::getpwuid(uid);
        if pw.is_null() {
            return uid.to_string();
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

/// (uid maps, gid maps) for the calling user: 0 -> the user, 1.. -> the
/// subordinate range. A single mapping when there is no range. With
/// `keep_id`, the user keeps its own id inside (podman's --userns=keep-id):
/// 0..id come from the range, id -> the user, the rest of the range after.
pub fn mappings(keep_id: bool) -> (Vec<IdMap>, Vec<IdMap>) {
    let (uid, gid) = super::pause::host_ids();
    let name = user_name(uid);
    let build = |file: &str, id: u32| -> Vec<IdMap> {
        let range = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| sub_range(&t, &name, id));
        keep_id_map(id, range, keep_id)
    };
    (build("/etc/subuid", uid), build("/etc/subgid", gid))
}

fn keep_id_map(id: u32, range: Option<(u32, u32)>, keep_id: bool) -> Vec<IdMap> {
    let m = |c, h, size| IdMap {
        container_id: c,
        host_id: h,
        size,
    };
    match (range, keep_id) {
        (None, false) => vec![m(0, id, 1)],
        (None, true) => vec![m(id, id, 1)],
        (Some((start, count)), false) => vec![m(0, id, 1), m(1, start, count)],
        (Some((start, count)), true) => {
            let below = id.min(count);
            let mut v = vec![];
            if below > 0 {
                v.push(m(0, start, below));
            }
            v.push(m(id, id, 1));
            if count > below {
                v.push(m(id + 1, start + below, count - below));
            }
            v
        }
    }
}

/// A container's own user namespace, nested in the pause namespace (whose
/// id 0 is the user and 1..=count the subordinate range): None to share
/// the pause namespace itself (the default); with keep-id, the user's id
/// inside maps to the user.
pub fn container_mappings(keep_id: bool) -> Option<(Vec<IdMap>, Vec<IdMap>)> {
    if !keep_id {
        return None;
    }
    let (uid, gid) = super::pause::host_ids();
    let name = user_name(uid);
    let count = |file: &str, id: u32| {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|t| sub_range(&t, &name, id))
            .map(|r| r.1)
            .unwrap_or(0)
    };
    Some((
        nested_keep_id(uid, count("/etc/subuid", uid)),
        nested_keep_id(gid, count("/etc/subgid", gid)),
    ))
}

fn nested_keep_id(id: u32, count: u32) -> Vec<IdMap> {
    // In the pause namespace: 0 is the user, 1..=count the range.
    keep_id_map(id, (count > 0).then_some((1, count)), true)
        .into_iter()
        .map(|m| {
            if m.container_id == id {
                IdMap {
                    container_id: id,
                    host_id: 0,
                    size: 1,
                }
            } else {
                m
            }
        })
        .collect()
}

/// Write the maps of process `pid` (just cloned into a new user namespace).
pub fn write_maps(pid: i32, uids: &[IdMap], gids: &[IdMap]) -> std::io::Result<()> {
    let args = |m: &[IdMap]| {
        m.iter()
            .flat_map(|e| {
                [
                    e.container_id.to_string(),
                    e.host_id.to_string(),
                    e.size.to_string(),
                ]
            })
            .collect::<Vec<_>>()
    };
    if super::pause::joined() {
        // Root in the pause namespace may map its own ids directly.
        let line = |m: &[IdMap]| {
            m.iter()
                .map(|e| format!("{} {} {}\n", e.container_id, e.host_id, e.size))
                .collect::<String>()
        };
        std::fs::write(format!("/proc/{pid}/uid_map"), line(uids))?;
        std::fs::write(format!("/proc/{pid}/gid_map"), line(gids))?;
        return Ok(());
    }
    if uids.len() > 1 || gids.len() > 1 {
        for (tool, maps) in [("newuidmap", uids), ("newgidmap", gids)] {
            let out = Command::new(tool)
                .arg(pid.to_string())
                .args(args(maps))
                .output()
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("running {tool} (install the uidmap package): {e}"),
                    )
                })?;
            if !out.status.success() {
                return Err(std::io::Error::other(format!(
                    "{tool}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        return Ok(());
    }
    // No subordinate range: map ourselves only. setgroups must be denied
    // before an unprivileged process may write gid_map.
    let line = |m: &[IdMap]| {
        m.iter()
            .map(|e| format!("{} {} {}\n", e.container_id, e.host_id, e.size))
            .collect::<String>()
    };
    std::fs::write(format!("/proc/{pid}/uid_map"), line(uids))?;
    std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
    std::fs::write(format!("/proc/{pid}/gid_map"), line(gids))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_id_keeps_the_users_id() {
        let v = keep_id_map(1000, Some((100000, 65536)), true);
        assert_eq!(
            v,
            vec![
                IdMap {
                    container_id: 0,
                    host_id: 100000,
                    size: 1000
                },
                IdMap {
                    container_id: 1000,
                    host_id: 1000,
                    size: 1
                },
                IdMap {
                    container_id: 1001,
                    host_id: 101000,
                    size: 64536
                },
            ]
        );
        assert_eq!(
            keep_id_map(1000, Some((100000, 65536)), false)[0],
            IdMap {
                container_id: 0,
                host_id: 1000,
                size: 1
            }
        );
        assert_eq!(
            keep_id_map(1000, None, true),
            vec![IdMap {
                container_id: 1000,
                host_id: 1000,
                size: 1
            }]
        );
    }

    #[test]
    fn nested_keep_id_maps_the_user_to_pause_root() {
        let v = nested_keep_id(1000, 65536);
        assert_eq!(
            v,
            vec![
                IdMap {
                    container_id: 0,
                    host_id: 1,
                    size: 1000
                },
                IdMap {
                    container_id: 1000,
                    host_id: 0,
                    size: 1
                },
                IdMap {
                    container_id: 1001,
                    host_id: 1001,
                    size: 64536
                },
            ]
        );
    }

    #[test]
    fn ranges() {
        let t = "alice:100000:65536\n1001:200000:1000\n";
        assert_eq!(sub_range(t, "alice", 1000), Some((100000, 65536)));
        assert_eq!(sub_range(t, "bob", 1001), Some((200000, 1000)));
        assert_eq!(sub_range(t, "carol", 1002), None);
    }
}
