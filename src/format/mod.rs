//! Output formatting shared by commands: Go templates (`--format`), tables
//! aligned like Go's tabwriter, and docker/go-units sizes and durations.

pub mod progress;
pub mod template;
pub mod units;

pub use template::{Format, FormatError};
