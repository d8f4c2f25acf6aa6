//! Image formats: OCI and Docker schema2 manifests, indexes, image configs,
//! and the archive formats (`save`/`load`/`import`).

pub mod archive;
pub mod config;
pub mod dir;
pub mod lists;
pub mod manifest;
pub mod members;

pub use config::ImageConfig;
pub use manifest::{Descriptor, Index, Manifest, Platform};

/// A JSON error without the input it quotes. serde's messages quote
/// values (`invalid type: string "...", expected ...`), which for bytes
/// that are not what they claim to be (a host file an archive names, a
/// registry's answer) would print their contents. What is left says what
/// kind of mistake it is and where (line and column), and keeps the names
/// of berth's own fields (`missing field `Layers``).
pub fn json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' && c != '`' {
            out.push(c);
            continue;
        }
        let keep =
            c == '`' && (out.ends_with("missing field ") || out.ends_with("duplicate field "));
        let mut span = String::new();
        let mut closed = false;
        while let Some(d) = chars.next() {
            if d == '\\' && c == '"' {
                if let Some(n) = chars.next() {
                    span.push(d);
                    span.push(n);
                }
                continue;
            }
            if d == c {
                closed = true;
                break;
            }
            span.push(d);
        }
        out.push(c);
        out.push_str(if keep { &span } else { "…" });
        if closed {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::json_error;

    fn err<T: serde::de::DeserializeOwned + std::fmt::Debug>(s: &str) -> String {
        json_error(&serde_json::from_str::<T>(s).unwrap_err())
    }

    #[test]
    fn json_errors_quote_no_input() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct S {
            layers: Vec<String>,
        }
        let e = err::<S>(r#"{"layers": "root:$6$secret\"x"}"#);
        assert!(!e.contains("secret"), "{e}");
        assert!(e.contains("invalid type") && e.contains("line 1"), "{e}");
        let e = err::<S>(r#"{"layers": 12345}"#);
        assert!(!e.contains("12345"), "{e}");
        let e = err::<S>("{}");
        assert!(e.contains("missing field `layers`"), "{e}");
        let e = err::<S>("root:x:0:0:root:/root:/bin/sh");
        assert!(!e.contains("root"), "{e}");
        let e = err::<crate::digest::Digest>(r#""sha256:SECRET""#);
        assert!(!e.contains("SECRET"), "{e}");
    }
}
