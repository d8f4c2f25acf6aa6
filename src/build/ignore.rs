//! `.dockerignore` / `.containerignore` matching, following Docker's
//! `moby/patternmatcher` and its `ignorefile` reader.
//!
//! Docker turns each pattern into an anchored regular expression (`*` is
//! `[^/]*`, `?` is `[^/]`, `**` is `.*` or `(.*/)?`) and runs it against the
//! whole context-relative path *and* against each of its parent directories.
//! Here the same language is compiled into a small token list and run as a
//! backtracking-free NFA, so matching is linear in the path and can also
//! answer "could this pattern match something below that directory?", which a
//! walker needs to decide whether an excluded directory can be skipped.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A literal character (`\x` escapes land here too).
    Lit(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters other than `/`.
    Star,
    /// `[...]`: one character (never `/`) in, or not in, the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**` at the end of the pattern: Docker's `.*`, anything at all.
    DeepEnd,
    /// `**` elsewhere (usually `**/`): Docker's `(.*/)?`, i.e. nothing or
    /// any string ending in `/` (zero or more whole directories).
    DeepDir,
}

/// A compiled pattern.
///
/// NFA states: `0..=n` means "about to match token i" (`n` = accept), and
/// `n + 1 + i` means "inside the `.*` of the `DeepDir` token i, waiting for a
/// `/`". Epsilon moves only go forward, so one ascending pass closes a set.
#[derive(Debug, Clone)]
struct Pattern {
    exception: bool,
    toks: Vec<Tok>,
    /// The pattern as cleaned (Docker's `pat.String()`).
    text: String,
}

impl Pattern {
    fn start(&self) -> Vec<bool> {
        let mut set = vec![false; 2 * self.toks.len() + 1];
        set[0] = true;
        self.close(&mut set);
        set
    }

    fn close(&self, set: &mut [bool]) {
        let n = self.toks.len();
        for (i, tok) in self.toks.iter().enumerate() {
            if !set[i] {
                continue;
            }
            match tok {
                Tok::Star | Tok::DeepEnd => set[i + 1] = true,
                Tok::DeepDir => {
                    set[i + 1] = true;
                    set[n + 1 + i] = true;
                }
                _ => {}
            }
        }
    }

    /// Consume `c`, writing the successor set to `next`; false when no state
    /// survives (the pattern can no longer match this input or any extension).
    fn step(&self, cur: &[bool], c: char, next: &mut [bool]) -> bool {
        let n = self.toks.len();
        next.fill(false);
        for (i, tok) in self.toks.iter().enumerate() {
            if cur[i] {
                match tok {
                    Tok::Lit(l) if *l == c => next[i + 1] = true,
                    Tok::One if c != '/' => next[i + 1] = true,
                    Tok::Class { negated, ranges }
                        if c != '/'
                            && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated =>
                    {
                        next[i + 1] = true
                    }
                    Tok::Star if c != '/' => next[i] = true,
                    Tok::DeepEnd => next[i] = true,
                    _ => {}
                }
            }
            if matches!(tok, Tok::DeepDir) && cur[n + 1 + i] {
                next[n + 1 + i] = true;
                if c == '/' {
                    next[i + 1] = true;
                }
            }
        }
        self.close(next);
        next.iter().any(|&b| b)
    }

    /// Does the pattern match `path` or one of its parent directories?
    /// Docker's `MatchesOrParentMatches` tries the full path and then every
    /// prefix `a`, `a/b`, ...; here each prefix is checked as the NFA reaches
    /// the `/` that ends it.
    fn matches_or_parent(&self, path: &str) -> bool {
        let accept = self.toks.len();
        let mut cur = self.start();
        let mut next = cur.clone();
        for c in path.chars() {
            if c == '/' && cur[accept] {
                return true;
            }
            if !self.step(&cur, c, &mut next) {
                return false;
            }
            std::mem::swap(&mut cur, &mut next);
        }
        cur[accept]
    }
}

