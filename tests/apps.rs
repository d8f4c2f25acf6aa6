//! Applications of several containers: `--requires`, `wait --condition`,
//! pods.

mod common;

use common::*;

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

#[test]
fn requires_starts_what_a_container_needs_first_and_keeps_it() {
    let (_reg, berth) = setup();
    berth.ok(&["create", "--name", "db", "busybox", "sleep", "300"]);
    berth.ok(&[
        "create",
        "--name",
        "cache",
        "--requires",
        "db",
        "busybox",
        "sleep",
        "300",
    ]);
    berth.ok(&[
        "create",
        "--name",
        "web",
        "--requires",
        "cache,db",
        "busybox",
        "sleep",
        "300",
    ]);
    let state = |c: &str| {
        berth
            .ok(&["inspect", "--format", "{{.State.Status}}", c])
            .trim()
            .to_string()
    };
    // Starting web starts cache and db (and cache's own requirement) first.
    berth.ok(&["start", "web"]);
    for c in ["db", "cache", "web"] {
        assert_eq!(state(c), "running", "{c}");
    }
    // run --requires too; a missing requirement is an error at create.
    berth.ok(&["stop", "-t", "0", "db", "cache"]);
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "job",
        "--requires",
        "db",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(state("db"), "running");
    let err = berth.fails(&["create", "--requires", "nosuch", "busybox"], 125);
    assert!(err.contains("nosuch"), "{err}");
    // What others require cannot go first.
    let err = berth.fails(&["rm", "-f", "db"], 125);
    assert!(err.contains("dependent containers"), "{err}");
    berth.ok(&["rm", "-f", "--depend", "db"]);
    for c in ["db", "cache", "web", "job"] {
        berth.fails(&["container", "exists", c], 1);
    }
}

#[test]
fn wait_takes_every_podman_condition() {
    let (_reg, berth) = setup();
    let id = berth
        .ok(&["create", "busybox", "sh", "-c", "sleep 1; exit 3"])
        .trim()
        .to_string();
    // Created: configured, created and initialized hold at once.
    for cond in ["created", "configured", "initialized"] {
        assert_eq!(
            berth.ok(&["wait", "--condition", cond, &id]).trim(),
            "0",
            "{cond}"
        );
    }
    berth.ok(&["start", &id]);
    assert_eq!(
        berth.ok(&["wait", "--condition", "running", &id]).trim(),
        "-1"
    );
    assert_eq!(
        berth.ok(&["wait", "--condition", "exited", &id]).trim(),
        "3"
    );
    assert_eq!(
        berth.ok(&["wait", "--condition", "stopped", &id]).trim(),
        "3"
    );
    let err = berth.fails(&["wait", "--condition", "asleep", &id], 125);
    assert!(
        err.contains("removing, running, stopped, stopping, unhealthy"),
        "{err}"
    );
    berth.ok(&["rm", &id]);
}
