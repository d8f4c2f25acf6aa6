//! A synchronous client for one registry host (OCI distribution-spec),
//! handling anonymous, basic and bearer-token auth.

use super::auth::Credentials;
use super::config::Endpoint;
use crate::digest::Digest;
use crate::storage::limit::{self, Bounded};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{what} not found on {host}")]
    NotFound { host: String, what: String },
    #[error(
        "authentication to {host} failed: {detail}; log in with `berth login {host}` or check the credentials"
    )]
    Unauthorized { host: String, detail: String },
    #[error("{host}: {method} {path}: HTTP {status}: {body}")]
    Http {
        host: String,
        method: &'static str,
        path: String,
        status: u16,
        body: String,
    },
    #[error("cannot reach registry {host}: {detail}")]
    Transport { host: String, detail: String },
    #[error("{host}: {0}", host = .1)]
    Protocol(String, String),
    #[error("{0}")]
    TooLarge(String),
}

/// What berth accepts of a manifest whose size nothing declared (one
/// fetched by tag): containers/image's `maxManifestBodySize`, the 4 MiB
/// distribution itself enforces on push.
pub const MAX_MANIFEST: u64 = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Access {
    Pull,
    Push,
}

enum AuthState {
    Unknown,
    Anonymous,
    Basic,
    Bearer(String),
}

pub struct Client {
    agent: ureq::Agent,
    pub host: String,
    base: String,
    creds: Option<Credentials>,
    auth: Mutex<AuthState>,
    access: Access,
}

pub struct Response {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub digest: Option<String>,
}

/// Docker Hub serves the API at registry-1.docker.io.
fn api_host(host: &str) -> &str {
    if host == "docker.io" {
        "registry-1.docker.io"
    } else {
        host
    }
}

fn err_body(resp: ureq::Response) -> String {
    let mut s = String::new();
    let _ = resp.into_reader().take(512).read_to_string(&mut s);
    // Registries answer with {"errors":[{"code":..,"message":..}]}.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&s)
        && let Some(msg) = v.pointer("/errors/0/message").and_then(|m| m.as_str())
    {
        return msg.to_string();
    }
    s.trim().to_string()
}

