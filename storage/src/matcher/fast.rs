//! Fast paths for fully anchored regexes.
//!
//! Most regexes in real selectors are a handful of shapes: a literal, an alternation of
//! literals (`a|b|c`, what Grafana's multi-value variables produce), a literal with
//! wildcards (`foo.*`, `.*foo`, `.*foo.*`, `.+`), or case-insensitive versions of these
//! (`(?i)foo.*`). Such a regex is a question about literal strings that can be answered
//! with `starts_with`, `find` and comparisons, much faster than any regex engine, and with
//! no allocation. [`analyse`] recognises these shapes in the regex's HIR (the parsed and
//! simplified form from `regex-syntax`) and returns:
//!
//! * a [`Strategy`]: either a [`Fast`] matcher that answers exactly without a regex, or
//!   the regex with a cheap [`Prefilter`] (literal prefix, suffix and inner literals that
//!   every match must contain) run before it;
//! * the finite set of strings the regex matches, when there is one of at most
//!   [`MAX_SET_MATCHES`] strings, so an index can look each value up directly;
//! * the literal prefix every match starts with.
//!
//! The HIR of `(?i)foo` spells each letter as a class of its case-folding orbit (`[Ff]`,
//! and `[Kk\u{212A}]` for `k`, since the Kelvin sign folds to `k`); [`FoldChar`] keeps
//! such an orbit so a case-insensitive literal is matched character by character with the
//! same (simple) case folding the regex engine uses.
//!
//! Wildcards here are `.` in dot-all mode (Prometheus's default, `(?s:...)`): any
//! character. A `.` that excludes `\n` (inside `(?-s:...)`) is left to the regex engine.

use regex_syntax::hir::{self, Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

/// At most this many set matches are reported for index look-ups (Prometheus's
/// `maxSetMatches`).
pub(crate) const MAX_SET_MATCHES: usize = 256;

/// Smallest bound on the strings a finite regex is expanded into for matching.
const MIN_EXPANSION: usize = 4096;

/// The result of analysing a regex.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub strategy: Strategy,
    /// Every string the regex matches, sorted, when that is a non-empty set of at most
    /// [`MAX_SET_MATCHES`].
    pub set: Option<Box<[String]>>,
    /// A non-empty literal every match starts with.
    pub prefix: Option<String>,
}

/// How a regex is evaluated.
#[derive(Debug)]
pub(crate) enum Strategy {
    /// Exactly, without a regex engine.
    Fast(Fast),
    /// With the engine, after a prefilter that rejects most non-matches cheaply.
    Regex {
        pre: Box<Prefilter>,
        re: regex::Regex,
    },
}

/// Analyses the HIR of a pattern (parsed in dot-all mode); `regex` compiles the anchored
/// pattern when no fast path applies. `pattern_len` bounds how far finite alternations are
/// expanded.
pub(crate) fn analyse(
    hir: &Hir,
    pattern_len: usize,
    regex: impl FnOnce() -> Result<regex::Regex, regex::Error>,
) -> Result<Analysis, regex::Error> {
    let hir = strip_anchors(strip_captures(hir));
    let expansion_cap = MIN_EXPANSION.max(pattern_len);
    let set = finite_set(&hir, MAX_SET_MATCHES)
        .map(sorted_unique)
        .filter(|s| !s.is_empty())
        .map(Vec::into_boxed_slice);
    let prefix = literal_prefix(&hir);
    let strategy = match compile(&hir, expansion_cap) {
        Some(fast) => Strategy::Fast(fast),
        None => Strategy::Regex {
            pre: Box::new(Prefilter::from_hir(&hir)),
            re: regex()?,
        },
    };
    Ok(Analysis {
        strategy,
        set,
        prefix,
    })
}

impl Strategy {
    #[inline]
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Strategy::Fast(f) => f.matches(s),
            Strategy::Regex { pre, re } => pre.admits(s) && re.is_match(s),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Normalisation

/// Removes capture groups (irrelevant to matching) and rebuilds with `regex-syntax`'s
/// simplifying constructors, so `(foo)(bar)` becomes the literal `foobar`.
fn strip_captures(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Capture(c) => strip_captures(&c.sub),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(strip_captures).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(strip_captures).collect()),
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(strip_captures(&r.sub)),
        }),
        _ => h.clone(),
    }
}

