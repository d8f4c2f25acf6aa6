//! Dockerfile parsing into typed instructions.
//!
//! This follows buildkit's Dockerfile frontend (parser + instruction
//! parsing): same directives, comments, continuations, flags, JSON-vs-shell
//! rule and heredocs. Arguments are kept raw (unexpanded, quotes in place)
//! because Docker expands them only at build time, with the ARG/ENV values
//! of the stage being built; see [`super::lex::Lexer`].

use super::lex::json_array;

/// A parse failure, located like Docker's "Dockerfile:7" errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {msg}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub msg: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub escape: char,
    /// The `# syntax=` directive; recorded only, berth has one frontend.
    pub syntax: Option<String>,
    /// ARGs before the first FROM: usable in FROM lines only.
    pub meta_args: Vec<ArgDecl>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// `AS name`, lowercased as Docker does.
    pub name: Option<String>,
    /// Raw, unexpanded (may refer to meta ARGs).
    pub base: String,
    pub platform: Option<String>,
    pub line: usize,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// As written, continuation lines joined (Docker's "original"), heredoc
    /// bodies not included.
    pub text: String,
    pub cmd: Cmd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// Exec form: a JSON array of strings, never expanded by Docker.
    Json(Vec<String>),
    /// Shell form, raw.
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed.
    pub name: String,
    /// Body lines, each ending in `\n`; with `<<-` leading tabs are already
    /// stripped (buildkit strips them before expansion).
    pub body: String,
    /// False when any part of the delimiter was quoted.
    pub expand: bool,
    pub strip_tabs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopySpec {
    /// Raw words; `<<EOF` words stand for heredocs (see [`CopySpec::heredoc`]).
    pub srcs: Vec<String>,
    pub dest: String,
    pub heredocs: Vec<Heredoc>,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub keep_git_dir: bool,
    pub checksum: Option<String>,
    pub exclude: Vec<String>,
    pub parents: bool,
}

