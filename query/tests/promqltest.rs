//! The PromQL conformance suite under `cargo test`: runs every `.test` script of
//! `../shared/promqltest/` (relative to the workspace root; `EMBER_PROMQLTEST_DIR`
//! overrides it) and fails when a case listed in the committed baseline
//! (`tests/promqltest-baseline.txt`, one `file:line` per passing case) does not pass.
//!
//! `EMBER_PROMQLTEST_UPDATE=1` rewrites the baseline from the current results. Cases that
//! pass but are not in the baseline are printed as a hint to update it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ember_query::promqltest::{run_files, test_engine_opts, test_files, Outcome};
use ember_query::Engine;

const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/promqltest-baseline.txt");

/// A case: file name and line, ordered by file then line.
type CaseId = (String, usize);

fn scripts_dir() -> PathBuf {
    match std::env::var_os("EMBER_PROMQLTEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/promqltest"),
    }
}

fn read_baseline() -> BTreeSet<CaseId> {
    let Ok(text) = std::fs::read_to_string(BASELINE) else {
        return BTreeSet::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, line) = l
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("{BASELINE}: bad entry {l:?}, want file:line"));
            let line = line
                .parse()
                .unwrap_or_else(|_| panic!("{BASELINE}: bad line number in {l:?}"));
            (file.to_string(), line)
        })
        .collect()
}

fn write_baseline(passing: &BTreeSet<CaseId>) {
    let mut text = String::from(
        "# PromQL conformance cases that pass (file:line); a case listed here must keep\n\
         # passing. Regenerate with EMBER_PROMQLTEST_UPDATE=1 cargo test -p ember-query --test promqltest\n",
    );
    for (file, line) in passing {
        text.push_str(&format!("{file}:{line}\n"));
    }
    std::fs::write(BASELINE, text).unwrap_or_else(|e| panic!("writing {BASELINE}: {e}"));
}

#[test]
fn promqltest_conformance() {
    let dir = scripts_dir();
    assert!(
        dir.is_dir(),
        "the promqltest scripts directory {} does not exist: check out the shared scripts \
         there or point EMBER_PROMQLTEST_DIR at a directory of .test files",
        dir.display()
    );
    let files = test_files(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    assert!(!files.is_empty(), "no .test files in {}", dir.display());

    let engine = Engine::new(test_engine_opts());
    let mut passing = BTreeSet::new();
    let mut failures = std::collections::BTreeMap::new();
    let mut total = ember_query::promqltest::Counts::default();
    for report in run_files(&files, &engine) {
        let report = report.unwrap_or_else(|e| panic!("{e}"));
        let counts = report.counts();
        println!("{}: {counts}", report.name);
        total += counts;
        for case in report.cases {
            let id = (report.name.clone(), case.line);
            match case.outcome {
                Outcome::Passed => {
                    passing.insert(id);
                }
                Outcome::Failed(why) => {
                    failures.insert(id, format!("{}\n        {why}", case.command));
                }
                Outcome::Unsupported(why) => {
                    failures.insert(id, format!("{} (unsupported: {why})", case.command));
                }
            }
        }
    }
    println!("{total}");

    if std::env::var_os("EMBER_PROMQLTEST_UPDATE").is_some_and(|v| v == "1") {
        write_baseline(&passing);
        println!("wrote {} passing cases to {BASELINE}", passing.len());
        return;
    }

    let baseline = read_baseline();
    let new: Vec<_> = passing.difference(&baseline).collect();
    if !new.is_empty() {
        println!(
            "hint: {} passing cases are not in the baseline; rerun with EMBER_PROMQLTEST_UPDATE=1 to add them:",
            new.len()
        );
        for (file, line) in new.iter().take(50) {
            println!("  {file}:{line}");
        }
    }
    let regressions: Vec<String> = baseline
        .difference(&passing)
        .map(|id| {
            let why = failures
                .get(id)
                .map_or("(no such case any more)", String::as_str);
            format!("  {}:{}: {why}", id.0, id.1)
        })
        .collect();
    assert!(
        regressions.is_empty(),
        "{} cases of the baseline no longer pass:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
}
