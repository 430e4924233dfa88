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
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Format::OpenMetrics)
        } else if media_type.eq_ignore_ascii_case("text/plain") {
            Some(Format::PromText)
        } else {
            None
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
