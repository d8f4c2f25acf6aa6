//! Output formatting shared by commands: Go templates (`--format`), tables
//! aligned like Go's tabwriter, and docker/go-units sizes and durations.

pub mod fields;
pub mod progress;
pub mod template;
pub mod units;

pub use fields::Origin;
pub use template::{Format, FormatError, set_origin};

/// An OS error as Go prints it ("no such file or directory"): Rust's text
/// without " (os error N)", lower-cased, for messages that quote podman's.
pub fn go_errno_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase()
}

/// Several errors as one, worded as podman joins them (hashicorp's
/// multierror): the one error alone, or `N errors occurred:` and a bullet
/// per error.
pub fn joined_errors(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        _ => {
            let mut s = format!("{} errors occurred:", errors.len());
            for e in errors {
                s.push_str("\n\t* ");
                s.push_str(e);
            }
            s
        }
    }
}

/// An error and its causes on one line, ": " between them (as the CLI
/// prints an error chain).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
