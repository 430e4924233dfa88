//! Series descriptions (`metric{label="value"} 1 2+3x4 _ stale`) and the Go literal
//! syntaxes the scripts use: durations, numbers and quoted strings.
//!
//! A series description is a metric (`name`, `name{...}` or `{...}`, labels with `=` only)
//! followed by space-separated items, each expanding to one or more values:
//!
//! | item          | values                                                       |
//! |---------------|--------------------------------------------------------------|
//! | `v`           | `v` (a number, `Inf`, `NaN`, signed or not, or `stale`)      |
//! | `vxN`         | `v` N+1 times                                                |
//! | `v+dxN`       | `v`, `v+d`, `v+d+d`, ... N+1 values (`-` counts down)       |
//! | `_`           | one missing sample                                           |
//! | `_xN`         | N missing samples (N, not N+1)                              |
//! | `{{...}}`     | a native histogram (with the same `xN`, `+{{...}}xN` forms)  |
//!
//! The rules follow Prometheus's series-description lexer and grammar: hexadecimal numbers
//! do not exist there (`0x3` is `0` repeated), a number is parsed as Go's `ParseInt` with
//! base prefix first (so `010` is 8) and as a float otherwise, and `stale` is the
//! staleness-marker NaN.

use ember_storage::chunkenc::stale_nan;
use ember_storage::labels::METRIC_NAME;
use ember_storage::{Labels, LabelsBuilder};

/// One value of an expanded series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqValue {
    /// `_`: no sample at this step.
    Omitted,
    Float(f64),
    /// A native histogram; Ember does not store them yet, so only their presence counts.
    Histogram,
}

impl SeqValue {
    /// The float value, or 0 as Prometheus's zero `SequenceValue` has.
    pub fn float(self) -> f64 {
        match self {
            SeqValue::Float(f) => f,
            _ => 0.0,
        }
    }
}

