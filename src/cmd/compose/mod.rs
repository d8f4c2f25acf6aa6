//! `berth compose`: docker compose v2's command line over the compose
//! model (`crate::compose`) and the engine's project operations
//! (`engine::compose`). Progress lines go to stderr, results to stdout.

mod args;
mod logs;
mod ops;
pub(super) mod show;

use super::{Ctx, exit};
use crate::compose::{ComposeError, LoadOptions, Project};
use crate::engine::compose::ComposeRunError;
pub use args::ComposeArgs;
use args::ComposeCommand as C;

/// `berth-compose ARGS` and `docker-compose ARGS` (berth under either
/// name, a symlink) are `berth compose ARGS`.
pub fn alias_argv(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let called = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if matches!(called.as_deref(), Some("berth-compose" | "docker-compose")) {
        args.insert(1, "compose".into());
    }
    args
}

pub fn run(ctx: &Ctx, a: ComposeArgs) -> anyhow::Result<()> {
    match &a.command {
        C::Version(v) => return show::version(v),
        C::Ls(l) => return show::ls(ctx, l),
        _ => {}
    }
    // Before anything is printed: the re-exec runs this command again.
    if a.command.starts_containers() {
        crate::process::sealed::ensure(&ctx.paths.runroot, ctx.paths.rootless);
    }
    let services = a.command.services();
    let project = load(&a, &services, None)?;
    // Services of every profile: containers of a disabled one are the
    // project's, not orphans (as docker compose tells them apart).
    let known = if matches!(a.command, C::Up(_) | C::Down(_)) {
        match load(&a, &[], Some(vec!["*".to_string()])) {
            Ok(p) => p.service_names(),
            Err(_) => project.service_names(),
        }
    } else {
        vec![]
    };
    match a.command {
        C::Config(c) => show::config(&project, &c),
        C::Up(u) => ops::up(ctx, &project, u, known),
        C::Create(c) => ops::create(ctx, &project, c),
        C::Down(d) => ops::down(ctx, &project, d, known),
        C::Ps(p) => show::ps(ctx, &project, &p),
        C::Logs(l) => logs::logs(ctx, &project, &l),
        C::Start(s) => ops::start(ctx, &project, &s.services),
        C::Stop(s) => ops::stop(ctx, &project, &s),
        C::Restart(s) => ops::restart(ctx, &project, &s),
        C::Kill(k) => ops::kill(ctx, &project, &k),
        C::Rm(r) => ops::rm(ctx, &project, &r),
        C::Pause(s) => ops::pause(ctx, &project, &s.services, true),
        C::Unpause(s) => ops::pause(ctx, &project, &s.services, false),
        C::Exec(e) => ops::exec(ctx, &project, e),
        C::Run(r) => ops::run(ctx, &project, r),
        C::Build(b) => show::build(ctx, &project, &b.services, b.no_cache),
        C::Pull(p) => show::pull(ctx, &project, &p),
        C::Push(p) => show::push(ctx, &project, &p.services),
        C::Images(i) => show::images(ctx, &project, &i),
        C::Top(t) => show::top(ctx, &project, &t.services),
        C::Port(p) => show::port(ctx, &project, &p),
        C::Wait(w) => ops::wait(ctx, &project, &w),
        C::Version(_) | C::Ls(_) => Ok(()),
    }
}

/// The project the flags name; errors as docker compose words them (exit 1).
fn load(
    a: &ComposeArgs,
    services: &[String],
    profiles: Option<Vec<String>>,
) -> anyhow::Result<Project> {
    let quiet = profiles.is_some();
    let opts = LoadOptions {
        working_dir: None,
        files: a.file.clone(),
        project_name: a.project_name.clone(),
        project_directory: a.project_directory.clone(),
        env_files: a.env_file.clone(),
        profiles: profiles.unwrap_or_else(|| {
            a.profile
                .iter()
                .flat_map(|p| p.split(','))
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect()
        }),
        services: services.to_vec(),
        environment: None,
    };
    match crate::compose::load(&opts) {
        Ok(l) => {
            for w in l.warnings.iter().filter(|_| !quiet) {
                eprintln!("WARN[0000] {w}");
            }
            Ok(l.project)
        }
        // docker compose's text, which scripts look for.
        // docker compose: `-p NAME` alone names a project by its labels
        // (`down`, `ps`, `logs`, `stop`... without the file).
        Err(ComposeError::NotFound { .. }) if a.project_name.is_some() => Ok(Project {
            name: crate::compose::normalize_project_name(
                a.project_name.as_deref().unwrap_or_default(),
            ),
            working_dir: std::env::current_dir().unwrap_or_default(),
            ..Default::default()
        }),
        Err(ComposeError::NotFound { .. }) => {
            Err(exit(1, "no configuration file provided: not found"))
        }
        Err(e) => Err(exit(1, e.to_string())),
    }
}

/// A project operation's error with docker compose's exit code.
fn fail(e: ComposeRunError) -> anyhow::Error {
    exit(e.exit_code(), e.to_string())
}

/// Progress lines on stderr, as docker compose prints them without a TTY.
fn say(line: String) {
    eprintln!("{line}");
}
