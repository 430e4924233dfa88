//! The promqltest conformance runner: runs Prometheus's PromQL test scripts against
//! Ember's engine and storage.
//!
//! A script (`*.test`, Prometheus's `promql/promqltest` format) is a sequence of commands:
//!
//! ```text
//! load 5m                                    # series, a point every 5m from t=0
//!     http_requests{job="api"} 0+10x10 _ stale
//! clear                                      # drop all data
//! eval instant at 50m sum(http_requests)     # a case: query, expectations, result
//!     expect no_warn
//!     {} 100
//! eval range from 0 to 10m step 5m http_requests
//!     http_requests{job="api"} 0 10 20
//! ```
//!
//! Each `eval` is one case, identified by file name and line. A case **passes** when the
//! engine's answers meet every expectation, **fails** otherwise, and is **unsupported**
//! when it needs data Ember does not store yet (native histograms, start timestamps): such
//! a case is never counted as passed or failed.
//!
//! | module     | concern                                                              |
//! |------------|----------------------------------------------------------------------|
//! | `series`   | series descriptions (`a+bxN`, `_`, `stale`), Go durations/numbers/strings |
//! | `script`   | commands and `expect` lines                                          |
//! | `compare`  | Prometheus's result, annotation and failure checks                  |
//! | `run`      | loading the head, running queries, `@` and range-mode re-runs        |

mod compare;
mod run;
mod script;
mod series;

use std::fmt;
use std::path::{Path, PathBuf};

pub use compare::{almost_equal, EPSILON};
pub use run::{run_script, test_engine_opts, QueryEngine};
pub use script::{
    parse_script, Command, Eval, EvalKind, Expectations, Expected, ExpectedSeries, Load,
    LoadSeries, RangeSteps, Script, SyntaxError, TextMatch,
};
pub use series::{parse_duration, parse_series, SeqValue};

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// What differed (expected vs got).
    Failed(String),
    /// Why Ember cannot run the case yet.
    Unsupported(String),
}

/// The result of one `eval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The 1-based line of the `eval` command.
    pub line: usize,
    /// The `eval` command as written.
    pub command: String,
    pub outcome: Outcome,
}

/// Case counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub unsupported: usize,
}

impl Counts {
    pub fn of(cases: &[CaseResult]) -> Counts {
        let mut c = Counts::default();
        for case in cases {
            match case.outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Failed(_) => c.failed += 1,
                Outcome::Unsupported(_) => c.unsupported += 1,
            }
        }
        c
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.unsupported += o.unsupported;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} unsupported",
            self.passed, self.failed, self.unsupported
        )
    }
}

/// The results of one script file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    /// The file name, which (with a line) names a case in baselines.
    pub name: String,
    pub cases: Vec<CaseResult>,
}

impl FileReport {
    pub fn counts(&self) -> Counts {
        Counts::of(&self.cases)
    }
}

/// Why a script could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("reading {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// Parses and runs a script given as text; `path` names it in reports.
pub fn run_source(
    path: &Path,
    text: &str,
    engine: &dyn QueryEngine,
) -> Result<FileReport, RunnerError> {
    let script = parse_script(text).map_err(|e| RunnerError::Syntax {
        file: path.display().to_string(),
        line: e.line,
        message: e.message,
    })?;
    Ok(FileReport {
        path: path.to_path_buf(),
        name: file_name(path),
        cases: run_script(&script, engine),
    })
}

/// Reads, parses and runs one script file.
pub fn run_file(path: &Path, engine: &dyn QueryEngine) -> Result<FileReport, RunnerError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunnerError::Io {
        file: path.display().to_string(),
        source,
    })?;
    run_source(path, &text, engine)
}

/// Runs script files on a few threads (files are independent); results in input order.
pub fn run_files(
    paths: &[PathBuf],
    engine: &dyn QueryEngine,
) -> Vec<Result<FileReport, RunnerError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<FileReport, RunnerError>>> =
        (0..paths.len()).map(|_| None).collect();
    let done = std::sync::Mutex::new(&mut results);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = paths.get(i) else {
                    break;
                };
                let r = run_file(path, engine);
                if let Ok(mut done) = done.lock() {
                    done[i] = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .zip(paths)
        .map(|(r, p)| {
            r.unwrap_or_else(|| {
                Err(RunnerError::Io {
                    file: p.display().to_string(),
                    source: std::io::Error::other("the runner thread stopped"),
                })
            })
        })
        .collect()
}

/// The `*.test` files of a directory, sorted by name.
pub fn test_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "test") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests;
