//! What each instruction does to the image being built: the config-only
//! ones here, the layer-making ones handed to `run`.

use super::BuildError;
use super::dockerfile::{Args, Cmd, Instruction, Stage};
use super::stage::{At, Builder, Image};
use serde_json::{Value, json};
use std::collections::BTreeMap;

impl Builder<'_> {
    /// A metadata-only step: change the config, keep the layers.
    pub(super) fn meta_step(
        &mut self,
        img: Image,
        created_by: String,
        change: impl FnOnce(&mut Value),
    ) -> Result<Image, BuildError> {
        let by = format!("/bin/sh -c #(nop) {created_by}");
        let key = self.key(&img, &by, "");
        if let Some(hit) = self.cached(&img, &key) {
            return Ok(hit);
        }
        let mut cfg = img.config.clone();
        change(&mut cfg["config"]);
        self.commit(&img, cfg, None, Some(&by), &key)
    }

    pub(super) fn instruction(
        &mut self,
        s: &Stage,
        img: Image,
        ins: &Instruction,
        args: &mut BTreeMap<String, String>,
        meta: &BTreeMap<String, String>,
    ) -> Result<Image, BuildError> {
        let file = self.o.file_name.clone();
        let at = At {
            file: &file,
            line: ins.line,
            instr: ins
                .text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase(),
            text: ins.text.clone(),
        };
        let lx = self.lexer();
        // ENV wins over ARG of the same name (Docker's rule).
        let env_of = |img: &Image, args: &BTreeMap<String, String>, k: &str| {
            img.env_get(k).or_else(|| args.get(k).cloned())
        };
        let word = |img: &Image, args: &BTreeMap<String, String>, w: &str| {
            lx.word(w, &|k| env_of(img, args, k)).map_err(|e| at.err(e))
        };
        let words = |img: &Image, args: &BTreeMap<String, String>, ws: &[String]| {
            let mut out = Vec::new();
            for w in ws {
                out.extend(
                    lx.words(w, &|k| env_of(img, args, k))
                        .map_err(|e| at.err(e))?,
                );
            }
            Ok::<_, BuildError>(out)
        };
        match &ins.cmd {
            Cmd::Arg(decls) => {
                let mut shown = Vec::new();
                for d in decls {
                    let mut scope = meta.clone();
                    scope.extend(args.clone());
                    let v = match self.arg_value(d, &scope, ins.line)? {
                        Some(v) => Some(v),
                        None => meta.get(&d.name).cloned(),
                    };
                    shown.push(match &v {
                        Some(v) => format!("{}={v}", d.name),
                        None => d.name.clone(),
                    });
                    args.insert(d.name.clone(), v.unwrap_or_default());
                }
                self.meta_step(img, format!("ARG {}", shown.join(" ")), |_| {})
            }
            Cmd::Env(kvs) => {
                let mut set = Vec::new();
                let mut tmp = img.clone();
                for (k, v) in kvs {
                    let k = word(&tmp, args, k)?;
                    let v = word(&tmp, args, v)?;
                    let mut env = tmp.env();
                    env.retain(|e| e.split('=').next() != Some(k.as_str()));
                    env.push(format!("{k}={v}"));
                    tmp.config["config"]["Env"] = json!(env);
                    set.push(format!("{k}={v}"));
                }
                let env = tmp.config["config"]["Env"].clone();
                self.meta_step(img, format!("ENV {}", set.join(" ")), |c| c["Env"] = env)
            }
            Cmd::Label(kvs) => {
                let mut set = Vec::new();
                for (k, v) in kvs {
                    set.push((word(&img, args, k)?, word(&img, args, v)?));
                }
                let text: Vec<String> = set.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                self.meta_step(img, format!("LABEL {}", text.join(" ")), |c| {
                    for (k, v) in set {
                        c["Labels"][k] = json!(v);
                    }
                })
            }
            Cmd::Expose(ports) => {
                let ps = words(&img, args, ports)?;
                let mut norm = Vec::new();
                for p in &ps {
                    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                    if num.split('-').any(|n| n.parse::<u16>().is_err()) {
                        return Err(at.err(format!("invalid port {p:?}")));
                    }
                    norm.push(format!("{num}/{}", proto.to_ascii_lowercase()));
                }
                self.meta_step(img, format!("EXPOSE {}", ps.join(" ")), |c| {
                    for p in norm {
                        c["ExposedPorts"][p] = json!({});
                    }
                })
            }
            Cmd::Volume(vols) => {
                let vs = words(&img, args, vols)?;
                if vs.iter().any(|v| v.is_empty()) {
                    return Err(at.err("VOLUME specified can not be an empty string"));
                }
                self.meta_step(img, format!("VOLUME {vs:?}"), |c| {
                    for v in vs {
                        c["Volumes"][v] = json!({});
                    }
                })
            }
            Cmd::User(u) => {
                let u = word(&img, args, u)?;
                self.meta_step(img, format!("USER {u}"), |c| c["User"] = json!(u))
            }
            Cmd::StopSignal(sig) => {
                let sig = word(&img, args, sig)?;
                self.meta_step(img, format!("STOPSIGNAL {sig}"), |c| {
                    c["StopSignal"] = json!(sig)
                })
            }
            Cmd::Maintainer(m) => {
                let m2 = m.clone();
                let mut i = self.meta_step(img, format!("MAINTAINER {m}"), |_| {})?;
                i.config["author"] = json!(m2);
                Ok(i)
            }
            Cmd::Cmd(a) | Cmd::Entrypoint(a) => {
                let field = if matches!(ins.cmd, Cmd::Cmd(_)) {
                    "Cmd"
                } else {
                    "Entrypoint"
                };
                let argv = self.argv(&img, a);
                let reset_cmd = field == "Entrypoint" && !argv.is_empty();
                self.meta_step(
                    img,
                    format!(
                        "{} {}",
                        field.to_ascii_uppercase(),
                        serde_json::to_string(&argv).unwrap_or_default()
                    ),
                    |c| {
                        c[field] = json!(argv);
                        // Docker: a new ENTRYPOINT drops the CMD inherited
                        // from the base image.
                        if reset_cmd {
                            c["Cmd"] = Value::Null;
                        }
                    },
                )
            }
            Cmd::Shell(sh) => {
                let sh = sh.clone();
                self.meta_step(img, format!("SHELL {sh:?}"), |c| c["Shell"] = json!(sh))
            }
            Cmd::Onbuild(t) => {
                let text = t.text.clone();
                self.meta_step(img, format!("ONBUILD {text}"), |c| {
                    if !c["OnBuild"].is_array() {
                        c["OnBuild"] = json!([]);
                    }
                    if let Some(a) = c["OnBuild"].as_array_mut() {
                        a.push(json!(text));
                    }
                })
            }
            Cmd::Healthcheck(h) => {
                let value = match h {
                    None => json!({"Test": ["NONE"]}),
                    Some(h) => {
                        let test = match &h.test {
                            Args::Json(v) => {
                                let mut t = vec!["CMD".to_string()];
                                t.extend(v.iter().cloned());
                                t
                            }
                            Args::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
                        };
                        let mut v = json!({"Test": test});
                        for (name, field) in [
                            (&h.interval, "Interval"),
                            (&h.timeout, "Timeout"),
                            (&h.start_period, "StartPeriod"),
                            (&h.start_interval, "StartInterval"),
                        ] {
                            if let Some(d) = name {
                                let ns = crate::format::units::parse_go_duration(d)
                                    .filter(|n| *n >= 0)
                                    .ok_or_else(|| at.err(format!("invalid duration {d:?}")))?;
                                v[field] = json!(ns);
                            }
                        }
                        if let Some(r) = &h.retries {
                            let n: u64 = r
                                .parse()
                                .map_err(|_| at.err(format!("invalid retries {r:?}")))?;
                            v["Retries"] = json!(n);
                        }
                        v
                    }
                };
                let text = ins
                    .text
                    .split_once(char::is_whitespace)
                    .map(|(_, r)| r.trim().to_string())
                    .unwrap_or_default();
                self.meta_step(img, format!("HEALTHCHECK {text}"), |c| {
                    c["Healthcheck"] = value
                })
            }
            Cmd::Workdir(w) => {
                let w = word(&img, args, w)?;
                let cur = img.str_field("WorkingDir");
                let abs = if w.starts_with('/') {
                    w.clone()
                } else {
                    format!("{}/{w}", if cur.is_empty() { "/" } else { &cur })
                };
                let abs = format!("/{}", super::copy::clean(&abs));
                super::run::workdir(self, img, &abs, &at)
            }
            Cmd::Copy(c) | Cmd::Add(c) => {
                let add = matches!(ins.cmd, Cmd::Add(_));
                let env: Vec<(String, String)> = {
                    let mut m: BTreeMap<String, String> = args.clone();
                    for e in img.env() {
                        if let Some((k, v)) = e.split_once('=') {
                            m.insert(k.into(), v.into());
                        }
                    }
                    m.into_iter().collect()
                };
                super::run::copy(self, s, img, c, add, &env, &at)
            }
            Cmd::Run {
                mounts,
                network,
                args: a,
                heredocs,
                ..
            } => super::run::run(
                self,
                img,
                mounts,
                network.as_deref(),
                a,
                heredocs,
                args,
                &at,
            ),
        }
    }
}
