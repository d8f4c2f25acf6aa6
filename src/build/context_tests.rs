//! The context read beneath its root, against a real directory: a secret
//! beside it, and links that try to reach it.

use super::*;
use std::os::unix::fs::symlink;

struct Fixture {
    _base: tempfile::TempDir,
    root: PathBuf,
    secret: PathBuf,
}

fn fixture() -> Fixture {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("ctx");
    let outside = base.path().join("outside");
    std::fs::create_dir_all(root.join("sub/deep")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let secret = outside.join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    std::fs::write(root.join("sub/file"), "inside").unwrap();
    std::fs::write(root.join("sub/deep/x"), "x").unwrap();
    symlink(&secret, root.join("link")).unwrap();
    symlink("/", root.join("rootlink")).unwrap();
    symlink("../outside", root.join("ldir")).unwrap();
    symlink("sub/file", root.join("inlink")).unwrap();
    symlink("sub", root.join("indir")).unwrap();
    symlink("nowhere", root.join("dangling")).unwrap();
    symlink(&secret, root.join("sub/out")).unwrap();
    Fixture {
        _base: base,
        root,
        secret,
    }
}

fn ctx(f: &Fixture, ignore: &str) -> Context {
    Context::open(&f.root, Ignore::parse(ignore).unwrap()).unwrap()
}

fn escapes(r: Result<Option<Source>, ContextError>) -> String {
    match r {
        Err(ContextError::Escapes(p)) => p,
        Err(e) => panic!("expected an escape, got {e}"),
        Ok(s) => panic!("expected an escape, got {:?}", s.map(|s| s.real)),
    }
}

#[test]
fn links_and_dotdot_out_of_the_root_escape() {
    let f = fixture();
    let c = ctx(&f, "");
    assert_eq!(escapes(c.resolve("link")), "link");
    assert_eq!(
        escapes(c.resolve("rootlink/etc/passwd")),
        "rootlink/etc/passwd"
    );
    assert_eq!(escapes(c.resolve("ldir/secret")), "ldir/secret");
    assert_eq!(escapes(c.resolve("indir/out")), "indir/out");
    // An absolute link is refused even when it names a path inside: the
    // root is the context, not the host's /.
    symlink(f.root.join("sub/file"), f.root.join("abs")).unwrap();
    assert_eq!(escapes(c.resolve("abs")), "abs");
    // A written `..` is clamped at the root, as Docker cleans sources.
    assert_eq!(
        c.resolve("../../sub/file").unwrap().unwrap().name,
        "sub/file"
    );
}

#[test]
fn links_inside_are_followed_to_their_real_path() {
    let f = fixture();
    let c = ctx(&f, "");
    let s = c.resolve("inlink").unwrap().unwrap();
    assert_eq!(
        (s.name.as_str(), s.real.as_path()),
        ("inlink", Path::new("sub/file"))
    );
    assert!(!s.is_dir);
    let d = c.resolve("indir/deep").unwrap().unwrap();
    assert_eq!(d.real, Path::new("sub/deep"));
    assert!(d.is_dir);
    assert_eq!(
        c.host_path(&d),
        f.root.canonicalize().unwrap().join("sub/deep")
    );
    let mut text = String::new();
    c.file(&s).unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "inside");
    assert!(c.resolve("dangling").unwrap().is_none());
    assert!(c.resolve("sub/file/x").unwrap().is_none());
    assert_eq!(c.resolve("").unwrap().unwrap().real, Path::new(""));
}

#[test]
fn an_ignored_file_is_not_reached_through_a_link_either() {
    let f = fixture();
    let c = ctx(&f, "sub/file\n");
    assert!(c.resolve("sub/file").unwrap().is_none());
    assert!(c.resolve("inlink").unwrap().is_none());
    assert!(c.resolve("indir/file").unwrap().is_none());
    assert!(c.resolve("indir/deep/x").unwrap().is_some());
}

#[test]
fn globs_error_on_an_escaping_match_and_never_look_through_one() {
    let f = fixture();
    let c = ctx(&f, "");
    match c.sources("l*") {
        Err(ContextError::Escapes(p)) => assert_eq!(p, "ldir"),
        other => panic!("{:?}", other.map(|v| v.len())),
    }
    // ldir leads out: the walk does not list what is there.
    assert!(c.sources("ldir/*").unwrap().is_empty());
    assert!(c.sources("*/secret").unwrap().is_empty());
    let names: Vec<String> = c
        .sources("i*")
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["indir", "inlink"]);
    let names: Vec<String> = c
        .sources("indir/[fd]*")
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["indir/deep", "indir/file"]);
}

#[test]
fn a_tree_keeps_its_links_as_links() {
    let f = fixture();
    let c = ctx(&f, "sub/deep/x\n");
    let src = c.resolve("indir").unwrap().unwrap();
    let mut out = Vec::new();
    let left_out = c.entries(&src, "d", Owner::default(), &mut out).unwrap();
    assert!(left_out, "sub/deep/x is excluded");
    let paths: Vec<(&str, String)> = out
        .iter()
        .map(|e| {
            let k = match &e.kind {
                Kind::Dir => "dir".to_string(),
                Kind::Context(_) => "file".to_string(),
                Kind::Symlink(t) => format!("-> {t}"),
                _ => "other".to_string(),
            };
            (e.path.as_str(), k)
        })
        .collect();
    let secret = format!("-> {}", f.secret.display());
    assert_eq!(
        paths,
        [
            ("d", "dir".to_string()),
            ("d/deep", "dir".to_string()),
            ("d/file", "file".to_string()),
            ("d/out", secret),
        ]
    );
}

#[test]
fn a_file_swapped_for_a_link_after_the_walk_is_not_read() {
    let f = fixture();
    let c = ctx(&f, "");
    let src = c.resolve("sub").unwrap().unwrap();
    let mut out = Vec::new();
    c.entries(&src, "", Owner::default(), &mut out).unwrap();
    let file = out
        .iter()
        .find_map(|e| match &e.kind {
            Kind::Context(cf) if e.path == "file" => Some(cf.clone()),
            _ => None,
        })
        .unwrap();
    std::fs::remove_file(f.root.join("sub/file")).unwrap();
    symlink("deep/x", f.root.join("sub/file")).unwrap();
    assert!(file.open().is_err(), "no link is followed on reopening");
}

#[test]
fn context_files_are_read_beneath_the_root() {
    let f = fixture();
    let c = ctx(&f, "");
    symlink(&f.secret, f.root.join(".dockerignore")).unwrap();
    match c.read_file(".dockerignore") {
        Err(e @ ContextError::Escapes(_)) => {
            assert_eq!(
                e.to_string(),
                ".dockerignore: path escapes the build context"
            )
        }
        other => panic!("{other:?}"),
    }
    symlink("sub/file", f.root.join("Dockerfile")).unwrap();
    assert_eq!(c.read_file("Dockerfile").unwrap().unwrap(), "inside");
    assert!(c.read_file("Containerfile").unwrap().is_none());
    // A fifo is refused, not waited on.
    rustix::fs::mknodat(
        rustix::fs::CWD,
        f.root.join("fifo"),
        FileType::Fifo,
        Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    assert!(matches!(c.read_file("fifo"), Err(ContextError::Io { .. })));
}

#[test]
fn names_with_control_characters_stay_on_one_line() {
    let f = fixture();
    let c = ctx(&f, "");
    symlink(&f.secret, f.root.join("a\nb")).unwrap();
    let p = escapes(c.resolve("a\nb"));
    assert!(!p.contains('\n'), "{p}");
    assert_eq!(p, "\"a\\nb\"");
}
