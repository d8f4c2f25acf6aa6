//! A service's keys as the container config gets them.

use super::spec::{Replica, service_spec};
use crate::compose::{LoadOptions, Project, load};

fn project(yaml: &str) -> Project {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
    let l = load(&LoadOptions {
        working_dir: Some(dir.path().to_path_buf()),
        project_name: Some("proj".into()),
        environment: Some(Default::default()),
        ..Default::default()
    })
    .unwrap();
    l.project
}

fn spec_of(p: &Project, service: &str) -> (crate::engine::create::CreateSpec, Vec<String>) {
    let mut warnings = Vec::new();
    let name = format!("proj-{service}-2");
    let s = service_spec(
        p,
        service,
        &p.services[service],
        &Replica {
            name: &name,
            number: 2,
            oneoff: false,
        },
        None,
        &mut warnings,
    )
    .unwrap();
    (s, warnings)
}

#[test]
fn keys_map_onto_the_config() {
    let p = project(
        r#"
services:
  web:
    image: busybox
    restart: on-failure:3
    ports: ["127.0.0.1:8080:80/udp", "9000"]
    expose: ["3000"]
    mem_limit: 64m
    deploy:
      resources:
        limits: {cpus: "0.5", pids: 50}
    stop_grace_period: 3s
    networks:
      back:
        aliases: [api]
        ipv4_address: 10.201.59.9
    labels: {tier: front}
    devices: ["/dev/null:/dev/xnull"]
    domainname: example.org
networks:
  back: {}
"#,
    );
    let (s, warnings) = spec_of(&p, "web");
    let c = &s.config;
    assert_eq!(
        (c.restart.name.as_str(), c.restart.max_retries),
        ("on-failure", 3)
    );
    let ports: Vec<(String, u16, u16, &str)> = c
        .ports
        .iter()
        .map(|p| {
            (
                p.host_ip.clone(),
                p.host_port,
                p.container_port,
                p.protocol.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("127.0.0.1".to_string(), 8080, 80, "udp"),
            (String::new(), 0, 9000, "tcp")
        ]
    );
    assert_eq!(s.expose, ["3000/tcp"]);
    assert_eq!(c.memory, Some(64 << 20));
    assert_eq!(
        (c.cpus, c.pids_limit, c.stop_timeout),
        (Some(0.5), Some(50), 3)
    );
    assert_eq!(c.network, "bridge");
    assert_eq!(c.networks.len(), 1);
    assert_eq!(c.networks[0].network, "proj_back");
    assert_eq!(c.networks[0].aliases, ["web", "proj-web-2", "api"]);
    assert_eq!(c.networks[0].ip, Some("10.201.59.9".parse().unwrap()));
    assert_eq!(c.labels["tier"], "front");
    assert_eq!(c.labels["com.docker.compose.project"], "proj");
    assert_eq!(c.labels["com.docker.compose.service"], "web");
    assert_eq!(c.labels["com.docker.compose.container-number"], "2");
    assert_eq!(c.labels["com.docker.compose.oneoff"], "False");
    assert_eq!(
        c.labels["com.docker.compose.config-hash"],
        p.services["web"].config_hash(&p)
    );
    // Keys berth lacks are named, never dropped silently.
    assert!(
        warnings.iter().any(|w| w.contains("devices")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("domainname")),
        "{warnings:?}"
    );
}

#[test]
fn network_modes_and_platforms() {
    let p = project(
        r#"
services:
  a:
    image: busybox
    network_mode: service:b
  b:
    image: busybox
    network_mode: host
  c:
    image: busybox
    platform: linux/s390x
"#,
    );
    assert_eq!(spec_of(&p, "a").0.config.network, "container:proj-b-1");
    assert_eq!(spec_of(&p, "b").0.config.network, "host");
    let mut w = Vec::new();
    let err = service_spec(
        &p,
        "c",
        &p.services["c"],
        &Replica {
            name: "proj-c-1",
            number: 1,
            oneoff: false,
        },
        None,
        &mut w,
    )
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("platform \"linux/s390x\""),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[test]
fn one_offs_take_no_aliases_and_no_fixed_address() {
    let p = project(
        r#"
services:
  web:
    image: busybox
    networks:
      default:
        aliases: [api]
        ipv4_address: 10.201.59.9
"#,
    );
    let mut w = Vec::new();
    let s = service_spec(
        &p,
        "web",
        &p.services["web"],
        &Replica {
            name: "proj-web-run-0123456789ab",
            number: 1,
            oneoff: true,
        },
        None,
        &mut w,
    )
    .unwrap();
    assert_eq!(s.config.networks.len(), 1);
    assert_eq!(s.config.networks[0].network, "proj_default");
    assert!(s.config.networks[0].aliases.is_empty());
    assert_eq!(s.config.networks[0].ip, None);
    assert_eq!(s.config.labels["com.docker.compose.oneoff"], "True");
}