/// Parses a series description: its labels and expanded values.
pub fn parse_series(text: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let mut s = Scanner::new(text);
    let labels = s.metric()?;
    let values = s.values()?;
    Ok((labels, values))
}

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    fn skip_spaces(&mut self) -> bool {
        !self.take_while(is_space).is_empty()
    }

    fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            Some(c) => format!("unexpected {c:?} at column {} in {what}", self.pos + 1),
            None => format!("unexpected end of line in {what}"),
        }
    }

    /// `name`, `name{...}` or `{...}`.
    fn metric(&mut self) -> Result<Labels, String> {
        let mut b = LabelsBuilder::new();
        match self.peek() {
            Some('{') => {}
            Some(c) if is_alpha(c) || c == ':' => {
                let name = self.take_while(|c| is_alnum(c) || c == ':');
                b.set(METRIC_NAME, name);
            }
            _ => return Err(self.unexpected("series description, expected a metric")),
        }
        if self.eat('{') {
            self.label_set(&mut b)?;
        }
        Ok(b.labels())
    }

    /// The inside of `{...}` after the `{`: `name="value"`, `"name"="value"` or a quoted
    /// metric name, separated by commas (one trailing comma allowed).
    fn label_set(&mut self, b: &mut LabelsBuilder) -> Result<(), String> {
        loop {
            self.skip_spaces();
            if self.eat('}') {
                return Ok(());
            }
            let name = match self.peek() {
                Some(c) if is_alpha(c) => self.take_while(is_alnum).to_string(),
                Some('"' | '\'' | '`') => self.string()?,
                _ => return Err(self.unexpected("label set, expected a label name or \"}\"")),
            };
            self.skip_spaces();
            if self.eat('=') {
                if self.peek() == Some('~') {
                    return Err(self.unexpected("label set, expected a string"));
                }
                self.skip_spaces();
                let value = match self.peek() {
                    Some('"' | '\'' | '`') => self.string()?,
                    _ => return Err(self.unexpected("label set, expected a string")),
                };
                b.set(&name, &value);
            } else {
                // A lone quoted name is the metric name (`{"metric.name"}`).
                b.set(METRIC_NAME, &name);
            }
            self.skip_spaces();
            if self.eat(',') {
                continue;
            }
            if self.eat('}') {
                return Ok(());
            }
            return Err(self.unexpected("label set, expected \",\" or \"}\""));
        }
    }

    /// A quoted string starting at the current position, unquoted.
    fn string(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or("unterminated string")?;
        let start = self.pos;
        self.bump();
        loop {
            match self.bump() {
                None => return Err(format!("unterminated quoted string {quote}")),
                Some('\\') if quote != '`' => {
                    self.bump();
                }
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        unquote(&self.text[start..self.pos], true)
    }

    /// The value items, each preceded by space.
    fn values(&mut self) -> Result<Vec<SeqValue>, String> {
        let mut out = Vec::new();
        loop {
            let spaced = self.skip_spaces();
            if self.peek().is_none() {
                return Ok(out);
            }
            if !spaced {
                return Err(self.unexpected("series values, expected a space"));
            }
            self.item(&mut out)?;
        }
    }

    fn item(&mut self, out: &mut Vec<SeqValue>) -> Result<(), String> {
        if self.peek() == Some('_') {
            self.bump();
            if self.eat('x') {
                let n = self.repetitions()?;
                out.extend(std::iter::repeat_n(SeqValue::Omitted, n as usize));
            } else {
                out.push(SeqValue::Omitted);
            }
            return self.item_end();
        }
        if self.rest().starts_with("{{") {
            self.histogram()?;
            let n = if self.eat('x') {
                self.repetitions()?
            } else if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
                self.histogram()?;
                if !self.eat('x') {
                    return Err(self.unexpected("histogram series, expected \"x\""));
                }
                self.repetitions()?
            } else {
                0
            };
            out.extend(std::iter::repeat_n(SeqValue::Histogram, n as usize + 1));
            return self.item_end();
        }
        let mut v = self.value()?;
        if self.eat('x') {
            let n = self.repetitions()?;
            out.extend(std::iter::repeat_n(SeqValue::Float(v), n as usize + 1));
        } else if matches!(self.peek(), Some('+' | '-')) {
            let negative = self.bump() == Some('-');
            let d = self.number()?;
            let d = if negative { -d } else { d };
            if !self.eat('x') {
                return Err(self.unexpected("series values, expected \"x\""));
            }
            let n = self.repetitions()?;
            // Each value adds the step to the previous one, as Prometheus does.
            for _ in 0..=n {
                out.push(SeqValue::Float(v));
                v += d;
            }
        } else {
            out.push(SeqValue::Float(v));
        }
        self.item_end()
    }

    fn item_end(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(c) if is_space(c) => Ok(()),
            _ => Err(self.unexpected("series values")),
        }
    }

    /// A value: `[+-]number`, or `stale`.
    fn value(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some('+') => {
                self.bump();
                self.number()
            }
            Some('-') => {
                self.bump();
                Ok(-self.number()?)
            }
            Some(c) if is_alpha(c) && c != 'x' => {
                let save = self.pos;
                let word = self.take_while(|c| is_alnum(c) || c == ':');
                if word == "stale" {
                    return Ok(stale_nan());
                }
                self.pos = save;
                self.number()
            }
            _ => self.number(),
        }
    }

    /// An unsigned number: digits (with `.`, `e`, `_`), `Inf` or `NaN`.
    fn number(&mut self) -> Result<f64, String> {
        let start = self.pos;
        match self.peek() {
            Some(c) if is_alpha(c) && c != 'x' => {
                let word = self.take_while(|c| is_alnum(c) || c == ':');
                let lower = word.to_ascii_lowercase();
                if lower == "inf" || lower == "nan" {
                    return parse_go_number(word).ok_or_else(|| format!("bad number {word:?}"));
                }
                self.pos = start;
                return Err(self.unexpected("series values, expected a number or \"stale\""));
            }
            Some(c)
                if c.is_ascii_digit()
                    || (c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit())) => {}
            _ => return Err(self.unexpected("series values, expected a number")),
        }
        let mut prev = '\0';
        while let Some(c) = self.peek() {
            let sign_of_exponent = (c == '+' || c == '-') && (prev == 'e' || prev == 'E');
            if c.is_ascii_digit() || matches!(c, '.' | '_' | 'e' | 'E') || sign_of_exponent {
                prev = c;
                self.bump();
            } else {
                break;
            }
        }
        let text = &self.text[start..self.pos];
        // Only the repetition marker may follow a number directly.
        if self.peek().is_some_and(|c| is_alnum(c) && c != 'x') {
            return Err(self.unexpected("series values, bad number"));
        }
        parse_go_number(text).ok_or_else(|| format!("error parsing number: {text:?}"))
    }

    /// The `N` of `xN`: a decimal unsigned integer.
    fn repetitions(&mut self) -> Result<u64, String> {
        let digits = self.take_while(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "invalid repetition in series values: {digits:?} is not an unsigned integer"
            ));
        }
        digits
            .parse()
            .map_err(|e| format!("invalid repetition in series values: {e}"))
    }

    /// `{{ ... }}`: skipped, it is only recognised.
    fn histogram(&mut self) -> Result<(), String> {
        if !self.rest().starts_with("{{") {
            return Err(self.unexpected("histogram, expected \"{{\""));
        }
        match self.rest().find("}}") {
            Some(end) => {
                self.pos += end + 2;
                Ok(())
            }
            None => Err("histogram without closing \"}}\"".into()),
        }
    }
}

