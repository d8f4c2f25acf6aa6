#![recursion_limit = "256"]
//! berth: a daemonless container engine.
//!
//! The library holds everything; `src/main.rs` only parses the command line
//! (see [`cmd`]) and maps errors to podman's exit codes.

pub mod api;
pub mod build;
pub mod cmd;
pub mod compose;
pub mod config;
pub mod digest;
pub mod engine;
pub mod format;
pub mod image;
pub mod kube;
pub mod log;
pub mod monitor;
pub mod network;
pub mod process;
pub mod quadlet;
pub mod registry;
pub mod runtime;
pub mod state;
pub mod storage;
