use super::{Ctx, exit, print_rows};
use crate::engine::Engine;
use crate::engine::images::Listed;
use crate::format::template::render_one;
use crate::format::units::{go_time, human_duration, human_size, rfc3339};
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
#[command(args_override_self = true)]
pub struct InspectArgs {
    /// Containers, images or networks to inspect
    #[arg(required_unless_present = "latest")]
    pub names: Vec<String>,
    /// Inspect the latest container created
    #[arg(short, long)]
    pub latest: bool,
    /// Format the output with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Type of object to inspect
    #[arg(short = 't', long = "type", default_value = "all", value_parser = ["all", "container", "image", "network"])]
    pub kind: String,
    /// Display the total file size (accepted for compatibility; images always report it)
    #[arg(short, long)]
    pub size: bool,
}

#[derive(Args)]
#[command(args_override_self = true)]
pub struct ImageInspectArgs {
    /// Images to inspect
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Format the output with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args)]
#[command(args_override_self = true)]
pub struct ContainerInspectArgs {
    /// Containers to inspect
    #[arg(required_unless_present = "latest")]
    pub containers: Vec<String>,
    /// Inspect the latest container created
    #[arg(short, long)]
    pub latest: bool,
    /// Format the output with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display the total file size
    #[arg(short, long)]
    pub size: bool,
}

pub fn inspect(ctx: &Ctx, a: InspectArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::INSPECT);
    if a.latest {
        return inspect_any(
            ctx,
            Words::Latest(&a.names),
            a.format.as_deref(),
            "container",
        );
    }
    inspect_any(ctx, Words::Given(&a.names), a.format.as_deref(), &a.kind)
}

pub fn container_inspect(ctx: &Ctx, a: ContainerInspectArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::INSPECT);
    let words = if a.latest {
        Words::Latest(&a.containers)
    } else {
        Words::Given(&a.containers)
    };
    inspect_any(ctx, words, a.format.as_deref(), "container")
}

pub fn image_inspect(ctx: &Ctx, a: ImageInspectArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::INSPECT);
    inspect_any(ctx, Words::Given(&a.images), a.format.as_deref(), "image")
}

/// What to inspect: the names given, or (`-l`) the latest container.
enum Words<'a> {
    Given(&'a [String]),
    /// With the names given too, which podman refuses.
    Latest(&'a [String]),
}

impl Words<'_> {
    fn resolve(&self, engine: &Engine) -> anyhow::Result<Vec<String>> {
        match self {
            Words::Given(w) => Ok(w.to_vec()),
            Words::Latest(w) if !w.is_empty() => {
                anyhow::bail!("--latest and containers cannot be used together")
            }
            // podman's GetLatestContainer; the store lists the newest first.
            Words::Latest(_) => match engine.containers()?.into_iter().next() {
                Some(c) => Ok(vec![c.id]),
                None => anyhow::bail!("no containers to inspect: no such container"),
            },
        }
    }
}

fn find_listed(engine: &Engine, all: &[Listed], word: &str) -> anyhow::Result<usize> {
    let found = engine.find_image(word)?;
    Ok(all
        .iter()
        .position(|l| l.rec.id == found.image.id)
        .unwrap_or(0))
}

/// podman prints what it found, then exits 125 naming what it did not.
/// Containers are looked for before images, as podman does.
fn inspect_any(ctx: &Ctx, words: Words, format: Option<&str>, kind: &str) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let words = &words.resolve(&engine)?;
    let all = engine.list_images()?;
    // A network's JSON (netavark's keys) and its template fields (podman's
    // Go names) differ; containers and images use one document for both.
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut errors = Vec::new();
    let mut netdb = None;
    for w in words {
        if (kind == "all" || kind == "container")
            && let Ok(c) = engine.container(w)
        {
            out.push(crate::engine::container_doc::container_json(&engine, &c));
            fields.push(with_go_id(&out[out.len() - 1]));
            continue;
        }
        if (kind == "all" || kind == "image")
            && let Ok(i) = find_listed(&engine, &all, w)
        {
            out.push(crate::engine::image_doc::image_json(&engine, &all[i]));
            fields.push(with_go_id(&out[out.len() - 1]));
            continue;
        }
        if kind == "all" || kind == "network" {
            if netdb.is_none() {
                netdb = engine.netdb().ok();
            }
            if let Some(n) = netdb
                .as_ref()
                .and_then(|nd| crate::engine::networks::find(nd, w).ok())
            {
                out.push(super::network::network_json(&n));
                fields.push(super::network::template_value(&n));
                continue;
            }
        }
        errors.push(format!("no such object: {w:?}"));
    }
    match format {
        Some(f) if f.trim() != "json" => {
            let f = normalize(f, kind);
            for v in &fields {
                print!("{}", render_one(&f, v)?);
            }
        }
        _ => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    match errors.pop() {
        None => Ok(()),
        Some(last) => {
            for e in errors {
                eprintln!("Error: {e}");
            }
            Err(exit(125, last))
        }
    }
}

