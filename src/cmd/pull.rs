use super::Ctx;
use crate::image::Platform;
use crate::registry::RemoteOptions;
use crate::registry::auth::Credentials;
use crate::registry::pull::PullOptions;
use clap::Args;
use std::path::PathBuf;

/// Flags every command that talks to a registry shares.
#[derive(Args, Clone, Default)]
pub struct RemoteArgs {
    /// Require HTTPS and verify certificates (false: allow plain HTTP)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// Credentials (USERNAME:PASSWORD) to use for the registry
    #[arg(long, value_name = "USER:PASS")]
    pub creds: Option<String>,
}

impl RemoteArgs {
    pub fn options(&self) -> anyhow::Result<RemoteOptions> {
        let creds = match &self.creds {
            None => None,
            Some(c) => {
                let (u, p) = c.split_once(':').unwrap_or((c.as_str(), ""));
                if u.is_empty() {
                    anyhow::bail!("invalid --creds {c:?}: expected USERNAME[:PASSWORD]");
                }
                Some(Credentials {
                    username: u.into(),
                    password: p.into(),
                })
            }
        };
        Ok(RemoteOptions {
            tls_verify: self.tls_verify,
            authfile: self.authfile.clone(),
            creds,
        })
    }
}

#[derive(Args)]
pub struct PullArgs {
    /// Image to pull, e.g. busybox, docker.io/library/busybox:1.36, name@sha256:...
    pub image: String,
    /// Suppress progress output
    #[arg(short, long)]
    pub quiet: bool,
    /// Platform to pick from a manifest list (OS/ARCH[/VARIANT])
    #[arg(long)]
    pub platform: Option<String>,
    /// Architecture to pick from a manifest list
    #[arg(long)]
    pub arch: Option<String>,
    /// OS to pick from a manifest list
    #[arg(long)]
    pub os: Option<String>,
    /// Architecture variant to pick from a manifest list
    #[arg(long)]
    pub variant: Option<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn platform_from(
    platform: Option<&str>,
    os: Option<&str>,
    arch: Option<&str>,
    variant: Option<&str>,
) -> anyhow::Result<Platform> {
    let mut p = match platform {
        Some(s) => Platform::parse(s)?,
        None => Platform::host(),
    };
    if let Some(o) = os {
        p.os = o.into();
    }
    if let Some(a) = arch {
        p.architecture = a.into();
        p.variant = None;
    }
    if let Some(v) = variant {
        p.variant = Some(v.into());
    }
    Ok(p)
}

pub fn run(ctx: &Ctx, a: PullArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let opts = PullOptions {
        platform: platform_from(
            a.platform.as_deref(),
            a.os.as_deref(),
            a.arch.as_deref(),
            a.variant.as_deref(),
        )?,
        remote: a.remote.options()?,
        ..Default::default()
    };
    // podman's archive transports: loaded, then reported as a pull.
    if let Some(found) = engine.from_archive(&a.image, a.quiet)? {
        crate::engine::events::image("pull", "", &a.image);
        println!("{}", found.image.id.hex());
        return Ok(());
    }
    let id = engine.pull(&a.image, &opts, a.quiet)?;
    println!("{}", id.hex());
    Ok(())
}
