//! `secret create/ls/inspect/rm/exists`, podman's secret commands
//! (cmd/podman/secrets): the work is in engine::secrets.

use super::{Ctx, exit, print_rows};
use crate::engine::Engine;
use crate::engine::secrets::{MAX_SIZE, SecretError, SecretRow, rfc3339_nanos};
use crate::format::{Origin, template::render_one};

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Create a new secret
    Create(CreateArgs),
    /// List secrets
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Inspect a secret
    Inspect(InspectArgs),
    /// Remove one or more secrets
    Rm(RmArgs),
    /// Check if a secret exists
    Exists(ExistsArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    pub name: String,
    /// A file holding the secret's data, or - for standard input
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// Secret driver (berth stores secrets with the file driver)
    #[arg(short, long, default_value = "file")]
    pub driver: String,
    /// Read the secret's data from the environment variable named instead of a file
    #[arg(long)]
    pub env: bool,
    /// Add a label to the secret (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Format the output with a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Filter the list (name=REGEX, id=REGEX)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Do not print column headings
    #[arg(long)]
    pub noheading: bool,
    /// Print secret IDs only
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Format the output with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Print in a human-readable format
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Args)]
pub struct RmArgs {
    pub names: Vec<String>,
    /// Remove all secrets
    #[arg(short, long)]
    pub all: bool,
    /// A secret that does not exist is no error
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Args)]
pub struct ExistsArgs {
    pub name: String,
}

/// podman's SecretInfoReport.
fn secret_json(s: &SecretRow) -> Value {
    let created = rfc3339_nanos(s.created);
    json!({
        "ID": s.id,
        "CreatedAt": created,
        "UpdatedAt": created,
        "Spec": {
            "Name": s.name,
            "Driver": {"Name": s.driver, "Options": s.options},
            "Labels": s.labels,
        },
    })
}

/// The data `secret create` stores: a file, standard input (a pipe, as
/// podman requires), or an environment variable.
fn read_data(a: &CreateArgs) -> anyhow::Result<Vec<u8>> {
    if a.env {
        let v = std::env::var_os(&a.file).unwrap_or_default();
        if v.is_empty() {
            anyhow::bail!(
                "cannot create store secret data: environment variable {} is not set",
                a.file
            );
        }
        return Ok(std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec());
    }
    // One byte past the limit: enough to say it is too large.
    let limit = MAX_SIZE as u64 + 1;
    let mut data = Vec::new();
    if a.file == "-" || a.file == "/dev/stdin" {
        let stdin = std::io::stdin();
        let is_pipe = rustix::fs::fstat(&stdin)
            .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Fifo)
            .unwrap_or(false);
        if !is_pipe {
            anyhow::bail!("if `-` is used, data must be passed into stdin");
        }
        stdin.lock().take(limit).read_to_end(&mut data)?;
    } else {
        let f = std::fs::File::open(&a.file).map_err(|e| {
            anyhow::anyhow!("open {}: {}", a.file, crate::format::go_errno_text(&e))
        })?;
        f.take(limit).read_to_end(&mut data)?;
    }
    Ok(data)
}

fn labels(raw: &[String]) -> BTreeMap<String, String> {
    raw.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// podman's secrets filter: every key must match; a key's values are
/// (unanchored) regular expressions, any of which may match.
fn passes(s: &SecretRow, filters: &[(String, String)]) -> anyhow::Result<bool> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v);
    }
    for (k, values) in by_key {
        let field = match k.to_ascii_lowercase().as_str() {
            "name" => &s.name,
            "id" => &s.id,
            _ => anyhow::bail!("invalid filter {k:?}"),
        };
        let mut any = false;
        for v in values {
            any |= regex::Regex::new(v)
                .map_err(|e| anyhow::anyhow!("invalid filter {k}={v}: {e}"))?
                .is_match(field);
        }
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn run(ctx: &Ctx, cmd: SecretCommand) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    match cmd {
        SecretCommand::Create(a) => {
            let data = read_data(&a)?;
            let s = engine.create_secret(&a.name, &data, &a.driver, labels(&a.label))?;
            println!("{}", s.id);
        }
        SecretCommand::Ls(a) => ls(&engine, a)?,
        SecretCommand::Inspect(a) => inspect(&engine, a)?,
        SecretCommand::Rm(a) => rm(&engine, a)?,
        SecretCommand::Exists(a) => match engine.secret(&a.name) {
            Ok(_) => {}
            Err(SecretError::NotFound(_)) => return Err(exit(1, "")),
            Err(e) => return Err(e.into()),
        },
    }
    Ok(())
}

