//! Image records: an image is its config digest (the image ID), the
//! manifest it came with, its names and repo digests, and its layer chain.

use super::DbError;
use crate::digest::Digest;
use crate::storage::LayerInfo;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct ImageRecord {
    pub id: Digest,
    pub manifest_digest: Digest,
    pub manifest_type: String,
    /// RFC 3339 creation time from the config ("" when absent).
    pub created: String,
    /// Sum of uncompressed layer sizes.
    pub size: u64,
    /// Unix time the image entered this store.
    pub added: i64,
    /// Stored names, `repo:tag` or `repo@digest`.
    pub names: Vec<String>,
    /// (repo, manifest digest) pairs: what `RepoDigests` shows.
    pub digests: Vec<(String, Digest)>,
    /// Chain IDs, base first.
    pub layers: Vec<Digest>,
}

fn digest_col(s: String) -> rusqlite::Result<Digest> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Insert or update an image and point `names` at it. A name moves from
/// whatever image had it, as a tag does.
pub fn put_image(
    conn: &Connection,
    rec: &ImageRecord,
    layers: &[LayerInfo],
) -> Result<(), DbError> {
    let id = rec.id.hex();
    conn.execute(
        "INSERT INTO images (id, manifest_digest, manifest_type, created, size, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, manifest_type = excluded.manifest_type",
        params![id, rec.manifest_digest.to_string(), rec.manifest_type, rec.created, rec.size as i64, rec.added],
    )?;
    for l in layers {
        conn.execute(
            "INSERT OR IGNORE INTO layers (chain_id, diff_id, blob_digest, blob_size, media_type, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![l.chain_id.hex(), l.diff_id.to_string(), l.blob_digest.to_string(), l.blob_size as i64, l.media_type, l.size as i64],
        )?;
    }
    conn.execute("DELETE FROM image_layers WHERE image_id = ?1", [id])?;
    for (i, l) in layers.iter().enumerate() {
        conn.execute(
            "INSERT INTO image_layers (image_id, position, chain_id) VALUES (?1, ?2, ?3)",
            params![id, i as i64, l.chain_id.hex()],
        )?;
    }
    for n in &rec.names {
        add_name(conn, &rec.id, n)?;
    }
    for (repo, d) in &rec.digests {
        add_digest(conn, id, repo, &d.to_string())?;
    }
    Ok(())
}

/// The image (by ID hex) is at `repo` under manifest `digest`
/// (`RepoDigests`).
pub fn add_digest(conn: &Connection, id: &str, repo: &str, digest: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT OR IGNORE INTO image_digests (image_id, repo, digest) VALUES (?1, ?2, ?3)",
        params![id, repo, digest],
    )?;
    Ok(())
}

fn owner_of(conn: &Connection, name: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row(
            "SELECT image_id FROM image_names WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn add_name(conn: &Connection, id: &Digest, name: &str) -> Result<(), DbError> {
    let before = owner_of(conn, name)?;
    conn.execute(
        "INSERT INTO image_names (name, image_id, added) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, added = excluded.added",
        params![name, id.hex(), now()],
    )?;
    update_names_history(conn, id.hex())?;
    if let Some(old) = before.filter(|o| o != id.hex()) {
        update_names_history(conn, &old)?;
    }
    Ok(())
}

/// Returns whether the name existed.
pub fn remove_name(conn: &Connection, name: &str) -> Result<bool, DbError> {
    let before = owner_of(conn, name)?;
    let gone = conn.execute("DELETE FROM image_names WHERE name = ?1", [name])? > 0;
    if let Some(old) = before {
        update_names_history(conn, &old)?;
    }
    Ok(gone)
}

/// Forget that `repo@digest` names image `id` (podman's `untag IMG
/// REPO@DIGEST`: containers/storage keeps a digested name among the
/// names, berth beside them). True if it did.
pub fn remove_digest(
    conn: &Connection,
    id: &Digest,
    repo: &str,
    digest: &str,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM image_digests WHERE image_id = ?1 AND repo = ?2 AND digest = ?3",
        params![id.hex(), repo, digest],
    )? > 0)
}

