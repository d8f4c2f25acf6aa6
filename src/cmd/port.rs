use super::{Ctx, exit};
use clap::Args;

#[derive(Args)]
pub struct PortArgs {
    /// Container name or ID
    pub container: Option<String>,
    /// Only this container port (PORT[/PROTO])
    pub port: Option<String>,
    /// Every container's ports
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
}

/// `port`: podman's "80/tcp -> 0.0.0.0:8080" lines.
pub fn run(ctx: &Ctx, a: PortArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let targets = if a.all {
        engine.containers()?
    } else if a.latest {
        engine
            .containers()?
            .into_iter()
            .max_by_key(|c| c.created)
            .into_iter()
            .collect()
    } else {
        let name = a
            .container
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("port: name a container, or use --all or --latest"))?;
        vec![engine.container(name)?]
    };
    let want = match a.port.as_deref().or(if a.all || a.latest {
        a.container.as_deref()
    } else {
        None
    }) {
        Some(p) => {
            let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
            let port: u16 = port
                .parse()
                .map_err(|_| anyhow::anyhow!("invalid port {p:?}: expected PORT[/PROTO]"))?;
            Some((port, proto.to_string()))
        }
        None => None,
    };
    for c in &targets {
        let cfg = c.config();
        let mut found = false;
        for p in &cfg.ports {
            match &want {
                Some((port, proto)) if p.container_port == *port && p.protocol == *proto => {
                    println!("{}", p.host_addr());
                    found = true;
                }
                Some(_) => {}
                None => {
                    if a.all {
                        print!("{}\t", &c.id[..12]);
                    }
                    println!("{}/{} -> {}", p.container_port, p.protocol, p.host_addr());
                }
            }
        }
        if let Some((port, proto)) = &want
            && !found
            && !a.all
        {
            return Err(exit(
                125,
                format!("failed to find published port \"{port}/{proto}\""),
            ));
        }
    }
    Ok(())
}
