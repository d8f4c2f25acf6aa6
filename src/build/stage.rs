//! Running the stages: which ones the target needs, ARG scoping, the
//! cache, and each instruction's effect on the image config.

use super::dockerfile::{ArgDecl, Args, Cmd, Dockerfile, Instruction, Stage};
use super::lex::Lexer;
use super::{BuildError, BuildOptions, Host};
use crate::digest::Digest;
use crate::engine::Engine;
use crate::state::images::ImageRecord;
use crate::storage::LayerInfo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// An image being built: its record (None for `scratch` before any step),
/// config document and layers.
#[derive(Clone)]
pub struct Image {
    pub rec: Option<ImageRecord>,
    pub config: Value,
    pub layers: Vec<LayerInfo>,
    /// How many layers came from the stage's base (`--squash` keeps them).
    pub base_layers: usize,
}

impl Image {
    pub fn id_text(&self) -> String {
        self.rec
            .as_ref()
            .map(|r| r.id.to_string())
            .unwrap_or_else(|| "scratch".into())
    }

    pub fn run_config(&self) -> &Value {
        &self.config["config"]
    }

    pub fn env(&self) -> Vec<String> {
        self.run_config()["Env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn env_get(&self, k: &str) -> Option<String> {
        self.env()
            .iter()
            .find_map(|e| e.strip_prefix(k)?.strip_prefix('=').map(String::from))
    }

    pub fn str_field(&self, k: &str) -> String {
        self.run_config()[k]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Where a step is, for error messages.
pub struct At<'a> {
    pub file: &'a str,
    pub line: usize,
    pub instr: String,
    /// The whole instruction as written.
    pub text: String,
}

impl At<'_> {
    pub fn err(&self, msg: impl Into<String>) -> BuildError {
        BuildError::Step {
            step: self.text.clone(),
            file: self.file.to_string(),
            line: self.line,
            instr: self.instr.clone(),
            msg: msg.into(),
            code: None,
        }
    }

    /// A source of this step leads out of the build context.
    pub fn escapes(&self, src: impl Into<String>) -> BuildError {
        BuildError::Escapes {
            step: self.text.clone(),
            file: self.file.to_string(),
            line: self.line,
            instr: self.instr.clone(),
            src: src.into(),
        }
    }
}

pub struct Builder<'a> {
    pub engine: &'a mut Engine,
    pub host: &'a mut dyn Host,
    pub o: &'a BuildOptions,
    df: &'a Dockerfile,
    /// Results of the stages built so far, by index.
    done: BTreeMap<usize, Image>,
    /// Build args some ARG consumed (to warn about the others).
    used_args: BTreeSet<String>,
    /// Images made along the way; removed at the end without `--layers`.
    pub made: Vec<Digest>,
    step: usize,
    steps: usize,
}

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn builtin_args() -> BTreeMap<String, String> {
    let (os, arch) = super::host_platform();
    let mut m = BTreeMap::new();
    for p in ["TARGET", "BUILD"] {
        m.insert(format!("{p}PLATFORM"), format!("{os}/{arch}"));
        m.insert(format!("{p}OS"), os.to_string());
        m.insert(format!("{p}ARCH"), arch.to_string());
        m.insert(format!("{p}VARIANT"), String::new());
    }
    m
}

