//! One API request, in a worker process (`system service --worker`): the
//! request's envelope (method, target, credentials) and body on stdin; the
//! answer goes to stdout as the server reads it (status line, headers,
//! blank line, body). The worker is an ordinary single-threaded berth
//! process, so it may start containers (fork their monitors) as the CLI
//! does; every handler calls the engine, never `cmd::*`.

use super::docker;
use crate::engine::Engine;
use crate::engine::containers::ContainerError;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{Read, Write};

/// What a handler answers.
pub enum Answer {
    Json(u16, Value),
    /// No body (204, 304).
    Empty(u16),
    /// Plain text (`_ping`).
    Text(u16, String),
    /// Already written (a stream).
    Done,
}

/// An API error: docker's JSON `{"message": ...}` with its status.
#[derive(Debug)]
pub struct ApiError(pub u16, pub String);

impl From<ContainerError> for ApiError {
    fn from(e: ContainerError) -> Self {
        let status = match &e {
            ContainerError::NotFound(_) => 404,
            ContainerError::NameInUse(..) => 409,
            ContainerError::Ambiguous(_) => 400,
            ContainerError::Invalid(m) if m.contains("no such") => 404,
            ContainerError::Invalid(_) => 400,
            ContainerError::State(_) => 409,
            _ => 500,
        };
        ApiError(status, e.to_string())
    }
}

impl From<crate::engine::EngineError> for ApiError {
    fn from(e: crate::engine::EngineError) -> Self {
        ApiError(500, e.to_string())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError(500, e.to_string())
    }
}

/// The request as the worker sees it.
pub struct Request {
    pub method: String,
    /// Path segments after the version prefix (`/v1.41`).
    pub path: Vec<String>,
    pub query: HashMap<String, String>,
    pub body: Vec<u8>,
    /// The client asked to upgrade (hijack) the connection.
    pub upgrade: bool,
    /// The query as sent (a key may repeat).
    pub raw_query: String,
    /// The X-Registry-Auth header.
    pub auth: Option<String>,
}

impl Request {
    /// docker's `filters` query as a map (empty when absent).
    pub fn filters(&self) -> Result<std::collections::HashMap<String, Vec<String>>, ApiError> {
        match self.query.get("filters").filter(|f| !f.is_empty()) {
            Some(f) => super::docker::parse_filters(f),
            None => Ok(Default::default()),
        }
    }

    /// docker's `filters` as berth's `KEY=VALUE` words (prune, events).
    pub fn filter_words(&self) -> Result<Vec<String>, ApiError> {
        Ok(self
            .filters()?
            .into_iter()
            .flat_map(|(k, vals)| vals.into_iter().map(move |v| format!("{k}={v}")))
            .collect())
    }

    /// A prune's filter (label, until) from docker's `filters`.
    pub fn prune_filter(&self) -> Result<crate::engine::prune::PruneFilter, ApiError> {
        crate::engine::prune::PruneFilter::parse(&self.filter_words()?, &["label", "until"])
            .map_err(|e| ApiError(400, e.to_string()))
    }

    /// Every value of a query key that may repeat (`names=a&names=b`).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.raw_query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| percent_decode(k) == key)
            .map(|(_, v)| percent_decode(&v.replace('+', " ")))
            .collect()
    }

    /// Requests whose body is a stream its handler reads from stdin.
    pub fn streams_body(&self) -> bool {
        let p: Vec<&str> = self.path.iter().map(String::as_str).collect();
        matches!(
            (self.method.as_str(), p.as_slice()),
            ("POST", ["build"])
                | ("POST", ["images", "load"])
                | ("PUT", ["containers", _, "archive"])
        )
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.query.get(key).map(String::as_str),
            Some("1" | "true" | "True")
        )
    }
}

