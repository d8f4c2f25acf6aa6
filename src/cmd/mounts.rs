//! `-v`, `--mount` and `--tmpfs` as podman parses them.

use crate::engine::volumes::VolumeMount;

const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

fn bind_source(src: &str, what: &str) -> anyhow::Result<String> {
    let p = std::fs::canonicalize(src)
        .map_err(|e| anyhow::anyhow!("{what}: bind source {src:?}: {e}"))?;
    Ok(p.display().to_string())
}

fn check_destination(dest: &str, what: &str) -> anyhow::Result<()> {
    if !dest.starts_with('/') || dest.split('/').any(|c| c == "..") {
        anyhow::bail!("{what}: the container path {dest:?} must be absolute, without ..");
    }
    Ok(())
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
) -> anyhow::Result<(Vec<crate::engine::containers::Bind>, Vec<VolumeMount>)> {
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
            _ => anyhow::bail!(
                "{what}: expected [SOURCE:]/CONTAINER/PATH[:OPTIONS], SOURCE a host path or a volume name"
            ),
        };
        check_destination(dest, &what)?;
        if !src.starts_with('/') && !src.starts_with('.') {
            if !crate::engine::volumes::valid_name(src) {
                anyhow::bail!(
                    "{what}: {src:?} is neither an absolute path nor a valid volume name"
                );
            }
            let mut vm = VolumeMount {
                name: src.to_string(),
                destination: dest.to_string(),
                ..Default::default()
            };
            for o in opts.split(',').filter(|o| !o.is_empty()) {
                match o {
                    "ro" => vm.readonly = true,
                    "rw" => {}
                    // SELinux relabel: accepted without a word, as podman does
                    // on a host without SELinux.
                    "z" | "Z" => {}
                    "nocopy" => vm.nocopy = true,
                    "U" => vm.chown = true,
                    other => anyhow::bail!(
                        "{what}: unknown volume option {other:?} (use ro, rw, nocopy, z, Z)"
                    ),
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
        };
        for o in opts.split(',').filter(|o| !o.is_empty()) {
            match o {
                "ro" => b.readonly = true,
                "rw" => b.readonly = false,
                "U" => b.chown = true,
                // SELinux relabeling: there is no SELinux here to relabel for.
                // As above: nothing to relabel.
                "z" | "Z" => {}
                p if PROPAGATIONS.contains(&p) => b.propagation = p.to_string(),
                other => anyhow::bail!(
                    "{what}: unknown option {other:?} (use ro, rw, z, Z or a propagation mode)"
                ),
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
                .ok_or_else(|| anyhow::anyhow!("{what}: target= is required"))
        };
        match get(&["type"]) {
            Some("bind") => {
                let src = get(&["source", "src"])
                    .ok_or_else(|| anyhow::anyhow!("{what}: a bind needs source="))?;
                let dest = dest()?;
                check_destination(dest, &what)?;
                let propagation = get(&["bind-propagation"]).unwrap_or("").to_string();
                if !propagation.is_empty() && !PROPAGATIONS.contains(&propagation.as_str()) {
                    anyhow::bail!("{what}: unknown bind-propagation {propagation:?}");
                }
                out.push(Bind {
                    source: bind_source(src, &what)?,
                    destination: dest.to_string(),
                    readonly: flag(&kv, &["readonly", "ro"]),
                    propagation,
                    chown: false,
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
                    anyhow::bail!("{what}: invalid volume name {name:?}");
                }
                vols.push(VolumeMount {
                    name,
                    destination: dest.to_string(),
                    readonly: flag(&kv, &["readonly", "ro"]),
                    nocopy: flag(&kv, &["volume-nocopy"]),
                    anonymous,
                    chown: false,
                });
            }
            Some("tmpfs") => {}
            _ => anyhow::bail!("{what}: expected type=bind, type=volume or type=tmpfs"),
        }
    }
    Ok((out, vols))
}

/// `--mount type=tmpfs,target=/x[,tmpfs-size=64m][,tmpfs-mode=1777]` as a
/// `--tmpfs` entry.
pub fn tmpfs_from_mounts(mounts: &[String]) -> anyhow::Result<Vec<String>> {
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
            .ok_or_else(|| anyhow::anyhow!("--mount {m}: a tmpfs needs target="))?;
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
