use super::Ctx;
use crate::registry::RemoteOptions;
use crate::registry::auth::{self, Credentials};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct LoginArgs {
    /// Registry (host[:port], optionally with a namespace) to log in to
    pub registry: String,
    /// Username for the registry
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password for the registry
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates (false: allow plain HTTP)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// Print the username stored for the registry and exit
    #[arg(long)]
    pub get_login: bool,
}

/// "https://host:5000/ns/" -> ("host:5000", "host:5000/ns").
fn registry_key(word: &str) -> (String, String) {
    let w = word
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = w.split('/').next().unwrap_or(w).to_string();
    (host, w.to_string())
}

fn prompt(label: &str, secret: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("{label}: ");
        std::io::stderr().flush()?;
    }
    let saved = if secret && tty {
        let t = rustix::termios::tcgetattr(&stdin)?;
        let mut quiet = t.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet)?;
        Some(t)
    } else {
        None
    };
    let mut line = String::new();
    let r = stdin.lock().read_line(&mut line);
    if let Some(t) = saved {
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &t)?;
        eprintln!();
    }
    r?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub fn login(_ctx: &Ctx, a: LoginArgs) -> anyhow::Result<()> {
    let (host, key) = registry_key(&a.registry);
    let file = a.authfile.clone().unwrap_or_else(auth::default_auth_file);
    if a.get_login {
        return match auth::lookup(&auth::lookup_files(a.authfile.as_deref()), &host, &key)? {
            Some(c) => {
                println!("{}", c.username);
                Ok(())
            }
            None => anyhow::bail!("not logged into {key}"),
        };
    }
    if a.password.is_some() && a.password_stdin {
        anyhow::bail!("--password and --password-stdin are mutually exclusive");
    }
    let username = match a.username {
        Some(u) => u,
        None => prompt("Username", false)?,
    };
    let password = match (a.password, a.password_stdin) {
        (Some(p), _) => p,
        (None, true) => {
            let mut s = String::new();
            std::io::stdin().lock().read_line(&mut s)?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => prompt("Password", true)?,
    };
    if username.is_empty() || password.is_empty() {
        anyhow::bail!("logging in to {key}: username and password must not be empty");
    }
    let creds = Credentials { username, password };
    let opts = RemoteOptions {
        tls_verify: a.tls_verify,
        authfile: a.authfile.clone(),
        creds: Some(creds.clone()),
    };
    opts.check_login(&host)
        .map_err(|e| anyhow::anyhow!("logging in to {key}: {e}"))?;
    auth::store(&file, &key, &creds)?;
    println!("Login Succeeded!");
    Ok(())
}

#[derive(Args)]
pub struct LogoutArgs {
    /// Registry to log out of
    #[arg(required_unless_present = "all")]
    pub registry: Option<String>,
    /// Remove the credentials of every registry
    #[arg(short, long)]
    pub all: bool,
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
}

pub fn logout(_ctx: &Ctx, a: LogoutArgs) -> anyhow::Result<()> {
    let file = a.authfile.clone().unwrap_or_else(auth::default_auth_file);
    if a.all {
        auth::remove(&file, None)?;
        println!("Removed login credentials for all registries");
        return Ok(());
    }
    let (_, key) = registry_key(a.registry.as_deref().unwrap_or_default());
    if auth::remove(&file, Some(&key))? {
        println!("Removed login credentials for {key}");
        Ok(())
    } else {
        anyhow::bail!("not logged into {key}")
    }
}
