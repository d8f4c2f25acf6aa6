//! Quadlet: berth as a systemd generator. Installed as
//! `berth-system-generator` and `berth-user-generator` (links to the one
//! binary; `main` looks at its name), it reads `.container`, `.volume`,
//! `.network`, `.kube` and `.pod` files from the search path and writes a
//! `.service` for each into the generator's output directory, with
//! podman's keys (podman-systemd.unit(5), 4.4 and later).
//!
//! The unit's own sections ([Unit], [Service], [Install]) pass through;
//! the berth section is kept as `X-Container` (and so on), which systemd
//! ignores. `[Install]` is applied by hand (WantedBy/RequiredBy links, as
//! `systemctl enable` would), because generated units cannot be enabled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod container;
use container::container_flags;

/// One `[Section]` with its `Key=Value` lines in order.
#[derive(Debug, Default, Clone)]
pub struct Section {
    pub name: String,
    pub entries: Vec<(String, String)>,
}

impl Section {
    fn all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn last(&self, key: &str) -> Option<&str> {
        self.all(key).last().copied()
    }

    fn yes(&self, key: &str) -> bool {
        self.last(key)
            .is_some_and(|v| ["yes", "true", "1", "on"].contains(&v.to_ascii_lowercase().as_str()))
    }

    /// `FLAG=VALUE` for every value of each key (repeatable keys).
    fn each(&self, map: &[(&str, &str)], argv: &mut Vec<String>) {
        for (k, flag) in map {
            for v in self.all(k) {
                argv.push(format!("{flag}={v}"));
            }
        }
    }

    /// `FLAG=VALUE` for the last value of each key (single-valued keys).
    fn last_of(&self, map: &[(&str, &str)], argv: &mut Vec<String>) {
        for (k, flag) in map {
            if let Some(v) = self.last(k) {
                argv.push(format!("{flag}={v}"));
            }
        }
    }

    /// `FLAG` for each boolean key that is set.
    fn switches(&self, map: &[(&str, &str)], argv: &mut Vec<String>) {
        for (k, flag) in map {
            if self.yes(k) {
                argv.push(flag.to_string());
            }
        }
    }
}

/// A unit file's sections, continuation lines joined and comments dropped.
pub fn parse(text: &str) -> Result<Vec<Section>, String> {
    let mut out: Vec<Section> = Vec::new();
    let mut pending = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = if pending.is_empty() {
            raw.trim().to_string()
        } else {
            format!("{pending} {}", raw.trim())
        };
        if let Some(cont) = line.strip_suffix('\\') {
            pending = cont.trim_end().to_string();
            continue;
        }
        pending.clear();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            out.push(Section {
                name: line[1..line.len() - 1].to_string(),
                entries: Vec::new(),
            });
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("line {}: expected KEY=VALUE or [Section]", i + 1));
        };
        let Some(sec) = out.last_mut() else {
            return Err(format!("line {}: {k} is outside any [Section]", i + 1));
        };
        sec.entries
            .push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// A systemd command line's words (double and single quotes, backslash
