//! The runner end to end, against fake engines: one that answers plain selectors from the
//! real head (so loads, `@` re-runs and range-mode checks are exercised with real data),
//! and ones that record or script their answers.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ember_storage::chunkenc::{is_stale_nan, SampleIterator, ValueType};
use ember_storage::labels::METRIC_NAME;
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::Queryable;
use ember_storage::Labels;
use promql_parser::parser::{AtModifier, Expr};

use super::*;
use crate::annotations::Annotations;
use crate::engine::{QueryResult, QueryStats};
use crate::error::QueryError;
use crate::positions::Pos;
use crate::value::{FPoint, Sample, Series, Value};

fn ok(value: Value) -> Result<QueryResult, QueryError> {
    Ok(QueryResult {
        value,
        annotations: Annotations::new(),
        stats: QueryStats::default(),
    })
}

/// Answers number and string literals, and bare metric names (with an optional `@`) with
/// a 5m lookback over the head; anything else is an execution error.
struct SelectorEngine;

enum Plan {
    Number(f64),
    Text(String),
    Selector { name: String, at: Option<i64> },
}

fn plan(query: &str) -> Result<Plan, QueryError> {
    let expr = crate::engine::Engine::parse(query)?;
    match expr {
        Expr::NumberLiteral(n) => Ok(Plan::Number(n.val)),
        Expr::StringLiteral(s) => Ok(Plan::Text(s.val)),
        Expr::VectorSelector(vs) if vs.offset.is_none() && vs.name.is_some() => {
            let at = match vs.at {
                None => None,
                Some(AtModifier::At(t)) => Some(match t.duration_since(SystemTime::UNIX_EPOCH) {
                    Ok(d) => d.as_millis() as i64,
                    Err(e) => -(e.duration().as_millis() as i64),
                }),
                Some(_) => return Err(QueryError::exec("fake: no start()/end()")),
            };
            Ok(Plan::Selector {
                name: vs.name.unwrap_or_default(),
                at,
            })
        }
        _ => Err(QueryError::exec(format!("fake engine cannot run {query}"))),
    }
}

/// All series named `name`, with their samples.
fn series(storage: &dyn Queryable, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let q = storage.querier(i64::MIN, i64::MAX).unwrap();
    let m = Matcher::new(MatchOp::Equal, METRIC_NAME, name).unwrap();
    let mut out = Vec::new();
    for s in q.select(true, None, &[m]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut pts = Vec::new();
        while it.next() == ValueType::Float {
            pts.push(it.at());
        }
        out.push((s.labels().clone(), pts));
    }
    out
}

/// The value a selector has at `t`: the newest sample in `(t-5m, t]`, unless stale.
fn at_time(pts: &[(i64, f64)], t: i64) -> Option<f64> {
    let (_, v) = pts
        .iter()
        .rev()
        .find(|(st, _)| *st <= t && *st > t - 300_000)?;
    (!is_stale_nan(*v)).then_some(*v)
}

impl QueryEngine for SelectorEngine {
    fn instant(
        &self,
        storage: &dyn Queryable,
        query: &str,
        t: i64,
    ) -> Result<QueryResult, QueryError> {
        match plan(query)? {
            Plan::Number(v) => ok(Value::Scalar { t, v }),
            Plan::Text(v) => ok(Value::String { t, v }),
            Plan::Selector { name, at } => {
                let samples = series(storage, &name)
                    .into_iter()
                    .filter_map(|(metric, pts)| {
                        at_time(&pts, at.unwrap_or(t)).map(|f| Sample { metric, t, f })
                    })
                    .collect();
                ok(Value::Vector(samples))
            }
        }
    }

