use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "A" => Some("alpha".into()),
        "EMPTY" => Some(String::new()),
        "SP" => Some("x  y z".into()),
        "PATHV" => Some("/usr/local/bin/app.tar.gz".into()),
        "STAR" => Some("*".into()),
        _ => None,
    }
}

fn w(s: &str) -> String {
    Lexer::default()
        .word(s, &env)
        .unwrap_or_else(|e| format!("ERR {e}"))
}

fn ws(s: &str) -> Vec<String> {
    Lexer::default()
        .words(s, &env)
        .unwrap_or_else(|e| vec![format!("ERR {e}")])
}

#[test]
fn plain_and_simple_vars() {
    assert_eq!(w("hello world"), "hello world");
    assert_eq!(w("$A"), "alpha");
    assert_eq!(w("${A}"), "alpha");
    assert_eq!(w("x$A-y"), "xalpha-y");
    assert_eq!(w("${A}_1"), "alpha_1");
    assert_eq!(w("$A_1"), "");
    assert_eq!(w("$UNSET"), "");
    assert_eq!(w("${UNSET}"), "");
    assert_eq!(w(""), "");
}

#[test]
fn literal_dollar() {
    assert_eq!(w("$"), "$");
    assert_eq!(w("a$"), "a$");
    assert_eq!(w("$ x"), "$ x");
    assert_eq!(w("$/"), "$/");
    assert_eq!(w("cost: $."), "cost: $.");
    // Docker treats $1, $$, $@ as (unset) parameters.
    assert_eq!(w("$1x"), "x");
    assert_eq!(w("$$"), "");
}

#[test]
fn default_and_alternative() {
    assert_eq!(w("${UNSET:-def}"), "def");
    assert_eq!(w("${EMPTY:-def}"), "def");
    assert_eq!(w("${A:-def}"), "alpha");
    assert_eq!(w("${UNSET-def}"), "def");
    assert_eq!(w("${EMPTY-def}"), "");
    assert_eq!(w("${A-def}"), "alpha");
    assert_eq!(w("${A:+alt}"), "alt");
    assert_eq!(w("${EMPTY:+alt}"), "");
    assert_eq!(w("${UNSET:+alt}"), "");
    assert_eq!(w("${A+alt}"), "alt");
    assert_eq!(w("${EMPTY+alt}"), "alt");
    assert_eq!(w("${UNSET+alt}"), "");
    assert_eq!(w("${UNSET:-}"), "");
}

#[test]
fn nested_words_are_expanded() {
    assert_eq!(w("${UNSET:-$A}"), "alpha");
    assert_eq!(w("${UNSET:-${NOPE:-deep}}"), "deep");
    assert_eq!(w("${A:+[$A]}"), "[alpha]");
    assert_eq!(w("${UNSET:-'a }b'}"), "a }b");
    assert_eq!(w("${UNSET:-\"$A x\"}"), "alpha x");
    assert_eq!(w("${UNSET:-a\\}b}"), "a}b");
}

#[test]
fn required_vars() {
    assert_eq!(w("${A:?boom}"), "alpha");
    assert_eq!(w("${A?boom}"), "alpha");
    assert_eq!(w("${EMPTY?boom}"), "");
    assert_eq!(w("${UNSET:?boom}"), "ERR UNSET: boom");
    assert_eq!(w("${UNSET?need $A}"), "ERR UNSET: need alpha");
    assert_eq!(w("${UNSET?}"), "ERR UNSET: is not allowed to be unset");
    assert_eq!(w("${UNSET:?}"), "ERR UNSET: is not allowed to be unset");
    assert_eq!(w("${EMPTY:?}"), "ERR EMPTY: is not allowed to be empty");
    assert_eq!(w("${EMPTY:?msg}"), "ERR EMPTY: msg");
}

#[test]
fn pattern_trimming() {
    assert_eq!(w("${PATHV#*/}"), "usr/local/bin/app.tar.gz");
    assert_eq!(w("${PATHV##*/}"), "app.tar.gz");
    assert_eq!(w("${PATHV%.*}"), "/usr/local/bin/app.tar");
    assert_eq!(w("${PATHV%%.*}"), "/usr/local/bin/app");
    assert_eq!(w("${PATHV#nomatch}"), "/usr/local/bin/app.tar.gz");
    assert_eq!(w("${PATHV%.?z}"), "/usr/local/bin/app.tar");
    assert_eq!(w("${A#al}"), "pha");
    assert_eq!(w("${A%a}"), "alph");
    assert_eq!(w("${UNSET#x}"), "");
    // Quoted wildcards are literal.
    assert_eq!(w("${STAR#'*'}"), "");
    assert_eq!(w("${A#'*'}"), "alpha");
}