/// containers/storage's NamesHistory: whenever an image's names change,
/// its current names (oldest first) go in front of the names it had, each
/// name once.
fn update_names_history(conn: &Connection, image_id: &str) -> Result<(), DbError> {
    let exists: bool = conn
        .query_row("SELECT 1 FROM images WHERE id = ?1", [image_id], |_| Ok(()))
        .optional()?
        .is_some();
    if !exists {
        return Ok(());
    }
    let current: Vec<String> = conn
        .prepare("SELECT name FROM image_names WHERE image_id = ?1 ORDER BY added, rowid")?
        .query_map([image_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut all = current;
    for n in names_history_of(conn, image_id)? {
        if !all.contains(&n) {
            all.push(n);
        }
    }
    conn.execute(
        "DELETE FROM image_names_history WHERE image_id = ?1",
        [image_id],
    )?;
    for (i, n) in all.iter().enumerate() {
        conn.execute(
            "INSERT INTO image_names_history (image_id, name, position) VALUES (?1, ?2, ?3)",
            params![image_id, n, i as i64],
        )?;
    }
    Ok(())
}

fn names_history_of(conn: &Connection, image_id: &str) -> Result<Vec<String>, DbError> {
    Ok(conn
        .prepare("SELECT name FROM image_names_history WHERE image_id = ?1 ORDER BY position")?
        .query_map([image_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Every name the image has had, the current ones first (podman's
/// `NamesHistory`).
pub fn names_history(conn: &Connection, id: &Digest) -> Result<Vec<String>, DbError> {
    names_history_of(conn, id.hex())
}

pub fn delete_image(conn: &Connection, id: &Digest) -> Result<(), DbError> {
    conn.execute("DELETE FROM images WHERE id = ?1", [id.hex()])?;
    Ok(())
}

/// An image's names in the order they were given (podman's libimage
/// untags them in that order when it removes the image).
pub fn names_in_order(conn: &Connection, image_id: &str) -> Result<Vec<String>, DbError> {
    Ok(conn
        .prepare("SELECT name FROM image_names WHERE image_id = ?1 ORDER BY added, rowid")?
        .query_map([image_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

pub fn list(conn: &Connection) -> Result<Vec<ImageRecord>, DbError> {
    let mut stmt = conn.prepare("SELECT id, manifest_digest, manifest_type, created, size, added FROM images ORDER BY added DESC, id")?;
    let mut out: Vec<ImageRecord> = stmt
        .query_map([], |r| {
            Ok(ImageRecord {
                id: digest_col(format!("sha256:{}", r.get::<_, String>(0)?))?,
                manifest_digest: digest_col(r.get(1)?)?,
                manifest_type: r.get(2)?,
                created: r.get(3)?,
                size: r.get::<_, i64>(4)? as u64,
                added: r.get(5)?,
                names: vec![],
                digests: vec![],
                layers: vec![],
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut names =
        conn.prepare("SELECT name FROM image_names WHERE image_id = ?1 ORDER BY added DESC, name")?;
    let mut digests = conn.prepare(
        "SELECT repo, digest FROM image_digests WHERE image_id = ?1 ORDER BY repo, digest",
    )?;
    let mut layers =
        conn.prepare("SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY position")?;
    for rec in &mut out {
        let id = rec.id.hex().to_string();
        rec.names = names
            .query_map([&id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        rec.digests = digests
            .query_map([&id], |r| {
                Ok((r.get::<_, String>(0)?, digest_col(r.get(1)?)?))
            })?
            .collect::<Result<_, _>>()?;
        rec.layers = layers
            .query_map([&id], |r| {
                digest_col(format!("sha256:{}", r.get::<_, String>(0)?))
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(out)
}

pub fn get(conn: &Connection, id: &Digest) -> Result<Option<ImageRecord>, DbError> {
    Ok(list(conn)?.into_iter().find(|r| r.id == *id))
}

pub fn layer(conn: &Connection, chain_id: &Digest) -> Result<Option<LayerInfo>, DbError> {
    Ok(conn
        .query_row(
            "SELECT diff_id, blob_digest, blob_size, media_type, size FROM layers WHERE chain_id = ?1",
            [chain_id.hex()],
            |r| {
                Ok(LayerInfo {
                    chain_id: chain_id.clone(),
                    diff_id: digest_col(r.get(0)?)?,
                    blob_digest: digest_col(r.get(1)?)?,
                    blob_size: r.get::<_, i64>(2)? as u64,
                    media_type: r.get(3)?,
                    size: r.get::<_, i64>(4)? as u64,
                })
            },
        )
        .optional()?)
}

/// Drop layer rows no image uses; returns them so their dirs and blobs can
/// be removed.
pub fn take_unused_layers(conn: &Connection) -> Result<Vec<LayerInfo>, DbError> {
    let unused: Vec<String> = conn
        .prepare(
            "SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for c in unused {
        if let Some(l) = layer(conn, &digest_col(format!("sha256:{c}"))?)? {
            out.push(l);
        }
        conn.execute("DELETE FROM layers WHERE chain_id = ?1", [c])?;
    }
    Ok(out)
}

/// Every blob some image still needs: configs, manifests (and the indexes
/// they were pulled through), layer blobs.
/// Each recorded layer's blob digest, by chain ID hex (`system df`).
pub fn layer_blobs(
    conn: &Connection,
) -> Result<std::collections::BTreeMap<String, String>, DbError> {
    let mut stmt = conn.prepare("SELECT chain_id, blob_digest FROM layers")?;
    let out = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(out)
}

pub fn referenced_blobs(conn: &Connection) -> Result<BTreeSet<String>, DbError> {
    let mut set = BTreeSet::new();
    for sql in [
        "SELECT 'sha256:' || id FROM images",
        "SELECT manifest_digest FROM images",
        "SELECT digest FROM image_digests",
        "SELECT blob_digest FROM layers",
    ] {
        let mut stmt = conn.prepare(sql)?;
        for v in stmt.query_map([], |r| r.get::<_, String>(0))? {
            set.insert(v?);
        }
    }
    Ok(set)
}

/// The image a build step with this cache key made, if it is still there
/// (removing the image drops its entry: ON DELETE CASCADE).
pub fn cache_get(conn: &Connection, key: &str) -> Result<Option<Digest>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT image_id FROM build_cache WHERE key = ?1")?;
    let mut rows = stmt.query([key])?;
    match rows.next()? {
        Some(r) => Ok(Some(digest_col(format!(
            "sha256:{}",
            r.get::<_, String>(0)?
        ))?)),
        None => Ok(None),
    }
}

pub fn cache_put(conn: &Connection, key: &str, image: &Digest) -> Result<(), DbError> {
    conn.execute(
        "INSERT OR REPLACE INTO build_cache (key, image_id, created) VALUES (?1, ?2, ?3)",
        params![key, image.hex(), now()],
    )?;
    Ok(())
}

/// Images the build cache points at (intermediate images).
pub fn cache_images(conn: &Connection) -> Result<BTreeSet<String>, DbError> {
    let mut stmt = conn.prepare("SELECT DISTINCT image_id FROM build_cache")?;
    let out = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(out)
}

/// Forget every cache entry; returns how many there were.
pub fn cache_clear(conn: &Connection) -> Result<usize, DbError> {
    Ok(conn.execute("DELETE FROM build_cache", [])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Db;

    fn layer_info(n: u8) -> LayerInfo {
        LayerInfo {
            chain_id: Digest::of(&[n]),
            diff_id: Digest::of(&[n]),
            blob_digest: Digest::of(&[n, n]),
            blob_size: 10,
            media_type: "x".into(),
            size: 20,
        }
    }

    fn rec(n: u8, names: &[&str]) -> ImageRecord {
        ImageRecord {
            id: Digest::of(&[100 + n]),
            manifest_digest: Digest::of(&[200 + n]),
            manifest_type: "m".into(),
            created: String::new(),
            size: 20,
            added: n as i64,
            names: names.iter().map(|s| s.to_string()).collect(),
            digests: vec![],
            layers: vec![],
        }
    }

    #[test]
    fn names_history_keeps_every_name_current_first() {
        // podman's 010-images "history output": tag, untag, tag again.
        let db = Db::open_in_memory().unwrap();
        let c = &db.conn;
        let id = Digest::of(&[101]);
        put_image(c, &rec(1, &["mine:latest"]), &[layer_info(1)]).unwrap();
        add_name(c, &id, "r1:latest").unwrap();
        remove_name(c, "r1:latest").unwrap();
        add_name(c, &id, "r2:latest").unwrap();
        remove_name(c, "r2:latest").unwrap();
        assert_eq!(
            names_history(c, &id).unwrap(),
            ["mine:latest", "r2:latest", "r1:latest"]
        );
        // A name that moves away stays in the old image's history.
        put_image(c, &rec(2, &["mine:latest"]), &[layer_info(1)]).unwrap();
        assert_eq!(
            names_history(c, &id).unwrap(),
            ["mine:latest", "r2:latest", "r1:latest"]
        );
        assert_eq!(
            names_history(c, &Digest::of(&[102])).unwrap(),
            ["mine:latest"]
        );
    }

    #[test]
    fn names_move_and_shared_layers_survive() {
        let db = Db::open_in_memory().unwrap();
        let c = &db.conn;
        put_image(c, &rec(1, &["a:latest"]), &[layer_info(1), layer_info(2)]).unwrap();
        put_image(c, &rec(2, &["a:latest", "b:1"]), &[layer_info(1)]).unwrap();
        let all = list(c).unwrap();
        assert_eq!(all.len(), 2);
        let one = all.iter().find(|r| r.id == Digest::of(&[101])).unwrap();
        assert!(one.names.is_empty(), "the tag moved to the newer image");
        assert_eq!(one.layers.len(), 2);
        delete_image(c, &Digest::of(&[101])).unwrap();
        let unused = take_unused_layers(c).unwrap();
        assert_eq!(unused.len(), 1);
        assert_eq!(unused[0].chain_id, Digest::of(&[2]));
        let refs = referenced_blobs(c).unwrap();
        assert!(refs.contains(&Digest::of(&[1, 1]).to_string()));
        assert!(!refs.contains(&Digest::of(&[2, 2]).to_string()));
    }
}
