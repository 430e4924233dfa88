//! The parse error: one message, worded as Prometheus words it, and a line number.

use std::fmt;

/// A parse failure: `Display` gives Prometheus's wording where Prometheus has one,
/// followed by the 1-based line number of the offending entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    msg: String,
    line: usize,
}

impl ParseError {
    pub(crate) fn new(line: usize, msg: String) -> ParseError {
        ParseError { msg, line }
    }

    /// The 1-based line number the error was found on.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The message alone, without the line number (Prometheus's exact text).
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (line {})", self.msg, self.line)
    }
}