    fn range(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError> {
        let steps: Vec<i64> = (0..)
            .map(|i| start + i * step)
            .take_while(|t| *t <= end)
            .collect();
        let matrix = match plan(query)? {
            Plan::Number(v) => vec![Series::new(
                Labels::empty(),
                steps.iter().map(|&t| FPoint { t, f: v }).collect(),
            )],
            Plan::Text(_) => return Err(QueryError::exec("fake: string range query")),
            Plan::Selector { name, at } => series(storage, &name)
                .into_iter()
                .filter_map(|(metric, pts)| {
                    let floats: Vec<FPoint> = steps
                        .iter()
                        .filter_map(|&t| at_time(&pts, at.unwrap_or(t)).map(|f| FPoint { t, f }))
                        .collect();
                    (!floats.is_empty()).then(|| Series::new(metric, floats))
                })
                .collect(),
        };
        ok(Value::Matrix(matrix))
    }
}

fn run(script: &str, engine: &dyn QueryEngine) -> Vec<(usize, Outcome)> {
    let report = run_source(Path::new("fake.test"), script, engine).unwrap();
    report
        .cases
        .into_iter()
        .map(|c| (c.line, c.outcome))
        .collect()
}

fn assert_outcomes(results: &[(usize, Outcome)], expected: &[(usize, &str)]) {
    let got: Vec<(usize, &str)> = results
        .iter()
        .map(|(l, o)| {
            (
                *l,
                match o {
                    Outcome::Passed => "passed",
                    Outcome::Failed(_) => "failed",
                    Outcome::Unsupported(_) => "unsupported",
                },
            )
        })
        .collect();
    assert_eq!(got, expected, "{results:#?}");
}

#[test]
fn cases_over_loaded_data() {
    let script = r#"
load 1m
  metric{a="1"} 1 2 3 _ stale 6
  metric{a="2"} 10+10x5
  hist {{schema:0 sum:1 count:1}} 1

# Both series, also with @ at other times and in range mode.
eval instant at 2m metric
  metric{a="1"} 3
  metric{a="2"} 30

# A wrong value fails.
eval instant at 2m metric
  metric{a="1"} 3
  metric{a="2"} 31

# A missing series fails.
eval instant at 2m metric
  metric{a="2"} 30

# The staleness marker at 4m ends the series; 10 + 4*10 = 50 for the other.
eval instant at 4m metric
  metric{a="2"} 50

eval range from 0 to 5m step 1m metric
  metric{a="1"} 1 2 3 3 _ 6
  metric{a="2"} 10+10x5

eval range from 0 to 5m step 1m metric
  metric{a="1"} 1 2 3 3 6 6
  metric{a="2"} 10+10x5

eval instant at 0 1.5
  1.5000001

eval instant at 0 "text"
  expect string "text"

eval instant at 0 rate(metric[1m])
  expect fail regex: fake engine cannot

eval instant at 0 rate(metric[1m])
  expect fail msg: something else

eval instant at 0 metric
  expect fail

eval instant at 1m hist
  {} 1

eval instant at 1m metric
  expect ordered
  metric{a="1"} 2
  metric{a="2"} 20

clear

# After clear: no data, and the histogram series is gone.
eval instant at 1m hist

eval instant at 1m metric
"#;
    let results = run(script, &SelectorEngine);
    assert_outcomes(
        &results,
        &[
            (8, "passed"),
            (13, "failed"),
            (18, "failed"),
            (22, "passed"),
            (25, "passed"),
            (29, "failed"),
            (33, "passed"),
            (36, "passed"),
            (39, "passed"),
            (42, "failed"),
            (45, "failed"),
            (48, "unsupported"),
            (51, "passed"),
            (59, "passed"),
            (61, "passed"),
        ],
    );
    let Outcome::Failed(msg) = &results[1].1 else {
        panic!()
    };
    assert!(
        msg.contains("expected 31") && msg.contains("got 30"),
        "{msg}"
    );
    let Outcome::Unsupported(msg) = &results[11].1 else {
        panic!()
    };
    assert!(msg.contains("native histograms"), "{msg}");
}

#[test]
fn nhcb_loads() {
    let script = r#"
load_with_nhcb 1m
  h_bucket{le="1"} 1
  h_bucket{le="+Inf"} 2
  h_count 2

eval instant at 0 h_bucket
  h_bucket{le="1"} 1
  h_bucket{le="+Inf"} 2

eval instant at 0 h
  {} 1

eval instant at 0 h_count
  h_count 2
"#;
    assert_outcomes(
        &run(script, &SelectorEngine),
        &[(7, "passed"), (11, "unsupported"), (14, "passed")],
    );
}

#[test]
fn expected_histograms_are_unsupported() {
    let script = "load 1m\n  m 1\n\neval instant at 0 m\n  m {{count:1}}\n";
    assert_outcomes(&run(script, &SelectorEngine), &[(4, "unsupported")]);
}

#[test]
fn failed_load_fails_later_cases() {
    // The second load is more than 12h older than the newest sample: out of bounds.
    let script = "load 1h\n  a 0+1x24\n\nload 1m\n  b 1\n\neval instant at 0 b\n  b 1\n\nclear\n\nload 1m\n  b 1\n\neval instant at 0 b\n  b 1\n";
    let results = run(script, &SelectorEngine);
    assert_outcomes(&results, &[(7, "failed"), (15, "passed")]);
    let Outcome::Failed(msg) = &results[0].1 else {
        panic!()
    };
    assert!(msg.contains("load at line 4"), "{msg}");
}

/// Records every query and answers from a script of canned results.
struct Recorder {
    calls: Mutex<Vec<String>>,
    instant: fn(&str) -> Result<QueryResult, QueryError>,
}

impl QueryEngine for Recorder {
    fn instant(&self, _: &dyn Queryable, query: &str, t: i64) -> Result<QueryResult, QueryError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("instant {t} {query}"));
        (self.instant)(query)
    }

    fn range(
        &self,
        _: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("range {start}..{end}/{step} {query}"));
        ok(Value::Matrix(vec![]))
    }
}

