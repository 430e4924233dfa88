//! The parser: one pass over the body, entry by entry, keeping only offsets into it.
//! Its control flow follows Prometheus's `PromParser` and `OpenMetricsParser` so that
//! the same input is accepted or refused with the same message.

use std::borrow::Cow;
use std::cell::Cell;

use crate::gofmt::{self, quote, FloatBuf, NumError};
use crate::labels::{unescape, walk};
use crate::lexer::{Lexer, Tok};
use crate::{Entry, Format, MetricType, ParseError};

/// A parser over one scrape body. Accessors return slices of the body (`'a`) and
/// describe the entry the last `next()` returned.
pub struct Parser<'a> {
    lex: Lexer<'a>,
    om: bool,
    done: bool,
    /// Where the current entry began (Prometheus's `p.start`), for messages.
    start: usize,
    /// The metric name span (quotes stripped, escapes kept).
    name: Option<(usize, usize)>,
    /// The unescaped metric name when the name has escapes.
    name_buf: String,
    name_escaped: bool,
    /// The bytes between `{` and `}` of the series, empty without braces.
    label_set: (usize, usize),
    series: (usize, usize),
    value: f64,
    timestamp: Option<i64>,
    /// HELP, TYPE and UNIT text, comment text.
    text: (usize, usize),
    mtype: MetricType,
    exemplar: Option<Exemplar<'a>>,
    /// (byte offset, line number at it): line numbers are counted lazily.
    line_cache: Cell<(usize, usize)>,
}

/// The most characters an exemplar's label names and values may have together
/// (OpenMetrics 1.0; Prometheus's `exemplar.ExemplarMaxLabelSetLength`).
pub const EXEMPLAR_MAX_LABEL_SET_LENGTH: usize = 128;

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
    pub fn labels(&self, mut f: impl FnMut(&str, &str)) {
        walk(
            self.raw_labels,
            |_| {},
            |n, v| {
                if let (Ok(n), Ok(v)) = (std::str::from_utf8(n), std::str::from_utf8(v)) {
                    f(&unescape(n, true), &unescape(v, true));
                }
            },
        );
    }

    /// The combined length of the label names and values in characters, which
    /// OpenMetrics limits to [`EXEMPLAR_MAX_LABEL_SET_LENGTH`]. Prometheus checks the
    /// limit when it stores the exemplar (dropping that exemplar only), not when it
    /// parses, so the parser leaves it to the caller.
    pub fn label_set_length(&self) -> usize {
        let mut n = 0;
        self.labels(|name, value| n += name.chars().count() + value.chars().count());
        n
    }

    /// The exemplar's label set as written between the braces.
    pub fn raw_labels(&self) -> &'a [u8] {
        self.raw_labels
    }
}