/// The template view of an inspect document: podman's Go structs call the
/// JSON `Id` field `ID` (a pod's too, and each of its `.Containers`), and a
/// template may use either (podman rewrites `{{.Id}}` to `{{.ID}}`).
pub(super) fn with_go_id(doc: &Value) -> Value {
    let mut v = doc.clone();
    add_go_ids(&mut v);
    v
}

fn add_go_ids(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(id) = o.get("Id").cloned() {
                o.insert("ID".into(), id);
            }
            if let Some(Value::Array(list)) = o.get_mut("Containers") {
                list.iter_mut().for_each(add_go_ids);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(add_go_ids),
        _ => {}
    }
}

/// podman's inspectNormalize: the legacy field names docker's templates
/// use, rewritten to podman's (`.Src`, `.Dst`, `.ImageID`, and for images
/// `.Config.Healthcheck`).
fn normalize(format: &str, kind: &str) -> String {
    let mut f = format
        .replace(".Src", ".Source")
        .replace(".Dst", ".Destination")
        .replace(".ImageID", ".Image");
    if kind == "image" {
        f = f.replace(".Config.Healthcheck", ".HealthCheck");
    }
    f
}

#[derive(Args)]
#[command(args_override_self = true)]
pub struct HistoryArgs {
    /// Image to show the history of
    pub image: String,
    /// Display sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub human: bool,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Display only the image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Change the output to JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
}

pub fn history(ctx: &Ctx, a: HistoryArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::HISTORY);
    let engine = ctx.engine()?;
    let all = engine.list_images()?;
    let l = &all[find_listed(&engine, &all, &a.image)?];
    let now = crate::engine::images::now();
    let mut rows = Vec::new();
    let mut docs = Vec::new();
    for (h, size, created) in crate::engine::image_doc::history(&engine, l) {
        let full_by = h.created_by.clone().unwrap_or_default();
        let mut by = full_by.clone();
        if !a.no_trunc && by.chars().count() > 45 {
            by = by.chars().take(42).collect::<String>() + "...";
        }
        let shown_created = if a.human {
            format!("{} ago", human_duration(now - created))
        } else {
            rfc3339(created)
        };
        rows.push(json!({
            "ID": "<missing>",
            "Created": shown_created,
            // podman's historyReporter: CreatedSince is Created, CreatedAt
            // Go's time.String() of the second (as `images` prints them).
            "CreatedSince": shown_created,
            "CreatedAt": go_time(created),
            "CreatedBy": by,
            "Size": if a.human { human_size(size) } else { size.to_string() },
            "Comment": h.comment.clone().unwrap_or_default(),
            "Tags": l.rec.names,
        }));
        docs.push(json!({
            "id": "<missing>",
            "created": h.created.clone().unwrap_or_else(|| rfc3339(created)),
            "Created": rfc3339(created),
            "CreatedBy": full_by,
            "size": size,
            "comment": h.comment.clone().unwrap_or_default(),
        }));
    }
    rows.reverse();
    docs.reverse();
    if let Some(top) = rows.first_mut() {
        top["ID"] = json!(if a.no_trunc {
            l.rec.id.hex().to_string()
        } else {
            l.rec.id.short().to_string()
        });
    }
    if let Some(top) = docs.first_mut() {
        top["id"] = json!(l.rec.id.hex());
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(());
    }
    if a.format.as_deref().map(str::trim) == Some("json") {
        println!("{}", serde_json::to_string(&docs)?);
        return Ok(());
    }
    let default = "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    print_rows(
        a.format.as_deref(),
        default,
        &rows,
        &[("CreatedBy", "CREATED BY")],
        false,
    )
}
