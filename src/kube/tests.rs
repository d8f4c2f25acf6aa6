use super::*;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector: {disk: ssd}
      containers:
      - name: srv
        image: busybox
        command: [httpd, -f]
        lifecycle:
          preStop: {exec: {command: [true]}}
        ports:
        - containerPort: 80
        resources:
          limits: {memory: 64Mi, cpu: 500m}
---
apiVersion: v1
kind: Service
metadata: {name: web}
status: {}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
"#;

#[test]
fn documents_are_typed_and_unknown_fields_named_by_path() {
    let r = read(DEPLOYMENT).unwrap();
    assert_eq!(r.documents.len(), 2);
    let Body::Workload(w) = &r.documents[0].body else {
        panic!("{:?}", r.documents[0].body)
    };
    assert_eq!(w.replicas, Some(3));
    let c = &w.template.spec.containers[0];
    assert_eq!(c.command, ["httpd", "-f"]);
    assert_eq!(memory_bytes(&c.resources.limits["memory"]), Some(64 << 20));
    assert_eq!(cpus(&c.resources.limits["cpu"]), Some(0.5));
    let Body::Service(s) = &r.documents[1].body else {
        panic!()
    };
    assert_eq!(s.ports[0].port, 8080);
    assert_eq!(
        r.warnings,
        [
            "Deployment web: field spec.template.spec.containers[0].lifecycle is not supported by berth and is ignored",
            "Deployment web: field spec.template.spec.nodeSelector is not supported by berth and is ignored",
            "document 3 (kind Ingress): berth runs Pod, Deployment, DaemonSet, Job, Service, ConfigMap, Secret, PersistentVolumeClaim and ignores this one",
        ],
        "{:#?}",
        r.warnings
    );
}

#[test]
fn bad_documents_are_named() {
    let e = read("apiVersion: v1\nmetadata: {name: x}\n").unwrap_err();
    assert!(e.to_string().contains("document 1: no kind"), "{e}");
    let e = read("apiVersion: v1\nkind: Pod\nmetadata: {}\n").unwrap_err();
    assert!(e.to_string().contains("metadata.name is required"), "{e}");
    let e = read("kind: Pod\nmetadata: {name: p}\nspec: {containers: 3}\n").unwrap_err();
    assert!(e.to_string().starts_with("Pod p: spec: "), "{e}");
}

#[test]
fn yaml_leaves_out_empty_fields_and_quotes_what_would_change_type() {
    let pod = Object {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: Meta {
            name: "p".into(),
            labels: [("app".to_string(), "p".to_string())].into(),
            annotations: [("n".to_string(), "80".to_string())].into(),
            ..Default::default()
        },
        spec: serde_json::to_value(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: "busybox".into(),
                args: vec!["true".into(), "yes".into()],
                ..Default::default()
            }],
            enable_service_links: Some(false),
            ..Default::default()
        })
        .unwrap(),
        ..Default::default()
    };
    let y = to_yaml(&[pod.clone(), pod]);
    let back = read(&y).unwrap();
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    assert_eq!(back.documents.len(), 2);
    assert_eq!(back.documents[0].object.metadata.annotations["n"], "80");
    let Body::Pod(p) = &back.documents[0].body else {
        panic!()
    };
    assert_eq!(p.containers[0].args, ["true", "yes"]);
    assert_eq!(p.enable_service_links, Some(false));
    assert!(!y.contains("volumes"), "{y}");
    assert!(y.contains("\n---\n"), "{y}");
}

#[test]
fn quantities() {
    assert_eq!(memory_quantity(64 << 20), "64Mi");
    assert_eq!(memory_quantity(3 << 30), "3Gi");
    assert_eq!(memory_quantity(1000), "1000");
    assert_eq!(cpu_quantity(0.5), "500m");
    assert_eq!(cpu_quantity(2.0), "2");
    assert_eq!(memory_bytes(&"1G".into()), Some(1_000_000_000));
    assert_eq!(memory_bytes(&512.into()), Some(512));
    assert_eq!(cpus(&"2".into()), Some(2.0));
    assert_eq!(dns_label("My_Web.1-"), "my-web-1");
}
