//! Runs Prometheus promqltest scripts against Ember's PromQL engine.
//!
//! ```text
//! promqltest [-v] FILE...
//! ```
//!
//! Prints each failing case (`file:line`, the eval command, what differed), then one line
//! of counts per file, and ends with exactly one line `N passed, M failed, K unsupported`.
//! `-v` also lists unsupported cases with the reason. The exit code is 0 only when no case
//! failed and every file could be read and parsed.

use std::path::PathBuf;
use std::process::ExitCode;

use ember_query::promqltest::{run_files, test_engine_opts, Counts, Outcome};
use ember_query::Engine;

const USAGE: &str = "usage: promqltest [-v] FILE...";

fn main() -> ExitCode {
    let mut verbose = false;
    let mut files = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("-v" | "--verbose") => verbose = true,
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Some(s) if s.starts_with('-') && s.len() > 1 => {
                eprintln!("unknown flag {s}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => files.push(PathBuf::from(arg)),
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }

    let engine = Engine::new(test_engine_opts());
    let mut total = Counts::default();
    let mut broken_files = 0;
    for report in run_files(&files, &engine) {
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                broken_files += 1;
                continue;
            }
        };
        let file = report.path.display();
        for case in &report.cases {
            match &case.outcome {
                Outcome::Failed(why) => {
                    println!("FAIL {file}:{}: {}", case.line, case.command);
                    for line in why.lines() {
                        println!("    {line}");
                    }
                }
                Outcome::Unsupported(why) if verbose => {
                    println!("UNSUPPORTED {file}:{}: {}", case.line, case.command);
                    println!("    {why}");
                }
                _ => {}
            }
        }
        let counts = report.counts();
        println!("{file}: {counts}");
        total += counts;
    }
    println!("{total}");
    if total.failed == 0 && broken_files == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
