//! Kubernetes YAML as a library (no containers): the subset of the
//! core/v1 and apps/v1 objects berth reads and writes (`model.rs`), the
//! multi-document reader that names every field berth does not apply
//! (`read`), and the writer (`to_yaml`) whose output passes the schema.

mod model;
#[cfg(test)]
mod tests;

pub use model::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{0}")]
    Invalid(String),
}

/// One document of a file: its kind, name and the object, as read.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: String,
    pub name: String,
    pub object: Object,
    pub body: Body,
}

/// What a file holds, and the fields berth ignores (each once, by path).
#[derive(Debug, Default)]
pub struct Read {
    pub documents: Vec<Document>,
    pub warnings: Vec<String>,
}

/// Every document of a (multi-document) YAML text. Kinds berth does not
/// run are kept out with a warning; a document without a kind is an error.
pub fn read(text: &str) -> Result<Read, KubeError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(KubeError::Invalid(format!(
            "the YAML is {} bytes; berth reads at most {MAX_FILE_BYTES}",
            text.len()
        )));
    }
    let values: Vec<Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| KubeError::Invalid(format!("reading the YAML: {e}")))?;
    let mut out = Read::default();
    for (i, v) in values.into_iter().enumerate() {
        if v.is_null() {
            continue;
        }
        let kind = v
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| {
                KubeError::Invalid(format!(
                    "document {}: no kind: every document needs apiVersion and kind",
                    i + 1
                ))
            })?
            .to_string();
        if !KINDS.contains(&kind.as_str()) {
            out.warnings.push(format!(
                "document {} (kind {kind}): berth runs {} and ignores this one",
                i + 1,
                KINDS.join(", ")
            ));
            continue;
        }
        let object: Object = typed(&v, &kind, "", &mut out.warnings)?;
        let name = object.metadata.name.clone();
        if name.is_empty() {
            return Err(KubeError::Invalid(format!(
                "document {} (kind {kind}): metadata.name is required",
                i + 1
            )));
        }
        let what = format!("{kind} {name}");
        let spec = &object.spec;
        let body = match kind.as_str() {
            "Pod" => Body::Pod(typed(spec, &what, "spec", &mut out.warnings)?),
            "Deployment" | "DaemonSet" | "Job" => {
                Body::Workload(Box::new(typed(spec, &what, "spec", &mut out.warnings)?))
            }
            "Service" => Body::Service(typed(spec, &what, "spec", &mut out.warnings)?),
            "PersistentVolumeClaim" => Body::Claim(typed(spec, &what, "spec", &mut out.warnings)?),
            _ => Body::Data,
        };
        out.documents.push(Document {
            kind,
            name,
            object,
            body,
        });
    }
    Ok(out)
}

/// The kinds berth runs (or reads for others).
pub const KINDS: [&str; 8] = [
    "Pod",
    "Deployment",
    "DaemonSet",
    "Job",
    "Service",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
];

/// `v` as a `T`; every field of `v` that `T` has no place for is named in
/// `warnings` (by its path under `what`).
fn typed<T: DeserializeOwned + Serialize>(
    v: &Value,
    what: &str,
    under: &str,
    warnings: &mut Vec<String>,
) -> Result<T, KubeError> {
    let v = if v.is_null() {
        &Value::Object(Default::default())
    } else {
        v
    };
    let t: T = serde_json::from_value(v.clone()).map_err(|e| {
        KubeError::Invalid(format!(
            "{what}: {under}{}{e}",
            if under.is_empty() { "" } else { ": " }
        ))
    })?;
    let known = serde_json::to_value(&t).unwrap_or(Value::Null);
    let mut unknown = Vec::new();
    unknown_fields(v, &known, under, &mut unknown);
    for path in unknown {
        let w = format!("{what}: field {path} is not supported by berth and is ignored");
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    Ok(t)
}

/// The paths in `given` that `known` (the same value read and written
/// back) lacks. Lists' items are named by their index.
fn unknown_fields(given: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (given, known) {
        (Value::Object(g), Value::Object(k)) => {
            for (key, gv) in g {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    // A free-form value (labels, data...) is taken whole.
                    Some(kv) if kv == gv => {}
                    Some(kv) => unknown_fields(gv, kv, &p, out),
                    None => out.push(p),
                }
            }
        }
        (Value::Array(g), Value::Array(k)) => {
            for (i, (gv, kv)) in g.iter().zip(k).enumerate() {
                unknown_fields(gv, kv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// YAML for objects, as `kubectl` reads them: documents separated by
/// `---`, keys sorted, empty fields left out.
pub fn to_yaml<T: Serialize>(objects: &[T]) -> String {
    let mut out = String::new();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
        prune(&mut v);
        out.push_str(&serde_saphyr::to_string(&v).unwrap_or_default());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Drop nulls, empty strings, lists and maps, recursively.
pub fn prune(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                prune(x);
            }
            m.retain(|_, x| !empty(x));
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                prune(x);
            }
        }
        _ => {}
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// A name as Kubernetes takes it (an RFC 1123 label): lowercase letters,
/// digits and `-`, at most 63, starting and ending alphanumeric.
pub fn dns_label(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "x".into() } else { out }
}

/// A memory quantity (`128Mi`, `1G`, `512000`, `0.5Gi`) in bytes.
pub fn memory_bytes(q: &Value) -> Option<i64> {
    let s = match q {
        Value::Number(n) => return n.as_f64().map(|f| f as i64),
        Value::String(s) => s.trim(),
        _ => return None,
    };
    let units: [(&str, f64); 13] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    for (suffix, mult) in units {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|f| (f * mult) as i64);
        }
    }
    s.parse::<f64>().ok().map(|f| f as i64)
}

/// A CPU quantity (`500m`, `1.5`, `2`) in CPUs.
pub fn cpus(q: &Value) -> Option<f64> {
    match q {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim().strip_suffix('m') {
            Some(m) => m.parse::<f64>().ok().map(|m| m / 1000.0),
            None => s.trim().parse().ok(),
        },
        _ => None,
    }
}

/// Bytes as a Kubernetes quantity: the largest binary unit that divides them.
pub fn memory_quantity(bytes: i64) -> String {
    for (suffix, shift) in [("Gi", 30), ("Mi", 20), ("Ki", 10)] {
        if bytes > 0 && bytes % (1i64 << shift) == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// CPUs as a Kubernetes quantity: whole CPUs, else millicores.
pub fn cpu_quantity(cpus: f64) -> String {
    let milli = (cpus * 1000.0).round() as i64;
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}
