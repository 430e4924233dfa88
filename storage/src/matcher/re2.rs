//! Go (RE2) regular-expression syntax, rewritten into the `regex` crate's syntax.
//!
//! Prometheus compiles matcher regexes with Go's `regexp` package, whose syntax is RE2's.
//! The `regex` crate implements the same matching semantics (leftmost-first, Unicode,
//! linear time) but its *syntax* differs in places where a user's pattern would silently
//! change meaning or be rejected:
//!
//! | Go / RE2                                   | `regex` crate as is                  |
//! |--------------------------------------------|--------------------------------------|
//! | `\d \s \w \b` are ASCII-only               | Unicode-aware                        |
//! | `x{`, `x{,3}`, `{foo}` are literal text    | syntax errors                        |
//! | `\<` `\>` are the literal `<` `>`          | word-boundary assertions             |
//! | `[[a]]` is the class `[[a]` then a `]`     | a nested class                       |
//! | `[a&&b]`, `[a--b]`, `[a~~b]` are literals  | set operations                       |
//! | `\Q...\E` quotes literal text              | unsupported                          |
//! | `\123` is an octal escape                  | unsupported                          |
//! | `\p{^Greek}` negates                       | unsupported                          |
//! | `(?)` is an empty flag group               | a syntax error                       |
//! | `a**`, `a{2}{3}` are errors                | accepted                             |
//! | only the flags `i m s U`                   | also `x`, `u`, `R`                   |
//!
//! [`translate`] therefore parses the pattern the way Go's `regexp/syntax` does (with its
//! `Perl` flags) and writes out an equivalent pattern for the `regex` crate: literals as
//! escapes, classes as explicit ranges, Perl classes as their ASCII ranges. Structure
//! (groups, alternation, repetition, flags) is carried over unchanged. Invalid patterns
//! fail with Go's error text (`error parsing regexp: missing closing ): ...`), so API users
//! see the same messages as from Prometheus.
//!
//! Not reproduced: Go's rejection of nested counted repetitions whose product exceeds 1000
//! (`(a{500}){3}`); the `regex` crate's own size limits apply instead.

use std::fmt::{self, Write};

/// A pattern Go's `regexp/syntax` would reject, with Go's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Re2Error {
    /// Go's `ErrorCode` text, e.g. "missing closing )".
    pub code: &'static str,
    /// The offending part of the pattern.
    pub expr: String,
}

impl fmt::Display for Re2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error parsing regexp: {}: `{}`", self.code, self.expr)
    }
}

const INVALID_CHAR_CLASS_RANGE: &str = "invalid character class range";
const INVALID_ESCAPE: &str = "invalid escape sequence";
const INVALID_NAMED_CAPTURE: &str = "invalid named capture";
const INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
const INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
const INVALID_REPEAT_SIZE: &str = "invalid repeat count";
const MISSING_BRACKET: &str = "missing closing ]";
const MISSING_PAREN: &str = "missing closing )";
const MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
const TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
const UNEXPECTED_PAREN: &str = "unexpected )";

/// RE2's limit on counted repetitions (`x{1001}` is an error).
const MAX_REPEAT: u32 = 1000;

/// A class that matches no character: what a surrogate code point (which Go accepts in
/// `\x{D800}` but no valid UTF-8 text contains) turns into.
const NEVER: &str = r"[^\x{0}-\x{10FFFF}]";

/// The ASCII Perl classes, as ranges (RE2's `perl_groups`).
const DIGIT: &[(char, char)] = &[('0', '9')];
const SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0C', '\r'), (' ', ' ')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];

/// The POSIX class names RE2 accepts inside brackets (`[[:alpha:]]`); the `regex` crate
/// knows the same names with the same ASCII meanings.
const POSIX_NAMES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Rewrites an RE2 pattern into equivalent `regex`-crate syntax.
pub(crate) fn translate(pattern: &str) -> Result<String, Re2Error> {
    let mut t = Translator {
        whole: pattern,
        out: String::with_capacity(pattern.len() + 16),
        depth: 0,
        operand: false,
        last_repeat: None,
        pending_flags: None,
        names: Vec::new(),
    };
    t.run()?;
    Ok(t.out)
}

