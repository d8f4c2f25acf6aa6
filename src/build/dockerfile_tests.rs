use super::*;

fn ok(text: &str) -> Dockerfile {
    match parse(text, "Dockerfile") {
        Ok(df) => df,
        Err(e) => panic!("unexpected error: {e}\n--- input ---\n{text}"),
    }
}

fn fail(text: &str) -> ParseError {
    match parse(text, "Dockerfile") {
        Ok(df) => panic!("expected an error, got {df:?}\n--- input ---\n{text}"),
        Err(e) => e,
    }
}

/// The instructions of a one-stage file `FROM scratch\n<text>`.
fn body(text: &str) -> Vec<Instruction> {
    let mut df = ok(&format!("FROM scratch\n{text}"));
    df.stages.remove(0).instructions
}

fn cmd(text: &str) -> Cmd {
    let mut ins = body(text);
    assert_eq!(ins.len(), 1, "{ins:?}");
    ins.remove(0).cmd
}

/// Error cases, one per line: `input => message`, where `\n` in the input
/// stands for a line break. With `after_from` the input follows a FROM
/// line; otherwise it is the whole file and the message is `line: message`.
#[track_caller]
fn errors(table: &str, after_from: bool) {
    for case in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((input, want)) = case.split_once(" => ") else {
            panic!("bad test case {case:?}");
        };
        let input = input.replace("\\n", "\n").replace("\\t", "\t");
        if after_from {
            let e = fail(&format!("FROM scratch\n{input}"));
            assert_eq!(e.msg, want, "input: {input:?}");
        } else {
            let e = fail(&input);
            assert_eq!(format!("{}: {}", e.line, e.msg), want, "input: {input:?}");
        }
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn arg(name: &str, default: Option<&str>) -> ArgDecl {
    let default = default.map(String::from);
    ArgDecl {
        name: name.into(),
        default,
    }
}

fn run_args(text: &str) -> Args {
    match cmd(text) {
        Cmd::Run { args, .. } => args,
        other => panic!("not RUN: {other:?}"),
    }
}

fn shell(s: &str) -> Args {
    Args::Shell(s.into())
}

fn json(v: &[&str]) -> Args {
    Args::Json(s(v))
}

fn copy_spec(c: Cmd) -> CopySpec {
    match c {
        Cmd::Copy(c) | Cmd::Add(c) => c,
        other => panic!("not COPY/ADD: {other:?}"),
    }
}

fn heredocs_of(c: &Cmd) -> Vec<Heredoc> {
    match c {
        Cmd::Run { heredocs, .. } => heredocs.clone(),
        Cmd::Copy(c) | Cmd::Add(c) => c.heredocs.clone(),
        _ => vec![],
    }
}

fn doc(name: &str, body: &str, expand: bool, strip_tabs: bool) -> Heredoc {
    let (name, body) = (name.into(), body.into());
    Heredoc {
        name,
        body,
        expand,
        strip_tabs,
    }
}

#[test]
fn from_forms() {
    let df = ok("FROM alpine:3.19\nFROM --platform=$BUILDPLATFORM go AS Build\nfrom a as b-2_x.y");
    let st = &df.stages[0];
    let got = (st.index, st.line, st.base.as_str(), st.name.as_deref());
    assert_eq!(got, (0, 1, "alpine:3.19", None));
    let st = &df.stages[1];
    assert_eq!((st.index, st.line, st.base.as_str()), (1, 2, "go"));
    assert_eq!(st.name.as_deref(), Some("build"));
    assert_eq!(st.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(df.stages[2].name.as_deref(), Some("b-2_x.y"));
    assert_eq!(df.stages.len(), 3);
    assert_eq!((df.escape, df.syntax), ('\\', None));
}

#[test]
fn from_errors() {
    errors(
        r#"
        FROM => 1: FROM: no base image given
        FROM a b => 1: FROM: requires either one or three arguments
        FROM a to b => 1: FROM: requires either one or three arguments
        FROM a AS b c => 1: FROM: requires either one or three arguments
        FROM a AS 1x => 1: FROM: invalid name for build stage: "1x", name can't start with a number or contain symbols
        FROM a AS b/c => 1: FROM: invalid name for build stage: "b/c", name can't start with a number or contain symbols
        FROM --plat=x a => 1: FROM: unknown flag: --plat
        FROM a AS x\nFROM b AS X => 2: FROM: duplicate stage name "x"
        "#,
        false,
    );
}

#[test]
fn run_shell_and_json() {
    let c = cmd("RUN apt-get update && echo \"$HOME\"");
    let args = shell("apt-get update && echo \"$HOME\"");
    let (mounts, heredocs) = (vec![], vec![]);
    let want = Cmd::Run {
        mounts,
        network: None,
        security: None,
        args,
        heredocs,
    };
    assert_eq!(c, want);
    let c = run_args(r#"run ["/bin/sh", "-c", "echo \"hi\" \u00e9\n"]"#);
    assert_eq!(c, json(&["/bin/sh", "-c", "echo \"hi\" é\n"]));
    // Not valid JSON: Docker runs it through the shell instead.
    let c = run_args("RUN [ -f /etc/passwd ] && echo yes");
    assert_eq!(c, shell("[ -f /etc/passwd ] && echo yes"));
    assert_eq!(run_args("RUN [\"a\"] trailing"), shell("[\"a\"] trailing"));
}

#[test]
fn run_flags() {
    let c = cmd(
        "RUN --mount=type=cache,target=/root/.cache --mount=\"type=secret,id=tok en\" \
         --network=none --security=insecure make",
    );
    let mounts = s(&["type=cache,target=/root/.cache", "type=secret,id=tok en"]);
    let (network, security) = (Some("none".into()), Some("insecure".into()));
    let want = Cmd::Run {
        mounts,
        network,
        security,
        args: shell("make"),
        heredocs: vec![],
    };
    assert_eq!(c, want);
    // A bare `--` ends the flags.
    assert_eq!(run_args("RUN -- --version"), shell("--version"));
    errors(
        r#"
        RUN --foo make => RUN: unknown flag: --foo
        RUN --network=a --network=b x => RUN: duplicate flag specified: --network
        RUN --network x => RUN: missing a value on flag: --network
        RUN --mount=type=tmpfs => RUN: requires at least one argument
        "#,
        true,
    );
}

#[test]
fn json_form_rules() {
    // Exec form only when the whole argument is a JSON array of strings.
    assert_eq!(cmd(r#"CMD  [ "a" ,"b" ]  "#), Cmd::Cmd(json(&["a", "b"])));
    assert_eq!(cmd(r#"CMD ["a",]"#), Cmd::Cmd(shell(r#"["a",]"#)));
    errors(
        r#"
        CMD ["a", 1] => CMD: when using JSON array syntax, arrays must be comprised of strings only
        VOLUME [null] => VOLUME: when using JSON array syntax, arrays must be comprised of strings only
        COPY [{}, "b"] => COPY: when using JSON array syntax, arrays must be comprised of strings only
        "#,
        true,
    );
}

#[test]
fn cmd_entrypoint_shell() {
    assert_eq!(cmd("CMD echo hi"), Cmd::Cmd(shell("echo hi")));
    let c = cmd(r#"CMD ["nginx", "-g", "daemon off;"]"#);
    assert_eq!(c, Cmd::Cmd(json(&["nginx", "-g", "daemon off;"])));
    assert_eq!(
        cmd(r#"ENTRYPOINT ["/init"]"#),
        Cmd::Entrypoint(json(&["/init"]))
    );
    assert_eq!(
        cmd("entrypoint exec app"),
        Cmd::Entrypoint(shell("exec app"))
    );
    let c = cmd(r#"SHELL ["/bin/bash", "-eo", "pipefail", "-c"]"#);
    assert_eq!(c, Cmd::Shell(s(&["/bin/bash", "-eo", "pipefail", "-c"])));
    errors(
        r#"
        SHELL /bin/bash -c => SHELL: requires the arguments to be in JSON form
        SHELL [] => SHELL: requires at least one argument
        CMD => CMD: requires at least one argument
        ENTRYPOINT \t => ENTRYPOINT: requires at least one argument
        RUN => RUN: requires at least one argument
        RUN [] => RUN: requires at least one argument
        CMD --help => CMD: unknown flag: --help
        "#,
        true,
    );
}

#[test]
fn env_forms() {
    let c = cmd("ENV A=1 B=\"two words\" C='x y' D=a\\ b E= F=$A");
    let want = [
        ("A", "1"),
        ("B", "\"two words\""),
        ("C", "'x y'"),
        ("D", "a\\ b"),
    ];
    let want = pairs(&want)
        .into_iter()
        .chain(pairs(&[("E", ""), ("F", "$A")]))
        .collect();
    assert_eq!(c, Cmd::Env(want));
    let c = cmd("ENV PATH /usr/local/bin:$PATH  more");
    assert_eq!(
        c,
        Cmd::Env(pairs(&[("PATH", "/usr/local/bin:$PATH  more")]))
    );
    assert_eq!(
        cmd("ENV X=\"a=b c\""),
        Cmd::Env(pairs(&[("X", "\"a=b c\"")]))
    );
    errors(
        r#"
        ENV K => ENV: must have two arguments
        ENV => ENV: requires at least one argument
        ENV =x => ENV: names can not be blank
        ENV A=1 B => ENV: syntax error - can't find = in "B". Must be of the form: name=value
        ENV --x=1 A=1 => ENV: unknown flag: --x
        "#,
        true,
    );
}

#[test]
fn label_forms() {
    let c = cmd("LABEL org.opencontainers.image.title=\"My App\" \"quoted key\"=v version=1.0");
    let want = [
        ("org.opencontainers.image.title", "\"My App\""),
        ("\"quoted key\"", "v"),
    ];
    let want = pairs(&want)
        .into_iter()
        .chain(pairs(&[("version", "1.0")]))
        .collect();
    assert_eq!(c, Cmd::Label(want));
    let c = cmd("LABEL maintainer Jane Doe");
    assert_eq!(c, Cmd::Label(pairs(&[("maintainer", "Jane Doe")])));
    errors(
        r#"
        LABEL lonely => LABEL: must have two arguments
        LABEL =v => LABEL: names can not be blank
        "#,
        true,
    );
}

#[test]
fn simple_instructions() {
    let c = cmd("EXPOSE 80/tcp  443 ${PORT}");
    assert_eq!(c, Cmd::Expose(s(&["80/tcp", "443", "${PORT}"])));
    assert_eq!(
        cmd("VOLUME /data /logs"),
        Cmd::Volume(s(&["/data", "/logs"]))
    );
    assert_eq!(
        cmd(r#"VOLUME ["/a b", "/c"]"#),
        Cmd::Volume(s(&["/a b", "/c"]))
    );
    assert_eq!(cmd("USER app:app"), Cmd::User("app:app".into()));
    assert_eq!(
        cmd("WORKDIR /srv/my app"),
        Cmd::Workdir("/srv/my app".into())
    );
    assert_eq!(cmd("STOPSIGNAL SIGTERM"), Cmd::StopSignal("SIGTERM".into()));
    let c = cmd("MAINTAINER Jane <jane@example.com>");
    assert_eq!(c, Cmd::Maintainer("Jane <jane@example.com>".into()));
    errors(
        r#"
        VOLUME [""] => VOLUME: specified can not be an empty string
        VOLUME [] => VOLUME: requires at least one argument
        EXPOSE => EXPOSE: requires at least one argument
        USER => USER: requires exactly one argument
        WORKDIR => WORKDIR: requires exactly one argument
        STOPSIGNAL => STOPSIGNAL: requires exactly one argument
        MAINTAINER => MAINTAINER: requires exactly one argument
        "#,
        true,
    );
}

#[test]
fn copy_and_add() {
    let c = copy_spec(cmd(
        "COPY --from=build --chown=app:app --chmod=0755 --link --parents \
         --exclude=*.md --exclude=.git a b /dest/",
    ));
    assert_eq!((c.srcs, c.dest.as_str()), (s(&["a", "b"]), "/dest/"));
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.chown.as_deref(), Some("app:app"));
    assert_eq!(c.chmod.as_deref(), Some("0755"));
    assert!(c.link && c.parents && !c.keep_git_dir);
    assert_eq!(c.exclude, s(&["*.md", ".git"]));
    assert!(c.heredocs.is_empty() && c.checksum.is_none());

    let a = cmd("ADD --keep-git-dir=true --checksum=sha256:abc --link=false https://x/y.git /src");
    assert!(matches!(a, Cmd::Add(_)));
    let a = copy_spec(a);
    assert!(a.keep_git_dir && !a.link);
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!((a.srcs, a.dest.as_str()), (s(&["https://x/y.git"]), "/src"));

    let j = copy_spec(cmd(r#"COPY ["my file.txt", "/dest dir/"]"#));
    assert_eq!(
        (j.srcs, j.dest.as_str()),
        (s(&["my file.txt"]), "/dest dir/")
    );
    // An empty value is as good as no flag, as in Docker.
    assert_eq!(copy_spec(cmd("COPY --from= a b")).from, None);
    errors(
        r#"
        COPY onlyone => COPY: requires at least two arguments, but only one was provided. Destination could not be determined
        ADD => ADD: requires at least two arguments, but only one was provided. Destination could not be determined
        COPY --checksum=x a b => COPY: unknown flag: --checksum
        ADD --from=x a b => ADD: unknown flag: --from
        COPY --link=maybe a b => COPY: expecting boolean value for flag --link, not: maybe
        COPY --link= a b => COPY: missing a value on flag: --link
        COPY --foo a b => COPY: unknown flag: --foo
        "#,
        true,
    );
}

#[test]
fn arg_declarations() {
    let df = ok("ARG VERSION=1.0\nARG BASE\nFROM alpine:${VERSION}\nARG a b=\"x y\" c=\nENV X=1\n");
    assert_eq!(
        df.meta_args,
        [arg("VERSION", Some("1.0")), arg("BASE", None)]
    );
    assert_eq!(df.stages[0].base, "alpine:${VERSION}");
    let want = vec![
        arg("a", None),
        arg("b", Some("\"x y\"")),
        arg("c", Some("")),
    ];
    assert_eq!(df.stages[0].instructions[0].cmd, Cmd::Arg(want));
    errors(
        r#"
        ARG =x => ARG: names can not be blank
        ARG => ARG: requires at least one argument
        "#,
        true,
    );
}

#[test]
fn instructions_before_from() {
    errors(
        r#"
        # comment\n\nENV A=1\nFROM x => 3: ENV: instruction must come after FROM
        ARG A\nRUN x\nFROM a => 2: RUN: instruction must come after FROM
        ARG A => 1: no build stage in current context
        # just a comment\n\n => 1: file with no instructions
        "#,
        false,
    );
    assert_eq!(fail("").msg, "file with no instructions");
}

#[test]
fn onbuild() {
    let Cmd::Onbuild(inner) = cmd("ONBUILD RUN --mount=type=cache,target=/c make") else {
        panic!("not ONBUILD");
    };
    assert_eq!(
        (inner.line, inner.text.as_str()),
        (2, "RUN --mount=type=cache,target=/c make")
    );
    let mounts = s(&["type=cache,target=/c"]);
    assert!(matches!(&inner.cmd, Cmd::Run { mounts: m, .. } if *m == mounts));
    let c = cmd("onbuild copy . /app");
    assert!(matches!(c, Cmd::Onbuild(i) if matches!(i.cmd, Cmd::Copy(_))));
    // Buildkit does not read heredocs for ONBUILD triggers.
    let Cmd::Onbuild(inner) = cmd("ONBUILD RUN cat <<EOF") else {
        panic!("not ONBUILD");
    };
    assert!(heredocs_of(&inner.cmd).is_empty());
    errors(
        r#"
        ONBUILD ONBUILD RUN x => ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed
        ONBUILD from x => ONBUILD: FROM isn't allowed as an ONBUILD trigger
        ONBUILD MAINTAINER me => ONBUILD: MAINTAINER isn't allowed as an ONBUILD trigger
        ONBUILD => ONBUILD: requires at least one argument
        ONBUILD COPY x => COPY: requires at least two arguments, but only one was provided. Destination could not be determined
        ONBUILD BOGUS x => unknown instruction: BOGUS
        "#,
        true,
    );
}

#[test]
fn healthcheck() {
    assert_eq!(cmd("HEALTHCHECK NONE"), Cmd::Healthcheck(None));
    assert_eq!(cmd("healthcheck none"), Cmd::Healthcheck(None));
    let hc = |t: &str| match cmd(t) {
        Cmd::Healthcheck(Some(h)) => h,
        other => panic!("{other:?}"),
    };
    let h = hc(
        "HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --start-interval=1s \
                --retries=3 CMD curl -f http://localhost/ || exit 1",
    );
    assert_eq!(h.test, shell("curl -f http://localhost/ || exit 1"));
    assert_eq!(
        (h.interval.as_deref(), h.timeout.as_deref()),
        (Some("30s"), Some("3s"))
    );
    assert_eq!(h.start_period.as_deref(), Some("5s"));
    assert_eq!(h.start_interval.as_deref(), Some("1s"));
    assert_eq!(h.retries.as_deref(), Some("3"));
    let h = hc(r#"HEALTHCHECK cmd ["/bin/check", "-q"]"#);
    assert_eq!((h.test, h.interval), (json(&["/bin/check", "-q"]), None));
    errors(
        r#"
        HEALTHCHECK CMD => HEALTHCHECK: missing command after HEALTHCHECK CMD
        HEALTHCHECK CMD [] => HEALTHCHECK: missing command after HEALTHCHECK CMD
        HEALTHCHECK NONE x => HEALTHCHECK: NONE takes no arguments
        HEALTHCHECK RUN x => HEALTHCHECK: unknown type "RUN" in HEALTHCHECK (try CMD)
        HEALTHCHECK => HEALTHCHECK: requires at least one argument
        HEALTHCHECK --every=1s CMD x => HEALTHCHECK: unknown flag: --every
        "#,
        true,
    );
}

#[test]
fn unknown_instruction_and_line_numbers() {
    let e = fail("FROM a\n\n# c\nRUN x \\\n  y\n\nFORM b\n");
    assert_eq!(e.to_string(), "Dockerfile:7: unknown instruction: FORM");
    let e = parse("FROM a\nRUN a\nRUN b\nCOPY x\n", "ctx/Containerfile").map(|_| ());
    let want = "ctx/Containerfile:4: COPY: requires at least two arguments";
    assert!(e.is_err_and(|e| e.to_string().starts_with(want)));
    errors(
        r#"
        FROM a\n\n\n\n\n\nRUN\nUSER x => 7: RUN: requires at least one argument
        FROM a\nCOPY \\n  --bad \\n  a b => 2: COPY: unknown flag: --bad
        FROM a\nRUN a \\n# c\n\n  b\nfrom => 6: FROM: no base image given
        FROM a\nRUN <<X\nX\nbad => 4: unknown instruction: BAD
        "#,
        false,
    );
}

#[test]
fn continuations_comments_and_blank_lines() {
    let ins = body(
        "RUN apt-get update \\\n    # install things\n    && apt-get install -y \\\n\n      \
         curl \\\n   # trailing comment\n      git\nUSER me\n",
    );
    assert_eq!((ins.len(), ins[0].line, ins[1].line), (2, 2, 9));
    let want = "RUN apt-get update     && apt-get install -y       curl       git";
    assert_eq!(ins[0].text, want);
    // Trailing blanks after the escape still continue the line.
    assert_eq!(body("RUN a \\  \t\nb")[0].text, "RUN a b");
    // A continuation running into end of file still parses.
    assert_eq!(body("RUN a \\")[0].text, "RUN a");
    assert_eq!(run_args("RUN a \\\n"), shell("a"));
    // Indented instructions and comments, CRLF line ends.
    let ins = body("   # indented comment\n\tWORKDIR /x\r\n  ");
    assert_eq!((&ins[0].cmd, ins[0].line), (&Cmd::Workdir("/x".into()), 3));
    // Keywords keep their spelling in `text`.
    assert_eq!(body("rUn Echo")[0].text, "rUn Echo");
}

#[test]
fn directives() {
    let df = ok(
        "# syntax=docker/dockerfile:1.7\n#ESCAPE = `\n# check=skip=all\n\
                 FROM mcr.microsoft.com/windows/servercore\nCOPY testfile.txt c:\\ \n\
                 RUN dir c:\\ `\n  && echo done\n",
    );
    assert_eq!(df.escape, '`');
    assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1.7"));
    let ins = &df.stages[0].instructions;
    assert_eq!(copy_spec(ins[0].cmd.clone()).dest, "c:\\");
    assert_eq!(
        (ins[1].text.as_str(), ins[1].line),
        ("RUN dir c:\\   && echo done", 6)
    );

    // A backslash at line end is not a continuation with escape=`.
    let df = ok("# escape=`\nFROM x\nRUN a\\\nRUN b\n");
    assert_eq!(df.stages[0].instructions.len(), 2);

    // Directives stop at the first non-directive line.
    assert_eq!(ok("# hello\n# escape=`\nFROM x\n").escape, '\\');
    assert_eq!(ok("\n# escape=`\nFROM x\n").escape, '\\');
    assert_eq!(ok("# unknown=1\n# escape=`\nFROM x\n").escape, '\\');
    assert_eq!(ok("FROM x\n# escape=`\n").escape, '\\');
    assert_eq!(ok("\u{feff}# escape=`\nFROM x\n").escape, '`');
    errors(
        r#"
        # escape=`\n# escape=\\nFROM x => 2: only one escape parser directive can be used
        # syntax=a\n# escape=x\nFROM x => 2: invalid escape token 'x' does not match ` or \
        "#,
        false,
    );
}

#[test]
fn backtick_escape_in_words() {
    let df = ok("# escape=`\nFROM x\nENV P=c:\\a` b Q=\"x`\"y\"\n");
    let want = Cmd::Env(pairs(&[("P", "c:\\a` b"), ("Q", "\"x`\"y\"")]));
    assert_eq!(df.stages[0].instructions[0].cmd, want);
}

#[test]
fn heredoc_run_script() {
    let ins = body("RUN <<EOF\nset -e\n# not a comment here\necho $HOME\n\nEOF\nUSER me\n");
    assert_eq!(
        (ins.len(), ins[0].text.as_str(), ins[1].line),
        (2, "RUN <<EOF", 8)
    );
    let want = doc(
        "EOF",
        "set -e\n# not a comment here\necho $HOME\n\n",
        true,
        false,
    );
    assert_eq!(heredocs_of(&ins[0].cmd), [want]);
    assert!(matches!(&ins[0].cmd, Cmd::Run { args, .. } if *args == shell("<<EOF")));
}

#[test]
fn heredoc_flavours() {
    let h = |t: &str| heredocs_of(&cmd(t));
    let got = h("RUN python3 <<'PY'\nprint('$x')\nPY");
    assert_eq!(got, [doc("PY", "print('$x')\n", false, false)]);
    let got = h("RUN cat <<\"EOT\" > /f\nhi $X\nEOT");
    assert_eq!(got, [doc("EOT", "hi $X\n", false, false)]);
    assert_eq!(
        h("RUN cat <<E\"O\"F\nx\nEOF"),
        [doc("EOF", "x\n", false, false)]
    );
    let got = h("RUN <<-EOF\n\t\tindented\n\tEOF");
    assert_eq!(got, [doc("EOF", "indented\n", true, true)]);
    assert_eq!(
        h("RUN 3<<X cat /dev/fd/3\nbody\nX"),
        [doc("X", "body\n", true, false)]
    );
    // Without `-` a tab-indented delimiter does not end the body.
    assert_eq!(
        h("RUN <<EOF\n\tEOF\nEOF"),
        [doc("EOF", "\tEOF\n", true, false)]
    );
    // Two heredocs in one RUN are read one after the other.
    let got = h("RUN <<A bash && cat <<B\necho a\nA\nb\nB");
    assert_eq!(
        got,
        [
            doc("A", "echo a\n", true, false),
            doc("B", "b\n", true, false)
        ]
    );
    // Quoted or glued `<<` are not heredocs; nor is the JSON form.
    assert!(h("RUN echo \"<<EOF\" '<<X' a<<B").is_empty());
    assert!(h("RUN echo \"a <<EOF b\"").is_empty());
    assert!(h("RUN echo <<\"\" x").is_empty());
    assert!(h("RUN [\"cat\", \"<<EOF\"]").is_empty());
    assert!(h("RUN echo a << b").is_empty());
}

#[test]
fn heredoc_copy() {
    let c = copy_spec(cmd(
        "COPY --chmod=755 <<a <<-\"b\" /dest/\nfirst\na\n\tsecond $X\n\tb\n",
    ));
    assert_eq!(
        (c.srcs.clone(), c.dest.as_str()),
        (s(&["<<a", "<<-\"b\""]), "/dest/")
    );
    let want = [
        doc("a", "first\n", true, false),
        doc("b", "second $X\n", false, true),
    ];
    assert_eq!(c.heredocs, want);
    assert_eq!(c.heredoc("<<a").map(|d| d.body.as_str()), Some("first\n"));
    assert_eq!(c.heredoc("<<-\"b\"").map(|d| d.name.as_str()), Some("b"));
    assert_eq!(c.heredoc("/etc/hosts"), None);
    let c = copy_spec(cmd("ADD <<EOF /etc/motd\nhello\nEOF\n"));
    assert_eq!((c.srcs, c.dest.as_str()), (s(&["<<EOF"]), "/etc/motd"));
    errors(
        r#"
        COPY a <<EOF\nx\nEOF => COPY: cannot accept a heredoc as a destination
        COPY <<EOF\nx\nEOF => COPY: requires at least two arguments, but only one was provided. Destination could not be determined
        "#,
        true,
    );
}

#[test]
fn heredoc_errors() {
    errors(
        r#"
        FROM a\nRUN true\nRUN cat <<EOF\nline\nEOF \n => 3: RUN: unterminated heredoc "EOF"
        FROM a\nCOPY <<one <<two /x\nbody\none\n => 2: COPY: unterminated heredoc "two"
        FROM a\nRUN cat <<'EOF\n => 2: RUN: unexpected end of statement while looking for matching single-quote
        FROM a\nRUN <<-EOF\n  EOF\n => 2: RUN: unterminated heredoc "EOF"
        "#,
        false,
    );
}

#[test]
fn multi_stage_dockerfile() {
    let text = "\
# syntax=docker/dockerfile:1
ARG GO=1.22

FROM --platform=$BUILDPLATFORM golang:${GO} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \\
    go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static AS final
COPY --from=build /out/app /app
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT [\"/app\"]
";
    let df = ok(text);
    assert_eq!(df.meta_args, [arg("GO", Some("1.22"))]);
    assert_eq!(df.stages.len(), 2);
    let lines: Vec<usize> = df.stages[0].instructions.iter().map(|i| i.line).collect();
    assert_eq!(lines, [5, 6, 7, 9, 10]);
    let last = &df.stages[1];
    assert_eq!((last.line, last.name.as_deref()), (12, Some("final")));
    let kws: Vec<&str> = last
        .instructions
        .iter()
        .map(|i| &i.text[..i.text.find(' ').unwrap_or(0)])
        .collect();
    assert_eq!(kws, ["COPY", "EXPOSE", "USER", "ENTRYPOINT"]);
}

const COMPLEX: &str = "\
# syntax=docker/dockerfile:1
# escape=\\
ARG BASE=alpine:3.19 OTHER=\"x y\"
FROM --platform=$TARGETPLATFORM ${BASE} AS base
LABEL a=\"b c\" d='e' f=g\\ h
ENV PATH=/x:$PATH \\
    # comment inside
    HOME=/root
RUN --mount=type=cache,target=/var/cache/apk <<EOF
apk add curl
EOF
RUN [\"sh\", \"-c\", \"echo \\\"$x\\\"\"]
COPY --from=base --chown=1:1 <<a <<-'b' /etc/
one
a
\ttwo
\tb
ADD --checksum=sha256:0 https://example.com/x.tgz /x
HEALTHCHECK --interval=5s CMD [\"true\"]
ONBUILD RUN echo ${x:-y}
VOLUME [\"/data\"]
EXPOSE 80 443/udp
SHELL [\"/bin/ash\", \"-c\"]
STOPSIGNAL SIGINT
WORKDIR /app
USER 1000
MAINTAINER nobody
CMD echo 'bye'
FROM base
ENTRYPOINT exec \"$0\"
";

#[test]
fn complex_file_parses() {
    let df = ok(COMPLEX);
    assert_eq!(
        (df.meta_args.len(), df.stages.len(), df.stages[1].line),
        (2, 2, 29)
    );
    let ins = &df.stages[0].instructions;
    assert_eq!((ins.len(), ins[5].line), (16, 18));
    assert_eq!(
        ins[1].cmd,
        Cmd::Env(pairs(&[("PATH", "/x:$PATH"), ("HOME", "/root")]))
    );
    assert_eq!(
        heredocs_of(&ins[2].cmd),
        [doc("EOF", "apk add curl\n", true, false)]
    );
    let want = [
        doc("a", "one\n", true, false),
        doc("b", "two\n", false, true),
    ];
    assert_eq!(heredocs_of(&ins[4].cmd), want);
    let want = Cmd::Entrypoint(shell("exec \"$0\""));
    assert_eq!(df.stages[1].instructions[0].cmd, want);
}

#[test]
fn every_prefix_never_panics() {
    for (i, _) in COMPLEX.char_indices() {
        let _ = parse(&COMPLEX[..i], "Dockerfile");
    }
    for line in COMPLEX.lines() {
        for (i, _) in line.char_indices() {
            let _ = parse(&format!("FROM a\n{}", &line[..i]), "Dockerfile");
            let _ = parse(&format!("# escape=`\nFROM a\n{}", &line[i..]), "Dockerfile");
        }
    }
}

#[test]
fn garbage_never_panics() {
    let alphabet: Vec<char> = "FROMRUNCOPYADDENVLABELARG \t\n\\`\"'$[]{}<<-=#,:1aé/\r\u{feff}"
        .chars()
        .collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..seed % 80 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        for prefix in [
            "",
            "FROM x\n",
            "FROM x\nRUN ",
            "FROM x\nCOPY ",
            "FROM x\nONBUILD ",
        ] {
            let _ = parse(&format!("{prefix}{text}"), "Dockerfile");
        }
    }
    let _ = parse(
        &format!("FROM x\nCMD {}", "[{\"a\":".repeat(2000)),
        "Dockerfile",
    );
}