impl<'a> Parser<'a> {
    /// A parser of `body` in `format`.
    pub fn new(format: Format, body: &'a [u8]) -> Parser<'a> {
        let om = format == Format::OpenMetrics;
        Parser {
            lex: Lexer::new(body, om),
            om,
            done: false,
            start: 0,
            name: None,
            name_buf: String::new(),
            name_escaped: false,
            label_set: (0, 0),
            series: (0, 0),
            value: 0.0,
            timestamp: None,
            text: (0, 0),
            mtype: MetricType::Unknown,
            exemplar: None,
            line_cache: Cell::new((0, 1)),
        }
    }

    /// The next entry; `Ok(None)` at the end of input (OpenMetrics: after `# EOF`; a body
    /// without `# EOF` is an error, as in Prometheus). After an error the parser is done:
    /// further calls return `Ok(None)`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Entry>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let r = if self.om {
            self.next_om()
        } else {
            self.next_prom()
        };
        match r {
            Ok(Some(e)) => Ok(Some(e)),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(msg) => {
                self.done = true;
                Err(ParseError::new(self.line_at(self.start), msg))
            }
        }
    }

    /// After `Entry::Series`: the series text exactly as in the body (name and label
    /// set, up to the whitespace before the value), the timestamp in milliseconds if the
    /// line has one, and the value.
    pub fn series(&self) -> (&'a [u8], Option<i64>, f64) {
        let (s, e) = self.series;
        (self.slice(s, e), self.timestamp, self.value)
    }

    /// After `Entry::Series`: calls `f("__name__", metric name)` and then `f(name, value)`
    /// for each label in exposition order, names and values unescaped. The values of
    /// `le` (histograms) and `quantile` (summaries) are normalised to OpenMetrics float
    /// form (`1` → `1.0`) as Prometheus 3 does. Allocates only for escaped text.
    pub fn labels(&self, mut f: impl FnMut(&str, &str)) {
        f("__name__", self.metric_name());
        let (s, e) = self.label_set;
        let mtype = self.mtype;
        walk(
            self.slice(s, e),
            |_| {},
            |n, v| {
                // Names and values were checked to be UTF-8 by `next`.
                let (Ok(n), Ok(v)) = (std::str::from_utf8(n), std::str::from_utf8(v)) else {
                    return;
                };
                let n = unescape(n, true);
                let v = unescape(v, true);
                let normalise = (mtype == MetricType::Histogram && n == "le")
                    || (mtype == MetricType::Summary && n == "quantile");
                if normalise {
                    if let Ok(x) = v.parse::<f64>() {
                        let mut buf = FloatBuf::new();
                        gofmt::format_openmetrics_float(x, &mut buf);
                        return f(&n, buf.as_str());
                    }
                }
                f(&n, &v);
            },
        );
    }

    /// After `Entry::Series`: the metric name, unescaped, without parsing the labels.
    pub fn metric_name(&self) -> &str {
        if self.name_escaped {
            return &self.name_buf;
        }
        let (s, e) = self.name.unwrap_or((0, 0));
        std::str::from_utf8(self.slice(s, e)).unwrap_or("")
    }

    /// After `Entry::Help`: the metric family name as written (quotes stripped) and the
    /// help text, unescaped (`\\`, `\n`; in OpenMetrics also `\"`).
    pub fn help(&self) -> (&'a str, Cow<'a, str>) {
        let text = self.text_str();
        (self.meta_name(), unescape(text, self.om))
    }

    /// After `Entry::Type`: the metric family name as written and its type.
    pub fn metric_type(&self) -> (&'a str, MetricType) {
        (self.meta_name(), self.mtype)
    }

    /// After `Entry::Unit` (OpenMetrics): the metric family name and its unit.
    pub fn unit(&self) -> (&'a str, &'a str) {
        (self.meta_name(), self.text_str())
    }

    /// After `Entry::Comment`: the comment line (text format only).
    pub fn comment(&self) -> &'a [u8] {
        self.slice(self.text.0, self.text.1)
    }

    /// After `Entry::Series` in OpenMetrics: the line's exemplar, if it has one.
    pub fn exemplar(&self) -> Option<Exemplar<'a>> {
        self.exemplar
    }

    /// The 1-based line number of the current entry.
    pub fn line(&self) -> usize {
        self.line_at(self.start)
    }

    fn line_at(&self, pos: usize) -> usize {
        let b = self.lex.b;
        let pos = pos.min(b.len());
        let (mut from, mut line) = self.line_cache.get();
        if pos < from {
            (from, line) = (0, 1);
        }
        line += memchr::memchr_iter(b'\n', &b[from..pos]).count();
        self.line_cache.set((pos, line));
        line
    }

    fn slice(&self, s: usize, e: usize) -> &'a [u8] {
        let b = self.lex.b;
        b.get(s..e.min(b.len())).unwrap_or_default()
    }

    fn meta_name(&self) -> &'a str {
        let (s, e) = self.name.unwrap_or((0, 0));
        std::str::from_utf8(self.slice(s, e)).unwrap_or("")
    }

    fn text_str(&self) -> &'a str {
        std::str::from_utf8(self.slice(self.text.0, self.text.1)).unwrap_or("")
    }

    /// Input bytes `s..e` for a message, with the text format's virtual final newline.
    fn msg_bytes(&self, s: usize, e: usize) -> Cow<'a, [u8]> {
        let b = self.lex.b;
        let e = e.min(self.lex.vlen);
        let s = s.min(e);
        if e <= b.len() {
            Cow::Borrowed(&b[s..e])
        } else {
            let mut v = b[s.min(b.len())..].to_vec();
            v.push(b'\n');
            Cow::Owned(v)
        }
    }

    /// Prometheus's `parseError`: what was expected, the token found (with one byte of
    /// look-ahead) and the entry so far.
    fn parse_error(&self, expected: &str, got: Tok) -> String {
        let e = self.lex.i + 1;
        format!(
            "{expected}, got {} ({}) while parsing: {}",
            quote(&self.msg_bytes(self.lex.start, e)),
            quote(got.name().as_bytes()),
            quote(&self.msg_bytes(self.start, e))
        )
    }

    fn while_parsing(&self, err: NumError<'_>) -> String {
        format!(
            "{err} while parsing: {}",
            quote(&self.msg_bytes(self.start, self.lex.i))
        )
    }

    fn next_token(&mut self) -> Tok {
        loop {
            let t = self.lex.lex();
            if t != Tok::Whitespace {
                return t;
            }
        }
    }

    fn reset_entry(&mut self) {
        self.start = self.lex.i;
        self.name = None;
        self.name_escaped = false;
        self.label_set = (0, 0);
        self.exemplar = None;
        self.timestamp = None;
    }

    /// The metric name of a HELP/TYPE/UNIT line, quotes stripped.
    fn meta_name_token(&mut self, kw: Tok, t: Tok) -> Result<(), String> {
        if t != Tok::MName {
            return Err(self.parse_error(&format!("expected metric name after {}", kw.name()), t));
        }
        let (mut s, mut e) = (self.lex.start, self.lex.i.min(self.lex.b.len()));
        let b = self.lex.b;
        if e > s + 1 && b[s] == b'"' && b[e - 1] == b'"' {
            s += 1;
            e -= 1;
        }
        if std::str::from_utf8(&b[s..e]).is_err() {
            return Err(format!("invalid UTF-8 metric name: {}", quote(&b[s..e])));
        }
        self.name = Some((s, e));
        Ok(())
    }

    fn set_type(&mut self, text: &[u8]) -> Result<(), String> {
        self.mtype = match (text, self.om) {
            (b"counter", _) => MetricType::Counter,
            (b"gauge", _) => MetricType::Gauge,
            (b"histogram", _) => MetricType::Histogram,
            (b"summary", _) => MetricType::Summary,
            (b"untyped", false) | (b"unknown", true) => MetricType::Unknown,
            (b"gaugehistogram", true) => MetricType::GaugeHistogram,
            (b"info", true) => MetricType::Info,
            (b"stateset", true) => MetricType::StateSet,
            _ => return Err(format!("invalid metric type {}", quote(text))),
        };
        Ok(())
    }

    fn check_help(&self) -> Result<(), String> {
        let text = self.slice(self.text.0, self.text.1);
        if std::str::from_utf8(text).is_err() {
            return Err(format!(
                "help text {} is not a valid utf8 string",
                quote(text)
            ));
        }
        Ok(())
    }

    fn next_prom(&mut self) -> Result<Option<Entry>, String> {
        loop {
            self.reset_entry();
            let t = self.next_token();
            match t {
                Tok::Eof => return Ok(None),
                Tok::Linebreak => continue,
                Tok::Help | Tok::Type => {
                    let t2 = self.next_token();
                    self.meta_name_token(t, t2)?;
                    let t3 = self.next_token();
                    if t3 != Tok::Text {
                        return Err(format!("expected text in {}, got {}", t.name(), t3.name()));
                    }
                    let (s, e) = (self.lex.start, self.lex.i.min(self.lex.b.len()));
                    self.text = if e > s + 1 { (s + 1, e) } else { (e, e) };
                    if t == Tok::Type {
                        let text = self.slice(self.text.0, self.text.1);
                        self.set_type(text)?;
                    } else {
                        self.check_help()?;
                    }
                    let t4 = self.next_token();
                    if t4 != Tok::Linebreak {
                        return Err(self.parse_error("linebreak expected after metadata", t4));
                    }
                    return Ok(Some(if t == Tok::Help {
                        Entry::Help
                    } else {
                        Entry::Type
                    }));
                }
                Tok::Comment => {
                    self.text = (self.lex.start, self.lex.i.min(self.lex.b.len()));
                    let t2 = self.next_token();
                    if t2 != Tok::Linebreak {
                        return Err(self.parse_error("linebreak expected after comment", t2));
                    }
                    return Ok(Some(Entry::Comment));
                }
                Tok::BraceOpen => {
                    let series_start = self.lex.start;
                    self.parse_label_set(false)?;
                    self.series = (series_start, self.lex.i);
                    let t2 = self.next_token();
                    return self.prom_suffix(t2);
                }
                Tok::MName => {
                    self.name = Some((self.lex.start, self.lex.i));
                    self.series = (self.lex.start, self.lex.i);
                    let mut t2 = self.next_token();
                    if t2 == Tok::BraceOpen {
                        self.parse_label_set(false)?;
                        self.series.1 = self.lex.i;
                        t2 = self.next_token();
                    }
                    return self.prom_suffix(t2);
                }
                _ => return Err(self.parse_error("expected a valid start token", t)),
            }
        }
    }

    /// Value and optional timestamp of a text-format sample line.
    fn prom_suffix(&mut self, t: Tok) -> Result<Option<Entry>, String> {
        self.check_name()?;
        if t != Tok::Value {
            return Err(self.parse_error("expected value after metric", t));
        }
        self.value = self.float_token(self.lex.buf())?;
        match self.next_token() {
            Tok::Linebreak => {}
            Tok::Timestamp => {
                let ts = gofmt::parse_int(self.lex.buf()).map_err(|e| self.while_parsing(e))?;
                self.timestamp = Some(ts);
                let t2 = self.next_token();
                if t2 != Tok::Linebreak {
                    return Err(self.parse_error("expected next entry after timestamp", t2));
                }
            }
            t2 => return Err(self.parse_error("expected timestamp or new record", t2)),
        }
        Ok(Some(Entry::Series))
    }

    fn float_token(&self, text: &[u8]) -> Result<f64, String> {
        let v = gofmt::parse_float(text).map_err(|e| self.while_parsing(e))?;
        Ok(if v.is_nan() {
            f64::from_bits(gofmt::NORMAL_NAN)
        } else {
            v
        })
    }

    /// The metric name must be set, and (quoted names) valid UTF-8; unescaped copy kept.
    fn check_name(&mut self) -> Result<(), String> {
        let Some((s, e)) = self.name else {
            return Err(format!(
                "metric name not set while parsing: {}",
                quote(&self.msg_bytes(self.start, self.lex.i))
            ));
        };
        // A bare name is ASCII without escapes; only a quoted one (inside the braces,
        // so preceded by a quote) needs checking.
        let raw = self.slice(s, e);
        let quoted = s > 0 && self.lex.b[s - 1] == b'"';
        if quoted && (raw.contains(&b'\\') || !raw.is_ascii()) {
            let Ok(text) = std::str::from_utf8(raw) else {
                return Err(format!("invalid UTF-8 metric name: {}", quote(raw)));
            };
            if let Cow::Owned(u) = unescape(text, true) {
                self.name_buf = u;
                self.name_escaped = true;
            }
        }
        Ok(())
    }

    /// The inside of `{...}` after its `{` was read: label pairs and, for a quoted
    /// string alone, the metric name. `exemplar` is OpenMetrics' exemplar label set.
    fn parse_label_set(&mut self, exemplar: bool) -> Result<(), String> {
        let set_start = self.lex.i;
        let mut t = if self.om {
            self.lex.lex()
        } else {
            self.next_token()
        };
        loop {
            let (cur_s, cur_i) = (self.lex.start, self.lex.i);
            let quoted = match t {
                Tok::BraceClose => {
                    let span = (set_start, self.lex.start);
                    if exemplar {
                        self.exemplar = Some(Exemplar {
                            raw_labels: self.slice(span.0, span.1),
                            value: 0.0,
                            timestamp_ms: None,
                        });
                    } else {
                        self.label_set = span;
                    }
                    return Ok(());
                }
                Tok::LName => false,
                Tok::QString => true,
                _ => return Err(self.parse_error("expected label name", t)),
            };
            t = self.tok();
            if quoted && (t == Tok::Comma || t == Tok::BraceClose) {
                if exemplar {
                    return Err(self.parse_error("expected label name", t));
                }
                if self.name.is_some() {
                    return Err(format!(
                        "metric name already set while parsing: {}",
                        quote(&self.msg_bytes(self.start, self.lex.i))
                    ));
                }
                self.name = Some((cur_s + 1, cur_i - 1));
                if t == Tok::Comma {
                    t = self.tok();
                }
                continue;
            }
            if quoted && std::str::from_utf8(self.slice(cur_s, cur_i)).is_err() {
                return Err(format!(
                    "invalid UTF-8 label name: {}",
                    quote(self.slice(cur_s + 1, cur_i - 1))
                ));
            }
            if t != Tok::Equal {
                return Err(self.parse_error("expected equal", t));
            }
            let t2 = self.tok();
            if t2 != Tok::LValue {
                return Err(self.parse_error("expected label value", t2));
            }
            let value = self.lex.buf();
            if !value.is_ascii() && std::str::from_utf8(value).is_err() {
                return Err(format!(
                    "invalid UTF-8 label value: {}",
                    quote(self.lex.buf())
                ));
            }
            t = self.tok();
            if t == Tok::Comma {
                t = self.tok();
            } else if self.om && t != Tok::BraceClose {
                return Err(self.parse_error("expected comma or brace close", t));
            }
        }
    }

    fn tok(&mut self) -> Tok {
        if self.om {
            self.lex.lex()
        } else {
            self.next_token()
        }
    }

    fn next_om(&mut self) -> Result<Option<Entry>, String> {
        self.reset_entry();
        let t = self.lex.lex();
        match t {
            Tok::EofWord => {
                if self.lex.lex() != Tok::Eof {
                    return Err("unexpected data after # EOF".to_string());
                }
                Ok(None)
            }
            Tok::Eof => Err("data does not end with # EOF".to_string()),
            Tok::Help | Tok::Type | Tok::Unit => {
                let t2 = self.lex.lex();
                self.meta_name_token(t, t2)?;
                if self.lex.lex() != Tok::Text {
                    return Err(format!("expected text in {}", t.name()));
                }
                let (s, e) = (self.lex.start, self.lex.i.min(self.lex.b.len()));
                self.text = if e > s + 1 { (s + 1, e - 1) } else { (e, e) };
                let text = self.slice(self.text.0, self.text.1);
                match t {
                    Tok::Type => {
                        self.set_type(text)?;
                        Ok(Some(Entry::Type))
                    }
                    Tok::Help => {
                        self.check_help()?;
                        Ok(Some(Entry::Help))
                    }
                    _ => {
                        let name =
                            self.slice(self.name.map_or(0, |n| n.0), self.name.map_or(0, |n| n.1));
                        if !text.is_empty() {
                            let suffix = name.len() > text.len()
                                && name.ends_with(text)
                                && name[name.len() - text.len() - 1] == b'_';
                            if !suffix {
                                return Err(format!(
                                    "unit {} not a suffix of metric {}",
                                    quote(text),
                                    quote(name)
                                ));
                            }
                        }
                        if std::str::from_utf8(text).is_err() {
                            return Err(format!("invalid UTF-8 unit: {}", quote(text)));
                        }
                        Ok(Some(Entry::Unit))
                    }
                }
            }
            Tok::BraceOpen => {
                let series_start = self.lex.start;
                self.parse_label_set(false)?;
                self.series = (series_start, self.lex.i);
                let t2 = self.lex.lex();
                self.om_suffix(t2)?;
                Ok(Some(Entry::Series))
            }
            Tok::MName => {
                self.name = Some((self.lex.start, self.lex.i));
                self.series = (self.lex.start, self.lex.i);
                let mut t2 = self.lex.lex();
                if t2 == Tok::BraceOpen {
                    self.parse_label_set(false)?;
                    self.series.1 = self.lex.i;
                    t2 = self.lex.lex();
                }
                self.om_suffix(t2)?;
                Ok(Some(Entry::Series))
            }
            _ => Err(self.parse_error("expected a valid start token", t)),
        }
    }

    /// An OpenMetrics value token (` 1.5`): the float after its space.
    fn om_float(&mut self, t: Tok, after: &str) -> Result<f64, String> {
        if t != Tok::Value {
            return Err(self.parse_error(&format!("expected value after {after}"), t));
        }
        let buf = self.lex.buf();
        self.float_token(buf.get(1..).unwrap_or_default())
    }

    /// An OpenMetrics timestamp token: seconds with fractions, to milliseconds.
    fn om_timestamp(&mut self, what: &str) -> Result<i64, String> {
        let buf = self.lex.buf();
        let ts = gofmt::parse_float(buf.get(1..).unwrap_or_default())
            .map_err(|e| self.while_parsing(e))?;
        if !ts.is_finite() {
            return Err(format!("invalid {what} {}", gofmt::go_special_float(ts)));
        }
        Ok((ts * 1000.0) as i64)
    }

    fn om_suffix(&mut self, t: Tok) -> Result<(), String> {
        self.check_name()?;
        self.value = self.om_float(t, "metric")?;
        match self.lex.lex() {
            Tok::Eof => return Err("data does not end with # EOF".to_string()),
            Tok::Linebreak => {}
            Tok::Comment => self.om_exemplar()?,
            Tok::Timestamp => {
                self.timestamp = Some(self.om_timestamp("timestamp")?);
                match self.lex.lex() {
                    Tok::Linebreak => {}
                    Tok::Comment => self.om_exemplar()?,
                    t3 => return Err(self.parse_error("expected next entry after timestamp", t3)),
                }
            }
            // As in Prometheus, anything else is left for the next call to report.
            _ => {}
        }
        Ok(())
    }

    fn om_exemplar(&mut self) -> Result<(), String> {
        self.parse_label_set(true)?;
        let t = self.lex.lex();
        let value = self.om_float(t, "exemplar labels")?;
        let mut timestamp_ms = None;
        match self.lex.lex() {
            Tok::Eof => return Err("data does not end with # EOF".to_string()),
            Tok::Linebreak => {}
            Tok::Timestamp => {
                timestamp_ms = Some(self.om_timestamp("exemplar timestamp")?);
                let t3 = self.lex.lex();
                if t3 != Tok::Linebreak {
                    return Err(
                        self.parse_error("expected next entry after exemplar timestamp", t3)
                    );
                }
            }
            t2 => return Err(self.parse_error("expected timestamp or comment", t2)),
        }
        if let Some(ex) = &mut self.exemplar {
            ex.value = value;
            ex.timestamp_ms = timestamp_ms;
        }
        Ok(())
    }
}
