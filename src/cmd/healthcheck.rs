//! `healthcheck run CTR`: the container's health check once, now, recorded
//! as the monitor's own probes are (podman's exit codes: 0 healthy, 1 not,
//! 125 when it cannot run).

use super::{Ctx, exit};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum HealthcheckCommand {
    /// Run a container's health check now
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    pub container: String,
}

pub fn run(ctx: &Ctx, cmd: HealthcheckCommand) -> anyhow::Result<()> {
    let HealthcheckCommand::Run(a) = cmd;
    let engine = ctx.engine()?;
    let c = engine.container(&a.container)?;
    let cfg = c.config();
    if cfg.healthcheck.as_ref().is_none_or(|h| h.test.is_empty()) {
        return Err(exit(
            125,
            format!("container {} has no defined healthcheck", c.id),
        ));
    }
    if c.state != "running" {
        return Err(exit(125, format!("container {} is not running", c.id)));
    }
    let (state, turned) = crate::engine::health::probe(&engine, &c, &cfg, c.pid as i32, c.started);
    if turned && cfg.health_on_failure == "stop" {
        // Here, where waiting is allowed, the action is `stop` itself.
        engine.stop(&c, None)?;
    } else if turned {
        crate::engine::health::act(&engine, &c, &cfg, c.pid as i32);
    }
    if turned && cfg.health_on_failure == "restart" {
        // As podman's restart action returns with the container running
        // again: wait for the monitor to start it anew.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let now = engine.container(&c.id)?;
            if now.state == "running" && now.pid != c.pid {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    // As podman: this probe's result, whatever the streak makes of it.
    if state.log.last().is_some_and(|p| p.exit_code != 0) {
        println!("unhealthy");
        return Err(exit(1, ""));
    }
    Ok(())
}