struct Translator<'a> {
    whole: &'a str,
    out: String,
    /// Open groups.
    depth: usize,
    /// Whether the current concatenation has an element a repetition could apply to.
    operand: bool,
    /// Byte offset of the repetition operator just parsed, if the last token was one
    /// (RE2 rejects `a**`).
    last_repeat: Option<usize>,
    /// A `(?flags)` group not yet written: written before the next token, so that a
    /// repetition right after it still applies to the element before it, as in Go.
    pending_flags: Option<String>,
    /// Capture names already written (the `regex` crate rejects a repeated name, Go
    /// accepts it: a repeat becomes an unnamed group, keeping the group numbering).
    names: Vec<String>,
}

fn err(code: &'static str, expr: &str) -> Re2Error {
    Re2Error {
        code,
        expr: expr.to_string(),
    }
}

impl Translator<'_> {
    fn flush_flags(&mut self) {
        if let Some(f) = self.pending_flags.take() {
            self.out.push_str(&f);
        }
    }

    /// Writes an element that a following repetition may apply to.
    fn atom(&mut self, text: &str) {
        self.flush_flags();
        self.out.push_str(text);
        self.operand = true;
    }

    fn run(&mut self) -> Result<(), Re2Error> {
        let s = self.whole;
        let mut i = 0;
        while i < s.len() {
            let rest = &s[i..];
            let c = rest.chars().next().unwrap_or('\0');
            let mut repeat_at = None;
            match c {
                '(' => {
                    i = self.open_group(i)?;
                }
                '|' => {
                    self.flush_flags();
                    self.out.push('|');
                    self.operand = false;
                    i += 1;
                }
                ')' => {
                    if self.depth == 0 {
                        return Err(err(UNEXPECTED_PAREN, s));
                    }
                    self.depth -= 1;
                    // Flags set inside the group end with it: a pending one is moot.
                    self.pending_flags = None;
                    self.out.push(')');
                    self.operand = true;
                    i += 1;
                }
                '^' | '$' | '.' => {
                    self.atom(&rest[..1]);
                    i += 1;
                }
                '[' => {
                    let (class, next) = self.class(i)?;
                    self.atom(&class);
                    i = next;
                }
                '*' | '+' | '?' => {
                    repeat_at = Some(i);
                    i = self.repeat(i, i + 1, None)?;
                }
                '{' => match parse_repeat(rest) {
                    Some((min, max, len)) => {
                        let too_big = |n: Option<u32>| n.is_none_or(|n| n > MAX_REPEAT);
                        let bad_max = matches!(max, Bound::Count(m) if too_big(m));
                        let inverted =
                            matches!((min, max), (Some(lo), Bound::Count(Some(hi))) if lo > hi);
                        if too_big(min) || bad_max || inverted {
                            return Err(err(INVALID_REPEAT_SIZE, &rest[..len]));
                        }
                        let min = min.unwrap_or(0);
                        let text = match max {
                            Bound::Exact => format!("{{{min}}}"),
                            Bound::Unbounded => format!("{{{min},}}"),
                            Bound::Count(m) => format!("{{{min},{}}}", m.unwrap_or(0)),
                        };
                        repeat_at = Some(i);
                        i = self.repeat(i, i + len, Some(&text))?;
                    }
                    None => {
                        self.atom(r"\{");
                        i += 1;
                    }
                },
                '\\' => {
                    i = self.escape_outside_class(i)?;
                }
                c => {
                    let mut buf = String::new();
                    regex_syntax::escape_into(&rest[..c.len_utf8()], &mut buf);
                    self.atom(&buf);
                    i += c.len_utf8();
                }
            }
            self.last_repeat = repeat_at;
        }
        if self.depth > 0 {
            return Err(err(MISSING_PAREN, s));
        }
        Ok(())
    }

    /// A repetition operator at `start..end` (`*`, `+`, `?` or a counted `{..}` given as
    /// `counted`), with an optional lazy `?` after it. Returns the offset after it.
    fn repeat(
        &mut self,
        start: usize,
        mut end: usize,
        counted: Option<&str>,
    ) -> Result<usize, Re2Error> {
        let s = self.whole;
        let lazy = s[end..].starts_with('?');
        if lazy {
            end += 1;
        }
        if let Some(prev) = self.last_repeat {
            return Err(err(INVALID_REPEAT_OP, &s[prev..end]));
        }
        if !self.operand {
            return Err(err(MISSING_REPEAT_ARGUMENT, &s[start..end]));
        }
        match counted {
            Some(text) => self.out.push_str(text),
            None => self.out.push_str(&s[start..start + 1]),
        }
        if lazy {
            self.out.push('?');
        }
        // The pending flags (if any) come after the repeated element.
        self.flush_flags();
        Ok(end)
    }

    /// `(`, `(?:`, `(?flags)`, `(?flags:`, `(?P<name>`, `(?<name>` at `at`.
    fn open_group(&mut self, at: usize) -> Result<usize, Re2Error> {
        let s = self.whole;
        let t = &s[at..];
        if !t.starts_with("(?") {
            self.flush_flags();
            self.out.push('(');
            self.depth += 1;
            self.operand = false;
            return Ok(at + 1);
        }
        // Named captures: the name is checked as Go does and kept, so that groups keep
        // their numbers and names (`label_replace` expands `$1` and `${name}`).
        let with_p = t.len() > 4 && t.as_bytes()[2] == b'P' && t.as_bytes()[3] == b'<';
        let bare = t.len() > 3 && t.as_bytes()[2] == b'<';
        if with_p || bare {
            let name_start = if with_p { 4 } else { 3 };
            let Some(end) = t.find('>') else {
                return Err(err(INVALID_NAMED_CAPTURE, t));
            };
            let name = &t[name_start..end];
            let valid =
                !name.is_empty() && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric());
            if !valid {
                return Err(err(INVALID_NAMED_CAPTURE, &t[..end + 1]));
            }
            self.flush_flags();
            if self.names.iter().any(|n| n == name) {
                self.out.push('(');
            } else {
                self.out.push_str("(?P<");
                self.out.push_str(name);
                self.out.push('>');
                self.names.push(name.to_string());
            }
            self.depth += 1;
            self.operand = false;
            return Ok(at + end + 1);
        }
        // Flags: any of `imsU`, optionally `-` and at least one more, then `)` or `:`.
        let mut flags = String::new();
        let mut negated = false;
        let mut saw_flag = false;
        for (off, c) in t[2..].char_indices() {
            let consumed = 2 + off + c.len_utf8();
            match c {
                'i' | 'm' | 's' | 'U' => {
                    flags.push(c);
                    saw_flag = true;
                }
                '-' if !negated => {
                    flags.push('-');
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' => {
                    if negated && !saw_flag {
                        return Err(err(INVALID_PERL_OP, &t[..consumed]));
                    }
                    if c == ':' {
                        self.flush_flags();
                        self.out.push_str("(?");
                        self.out.push_str(&flags);
                        self.out.push(':');
                        self.depth += 1;
                        self.operand = false;
                    } else if !flags.is_empty() {
                        // Applies to the rest of the enclosing group; a later pending flag
                        // group simply adds to it.
                        let pending = self.pending_flags.get_or_insert_with(String::new);
                        pending.push_str("(?");
                        pending.push_str(&flags);
                        pending.push(')');
                    }
                    return Ok(at + consumed);
                }
                _ => return Err(err(INVALID_PERL_OP, &t[..consumed])),
            }
        }
        Err(err(INVALID_PERL_OP, t))
    }

    /// A backslash sequence outside a class, at `at`.
    fn escape_outside_class(&mut self, at: usize) -> Result<usize, Re2Error> {
        let s = self.whole;
        let t = &s[at..];
        let Some(c) = t[1..].chars().next() else {
            return Err(err(TRAILING_BACKSLASH, ""));
        };
        match c {
            'A' => {
                self.atom(r"\A");
                return Ok(at + 2);
            }
            'z' => {
                self.atom(r"\z");
                return Ok(at + 2);
            }
            // RE2's word boundaries are ASCII.
            'b' => {
                self.atom(r"(?-u:\b)");
                return Ok(at + 2);
            }
            'B' => {
                self.atom(r"(?-u:\B)");
                return Ok(at + 2);
            }
            'C' => return Err(err(INVALID_ESCAPE, &t[..2])),
            'Q' => {
                // Everything up to `\E` (or the end) is literal text.
                let body_end = t[2..].find(r"\E").map_or(t.len(), |p| p + 2);
                let lit = &t[2..body_end];
                if !lit.is_empty() {
                    let mut buf = String::new();
                    regex_syntax::escape_into(lit, &mut buf);
                    self.atom(&buf);
                }
                let next = if body_end < t.len() {
                    body_end + 2
                } else {
                    body_end
                };
                return Ok(at + next);
            }
            _ => {}
        }
        if c == 'p' || c == 'P' {
            let (class, len) = unicode_class(t)?;
            self.atom(&class);
            return Ok(at + len);
        }
        if let Some(ranges) = perl_class(c) {
            let mut buf = String::from("[");
            if c.is_ascii_uppercase() {
                buf.push('^');
            }
            push_ranges(&mut buf, ranges);
            buf.push(']');
            self.atom(&buf);
            return Ok(at + 2);
        }
        let (cp, len) = parse_escape(t)?;
        let mut buf = String::new();
        push_literal(&mut buf, cp);
        self.atom(&buf);
        Ok(at + len)
    }

    /// A bracketed class starting at `at`; returns its `regex`-crate form and the offset
    /// after its closing `]`.
    fn class(&self, at: usize) -> Result<(String, usize), Re2Error> {
        let s = self.whole;
        let whole_class = &s[at..];
        let mut i = at + 1;
        let mut out = String::from("[");
        if s[i..].starts_with('^') {
            out.push('^');
            i += 1;
        }
        let mut items = 0usize;
        let mut first = true;
        loop {
            let t = &s[i..];
            if t.is_empty() {
                return Err(err(MISSING_BRACKET, whole_class));
            }
            if t.starts_with(']') && !first {
                i += 1;
                break;
            }
            first = false;
            // POSIX class: `[:name:]` (Go looks for the closing `:]` anywhere after it).
            if t.len() > 2 && t.starts_with("[:") {
                if let Some(end) = t[2..].find(":]") {
                    let full = &t[..end + 4];
                    let name = &full[2..full.len() - 2];
                    let bare = name.strip_prefix('^').unwrap_or(name);
                    if !POSIX_NAMES.contains(&bare) {
                        return Err(err(INVALID_CHAR_CLASS_RANGE, full));
                    }
                    out.push_str(full);
                    items += 1;
                    i += full.len();
                    continue;
                }
            }
            if t.starts_with("\\p") || t.starts_with("\\P") {
                let (class, len) = unicode_class(t)?;
                out.push_str(&class);
                items += 1;
                i += len;
                continue;
            }
            if let Some(ranges) = t
                .strip_prefix('\\')
                .and_then(|r| r.chars().next())
                .and_then(perl_class)
            {
                let negated = t.as_bytes()[1].is_ascii_uppercase();
                if negated {
                    out.push_str("[^");
                }
                push_ranges(&mut out, ranges);
                if negated {
                    out.push(']');
                }
                items += 1;
                i += 2;
                continue;
            }
            // A single character or a range `lo-hi` (`a-]` is `a` and `-`).
            let (lo, len) = class_char(t, whole_class)?;
            let mut hi = lo;
            let mut next = i + len;
            let after = &s[next..];
            if after.len() >= 2 && after.starts_with('-') && !after[1..].starts_with(']') {
                let (h, hlen) = class_char(&after[1..], whole_class)?;
                if h < lo {
                    return Err(err(INVALID_CHAR_CLASS_RANGE, &s[i..next + 1 + hlen]));
                }
                hi = h;
                next += 1 + hlen;
            }
            if push_range(&mut out, lo, hi) {
                items += 1;
            }
            i = next;
        }
        if items == 0 {
            // Only surrogates were named: the class matches nothing (or, negated, anything).
            return Ok((
                if out.ends_with('^') {
                    r"[\x{0}-\x{10FFFF}]".to_string()
                } else {
                    NEVER.to_string()
                },
                i,
            ));
        }
        out.push(']');
        Ok((out, i))
    }
}

