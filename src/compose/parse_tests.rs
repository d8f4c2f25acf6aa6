//! Unit tests: the located tree, interpolation, short syntaxes, shell splitting, dotenv.

use std::collections::BTreeMap;

use super::node::{Value, parse};
use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn interp(s: &str, vars: &[(&str, &str)]) -> Result<String, InterpolateError> {
    let e = env(vars);
    interpolate(s, &|k| e.get(k).cloned(), &mut Vec::new())
}

#[test]
fn tree_keeps_lines_of_keys_and_values() {
    let n = parse("c.yaml", "a: 1\nb:\n  c: [x, y]\n  d: \"q\"\n").unwrap();
    let b = n.get("b").unwrap();
    let Value::Map(m) = &n.value else { panic!() };
    assert_eq!(m[1].0.line, 2);
    assert_eq!(b.get("c").unwrap().line, 3);
    assert_eq!(b.get("d").unwrap().line, 4);
    assert_eq!(b.get("d").unwrap().value, Value::Str("q".into()));
    assert_eq!(n.get("a").unwrap().value, Value::Int(1));
}

#[test]
fn anchors_aliases_and_merge_keys_expand() {
    let text = "x-base: &base\n  image: busybox\n  tty: true\nservices:\n  a:\n    <<: *base\n    tty: false\n  b: *base\n";
    let n = parse("c.yaml", text).unwrap();
    let s = n.get("services").unwrap();
    let a = s.get("a").unwrap();
    assert_eq!(a.get("image").unwrap().value, Value::Str("busybox".into()));
    assert_eq!(a.get("tty").unwrap().value, Value::Bool(false));
    assert_eq!(
        s.get("b").unwrap().get("tty").unwrap().value,
        Value::Bool(true)
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let e = parse("c.yaml", "services:\n  web:\n    image: [a\n  x: }\n").unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("c.yaml:"), "{text}");
    assert!(
        matches!(e, ComposeError::Syntax { line, .. } if line >= 3),
        "{text}"
    );
}

#[test]
fn oversize_text_is_refused() {
    let big = "a: b\n".repeat(MAX_FILE_BYTES / 5 + 1);
    let e = parse("big.yaml", &big).unwrap_err();
    assert!(matches!(e, ComposeError::TooLarge { .. }), "{e}");
}

#[test]
fn interpolation_forms() {
    let vars = [("A", "a"), ("E", "")];
    assert_eq!(interp("$A ${A} x$${A}", &vars).unwrap(), "a a x${A}");
    assert_eq!(
        interp("${E:-d}|${E-d}|${U-d}|${U:-d}", &vars).unwrap(),
        "d||d|d"
    );
    assert_eq!(interp("[${E:-d}]", &vars).unwrap(), "[d]");
    assert_eq!(interp("[${E-d}]", &vars).unwrap(), "[]");
    assert_eq!(
        interp("${A:+alt} [${E:+alt}] ${E+alt} [${U+alt}]", &vars).unwrap(),
        "alt [] alt []"
    );
    assert_eq!(interp("${U:-${A}-${U2:-z}}", &vars).unwrap(), "a-z");
    assert_eq!(interp("${E?set} ok", &vars).unwrap(), " ok");
    assert_eq!(
        interp("${E:?must be set}", &vars),
        Err(InterpolateError::Required {
            var: "E".into(),
            msg: "must be set".into()
        })
    );
    assert_eq!(
        interp("${U?gone}", &vars),
        Err(InterpolateError::Required {
            var: "U".into(),
            msg: "gone".into()
        })
    );
    assert_eq!(interp("a $ b", &vars), Err(InterpolateError::Invalid));
    assert_eq!(interp("${A", &vars), Err(InterpolateError::Invalid));
    let mut unset = Vec::new();
    let e = env(&[]);
    assert_eq!(
        interpolate("x${NOPE}y$NOPE2", &|k| e.get(k).cloned(), &mut unset).unwrap(),
        "xy"
    );
    assert_eq!(unset, ["NOPE", "NOPE2"]);
}