impl Client {
    pub fn new(endpoint: &Endpoint, creds: Option<Credentials>, access: Access) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(30))
            .timeout_read(Duration::from_secs(120))
            .timeout_write(Duration::from_secs(120))
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .build();
        let scheme = if endpoint.insecure { "http" } else { "https" };
        Client {
            agent,
            host: endpoint.host.clone(),
            base: format!("{scheme}://{}", api_host(&endpoint.host)),
            creds,
            auth: Mutex::new(AuthState::Unknown),
            access,
        }
    }

    fn transport(&self, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Transport {
            host: self.host.clone(),
            detail: e.to_string(),
        }
    }

    fn auth_header(&self) -> Option<String> {
        match &*self.auth.lock().unwrap_or_else(|p| p.into_inner()) {
            AuthState::Bearer(t) => Some(format!("Bearer {t}")),
            AuthState::Basic => self.creds.as_ref().map(|c| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{}", c.username, c.password))
                )
            }),
            _ => None,
        }
    }

    // ureq's own error type, passed on as ureq returns it; one per request.
    #[allow(clippy::result_large_err)]
    /// Send a bodiless request, authenticating on a 401 and retrying once.
    /// Non-2xx answers come back as `Err(Status)` for the caller to map.
    fn send(
        &self,
        method: &'static str,
        path: &str,
        headers: &[(&str, &str)],
        repo: &str,
    ) -> Result<ureq::Response, ureq::Error> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut tried_auth = false;
        loop {
            let mut req = self.agent.request(method, &url);
            for (k, v) in headers {
                req = req.set(k, v);
            }
            if let Some(a) = self.auth_header() {
                req = req.set("Authorization", &a);
            }
            let started = std::time::Instant::now();
            let result = req.call();
            log_request(method, &url, started, &result);
            match result {
                Err(ureq::Error::Status(401, resp)) if !tried_auth => {
                    tried_auth = true;
                    let challenge = resp.header("www-authenticate").unwrap_or("").to_string();
                    if !self.authenticate(&challenge, repo) {
                        return Err(ureq::Error::Status(401, resp));
                    }
                }
                other => return other,
            }
        }
    }

    /// Answer a WWW-Authenticate challenge; false if we have nothing to try.
    fn authenticate(&self, challenge: &str, repo: &str) -> bool {
        let (scheme, params) = parse_challenge(challenge);
        let state = match scheme.to_ascii_lowercase().as_str() {
            "basic" if self.creds.is_some() => AuthState::Basic,
            "bearer" => match self.fetch_token(&params, repo) {
                Ok(t) => AuthState::Bearer(t),
                Err(_) => return false,
            },
            _ => return false,
        };
        let mut guard = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        *guard = state;
        true
    }

    /// distribution token auth: GET realm?service=..&scope=.. with basic
    /// credentials when we have them; the answer is `token` or `access_token`.
    fn fetch_token(
        &self,
        params: &BTreeMap<String, String>,
        repo: &str,
    ) -> Result<String, RegistryError> {
        let realm = params.get("realm").ok_or_else(|| {
            RegistryError::Protocol("bearer challenge without realm".into(), self.host.clone())
        })?;
        let mut req = self.agent.get(realm);
        if let Some(s) = params.get("service") {
            req = req.query("service", s);
        }
        if !repo.is_empty() {
            let actions = match self.access {
                Access::Pull => "pull",
                Access::Push => "pull,push",
            };
            req = req.query("scope", &format!("repository:{repo}:{actions}"));
        }
        if let Some(c) = &self.creds {
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            req = req.set("Authorization", &format!("Basic {b}"));
        }
        let resp = req.call().map_err(|e| match e {
            ureq::Error::Status(_, r) => RegistryError::Unauthorized {
                host: self.host.clone(),
                detail: err_body(r),
            },
            e => self.transport(e),
        })?;
        let v: serde_json::Value = serde_json::from_reader(resp.into_reader().take(1 << 20))
            .map_err(|e| self.transport(e))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .map(String::from)
            .ok_or_else(|| {
                RegistryError::Protocol(
                    "token endpoint answered without a token".into(),
                    self.host.clone(),
                )
            })
    }

    fn map_err(
        &self,
        method: &'static str,
        path: &str,
        what: &str,
        e: ureq::Error,
    ) -> RegistryError {
        match e {
            ureq::Error::Status(404, _) => RegistryError::NotFound {
                host: self.host.clone(),
                what: what.to_string(),
            },
            ureq::Error::Status(401, r) => {
                let body = err_body(r);
                let detail = if self.creds.is_some() {
                    format!("credentials rejected ({body})")
                } else {
                    format!("authentication required ({body})")
                };
                RegistryError::Unauthorized {
                    host: self.host.clone(),
                    detail,
                }
            }
            ureq::Error::Status(403, r) => RegistryError::Unauthorized {
                host: self.host.clone(),
                detail: format!("access denied ({})", err_body(r)),
            },
            ureq::Error::Status(status, r) => RegistryError::Http {
                host: self.host.clone(),
                method,
                path: path.into(),
                status,
                body: err_body(r),
            },
            e => self.transport(e),
        }
    }

    /// GET /v2/ — checks the registry answers and our credentials work.
    pub fn ping(&self) -> Result<(), RegistryError> {
        self.send("GET", "/v2/", &[], "")
            .map(|_| ())
            .map_err(|e| self.map_err("GET", "/v2/", "API endpoint /v2/", e))
    }

    /// GET a manifest by tag or digest. `declared` is its size from the
    /// descriptor that named it (an index entry); reading stops one byte
    /// past it, or past [`MAX_MANIFEST`] when nothing declared a size.
    pub fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
        declared: Option<u64>,
    ) -> Result<Response, RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let what = format!("manifest {}/{repo}:{reference}", self.host);
        if let Some(size) = declared.filter(|s| *s > MAX_MANIFEST) {
            return Err(RegistryError::TooLarge(format!(
                "manifest {reference} declares {size} bytes, more than the {} MiB a manifest may be",
                MAX_MANIFEST >> 20
            )));
        }
        let resp = self
            .send(
                "GET",
                &path,
                &[("Accept", crate::image::manifest::ACCEPT)],
                repo,
            )
            .map_err(|e| self.map_err("GET", &path, &what, e))?;
        let content_type = resp.header("content-type").map(String::from);
        let digest = resp.header("docker-content-digest").map(String::from);
        let mut body = Vec::new();
        Bounded::new(resp.into_reader(), declared.unwrap_or(MAX_MANIFEST))
            .read_to_end(&mut body)
            .map_err(|e| match (limit::exceeded(&e), declared) {
                (Some(size), Some(_)) => RegistryError::TooLarge(format!(
                    "manifest {reference} is larger than its declared size {size}"
                )),
                (Some(_), None) => RegistryError::TooLarge(format!(
                    "{what} is larger than {} MiB, the most a manifest may be",
                    MAX_MANIFEST >> 20
                )),
                (None, _) => self.transport(e),
            })?;
        Ok(Response {
            body,
            content_type,
            digest,
        })
    }

    pub fn get_blob(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Box<dyn Read + Send + Sync>, RegistryError> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let resp = self
            .send("GET", &path, &[], repo)
            .map_err(|e| self.map_err("GET", &path, &format!("blob {digest} in {repo}"), e))?;
        Ok(resp.into_reader())
    }

    /// A small blob (a config) read into memory; reading stops one byte
    /// past its declared `size`.
    pub fn get_blob_bytes(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut v = Vec::new();
        Bounded::new(self.get_blob(repo, digest)?, size)
            .read_to_end(&mut v)
            .map_err(|e| match limit::exceeded(&e) {
                Some(size) => RegistryError::TooLarge(format!(
                    "blob {digest} is larger than its declared size {size}"
                )),
                None => self.transport(e),
            })?;
        Ok(v)
    }

    pub fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        match self.send("HEAD", &path, &[], repo) {
            Ok(_) => Ok(true),
            Err(ureq::Error::Status(404, _)) => Ok(false),
            Err(e) => Err(self.map_err("HEAD", &path, "blob", e)),
        }
    }

    /// Monolithic upload: POST to open an upload session, then PUT the body
    /// with `?digest=` (distribution-spec "Pushing a blob monolithically").
    pub fn upload_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        body: impl Read,
    ) -> Result<(), RegistryError> {
        let path = format!("/v2/{repo}/blobs/uploads/");
        let resp = self
            .send("POST", &path, &[("Content-Length", "0")], repo)
            .map_err(|e| self.map_err("POST", &path, "upload", e))?;
        let location = resp
            .header("location")
            .ok_or_else(|| {
                RegistryError::Protocol("upload session without Location".into(), self.host.clone())
            })?
            .to_string();
        let mut url = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let mut req = self
            .agent
            .put(&url)
            .set("Content-Type", "application/octet-stream")
            .set("Content-Length", &size.to_string());
        if let Some(a) = self.auth_header() {
            req = req.set("Authorization", &a);
        }
        let started = std::time::Instant::now();
        let result = req.send(body);
        log_request("PUT", &url, started, &result);
        result.map_err(|e| self.map_err("PUT", &path, "upload", e))?;
        Ok(())
    }

    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<(), RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        // Authenticate first with a bodiless request, so the PUT goes once.
        if matches!(
            *self.auth.lock().unwrap_or_else(|p| p.into_inner()),
            AuthState::Unknown
        ) {
            let _ = self.has_blob(repo, &Digest::of(b""));
        }
        let mut req = self
            .agent
            .put(&format!("{}{path}", self.base))
            .set("Content-Type", media_type);
        if let Some(a) = self.auth_header() {
            req = req.set("Authorization", &a);
        }
        let started = std::time::Instant::now();
        let result = req.send_bytes(body);
        log_request("PUT", &format!("{}{path}", self.base), started, &result);
        result.map_err(|e| self.map_err("PUT", &path, "manifest", e))?;
        Ok(())
    }

    /// Mark that requests so far needed no auth (saves a probe later).
    pub fn note_anonymous(&self) {
        let mut g = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*g, AuthState::Unknown) {
            *g = AuthState::Anonymous;
        }
    }
}

/// `--log-level debug`: each registry request, its answer and its time.
#[allow(clippy::result_large_err)]
fn log_request(
    method: &str,
    url: &str,
    started: std::time::Instant,
    result: &Result<ureq::Response, ureq::Error>,
) {
    if !crate::log::enabled(crate::log::Level::Debug) {
        return;
    }
    let status = match result {
        Ok(r) => r.status().to_string(),
        Err(ureq::Error::Status(code, _)) => code.to_string(),
        Err(e) => e.to_string(),
    };
    crate::log::debug(&format!(
        "{method} {url} -> {status} ({:.1?})",
        started.elapsed()
    ));
}

/// Parse `Bearer realm="..",service="..",scope="a,b"` (RFC 7235).
pub fn parse_challenge(h: &str) -> (String, BTreeMap<String, String>) {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n)
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                val.push(*c);
                chars.next();
            }
        }
        params.insert(key, val.trim().to_string());
    }
    (scheme.to_string(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(s, "Bearer");
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["service"], "registry.example");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(s, "Basic");
        assert_eq!(p["realm"], "Registry Realm");
    }
}
