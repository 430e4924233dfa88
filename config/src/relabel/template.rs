//! Replacement templates (`$1`, `${1}`, `$name`, `${name}`), expanded as Go's
//! `regexp.Expand` does, parsed once when a relabel rule is compiled.
//!
//! Go's rules: `$$` is a literal `$`; a name is the longest run of letters, digits and
//! `_` after the `$` (so `$1x` means the group named `1x`, not group 1 then `x`); a name
//! of digits only (without a leading zero) is a group number; a reference to a group that
//! does not exist or did not take part in the match expands to nothing; a `$` not
//! followed by a valid name (`$-`, `${x`) is kept as text.

use regex::{CaptureLocations, Regex};

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    /// A capture group, or `None` for a reference that can never match (an unknown name
    /// or a number past the last group).
    Group(Option<usize>),
}

/// A compiled replacement template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
    /// The template text when it holds no `$` at all (expansion is the text itself).
    literal: Option<String>,
}

impl Template {
    /// Parses `template` against the groups of `regex` (`None` compiles against the
    /// default `(.*)`: group 1 only).
    pub fn new(template: &str, regex: Option<&Regex>) -> Template {
        if !template.contains('$') {
            return Template {
                pieces: Vec::new(),
                literal: Some(template.to_string()),
            };
        }
        let group_count = regex.map_or(2, |r| r.captures_len());
        let resolve_name = |name: &str| -> Option<usize> {
            regex.and_then(|r| r.capture_names().position(|n| n == Some(name)))
        };
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = template;
        while let Some(i) = rest.find('$') {
            lit.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(after) = rest.strip_prefix('$') {
                lit.push('$');
                rest = after;
                continue;
            }
            match extract(rest) {
                Some((name, num, after)) => {
                    if !lit.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                    }
                    let group = match num {
                        Some(n) => (n < group_count).then_some(n),
                        None => resolve_name(name),
                    };
                    pieces.push(Piece::Group(group));
                    rest = after;
                }
                None => lit.push('$'),
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        Template {
            pieces,
            literal: None,
        }
    }

    /// Whether expansion needs the capture positions.
    pub fn uses_groups(&self) -> bool {
        self.literal.is_none()
    }

    /// Appends the expansion for a match of `haystack` to `out`; `locs` holds the capture
    /// positions (`None`: the match is the default `(.*)` over the whole haystack).
    pub fn expand_into(&self, haystack: &str, locs: Option<&CaptureLocations>, out: &mut String) {
        if let Some(l) = &self.literal {
            out.push_str(l);
            return;
        }
        for p in &self.pieces {
            match p {
                Piece::Literal(s) => out.push_str(s),
                Piece::Group(Some(g)) => match locs {
                    Some(locs) => {
                        if let Some((a, b)) = locs.get(*g) {
                            out.push_str(&haystack[a..b]);
                        }
                    }
                    None => {
                        if *g <= 1 {
                            out.push_str(haystack);
                        }
                    }
                },
                Piece::Group(None) => {}
            }
        }
    }
}

/// Go's `extract`: the name after a `$` (braced or not), whether it is a group number,
/// and the rest of the template.
fn extract(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let mut rest = &body[end..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                num = Some(n * 10 + usize::from(b - b'0'));
            }
            _ => {
                num = None;
                break;
            }
        }
    }
    if name.len() > 1 && name.starts_with('0') {
        num = None;
    }
    Some((name, num, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(template: &str, re: &str, hay: &str) -> String {
        let regex = Regex::new(&format!("^(?s:{re})$")).unwrap();
        let mut locs = regex.capture_locations();
        assert!(regex.captures_read(&mut locs, hay).is_some());
        let t = Template::new(template, Some(&regex));
        let mut out = String::new();
        t.expand_into(hay, Some(&locs), &mut out);
        out
    }

    #[test]
    fn expands_like_go_regexp_expand() {
        assert_eq!(expand("ch${1}-ch${1}", "f(.*)", "foo"), "choo-choo");
        assert_eq!(
            expand("$1$2$2$3", "(b).*b(.*)ba(.*)", "baz;boobam"),
            "boooom"
        );
        // `$1x` names the group `1x`, which does not exist.
        assert_eq!(expand("$1x", "(a)", "a"), "");
        assert_eq!(expand("${1}x", "(a)", "a"), "ax");
        assert_eq!(expand("$$1", "(a)", "a"), "$1");
        assert_eq!(expand("$", "(a)", "a"), "$");
        assert_eq!(expand("${1", "(a)", "a"), "${1");
        assert_eq!(expand("a$-b", "(a)", "a"), "a$-b");
        assert_eq!(expand("$3", "(a)", "a"), "");
        assert_eq!(expand("$01", "(a)", "a"), "");
        assert_eq!(
            expand(
                "val_${second}",
                "(line1).*(?P<second>line2)",
                "line1\nline2"
            ),
            "val_line2"
        );
        assert_eq!(
            expand("val_$second", "(line1).*(?P<second>line2)", "line1\nline2"),
            "val_line2"
        );
        assert_eq!(expand("$0", "f(.*)", "foo"), "foo");
        assert_eq!(expand("[$2]", "(a)|(b)", "a"), "[]");
    }
}
