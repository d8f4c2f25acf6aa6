//! A compose file as a YAML value tree that keeps each node's file and line (serde-saphyr's spans).

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::ComposeError;

/// Files larger than this are refused before parsing: a compose file is a
/// page of YAML, and a 4 MiB one is a mistake or an attack.
pub const MAX_FILE_BYTES: usize = 4 << 20;

/// One YAML node with where it was written (file as shown to the user, 1-based line).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub file: Arc<str>,
    pub line: usize,
    pub value: Value,
    /// The compose spec's `!reset` / `!override` merge tags (13-merge.md).
    pub tag: MergeTag,
}

/// How a node written in a later file combines with the earlier value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MergeTag {
    /// By the merge rules.
    #[default]
    Merge,
    /// `!reset`: the earlier value is removed (and this one ignored).
    Reset,
    /// `!override`: this value replaces the earlier one whole.
    Override,
}

/// The value of a [`Node`]: scalars keep their YAML type until the typed parse.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; keys are scalars rendered as strings.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and the line it is written on.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub line: usize,
}

impl Node {
    pub fn new(file: &Arc<str>, line: usize, value: Value) -> Node {
        Node {
            file: file.clone(),
            line,
            value,
            tag: MergeTag::Merge,
        }
    }

    /// The entry named `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(m) => m.iter_mut().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets (or replaces) the entry `key` of a mapping node.
    pub fn set(&mut self, key: &str, v: Node) {
        if let Value::Map(m) = &mut self.value {
            match m.iter_mut().find(|(k, _)| k.name == key) {
                Some((_, old)) => *old = v,
                None => m.push((
                    Key {
                        name: key.to_string(),
                        line: v.line,
                    },
                    v,
                )),
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        if let Value::Map(m) = &mut self.value {
            let i = m.iter().position(|(k, _)| k.name == key)?;
            return Some(m.remove(i).1);
        }
        None
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The scalar as text (strings, numbers, booleans), as compose reads a scalar where a string is due.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The YAML kind with its article, for "must be X, not Y" messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses one compose file's text into a located tree. `name` is how the
/// file is shown in messages. Anchors, aliases and `<<` merge keys are
/// expanded by serde-saphyr under its default budget (alias expansion limits).
pub fn parse(name: &str, text: &str) -> Result<Node, ComposeError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(ComposeError::TooLarge {
            file: name.to_string(),
            size: text.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    let file: Arc<str> = Arc::from(name);
    let opts = parse_options();
    if text.trim().is_empty() {
        return Ok(Node::new(&file, 1, Value::Map(Vec::new())));
    }
    let raw: RawNode = serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).unwrap_or(0);
        let msg = syntax_message(&e.to_string());
        ComposeError::Syntax {
            file: name.to_string(),
            line,
            msg,
        }
    })?;
    Ok(raw.into_node(&file))
}

/// serde-saphyr's message as one line for a user: without the hint at its
/// own options, with the column instead of a second "at line N".
fn syntax_message(text: &str) -> String {
    let mut msg = text.lines().next().unwrap_or("").to_string();
    if let Some(i) = msg.find(", set DuplicateKeyPolicy") {
        let tail = msg[i..].find(" at line ").map(|j| msg[i + j..].to_string());
        msg.truncate(i);
        msg.push_str(&tail.unwrap_or_default());
    }
    if let Some(i) = msg.rfind(" at line ")
        && let Some((_, col)) = msg[i..].split_once(", column ")
    {
        let col = col.trim().to_string();
        msg.truncate(i);
        msg.push_str(&format!(" (column {col})"));
    }
    msg
}

/// serde-saphyr's limits, tightened for compose files: a billion-laughs
/// alias bomb fails fast instead of expanding into memory.
fn parse_options() -> serde_saphyr::Options {
    let mut opts = serde_saphyr::options! { with_snippet: false };
    opts.alias_limits.max_total_replayed_events = 200_000;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(MAX_FILE_BYTES);
    budget.max_nodes = 200_000;
    opts.budget = Some(budget);
    opts
}

struct RawNode(Spanned<serde_saphyr::Tagged<RawValue>>);

enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<RawNode>),
    Map(Vec<(Spanned<KeyText>, RawNode)>),
}

struct KeyText(String);

impl RawNode {
    fn into_node(self, file: &Arc<str>) -> Node {
        let line = self.0.referenced.line() as usize;
        let serde_saphyr::Tagged(raw, tag) = self.0.value;
        let tag = match tag.as_deref() {
            Some("!reset") => MergeTag::Reset,
            Some("!override") => MergeTag::Override,
            _ => MergeTag::Merge,
        };
        let value = match raw {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::Str(s) => Value::Str(s),
            RawValue::Seq(items) => {
                Value::Seq(items.into_iter().map(|n| n.into_node(file)).collect())
            }
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let kl = k.referenced.line() as usize;
                        let mut v = v.into_node(file);
                        let line = if kl == 0 { v.line } else { kl };
                        // A block mapping or sequence starts on the line after its key: point at the key.
                        if matches!(v.value, Value::Map(_) | Value::Seq(_)) {
                            v.line = line;
                        }
                        (
                            Key {
                                name: k.value.0,
                                line,
                            },
                            v,
                        )
                    })
                    .collect(),
            ),
        };
        let mut n = Node::new(file, line, value);
        n.tag = tag;
        n
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<serde_saphyr::Tagged<RawValue>>::deserialize(d).map(RawNode)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = RawValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = a.next_element::<RawNode>()? {
            items.push(n);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = a.next_key::<Spanned<KeyText>>()? {
            let v = a.next_value::<RawNode>()?;
            entries.push((k, v));
        }
        Ok(RawValue::Map(entries))
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = KeyText;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
        Ok(KeyText(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
        Ok(KeyText(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
        Ok(KeyText(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
        Ok(KeyText(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
        Ok(KeyText(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<KeyText, E> {
        Ok(KeyText(v))
    }
    fn visit_unit<E>(self) -> Result<KeyText, E> {
        Ok(KeyText("null".into()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<KeyText, A::Error> {
        Err(de::Error::custom("a mapping key must be a scalar"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<KeyText, A::Error> {
        Err(de::Error::custom("a mapping key must be a scalar"))
    }
}

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

/// `parent.key`, or `key` at the top.
pub fn node_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}
