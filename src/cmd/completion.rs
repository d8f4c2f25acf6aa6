//! Shell completion and manual pages, both generated from the clap
//! definitions. Completion is dynamic: the script a shell sources calls
//! berth back on each TAB (`BERTH_COMPLETE=bash berth -- WORDS...`), so
//! subcommands and flags come from this very binary and object names
//! (containers, images, networks, volumes, secrets) from its store, as
//! podman's cobra `__complete` does.

use super::{Cli, Ctx, exit};
use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::Shells;
use std::path::PathBuf;

/// The environment variable that puts berth in completion mode.
const COMPLETE_VAR: &str = "BERTH_COMPLETE";

#[derive(clap::Args)]
pub struct CompletionArgs {
    /// The shell to complete for: bash, zsh, fish or powershell
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh", "fish", "powershell"])]
    shell: String,
    /// Write the script to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct GenerateManArgs {
    /// Directory the pages are written to
    #[arg(value_name = "DIR", default_value = "man")]
    dir: PathBuf,
}

/// In completion mode (the variable set by the sourced script), answer
/// the shell and exit; otherwise return at once.
pub fn complete_if_asked() {
    if std::env::var_os(COMPLETE_VAR).is_none() {
        return;
    }
    clap_complete::CompleteEnv::with_factory(completing_command)
        .var(COMPLETE_VAR)
        .complete();
}

/// `berth completion SHELL`: the script that registers berth's completer.
pub fn completion(_ctx: &Ctx, a: CompletionArgs) -> anyhow::Result<()> {
    let shells = Shells::builtins();
    let shell = shells
        .completer(&a.shell)
        .ok_or_else(|| exit(125, format!("unknown shell {:?}", a.shell)))?;
    // The completer is this binary as it was called: a bare name goes
    // through $PATH, a path is made absolute.
    let argv0 = std::env::args().next().unwrap_or_else(|| "berth".into());
    let completer = if argv0.contains('/') {
        std::path::absolute(&argv0)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or(argv0.clone())
    } else {
        argv0.clone()
    };
    let bin = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "berth".into());
    let mut buf = Vec::new();
    shell.write_registration(COMPLETE_VAR, "berth", &bin, &completer, &mut buf)?;
    match a.file {
        Some(f) => std::fs::write(&f, buf)
            .map_err(|e| exit(125, format!("writing {}: {e}", f.display())))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&buf)?;
        }
    }
    Ok(())
}

/// `berth generate-man [DIR]`: one page per command (berth.1,
/// berth-run.1, berth-image-ls.1, ...).
pub fn generate_man(_ctx: &Ctx, a: GenerateManArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.dir)?;
    for (name, page) in man_pages()? {
        std::fs::write(a.dir.join(name), page)?;
    }
    Ok(())
}

/// Every manual page: (file name, roff text).
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out)?;
        }
        let man = clap_mangen::Man::new(cmd.clone())
            .source(format!("berth {}", env!("CARGO_PKG_VERSION")))
            .manual("berth manual");
        let mut page = Vec::new();
        man.render(&mut page)?;
        out.push((man.get_filename(), page));
        Ok(())
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out)?;
    out.sort();
    Ok(out)
}

/// What an object argument names, from its id and the command it is in.
#[derive(Clone, Copy)]
enum Kind {
    Container,
    Image,
    Network,
    Volume,
    Secret,
    Any,
}

fn kind_of(group: Option<&str>, arg: &str) -> Option<Kind> {
    Some(match (group, arg) {
        (_, "container" | "containers") => Kind::Container,
        (_, "image" | "images") => Kind::Image,
        (Some("network"), "network" | "networks" | "names" | "name") => Kind::Network,
        (Some("volume"), "volume" | "volumes" | "names" | "name") => Kind::Volume,
        (Some("secret"), "secret" | "secrets" | "names" | "name") => Kind::Secret,
        (None, "names") => Kind::Any,
        _ => return None,
    })
}