fn recorder(instant: fn(&str) -> Result<QueryResult, QueryError>) -> Recorder {
    Recorder {
        calls: Mutex::new(Vec::new()),
        instant,
    }
}

#[test]
fn instant_cases_rerun_with_at_and_as_ranges() {
    let engine = recorder(|_| ok(Value::Vector(vec![])));
    let results = run("eval instant at 1m rate(foo[5m]) + bar\n", &engine);
    assert_outcomes(&results, &[(1, "passed")]);
    let variant = "rate(foo[5m] @ 60.000) + bar @ 60.000";
    let mut expected = vec![
        "instant 60000 rate(foo[5m]) + bar".to_string(),
        "range 0..120000/60000 rate(foo[5m]) + bar".to_string(),
    ];
    for t in [-600_000, 0, 12_000, 60_000, 600_000] {
        expected.push(format!("instant {t} {variant}"));
        expected.push(format!(
            "range {}..{}/60000 {variant}",
            t - 60_000,
            t + 60_000
        ));
    }
    assert_eq!(*engine.calls.lock().unwrap(), expected);

    // No @ re-runs for time-dependent functions; no range mode for range vectors.
    let engine = recorder(|_| ok(Value::Vector(vec![])));
    run("eval instant at 1m time()\n", &engine);
    assert_eq!(engine.calls.lock().unwrap().len(), 2);
    let engine = recorder(|_| ok(Value::Matrix(vec![])));
    let results = run(
        "eval instant at 1m foo[1m]\n  expect range vector from 0 to 1m step 30s\n",
        &engine,
    );
    assert_outcomes(&results, &[(1, "passed")]);
    assert!(engine
        .calls
        .lock()
        .unwrap()
        .iter()
        .all(|c| c.starts_with("instant")));

    // Range cases run once.
    let engine = recorder(|_| ok(Value::Vector(vec![])));
    run("eval range from 0 to 10m step 5m foo\n", &engine);
    assert_eq!(
        *engine.calls.lock().unwrap(),
        ["range 0..600000/300000 foo"]
    );
}

#[test]
fn annotations_are_checked_on_every_run() {
    // A warning whose position moves with the text: the variant's position differs, so
    // an exact position only holds for the first run.
    let engine = recorder(|q| {
        let mut a = Annotations::new();
        let col = q.find("bar").unwrap() as u32 + 1;
        a.warn("w", Some(Pos { line: 1, col }));
        Ok(QueryResult {
            value: Value::Vector(vec![]),
            annotations: a,
            stats: QueryStats::default(),
        })
    });
    let exact = "eval instant at 1m foo + bar\n  expect warn msg: PromQL warning: w (1:7)\n";
    let results = run(exact, &engine);
    let Outcome::Failed(msg) = &results[0].1 else {
        panic!("{results:?}")
    };
    assert!(msg.contains("with @ modifiers"), "{msg}");
    let loose = "eval instant at 1m foo + bar\n  expect warn regex: PromQL warning: w \\([0-9]+:[0-9]+\\)\n";
    assert_outcomes(&run(loose, &engine), &[(1, "passed")]);
}

