//! Go-template and table output, against podman's own outputs.

use super::*;
use serde_json::json;

#[test]
fn table_spaces_separate_columns() {
    // podman: `table {{.A}} {{.B}}` aligns as `table {{.A}}\t{{.B}}`;
    // spaces inside an action stay.
    let f = Format::parse("table {{.Repository}} {{.ID | upper}}");
    let rows = vec![json!({"Repository": "a.b/c", "ID": "abc"})];
    let out = f.render(&rows, &[("ID", "IMAGE ID")]).unwrap();
    assert_eq!(out, "REPOSITORY  IMAGE ID\na.b/c       ABC\n");
}

#[test]
fn escaped_newline_in_a_go_string_is_kept_as_typed() {
    // podman's 610-format: `--format '{{"\n"}}'` prints a newline; a
    // `\n` outside an action is still a newline.
    let row = json!({"A": "x"});
    assert_eq!(render_one("{{\"\\n\"}}", &row).unwrap(), "\n");
    assert_eq!(render_one("{{.A}}\\n{{.A}}", &row).unwrap(), "x\nx\n");
    let f = Format::parse("{{\"\\n\"}}");
    assert_eq!(f.render(&[row], &[]).unwrap(), "\n");
}

#[test]
fn table_with_headers() {
    let f = Format::parse("table {{.Repository}}\\t{{.ID}}");
    let rows = vec![json!({"Repository": "docker.io/library/busybox", "ID": "abc"})];
    let out = f.render(&rows, &[("ID", "IMAGE ID")]).unwrap();
    assert_eq!(
        out,
        "REPOSITORY                 IMAGE ID\ndocker.io/library/busybox  abc\n"
    );
}

#[test]
fn plain_template_and_funcs() {
    let f = Format::parse("{{.A}} {{json .B}} {{join .C \",\"}} {{upper .A}}");
    let out = f
        .render(&[json!({"A": "x", "B": {"k": 1}, "C": ["p", "q"]})], &[])
        .unwrap();
    assert_eq!(out, "x {\"k\":1} p,q X\n");
    assert!(Format::parse("json").is_json());
}

#[test]
fn prints_like_go() {
    let row = json!({"L": ["a", "b"], "M": {"z": "1", "a": "2"}, "E": [], "N": null, "S": "x"});
    let f = Format::parse(
        "{{.L}} {{.M}} {{.E}} {{- .S -}} {{if .S}}yes{{end}}{{range .L}}<{{.}}>{{end}}{{$x := .S}}{{$x}}",
    );
    assert_eq!(
        f.render(&[row], &[]).unwrap(),
        "[a b] map[a:2 z:1] []xyes<a><b>x\n"
    );
    let f = Format::parse("{{ index .L 1 }} {{.S | printf \"%s!\"}} {{json .L}}");
    assert_eq!(
        f.render(&[json!({"L": ["a", "b"], "S": "x"})], &[])
            .unwrap(),
        "b x! [\"a\",\"b\"]\n"
    );
}

#[test]
fn bad_template_is_an_error() {
    let f = Format::parse("{{.A");
    assert!(f.render(&[json!({})], &[]).is_err());
}

fn ps_rows() -> Vec<Json> {
    vec![
        json!({"Names": "web", "Pod": "", "Labels": {"a": "b"}, "Networks": ["berth"], "State": {"Status": "running"}}),
    ]
}

fn ps_render(text: &str, rows: &[Json]) -> Result<String, String> {
    Format::parse(text)
        .with_origin(Origin::PS)
        .render(rows, &[])
        .map_err(|e| e.to_string())
}

#[test]
fn unknown_fields_fail_as_podman_words_it() {
    assert_eq!(
        ps_render("{{.NoSuchField}}", &ps_rows()).unwrap_err(),
        "template: ps:1:13: executing \"ps\" at <.NoSuchField>: can't evaluate field NoSuchField in type containers.psReporter"
    );
    assert_eq!(
        ps_render("{{.Names}} {{.NoSuchField}}", &ps_rows()).unwrap_err(),
        "template: ps:1:24: executing \"ps\" at <.NoSuchField>: can't evaluate field NoSuchField in type containers.psReporter"
    );
    assert_eq!(
        ps_render("{{.Names.x}}", &ps_rows()).unwrap_err(),
        "template: ps:1:19: executing \"ps\" at <.Names.x>: can't evaluate field x in type string"
    );
    assert_eq!(
        ps_render("{{.Names}}\n{{.Nope.Foo}}", &ps_rows()).unwrap_err(),
        "template: ps:2:7: executing \"ps\" at <.Nope.Foo>: can't evaluate field Nope in type containers.psReporter"
    );
    // Inside a block it fails when the block runs, and says where.
    assert_eq!(
        ps_render("{{if .Names}}{{.Nope}}{{end}}", &ps_rows()).unwrap_err(),
        "template: ps:1:26: executing \"ps\" at <.Nope>: can't evaluate field Nope in type containers.psReporter"
    );
    assert_eq!(
        ps_render("{{if .Pod}}{{.Nope}}{{end}}", &ps_rows()).unwrap(),
        "\n"
    );
    // As podman: no rows, nothing runs, nothing fails.
    assert_eq!(ps_render("{{.NoSuchField}}", &[]).unwrap(), "");
    let inspect = render_one_as(Origin::INSPECT, "{{.State.Nope}}", &ps_rows()[0]).unwrap_err();
    assert_eq!(
        inspect.to_string(),
        "inspecting object: printing inspect output: template: inspect:1:19: executing \"inspect\" at <.State.Nope>: can't evaluate field Nope in type State"
    );
}

#[test]
fn empty_fields_and_missing_map_keys_print_as_podman() {
    assert_eq!(
        ps_render(
            "{{.Pod}}|{{.Labels.missing}}|{{index .Labels \"missing\"}}|{{.Labels.a}}|{{len .Labels}}",
            &ps_rows()
        )
        .unwrap(),
        "|<no value>||b|1\n"
    );
    assert_eq!(
        ps_render("{{with .Labels}}{{.a}}{{.zz}}{{end}}", &ps_rows()).unwrap(),
        "b<no value>\n"
    );
    assert_eq!(
        ps_render("{{index .Networks 5}}", &ps_rows()).unwrap_err(),
        "template: ps: executing \"ps\": error calling index: index out of range: 5"
    );
}

#[test]
fn bad_templates_are_one_line() {
    assert_eq!(
        ps_render("{{nofunc .Names}}", &ps_rows()).unwrap_err(),
        "template: ps:1: function \"nofunc\" not defined"
    );
    for t in ["{{.Names", "{{range .Names}}{{.X}}{{end}}", "{{end}}"] {
        let e = ps_render(t, &ps_rows()).unwrap_err();
        assert!(e.starts_with("template: ps:"), "{t}: {e}");
        assert!(
            !e.contains('\n') && !e.contains("String(") && !e.contains("Object("),
            "{t}: {e}"
        );
    }
}

#[test]
fn headers_split_words() {
    assert_eq!(default_header("CreatedAt"), "CREATED AT");
    assert_eq!(default_header("ID"), "ID");
    assert_eq!(default_header("RepoDigests"), "REPO DIGESTS");
}
