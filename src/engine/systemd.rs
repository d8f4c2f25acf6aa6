//! `generate systemd`: units for containers and pods, as podman 4 writes
//! them, shaped for berth's monitor (each unit says why in its comments).
//!
//! - A unit for an existing container (`berth start NAME`): Type=forking,
//!   as `berth start` returns once the container runs and leaves its
//!   monitor behind; PIDFile= is the monitor's pid file, which berth
//!   writes at every start (the monitor lives exactly as long as the
//!   container, so systemd's main process is the container's life).
//! - `--new` (`berth run --rm --replace` each time): Type=notify, as the
//!   monitor itself tells systemd READY=1 with its pid once the container
//!   runs (`--sdnotify=conmon`; NotifyAccess=all, since the message comes
//!   from the monitor, not the process systemd started), and
//!   `--cgroups=split`: the container's cgroup is made inside the unit's,
//!   so the unit's accounting and limits cover it.

use super::Engine;
use super::containers::ContainerError;
use crate::state::containers::ContainerRow;

#[derive(Debug, Clone, Default)]
pub struct SystemdOptions {
    pub new: bool,
    /// Units name containers by name, not ID.
    pub use_name: bool,
    /// "no", "on-success", "on-failure" (default), "on-abnormal",
    /// "on-watchdog", "on-abort", "always".
    pub restart_policy: String,
    pub restart_sec: Option<u64>,
    pub start_timeout: Option<u64>,
    pub stop_timeout: Option<u64>,
    pub after: Vec<String>,
    pub wants: Vec<String>,
    pub requires: Vec<String>,
    pub container_prefix: String,
    pub pod_prefix: String,
    pub separator: String,
    pub no_header: bool,
}

pub const RESTART_POLICIES: [&str; 7] = [
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// One unit: its file name (`container-web.service`) and text.
pub struct Unit {
    pub name: String,
    pub text: String,
}

/// A word for a unit's command line, quoted as systemd reads it (`$`
/// doubled; `%` specifiers left to the caller, see `user_line`).
pub fn quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c))
    {
        return w.to_string();
    }
    format!(
        "\"{}\"",
        w.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "$$")
    )
}

