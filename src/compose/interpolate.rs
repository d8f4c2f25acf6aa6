//! Variable interpolation in compose string values, as compose-go's template package does it.

use super::ComposeError;
use super::node::{Node, Value};

/// Why one string could not be interpolated.
#[derive(Debug, Clone, PartialEq)]
pub enum InterpolateError {
    /// `${VAR:?msg}` / `${VAR?msg}` with VAR missing.
    Required { var: String, msg: String },
    /// A `$` that starts no variable, or an unclosed `${`.
    Invalid,
}

/// Interpolates one string: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
/// `${VAR:?e}`, `${VAR?e}`, `${VAR:+a}`, `${VAR+a}` (defaults nest), `$$` → `$`.
/// Names of variables that were unset and had no default go into `unset`.
pub fn interpolate(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let next = s[i..].find('$').map_or(s.len(), |n| i + n);
            out.push_str(&s[i..next]);
            i = next;
            continue;
        }
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let close = matching_brace(s, i + 2).ok_or(InterpolateError::Invalid)?;
                out.push_str(&braced(&s[i + 2..close], lookup, unset)?);
                i = close + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let end = name_end(s, i + 1);
                let name = &s[i + 1..end];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => unset.push(name.to_string()),
                }
                i = end;
            }
            _ => return Err(InterpolateError::Invalid),
        }
    }
    Ok(out)
}

fn name_end(s: &str, from: usize) -> usize {
    s[from..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(s.len(), |n| from + n)
}

/// The index of the `}` closing a `${` whose body starts at `from`.
fn matching_brace(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 1;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(
    body: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolateError> {
    let end = name_end(body, 0);
    let name = &body[..end];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err(InterpolateError::Invalid);
    }
    let rest = &body[end..];
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let (op, arg) = [":-", ":?", ":+", "-", "?", "+"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|a| (*op, a)))
        .unwrap_or(("", rest));
    let nested = |arg: &str, unset: &mut Vec<String>| interpolate(arg, lookup, unset);
    match op {
        "" if arg.is_empty() => match value {
            Some(v) => Ok(v),
            None => {
                unset.push(name.to_string());
                Ok(String::new())
            }
        },
        ":-" if non_empty => Ok(value.unwrap_or_default()),
        "-" if set => Ok(value.unwrap_or_default()),
        ":-" | "-" => nested(arg, unset),
        ":?" if !non_empty => Err(InterpolateError::Required {
            var: name.to_string(),
            msg: nested(arg, unset)?,
        }),
        "?" if !set => Err(InterpolateError::Required {
            var: name.to_string(),
            msg: nested(arg, unset)?,
        }),
        ":?" | "?" => Ok(value.unwrap_or_default()),
        ":+" if non_empty => nested(arg, unset),
        "+" if set => nested(arg, unset),
        ":+" | "+" => Ok(String::new()),
        _ => Err(InterpolateError::Invalid),
    }
}

/// Interpolates every string value (never a key) of a tree in place.
/// `path` is the dotted path of `node` for messages; unset variables are
/// reported once each in `warnings` as compose does.
pub fn interpolate_tree(
    node: &mut Node,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<(), ComposeError> {
    let (file, line) = (node.file.clone(), node.line);
    let at = |msg: String| ComposeError::Invalid {
        file: file.to_string(),
        line,
        path: path.to_string(),
        msg,
    };
    match &mut node.value {
        Value::Str(s) => {
            let mut unset = Vec::new();
            match interpolate(s, lookup, &mut unset) {
                Ok(v) => *s = v,
                Err(InterpolateError::Required { var, msg }) => {
                    return Err(at(format!(
                        "required variable {var} is missing a value: {msg}"
                    )));
                }
                Err(InterpolateError::Invalid) => {
                    return Err(at(format!(
                        "invalid interpolation format {s:?}: escape a literal $ as $$"
                    )));
                }
            }
            for var in unset {
                let w = format!("The \"{var}\" variable is not set. Defaulting to a blank string.");
                if !warnings.contains(&w) {
                    warnings.push(w);
                }
            }
        }
        Value::Seq(items) => {
            for (i, n) in items.iter_mut().enumerate() {
                interpolate_tree(n, &format!("{path}[{i}]"), lookup, warnings)?;
            }
        }
        Value::Map(entries) => {
            for (k, n) in entries.iter_mut() {
                interpolate_tree(n, &super::node::node_path(path, &k.name), lookup, warnings)?;
            }
        }
        _ => {}
    }
    Ok(())
}
