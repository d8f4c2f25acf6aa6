//! `--format`: Go text/template (via gtmpl) over JSON-shaped rows, with
//! podman's conventions: `json` prints JSON, `table ...` prints a header row
//! and aligns columns, `\t` and `\n` escapes are honoured.

use gtmpl::{Context, Template};
use gtmpl_value::{FuncError, Value};
use serde_json::Value as Json;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
#[error("invalid --format template {template:?}: {msg}")]
pub struct FormatError {
    pub template: String,
    pub msg: String,
}

pub enum Format {
    /// `--format json`: the rows as a JSON array.
    Json,
    /// A Go template, printed per row; `table` adds a header and alignment.
    Template {
        text: String,
        table: bool,
        header: bool,
    },
}

impl Format {
    /// Parse a user's `--format` (or a command's default table).
    pub fn parse(s: &str) -> Format {
        let t = s.trim();
        if t == "json" {
            return Format::Json;
        }
        let (text, table) = match t.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (rest.trim_start().to_string(), true)
            }
            _ => (s.to_string(), false),
        };
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        Format::Template {
            text,
            table,
            header: table,
        }
    }

    /// `--noheading`: keep a table's alignment, drop its header row.
    pub fn without_header(self) -> Format {
        match self {
            Format::Template { text, table, .. } => Format::Template {
                text,
                table,
                header: false,
            },
            f => f,
        }
    }

    pub fn is_json(&self) -> bool {
        matches!(self, Format::Json)
    }

    /// Render rows. `headers` names each field for a table's header row;
    /// fields it lacks get their name upper-cased, words split on case.
    pub fn render(&self, rows: &[Json], headers: &[(&str, &str)]) -> Result<String, FormatError> {
        match self {
            Format::Json => Ok(serde_json::to_string_pretty(rows).unwrap_or_default() + "\n"),
            Format::Template {
                text,
                table,
                header,
            } => {
                let tmpl = compile(text)?;
                let mut out = String::new();
                if *header {
                    let header = header_row(text, headers);
                    out.push_str(&exec(&tmpl, text, &to_value(&header))?);
                    out.push('\n');
                }
                for r in rows {
                    let mut line = exec(&tmpl, text, &to_value(r))?;
                    if !line.ends_with('\n') {
                        line.push('\n');
                    }
                    out.push_str(&line);
                }
                Ok(if *table { tabwrite(&out) } else { out })
            }
        }
    }
}

/// Render a single value (inspect/info/version `--format`).
pub fn render_one(text: &str, v: &Json) -> Result<String, FormatError> {
    let text = text.replace("\\t", "\t").replace("\\n", "\n");
    let tmpl = compile(&text)?;
    let mut s = exec(&tmpl, &text, &to_value(v))?;
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

fn compile(text: &str) -> Result<Template, FormatError> {
    let mut t = Template::default();
    t.add_funcs(&[
        ("berthprint", go_print as gtmpl::Func),
        ("json", json as gtmpl::Func),
        ("join", join as gtmpl::Func),
        ("lower", lower as gtmpl::Func),
        ("upper", upper as gtmpl::Func),
        ("title", title as gtmpl::Func),
        ("truncate", truncate as gtmpl::Func),
    ]);
    t.parse(go_printing(text)).map_err(|e| FormatError {
        template: text.into(),
        msg: e.to_string(),
    })?;
    Ok(t)
}

fn exec(t: &Template, text: &str, v: &Value) -> Result<String, FormatError> {
    t.render(&Context::from(v.clone()))
        .map_err(|e| FormatError {
            template: text.into(),
            msg: e.to_string(),
        })
}

pub fn to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        Json::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

fn from_value(v: &Value) -> Json {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Json::from(u)
            } else if let Some(i) = n.as_i64() {
                Json::from(i)
            } else {
                Json::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::Array(a) => Json::Array(a.iter().map(from_value).collect()),
        Value::Object(o) | Value::Map(o) => {
            let sorted: std::collections::BTreeMap<_, _> =
                o.iter().map(|(k, v)| (k.clone(), from_value(v))).collect();
            Json::Object(sorted.into_iter().collect())
        }
    }
}