#[test]
fn engine_panics_fail_the_case() {
    let engine = recorder(|_| panic!("boom"));
    let results = run("eval instant at 0 foo\n\neval instant at 0 foo\n", &engine);
    assert_eq!(results.len(), 2);
    for (_, o) in &results {
        assert!(
            matches!(o, Outcome::Failed(m) if m.contains("panicked: boom")),
            "{o:?}"
        );
    }
}

#[test]
fn range_mode_must_agree() {
    // The instant query says 1, the range query has nothing at t.
    let engine = recorder(|_| {
        ok(Value::Vector(vec![Sample {
            metric: Labels::from_pairs([("__name__", "foo")]),
            t: 0,
            f: 1.0,
        }]))
    });
    let results = run("eval instant at 0 foo\n  foo 1\n", &engine);
    let Outcome::Failed(msg) = &results[0].1 else {
        panic!("{results:?}")
    };
    assert!(
        msg.contains("range mode") && msg.contains("not found"),
        "{msg}"
    );
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let err = run_source(
        Path::new("dir/bad.test"),
        "load 1m\n  a 1\n\nevil\n",
        &SelectorEngine,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "dir/bad.test:4: invalid command \"evil\"");
}

#[test]
fn counts() {
    let c = Counts::of(&[
        CaseResult {
            line: 1,
            command: String::new(),
            outcome: Outcome::Passed,
        },
        CaseResult {
            line: 2,
            command: String::new(),
            outcome: Outcome::Unsupported(String::new()),
        },
    ]);
    assert_eq!(c.to_string(), "1 passed, 0 failed, 1 unsupported");
    let _ = Duration::ZERO;
}

/// Every exact position in a shared script's `expect warn|info msg:` line must be where
/// `Positions` puts some node of the query (Prometheus's scripts were written against
/// Prometheus's positions, so this checks ours against them).
#[test]
fn shared_script_positions_are_node_starts() {
    let dir = std::env::var("EMBER_PROMQLTEST_DIR").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/promqltest").to_string()
    });
    let Ok(files) = test_files(Path::new(&dir)) else {
        eprintln!("{dir} not found: not checking the shared scripts' positions here");
        return;
    };
    let position = regex::Regex::new(r"\((\d+):(\d+)\)$").unwrap();
    let mut checked = 0;
    for path in files {
        let script = parse_script(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for cmd in &script.commands {
            let Command::Eval(eval) = cmd else { continue };
            let exact = eval.expect.warn.iter().chain(&eval.expect.info);
            for m in exact {
                let TextMatch::Exact(msg) = m else { continue };
                let Some(c) = position.captures(msg) else {
                    continue;
                };
                let want = Pos {
                    line: c[1].parse().unwrap(),
                    col: c[2].parse().unwrap(),
                };
                let expr = crate::engine::Engine::parse(&eval.query).unwrap();
                let positions = crate::positions::Positions::compute(&eval.query, &expr);
                let mut starts = Vec::new();
                node_positions(&expr, &positions, &mut starts);
                assert!(
                    starts.contains(&want),
                    "{}:{}: no node of {:?} starts at {want}; nodes start at {starts:?}",
                    path.display(),
                    eval.line,
                    eval.query
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no exact positions found in {dir}");
}

fn node_positions(e: &Expr, p: &crate::positions::Positions, out: &mut Vec<Pos>) {
    out.extend(p.of(e));
    match e {
        Expr::Aggregate(a) => {
            if let Some(x) = &a.param {
                node_positions(x, p, out);
            }
            node_positions(&a.expr, p, out);
        }
        Expr::Unary(u) => node_positions(&u.expr, p, out),
        Expr::Binary(b) => {
            node_positions(&b.lhs, p, out);
            node_positions(&b.rhs, p, out);
        }
        Expr::Paren(x) => node_positions(&x.expr, p, out),
        Expr::Subquery(s) => node_positions(&s.expr, p, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                node_positions(a, p, out);
            }
        }
        _ => {}
    }
}