/// Compiled `.dockerignore` patterns.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    /// Parse the file contents, one pattern per line, the way Docker's
    /// `ignorefile.ReadAll` and `patternmatcher.New` do.
    pub fn parse(text: &str) -> Result<Ignore, String> {
        // Docker strips a UTF-8 byte order mark from the first line.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            // Docker tests for `#` *before* trimming: only a `#` in column 0
            // starts a comment, and "  #x" is the pattern "#x".
            if raw.starts_with('#') {
                continue;
            }
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let (exception, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if body.is_empty() {
                return Err(format!(
                    "line {}: illegal exclusion pattern: {line:?}",
                    n + 1
                ));
            }
            // Patterns are cleaned like Go's filepath.Clean, and a leading
            // `/` is dropped: paths are relative to the context root, so
            // `/foo`, `./foo` and `foo` are the same pattern. (A pattern that
            // cleans to "/" stays "/" as in Docker, and matches nothing.)
            let mut cleaned = clean(body);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let toks = compile(&cleaned)
                .map_err(|e| format!("line {}: invalid pattern {line:?}: {e}", n + 1))?;
            patterns.push(Pattern {
                exception,
                toks,
                text: cleaned,
            });
        }
        Ok(Ignore { patterns })
    }

    /// No patterns: nothing is excluded.
    pub fn empty() -> Ignore {
        Ignore::default()
    }

    /// Is this context-relative path excluded? The last pattern that matches
    /// the path or any of its parents decides, exception or not, as in
    /// Docker. The context root itself is never excluded.
    pub fn excluded(&self, path: &str) -> bool {
        let path = normalize(path);
        if path.is_empty() || path == "." {
            return false;
        }
        match self.last_match(&path) {
            Some(i) => self.patterns.get(i).is_some_and(|p| !p.exception),
            None => false,
        }
    }

    /// Can the walk skip this directory without looking inside? When it is
    /// excluded and no exception after the pattern that excluded it starts
    /// with `dir/`: Docker's own check (`TarWithOptions`), which buildah
    /// and so podman follow, a plain string-prefix test. So `!**/keep`
    /// does not bring back `dir/keep` under an excluded `dir`, in podman
    /// as here. (Exceptions *before* the deciding pattern cannot change
    /// what is inside, so walking for them would find nothing.)
    pub fn skip_dir(&self, dir: &str) -> bool {
        let dir = normalize(dir);
        if dir.is_empty() || dir == "." {
            return false;
        }
        let Some(last) = self.last_match(&dir) else {
            return false;
        };
        if self.patterns.get(last).is_none_or(|p| p.exception) {
            return false;
        }
        !self
            .patterns
            .iter()
            .skip(last + 1)
            .any(|p| p.exception && format!("{}/", p.text).starts_with(&format!("{dir}/")))
    }

    /// Index of the last pattern matching `path` or one of its parents.
    fn last_match(&self, path: &str) -> Option<usize> {
        self.patterns
            .iter()
            .rposition(|p| p.matches_or_parent(path))
    }
}

/// Tolerate `./a`, `/a`, `a/` and `a//b` from callers, though the contract
/// is a clean relative path.
fn normalize(path: &str) -> String {
    clean(path).trim_start_matches('/').to_string()
}

/// Go's `path.Clean`: drop empty and `.` elements, resolve `..` against the
/// preceding element (never above a leading `/`), `.` for an empty result.
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            _ => out.push(part),
        }
    }
    let joined = out.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Translate a cleaned pattern into tokens, following the order of Docker's
/// regexp translation; syntax errors are those of Go's `filepath.Match`
/// (which Docker calls to validate patterns) and of the regexp compiler
/// (which rejects reversed ranges such as `[z-a]`).
fn compile(p: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        let tok = match c {
            '*' if chars.get(i) == Some(&'*') => {
                // Docker: `**` swallows one following `/`; at the very end it
                // is `.*` (gitignore's "everything inside"), else `(.*/)?`.
                // So `a**b` is `a(.*/)?b`: it matches `ab` and `ax/b` but not
                // `axb`, oddly but compatibly.
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    Tok::DeepEnd
                } else {
                    Tok::DeepDir
                }
            }
            '*' => Tok::Star,
            '?' => Tok::One,
            '\\' => {
                let Some(&e) = chars.get(i) else {
                    return Err("trailing backslash".to_string());
                };
                i += 1;
                Tok::Lit(e)
            }
            '[' => {
                let (tok, next) = compile_class(&chars, i)?;
                i = next;
                tok
            }
            _ => Tok::Lit(c),
        };
        toks.push(tok);
    }
    Ok(toks)
}

