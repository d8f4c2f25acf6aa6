//! Loading a project: file discovery, .env, per-file parse + interpolation + extends, merge, profiles, the typed parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::extends::Extender;
use super::interpolate::interpolate_tree;
use super::merge::{merge, strip_merge_tags};
use super::model::Project;
use super::node::{MAX_FILE_BYTES, Node, Value, parse};
use super::read::{Reader, string, wrong};
use super::service::{ServiceContext, service};
use super::{ComposeError, LoadOptions, Loaded, env, top};

/// The files docker compose v2 looks for, in order.
const CANDIDATES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

const TOP_KEYS: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs",
];

/// The compose file of `dir` or its nearest parent, and its override file
/// (`compose.override.yaml` beside `compose.yaml`, ...) when present.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, ComposeError> {
    for d in dir.ancestors() {
        for name in CANDIDATES {
            let f = d.join(name);
            if !f.is_file() {
                continue;
            }
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "yaml"));
            let mut files = vec![f];
            let exts = if ext == "yaml" {
                ["yaml", "yml"]
            } else {
                ["yml", "yaml"]
            };
            if let Some(o) = exts
                .iter()
                .map(|e| d.join(format!("{stem}.override.{e}")))
                .find(|o| o.is_file())
            {
                files.push(o);
            }
            return Ok(files);
        }
    }
    Err(ComposeError::NotFound {
        dir: dir.to_path_buf(),
    })
}

/// compose's project name rule: lowercase, only `[a-z0-9_-]`, starting with a letter or digit.
pub fn normalize_project_name(s: &str) -> String {
    let lower: String = s
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower.trim_start_matches(['_', '-']).to_string()
}

