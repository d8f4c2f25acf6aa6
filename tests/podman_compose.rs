//! podman-compose 1.6.0 (PyPI) with berth as its podman: a three-service
//! app up, reachable by service name and on its published port, and down,
//! in podman-compose's default pod mode and with `--in-pod false`.

mod common;

use common::*;
use std::process::Command;

const APP: &str = "services:
  web:
    image: busybox
    command: httpd -f -p 80 -h /www
    ports:
      - \"127.0.0.1:PORT:80\"
  api:
    image: busybox
    command: sleep 300
    depends_on:
      - web
  client:
    image: busybox
    command: sleep 300
    depends_on:
      - api
";

/// podman-compose, in the app's directory, driving this test's berth.
fn compose(berth: &Berth, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(podman_compose())
        .current_dir(dir)
        .arg("--podman-path")
        .arg(bin())
        .args(args)
        .env("BERTH_ROOT", berth.root())
        .env("BERTH_RUNROOT", berth.dir.path().join("run"))
        .env("CONTAINERS_REGISTRIES_CONF", &berth.registries_conf)
        .output()
        .unwrap()
}

fn ok(o: std::process::Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "podman-compose {what} ({:?}):\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn three_services(project: &str, in_pod: bool) {
    let _net = network_guard(false);
    let reg = registry_with(web_layer("served to compose\n"));
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    let app = berth.dir.path().join(project);
    std::fs::create_dir(&app).unwrap();
    let port = free_port();
    std::fs::write(
        app.join("compose.yaml"),
        APP.replace("PORT", &port.to_string()),
    )
    .unwrap();
    let pod_flag = if in_pod { "true" } else { "false" };
    ok(
        compose(&berth, &app, &["--in-pod", pod_flag, "up", "-d"]),
        "up -d",
    );
    let names = berth.ok(&[
        "ps",
        "--filter",
        &format!("label=io.podman.compose.project={project}"),
        "--format",
        "{{.Names}} {{.State}}",
    ]);
    for svc in ["web", "api", "client"] {
        assert!(
            names.contains(&format!("{project}_{svc}_1 running")),
            "{svc}: {names}"
        );
    }
    let page = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    assert!(page.contains("served to compose"), "{page}");
    // Service names resolve on the project's network.
    let got = berth.ok(&[
        "exec",
        &format!("{project}_client_1"),
        "wget",
        "-q",
        "-O-",
        "http://web/",
    ]);
    assert_eq!(got, "served to compose\n");
    assert_eq!(
        berth
            .run(&["pod", "exists", &format!("pod_{project}")])
            .status
            .code(),
        Some(if in_pod { 0 } else { 1 })
    );
    let ps = ok(compose(&berth, &app, &["--in-pod", pod_flag, "ps"]), "ps");
    assert!(ps.contains(&format!("{project}_web_1")), "{ps}");
    ok(
        compose(&berth, &app, &["--in-pod", pod_flag, "down", "-t", "1"]),
        "down",
    );
    assert_eq!(berth.ok(&["ps", "-aq"]), "");
    berth.fails(&["pod", "exists", &format!("pod_{project}")], 1);
    berth.fails(&["network", "exists", &format!("{project}_default")], 1);
}

#[test]
fn podman_compose_runs_an_app_in_a_pod() {
    three_services("pcpod", true);
}

#[test]
fn podman_compose_runs_an_app_without_a_pod() {
    three_services("pcnopod", false);
}
