//! The engine: one open store (database + content store) under one root,
//! and the image-level operations every command shares.

pub mod build;
pub mod compose;
pub mod container_doc;
pub mod container_root;
pub mod containers;
pub mod copy;
pub mod create;
pub mod disk;
pub mod endpoints;
pub mod events;
pub mod events_read;
pub mod exec;
pub mod exec_io;
pub mod health;
pub mod image_doc;
pub mod image_remove;
pub mod images;
pub mod inspect;
pub mod kube;
pub mod lifecycle;
pub mod logs;
pub mod manifests;
pub mod mounts;
pub mod names;
pub mod networks;
pub mod pods;
pub mod prune;
pub mod pull;
pub mod push;
pub mod reset;
pub mod rootfs;
pub mod secrets;
pub mod spec;
pub mod stats;
pub mod systemd;
pub mod tags;
pub mod top;
pub mod update;
pub mod volumes;

pub use crate::state::Paths;
pub use crate::state::containers::ContainerRow;
use crate::state::{Db, DbError, WriterLock};
use crate::storage::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

pub struct Engine {
    pub paths: Paths,
    pub db: Db,
    pub store: Store,
}

impl Engine {
    pub fn open(paths: Paths) -> Result<Engine, EngineError> {
        // Private before anything is put in them (see process::private): the
        // root, its containers (configs, logs, upper dirs) and the runroot
        // (attach sockets, pid files); the store makes its own dirs so.
        for d in [
            paths.root.clone(),
            paths.root.join("containers"),
            paths.runroot.clone(),
            paths.runroot.join("containers"),
        ] {
            crate::process::private::dir(&d)
                .map_err(|e| EngineError::Io(format!("creating {}", d.display()), e))?;
        }
        let store = Store::open(&paths.root.join("storage"))?;
        let db = Db::open(&paths.db())?;
        Ok(Engine { paths, db, store })
    }

    /// Close the database connection (before a fork); `reopen_db` brings
    /// it back.
    pub fn close_db(&mut self) {
        if let Ok(mem) = Db::open_in_memory() {
            self.db = mem;
        }
    }

    pub fn reopen_db(&mut self) -> Result<(), EngineError> {
        self.db = Db::open(&self.paths.db())?;
        Ok(())
    }

    /// Take the writer lock: everything that reads the store's state and
    /// then changes it runs under it.
    pub fn lock(&self) -> Result<WriterLock, EngineError> {
        WriterLock::acquire(&self.paths.lock())
            .map_err(|e| EngineError::Io(format!("locking {}", self.paths.lock().display()), e))
    }
}
