//! The small vocabulary types: the body's format, a family's type, and entry kinds.

/// Which exposition format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain`).
    PromText,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

impl Format {
    /// The format of a scrape response from its Content-Type header, as Prometheus 3
    /// decides it: `application/openmetrics-text` (any version parameter) → OpenMetrics,
    /// `text/plain` → PromText, anything else (or an unparsable header) → None.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let (media_type, params) = content_type.split_once(';').unwrap_or((content_type, ""));
        let media_type = media_type.trim();
        if !params_are_valid(params) {
            // Go's mime.ParseMediaType fails; Prometheus then treats the type as unknown.
            return None;
        }
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Format::OpenMetrics)
        } else if media_type.eq_ignore_ascii_case("text/plain") {
            Some(Format::PromText)
        } else {
            None
        }
    }
}

/// Media type parameters as Go's `mime.ParseMediaType` accepts them: `key=value` or
/// `key="quoted value"` separated by `;`, a trailing `;` allowed.
fn params_are_valid(params: &str) -> bool {
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&c))
    };
    let mut rest = params;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return true;
        }
        let Some((key, after)) = rest.split_once('=') else {
            return rest.trim() == ";";
        };
        if !is_token(key.trim_end()) {
            return false;
        }
        let after = after.trim_start();
        let value_end = if let Some(q) = after.strip_prefix('"') {
            let mut escaped = false;
            let Some(end) = q.char_indices().find_map(|(i, c)| {
                let close = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                close.then_some(i)
            }) else {
                return false;
            };
            end + 2
        } else {
            let end = after.find(';').unwrap_or(after.len());
            if !is_token(after[..end].trim_end()) {
                return false;
            }
            end
        };
        rest = after[value_end..].trim_start();
        match rest.strip_prefix(';') {
            Some(r) => rest = r,
            None if rest.is_empty() => return true,
            None => return false,
        }
    }
}

/// The metric type from a `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// `untyped` in the text format, `unknown` in OpenMetrics.
    #[default]
    Unknown,
}

impl MetricType {
    /// Prometheus's name for the type, as `/api/v1/metadata` shows it.
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// What the last [`crate::Parser::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A sample line: read it with `series()`, `labels()`, `metric_name()`, `exemplar()`.
    Series,
    /// A `# TYPE` line: `metric_type()`.
    Type,
    /// A `# HELP` line: `help()`.
    Help,
    /// A `# UNIT` line (OpenMetrics): `unit()`.
    Unit,
    /// Any other comment line.
    Comment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_map_as_in_prometheus() {
        let cases = [
            ("text/plain; version=0.0.4; charset=utf-8", Some(Format::PromText)),
            ("text/plain", Some(Format::PromText)),
            (" Text/Plain ;charset=utf-8", Some(Format::PromText)),
            (
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                Some(Format::OpenMetrics),
            ),
            ("application/openmetrics-text; version=0.0.1", Some(Format::OpenMetrics)),
            ("application/openmetrics-text", Some(Format::OpenMetrics)),
            ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", None),
            ("application/json", None),
            ("text/html", None),
            ("", None),
            ("text/plain;", Some(Format::PromText)),
            ("text/plain; charset=\"utf-8\"", Some(Format::PromText)),
            ("text/plain; foo", None),
            ("text/plain; =x", None),
        ];
        for (ct, want) in cases {
            assert_eq!(Format::from_content_type(ct), want, "{ct:?}");
        }
    }

    #[test]
    fn metric_type_names_are_prometheus_names() {
        assert_eq!(MetricType::GaugeHistogram.as_str(), "gaugehistogram");
        assert_eq!(MetricType::StateSet.as_str(), "stateset");
        assert_eq!(MetricType::Unknown.as_str(), "unknown");
        assert_eq!(MetricType::Counter.as_str(), "counter");
    }
}