/// escapes), as `Exec=` and `PodmanArgs=` are written.
pub fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                cur.extend(chars.next());
                any = true;
            }
            // systemd's `$$` is a literal `$` (written again as `$$`).
            ('$', _) if chars.clone().next() == Some('$') => {
                chars.next();
                cur.push('$');
                any = true;
            }
            (q @ ('"' | '\''), None) => {
                quote = Some(q);
                any = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (c, None) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (c, _) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// What the generator makes of one file.
#[derive(Debug)]
pub struct Generated {
    /// `NAME.service` (or `NAME-volume.service` and so on).
    pub service: String,
    pub text: String,
    /// `[Install]`'s WantedBy/RequiredBy targets: (`TARGET.wants`, service).
    pub links: Vec<(String, String)>,
    /// Alias= names.
    pub aliases: Vec<String>,
}

/// The service a quadlet file becomes: `web.container` -> `web.service`,
/// `data.volume` -> `data-volume.service`, `net.network` ->
/// `net-network.service`, `app.kube` -> `app.service`, `p.pod` ->
/// `p-pod.service`.
pub fn service_name(file: &str) -> Option<String> {
    let (stem, ext) = file.rsplit_once('.')?;
    Some(match ext {
        "container" | "kube" => format!("{stem}.service"),
        "volume" | "network" | "pod" => format!("{stem}-{ext}.service"),
        _ => return None,
    })
}

/// The resource a `Volume=`, `Network=` or `Pod=` value names: a quadlet
/// file's (`data.volume` -> `systemd-data` and its service to depend on),
/// or a plain name.
fn reference(v: &str, ext: &str) -> (String, Option<String>) {
    match v.strip_suffix(&format!(".{ext}")) {
        Some(stem) => (format!("systemd-{stem}"), service_name(v)),
        None => (v.to_string(), None),
    }
}

/// Convert one quadlet file (`path`, already read as `text`) for `exe`.
pub fn generate(path: &Path, text: &str, exe: &str, user: bool) -> Result<Generated, String> {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| format!("{file}: no extension"))?;
    let service_file = service_name(&file).ok_or_else(|| format!("{file}: not a quadlet file"))?;
    let sections = parse(text).map_err(|e| format!("{}: {e}", path.display()))?;
    let own = match ext {
        "container" => "Container",
        "volume" => "Volume",
        "network" => "Network",
        "kube" => "Kube",
        "pod" => "Pod",
        _ => unreachable!(),
    };
    let main = sections
        .iter()
        .find(|s| s.name == own)
        .cloned()
        .ok_or_else(|| format!("{}: no [{own}] section", path.display()))?;
    let mut unit: Vec<String> = vec![format!("SourcePath={}", path.display())];
    let mut lines: Vec<String> = Vec::new();
    let mut deps: Vec<String> = Vec::new();
    let bad = |k: &str, why: &str| format!("{}: [{own}] {k}: {why}", path.display());
    let known: &[&str] = match own {
        "Container" => &[
            "Image",
            "ContainerName",
            "Exec",
            "Environment",
            "EnvironmentFile",
            "EnvironmentHost",
            "User",
            "Group",
            "WorkingDir",
            "PublishPort",
            "ExposeHostPort",
            "Volume",
            "Tmpfs",
            "Network",
            "Label",
            "Annotation",
            "AddCapability",
            "DropCapability",
            "ReadOnly",
            "NoNewPrivileges",
            "SeccompProfile",
            "Notify",
            "Timezone",
            "RunInit",
            "VolatileTmp",
            "PodmanArgs",
            "HealthCmd",
            "HealthInterval",
            "HealthTimeout",
            "HealthRetries",
            "HealthStartPeriod",
            "HealthOnFailure",
            "Pod",
            "HostName",
            "IP",
            "DNS",
            "AddHost",
            "Pull",
            "Secret",
            "StopTimeout",
            "LogDriver",
        ],
        "Volume" => &[
            "VolumeName",
            "Label",
            "Driver",
            "Options",
            "Type",
            "Device",
            "Copy",
            "User",
            "Group",
            "PodmanArgs",
        ],
        "Network" => &[
            "NetworkName",
            "Label",
            "Driver",
            "Subnet",
            "Gateway",
            "IPRange",
            "Internal",
            "DisableDNS",
            "IPv6",
            "Options",
            "IPAMDriver",
            "PodmanArgs",
        ],
        "Kube" => &["Yaml", "Network", "ConfigMap", "PublishPort", "PodmanArgs"],
        _ => &[
            "PodName",
            "Network",
            "PublishPort",
            "Volume",
            "PodmanArgs",
            "DNS",
            "AddHost",
            "IP",
            "HostName",
        ],
    };
    if let Some((k, _)) = main
        .entries
        .iter()
        .find(|(k, _)| !known.contains(&k.as_str()))
    {
        return Err(bad(k, "unknown key (berth reads podman's quadlet keys)"));
    }
    let mut argv: Vec<String> = vec![exe.to_string()];
    match own {
        "Container" => {
            let image = main
                .last("Image")
                .ok_or_else(|| bad("Image", "is required"))?;
            let name = main
                .last("ContainerName")
                .map(String::from)
                .unwrap_or_else(|| "systemd-%N".into());
            argv.extend(
                [
                    "run",
                    "--name",
                    &name,
                    "--cidfile=%t/%N.cid",
                    "--replace",
                    "--rm",
                    "--cgroups=split",
                    if main.yes("Notify") {
                        "--sdnotify=container"
                    } else {
                        "--sdnotify=conmon"
                    },
                    "-d",
                ]
                .map(String::from),
            );
            container_flags(&main, &mut argv, &mut deps, path, &bad)?;
            for a in main.all("PodmanArgs") {
                argv.extend(split_words(a));
            }
            argv.push(image.to_string());
            if let Some(e) = main.last("Exec") {
                argv.extend(split_words(e));
            }
            lines.extend(
                [
                    "Environment=PODMAN_SYSTEMD_UNIT=%n",
                    "KillMode=mixed",
                    "Delegate=yes",
                    "Type=notify",
                    "NotifyAccess=all",
                    "SyslogIdentifier=%N",
                ]
                .map(String::from),
            );
            lines.push(format!("ExecStart={}", line(&argv)));
            lines.push(format!(
                "ExecStop={}",
                line(&[
                    exe.into(),
                    "rm".into(),
                    "-f".into(),
                    "-i".into(),
                    "--cidfile=%t/%N.cid".into()
                ])
            ));
            lines.push(format!(
                "ExecStopPost=-{}",
                line(&[
                    exe.into(),
                    "rm".into(),
                    "-f".into(),
                    "-i".into(),
                    "--cidfile=%t/%N.cid".into()
                ])
            ));
            lines.push("ExecStopPost=-/bin/rm -f %t/%N.cid".into());
        }
        "Volume" | "Network" => {
            let kind = own.to_ascii_lowercase();
            let name_key = if own == "Volume" {
                "VolumeName"
            } else {
                "NetworkName"
            };
            let name = main
                .last(name_key)
                .map(String::from)
                .unwrap_or_else(|| format!("systemd-{stem}"));
            argv.extend([kind.clone(), "create".into(), "--ignore".into()]);
            for l in main.all("Label") {
                argv.push(format!("--label={l}"));
            }
            if let Some(d) = main.last("Driver") {
                argv.push(format!("--driver={d}"));
            }
            for o in main.all("Options") {
                argv.push(format!("--opt={o}"));
            }
            if own == "Volume" {
                for (k, opt) in [("Type", "type"), ("Device", "device")] {
                    if let Some(v) = main.last(k) {
                        argv.push(format!("--opt={opt}={v}"));
                    }
                }
                let ids: Vec<&str> = ["User", "Group"]
                    .iter()
                    .filter_map(|k| main.last(k))
                    .collect();
                if !ids.is_empty() {
                    argv.push(format!("--opt=o=uid={}", ids.join(",gid=")));
                }
            } else {
                for s in main.all("Subnet") {
                    argv.push(format!("--subnet={s}"));
                }
                main.each(
                    &[
                        ("Gateway", "--gateway"),
                        ("IPRange", "--ip-range"),
                        ("IPAMDriver", "--ipam-driver"),
                    ],
                    &mut argv,
                );
                main.switches(
                    &[
                        ("Internal", "--internal"),
                        ("DisableDNS", "--disable-dns"),
                        ("IPv6", "--ipv6"),
                    ],
                    &mut argv,
                );
            }
            for a in main.all("PodmanArgs") {
                argv.extend(split_words(a));
            }
            argv.push(name);
            lines.extend(
                ["Type=oneshot", "RemainAfterExit=yes", "SyslogIdentifier=%N"].map(String::from),
            );
            lines.push(format!("ExecStart={}", line(&argv)));
        }
        "Kube" => {
            let yaml = main
                .last("Yaml")
                .ok_or_else(|| bad("Yaml", "is required"))?;
            let yaml = relative_to(path, yaml);
            argv.extend(["kube".into(), "play".into(), "--replace".into()]);
            for n in main.all("Network") {
                let (net, dep) = reference(n, "network");
                argv.push(format!("--network={net}"));
                deps.extend(dep);
            }
            for c in main.all("ConfigMap") {
                argv.push(format!("--configmap={}", relative_to(path, c)));
            }
            for p in main.all("PublishPort") {
                argv.push(format!("--publish={p}"));
            }
            for a in main.all("PodmanArgs") {
                argv.extend(split_words(a));
            }
            argv.push(yaml.clone());
            // `kube play` returns once every pod runs, and each pod's
            // containers keep monitors of their own: the unit is a
            // oneshot that stays active, and its stop takes them down.
            lines.extend(
                ["Type=oneshot", "RemainAfterExit=yes", "SyslogIdentifier=%N"].map(String::from),
            );
            lines.push("Environment=PODMAN_SYSTEMD_UNIT=%n".into());
            lines.push(format!("ExecStart={}", line(&argv)));
            lines.push(format!(
                "ExecStop={}",
                line(&[exe.into(), "kube".into(), "down".into(), yaml])
            ));
        }
        _ => {
            let name = main
                .last("PodName")
                .map(String::from)
                .unwrap_or_else(|| format!("systemd-{stem}"));
            argv.extend(["pod", "create", "--replace", "--name"].map(String::from));
            argv.push(name.clone());
            for n in main.all("Network") {
                let (net, dep) = reference(n, "network");
                argv.push(format!("--network={net}"));
                deps.extend(dep);
            }
            for p in main.all("PublishPort") {
                argv.push(format!("--publish={p}"));
            }
            main.each(
                &[
                    ("DNS", "--dns"),
                    ("AddHost", "--add-host"),
                    ("IP", "--ip"),
                    ("HostName", "--hostname"),
                ],
                &mut argv,
            );
            for a in main.all("PodmanArgs") {
                argv.extend(split_words(a));
            }
            // The members' units bind to this one and start after it.
            lines.extend(
                ["Type=oneshot", "RemainAfterExit=yes", "SyslogIdentifier=%N"].map(String::from),
            );
            lines.push(format!("ExecStartPre={}", line(&argv)));
            lines.push(format!(
                "ExecStart={}",
                line(&[exe.into(), "pod".into(), "start".into(), name.clone()])
            ));
            lines.push(format!(
                "ExecStop={}",
                line(&[
                    exe.into(),
                    "pod".into(),
                    "stop".into(),
                    "--ignore".into(),
                    name.clone()
                ])
            ));
            lines.push(format!(
                "ExecStopPost=-{}",
                line(&[
                    exe.into(),
                    "pod".into(),
                    "rm".into(),
                    "-f".into(),
                    "--ignore".into(),
                    name
                ])
            ));
        }
    }
    let _ = user;
    if own == "Container" || own == "Kube" || own == "Pod" {
        unit.push("Wants=network-online.target".into());
        unit.push("After=network-online.target".into());
    }
    deps.sort();
    deps.dedup();
    for d in &deps {
        unit.push(format!("Requires={d}"));
        unit.push(format!("After={d}"));
    }
    // The file's own sections, the quadlet one renamed.
    let mut text_out = format!(
        "# Automatically generated by berth's quadlet ({} from {})\n#\n",
        service_file,
        path.display()
    );
    let mut links = Vec::new();
    let mut aliases = Vec::new();
    let mut wrote_unit = false;
    let mut wrote_service = false;
    for s in &sections {
        let mut entries: Vec<String> = s.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let name = if s.name == own {
            format!("X-{own}")
        } else {
            s.name.clone()
        };
        if s.name == "Unit" {
            entries.splice(0..0, unit.clone());
            wrote_unit = true;
        }
        if s.name == "Service" {
            entries.extend(lines.clone());
            wrote_service = true;
        }
        if s.name == "Install" {
            for (k, v) in &s.entries {
                match k.as_str() {
                    "WantedBy" | "RequiredBy" => {
                        let suffix = if k == "WantedBy" { "wants" } else { "requires" };
                        for target in v.split_whitespace() {
                            links.push((format!("{target}.{suffix}"), service_file.clone()));
                        }
                    }
                    "Alias" => aliases.extend(v.split_whitespace().map(String::from)),
                    _ => {}
                }
            }
        }
        text_out.push_str(&format!("[{name}]\n"));
        for e in entries {
            text_out.push_str(&e);
            text_out.push('\n');
        }
        text_out.push('\n');
    }
    if !wrote_unit {
        text_out.push_str("[Unit]\n");
        for e in &unit {
            text_out.push_str(e);
            text_out.push('\n');
        }
        text_out.push('\n');
    }
    if !wrote_service {
        text_out.push_str("[Service]\n");
        for e in &lines {
            text_out.push_str(e);
            text_out.push('\n');
        }
    }
    Ok(Generated {
        service: service_file,
        text: text_out,
        links,
        aliases,
    })
}

