//! [`ConfigError`]: what is wrong with a configuration or rule file, and where.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::yaml::decode::DecodeError;
use crate::yaml::Pos;

/// One problem, located by file and line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: Option<PathBuf>,
    /// 1-based line; `None` when the problem is not tied to a line (an unreadable file).
    pub line: Option<u32>,
    pub message: String,
}

impl fmt::Display for Problem {
    /// `prometheus.yml:12: field scrape_intervall not found in type config.ScrapeConfig`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: {}", file.display(), self.message),
            (Some(file), None) => write!(f, "{}: {}", file.display(), self.message),
            (None, Some(line)) => write!(f, "line {line}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Why a configuration or rule file was rejected: one or more [`Problem`]s. Displayed one
/// problem per line, each naming file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    /// A problem at a line of `file` (line 0 means "no line").
    pub(crate) fn at(file: Option<&Path>, pos: Pos, message: impl Into<String>) -> ConfigError {
        ConfigError {
            problems: vec![Problem {
                file: file.map(Path::to_path_buf),
                line: (pos.line > 0).then_some(pos.line),
                message: message.into(),
            }],
        }
    }

    /// A problem with a file as a whole.
    pub(crate) fn file(file: Option<&Path>, message: impl Into<String>) -> ConfigError {
        ConfigError::at(file, Pos::default(), message)
    }

    pub(crate) fn decode(file: Option<&Path>, e: DecodeError) -> ConfigError {
        ConfigError::at(file, e.pos, e.message)
    }

    pub(crate) fn from_problems(problems: Vec<Problem>) -> ConfigError {
        ConfigError { problems }
    }

    /// Every problem found (at least one).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The first problem's message, without its location.
    pub fn message(&self) -> &str {
        self.problems.first().map_or("", |p| p.message.as_str())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The largest configuration or rule file accepted.
pub const MAX_FILE_SIZE: u64 = 32 << 20;

/// Reads a file of at most [`MAX_FILE_SIZE`] bytes as UTF-8.
pub(crate) fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| ConfigError::file(Some(path), format!("cannot read file: {e}")))?;
    let mut buf = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ConfigError::file(Some(path), format!("cannot read file: {e}")))?;
    if buf.len() as u64 > MAX_FILE_SIZE {
        return Err(ConfigError::file(
            Some(path),
            format!("file is larger than {} bytes", MAX_FILE_SIZE),
        ));
    }
    String::from_utf8(buf).map_err(|_| ConfigError::file(Some(path), "file is not valid UTF-8"))
}
