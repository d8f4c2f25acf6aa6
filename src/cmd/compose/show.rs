//! The compose verbs that read or move images and print: config, ps,
//! images, top, port, ls, version, build, pull, push.

use super::args::{ConfigArgs, ImagesArgs, LsArgs, PortArgs, PsArgs, PullArgs, VersionArgs};
use super::{Ctx, exit, fail, ops::service_members, say};
use crate::compose::Project;
use crate::engine::compose::{COMPOSE_VERSION, labels, members};
use serde_json::json;

/// A command's flags parsed from words, to call another command's code
/// with exactly what its own command line would give it.
pub fn parsed<T: clap::Args>(argv: &[String]) -> anyhow::Result<T> {
    let cmd = T::augment_args(clap::Command::new("berth").no_binary_name(true));
    let m = cmd
        .try_get_matches_from(argv.iter().skip(1))
        .map_err(|e| exit(1, e.to_string()))?;
    Ok(T::from_arg_matches(&m)?)
}

pub fn config(project: &Project, c: &ConfigArgs) -> anyhow::Result<()> {
    if c.quiet {
        return Ok(());
    }
    if c.services {
        for s in project.service_names() {
            println!("{s}");
        }
        return Ok(());
    }
    if c.volumes {
        for v in project.volume_names() {
            println!("{v}");
        }
        return Ok(());
    }
    if let Some(h) = &c.hash {
        let names: Vec<String> = if h == "*" {
            project.service_names()
        } else {
            h.split(',').map(|s| s.trim().to_string()).collect()
        };
        for n in names {
            let s = project
                .services
                .get(&n)
                .ok_or_else(|| exit(1, format!("no such service: {n}")))?;
            println!("{n} {}", s.config_hash(project));
        }
        return Ok(());
    }
    print!("{}", project.to_yaml());
    Ok(())
}