fn ls(engine: &Engine, a: LsArgs) -> anyhow::Result<()> {
    let filters = super::images::parse_filters(&a.filter)?;
    let now = crate::process::now_nanos();
    let mut rows = Vec::new();
    for s in engine.secrets()? {
        if passes(&s, &filters)? {
            rows.push(s);
        }
    }
    if a.quiet && a.format.is_none() {
        for s in rows {
            println!("{}", s.id);
        }
        return Ok(());
    }
    let ago = |t: i64| {
        format!(
            "{} ago",
            crate::format::units::human_duration((now - t) / 1_000_000_000)
        )
    };
    let json: Vec<Value> = rows
        .iter()
        .map(|s| {
            json!({"ID": s.id, "Name": s.name, "Driver": s.driver, "CreatedAt": ago(s.created), "UpdatedAt": ago(s.created)})
        })
        .collect();
    crate::format::set_origin(Origin {
        name: "ls",
        type_name: "*entities.SecretListReport",
        ranged: true,
        prefix: "",
    });
    print_rows(
        a.format.as_deref(),
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}",
        &json,
        &[("CreatedAt", "CREATED"), ("UpdatedAt", "UPDATED")],
        a.noheading,
    )
}

const PRETTY: &str = "ID:              {{.ID}}
Name:              {{.Spec.Name}}
{{- if .Spec.Labels }}
Labels:
{{- range $k, $v := .Spec.Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Driver:            {{.Spec.Driver.Name}}
Created at:        {{.CreatedAt}}
Updated at:        {{.UpdatedAt}}";

/// podman prints what it found, then fails on the first missing one
/// (`inspecting secret: no secret with name or id ...`), the others
/// named on stderr first.
fn inspect(engine: &Engine, a: InspectArgs) -> anyhow::Result<()> {
    let mut found = Vec::new();
    let mut errs = Vec::new();
    for n in &a.names {
        match engine.secret(n) {
            Ok(s) => found.push(secret_json(&s)),
            Err(e @ SecretError::NotFound(_)) => errs.push(e),
            Err(e) => anyhow::bail!("inspecting secret {n}: {e}"),
        }
    }
    let template = if a.pretty {
        Some(PRETTY)
    } else {
        a.format.as_deref().filter(|f| f.trim() != "json")
    };
    match template {
        Some(f) => {
            crate::format::set_origin(Origin::INSPECT);
            for v in &found {
                print!("{}", render_one(f, v)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&found)?),
    }
    if let Some(first) = errs.first() {
        for e in &errs[1..] {
            eprintln!("error inspecting secret: {e}");
        }
        return Err(exit(125, format!("inspecting secret: {first}")));
    }
    Ok(())
}

/// podman's OutputErrors: every error but the last on stderr, the last
/// as the command's error.
fn rm(engine: &Engine, a: RmArgs) -> anyhow::Result<()> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("`podman secret rm` requires one argument, or the --all flag");
    }
    let words: Vec<String> = if a.all {
        engine.secrets()?.into_iter().map(|s| s.id).collect()
    } else {
        a.names.clone()
    };
    let mut last: Option<String> = None;
    for w in &words {
        match engine.remove_secret(w) {
            Ok(id) => println!("{id}"),
            Err(SecretError::NotFound(_)) if a.ignore => {}
            Err(e @ SecretError::NotFound(_)) => {
                if let Some(m) = last.replace(e.to_string()) {
                    eprintln!("Error: {m}");
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    match last {
        Some(m) => Err(exit(125, m)),
        None => Ok(()),
    }
}