impl<'a> Builder<'a> {
    pub fn new(
        engine: &'a mut Engine,
        host: &'a mut dyn Host,
        o: &'a BuildOptions,
        df: &'a Dockerfile,
    ) -> Builder<'a> {
        Builder {
            engine,
            host,
            o,
            df,
            done: BTreeMap::new(),
            used_args: BTreeSet::new(),
            made: Vec::new(),
            step: 0,
            steps: 0,
        }
    }

    pub fn ctx(&self) -> &super::context::Context {
        &self.o.context
    }

    pub fn lexer(&self) -> Lexer {
        Lexer {
            escape: self.df.escape,
        }
    }

    pub fn say(&self, line: &str) {
        if !self.o.quiet {
            println!("{line}");
        }
    }

    /// The meta ARGs (before the first FROM): their values as FROM sees them.
    fn meta_args(&mut self) -> Result<BTreeMap<String, String>, BuildError> {
        let mut m = builtin_args();
        for a in &self.df.meta_args {
            let v = self.arg_value(a, &m, 1)?;
            if let Some(v) = v {
                m.insert(a.name.clone(), v);
            }
        }
        Ok(m)
    }

    pub(super) fn arg_value(
        &mut self,
        a: &ArgDecl,
        scope: &BTreeMap<String, String>,
        line: usize,
    ) -> Result<Option<String>, BuildError> {
        if let Some(v) = self.o.build_args.get(&a.name) {
            self.used_args.insert(a.name.clone());
            return Ok(Some(v.clone()));
        }
        match &a.default {
            Some(d) => {
                let lx = self.lexer();
                let v = lx.word(d, &|k| scope.get(k).cloned()).map_err(|e| {
                    BuildError::Other(format!("{}:{line}: ARG: {e}", self.o.file_name))
                })?;
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    /// The stage a `FROM`/`--from` word names: by name, or by index.
    fn stage_ref(&self, word: &str, before: usize) -> Option<usize> {
        let w = word.to_ascii_lowercase();
        self.df.stages[..before.min(self.df.stages.len())]
            .iter()
            .find(|s| s.name.as_deref() == Some(w.as_str()))
            .map(|s| s.index)
            .or_else(|| w.parse::<usize>().ok().filter(|i| *i < before))
    }

    /// The stages `idx` needs first (FROM an earlier stage, COPY --from,
    /// RUN --mount from=), found without expanding anything but meta ARGs.
    fn deps(&self, idx: usize, meta: &BTreeMap<String, String>) -> Vec<usize> {
        let s = &self.df.stages[idx];
        let lx = self.lexer();
        let exp = |w: &str| lx.word(w, &|k| meta.get(k).cloned()).unwrap_or_default();
        let mut out = Vec::new();
        if let Some(i) = self.stage_ref(&exp(&s.base), idx) {
            out.push(i);
        }
        for ins in &s.instructions {
            match &ins.cmd {
                Cmd::Copy(c) | Cmd::Add(c) => {
                    if let Some(i) = c.from.as_deref().and_then(|f| self.stage_ref(&exp(f), idx)) {
                        out.push(i);
                    }
                }
                Cmd::Run { mounts, .. } => {
                    for m in mounts {
                        for kv in m.split(',') {
                            if let Some(f) = kv.strip_prefix("from=")
                                && let Some(i) = self.stage_ref(&exp(f), idx)
                            {
                                out.push(i);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    pub fn build(mut self) -> Result<Digest, BuildError> {
        let meta = self.meta_args()?;
        let target = match &self.o.target {
            Some(t) => self.stage_ref(t, self.df.stages.len()).ok_or_else(|| {
                BuildError::Other(format!(
                    "target stage {t:?} could not be found in {}",
                    self.o.file_name
                ))
            })?,
            None => self.df.stages.len() - 1,
        };
        // The stages the target needs, in Dockerfile order; the rest are
        // skipped (buildkit does the same).
        let mut need = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if need.insert(i) {
                todo.extend(self.deps(i, &meta));
            }
        }
        self.steps = need
            .iter()
            .map(|i| self.df.stages[*i].instructions.len() + 1)
            .sum();
        let order: Vec<usize> = need.into_iter().collect();
        for i in &order {
            let img = self.stage(&self.df.stages[*i], &meta, order.len())?;
            self.done.insert(*i, img);
        }
        let mut fin = self
            .done
            .remove(&target)
            .ok_or_else(|| BuildError::Other("the target stage produced no image".into()))?;
        if !self.o.labels.is_empty() {
            let mut cfg = fin.config.clone();
            for (k, v) in &self.o.labels {
                cfg["config"]["Labels"][k] = json!(v);
            }
            let key = self.key(&fin, &format!("--label {:?}", self.o.labels), "");
            fin = self.commit(&fin, cfg, None, None, &key)?;
        }
        if self.o.squash {
            fin = super::run::squash(&mut self, &fin)?;
        }
        let unused: Vec<&String> = self
            .o
            .build_args
            .keys()
            .filter(|k| !self.used_args.contains(*k) && !builtin_args().contains_key(*k))
            .collect();
        if !unused.is_empty() {
            eprintln!("[Warning] one or more build args were not consumed: {unused:?}");
        }
        let rec = fin
            .rec
            .clone()
            .ok_or_else(|| BuildError::Other("the build produced no image".into()))?;
        let keep = rec.id.clone();
        if !self.o.layers {
            for id in std::mem::take(&mut self.made) {
                if id != keep {
                    let _ = self.engine.delete_image(&id);
                }
            }
        }
        Ok(keep)
    }

    fn base(&mut self, s: &Stage, meta: &BTreeMap<String, String>) -> Result<Image, BuildError> {
        let at = At {
            file: &self.o.file_name,
            line: s.line,
            instr: "FROM".into(),
            text: from_text(s),
        };
        let lx = self.lexer();
        if let Some(p) = &s.platform {
            let p = lx
                .word(p, &|k| meta.get(k).cloned())
                .map_err(|e| at.err(e))?;
            check_platform(&p).map_err(|e| at.err(e))?;
        }
        let name = lx
            .word(&s.base, &|k| meta.get(k).cloned())
            .map_err(|e| at.err(e))?;
        if name.is_empty() {
            return Err(at.err("base name (${...}) should not be blank"));
        }
        if let Some(i) = self.stage_ref(&name, s.index) {
            return self
                .done
                .get(&i)
                .cloned()
                .ok_or_else(|| at.err(format!("stage {name} was not built")));
        }
        if name == "scratch" {
            let (os, arch) = super::host_platform();
            return Ok(Image {
                rec: None,
                config: json!({"architecture": arch, "os": os, "config": {},
                    "rootfs": {"type": "layers", "diff_ids": []}}),
                layers: vec![],
                base_layers: 0,
            });
        }
        let rec = self
            .host
            .base_image(self.engine, &name)
            .map_err(BuildError::Base)?;
        self.load(rec).map_err(|e| at.err(e))
    }

    pub fn load(&self, rec: ImageRecord) -> Result<Image, String> {
        let bytes = self
            .engine
            .store
            .read_blob(&rec.id)
            .map_err(|e| e.to_string())?;
        let mut config: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if !config["config"].is_object() {
            config["config"] = json!({});
        }
        let mut layers = Vec::new();
        for l in &rec.layers {
            layers.push(
                crate::state::images::layer(&self.engine.db.conn, l)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("layer {l} of image {} is missing", rec.id))?,
            );
        }
        let base_layers = layers.len();
        Ok(Image {
            rec: Some(rec),
            config,
            layers,
            base_layers,
        })
    }

    fn stage(
        &mut self,
        s: &Stage,
        meta: &BTreeMap<String, String>,
        nstages: usize,
    ) -> Result<Image, BuildError> {
        self.step += 1;
        let prefix = if nstages > 1 {
            format!("[{}/{}] ", s.index + 1, self.df.stages.len())
        } else {
            String::new()
        };
        self.say(&format!(
            "{prefix}STEP {}/{}: {}",
            self.step,
            self.steps,
            from_text(s)
        ));
        let mut img = self.base(s, meta)?;
        if img.env_get("PATH").is_none() {
            // Docker and buildah give a base without PATH the default one.
            let mut env = img.env();
            env.insert(0, format!("PATH={DEFAULT_PATH}"));
            img.config["config"]["Env"] = json!(env);
        }
        // Stage scope: only ARGs declared in this stage are visible; an
        // `ARG NAME` without a value takes the meta ARG's (Docker's rule).
        let mut args: BTreeMap<String, String> = BTreeMap::new();
        let triggers: Vec<String> = img.run_config()["OnBuild"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if !triggers.is_empty() {
            img.config["config"]["OnBuild"] = Value::Null;
        }
        let mut list: Vec<Instruction> = Vec::new();
        for t in &triggers {
            let df = super::dockerfile::parse(&format!("FROM scratch\n{t}\n"), "ONBUILD")
                .map_err(|e| BuildError::Other(format!("base image ONBUILD trigger {t:?}: {e}")))?;
            if let Some(mut ins) = df
                .stages
                .into_iter()
                .next()
                .and_then(|s| s.instructions.into_iter().next())
            {
                ins.line = s.line;
                list.push(ins);
            }
        }
        let first_own = list.len();
        list.extend(s.instructions.iter().cloned());
        for (n, ins) in list.iter().enumerate() {
            if n >= first_own {
                self.step += 1;
                self.say(&format!(
                    "{prefix}STEP {}/{}: {}",
                    self.step, self.steps, ins.text
                ));
            }
            img = self.instruction(s, img, ins, &mut args, meta)?;
        }
        Ok(img)
    }

    /// The cache key of a step: parent image, what the step does (its
    /// history text, with expanded values) and the hash of its inputs.
    pub fn key(&self, parent: &Image, created_by: &str, inputs: &str) -> String {
        let mut text = format!(
            "berth-build-v1\n{}\n{created_by}\n{inputs}",
            parent.id_text()
        );
        // An image committed in one format is not a hit for the other
        // (podman's cache keeps them apart too).
        if self.o.docker_format {
            text.push_str("\nformat=docker");
        }
        Digest::of(text.as_bytes()).hex().to_string()
    }

    /// A cache hit for `key`, if the cache may be used and has one.
    pub fn cached(&mut self, parent: &Image, key: &str) -> Option<Image> {
        if self.o.no_cache || !self.o.layers {
            return None;
        }
        let id = crate::state::images::cache_get(&self.engine.db.conn, key).ok()??;
        let rec = crate::state::images::get(&self.engine.db.conn, &id).ok()??;
        let mut img = self.load(rec).ok()?;
        img.base_layers = parent.base_layers;
        self.say(&format!("--> Using cache {}", id.hex()));
        Some(img)
    }

    /// Record a step's image: `config` (already changed) plus an optional
    /// new layer, and a history entry when `created_by` is given.
    pub fn commit(
        &mut self,
        parent: &Image,
        mut config: Value,
        layer: Option<LayerInfo>,
        created_by: Option<&str>,
        key: &str,
    ) -> Result<Image, BuildError> {
        let now = crate::format::units::rfc3339(
            self.o.timestamp.unwrap_or_else(crate::state::images::now),
        );
        config["created"] = json!(now);
        let mut layers = parent.layers.clone();
        if let Some(l) = &layer {
            if !config["rootfs"]["diff_ids"].is_array() {
                config["rootfs"]["diff_ids"] = json!([]);
            }
            if let Some(a) = config["rootfs"]["diff_ids"].as_array_mut() {
                a.push(json!(l.diff_id));
            }
            layers.push(l.clone());
        }
        if let Some(by) = created_by {
            let mut h = json!({"created": now, "created_by": by});
            if layer.is_none() {
                h["empty_layer"] = json!(true);
            }
            match config.get_mut("history").and_then(|v| v.as_array_mut()) {
                Some(a) => a.push(h),
                None => config["history"] = json!([h]),
            }
        }
        let mut stored = config.clone();
        if !self.o.docker_format {
            self.drop_docker_only(&mut stored);
        }
        let bytes = serde_json::to_vec(&stored).map_err(|e| BuildError::Other(e.to_string()))?;
        let id = if self.o.docker_format {
            commit_docker(self.engine, &bytes, &layers)?
        } else {
            crate::image::archive::commit_own(self.engine, &bytes, &layers, vec![])
                .map_err(|e| BuildError::Other(e.to_string()))?
        };
        let db = |e: crate::state::DbError| BuildError::Other(e.to_string());
        crate::state::images::cache_put(&self.engine.db.conn, key, &id).map_err(db)?;
        let rec = crate::state::images::get(&self.engine.db.conn, &id)
            .map_err(db)?
            .ok_or_else(|| BuildError::Other(format!("image {id} vanished")))?;
        self.made.push(id.clone());
        // podman: each step's short ID, but the last one's comes after
        // COMMIT (the command prints it); none without --layers.
        if self.o.layers && self.step < self.steps {
            self.say(&format!("--> {}", &id.hex()[..11]));
        }
        Ok(Image {
            rec: Some(rec),
            config,
            layers,
            base_layers: parent.base_layers,
        })
    }

    /// An OCI image config has no ONBUILD, SHELL or HEALTHCHECK: buildah
    /// leaves them out of what it commits in the default `oci` format (the
    /// build itself still uses them), with these warnings.
    fn drop_docker_only(&mut self, stored: &mut Value) {
        let Some(c) = stored["config"].as_object_mut() else {
            return;
        };
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut warnings = Vec::new();
        if let Some(v) = c.remove("OnBuild") {
            let triggers = strings(&v);
            if !triggers.is_empty() {
                warnings.push(format!(
                    "ONBUILD is not supported for OCI image format, {} will be ignored. Must use `docker` format",
                    triggers.join(", ")
                ));
            }
        }
        if let Some(v) = c.remove("Shell") {
            let shell = strings(&v);
            if !shell.is_empty() {
                warnings.push(format!(
                    "SHELL is not supported for OCI image format, [{}] will be ignored. Must use `docker` format",
                    shell.join(" ")
                ));
            }
        }
        if let Some(v) = c.remove("Healthcheck")
            && !v.is_null()
        {
            warnings.push(
                "HEALTHCHECK is not supported for OCI image format and will be ignored. Must use `docker` format".into(),
            );
        }
        for w in warnings {
            self.host.warn(&w);
        }
    }

    /// The argv a CMD/ENTRYPOINT/RUN form stands for: JSON as is, shell
    /// form under the SHELL (default `/bin/sh -c`).
    pub fn argv(&self, img: &Image, a: &Args) -> Vec<String> {
        match a {
            Args::Json(v) => v.clone(),
            Args::Shell(s) => {
                let mut sh: Vec<String> = img.run_config()["Shell"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .filter(|v: &Vec<String>| !v.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                sh.push(s.clone());
                sh
            }
        }
    }

    pub fn stage_image(&self, word: &str, before: usize) -> Option<Image> {
        self.stage_ref(word, before)
            .and_then(|i| self.done.get(&i).cloned())
    }
}

/// `--format docker`: the image recorded under a Docker schema 2
/// manifest (the media types buildah writes for that format).
fn commit_docker(
    engine: &mut Engine,
    config: &[u8],
    layers: &[LayerInfo],
) -> Result<Digest, BuildError> {
    use crate::image::manifest;
    let layer_type = |t: &str| match t {
        manifest::OCI_LAYER_GZIP | manifest::DOCKER_LAYER_GZIP => manifest::DOCKER_LAYER_GZIP,
        _ => manifest::DOCKER_LAYER,
    };
    let m = json!({
        "schemaVersion": 2,
        "mediaType": manifest::DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": Digest::of(config),
            "size": config.len(),
        },
        "layers": layers.iter().map(|l| json!({
            "mediaType": layer_type(&l.media_type),
            "digest": l.blob_digest,
            "size": l.blob_size,
        })).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&m).map_err(|e| BuildError::Other(e.to_string()))?;
    let image = crate::engine::images::NewImage {
        config,
        manifest: &bytes,
        manifest_type: manifest::DOCKER_MANIFEST,
        index: None,
        layers,
        names: vec![],
        repo: None,
    };
    engine
        .commit_image(&image)
        .map_err(|e| BuildError::Other(e.to_string()))?
        .ok_or_else(|| {
            BuildError::Other("layers vanished while storing the image; try again".into())
        })
}

fn from_text(s: &Stage) -> String {
    let mut t = String::new();
    if let Some(p) = &s.platform {
        t.push_str(&format!("--platform={p} "));
    }
    t.push_str(&s.base);
    if let Some(n) = &s.name {
        t.push_str(&format!(" AS {n}"));
    }
    format!("FROM {t}")
}

/// Only the host platform is built: emulating another architecture needs
/// binfmt/qemu, which berth does not drive.
pub fn check_platform(p: &str) -> Result<(), String> {
    let (os, arch) = super::host_platform();
    let ok = p.is_empty() || p == format!("{os}/{arch}") || p == os || p == format!("{os}/{arch}/");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "platform {p:?} cannot be built here: berth builds for the host platform {os}/{arch} only"
        ))
    }
}
