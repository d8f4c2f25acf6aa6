//! Merging compose trees (several `-f` files, override files, `extends`) by the compose spec's merge rules (13-merge.md).

use super::node::{Key, MergeTag, Node, Value};
use super::service::to_json;

/// How a key's values combine when a later file sets it again.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Mappings merge key by key, sequences append, scalars are replaced.
    Default,
    /// The later value wins whole (command, entrypoint, healthcheck.test).
    Replace,
    /// A mapping or a `KEY=VALUE` list, merged by key (environment, labels...).
    Dict,
    /// A list of names or a mapping of name -> settings (depends_on, networks).
    NamedMap,
    /// Unique by mount target (volumes, secrets, configs): a later entry replaces the one it shares a target with.
    ByTarget,
    /// Appended, an identical entry kept once (ports, dns...).
    Unique,
}

fn service_rule(key: &[&str]) -> Rule {
    match key {
        ["command"] | ["entrypoint"] | ["healthcheck", "test"] => Rule::Replace,
        ["environment"]
        | ["labels"]
        | ["annotations"]
        | ["sysctls"]
        | ["extra_hosts"]
        | ["build", "args"]
        | ["build", "labels"]
        | ["deploy", "labels"]
        | ["logging", "options"] => Rule::Dict,
        ["depends_on"] | ["networks"] => Rule::NamedMap,
        ["volumes"] | ["secrets"] | ["configs"] => Rule::ByTarget,
        ["ports"]
        | ["expose"]
        | ["dns"]
        | ["dns_search"]
        | ["dns_opt"]
        | ["env_file"]
        | ["tmpfs"]
        | ["cap_add"]
        | ["cap_drop"]
        | ["security_opt"]
        | ["devices"]
        | ["profiles"]
        | ["links"]
        | ["external_links"]
        | ["group_add"] => Rule::Unique,
        _ => Rule::Default,
    }
}

/// Merges `over` into `base`: `path` is the logical path of both (service names as `*`).
fn merge_at(base: &mut Node, over: Node, path: &mut Vec<String>) {
    let rule = match path.as_slice() {
        [s, _, rest @ ..] if s == "services" && !rest.is_empty() => {
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            service_rule(&rest)
        }
        _ => Rule::Default,
    };
    match rule {
        Rule::Replace => *base = over,
        Rule::Dict => {
            let sep = if path.last().is_some_and(|k| k == "extra_hosts") {
                ['=', ':']
            } else {
                ['=', '=']
            };
            to_map(base, sep);
            let mut over = over;
            to_map(&mut over, sep);
            merge_maps(base, over, path);
        }
        Rule::NamedMap => {
            to_named_map(base);
            let mut over = over;
            to_named_map(&mut over);
            merge_maps(base, over, path);
        }
        Rule::ByTarget | Rule::Unique => {
            to_seq(base);
            let mut over = over;
            to_seq(&mut over);
            let (Value::Seq(b), Value::Seq(o)) = (&mut base.value, over.value) else {
                return;
            };
            for item in o {
                let same = if rule == Rule::ByTarget {
                    let t = target_of(&item);
                    b.iter().position(|x| t.is_some() && target_of(x) == t)
                } else {
                    let v = to_json(&item);
                    b.iter().position(|x| to_json(x) == v)
                };
                match same {
                    Some(i) => b[i] = item,
                    None => b.push(item),
                }
            }
        }
        Rule::Default => match (&mut base.value, over.value) {
            (Value::Map(_), Value::Map(o)) => {
                let over = Node {
                    value: Value::Map(o),
                    ..over
                };
                merge_maps(base, over, path);
            }
            (Value::Seq(b), Value::Seq(o)) => b.extend(o),
            (_, v) => *base = Node { value: v, ..over },
        },
    }
}

