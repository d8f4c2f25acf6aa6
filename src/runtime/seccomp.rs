//! seccomp: load an OCI seccomp profile with libseccomp, and berth's
//! default profile.
//!
//! The default is an allowlist, as containers/common's is: every syscall of
//! the native architecture that libseccomp knows is allowed except the ones
//! containers/common refuses; a syscall the list does not know (newer than
//! this libseccomp) gets ENOSYS, so programs fall back as they would on an
//! older kernel. The refused ones get EPERM unless the container holds the
//! capability that makes them legitimate: mount/unshare/setns need
//! CAP_SYS_ADMIN, ptrace CAP_SYS_PTRACE, module loading CAP_SYS_MODULE, and
//! so on; keyrings and the like are refused outright. clone/clone3 may not
//! create namespaces without CAP_SYS_ADMIN (clone3 gets ENOSYS, so libcs
//! fall back to clone, whose flags a filter can see).

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};
use serde_json::json;

/// (syscalls, capability that allows them; None: refused for everyone).
const DENIED: &[(&[&str], Option<&str>)] = &[
    (
        &[
            "add_key",
            "keyctl",
            "request_key",
            "lookup_dcookie",
            "nfsservctl",
            "sysfs",
            "_sysctl",
            "uselib",
            "ustat",
            "vm86",
            "vm86old",
            "userfaultfd",
            "kexec_file_load",
            "kexec_load",
        ],
        None,
    ),
    (
        &[
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "unshare",
            "setns",
            "quotactl",
            "swapon",
            "swapoff",
            "name_to_handle_at",
            "fanotify_init",
            "open_tree",
            "move_mount",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "mount_setattr",
            "bpf",
            "perf_event_open",
            "lookup_dcookie",
        ],
        Some("CAP_SYS_ADMIN"),
    ),
    (&["open_by_handle_at"], Some("CAP_DAC_READ_SEARCH")),
    (
        &["ptrace", "process_vm_readv", "process_vm_writev", "kcmp"],
        Some("CAP_SYS_PTRACE"),
    ),
    (
        &[
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
            "get_kernel_syms",
            "query_module",
        ],
        Some("CAP_SYS_MODULE"),
    ),
    (&["reboot"], Some("CAP_SYS_BOOT")),
    (
        &["settimeofday", "stime", "clock_settime", "clock_adjtime"],
        Some("CAP_SYS_TIME"),
    ),
    (&["acct"], Some("CAP_SYS_PACCT")),
    (&["ioperm", "iopl"], Some("CAP_SYS_RAWIO")),
    (&["syslog"], Some("CAP_SYSLOG")),
    (
        &["mbind", "set_mempolicy", "move_pages", "get_mempolicy"],
        Some("CAP_SYS_NICE"),
    ),
];

const NS_FLAGS: [u64; 7] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWCGROUP as u64,
];

/// The default profile for a container holding `caps`, as an OCI
/// LinuxSeccomp document (so it lands in config.json like any profile).
pub fn default_profile(caps: &[String]) -> LinuxSeccomp {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let mut rules = Vec::new();
    let mut refused: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (names, cap) in DENIED {
        if cap.is_none_or(|c| !has(c)) {
            refused.extend(names.iter());
            rules
                .push(json!({"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPERM}));
        }
    }
    let gated = ["clone", "clone3"];
    let allowed: Vec<String> = native_syscalls()
        .into_iter()
        .filter(|n| !refused.contains(n.as_str()) && !gated.contains(&n.as_str()))
        .collect();
    rules.push(json!({"names": allowed, "action": "SCMP_ACT_ALLOW"}));
    if has("CAP_SYS_ADMIN") {
        rules.push(json!({"names": gated, "action": "SCMP_ACT_ALLOW"}));
    } else {
        rules.push(
            json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSYS}),
        );
        // clone is fine without namespace flags: allowed when the flags
        // word has none of them, refused otherwise.
        let ns_mask: u64 = NS_FLAGS.iter().fold(0, |m, f| m | f);
        rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": ns_mask, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}));
    }
    serde_json::from_value(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": libc::ENOSYS, "syscalls": rules}))
        .expect("well-formed default profile")
}

/// Every syscall name libseccomp knows for the architecture berth runs on.
fn native_syscalls() -> Vec<String> {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            let mut v: Vec<String> = (0..1024)
                .filter_map(|n| ScmpSyscall::from_raw_syscall(n).get_name().ok())
                .collect();
            v.sort();
            v.dedup();
            v
        })
        .clone()
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> ScmpAction {
    match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => {
            ScmpAction::Errno(errno.unwrap_or(libc::EPERM as u32) as i32)
        }
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno.unwrap_or(0) as u16),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    }
}

