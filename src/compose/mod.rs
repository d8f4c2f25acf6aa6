//! Compose files: discovery, parsing with lines, interpolation, merging, extends, profiles, the typed project model.
//!
//! [`load`] is the one entry point: it finds and reads the files the way
//! `docker compose` v2 does and returns a normalized [`Project`] plus the
//! warnings to print. Nothing here starts containers.

mod env;
mod extends;
mod interpolate;
mod load;
mod merge;
mod model;
mod node;
mod project;
mod read;
mod service;
mod service_fields;
mod syntax;
mod top;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod load_tests;
#[cfg(test)]
mod parse_tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use env::parse_dotenv;
pub use interpolate::{InterpolateError, interpolate};
pub use load::{discover, normalize_project_name};
pub use model::*;
pub use node::{MAX_FILE_BYTES, Node, Value};
pub use read::shell_split;
pub use syntax::{parse_port, parse_volume_short};

/// What `berth compose` was told: the `-f`, `-p`, `--project-directory`,
/// `--env-file`, `--profile` flags and the services named on the command line.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Where to look for compose files and resolve `-f` paths; the current directory when None.
    pub working_dir: Option<PathBuf>,
    /// `-f` files in order (later ones override earlier ones); discovered when empty.
    pub files: Vec<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--project-directory`; the first file's directory when None.
    pub project_directory: Option<PathBuf>,
    /// `--env-file` paths, read instead of `<project dir>/.env`.
    pub env_files: Vec<PathBuf>,
    /// `--profile` names; `COMPOSE_PROFILES` when empty.
    pub profiles: Vec<String>,
    /// Services named on the command line: enabled whatever their profiles, with their dependencies.
    pub services: Vec<String>,
    /// The process environment; `std::env::vars()` when None (tests pass their own).
    pub environment: Option<BTreeMap<String, String>>,
}

/// A loaded project and the warnings met on the way (unknown keys, unset variables).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<String>,
}

/// Why a compose project could not be loaded: one line naming the file,
/// the line and the path in the file where that is known.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A value the spec does not allow: `compose.yaml:12: services.web.ports[0]: invalid port "80:x"`.
    #[error("{}", at_text(file, *line, path, msg))]
    Invalid {
        file: String,
        /// 0 when no single line is to blame (a dependency cycle).
        line: usize,
        path: String,
        msg: String,
    },
    /// The file is not YAML.
    #[error("{file}:{line}: {msg}")]
    Syntax {
        file: String,
        line: usize,
        msg: String,
    },
    #[error("{file}: {size} bytes is over the {limit}-byte limit for a compose file")]
    TooLarge {
        file: String,
        size: usize,
        limit: usize,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no configuration file provided: not found in {} or its parents (compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml)",
        dir.display()
    )]
    NotFound { dir: PathBuf },
    /// A service named on the command line that the project does not have.
    #[error("no such service: {0}")]
    NoSuchService(String),
}

fn at_text(file: &str, line: usize, path: &str, msg: &str) -> String {
    match (line, path.is_empty()) {
        (0, true) => format!("{file}: {msg}"),
        (0, false) => format!("{file}: {path}: {msg}"),
        (_, true) => format!("{file}:{line}: {msg}"),
        _ => format!("{file}:{line}: {path}: {msg}"),
    }
}

impl ComposeError {
    /// An invalid value at a node.
    pub fn at(n: &Node, path: &str, msg: String) -> ComposeError {
        ComposeError::Invalid {
            file: n.file.to_string(),
            line: n.line,
            path: path.to_string(),
            msg,
        }
    }
}

pub use load::load;
