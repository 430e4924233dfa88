//! Label matchers: the `name="value"`, `name!="value"`, `name=~"regex"` and
//! `name!~"regex"` terms of a PromQL selector.
//!
//! Semantics follow Prometheus (`model/labels/matcher.go`, `regexp.go`):
//!
//! * A label a series does not have is matched as the empty string, so `{env=""}` selects
//!   series without `env`, and `{env!~"prod"}` includes them.
//! * A regex is fully anchored: `=~"foo"` matches only `foo`, not `foobar`. Prometheus
//!   compiles `^(?s:<regex>)$`, so `.` also matches a newline.
//! * Regexes use Go's RE2 syntax. The `re2` submodule rewrites it for the `regex` crate
//!   (which implements the same matching semantics), so that e.g. `\d` stays ASCII-only
//!   and `{id}` stays literal text, as in Prometheus.
//!
//! A regex matcher runs once per distinct label value of an index, which can be millions
//! of values, so [`Matcher::matches`] never allocates and common regex shapes never reach
//! the regex engine: literals and alternations of literals are set look-ups, `foo.*`,
//! `.*foo`, `.*foo.*`, `.+` and their case-insensitive forms are string searches (the
//! `fast` submodule). The analysis also tells an index which exact values a regex can match
//! ([`Matcher::set_matches`]) and a literal prefix of all matches ([`Matcher::prefix`]).

mod fast;
mod re2;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::labels::{is_legacy_label_name, write_go_quoted};

/// The four matching operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }

    /// The operator selecting exactly the values this one rejects.
    pub fn inverse(self) -> MatchOp {
        match self {
            MatchOp::Equal => MatchOp::NotEqual,
            MatchOp::NotEqual => MatchOp::Equal,
            MatchOp::Regex => MatchOp::NotRegex,
            MatchOp::NotRegex => MatchOp::Regex,
        }
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// The regex of a `=~` or `!~` matcher is invalid. `reason` is worded as Go's
    /// `regexp` package words it (`error parsing regexp: missing closing ): ...`).
    #[error("invalid regular expression {regex:?} in matcher for label {name:?}: {reason}")]
    InvalidRegex {
        name: String,
        regex: String,
        reason: String,
    },
}

/// A label matcher: a label name, an operator and a value or regex.
///
/// Cloning is cheap (the compiled regex is shared). Equality and hashing compare the
/// name, operator and value text.
#[derive(Clone)]
pub struct Matcher {
    name: String,
    value: String,
    test: Test,
    /// Whether the matcher accepts the empty string (and so series lacking the label).
    matches_empty: bool,
}

/// The operator, with the compiled regex for the two regex operators.
#[derive(Clone)]
enum Test {
    Equal,
    NotEqual,
    Regex(Arc<CompiledRegex>),
    NotRegex(Arc<CompiledRegex>),
}

/// Compiles a Go (RE2) regular expression, as written, into a `regex::Regex` with the same
/// meaning and the same capture groups (for PromQL's `label_replace`). Nothing is added:
/// a caller that wants Prometheus's anchoring writes `^(?s:<pattern>)$` itself. The error
/// is worded as Go's `regexp` package words it.
pub fn compile_go_regex(pattern: &str) -> Result<regex::Regex, String> {
    let translated = re2::translate(pattern).map_err(|e| e.to_string())?;
    regex::Regex::new(&translated).map_err(|e| match e {
        regex::Error::CompiledTooBig(_) => {
            format!("error parsing regexp: expression too large: `{pattern}`")
        }
        e => format!("error parsing regexp: {e}: `{pattern}`"),
    })
}

/// A compiled, fully anchored regex with its fast paths.
struct CompiledRegex {
    strategy: fast::Strategy,
    set: Option<Box<[String]>>,
    prefix: Option<String>,
}

impl CompiledRegex {
    fn new(pattern: &str) -> Result<CompiledRegex, String> {
        let translated = re2::translate(pattern).map_err(|e| e.to_string())?;
        let go_style = |e: &dyn fmt::Display| format!("error parsing regexp: {e}: `{pattern}`");
        let hir = regex_syntax::ParserBuilder::new()
            .dot_matches_new_line(true)
            .build()
            .parse(&translated)
            .map_err(|e| match e {
                regex_syntax::Error::Parse(e) => go_style(e.kind()),
                regex_syntax::Error::Translate(e) => go_style(e.kind()),
                e => go_style(&e),
            })?;
        let analysis = fast::analyse(&hir, pattern.len(), || {
            regex::Regex::new(&format!("^(?s:{translated})$"))
        })
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                format!("error parsing regexp: expression too large: `{pattern}`")
            }
            e => go_style(&e),
        })?;
        Ok(CompiledRegex {
            strategy: analysis.strategy,
            set: analysis.set,
            prefix: analysis.prefix,
        })
    }
}

