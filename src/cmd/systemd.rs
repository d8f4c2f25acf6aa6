//! `generate systemd` over engine::systemd.

use super::{Ctx, exit};
use crate::engine::systemd::{RESTART_POLICIES, SystemdOptions};
use clap::Args;

#[derive(Args)]
pub struct GenerateArgs {
    /// The container or pod
    pub name: String,
    /// Units that create the container anew at each start (and remove it at stop)
    #[arg(long)]
    pub new: bool,
    /// Name the container or pod in the units, not its ID
    #[arg(short, long = "name")]
    pub use_name: bool,
    /// Write the units to files in the current directory (and print their paths)
    #[arg(short, long)]
    pub files: bool,
    /// The units' Restart= policy
    #[arg(long, default_value = "on-failure", value_name = "POLICY")]
    pub restart_policy: String,
    /// The units' RestartSec=
    #[arg(long, value_name = "SECONDS")]
    pub restart_sec: Option<u64>,
    /// The units' start timeout
    #[arg(long, value_name = "SECONDS")]
    pub start_timeout: Option<u64>,
    /// The stop timeout (default: the container's)
    #[arg(short = 't', long, visible_alias = "time", value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
    /// Add an After= dependency
    #[arg(long, value_name = "UNIT")]
    pub after: Vec<String>,
    /// Add a Wants= dependency
    #[arg(long, value_name = "UNIT")]
    pub wants: Vec<String>,
    /// Add a Requires= dependency
    #[arg(long, value_name = "UNIT")]
    pub requires: Vec<String>,
    /// The prefix of container units' names
    #[arg(long, default_value = "container")]
    pub container_prefix: String,
    /// The prefix of pod units' names
    #[arg(long, default_value = "pod")]
    pub pod_prefix: String,
    /// Between the prefix and the name
    #[arg(long, default_value = "-")]
    pub separator: String,
    /// Leave out the header comment
    #[arg(long)]
    pub no_header: bool,
}

pub fn generate(ctx: &Ctx, a: GenerateArgs) -> anyhow::Result<()> {
    if !RESTART_POLICIES.contains(&a.restart_policy.as_str()) {
        return Err(exit(
            125,
            format!(
                "{} is not a valid restart policy: use one of {}",
                a.restart_policy,
                RESTART_POLICIES.join(", ")
            ),
        ));
    }
    let engine = ctx.engine()?;
    let units = engine.systemd_units(
        &a.name,
        &SystemdOptions {
            new: a.new,
            use_name: a.use_name,
            restart_policy: a.restart_policy,
            restart_sec: a.restart_sec,
            start_timeout: a.start_timeout,
            stop_timeout: a.stop_timeout,
            after: a.after,
            wants: a.wants,
            requires: a.requires,
            container_prefix: a.container_prefix,
            pod_prefix: a.pod_prefix,
            separator: a.separator,
            no_header: a.no_header,
        },
    )?;
    for u in &units {
        if a.files {
            let path = std::env::current_dir()?.join(&u.name);
            std::fs::write(&path, &u.text)
                .map_err(|e| exit(125, format!("writing {}: {e}", path.display())))?;
            println!("{}", path.display());
        } else {
            print!("{}", u.text);
            if units.len() > 1 {
                println!();
            }
        }
    }
    Ok(())
}