impl CopySpec {
    /// The heredoc a source word stands for, if it is a `<<NAME` word.
    pub fn heredoc(&self, src: &str) -> Option<&Heredoc> {
        let word = heredoc_word(src).ok().flatten()?;
        self.heredocs.iter().find(|h| h.name == word.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub test: Args,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Run {
        /// Raw `--mount=` values.
        mounts: Vec<String>,
        network: Option<String>,
        security: Option<String>,
        args: Args,
        heredocs: Vec<Heredoc>,
    },
    Cmd(Args),
    Entrypoint(Args),
    Shell(Vec<String>),
    /// Raw key/value pairs, quotes still in place.
    Label(Vec<(String, String)>),
    /// Raw key/value pairs, quotes still in place.
    Env(Vec<(String, String)>),
    Expose(Vec<String>),
    Volume(Vec<String>),
    Copy(CopySpec),
    Add(CopySpec),
    User(String),
    Workdir(String),
    StopSignal(String),
    Arg(Vec<ArgDecl>),
    Onbuild(Box<Instruction>),
    /// `None` is `HEALTHCHECK NONE`.
    Healthcheck(Option<Healthcheck>),
    Maintainer(String),
}

impl Cmd {
    fn heredocs_mut(&mut self) -> Option<&mut Vec<Heredoc>> {
        match self {
            Cmd::Run { heredocs, .. } => Some(heredocs),
            Cmd::Copy(c) | Cmd::Add(c) => Some(&mut c.heredocs),
            _ => None,
        }
    }
}

/// Parse a Dockerfile. `file` only labels errors.
pub fn parse(text: &str, file: &str) -> Result<Dockerfile, ParseError> {
    let err = |line: usize, msg: String| ParseError {
        file: file.to_string(),
        line,
        msg,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }

    let mut df = Dockerfile {
        escape: '\\',
        syntax: None,
        meta_args: Vec::new(),
        stages: Vec::new(),
    };
    let mut i = directives(&lines, &mut df).map_err(|(l, m)| err(l, m))?;
    let escape = df.escape;
    let mut any_instruction = false;

    while i < lines.len() {
        let start = i;
        i += 1;
        let first = lines[start].trim_start();
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let (part, mut done) = cut_continuation(first, escape);
        let mut joined = part.to_string();
        while !done && i < lines.len() {
            let l = lines[i];
            i += 1;
            // Docker drops comment and blank lines inside a continuation
            // instead of letting them end the instruction.
            let t = l.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (part, d) = cut_continuation(l, escape);
            joined.push_str(part);
            done = d;
        }
        let lineno = start + 1;
        if joined.trim().is_empty() {
            continue;
        }
        any_instruction = true;
        let mut parsed =
            parse_instruction(&joined, lineno, escape, true).map_err(|m| err(lineno, m))?;
        let kw = split_word(joined.trim_start()).0.to_ascii_uppercase();
        if let Parsed::Instr(ins) = &mut parsed
            && let Some(docs) = ins.cmd.heredocs_mut()
        {
            for doc in docs.iter_mut() {
                match read_heredoc(&lines, &mut i, doc) {
                    Some(body) => doc.body = body,
                    None => {
                        let msg = format!("{kw}: unterminated heredoc {:?}", doc.name);
                        return Err(err(lineno, msg));
                    }
                }
            }
        }
        match parsed {
            Parsed::From(mut stage) => {
                if let Some(n) = &stage.name
                    && df.stages.iter().any(|s| s.name.as_ref() == Some(n))
                {
                    return Err(err(lineno, format!("FROM: duplicate stage name {n:?}")));
                }
                stage.index = df.stages.len();
                df.stages.push(stage);
            }
            Parsed::Instr(ins) => match (df.stages.last_mut(), ins.cmd) {
                (Some(stage), cmd) => stage.instructions.push(Instruction { cmd, ..ins }),
                (None, Cmd::Arg(decls)) => df.meta_args.extend(decls),
                (None, _) => {
                    let msg = format!("{kw}: instruction must come after FROM");
                    return Err(err(lineno, msg));
                }
            },
        }
    }
    if df.stages.is_empty() {
        let msg = if any_instruction {
            "no build stage in current context"
        } else {
            "file with no instructions"
        };
        return Err(err(1, msg.into()));
    }
    Ok(df)
}

/// Parser directives: `# name=value` lines at the very top. Like buildkit,
/// the first line that is not a known directive ends them (it is then an
/// ordinary comment, blank line or instruction). Returns the next line index.
fn directives(lines: &[&str], df: &mut Dockerfile) -> Result<usize, (usize, String)> {
    let mut seen: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((name, value)) = directive(line.trim_start()) else {
            return Ok(i);
        };
        let key = name.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            return Ok(i);
        }
        if seen.contains(&key) {
            return Err((
                i + 1,
                format!("only one {key} parser directive can be used"),
            ));
        }
        match key.as_str() {
            "escape" => match value {
                "\\" => df.escape = '\\',
                "`" => df.escape = '`',
                _ => {
                    let msg = format!("invalid escape token '{value}' does not match ` or \\");
                    return Err((i + 1, msg));
                }
            },
            "syntax" => df.syntax = Some(value.to_string()),
            _ => {}
        }
        seen.push(key);
    }
    Ok(lines.len())
}

/// Docker's directive shape: `#\s*name\s*=\s*value\s*`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line
        .strip_prefix('#')?
        .trim_start_matches(|c: char| c.is_ascii_whitespace());
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    let (name, rest) = rest.split_at(name_len);
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let value = rest
        .strip_prefix('=')?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    (!name.is_empty() && !value.is_empty()).then_some((name, value))
}

