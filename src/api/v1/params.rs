//! Request parameters: where they come from, and how times, durations, limits, series
//! selectors, label names and queries are read, with Prometheus's rules and messages.
//!
//! Parameters come from the URL's query string and, for `POST`, `PUT` and `PATCH` with
//! `Content-Type: application/x-www-form-urlencoded`, from the body (at most 10 MiB, Go's
//! limit for form bodies). As with Go's `Request.FormValue`, a value in the body wins over
//! one in the URL, and an absent parameter reads as empty.
//!
//! Everything that reaches the PromQL parser is first checked by [`check_nesting`]: the
//! parser, the evaluator and even dropping a syntax tree recurse once per nesting level,
//! so an unbounded query (`((((...))))`, `1+1+1+...`) could exhaust a thread's stack.

use std::fmt;

use axum::extract::{FromRequest, Request};
use axum::http::{header, Method};
use axum::response::Response;
use ember_storage::matcher::{MatchOp, Matcher};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::Expr;

use super::response::{ApiError, Encoding};

/// The largest form body read (Go's `http.Request.ParseForm` limit).
pub const MAX_FORM_BYTES: usize = 10 << 20;

/// Form bodies larger than this are decoded on a blocking thread.
const BLOCKING_FORM_BYTES: usize = 64 << 10;

/// The deepest expression nesting accepted (see [`check_nesting`]).
pub const MAX_NESTING: usize = 1000;

/// The most `match[]` parameters one call may carry.
pub const MAX_MATCHER_SETS: usize = 1000;

/// Default `start` of optional time ranges, in milliseconds: Prometheus's `MinTime`
/// (`time.Unix(math.MinInt64/1000+62135596801, 0)`).
pub const MIN_TIME: i64 = -9_223_309_901_257_974_000;

/// Default `end` of optional time ranges: Prometheus's `MaxTime`.
pub const MAX_TIME: i64 = 9_223_309_901_257_974_999;

/// [`MIN_TIME`] and [`MAX_TIME`] as Go formats them in RFC 3339; clients send these back.
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// A request's parameters, in Go's `Request.Form` order: body values first, then the
/// URL's.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// Where the URL's pairs start in `pairs`.
    url_start: usize,
}

impl Params {
    /// Parameters from a query string and an optional form body.
    pub fn new(query: Option<&str>, body: Option<&[u8]>) -> Params {
        let mut pairs: Vec<(String, String)> = match body {
            Some(b) => form_urlencoded::parse(b).into_owned().collect(),
            None => Vec::new(),
        };
        let url_start = pairs.len();
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Params { pairs, url_start }
    }

