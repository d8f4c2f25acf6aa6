use super::{Ctx, print_rows};
use crate::engine::Engine;
use crate::engine::images::{ImageRecord, Listed, now};
use crate::format::units::{go_time, human_duration, human_size, parse_rfc3339, rfc3339};
use crate::registry::reference::split_name;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub struct ImagesArgs {
    /// Show only images matching this reference
    pub image: Option<String>,
    /// Show all images (including intermediate build images)
    #[arg(short, long)]
    pub all: bool,
    /// Display only image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output (dangling=, reference=, label=, before=, since=)
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Change the output format: json, table, or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print column headings
    #[arg(short, long)]
    pub noheading: bool,
    /// Sort by created, id, repository, size or tag
    #[arg(long, default_value = "created", value_parser = ["created", "id", "repository", "size", "tag"])]
    pub sort: String,
}

/// Glob match with `*` and `?` (what podman's reference filter accepts).
pub fn glob(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does stored name `name` match a reference filter? The pattern may omit
/// the registry, `library/`, and the tag, as podman allows.
pub fn reference_matches(pattern: &str, name: &str) -> bool {
    let (repo, tag) = split_name(name);
    let mut forms = vec![name.to_string(), repo.to_string()];
    if let Some((_, rest)) = repo.split_once('/') {
        forms.push(rest.to_string());
        forms.push(format!("{rest}:{tag}"));
        if let Some(r) = rest.strip_prefix("library/") {
            forms.push(r.to_string());
            forms.push(format!("{r}:{tag}"));
        }
    }
    forms.iter().any(|f| glob(pattern, f))
}

fn filter_ok(engine: &Engine, l: &Listed, filters: &[(String, String)]) -> anyhow::Result<bool> {
    for (k, v) in filters {
        let ok = match k.as_str() {
            "dangling" => {
                let want = matches!(v.as_str(), "true" | "1");
                l.rec.names.is_empty() == want
            }
            "reference" => l.rec.names.iter().any(|n| reference_matches(v, n)),
            "label" => {
                let labels = l.config.labels();
                match v.split_once('=') {
                    Some((lk, lv)) => labels.get(lk).is_some_and(|x| x == lv),
                    None => labels.contains_key(v.as_str()),
                }
            }
            "before" | "since" | "after" => {
                let other = engine.find_image(v)?;
                let t = parse_rfc3339(&other.image.created).unwrap_or(other.image.added);
                if k == "before" {
                    l.created < t
                } else {
                    l.created > t
                }
            }
            "id" => l.rec.id.hex().starts_with(v.trim_start_matches("sha256:")),
            _ => anyhow::bail!(
                "invalid filter {k:?}: supported are dangling, reference, label, before, since, after, id"
            ),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn parse_filters(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: expected KEY=VALUE"))
        })
        .collect()
}

pub fn run(ctx: &Ctx, a: ImagesArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::IMAGES);
    let engine = ctx.engine()?;
    let mut filters = parse_filters(&a.filter)?;
    if let Some(i) = &a.image {
        filters.push(("reference".into(), i.clone()));
    }
    let now = now();
    let mut listed = Vec::new();
    // Intermediate build images (unnamed steps the build cache holds) are
    // shown with -a only, as podman and docker do.
    let intermediate = engine.intermediate_images()?;
    for l in engine.list_images()? {
        if !a.all && l.rec.names.is_empty() && intermediate.contains(l.rec.id.hex()) {
            continue;
        }
        if filter_ok(&engine, &l, &filters)? {
            listed.push(l);
        }
    }
    let fmt = a.format.as_deref();
    if fmt.map(str::trim) == Some("json") {
        let rows: Vec<Value> = listed.iter().map(json_row).collect();
        return print_rows(fmt, "", &rows, &[], false);
    }
    if a.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for l in &listed {
            if seen.insert(l.rec.id.clone()) {
                println!(
                    "{}",
                    if a.no_trunc {
                        l.rec.id.to_string()
                    } else {
                        l.rec.id.short().to_string()
                    }
                );
            }
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for l in &listed {
        let mut names: Vec<(String, String)> = if l.rec.names.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            l.rec
                .names
                .iter()
                .map(|n| {
                    let (r, t) = split_name(n);
                    // A name@digest has no tag to show.
                    if t.starts_with("sha256:") {
                        (r.to_string(), "<none>".to_string())
                    } else {
                        (r.to_string(), t.to_string())
                    }
                })
                .collect()
        };
        // podman: one row per tag; a name without one (repo@digest) shows
        // as `<none>` only when the image has no tagged name at all.
        if names.iter().any(|(_, t)| t != "<none>") {
            names.retain(|(_, t)| t != "<none>");
        } else {
            names.truncate(1);
        }
        for (repo, tag) in names {
            let id = if a.no_trunc {
                l.rec.id.to_string()
            } else {
                l.rec.id.short().to_string()
            };
            let mut row = json_row(l);
            let o = row.as_object_mut().expect("object");
            o.insert("ID".into(), json!(id));
            o.insert("Repository".into(), json!(repo));
            o.insert("Tag".into(), json!(tag));
            o.insert(
                "CreatedSince".into(),
                json!(format!("{} ago", human_duration(now - l.created))),
            );
            o.insert("CreatedAt".into(), json!(go_time(l.created)));
            o.insert("Size".into(), json!(human_size(l.rec.size)));
            o.insert("ReadOnly".into(), json!(false));
            o.insert("Dangling".into(), json!(l.rec.names.is_empty()));
            // podman's imageReporter.History(): the names joined.
            o.insert("History".into(), json!(l.names_history.join(", ")));
            rows.push((l.created, l.rec.size, row));
        }
    }
    // podman's --sort: newest first by default, else ascending by the key.
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    match a.sort.as_str() {
        "id" => rows.sort_by_key(|r| text(&r.2, "ID")),
        "repository" => rows.sort_by_key(|r| text(&r.2, "Repository")),
        "tag" => rows.sort_by_key(|r| text(&r.2, "Tag")),
        "size" => rows.sort_by_key(|r| r.1),
        _ => rows.sort_by_key(|r| std::cmp::Reverse(r.0)),
    }
    let rows: Vec<Value> = rows.into_iter().map(|r| r.2).collect();
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let headers = [
        ("ID", "IMAGE ID"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("ReadOnly", "R/O"),
    ];
    print_rows(fmt, default, &rows, &headers, a.noheading)
}

/// podman's JSON shape for one image (`images --format json`).
pub fn json_row(l: &Listed) -> Value {
    let r = &l.rec;
    let repo_tags: Vec<&String> = r.names.iter().filter(|n| !n.contains('@')).collect();
    let repo_digests: Vec<String> = r
        .digests
        .iter()
        .map(|(repo, d)| format!("{repo}@{d}"))
        .collect();
    json!({
        "Id": r.id.hex(),
        "ParentId": "",
        "RepoTags": repo_tags,
        "RepoDigests": repo_digests,
        "Size": r.size,
        "SharedSize": 0,
        "VirtualSize": r.size,
        "Labels": l.config.labels(),
        "Containers": 0,
        "Names": r.names,
        "Digest": r.manifest_digest.to_string(),
        "History": l.names_history,
        "Created": l.created,
        "CreatedAt": rfc3339(l.created),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*box", "busybox"));
        assert!(glob("b?sybox", "busybox"));
        assert!(!glob("busy", "busybox"));
        assert!(glob("*", ""));
    }

    #[test]
    fn reference_forms() {
        let n = "docker.io/library/busybox:latest";
        assert!(reference_matches("busybox", n));
        assert!(reference_matches("busybox:latest", n));
        assert!(reference_matches("docker.io/library/busybox", n));
        assert!(reference_matches("*box*", n));
        assert!(!reference_matches("busybox:1.0", n));
        assert!(reference_matches(
            "127.0.0.1:5000/x*",
            "127.0.0.1:5000/xyz:v1"
        ));
    }
}

#[derive(Args)]
pub struct ImageMountArgs {
    /// Images to mount (with none, the mounted images are listed)
    pub images: Vec<String>,
    /// Mount all images
    #[arg(short, long)]
    pub all: bool,
    /// Print the mounted images in specified format (json)
    #[arg(long)]
    pub format: Option<String>,
}

/// `image mount`: one image prints its mount point; several, `--all` or
/// none (the mounted ones) print "NAME-OR-ID  PATH" rows, as podman does.
pub fn mount(ctx: &Ctx, a: ImageMountArgs) -> anyhow::Result<()> {
    if a.all && !a.images.is_empty() {
        anyhow::bail!("when using the --all switch, you may not pass any image names or IDs");
    }
    let json = match a.format.as_deref() {
        None | Some("") => false,
        Some("json") | Some("{{json .}}") => true,
        Some(f) => anyhow::bail!("unknown --format argument: {f:?}"),
    };
    let engine = ctx.engine()?;
    let mut reports: Vec<(ImageRecord, String)> = Vec::new();
    if a.images.is_empty() && !a.all {
        for rec in engine.images()? {
            if let Some(p) = engine.image_mountpoint(&rec.id) {
                reports.push((rec, p.display().to_string()));
            }
        }
    } else {
        for rec in named_or_all(&engine, &a.images, a.all)? {
            let m = engine.mount_image(&rec)?;
            reports.push((rec, m.path.display().to_string()));
        }
    }
    if a.images.len() == 1 && !json && !a.all {
        println!("{}", reports[0].1);
        return Ok(());
    }
    if json {
        let rows: Vec<Value> = reports
            .iter()
            .map(|(r, p)| {
                json!({
                    "id": r.id.hex(),
                    "Names": [r.manifest_digest.to_string()],
                    "Repositories": r.names,
                    "mountpoint": p,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let rows: Vec<Value> = reports
        .iter()
        .map(|(r, p)| {
            let id = r
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| r.id.hex().to_string());
            json!({ "ID": id, "Path": p })
        })
        .collect();
    print_rows(
        Some("table {{.ID}}\t{{.Path}}"),
        "",
        &rows,
        &[("ID", "ID"), ("Path", "PATH")],
        true,
    )
}

/// `--all`'s every image, else the images named (each must exist).
fn named_or_all(
    engine: &crate::engine::Engine,
    names: &[String],
    all: bool,
) -> anyhow::Result<Vec<ImageRecord>> {
    if all {
        return Ok(engine.images()?);
    }
    Ok(names
        .iter()
        .map(|w| engine.find_image(w).map(|f| f.image))
        .collect::<Result<Vec<_>, _>>()?)
}

#[derive(Args)]
pub struct ImageUnmountArgs {
    /// Images to unmount
    pub images: Vec<String>,
    /// Unmount all of the currently mounted images
    #[arg(short, long)]
    pub all: bool,
    /// Force the complete unmount of the specified mounted images
    #[arg(short, long)]
    pub force: bool,
}

/// `image unmount`: prints the ID of each image it unmounted (or counted
/// down); images that are not mounted are passed over.
pub fn unmount(ctx: &Ctx, a: ImageUnmountArgs) -> anyhow::Result<()> {
    if a.images.is_empty() && !a.all {
        anyhow::bail!("image name or ID must be specified");
    }
    if a.all && !a.images.is_empty() {
        anyhow::bail!("when using the --all switch, you may not pass any image names or IDs");
    }
    let engine = ctx.engine()?;
    let mut errors = Vec::new();
    for rec in named_or_all(&engine, &a.images, a.all)? {
        match engine.unmount_image(&rec, a.force || a.all) {
            Ok(true) => println!("{}", rec.id.hex()),
            Ok(false) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    super::report_errors(&errors, 125)
}