/// Words as a command line (specifiers such as `%N` kept: the words are
/// in systemd's syntax already).
fn line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| crate::engine::systemd::quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A path a quadlet file names, relative to the file's directory.
fn relative_to(file: &Path, p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    file.parent()
        .unwrap_or(Path::new("/"))
        .join(p)
        .display()
        .to_string()
}

/// The directories quadlet files are read from, first wins by file name:
/// `$QUADLET_UNIT_DIRS` (colon-separated, as podman's quadlet reads it),
/// else the system's or the user's search path.
pub fn search_path(user: bool) -> Vec<PathBuf> {
    if let Some(v) = std::env::var_os("QUADLET_UNIT_DIRS") {
        return std::env::split_paths(&v).collect();
    }
    if user {
        let mut out = Vec::new();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| home.map(|h| h.join(".config")));
        if let Some(c) = config {
            out.push(c.join("containers/systemd"));
        }
        let uid = rustix::process::getuid().as_raw();
        out.push(PathBuf::from(format!(
            "/etc/containers/systemd/users/{uid}"
        )));
        out.push(PathBuf::from("/etc/containers/systemd/users"));
        out
    } else {
        vec![
            PathBuf::from("/etc/containers/systemd"),
            PathBuf::from("/usr/share/containers/systemd"),
        ]
    }
}

