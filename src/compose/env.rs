//! Environment for a project: the process environment over `.env` / `--env-file` files, and `env_file:` reading.

use std::collections::BTreeMap;
use std::path::Path;

use super::ComposeError;
use super::interpolate::interpolate;

/// Parses a dotenv file as compose does: `KEY=VALUE` lines, `export `
/// prefixes, `#` comments, single quotes literal, double quotes with
/// `\n`/`\"` escapes, and `${VAR}` references to earlier keys or `lookup`.
/// A line `KEY` alone takes KEY from `lookup` (dropped when unset).
pub fn parse_dotenv(
    name: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((k, v)) = line.split_once('=') else {
            if let Some(v) = lookup(line) {
                out.insert(line.to_string(), v);
            }
            continue;
        };
        let key = k.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(ComposeError::Syntax {
                file: name.to_string(),
                line: i + 1,
                msg: format!("invalid variable name {key:?}"),
            });
        }
        let v = v.trim();
        let value = if let Some(rest) = v.strip_prefix('\'') {
            rest.strip_suffix('\'').unwrap_or(rest).to_string()
        } else {
            let (body, quoted) = match v.strip_prefix('"') {
                Some(rest) => (rest.strip_suffix('"').unwrap_or(rest).to_string(), true),
                None => (
                    v.split(" #").next().unwrap_or(v).trim_end().to_string(),
                    false,
                ),
            };
            let body = if quoted {
                body.replace("\\n", "\n").replace("\\\"", "\"")
            } else {
                body
            };
            let known = out.clone();
            let look = |name: &str| known.get(name).cloned().or_else(|| lookup(name));
            interpolate(&body, &look, &mut Vec::new()).unwrap_or(body)
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

/// Reads a dotenv file; `required: false` turns a missing file into an empty one.
pub fn read_dotenv(
    path: &Path,
    required: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ComposeError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_dotenv(&path.display().to_string(), &text, lookup),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(ComposeError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}
