//! `--user name|uid[:group|gid]` resolved against the image's /etc/passwd
//! and /etc/group, supplementary groups included (as runc/podman do).

#[derive(Debug, Clone, PartialEq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

fn passwd_lookup(passwd: &str, want: &str) -> Option<(String, u32, u32, String)> {
    for l in passwd.lines() {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 7 {
            continue;
        }
        let (name, uid, gid) = (f[0], f[2].parse::<u32>().ok()?, f[3].parse::<u32>().ok()?);
        if name == want || uid.to_string() == want {
            return Some((name.to_string(), uid, gid, f[5].to_string()));
        }
    }
    None
}

fn group_lookup(group: &str, want: &str) -> Option<u32> {
    group.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && (f[0] == want || f[2] == want))
            .then(|| f[2].parse().ok())
            .flatten()
    })
}

fn supplementary(group: &str, user: &str, primary: u32) -> Vec<u32> {
    let mut v: Vec<u32> = group
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[3].split(',').any(|m| m == user))
                .then(|| f[2].parse().ok())
                .flatten()
        })
        .filter(|g| *g != primary)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Resolve `spec` ("" means root) with the image's passwd and group files.
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<ExecUser, String> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let (name, uid, mut gid, home) = match passwd_lookup(passwd, u) {
        Some(x) => x,
        None => match u.parse::<u32>() {
            Ok(n) => (String::new(), n, n, "/".to_string()),
            Err(_) => {
                return Err(format!(
                    "unable to find user {u}: no matching entries in passwd file"
                ));
            }
        },
    };
    if u.parse::<u32>().is_ok() && passwd_lookup(passwd, u).is_none() {
        gid = 0;
    }
    let mut additional = if name.is_empty() {
        vec![]
    } else {
        supplementary(group, &name, gid)
    };
    if let Some(g) = g {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group_lookup(group, g).ok_or_else(|| {
                format!("unable to find group {g}: no matching entries in group file")
            })?,
        };
        additional.clear();
    }
    Ok(ExecUser {
        uid,
        gid,
        additional_gids: additional,
        home,
    })
}

/// `--group-add`: each group name (from the image's /etc/group) or GID
/// joins the supplementary groups.
pub fn add_groups(user: &mut ExecUser, groups: &[String], group: &str) -> Result<(), String> {
    for g in groups {
        let gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) if g == "keep-groups" => {
                return Err(
                    "--group-add keep-groups needs crun's keep-groups support; berth's runtime does not have it"
                        .into(),
                );
            }
            Err(_) => group_lookup(group, g).ok_or_else(|| {
                format!("unable to find group {g}: no matching entries in group file")
            })?,
        };
        if !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nalice:x:1000:\nwheel:x:10:alice,bob\naudio:x:29:alice\n";

    #[test]
    fn users() {
        assert_eq!(
            resolve("", PASSWD, GROUP).unwrap(),
            ExecUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![],
                home: "/root".into()
            }
        );
        let a = resolve("alice", PASSWD, GROUP).unwrap();
        assert_eq!(
            (a.uid, a.gid, a.additional_gids.clone(), a.home.as_str()),
            (1000, 1000, vec![10, 29], "/home/alice")
        );
        assert_eq!(resolve("1000:wheel", PASSWD, GROUP).unwrap().gid, 10);
        let n = resolve("4242", PASSWD, GROUP).unwrap();
        assert_eq!((n.uid, n.gid), (4242, 0));
        assert_eq!(resolve("4242:7", PASSWD, GROUP).unwrap().gid, 7);
        assert!(resolve("nobody", PASSWD, GROUP).is_err());
        assert!(resolve("alice:nogroup", PASSWD, GROUP).is_err());
        let mut r = resolve("", PASSWD, GROUP).unwrap();
        add_groups(&mut r, &["wheel".into(), "4000".into(), "10".into()], GROUP).unwrap();
        assert_eq!(r.additional_gids, [10, 4000]);
        assert!(add_groups(&mut r, &["nogroup".into()], GROUP).is_err());
    }
}
