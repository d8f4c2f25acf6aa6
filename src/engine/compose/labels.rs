//! docker compose v2's labels and names (pkg/api/labels.go), so tools that
//! read them (and `docker compose` itself) recognise berth's projects.

use super::spec::Replica;
use crate::compose::{Project, Service};
use std::collections::BTreeMap;

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const VERSION: &str = "com.docker.compose.version";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const IMAGE: &str = "com.docker.compose.image";

/// The docker compose release whose behaviour berth follows (`compose version`).
pub const COMPOSE_VERSION: &str = "2.24.0";

/// `PROJECT-SERVICE-N`, unless the service sets `container_name`.
pub fn container_name(project: &Project, service: &str, s: &Service, number: u64) -> String {
    match &s.container_name {
        Some(n) => n.clone(),
        None => format!("{}-{service}-{number}", project.name),
    }
}

/// `PROJECT-SERVICE-run-<12 hex>`: a `compose run` container.
pub fn oneoff_name(project: &Project, service: &str) -> String {
    let id = crate::engine::containers::new_id();
    format!("{}-{service}-run-{}", project.name, &id[..12])
}

/// The image a service without `image:` is built as: `PROJECT-SERVICE`.
pub fn default_image(project: &Project, service: &str, s: &Service) -> String {
    s.image
        .clone()
        .unwrap_or_else(|| format!("{}-{service}", project.name))
}

/// The labels of one container of `service`.
pub fn container(
    project: &Project,
    service: &str,
    s: &Service,
    replica: &Replica,
) -> BTreeMap<String, String> {
    let files: Vec<String> = project_files(project);
    let deps: Vec<String> = s
        .depends_on
        .iter()
        .map(|(d, dep)| {
            let cond = serde_json::to_value(dep.condition)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            format!("{d}:{cond}:{}", dep.restart)
        })
        .collect();
    let mut l = BTreeMap::new();
    l.insert(PROJECT.into(), project.name.clone());
    l.insert(SERVICE.into(), service.to_string());
    l.insert(CONTAINER_NUMBER.into(), replica.number.to_string());
    l.insert(CONFIG_HASH.into(), s.config_hash(project));
    l.insert(
        ONEOFF.into(),
        if replica.oneoff { "True" } else { "False" }.into(),
    );
    l.insert(
        WORKING_DIR.into(),
        project.working_dir.display().to_string(),
    );
    l.insert(CONFIG_FILES.into(), files.join(","));
    l.insert(VERSION.into(), COMPOSE_VERSION.into());
    l.insert(DEPENDS_ON.into(), deps.join(","));
    l.insert(IMAGE.into(), default_image(project, service, s));
    l
}

/// The compose files the project was read from, as its services' origins name them.
pub fn project_files(project: &Project) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for s in project.services.values() {
        let f = s.origin.file.to_string();
        if !f.is_empty() && !files.contains(&f) {
            files.push(f);
        }
    }
    files
        .into_iter()
        .map(|f| {
            let p = std::path::Path::new(&f);
            if p.is_absolute() {
                f
            } else {
                project.working_dir.join(p).display().to_string()
            }
        })
        .collect()
}
