//! Typed reads from located nodes: scalars, lists, maps, sizes, durations, with file:line errors and unknown-key warnings.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ComposeError;
use super::model::GoDuration;
use super::node::{Node, Value, node_path};

/// The state of one typed parse: where warnings go.
pub struct Reader<'a> {
    pub warnings: &'a mut Vec<String>,
}

pub type R<T> = Result<T, ComposeError>;

impl Reader<'_> {
    /// The entries of a mapping; keys not in `known` (and not `x-*`) are warned about and skipped.
    pub fn entries<'n>(
        &mut self,
        n: &'n Node,
        path: &str,
        known: &[&str],
    ) -> R<Vec<(&'n str, &'n Node, String)>> {
        let Value::Map(m) = &n.value else {
            return Err(wrong(n, path, "a mapping"));
        };
        let mut out = Vec::new();
        for (k, v) in m {
            if known.contains(&k.name.as_str()) {
                out.push((k.name.as_str(), v, node_path(path, &k.name)));
            } else if !k.name.starts_with("x-") {
                self.warnings.push(format!(
                    "{}:{}: {}: unknown key {:?} ignored",
                    n.file, k.line, path, k.name
                ));
            }
        }
        Ok(out)
    }
}

/// "expected X, got Y" at a node.
pub fn wrong(n: &Node, path: &str, expected: &str) -> ComposeError {
    ComposeError::at(n, path, format!("must be {expected}, not {}", n.kind()))
}

pub fn string(n: &Node, path: &str) -> R<String> {
    n.scalar_text().ok_or_else(|| wrong(n, path, "a string"))
}

pub fn opt_string(n: &Node, path: &str) -> R<Option<String>> {
    if n.is_null() {
        return Ok(None);
    }
    string(n, path).map(Some)
}

pub fn boolean(n: &Node, path: &str) -> R<bool> {
    match &n.value {
        Value::Bool(b) => Ok(*b),
        // After interpolation "${DEBUG:-false}" is a string; compose-go casts it.
        Value::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "y" => Ok(true),
            "false" | "no" | "off" | "n" => Ok(false),
            _ => Err(ComposeError::at(n, path, format!("invalid boolean {s:?}"))),
        },
        _ => Err(wrong(n, path, "a boolean")),
    }
}

pub fn int(n: &Node, path: &str) -> R<i64> {
    match &n.value {
        Value::Int(i) => Ok(*i),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| ComposeError::at(n, path, format!("invalid integer {s:?}"))),
        _ => Err(wrong(n, path, "an integer")),
    }
}

pub fn uint(n: &Node, path: &str) -> R<u64> {
    let i = int(n, path)?;
    u64::try_from(i)
        .map_err(|_| ComposeError::at(n, path, format!("must not be negative, got {i}")))
}

pub fn float(n: &Node, path: &str) -> R<f64> {
    match &n.value {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| ComposeError::at(n, path, format!("invalid number {s:?}"))),
        _ => Err(wrong(n, path, "a number")),
    }
}

/// A size: bytes as an integer, or "512m", "1g" (docker's RAMInBytes, binary units).
pub fn size(n: &Node, path: &str) -> R<i64> {
    match &n.value {
        Value::Int(i) => Ok(*i),
        Value::Str(s) if s.trim() == "-1" => Ok(-1),
        Value::Str(s) => crate::runtime::parse_bytes(s)
            .ok_or_else(|| ComposeError::at(n, path, format!("invalid size {s:?}"))),
        _ => Err(wrong(n, path, "a size")),
    }
}

/// A Go duration ("1m30s", "10s"); a bare integer is seconds as compose-go reads it.
pub fn duration(n: &Node, path: &str) -> R<GoDuration> {
    let text = string(n, path)?;
    let ns = match &n.value {
        Value::Int(i) if *i >= 0 => Some(*i as i128 * 1_000_000_000),
        _ => crate::format::units::parse_go_duration(&text).map(i128::from),
    };
    match ns {
        Some(ns) if ns >= 0 => Ok(GoDuration {
            text,
            duration: Duration::from_nanos(ns as u64),
        }),
        _ => Err(ComposeError::at(
            n,
            path,
            format!("invalid duration {text:?}"),
        )),
    }
}

/// A string or a list of strings.
pub fn string_or_list(n: &Node, path: &str) -> R<Vec<String>> {
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| string(x, &format!("{path}[{i}]")))
            .collect(),
        _ => Ok(vec![string(n, path)?]),
    }
}

/// A list of strings (a lone scalar is refused: `dns: [..]` is a list).
pub fn list(n: &Node, path: &str) -> R<Vec<String>> {
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(_) => string_or_list(n, path),
        _ => Err(wrong(n, path, "a list")),
    }
}

/// A mapping or a `KEY=VALUE` list (environment, labels, sysctls, args).
/// A list item without `sep` and a null map value are `None`.
pub fn dict(n: &Node, path: &str, sep: char) -> R<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Null => {}
        Value::Map(m) => {
            for (k, v) in m {
                out.insert(k.name.clone(), opt_string(v, &node_path(path, &k.name))?);
            }
        }
        Value::Seq(items) => {
            for (i, x) in items.iter().enumerate() {
                let s = string(x, &format!("{path}[{i}]"))?;
                match s.split_once(sep) {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(s, None),
                };
            }
        }
        _ => return Err(wrong(n, path, "a mapping or a list")),
    }
    Ok(out)
}

/// [`dict`] with items without a value given "" (labels, sysctls, options).
pub fn dict_strings(n: &Node, path: &str, sep: char) -> R<BTreeMap<String, String>> {
    Ok(dict(n, path, sep)?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A command as compose takes it: a list as is, a string split as a shell would (go-shellwords).
pub fn command(n: &Node, path: &str) -> R<Option<Vec<String>>> {
    match &n.value {
        Value::Null => Ok(None),
        Value::Seq(_) => Ok(Some(string_or_list(n, path)?)),
        _ => {
            let s = string(n, path)?;
            shell_split(&s)
                .map(Some)
                .ok_or_else(|| ComposeError::at(n, path, format!("unbalanced quotes in {s:?}")))
        }
    }
}

/// Splits a command line into words: whitespace separates, single quotes
/// are literal, double quotes and backslashes escape (go-shellwords' rules
/// without its variable expansion). None on an unclosed quote.
pub fn shell_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => cur.push(c),
                            '\n' => {}
                            c => {
                                cur.push('\\');
                                cur.push(c);
                            }
                        },
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}
