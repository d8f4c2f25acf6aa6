//! The field references of a Go template (`.Names`, `.State.Status`,
//! `$.Id`), where they sit, and a check of them against the first row
//! before anything is printed.
//!
//! Go's text/template fails on a field its data does not have ("can't
//! evaluate field Nope in type containers.psReporter") and names the
//! template, line, column and node; gtmpl only says "no field" and dumps the
//! whole value. The check here finds such a field first and words it as Go
//! does.

use gtmpl_value::Value;

/// What the template's root value is called in podman's error text: podman
/// names a template after its command and runs list templates as
/// `{{range .}}FORMAT{{end}}`, which moves the first line's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The template's name (the podman command's name).
    pub name: &'static str,
    /// The Go type of the root value, as podman's error text prints it.
    pub type_name: &'static str,
    /// podman wraps the user's text in `{{range .}}` (11 bytes).
    pub ranged: bool,
    /// Text podman puts in front of a template error (inspect's).
    pub prefix: &'static str,
}

impl Origin {
    pub const PS: Origin = Origin {
        name: "ps",
        type_name: "containers.psReporter",
        ranged: true,
        prefix: "",
    };
    pub const IMAGES: Origin = Origin {
        name: "images",
        type_name: "images.imageReporter",
        ranged: true,
        prefix: "",
    };
    pub const HISTORY: Origin = Origin {
        name: "history",
        type_name: "images.historyReporter",
        ranged: true,
        prefix: "",
    };
    pub const VOLUME_LS: Origin = Origin {
        name: "ls",
        type_name: "*entities.VolumeListReport",
        ranged: true,
        prefix: "",
    };
    pub const NETWORK_LS: Origin = Origin {
        name: "ls",
        type_name: "network.ListPrintReports",
        ranged: true,
        prefix: "",
    };
    /// Every `inspect`: podman's is a list of `interface {}`.
    pub const INSPECT: Origin = Origin {
        name: "inspect",
        type_name: "interface {}",
        ranged: true,
        prefix: "inspecting object: printing inspect output: ",
    };
    pub const INFO: Origin = Origin {
        name: "info",
        type_name: "*define.Info",
        ranged: false,
        prefix: "",
    };
    pub const VERSION: Origin = Origin {
        name: "version",
        type_name: "*define.Version",
        ranged: false,
        prefix: "",
    };
    /// Commands that have not named themselves.
    pub const DEFAULT: Origin = Origin {
        name: "format",
        type_name: "interface {}",
        ranged: false,
        prefix: "",
    };

    /// `template: ps:1:13: executing "ps" at <.Nope>: MSG`, or without a
    /// place when none is known.
    pub fn exec_error(&self, at: Option<&FieldRef>, text: &str, msg: &str) -> String {
        let name = self.name;
        match at {
            Some(r) => {
                let (line, col) = self.line_col(text, r.pos);
                format!(
                    "{}template: {name}:{line}:{col}: executing \"{name}\" at <{}>: {msg}",
                    self.prefix, r.node
                )
            }
            None => format!(
                "{}template: {name}: executing \"{name}\": {msg}",
                self.prefix
            ),
        }
    }

    /// `template: ps:1: MSG` for a template that does not parse.
    pub fn parse_error(&self, line: usize, msg: &str) -> String {
        format!("{}template: {}:{line}: {msg}", self.prefix, self.name)
    }

    /// Go's ErrorContext: the 1-based line and the 0-based byte column of
    /// `pos` (the line holding `{{range .}}` counts it).
    fn line_col(&self, text: &str, pos: usize) -> (usize, usize) {
        let before = &text[..pos.min(text.len())];
        let line = 1 + before.matches('\n').count();
        match before.rfind('\n') {
            Some(nl) => (line, pos - nl - 1),
            None => (line, pos + if self.ranged { 11 } else { 0 }),
        }
    }
}

/// One field chain in the template text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRef {
    /// Go's node position: a chain `.A.B` sits at `.B`, `$.A` at `.A`.
    pub pos: usize,
    /// The node as Go prints it: `.A.B`, `$.A`.
    pub node: String,
    pub fields: Vec<String>,
    /// Rooted at `$` (the row) rather than `.`.
    pub dollar: bool,
    /// Evaluated on every execution, with the row as dot: outside any
    /// if/range/with/define body.
    pub always: bool,
}

/// Every field chain rooted at `.` or `$`, in text order. Chains on a
/// variable (`$x.A`) or a parenthesised pipeline (`(...).A`) are left out:
/// their root is not known without running the template.
pub fn field_refs(text: &str) -> Vec<FieldRef> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut rest = 0usize;
    while let Some(open) = text[rest..].find("{{") {
        let start = rest + open + 2;
        let Some(len) = super::template::find_close(&text[start..]) else {
            break;
        };
        let body = &text[start..start + len];
        rest = start + len + 2;
        let trimmed = body.trim_start_matches('-').trim_start();
        if trimmed.starts_with("/*") {
            continue;
        }
        let word = trimmed.split_whitespace().next().unwrap_or("");
        // The pipeline of `if`/`range`/`with` runs with the outer dot;
        // their body is conditional (and range/with change dot).
        let always = depth == 0;
        match word {
            "end" => {
                depth = depth.saturating_sub(1);
                continue;
            }
            "else" => {}
            "if" | "range" | "with" | "define" | "block" => depth += 1,
            _ => {}
        }
        scan_action(body, start, always && word != "define", &mut out);
    }
    out
}

