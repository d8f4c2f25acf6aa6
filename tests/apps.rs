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

fn state(berth: &Berth, c: &str) -> String {
    berth
        .ok(&["inspect", "--format", "{{.State.Status}}", c])
        .trim()
        .to_string()
}

#[test]
fn a_pod_shares_its_network_and_hostname_and_goes_as_one() {
    let _net = network_guard(false);
    let reg = registry_with(web_layer("hello from the pod\n"));
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let port = free_port();
    let pod = berth
        .ok(&[
            "pod",
            "create",
            "--name",
            "shop",
            "-p",
            &format!("127.0.0.1:{port}:80"),
            "--label",
            "app=shop",
        ])
        .trim()
        .to_string();
    assert_eq!(pod.len(), 64, "{pod}");
    // The infra container is there, made from berth's own pause image:
    // nothing was pulled for it.
    let infra = berth
        .ok(&[
            "pod",
            "inspect",
            "--format",
            "{{.InfraContainerID}}",
            "shop",
        ])
        .trim()
        .to_string();
    assert_eq!(
        berth
            .ok(&[
                "ps",
                "-a",
                "--format",
                "{{.Names}}",
                "--filter",
                &format!("id={infra}")
            ])
            .trim(),
        format!("{}-infra", &pod[..12])
    );
    let ps = berth.ok(&["pod", "ps"]);
    assert!(ps.starts_with("POD ID"), "{ps}");
    assert!(ps.contains("shop") && ps.contains("Created"), "{ps}");
    // Members share the network (localhost) and the pod's hostname; the
    // port is published at the pod.
    berth.ok(&[
        "run", "-d", "--pod", "shop", "--name", "web", "busybox", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ]);
    assert_eq!(state(&berth, &infra), "running");
    let got = berth.ok(&[
        "run",
        "--rm",
        "--pod",
        "shop",
        "busybox",
        "sh",
        "-c",
        "hostname; wget -q -O- http://localhost:80/",
    ]);
    assert_eq!(got, "shop\nhello from the pod\n");
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("hello from the pod"), "{page}");
    // A member cannot publish ports of its own.
    let err = berth.fails(
        &["create", "--pod", "shop", "-p", "8080:80", "busybox"],
        125,
    );
    assert!(
        err.contains("published or exposed ports must be defined when the pod is created"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&berth.ok(&["pod", "inspect", "shop"])).unwrap();
    assert_eq!(json["Name"], "shop");
    assert_eq!(json["State"], "Running");
    assert_eq!(json["NumContainers"], 2);
    assert_eq!(json["Labels"]["app"], "shop");
    assert_eq!(
        json["SharedNamespaces"],
        serde_json::json!(["ipc", "net", "uts"])
    );
    assert_eq!(
        berth.ok(&["inspect", "--format", "{{.Pod}}", "web"]).trim(),
        pod
    );
    let ps = berth.ok(&[
        "ps",
        "--pod",
        "--filter",
        "pod=shop",
        "--format",
        "{{.Names}} {{.PodName}} {{.Pod}}",
    ]);
    assert!(ps.contains(&format!("web shop {}", &pod[..12])), "{ps}");
    let stats = berth.ok(&["pod", "stats", "--no-stream", "shop"]);
    assert!(stats.starts_with("POD "), "{stats}");
    assert!(
        stats.contains(&pod[..12]) && stats.contains(" web "),
        "{stats}"
    );
    let top = berth.ok(&["pod", "top", "shop"]);
    assert!(top.contains("httpd"), "{top}");
    // Stop and start as one.
    assert_eq!(berth.ok(&["pod", "stop", "-t", "1", "shop"]).trim(), pod);
    assert_eq!(state(&berth, "web"), "exited");
    assert_eq!(state(&berth, &infra), "exited");
    assert!(
        berth
            .ok(&["pod", "ps", "--format", "{{.Status}}"])
            .contains("Exited")
    );
    berth.ok(&["pod", "start", "shop"]);
    assert_eq!(state(&berth, "web"), "running");
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("hello from the pod"), "{page}");
    // Removal: refused while it runs, then everything goes with -f.
    let err = berth.fails(&["pod", "rm", "shop"], 125);
    assert!(err.contains("running"), "{err}");
    berth.ok(&["pod", "rm", "-f", "-t", "0", "shop"]);
    berth.fails(&["pod", "exists", "shop"], 1);
    berth.fails(&["container", "exists", "web"], 1);
    berth.fails(&["container", "exists", &infra], 1);
    let events = berth.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "type=pod",
        "--format",
        "{{.Status}} {{.Name}}",
    ]);
    assert_eq!(
        events.lines().collect::<Vec<_>>(),
        [
            "create shop",
            "stop shop",
            "start shop",
            "stop shop",
            "remove shop"
        ]
    );
}