/// Parse `/v1.41/containers/json?all=1` into segments and a query map.
pub fn parse_target(method: &str, target: &str, body: Vec<u8>) -> Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query_text = query;
    let mut segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    if segs.first().is_some_and(|s| {
        s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
    }) {
        segs.remove(0);
    }
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(&v.replace('+', " ")))
        })
        .collect();
    Request {
        method: method.to_string(),
        path: segs,
        query,
        body,
        upgrade: false,
        raw_query: query_text.to_string(),
        auth: None,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(hex) = std::str::from_utf8(&b[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The worker's main: open the engine, then answer the request the
/// server sends (its envelope first on stdin). A worker is started before
/// its request comes, so that a request finds the engine open; one whose
/// server went away before sending one (EOF) exits without a word.
pub fn run(engine_for: impl FnOnce() -> anyhow::Result<Engine>) {
    let engine = engine_for();
    let Some(env) = read_envelope() else { return };
    let body = match env.upgrade {
        // Exactly the body: what follows on stdin is the hijacked stream,
        // so it is read unbuffered.
        Some(len) => read_exact_fd0(len),
        None => Vec::new(),
    };
    let mut req = parse_target(&env.method, &env.target, body);
    req.upgrade = env.upgrade.is_some();
    req.auth = env.auth;
    // A document body is read whole (up to MAX_BODY); a stream (a build
    // context, an archive, images to load) is left on stdin for its handler.
    if env.upgrade.is_none() && !req.streams_body() {
        let mut body = Vec::new();
        let _ = std::io::stdin()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body);
        if body.len() > MAX_BODY {
            req.body.clear();
            return answer(Err(ApiError(413, "the request body is too large".into())));
        }
        req.body = body;
    }
    answer(match engine {
        Ok(mut engine) => dispatch(&mut engine, &req),
        Err(e) => Err(ApiError(500, e.to_string())),
    });
}

/// The envelope's length line, then the envelope, read unbuffered from
/// fd 0: what follows is the body, for the handler's own reads.
fn read_envelope() -> Option<super::Envelope> {
    // SAFETY: fd 0 is the worker's stdin for its whole life.
    let fd0 = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
    let mut len = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match rustix::io::read(fd0, &mut b) {
            Ok(0) => return None,
            Ok(_) if b[0] == b'\n' => break,
            Ok(_) if len.len() < 10 => len.push(b[0]),
            Ok(_) => return None,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return None,
        }
    }
    let len: usize = std::str::from_utf8(&len).ok()?.parse().ok()?;
    serde_json::from_slice(&read_exact_fd0(len)).ok()
}

/// The largest document body (a container's create request).
const MAX_BODY: usize = 16 << 20;

/// Write a handler's answer.
fn answer(answer: Result<Answer, ApiError>) {
    let mut out = std::io::stdout().lock();
    let _ = match answer {
        Ok(Answer::Json(status, v)) => {
            write_fixed(&mut out, status, "application/json", &format!("{v}\n"))
        }
        Ok(Answer::Empty(status)) => write_head(&mut out, status, ""),
        Ok(Answer::Text(status, t)) => {
            write_fixed(&mut out, status, "text/plain; charset=utf-8", &t)
        }
        Ok(Answer::Done) => Ok(()),
        Err(ApiError(status, msg)) => write_fixed(
            &mut out,
            status,
            "application/json",
            &format!("{}\n", json!({ "message": msg })),
        ),
    };
    let _ = out.flush();
}

/// A failure after the head of a JSON stream was sent: docker's error
/// message in the stream (its clients print it and fail).
pub fn stream_error(out: &mut dyn Write, msg: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::json!({ "errorDetail": { "message": msg }, "error": msg })
    )
}

