//! `/images/...` beyond list, pull and remove (in `docker`): inspect,
//! history, tag, push, get (save), load, prune and search, each over the
//! engine's own calls.

use super::worker::{Answer, ApiError, Request, stream_error, write_head};
use crate::engine::Engine;
use crate::engine::images::{ImageError, Listed};
use crate::image::archive::{self, ArchiveFormat, SaveItem};
use crate::registry::RemoteOptions;
use crate::registry::auth::Credentials;
use serde_json::{Value, json};
use std::io::Write;

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> Self {
        let status = match &e {
            ImageError::NotFound(_) => 404,
            ImageError::Ambiguous(_) => 400,
            _ => 500,
        };
        ApiError(status, e.to_string())
    }
}

fn no_such_image(name: &str) -> ApiError {
    ApiError(404, format!("No such image: {name}"))
}

/// The listed image `word` names.
fn listed(engine: &Engine, word: &str) -> Result<Listed, ApiError> {
    let found = engine.find_image(word).map_err(|_| no_such_image(word))?;
    engine
        .list_images()?
        .into_iter()
        .find(|l| l.rec.id == found.image.id)
        .ok_or_else(|| no_such_image(word))
}

/// docker's X-Registry-Auth (base64url JSON: username, password) as
/// credentials for the registry; none when absent or empty.
pub fn remote_options(r: &super::worker::Request) -> RemoteOptions {
    use base64::Engine as _;
    let creds = r.auth.as_deref().and_then(|h| {
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(h.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h.trim()))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(h.trim()))
            .ok()?;
        let v: Value = serde_json::from_slice(&raw).ok()?;
        let username = v["username"].as_str().filter(|u| !u.is_empty())?;
        Some(Credentials {
            username: username.to_string(),
            password: v["password"].as_str().unwrap_or("").to_string(),
        })
    });
    RemoteOptions {
        creds,
        ..Default::default()
    }
}

/// `GET /images/{name}/json`.
pub fn inspect(engine: &Engine, name: &str) -> Result<Answer, ApiError> {
    let l = listed(engine, name)?;
    let mut doc = crate::engine::image_doc::image_json(engine, &l);
    // docker's fields that podman's document names otherwise.
    doc["Id"] = json!(format!("sha256:{}", l.rec.id.hex()));
    doc["ContainerConfig"] = doc["Config"].clone();
    doc["DockerVersion"] = json!("");
    doc["Container"] = json!("");
    doc["Metadata"] = json!({ "LastTagTime": "0001-01-01T00:00:00Z" });
    Ok(Answer::Json(200, doc))
}

/// `GET /images/{name}/history`: newest first.
pub fn history(engine: &Engine, name: &str) -> Result<Answer, ApiError> {
    let l = listed(engine, name)?;
    let mut out: Vec<Value> = crate::engine::image_doc::history(engine, &l)
        .into_iter()
        .map(|(h, size, created)| {
            json!({
                "Id": "<missing>",
                "Created": created,
                "CreatedBy": h.created_by.unwrap_or_default(),
                "Tags": null,
                "Size": size,
                "Comment": h.comment.unwrap_or_default(),
            })
        })
        .collect();
    out.reverse();
    if let Some(top) = out.first_mut() {
        top["Id"] = json!(format!("sha256:{}", l.rec.id.hex()));
        top["Tags"] = json!(l.rec.names);
    }
    Ok(Answer::Json(200, Value::Array(out)))
}

/// `POST /images/{name}/tag?repo=R&tag=T`.
pub fn tag(engine: &Engine, r: &Request, name: &str) -> Result<Answer, ApiError> {
    let repo = r
        .query
        .get("repo")
        .filter(|x| !x.is_empty())
        .ok_or_else(|| ApiError(400, "repo is required".into()))?;
    let target = match r.query.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{repo}:{t}"),
        None => repo.clone(),
    };
    engine.find_image(name).map_err(|_| no_such_image(name))?;
    engine
        .tag(name, &[target])
        .map_err(|e| ApiError(400, e.to_string()))?;
    Ok(Answer::Empty(201))
}

