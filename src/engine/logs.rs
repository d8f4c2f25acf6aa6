//! A container's log as its monitor wrote it, read from an offset: what
//! `logs`, `compose logs` and attached `compose up` print.

use super::Engine;
pub use crate::monitor::logs::{Driver, Record};

impl Engine {
    /// The records of container `id`'s log from byte `offset` on, and the
    /// offset to read from next (for following).
    pub fn read_log(&self, id: &str, driver: Driver, offset: u64) -> (Vec<Record>, u64) {
        crate::monitor::logs::read_from(driver, &self.container_dir(id).join("ctr.log"), offset)
    }
}
