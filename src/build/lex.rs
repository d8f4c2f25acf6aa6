//! Shell-word processing of Dockerfile arguments: variable expansion and
//! quote removal, following the rules of Docker's (buildkit's) shell lexer.
//!
//! Docker does not run a shell for ENV, LABEL, COPY, WORKDIR and friends; it
//! runs its own small lexer that knows `$VAR`, `${VAR...}` forms, single and
//! double quotes and the escape character, and nothing else (no command
//! substitution, no arithmetic). This module reproduces that lexer so that
//! builds give the same strings Docker would.

/// Docker's shell lexer, parameterised by the Dockerfile's escape character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    /// `\` by default, `` ` `` after an `# escape=`` ` directive.
    pub escape: char,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer { escape: '\\' }
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Lexer {
    /// Expand variables and remove quotes in one word (spaces are kept), as
    /// Docker's `ProcessWord`.
    pub fn word(&self, s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        let pieces = Scanner::new(s, self.escape, env).top()?;
        Ok(pieces.iter().map(|p| p.ch).collect())
    }

    /// Same as [`Lexer::word`], but split into words on unquoted whitespace,
    /// as Docker's `ProcessWords`.
    ///
    /// Like Docker, whitespace produced by an unquoted `$VAR` splits words,
    /// quoted or escaped whitespace does not, and empty words (`""`) vanish.
    pub fn words(
        &self,
        s: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, String> {
        let pieces = Scanner::new(s, self.escape, env).top()?;
        let mut words = Vec::new();
        let mut cur = String::new();
        for p in pieces {
            if !p.quoted && p.ch.is_whitespace() {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            } else {
                cur.push(p.ch);
            }
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        Ok(words)
    }
}

/// One output character, remembering whether it came from quoting or an
/// escape: such characters never split words and are never glob operators.
#[derive(Debug, Clone, Copy)]
struct Piece {
    ch: char,
    quoted: bool,
}

fn push_str(out: &mut Vec<Piece>, s: &str, quoted: bool) {
    out.extend(s.chars().map(|ch| Piece { ch, quoted }));
}

/// Nesting limit for `${a:-${b:-...}}`: recursion on hostile input must end
/// in an error, not a stack overflow.
const MAX_DEPTH: usize = 64;

const MISSING_BRACE: &str = "syntax error: missing '}'";

struct Scanner<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    env: Env<'a>,
    depth: usize,
}

impl<'a> Scanner<'a> {
    fn new(s: &str, escape: char, env: Env<'a>) -> Self {
        Scanner {
            chars: s.chars().collect(),
            pos: 0,
            escape,
            env,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn top(&mut self) -> Result<Vec<Piece>, String> {
        self.until(&[]).map(|(pieces, _)| pieces)
    }

    /// Process up to (and consuming) the first unquoted, unescaped char in
    /// `stops`; returns which stop ended the run, `None` at end of input.
    fn until(&mut self, stops: &[char]) -> Result<(Vec<Piece>, Option<char>), String> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if stops.contains(&c) {
                self.pos += 1;
                return Ok((out, Some(c)));
            }
            match c {
                '\'' => {
                    let s = self.single_quoted()?;
                    push_str(&mut out, &s, true);
                }
                '"' => {
                    let s = self.double_quoted()?;
                    push_str(&mut out, &s, true);
                }
                '$' => {
                    let s = self.dollar()?;
                    push_str(&mut out, &s, false);
                }
                _ => {
                    self.pos += 1;
                    if c == self.escape {
                        // Docker drops an escape char at the very end of
                        // the word instead of failing.
                        match self.bump() {
                            Some(n) => out.push(Piece {
                                ch: n,
                                quoted: true,
                            }),
                            None => break,
                        }
                    } else {
                        out.push(Piece {
                            ch: c,
                            quoted: false,
                        });
                    }
                }
            }
        }
        Ok((out, None))
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.bump() {
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    );
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    );
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('$') => s.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    // Inside double quotes Docker only lets the escape char
                    // escape `"`, `$` and itself; before anything else it
                    // stays as written (so Windows paths survive).
                    if c == self.escape {
                        match self.peek() {
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                s.push(n);
                            }
                            None => {}
                            Some(_) => s.push(c),
                        }
                    } else {
                        s.push(c);
                    }
                }
            }
        }
    }

    /// A variable name as Docker reads one: a run of digits (positional),
    /// one special parameter char, or letters/digits/underscores.
    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
            }
            Some(c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!')) => {
                self.pos += 1;
                name.push(c);
            }
            _ => {
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    name.push(c);
                    self.pos += 1;
                }
            }
        }
        name
    }

    fn lookup(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// The text of a `${...}` expression starting at `start` (the `$`), for
    /// error messages.
    fn bad_substitution(&self, start: usize) -> String {
        let rest = self.chars.get(start..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&c| c == '}')
            .map_or(rest.len(), |i| i + 1);
        let text: String = rest[..end].iter().collect();
        format!("bad substitution: {text}")
    }

    /// The word after a modifier, up to the closing brace.
    fn brace_word(&mut self) -> Result<Vec<Piece>, String> {
        match self.until(&['}'])? {
            (pieces, Some(_)) => Ok(pieces),
            (_, None) => Err(MISSING_BRACE.into()),
        }
    }

    fn dollar(&mut self) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            // `$` not followed by a name is a literal dollar sign in Docker.
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.lookup(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(MISSING_BRACE.into()),
            Some('{' | '}' | ':') => return Err(self.bad_substitution(start)),
            Some(_) => {}
        }
        let name = self.name();
        if name.is_empty() {
            return Err(self.bad_substitution(start));
        }
        if self.depth >= MAX_DEPTH {
            return Err(format!(
                "{}: nested too deeply",
                self.bad_substitution(start)
            ));
        }
        self.depth += 1;
        let result = self.modifier(&name, start);
        self.depth -= 1;
        result
    }

    fn modifier(&mut self, name: &str, start: usize) -> Result<String, String> {
        let Some(op) = self.bump() else {
            return Err(MISSING_BRACE.into());
        };
        let value = self.lookup(name);
        match op {
            '}' => Ok(value.unwrap_or_default()),
            ':' => {
                let Some(m) = self.bump() else {
                    return Err(MISSING_BRACE.into());
                };
                if !matches!(m, '-' | '+' | '?') {
                    return Err(self.bad_substitution(start));
                }
                let word = text(&self.brace_word()?);
                // With a colon, Docker (like sh) treats empty as unset.
                let set = value.filter(|v| !v.is_empty());
                match (m, set) {
                    ('-', Some(v)) | ('?', Some(v)) => Ok(v),
                    ('-', None) => Ok(word),
                    ('+', Some(_)) => Ok(word),
                    ('+', None) => Ok(String::new()),
                    (_, None) => Err(required(name, word, self.lookup(name).is_some())),
                    (_, Some(_)) => Err(self.bad_substitution(start)),
                }
            }
            '-' | '+' | '?' => {
                let word = text(&self.brace_word()?);
                match (op, value) {
                    ('-', Some(v)) | ('?', Some(v)) => Ok(v),
                    ('-', None) => Ok(word),
                    ('+', Some(_)) => Ok(word),
                    ('+', None) => Ok(String::new()),
                    (_, None) => Err(required(name, word, false)),
                    (_, Some(_)) => Err(self.bad_substitution(start)),
                }
            }
            '#' | '%' => {
                let longest = self.peek() == Some(op);
                if longest {
                    self.pos += 1;
                }
                let pat = self.brace_word()?;
                let v: Vec<char> = value.unwrap_or_default().chars().collect();
                Ok(trim(&v, &pat, op == '#', longest))
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let (pat, stop) = self.until(&['/', '}'])?;
                let repl = match stop {
                    Some('/') => text(&self.brace_word()?),
                    Some(_) => String::new(),
                    None => return Err(MISSING_BRACE.into()),
                };
                let v: Vec<char> = value.unwrap_or_default().chars().collect();
                Ok(replace(&v, &pat, &repl, all))
            }
            _ => Err(self.bad_substitution(start)),
        }
    }
}