/// The user's words (names, a create command line) as a command line:
/// a `%` of theirs is not a specifier.
fn user_line_of(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| quote(&w.replace('%', "%%")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// [Service]'s first lines: the environment podman's units set, the
/// restart policy and the timeouts (stop: the container's + 60 s).
fn service_head(opts: &SystemdOptions, stop: &str) -> Vec<String> {
    let mut service = vec![
        "Environment=PODMAN_SYSTEMD_UNIT=%n".to_string(),
        format!("Restart={}", opts.restart_policy),
    ];
    if let Some(s) = opts.restart_sec {
        service.push(format!("RestartSec={s}"));
    }
    if let Some(t) = opts.start_timeout {
        service.push(format!("TimeoutStartSec={t}"));
    }
    let stop: u64 = stop.parse().unwrap_or(10);
    service.push(format!("TimeoutStopSec={}", stop + 60));
    service
}

/// The flags `--new` sets itself, dropped from the original command line:
/// (flag, takes a value).
const REPLACED: [(&str, bool); 9] = [
    ("-d", false),
    ("--detach", false),
    ("--rm", false),
    ("--replace", false),
    ("--name", true),
    ("--sdnotify", true),
    ("--cgroups", true),
    ("--cidfile", true),
    ("--pod", true),
];

/// The flags of a `run`/`create` command line (the words between the verb
/// and the image) without those `--new` sets itself.
fn kept_flags(flags: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for f in flags {
        if std::mem::take(&mut skip) {
            continue;
        }
        if let Some((name, takes)) = REPLACED
            .iter()
            .find(|(n, _)| f == n || f.strip_prefix(n).is_some_and(|rest| rest.starts_with('=')))
        {
            skip = *takes && f == name;
            continue;
        }
        // `-dit`: the others stay.
        if f.len() > 2
            && f.starts_with('-')
            && !f.starts_with("--")
            && f[1..].chars().all(|c| c.is_ascii_alphabetic())
            && f.contains('d')
        {
            out.push(f.replace('d', ""));
            continue;
        }
        out.push(f.clone());
    }
    out
}

impl Engine {
    /// Units for `word` (a container, or a pod and its containers).
    pub fn systemd_units(
        &self,
        word: &str,
        opts: &SystemdOptions,
    ) -> Result<Vec<Unit>, ContainerError> {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "/usr/bin/berth".into());
        if let Ok(pod) = self.pod(word) {
            if opts.new {
                return Err(ContainerError::Invalid(format!(
                    "generate systemd --new for pod {}: berth makes units that re-create pods from Kubernetes YAML instead: `berth kube generate {} > pod.yaml` and a quadlet .kube file",
                    pod.name, pod.name
                )));
            }
            return self.pod_units(&pod, &exe, opts);
        }
        let c = self.container(word)?;
        if !c.config().pod.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "container {} is in a pod: generate the pod's units (berth generate systemd POD)",
                c.name
            )));
        }
        Ok(vec![self.container_unit(&c, &exe, opts, None)?])
    }

    fn unit_name(&self, c: &ContainerRow, opts: &SystemdOptions) -> String {
        let ident = if opts.use_name {
            c.name.clone()
        } else {
            c.id.clone()
        };
        format!("{}{}{ident}.service", opts.container_prefix, opts.separator)
    }

    fn container_unit(
        &self,
        c: &ContainerRow,
        exe: &str,
        opts: &SystemdOptions,
        pod_unit: Option<&str>,
    ) -> Result<Unit, ContainerError> {
        let cfg = c.config();
        let name = self.unit_name(c, opts);
        let ident = if opts.use_name { &c.name } else { &c.id };
        let stop = opts
            .stop_timeout
            .unwrap_or(cfg.stop_timeout as u64)
            .to_string();
        let mut unit = self.unit_head(&name, opts);
        if let Some(p) = pod_unit {
            unit.push(format!("BindsTo={p}"));
            unit.push(format!("After={p}"));
        }
        let mut service = service_head(opts, &stop);
        let berth = |words: &[&str], raw: &[&str]| self.berth_line(exe, words, raw);
        if opts.new {
            if cfg.create_command.is_empty() || cfg.create_image_at == 0 {
                return Err(ContainerError::Invalid(format!(
                    "generate systemd --new: container {} was not made by `berth run` or `berth create` (no command line to run again)",
                    c.name
                )));
            }
            let argv = &cfg.create_command;
            let verb = argv
                .iter()
                .position(|w| w == "run" || w == "create")
                .filter(|v| *v < cfg.create_image_at)
                .ok_or_else(|| {
                    ContainerError::Invalid(format!(
                        "generate systemd --new: container {}'s command line has no run or create",
                        c.name
                    ))
                })?;
            let mut words: Vec<String> = [
                "run",
                "--cgroups=split",
                "--rm",
                "--sdnotify=conmon",
                "-d",
                "--replace",
                "--name",
            ]
            .map(String::from)
            .to_vec();
            words.push(c.name.clone());
            words.extend(kept_flags(&argv[verb + 1..cfg.create_image_at]));
            words.extend(argv[cfg.create_image_at..].iter().cloned());
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            // The ID file: written by the run, read by stop and rm.
            let cid = "--cidfile=%t/%n.ctr-id";
            service.push("ExecStartPre=/bin/rm -f %t/%n.ctr-id".into());
            service.push(format!(
                "ExecStart={}",
                berth(&words[..1], &[cid]) + " " + &user_line_of(&words[1..])
            ));
            service.push(format!(
                "ExecStop={}",
                berth(&["stop", "--ignore", "-t", &stop], &[cid])
            ));
            service.push(format!(
                "ExecStopPost={}",
                berth(&["rm", "-f", "--ignore", "-t", &stop], &[cid])
            ));
            service.push("Type=notify".into());
            service.push("NotifyAccess=all".into());
        } else {
            service.push(format!("ExecStart={}", berth(&["start", ident], &[])));
            for k in ["ExecStop", "ExecStopPost"] {
                service.push(format!("{k}={}", berth(&["stop", "-t", &stop, ident], &[])));
            }
            service.push(format!(
                "PIDFile={}",
                self.container_rundir(&c.id).join("monitor.pid").display()
            ));
            service.push("Type=forking".into());
        }
        Ok(Unit {
            text: self.unit_text(&name, &unit, &service, opts),
            name,
        })
    }

    fn pod_units(
        &self,
        pod: &crate::state::pods::PodRow,
        exe: &str,
        opts: &SystemdOptions,
    ) -> Result<Vec<Unit>, ContainerError> {
        let cfg = pod.config();
        if cfg.infra_id.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "pod {} has no infra container, whose monitor systemd would watch: create it with an infra container",
                pod.name
            )));
        }
        let members = self
            .pod_members(pod)
            .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let ident = if opts.use_name { &pod.name } else { &pod.id };
        let name = format!("{}{}{ident}.service", opts.pod_prefix, opts.separator);
        let others: Vec<&ContainerRow> = members.iter().filter(|c| c.id != cfg.infra_id).collect();
        let mut units = Vec::new();
        let member_names: Vec<String> = others.iter().map(|c| self.unit_name(c, opts)).collect();
        for c in &others {
            units.push(self.container_unit(c, exe, opts, Some(&name))?);
        }
        let stop = opts.stop_timeout.unwrap_or(10).to_string();
        let mut unit = self.unit_head(&name, opts);
        if !member_names.is_empty() {
            unit.push(format!("Wants={}", member_names.join(" ")));
            unit.push(format!("Before={}", member_names.join(" ")));
        }
        let mut service = service_head(opts, &stop);
        // systemd watches the infra container's monitor: it lives as long
        // as the pod.
        service.push(format!(
            "ExecStart={}",
            self.berth_line(exe, &["start", &cfg.infra_id], &[])
        ));
        for k in ["ExecStop", "ExecStopPost"] {
            service.push(format!(
                "{k}={}",
                self.berth_line(exe, &["pod", "stop", "-t", &stop, ident], &[])
            ));
        }
        service.push(format!(
            "PIDFile={}",
            self.container_rundir(&cfg.infra_id)
                .join("monitor.pid")
                .display()
        ));
        service.push("Type=forking".into());
        units.insert(
            0,
            Unit {
                text: self.unit_text(&name, &unit, &service, opts),
                name,
            },
        );
        Ok(units)
    }

    /// `berth` and this engine's global flags, then the user's `words`,
    /// then `raw` words in systemd's syntax (specifiers such as `%t`).
    fn berth_line(&self, exe: &str, words: &[&str], raw: &[&str]) -> String {
        let mut w = vec![exe];
        let global = self.global_flags();
        w.extend(global.iter().map(String::as_str));
        w.extend_from_slice(words);
        let mut l = user_line_of(&w);
        for r in raw {
            l.push(' ');
            l.push_str(r);
        }
        l
    }

    /// [Unit]'s first lines: description, documentation, dependencies,
    /// and the run root's mount.
    fn unit_head(&self, name: &str, opts: &SystemdOptions) -> Vec<String> {
        let mut unit = vec![
            format!("Description=berth {name}"),
            "Documentation=man:podman-generate-systemd(1)".to_string(),
        ];
        unit.extend(self.deps(opts));
        unit.push(format!(
            "RequiresMountsFor={}",
            self.paths.runroot.display()
        ));
        unit
    }

    /// `--root`/`--runroot` when this engine's are not the defaults, so a
    /// unit acts on the same store.
    fn global_flags(&self) -> Vec<String> {
        let default = crate::state::Paths::default_for_user();
        let mut out = Vec::new();
        if self.paths.root != default.root {
            out.push(format!("--root={}", self.paths.root.display()));
        }
        if self.paths.runroot != default.runroot {
            out.push(format!("--runroot={}", self.paths.runroot.display()));
        }
        out
    }

    fn deps(&self, opts: &SystemdOptions) -> Vec<String> {
        let mut out = Vec::new();
        if !self.paths.rootless {
            out.push("Wants=network-online.target".to_string());
            out.push("After=network-online.target".to_string());
        }
        for (key, list) in [
            ("Wants", &opts.wants),
            ("After", &opts.after),
            ("Requires", &opts.requires),
        ] {
            if !list.is_empty() {
                out.push(format!("{key}={}", list.join(" ")));
            }
        }
        out
    }

    fn unit_text(
        &self,
        name: &str,
        unit: &[String],
        service: &[String],
        opts: &SystemdOptions,
    ) -> String {
        let mut t = String::new();
        if !opts.no_header {
            t.push_str(&format!(
                "# {name}\n# autogenerated by berth {} (podman {})\n",
                env!("CARGO_PKG_VERSION"),
                crate::process::PODMAN_VERSION
            ));
            t.push_str(if opts.new {
                "# Type=notify: berth's monitor sends READY=1 and its own pid once the\n# container runs (--sdnotify=conmon); --cgroups=split keeps the\n# container's cgroup inside this unit's.\n"
            } else {
                "# Type=forking: `berth start` returns once the container runs; the\n# monitor it leaves (PIDFile) lives exactly as long as the container.\n"
            });
            t.push('\n');
        }
        t.push_str("[Unit]\n");
        for l in unit {
            t.push_str(l);
            t.push('\n');
        }
        t.push_str("\n[Service]\n");
        for l in service {
            t.push_str(l);
            t.push('\n');
        }
        t.push_str("\n[Install]\nWantedBy=default.target\n");
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_drops_the_flags_it_sets_itself() {
        let argv: Vec<String> = [
            "-dit",
            "--name",
            "web",
            "--rm",
            "-p",
            "80:80",
            "--sdnotify=container",
            "--cgroups",
            "split",
            "-e",
            "A=1",
            "--pod=x",
            "--detach",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(kept_flags(&argv), ["-it", "-p", "80:80", "-e", "A=1"]);
    }

    #[test]
    fn words_are_quoted_for_systemd() {
        assert_eq!(quote("busybox"), "busybox");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(user_line_of(&["echo $HOME 100%"]), "\"echo $$HOME 100%%\"");
        assert_eq!(quote("say \"hi\""), "\"say \\\"hi\\\"\"");
    }
}