/// A number as Prometheus reads one: Go's `strconv.ParseInt(s, 0, 64)` (decimal, `0x`,
/// `0o`, `0b`, or a leading `0` for octal, `_` between digits), else Go's `ParseFloat`.
pub fn parse_go_number(s: &str) -> Option<f64> {
    if let Some(i) = parse_go_int(s) {
        return Some(i as f64);
    }
    parse_go_float(s)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if !underscores_ok(digits, prefixed) {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    let magnitude = u64::from_str_radix(&clean, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Underscores may only separate digits (or follow a base prefix).
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    let mut prev_digit = prefixed;
    let mut prev_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if !prev_digit {
                return false;
            }
            prev_underscore = true;
            prev_digit = false;
        } else {
            prev_digit = true;
            prev_underscore = false;
        }
    }
    !prev_underscore
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input: an optional sign, digits with `.`
/// and an exponent, `_` between digits; `Inf`, `Infinity`, `NaN` in any case.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first()? {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
        && body.bytes().any(|b| b.is_ascii_digit());
    if !valid || (body.contains('_') && !float_underscores_ok(body)) {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    clean.parse::<f64>().ok().map(|v| sign * v)
}

fn float_underscores_ok(body: &str) -> bool {
    let b = body.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0
                && b[i - 1].is_ascii_digit()
                && b.get(i + 1).is_some_and(|n| n.is_ascii_digit()))
    })
}

/// Prometheus's duration syntax (`model.ParseDuration`): `0`, or units from the largest
/// to the smallest among `y w d h m s ms` (`1h30m`), in milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".into()),
        _ => {}
    }
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!("unknown unit {unit:?} in duration {s:?}"));
        };
        if last_unit.is_some_and(|l| idx <= l) {
            return Err(invalid());
        }
        last_unit = Some(idx);
        let add = v.checked_mul(UNITS[idx].1).ok_or("duration out of range")?;
        total = total.checked_add(add).ok_or("duration out of range")?;
    }
    // Go keeps durations in nanoseconds, so they end at about 292 years.
    if total > i64::MAX as u64 / 1_000_000 {
        return Err("duration out of range".into());
    }
    Ok(total as i64)
}

