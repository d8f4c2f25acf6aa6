//! Volume records: named (or anonymous) directories that outlive
//! containers. The data lives in `<root>/volumes/<name>/_data`.

use super::DbError;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeRow {
    pub name: String,
    pub driver: String,
    /// Unix seconds.
    pub created: i64,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub anonymous: bool,
}

fn row(r: &Row) -> rusqlite::Result<VolumeRow> {
    let labels: String = r.get(3)?;
    let options: String = r.get(4)?;
    Ok(VolumeRow {
        name: r.get(0)?,
        driver: r.get(1)?,
        created: r.get(2)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        options: serde_json::from_str(&options).unwrap_or_default(),
        anonymous: r.get::<_, i64>(5)? != 0,
    })
}

const COLS: &str = "name, driver, created, labels, options, anonymous";

/// Insert; false if the name exists.
pub fn insert(conn: &Connection, v: &VolumeRow) -> Result<bool, DbError> {
    Ok(conn.execute(
        &format!("INSERT OR IGNORE INTO volumes ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            v.name,
            v.driver,
            v.created,
            serde_json::to_string(&v.labels).unwrap_or_default(),
            serde_json::to_string(&v.options).unwrap_or_default(),
            v.anonymous as i64
        ],
    )? > 0)
}

pub fn get(conn: &Connection, name: &str) -> Result<Option<VolumeRow>, DbError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM volumes WHERE name = ?1"),
            [name],
            row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<VolumeRow>, DbError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLS} FROM volumes ORDER BY name"))?;
    let v = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(v)
}

pub fn delete(conn: &Connection, name: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM volumes WHERE name = ?1", [name])?;
    Ok(())
}