/// Docker's continuation rule: the escape char, then only blanks, at the end
/// of the line. Returns the line without it and whether the line is final.
fn cut_continuation(line: &str, escape: char) -> (&str, bool) {
    match line.trim_end_matches([' ', '\t']).strip_suffix(escape) {
        Some(s) => (s, false),
        None => (line, true),
    }
}

/// Body lines up to the terminator line; `None` if the file ends first.
fn read_heredoc(lines: &[&str], i: &mut usize, doc: &Heredoc) -> Option<String> {
    let mut body = String::new();
    while let Some(line) = lines.get(*i) {
        *i += 1;
        let line = if doc.strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if line == doc.name {
            return Some(body);
        }
        body.push_str(line);
        body.push('\n');
    }
    None
}

enum Parsed {
    From(Stage),
    Instr(Instruction),
}

/// First whitespace-delimited word and the rest (leading blanks removed).
fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

const KEYWORDS: &str = "FROM RUN CMD ENTRYPOINT SHELL LABEL ENV EXPOSE VOLUME COPY ADD USER WORKDIR STOPSIGNAL ARG ONBUILD HEALTHCHECK MAINTAINER";

/// The flags each instruction accepts (none for the others): `name` takes
/// a value, `name?` is a boolean, `name*` may repeat. The sets are
/// buildkit's (COPY has no --checksum/--keep-git-dir, ADD no --from).
const FLAGS: &[(&str, &str)] = &[
    ("FROM", "platform"),
    ("RUN", "mount* network security"),
    ("COPY", "from chown chmod link? parents? exclude*"),
    (
        "ADD",
        "chown chmod link? keep-git-dir? checksum parents? exclude*",
    ),
    (
        "HEALTHCHECK",
        "interval timeout start-period start-interval retries",
    ),
];

const NO_DEST: &str = "requires at least two arguments, but only one was provided. Destination could not be determined";

