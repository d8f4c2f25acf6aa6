//! `/events` (streamed, filtered), `/system/df` and `/auth`: docker's
//! documents over berth's event log, disk usage and registry login.

use super::worker::{Answer, ApiError, Request, write_head};
use crate::engine::Engine;
use crate::engine::events::Event;
use crate::engine::events_read::{self, Filters, Query};
use serde_json::{Value, json};
use std::io::Write;

/// An event as docker's clients read it.
pub fn event_doc(e: &Event) -> Value {
    let mut attributes = serde_json::Map::new();
    for (k, v) in e.attributes.iter().flatten() {
        attributes.insert(k.clone(), json!(v));
    }
    if !e.image.is_empty() {
        attributes.insert("image".into(), json!(e.image));
    }
    if !e.name.is_empty() {
        attributes.insert("name".into(), json!(e.name));
    }
    if e.kind == "container" && e.status == "died" {
        attributes.insert("exitCode".into(), json!(e.exit_code.to_string()));
    }
    // docker's action for podman's `died` is `die`.
    let action = match e.status.as_str() {
        "died" => "die",
        s => s,
    };
    json!({
        "status": action,
        "id": e.id,
        "from": e.image,
        "Type": e.kind,
        "Action": action,
        "Actor": { "ID": e.id, "Attributes": attributes },
        "scope": "local",
        "time": e.time / 1_000_000_000,
        "timeNano": e.time,
    })
}

/// `GET /events?since=&until=&filters=`: recorded events from `since`,
/// then new ones as they come until `until` (without it: until the
/// client goes).
pub fn events(r: &Request) -> Result<Answer, ApiError> {
    let now = crate::process::now_nanos();
    let time = |k: &str, since: bool| {
        r.query
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| events_read::parse_time(v, since, now))
            .transpose()
            .map_err(|e| ApiError(400, e))
    };
    let q = Query {
        filters: Filters::parse(&r.filter_words()?).map_err(|e| ApiError(400, e))?,
        since: time("since", true)?,
        until: time("until", false)?,
    };
    let path = events_read::log_path().map_err(|e| ApiError(500, e.to_string()))?;
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, "application/json")?;
    out.flush()?;
    let mut print = |e: &Event| writeln!(out, "{}", event_doc(e)).is_ok() && out.flush().is_ok();
    if q.since.is_some() && q.until.is_some() {
        events_read::read_all(&path, &q, &mut print);
    } else {
        events_read::follow(&path, &q, &mut print).map_err(|e| ApiError(500, e.to_string()))?;
    }
    Ok(Answer::Done)
}

/// `GET /system/df`.
pub fn df(engine: &Engine) -> Result<Answer, ApiError> {
    let du = engine.disk_usage()?;
    let mut seen = std::collections::BTreeSet::new();
    let images: Vec<Value> = du
        .images
        .iter()
        .filter(|i| seen.insert(i.id.hex().to_string()))
        .map(|i| {
            let tags: Vec<String> = du
                .images
                .iter()
                .filter(|o| o.id == i.id && o.repository != "<none>")
                .map(|o| format!("{}:{}", o.repository, o.tag))
                .collect();
            json!({
                "Id": format!("sha256:{}", i.id.hex()),
                "ParentId": "",
                "RepoTags": tags,
                "RepoDigests": [],
                "Created": i.created,
                "Size": i.size,
                "SharedSize": i.shared,
                "VirtualSize": i.size,
                "Labels": {},
                "Containers": i.containers,
            })
        })
        .collect();
    let containers: Vec<Value> = du
        .containers
        .iter()
        .map(|c| {
            let row = &c.row;
            json!({
                "Id": row.id,
                "Names": [format!("/{}", row.name)],
                "Image": row.image_name,
                "ImageID": format!("sha256:{}", row.image_id),
                "Command": row.config().args.join(" "),
                "Created": row.created / 1_000_000_000,
                "State": row.state,
                "Status": row.status_text(crate::process::now_nanos()),
                "SizeRw": c.rw,
                "SizeRootFs": c.rw,
                "Labels": row.config().labels,
                "Mounts": [],
            })
        })
        .collect();
    let volumes: Vec<Value> = du
        .volumes
        .iter()
        .map(|v| {
            json!({
                "Name": v.name,
                "Driver": "local",
                "Mountpoint": engine.volume_data(&v.name),
                "Scope": "local",
                "Labels": {},
                "Options": {},
                "UsageData": { "Size": v.size, "RefCount": v.links },
            })
        })
        .collect();
    Ok(Answer::Json(
        200,
        json!({
            "LayersSize": du.images_size,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        }),
    ))
}

/// `POST /auth`: the credentials are checked against the registry (its
/// token or basic auth answering), as docker's daemon does; nothing is
/// stored (docker's client keeps them).
pub fn auth(r: &Request) -> Result<Answer, ApiError> {
    let b: Value = serde_json::from_slice(&r.body)
        .map_err(|e| ApiError(400, format!("invalid auth config: {e}")))?;
    let user = b["username"].as_str().unwrap_or("");
    let pass = b["password"].as_str().unwrap_or("");
    let server = b["serveraddress"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("docker.io");
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or(server);
    let opts = crate::registry::RemoteOptions {
        creds: Some(crate::registry::auth::Credentials {
            username: user.to_string(),
            password: pass.to_string(),
        }),
        ..Default::default()
    };
    opts.check_login(host)
        .map_err(|e| ApiError(401, format!("login attempt to {host} failed: {e}")))?;
    Ok(Answer::Json(
        200,
        json!({ "Status": "Login Succeeded", "IdentityToken": "" }),
    ))
}