/// `POST /images/{name}/push?tag=T`: docker's JSON progress, and the
/// error as a message in the stream (the head is already sent).
pub fn push(engine: &Engine, r: &Request, name: &str) -> Result<Answer, ApiError> {
    let word = match r.query.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name.to_string(),
    };
    let found = engine.find_image(&word).map_err(|_| no_such_image(&word))?;
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, "application/json")?;
    writeln!(
        out,
        "{}",
        json!({ "status": format!("The push refers to repository [{name}]") })
    )?;
    out.flush()?;
    match engine.push(&found, &word, false, &remote_options(r), true) {
        Ok(digest) => {
            let tag = word.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
            writeln!(
                out,
                "{}",
                json!({ "status": format!("{tag}: digest: {digest} size: {}", found.image.size) })
            )?;
            writeln!(
                out,
                "{}",
                json!({ "progressDetail": {}, "aux": { "Tag": tag, "Digest": digest.to_string(), "Size": found.image.size } })
            )?;
        }
        Err(e) => stream_error(&mut out, &e.to_string())?,
    }
    Ok(Answer::Done)
}

/// `GET /images/{name}/get` and `GET /images/get?names=A&names=B`: a
/// docker-archive of the images, streamed.
pub fn get(engine: &Engine, names: &[String]) -> Result<Answer, ApiError> {
    let mut found = Vec::new();
    for n in names {
        found.push(engine.find_image(n).map_err(|_| no_such_image(n))?);
    }
    let items: Vec<SaveItem> = found.iter().map(|f| f.save_item()).collect();
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, "application/x-tar")?;
    archive::save(
        engine,
        &items,
        ArchiveFormat::DockerArchive,
        true,
        std::io::BufWriter::new(&mut out),
    )
    .map_err(|e| ApiError(500, e.to_string()))?;
    for f in &found {
        crate::engine::events::image("save", f.image.id.hex(), "");
    }
    Ok(Answer::Done)
}

/// `POST /images/load`: the archive is the body (on stdin).
pub fn load(engine: &Engine) -> Result<Answer, ApiError> {
    let loaded =
        archive::load(engine, std::io::stdin().lock()).map_err(|e| ApiError(400, e.to_string()))?;
    crate::engine::events::image("loadfromarchive", "", "");
    let mut lines = Vec::new();
    for l in loaded {
        if l.names.is_empty() {
            lines.push(format!("Loaded image ID: {}", l.id));
        }
        for n in l.names {
            lines.push(format!("Loaded image: {n}"));
        }
    }
    let mut out = std::io::stdout().lock();
    write_head(&mut out, 200, "application/json")?;
    // `quiet` only keeps progress bars away: the names are always said.
    for l in lines {
        writeln!(out, "{}", json!({ "stream": format!("{l}\n") }))?;
    }
    Ok(Answer::Done)
}

/// `POST /images/prune?filters=`: dangling images, or with
/// `dangling=false` every unused one.
pub fn prune(engine: &Engine, r: &Request) -> Result<Answer, ApiError> {
    let mut all = false;
    let mut words = Vec::new();
    for w in r.filter_words()? {
        match w.strip_prefix("dangling=") {
            Some(v) => all = matches!(v, "false" | "0"),
            None => words.push(w),
        }
    }
    let f = crate::engine::prune::PruneFilter::parse(&words, &["label", "until"])
        .map_err(|e| ApiError(400, e.to_string()))?;
    let rep = engine
        .prune_images(all, &f)
        .map_err(|e| ApiError(500, e.to_string()))?;
    let deleted: Vec<Value> = rep
        .removed
        .iter()
        .map(|id| json!({ "Deleted": format!("sha256:{id}") }))
        .collect();
    Ok(Answer::Json(
        200,
        json!({ "ImagesDeleted": deleted, "SpaceReclaimed": rep.reclaimed }),
    ))
}