/// Drops `^`/`\A` at the start and `$`/`\z` at the end (of the whole regex, or of each of
/// its top-level alternatives): the matcher anchors the regex anyway.
fn strip_anchors(h: Hir) -> Hir {
    fn strip_branch(h: &Hir) -> Hir {
        match h.kind() {
            HirKind::Look(Look::Start | Look::End) => Hir::empty(),
            HirKind::Concat(subs) => {
                let mut subs = subs.as_slice();
                while let Some(HirKind::Look(Look::Start)) = subs.first().map(Hir::kind) {
                    subs = &subs[1..];
                }
                while let Some(HirKind::Look(Look::End)) = subs.last().map(Hir::kind) {
                    subs = &subs[..subs.len() - 1];
                }
                Hir::concat(subs.to_vec())
            }
            _ => h.clone(),
        }
    }
    match h.kind() {
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(strip_branch).collect()),
        _ => strip_branch(&h),
    }
}

// ---------------------------------------------------------------------------------------
// Finite sets, literals, case folding

/// Every string `h` matches, if that is a finite set of at most `cap` strings (before
/// de-duplication).
fn finite_set(h: &Hir, cap: usize) -> Option<Vec<String>> {
    match h.kind() {
        HirKind::Empty => Some(vec![String::new()]),
        HirKind::Literal(hir::Literal(bytes)) => {
            Some(vec![String::from_utf8(bytes.to_vec()).ok()?])
        }
        HirKind::Class(Class::Unicode(c)) => {
            let n: usize = c
                .ranges()
                .iter()
                .map(|r| r.end() as usize - r.start() as usize + 1)
                .sum();
            if n > cap {
                return None;
            }
            Some(
                c.ranges()
                    .iter()
                    .flat_map(|r| r.start()..=r.end())
                    .map(String::from)
                    .collect(),
            )
        }
        HirKind::Capture(c) => finite_set(&c.sub, cap),
        HirKind::Concat(subs) => {
            let mut acc = vec![String::new()];
            for sub in subs {
                acc = product(&acc, &finite_set(sub, cap)?, cap)?;
            }
            Some(acc)
        }
        HirKind::Alternation(subs) => {
            let mut acc = Vec::new();
            for sub in subs {
                acc.extend(finite_set(sub, cap)?);
                if acc.len() > cap {
                    return None;
                }
            }
            Some(acc)
        }
        HirKind::Repetition(r) => {
            let max = r.max? as usize;
            if max > cap {
                return None;
            }
            let unit = finite_set(&r.sub, cap)?;
            let mut out = Vec::new();
            let mut power = vec![String::new()];
            for k in 0..=max {
                if k >= r.min as usize {
                    out.extend(power.iter().cloned());
                    if out.len() > cap {
                        return None;
                    }
                }
                if k < max {
                    power = product(&power, &unit, cap)?;
                }
            }
            Some(out)
        }
        _ => None,
    }
}

fn product(a: &[String], b: &[String], cap: usize) -> Option<Vec<String>> {
    if a.len().saturating_mul(b.len()) > cap {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            out.push(format!("{x}{y}"));
        }
    }
    Some(out)
}

fn sorted_unique(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v.dedup();
    v
}

/// The literal that starts every match, if any.
fn literal_prefix(h: &Hir) -> Option<String> {
    let prefix = match h.kind() {
        HirKind::Literal(l) => std::str::from_utf8(&l.0).ok()?.to_string(),
        HirKind::Concat(subs) => return subs.first().and_then(literal_prefix),
        // The longest prefix common to the prefixes of all alternatives.
        HirKind::Alternation(subs) => {
            let mut subs = subs.iter();
            let mut common = literal_prefix(subs.next()?)?;
            for sub in subs {
                let p = literal_prefix(sub)?;
                let mut n = common
                    .bytes()
                    .zip(p.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                while !common.is_char_boundary(n) {
                    n -= 1;
                }
                common.truncate(n);
            }
            common
        }
        _ => return None,
    };
    (!prefix.is_empty()).then_some(prefix)
}

/// One character of a case-insensitive literal: the characters it stands for (a simple
/// case-folding orbit, at most four long, e.g. `k`, `K` and the Kelvin sign `K`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FoldChar {
    chars: [char; 4],
    len: u8,
}

impl FoldChar {
    fn exact(c: char) -> FoldChar {
        FoldChar {
            chars: [c; 4],
            len: 1,
        }
    }