/// Unquotes a Go/PromQL string literal including its quotes: `"..."` and (with
/// `any_length_single`) `'...'` with escapes, or `` `...` `` raw. Go's own
/// `strconv.Unquote` allows a single-quoted literal of exactly one character only.
pub fn unquote(s: &str, any_length_single: bool) -> Result<String, String> {
    let bad = || format!("invalid quoted string {s}");
    let quote = s.chars().next().ok_or_else(bad)?;
    if s.len() < 2 || !s.ends_with(quote) || !matches!(quote, '"' | '\'' | '`') {
        return Err(bad());
    }
    let body = &s[1..s.len() - 1];
    if quote == '`' {
        if body.contains('`') {
            return Err(bad());
        }
        return Ok(body.replace('\r', ""));
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == quote || c == '\n' {
            return Err(bad());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        let simple = match e {
            'a' => Some(0x07u8),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            c if c == quote => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (count, radix) = match e {
            '0'..='7' => (2, 8),
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            _ => return Err(format!("unknown escape sequence '\\{e}' in {s}")),
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(e);
        }
        for _ in 0..count {
            digits.push(chars.next().ok_or_else(bad)?);
        }
        let v = u32::from_str_radix(&digits, radix).map_err(|_| bad())?;
        match e {
            '0'..='7' | 'x' => {
                let b = u8::try_from(v).map_err(|_| bad())?;
                out.push(b);
            }
            _ => {
                let c = char::from_u32(v).ok_or_else(bad)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    if quote == '\'' && !any_length_single && text.chars().count() != 1 {
        return Err(bad());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_storage::chunkenc::is_stale_nan;

    fn floats(text: &str) -> Vec<Option<f64>> {
        let (_, v) = parse_series(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        v.into_iter()
            .map(|v| match v {
                SeqValue::Float(f) => Some(f),
                SeqValue::Omitted => None,
                SeqValue::Histogram => panic!("histogram"),
            })
            .collect()
    }

    // Expected expansions are written out by hand from the rules in the module docs
    // (and the examples of docs/configuration/unit_testing_rules.md).

    #[test]
    fn expanding_notation() {
        assert_eq!(floats("m -2+4x3"), [-2., 2., 6., 10.].map(Some));
        assert_eq!(floats("m 1-2x4"), [1., -1., -3., -5., -7.].map(Some));
        assert_eq!(floats("m 1x4"), [1.; 5].map(Some));
        assert_eq!(floats("m 1 _x3 5"), [Some(1.), None, None, None, Some(5.)]);
        assert_eq!(floats("m _ 2 _"), [None, Some(2.), None]);
        assert_eq!(floats("m 0+10x2 100"), [0., 10., 20., 100.].map(Some));
        assert_eq!(floats("m"), []);
        // Accumulated addition, as Prometheus does: 0.1 added three times.
        assert_eq!(floats("m 0+0.1x3")[3], Some(0.1 + 0.1 + 0.1));
        assert_eq!(floats("m  1\t2   3 "), [1., 2., 3.].map(Some));
    }

    #[test]
    fn special_values() {
        let v = floats("m Inf -Inf +Inf NaN -NaN inf");
        assert_eq!(v[0], Some(f64::INFINITY));
        assert_eq!(v[1], Some(f64::NEG_INFINITY));
        assert_eq!(v[2], Some(f64::INFINITY));
        assert!(v[3].unwrap().is_nan() && v[4].unwrap().is_nan());
        assert_eq!(v[5], Some(f64::INFINITY));
        let (_, s) = parse_series("m stale 1 stale").unwrap();
        assert!(matches!(s[0], SeqValue::Float(f) if is_stale_nan(f)));
        assert!(matches!(s[2], SeqValue::Float(f) if is_stale_nan(f)));
        assert_eq!(
            floats("m 1e3 .5 2.5e-1 1_000"),
            [1000., 0.5, 0.25, 1000.].map(Some)
        );
        // No hexadecimal in series values: `0x3` is zero repeated, and a leading zero is
        // octal as in Go's ParseInt with base 0.
        assert_eq!(floats("m 0x3"), [0.; 4].map(Some));
        assert_eq!(floats("m 010 08"), [8., 8.].map(Some));
        assert_eq!(floats("m Inf+1x1"), [f64::INFINITY; 2].map(Some));
    }

    #[test]
    fn metrics_and_labels() {
        let (l, _) = parse_series(r#"foo{a="1", b='two',c=`x\y`,} 1"#).unwrap();
        assert_eq!(
            l,
            Labels::from_pairs([("__name__", "foo"), ("a", "1"), ("b", "two"), ("c", "x\\y")])
        );
        let (l, _) = parse_series(r#"{__name__="bar", "ü.name"="\u00fc\n"} 1"#).unwrap();
        assert_eq!(
            l,
            Labels::from_pairs([("__name__", "bar"), ("ü.name", "ü\n")])
        );
        let (l, _) = parse_series(r#"{"my.metric", job="j"}"#).unwrap();
        assert_eq!(
            l,
            Labels::from_pairs([("__name__", "my.metric"), ("job", "j")])
        );
        let (l, v) = parse_series("{} 3").unwrap();
        assert!(l.is_empty());
        assert_eq!(v, [SeqValue::Float(3.)]);
        let (l, _) = parse_series("ns:metric:rate5m 1").unwrap();
        assert_eq!(l.metric_name(), Some("ns:metric:rate5m"));
        let (l, _) = parse_series("sum 1").unwrap();
        assert_eq!(l.metric_name(), Some("sum"));
    }

    #[test]
    fn histograms_are_recognised() {
        let (_, v) = parse_series("h {{schema:1 sum:3 count:22 buckets:[5 10 7]}} 1 {{count:1}}x2 {{count:1}}+{{count:2}}x1").unwrap();
        use SeqValue::*;
        assert_eq!(
            v,
            [
                Histogram,
                Float(1.),
                Histogram,
                Histogram,
                Histogram,
                Histogram,
                Histogram
            ]
        );
    }

    #[test]
    fn bad_descriptions_are_errors() {
        for bad in [
            "foo {a=\"b\"} 1",
            "foo{a=\"b\" 1",
            "foo{a=~\"b\"} 1",
            "foo 1x",
            "foo 1x1.5",
            "foo 1+2",
            "foo abc",
            "foo 1a",
            "foo{a=b} 1",
            "foo{a=\"b\"}1",
            "1 2",
            "foo \"x\"",
            "foo {{count:1}",
            "foo -stale",
        ] {
            assert!(parse_series(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn go_numbers() {
        assert_eq!(parse_go_number("0x1F"), Some(31.0));
        assert_eq!(parse_go_number("-0b101"), Some(-5.0));
        assert_eq!(parse_go_number("0o17"), Some(15.0));
        assert_eq!(parse_go_number("017"), Some(15.0));
        assert_eq!(parse_go_number("1_000"), Some(1000.0));
        assert_eq!(parse_go_number("1__0"), None);
        assert_eq!(parse_go_number("_1"), None);
        assert_eq!(parse_go_number("1.5e3"), Some(1500.0));
        assert_eq!(parse_go_number("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_go_number("+Infinity"), Some(f64::INFINITY));
        assert!(parse_go_number("NaN").unwrap().is_nan());
        assert_eq!(
            parse_go_number("9223372036854775807"),
            Some(9.223372036854776e18)
        );
        // Too large for an int64: read as a float.
        assert_eq!(
            parse_go_number("18446744073709551616"),
            Some(1.8446744073709552e19)
        );
        assert_eq!(parse_go_number("foo"), None);
        assert_eq!(parse_go_number(""), None);
        assert_eq!(parse_go_number("1 2"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1d2h3m4s5ms"), Ok(93_784_005));
        assert_eq!(parse_duration("2w"), Ok(1_209_600_000));
        assert_eq!(parse_duration("1y"), Ok(31_536_000_000));
        assert_eq!(parse_duration("100ms"), Ok(100));
        for bad in ["", "m", "5", "1m1h", "1m1m", "-1m", "1.5m", "5x", "1s1"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(unquote(r#""a\"b\\c\n""#, true).unwrap(), "a\"b\\c\n");
        assert_eq!(unquote(r"'it\'s'", true).unwrap(), "it's");
        assert_eq!(
            unquote(r#""\x41\101\u00e9\U0001F600""#, true).unwrap(),
            "AAé😀"
        );
        assert_eq!(unquote(r"`raw\n`", true).unwrap(), "raw\\n");
        assert!(unquote(r#""\'""#, true).is_err());
        assert!(unquote(r#""\q""#, true).is_err());
        assert!(unquote(r#""open"#, true).is_err());
        assert!(unquote("'ab'", false).is_err());
        assert_eq!(unquote("'a'", false).unwrap(), "a");
    }
}