fn compare(op: LinuxSeccompOperator, index: usize, value: u64, two: Option<u64>) -> ScmpArgCompare {
    let op = match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value),
    };
    let datum = if matches!(op, ScmpCompareOp::MaskedEqual(_)) {
        two.unwrap_or(value)
    } else {
        value
    };
    ScmpArgCompare::new(index as u32, op, datum)
}

/// Install `profile` on the calling thread. Syscall names this kernel or
/// libseccomp does not know are skipped, as runc does.
pub fn load(profile: &LinuxSeccomp) -> Result<(), String> {
    let default = action(profile.default_action(), profile.default_errno_ret());
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| e.to_string())?;
    // no_new_privs is the spec's decision (process.noNewPrivileges), not libseccomp's.
    ctx.set_ctl_nnp(false).map_err(|e| e.to_string())?;
    for rule in profile.syscalls().clone().unwrap_or_default() {
        let act = action(rule.action(), rule.errno_ret());
        if act == default {
            continue;
        }
        let cmps: Vec<ScmpArgCompare> = rule
            .args()
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|a| compare(a.op(), a.index(), a.value(), a.value_two()))
            .collect();
        for name in rule.names() {
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let r = if cmps.is_empty() {
                ctx.add_rule(act, sc)
            } else {
                ctx.add_rule_conditional(act, sc, &cmps)
            };
            r.map_err(|e| format!("rule for {name}: {e}"))?;
        }
    }
    ctx.load().map_err(|e| e.to_string())
}

/// Read a user's `--security-opt seccomp=FILE.json` (OCI or docker format:
/// both use defaultAction/syscalls).
pub fn from_file(path: &str) -> Result<LinuxSeccomp, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading seccomp profile {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("seccomp profile {path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_follows_capabilities() {
        let names = |p: &LinuxSeccomp, allow: bool| -> Vec<String> {
            p.syscalls()
                .clone()
                .unwrap()
                .iter()
                .filter(|r| {
                    (r.action() == LinuxSeccompAction::ScmpActAllow) == allow && r.args().is_none()
                })
                .flat_map(|r| r.names().clone())
                .collect()
        };
        let p = default_profile(&["CAP_CHOWN".into()]);
        assert_eq!(
            p.default_action(),
            LinuxSeccompAction::ScmpActErrno,
            "an allowlist"
        );
        let (allowed, refused) = (names(&p, true), names(&p, false));
        assert!(allowed.contains(&"read".to_string()) && allowed.contains(&"execve".to_string()));
        for bad in ["keyctl", "mount", "unshare", "ptrace", "bpf"] {
            assert!(
                !allowed.contains(&bad.to_string()) && refused.contains(&bad.to_string()),
                "{bad}"
            );
        }
        let admin = default_profile(&["CAP_SYS_ADMIN".into()]);
        let (allowed, refused) = (names(&admin, true), names(&admin, false));
        assert!(allowed.contains(&"mount".to_string()) && allowed.contains(&"clone".to_string()));
        assert!(refused.contains(&"keyctl".to_string()) && !refused.contains(&"mount".to_string()));
    }
}
