//! Zero-copy parsers for the two text exposition formats a scrape target may answer in:
//! the Prometheus text format 0.0.4 and OpenMetrics 1.0.
//!
//! One [`Parser`] walks a scrape body entry by entry. It never allocates per line (only
//! when a label value, help text or quoted name carries escapes), never panics on any
//! input, and reports malformed input with Prometheus's wording so that the `lastError`
//! users see for a target reads as it does in Prometheus.

mod error;
mod format;
mod gofmt;
mod labels;
mod lexer;
mod parser;

pub use error::ParseError;
pub use format::{Entry, Format, MetricType};
pub use parser::{Exemplar, Parser};
