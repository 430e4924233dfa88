//! YAML as Prometheus reads and writes it.
//!
//! Prometheus decodes its configuration with Go's `yaml.v2` in strict mode and its rule
//! files with `yaml.v3`. Matching them takes more than a generic serde mapping:
//!
//! * every error names a line, and an unknown or repeated field is an error;
//! * scrape configs *inline* other structs (the HTTP client settings and every
//!   `*_sd_configs` list share one mapping), which serde's `flatten` cannot combine with
//!   `deny_unknown_fields`;
//! * a present-but-null field is Go's zero value, an absent field keeps its default (a
//!   relabel rule's `regex:` with no value is the empty regex, not `(.*)`);
//! * scalars resolve as YAML 1.1 does in `yaml.v2` (`yes` is a boolean, any scalar may be
//!   read as a string, `0x10` is an integer).
//!
//! So this module parses with `yaml-rust2`'s event parser (maintained, pure Rust, gives the
//! line and column of every event; `serde_yaml` is unmaintained and `serde_yml` is not
//! trustworthy) into a small [`Node`] tree, and the typed configuration is read from that
//! tree by hand ([`decode`]). Writing goes the other way through [`emit`], which follows
//! `yaml.v2`'s output style so that `to_yaml()` reads like `/api/v1/status/config`.
//!
//! Inputs are bounded: nesting depth, the number of nodes after alias expansion (the
//! "billion laughs" document is rejected, as `yaml.v2` rejects it) and, in the callers,
//! the file size.

pub(crate) mod decode;
pub(crate) mod emit;

use std::collections::HashMap;
use std::rc::Rc;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting of sequences and mappings accepted.
pub(crate) const MAX_DEPTH: usize = 128;

/// Most nodes a document may stand for once its aliases are expanded.
pub(crate) const MAX_EXPANDED_NODES: u64 = 1_000_000;

/// A position in the source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    fn from_marker(m: &Marker) -> Pos {
        Pos {
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

/// How a scalar was written. Only plain scalars are resolved to booleans, numbers and
/// null; quoted and block scalars are always strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Quoted,
}

/// One node of a parsed document. Aliases share the anchored node.
#[derive(Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    pub pos: Pos,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Scalar { text: String, style: Style },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

impl Node {
    /// A plain `~`, `null`, `Null`, `NULL` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, style: Style::Plain }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The YAML tag this node resolves to, as `yaml.v2` names it in messages (`!!str`).
    pub fn tag(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "!!seq",
            Kind::Map(_) => "!!map",
            Kind::Scalar { text, style } => match style {
                Style::Quoted => "!!str",
                Style::Plain => match resolve_plain(text) {
                    Resolved::Null => "!!null",
                    Resolved::Bool(_) => "!!bool",
                    Resolved::Int(_) | Resolved::Uint(_) => "!!int",
                    Resolved::Float(_) => "!!float",
                    Resolved::Timestamp => "!!timestamp",
                    Resolved::Str => "!!str",
                },
            },
        }
    }
}

/// What a plain scalar means under `yaml.v2`'s resolution rules (YAML 1.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Timestamp,
    Str,
}

/// Resolves a plain scalar as `yaml.v2`'s `resolve` does.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => match s.parse::<f64>() {
            Ok(f) if go_float_syntax(s) => Resolved::Float(f),
            _ => Resolved::Str,
        },
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = parse_go_int(&plain) {
                return Resolved::Int(i);
            }
            if let Some(u) = parse_go_uint(&plain) {
                return Resolved::Uint(u);
            }
            if is_yaml_float(&plain) {
                if let Ok(f) = plain.parse::<f64>() {
                    return Resolved::Float(f);
                }
            }
            Resolved::Str
        }
        _ => Resolved::Str,
    }
}