#[test]
fn pattern_replace() {
    assert_eq!(w("${A/a/A}"), "Alpha");
    assert_eq!(w("${A//a/A}"), "AlphA");
    assert_eq!(w("${PATHV//\\//_}"), "_usr_local_bin_app.tar.gz");
    assert_eq!(w("${A/l*h/-}"), "a-a");
    assert_eq!(w("${A/p}"), "alha");
    assert_eq!(w("${A/zz/q}"), "alpha");
    assert_eq!(w("${A//?/.}"), ".....");
    assert_eq!(w("${A/a/$A}"), "alphalpha");
}

#[test]
fn bad_substitutions() {
    assert_eq!(w("${}"), "ERR bad substitution: ${}");
    assert_eq!(w("${:x}"), "ERR bad substitution: ${:x}");
    assert_eq!(w("${{x}}"), "ERR bad substitution: ${{x}");
    assert_eq!(w("${A*b}"), "ERR bad substitution: ${A*b}");
    assert_eq!(w("${A:=x}"), "ERR bad substitution: ${A:=x}");
    assert_eq!(w("${/x}"), "ERR bad substitution: ${/x}");
    assert_eq!(w("${A"), "ERR syntax error: missing '}'");
    assert_eq!(w("${"), "ERR syntax error: missing '}'");
    assert_eq!(w("${A:-x"), "ERR syntax error: missing '}'");
    assert_eq!(w("${A:"), "ERR syntax error: missing '}'");
    assert_eq!(w("${A/x"), "ERR syntax error: missing '}'");
}

#[test]
fn single_quotes() {
    assert_eq!(w("'$A'"), "$A");
    assert_eq!(w("'a \\ b'"), "a \\ b");
    assert_eq!(w("x'y'z"), "xyz");
    assert_eq!(w("'\"'"), "\"");
    assert_eq!(
        w("'abc"),
        "ERR unexpected end of statement while looking for matching single-quote"
    );
}

#[test]
fn double_quotes() {
    assert_eq!(w("\"$A b\""), "alpha b");
    assert_eq!(w("\"a\\\"b\""), "a\"b");
    assert_eq!(w("\"\\$A\""), "$A");
    assert_eq!(w("\"a\\\\b\""), "a\\b");
    assert_eq!(w("\"c:\\dir\""), "c:\\dir");
    assert_eq!(w("\"'$A'\""), "'alpha'");
    assert_eq!(w("\"${UNSET:-d}\""), "d");
    assert_eq!(
        w("\"abc"),
        "ERR unexpected end of statement while looking for matching double-quote"
    );
    assert_eq!(
        w("\"abc\\"),
        "ERR unexpected end of statement while looking for matching double-quote"
    );
}

#[test]
fn escapes_outside_quotes() {
    assert_eq!(w("\\$A"), "$A");
    assert_eq!(w("a\\ b"), "a b");
    assert_eq!(w("\\\"x\\\""), "\"x\"");
    assert_eq!(w("\\\\"), "\\");
    assert_eq!(w("trailing\\"), "trailing");
    assert_eq!(w("c:\\dir"), "c:dir");
}

#[test]
fn backtick_escape() {
    let lx = Lexer { escape: '`' };
    let word = |s: &str| lx.word(s, &env).unwrap_or_else(|e| format!("ERR {e}"));
    assert_eq!(word("c:\\dir\\$A"), "c:\\dir\\alpha");
    assert_eq!(word("`$A"), "$A");
    assert_eq!(word("\"a`\"b\""), "a\"b");
    assert_eq!(word("\"c:\\x\""), "c:\\x");
    assert_eq!(word("a` b"), "a b");
}

