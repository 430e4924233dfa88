//! The parse error: one message, worded as Prometheus words it, and a line number.

use std::fmt;

/// A parse failure. `Display` gives exactly Prometheus's message (what users see as a
/// target's `lastError`), which carries no line number; [`ParseError::line`] has it.
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
        f.write_str(&self.msg)
    }
}