/// `strconv.ParseFloat` accepts a subset of what Rust's parser accepts (no `inf` words).
fn go_float_syntax(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b` prefixes, a leading
/// `0` for octal.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_go_uint(rest)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
pub(crate) fn parse_go_uint(s: &str) -> Option<u64> {
    let lower = s.get(..2).map(|p| p.to_ascii_lowercase());
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &s[2..]),
        Some("0o") => (8, &s[2..]),
        Some("0b") => (2, &s[2..]),
        _ if s.len() > 1 && s.starts_with('0') => (8, &s[1..]),
        _ => (10, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Whether `yaml.v2` would read a plain scalar as a timestamp (`2006-01-02`, optionally
/// followed by a time of day).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        s[start..*i].parse().ok()
    };
    let Some(month) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    if !matches!(b[i], b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    for sep in [b':', b':'] {
        if num(&mut i, 2).is_none() || i >= b.len() || b[i] != sep {
            return false;
        }
        i += 1;
    }
    if num(&mut i, 2).is_none() {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    let rest = &s[i..];
    rest.is_empty()
        || rest == "Z"
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':')
}

/// Why a document could not be parsed into a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses the first document of `text` into a tree; `None` for an empty stream.
pub(crate) fn parse(text: &str) -> Result<Option<Rc<Node>>, SyntaxError> {
    // As yaml.v2's reader: C0 control characters other than tab and line breaks, and
    // DEL, are not allowed anywhere.
    if let Some(i) = text
        .bytes()
        .position(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
    {
        let line = text[..i].bytes().filter(|&b| b == b'\n').count() + 1;
        return Err(SyntaxError {
            pos: Pos {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: 0,
            },
            message: "control characters are not allowed".to_string(),
        });
    }
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    loop {
        let (event, mark) = parser.next_token().map_err(|e| SyntaxError {
            pos: Pos::from_marker(e.marker()),
            message: e.info().to_string(),
        })?;
        match builder.push(event, &mark)? {
            Step::More => {}
            Step::Done => break,
        }
    }
    Ok(builder.root)
}

enum Step {
    More,
    Done,
}

/// A sequence or mapping being built.
struct Open {
    pos: Pos,
    anchor: usize,
    seq: bool,
    items: Vec<Rc<Node>>,
    /// Nodes this collection stands for once aliases are expanded.
    weight: u64,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, (Rc<Node>, u64)>,
    root: Option<Rc<Node>>,
    started: bool,
}

impl Builder {
    fn push(&mut self, event: Event, mark: &Marker) -> Result<Step, SyntaxError> {
        let pos = Pos::from_marker(mark);
        match event {
            Event::StreamStart | Event::Nothing => Ok(Step::More),
            Event::StreamEnd | Event::DocumentEnd => Ok(Step::Done),
            Event::DocumentStart => {
                if self.started {
                    return Ok(Step::Done);
                }
                self.started = true;
                Ok(Step::More)
            }
            Event::Alias(id) => {
                let (node, weight) = self.anchors.get(&id).cloned().ok_or(SyntaxError {
                    pos,
                    message: "unknown anchor referenced".to_string(),
                })?;
                self.finish_node(node, weight, 0, pos)
            }
            Event::Scalar(text, style, anchor, tag) => {
                if tag.as_ref().is_some_and(|t| {
                    (t.handle == "!!" || t.handle == "tag:yaml.org,2002:") && t.suffix == "binary"
                }) {
                    return Err(SyntaxError {
                        pos,
                        message: "binary values (!!binary) are not supported".to_string(),
                    });
                }
                let quoted = !matches!(style, TScalarStyle::Plain)
                    || tag.as_ref().is_some_and(|t| {
                        (t.handle == "!!" || t.handle == "tag:yaml.org,2002:") && t.suffix == "str"
                    });
                let node = Rc::new(Node {
                    kind: Kind::Scalar {
                        text,
                        style: if quoted { Style::Quoted } else { Style::Plain },
                    },
                    pos,
                });
                self.finish_node(node, 1, anchor, pos)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        pos,
                        message: format!("exceeded max depth of {MAX_DEPTH}"),
                    });
                }
                self.stack.push(Open {
                    pos,
                    anchor,
                    seq: matches!(event, Event::SequenceStart(..)),
                    items: Vec::new(),
                    weight: 1,
                });
                Ok(Step::More)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let open = self.stack.pop().ok_or(SyntaxError {
                    pos,
                    message: "unbalanced collection end".to_string(),
                })?;
                let kind = if open.seq {
                    Kind::Seq(open.items)
                } else {
                    let mut pairs = Vec::with_capacity(open.items.len() / 2);
                    let mut it = open.items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Kind::Map(pairs)
                };
                let node = Rc::new(Node {
                    kind,
                    pos: open.pos,
                });
                self.finish_node(node, open.weight, open.anchor, open.pos)
            }
        }
    }

    fn finish_node(
        &mut self,
        node: Rc<Node>,
        weight: u64,
        anchor: usize,
        pos: Pos,
    ) -> Result<Step, SyntaxError> {
        if anchor > 0 {
            self.anchors.insert(anchor, (Rc::clone(&node), weight));
        }
        match self.stack.last_mut() {
            Some(parent) => {
                parent.weight = parent.weight.saturating_add(weight);
                if parent.weight > MAX_EXPANDED_NODES {
                    return Err(SyntaxError {
                        pos,
                        message: "document contains excessive aliasing".to_string(),
                    });
                }
                parent.items.push(node);
            }
            None => self.root = Some(node),
        }
        Ok(Step::More)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(n: &Node) -> &str {
        match &n.kind {
            Kind::Scalar { text, .. } => text,
            _ => panic!("not a scalar"),
        }
    }

    #[test]
    fn parses_positions_and_aliases() {
        let doc = "a: &x\n  - 1\n  - two\nb: *x\n";
        let root = parse(doc).unwrap().unwrap();
        let Kind::Map(pairs) = &root.kind else {
            panic!()
        };
        assert_eq!(scalar(&pairs[0].0), "a");
        assert_eq!(pairs[0].0.pos, Pos { line: 1, col: 1 });
        assert_eq!(pairs[1].0.pos.line, 4);
        let Kind::Seq(items) = &pairs[1].1.kind else {
            panic!()
        };
        assert_eq!(scalar(&items[1]), "two");
        assert_eq!(items[1].pos.line, 3);
    }

    #[test]
    fn empty_document_is_none() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn rejects_billion_laughs_and_deep_nesting() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h"];
        let mut prev = "a";
        for n in names {
            doc.push_str(&format!(
                "{n}: &{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = n;
        }
        let err = parse(&doc).unwrap_err();
        assert!(err.message.contains("excessive aliasing"), "{err:?}");

        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn resolves_like_yaml_v2() {
        assert_eq!(resolve_plain("yes"), Resolved::Bool(true));
        assert_eq!(resolve_plain("Off"), Resolved::Bool(false));
        assert_eq!(resolve_plain("0x10"), Resolved::Int(16));
        assert_eq!(resolve_plain("010"), Resolved::Int(8));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("2001-12-14"), Resolved::Timestamp);
        assert_eq!(resolve_plain("15s"), Resolved::Str);
        assert_eq!(resolve_plain("1.2.3.4"), Resolved::Str);
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("-"), Resolved::Str);
        assert_eq!(resolve_plain("+"), Resolved::Str);
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain(".foo"), Resolved::Str);
        assert_eq!(
            resolve_plain("18446744073709551615"),
            Resolved::Uint(u64::MAX)
        );
    }
}