/// How a counted repetition ends: `{n}`, `{n,}` or `{n,m}` (`None` when `m` overflows).
#[derive(Clone, Copy)]
enum Bound {
    Exact,
    Unbounded,
    Count(Option<u32>),
}

/// Parses `{n}`, `{n,}` or `{n,m}` at the start of `s` as RE2 does: decimal numbers without
/// leading zeros. Returns (min, max, length); `min` is `None` when it is too large. Anything
/// else is not a repetition (and the `{` is a literal).
fn parse_repeat(s: &str) -> Option<(Option<u32>, Bound, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let (min, n) = parse_int(&b[i..])?;
    i += n;
    let bound = match b.get(i)? {
        b',' => {
            i += 1;
            if *b.get(i)? == b'}' {
                Bound::Unbounded
            } else {
                let (max, n) = parse_int(&b[i..])?;
                i += n;
                Bound::Count(max)
            }
        }
        _ => Bound::Exact,
    };
    if *b.get(i)? != b'}' {
        return None;
    }
    Some((min, bound, i + 1))
}

/// A decimal integer without leading zeros; the value is `None` when it exceeds 10^8.
fn parse_int(b: &[u8]) -> Option<(Option<u32>, usize)> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && b[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &d in &b[..digits] {
        v = v * 10 + u64::from(d - b'0');
        if v > 100_000_000 {
            return Some((None, digits));
        }
    }
    Some((u32::try_from(v).ok(), digits))
}