pub fn ps(ctx: &Ctx, project: &Project, a: &PsArgs) -> anyhow::Result<()> {
    if a.services_only {
        for s in project.service_names() {
            if a.services.is_empty() || a.services.contains(&s) {
                println!("{s}");
            }
        }
        return Ok(());
    }
    let engine = ctx.engine()?;
    for s in &a.services {
        if !project.services.contains_key(s) {
            return Err(exit(1, format!("no such service: {s}")));
        }
    }
    let now = crate::process::now_nanos();
    let mut rows = Vec::new();
    for m in members(&engine, &project.name).map_err(fail)? {
        let c = engine.container(&m.row.id)?;
        if !a.services.is_empty() && !a.services.contains(&m.service) {
            continue;
        }
        if !a.all && (!c.is_running() || m.oneoff) {
            continue;
        }
        let cfg = c.config();
        let ports: Vec<String> = cfg
            .ports
            .iter()
            .map(|p| format!("{}->{}/{}", p.host_addr(), p.container_port, p.protocol))
            .collect();
        rows.push(json!({
            "ID": c.id[..12].to_string(),
            "Name": c.name,
            "Image": c.image_name,
            "Command": format!("{:?}", cfg.args.join(" ")),
            "Project": project.name,
            "Service": m.service,
            "CreatedAt": crate::format::units::go_time(c.created / 1_000_000_000),
            "Created": format!("{} ago", crate::format::units::human_duration((now - c.created) / 1_000_000_000)),
            "State": c.podman_state(),
            "Health": crate::engine::health::state(&engine, &c.id).status,
            "ExitCode": c.exit_code,
            "Status": c.status_text(now),
            "Ports": ports.join(", "),
            "Labels": cfg.labels,
        }));
        if cfg.healthcheck.is_none() {
            let last = rows.len() - 1;
            rows[last]["Health"] = json!("");
        }
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    if a.format == "json" {
        for r in &rows {
            println!("{r}");
        }
        return Ok(());
    }
    let format = if a.format == "table" {
        "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.Created}}\t{{.Status}}\t{{.Ports}}"
    } else {
        a.format.as_str()
    };
    crate::cmd::print_rows(
        Some(format),
        format,
        &rows,
        &[
            ("Name", "NAME"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("Service", "SERVICE"),
            ("Created", "CREATED"),
            ("Status", "STATUS"),
            ("Ports", "PORTS"),
        ],
        false,
    )
}

pub fn images(ctx: &Ctx, project: &Project, a: &ImagesArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let mut rows = Vec::new();
    for m in service_members(&engine, project, &a.services)? {
        let c = engine.container(&m.row.id)?;
        let (repo, tag) = match c.image_name.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
            _ => (c.image_name.clone(), "latest".to_string()),
        };
        let size = engine
            .find_image(&c.image_id)
            .map(|f| f.image.size)
            .unwrap_or(0);
        rows.push(json!({
            "ContainerName": c.name,
            "Repository": repo,
            "Tag": tag,
            "ID": c.image_id.trim_start_matches("sha256:").chars().take(12).collect::<String>(),
            "Size": crate::format::units::human_size(size),
        }));
    }
    if a.quiet {
        let mut ids: Vec<&str> = rows.iter().filter_map(|r| r["ID"].as_str()).collect();
        ids.dedup();
        for id in ids {
            println!("{id}");
        }
        return Ok(());
    }
    if a.format == "json" {
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    let format = "table {{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}";
    crate::cmd::print_rows(
        Some(format),
        format,
        &rows,
        &[
            ("ContainerName", "CONTAINER"),
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("ID", "IMAGE ID"),
            ("Size", "SIZE"),
        ],
        false,
    )
}

pub fn top(ctx: &Ctx, project: &Project, services: &[String]) -> anyhow::Result<()> {
    let ms = {
        let engine = ctx.engine()?;
        service_members(&engine, project, services)?
    };
    for m in ms {
        if !m.row.is_running() {
            continue;
        }
        println!("{}", m.row.name);
        let a: crate::cmd::top::TopArgs = parsed(&["top".to_string(), m.row.id.clone()])?;
        crate::cmd::top::run(ctx, a)?;
        println!();
    }
    Ok(())
}

pub fn port(ctx: &Ctx, project: &Project, a: &PortArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let ms = service_members(&engine, project, std::slice::from_ref(&a.service))?;
    let m = ms.iter().find(|m| m.number == a.index).ok_or_else(|| {
        exit(
            1,
            format!("service {:?} has no container {}", a.service, a.index),
        )
    })?;
    let c = engine.container(&m.row.id)?;
    let p = c
        .config()
        .ports
        .into_iter()
        .find(|p| p.container_port == a.port && p.protocol == a.protocol)
        .ok_or_else(|| {
            exit(
                1,
                format!("no port {}/{} for container {}", a.port, a.protocol, c.name),
            )
        })?;
    println!("{}", p.host_addr());
    Ok(())
}

pub fn ls(ctx: &Ctx, a: &LsArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let mut rows = Vec::new();
    for (name, p) in crate::engine::compose::projects(&engine).map_err(fail)? {
        if !a.all && p.running == 0 {
            continue;
        }
        let status = if p.running == p.containers {
            format!("running({})", p.running)
        } else if p.running == 0 {
            format!("exited({})", p.containers)
        } else {
            format!(
                "running({}), exited({})",
                p.running,
                p.containers - p.running
            )
        };
        rows.push(json!({"Name": name, "Status": status, "ConfigFiles": p.config_files}));
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["Name"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    if a.format == "json" {
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    let format = "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}";
    crate::cmd::print_rows(
        Some(format),
        format,
        &rows,
        &[
            ("Name", "NAME"),
            ("Status", "STATUS"),
            ("ConfigFiles", "CONFIG FILES"),
        ],
        false,
    )
}

pub fn version(a: &VersionArgs) -> anyhow::Result<()> {
    if a.short {
        println!("{COMPOSE_VERSION}");
    } else if a.format.as_deref() == Some("json") {
        println!("{}", json!({ "version": format!("v{COMPOSE_VERSION}") }));
    } else {
        println!("Docker Compose version v{COMPOSE_VERSION} (berth)");
    }
    Ok(())
}

/// Build the services that have `build:` (all of them when none are named),
/// tagged as their image (`PROJECT-SERVICE` without one), through `berth build`.
pub fn build(
    ctx: &Ctx,
    project: &Project,
    services: &[String],
    no_cache: bool,
) -> anyhow::Result<()> {
    for (name, s) in &project.services {
        if !services.is_empty() && !services.contains(name) {
            continue;
        }
        let Some(b) = &s.build else { continue };
        let tag = labels::default_image(project, name, s);
        say(format!(" Service {name}  Building"));
        let mut argv = vec!["build".to_string(), "-q".into(), "-t".into(), tag.clone()];
        for t in &b.tags {
            argv.extend(["-t".into(), t.clone()]);
        }
        let _inline;
        if let Some(d) = &b.dockerfile_inline {
            let f = std::env::temp_dir().join(format!(
                "berth-compose-{}-{name}.Dockerfile",
                std::process::id()
            ));
            std::fs::write(&f, d)?;
            argv.extend(["-f".into(), f.display().to_string()]);
            _inline = Removed(f);
        } else if let Some(d) = &b.dockerfile {
            let p = b.context.join(d);
            argv.extend(["-f".into(), p.display().to_string()]);
        }
        for (k, v) in &b.args {
            argv.extend([
                "--build-arg".into(),
                match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                },
            ]);
        }
        if let Some(t) = &b.target {
            argv.extend(["--target".into(), t.clone()]);
        }
        for (k, v) in &b.labels {
            argv.extend(["--label".into(), format!("{k}={v}")]);
        }
        if no_cache || b.no_cache {
            argv.push("--no-cache".into());
        }
        if b.pull {
            argv.push("--pull=always".into());
        }
        if let Some(n) = &b.network {
            argv.push(format!("--network={n}"));
        }
        for r in &b.secrets {
            match project.secrets.get(&r.source).and_then(|d| d.file.as_ref()) {
                Some(f) => argv.push(format!("--secret=id={},src={}", r.source, f.display())),
                None => say(format!(
                    "WARN[0000] service {name:?}: build secret {:?} has no file source, which is all berth supports; ignored",
                    r.source
                )),
            }
        }
        if !b.cache_from.is_empty() {
            say(format!(
                "WARN[0000] service {name:?}: build.cache_from is not supported by berth and is ignored"
            ));
        }
        let host = crate::engine::compose::spec::host_platform();
        if let Some(p) = b.platforms.iter().find(|p| **p != host) {
            return Err(exit(
                1,
                format!("service {name:?}: build platform {p:?} is not this host's ({host})"),
            ));
        }
        argv.push(b.context.display().to_string());
        let a: crate::cmd::build::BuildArgs = parsed(&argv)?;
        crate::cmd::build::build(ctx, a)
            .map_err(|e| exit(1, format!("service {name:?} failed to build: {e:#}")))?;
        say(format!(" Service {name}  Built"));
    }
    Ok(())
}

/// A temporary file removed when dropped.
struct Removed(std::path::PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn pull(ctx: &Ctx, project: &Project, a: &PullArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let mut errors = Vec::new();
    for (name, s) in &project.services {
        if !a.services.is_empty() && !a.services.contains(name) {
            continue;
        }
        let Some(img) = &s.image else { continue };
        if a.ignore_buildable && s.build.is_some() {
            continue;
        }
        if !a.quiet {
            say(format!(" {name} Pulling"));
        }
        match engine.pull(img, &Default::default(), true) {
            Ok(_) => {
                if !a.quiet {
                    say(format!(" {name} Pulled"));
                }
            }
            // A service that can be built may lack a pullable image.
            Err(_) if s.build.is_some() => {}
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    crate::cmd::report_errors(&errors, 1)
}

pub fn push(ctx: &Ctx, project: &Project, services: &[String]) -> anyhow::Result<()> {
    for (name, s) in &project.services {
        if !services.is_empty() && !services.contains(name) {
            continue;
        }
        let Some(img) = &s.image else { continue };
        if s.build.is_none() {
            continue;
        }
        say(format!(" {name} Pushing"));
        let a: crate::cmd::push::PushArgs = parsed(&["push".into(), "-q".into(), img.clone()])?;
        crate::cmd::push::run(ctx, a)?;
        say(format!(" {name} Pushed"));
    }
    Ok(())
}