/// Parse a class whose `[` ends just before `start`; returns the token and
/// the index after `]`. Rules are Go's `filepath.Match`: at least one range,
/// `-` and `]` must be escaped except as the closing bracket, `\` escapes.
/// Besides Go's `^`, a leading `!` also negates (POSIX/gitignore style);
/// Docker's regexp would instead read it as a literal `!`. Inside a class
/// `*`, `?` and `.` are literal (Docker's translator mangles them there).
fn compile_class(chars: &[char], start: usize) -> Result<(Tok, usize), String> {
    let mut i = start;
    let negated = matches!(chars.get(i), Some('^' | '!'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        match chars.get(i) {
            None => return Err("unterminated character class".to_string()),
            Some(']') if !ranges.is_empty() => break,
            _ => {}
        }
        let lo = class_char(chars, &mut i)?;
        let hi = if chars.get(i) == Some(&'-') {
            i += 1;
            class_char(chars, &mut i)?
        } else {
            lo
        };
        if lo > hi {
            return Err(format!("invalid character class range {lo}-{hi}"));
        }
        ranges.push((lo, hi));
    }
    Ok((Tok::Class { negated, ranges }, i + 1))
}

/// One (possibly escaped) character of a class, as Go's `getEsc`.
fn class_char(chars: &[char], i: &mut usize) -> Result<char, String> {
    let c = match chars.get(*i) {
        None => return Err("unterminated character class".to_string()),
        Some(c @ ('-' | ']')) => return Err(format!("unescaped {c:?} in character class")),
        Some('\\') => {
            *i += 1;
            match chars.get(*i) {
                Some(&e) => e,
                None => return Err("unterminated character class".to_string()),
            }
        }
        Some(&c) => c,
    };
    *i += 1;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> Ignore {
        match Ignore::parse(text) {
            Ok(i) => i,
            Err(e) => panic!("parse {text:?}: {e}"),
        }
    }

    #[track_caller]
    fn check(text: &str, yes: &[&str], no: &[&str]) {
        let i = ig(text);
        for p in yes {
            assert!(i.excluded(p), "{text:?} should exclude {p:?}");
        }
        for p in no {
            assert!(!i.excluded(p), "{text:?} should keep {p:?}");
        }
    }

    #[test]
    fn empty_excludes_nothing() {
        for i in [Ignore::empty(), ig(""), ig("\n\n  \n# only a comment\n")] {
            assert!(!i.excluded("a"));
            assert!(!i.excluded("a/b/c"));
            assert!(!i.skip_dir("a"));
        }
    }

    #[test]
    fn docker_docs_example() {
        let text = "# comment\n*/temp*\n*/*/temp*\ntemp?\n";
        let yes = "somedir/temporary.txt somedir/temp somedir/subdir/temporary.txt tempa a/temp/c";
        let no = "temp tempab temporary.txt a/b/c/temp a/b # comment";
        let (yes, no): (Vec<_>, Vec<_>) = (yes.split(' ').collect(), no.split(' ').collect());
        check(text, &yes, &no);
    }

    #[test]
    fn double_star_extension() {
        check(
            "**/*.go",
            &["main.go", "a/b/c.go", "vendor/x.go/inner"],
            &["a/b/c.gox", "go", "a/go"],
        );
        check("**", &["a", "a/b", ".hidden"], &[]);
        check("foo/**", &["foo/a", "foo/a/b"], &["foo", "foobar/a"]);
        check(
            "a/**/b",
            &["a/b", "a/x/b", "a/x/y/b", "a/x/b/c"],
            &["ab", "a/xb", "a", "x/a/b"],
        );
        check(
            "**/foo",
            &["foo", "x/foo", "x/y/foo/z"],
            &["xfoo", "x/xfoo"],
        );
        check("**/foo/**", &["foo/a", "x/foo/a"], &["foo", "x/foo"]);
        // Docker's translation of an inner `**` is `(.*/)?`.
        check("a**b", &["ab", "a/b", "ax/b", "ax/y/b"], &["axb"]);
        check("***", &["a", "a/b"], &[]);
    }

    #[test]
    fn star_and_question_stay_in_one_component() {
        check("*.txt", &["a.txt", ".txt"], &["a/b.txt", "a.txt2"]);
        check("a*", &["a", "abc", "ab/c"], &["ba"]);
        check("a?c", &["abc"], &["ac", "a/c", "abbc"]);
        check("*/b", &["a/b", "a/b/c"], &["b", "a/x/b"]);
    }

    #[test]
    fn readme_exception_after_markdown() {
        let text = "*.md\n!README*.md\n";
        check(
            text,
            &["CHANGELOG.md"],
            &["README.md", "README-secret.md", "docs/x.md", "main.rs"],
        );
        check(
            "*.md\n!README*.md\nREADME-secret.md\n",
            &["CHANGELOG.md", "README-secret.md"],
            &["README.md"],
        );
    }

    #[test]
    fn dir_with_kept_file() {
        let text = "dir\n!dir/keep\n";
        let (yes, no) = (
            ["dir", "dir/other", "dir/sub/deep"],
            ["dir/keep", "dir/keep/x", "dirx"],
        );
        check(text, &yes, &no);
        let i = ig(text);
        assert!(!i.skip_dir("dir"));
        assert!(i.skip_dir("dir/sub"));
        assert!(!i.skip_dir("dir/keep"));
        assert!(!i.skip_dir("other"));
    }

    #[test]
    fn last_match_wins() {
        check("!a\na\n", &["a", "a/b"], &[]);
        check("a\n!a\n", &[], &["a", "a/b"]);
        check("a\n!a\na/b\n", &["a/b", "a/b/c"], &["a", "a/c"]);
        // A kept file becomes excluded again when its dir is re-excluded.
        let i = ig("!dir/keep\ndir\n");
        assert!(i.excluded("dir/keep"));
        assert!(i.skip_dir("dir"));
        // Exceptions also cover everything below what they match.
        check("*\n!keep\n", &["a", "a/b"], &["keep", "keep/x/y"]);
    }

    #[test]
    fn skip_dir_is_a_prefix_test_as_in_docker() {
        // Wildcard exceptions do not reach into an excluded directory
        // (podman 4.3's `COPY with ignore` test: `subdir2` + `!*/sub1*`
        // leaves `subdir2/sub1` out).
        assert!(ig("node_modules\n!**/keep.js\n").skip_dir("node_modules"));
        assert!(ig("node_modules\n!src/keep\n").skip_dir("node_modules"));
        assert!(ig("*\n!*/keep\n").skip_dir("x"));
        assert!(ig("subdir2\n!*/sub1*\n").skip_dir("subdir2"));
        assert!(!ig("subdir1\n!*/sub1*\n!subdir1/sub3*\n").skip_dir("subdir1"));
        assert!(!ig("a\n!a/**\n").skip_dir("a"));
        assert!(ig("a\n").skip_dir("a/b"));
        // An exception matching the dir itself means it is not excluded.
        assert!(!ig("*\n!src\n").skip_dir("src"));
        assert!(!ig("src").skip_dir("lib"));
    }

    #[test]
    fn dot_git() {
        let i = ig(".git\n");
        assert!(i.excluded(".git"));
        assert!(i.excluded(".git/objects/aa"));
        assert!(!i.excluded("a/.git"));
        assert!(!i.excluded(".gitignore"));
        assert!(i.skip_dir(".git"));
    }

    #[test]
    fn cleaning() {
        // Go's Clean drops the trailing slash, so `build/` matches files too.
        check("build/", &["build", "build/x"], &["a/build", "builder"]);
        check("./foo", &["foo", "foo/x"], &["a/foo"]);
        check("/foo", &["foo"], &["a/foo"]);
        check("a/../b", &["b", "b/c"], &["a", "a/b"]);
        check("foo/./bar//baz/", &["foo/bar/baz"], &["foo/bar"]);
        check("/../x", &["x"], &[]);
        check("../x\n.\n/\n..\n", &[], &["x", "a/x", "a"]);
        assert_eq!(clean(""), ".");
        assert_eq!(clean("a/.."), ".");
        assert_eq!(clean("../../a"), "../../a");
        assert_eq!(clean("/.."), "/");
        assert_eq!(clean("a/b/../../../c"), "../c");
    }

    #[test]
    fn comments_blanks_and_whitespace() {
        let text = "\u{feff}# first\n\n   \n  foo  \r\n#bar\n  #baz\n\\#qux\n!  foo/keep\r\n";
        check(
            text,
            &["foo", "foo/x", "#baz", "#qux"],
            &["#bar", "bar", "# first", "foo/keep", "\u{feff}# first"],
        );
    }

    #[test]
    fn unicode_names() {
        check("héllo*", &["héllo wörld", "héllo/x"], &["hello"]);
        check("caf?", &["café", "cafe/x"], &["caf", "caféé", "caf/é"]);
        check("[é-ê]t", &["ét", "êt"], &["et"]);
        check("日本/*.txt", &["日本/メモ.txt"], &["日本/メモ.md", "日本"]);
        check("**/ü", &["a/ü", "ü"], &["u"]);
    }

    #[test]
    fn classes_and_escapes() {
        check("[abc].txt", &["a.txt", "c.txt"], &["d.txt", "ab.txt"]);
        check("[a-c]x", &["bx"], &["dx"]);
        check("[^a-c]x", &["dx", "-x"], &["ax", "x"]);
        check("[!a-c]x", &["dx"], &["bx"]);
        check("[\\]]", &["]"], &["a"]);
        check("[\\-a]", &["-", "a"], &["b"]);
        check("a[^x]b", &["ayb"], &["a/b", "axb"]);
        check("\\*", &["*"], &["a"]);
        check("\\?x", &["?x"], &["ax"]);
        check("a\\b", &["ab"], &["a\\b"]);
        check("]", &["]"], &[]);
    }

    #[test]
    fn invalid_patterns() {
        for bad in [
            "[", "[a", "[]", "[]a]", "[^]", "[a-]", "[-a]", "[z-a]", "a\\", "[a\\", "!", "!   ",
            "ok\n!\n",
        ] {
            match Ignore::parse(bad) {
                Ok(_) => panic!("{bad:?} should be rejected"),
                Err(e) => {
                    let name = bad.lines().last().unwrap_or(bad).trim();
                    assert!(e.contains(&format!("{name:?}")), "{e} should name {name:?}");
                }
            }
        }
        let err = Ignore::parse("ok\n  x/[ab  \n").err().unwrap_or_default();
        assert!(err.contains("line 2") && err.contains("\"x/[ab\""), "{err}");
    }

    #[test]
    fn paths_are_normalised() {
        let i = ig("foo\n**\n");
        assert!(i.excluded("./foo"));
        assert!(i.excluded("/foo/"));
        assert!(i.excluded("a//b"));
        assert!(!i.excluded(""));
        assert!(!i.excluded("."));
        assert!(!i.excluded("/"));
        assert!(!i.skip_dir(""));
    }

    #[test]
    fn never_panics() {
        let odd = "* ** *** **** **/ /** **/**/** a**b** ? [ ] []] [^ [! \\ \\\\ [\\ [a-\\]] \
                   ! !! !!a !\\ # / // .. ../.. é[ [é- \u{0} a/**/ \u{10ffff} [\u{0}-\u{10ffff}]";
        let odd: Vec<&str> = odd.split_whitespace().chain([""]).collect();
        let paths = ". / a a/b a//b ../a é/ü * [ \\ \u{0} a/b/c/d/e";
        for a in &odd {
            for b in &odd {
                let text = format!("{a}\n!{b}\n{b}{a}\n");
                if let Ok(i) = Ignore::parse(&text) {
                    for p in paths.split(' ').chain([""]) {
                        let _ = (i.excluded(p), i.skip_dir(p));
                    }
                }
            }
        }
    }
}
