//! The parser: one pass over the body, entry by entry, keeping only offsets into it.

use std::borrow::Cow;

use crate::{Entry, Format, MetricType, ParseError};

/// A parser over one scrape body. Accessors return slices of the body (`'a`), valid
/// after the `next()` that produced the entry they describe.
pub struct Parser<'a> {
    format: Format,
    body: &'a [u8],
    pos: usize,
    line: usize,
    done: bool,
    series: (usize, usize),
    value: f64,
    timestamp: Option<i64>,
    exemplar: Option<Exemplar<'a>>,
    name_buf: String,
}

/// An OpenMetrics exemplar: `# {trace_id="abc"} 1.0 123.456` after a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar<'a> {
    /// The text between the exemplar's braces, as written.
    raw_labels: &'a [u8],
    /// The exemplar's value.
    pub value: f64,
    /// The exemplar's timestamp in milliseconds, if it has one.
    pub timestamp_ms: Option<i64>,
}

impl<'a> Exemplar<'a> {
    /// Calls `f(name, value)` for each of the exemplar's labels in order, unescaped.
    pub fn labels(&self, _f: impl FnMut(&str, &str)) {}
}

impl<'a> Parser<'a> {
    /// A parser of `body` in `format`.
    pub fn new(format: Format, body: &'a [u8]) -> Parser<'a> {
        Parser {
            format,
            body,
            pos: 0,
            line: 0,
            done: false,
            series: (0, 0),
            value: 0.0,
            timestamp: None,
            exemplar: None,
            name_buf: String::new(),
        }
    }

    /// The next entry; `Ok(None)` at the end of input (OpenMetrics: after `# EOF`; a body
    /// without `# EOF` is an error). After an error the parser is done: further calls
    /// return `Ok(None)`.
    pub fn next(&mut self) -> Result<Option<Entry>, ParseError> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let _ = (self.format, self.pos);
        Err(ParseError::new(1, "not implemented yet".to_string()))
    }

    /// After `Entry::Series`: the series text exactly as in the body (name and label
    /// set, up to the whitespace before the value), the timestamp in milliseconds if the
    /// line has one, and the value.
    pub fn series(&self) -> (&'a [u8], Option<i64>, f64) {
        let (s, e) = self.series;
        (
            self.body.get(s..e).unwrap_or_default(),
            self.timestamp,
            self.value,
        )
    }

    /// After `Entry::Series`: calls `f("__name__", metric name)` and then `f(name, value)`
    /// for each label in exposition order, names and values unescaped.
    pub fn labels(&self, _f: impl FnMut(&str, &str)) {}

    /// After `Entry::Series`: the metric name, unescaped, without parsing the labels.
    pub fn metric_name(&self) -> &str {
        &self.name_buf
    }

    /// After `Entry::Help`: the metric family name and the help text, unescaped.
    pub fn help(&self) -> (&'a str, Cow<'a, str>) {
        ("", Cow::Borrowed(""))
    }

    /// After `Entry::Type`: the metric family name and its type.
    pub fn metric_type(&self) -> (&'a str, MetricType) {
        ("", MetricType::Unknown)
    }

    /// After `Entry::Unit` (OpenMetrics): the metric family name and its unit.
    pub fn unit(&self) -> (&'a str, &'a str) {
        ("", "")
    }

    /// After `Entry::Series` in OpenMetrics: the line's exemplar, if it has one.
    pub fn exemplar(&self) -> Option<Exemplar<'a>> {
        self.exemplar
    }

    /// The 1-based line number of the current entry.
    pub fn line(&self) -> usize {
        self.line
    }
}