fn merge_maps(base: &mut Node, over: Node, path: &mut Vec<String>) {
    let Value::Map(o) = over.value else {
        *base = over;
        return;
    };
    if !matches!(base.value, Value::Map(_)) {
        base.value = Value::Map(Vec::new());
    }
    let Value::Map(b) = &mut base.value else {
        return;
    };
    for (k, v) in o {
        match v.tag {
            MergeTag::Reset => {
                b.retain(|(bk, _)| bk.name != k.name);
                continue;
            }
            MergeTag::Override => {
                b.retain(|(bk, _)| bk.name != k.name);
                b.push((k, v));
                continue;
            }
            MergeTag::Merge => {}
        }
        match b.iter_mut().find(|(bk, _)| bk.name == k.name) {
            Some((_, bv)) if !bv.is_null() && !v.is_null() => {
                let is_service = path.len() == 1 && path[0] == "services";
                path.push(if is_service {
                    "*".to_string()
                } else {
                    k.name.clone()
                });
                merge_at(bv, v, path);
                path.pop();
            }
            Some((_, bv)) => *bv = v,
            None => b.push((k, v)),
        }
    }
}

/// Drops what is tagged `!reset` in a file that nothing came before (compose
/// treats it as unset) and clears the tags once merged.
pub fn strip_merge_tags(n: &mut Node) {
    n.tag = MergeTag::Merge;
    match &mut n.value {
        Value::Map(m) => {
            m.retain(|(_, v)| v.tag != MergeTag::Reset);
            for (_, v) in m.iter_mut() {
                strip_merge_tags(v);
            }
        }
        Value::Seq(items) => {
            items.retain(|v| v.tag != MergeTag::Reset);
            for v in items.iter_mut() {
                strip_merge_tags(v);
            }
        }
        _ => {}
    }
}

/// Merges a whole later file into the earlier ones.
pub fn merge(base: &mut Node, over: Node) {
    merge_maps(base, over, &mut Vec::new());
}

/// Merges a service definition over the one it extends.
pub fn merge_service(base: &mut Node, over: Node) {
    merge_maps(
        base,
        over,
        &mut vec!["services".to_string(), "*".to_string()],
    );
}

/// `KEY=VALUE` list -> mapping (a bare `KEY` maps to null).
fn to_map(n: &mut Node, sep: [char; 2]) {
    let Value::Seq(items) = &n.value else { return };
    let mut m = Vec::new();
    for x in items {
        let s = x.scalar_text().unwrap_or_default();
        let split = s.split_once(sep[0]).or_else(|| s.split_once(sep[1]));
        let (k, v) = match split {
            Some((k, v)) => (k.to_string(), Value::Str(v.to_string())),
            None => (s, Value::Null),
        };
        m.retain(|(old, _): &(Key, Node)| old.name != k);
        m.push((
            Key {
                name: k,
                line: x.line,
            },
            Node {
                value: v,
                ..x.clone()
            },
        ));
    }
    n.value = Value::Map(m);
}

/// A list of names -> a mapping of name -> null.
fn to_named_map(n: &mut Node) {
    let Value::Seq(items) = &n.value else { return };
    let m = items
        .iter()
        .map(|x| {
            let k = Key {
                name: x.scalar_text().unwrap_or_default(),
                line: x.line,
            };
            (
                k,
                Node {
                    value: Value::Null,
                    ..x.clone()
                },
            )
        })
        .collect();
    n.value = Value::Map(m);
}

/// A lone scalar -> a one-item sequence (dns: 8.8.8.8).
fn to_seq(n: &mut Node) {
    if !matches!(n.value, Value::Seq(_) | Value::Null) {
        let item = n.clone();
        n.value = Value::Seq(vec![item]);
    }
}

/// The mount target of a volume/secret/config entry, short or long form.
fn target_of(n: &Node) -> Option<String> {
    match &n.value {
        Value::Map(_) => n
            .get("target")
            .and_then(Node::scalar_text)
            .or_else(|| n.get("source").and_then(Node::scalar_text)),
        _ => {
            let s = n.scalar_text()?;
            let parts: Vec<&str> = s.split(':').collect();
            Some(match parts.as_slice() {
                [_, t] | [_, t, _] => t.to_string(),
                _ => s,
            })
        }
    }
}
