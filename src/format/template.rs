//! `--format`: Go text/template (via gtmpl) over JSON-shaped rows, with
//! podman's conventions: `json` prints JSON, `table ...` prints a header row
//! and aligns columns, `\t` and `\n` escapes are honoured.

use super::fields::{self, Origin};
use gtmpl::error::{ExecError, ParseError};
use gtmpl::{Context, Template};
use gtmpl_value::{FuncError, Value};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Mutex;

/// A template that does not parse or fails on the data, worded as Go's
/// text/template words it under podman (`template: ps:1:13: executing "ps"
/// at <.Nope>: can't evaluate field Nope in type containers.psReporter`).
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct FormatError {
    pub template: String,
    pub msg: String,
}

/// The running command's template origin (see [`set_origin`]).
static ORIGIN: Mutex<Origin> = Mutex::new(Origin::DEFAULT);

/// Name the running command's templates as podman names them in errors
/// (`ps`, `images`, `inspect`...). One command runs per process, so the
/// command sets this once, before it prints.
pub fn set_origin(o: Origin) {
    *ORIGIN.lock().unwrap_or_else(|e| e.into_inner()) = o;
}

fn origin() -> Origin {
    *ORIGIN.lock().unwrap_or_else(|e| e.into_inner())
}

pub enum Format {
    /// `--format json`: the rows as a JSON array.
    Json,
    /// A Go template, printed per row; `table` adds a header and alignment.
    Template {
        text: String,
        table: bool,
        header: bool,
        origin: Origin,
    },
}