/// gtmpl prints lists and maps in Rust's debug form; Go prints `[a b]` and
/// `map[k:v]`. Route every printing action through `berthprint`, which does what
/// Go's fmt does: `{{.Names}}` becomes `{{berthprint (.Names)}}`. Control actions
/// (if, range, end, ...) and variable declarations are left alone.
fn go_printing(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = find_close(after) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (lead, body, trail) = split_trim_markers(inner);
        let word = body.split_whitespace().next().unwrap_or("");
        let control = matches!(
            word,
            "if" | "else"
                | "end"
                | "range"
                | "with"
                | "define"
                | "template"
                | "block"
                | "break"
                | "continue"
        ) || word.starts_with("/*")
            || body.trim().is_empty()
            || declares_variable(body);
        out.push_str("{{");
        if control {
            out.push_str(inner);
        } else {
            out.push_str(lead);
            out.push_str("berthprint (");
            out.push_str(body.trim());
            out.push(')');
            out.push_str(trail);
        }
        out.push_str("}}");
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Index of the `}}` that closes an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' && q == b'"' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => {
                if matches!(b[i], b'"' | b'`' | b'\'') {
                    quote = Some(b[i]);
                } else if b[i] == b'}' && b.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

/// `- body -` -> ("- ", "body", " -"): Go's whitespace-trim markers.
fn split_trim_markers(inner: &str) -> (&str, &str, &str) {
    let lead = if inner.starts_with("- ") { 2 } else { 0 };
    let trail = if inner.len() >= lead + 2 && inner.ends_with(" -") {
        2
    } else {
        0
    };
    (
        &inner[..lead],
        &inner[lead..inner.len() - trail],
        &inner[inner.len() - trail..],
    )
}

fn declares_variable(body: &str) -> bool {
    let t = body.trim_start();
    t.starts_with('$')
        && t.split_whitespace()
            .nth(1)
            .is_some_and(|op| op == ":=" || op == "=")
}

/// Go's fmt.Print of a value.
fn go_format(v: &Value, out: &mut String) {
    match v {
        Value::NoValue => out.push_str("<no value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                go_format(x, out);
            }
            out.push(']');
        }
        Value::Object(o) | Value::Map(o) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                go_format(&o[*k], out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn go_print(args: &[Value]) -> Result<Value, FuncError> {
    let mut s = String::new();
    if let Some(v) = args.first() {
        go_format(v, &mut s);
    }
    Ok(Value::String(s))
}

fn one_arg<'a>(args: &'a [Value], name: &str) -> Result<&'a Value, FuncError> {
    args.first()
        .ok_or_else(|| FuncError::Generic(format!("{name} needs an argument")))
}

fn as_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn json(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        serde_json::to_string(&from_value(one_arg(args, "json")?)).unwrap_or_default(),
    ))
}

fn join(args: &[Value]) -> Result<Value, FuncError> {
    let sep = args.get(1).map(as_string).unwrap_or_default();
    match one_arg(args, "join")? {
        Value::Array(a) => Ok(Value::String(
            a.iter().map(as_string).collect::<Vec<_>>().join(&sep),
        )),
        Value::Nil | Value::NoValue => Ok(Value::String(String::new())),
        other => Ok(Value::String(as_string(other))),
    }
}

fn lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        as_string(one_arg(args, "lower")?).to_lowercase(),
    ))
}

fn upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        as_string(one_arg(args, "upper")?).to_uppercase(),
    ))
}

fn title(args: &[Value]) -> Result<Value, FuncError> {
    let s = as_string(one_arg(args, "title")?);
    let mut c = s.chars();
    Ok(Value::String(
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default(),
    ))
}

