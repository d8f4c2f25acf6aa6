//! An image's documents: inspect (podman 4's, which docker's
//! `/images/{name}/json` shares) and its history, for the CLI and the API.

use crate::engine::Engine;
use crate::engine::images::Listed;
use crate::format::units::{parse_rfc3339, rfc3339};
use crate::image::config::History;
use serde_json::{Value, json};

/// podman's image inspect document.
pub fn image_json(engine: &Engine, l: &Listed) -> Value {
    let r = &l.rec;
    let c = &l.config;
    let diffs: Vec<String> = engine
        .image_layer_diffs(r)
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let mut graph = serde_json::Map::new();
    if let Some((top, lower)) = diffs.split_first() {
        graph.insert("UpperDir".into(), json!(top));
        if !lower.is_empty() {
            graph.insert("LowerDir".into(), json!(lower.join(":")));
        }
    }
    let config = c.config.clone().unwrap_or_default();
    let labels = config.labels.clone();
    json!({
        "Id": r.id.hex(),
        "Digest": r.manifest_digest.to_string(),
        "RepoTags": r.names.iter().filter(|n| !n.contains('@')).collect::<Vec<_>>(),
        "RepoDigests": r.digests.iter().map(|(repo, d)| format!("{repo}@{d}")).collect::<Vec<_>>(),
        "Parent": "",
        "Comment": c.history.last().and_then(|h| h.comment.clone()).unwrap_or_default(),
        "Created": if r.created.is_empty() { rfc3339(l.created) } else { r.created.clone() },
        "Config": config,
        "Version": "",
        "Author": c.author.clone().unwrap_or_default(),
        "Architecture": c.architecture,
        "Os": c.os,
        "Size": r.size,
        "VirtualSize": r.size,
        "GraphDriver": { "Name": "overlay", "Data": graph },
        "RootFS": { "Type": "layers", "Layers": c.rootfs.diff_ids },
        "Labels": labels,
        "Annotations": {},
        "ManifestType": r.manifest_type,
        "User": config.user.clone().unwrap_or_default(),
        "History": c.history,
        "NamesHistory": l.names_history,
    })
}

/// The image's history, oldest first: each step with the size of the
/// layer it made (0 for an empty layer) and when (Unix seconds). An image
/// without history gets one empty step per layer.
pub fn history(engine: &Engine, l: &Listed) -> Vec<(History, u64, i64)> {
    let layer_sizes = engine.image_layer_sizes(&l.rec);
    let mut entries = l.config.history.clone();
    if entries.is_empty() {
        entries = layer_sizes.iter().map(|_| History::default()).collect();
    }
    let mut sizes = layer_sizes.iter();
    entries
        .into_iter()
        .map(|h| {
            let size = if h.empty_layer {
                0
            } else {
                sizes.next().copied().unwrap_or(0)
            };
            let created = h
                .created
                .as_deref()
                .and_then(parse_rfc3339)
                .unwrap_or(l.created);
            (h, size, created)
        })
        .collect()
}