/// podman's table formats: a space between fields (outside `{{ }}`)
/// separates columns, as a tab does (`table {{.ID}} {{.Names}}`).
fn spaces_to_tabs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") {
            depth += 1;
            out.push_str("{{");
            rest = &rest[2..];
        } else if rest.starts_with("}}") && depth > 0 {
            depth -= 1;
            out.push_str("}}");
            rest = &rest[2..];
        } else {
            out.push(if c == ' ' && depth == 0 { '\t' } else { c });
            rest = &rest[c.len_utf8()..];
        }
    }
    out
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
        let mut text = unescape(&text);
        if table {
            text = spaces_to_tabs(&text);
        }
        Format::Template {
            text,
            table,
            header: table,
            origin: origin(),
        }
    }

    /// `--noheading`: keep a table's alignment, drop its header row.
    pub fn without_header(self) -> Format {
        match self {
            Format::Template {
                text,
                table,
                origin,
                ..
            } => Format::Template {
                text,
                table,
                header: false,
                origin,
            },
            f => f,
        }
    }

    /// Word errors as podman's command `o` does.
    pub fn with_origin(self, o: Origin) -> Format {
        match self {
            Format::Template {
                text,
                table,
                header,
                ..
            } => Format::Template {
                text,
                table,
                header,
                origin: o,
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
                origin,
            } => {
                let tmpl = compile(text, origin)?;
                let values: Vec<Value> = rows.iter().map(to_value).collect();
                // As podman, nothing runs (and nothing fails) without rows;
                // with rows, a field the row lacks fails before any output.
                if let Some(first) = values.first() {
                    check_fields(text, first, origin)?;
                }
                let mut out = String::new();
                if *header {
                    // A map, as podman's header row is: an unknown field
                    // heads its column with <no value>.
                    let header = match to_value(&header_row(text, headers)) {
                        Value::Object(o) => Value::Map(o),
                        v => v,
                    };
                    out.push_str(&exec(&tmpl, text, &header, origin)?);
                    out.push('\n');
                }
                for v in &values {
                    let mut line = exec(&tmpl, text, v, origin)?;
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
    render_one_as(origin(), text, v)
}

/// [`render_one`] with errors worded as podman's command `origin`.
pub fn render_one_as(origin: Origin, text: &str, v: &Json) -> Result<String, FormatError> {
    let text = unescape(text);
    let tmpl = compile(&text, &origin)?;
    let v = to_value(v);
    check_fields(&text, &v, &origin)?;
    let mut s = exec(&tmpl, &text, &v, &origin)?;
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// docker's and podman's `\t` and `\n` typed on the command line as tab
/// and newline; but text that no longer parses so (`{{"\n"}}`: a Go string
/// escape, now a raw newline in a quoted string) is kept as typed, as
/// containers/common's report.Formatter.Parse falls back to it.
fn unescape(text: &str) -> String {
    let replaced = text.replace("\\t", "\t").replace("\\n", "\n");
    if replaced != text
        && compile(&replaced, &Origin::DEFAULT).is_err()
        && compile(text, &Origin::DEFAULT).is_ok()
    {
        return text.to_string();
    }
    replaced
}

fn compile(text: &str, origin: &Origin) -> Result<Template, FormatError> {
    let mut t = Template::default();
    t.add_funcs(&[
        ("berthprint", go_print as gtmpl::Func),
        ("json", json as gtmpl::Func),
        ("join", join as gtmpl::Func),
        ("lower", lower as gtmpl::Func),
        ("upper", upper as gtmpl::Func),
        ("title", title as gtmpl::Func),
        ("truncate", truncate as gtmpl::Func),
        // Go's own, where gtmpl's differ for maps.
        ("index", index as gtmpl::Func),
        ("len", len as gtmpl::Func),
    ]);
    // gtmpl counts a line past the end of the text; Go's lines are the text's.
    let last_line = 1 + text.matches('\n').count();
    t.parse(go_printing(text)).map_err(|e| FormatError {
        template: text.into(),
        msg: match e {
            ParseError::WithContext(ctx, msg) => {
                // Go quotes the name: function "nofunc" not defined.
                let msg = match msg
                    .strip_prefix("function ")
                    .and_then(|m| m.strip_suffix(" not defined"))
                {
                    Some(f) => format!("function {f:?} not defined"),
                    None => msg,
                };
                origin.parse_error(ctx.line.clamp(1, last_line), &msg)
            }
            other => origin.parse_error(1, &other.to_string()),
        },
    })?;
    Ok(t)
}

/// Fail on the first field the row lacks, as Go does on its first run.
fn check_fields(text: &str, row: &Value, origin: &Origin) -> Result<(), FormatError> {
    let refs = fields::field_refs(text);
    match fields::check(&refs, row, origin) {
        Some((r, msg)) => Err(FormatError {
            template: text.into(),
            msg: origin.exec_error(Some(r), text, &msg),
        }),
        None => Ok(()),
    }
}

fn exec(t: &Template, text: &str, v: &Value, origin: &Origin) -> Result<String, FormatError> {
    t.render(&Context::from(v.clone()))
        .map_err(|e| FormatError {
            template: text.into(),
            msg: exec_message(e, text, v, origin),
        })
}

/// One line for a failure while running: gtmpl's own texts print whole
/// values in Rust's debug form, which no one should have to read.
fn exec_message(e: ExecError, text: &str, row: &Value, origin: &Origin) -> String {
    match e {
        ExecError::NoFiledFor(field, receiver) => {
            // Go names the chain that failed; the first one naming this
            // field is where it is.
            let refs = fields::field_refs(text);
            let at = refs.iter().find(|r| r.fields.contains(&field));
            let type_name = if receiver == *row {
                origin.type_name.to_string()
            } else {
                fields::go_type(&receiver, "struct")
            };
            let msg = format!("can't evaluate field {field} in type {type_name}");
            origin.exec_error(at, text, &msg)
        }
        ExecError::OnlyMapsAndObjectsHaveFields => origin.exec_error(
            None,
            text,
            "can't evaluate a field of a value that is not a struct or map",
        ),
        ExecError::InvalidRange(v) => {
            let mut s = String::new();
            go_format(&v, &mut s);
            origin.exec_error(None, text, &format!("range can't iterate over {s}"))
        }
        ExecError::FuncError(f) => origin.exec_error(None, text, &f.to_string()),
        other => origin.exec_error(None, text, &other.to_string()),
    }
}

/// Keys whose values are Go maps in podman's types (labels, options,
/// port maps...): a missing key there is `<no value>`, not an error.
/// Every other JSON object stands for a Go struct.
const MAP_FIELDS: &[&str] = &[
    "Labels",
    "Annotations",
    "Options",
    "Networks",
    "Ports",
    "PortBindings",
    "Tmpfs",
    "ExposedPorts",
    "Volumes",
    "Data",
    "Sysctls",
    "StorageOpt",
    "IPAMOptions",
];

/// A JSON row as a template value: objects are structs (a missing field
/// fails, as in Go) except under [`MAP_FIELDS`] and `LogConfig.Config`.
pub fn to_value(j: &Json) -> Value {
    value_at(j, "", "")
}

fn value_at(j: &Json, parent: &str, key: &str) -> Value {
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
        Json::Array(a) => Value::Array(a.iter().map(|v| value_at(v, parent, key)).collect()),
        Json::Object(o) => {
            let fields = o
                .iter()
                .map(|(k, v)| (k.clone(), value_at(v, key, k)))
                .collect::<HashMap<_, _>>();
            if MAP_FIELDS.contains(&key) || (parent == "LogConfig" && key == "Config") {
                Value::Map(fields)
            } else {
                Value::Object(fields)
            }
        }
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
pub(super) fn find_close(s: &str) -> Option<usize> {
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

/// Go's index: a map's missing key gives the zero value (podman's maps
/// hold strings: ""), a list's missing index and a struct are errors.
fn index(args: &[Value]) -> Result<Value, FuncError> {
    let (mut cur, keys) = match args {
        [first, keys @ ..] if !keys.is_empty() => (first.clone(), keys),
        _ => {
            return Err(FuncError::Generic(
                "wrong number of args for index: want at least 1 got 0".into(),
            ));
        }
    };
    for k in keys {
        cur = match (&cur, k) {
            (Value::Map(m), key) => m
                .get(&as_string(key))
                .cloned()
                .unwrap_or(Value::String(String::new())),
            (Value::Array(a), Value::Number(n)) => {
                let i = n.as_i64().unwrap_or(-1);
                match usize::try_from(i).ok().and_then(|i| a.get(i)) {
                    Some(v) => v.clone(),
                    None => {
                        return Err(FuncError::Generic(format!(
                            "error calling index: index out of range: {i}"
                        )));
                    }
                }
            }
            (Value::Nil | Value::NoValue, _) => {
                return Err(FuncError::Generic(
                    "error calling index: index of untyped nil".into(),
                ));
            }
            (other, _) => {
                return Err(FuncError::Generic(format!(
                    "error calling index: can't index item of type {}",
                    fields::go_type(other, "struct")
                )));
            }
        };
    }
    Ok(cur)
}

/// Go's len, maps included.
fn len(args: &[Value]) -> Result<Value, FuncError> {
    match one_arg(args, "len")? {
        Value::String(s) => Ok(Value::from(s.len() as u64)),
        Value::Array(a) => Ok(Value::from(a.len() as u64)),
        Value::Map(m) => Ok(Value::from(m.len() as u64)),
        other => Err(FuncError::Generic(format!(
            "error calling len: len of type {}",
            fields::go_type(other, "struct")
        ))),
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
#[path = "template_tests.rs"]
mod tests;