fn truncate(args: &[Value]) -> Result<Value, FuncError> {
    let s = as_string(one_arg(args, "truncate")?);
    let n = match args.get(1) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        _ => return Err(FuncError::Generic("truncate needs a length".into())),
    };
    Ok(Value::String(s.chars().take(n).collect()))
}

/// The header row: every `.Field` the template uses maps to its header.
fn header_row(text: &str, headers: &[(&str, &str)]) -> Json {
    let mut obj = serde_json::Map::new();
    let mut rest = text;
    while let Some(i) = rest.find('.') {
        rest = &rest[i + 1..];
        let field: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if field.is_empty() || obj.contains_key(&field) {
            continue;
        }
        let h = headers
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, h)| h.to_string())
            .unwrap_or_else(|| default_header(&field));
        obj.insert(field, Json::String(h));
    }
    Json::Object(obj)
}

/// "CreatedAt" -> "CREATED AT", "ID" -> "ID".
fn default_header(field: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = field.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()))
        {
            out.push(' ');
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// Align tab-separated cells as Go's tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)
/// does for podman: each column as wide as its widest cell plus 2, at least
/// 12; the last cell of a line is not padded.
pub fn tabwrite(s: &str) -> String {
    let lines: Vec<Vec<&str>> = s.lines().map(|l| l.split('\t').collect()).collect();
    let ncols = lines.iter().map(|l| l.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; ncols];
    for l in &lines {
        for (i, c) in l.iter().enumerate() {
            if i + 1 < l.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    for l in &lines {
        for (i, c) in l.iter().enumerate() {
            out.push_str(c);
            if i + 1 < l.len() {
                let w = (widths[i] + 2).max(12);
                out.extend(std::iter::repeat_n(' ', w - c.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_with_headers() {
        let f = Format::parse("table {{.Repository}}\\t{{.ID}}");
        let rows = vec![json!({"Repository": "docker.io/library/busybox", "ID": "abc"})];
        let out = f.render(&rows, &[("ID", "IMAGE ID")]).unwrap();
        assert_eq!(
            out,
            "REPOSITORY                 IMAGE ID\ndocker.io/library/busybox  abc\n"
        );
    }

    #[test]
    fn plain_template_and_funcs() {
        let f = Format::parse("{{.A}} {{json .B}} {{join .C \",\"}} {{upper .A}}");
        let out = f
            .render(&[json!({"A": "x", "B": {"k": 1}, "C": ["p", "q"]})], &[])
            .unwrap();
        assert_eq!(out, "x {\"k\":1} p,q X\n");
        assert!(Format::parse("json").is_json());
    }

    #[test]
    fn prints_like_go() {
        let row = json!({"L": ["a", "b"], "M": {"z": "1", "a": "2"}, "E": [], "N": null, "S": "x"});
        let f = Format::parse(
            "{{.L}} {{.M}} {{.E}} {{- .S -}} {{if .S}}yes{{end}}{{range .L}}<{{.}}>{{end}}{{$x := .S}}{{$x}}",
        );
        assert_eq!(
            f.render(&[row], &[]).unwrap(),
            "[a b] map[a:2 z:1] []xyes<a><b>x\n"
        );
        let f = Format::parse("{{ index .L 1 }} {{.S | printf \"%s!\"}} {{json .L}}");
        assert_eq!(
            f.render(&[json!({"L": ["a", "b"], "S": "x"})], &[])
                .unwrap(),
            "b x! [\"a\",\"b\"]\n"
        );
    }

    #[test]
    fn bad_template_is_an_error() {
        let f = Format::parse("{{.A");
        assert!(f.render(&[json!({})], &[]).is_err());
    }

    #[test]
    fn headers_split_words() {
        assert_eq!(default_header("CreatedAt"), "CREATED AT");
        assert_eq!(default_header("ID"), "ID");
        assert_eq!(default_header("RepoDigests"), "REPO DIGESTS");
    }
}