#[test]
fn words_split_on_unquoted_space() {
    assert_eq!(ws("a b  c"), ["a", "b", "c"]);
    assert_eq!(ws("  lead trail  "), ["lead", "trail"]);
    assert_eq!(ws("\"a b\" c"), ["a b", "c"]);
    assert_eq!(ws("'a b'c d"), ["a bc", "d"]);
    assert_eq!(ws("a\\ b c"), ["a b", "c"]);
    assert_eq!(ws("$SP"), ["x", "y", "z"]);
    assert_eq!(ws("\"$SP\""), ["x  y z"]);
    assert_eq!(ws("pre$SP"), ["prex", "y", "z"]);
    assert_eq!(ws("\"\" a ''"), ["a"]);
    assert_eq!(ws("$UNSET"), Vec::<String>::new());
    assert_eq!(ws(""), Vec::<String>::new());
    assert_eq!(ws("8080/tcp ${P:-9090}/udp"), ["8080/tcp", "9090/udp"]);
}

#[test]
fn unicode_and_unset_vs_empty() {
    assert_eq!(w("héllo ${ünï:-ø}"), "héllo ø");
    assert_eq!(w("${EMPTY}|${UNSET}"), "|");
}

#[test]
fn hostile_inputs_do_not_panic() {
    let deep = format!("{}x{}", "${U:-".repeat(500), "}".repeat(500));
    assert!(w(&deep).starts_with("ERR "));
    let samples = [
        "${A:-${B:+'x\"}",
        "\"${A",
        "'",
        "\\",
        "${A#",
        "${A%%",
        "${A//",
        "${A/a/",
        "${#}",
        "${#A}",
        "${?}",
        "$\u{0}",
        "${A:",
        "\"\\",
        "${A-\"",
    ];
    for s in samples {
        let _ = Lexer::default().word(s, &env);
        let _ = Lexer::default().words(s, &env);
        for (i, _) in s.char_indices() {
            let _ = Lexer { escape: '`' }.words(&s[..i], &env);
        }
    }
}

fn json(s: &str) -> Result<Option<Vec<String>>, &'static str> {
    json_array(s)
}

fn strings(v: &[&str]) -> Result<Option<Vec<String>>, &'static str> {
    Ok(Some(v.iter().map(|x| x.to_string()).collect()))
}

#[test]
fn json_arrays_of_strings() {
    assert_eq!(json("[]"), strings(&[]));
    assert_eq!(json(" \t[ \"a\" ,\"b\" ]\n "), strings(&["a", "b"]));
    assert_eq!(
        json(r#"["\"\/\\\b\f\n\r\t"]"#),
        strings(&["\"/\\\u{8}\u{c}\n\r\t"])
    );
    assert_eq!(json(r#"["\u00e9\u0041", "ünï"]"#), strings(&["éA", "ünï"]));
    assert_eq!(
        json(r#"["\ud83d\ude00", "\ud800x", "\udc00"]"#),
        strings(&["😀", "\u{FFFD}x", "\u{FFFD}"])
    );
}

#[test]
fn json_invalid_means_shell_form() {
    let invalid = [
        "",
        "a",
        "[",
        "[a, b]",
        "[\"a\",]",
        "[\"a\"",
        "['a']",
        "[\"\\x\"]",
        "[\"a\" \"b\"]",
        "[01]",
        "[\"\t\"]",
        "[\"a\"] x",
        "[1.]",
        "[1e]",
        "[-]",
        "[\"\\u12\"]",
        "[\"\\u+123\"]",
        "[tru]",
        "[{1: 2}]",
        "[{\"a\" 1}]",
        "{\"a\": 1}",
        "[\"a\"]]",
    ];
    for s in invalid {
        assert_eq!(json(s), Ok(None), "{s:?}");
    }
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(json(&deep), Ok(None));
}

#[test]
fn json_non_strings_are_rejected() {
    let valid_non_strings = [
        "[1]",
        "[\"a\", null]",
        "[true, false]",
        "[[\"a\"]]",
        "[{}]",
        "[{\"a\": [1, -2.5e-3, {}]}]",
        "[-0.5E+2]",
        "[0]",
    ];
    for s in valid_non_strings {
        assert_eq!(json(s), Err(NOT_STRINGS), "{s:?}");
    }
}

#[test]
fn long_values_stay_fast() {
    let big = "ab".repeat(20_000);
    let env = |n: &str| (n == "BIG").then(|| big.clone());
    let lx = Lexer::default();
    let start = std::time::Instant::now();
    assert_eq!(lx.word("${BIG//b/}", &env).map(|v| v.len()), Ok(20_000));
    assert_eq!(lx.word("${BIG##*a}", &env), Ok("b".into()));
    assert_eq!(lx.word("${BIG%%b*}", &env), Ok("a".into()));
    assert_eq!(lx.word("${BIG/a*/x}", &env), Ok("x".into()));
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}
