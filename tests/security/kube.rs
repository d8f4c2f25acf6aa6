//! A Kubernetes YAML is input from anywhere (a URL, a colleague): its
//! ConfigMap and Secret keys, item paths and subPaths become file names
//! under berth's store, and must never name a file outside the pod's own
//! directory. A Service's host port is shared by its pods through
//! SO_REUSEPORT: another local user must not be able to join that group
//! and take a share of the connections.

use super::common::*;
use std::process::Command;

fn yaml(volume: &str, mount_extra: &str, data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: evil}}\ndata: {{{data}}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: kevil}}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: [sleep, '60']\n    volumeMounts: [{{name: v, mountPath: /etc/evil{mount_extra}}}]\n  volumes:\n  - {{name: v, configMap: {volume}}}\n"
    )
}

#[test]
fn a_kube_yaml_cannot_write_files_outside_its_pod() {
    let (_reg, berth) = pulled(busybox_layer());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("escaped");
    let depth = "../".repeat(12);
    let cases = [
        // An item's path climbing out of the volume's directory.
        (
            yaml(
                &format!(
                    "{{name: evil, items: [{{key: k, path: '{depth}{}'}}]}}",
                    target.display().to_string().trim_start_matches('/')
                ),
                "",
                "k: pwned",
            ),
            "must be relative and stay inside its volume",
        ),
        // An absolute item path.
        (
            yaml(
                &format!(
                    "{{name: evil, items: [{{key: k, path: '{}'}}]}}",
                    target.display()
                ),
                "",
                "k: pwned",
            ),
            "must be relative and stay inside its volume",
        ),
        // A key that is a path.
        (
            yaml("{name: evil}", "", &format!("'{depth}tmp/x': pwned")),
            "is not valid: use letters, digits",
        ),
        // A subPath climbing out of the volume.
        (
            yaml("{name: evil}", ", subPath: '../../../../etc'", "k: pwned"),
            "must be relative and stay inside its volume",
        ),
    ];
    for (text, why) in cases {
        let f = dir.path().join("evil.yaml");
        std::fs::write(&f, &text).unwrap();
        let e = berth.fails(&["kube", "play", f.to_str().unwrap()], 125);
        assert!(e.contains(why), "{e}\n{text}");
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        assert!(!target.exists());
        // Nothing is left half made.
        assert!(berth.ok(&["pod", "ps", "-q"]).is_empty());
        assert!(berth.ok(&["ps", "-aq"]).is_empty());
        let kube = berth.root().join("kube");
        assert_eq!(
            std::fs::read_dir(&kube).map(|d| d.count()).unwrap_or(0),
            0,
            "files left in {}",
            kube.display()
        );
    }
}

#[test]
fn another_user_cannot_take_a_share_of_a_service_port() {
    let _net = network_guard(false);
    let (_reg, berth) = pulled(busybox_layer());
    let (uid, _) = test_user();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("svc.yaml");
    std::fs::write(
        &f,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: kshare}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: kshare}}}}\n  template:\n    metadata: {{labels: {{app: kshare}}}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n      - name: c\n        image: busybox\n        command: [sleep, '60']\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: kshare}}\nspec:\n  selector: {{app: kshare}}\n  ports: [{{port: {port}}}]\n"
        ),
    )
    .unwrap();
    berth.ok(&["kube", "play", f.to_str().unwrap()]);
    // The same bind as the pods' (SO_REUSEPORT on the same port), by
    // another user: the kernel refuses to put it in the group.
    let bind = format!(
        "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\ns.bind(('0.0.0.0', {port}))\ns.listen(1)\nprint('joined')\n"
    );
    let out = Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            &bind,
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "another user joined the port's group"
    );
    assert!(said.contains("Address already in use"), "{said}");
    // Root's own second bind joins (the pods' group is real), which is
    // what the check above shows another user cannot do.
    let out = Command::new("/usr/bin/python3")
        .args(["-c", &bind])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    berth.ok(&["kube", "down", f.to_str().unwrap()]);
}