fn perl_class(c: char) -> Option<&'static [(char, char)]> {
    match c {
        'd' | 'D' => Some(DIGIT),
        's' | 'S' => Some(SPACE),
        'w' | 'W' => Some(WORD),
        _ => None,
    }
}

/// `\pN`, `\p{Name}`, `\P{Name}`, `\p{^Name}` at the start of `t`.
fn unicode_class(t: &str) -> Result<(String, usize), Re2Error> {
    let mut negated = t.as_bytes()[1] == b'P';
    let rest = &t[2..];
    let Some(c) = rest.chars().next() else {
        return Err(err(INVALID_CHAR_CLASS_RANGE, t));
    };
    let (mut name, len) = if c == '{' {
        let Some(end) = t.find('}') else {
            return Err(err(INVALID_CHAR_CLASS_RANGE, t));
        };
        (&t[3..end], end + 1)
    } else {
        (&rest[..c.len_utf8()], 2 + c.len_utf8())
    };
    if let Some(n) = name.strip_prefix('^') {
        negated = !negated;
        name = n;
    }
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ' || c == '-');
    if !valid {
        return Err(err(INVALID_CHAR_CLASS_RANGE, &t[..len]));
    }
    let class = format!("\\{}{{{}}}", if negated { 'P' } else { 'p' }, name);
    // Names Go knows but the `regex` crate does not (or the reverse) surface when the
    // translated pattern is compiled.
    Ok((class, len))
}

