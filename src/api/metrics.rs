//! `GET /metrics`: every running container's CPU, memory, network and
//! block I/O in Prometheus's text format, under cAdvisor's metric names,
//! so an existing Prometheus scrapes berth with no exporter beside it.

use super::worker::{Answer, ApiError};
use crate::engine::Engine;
use crate::engine::stats::{Round, Stats};
use crate::state::containers::ContainerRow;
use std::fmt::Write;

/// A label value, escaped as the text format wants.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

type Metric = (&'static str, &'static str, &'static str, fn(&Stats) -> f64);

/// cAdvisor's names, kinds and help texts.
const METRICS: &[Metric] = &[
    (
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed in seconds.",
        |s| s.cpu_nanos as f64 / 1e9,
    ),
    (
        "container_cpu_system_seconds_total",
        "counter",
        "Cumulative system cpu time consumed in seconds.",
        |s| s.cpu_system_nanos as f64 / 1e9,
    ),
    (
        "container_cpu_user_seconds_total",
        "counter",
        "Cumulative user cpu time consumed in seconds.",
        |s| s.cpu_nanos.saturating_sub(s.cpu_system_nanos) as f64 / 1e9,
    ),
    (
        "container_memory_usage_bytes",
        "gauge",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
        |s| s.mem_usage as f64,
    ),
    (
        "container_spec_memory_limit_bytes",
        "gauge",
        "Memory limit for the container.",
        |s| s.mem_limit as f64,
    ),
    (
        "container_network_receive_bytes_total",
        "counter",
        "Cumulative count of bytes received",
        |s| s.net_input as f64,
    ),
    (
        "container_network_transmit_bytes_total",
        "counter",
        "Cumulative count of bytes transmitted",
        |s| s.net_output as f64,
    ),
    (
        "container_fs_reads_bytes_total",
        "counter",
        "Cumulative count of bytes read",
        |s| s.block_input as f64,
    ),
    (
        "container_fs_writes_bytes_total",
        "counter",
        "Cumulative count of bytes written",
        |s| s.block_output as f64,
    ),
    (
        "container_processes",
        "gauge",
        "Number of processes running inside the container.",
        |s| s.pids as f64,
    ),
];

/// The exposition text for these readings.
pub fn render(readings: &[(ContainerRow, Stats)]) -> String {
    let mut out = String::new();
    for (name, kind, help, value) in METRICS {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (c, s) in readings {
            let interface = if name.starts_with("container_network") {
                ",interface=\"eth0\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{name}{{id=\"{}\",image=\"{}\"{interface},name=\"{}\"}} {}",
                escape(&c.id),
                escape(&c.image_name),
                escape(&c.name),
                value(s)
            );
        }
    }
    out
}

pub fn metrics(engine: &Engine) -> Result<Answer, ApiError> {
    let mut round = Round::new(false);
    let readings: Vec<(ContainerRow, Stats)> = engine
        .containers()?
        .into_iter()
        .filter(|c| c.is_running())
        .map(|c| {
            let s = engine.container_stats(&c, None, &mut round);
            (c, s)
        })
        .collect();
    Ok(Answer::Text(200, render(&readings)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_text_names_each_container() {
        let c = ContainerRow {
            id: "abc".into(),
            name: "we\"b".into(),
            image_name: "img".into(),
            ..Default::default()
        };
        let s = Stats {
            cpu_nanos: 1_500_000_000,
            mem_usage: 4096,
            net_input: 7,
            ..Default::default()
        };
        let text = render(&[(c, s)]);
        assert!(text.contains("# TYPE container_cpu_usage_seconds_total counter\n"));
        assert!(text.contains(
            "container_cpu_usage_seconds_total{id=\"abc\",image=\"img\",name=\"we\\\"b\"} 1.5\n"
        ));
        assert!(text.contains(
            "container_memory_usage_bytes{id=\"abc\",image=\"img\",name=\"we\\\"b\"} 4096\n"
        ));
        assert!(text.contains(
            "container_network_receive_bytes_total{id=\"abc\",image=\"img\",interface=\"eth0\",name=\"we\\\"b\"} 7\n"
        ));
    }
}
