use super::Ctx;
use crate::monitor::logs::{self, Driver};
use clap::Args;
use std::io::Write;

#[derive(Args)]
pub struct LogsArgs {
    #[arg(required_unless_present = "latest")]
    pub containers: Vec<String>,
    /// Show the logs of the latest container created
    #[arg(short, long)]
    pub latest: bool,
    #[command(flatten)]
    pub flags: LogsFlags,
}

/// What `logs` shows of each container (also `pod logs`).
#[derive(Args)]
pub struct LogsFlags {
    /// Follow the log output
    #[arg(short, long)]
    pub follow: bool,
    /// Show logs since a time (RFC 3339, Unix seconds, or a duration like 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs until a time (same forms as --since)
    #[arg(long)]
    pub until: Option<String>,
    /// Number of lines to show from the end (-1: all)
    #[arg(long, allow_hyphen_values = true)]
    pub tail: Option<i64>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show the container name with each line
    #[arg(short, long)]
    pub names: bool,
    /// Output the containers with different colors in the log
    #[arg(long, overrides_with = "no_color")]
    pub color: bool,
    /// Produce monochrome output (the default; docker compose's spelling)
    #[arg(long)]
    pub no_color: bool,
    /// Show the log attributes of each line (`--log-opt labels=`/`env=`), as docker
    #[arg(long)]
    pub details: bool,
}

/// podman's colors for `--color`, one per container in turn.
const COLORS: [&str; 7] = [
    "\x1b[37m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[34m", "\x1b[35m", "\x1b[36m",
];

/// docker's `--details` prefix: the attributes its `--log-opt labels=`
/// and `env=` chose, `key=value` sorted by key and joined by commas.
fn details(cfg: &crate::engine::containers::ContainerConfig) -> String {
    let mut attrs: Vec<(String, String)> = vec![];
    for opt in &cfg.log_details {
        let Some((kind, keys)) = opt.split_once('=') else {
            continue;
        };
        for key in keys.split(',').filter(|k| !k.is_empty()) {
            let value = if kind == "labels" {
                cfg.labels.get(key).cloned()
            } else {
                cfg.env
                    .iter()
                    .find_map(|e| e.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
                    .map(String::from)
            };
            if let Some(v) = value {
                attrs.push((key.to_string(), v));
            }
        }
    }
    attrs.sort();
    attrs.dedup();
    attrs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A --since/--until value in Unix nanoseconds.
fn when(s: &str) -> anyhow::Result<i64> {
    if let Some(n) = logs::parse_timestamp(s) {
        return Ok(n);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1e9) as i64);
    }
    let d = super::run_config::parse_duration(s).map_err(|_| {
        anyhow::anyhow!("invalid time {s:?}: use RFC 3339, Unix seconds or a duration like 10m")
    })?;
    Ok(crate::process::now_nanos() - d.as_nanos() as i64)
}

pub fn run(ctx: &Ctx, a: LogsArgs) -> anyhow::Result<()> {
    let names = if a.latest {
        if !a.containers.is_empty() {
            anyhow::bail!("--latest and containers cannot be used together");
        }
        vec![super::latest_container(&ctx.engine()?)?]
    } else {
        a.containers.clone()
    };
    show(ctx, &names, a.flags, false)
}

/// The logs of containers `names`, as `flags` say; `prefix` names each
/// line's container even for one (`pod logs`).
pub fn show(ctx: &Ctx, names: &[String], a: LogsFlags, prefix: bool) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let since = a.since.as_deref().map(when).transpose()?;
    let until = a.until.as_deref().map(when).transpose()?;
    let mut targets = Vec::new();
    for n in names {
        let c = engine.container(n)?;
        let driver = Driver::parse(&c.config().log_driver).map_err(anyhow::Error::msg)?;
        if driver == Driver::None {
            // podman's text (libpod/container_log.go, define.ErrNoLogs).
            anyhow::bail!(
                "this container is using the 'none' log driver, cannot read logs: this container is not logging output"
            );
        }
        targets.push((c, driver, 0u64));
    }
    let colors = a.color && !a.no_color;
    let attrs: Vec<String> = targets
        .iter()
        .map(|(c, _, _)| details(&c.config()))
        .collect();
    let prefix = prefix || targets.len() > 1 || a.names;
    let mut first = true;
    loop {
        let mut any_running = false;
        for (i, (c, driver, offset)) in targets.iter_mut().enumerate() {
            let (mut recs, next) = engine.read_log(&c.id, *driver, *offset);
            *offset = next;
            recs.retain(|r| {
                since.is_none_or(|s| r.nanos >= s) && until.is_none_or(|u| r.nanos <= u)
            });
            if first && let Some(t) = a.tail.filter(|t| *t >= 0) {
                let t = t as usize;
                if recs.len() > t {
                    recs.drain(..recs.len() - t);
                }
            }
            let mut out = std::io::stdout().lock();
            let mut err = std::io::stderr().lock();
            for r in recs {
                let mut line = String::new();
                if colors {
                    line.push_str(COLORS[i % COLORS.len()]);
                }
                if prefix {
                    line.push_str(if a.names { &c.name } else { &c.id[..12] });
                    line.push(' ');
                }
                if a.timestamps {
                    line.push_str(&r.time);
                    line.push(' ');
                }
                if a.details {
                    line.push_str(&attrs[i]);
                    line.push(' ');
                }
                line.push_str(&r.text);
                if colors {
                    line.push_str("\x1b[0m");
                }
                if r.full {
                    line.push('\n');
                }
                let _ = if r.stream == 1 {
                    err.write_all(line.as_bytes())
                } else {
                    out.write_all(line.as_bytes())
                };
            }
            let _ = out.flush();
            if a.follow {
                any_running |= engine
                    .container(&c.id)
                    .map(|c| c.is_running())
                    .unwrap_or(false);
            }
        }
        first = false;
        if !a.follow || !any_running {
            // One last read: whatever the monitor wrote as it stopped.
            if a.follow {
                for (c, driver, offset) in targets.iter_mut() {
                    let (recs, _) = engine.read_log(&c.id, *driver, *offset);
                    for r in recs {
                        print!("{}{}", r.text, if r.full { "\n" } else { "" });
                    }
                }
            }
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