    /// The first value of `name`, or `""` (Go's `FormValue`).
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, body values first.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name` in the URL only (Go's `URL.Query().Get`), for the few
    /// parameters Prometheus reads from there.
    pub fn url(&self, name: &str) -> &str {
        self.pairs[self.url_start..]
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// What every API handler receives: the parameters and the negotiated compression.
pub struct ApiRequest {
    pub params: Params,
    pub encoding: Encoding,
}

impl<S: Send + Sync> FromRequest<S> for ApiRequest {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<ApiRequest, Response> {
        let encoding = Encoding::negotiate(req.headers());
        let (parts, body) = req.into_parts();
        let is_form = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH)
            && parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| {
                    ct.split(';').next().is_some_and(|t| {
                        t.trim()
                            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                    })
                });
        let form = if is_form {
            match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    return Err(ApiError::bad_data(
                        "error parsing form values: http: POST too large",
                    )
                    .into_response_with(encoding))
                }
            }
        } else {
            None
        };
        let query = parts.uri.query().map(str::to_string);
        let params = match form {
            // Decoding megabytes of form data is CPU work: off the async runtime.
            Some(body) if body.len() > BLOCKING_FORM_BYTES => {
                tokio::task::spawn_blocking(move || Params::new(query.as_deref(), Some(&body)))
                    .await
                    .map_err(|e| ApiError::internal(e.to_string()).into_response_with(encoding))?
            }
            body => Params::new(query.as_deref(), body.as_deref()),
        };
        Ok(ApiRequest { params, encoding })
    }
}

/// Parses a timestamp as Prometheus's `parseTime`: Unix seconds with an optional
/// fraction (rounded to milliseconds), or RFC 3339. Returns milliseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {} to a valid timestamp", go_quote(s));
    if let Ok(f) = s.parse::<f64>() {
        return seconds_to_millis(f).ok_or_else(invalid);
    }
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    match s {
        MIN_TIME_TEXT => Ok(MIN_TIME),
        MAX_TIME_TEXT => Ok(MAX_TIME),
        _ => Err(invalid()),
    }
}

/// Reads time parameter `name`, `default` when absent (Prometheus's `parseTimeParam`).
pub fn time_param(params: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    let v = params.get(name);
    if v.is_empty() {
        return Ok(default);
    }
    parse_time(v)
        .map_err(|e| ApiError::invalid_param(name, format!("invalid time value for '{name}': {e}")))
}

/// Float seconds to milliseconds as Prometheus converts them: the fraction rounded to
/// milliseconds (`math.Modf`, then `math.Round(frac*1000)/1000`, then nanoseconds).
fn seconds_to_millis(f: f64) -> Option<i64> {
    if !f.is_finite() {
        return None;
    }
    let whole = f.trunc();
    let frac = ((f - whole) * 1000.0).round() / 1000.0;
    if whole.abs() >= 9.3e15 {
        return None;
    }
    let mut secs = whole as i64;
    let mut nanos = (frac * 1e9) as i64;
    // time.Unix normalises nanoseconds into [0, 1e9).
    secs += nanos.div_euclid(1_000_000_000);
    nanos = nanos.rem_euclid(1_000_000_000);
    secs.checked_mul(1000)?.checked_add(nanos / 1_000_000)
}

/// Parses RFC 3339 with optional fractional seconds (Go's `time.RFC3339Nano` layout) into
/// milliseconds, rounding sub-millisecond parts down as Prometheus's `timestamp.FromTime`.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (k, d) in b[i..i + digits].iter().enumerate() {
            if k < 9 {
                nanos = nanos * 10 + i64::from(d - b'0');
            }
        }
        for _ in digits..9 {
            nanos *= 10;
        }
        i += digits;
    }
    let offset_secs = match b.get(i..)? {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [h1, h2, m1, m2];
            if !digits.iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let h = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let m = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1000 + nanos / 1_000_000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a duration as Prometheus's API `parseDuration`: float seconds, or a Prometheus
/// duration (`5m`, `1h30m`). Returns nanoseconds; negative float values are allowed.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(d) = s.parse::<f64>() {
        let ns = d * 1e9;
        if ns.is_nan() {
            return Err(format!("cannot parse {} to a valid duration", go_quote(s)));
        }
        if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&ns) {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                go_quote(s)
            ));
        }
        return Ok(ns as i64);
    }
    match crate::cli::units::parse_duration(s) {
        Ok(d) => Ok(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        Err(_) => Err(format!("cannot parse {} to a valid duration", go_quote(s))),
    }
}

/// Reads `limit` as Prometheus's `parseLimitParam`: absent is 0 (no limit).
pub fn parse_limit(s: &str) -> Result<usize, String> {
    if s.is_empty() {
        return Ok(0);
    }
    let n = go_atoi(s)?;
    if n < 0 {
        return Err("limit must be non-negative".to_string());
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Go's `strconv.Atoi`, with its error messages.
pub fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

/// Go's `strconv.ParseBool`, with its error message.
pub fn go_parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            go_quote(s)
        )),
    }
}

/// Go's `%q` of a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let _ = ember_storage::labels::write_go_quoted(&mut out, s);
    out
}

/// Checks that a query cannot nest deeper than [`MAX_NESTING`] expressions, before it is
/// parsed. Every level of a syntax tree is opened by a bracket or by an operator, so the
/// deepest bracket nesting plus the number of operators (outside strings and label
/// matchers) bounds the tree's depth.
pub fn check_nesting(query: &str) -> Result<(), String> {
    let b = query.as_bytes();
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    let mut braces = 0usize;
    let mut operators = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => {
                // Skip the string literal (backslash escapes, except in raw strings).
                i += 1;
                while i < b.len() && b[i] != c {
                    if b[i] == b'\\' && c != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' => {
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            b'{' => braces += 1,
            b'}' => braces = braces.saturating_sub(1),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' | b'!' | b'=' if braces == 0 => {
                operators += 1
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                let word = &query[start..i];
                if braces == 0
                    && ["and", "or", "unless", "atan2"]
                        .iter()
                        .any(|k| word.eq_ignore_ascii_case(k))
                {
                    operators += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let estimate = max_depth + operators;
    if estimate > MAX_NESTING {
        return Err(format!(
            "query is too deeply nested or has too many operators: at most {MAX_NESTING} levels of nested expressions and operators are accepted"
        ));
    }
    Ok(())
}

/// Parses PromQL for an API call: the nesting check, then Ember's parser (which rejects
/// what Prometheus rejects without feature flags). Errors read as Prometheus's parse
/// errors, without the position.
pub fn parse_query(query: &str) -> Result<Expr, String> {
    check_nesting(query).map_err(|e| format!("parse error: {e}"))?;
    ember_query::Engine::parse(query).map_err(|e| format!("parse error: {e}"))
}

/// Parses one series selector (a `match[]` value) into storage matchers; a metric name
/// written outside the braces becomes a `__name__` matcher, last, as in Prometheus.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, String> {
    let expr = parse_query(s)?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "parse error: expected a series selector, got {}",
            describe(&expr)
        ));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err("parse error: a series selector cannot have offset or @ modifiers".into());
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err("parse error: \"or\" inside a selector's braces is not PromQL syntax".into());
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    for m in &vs.matchers.matchers {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Regex,
            PMatchOp::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(Matcher::new(op, m.name.as_str(), m.value.as_str()).map_err(|e| e.to_string())?);
    }
    if let Some(name) = &vs.name {
        out.push(
            Matcher::new(
                MatchOp::Equal,
                ember_storage::labels::METRIC_NAME,
                name.as_str(),
            )
            .map_err(|e| e.to_string())?,
        );
    }
    Ok(out)
}

/// A short name for an expression's kind, for error messages.
fn describe(e: &Expr) -> &'static str {
    match e {
        Expr::Aggregate(_) => "an aggregation",
        Expr::Unary(_) => "a unary expression",
        Expr::Binary(_) => "a binary expression",
        Expr::Paren(_) => "a parenthesized expression",
        Expr::Subquery(_) => "a subquery",
        Expr::NumberLiteral(_) => "a number",
        Expr::StringLiteral(_) => "a string",
        Expr::VectorSelector(_) => "a series selector",
        Expr::MatrixSelector(_) => "a range selector",
        Expr::Call(_) => "a function call",
        Expr::Extension(_) => "an extension",
    }
}

/// Reads the `match[]` values as Prometheus's `parseMatchersParam`: each a selector, each
/// with at least one matcher that does not match the empty string.
pub fn parse_matcher_sets<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Vec<Matcher>>, MatchersError> {
    let mut sets = Vec::new();
    for v in values {
        if sets.len() == MAX_MATCHER_SETS {
            return Err(MatchersError::TooMany);
        }
        sets.push(parse_selector(v).map_err(MatchersError::Parse)?);
    }
    for set in &sets {
        if set.iter().all(Matcher::matches_empty) {
            return Err(MatchersError::AllEmpty);
        }
    }
    Ok(sets)
}

/// Why `match[]` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchersError {
    Parse(String),
    AllEmpty,
    TooMany,
}

impl fmt::Display for MatchersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchersError::Parse(e) => f.write_str(e),
            MatchersError::AllEmpty => {
                f.write_str("match[] must contain at least one non-empty matcher")
            }
            MatchersError::TooMany => write!(
                f,
                "too many match[] parameters: at most {MAX_MATCHER_SETS} are accepted"
            ),
        }
    }
}

/// A label name from a URL path, unescaped as Prometheus does (`model.UnescapeName` with
/// value-encoding escaping): `U__` starts an escaped name, in which `__` is `_` and
/// `_<hex>_` is the code point `<hex>`. A malformed escape leaves the name as it is.
pub fn unescape_label_name(name: &str) -> String {
    let Some(escaped) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let b = escaped.as_bytes();
    let mut out = String::with_capacity(escaped.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'_' {
            // Copy the whole (possibly multi-byte) character.
            let ch_len = escaped[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&escaped[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        i += 1;
        if i >= b.len() {
            return name.to_string();
        }
        if b[i] == b'_' {
            out.push('_');
            i += 1;
            continue;
        }
        let mut value: u32 = 0;
        let mut digits = 0;
        loop {
            let Some(&c) = b.get(i) else {
                return name.to_string();
            };
            if c == b'_' {
                i += 1;
                break;
            }
            if digits >= 6 {
                return name.to_string();
            }
            let Some(d) = (c as char).to_digit(16) else {
                return name.to_string();
            };
            value = value * 16 + d;
            digits += 1;
            i += 1;
        }
        match char::from_u32(value) {
            Some(c) if digits > 0 => out.push(c),
            _ => return name.to_string(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus's documented forms: RFC 3339 (`2015-07-01T20:10:51.781Z`) and Unix
    /// seconds with decimals; the fraction is rounded to milliseconds, as a real
    /// Prometheus answers `time=0.0005` at `0.001`.
    #[test]
    fn times_in_both_documented_forms() {
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(parse_time("2015-07-01T20:10:51Z"), Ok(1_435_781_451_000));
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781+02:00"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T20:10:51.7819999Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("1435781451"), Ok(1_435_781_451_000));
        assert_eq!(parse_time("0.0005"), Ok(1));
        assert_eq!(parse_time("1000.5"), Ok(1_000_500));
        assert_eq!(parse_time("-1.5"), Ok(-1_500));
        assert_eq!(parse_time("1e3"), Ok(1_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("1969-12-31T23:59:59.5Z"), Ok(-500));
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        assert_eq!(parse_time(MIN_TIME_TEXT), Ok(MIN_TIME));
        assert_eq!(parse_time(MAX_TIME_TEXT), Ok(MAX_TIME));
        // What client_golang sends for its open ends.
        assert_eq!(parse_time("-9223309901257974"), Ok(MIN_TIME));
        for bad in [
            "",
            "abc",
            "2015-07-01",
            "2015-02-30T00:00:00Z",
            "2015-07-01T24:00:00Z",
            "2015-07-01T20:10:51",
            "2015-07-01 20:10:51Z",
            "2015-07-01T20:10:51.Z",
            "NaN",
            "+Inf",
            "1e300",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            parse_time("abc").unwrap_err(),
            "cannot parse \"abc\" to a valid timestamp"
        );
    }

    #[test]
    fn durations_as_float_seconds_or_prometheus_durations() {
        assert_eq!(parse_duration("15"), Ok(15_000_000_000));
        assert_eq!(parse_duration("0.5"), Ok(500_000_000));
        assert_eq!(parse_duration("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("-1"), Ok(-1_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("1ns").unwrap_err(),
            "cannot parse \"1ns\" to a valid duration"
        );
        assert_eq!(
            parse_duration("1e10").unwrap_err(),
            "cannot parse \"1e10\" to a valid duration. It overflows int64"
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5m3h").is_err());
    }

    #[test]
    fn limits_as_go_reads_them() {
        assert_eq!(parse_limit(""), Ok(0));
        assert_eq!(parse_limit("10"), Ok(10));
        assert_eq!(parse_limit("+3"), Ok(3));
        assert_eq!(parse_limit("-1").unwrap_err(), "limit must be non-negative");
        assert_eq!(
            parse_limit("x").unwrap_err(),
            "strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse_limit("99999999999999999999").unwrap_err(),
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
    }

    #[test]
    fn form_values_win_over_url_values() {
        let p = Params::new(Some("a=url&b=2&m=3"), Some(b"a=body&m=1&m=2"));
        assert_eq!(p.get("a"), "body");
        assert_eq!(p.get("b"), "2");
        assert_eq!(p.get("missing"), "");
        assert_eq!(p.all("m").collect::<Vec<_>>(), ["1", "2", "3"]);
        assert_eq!(p.url("a"), "url");
        let p = Params::new(Some("q=a+b%2Bc&match%5B%5D=x"), None);
        assert_eq!(p.get("q"), "a b+c");
        assert_eq!(p.get("match[]"), "x");
    }

    #[test]
    fn selectors_become_matchers_with_the_name_last() {
        let ms = parse_selector(r#"up{job="a",code=~"5.."}"#).unwrap();
        let text: Vec<String> = ms
            .iter()
            .map(|m| format!("{}{}{}", m.name(), m.op(), m.value()))
            .collect();
        assert_eq!(text, ["job=a", "code=~5..", "__name__=up"]);
        assert!(parse_selector("up + 1").is_err());
        assert!(parse_selector("rate(up[5m])").is_err());
        assert!(parse_selector("up{").is_err());
        assert!(parse_selector("up offset 5m").is_err());
        // Prometheus: "match[] must contain at least one non-empty matcher" (the parser
        // already refuses such a selector).
        assert!(parse_matcher_sets([r#"{a=~".*"}"#]).is_err());
        assert!(parse_matcher_sets([r#"{a=""}"#]).is_err());
        assert!(parse_matcher_sets(["up", r#"{a="b"}"#]).is_ok());
        let many = vec!["up"; MAX_MATCHER_SETS + 1];
        assert_eq!(
            parse_matcher_sets(many).map(|_| ()),
            Err(MatchersError::TooMany)
        );
    }

    #[test]
    fn nesting_is_bounded_before_parsing() {
        assert!(
            check_nesting("sum(rate(http_requests_total{code=~\"5..\"}[5m])) by (job)").is_ok()
        );
        let deep = format!(
            "{}1{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert!(check_nesting(&deep).is_err());
        let chain = format!("1{}", "+1".repeat(MAX_NESTING + 1));
        assert!(check_nesting(&chain).is_err());
        let ors = format!("up{}", " or up".repeat(MAX_NESTING + 1));
        assert!(check_nesting(&ors).is_err());
        // Operators inside strings and matchers do not count.
        let regex = format!("up{{a=~\"{}\"}}", "a+(b)-".repeat(10_000));
        assert!(check_nesting(&regex).is_ok());
        let ok = format!("1{}", "+1".repeat(MAX_NESTING - 1));
        assert!(check_nesting(&ok).is_ok());
    }

    /// `model.EscapeName` of Prometheus's `prometheus/common` produces these.
    #[test]
    fn escaped_label_names() {
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(unescape_label_name("U__a_2e_b"), "a.b");
        assert_eq!(unescape_label_name("U__my__label"), "my_label");
        assert_eq!(unescape_label_name("U___1f600_"), "\u{1f600}");
        assert_eq!(unescape_label_name("U__bad_zz_"), "U__bad_zz_");
        assert_eq!(unescape_label_name("U__trailing_"), "U__trailing_");
        assert_eq!(unescape_label_name("U___d800_"), "U___d800_");
    }

    #[test]
    fn go_booleans() {
        assert_eq!(go_parse_bool("TRUE"), Ok(true));
        assert_eq!(go_parse_bool("0"), Ok(false));
        assert_eq!(
            go_parse_bool("yes").unwrap_err(),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }
}
