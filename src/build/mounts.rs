//! `RUN --mount=...`: what each mount gives the step's container, and what
//! the cache key must cover.
//!
//! A bind's source is the context or another image, never a path the
//! Dockerfile can steer onto the host: a context source is resolved beneath
//! the context root and bound by the real path the kernel resolved it to
//! (or as a copy, when the step may write or `.dockerignore` leaves part of
//! it out); a `from=` source is resolved inside the image's own root
//! through the layer view and copied out of the layers. CVE-2024-1753
//! (buildah): `from=` an image whose symlink led to `/` bound the host's
//! root into the step.

use super::BuildError;
use super::context::ContextError;
use super::copy::{self, Owner};
use super::run::view_of;
use super::stage::{At, Builder, Image};
use super::view::{Found, View};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The step's mounts as the container gets them.
pub(super) struct Mounts {
    /// (host source, destination, read-only)
    pub binds: Vec<(String, String, bool)>,
    pub tmpfs: Vec<String>,
    /// What the cache key must cover (the content of bound context files,
    /// the images bound from).
    pub inputs: String,
    /// Temp trees made for binds, removed after the step.
    pub temps: Vec<PathBuf>,
}

/// A destination inside the container: absolute, and without `..` (the
/// rule `--mount` on the command line keeps).
fn target(spec: &str, t: Option<String>, wd: &str, at: &At) -> Result<String, BuildError> {
    let t = t.ok_or_else(|| at.err(format!("--mount {spec}: target= is required")))?;
    let abs = if t.starts_with('/') {
        t
    } else {
        format!("{wd}/{t}")
    };
    if abs.split('/').any(|c| c == "..") {
        return Err(at.err(format!("--mount {spec}: the target must not contain ..")));
    }
    Ok(abs)
}

