//! Secret records (podman's secrets.json): name, ID, driver, labels. The
//! data itself is never in the database: it lives in one private file per
//! secret under `<root>/secrets/filedriver/` (see engine::secrets).

use super::DbError;
use rusqlite::{Connection, Row, params};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct SecretRow {
    /// 25 hex digits (podman's secretIDLength).
    pub id: String,
    pub name: String,
    pub driver: String,
    /// Unix nanoseconds.
    pub created: i64,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

fn row(r: &Row) -> rusqlite::Result<SecretRow> {
    let labels: String = r.get(4)?;
    let options: String = r.get(5)?;
    Ok(SecretRow {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        created: r.get(3)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        options: serde_json::from_str(&options).unwrap_or_default(),
    })
}

const COLS: &str = "id, name, driver, created, labels, options";

/// Insert; false if the name (or ID) is taken.
pub fn insert(conn: &Connection, s: &SecretRow) -> Result<bool, DbError> {
    Ok(conn.execute(
        &format!("INSERT OR IGNORE INTO secrets ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            s.id,
            s.name,
            s.driver,
            s.created,
            serde_json::to_string(&s.labels).unwrap_or_default(),
            serde_json::to_string(&s.options).unwrap_or_default(),
        ],
    )? > 0)
}

pub fn list(conn: &Connection) -> Result<Vec<SecretRow>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLS} FROM secrets ORDER BY created, name"
    ))?;
    let v = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(v)
}

/// podman's lookup: an exact ID, then an exact name, then a unique ID
/// prefix. Err(n) when nothing (0) or more than one (n > 1) matches.
pub fn lookup(conn: &Connection, word: &str) -> Result<Result<SecretRow, usize>, DbError> {
    super::lookup_named(conn, "secrets", COLS, 25, word, row)
}

pub fn delete(conn: &Connection, id: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM secrets WHERE id = ?1", [id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Db;

    fn secret(id: &str, name: &str) -> SecretRow {
        SecretRow {
            id: id.into(),
            name: name.into(),
            driver: "file".into(),
            created: 1,
            labels: BTreeMap::from([("a".into(), "b".into())]),
            options: BTreeMap::new(),
        }
    }

    #[test]
    fn names_are_unique_and_lookup_is_id_name_then_prefix() {
        let db = Db::open_in_memory().unwrap();
        assert!(insert(&db.conn, &secret("abc111", "one")).unwrap());
        assert!(insert(&db.conn, &secret("abc222", "two")).unwrap());
        assert!(!insert(&db.conn, &secret("fff", "one")).unwrap());
        let got = |w: &str| lookup(&db.conn, w).unwrap().map(|s| s.name);
        assert_eq!(got("one"), Ok("one".into()));
        assert_eq!(got("abc222"), Ok("two".into()));
        assert_eq!(got("abc1"), Ok("one".into()));
        assert_eq!(got("abc"), Err(2));
        assert_eq!(got("nope"), Err(0));
        assert_eq!(lookup(&db.conn, "one").unwrap().unwrap().labels["a"], "b");
        delete(&db.conn, "abc111").unwrap();
        assert_eq!(got("one"), Err(0));
        assert_eq!(list(&db.conn).unwrap().len(), 1);
    }
}