fn text(pieces: &[Piece]) -> String {
    pieces.iter().map(|p| p.ch).collect()
}

/// Docker's message for `${VAR?msg}` / `${VAR:?msg}`.
fn required(name: &str, word: String, set_but_empty: bool) -> String {
    if !word.is_empty() {
        format!("{name}: {word}")
    } else if set_but_empty {
        format!("{name}: is not allowed to be empty")
    } else {
        format!("{name}: is not allowed to be unset")
    }
}

/// Every `e` such that the glob `pat` matches `s[..e]`, ascending. Unquoted
/// `*` and `?` are wildcards, everything else (quoted `*` too) matches
/// itself. Runs the pattern as a set of positions, one pass over `s`, so
/// hostile values cannot make it backtrack.
fn prefix_matches(pat: &[Piece], s: &[char]) -> Vec<usize> {
    let m = pat.len();
    let star = |j: usize| !pat[j].quoted && pat[j].ch == '*';
    // A star may match nothing, so reaching it also reaches what follows.
    let close = |set: &mut Vec<bool>| {
        for j in 0..m {
            if set[j] && star(j) {
                set[j + 1] = true;
            }
        }
    };
    let mut cur = vec![false; m + 1];
    cur[0] = true;
    close(&mut cur);
    let mut ends = Vec::new();
    if cur[m] {
        ends.push(0);
    }
    for (i, &c) in s.iter().enumerate() {
        let mut next = vec![false; m + 1];
        for j in (0..m).filter(|&j| cur[j]) {
            let p = pat[j];
            if star(j) {
                next[j] = true;
            } else if (!p.quoted && p.ch == '?') || p.ch == c {
                next[j + 1] = true;
            }
        }
        close(&mut next);
        if !next.contains(&true) {
            break;
        }
        if next[m] {
            ends.push(i + 1);
        }
        cur = next;
    }
    ends
}

