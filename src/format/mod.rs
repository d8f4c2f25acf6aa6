//! Output formatting shared by commands: Go templates (`--format`), tables
//! aligned like Go's tabwriter, and docker/go-units sizes and durations.

pub mod fields;
pub mod progress;
pub mod template;
pub mod units;

pub use fields::Origin;
pub use template::{Format, FormatError, set_origin};
