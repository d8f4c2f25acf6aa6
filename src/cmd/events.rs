//! `berth events` (`system events`): print the events log, and follow it.

use super::Ctx;
use crate::engine::events::Event;
use crate::engine::events_read::{self, Filters, Query};
use crate::format::fields::Origin;
use clap::Args;
use std::io::Write;

#[derive(Args)]
pub struct EventsArgs {
    /// filter output
    #[arg(short, long, value_name = "FILTER")]
    filter: Vec<String>,
    /// format the output using a Go template
    #[arg(long)]
    format: Option<String>,
    /// do not truncate the output
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    no_trunc: bool,
    /// show all events created since timestamp
    #[arg(long, allow_hyphen_values = true)]
    since: Option<String>,
    /// stream events and do not exit when returning the last known event
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    stream: bool,
    /// show all events until timestamp
    #[arg(long, allow_hyphen_values = true)]
    until: Option<String>,
}

/// podman's name for the template and its data in errors.
const ORIGIN: Origin = Origin {
    name: "events",
    type_name: "*events.Event",
    ranged: false,
    prefix: "",
};

enum Output {
    Human { truncate: bool },
    Json,
    Template(String),
}

pub fn run(_ctx: &Ctx, a: EventsArgs) -> anyhow::Result<()> {
    let path = events_read::log_path()?;
    let now = crate::process::now_nanos();
    let time = |s: &Option<String>, since: bool| {
        s.as_deref()
            .map(|s| events_read::parse_time(s, since, now))
            .transpose()
            .map_err(anyhow::Error::msg)
    };
    let q = Query {
        filters: Filters::parse(&a.filter).map_err(anyhow::Error::msg)?,
        since: time(&a.since, true)?,
        until: time(&a.until, false)?,
    };
    let out = match a.format.as_deref().map(str::trim) {
        None | Some("") => Output::Human {
            truncate: !a.no_trunc,
        },
        Some("json" | "{{json .}}" | "{{ json . }}") => Output::Json,
        Some(t) => Output::Template(t.to_string()),
    };
    let mut stdout = std::io::stdout().lock();
    let mut failed: Option<anyhow::Error> = None;
    let mut print = |e: &Event| {
        let line = match &out {
            Output::Human { truncate } => e.human(*truncate) + "\n",
            Output::Json => serde_json::to_string(e).unwrap_or_default() + "\n",
            Output::Template(t) => {
                match crate::format::template::render_one_as(ORIGIN, t, &e.template_value()) {
                    Ok(s) => s,
                    Err(err) => {
                        failed = Some(err.into());
                        return false;
                    }
                }
            }
        };
        // A closed stdout (`events | head`) ends the command.
        stdout.write_all(line.as_bytes()).is_ok() && stdout.flush().is_ok()
    };
    if a.stream {
        events_read::follow(&path, &q, &mut print)?;
    } else {
        events_read::read_all(&path, &q, &mut print);
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