impl Matcher {
    /// Builds a matcher; for `=~` and `!~` the value is compiled as an RE2 regex.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Matcher, MatcherError> {
        let name = name.into();
        let value = value.into();
        let test = match op {
            MatchOp::Equal => Test::Equal,
            MatchOp::NotEqual => Test::NotEqual,
            MatchOp::Regex | MatchOp::NotRegex => {
                let re =
                    CompiledRegex::new(&value).map_err(|reason| MatcherError::InvalidRegex {
                        name: name.clone(),
                        regex: value.clone(),
                        reason,
                    })?;
                if op == MatchOp::Regex {
                    Test::Regex(Arc::new(re))
                } else {
                    Test::NotRegex(Arc::new(re))
                }
            }
        };
        let mut m = Matcher {
            name,
            value,
            test,
            matches_empty: false,
        };
        m.matches_empty = m.matches("");
        Ok(m)
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, or the regex as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn op(&self) -> MatchOp {
        match self.test {
            Test::Equal => MatchOp::Equal,
            Test::NotEqual => MatchOp::NotEqual,
            Test::Regex(_) => MatchOp::Regex,
            Test::NotRegex(_) => MatchOp::NotRegex,
        }
    }

    /// Whether a label value matches; pass `""` for a label the series does not have.
    #[inline]
    pub fn matches(&self, value: &str) -> bool {
        match &self.test {
            Test::Equal => value == self.value,
            Test::NotEqual => value != self.value,
            Test::Regex(re) => re.strategy.matches(value),
            Test::NotRegex(re) => !re.strategy.matches(value),
        }
    }

    /// Whether the matcher accepts the empty string, i.e. series lacking the label.
    #[inline]
    pub fn matches_empty(&self) -> bool {
        self.matches_empty
    }

    /// For `=~` and `!~`: every value the regex matches, sorted, when it matches a finite
    /// set of at most 256 strings (`a|b|c`, `foo`, `[ab]x`, `(?i)up`). An index can then
    /// look the values up instead of testing all values. `None` for `=` and `!=`.
    pub fn set_matches(&self) -> Option<&[String]> {
        self.regex()?.set.as_deref()
    }

    /// For `=~` and `!~`: a non-empty literal every string the regex matches starts with
    /// (`foo` for `foo.*`, `foo-\d+` or `foo|foobar`). Case-insensitive prefixes are not
    /// reported. `None` for `=` and `!=`.
    pub fn prefix(&self) -> Option<&str> {
        self.regex()?.prefix.as_deref()
    }

    /// The matcher selecting exactly what this one rejects (`=` ↔ `!=`, `=~` ↔ `!~`),
    /// sharing the compiled regex.
    pub fn inverse(&self) -> Matcher {
        let test = match &self.test {
            Test::Equal => Test::NotEqual,
            Test::NotEqual => Test::Equal,
            Test::Regex(re) => Test::NotRegex(Arc::clone(re)),
            Test::NotRegex(re) => Test::Regex(Arc::clone(re)),
        };
        Matcher {
            name: self.name.clone(),
            value: self.value.clone(),
            test,
            matches_empty: !self.matches_empty,
        }
    }

    fn regex(&self) -> Option<&CompiledRegex> {
        match &self.test {
            Test::Regex(re) | Test::NotRegex(re) => Some(re),
            Test::Equal | Test::NotEqual => None,
        }
    }

    /// Which label values the matcher accepts, in the form cheapest to resolve against an
    /// index. The empty value is left out: no series has a label with an empty value.
    pub(crate) fn accepted_values(&self) -> AcceptedValues<'_> {
        use fast::{Fast, Strategy};
        let (re, positive) = match &self.test {
            Test::Equal if self.value.is_empty() => return AcceptedValues::None,
            Test::Equal => return AcceptedValues::Exact(std::slice::from_ref(&self.value)),
            Test::NotEqual if self.value.is_empty() => return AcceptedValues::All,
            Test::NotEqual => return AcceptedValues::Matching,
            Test::Regex(re) => (re, true),
            Test::NotRegex(re) => (re, false),
        };
        match (&re.strategy, positive) {
            (Strategy::Fast(Fast::Any | Fast::NonEmpty), true) => AcceptedValues::All,
            (Strategy::Fast(Fast::Any | Fast::NonEmpty), false) => AcceptedValues::None,
            (_, true) => match &re.set {
                Some(set) => AcceptedValues::Exact(set),
                None => AcceptedValues::Matching,
            },
            (_, false) => AcceptedValues::Matching,
        }
    }

    #[cfg(test)]
    fn strategy_kind(&self) -> &'static str {
        self.regex().map_or("none", |re| re.strategy.kind())
    }
}

/// The non-empty label values a matcher accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcceptedValues<'a> {
    /// None at all.
    None,
    /// Every value.
    All,
    /// Exactly these values (some may be empty or absent from the index).
    Exact(&'a [String]),
    /// Those for which [`Matcher::matches`] is true.
    Matching,
}

/// Prints as Prometheus does: `job="api"`, `code!~"5.."`, and a name outside
/// `[a-zA-Z_][a-zA-Z0-9_]*` quoted: `"service.name"="x"`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_legacy_label_name(&self.name) {
            f.write_str(&self.name)?;
        } else {
            write_go_quoted(f, &self.name)?;
        }
        f.write_str(self.op().as_str())?;
        write_go_quoted(f, &self.value)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.op() == other.op() && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Hash for Matcher {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.op().hash(state);
        self.name.hash(state);
        self.value.hash(state);
    }
}

#[cfg(test)]
mod tests;
