//! `update`: podman's (and docker's) resource flags, plus docker's
//! `--restart`, checked as `run` checks them; the engine writes them to the
//! record, the bundle and the live cgroup.

use super::{Ctx, exit};
use crate::engine::update::Update;
use clap::Args;

#[derive(Args)]
pub struct UpdateArgs {
    /// Block IO weight (relative weight) accepts a weight value between 10 and 1000
    #[arg(long, value_name = "WEIGHT")]
    pub blkio_weight: Option<String>,
    /// Limit the CPU CFS (Completely Fair Scheduler) period
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// Limit the CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<u64>,
    /// Number of CPUs. The default is 0.000 which means no limit
    #[arg(long, allow_negative_numbers = true)]
    pub cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes (MEMs) in which to allow execution (0-3, 0,1). Only effective on NUMA systems.
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Memory limit (format: <number>[<unit>], where unit = b (bytes), k (kibibytes), m (mebibytes), or g (gibibytes))
    #[arg(short, long, allow_negative_numbers = true)]
    pub memory: Option<String>,
    /// Memory soft limit (format: <number>[<unit>], where unit = b (bytes), k (kibibytes), m (mebibytes), or g (gibibytes))
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long, allow_negative_numbers = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)
    #[arg(long)]
    pub restart: Option<String>,
    /// The container to update
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

fn parse(a: &UpdateArgs, current_memory: Option<i64>) -> anyhow::Result<Update> {
    // podman reads memory and swap together: swap is checked against the
    // new memory limit, or the one the container has.
    let memory_word = a
        .memory
        .clone()
        .or_else(|| current_memory.map(|m| m.to_string()));
    let (memory, memory_swap) =
        super::run_config::memory_limits_of(memory_word.as_deref(), a.memory_swap.as_deref())?;
    let memory_reservation = match a.memory_reservation.as_deref() {
        None => None,
        Some(r) => Some(crate::runtime::parse_bytes(r).ok_or_else(|| {
            anyhow::anyhow!("invalid value for memory-reservation: invalid size: '{r}'")
        })?),
    };
    if a.cpus.is_some() && a.cpu_quota.is_some() {
        anyhow::bail!("--cpu-quota and --cpus cannot be set together");
    }
    if a.cpus.is_some() && a.cpu_period.is_some() {
        anyhow::bail!("--cpu-period and --cpus cannot be set together");
    }
    let blkio_weight = match a.blkio_weight.as_deref() {
        None => None,
        Some(w) => match w.parse::<u16>() {
            Ok(n) if (10..=1000).contains(&n) => Some(n),
            _ => anyhow::bail!("invalid --blkio-weight {w:?}: use a weight from 10 to 1000"),
        },
    };
    let cpuset = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<String>> {
        Ok(match v {
            None => None,
            Some(_) => Some(super::run_flags::cpuset(flag, v)?),
        })
    };
    Ok(Update {
        memory: a.memory.as_ref().map(|_| memory),
        memory_swap: a.memory_swap.as_ref().and(memory_swap),
        memory_reservation,
        cpus: match a.cpus {
            None => None,
            Some(c) => Some(super::run_config::cpus_of(Some(c))?.unwrap_or(0.0)),
        },
        cpu_quota: a.cpu_quota,
        cpu_period: a.cpu_period,
        cpu_shares: a.cpu_shares,
        cpuset_cpus: cpuset("cpuset-cpus", &a.cpuset_cpus)?,
        cpuset_mems: cpuset("cpuset-mems", &a.cpuset_mems)?,
        pids_limit: a.pids_limit,
        blkio_weight,
        restart: a
            .restart
            .as_deref()
            .map(super::run_config::restart_policy)
            .transpose()?,
    })
}

/// `update [options] CONTAINER`: prints the container's ID, as podman.
pub fn run(ctx: &Ctx, a: UpdateArgs) -> anyhow::Result<()> {
    if a.containers.len() != 1 {
        return Err(exit(
            125,
            format!("accepts 1 arg(s), received {}", a.containers.len()),
        ));
    }
    let engine = ctx.engine()?;
    let c = engine.container(&a.containers[0])?;
    let u = parse(&a, c.config().memory)?;
    let c = engine.update_container(&c.id, &u)?;
    println!("{}", c.id);
    Ok(())
}
