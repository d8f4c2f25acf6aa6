//! Attacks, end to end: a container, a build context, an archive, a
//! registry or another local user trying to get out of berth's hands or
//! into someone else's store. Each test is written as the attack and
//! asserts the host is untouched and the user gets one clear error.
//! SECURITY.md maps each threat to the test here that shows it.

mod common;

#[path = "security/api.rs"]
mod api;
#[path = "security/build_context.rs"]
mod build_context;
#[path = "security/container_fds.rs"]
mod container_fds;
#[path = "security/etc_files.rs"]
mod etc_files;
#[path = "security/housekeeping.rs"]
mod housekeeping;
#[path = "security/input.rs"]
mod input;
#[path = "security/kube.rs"]
mod kube;
#[path = "security/mounts.rs"]
mod mounts;
#[path = "security/namespaces.rs"]
mod namespaces;
#[path = "security/pods.rs"]
mod pods;
#[path = "security/secrets.rs"]
mod secrets;
#[path = "security/store.rs"]
mod store;
