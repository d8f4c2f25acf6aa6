//! Manifest lists made locally (`manifest create/add/remove/rm`, and `rmi`
//! of a list): finding them by name or ID, and removing them.

use super::{Engine, EngineError};
use crate::image::lists::{Lists, StoredList};

impl Engine {
    /// The store's manifest lists (`storage/manifest-lists/`).
    pub fn manifest_lists(&self) -> std::io::Result<Lists> {
        Lists::open(self.store.root())
    }

    /// Remove a list from local storage, under the writer lock.
    pub fn remove_manifest_list(&self, lists: &Lists, l: &StoredList) -> Result<(), ListError> {
        let _lock = self.lock()?;
        lists.remove(&l.id)?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A list by name (short names live in `localhost/`, as `tag` stores them)
/// or ID.
pub fn lookup_list(lists: &Lists, word: &str) -> std::io::Result<Option<StoredList>> {
    let name = super::tags::local_name(word).ok();
    lists.find(word, name.as_deref())
}
