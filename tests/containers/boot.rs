//! After a reboot no monitor runs, and the records still say what ran.
//! contrib/systemd's berth-restart.service runs `start --all --filter
//! restart-policy=always` then, and the same for unless-stopped containers
//! nobody stopped: exactly those containers come back.

use super::*;

/// A reboot, as far as berth can tell: every monitor and every container
/// process killed at once with SIGKILL.
fn kill_everything(berth: &Berth, names: &[&str]) {
    let mut pids = Vec::new();
    for n in names {
        let o = berth.ok(&[
            "inspect",
            "--format",
            "{{.State.ConmonPid}} {{.State.Pid}}",
            n,
        ]);
        pids.extend(o.split_whitespace().filter(|p| *p != "0").map(String::from));
    }
    let mut kill = std::process::Command::new("kill");
    kill.arg("-KILL").args(&pids);
    assert!(kill.status().unwrap().success(), "kill -KILL {pids:?}");
}

#[test]
fn the_restart_service_brings_back_the_always_containers_after_a_reboot() {
    let (_reg, berth) = setup();
    let policies = [
        ("always1", "always"),
        ("always2", "always"),
        ("never", "no"),
        ("onfailure", "on-failure"),
        ("unless1", "unless-stopped"),
        ("unless2", "unless-stopped"),
    ];
    for (name, policy) in policies {
        berth.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--restart",
            policy,
            "busybox",
            "sleep",
            "1000",
        ]);
    }
    // Stopped by its user before the reboot: it stays stopped.
    berth.ok(&["stop", "-t", "0", "unless2"]);
    let names: Vec<&str> = policies
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "unless2")
        .collect();
    kill_everything(&berth, &names);
    // The records catch up with the dead monitors (a container without
    // its monitor is killed and recorded as exited, 137).
    wait_for("every container to be seen dead", || {
        berth.ok(&["ps", "-q"]).trim().is_empty()
    });
    // The unit's command, as it runs it.
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("contrib/systemd/system/berth-restart.service"),
    )
    .unwrap();
    let mut started = String::new();
    for start in unit
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart=/usr/local/bin/berth "))
    {
        let args: Vec<&str> = start.split_whitespace().collect();
        started.push_str(&berth.ok(&args));
    }
    assert_eq!(started.lines().count(), 3, "{started}");
    for (name, policy) in policies {
        let state = berth.ok(&["inspect", "--format", "{{.State.Status}}", name]);
        let want = if policy == "always" || name == "unless1" {
            "running"
        } else {
            "exited"
        };
        assert_eq!(state.trim(), want, "{name} ({policy})");
    }
    // Their monitors are theirs again: a killed process comes back.
    let pid = berth.ok(&["inspect", "--format", "{{.State.Pid}}", "always1"]);
    let _ = std::process::Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status();
    wait_for("always1 to restart", || {
        let s = berth.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.Pid}}",
            "always1",
        ]);
        s.starts_with("running ") && !s.trim().ends_with(pid.trim())
    });
    // And the unit's ExecStop stops them.
    let stop = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStop=/usr/local/bin/berth "))
        .expect("ExecStop");
    let args: Vec<&str> = stop.split_whitespace().collect();
    berth.ok(&args);
    assert_eq!(
        berth.ok(&["ps", "--format", "{{.Names}}"]).trim(),
        "unless1"
    );
    berth.ok(&["rm", "-a", "-f"]);
}
