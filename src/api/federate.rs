//! `GET /federate`: the latest sample of every series matching the `match[]` selectors, in
//! the text exposition format, for another server to scrape (with `honor_labels: true`).
//!
//! As Prometheus 3 (`web/federate.go`):
//!
//! - Each `match[]` is a series selector (`up`, `{job="node"}`); a selector that does not
//!   parse is a 400 with the parser's message. Without any `match[]` the answer is empty.
//! - A series' sample is its newest one within the lookback delta
//!   (`--query.lookback-delta`, 5m) before now; series whose newest sample is a stale
//!   marker are left out (the formats cannot carry one).
//! - Series are grouped by metric name, each group under `# TYPE <name> untyped`, with the
//!   sample's timestamp in milliseconds. Labels with empty values and nameless series are
//!   left out.
//! - The server's external labels (`global.external_labels`, plus `instance=""` unless
//!   set) are appended to each series that does not have them.
//! - Names that are not legacy names are escaped as the `Accept` header's `escaping`
//!   parameter says (`underscores` by default), and the `Content-Type` says which.
//!
//! - The answer is compressed when `Accept-Encoding` lists `gzip` or `deflate` (the first
//!   listed of the two, as Prometheus's compression handler chooses).
//!
//! Ember answers in the text format 0.0.4 whatever the `Accept` header asks for (Prometheus
//! can also answer in protobuf, which scrapers only ask for to get native histograms,
//! which Ember does not store).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ember_storage::chunkenc::STALE_NAN_BITS;
use ember_storage::labels::{Labels, METRIC_NAME};
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::numfmt::write_g;
use ember_storage::querier::{Querier, SelectHints};

use super::instrument::{instrumented, HttpMetrics};
use super::{lifecycle, AppState};

/// At most this many `match[]` selectors in one request.
const MAX_SELECTORS: usize = 1000;

/// The route `/federate`.
pub fn routes(state: &Arc<AppState>, http: &Arc<HttpMetrics>) -> Router<Arc<AppState>> {
    let ready = middleware::from_fn_with_state(Arc::clone(state), lifecycle::require_ready);
    Router::new().route(
        "/federate",
        instrumented(http, "/federate", get(handler).layer(ready)),
    )
}

/// Go's `http.Error`.
fn http_error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