/// The command tree with a name completer on each object argument.
fn completing_command() -> clap::Command {
    fn attach(cmd: clap::Command, group: Option<&str>) -> clap::Command {
        let group_name = cmd.get_name().to_string();
        // In place: mut_arg would move a positional to the end.
        let mut cmd = cmd.mut_args(|a| {
            let kind = (a.is_positional())
                .then(|| kind_of(group, a.get_id().as_str()))
                .flatten();
            match kind {
                Some(kind) => a.add(ArgValueCandidates::new(move || names(kind))),
                None => a,
            }
        });
        let subs: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        for s in subs {
            let inner = if group.is_none() && group_name == "berth" {
                Some(s.clone())
            } else {
                group.map(String::from)
            };
            cmd = cmd.mut_subcommand(&s, |sc| attach(sc, inner.as_deref()));
        }
        cmd
    }
    attach(Cli::command(), None)
}

/// Names (and short IDs) of this root's objects of a kind; nothing if the
/// store cannot be read.
fn names(kind: Kind) -> Vec<CompletionCandidate> {
    let mut paths = crate::engine::Paths::default_for_user();
    // The command line being completed: `berth -- berth [--root X] ...`.
    let words: Vec<std::ffi::OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    if let Some(r) = super::argv::global_value(&words, "--root", "BERTH_ROOT") {
        paths.root = r;
    }
    if let Some(r) = super::argv::global_value(&words, "--runroot", "BERTH_RUNROOT") {
        paths.runroot = r;
    }
    let Ok(engine) = crate::engine::Engine::open(paths) else {
        return vec![];
    };
    let mut out: Vec<String> = vec![];
    if matches!(kind, Kind::Container | Kind::Any) {
        out.extend(
            engine
                .containers()
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.name),
        );
    }
    if matches!(kind, Kind::Image | Kind::Any) {
        out.extend(
            engine
                .images()
                .unwrap_or_default()
                .into_iter()
                .flat_map(|i| i.names)
                .filter(|n| !n.contains('@')),
        );
    }
    if matches!(kind, Kind::Network | Kind::Any)
        && let Ok(nd) = engine.netdb()
    {
        out.extend(
            crate::engine::networks::list(&nd)
                .unwrap_or_default()
                .into_iter()
                .map(|n| n.name),
        );
    }
    if matches!(kind, Kind::Volume | Kind::Any) {
        out.extend(
            engine
                .volumes()
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.name),
        );
    }
    if matches!(kind, Kind::Secret) {
        out.extend(
            engine
                .secrets()
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.name),
        );
    }
    out.into_iter().map(CompletionCandidate::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// man/ holds the pages of this binary's command line: regenerate
    /// them with `cargo run -- generate-man` after changing a flag.
    #[test]
    fn man_pages_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let pages = man_pages().expect("rendering the manual pages");
        let mut stale = vec![];
        for (name, page) in &pages {
            if std::fs::read(dir.join(name)).ok().as_ref() != Some(page) {
                stale.push(name.clone());
            }
        }
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        on_disk.retain(|n| !pages.iter().any(|(p, _)| p == n));
        assert!(
            stale.is_empty() && on_disk.is_empty(),
            "man/ is out of date (run `cargo run -- generate-man`): changed {stale:?}, left over {on_disk:?}"
        );
    }

    #[test]
    fn object_arguments_complete_names() {
        assert!(matches!(kind_of(None, "container"), Some(Kind::Container)));
        assert!(matches!(
            kind_of(Some("volume"), "names"),
            Some(Kind::Volume)
        ));
        assert!(matches!(kind_of(None, "names"), Some(Kind::Any)));
        assert!(kind_of(Some("build"), "context").is_none());
        // Every object argument of the real tree takes the completer
        // without clap refusing the id.
        let mut cmd = completing_command();
        cmd.build();
    }
}
