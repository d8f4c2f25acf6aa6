//! Image references, parsed and normalised as docker/distribution and
//! containers/image do: `[domain[:port]/]path[:tag][@sha256:hex]`.

use crate::digest::Digest;
use std::fmt;

pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (and port); `None` for a short name not yet resolved.
    pub domain: Option<String>,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReferenceError {
    #[error("invalid reference format {0:?}: repository name must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format {0:?}: expected [registry/]name[:tag][@sha256:digest]")]
    Format(String),
    #[error("invalid reference format {0:?}: repository name is longer than 255 characters")]
    TooLong(String),
}

fn is_path_component(c: &str) -> bool {
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'a'..=b'z' | b'0'..=b'9' => i += 1,
            b'.' => {
                if !b[i + 1].is_ascii_alphanumeric() {
                    return false;
                }
                i += 1;
            }
            b'_' => {
                let run = b[i..].iter().take_while(|&&x| x == b'_').count();
                if run > 2 {
                    return false;
                }
                i += run;
            }
            b'-' => i += b[i..].iter().take_while(|&&x| x == b'-').count(),
            _ => return false,
        }
    }
    true
}

fn is_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || d.starts_with('[') => (h, Some(p)),
        _ => (d, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    if host.starts_with('[') && host.ends_with(']') {
        return host[1..host.len() - 1]
            .parse::<std::net::Ipv6Addr>()
            .is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

impl Reference {
    /// Parse without resolving short names (`domain` stays `None` when the
    /// first component is not a registry host).
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let bad = || ReferenceError::Format(s.into());
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.parse::<Digest>().map_err(|_| bad())?)),
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag
            && !is_tag(t)
        {
            return Err(bad());
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.starts_with('[') =>
            {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        if let Some(d) = domain
            && !is_domain(d)
        {
            return Err(bad());
        }
        if path.is_empty() {
            return Err(bad());
        }
        for c in path.split('/') {
            if !is_path_component(c) {
                if is_path_component(&c.to_ascii_lowercase()) {
                    return Err(ReferenceError::Uppercase(s.into()));
                }
                return Err(bad());
            }
        }
        if name.len() > 255 {
            return Err(ReferenceError::TooLong(s.into()));
        }
        Ok(Reference {
            domain: domain.map(String::from),
            path: path.into(),
            tag: tag.map(String::from),
            digest,
        })
    }

    /// Parse and qualify with `domain` if the name is short, adding
    /// `library/` for Docker Hub's official images.
    pub fn qualified(mut self, domain: &str) -> Reference {
        if self.domain.is_none() {
            self.domain = Some(domain.into());
        }
        if self.domain.as_deref() == Some(DOCKER_HUB) && !self.path.contains('/') {
            self.path = format!("library/{}", self.path);
        }
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }

    pub fn domain(&self) -> &str {
        self.domain.as_deref().unwrap_or("")
    }

    /// `domain/path`, the repository.
    pub fn repo(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// What to ask the registry for: the digest if pinned, else the tag.
    pub fn lookup(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// The name stored for this image: `repo:tag` (podman stores a digest
    /// reference as `repo@digest` when no tag was given).
    pub fn stored_name(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.repo()),
            (None, Some(d)) => format!("{}@{d}", self.repo()),
            (None, None) => format!("{}:latest", self.repo()),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repo())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Split a stored `repo:tag` or `repo@digest` name into (repo, tag-or-digest
/// display), for listings: ("docker.io/library/busybox", "latest").
pub fn split_name(name: &str) -> (&str, &str) {
    if let Some((r, d)) = name.split_once('@') {
        return (r, d);
    }
    let slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], &name[slash + i + 1..]),
        None => (name, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        Reference::parse(s)
            .unwrap()
            .qualified(DOCKER_HUB)
            .to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(q("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(q("user/app:1.0"), "docker.io/user/app:1.0");
        assert_eq!(q("localhost/app"), "localhost/app:latest");
        assert_eq!(q("127.0.0.1:5000/a/b/c:v1"), "127.0.0.1:5000/a/b/c:v1");
        assert_eq!(
            q(
                "quay.io/x/y@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            "quay.io/x/y@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(q("[::1]:5000/img"), "[::1]:5000/img:latest");
        let r = Reference::parse("busybox:1.36").unwrap();
        assert_eq!(r.domain, None);
        assert_eq!(r.tag.as_deref(), Some("1.36"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            ":tag",
            "a:",
            "a@sha256:123",
            "a//b",
            "-a",
            "a-",
            "a:b:c",
            "a/b:t@",
            "a___b",
            "host:port/x",
            "a b",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            Reference::parse("BusyBox"),
            Err(ReferenceError::Uppercase("BusyBox".into()))
        );
        assert!(Reference::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn components() {
        for ok in ["a.b", "a_b", "a__b", "a---b", "a1"] {
            assert!(is_path_component(ok), "{ok}");
        }
        assert!(!is_path_component("a..b"));
        assert!(!is_path_component("a."));
    }

    #[test]
    fn names() {
        assert_eq!(
            split_name("docker.io/library/busybox:latest"),
            ("docker.io/library/busybox", "latest")
        );
        assert_eq!(
            split_name("127.0.0.1:5000/x"),
            ("127.0.0.1:5000/x", "latest")
        );
        let r = Reference::parse("127.0.0.1:5000/x@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").unwrap();
        assert!(r.stored_name().contains('@'));
    }
}
