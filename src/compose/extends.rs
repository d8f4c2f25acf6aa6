//! `extends:` — a service built on another one of the same file or of another file, recursively.

use std::path::{Path, PathBuf};

use super::ComposeError;
use super::load::read_tree;
use super::merge::merge_service;
use super::node::{Node, Value};
use super::read::string;
use super::service::resolve_path;

/// What extends resolution needs: variable lookup and where warnings go.
pub struct Extender<'a> {
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    pub warnings: &'a mut Vec<String>,
}

impl Extender<'_> {
    /// Replaces every service of one file's tree by itself merged over what it extends.
    pub fn apply(&mut self, root: &mut Node, file: &Path) -> Result<(), ComposeError> {
        let names: Vec<String> = match root.get("services").map(|s| &s.value) {
            Some(Value::Map(m)) => m.iter().map(|(k, _)| k.name.clone()).collect(),
            _ => return Ok(()),
        };
        let snapshot = root.clone();
        for name in names {
            let svc = self.extended(&snapshot, file, &name, &mut Vec::new())?;
            if let Some(services) = root.get_mut("services") {
                services.set(&name, svc);
            }
        }
        Ok(())
    }

    fn extended(
        &mut self,
        root: &Node,
        file: &Path,
        name: &str,
        stack: &mut Vec<(PathBuf, String)>,
    ) -> Result<Node, ComposeError> {
        let services = root.get("services");
        let Some(svc) = services.and_then(|s| s.get(name)) else {
            return Err(ComposeError::Invalid {
                file: root.file.to_string(),
                line: services.map_or(0, |s| s.line),
                path: "services".into(),
                msg: format!(
                    "cannot extend service {name:?}: not defined in {}",
                    file.display()
                ),
            });
        };
        let mut svc = svc.clone();
        let Some(ext) = svc.remove("extends") else {
            return Ok(svc);
        };
        let path = format!("services.{name}.extends");
        let (base_name, base_file) = match &ext.value {
            Value::Map(_) => {
                let s = ext
                    .get("service")
                    .ok_or_else(|| ComposeError::at(&ext, &path, "service is required".into()))?;
                let f = match ext.get("file") {
                    Some(f) => Some(string(f, &format!("{path}.file"))?),
                    None => None,
                };
                (string(s, &format!("{path}.service"))?, f)
            }
            _ => (string(&ext, &path)?, None),
        };
        let key = (file.to_path_buf(), name.to_string());
        if stack.contains(&key) {
            return Err(ComposeError::at(
                &ext,
                &path,
                format!("circular extends of service {name:?}"),
            ));
        }
        stack.push(key);
        let missing = |r: &Node, shown: &str| {
            let defined = r.get("services").and_then(|s| s.get(&base_name)).is_some();
            let msg = format!("service {base_name:?} is not defined{shown}");
            (!defined).then(|| ComposeError::at(&ext, &path, msg))
        };
        let mut base = match base_file {
            None => {
                if let Some(e) = missing(root, "") {
                    return Err(e);
                }
                self.extended(root, file, &base_name, stack)?
            }
            Some(f) => {
                let dir = file.parent().unwrap_or(Path::new("."));
                let other = dir.join(&f);
                let shown = Path::new(&*root.file).parent().map_or(f.clone(), |p| {
                    if p.as_os_str().is_empty() {
                        f.clone()
                    } else {
                        p.join(&f).display().to_string()
                    }
                });
                let other_root = read_tree(&other, &shown, self.lookup, self.warnings)?;
                if let Some(e) = missing(&other_root, &format!(" in {f}")) {
                    return Err(e);
                }
                let mut b = self.extended(&other_root, &other, &base_name, stack)?;
                let other_dir = other.parent().unwrap_or(Path::new("."));
                rebase(&mut b, other_dir, self.lookup);
                b
            }
        };
        stack.pop();
        merge_service(&mut base, svc);
        Ok(base)
    }
}