/// `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`: remove the shortest or longest
/// matching prefix or suffix; no match leaves the value unchanged.
fn trim(v: &[char], pat: &[Piece], prefix: bool, longest: bool) -> String {
    if prefix {
        let ends = prefix_matches(pat, v);
        let cut = if longest { ends.last() } else { ends.first() };
        return v[cut.copied().unwrap_or(0)..].iter().collect();
    }
    // A suffix match is a prefix match of the reversed value and pattern.
    let rv: Vec<char> = v.iter().rev().copied().collect();
    let rpat: Vec<Piece> = pat.iter().rev().copied().collect();
    let ends = prefix_matches(&rpat, &rv);
    let cut = if longest { ends.last() } else { ends.first() };
    v[..v.len() - cut.copied().unwrap_or(0)].iter().collect()
}

/// `${v/p/r}` and `${v//p/r}`: leftmost-longest non-empty matches replaced,
/// the first one or all of them (what Docker's regexp rewrite does).
fn replace(v: &[char], pat: &[Piece], repl: &str, all: bool) -> String {
    let mut out = String::new();
    let mut i = 0;
    let mut replaced = false;
    while i < v.len() {
        let end = if replaced && !all {
            None
        } else {
            prefix_matches(pat, &v[i..])
                .last()
                .copied()
                .filter(|&e| e > 0)
        };
        match end {
            Some(e) => {
                out.push_str(repl);
                i += e;
                replaced = true;
            }
            None => {
                out.push(v[i]);
                i += 1;
            }
        }
    }
    out
}

