//! Manifest lists made here (`manifest create`): an OCI image index kept
//! under its names until pushed or removed, one JSON file per list in the
//! store's `manifest-lists/` (written whole and renamed into place). An
//! entry's manifest stays where it came from: a local image's store, or
//! the registry `manifest add` read it from.

use super::manifest::Index;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredList {
    /// A random 64-hex ID, as podman gives a list (it is no content digest:
    /// the index changes as entries come and go).
    pub id: String,
    pub names: Vec<String>,
    /// Unix time of creation.
    pub created: i64,
    pub index: Index,
    /// Where each entry's manifest came from, by digest:
    /// `containers-storage:IMAGE-ID` or `docker://REFERENCE`.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
}

pub struct Lists {
    dir: PathBuf,
}

fn valid_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Lists {
    /// The lists of the store at `store_root` (its directory made private,
    /// as the store's are).
    pub fn open(store_root: &Path) -> io::Result<Lists> {
        let dir = store_root.join("manifest-lists");
        crate::process::private::dir(&dir)?;
        Ok(Lists { dir })
    }

    pub fn all(&self) -> io::Result<Vec<StoredList>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if !valid_id(id) {
                continue;
            }
            let bytes = std::fs::read(e.path())?;
            let l: StoredList = serde_json::from_slice(&bytes).map_err(|err| {
                io::Error::other(format!("manifest list {id}: {}", super::json_error(&err)))
            })?;
            out.push(l);
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// A list by one of its names (`name`, already in stored form) or by
    /// its ID or an unambiguous ID prefix (`word`).
    pub fn find(&self, word: &str, name: Option<&str>) -> io::Result<Option<StoredList>> {
        let all = self.all()?;
        if let Some(n) = name
            && let Some(l) = all.iter().find(|l| l.names.iter().any(|x| x == n))
        {
            return Ok(Some(l.clone()));
        }
        let word = word.strip_prefix("sha256:").unwrap_or(word);
        if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let hits: Vec<&StoredList> = all.iter().filter(|l| l.id.starts_with(word)).collect();
        Ok(match hits.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        })
    }

    fn path(&self, id: &str) -> io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(io::Error::other(format!("invalid manifest list ID {id:?}")));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// Write a list whole, then rename it into place: a reader sees the old
    /// list or the new one, never part of one.
    pub fn save(&self, l: &StoredList) -> io::Result<()> {
        let path = self.path(&l.id)?;
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", l.id, std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(l).map_err(io::Error::other)?)?;
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    pub fn remove(&self, id: &str) -> io::Result<()> {
        std::fs::remove_file(self.path(id)?)
    }
}

/// The index as `manifest inspect` prints it: indented four spaces, as Go's
/// `json.MarshalIndent(list, "", "    ")`.
pub fn pretty(index: &Index) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    let _ = index.serialize(&mut ser);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(id: &str, name: &str) -> StoredList {
        StoredList {
            id: id.into(),
            names: vec![name.into()],
            created: 1,
            index: Index {
                schema_version: 2,
                media_type: Some(super::super::manifest::OCI_INDEX.into()),
                manifests: vec![],
                annotations: None,
            },
            sources: BTreeMap::new(),
        }
    }

    #[test]
    fn saved_lists_are_found_by_name_id_and_prefix() {
        let t = tempfile::tempdir().unwrap();
        let lists = Lists::open(t.path()).unwrap();
        let a = "a".repeat(64);
        lists.save(&list(&a, "localhost/x:1")).unwrap();
        assert!(lists.find("x:1", Some("localhost/x:1")).unwrap().is_some());
        assert!(lists.find("aaaa", None).unwrap().is_some());
        assert!(lists.find("bbbb", Some("localhost/y:1")).unwrap().is_none());
        lists.remove(&a).unwrap();
        assert!(lists.all().unwrap().is_empty());
    }

    #[test]
    fn an_id_cannot_name_a_path_outside_the_lists() {
        let t = tempfile::tempdir().unwrap();
        let lists = Lists::open(t.path()).unwrap();
        assert!(lists.save(&list("../../etc/passwd", "x")).is_err());
        assert!(lists.remove("../x").is_err());
    }

    #[test]
    fn inspect_prints_an_empty_index_as_podman_does() {
        let l = list(&"a".repeat(64), "x");
        assert_eq!(
            pretty(&l.index),
            "{\n    \"schemaVersion\": 2,\n    \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n    \"manifests\": []\n}"
        );
    }
}
