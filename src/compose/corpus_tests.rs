//! The corpus under tests/compose/: every invalid file fails with exactly its `.err` line; every valid project loads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{LoadOptions, load};

fn corpus(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compose")
        .join(sub)
}

/// A fixed environment, so the host's variables never leak into expectations.
fn fixed_env() -> BTreeMap<String, String> {
    [("HOME", "/home/tester"), ("FROM_PROCESS", "process")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn invalid_corpus_errors_name_file_line_and_path() {
    let dir = corpus("invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "corpus too small: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let opts = LoadOptions {
            working_dir: Some(dir.clone()),
            files: vec![PathBuf::from(name)],
            environment: Some(fixed_env()),
            ..LoadOptions::default()
        };
        let got = match load(&opts) {
            Ok(_) => "loaded without error".to_string(),
            Err(e) => e.to_string(),
        };
        let err_file = dir.join(name.replace(".yaml", ".err"));
        let want = std::fs::read_to_string(&err_file)
            .unwrap_or_else(|_| format!("(no {})", err_file.display()));
        if got != want.trim_end() {
            failures.push(format!(
                "{name}:\n  want: {}\n  got:  {got}",
                want.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
