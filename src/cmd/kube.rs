//! `kube play|down|generate` (and podman's older spellings `play kube`,
//! `generate kube`) over engine::kube.

use super::{Ctx, exit};
use crate::engine::kube::generate::GenerateOptions;
use crate::engine::kube::play::PlayOptions;
use clap::{Args, Subcommand};
use std::io::Read as _;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum KubeCommand {
    /// Create containers, pods and volumes from Kubernetes YAML
    Play(PlayArgs),
    /// Remove the pods a Kubernetes YAML created
    Down(DownArgs),
    /// Generate Kubernetes YAML from containers or pods
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct PlayArgs {
    /// The YAML: a file, `-` for stdin, or an http(s) URL
    pub file: String,
    /// Replace the pods of the same names
    #[arg(long)]
    pub replace: bool,
    /// Start the pods once created
    #[arg(long, default_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub start: bool,
    /// The pods' network (a name, or host, none, pasta, slirp4netns)
    #[arg(long, value_name = "NETWORK")]
    pub network: Option<String>,
    /// Publish a container port on the host (HOSTPORT:CTRPORT), over the YAML's
    #[arg(long, value_name = "PORT")]
    pub publish: Vec<String>,
    /// A YAML file with ConfigMaps the pods may reference
    #[arg(long, value_name = "FILE", value_delimiter = ',')]
    pub configmap: Vec<PathBuf>,
    /// Build images whose name matches a directory beside the YAML (with a Containerfile or Dockerfile)
    #[arg(long)]
    pub build: bool,
    /// Suppress pull output
    #[arg(short, long)]
    pub quiet: bool,
    /// How systemd hears the pods are ready (NOTIFY_SOCKET): conmon (once every pod runs), container (each container's own messages), ignore
    #[arg(long, default_value = "ignore", value_name = "MODE")]
    pub sdnotify: String,
}

#[derive(Args)]
pub struct DownArgs {
    /// The YAML given to `kube play`: a file, `-` for stdin, or an http(s) URL
    pub file: String,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Containers, pods or volumes
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Write the YAML to a file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub filename: Option<PathBuf>,
    /// Also generate a Service for the published ports
    #[arg(short, long)]
    pub service: bool,
    /// The kind to generate: pod or deployment
    #[arg(short, long = "type", default_value = "pod", value_name = "KIND")]
    pub kind: String,
    /// A Deployment's replicas
    #[arg(short, long, default_value = "1")]
    pub replicas: i64,
}

pub fn run(ctx: &Ctx, c: KubeCommand) -> anyhow::Result<()> {
    match c {
        KubeCommand::Play(a) => play(ctx, a),
        KubeCommand::Down(a) => down(ctx, a),
        KubeCommand::Generate(a) => generate(ctx, a),
    }
}

/// The YAML's text: from a file, stdin or a URL.
fn fetch(source: &str) -> anyhow::Result<String> {
    let limit = crate::kube::MAX_FILE_BYTES as u64 + 1;
    let mut text = String::new();
    if source == "-" {
        std::io::stdin().take(limit).read_to_string(&mut text)?;
    } else if source.starts_with("http://") || source.starts_with("https://") {
        let resp = ureq::get(source)
            .call()
            .map_err(|e| exit(125, format!("fetching {source}: {e}")))?;
        resp.into_reader().take(limit).read_to_string(&mut text)?;
    } else {
        std::fs::File::open(source)
            .map_err(|e| exit(125, format!("reading {source}: {e}")))?
            .take(limit)
            .read_to_string(&mut text)?;
    }
    Ok(text)
}

fn read(source: &str) -> anyhow::Result<crate::kube::Read> {
    crate::kube::read(&fetch(source)?).map_err(|e| exit(125, format!("{source}: {e}")))
}

fn play(ctx: &Ctx, a: PlayArgs) -> anyhow::Result<()> {
    let docs = read(&a.file)?;
    let mut configmaps = crate::kube::Read::default();
    for f in &a.configmap {
        let r = read(&f.display().to_string())?;
        if let Some(d) = r.documents.iter().find(|d| d.kind != "ConfigMap") {
            return Err(exit(
                125,
                format!(
                    "{}: invalid YAML kind {:?}: --configmap takes ConfigMaps only",
                    f.display(),
                    d.kind
                ),
            ));
        }
        configmaps.documents.extend(r.documents);
    }
    if !["conmon", "container", "ignore"].contains(&a.sdnotify.as_str()) {
        return Err(exit(
            125,
            format!(
                "invalid --sdnotify {:?}: use container, conmon or ignore",
                a.sdnotify
            ),
        ));
    }
    if a.build {
        build_images(ctx, &a.file, &docs)?;
    }
    let mut engine = ctx.engine()?;
    let opts = PlayOptions {
        no_start: !a.start,
        replace: a.replace,
        network: a.network,
        publish: a.publish,
        quiet: a.quiet,
        sdnotify: a.sdnotify,
    };
    let report = engine.kube_play(&docs, &configmaps, &opts)?;
    for w in &report.warnings {
        crate::log::warn(w);
    }
    for (pod, ctrs) in &report.pods {
        println!("Pod:\n{pod}");
        match ctrs.len() {
            0 => continue,
            1 => println!("Container:"),
            _ => println!("Containers:"),
        }
        for c in ctrs {
            println!("{c}");
        }
        println!();
    }
    if !report.volumes.is_empty() {
        println!("Volumes:");
        for v in &report.volumes {
            println!("{v}");
        }
    }
    Ok(())
}

/// `--build`: each image whose name (its last path part, without tag)
/// names a directory beside the YAML that holds a Containerfile or
/// Dockerfile is built from it, as podman does.
fn build_images(ctx: &Ctx, file: &str, docs: &crate::kube::Read) -> anyhow::Result<()> {
    let dir = if file == "-" || file.contains("://") {
        std::env::current_dir()?
    } else {
        PathBuf::from(file)
            .parent()
            .map(|p| p.to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    };
    let mut done = std::collections::BTreeSet::new();
    for image in docs.documents.iter().flat_map(images_of) {
        let base = image.rsplit('/').next().unwrap_or(&image);
        let base = base.split([':', '@']).next().unwrap_or(base).to_string();
        let context = dir.join(&base);
        if !done.insert(image.clone())
            || !["Containerfile", "Dockerfile"]
                .iter()
                .any(|f| context.join(f).is_file())
        {
            continue;
        }
        let argv = [
            "build".to_string(),
            "-t".into(),
            image.clone(),
            context.display().to_string(),
        ];
        let a: super::build::BuildArgs = super::compose::show::parsed(&argv)?;
        super::build::build(ctx, a).map_err(|e| {
            exit(
                125,
                format!("building {image} from {}: {e:#}", context.display()),
            )
        })?;
    }
    Ok(())
}

fn images_of(d: &crate::kube::Document) -> Vec<String> {
    let spec = match &d.body {
        crate::kube::Body::Pod(p) => p,
        crate::kube::Body::Workload(w) => &w.template.spec,
        _ => return Vec::new(),
    };
    spec.init_containers
        .iter()
        .chain(&spec.containers)
        .map(|c| c.image.clone())
        .collect()
}

fn down(ctx: &Ctx, a: DownArgs) -> anyhow::Result<()> {
    let docs = read(&a.file)?;
    let engine = ctx.engine()?;
    let ids = engine.kube_down(&docs)?;
    if !ids.is_empty() {
        println!("Pods stopped:");
        for id in &ids {
            println!("{id}");
        }
        println!("Pods removed:");
        for id in &ids {
            println!("{id}");
        }
    }
    Ok(())
}

fn generate(ctx: &Ctx, a: GenerateArgs) -> anyhow::Result<()> {
    if !["pod", "deployment"].contains(&a.kind.as_str()) {
        return Err(exit(
            125,
            format!("invalid type {:?}: use pod or deployment", a.kind),
        ));
    }
    if a.replicas != 1 && a.kind != "deployment" {
        return Err(exit(125, "--replicas is for --type deployment"));
    }
    let engine = ctx.engine()?;
    let objects = engine.kube_generate(
        &a.names,
        &GenerateOptions {
            kind: a.kind,
            replicas: a.replicas,
            service: a.service,
        },
    )?;
    let text = format!(
        "# Save the output of this file and use kubectl create -f to import it into Kubernetes.\n#\n# Created with berth {} (podman {})\n{}",
        env!("CARGO_PKG_VERSION"),
        super::PODMAN_VERSION,
        crate::kube::to_yaml(&objects)
    );
    match a.filename {
        Some(f) => {
            if f.exists() {
                return Err(exit(
                    125,
                    format!("cannot write to {:?}: file exists", f.display().to_string()),
                ));
            }
            std::fs::write(&f, text)?;
        }
        None => print!("{text}"),
    }
    Ok(())
}
