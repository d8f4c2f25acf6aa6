//! The steps that make layers: WORKDIR (when the directory is new),
//! COPY/ADD (a tar made from the entries, no container) and RUN (a real
//! container, its upper dir committed), and `--squash`.

use super::context::{ContextError, Source};
use super::copy::{self, Entry, Kind, Owner};
use super::dockerfile::{Args, CopySpec, Heredoc, Stage};
use super::stage::{At, Builder, Image};
use super::view::View;
use super::{BuildError, RunSpec};
use crate::storage::LayerInfo;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn view_of(b: &Builder, img: &Image) -> View {
    View::new(
        img.layers
            .iter()
            .map(|l| b.engine.store.layer_diff(&l.chain_id))
            .collect(),
        b.engine.paths.rootless,
    )
}

fn now() -> u64 {
    crate::state::images::now().max(0) as u64
}

/// Directory entries for every missing parent of `rel` (and `rel` itself
/// with `inclusive`), as Docker creates them: 0755, root or `--chown`.
fn ensure_dirs(
    view: &View,
    rel: &str,
    inclusive: bool,
    ids: Option<(u32, u32)>,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<Entry>,
) {
    let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
    let n = if inclusive {
        parts.len()
    } else {
        parts.len().saturating_sub(1)
    };
    for i in 1..=n {
        let p = parts[..i].join("/");
        if view.lookup(&p).is_some() || !seen.insert(p.clone()) {
            continue;
        }
        let (uid, gid) = ids.unwrap_or((0, 0));
        out.push(Entry {
            path: p,
            kind: Kind::Dir,
            mode: 0o755,
            uid,
            gid,
            mtime: now(),
        });
    }
}

/// Turn entries into a layer on top of `img`: the tar is written on a
/// thread into a pipe and unpacked and compressed as it arrives.
fn layer_from_entries(
    b: &Builder,
    img: &Image,
    mut entries: Vec<Entry>,
) -> Result<LayerInfo, String> {
    if let Some(t) = b.o.timestamp {
        for e in &mut entries {
            e.mtime = t.max(0) as u64;
        }
    }
    let (r, w) = std::io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
    let writer = std::thread::spawn(move || copy::write_tar(&entries, w).map(drop));
    let parent = img.layers.last().map(|l| &l.chain_id);
    let info = b.engine.store.import_layer(r, parent);
    let wrote = writer
        .join()
        .map_err(|_| "the layer writer panicked".to_string())?;
    wrote.map_err(|e| format!("writing the layer: {e}"))?;
    info.map_err(|e| e.to_string())
}

pub fn workdir(b: &mut Builder, img: Image, abs: &str, at: &At) -> Result<Image, BuildError> {
    let by = format!("/bin/sh -c #(nop) WORKDIR {abs}");
    let key = b.key(&img, &by, "");
    if let Some(hit) = b.cached(&img, &key) {
        return Ok(hit);
    }
    let view = view_of(b, &img);
    let rel = view.resolve(abs.trim_start_matches('/'), true);
    let mut cfg = img.config.clone();
    cfg["config"]["WorkingDir"] = serde_json::json!(abs);
    if view.lookup(&rel).is_some() || rel.is_empty() {
        return b.commit(&img, cfg, None, Some(&by), &key);
    }
    // Docker creates a missing WORKDIR; that directory is a layer.
    let mut entries = Vec::new();
    ensure_dirs(&view, &rel, true, None, &mut BTreeSet::new(), &mut entries);
    let layer = layer_from_entries(b, &img, entries).map_err(|e| at.err(e))?;
    b.commit(&img, cfg, Some(layer), Some(&by), &key)
}