/// One character inside a class (possibly escaped); returns its code point and length.
fn class_char(t: &str, whole_class: &str) -> Result<(u32, usize), Re2Error> {
    match t.chars().next() {
        None => Err(err(MISSING_BRACKET, whole_class)),
        Some('\\') => parse_escape(t),
        Some(c) => Ok((u32::from(c), c.len_utf8())),
    }
}

/// An ordinary escape (`\n`, `\x41`, `\x{263a}`, `\101`, `\.`) at the start of `t`, as Go's
/// `parseEscape`; returns the code point (possibly a surrogate) and the escape's length.
fn parse_escape(t: &str) -> Result<(u32, usize), Re2Error> {
    let b = t.as_bytes();
    let Some(c) = t[1..].chars().next() else {
        return Err(err(TRAILING_BACKSLASH, ""));
    };
    let invalid = |len: usize| err(INVALID_ESCAPE, &t[..len.min(t.len())]);
    match c {
        // Octal: `\0`, or `\1`..`\7` followed by another octal digit (a lone `\1` would be
        // a backreference, which RE2 does not support); up to three digits.
        '0'..='7' => {
            let is_octal = |i: usize| b.get(i).is_some_and(|d| (b'0'..=b'7').contains(d));
            if c != '0' && !is_octal(2) {
                return Err(invalid(2));
            }
            let mut v = u32::from(b[1] - b'0');
            let mut len = 2;
            while len < 4 && is_octal(len) {
                v = v * 8 + u32::from(b[len] - b'0');
                len += 1;
            }
            Ok((v, len))
        }
        'x' => {
            if b.get(2) == Some(&b'{') {
                // Hex digits up to `}`; the error names the text read up to the problem.
                let mut v: u32 = 0;
                for (digits, (off, d)) in t[3..].char_indices().enumerate() {
                    let read = 3 + off + d.len_utf8();
                    if d == '}' {
                        return if digits == 0 {
                            Err(invalid(read))
                        } else {
                            Ok((v, read))
                        };
                    }
                    let Some(x) = d.to_digit(16) else {
                        return Err(invalid(read));
                    };
                    v = v * 16 + x;
                    if v > 0x10FFFF {
                        return Err(invalid(read));
                    }
                }
                Err(invalid(t.len()))
            } else {
                let hex = t
                    .get(2..4)
                    .filter(|h| h.bytes().all(|d| d.is_ascii_hexdigit()));
                match hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
                    Some(v) => Ok((v, 4)),
                    None => {
                        let len = 2 + t[2..].chars().take(2).map(char::len_utf8).sum::<usize>();
                        Err(invalid(len))
                    }
                }
            }
        }
        'a' => Ok((0x07, 2)),
        'f' => Ok((0x0C, 2)),
        'n' => Ok((0x0A, 2)),
        'r' => Ok((0x0D, 2)),
        't' => Ok((0x09, 2)),
        'v' => Ok((0x0B, 2)),
        // Any other ASCII punctuation stands for itself.
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((u32::from(c), 2)),
        c => Err(invalid(1 + c.len_utf8())),
    }
}

