//! Pod records: a pod's name, ID, creation time and what it was created
//! with (its infra container, shared namespaces, ports and networks), as
//! JSON the engine reads (engine::pods::PodConfig).

use super::DbError;
use rusqlite::{Connection, Row, params};

#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    /// Unix nanoseconds.
    pub created: i64,
    /// engine::pods::PodConfig as JSON.
    pub config: String,
}

fn row(r: &Row) -> rusqlite::Result<PodRow> {
    Ok(PodRow {
        id: r.get(0)?,
        name: r.get(1)?,
        created: r.get(2)?,
        config: r.get(3)?,
    })
}

const COLS: &str = "id, name, created, config";

/// Insert; false if the name (or ID) is taken.
pub fn insert(conn: &Connection, p: &PodRow) -> Result<bool, DbError> {
    Ok(conn.execute(
        &format!("INSERT OR IGNORE INTO pods ({COLS}) VALUES (?1, ?2, ?3, ?4)"),
        params![p.id, p.name, p.created, p.config],
    )? > 0)
}

pub fn set_config(conn: &Connection, id: &str, config: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE pods SET config = ?2 WHERE id = ?1",
        params![id, config],
    )?;
    Ok(())
}

/// Newest first, as podman lists them.
pub fn list(conn: &Connection) -> Result<Vec<PodRow>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLS} FROM pods ORDER BY created DESC, id"
    ))?;
    let v = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(v)
}

/// podman's lookup: an exact ID, then an exact name, then a unique ID
/// prefix. Err(n) when nothing (0) or more than one (n > 1) matches.
pub fn lookup(conn: &Connection, word: &str) -> Result<Result<PodRow, usize>, DbError> {
    super::lookup_named(conn, "pods", COLS, 64, word, row)
}

pub fn delete(conn: &Connection, id: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM pods WHERE id = ?1", [id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Db;

    #[test]
    fn insert_lookup_and_delete() {
        let db = Db::open_in_memory().unwrap();
        let p = PodRow {
            id: "ab".repeat(32),
            name: "web".into(),
            created: 1,
            config: "{}".into(),
        };
        assert!(insert(&db.conn, &p).unwrap());
        assert!(
            !insert(
                &db.conn,
                &PodRow {
                    id: "cd".repeat(32),
                    ..p.clone()
                }
            )
            .unwrap()
        );
        assert_eq!(lookup(&db.conn, "web").unwrap(), Ok(p.clone()));
        assert_eq!(lookup(&db.conn, "abab").unwrap(), Ok(p.clone()));
        assert_eq!(lookup(&db.conn, "ff").unwrap(), Err(0));
        set_config(&db.conn, &p.id, "{\"a\":1}").unwrap();
        assert_eq!(list(&db.conn).unwrap()[0].config, "{\"a\":1}");
        delete(&db.conn, &p.id).unwrap();
        assert!(list(&db.conn).unwrap().is_empty());
    }
}
