//! `-v`, `--mount` and `--tmpfs` as podman parses them.

use crate::engine::volumes::VolumeMount;

const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

fn bind_source(src: &str, what: &str) -> Result<String, String> {
    let p = std::fs::canonicalize(src).map_err(|e| format!("{what}: bind source {src:?}: {e}"))?;
    Ok(p.display().to_string())
}

fn check_destination(dest: &str, what: &str) -> Result<(), String> {
    if !dest.starts_with('/') || dest.split('/').any(|c| c == "..") {
        return Err(format!(
            "{what}: the container path {dest:?} must be absolute, without .."
        ));
    }
    Ok(())
}

/// exec/noexec, suid/nosuid, dev/nodev: podman passes them through to the
/// mount; one of each pair at most.
fn mount_flag(o: &str, opts: &mut Vec<String>, what: &str) -> Result<bool, String> {
    let base = o.strip_prefix("no").unwrap_or(o);
    if !["exec", "suid", "dev"].contains(&base) {
        return Ok(false);
    }
    if opts
        .iter()
        .any(|x| x.strip_prefix("no").unwrap_or(x) == base)
    {
        return Err(format!(
            "{what}: cannot pass 'no{base}' and '{base}' options more than once"
        ));
    }
    opts.push(o.to_string());
    Ok(true)
}

fn flag(kv: &[(&str, &str)], keys: &[&str]) -> bool {
    kv.iter()
        .any(|(k, v)| keys.contains(k) && (v.is_empty() || *v == "true"))
}

/// `-v` and `--mount type=bind|volume`: host paths become binds; a name is
/// a named volume (created on first use); `-v /dest` or a volume mount
/// without a source is an anonymous volume.
pub fn binds(
    volumes: &[String],
    mounts: &[String],
) -> Result<(Vec<crate::engine::containers::Bind>, Vec<VolumeMount>), String> {
    use crate::engine::containers::Bind;
    let mut out = Vec::new();
    let mut vols = Vec::new();
    for v in volumes {
        let what = format!("-v {v}");
        let parts: Vec<&str> = v.split(':').collect();
        let (src, dest, opts) = match parts.as_slice() {
            [d] => {
                check_destination(d, &what)?;
                vols.push(VolumeMount {
                    name: crate::engine::containers::new_id(),
                    destination: d.to_string(),
                    anonymous: true,
                    ..Default::default()
                });
                continue;
            }
            [s, d] => (*s, *d, ""),
            [s, d, o] => (*s, *d, *o),
            _ => {
                return Err(format!(
                    "{what}: expected [SOURCE:]/CONTAINER/PATH[:OPTIONS], SOURCE a host path or a volume name"
                ));
            }
        };
        check_destination(dest, &what)?;
        if !src.starts_with('/') && !src.starts_with('.') {
            if !crate::engine::volumes::valid_name(src) {
                return Err(format!(
                    "{what}: {src:?} is neither an absolute path nor a valid volume name"
                ));
            }
            let mut vm = VolumeMount {
                name: src.to_string(),
                destination: dest.to_string(),
                ..Default::default()
            };
            for o in opts.split(',').filter(|o| !o.is_empty()) {
                if mount_flag(o, &mut vm.options, &what)? {
                    continue;
                }
                match o {
                    "ro" => vm.readonly = true,
                    "rw" => {}
                    // SELinux relabel: accepted without a word, as podman does
                    // on a host without SELinux.
                    "z" | "Z" => {}
                    "nocopy" => vm.nocopy = true,
                    "U" => vm.chown = true,
                    other => {
                        return Err(format!(
                            "{what}: unknown volume option {other:?} (use ro, rw, nocopy, z, Z, U, [no]exec, [no]suid, [no]dev)"
                        ));
                    }
                }
            }
            vols.push(vm);
            continue;
        }
        let mut b = Bind {
            source: bind_source(src, &what)?,
            destination: dest.to_string(),
            readonly: false,
            propagation: String::new(),
            chown: false,
            options: Vec::new(),
        };
        for o in opts.split(',').filter(|o| !o.is_empty()) {
            if mount_flag(o, &mut b.options, &what)? {
                continue;
            }
            match o {
                "ro" => b.readonly = true,
                "rw" => b.readonly = false,
                "U" => b.chown = true,
                // SELinux relabeling: there is no SELinux here to relabel for.
                // As above: nothing to relabel.
                "z" | "Z" => {}
                p if PROPAGATIONS.contains(&p) => b.propagation = p.to_string(),
                other => {
                    return Err(format!(
                        "{what}: unknown option {other:?} (use ro, rw, z, Z, U, [no]exec, [no]suid, [no]dev or a propagation mode)"
                    ));
                }
            }
        }
        out.push(b);
    }
    for m in mounts {
        let what = format!("--mount {m}");
        let kv: Vec<(&str, &str)> = m
            .split(',')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        let get = |k: &[&str]| kv.iter().find(|(x, _)| k.contains(x)).map(|(_, v)| *v);
        let dest = || {
            get(&["target", "destination", "dst"])
                .ok_or_else(|| format!("{what}: target= is required"))
        };
        match get(&["type"]) {
            Some("bind") => {
                let src = get(&["source", "src"])
                    .ok_or_else(|| format!("{what}: a bind needs source="))?;
                let dest = dest()?;
                check_destination(dest, &what)?;
                let propagation = get(&["bind-propagation"]).unwrap_or("").to_string();
                if !propagation.is_empty() && !PROPAGATIONS.contains(&propagation.as_str()) {
                    return Err(format!("{what}: unknown bind-propagation {propagation:?}"));
                }
                out.push(Bind {
                    source: bind_source(src, &what)?,
                    destination: dest.to_string(),
                    readonly: flag(&kv, &["readonly", "ro"]),
                    propagation,
                    chown: false,
                    options: Vec::new(),
                });
            }
            Some("volume") => {
                let dest = dest()?;
                check_destination(dest, &what)?;
                let (name, anonymous) = match get(&["source", "src"]) {
                    Some(n) if !n.is_empty() => (n.to_string(), false),
                    _ => (crate::engine::containers::new_id(), true),
                };
                if !crate::engine::volumes::valid_name(&name) {
                    return Err(format!("{what}: invalid volume name {name:?}"));
                }
                vols.push(VolumeMount {
                    name,
                    destination: dest.to_string(),
                    readonly: flag(&kv, &["readonly", "ro"]),
                    nocopy: flag(&kv, &["volume-nocopy"]),
                    anonymous,
                    chown: false,
                    options: Vec::new(),
                });
            }
            Some("tmpfs") => {}
            _ => {
                return Err(format!(
                    "{what}: expected type=bind, type=volume or type=tmpfs"
                ));
            }
        }
    }
    Ok((out, vols))
}