#[test]
fn short_ports() {
    let p = parse_port("8080:80").unwrap();
    assert_eq!(
        (
            p[0].target,
            p[0].published.as_deref(),
            p[0].protocol.as_str()
        ),
        (80, Some("8080"), "tcp")
    );
    let p = parse_port("127.0.0.1:8080:80/udp").unwrap();
    assert_eq!(
        (p[0].host_ip.as_deref(), p[0].protocol.as_str()),
        (Some("127.0.0.1"), "udp")
    );
    let p = parse_port("9000-9002:9100-9102").unwrap();
    let pairs: Vec<_> = p
        .iter()
        .map(|p| (p.published.clone().unwrap(), p.target))
        .collect();
    assert_eq!(
        pairs,
        [
            ("9000".to_string(), 9100),
            ("9001".into(), 9101),
            ("9002".into(), 9102)
        ]
    );
    let p = parse_port("80").unwrap();
    assert_eq!((p[0].target, p[0].published.clone()), (80, None));
    let p = parse_port("8000-8010:80").unwrap();
    assert_eq!(p[0].published.as_deref(), Some("8000-8010"));
    let p = parse_port("[::1]:8080:80").unwrap();
    assert_eq!(p[0].host_ip.as_deref(), Some("::1"));
    let p = parse_port("127.0.0.1::80").unwrap();
    assert_eq!(p[0].published, None);
    for bad in ["80:x", "0", "70000", "80/foo", "1-3:1-2", "abc:80:80", ""] {
        assert!(parse_port(bad).is_none(), "{bad}");
    }
}

#[test]
fn short_volumes() {
    let v = parse_volume_short("data:/var/lib/data:ro").unwrap();
    assert_eq!(
        (v.kind, v.source.as_deref(), v.target.as_str(), v.read_only),
        (VolumeType::Volume, Some("data"), "/var/lib/data", true)
    );
    let v = parse_volume_short("./src:/app").unwrap();
    assert_eq!(v.kind, VolumeType::Bind);
    assert!(v.bind.as_ref().unwrap().create_host_path);
    let v = parse_volume_short("/abs:/path:rw,z").unwrap();
    assert_eq!(v.bind.unwrap().selinux.as_deref(), Some("z"));
    let v = parse_volume_short("/anon").unwrap();
    assert_eq!((v.kind, v.source), (VolumeType::Volume, None));
    assert!(
        parse_volume_short("data:/x:nocopy")
            .unwrap()
            .volume
            .unwrap()
            .nocopy
    );
    for bad in ["data:relative", "data:/x:bogus", "a:b:c:d", "$x:/y"] {
        assert!(parse_volume_short(bad).is_none(), "{bad}");
    }
}

#[test]
fn shell_split_as_go_shellwords() {
    assert_eq!(
        shell_split(r#"sh -c "echo 'a b' \"q\"" x\ y"#).unwrap(),
        ["sh", "-c", r#"echo 'a b' "q""#, "x y"]
    );
    assert_eq!(shell_split("  a   'b  c'  ").unwrap(), ["a", "b  c"]);
    assert_eq!(shell_split("''").unwrap(), [""]);
    assert!(shell_split("a 'b").is_none());
}

#[test]
fn dotenv_lines() {
    let text = "# c\nA=1\nexport B = two \nC='lit $A'\nD=\"x\\ny ${A}\"\nE=v # comment\nPATHX\n";
    let proc_env = env(&[("PATHX", "p")]);
    let m = parse_dotenv(".env", text, &|k| proc_env.get(k).cloned()).unwrap();
    assert_eq!(m["A"], "1");
    assert_eq!(m["B"], "two");
    assert_eq!(m["C"], "lit $A");
    assert_eq!(m["D"], "x\ny 1");
    assert_eq!(m["E"], "v");
    assert_eq!(m["PATHX"], "p");
}

#[test]
fn project_names_normalize() {
    assert_eq!(normalize_project_name("My App.v2"), "myappv2");
    assert_eq!(normalize_project_name("_x-Y_1"), "x-y_1");
}

#[test]
fn alias_bombs_fail_fast() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = parse("bomb.yaml", &text).unwrap_err();
    assert!(e.to_string().starts_with("bomb.yaml:"), "{e}");
}