#[test]
fn run_pod_new_moves_the_ports_to_a_new_pod() {
    let _net = network_guard(false);
    let reg = registry_with(web_layer("new pod\n"));
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let port = free_port();
    berth.ok(&[
        "run",
        "-d",
        "--pod",
        "new:fresh",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "--name",
        "w",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("new pod"), "{page}");
    let names = berth.ok(&[
        "pod",
        "ps",
        "--ctr-names",
        "--format",
        "{{.Name}} {{.ContainerNames}}",
    ]);
    assert!(
        names.starts_with("fresh ") && names.contains('w'),
        "{names}"
    );
    berth.ok(&["pod", "rm", "-f", "-t", "0", "fresh"]);
    berth.fails(&["container", "exists", "w"], 1);
    // No infra: no shared namespaces, no ports.
    berth.ok(&["pod", "create", "--infra=false", "--name", "bare"]);
    let err = berth.fails(
        &[
            "pod",
            "create",
            "--infra=false",
            "-p",
            "80",
            "--name",
            "bad",
        ],
        125,
    );
    assert!(err.contains("infra container"), "{err}");
    berth.ok(&["run", "--rm", "--pod", "bare", "busybox", "true"]);
    berth.ok(&["pod", "rm", "bare"]);
}

#[test]
fn a_pod_with_exit_policy_stop_stops_after_its_last_container() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--exit-policy",
        "stop",
        "--name",
        "batch",
    ]);
    berth.ok(&["run", "--pod", "batch", "busybox", "sh", "-c", "exit 0"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let st = berth.ok(&["pod", "inspect", "--format", "{{.State}}", "batch"]);
        if st.trim() == "Exited" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "pod state {st}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The default, continue, keeps the pod running.
    berth.ok(&["pod", "create", "--network", "none", "--name", "service"]);
    berth.ok(&["run", "--pod", "service", "busybox", "true"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let st = berth.ok(&["pod", "inspect", "--format", "{{.State}}", "service"]);
    assert_eq!(st.trim(), "Degraded");
    let err = berth.fails(&["pod", "create", "--exit-policy", "sometimes"], 125);
    assert!(err.contains("invalid pod exit policy"), "{err}");
    berth.ok(&["pod", "rm", "-f", "-t", "0", "batch", "service"]);
}

#[test]
fn a_pod_can_share_pid_and_ipc_with_dev_shm_and_its_hosts_file() {
    let _net = network_guard(false);
    let (_reg, berth) = setup();
    berth.ok(&[
        "pod",
        "create",
        "--name",
        "all",
        "--share",
        "+pid",
        "--infra-name",
        "all-infra",
    ]);
    assert_eq!(
        berth
            .ok(&["pod", "inspect", "--format", "{{.SharedNamespaces}}", "all"])
            .trim(),
        "[ipc net uts pid]"
    );
    berth.ok(&[
        "run", "-d", "--pod", "all", "--name", "sleeper", "busybox", "sleep", "300",
    ]);
    // One pid namespace: the infra's pause is its init, the other member's
    // process is there too.
    let ps = berth.ok(&[
        "run", "--rm", "--pod", "all", "busybox", "ps", "-o", "pid,args",
    ]);
    let init = ps.lines().nth(1).unwrap_or_default();
    assert!(
        init.trim_start().starts_with("1 ") && init.contains("/catatonit -P"),
        "{ps}"
    );
    assert!(ps.contains("sleep 300"), "{ps}");
    // One /dev/shm with the one IPC namespace.
    berth.ok(&["exec", "sleeper", "sh", "-c", "echo shared > /dev/shm/note"]);
    assert_eq!(
        berth
            .ok(&[
                "run",
                "--rm",
                "--pod",
                "all",
                "busybox",
                "cat",
                "/dev/shm/note"
            ])
            .trim(),
        "shared"
    );
    // One hosts file: the pod's name and infra, each running member's name
    // while it runs.
    let hosts = berth.ok(&[
        "run",
        "--rm",
        "--pod",
        "all",
        "--name",
        "asker",
        "busybox",
        "cat",
        "/etc/hosts",
    ]);
    assert!(hosts.contains("\tall all-infra\n"), "{hosts}");
    assert!(hosts.contains("127.0.0.1\tsleeper\n"), "{hosts}");
    assert!(hosts.contains("127.0.0.1\tasker\n"), "{hosts}");
    let after = berth.ok(&["exec", "sleeper", "cat", "/etc/hosts"]);
    assert!(!after.contains("asker"), "{after}");
    // The pod's UTS namespace has the pod's hostname.
    let err = berth.fails(
        &[
            "run",
            "--rm",
            "--pod",
            "all",
            "--hostname",
            "mine",
            "busybox",
            "true",
        ],
        125,
    );
    assert!(
        err.contains("cannot set hostname when joining the pod UTS namespace"),
        "{err}"
    );
    berth.ok(&["pod", "rm", "-f", "-t", "0", "all"]);
}

#[test]
fn containers_join_each_others_ipc_and_pid_namespaces_by_name() {
    let (_reg, berth) = setup();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "busybox",
        "sh",
        "-c",
        "echo x > /dev/shm/mine; exec sleep 300",
    ]);
    let got = berth.ok(&[
        "run",
        "--rm",
        "--ipc",
        "container:holder",
        "--pid",
        "container:holder",
        "busybox",
        "sh",
        "-c",
        "cat /dev/shm/mine; ps -o args | grep -c '^sleep 300'",
    ]);
    assert_eq!(got, "x\n1\n");
    // A container others join cannot go before them.
    berth.ok(&[
        "create",
        "--name",
        "joiner",
        "--ipc",
        "container:holder",
        "busybox",
        "true",
    ]);
    let err = berth.fails(&["rm", "-f", "holder"], 125);
    assert!(err.contains("dependent containers"), "{err}");
    berth.ok(&["rm", "joiner"]);
    berth.ok(&["rm", "-f", "-t", "0", "holder"]);
    let err = berth.fails(&["run", "--rm", "--pid", "bogus", "busybox", "true"], 125);
    assert!(err.contains("use private, host or container:NAME"), "{err}");
}

#[test]
fn a_pod_runs_an_infra_image_and_rmi_force_of_it_takes_the_pod() {
    let _net = network_guard(false);
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Containerfile"),
        "FROM busybox\nRUN printf '#!/bin/sh\\necho holding\\nexec sleep 300\\n' > /hold && chmod +x /hold\nENTRYPOINT [\"/not-this\"]\n",
    )
    .unwrap();
    berth.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/holder",
        ctx.path().to_str().unwrap(),
    ]);
    berth.ok(&[
        "pod",
        "create",
        "--name",
        "custom",
        "--infra-image",
        "localhost/holder",
        "--infra-command",
        "/hold",
        "--infra-name",
        "custom-infra",
    ]);
    berth.ok(&[
        "run", "-d", "--pod", "custom", "--name", "member", "busybox", "sleep", "300",
    ]);
    assert_eq!(berth.ok(&["logs", "custom-infra"]), "holding\n");
    let err = berth.fails(&["rmi", "localhost/holder"], 2);
    assert!(err.contains("image is in use by a container"), "{err}");
    let out = berth.ok(&["rmi", "-f", "localhost/holder"]);
    assert!(
        out.starts_with("Untagged: localhost/holder:latest\nDeleted: "),
        "{out}"
    );
    assert_eq!(berth.ok(&["pod", "ps", "-q"]), "");
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
    // An infra image that cannot be had fails the pod, as podman words it.
    let err = berth.fails(
        &["pod", "create", "--infra-image", "127.0.0.1:1/none:x"],
        125,
    );
    assert!(
        err.contains("initializing source docker://127.0.0.1:1/none:x"),
        "{err}"
    );
    assert_eq!(berth.ok(&["pod", "ps", "-q"]), "");
}