const NOT_STRINGS: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// The exec (JSON) form of RUN/CMD/ENTRYPOINT/SHELL/COPY/... arguments.
///
/// Docker's exec-form test: after leading blanks, a `[` starting a complete,
/// valid JSON array. `Ok(None)` means not JSON, and Docker then falls back to
/// the shell form; valid JSON with a non-string item is an error instead.
pub(crate) fn json_array(s: &str) -> Result<Option<Vec<String>>, &'static str> {
    let mut p = Json {
        b: s.trim_start().as_bytes(),
        i: 0,
        depth: 0,
    };
    let mut out = Some(Vec::new());
    let ok = p.eat(b'[')
        && p.seq(b']', |p| match p.value() {
            Some(Some(s)) => {
                out.iter_mut().for_each(|o| o.push(s.clone()));
                true
            }
            Some(None) => {
                out = None;
                true
            }
            None => false,
        });
    p.ws();
    if !ok || p.i != p.b.len() {
        return Ok(None);
    }
    out.map(Some).ok_or(NOT_STRINGS)
}

/// A strict JSON reader that keeps only string values.
struct Json<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

/// Go's decoder has a depth limit too; this keeps recursion bounded.
const MAX_JSON_DEPTH: usize = 256;

impl Json<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn digits(&mut self) -> bool {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i > start
    }

    /// Comma-separated items up to `close`, the opener already consumed.
    fn seq(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> bool) -> bool {
        self.ws();
        if self.eat(close) {
            return true;
        }
        loop {
            if !item(self) {
                return false;
            }
            self.ws();
            if !self.eat(b',') {
                return self.eat(close);
            }
        }
    }

    /// `Some(Some(s))` for a string, `Some(None)` for any other valid value.
    fn value(&mut self) -> Option<Option<String>> {
        self.ws();
        let c = *self.b.get(self.i)?;
        let ok = match c {
            b'"' => {
                self.i += 1;
                return self.string().map(Some);
            }
            b'[' | b'{' if self.depth < MAX_JSON_DEPTH => {
                self.i += 1;
                self.depth += 1;
                let ok = if c == b'[' {
                    self.seq(b']', |p| p.value().is_some())
                } else {
                    self.seq(b'}', |p| {
                        p.ws();
                        let key = p.eat(b'"') && p.string().is_some();
                        p.ws();
                        key && p.eat(b':') && p.value().is_some()
                    })
                };
                self.depth -= 1;
                ok
            }
            b't' | b'f' | b'n' => ["true", "false", "null"].iter().any(|lit| {
                let hit = self
                    .b
                    .get(self.i..)
                    .is_some_and(|r| r.starts_with(lit.as_bytes()));
                self.i += if hit { lit.len() } else { 0 };
                hit
            }),
            b'-' | b'0'..=b'9' => {
                self.eat(b'-');
                let int = self.eat(b'0') || self.digits();
                let frac = !self.eat(b'.') || self.digits();
                let exp = !(self.eat(b'e') || self.eat(b'E')) || {
                    let _ = self.eat(b'+') || self.eat(b'-');
                    self.digits()
                };
                int && frac && exp
            }
            _ => false,
        };
        ok.then_some(None)
    }

    /// String body after the opening quote; raw control chars are invalid.
    fn string(&mut self) -> Option<String> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            let ch = match c {
                b'"' => return String::from_utf8(out).ok(),
                0..=0x1f => return None,
                b'\\' => {
                    self.i += 1;
                    match self.b.get(self.i - 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    }
                }
                _ => {
                    out.push(c);
                    continue;
                }
            };
            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = std::str::from_utf8(self.b.get(self.i..self.i + 4)?).ok()?;
        // from_str_radix alone would also accept a sign.
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }

    /// `\uXXXX`, joining surrogate pairs; lone surrogates become U+FFFD as
    /// in Go's decoder.
    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.b.get(self.i..self.i + 2) == Some(b"\\u") {
            let save = self.i;
            self.i += 2;
            match self.hex4() {
                Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(cp);
                }
                _ => self.i = save,
            }
        }
        Some(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }
}

#[cfg(test)]
#[path = "lex_tests.rs"]
mod tests;