fn read_exact_fd0(len: usize) -> Vec<u8> {
    // SAFETY: fd 0 is the worker's stdin for its whole life.
    let fd0 = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
    let mut body = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match rustix::io::read(fd0, &mut body[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    body.truncate(got);
    body
}

/// An answer whose length is known: said in Content-Length, as docker.
fn write_fixed(
    out: &mut dyn Write,
    status: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    writeln!(out, "{status}")?;
    writeln!(out, "Content-Length: {}", body.len())?;
    write_head_rest(out, content_type)?;
    out.write_all(body.as_bytes())
}

/// The status line and headers (docker's own on every answer).
pub fn write_head(out: &mut dyn Write, status: u16, content_type: &str) -> std::io::Result<()> {
    write_head_with(out, status, content_type, &[])
}

/// The status line, docker's headers and `extra` ones.
pub fn write_head_with(
    out: &mut dyn Write,
    status: u16,
    content_type: &str,
    extra: &[(String, String)],
) -> std::io::Result<()> {
    writeln!(out, "{status}")?;
    for (k, v) in extra {
        writeln!(out, "{k}: {v}")?;
    }
    write_head_rest(out, content_type)
}

/// The headers docker sends on every answer.
pub fn docker_headers() -> [(&'static str, String); 4] {
    [
        ("Api-Version", docker::API_VERSION.to_string()),
        ("Docker-Experimental", "false".into()),
        ("Ostype", "linux".into()),
        (
            "Server",
            format!("Berth/{} (linux)", env!("CARGO_PKG_VERSION")),
        ),
    ]
}

fn write_head_rest(out: &mut dyn Write, content_type: &str) -> std::io::Result<()> {
    for (k, v) in docker_headers() {
        writeln!(out, "{k}: {v}")?;
    }
    if !content_type.is_empty() {
        writeln!(out, "Content-Type: {content_type}")?;
    }
    writeln!(out)
}

fn dispatch(engine: &mut Engine, r: &Request) -> Result<Answer, ApiError> {
    let p: Vec<&str> = r.path.iter().map(String::as_str).collect();
    match (r.method.as_str(), p.as_slice()) {
        ("GET", ["info"]) => Ok(Answer::Json(200, docker::info(engine)?)),
        ("GET", ["metrics"]) => super::metrics::metrics(engine),
        ("POST", ["build"]) => super::build::build(engine, r),
        ("GET", ["events"]) => super::system::events(r),
        ("GET", ["system", "df"]) => super::system::df(engine),
        ("POST", ["auth"]) => super::system::auth(r),
        ("GET", ["containers", "json"]) => {
            Ok(Answer::Json(200, docker::container_list(engine, r)?))
        }
        ("GET", ["containers", id, "json"]) => {
            let c = engine.container(id)?;
            let mut doc = crate::engine::container_doc::container_json(engine, &c);
            // docker's names start with a slash.
            doc["Name"] = serde_json::json!(format!("/{}", c.name));
            // berth's own log file answers the logs endpoint as docker's
            // json-file does (clients read logs only from drivers they
            // know).
            if doc["HostConfig"]["LogConfig"]["Type"] == "k8s-file" {
                doc["HostConfig"]["LogConfig"]["Type"] = serde_json::json!("json-file");
            }
            Ok(Answer::Json(200, doc))
        }
        ("POST", ["containers", "create"]) => super::create::create(engine, r),
        (_, ["networks", rest @ ..]) => super::objects::networks(engine, r, rest),
        (_, ["volumes", rest @ ..]) => super::objects::volumes(engine, r, rest),
        ("POST", ["containers", "prune"]) => super::containers::prune(engine, r),
        ("GET", ["containers", id, "top"]) => super::containers::top(engine, r, id),
        ("GET", ["containers", id, "changes"]) => super::containers::changes(engine, id),
        ("GET", ["containers", id, "export"]) => super::containers::export(engine, id),
        ("GET", ["containers", id, "stats"]) => super::containers::stats(engine, r, id),
        ("GET" | "HEAD" | "PUT", ["containers", id, "archive"]) => {
            super::containers::archive(engine, r, id)
        }
        ("POST", ["containers", id, "rename"]) => super::containers::rename(engine, r, id),
        ("POST", ["containers", id, "update"]) => super::containers::update(engine, r, id),
        ("POST", ["containers", id, "exec"]) => super::exec::create(engine, r, id),
        ("POST", ["exec", id, "start"]) => super::exec::start(engine, r, id),
        ("POST", ["exec", id, "resize"]) => super::exec::resize(engine, r, id),
        ("GET", ["exec", id, "json"]) => super::exec::inspect(engine, id),
        ("POST", ["containers", id, "attach"]) => super::attach::attach(engine, r, id),
        ("POST", ["containers", id, "resize"]) => super::attach::resize(engine, r, id),
        ("POST", ["containers", id, verb]) => super::lifecycle::verb(engine, r, id, verb),
        ("DELETE", ["containers", id]) => super::lifecycle::remove(engine, r, id),
        ("GET", ["containers", id, "logs"]) => super::lifecycle::logs(engine, r, id),
        ("GET", ["images", "json"]) => Ok(Answer::Json(200, docker::image_list(engine)?)),
        ("POST", ["images", "create"]) => docker::pull(engine, r),
        ("GET", ["images", "get"]) => super::images::get(engine, &r.all("names")),
        ("GET", ["images", "search"]) => Ok(Answer::Json(200, serde_json::json!([]))),
        ("POST", ["images", "load"]) => super::images::load(engine),
        ("POST", ["images", "prune"]) => super::images::prune(engine, r),
        ("GET", ["images", name @ .., "json"]) if !name.is_empty() => {
            super::images::inspect(engine, &name.join("/"))
        }
        ("GET", ["images", name @ .., "history"]) if !name.is_empty() => {
            super::images::history(engine, &name.join("/"))
        }
        ("GET", ["images", name @ .., "get"]) if !name.is_empty() => {
            super::images::get(engine, &[name.join("/")])
        }
        ("POST", ["images", name @ .., "tag"]) if !name.is_empty() => {
            super::images::tag(engine, r, &name.join("/"))
        }
        ("POST", ["images", name @ .., "push"]) if !name.is_empty() => {
            super::images::push(engine, r, &name.join("/"))
        }
        ("DELETE", ["images", name @ ..]) if !name.is_empty() => {
            docker::remove_image(engine, r, &name.join("/"))
        }
        _ => Err(super::objects::not_served(r)),
    }
}
