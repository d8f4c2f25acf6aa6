//! Linux capabilities by name, and applying a spec's capability sets with
//! capset(2), prctl(PR_CAPBSET_DROP) and the ambient set.

use std::collections::BTreeSet;

/// capability.h order: the index is the capability number.
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// podman's default set (containers.conf `default_capabilities`).
pub const PODMAN_DEFAULT: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all name CAP_NET_ADMIN.
pub fn normalize(name: &str) -> Option<String> {
    let up = name.trim().to_ascii_uppercase();
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    NAMES.contains(&full.as_str()).then_some(full)
}

pub fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

/// The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap).
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Work out a container's capability set: podman's defaults (or all, when
/// privileged), plus `--cap-add`, minus `--cap-drop`; "ALL" works in both.
pub fn resolve(
    privileged: bool,
    add: &[String],
    drop: &[String],
) -> Result<BTreeSet<String>, String> {
    let all = || {
        NAMES
            .iter()
            .take(last_cap() as usize + 1)
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    };
    let mut set: BTreeSet<String> = if privileged {
        all()
    } else {
        PODMAN_DEFAULT.iter().map(|s| s.to_string()).collect()
    };
    for a in add {
        if a.eq_ignore_ascii_case("all") {
            set = all();
        } else {
            set.insert(
                normalize(a).ok_or_else(|| format!("unknown capability {a:?} in --cap-add"))?,
            );
        }
    }
    for d in drop {
        if d.eq_ignore_ascii_case("all") {
            set.clear();
        } else {
            set.remove(
                &normalize(d).ok_or_else(|| format!("unknown capability {d:?} in --cap-drop"))?,
            );
        }
    }
    Ok(set)
}

fn mask(names: &[String]) -> u64 {
    names
        .iter()
        .filter_map(|n| number(n))
        .fold(0u64, |m, c| m | (1u64 << c))
}

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// A spec capability set as names ("CAP_CHOWN", ...).
pub fn names_of(set: &Option<oci_spec::runtime::Capabilities>) -> Vec<String> {
    set.as_ref()
        .map(|s| {
            s.iter()
                .map(|c| c.to_string())
                .map(|n| {
                    if n.starts_with("CAP_") {
                        n
                    } else {
                        format!("CAP_{n}")
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Become `uid`:`gid` with supplementary `groups`, keeping the permitted
/// capabilities across the uid change (set again with `set` afterwards).
pub fn switch_user(uid: u32, gid: u32, groups: &[u32]) -> std::io::Result<()> {
    let err = |what: String| {
        std::io::Error::other(format!("{what}: {}", std::io::Error::last_os_error()))
    };
    // SAFETY: credential syscalls with valid arguments.
    unsafe {
        // Without CAP_SETGID (a single-id user namespace) an empty list is
        // all that could be asked anyway.
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0 && !groups.is_empty() {
            return Err(err("setgroups".into()));
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return Err(err(format!("setgid {gid}")));
        }
        libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0);
        if libc::setresuid(uid, uid, uid) != 0 {
            return Err(err(format!("setuid {uid}")));
        }
    }
    Ok(())
}

/// The capabilities this process holds (permitted), as a mask: nothing
/// outside it can be granted (this host may lack CAP_SYS_RESOURCE, say).
fn held() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| {
                    l.strip_prefix("CapPrm:")
                        .map(|v| u64::from_str_radix(v.trim(), 16).ok())
                })
                .flatten()
        })
        .unwrap_or(u64::MAX)
}

/// Drop from the bounding set every capability not in `bounding`. Needs
/// CAP_SETPCAP, so it runs before the switch to the container's user.
pub fn drop_bounding(bounding: &[String]) -> std::io::Result<()> {
    let keep = mask(bounding);
    for c in 0..=last_cap() {
        if keep & (1 << c) == 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, c as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINVAL) {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// Set the effective, permitted and inheritable sets (capset(2)), then
/// raise the ambient ones. Sets are trimmed to what this process holds.
pub fn set(
    effective: &[String],
    permitted: &[String],
    inheritable: &[String],
    ambient: &[String],
) -> std::io::Result<()> {
    let have = held();
    let (e, p, i) = (
        mask(effective) & have,
        mask(permitted) & have,
        mask(inheritable) & have,
    );
    let mut hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [
        Data {
            effective: e as u32,
            permitted: p as u32,
            inheritable: i as u32,
        },
        Data {
            effective: (e >> 32) as u32,
            permitted: (p >> 32) as u32,
            inheritable: (i >> 32) as u32,
        },
    ];
    // SAFETY: capset reads two Data structs for _LINUX_CAPABILITY_VERSION_3.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    for c in ambient.iter().filter_map(|n| number(n)) {
        // SAFETY: prctl with integer arguments only.
        unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                c as libc::c_ulong,
                0,
                0,
            )
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_sets() {
        let d = resolve(false, &[], &[]).unwrap();
        assert_eq!(d.len(), 11);
        let s = resolve(
            false,
            &["net_admin".into()],
            &["CAP_CHOWN".into(), "kill".into()],
        )
        .unwrap();
        assert!(s.contains("CAP_NET_ADMIN") && !s.contains("CAP_CHOWN") && !s.contains("CAP_KILL"));
        assert!(resolve(false, &[], &["all".into()]).unwrap().is_empty());
        assert!(resolve(true, &[], &[]).unwrap().contains("CAP_SYS_ADMIN"));
        assert!(resolve(false, &["bogus".into()], &[]).is_err());
        assert_eq!(mask(&["CAP_CHOWN".into(), "CAP_KILL".into()]), 0b100001);
    }
}
