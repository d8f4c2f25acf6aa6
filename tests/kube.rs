//! `kube generate`, `kube play` and `kube down` with real pods: the YAML
//! berth writes passes kubernetes-validate (PyPI) in strict mode, a
//! Deployment behind a Service answers from every replica on one host
//! port, ConfigMaps and Secrets reach env and files, and what `kube
//! generate` writes plays back the same way.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// kubernetes-validate (its newest schema) from PyPI, in a venv of its own.
fn kubernetes_validate() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        python_venv(
            "kubernetes-validate-1.37.0",
            &["kubernetes-validate==1.37.0"],
            &|d| {
                Command::new(d.join("bin/kubernetes-validate"))
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            },
        )
        .join("bin/kubernetes-validate")
    })
    .clone()
}

/// Validate `yaml` strictly against Kubernetes 1.37's schema.
fn assert_valid(yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.yaml");
    std::fs::write(&f, yaml).unwrap();
    let out = Command::new(kubernetes_validate())
        .args(["--strict", "-k", "1.37.0"])
        .arg(&f)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubernetes-validate: {said}\n{yaml}");
    assert!(!said.contains("WARN"), "{said}\n{yaml}");
    let docs = yaml.matches("\nkind: ").count() + usize::from(yaml.starts_with("kind: "));
    assert_eq!(said.matches(" passed ").count(), docs, "{said}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// What answers on `port` over `tries` connections (the first line of each page).
fn answers(port: u16, tries: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..tries {
        if let Some(page) = http_get(&format!("127.0.0.1:{port}"))
            && let Some(body) = page.split("\r\n\r\n").nth(1)
        {
            seen.insert(body.lines().next().unwrap_or("").to_string());
        }
    }
    seen
}

fn page(port: u16) -> String {
    let got = http_get(&format!("127.0.0.1:{port}")).unwrap_or_default();
    got.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

#[test]
fn generated_yaml_passes_strict_schema_validation() {
    let (_reg, berth) = pulled(web_layer("hi\n"));
    let host_dir = tempfile::tempdir().unwrap();
    berth.ok(&["volume", "create", "kdata"]);
    let port = free_port().to_string();
    berth.ok(&[
        "create",
        "--name",
        "kgen_web",
        "-p",
        &format!("{port}:80"),
        "-p",
        "5353:53/udp",
        "-v",
        "kdata:/data",
        "-v",
        &format!("{}:/conf:ro", host_dir.path().display()),
        "--tmpfs",
        "/scratch",
        "-m",
        "64m",
        "--cpus",
        "1.5",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "CHOWN",
        "--read-only",
        "--user",
        "1000:1000",
        "-e",
        "MODE=prod",
        "-w",
        "/www",
        "-l",
        "tier=front",
        "--annotation",
        "io.example.owner=team-a",
        "--health-cmd",
        "wget -q -O /dev/null localhost",
        "--health-interval",
        "5s",
        "--restart",
        "on-failure",
        "--add-host",
        "db.local:10.1.2.3",
        "--dns",
        "10.0.0.53",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
    ]);
    berth.ok(&[
        "create",
        "--name",
        "kgen-priv",
        "--privileged",
        "busybox",
        "sleep",
        "1",
    ]);
    let one = berth.ok(&["kube", "generate", "kgen_web"]);
    assert_valid(&one);
    for want in [
        "name: kgenweb-pod",
        "app: kgenweb-pod",
        "tier: front",
        "io.example.owner/kgenweb: team-a",
        "- name: MODE\n      value: prod",
        "memory: 64Mi",
        "cpu: 1500m",
        "add:\n        - CAP_NET_ADMIN",
        "- CAP_CHOWN",
        "- CAP_MKNOD",
        "io.kubernetes.cri-o.TTY/kgenweb: \"false\"",
        "io.podman.annotations.privileged/kgenweb: \"FALSE\"",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "runAsUser: 1000",
        "runAsGroup: 1000",
        "claimName: kdata",
        "type: Directory",
        "medium: Memory",
        "hostPort: ",
        "protocol: UDP",
        "workingDir: /www",
        "restartPolicy: OnFailure",
        "periodSeconds: 5",
        "- db.local",
        "- \"10.0.0.53\"",
    ] {
        assert!(one.contains(want), "{want:?} missing:\n{one}");
    }
    // The image's own env stays out; with no ENTRYPOINT the command is `command`.
    assert!(!one.contains("PATH="), "{one}");
    assert!(one.contains("command:\n    - httpd"), "{one}");
    // Two containers in one Pod, and a privileged one.
    let both = berth.ok(&["generate", "kube", "kgen_web", "kgen-priv"]);
    assert_valid(&both);
    assert!(both.contains("privileged: true"), "{both}");
    // A Deployment and a Service.
    let dep = berth.ok(&[
        "kube",
        "generate",
        "--type",
        "deployment",
        "--replicas",
        "3",
        "-s",
        "kgen_web",
    ]);
    assert_valid(&dep);
    for want in [
        "kind: Deployment",
        "replicas: 3",
        "kind: Service",
        "type: NodePort",
        &format!("nodePort: {port}"),
    ] {
        assert!(dep.contains(want), "{want:?} missing:\n{dep}");
    }
    // A pod with two members.
    berth.ok(&[
        "pod",
        "create",
        "--name",
        "kgenpod",
        "-p",
        &format!("{}:80", free_port()),
    ]);
    berth.ok(&[
        "create", "--pod", "kgenpod", "--name", "a", "busybox", "httpd", "-f", "-p", "80",
    ]);
    berth.ok(&[
        "create", "--pod", "kgenpod", "--name", "b", "busybox", "sleep", "100",
    ]);
    let pod = berth.ok(&["kube", "generate", "-s", "kgenpod"]);
    assert_valid(&pod);
    assert!(pod.contains("name: kgenpod\n"), "{pod}");
    assert!(
        pod.contains("io.kubernetes.cri-o.ContainerType/a: container"),
        "{pod}"
    );
    // A volume is a PersistentVolumeClaim.
    let pvc = berth.ok(&["kube", "generate", "kdata"]);
    assert_valid(&pvc);
    assert!(pvc.contains("kind: PersistentVolumeClaim\n"), "{pvc}");
    assert!(pvc.contains("volume.podman.io/driver: local"), "{pvc}");
    assert_eq!(pod.matches("image: ").count(), 2, "{pod}");
    // Errors name the object.
    let e = berth.fails(&["kube", "generate", "nosuch"], 125);
    assert!(e.contains("nosuch"), "{e}");
    let e = berth.fails(&["kube", "generate", "--type", "job", "kgen_web"], 125);
    assert!(e.contains("invalid type \"job\""), "{e}");
    berth.ok(&["pod", "rm", "-f", "kgenpod"]);
}

const APP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data:
  GREETING: hello-from-configmap
  site.conf: "mode=production\n"
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
type: Opaque
data:
  token: czNjcjN0
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: kweb}
spec:
  replicas: 3
  selector: {matchLabels: {app: kweb}}
  template:
    metadata: {labels: {app: kweb}}
    spec:
      terminationGracePeriodSeconds: 2
      initContainers:
      - name: prep
        image: busybox
        command: [sh, -c, 'echo prepared > /shared/init']
        volumeMounts: [{name: shared, mountPath: /shared}]
      containers:
      - name: srv
        image: busybox
        command: [sh, -c]
        args:
        - |
          { hostname; echo "$GREETING"; cat /etc/site/site.conf; cat /shared/init; echo "$TOKEN"; cat /run/secret/token; echo; } > /www/index.html
          exec httpd -f -p 8000 -h /www
        env:
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: web-config, key: GREETING}}
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: web-secret, key: token}}
        ports: [{name: http, containerPort: 8000}]
        volumeMounts:
        - {name: site, mountPath: /etc/site}
        - {name: shared, mountPath: /shared}
        - {name: secret, mountPath: /run/secret}
        livenessProbe:
          exec: {command: ['true']}
          periodSeconds: 30
        lifecycle:
          preStop: {exec: {command: ['true']}}
      volumes:
      - {name: site, configMap: {name: web-config}}
      - {name: shared, emptyDir: {}}
      - {name: secret, secret: {secretName: web-secret}}