/// The generator: every quadlet file of the search path into `out`
/// (systemd's "normal" directory). A file that cannot be converted is
/// reported on stderr and skipped, as a generator must not fail the boot.
/// Returns how many files failed.
pub fn run(out: &Path, user: bool, exe: &str) -> usize {
    let (made, errors) = generate_all(user, exe);
    let mut failed = errors.len();
    for e in errors {
        eprintln!("berth quadlet: {e}");
    }
    for g in made {
        if let Err(e) = write(out, &g) {
            eprintln!("berth quadlet: {}: {e}", g.service);
            failed += 1;
        }
    }
    failed
}

/// Every quadlet file of the search path converted, and the errors of
/// those that could not be.
pub fn generate_all(user: bool, exe: &str) -> (Vec<Generated>, Vec<String>) {
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in search_path(user) {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if service_name(&name).is_some() {
                files.entry(name).or_insert(e.path());
            }
        }
    }
    let mut made = Vec::new();
    let mut errors = Vec::new();
    for path in files.values() {
        match std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|t| generate(path, &t, exe, user))
        {
            Ok(g) => made.push(g),
            Err(e) => errors.push(e),
        }
    }
    (made, errors)
}

fn write(out: &Path, g: &Generated) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join(&g.service), &g.text)?;
    for (dir, svc) in &g.links {
        let d = out.join(dir);
        std::fs::create_dir_all(&d)?;
        let link = d.join(svc);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("../{}", g.service), link)?;
    }
    for a in &g.aliases {
        let link = out.join(a);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&g.service, link)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