async fn handler(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let selectors: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "match[]")
        .map(|(_, v)| v.into_owned())
        .collect();
    if selectors.len() > MAX_SELECTORS {
        return http_error(
            StatusCode::BAD_REQUEST,
            format!(
                "too many match[] selectors: {} (at most {MAX_SELECTORS})",
                selectors.len()
            ),
        );
    }
    let mut sets = Vec::with_capacity(selectors.len());
    for s in &selectors {
        match parse_selector(s) {
            Ok(m) => sets.push(m),
            Err(e) => return http_error(StatusCode::BAD_REQUEST, e),
        }
    }
    let escaping = negotiate_escaping(&headers);
    let encoding = negotiate_encoding(&headers);
    let Some(db) = state.db().cloned() else {
        return http_error(StatusCode::SERVICE_UNAVAILABLE, "TSDB not ready");
    };
    let lookback = super::engine_options(&state.options).lookback_delta;
    let external = external_labels(&state);
    let work = tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let querier = db.querier(now.saturating_sub(lookback), now);
        let samples = latest_samples(&querier, &sets, now.saturating_sub(lookback), now)?;
        let mut body = String::with_capacity(samples.len() * 96);
        write_text(&mut body, &samples, &external, escaping);
        encoding
            .compress(body.into_bytes())
            .map_err(|e| format!("compressing the answer: {e}"))
    });
    let content_type = format!(
        "text/plain; version=0.0.4; charset=utf-8; escaping={}",
        escaping.as_str()
    );
    match work.await {
        Ok(Ok(body)) => {
            let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
            let h = response.headers_mut();
            h.insert(
                header::VARY,
                header::HeaderValue::from_static("Accept-Encoding"),
            );
            if let Some(name) = encoding.name() {
                h.insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static(name),
                );
            }
            response
        }
        Ok(Err(e)) => http_error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => http_error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Parses a series selector into storage matchers.
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>, String> {
    use promql_parser::label::MatchOp as P;
    use promql_parser::parser::Expr;
    let expr = promql_parser::parser::parse(input).map_err(|e| e.to_string())?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "parse error: expected a series selector, got {input:?}"
        ));
    };
    if !vs.matchers.or_matchers.is_empty() {
        return Err("parse error: \"or\" is not allowed in a series selector".to_string());
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        out.push(
            Matcher::new(MatchOp::Equal, METRIC_NAME, name.as_str()).map_err(|e| e.to_string())?,
        );
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            P::Equal => MatchOp::Equal,
            P::NotEqual => MatchOp::NotEqual,
            P::Re(_) => MatchOp::Regex,
            P::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(Matcher::new(op, m.name.as_str(), m.value.as_str()).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// A series and its newest sample.
struct Latest {
    labels: Labels,
    t: i64,
    v: f64,
}

/// The newest sample in `[mint, maxt]` of every series matching any of the selector sets,
/// stale markers left out, ordered by metric name (and by labels within a name).
fn latest_samples(
    querier: &dyn Querier,
    sets: &[Vec<Matcher>],
    mint: i64,
    maxt: i64,
) -> Result<Vec<Latest>, String> {
    let hints = SelectHints {
        start: mint,
        end: maxt,
        ..SelectHints::default()
    };
    let mut out: Vec<Latest> = Vec::new();
    for matchers in sets {
        for series in querier
            .select(false, Some(&hints), matchers)
            .map_err(|e| e.to_string())?
        {
            let series = series.map_err(|e| e.to_string())?;
            let mut last = None;
            series
                .for_each_in(mint, maxt, |t, v| last = Some((t, v)))
                .map_err(|e| format!("reading series {}: {e}", series.labels()))?;
            let Some((t, v)) = last else { continue };
            if v.to_bits() == STALE_NAN_BITS {
                continue;
            }
            out.push(Latest {
                labels: series.into_labels(),
                t,
                v,
            });
        }
    }
    // Series matched by several selectors appear once.
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out.dedup_by(|a, b| a.labels == b.labels);
    out.sort_by(|a, b| a.labels.metric_name().cmp(&b.labels.metric_name()));
    Ok(out)
}

/// How names outside the legacy character set are written (the `escaping` parameter of
/// the exposition formats' content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// `allow-utf-8`: written as they are, quoted.
    AllowUtf8,
    /// `underscores`: every invalid character becomes `_` (the default).
    Underscores,
    /// `dots`: `_` becomes `__`, `.` becomes `_dot_`, others `__`.
    Dots,
    /// `values`: `U__` and each invalid character as `_<hex>_`.
    Values,
}

impl Escaping {
    fn parse(s: &str) -> Option<Escaping> {
        match s {
            "allow-utf-8" => Some(Escaping::AllowUtf8),
            "underscores" => Some(Escaping::Underscores),
            "dots" => Some(Escaping::Dots),
            "values" => Some(Escaping::Values),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }
}

/// The escaping scheme for the answer, from the `Accept` header as Prometheus's
/// `expfmt.Negotiate` reads it: clauses in order of preference, the `escaping` parameter
/// of any clause up to the first that the text format 0.0.4 satisfies.
fn negotiate_escaping(headers: &HeaderMap) -> Escaping {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut clauses: Vec<(f64, usize, &str)> = accept
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .enumerate()
        .map(|(i, c)| {
            let q = c
                .split(';')
                .skip(1)
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim() == "q")
                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            (q, i, c)
        })
        .collect();
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut escaping = Escaping::Underscores;
    for (_, _, clause) in clauses {
        let mut parts = clause.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let (ty, sub) = media.split_once('/').unwrap_or((media, ""));
        let mut version = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                match k.trim() {
                    "escaping" => {
                        if let Some(e) = Escaping::parse(v.trim()) {
                            escaping = e;
                        }
                    }
                    "version" => version = Some(v.trim()),
                    _ => {}
                }
            }
        }
        let text_plain = ty == "text" && sub == "plain";
        let matches = (ty == "*" && sub == "*")
            || ((ty == "*" || ty == "text")
                && (sub == "*" || sub == "plain")
                && version.or(text_plain.then_some("0.0.4")) == Some("0.0.4"));
        if matches {
            break;
        }
    }
    escaping
}

/// How the answer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

impl Encoding {
    fn name(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Deflate => Some("deflate"),
        }
    }

    fn compress(self, body: Vec<u8>) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        let level = flate2::Compression::default();
        match self {
            Encoding::Identity => Ok(body),
            Encoding::Gzip => {
                let mut w =
                    flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), level);
                w.write_all(&body)?;
                w.finish()
            }
            Encoding::Deflate => {
                let mut w =
                    flate2::write::ZlibEncoder::new(Vec::with_capacity(body.len() / 4), level);
                w.write_all(&body)?;
                w.finish()
            }
        }
    }
}

/// The first of `gzip` and `deflate` listed (exactly, without parameters) in
/// `Accept-Encoding`, as Prometheus's compression handler picks it.
fn negotiate_encoding(headers: &HeaderMap) -> Encoding {
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for token in accept.split(',') {
        match token.trim() {
            "gzip" => return Encoding::Gzip,
            "deflate" => return Encoding::Deflate,
            _ => {}
        }
    }
    Encoding::Identity
}