/// Parse one logical line. `heredocs` is false for ONBUILD triggers, where
/// buildkit does not look for heredocs either. Errors are the bare message.
fn parse_instruction(
    line: &str,
    lineno: usize,
    esc: char,
    heredocs: bool,
) -> Result<Parsed, String> {
    let line = line.trim();
    let (kw_raw, rest) = split_word(line);
    let kw = kw_raw.to_ascii_uppercase();
    if !KEYWORDS.split(' ').any(|k| k == kw) {
        return Err(format!("unknown instruction: {kw}"));
    }
    let spec = FLAGS.iter().find(|(k, _)| *k == kw).map_or("", |(_, f)| f);
    let e = |msg: &str| format!("{kw}: {msg}");
    // Like buildkit, any instruction may start with `--flags`; those that
    // take none reject them as unknown.
    let (flag_words, args) = extract_flags(rest);
    let args = args.trim();
    let f = Flags::parse(&flag_words, spec).map_err(|m| e(&m))?;
    if args.is_empty() {
        return Err(e(match kw.as_str() {
            "FROM" => "no base image given",
            "COPY" | "ADD" => NO_DEST,
            "USER" | "WORKDIR" | "STOPSIGNAL" | "MAINTAINER" => "requires exactly one argument",
            _ => "requires at least one argument",
        }));
    }
    let json = || json_array(args).map_err(e);
    let exec_or_shell = || -> Result<Args, String> {
        Ok(json()?.map_or_else(|| Args::Shell(args.to_string()), Args::Json))
    };
    let find_heredocs = |is_shell: bool| {
        if heredocs && is_shell && args.contains("<<") {
            detect_heredocs(args).map_err(|m| e(&m))
        } else {
            Ok(Vec::new())
        }
    };
    let cmd = match kw.as_str() {
        "FROM" => return parse_from(args, f.get("platform"), lineno).map_err(|m| e(&m)),
        "RUN" => {
            let args_v = exec_or_shell()?;
            if args_v == Args::Json(Vec::new()) {
                return Err(e("requires at least one argument"));
            }
            Cmd::Run {
                mounts: f.all("mount"),
                network: f.get("network"),
                security: f.get("security"),
                heredocs: find_heredocs(matches!(args_v, Args::Shell(_)))?,
                args: args_v,
            }
        }
        "CMD" => Cmd::Cmd(exec_or_shell()?),
        "ENTRYPOINT" => Cmd::Entrypoint(exec_or_shell()?),
        "SHELL" => match json()? {
            Some(v) if v.is_empty() => return Err(e("requires at least one argument")),
            Some(v) => Cmd::Shell(v),
            None => return Err(e("requires the arguments to be in JSON form")),
        },
        "ENV" => Cmd::Env(name_values(args, esc).map_err(|m| e(&m))?),
        "LABEL" => Cmd::Label(name_values(args, esc).map_err(|m| e(&m))?),
        "EXPOSE" => Cmd::Expose(words(args)),
        "VOLUME" => {
            let vols = json()?.unwrap_or_else(|| words(args));
            if vols.is_empty() {
                return Err(e("requires at least one argument"));
            }
            if vols.iter().any(String::is_empty) {
                return Err(e("specified can not be an empty string"));
            }
            Cmd::Volume(vols)
        }
        "COPY" | "ADD" => {
            // Shell form is split on blanks only, as Docker does: paths with
            // spaces need the JSON form.
            let (mut w, is_shell) = match json()? {
                Some(v) => (v, false),
                None => (words(args), true),
            };
            let heredocs = find_heredocs(is_shell)?;
            let dest = w
                .pop()
                .filter(|_| !w.is_empty())
                .ok_or_else(|| e(NO_DEST))?;
            if matches!(heredoc_word(&dest), Ok(Some(_))) {
                return Err(e("cannot accept a heredoc as a destination"));
            }
            let spec = CopySpec {
                srcs: w,
                dest,
                heredocs,
                from: f.get("from"),
                chown: f.get("chown"),
                chmod: f.get("chmod"),
                link: f.bool("link"),
                keep_git_dir: f.bool("keep-git-dir"),
                checksum: f.get("checksum"),
                exclude: f.all("exclude"),
                parents: f.bool("parents"),
            };
            if kw == "COPY" {
                Cmd::Copy(spec)
            } else {
                Cmd::Add(spec)
            }
        }
        "USER" => Cmd::User(args.to_string()),
        "WORKDIR" => Cmd::Workdir(args.to_string()),
        "STOPSIGNAL" => Cmd::StopSignal(args.to_string()),
        "MAINTAINER" => Cmd::Maintainer(args.to_string()),
        "ARG" => Cmd::Arg(arg_decls(args, esc).map_err(|m| e(&m))?),
        "ONBUILD" => {
            let trigger = split_word(args).0.to_ascii_uppercase();
            match trigger.as_str() {
                "ONBUILD" => return Err(e("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")),
                "FROM" | "MAINTAINER" => {
                    return Err(e(&format!("{trigger} isn't allowed as an ONBUILD trigger")));
                }
                _ => {}
            }
            match parse_instruction(args, lineno, esc, false)? {
                Parsed::Instr(inner) => Cmd::Onbuild(Box::new(inner)),
                Parsed::From(_) => return Err(e("FROM isn't allowed as an ONBUILD trigger")),
            }
        }
        _ => Cmd::Healthcheck(healthcheck(args, &f).map_err(|m| e(&m))?),
    };
    Ok(Parsed::Instr(Instruction {
        line: lineno,
        text: line.to_string(),
        cmd,
    }))
}

