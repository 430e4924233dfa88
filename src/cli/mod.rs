//! The command line: every Prometheus 3 flag, parsed with kingpin's rules.
//!
//! - [`spec`]: the table of flags (names, notations, defaults, what each does in Ember).
//! - [`parse`](mod@parse): the kingpin-compatible parser.
//! - [`units`]: Prometheus's duration and byte-size notations.
//! - [`options`]: the typed settings the daemon runs with, and the start-up checks.
//! - [`help`]: `--help` and the Markdown flag reference.

pub mod help;
pub mod options;
pub mod parse;
pub mod spec;
pub mod units;

pub use options::{LogFormat, LogLevel, LogOptions, Notice, Options};
pub use parse::{parse, Command};