pub(super) fn mounts(
    b: &mut Builder,
    raw: &[String],
    img: &Image,
    at: &At,
) -> Result<Mounts, BuildError> {
    let mut m = Mounts {
        binds: vec![],
        tmpfs: vec![],
        inputs: String::new(),
        temps: vec![],
    };
    let wd = img.str_field("WorkingDir");
    for spec in raw {
        let mut o = BTreeMap::new();
        for kv in spec.split(',') {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            o.insert(k.trim().to_string(), v.trim().to_string());
        }
        let get = |k: &[&str]| k.iter().find_map(|k| o.get(*k).cloned());
        let kind = get(&["type"]).unwrap_or_else(|| "bind".into());
        let dest = get(&["target", "dst", "destination"]);
        let ro = o.contains_key("ro") || o.contains_key("readonly");
        match kind.as_str() {
            "bind" => {
                let t = target(spec, dest, &wd, at)?;
                let source = copy::clean(&get(&["source", "src"]).unwrap_or_default());
                // Docker's bind mounts in RUN are read-only unless rw is
                // given, and what the step writes there is discarded.
                let rw = o.contains_key("rw") || o.contains_key("readwrite");
                let (host, read_only) = match get(&["from"]) {
                    Some(f) => {
                        let src_img = match b.stage_image(&f, usize::MAX) {
                            Some(i) => i,
                            None => {
                                let rec = b.host.base_image(b.engine, &f).map_err(|e| at.err(e))?;
                                b.load(rec).map_err(|e| at.err(e))?
                            }
                        };
                        let view = view_of(b, &src_img);
                        let rel = view.resolve(&source, true);
                        let top = view.lookup(&rel).ok_or_else(|| {
                            at.err(format!(
                                "--mount {spec}: {source}: no such file or directory in the source image"
                            ))
                        })?;
                        let dir = b.engine.store.temp_path("bind-from");
                        m.temps.push(dir.clone());
                        materialize(&view, &rel, &top, &dir)
                            .map_err(|e| at.err(format!("--mount {spec}: {e}")))?;
                        m.inputs.push_str(&format!("from {} ", src_img.id_text()));
                        // Hard links into the layers: never writable.
                        (dir, true)
                    }
                    None => {
                        let escapes = |e: ContextError| match e {
                            ContextError::Escapes(_) => at.escapes(format!("--mount={spec}")),
                            other => at.err(format!("--mount {spec}: {other}")),
                        };
                        let src = b.ctx().resolve(&source).map_err(escapes)?.ok_or_else(|| {
                            at.err(format!(
                                "--mount {spec}: {source}: not found in the build context or excluded by .dockerignore"
                            ))
                        })?;
                        let mut es = Vec::new();
                        let left_out = b
                            .ctx()
                            .entries(&src, "", Owner::default(), &mut es)
                            .map_err(escapes)?;
                        let h = copy::content_hash(&es).map_err(|e| at.err(e.to_string()))?;
                        m.inputs.push_str(&format!("ctx {source} {h} "));
                        if rw || left_out {
                            // A copy: writes must not reach the user's
                            // files, and excluded files must not be seen
                            // (buildkit mounts the context it was sent,
                            // .dockerignore applied).
                            let dir = b.engine.store.temp_path("bind-context");
                            m.temps.push(dir.clone());
                            copy::write_tree(&es, &dir)
                                .map_err(|e| at.err(format!("--mount {spec}: {e}")))?;
                            (dir, !rw)
                        } else {
                            (b.ctx().host_path(&src), true)
                        }
                    }
                };
                m.binds.push((host.display().to_string(), t, read_only));
            }
            "cache" => {
                let t = target(spec, dest, &wd, at)?;
                let id = get(&["id"]).unwrap_or_else(|| t.clone());
                let dir = b
                    .engine
                    .store
                    .root()
                    .join("build-cache")
                    .join(crate::digest::Digest::of(id.as_bytes()).hex());
                std::fs::create_dir_all(&dir)
                    .map_err(|e| at.err(format!("cache mount {id}: {e}")))?;
                m.binds.push((dir.display().to_string(), t, ro));
            }
            "secret" => {
                let id = get(&["id"])
                    .ok_or_else(|| at.err(format!("--mount {spec}: id= is required")))?;
                let t = match dest {
                    Some(_) => target(spec, dest, &wd, at)?,
                    None => format!("/run/secrets/{id}"),
                };
                match b.o.secrets.get(&id) {
                    Some(src) => m.binds.push((src.display().to_string(), t, true)),
                    None if o.contains_key("required") => {
                        return Err(at.err(format!(
                            "secret {id} is required: give it with --secret id={id},src=PATH"
                        )));
                    }
                    None => {}
                }
            }
            "tmpfs" => {
                m.tmpfs.push(target(spec, dest, &wd, at)?);
            }
            other => {
                return Err(at.err(format!(
                    "--mount type {other:?} is not supported (bind, cache, secret, tmpfs)"
                )));
            }
        }
    }
    Ok(m)
}

/// Image path `rel` (already resolved in the image, `top` its entry) as a
/// tree at `dir`: hard links into the layers where possible. Links are
/// made as links, never followed on the host.
fn materialize(view: &View, rel: &str, top: &Found, dir: &Path) -> std::io::Result<()> {
    let place = |f: &Found, p: &Path| {
        if f.meta.is_dir() {
            std::fs::create_dir_all(p)
        } else if f.meta.file_type().is_symlink() {
            std::fs::read_link(&f.host).and_then(|t| std::os::unix::fs::symlink(t, p))
        } else if f.meta.is_file() {
            std::fs::hard_link(&f.host, p).or_else(|_| std::fs::copy(&f.host, p).map(drop))
        } else {
            // A fifo or device of the image: copying it would block or
            // make a node; the step does without, as with COPY --from.
            Ok(())
        }
    };
    if top.meta.file_type().is_symlink() {
        // View::resolve stops following after 40 links, as the kernel does.
        return Err(std::io::Error::other(
            "too many levels of symbolic links in the source image",
        ));
    }
    place(top, dir)?;
    if !top.meta.is_dir() {
        return Ok(());
    }
    let mut err = None;
    view.walk(rel, &mut |sub, f| {
        let below = sub.strip_prefix(rel).unwrap_or(sub).trim_start_matches('/');
        if let Err(e) = place(f, &dir.join(below)) {
            err.get_or_insert(e);
        }
    });
    err.map_or(Ok(()), Err)
}