/// The external labels to attach: `global.external_labels` of the configuration, and
/// `instance=""` unless it sets `instance`; sorted by name.
///
/// Hook: until the parsed configuration lives in the server's state (the configuration
/// crate, #5), the configuration file is read here, on each request.
fn external_labels(state: &AppState) -> Vec<(String, String)> {
    let options = &state.options;
    let mut labels = match crate::config::load(&options.config_file, !options.config_file_given) {
        Ok(loaded) => external_labels_from_config(&loaded.text).unwrap_or_else(|e| {
            tracing::debug!(err = %e, "Reading external labels for /federate");
            Vec::new()
        }),
        Err(_) => Vec::new(),
    };
    if !labels.iter().any(|(n, _)| n == "instance") {
        labels.push(("instance".to_string(), String::new()));
    }
    labels.sort();
    labels
}

/// `global.external_labels` of a `prometheus.yml` text.
pub fn external_labels_from_config(text: &str) -> Result<Vec<(String, String)>, String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let Some(map) = doc
        .get("global")
        .and_then(|g| g.get("external_labels"))
        .and_then(|l| l.as_mapping())
    else {
        return Ok(Vec::new());
    };
    let text_of = |v: &serde_yaml::Value| match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        match (text_of(k), text_of(v)) {
            (Some(k), Some(v)) => out.push((k, v)),
            _ => return Err("global.external_labels must map names to strings".to_string()),
        }
    }
    Ok(out)
}

/// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*` (the check the text format applies
/// to metric and label names alike).
fn is_legacy_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .enumerate()
            .all(|(i, b)| is_legacy_char(b as char, i))
}

fn is_legacy_char(c: char, i: usize) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (c.is_ascii_digit() && i > 0)
}

/// A name as the escaping scheme writes it; legacy names are never changed.
fn escape_name(name: &str, escaping: Escaping) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    use std::fmt::Write;
    match escaping {
        // Legacy names are never changed (Prometheus checks before escaping).
        _ if name.is_empty() || is_legacy_name(name) => Cow::Borrowed(name),
        Escaping::AllowUtf8 => Cow::Borrowed(name),
        Escaping::Underscores => Cow::Owned(
            name.chars()
                .enumerate()
                .map(|(i, c)| if is_legacy_char(c, i) { c } else { '_' })
                .collect(),
        ),
        Escaping::Dots => {
            let mut out = String::with_capacity(name.len());
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if is_legacy_char(c, i) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
            Cow::Owned(out)
        }
        Escaping::Values => {
            let mut out = String::from("U__");
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    c if is_legacy_char(c, i) => out.push(c),
                    c => {
                        let _ = write!(out, "_{:x}_", c as u32);
                    }
                }
            }
            Cow::Owned(out)
        }
    }
}

/// Writes a (possibly escaped) name: as is when legacy, else quoted.
fn write_name(out: &mut String, name: &str) {
    if is_legacy_name(name) {
        out.push_str(name);
    } else {
        out.push('"');
        write_escaped(out, name, true);
        out.push('"');
    }
}

/// `\` → `\\`, newline → `\n`, and (in label values and quoted names) `"` → `\"`.
fn write_escaped(out: &mut String, s: &str, quote: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// A float as the text format writes it (Go's `%g` shortest form, `+Inf`, `-Inf`, `NaN`).
fn write_value(out: &mut String, v: f64) {
    if v == 0.0 {
        out.push('0'); // also -0, as Prometheus's encoder
    } else if v.is_nan() {
        out.push_str("NaN");
    } else {
        write_g(out, v);
    }
}

/// The text exposition of `samples`, one `# TYPE ... untyped` group per metric name.
fn write_text(
    out: &mut String,
    samples: &[Latest],
    external: &[(String, String)],
    escaping: Escaping,
) {
    use std::fmt::Write;
    let mut current: Option<&str> = None;
    for s in samples {
        let Some(name) = s.labels.metric_name() else {
            tracing::warn!(metric = %s.labels, "Ignoring nameless metric during federation");
            continue;
        };
        let shown = escape_name(name, escaping);
        if current != Some(name) {
            current = Some(name);
            out.push_str("# TYPE ");
            write_name(out, &shown);
            out.push_str(" untyped\n");
        }
        let inside = !is_legacy_name(&shown);
        if inside {
            out.push('{');
            write_name(out, &shown);
        } else {
            out.push_str(&shown);
        }
        let mut sep = if inside { ',' } else { '{' };
        let mut any = inside;
        let mut label = |out: &mut String, n: &str, v: &str| {
            out.push(sep);
            write_name(out, &escape_name(n, escaping));
            out.push_str("=\"");
            write_escaped(out, v, true);
            out.push('"');
            sep = ',';
            any = true;
        };
        for l in s.labels.iter() {
            if l.name == METRIC_NAME || l.value.is_empty() {
                continue;
            }
            label(out, l.name, l.value);
        }
        for (n, v) in external {
            if s.labels.get(n).is_none_or(str::is_empty) {
                label(out, n, v);
            }
        }
        if any {
            out.push('}');
        }
        out.push(' ');
        write_value(out, s.v);
        let _ = writeln!(out, " {}", s.t);
    }
}

#[cfg(test)]
mod tests;