/// The field chains of one action's text (`base`: its offset in the template).
fn scan_action(body: &str, base: usize, always: bool, out: &mut Vec<FieldRef>) {
    let b = body.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'`' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' && q != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'$' => {
                // `$` alone roots a chain at the row; `$name` is a variable
                // whose chain is skipped with it.
                i += 1;
                if i < b.len() && ident(b[i]) {
                    while i < b.len() && (ident(b[i]) || b[i] == b'.') {
                        i += 1;
                    }
                } else if i < b.len() && b[i] == b'.' {
                    i = chain(body, base, i, true, always, out);
                }
            }
            b'.' if i + 1 < b.len() && (b[i + 1].is_ascii_alphabetic() || b[i + 1] == b'_') => {
                let after_value = i > 0 && (ident(b[i - 1]) || b[i - 1] == b')');
                if after_value {
                    // `(...).A` or a number: not rooted at dot.
                    while i < b.len() && (ident(b[i]) || b[i] == b'.') {
                        i += 1;
                    }
                } else {
                    i = chain(body, base, i, false, always, out);
                }
            }
            c if ident(c) => {
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
}

/// Read `.A.B...` from `i`; returns the index after it.
fn chain(
    body: &str,
    base: usize,
    mut i: usize,
    dollar: bool,
    always: bool,
    out: &mut Vec<FieldRef>,
) -> usize {
    let b = body.as_bytes();
    let start = i;
    let mut fields = Vec::new();
    let mut starts = Vec::new();
    while i < b.len() && b[i] == b'.' {
        let f = i + 1;
        let mut j = f;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        if j == f {
            break;
        }
        starts.push(i);
        fields.push(body[f..j].to_string());
        i = j;
    }
    if fields.is_empty() {
        return i.max(start + 1);
    }
    // Go's parser: a chain of fields takes the position of its second
    // token (`.B` in `.A.B`; `.A` in `$.A`, `$` being the first).
    let pos = if dollar || starts.len() == 1 {
        starts[0]
    } else {
        starts[1]
    };
    out.push(FieldRef {
        pos: base + pos,
        node: format!("{}{}", if dollar { "$" } else { "" }, &body[start..i]),
        fields,
        dollar,
        always,
    });
    i
}

/// Go's name for a value's type where the row does not say better.
pub fn go_type(v: &Value, key: &str) -> String {
    match v {
        Value::String(_) => "string".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.as_i64().is_some() || n.as_u64().is_some() => "int".into(),
        Value::Number(_) => "float64".into(),
        Value::Array(a) if a.iter().all(|x| matches!(x, Value::String(_))) => "[]string".into(),
        Value::Array(_) => "[]interface {}".into(),
        Value::Map(_) => "map[string]string".into(),
        Value::Object(_) => key.to_string(),
        Value::Nil | Value::NoValue | Value::Function(_) => "interface {}".into(),
    }
}

/// The first field that `row` lacks among the chains always evaluated
/// with it, as (chain, "can't evaluate field F in type T").
pub fn check<'a>(
    refs: &'a [FieldRef],
    row: &Value,
    origin: &Origin,
) -> Option<(&'a FieldRef, String)> {
    for r in refs.iter().filter(|r| r.always) {
        let mut cur = row;
        let mut type_name = origin.type_name.to_string();
        for f in &r.fields {
            match cur {
                Value::Object(o) => match o.get(f) {
                    Some(v) => {
                        type_name = f.clone();
                        cur = v;
                    }
                    None => {
                        return Some((r, format!("can't evaluate field {f} in type {type_name}")));
                    }
                },
                // A missing map key is `<no value>`, and a null's fields are
                // left to the run: neither is a fault of the template.
                Value::Map(_) | Value::Nil | Value::NoValue => break,
                other => {
                    return Some((
                        r,
                        format!("can't evaluate field {f} in type {}", go_type(other, f)),
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(text: &str) -> Vec<(usize, String, bool, bool)> {
        field_refs(text)
            .into_iter()
            .map(|r| (r.pos, r.node, r.dollar, r.always))
            .collect()
    }

    #[test]
    fn finds_chains_where_go_places_them() {
        assert_eq!(nodes("{{.Nope}}"), vec![(2, ".Nope".into(), false, true)]);
        assert_eq!(
            nodes("{{.State.Nope}}"),
            vec![(8, ".State.Nope".into(), false, true)]
        );
        assert_eq!(nodes("{{$.Id}}"), vec![(3, "$.Id".into(), true, true)]);
        assert_eq!(
            nodes("{{ json .A }} {{index .L \"x.y\"}}"),
            vec![
                (8, ".A".into(), false, true),
                (22, ".L".into(), false, true)
            ]
        );
        // Variables, parenthesised pipelines and numbers are not rooted at dot.
        assert!(
            nodes("{{$x := .A}}{{$x.B}}{{(.C).D}}{{ 1.5 }}")
                .iter()
                .all(|n| n.1 == ".A" || n.1 == ".C")
        );
        // Bodies of if/range/with run conditionally; their pipelines do not.
        assert_eq!(
            nodes("{{if .A}}{{.B}}{{else}}{{.C}}{{end}}{{.D}}"),
            vec![
                (5, ".A".into(), false, true),
                (11, ".B".into(), false, false),
                (25, ".C".into(), false, false),
                (38, ".D".into(), false, true)
            ]
        );
        assert!(nodes("{{/* .A */}}").is_empty());
    }

    #[test]
    fn columns_count_podmans_range_wrapper() {
        let text = "{{.Names}}\n{{.Nope.Foo}}";
        let r = &field_refs(text)[1];
        assert_eq!(Origin::PS.line_col(text, r.pos), (2, 7));
        assert_eq!(Origin::PS.line_col("{{.Nope}}", 2), (1, 13));
        assert_eq!(Origin::INFO.line_col("{{.Nope}}", 2), (1, 2));
    }
}