/// Makes the relative paths of a service taken from another file absolute
/// against that file's directory (compose-go does the same for extends).
fn rebase(svc: &mut Node, dir: &Path, lookup: &dyn Fn(&str) -> Option<String>) {
    let fix = |n: &mut Node| {
        if let Value::Str(s) = &mut n.value {
            *s = resolve_path(dir, s, lookup);
        }
    };
    if let Some(b) = svc.get_mut("build") {
        match b.value {
            Value::Str(_) => fix(b),
            _ => {
                if let Some(c) = b.get_mut("context") {
                    fix(c);
                }
            }
        }
    }
    if let Some(e) = svc.get_mut("env_file") {
        match &mut e.value {
            Value::Seq(items) => {
                for i in items {
                    match i.value {
                        Value::Str(_) => fix(i),
                        _ => {
                            if let Some(p) = i.get_mut("path") {
                                fix(p);
                            }
                        }
                    }
                }
            }
            _ => fix(e),
        }
    }
    if let Some(Value::Seq(items)) = svc.get_mut("volumes").map(|v| &mut v.value) {
        for i in items {
            match &mut i.value {
                Value::Str(s) if s.starts_with('.') => {
                    if let Some((src, rest)) = s.split_once(':') {
                        *s = format!("{}:{rest}", resolve_path(dir, src, lookup));
                    }
                }
                Value::Map(_) => {
                    let bind = i.get("type").and_then(Node::scalar_text).as_deref() == Some("bind");
                    if bind && let Some(src) = i.get_mut("source") {
                        fix(src);
                    }
                }
                _ => {}
            }
        }
    }
}

impl Extender<'_> {
    /// `include:` — other compose files loaded beside this one (their
    /// relative paths against their own directory); a name defined in both
    /// is an error, as compose's include does not merge.
    pub fn include(
        &mut self,
        root: &mut Node,
        file: &Path,
        depth: usize,
    ) -> Result<(), ComposeError> {
        let Some(inc) = root.remove("include") else {
            return Ok(());
        };
        if depth > 8 {
            return Err(ComposeError::at(
                &inc,
                "include",
                "includes nest too deep (a cycle?)".into(),
            ));
        }
        let Value::Seq(items) = &inc.value else {
            return Err(super::read::wrong(&inc, "include", "a list"));
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        for (i, item) in items.iter().enumerate() {
            let p = format!("include[{i}]");
            let paths = match &item.value {
                Value::Map(_) => match item.get("path") {
                    Some(n) => super::read::string_or_list(n, &format!("{p}.path"))?,
                    None => return Err(ComposeError::at(item, &p, "path is required".into())),
                },
                _ => vec![string(item, &p)?],
            };
            for f in paths {
                let other = dir.join(&f);
                let shown = Path::new(&*root.file).parent().map_or(f.clone(), |d| {
                    if d.as_os_str().is_empty() {
                        f.clone()
                    } else {
                        d.join(&f).display().to_string()
                    }
                });
                let mut tree = read_tree(&other, &shown, self.lookup, self.warnings)?;
                self.include(&mut tree, &other, depth + 1)?;
                self.apply(&mut tree, &other)?;
                let other_dir = other.parent().unwrap_or(Path::new("."));
                if let Some(Value::Map(services)) = tree.get_mut("services").map(|s| &mut s.value) {
                    for (_, svc) in services.iter_mut() {
                        rebase(svc, other_dir, self.lookup);
                    }
                }
                for section in ["services", "networks", "volumes", "secrets", "configs"] {
                    let Some(Value::Map(entries)) = tree.remove(section).map(|n| n.value) else {
                        continue;
                    };
                    if root.get(section).is_none_or(Node::is_null) {
                        let empty = Node::new(&root.file, item.line, Value::Map(Vec::new()));
                        root.set(section, empty);
                    }
                    let Some(target) = root.get_mut(section) else {
                        continue;
                    };
                    for (k, v) in entries {
                        if let Some(existing) = target.get(&k.name) {
                            return Err(ComposeError::Invalid {
                                file: existing.file.to_string(),
                                line: existing.line,
                                path: format!("{section}.{}", k.name),
                                msg: format!("also defined in included file {shown}"),
                            });
                        }
                        target.set(&k.name, v);
                    }
                }
            }
        }
        Ok(())
    }
}
