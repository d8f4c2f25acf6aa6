//! What berth reads of its command line before clap parses it: whether
//! the command starts processes in containers (it then runs from a sealed
//! copy of the binary) and the global options it needs that early.

use std::path::PathBuf;

/// `berth compose` options that take a value (the next word).
const COMPOSE_VALUE_OPTS: &[&str] = &[
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--project-directory",
    "--env-file",
    "--profile",
];

/// The global options that take a value (for the pre-parse scans).
pub(super) const GLOBAL_VALUE_OPTS: &[&str] = &[
    "--root",
    "--runroot",
    "--log-level",
    "--storage-driver",
    "--storage-opt",
    "--events-backend",
    "--runtime",
    "--runtime-flag",
    "--cgroup-manager",
    "--config",
];

/// Does this command line start processes inside containers (run, start,
/// restart, exec, build)? Those run from a sealed copy of berth (see
/// `process::sealed`). Read from the words before the subcommand's own
/// flags: the global options (`--root X`, `--runroot=X`), the command and,
/// for `container`/`image`/`builder`, its verb.
pub(super) fn enters_containers(args: &[std::ffi::OsString]) -> bool {
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    let mut positional = vec![];
    while let Some(w) = words.next() {
        if GLOBAL_VALUE_OPTS.contains(&&*w) {
            words.next();
        } else if positional.first().is_some_and(|p| p == "compose") && w.starts_with('-') {
            // compose's own options before its verb (-f FILE -p NAME ...).
            if !w.contains('=') && COMPOSE_VALUE_OPTS.contains(&&*w) {
                words.next();
            }
        } else if w.starts_with('-') {
            let global_flag = matches!(&*w, "--noout" | "--debug" | "-D")
                || GLOBAL_VALUE_OPTS
                    .iter()
                    .any(|o| w.strip_prefix(o).is_some_and(|v| v.starts_with('=')));
            if !global_flag {
                return false;
            }
        } else {
            positional.push(w.into_owned());
            if positional.len() == 2
                || !matches!(
                    positional[0].as_str(),
                    "container"
                        | "image"
                        | "builder"
                        | "healthcheck"
                        | "pod"
                        | "compose"
                        | "system"
                )
            {
                break;
            }
        }
    }
    matches!(
        positional.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["run" | "start" | "restart" | "exec" | "build"]
            | ["healthcheck", "run"]
            | ["container", "run" | "start" | "restart" | "exec"]
            | ["pod", "start" | "restart"]
            | ["compose", "up" | "start" | "restart" | "run" | "exec"]
            // The API service and its workers (which start containers).
            | ["system", "service"]
            | ["image" | "builder", "build"]
    )
}

/// A global option's value given before the subcommand (`--opt X` or
/// `--opt=X`), else the environment variable clap also reads.
pub(super) fn global_value(args: &[std::ffi::OsString], opt: &str, env: &str) -> Option<PathBuf> {
    let mut words = args.iter().skip(1);
    let mut found = std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    while let Some(w) = words.next() {
        let s = w.to_string_lossy();
        if s == opt {
            found = words.next().map(PathBuf::from);
        } else if let Some(v) = s.strip_prefix(opt).and_then(|v| v.strip_prefix('=')) {
            found = Some(PathBuf::from(v));
        } else if !s.starts_with('-') {
            break;
        } else if GLOBAL_VALUE_OPTS.contains(&&*s) {
            words.next();
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<std::ffi::OsString> {
        s.split_whitespace().map(Into::into).collect()
    }

    #[test]
    fn container_starting_commands_are_told_apart_before_parsing() {
        for yes in [
            "berth run --rm img true",
            "berth --root /r --runroot=/x exec c sh",
            "berth container start c",
            "berth image build .",
            "berth builder build -t x .",
            "berth --runroot /x restart c",
            "berth --log-level debug --noout run img true",
            "berth --storage-driver=overlay -D container exec c sh",
            "berth pod start p",
            "berth compose up -d",
            "berth compose -f a.yaml --file=b.yaml -p app --profile x up -d",
            "berth --root /r compose --project-directory d run web true",
        ] {
            assert!(enters_containers(&argv(yes)), "{yes}");
        }
        for no in [
            "berth ps -a",
            "berth --version",
            "berth --help run",
            "berth container ls",
            "berth image ls",
            "berth images run",
            "berth pod ps",
            "berth compose -f up.yaml ps",
            "berth compose config",
            "berth",
        ] {
            assert!(!enters_containers(&argv(no)), "{no}");
        }
        assert_eq!(
            global_value(
                &argv("berth --root /a --runroot /b run x"),
                "--runroot",
                "NO_SUCH_VAR_X"
            ),
            Some(PathBuf::from("/b"))
        );
        assert_eq!(
            global_value(
                &argv("berth --runroot=/c run --runroot /d"),
                "--runroot",
                "NO_SUCH_VAR_X"
            ),
            Some(PathBuf::from("/c"))
        );
    }
}