/// Writes a literal code point; a surrogate (which no text contains) matches nothing.
fn push_literal(out: &mut String, cp: u32) {
    match char::from_u32(cp) {
        Some(c) => {
            let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
        }
        None => out.push_str(NEVER),
    }
}

/// Writes a class range, leaving out surrogates; returns whether anything was written.
fn push_range(out: &mut String, lo: u32, hi: u32) -> bool {
    const SURROGATES: std::ops::RangeInclusive<u32> = 0xD800..=0xDFFF;
    let mut pieces = [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)];
    if SURROGATES.contains(&lo) && SURROGATES.contains(&hi) {
        return false;
    }
    if hi < 0xD800 || lo > 0xDFFF {
        pieces = [(lo, hi), (1, 0)];
    }
    let mut wrote = false;
    for (a, b) in pieces {
        if a <= b {
            let _ = write!(out, "\\x{{{a:X}}}-\\x{{{b:X}}}");
            wrote = true;
        }
    }
    wrote
}

fn push_ranges(out: &mut String, ranges: &[(char, char)]) {
    for &(a, b) in ranges {
        push_range(out, u32::from(a), u32::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles the translation anchored, as the matcher does.
    fn re(p: &str) -> regex::Regex {
        let t = translate(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        regex::Regex::new(&format!("^(?s:{t})$")).unwrap_or_else(|e| panic!("{p:?} -> {t:?}: {e}"))
    }

    fn error(p: &str) -> String {
        translate(p).expect_err(p).to_string()
    }

    // Expectations below come from the RE2 syntax documentation (Go's regexp/syntax
    // package doc) and Go's parser rules, not from running this code. They were also
    // checked against a real Prometheus (2.42, same Go regexp/syntax) through its HTTP
    // API: matches with `label_replace`, errors with `{__name__=~"..."}`. (2.42 wraps the
    // regex in `^(?:...)$` before parsing, so its texts for unbalanced `(`, `)`, `[` and a
    // trailing `\` quote the wrapper; Prometheus 3 parses the pattern alone, as here.)

    #[test]
    fn perl_classes_are_ascii() {
        // `\d` is [0-9], `\s` is [\t\n\f\r ], `\w` is [0-9A-Za-z_].
        assert!(re(r"\d").is_match("7"));
        assert!(!re(r"\d").is_match("٣")); // ARABIC-INDIC DIGIT THREE
        assert!(re(r"\s").is_match("\x0C"));
        assert!(!re(r"\s").is_match("\x0B")); // \v is not in RE2's \s
        assert!(!re(r"\s").is_match("\u{A0}"));
        assert!(re(r"\w+").is_match("a_Z9"));
        assert!(!re(r"\w").is_match("é"));
        assert!(re(r"\D").is_match("é"));
        assert!(re(r"[\d\s]+").is_match("1 2"));
        assert!(re(r"[^\W]").is_match("a"));
        assert!(!re(r"[^\W]").is_match("-"));
        assert!(re(r"[\D]").is_match("x"));
        // [[:space:]] does include \v.
        assert!(re(r"[[:space:]]").is_match("\x0B"));
    }

    #[test]
    fn word_boundary_is_ascii() {
        // é is not a word character to RE2, so there is a boundary between "a" and "é".
        assert!(re(r".*a\b.*").is_match("aé"));
        assert!(!re(r".*a\B.*").is_match("aé"));
    }

    #[test]
    fn braces_that_are_not_repetitions_are_literal() {
        assert!(re(r"a{").is_match("a{"));
        assert!(re(r"a{,3}").is_match("a{,3}"));
        assert!(re(r"/api/{id}").is_match("/api/{id}"));
        assert!(re(r"x{01}").is_match("x{01}")); // leading zero: not a count
        assert!(re(r"a}").is_match("a}"));
        assert!(re(r"a{2}").is_match("aa"));
        assert!(re(r"a{2,}").is_match("aaaa"));
        assert!(re(r"a{1,2}").is_match("aa"));
        assert!(!re(r"a{1,2}").is_match("aaa"));
        assert!(re(r"a{2}?").is_match("aa"));
    }

    #[test]
    fn escapes() {
        assert!(re(r"\<\>").is_match("<>"));
        assert!(re(r"\Qa.b*\E+").is_match("a.b**"));
        assert!(re(r"\Qa.b").is_match("a.b"));
        assert!(re(r"\101\x42\x{43}\0").is_match("ABC\0"));
        assert!(re(r"\a\f\t\n\r\v").is_match("\x07\x0C\t\n\r\x0B"));
        assert!(re(r"\_\#").is_match("_#"));
        assert!(re(r"\p{^Greek}").is_match("a"));
        assert!(!re(r"\P{^Greek}").is_match("a"));
        assert!(re(r"\pL\p{Lu}").is_match("aB"));
        assert!(!re(r"\x{D800}").is_match("a"));
    }

    #[test]
    fn classes_follow_re2() {
        // `]` first is literal; `[` inside is literal; set-operation spellings are literal.
        assert!(re(r"[]a]").is_match("]"));
        assert!(re(r"[^]a]").is_match("b"));
        assert!(re(r"[[a]]").is_match("[]"));
        assert!(!re(r"[[a]]").is_match("a"));
        assert!(re(r"[a&&b]").is_match("&"));
        assert!(re(r"[--a]").is_match("5")); // the range from `-` to `a`
        assert!(!re(r"[--a]").is_match("b"));
        assert!(re(r"[a~~b]").is_match("~"));
        assert!(re(r"[a-]").is_match("-"));
        assert!(re(r"[a-c-e]").is_match("-"));
        assert!(!re(r"[a-c-e]").is_match("d"));
        assert!(re(r"[[:alpha:][:digit:]]+").is_match("a1"));
        assert!(re(r"[[:^alpha:]]").is_match("1"));
        assert!(re(r"[:alpha:]").is_match(":")); // outside brackets: plain characters
        assert!(re(r"[\x{D800}-\x{E000}]").is_match("\u{E000}"));
        assert!(!re(r"[\x{D800}]").is_match("a"));
        assert!(re(r"[^\x{D800}]").is_match("a"));
        assert!(re(r"(?i)[k]").is_match("\u{212A}"));
    }

    #[test]
    fn groups_and_flags() {
        assert!(re(r"(?P<x>a)(?<y>b)").is_match("ab"));
        // Groups keep their numbers and names; a repeated name (accepted by Go) is kept
        // as an unnamed group.
        let caps = re(r"(?P<x>a)(b)(?P<x>c)").captures("abc").unwrap();
        assert_eq!((&caps["x"], &caps[2], &caps[3]), ("a", "b", "c"));
        assert!(re(r"(?i)ab").is_match("AB"));
        assert!(re(r"(?i:a)b").is_match("Ab"));
        assert!(!re(r"(?i:a)b").is_match("AB"));
        assert!(re(r"(?)a").is_match("a"));
        assert!(re(r"(?s-i:.)").is_match("\n"));
        assert!(!re(r"(?-s:.)").is_match("\n"));
        assert!(re(r"(?U)a+").is_match("aa"));
        assert!(re(r"(?m)^a$").is_match("a"));
        // A flag group between an element and its repetition leaves the repetition on it.
        assert!(re(r"a(?i)*b").is_match("aaB"));
        assert!(re(r"^*a").is_match("a"));
    }

    #[test]
    fn go_error_messages() {
        assert_eq!(error("("), "error parsing regexp: missing closing ): `(`");
        assert_eq!(error("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(error("[a"), "error parsing regexp: missing closing ]: `[a`");
        assert_eq!(
            error("a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            error("a{2}{3}"),
            "error parsing regexp: invalid nested repetition operator: `{2}{3}`"
        );
        assert_eq!(
            error("*a"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            error("a|*"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            error("a{1001}"),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert_eq!(
            error("a{2,1}"),
            "error parsing regexp: invalid repeat count: `{2,1}`"
        );
        assert_eq!(
            error("a\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
        assert_eq!(
            error(r"\q"),
            "error parsing regexp: invalid escape sequence: `\\q`"
        );
        assert_eq!(
            error(r"\1"),
            "error parsing regexp: invalid escape sequence: `\\1`"
        );
        assert_eq!(
            error(r"\C"),
            "error parsing regexp: invalid escape sequence: `\\C`"
        );
        assert_eq!(
            error(r"[\b]"),
            "error parsing regexp: invalid escape sequence: `\\b`"
        );
        assert_eq!(
            error("[a--b]"),
            "error parsing regexp: invalid character class range: `a--`"
        );
        assert_eq!(
            error("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            error("[[:foo:]]"),
            "error parsing regexp: invalid character class range: `[:foo:]`"
        );
        assert_eq!(
            error("(?x)a"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"
        );
        assert_eq!(
            error("(?i-)a"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`"
        );
        assert_eq!(
            error("(?P<>a)"),
            "error parsing regexp: invalid named capture: `(?P<>`"
        );
        assert_eq!(
            error(r"\x{110000}"),
            "error parsing regexp: invalid escape sequence: `\\x{110000`"
        );
        assert_eq!(
            error(r"\x{}"),
            "error parsing regexp: invalid escape sequence: `\\x{}`"
        );
        assert_eq!(
            error(r"\xg1"),
            "error parsing regexp: invalid escape sequence: `\\xg1`"
        );
    }
}