    /// The orbit the class spells, if it is exactly one case-folding orbit.
    fn from_class(cls: &ClassUnicode) -> Option<FoldChar> {
        let first = cls.ranges().first()?.start();
        let mut orbit = ClassUnicode::new([ClassUnicodeRange::new(first, first)]);
        orbit.case_fold_simple();
        if orbit != *cls {
            return None;
        }
        let mut chars = [first; 4];
        let mut len = 0;
        for c in cls.ranges().iter().flat_map(|r| r.start()..=r.end()) {
            *chars.get_mut(len)? = c;
            len += 1;
        }
        Some(FoldChar {
            chars,
            len: len as u8,
        })
    }

    #[inline]
    fn matches(&self, c: char) -> bool {
        self.chars[..self.len as usize].contains(&c)
    }

    fn is_caseless(&self) -> bool {
        self.len == 1
    }
}

/// `h` as a sequence of characters and case-folding orbits, if it is one.
fn folded(h: &Hir) -> Option<Vec<FoldChar>> {
    match h.kind() {
        HirKind::Empty => Some(Vec::new()),
        HirKind::Literal(hir::Literal(bytes)) => Some(
            std::str::from_utf8(bytes)
                .ok()?
                .chars()
                .map(FoldChar::exact)
                .collect(),
        ),
        HirKind::Class(Class::Unicode(c)) => Some(vec![FoldChar::from_class(c)?]),
        HirKind::Concat(subs) => {
            let mut out = Vec::new();
            for sub in subs {
                out.extend(folded(sub)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// A literal to look for: exact, or case-insensitive.
#[derive(Debug, Clone)]
pub(crate) enum Needle {
    Exact(Exact),
    Folded(Box<[FoldChar]>),
}

/// An exact literal with its precomputed substring searcher.
#[derive(Debug, Clone)]
pub(crate) struct Exact {
    text: Box<str>,
    /// Boxed: the searcher is a few hundred bytes.
    finder: Box<memchr::memmem::Finder<'static>>,
}

/// Haystacks shorter than this are searched with a plain scan: for typical label values,
/// a vectorised searcher's set-up costs more than it saves.
const SHORT_HAYSTACK: usize = 64;

impl Exact {
    fn new(text: impl Into<Box<str>>) -> Exact {
        let text = text.into();
        let finder = Box::new(memchr::memmem::Finder::new(text.as_bytes()).into_owned());
        Exact { text, finder }
    }

    /// The offset of the first occurrence in `hay`.
    #[inline]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        let needle = self.text.as_bytes();
        let Some((&first, rest)) = needle.split_first() else {
            return Some(0);
        };
        if hay.len() >= SHORT_HAYSTACK {
            return self.finder.find(hay);
        }
        let last_start = hay.len().checked_sub(needle.len())?;
        // Byte-wise comparison: for short needles a `memcmp` call costs more.
        (0..=last_start)
            .find(|&i| hay[i] == first && rest.iter().zip(&hay[i + 1..]).all(|(a, b)| a == b))
    }
}

impl Needle {
    fn from_folded(f: Vec<FoldChar>) -> Needle {
        if f.iter().all(FoldChar::is_caseless) {
            Needle::Exact(Exact::new(f.iter().map(|c| c.chars[0]).collect::<String>()))
        } else {
            Needle::Folded(f.into())
        }
    }

    /// Bytes of `s` this needle matches at its start.
    #[inline]
    fn prefix_len(&self, s: &str) -> Option<usize> {
        match self {
            Needle::Exact(n) => s.starts_with(&*n.text).then_some(n.text.len()),
            Needle::Folded(f) => {
                let mut chars = s.chars();
                let mut len = 0;
                for fc in f.iter() {
                    let c = chars.next()?;
                    if !fc.matches(c) {
                        return None;
                    }
                    len += c.len_utf8();
                }
                Some(len)
            }
        }
    }

    /// Bytes of `s` this needle matches at its end.
    #[inline]
    fn suffix_len(&self, s: &str) -> Option<usize> {
        match self {
            Needle::Exact(n) => s.ends_with(&*n.text).then_some(n.text.len()),
            Needle::Folded(f) => {
                let mut chars = s.chars().rev();
                let mut len = 0;
                for fc in f.iter().rev() {
                    let c = chars.next()?;
                    if !fc.matches(c) {
                        return None;
                    }
                    len += c.len_utf8();
                }
                Some(len)
            }
        }
    }

    /// The byte offset just past the first occurrence in `s`.
    #[inline]
    fn first_end(&self, s: &str) -> Option<usize> {
        match self {
            Needle::Exact(n) => n.find(s.as_bytes()).map(|at| at + n.text.len()),
            Needle::Folded(f) => {
                let Some(first) = f.first() else {
                    return Some(0);
                };
                let mut from = 0;
                while let Some(at) = s[from..].find(|c| first.matches(c)) {
                    let at = from + at;
                    if let Some(n) = self.prefix_len(&s[at..]) {
                        return Some(at + n);
                    }
                    from = at + s[at..].chars().next().map_or(1, char::len_utf8);
                }
                None
            }
        }
    }

    #[inline]
    fn equals(&self, s: &str) -> bool {
        match self {
            Needle::Exact(n) => *n.text == *s,
            Needle::Folded(_) => self.prefix_len(s) == Some(s.len()),
        }
    }
}

/// Alternative needles, any of which may match at a place.
type Piece = Box<[Needle]>;

/// The alternatives of `h` as needles, if it is a finite set of literals (some of them
/// possibly case-insensitive), expanding at most `cap` strings.
fn piece(h: &Hir, cap: usize) -> Option<Vec<Needle>> {
    if let Some(f) = folded(h) {
        if !f.iter().all(FoldChar::is_caseless) {
            return Some(vec![Needle::Folded(f.into())]);
        }
    }
    if let HirKind::Alternation(subs) = h.kind() {
        let mut out = Vec::new();
        for sub in subs {
            out.extend(piece(sub, cap)?);
            if out.len() > cap {
                return None;
            }
        }
        return Some(out);
    }
    let set = sorted_unique(finite_set(h, cap)?);
    Some(
        set.into_iter()
            .map(|s| Needle::Exact(Exact::new(s)))
            .collect(),
    )
}

fn shortest_prefix(p: &[Needle], s: &str) -> Option<usize> {
    p.iter().filter_map(|n| n.prefix_len(s)).min()
}

fn shortest_suffix(p: &[Needle], s: &str) -> Option<usize> {
    p.iter().filter_map(|n| n.suffix_len(s)).min()
}

fn earliest_end(p: &[Needle], s: &str) -> Option<usize> {
    p.iter().filter_map(|n| n.first_end(s)).min()
}

// ---------------------------------------------------------------------------------------
// Fast matchers

/// A matcher that answers exactly, without a regex engine.
#[derive(Debug)]
pub(crate) enum Fast {
    /// `.*`: every string.
    Any,
    /// `.+`: every non-empty string.
    NonEmpty,
    /// Equality with one of a set of strings (`foo`, `a|b|c`, `[ab]c`).
    Set(StrSet),
    /// Equality with one of these needles, some of them case-insensitive (`(?i)foo`).
    Folded(Piece),
    /// Literals separated by wildcards (`foo.*`, `.*foo`, `.*foo.*bar.+`).
    Glob(Glob),
    /// Any of these (`foo.*|.*bar`).
    Or(Box<[Fast]>),
}

impl Fast {
    #[inline]
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Fast::Any => true,
            Fast::NonEmpty => !s.is_empty(),
            Fast::Set(set) => set.contains(s),
            Fast::Folded(p) => p.iter().any(|n| n.equals(s)),
            Fast::Glob(g) => g.matches(s),
            Fast::Or(alts) => alts.iter().any(|f| f.matches(s)),
        }
    }
}

/// If `h` is `.*`, `.+` or `.{n,}` (dot-all), the minimum number of characters.
fn gap(h: &Hir) -> Option<u32> {
    let HirKind::Repetition(r) = h.kind() else {
        return None;
    };
    let HirKind::Class(Class::Unicode(c)) = r.sub.kind() else {
        return None;
    };
    let any = c.ranges() == [ClassUnicodeRange::new('\0', char::MAX)];
    (any && r.max.is_none()).then_some(r.min)
}

/// A fast matcher for `h`, if it has one of the recognised shapes.
fn compile(h: &Hir, cap: usize) -> Option<Fast> {
    if let Some(min) = gap(h) {
        return Some(match min {
            0 => Fast::Any,
            1 => Fast::NonEmpty,
            _ => Fast::Glob(Glob {
                head: None,
                middle: Box::new([]),
                last_gap: min,
                tail: None,
            }),
        });
    }
    if let Some(p) = piece(h, cap) {
        return Some(equality(p));
    }
    match h.kind() {
        HirKind::Concat(subs) => Glob::new(subs, cap).map(Fast::Glob),
        HirKind::Alternation(subs) => {
            // Literal alternatives form one set; the others must be fast themselves.
            let mut lits = Vec::new();
            let mut others = Vec::new();
            for sub in subs {
                match piece(sub, cap) {
                    Some(p) if lits.len() + p.len() <= cap => lits.extend(p),
                    _ => others.push(compile(sub, cap)?),
                }
            }
            if !lits.is_empty() {
                others.insert(0, equality(lits));
            }
            Some(Fast::Or(others.into()))
        }
        _ => None,
    }
}

/// Equality with any of the needles.
fn equality(p: Vec<Needle>) -> Fast {
    if p.iter().all(|n| matches!(n, Needle::Exact(_))) {
        let strings = p.into_iter().filter_map(|n| match n {
            Needle::Exact(e) => Some(e.text),
            Needle::Folded(_) => None,
        });
        Fast::Set(StrSet::new(strings))
    } else {
        Fast::Folded(p.into())
    }
}

/// A sorted set of strings with a length filter.
#[derive(Debug)]
pub(crate) struct StrSet {
    items: Box<[Box<str>]>,
    /// Bit `min(len, 63)` is set for the length of every item.
    lengths: u64,
}

impl StrSet {
    fn new(items: impl IntoIterator<Item = Box<str>>) -> StrSet {
        let mut items: Vec<Box<str>> = items.into_iter().collect();
        items.sort_unstable();
        items.dedup();
        let lengths = items.iter().fold(0, |m, s| m | length_bit(s));
        StrSet {
            items: items.into(),
            lengths,
        }
    }

    #[inline]
    fn contains(&self, s: &str) -> bool {
        if self.lengths & length_bit(s) == 0 {
            return false;
        }
        if self.items.len() <= 8 {
            self.items.iter().any(|x| **x == *s)
        } else {
            self.items.binary_search_by(|x| (**x).cmp(s)).is_ok()
        }
    }
}

#[inline]
fn length_bit(s: &str) -> u64 {
    1 << s.len().min(63)
}

/// Literal pieces separated by dot-all wildcards:
/// `head? (.{g0,} middle0) (.{g1,} middle1) ... .{last_gap,} tail?`.
///
/// Matching places each piece as early as possible: with unbounded wildcards between
/// them, the earliest end of a piece leaves the most room for the rest, so the greedy
/// placement finds a match whenever one exists.
#[derive(Debug)]
pub(crate) struct Glob {
    /// Anchored at the start.
    head: Option<Piece>,
    /// Each with the minimum number of characters before it.
    middle: Box<[(u32, Piece)]>,
    /// Minimum number of characters after the last middle piece.
    last_gap: u32,
    /// Anchored at the end.
    tail: Option<Piece>,
}

enum Token {
    Gap(u32),
    Lit(Vec<Needle>),
}

impl Glob {
    fn new(subs: &[Hir], cap: usize) -> Option<Glob> {
        let mut tokens: Vec<Token> = Vec::new();
        let mut run: Vec<Hir> = Vec::new();
        let flush = |run: &mut Vec<Hir>, tokens: &mut Vec<Token>| -> Option<()> {
            if !run.is_empty() {
                let lit = piece(&Hir::concat(std::mem::take(run)), cap)?;
                tokens.push(Token::Lit(lit));
            }
            Some(())
        };
        for sub in subs {
            if let Some(min) = gap(sub) {
                flush(&mut run, &mut tokens)?;
                match tokens.last_mut() {
                    Some(Token::Gap(g)) => *g = g.saturating_add(min),
                    _ => tokens.push(Token::Gap(min)),
                }
            } else {
                run.push(sub.clone());
            }
        }
        flush(&mut run, &mut tokens)?;
        if !tokens.iter().any(|t| matches!(t, Token::Gap(_))) {
            return None;
        }
        let mut tokens = tokens.into_iter().peekable();
        let head = match tokens.next_if(|t| matches!(t, Token::Lit(_))) {
            Some(Token::Lit(p)) => Some(p.into_boxed_slice()),
            _ => None,
        };
        let mut rest: Vec<Token> = tokens.collect();
        let tail = match rest.last() {
            Some(Token::Lit(_)) => match rest.pop() {
                Some(Token::Lit(p)) => Some(p.into_boxed_slice()),
                _ => None,
            },
            _ => None,
        };
        // `rest` now alternates Gap, Lit, Gap, ..., Gap.
        let mut middle = Vec::new();
        let mut pending_gap = 0;
        for t in rest {
            match t {
                Token::Gap(g) => pending_gap = g,
                Token::Lit(p) => middle.push((pending_gap, p.into_boxed_slice())),
            }
        }
        Some(Glob {
            head,
            middle: middle.into(),
            last_gap: pending_gap,
            tail,
        })
    }

    fn matches(&self, s: &str) -> bool {
        let mut start = 0;
        if let Some(head) = &self.head {
            match shortest_prefix(head, s) {
                Some(n) => start = n,
                None => return false,
            }
        }
        let mut end = s.len();
        if let Some(tail) = &self.tail {
            match shortest_suffix(tail, &s[start..]) {
                Some(n) => end -= n,
                None => return false,
            }
        }
        let mut pos = start;
        for (gap, piece) in self.middle.iter() {
            let Some(p) = skip_chars(s, pos, end, *gap) else {
                return false;
            };
            match earliest_end(piece, &s[p..end]) {
                Some(n) => pos = p + n,
                None => return false,
            }
        }
        skip_chars(s, pos, end, self.last_gap).is_some()
    }
}

/// The offset `n` characters after `pos`, if that is not past `end`.
#[inline]
fn skip_chars(s: &str, pos: usize, end: usize, n: u32) -> Option<usize> {
    if n == 0 {
        return Some(pos);
    }
    let mut chars = s[pos..end].char_indices();
    for _ in 1..n {
        chars.next()?;
    }
    chars.next().map(|(i, c)| pos + i + c.len_utf8())
}

// ---------------------------------------------------------------------------------------
// Prefilter for the regex engine

/// Literals every match must have, checked before running the regex engine: a leading
/// literal (possibly case-insensitive), a trailing one, and inner literals in order.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    prefix: Option<Needle>,
    suffix: Option<Needle>,
    contains: Box<[Exact]>,
}

impl Prefilter {
    fn from_hir(h: &Hir) -> Prefilter {
        let HirKind::Concat(subs) = h.kind() else {
            return Prefilter::default();
        };
        // The longest leading and trailing runs of literal characters or orbits.
        let lead = subs.iter().take_while(|s| folded(s).is_some()).count();
        let trail = subs[lead..]
            .iter()
            .rev()
            .take_while(|s| folded(s).is_some())
            .count();
        let needle = |run: &[Hir]| -> Option<Needle> {
            let f: Vec<FoldChar> = run.iter().filter_map(folded).flatten().collect();
            (!f.is_empty()).then(|| Needle::from_folded(f))
        };
        let inner = &subs[lead..subs.len() - trail];
        let contains = inner
            .iter()
            .filter_map(|s| match s.kind() {
                HirKind::Literal(hir::Literal(b)) => std::str::from_utf8(b).ok().map(Exact::new),
                _ => None,
            })
            .collect();
        Prefilter {
            prefix: needle(&subs[..lead]),
            suffix: needle(&subs[subs.len() - trail..]),
            contains,
        }
    }

    /// False only for strings the regex cannot match.
    #[inline]
    fn admits(&self, s: &str) -> bool {
        let mut start = 0;
        if let Some(p) = &self.prefix {
            match p.prefix_len(s) {
                Some(n) => start = n,
                None => return false,
            }
        }
        let mut end = s.len();
        if let Some(x) = &self.suffix {
            match x.suffix_len(&s[start..]) {
                Some(n) => end -= n,
                None => return false,
            }
        }
        let mut pos = start;
        for lit in self.contains.iter() {
            match lit.find(&s.as_bytes()[pos..end]) {
                Some(at) => pos += at + lit.text.len(),
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
impl Strategy {
    /// A short name of the strategy, for tests that check a fast path is taken.
    pub fn kind(&self) -> &'static str {
        match self {
            Strategy::Fast(Fast::Any) => "any",
            Strategy::Fast(Fast::NonEmpty) => "non-empty",
            Strategy::Fast(Fast::Set(_)) => "set",
            Strategy::Fast(Fast::Folded(_)) => "folded",
            Strategy::Fast(Fast::Glob(_)) => "glob",
            Strategy::Fast(Fast::Or(_)) => "or",
            Strategy::Regex { pre, .. }
                if pre.prefix.is_some() || pre.suffix.is_some() || !pre.contains.is_empty() =>
            {
                "prefiltered regex"
            }
            Strategy::Regex { .. } => "regex",
        }
    }
}
