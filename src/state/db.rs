//! The SQLite database: WAL mode, a busy timeout so concurrent berth
//! processes wait for each other, and versioned migrations.

use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database {path}: {source}")]
    Mode {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "database schema version {found} is newer than this berth understands ({known}); upgrade berth"
    )]
    TooNew { found: i64, known: i64 },
}

/// Each entry moves the schema one version up; never edit a released one.
const MIGRATIONS: &[&str] = &[
    // 1: images and layers
    "CREATE TABLE images (
        id TEXT PRIMARY KEY,
        manifest_digest TEXT NOT NULL,
        manifest_type TEXT NOT NULL,
        created TEXT NOT NULL,
        size INTEGER NOT NULL,
        added INTEGER NOT NULL
     );
     CREATE TABLE image_names (
        name TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        added INTEGER NOT NULL
     );
     CREATE INDEX image_names_by_image ON image_names(image_id);
     CREATE TABLE image_digests (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        repo TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (image_id, repo, digest)
     );
     CREATE TABLE layers (
        chain_id TEXT PRIMARY KEY,
        diff_id TEXT NOT NULL,
        blob_digest TEXT NOT NULL,
        blob_size INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL
     );
     CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        chain_id TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (image_id, position)
     );
     CREATE INDEX image_layers_by_chain ON image_layers(chain_id);",
    // 2: containers
    "CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        image_name TEXT NOT NULL,
        created INTEGER NOT NULL,
        config TEXT NOT NULL,
        state TEXT NOT NULL,
        pid INTEGER NOT NULL DEFAULT 0,
        pid_start INTEGER NOT NULL DEFAULT 0,
        monitor_pid INTEGER NOT NULL DEFAULT 0,
        monitor_start INTEGER NOT NULL DEFAULT 0,
        started INTEGER NOT NULL DEFAULT 0,
        finished INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER NOT NULL DEFAULT 0,
        oom_killed INTEGER NOT NULL DEFAULT 0,
        restart_count INTEGER NOT NULL DEFAULT 0,
        health TEXT NOT NULL DEFAULT ''
     );
     CREATE INDEX containers_by_image ON containers(image_id);",
    // 3: volumes
    "CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        driver TEXT NOT NULL,
        created INTEGER NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL,
        anonymous INTEGER NOT NULL
     );",
    // 4: networks and container endpoints (IPAM: an address is unique per network)
    "CREATE TABLE networks (
        name TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        driver TEXT NOT NULL,
        interface TEXT NOT NULL,
        created INTEGER NOT NULL,
        config TEXT NOT NULL
     );
     CREATE TABLE network_endpoints (
        network TEXT NOT NULL REFERENCES networks(name),
        container_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        interface TEXT NOT NULL,
        ip TEXT NOT NULL,
        ipv6 TEXT,
        mac TEXT NOT NULL,
        aliases TEXT NOT NULL,
        PRIMARY KEY (network, container_id),
        UNIQUE (network, ip),
        UNIQUE (network, ipv6)
     );
     CREATE INDEX endpoints_by_container ON network_endpoints(container_id);",
    // 5: which root's container holds an endpoint (to sweep leases whose
    // container never got recorded: a create killed half-way)
    "ALTER TABLE network_endpoints ADD COLUMN root TEXT NOT NULL DEFAULT '';",
    // 6: the build cache: a step's key to the image that step made
    "CREATE TABLE build_cache (
        key TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        created INTEGER NOT NULL
     );
     CREATE INDEX build_cache_by_image ON build_cache(image_id);",
    // 7: every name an image has had (podman's NamesHistory)
    "CREATE TABLE image_names_history (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (image_id, name)
     );",
    // 8: secrets (their data is in private files, not here)
    "CREATE TABLE secrets (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        driver TEXT NOT NULL,
        created INTEGER NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL
     );",
    // 9: the address each network's subnet handed out last (podman's IPAM
    // goes on after it instead of reusing a just-released address)
    "CREATE TABLE network_last_ip (
        network TEXT NOT NULL,
        subnet TEXT NOT NULL,
        ip TEXT NOT NULL,
        PRIMARY KEY (network, subnet)
     );",
    // 10: pods (their members say which pod in their own config)
    "CREATE TABLE pods (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        config TEXT NOT NULL
     );",
    // 11: the exit codes of removed containers, for a while (podman's
    // ContainerExitCode): `wait` on an auto-removed container says how it
    // ended.
    "CREATE TABLE exit_codes (
        id TEXT PRIMARY KEY,
        code INTEGER NOT NULL,
        removed INTEGER NOT NULL
     );",
    // 12: a container whose monitor died while it ran (a reboot), not
    // stopped: unless-stopped containers come back at boot
    "ALTER TABLE containers ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;",
];

pub struct Db {
    pub conn: Connection,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let open_err = |source| DbError::Open {
            path: path.display().to_string(),
            source,
        };
        let mode_err = |source| DbError::Mode {
            path: path.display().to_string(),
            source,
        };
        // It holds container configs (their `-e` secrets): 0600 before
        // SQLite first opens it, as SQLite would make it 0644.
        crate::process::private::file(path).map_err(mode_err)?;
        let conn = Connection::open(path).map_err(open_err)?;
        let busy = Duration::from_secs(60);
        conn.busy_timeout(busy).map_err(open_err)?;
        // Switching a new database to WAL needs it alone for a moment, and
        // SQLite answers BUSY at once, without its busy handler, when
        // another connection has it open meanwhile (berth processes
        // starting together over a new root: the API's spare workers and
        // the request's own): tried again, up to the busy timeout.
        let since = std::time::Instant::now();
        loop {
            match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && since.elapsed() < busy =>
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(open_err(e)),
            }
        }
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .map_err(open_err)?;
        // SQLite gives new -wal and -shm files the database's mode; ones an
        // older berth left 0644 are made private here.
        for suffix in ["-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            if p.exists() {
                crate::process::private::file(&p).map_err(mode_err)?;
            }
        }
        let mut db = Db { conn };
        db.migrate()?;
        Ok(db)
    }

    pub fn open_in_memory() -> Result<Db, DbError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys=ON;")?;
        let mut db = Db { conn };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&mut self) -> Result<(), DbError> {
        let known = MIGRATIONS.len() as i64;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == known {
            return Ok(());
        }
        if version > known {
            return Err(DbError::TooNew {
                found: version,
                known,
            });
        }
        // IMMEDIATE takes the write lock first, so two processes racing to
        // migrate a new database do it once.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Db::open(&path).unwrap();
        let db = Db::open(&path).unwrap();
        let v: i64 = db
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    #[test]
    fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        db.conn
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for f in ["t.db", "t.db-wal", "t.db-shm"] {
            let m = std::fs::metadata(dir.path().join(f)).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "{f}");
        }
        drop(db);
        // An existing database left world-readable is repaired on open.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Db::open(&path).unwrap();
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn processes_opening_a_new_database_at_once_all_succeed() {
        // Separate processes in life (an API service's spare workers and
        // the request's own, all over a new root); threads with their own
        // connections race the same way.
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.db");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
            let opened: Vec<_> = (0..4)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        Db::open(&path).map(|_| ()).map_err(|e| e.to_string())
                    })
                })
                .collect();
            for t in opened {
                t.join()
                    .unwrap()
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
        }
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        db.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(db);
        assert!(matches!(
            Db::open(&path),
            Err(DbError::TooNew { found: 99, .. })
        ));
    }
}