---
apiVersion: v1
kind: Service
metadata: {name: kweb}
spec:
  type: NodePort
  selector: {app: kweb}
  ports: [{port: 80, targetPort: http, nodePort: PORT}]
"#;

#[test]
fn a_deployment_behind_a_service_answers_from_every_replica() {
    let (_reg, berth) = pulled(web_layer("hi\n"));
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let file = write(
        dir.path(),
        "app.yaml",
        &APP.replace("PORT", &port.to_string()),
    );
    let out = berth.run(&["kube", "play", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    // What berth does not apply is named once, by its path.
    assert!(
        stderr.contains("Deployment kweb: field spec.template.spec.containers[0].lifecycle is not supported by berth and is ignored"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("Pod:\n").count(), 3, "{stdout}");
    let pods = berth.ok(&["pod", "ps", "--format", "{{.Name}} {{.Status}}"]);
    for i in 0..3 {
        assert!(pods.contains(&format!("kweb-pod-{i} Running")), "{pods}");
    }
    // Init containers ran once and are gone.
    let names = berth.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!names.contains("prep"), "{names}");
    // Every replica answers on the Service's one host port.
    let mut seen = BTreeSet::new();
    for _ in 0..10 {
        seen.extend(answers(port, 10));
        if seen.len() == 3 {
            break;
        }
    }
    assert_eq!(
        seen,
        (0..3)
            .map(|i| format!("kweb-pod-{i}"))
            .collect::<BTreeSet<_>>()
    );
    let body = page(port);
    assert!(
        body.contains("hello-from-configmap\nmode=production\nprepared\ns3cr3t\ns3cr3t"),
        "{body}"
    );
    // Playing again needs --replace.
    let e = berth.fails(&["kube", "play", &file], 125);
    assert!(
        e.contains("a pod named kweb-pod-0 already exists: use --replace"),
        "{e}"
    );
    let out = berth.ok(&["kube", "down", &file]);
    assert_eq!(out.matches('\n').count(), 8, "{out}");
    assert!(berth.ok(&["pod", "ps", "-q"]).is_empty());
    assert!(berth.ok(&["ps", "-aq"]).is_empty());
    assert!(
        std::fs::read_dir(berth.root().join("kube"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "the pods' files stay behind"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn generate_then_down_then_play_answers_the_same() {
    let _net = network_guard(false);
    let (_reg, berth) = pulled(web_layer("hi\n"));
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: kround
  labels: {{app: kround}}
spec:
  restartPolicy: Always
  containers:
  - name: web
    image: busybox
    command: [sh, -c, 'echo "$WHO at $(pwd) as $(id -u)" > /tmp/index.html; exec httpd -f -p 80 -h /tmp']
    workingDir: /www
    env: [{{name: WHO, value: round-trip}}]
    securityContext: {{runAsUser: 0}}
    resources: {{limits: {{memory: 32Mi}}}}
    ports: [{{containerPort: 80, hostPort: {port}}}]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - {{name: data, persistentVolumeClaim: {{claimName: kround-data}}}}
"#
    );
    let first = write(dir.path(), "first.yaml", &yaml);
    berth.ok(&["kube", "play", &first]);
    let before = page(port);
    assert_eq!(before, "round-trip at /www as 0\n");
    // The claim is a named volume.
    assert!(berth.ok(&["volume", "ls", "-q"]).contains("kround-data"));
    let generated = berth.ok(&["kube", "generate", "kround"]);
    assert_valid(&generated);
    let second = write(dir.path(), "second.yaml", &generated);
    berth.ok(&["kube", "down", &first]);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    // --network: the pod joins a network of the user's.
    berth.ok(&[
        "network",
        "create",
        "--subnet",
        "10.201.78.0/24",
        "kroundnet",
    ]);
    berth.ok(&["kube", "play", "--network", "kroundnet", &second]);
    assert_eq!(page(port), before);
    let ip = berth.ok(&["exec", "kround-web", "ip", "-4", "addr", "show", "eth0"]);
    assert!(ip.contains("10.201.78."), "{ip}");
    let names = berth.ok(&["ps", "--format", "{{.Names}}"]);
    assert!(names.contains("kround-web"), "{names}");
    let limit = berth.ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.Memory}}",
        "kround-web",
    ]);
    assert_eq!(limit.trim(), (32 << 20).to_string());
    berth.ok(&["kube", "down", &second]);
    berth.ok(&["network", "rm", "kroundnet"]);
    // --start=false creates only; a --configmap file feeds envFrom.
    let cm = write(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {A: one, B: two}\n",
    );
    let pod = write(
        dir.path(),
        "env.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kenv}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: c\n    image: busybox\n    command: [env]\n    envFrom: [{configMapRef: {name: extra}, prefix: X_}]\n",
    );
    berth.ok(&["kube", "play", "--start=false", "--configmap", &cm, &pod]);
    let state = berth.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert!(state.contains("kenv-c created"), "{state}");
    berth.ok(&["pod", "start", "kenv"]);
    berth.ok(&["wait", "kenv-c"]);
    let env = berth.ok(&["logs", "kenv-c"]);
    assert!(
        env.contains("X_A=one\n") && env.contains("X_B=two\n"),
        "{env}"
    );
    // A missing ConfigMap is named, and nothing is left half made.
    let e = berth.fails(&["kube", "play", "--replace", &pod], 125);
    assert!(
        e.contains("ConfigMap \"extra\" is not in the YAML (or --configmap)"),
        "{e}"
    );
    assert!(berth.ok(&["pod", "ps", "-q"]).is_empty());
    assert!(berth.ok(&["ps", "-aq"]).is_empty());
}

/// A one-shot HTTP server for `kube play URL`: serves `body` to each GET.
fn serve(body: String) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn kube_play_runs_jobs_daemonsets_built_images_and_urls() {
    let (_reg, berth) = pulled(web_layer("hi\n"));
    let dir = tempfile::tempdir().unwrap();
    // --build: the image is built from the directory named like it.
    std::fs::create_dir(dir.path().join("kbuilt")).unwrap();
    std::fs::write(
        dir.path().join("kbuilt/Containerfile"),
        "FROM busybox\nRUN echo built-here > /built\n",
    )
    .unwrap();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("note"), "from the host\n").unwrap();
    let port = free_port();
    let yaml = format!(
        r#"apiVersion: batch/v1
kind: Job
metadata: {{name: kjob}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: localhost/kbuilt:latest
        command: [sh, -c, 'cat /built /host/note; ls -d /scratch']
        volumeMounts:
        - {{name: host, mountPath: /host, readOnly: true}}
        - {{name: scratch, mountPath: /scratch}}
      volumes:
      - {{name: host, hostPath: {{path: {}, type: Directory}}}}
      - {{name: scratch, emptyDir: {{medium: Memory}}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: kds}}
spec:
  selector: {{matchLabels: {{app: kds}}}}
  template:
    metadata: {{labels: {{app: kds}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox
        command: [httpd, -f, -p, '8080', -h, /www]
        ports: [{{name: web, containerPort: 8080, hostPort: 1}}]
        readinessProbe:
          httpGet: {{path: /, port: web}}
          periodSeconds: 1
"#,
        host.path().display()
    );
    let file = write(dir.path(), "kinds.yaml", &yaml);
    // --publish overrides the YAML's hostPort; --sdnotify=conmon tells a
    // NOTIFY_SOCKET once every pod runs.
    let ndir = tempfile::tempdir().unwrap();
    let nsock = ndir.path().join("n.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&nsock).unwrap();
    listener
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let out = berth
        .cmd()
        .env("NOTIFY_SOCKET", &nsock)
        .args([
            "kube",
            "play",
            "--build",
            "--sdnotify=conmon",
            "--publish",
            &format!("{port}:8080"),
            &file,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut buf = [0u8; 512];
    let n = listener.recv(&mut buf).unwrap();
    let infra = berth
        .ok(&[
            "pod",
            "inspect",
            "--format",
            "{{.InfraContainerID}}",
            "kds-pod",
        ])
        .trim()
        .to_string();
    let monitor = berth.ok(&["inspect", "--format", "{{.State.ConmonPid}}", &infra]);
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("MAINPID={}\nREADY=1\n", monitor.trim())
    );
    // The Job ran to completion, and its pod stopped with it.
    berth.ok(&["wait", "kjob-pod-once"]);
    assert_eq!(
        berth.ok(&["logs", "kjob-pod-once"]),
        "built-here\nfrom the host\n/scratch\n"
    );
    wait_for("the job's pod to stop", || {
        berth
            .ok(&["pod", "ps", "--format", "{{.Name}} {{.Status}}"])
            .contains("kjob-pod Exited")
    });
    // The DaemonSet's one pod serves on the published port, healthy.
    assert!(page(port).contains("hi"));
    wait_for("the readiness probe", || {
        berth
            .ok(&[
                "inspect",
                "--format",
                "{{.State.Health.Status}}",
                "kds-pod-web",
            ])
            .trim()
            == "healthy"
    });
    berth.ok(&["kube", "down", &file]);
    assert!(berth.ok(&["pod", "ps", "-q"]).is_empty());
    // A URL.
    let url_port = serve(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kurl}\nspec:\n  restartPolicy: Never\n  containers:\n  - {name: c, image: busybox, command: [echo, fetched]}\n".to_string(),
    );
    let url = format!("http://127.0.0.1:{url_port}/pod.yaml");
    berth.ok(&["kube", "play", &url]);
    berth.ok(&["wait", "kurl-c"]);
    assert_eq!(berth.ok(&["logs", "kurl-c"]), "fetched\n");
    berth.ok(&["kube", "down", &url]);
    // Bad YAML is named with its place.
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c}]}\n",
    );
    let e = berth.fails(&["kube", "play", &bad], 125);
    assert!(e.contains("a container has no image"), "{e}");
    let e = berth.fails(&["kube", "play", "--sdnotify=sometimes", &bad], 125);
    assert!(e.contains("invalid --sdnotify"), "{e}");
}
