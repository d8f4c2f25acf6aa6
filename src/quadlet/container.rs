//! A `[Container]` section's keys as `berth run` flags.

use super::{Section, reference, relative_to, split_words};
use std::path::Path;

pub(super) fn container_flags(
    main: &Section,
    argv: &mut Vec<String>,
    deps: &mut Vec<String>,
    path: &Path,
    bad: &dyn Fn(&str, &str) -> String,
) -> Result<(), String> {
    match (main.last("User"), main.last("Group")) {
        (Some(u), Some(g)) => argv.push(format!("--user={u}:{g}")),
        (Some(u), None) => argv.push(format!("--user={u}")),
        (None, Some(_)) => return Err(bad("Group", "needs User")),
        _ => {}
    }
    for e in main.all("Environment") {
        for w in split_words(e) {
            argv.push(format!("--env={w}"));
        }
    }
    for f in main.all("EnvironmentFile") {
        argv.push(format!("--env-file={}", relative_to(path, f)));
    }
    // Capability lists may hold several, space-separated.
    for (k, flag) in [
        ("AddCapability", "--cap-add"),
        ("DropCapability", "--cap-drop"),
    ] {
        for c in main.all(k).iter().flat_map(|v| v.split_whitespace()) {
            argv.push(format!("{flag}={c}"));
        }
    }
    main.each(
        &[
            ("WorkingDir", "--workdir"),
            ("PublishPort", "--publish"),
            ("ExposeHostPort", "--expose"),
            ("Tmpfs", "--tmpfs"),
            ("Label", "--label"),
            ("Annotation", "--annotation"),
            ("SeccompProfile", "--security-opt=seccomp"),
            ("Timezone", "--tz"),
            ("HostName", "--hostname"),
            ("IP", "--ip"),
            ("DNS", "--dns"),
            ("AddHost", "--add-host"),
            ("Secret", "--secret"),
            ("LogDriver", "--log-driver"),
        ],
        argv,
    );
    main.last_of(
        &[
            ("HealthCmd", "--health-cmd"),
            ("HealthInterval", "--health-interval"),
            ("HealthTimeout", "--health-timeout"),
            ("HealthRetries", "--health-retries"),
            ("HealthStartPeriod", "--health-start-period"),
            ("HealthOnFailure", "--health-on-failure"),
            ("Pull", "--pull"),
            ("StopTimeout", "--stop-timeout"),
        ],
        argv,
    );
    main.switches(
        &[
            ("ReadOnly", "--read-only"),
            ("RunInit", "--init"),
            ("EnvironmentHost", "--env-host"),
        ],
        argv,
    );
    if main.yes("NoNewPrivileges") {
        argv.push("--security-opt=no-new-privileges".into());
    }
    if main.yes("VolatileTmp") {
        argv.push("--tmpfs=/tmp:rw,size=512M,mode=1777".into());
    }
    for v in main.all("Volume") {
        let (src, rest) = v.split_once(':').unwrap_or(("", v));
        if src.is_empty() || src.starts_with('/') {
            argv.push(format!("--volume={v}"));
            continue;
        }
        let src = if src.starts_with('.') {
            relative_to(path, src)
        } else {
            let (name, dep) = reference(src, "volume");
            deps.extend(dep);
            name
        };
        argv.push(format!("--volume={src}:{rest}"));
    }
    for n in main.all("Network") {
        let (net, dep) = reference(n, "network");
        deps.extend(dep);
        argv.push(format!("--network={net}"));
    }
    if let Some(p) = main.last("Pod") {
        let (pod, dep) = reference(p, "pod");
        if let Some(d) = dep {
            // A member is bound to its pod's unit.
            deps.push(d);
        }
        argv.push(format!("--pod={pod}"));
    }
    Ok(())
}