/// `--mount type=tmpfs,target=/x[,tmpfs-size=64m][,tmpfs-mode=1777]` as a
/// `--tmpfs` entry.
pub fn tmpfs_from_mounts(mounts: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for m in mounts {
        let kv: Vec<(&str, &str)> = m
            .split(',')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        if !kv.contains(&("type", "tmpfs")) {
            continue;
        }
        let dest = kv
            .iter()
            .find(|(k, _)| ["target", "destination", "dst"].contains(k))
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("--mount {m}: a tmpfs needs target="))?;
        check_destination(dest, &format!("--mount {m}"))?;
        let mut opts = Vec::new();
        for (k, v) in &kv {
            match *k {
                "tmpfs-size" => opts.push(format!("size={v}")),
                "tmpfs-mode" => opts.push(format!("mode={v}")),
                "readonly" | "ro" => opts.push("ro".to_string()),
                _ => {}
            }
        }
        out.push(format!("{dest}:{}", opts.join(",")));
    }
    Ok(out)
}

/// A container path as Go's `filepath.Clean` leaves it (the destinations
/// were checked to be absolute and free of `..`).
fn clean_dest(d: &str) -> String {
    let parts: Vec<&str> = d
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// podman's `tmpcopyup` default: a tmpfs starts with what the image has at
/// its destination, unless `notmpcopyup` says otherwise.
pub fn tmpfs_entry(t: &str) -> (String, String) {
    let (dest, opts) = t.split_once(':').unwrap_or((t, ""));
    let mut o: Vec<&str> = opts.split(',').filter(|s| !s.is_empty()).collect();
    // notmpcopyup only turns the default off; as podman, it does not go on
    // to the runtime (runc would pass it to the kernel as tmpfs data).
    if o.contains(&"notmpcopyup") {
        o.retain(|x| *x != "notmpcopyup");
    } else if !o.contains(&"tmpcopyup") {
        o.push("tmpcopyup");
    }
    (clean_dest(dest), o.join(","))
}

/// A container's binds, volumes and tmpfs mounts (`DEST:OPTIONS`).
pub type Mounts = (
    Vec<crate::engine::containers::Bind>,
    Vec<VolumeMount>,
    Vec<String>,
);

/// podman's unified mount list: one mount per destination. The same mount
/// given twice is kept once; two different ones on one destination are
/// `DEST: duplicate mount destination`.
pub fn unify(
    binds: Vec<crate::engine::containers::Bind>,
    vols: Vec<VolumeMount>,
    tmpfs: Vec<String>,
) -> Result<Mounts, String> {
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut claim = |dest: &str, what: String| -> Result<bool, String> {
        match seen.get(dest) {
            Some(prev) if *prev == what => Ok(false),
            Some(_) => Err(format!("{dest}: duplicate mount destination")),
            None => {
                seen.insert(dest.to_string(), what);
                Ok(true)
            }
        }
    };
    let mut out_binds = Vec::new();
    for mut b in binds {
        b.destination = clean_dest(&b.destination);
        let what = format!(
            "bind {} {} {} {:?}",
            b.source, b.readonly, b.propagation, b.options
        );
        if claim(&b.destination, what)? {
            out_binds.push(b);
        }
    }
    let mut out_vols = Vec::new();
    for mut v in vols {
        v.destination = clean_dest(&v.destination);
        let what = format!(
            "volume {} {} {} {:?}",
            v.name, v.readonly, v.nocopy, v.options
        );
        if claim(&v.destination, what)? {
            out_vols.push(v);
        }
    }
    let mut out_tmpfs = Vec::new();
    for t in tmpfs {
        let (dest, opts) = tmpfs_entry(&t);
        if claim(&dest, format!("tmpfs {opts}"))? {
            out_tmpfs.push(format!("{dest}:{opts}"));
        }
    }
    Ok((out_binds, out_vols, out_tmpfs))
}

/// `--image-volume MODE`, else containers.conf's `[engine]
/// image_volume_mode`, else bind.
pub fn image_volume_mode(flag: Option<&str>) -> Result<String, String> {
    let mode = flag
        .map(String::from)
        .or_else(|| crate::config::string("engine", "image_volume_mode"))
        .unwrap_or_else(|| "bind".into());
    if !["bind", "tmpfs", "ignore"].contains(&mode.as_str()) {
        return Err(format!(
            "invalid image volume mode {mode:?}: use bind, tmpfs or ignore"
        ));
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn same_mount_twice_is_kept_once() {
        let (b, v) = binds(&s(&["/tmp:/a", "/tmp:/a/", "vol1:/v", "vol1:/v"]), &[]).unwrap();
        let (b, v, t) = unify(b, v, s(&["/t", "/t"])).unwrap();
        assert_eq!((b.len(), v.len(), t), (1, 1, s(&["/t:tmpcopyup"])));
    }

    #[test]
    fn different_mounts_on_one_destination_are_refused() {
        let cases: [(&[&str], &[&str]); 4] = [
            (&["/tmp:/a", "/:/a"], &[]),
            (&["vol1:/a", "vol2:/a"], &[]),
            (&["vol1:/a"], &["/a"]),
            (&[], &["/a", "/a:ro"]),
        ];
        for (v, t) in cases {
            let (b, vols) = binds(&s(v), &[]).unwrap();
            let e = unify(b, vols, s(t)).unwrap_err().to_string();
            assert_eq!(e, "/a: duplicate mount destination");
        }
    }

    #[test]
    fn mount_flags_pass_through_once() {
        let (b, v) = binds(&s(&["/tmp:/a:noexec,nosuid", "vol:/v:exec,nodev"]), &[]).unwrap();
        assert_eq!(b[0].options, s(&["noexec", "nosuid"]));
        assert_eq!(v[0].options, s(&["exec", "nodev"]));
        assert!(binds(&s(&["/tmp:/a:noexec,exec"]), &[]).is_err());
        assert!(binds(&s(&["vol:/a:nosuid,nosuid"]), &[]).is_err());
    }

    #[test]
    fn tmpfs_copy_up_is_the_default() {
        assert_eq!(tmpfs_entry("/x:ro"), ("/x".into(), "ro,tmpcopyup".into()));
        assert_eq!(
            tmpfs_entry("/x/:notmpcopyup,size=1m"),
            ("/x".into(), "size=1m".into())
        );
    }
}
