use super::Ctx;
use crate::engine::copy::{CopyOptions, CopySource, CopyTarget};
use clap::Args;

#[derive(Args)]
pub struct CpArgs {
    /// Source: a host path, CONTAINER:PATH, or - (a tar stream on stdin)
    pub source: String,
    /// Destination: a host path, CONTAINER:PATH, or - (a tar stream on stdout)
    pub destination: String,
    /// Keep owners (the default, as podman's --archive)
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub archive: bool,
    /// Replace a directory with a non-directory and the other way round
    #[arg(long)]
    pub overwrite: bool,
    /// Pause running containers while copying
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub pause: bool,
}

/// `CONTAINER:PATH` -> Some((container, path)); a host path (which may
/// contain ':' after a '/') -> None.
fn split_container(s: &str) -> Option<(&str, &str)> {
    let (c, p) = s.split_once(':')?;
    (!c.is_empty() && !c.contains('/')).then_some((c, p))
}

pub fn run(ctx: &Ctx, a: CpArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let src = split_container(&a.source);
    let dest = split_container(&a.destination);
    if src.is_none() && dest.is_none() {
        anyhow::bail!(
            "invalid arguments {}, {} you must use just one container",
            a.source,
            a.destination
        );
    }
    if a.source == "-" && dest.is_none() {
        anyhow::bail!("copying from stdin needs a container destination (CONTAINER:DIR)");
    }
    let source = match src {
        Some((name, path)) => CopySource::Container { name, path },
        None if a.source == "-" => CopySource::Tar(Box::new(std::io::stdin().lock())),
        None => CopySource::Host(&a.source),
    };
    let target = match dest {
        Some((name, path)) => CopyTarget::Container { name, path },
        None if a.destination == "-" => CopyTarget::Tar(Box::new(std::io::stdout().lock())),
        None => CopyTarget::Host(&a.destination),
    };
    let o = CopyOptions {
        overwrite: a.overwrite,
        pause: a.pause,
    };
    Ok(engine.copy(source, target, o)?)
}