/// Reads, parses and interpolates one file (its size checked before reading it whole).
pub(crate) fn read_tree(
    path: &Path,
    shown: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Node, ComposeError> {
    let io = |e| ComposeError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES as u64 {
        return Err(ComposeError::TooLarge {
            file: shown.to_string(),
            size: len as usize,
            limit: MAX_FILE_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut root = parse(shown, &text)?;
    if root.is_null() {
        root.value = Value::Map(Vec::new());
    }
    if !matches!(root.value, Value::Map(_)) {
        return Err(wrong(&root, "(root)", "a mapping"));
    }
    interpolate_tree(&mut root, "", lookup, warnings)?;
    Ok(root)
}

/// Loads a compose project as `docker compose` does (see [`LoadOptions`]).
pub fn load(opts: &LoadOptions) -> Result<Loaded, ComposeError> {
    let wd = match &opts.working_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| ComposeError::Io {
            path: ".".into(),
            source: e,
        })?,
    };
    let process: BTreeMap<String, String> = match &opts.environment {
        Some(e) => e.clone(),
        None => std::env::vars().collect(),
    };
    let (files, shown): (Vec<PathBuf>, Vec<String>) = if !opts.files.is_empty() {
        let files = opts.files.iter().map(|f| wd.join(f)).collect();
        (
            files,
            opts.files.iter().map(|f| f.display().to_string()).collect(),
        )
    } else if let Some(list) = process.get("COMPOSE_FILE").filter(|l| !l.is_empty()) {
        let given: Vec<&str> = list.split(':').collect();
        (
            given.iter().map(|f| wd.join(f)).collect(),
            given.iter().map(|f| f.to_string()).collect(),
        )
    } else {
        let files = discover(&wd)?;
        let shown = files
            .iter()
            .map(|f| {
                f.file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned())
            })
            .collect();
        (files, shown)
    };
    let project_dir = match &opts.project_directory {
        Some(d) => wd.join(d),
        None => files[0].parent().map_or(wd.clone(), Path::to_path_buf),
    };

    let from_process = |k: &str| process.get(k).cloned();
    let mut dotenv = BTreeMap::new();
    if opts.env_files.is_empty() {
        dotenv = env::read_dotenv(&project_dir.join(".env"), false, &from_process)?;
    } else {
        for f in &opts.env_files {
            dotenv.extend(env::read_dotenv(&wd.join(f), true, &from_process)?);
        }
    }
    // The process environment wins over .env, as in compose.
    let lookup = |k: &str| process.get(k).or_else(|| dotenv.get(k)).cloned();

    let mut warnings = Vec::new();
    let mut root: Option<Node> = None;
    for (path, shown) in files.iter().zip(&shown) {
        let mut tree = read_tree(path, shown, &lookup, &mut warnings)?;
        let mut ext = Extender {
            lookup: &lookup,
            warnings: &mut warnings,
        };
        ext.apply(&mut tree, path)?;
        ext.include(&mut tree, path, 0)?;
        if let Value::Map(m) = &tree.value {
            for (k, _) in m {
                if k.name == "version" {
                    warnings.push(format!("{shown}:{}: version: the attribute `version` is obsolete, it will be ignored", k.line));
                } else if !TOP_KEYS.contains(&k.name.as_str()) && !k.name.starts_with("x-") {
                    warnings.push(format!(
                        "{shown}:{}: (root): unknown key {:?} ignored",
                        k.line, k.name
                    ));
                }
            }
        }
        match &mut root {
            None => root = Some(tree),
            Some(r) => merge(r, tree),
        }
    }
    let Some(mut root) = root else {
        return Err(ComposeError::NotFound { dir: wd });
    };
    strip_merge_tags(&mut root);

    let name = match (
        &opts.project_name,
        lookup("COMPOSE_PROJECT_NAME"),
        root.get("name"),
    ) {
        (Some(n), _, _) => n.clone(),
        (None, Some(n), _) if !n.is_empty() => n,
        (None, _, Some(n)) if !n.is_null() => string(n, "name")?,
        _ => project_dir
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
    };
    let name = normalize_project_name(&name);
    if name.is_empty() {
        let shown = shown.first().cloned().unwrap_or_default();
        return Err(ComposeError::Invalid {
            file: shown,
            line: 0,
            path: "name".into(),
            msg: "project name must contain a letter or digit: set `name:` or pass -p".into(),
        });
    }

    let mut rd = Reader {
        warnings: &mut warnings,
    };
    let cx = ServiceContext {
        dir: &project_dir,
        lookup: &lookup,
    };
    let mut project = Project {
        name: name.clone(),
        working_dir: project_dir.clone(),
        ..Project::default()
    };
    if let Some(services) = root.get("services").filter(|s| !s.is_null()) {
        let Value::Map(m) = &services.value else {
            return Err(wrong(services, "services", "a mapping"));
        };
        for (k, v) in m {
            let valid = k
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if k.name.is_empty() || !valid {
                return Err(ComposeError::Invalid {
                    file: v.file.to_string(),
                    line: k.line,
                    path: "services".into(),
                    msg: format!(
                        "invalid service name {:?}: only [a-zA-Z0-9._-] are allowed",
                        k.name
                    ),
                });
            }
            let mut s = service(&mut rd, &cx, &k.name, v, &format!("services.{}", k.name))?;
            s.origin.line = k.line;
            project.services.insert(k.name.clone(), s);
        }
    }
    if let Some(n) = root.get("networks") {
        project.networks = top::networks(&mut rd, n, &name)?;
    }
    if let Some(n) = root.get("volumes") {
        project.volumes = top::volumes(&mut rd, n, &name)?;
    }
    if let Some(n) = root.get("secrets") {
        project.secrets = top::secrets(&mut rd, &cx, n, &name)?;
    }
    if let Some(n) = root.get("configs") {
        project.configs = top::configs(&mut rd, &cx, n, &name)?;
    }

    let mut profiles = opts.profiles.clone();
    if profiles.is_empty()
        && let Some(p) = lookup("COMPOSE_PROFILES")
    {
        profiles = p
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    apply_profiles(&mut project, &profiles, &opts.services)?;
    project.add_default_network();
    project.check_references(&mut warnings)?;
    project.dependency_order()?;
    Ok(Loaded { project, warnings })
}

/// Keeps the services that are enabled: no `profiles:`, a profile that is
/// active (`*` activates all), or named on the command line, and what
/// those named ones depend on.
fn apply_profiles(
    project: &mut Project,
    active: &[String],
    named: &[String],
) -> Result<(), ComposeError> {
    let mut enabled: BTreeSet<String> = project
        .services
        .iter()
        .filter(|(_, s)| {
            s.profiles.is_empty()
                || active.iter().any(|a| a == "*")
                || s.profiles.iter().any(|p| active.contains(p))
        })
        .map(|(n, _)| n.clone())
        .collect();
    let mut todo: Vec<String> = Vec::new();
    for n in named {
        if !project.services.contains_key(n) {
            return Err(ComposeError::NoSuchService(n.clone()));
        }
        todo.push(n.clone());
    }
    while let Some(n) = todo.pop() {
        if !enabled.insert(n.clone()) && !named.contains(&n) {
            continue;
        }
        if let Some(s) = project.services.get(&n) {
            todo.extend(
                s.depends_on
                    .keys()
                    .filter(|d| project.services.contains_key(*d) && !enabled.contains(*d))
                    .cloned(),
            );
        }
    }
    project.services.retain(|n, _| enabled.contains(n));
    Ok(())
}
