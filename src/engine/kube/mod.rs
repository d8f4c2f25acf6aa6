//! Kubernetes YAML for and from the engine: `kube generate`
//! (generate.rs) and `kube play`/`kube down` (play.rs; a container's spec in
//! spec.rs). The YAML model
//! itself is crate::kube.

pub mod generate;
pub mod play;
mod spec;