/// `FROM image [AS name]`, with Docker's arity and stage-name rules.
fn parse_from(args: &str, platform: Option<String>, line: usize) -> Result<Parsed, String> {
    let w = words(args);
    let name = match w.as_slice() {
        [_] => None,
        [_, as_, n] if as_.eq_ignore_ascii_case("as") => {
            let lower = n.to_lowercase();
            // Docker's rule: ^[a-z][a-z0-9-_.]*$ after lowercasing.
            let mut chars = lower.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err(format!(
                    "invalid name for build stage: {n:?}, name can't start with a number or contain symbols"
                ));
            }
            Some(lower)
        }
        _ => return Err("requires either one or three arguments".into()),
    };
    Ok(Parsed::From(Stage {
        index: 0,
        name,
        base: w[0].clone(),
        platform,
        line,
        instructions: Vec::new(),
    }))
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD command`.
fn healthcheck(args: &str, f: &Flags) -> Result<Option<Healthcheck>, String> {
    let (typ, cmd) = split_word(args);
    match typ.to_ascii_uppercase().as_str() {
        "NONE" if cmd.is_empty() => Ok(None),
        "NONE" => Err("NONE takes no arguments".into()),
        "CMD" => {
            let test = match json_array(cmd)? {
                Some(v) if !v.is_empty() => Args::Json(v),
                None if !cmd.is_empty() => Args::Shell(cmd.to_string()),
                _ => return Err("missing command after HEALTHCHECK CMD".into()),
            };
            Ok(Some(Healthcheck {
                test,
                interval: f.get("interval"),
                timeout: f.get("timeout"),
                start_period: f.get("start-period"),
                start_interval: f.get("start-interval"),
                retries: f.get("retries"),
            }))
        }
        other => Err(format!("unknown type {other:?} in HEALTHCHECK (try CMD)")),
    }
}

/// ARG takes names or name=default pairs, raw.
fn arg_decls(args: &str, esc: char) -> Result<Vec<ArgDecl>, String> {
    raw_words(args, esc)
        .into_iter()
        .map(|word| {
            let (name, default) = match word.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (word, None),
            };
            if name.is_empty() {
                return Err("names can not be blank".to_string());
            }
            Ok(ArgDecl { name, default })
        })
        .collect()
}

/// ENV/LABEL pairs. Docker decides the form by the first word: without `=`
/// it is the legacy `KEY value with spaces` form.
fn name_values(args: &str, esc: char) -> Result<Vec<(String, String)>, String> {
    let words = raw_words(args, esc);
    if words.first().is_some_and(|w| !w.contains('=')) {
        let (k, v) = split_word(args);
        if v.is_empty() {
            return Err("must have two arguments".into());
        }
        return Ok(vec![(k.to_string(), v.to_string())]);
    }
    let mut pairs = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(format!(
                "syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ));
        };
        if k.is_empty() {
            return Err("names can not be blank".into());
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    Ok(pairs)
}

/// The next word of `s` split on unquoted blanks, quotes and escapes kept
/// (buildkit's parser splits ENV/LABEL/ARG this way and leaves quote removal
/// to the builder). Returns the word and the rest.
fn next_word(s: &str, esc: char) -> Option<(String, &str)> {
    let s = s.trim_start();
    let mut word = String::new();
    let mut quote = None;
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c.is_whitespace() => return Some((word, &s[i..])),
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        // Nothing escapes inside single quotes; an escape char ending the
        // input is dropped, as Docker does.
        if c == esc && quote != Some('\'') {
            if let Some((_, n)) = it.next() {
                word.push(c);
                word.push(n);
            }
            continue;
        }
        word.push(c);
    }
    (!word.is_empty()).then_some((word, ""))
}

fn raw_words(mut s: &str, esc: char) -> Vec<String> {
    let mut words = Vec::new();
    while let Some((w, rest)) = next_word(s, esc) {
        words.push(w);
        s = rest;
    }
    words
}

/// Leading `--flag[=value]` words, quotes removed; a bare `--` ends them.
/// Like buildkit, `\` is the escape here whatever the directive says.
fn extract_flags(line: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = line.trim_start();
    while rest.starts_with("--") {
        let Some((word, after)) = next_word(rest, '\\') else {
            break;
        };
        rest = after.trim_start();
        if word == "--" {
            break;
        }
        flags.push(unquote(&word).map_or(word, |(w, _)| w));
    }
    (flags, rest)
}

/// Heredocs named on a RUN/COPY/ADD line. Like buildkit, words are found
/// with `\` as escape whatever the directive says.
fn detect_heredocs(args: &str) -> Result<Vec<Heredoc>, String> {
    let mut docs = Vec::new();
    for w in raw_words(args, '\\') {
        docs.extend(heredoc_word(&w)?);
    }
    Ok(docs)
}

/// Buildkit's heredoc word `^(\d*)<<(-?)([^<]*)$` (the fd prefix is
/// accepted and ignored); an empty delimiter is not a heredoc.
fn heredoc_word(word: &str) -> Result<Option<Heredoc>, String> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = rest.strip_prefix("<<") else {
        return Ok(None);
    };
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let (name, quoted) = unquote(rest)?;
    Ok((!name.is_empty()).then(|| Heredoc {
        name,
        body: String::new(),
        expand: !quoted,
        strip_tabs,
    }))
}

/// Quote removal without expansion (buildkit keeps `$X` literally in a
/// heredoc delimiter). Also reports whether quotes were removed, which is
/// buildkit's rule for not expanding a heredoc body.
fn unquote(s: &str) -> Result<(String, bool), String> {
    let mut out = String::new();
    let mut quoted = false;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\'' | '"' => {
                quoted = true;
                loop {
                    match it.next() {
                        Some(x) if x == c => break,
                        Some('\\') if c == '"' => match it.next_if(|n| "\"$\\".contains(*n)) {
                            Some(n) => out.push(n),
                            None => out.push('\\'),
                        },
                        Some(x) => out.push(x),
                        None => {
                            let which = if c == '"' { "double" } else { "single" };
                            return Err(format!(
                                "unexpected end of statement while looking for matching {which}-quote"
                            ));
                        }
                    }
                }
            }
            '\\' => out.extend(it.next()),
            _ => out.push(c),
        }
    }
    Ok((out, quoted))
}

struct Flags {
    vals: Vec<(&'static str, String)>,
}

impl Flags {
    /// Check `--name[=value]` words against a spec from [`FLAGS`],
    /// with buildkit's messages.
    fn parse(words: &[String], spec: &'static str) -> Result<Flags, String> {
        let mut vals: Vec<(&'static str, String)> = Vec::new();
        for w in words {
            let body = w.strip_prefix("--").unwrap_or(w);
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(decl) = spec
                .split(' ')
                .find(|d| !name.is_empty() && d.trim_end_matches(['?', '*']) == name)
            else {
                return Err(format!("unknown flag: --{name}"));
            };
            let key = decl.trim_end_matches(['?', '*']);
            let (boolean, many) = (decl.ends_with('?'), decl.ends_with('*'));
            if !many && vals.iter().any(|(k, _)| *k == key) {
                return Err(format!("duplicate flag specified: --{name}"));
            }
            let value = match (value, boolean) {
                (None, true) => "true",
                (Some(v), true) if v.eq_ignore_ascii_case("true") => "true",
                (Some(v), true) if v.eq_ignore_ascii_case("false") => "false",
                (Some(""), true) | (None, false) => {
                    return Err(format!("missing a value on flag: --{name}"));
                }
                (Some(v), true) => {
                    return Err(format!(
                        "expecting boolean value for flag --{name}, not: {v}"
                    ));
                }
                (Some(v), false) => v,
            };
            vals.push((key, value.to_string()));
        }
        Ok(Flags { vals })
    }

    /// A single-valued flag; an empty value counts as unset, as in Docker.
    fn get(&self, key: &str) -> Option<String> {
        self.vals
            .iter()
            .find(|(k, v)| *k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.vals
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn bool(&self, key: &str) -> bool {
        self.get(key).as_deref() == Some("true")
    }
}

#[cfg(test)]
#[path = "dockerfile_tests.rs"]
mod tests;