/// Expand a heredoc body as Docker does for an unquoted delimiter: like
/// the inside of double quotes, so quotes in it stay.
fn heredoc_body(b: &Builder, h: &Heredoc, env: &[(String, String)]) -> Result<String, String> {
    if !h.expand {
        return Ok(h.body.clone());
    }
    let esc = b.lexer().escape;
    let quoted = format!("\"{}\"", h.body.replace('"', &format!("{esc}\"")));
    b.lexer().word(&quoted, &|k| {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
}

enum Src {
    /// The source as written, and what it found in the context.
    Context(String, Source),
    Image(String),
    Heredoc(String, Vec<u8>),
    Url(String),
}

pub fn copy(
    b: &mut Builder,
    s: &Stage,
    img: Image,
    c: &CopySpec,
    add: bool,
    env: &[(String, String)],
    at: &At,
) -> Result<Image, BuildError> {
    let name = if add { "ADD" } else { "COPY" };
    if c.parents || !c.exclude.is_empty() {
        return Err(at.err("--parents and --exclude are not supported; list the sources instead"));
    }
    let lx = b.lexer();
    let getenv = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let word = |w: &str| lx.word(w, &getenv).map_err(|e| at.err(e));
    let from = match c.from.as_deref() {
        Some(f) => {
            let f = word(f)?;
            match b.stage_image(&f, s.index) {
                Some(i) => Some(i),
                None => {
                    let rec = b.host.base_image(b.engine, &f).map_err(|e| at.err(e))?;
                    Some(b.load(rec).map_err(|e| at.err(e))?)
                }
            }
        }
        None => None,
    };
    let mut srcs = Vec::new();
    for raw in &c.srcs {
        if let Some(h) = c.heredoc(raw) {
            let body = heredoc_body(b, h, env).map_err(|e| at.err(e))?;
            srcs.push(Src::Heredoc(h.name.clone(), body.into_bytes()));
            continue;
        }
        let w = word(raw)?;
        let is_url = w.starts_with("http://") || w.starts_with("https://");
        if is_url && !add {
            // buildah's text.
            return Err(at.err("source can't be a URL for COPY"));
        }
        if is_url {
            srcs.push(Src::Url(w));
        } else if let Some(f) = &from {
            let v = view_of(b, f);
            let rel = copy::clean(&w);
            if copy::has_glob(&rel) {
                return Err(at.err(format!("wildcards are not supported with --from: {w}")));
            }
            if v.lookup(&v.resolve(&rel, true)).is_none() {
                return Err(at.err(format!(
                    "{w}: no such file or directory in the source image"
                )));
            }
            srcs.push(Src::Image(rel));
        } else {
            let found = b.ctx().sources(&w).map_err(|e| context_err(at, &w, e))?;
            if found.is_empty() {
                return Err(at.err(if copy::has_glob(&w) {
                    format!("no source files were specified (nothing in the context matches {w:?})")
                } else {
                    format!("file not found in build context or excluded by .dockerignore: stat {w}: file does not exist")
                }));
            }
            srcs.extend(found.into_iter().map(|f| Src::Context(w.clone(), f)));
        }
    }
    if srcs.is_empty() {
        return Err(at.err("no source files were specified"));
    }
    let dest_raw = word(&c.dest)?;
    let wd = img.str_field("WorkingDir");
    let abs = if dest_raw.starts_with('/') {
        dest_raw.clone()
    } else {
        format!("{}/{dest_raw}", if wd.is_empty() { "/" } else { &wd })
    };
    let view = view_of(b, &img);
    let rdest = view.resolve(&copy::clean(&abs), true);
    let exists_dir = rdest.is_empty() || view.lookup(&rdest).is_some_and(|f| f.meta.is_dir());
    let dir_syntax = dest_raw.ends_with('/') || dest_raw == "." || dest_raw.ends_with("/.");
    if srcs.len() > 1 && !dir_syntax && !exists_dir {
        return Err(at.err(format!(
            "When using {name} with more than one source file, the destination must be a directory and end with a /"
        )));
    }
    let into_dir = dir_syntax || exists_dir || srcs.len() > 1;
    let ids = match &c.chown {
        Some(spec) => Some(super::view::chown_ids(&view, &word(spec)?).map_err(|e| at.err(e))?),
        None => None,
    };
    let chmod = match &c.chmod {
        Some(m) => Some(
            u32::from_str_radix(m, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    at.err(format!(
                        "invalid --chmod {m:?}: use an octal mode like 0755"
                    ))
                })?,
        ),
        None => None,
    };
    let owner = Owner { ids, chmod };
    let mut entries = Vec::new();
    let mut seen = BTreeSet::new();
    let mut temps = Vec::new();
    let mut kinds = BTreeSet::new();
    let target_for = |base: &str| {
        if into_dir {
            copy::join(&rdest, base)
        } else {
            rdest.clone()
        }
    };
    for src in &srcs {
        let mut out = Vec::new();
        match src {
            Src::Heredoc(n, body) => {
                kinds.insert("file");
                let t = target_for(n);
                ensure_dirs(&view, &t, false, ids, &mut seen, &mut entries);
                let mut e = Entry {
                    path: t,
                    kind: Kind::Data(body.clone()),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    mtime: now(),
                };
                owner.apply(&mut e, (0, 0));
                out.push(e);
            }
            Src::Url(u) => {
                kinds.insert("file");
                let tmp = b.engine.store.temp_path("add-url");
                fetch(u, &tmp).map_err(|e| at.err(e))?;
                let base = u
                    .split(['?', '#'])
                    .next()
                    .and_then(|p| p.rsplit('/').next())
                    .filter(|n| !n.is_empty())
                    .unwrap_or("index.html")
                    .to_string();
                let t = target_for(&base);
                ensure_dirs(&view, &t, false, ids, &mut seen, &mut entries);
                // Docker: files fetched by ADD get mode 0600.
                let mut e = Entry {
                    path: t,
                    kind: Kind::File(tmp.clone()),
                    mode: 0o600,
                    uid: 0,
                    gid: 0,
                    mtime: now(),
                };
                owner.apply(&mut e, (0, 0));
                out.push(e);
                temps.push(tmp);
            }
            Src::Image(rel) => {
                let v = view_of(b, from.as_ref().unwrap_or(&img));
                let is_dir = v
                    .lookup(&v.resolve(rel, true))
                    .is_some_and(|f| f.meta.is_dir());
                let t = if is_dir {
                    rdest.clone()
                } else {
                    target_for(base_name(rel))
                };
                ensure_dirs(&view, &t, is_dir, ids, &mut seen, &mut entries);
                kinds.insert(if is_dir { "dir" } else { "file" });
                copy::image_entries(&v, rel, &t, owner, &mut out);
                if is_dir && out.first().is_some_and(|e| e.path == t) {
                    // The directory itself is not copied, only its contents.
                    out.remove(0);
                }
            }
            Src::Context(written, src) => {
                let t = if src.is_dir {
                    rdest.clone()
                } else {
                    target_for(base_name(&src.name))
                };
                ensure_dirs(&view, &t, src.is_dir, ids, &mut seen, &mut entries);
                let archive = match add && !src.is_dir {
                    true => {
                        let mut f = b.ctx().file(src).map_err(|e| context_err(at, written, e))?;
                        copy::is_archive(&mut f)
                            .map_err(|e| at.err(format!("{written}: {e}")))?
                            .then_some(f)
                    }
                    false => None,
                };
                if let Some(f) = archive {
                    kinds.insert("file");
                    let r = copy::archive_reader(f)
                        .map_err(|e| at.err(format!("unpacking {written}: {e}")))?;
                    ensure_dirs(&view, &rdest, true, ids, &mut seen, &mut entries);
                    copy::tar_entries(r, &rdest, &mut out)
                        .map_err(|e| at.err(format!("unpacking {written}: {e}")))?;
                } else {
                    kinds.insert(if src.is_dir { "dir" } else { "file" });
                    b.ctx()
                        .entries(src, &t, owner, &mut out)
                        .map_err(|e| context_err(at, written, e))?;
                    if src.is_dir && out.first().is_some_and(|e| e.path == t) {
                        out.remove(0);
                    }
                }
            }
        }
        entries.extend(out);
    }
    let hash = copy::content_hash(&entries).map_err(|e| at.err(format!("reading sources: {e}")))?;
    let kind = if srcs.len() > 1 {
        "multi"
    } else {
        kinds.into_iter().next().unwrap_or("file")
    };
    let mut flags = String::new();
    if let Some(f) = &from {
        flags.push_str(&format!(" --from={}", f.id_text()));
    }
    let by = format!("/bin/sh -c #(nop) {name}{flags} {kind}:{hash} in {abs} ");
    let key = b.key(&img, &by, "");
    let r = match b.cached(&img, &key) {
        Some(hit) => Ok(hit),
        None => {
            let layer = layer_from_entries(b, &img, entries).map_err(|e| at.err(e))?;
            let cfg = img.config.clone();
            b.commit(&img, cfg, Some(layer), Some(&by), &key)
        }
    };
    for t in temps {
        let _ = std::fs::remove_file(t);
    }
    r
}

fn base_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// A context error as the step's error: an escape names the source as
/// written (and the match, for a glob).
pub(super) fn context_err(at: &At, written: &str, e: ContextError) -> BuildError {
    match e {
        ContextError::Escapes(p) if p == copy::clean(written) => at.escapes(written),
        ContextError::Escapes(p) => at.escapes(format!("{written} ({p})")),
        other => at.err(other.to_string()),
    }
}

/// ADD of a URL: fetched over HTTP(S) into `dest`.
fn fetch(url: &str, dest: &std::path::Path) -> Result<(), String> {
    let resp = ureq::get(url)
        .call()
        .map_err(|e| format!("fetching {url}: {e}"))?;
    let mut f = std::fs::File::create(dest).map_err(|e| format!("saving {url}: {e}"))?;
    std::io::copy(&mut resp.into_reader(), &mut f).map_err(|e| format!("fetching {url}: {e}"))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    b: &mut Builder,
    img: Image,
    raw_mounts: &[String],
    network: Option<&str>,
    a: &Args,
    heredocs: &[Heredoc],
    args: &BTreeMap<String, String>,
    at: &At,
) -> Result<Image, BuildError> {
    let form = match (a, heredocs) {
        (Args::Shell(s), [h])
            if s.trim()
                .trim_start_matches('<')
                .trim_start_matches('-')
                .trim_matches(['"', '\''])
                == h.name =>
        {
            // `RUN <<EOF`: the heredoc is the script.
            Args::Shell(h.body.clone())
        }
        (Args::Shell(s), hs) if !hs.is_empty() => {
            // The shell sees the heredocs itself, as it would in a script.
            let mut text = s.clone();
            for h in hs {
                text.push_str(&format!("\n{}{}", h.body, h.name));
            }
            text.push('\n');
            Args::Shell(text)
        }
        _ => a.clone(),
    };
    let argv = b.argv(&img, &form);
    let build_env: Vec<String> = args
        .iter()
        .filter(|(k, _)| img.env_get(k).is_none())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let by = if build_env.is_empty() {
        argv.join(" ")
    } else {
        format!(
            "|{} {} {}",
            build_env.len(),
            build_env.join(" "),
            argv.join(" ")
        )
    };
    let m = super::mounts::mounts(b, raw_mounts, &img, at)?;
    let key = b.key(&img, &by, &format!("{raw_mounts:?} {}", m.inputs));
    let r = match b.cached(&img, &key) {
        Some(hit) => Ok(hit),
        None => run_container(b, &img, argv, build_env, network, &m, &by, &key, at),
    };
    for t in &m.temps {
        let _ = b.engine.store.remove_path(t);
    }
    r
}

#[allow(clippy::too_many_arguments)]
fn run_container(
    b: &mut Builder,
    img: &Image,
    argv: Vec<String>,
    build_env: Vec<String>,
    network: Option<&str>,
    m: &super::mounts::Mounts,
    by: &str,
    key: &str,
    at: &At,
) -> Result<Image, BuildError> {
    let rec = img
        .rec
        .clone()
        .ok_or_else(|| at.err("RUN needs a command in the image; FROM scratch has none"))?;
    let mut env = img.env();
    env.extend(build_env);
    let wd = img.str_field("WorkingDir");
    let spec = RunSpec {
        args: argv,
        env,
        user: img.str_field("User"),
        workdir: if wd.is_empty() { "/".into() } else { wd },
        network: network.unwrap_or(&b.o.network).to_string(),
        binds: m.binds.clone(),
        tmpfs: m.tmpfs.clone(),
        quiet: b.o.quiet,
    };
    let (row, code) = b.host.run(b.engine, &rec, &spec).map_err(|e| match e {
        super::RunError::Setup(m) => at.err(m),
        // buildah reports the runtime's own exit status; runc and crun exit
        // 1 on any error of theirs, and `podman build` exits with it.
        super::RunError::Start(m) => BuildError::Step {
            step: at.text.clone(),
            file: at.file.to_string(),
            line: at.line,
            instr: at.instr.clone(),
            msg: format!("while running runtime: exit status 1: {m}"),
            code: Some(1),
        },
    })?;
    let result = (|| {
        if code != 0 {
            // buildah's text, then the command.
            return Err(BuildError::Step {
                step: at.text.clone(),
                file: at.file.to_string(),
                line: at.line,
                instr: at.instr.clone(),
                msg: format!(
                    "while running runtime: exit status {code}: {}",
                    spec.args.join(" ")
                ),
                code: Some(code),
            });
        }
        let view = view_of(b, img);
        let upper = b.engine.container_dir(&row.id).join("upper");
        // Mount points the runtime made for binds are not the step's
        // changes: drop the empty parents it created for them.
        // So are the files every container gets where its image has none:
        // /run/.containerenv's mount point and the /etc/mtab link (buildah
        // commits neither).
        let dests = m
            .binds
            .iter()
            .map(|(_, d, _)| d.clone())
            .chain(m.tmpfs.iter().cloned())
            .chain(["/run/.containerenv".to_string(), "/etc/mtab".to_string()]);
        for d in dests {
            let rel = copy::clean(&d);
            if view.lookup(&rel).is_none() {
                let host = upper.join(&rel);
                let empty_file =
                    std::fs::symlink_metadata(&host).is_ok_and(|m| m.is_file() && m.len() == 0);
                let mounts_link = std::fs::read_link(&host)
                    .is_ok_and(|t| t == std::path::Path::new("/proc/mounts"));
                if empty_file || mounts_link {
                    let _ = std::fs::remove_file(&host);
                } else {
                    let _ = std::fs::remove_dir(&host);
                }
            }
            let mut p = rel
                .rsplit_once('/')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
            while !p.is_empty() && view.lookup(&p).is_none() {
                let host = upper.join(&p);
                if std::fs::remove_dir(&host).is_err() {
                    break;
                }
                p = p
                    .rsplit_once('/')
                    .map(|(p, _)| p.to_string())
                    .unwrap_or_default();
            }
        }
        let parent = img.layers.last().map(|l| &l.chain_id);
        let layer = match b.o.timestamp {
            None => b
                .engine
                .changes_layer(&row, parent)
                .map_err(|e| at.err(e.to_string()))?,
            Some(t) => stamped_changes(b, &row, parent, t).map_err(|e| at.err(e))?,
        };
        b.commit(img, img.config.clone(), Some(layer), Some(by), key)
    })();
    let _ = b.engine.remove_container(&row, true);
    result
}

/// A RUN step's changes as a layer whose files all carry time `t`
/// (`--timestamp`).
fn stamped_changes(
    b: &Builder,
    row: &crate::state::containers::ContainerRow,
    parent: Option<&crate::digest::Digest>,
    t: i64,
) -> Result<LayerInfo, String> {
    let tmp = b.engine.store.temp_path("commit-layer");
    let r = (|| {
        let f = std::fs::File::create(&tmp).map_err(|e| format!("creating the layer: {e}"))?;
        let mut w = super::timestamp::MtimeTar::new(std::io::BufWriter::new(f), t.max(0) as u64);
        b.engine
            .changes_tar(row, &mut w)
            .map_err(|e| e.to_string())?;
        w.finish().map_err(|e| format!("writing the layer: {e}"))?;
        let f = std::fs::File::open(&tmp).map_err(|e| format!("reading the layer: {e}"))?;
        b.engine
            .store
            .import_layer(f, parent)
            .map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_file(&tmp);
    r
}

/// `--squash`: the layers the build added, as one.
pub fn squash(b: &mut Builder, fin: &Image) -> Result<Image, BuildError> {
    let base = fin.base_layers.min(fin.layers.len());
    if fin.layers.len() - base <= 1 {
        return Ok(fin.clone());
    }
    let new: Vec<LayerInfo> = fin.layers[base..].to_vec();
    let mut parent = fin.clone();
    parent.layers.truncate(base);
    let store_blobs: Vec<std::path::PathBuf> = new
        .iter()
        .map(|l| b.engine.store.blob_path(&l.blob_digest))
        .collect();
    let (r, w) = std::io::pipe().map_err(|e| BuildError::Other(e.to_string()))?;
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut out = tar::Builder::new(w);
        for p in store_blobs {
            let f = std::fs::File::open(&p)?;
            let mut a = tar::Archive::new(flate2::read::MultiGzDecoder::new(
                std::io::BufReader::new(f),
            ));
            for e in a.entries()? {
                let mut e = e?;
                let mut h = e.header().clone();
                let path = e.path()?.into_owned();
                if let Some(l) = e.link_name()? {
                    let l = l.into_owned();
                    out.append_link(&mut h, &path, &l)?;
                } else {
                    out.append_data(&mut h, &path, &mut e)?;
                }
            }
        }
        out.into_inner().map(drop)
    });
    let info = b
        .engine
        .store
        .import_layer(r, parent.layers.last().map(|l| &l.chain_id));
    writer
        .join()
        .map_err(|_| BuildError::Other("the squash writer panicked".into()))?
        .map_err(|e| BuildError::Other(format!("squashing layers: {e}")))?;
    let info = info.map_err(|e| BuildError::Other(e.to_string()))?;
    let mut cfg = fin.config.clone();
    let diffs: Vec<serde_json::Value> = parent
        .layers
        .iter()
        .map(|l| serde_json::json!(l.diff_id))
        .chain(std::iter::once(serde_json::json!(info.diff_id)))
        .collect();
    // Keep the history, marking all but the last of the build's layer
    // entries empty so entries and layers still line up.
    if let Some(h) = cfg["history"].as_array_mut() {
        let mut seen = 0;
        let total_nonempty = h
            .iter()
            .filter(|e| !e["empty_layer"].as_bool().unwrap_or(false))
            .count();
        for e in h.iter_mut() {
            if e["empty_layer"].as_bool().unwrap_or(false) {
                continue;
            }
            seen += 1;
            if seen > base && seen < total_nonempty {
                e["empty_layer"] = serde_json::json!(true);
            }
        }
    }
    let mut diffs = diffs;
    diffs.pop();
    cfg["rootfs"]["diff_ids"] = serde_json::json!(diffs);
    let key = b.key(fin, "--squash", "");
    b.commit(&parent, cfg, Some(info), None, &key)
}
