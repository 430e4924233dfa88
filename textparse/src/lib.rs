//! Zero-copy parsers for the two text exposition formats a scrape target may answer in:
//! the Prometheus text format 0.0.4 and OpenMetrics 1.0.
//!
//! One [`Parser`] walks a scrape body entry by entry. It never allocates per line (only
//! when a label value, help text or quoted name carries escapes), never panics on any
//! input, and reports malformed input with Prometheus's wording so that the `lastError`
//! users see for a target reads as it does in Prometheus.
//!
//! The lexer walks the same automata as Prometheus 3's golex-generated lexers (see
//! `lexer.rs`), so the quirks carry over: the text format allows blanks between label
//! terms, takes a NUL at the start of a line as the end of the body, and has no `\r`;
//! OpenMetrics needs `# EOF` and single spaces. Where Ember differs on purpose:
//! - text format: leading blanks on a sample line are not part of the metric name
//!   (Prometheus makes them part of it; the exposition spec says they are ignored);
//! - exemplar label values are unescaped like series labels (Prometheus keeps them raw);
//! - names that are not valid UTF-8 fail the parse here (`invalid UTF-8 metric name`);
//!   Prometheus fails the same scrape later with `invalid metric name or label names`;
//! - a label value followed by NULs before the next token ends at its closing quote
//!   (Prometheus's value would take the quote and the NULs).

mod error;
mod format;
mod gofmt;
mod labels;
mod lexer;
mod parser;

pub use error::ParseError;
pub use format::{Entry, Format, MetricType};
pub use parser::{Exemplar, Parser, EXEMPLAR_MAX_LABEL_SET_LENGTH};
