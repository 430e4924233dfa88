//! The evaluator end to end over a real (in-memory) head: selectors with lookback,
//! `offset`, `@`, subqueries, literals, result shapes and type errors. Expected values
//! follow Prometheus's documented semantics (docs/querying/basics.md): left-open lookback
//! and range windows, staleness markers ending a series, subquery steps aligned to
//! absolute multiples of the step.

use std::sync::Arc;

use ember_query::{Engine, EngineOpts, QueryError, QueryOpts, Sample, Series, Value};
use ember_storage::chunkenc::stale_nan;
use ember_storage::head::{Head, HeadOptions};
use ember_storage::Labels;

const S: i64 = 1000;
const M: i64 = 60 * S;

/// A series to load: its label pairs and samples.
type Load<'a> = (&'a [(&'a str, &'a str)], Vec<(i64, f64)>);

fn head_with(series: &[Load<'_>]) -> Arc<Head> {
    let head = Head::in_memory(HeadOptions {
        stripes: 8,
        ..HeadOptions::default()
    });
    let mut app = head.appender();
    for (labels, samples) in series {
        let l = Labels::from_pairs(labels.iter().copied());
        for &(t, v) in samples {
            app.append(None, l.as_ref(), t, v).unwrap();
        }
    }
    app.commit().unwrap();
    head
}

/// `metric{job="a"}` = 0,1,2,... every minute for 20 minutes; `metric{job="b"}` = 10 at
/// 0m and a staleness marker at 3m.
fn data() -> Arc<Head> {
    head_with(&[
        (
            &[("__name__", "metric"), ("job", "a")],
            (0..20).map(|i| (i * M, i as f64)).collect(),
        ),
        (
            &[("__name__", "metric"), ("job", "b")],
            vec![(0, 10.0), (3 * M, stale_nan())],
        ),
    ])
}

fn engine() -> Engine {
    Engine::new(EngineOpts::default())
}

fn instant(h: &Arc<Head>, q: &str, t: i64) -> Result<Value, QueryError> {
    engine()
        .instant(h, q, t, &QueryOpts::default())
        .map(|r| r.value)
}

fn range(h: &Arc<Head>, q: &str, start: i64, end: i64, step: i64) -> Result<Value, QueryError> {
    engine()
        .range(h, q, start, end, step, &QueryOpts::default())
        .map(|r| r.value)
}

fn job(j: &str) -> Labels {
    Labels::from_pairs([("__name__", "metric"), ("job", j)])
}

fn sorted(mut v: Vec<Sample>) -> Vec<Sample> {
    v.sort_by(|a, b| a.metric.cmp(&b.metric));
    v
}

#[test]
fn instant_selector_with_lookback_and_staleness() {
    let h = data();
    let v = instant(&h, "metric", 2 * M + 30 * S).unwrap();
    let Value::Vector(v) = v else { panic!("{v:?}") };
    assert_eq!(
        sorted(v),
        [
            Sample {
                metric: job("a"),
                t: 2 * M + 30 * S,
                f: 2.0
            },
            Sample {
                metric: job("b"),
                t: 2 * M + 30 * S,
                f: 10.0
            },
        ]
    );
    // After the staleness marker, b is gone; a sample exactly 5m old is out of the window.
    let Value::Vector(v) = instant(&h, "metric", 3 * M).unwrap() else {
        panic!()
    };
    assert_eq!(v.len(), 1);
    let Value::Vector(v) = instant(&h, "metric", 24 * M).unwrap() else {
        panic!()
    };
    assert!(v.is_empty(), "{v:?}");
    let Value::Vector(v) = instant(&h, "metric", 24 * M - 1).unwrap() else {
        panic!()
    };
    assert_eq!(v[0].f, 19.0);
}

#[test]
fn range_query_shapes_and_sorting() {
    let h = data();
    let Value::Matrix(m) = range(&h, "metric", 0, 4 * M, M).unwrap() else {
        panic!()
    };
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].metric, job("a"));
    assert_eq!(
        m[0].floats.iter().map(|p| p.f).collect::<Vec<_>>(),
        [0.0, 1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(
        m[1].floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
        [(0, 10.0), (M, 10.0), (2 * M, 10.0)]
    );
    // A scalar in a range query is a series without labels.
    let Value::Matrix(m) = range(&h, "-(2)", 0, 2 * M, M).unwrap() else {
        panic!()
    };
    assert_eq!(
        m,
        [Series::new(
            Labels::empty(),
            vec![
                ember_query::FPoint { t: 0, f: -2.0 },
                ember_query::FPoint { t: M, f: -2.0 },
                ember_query::FPoint { t: 2 * M, f: -2.0 },
            ]
        )]
    );
}

#[test]
fn offset_and_at_modifiers() {
    let h = data();
    let Value::Vector(v) = instant(&h, "metric{job=\"a\"} offset 5m", 10 * M).unwrap() else {
        panic!()
    };
    assert_eq!(v[0].f, 5.0);
    let Value::Vector(v) = instant(&h, "metric{job=\"a\"} offset -5m", 10 * M).unwrap() else {
        panic!()
    };
    assert_eq!(v[0].f, 15.0);
    // @ fixes the evaluation time for every step; the output stays at the step times.
    let Value::Matrix(m) = range(&h, "metric{job=\"a\"} @ 120", 5 * M, 7 * M, M).unwrap() else {
        panic!()
    };
    assert_eq!(
        m[0].floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
        [(5 * M, 2.0), (6 * M, 2.0), (7 * M, 2.0)]
    );
    let Value::Matrix(m) =
        range(&h, "metric{job=\"a\"} @ end() offset 1m", 5 * M, 7 * M, M).unwrap()
    else {
        panic!()
    };
    assert!(m[0].floats.iter().all(|p| p.f == 6.0));
    let Value::Matrix(m) = range(&h, "metric{job=\"a\"} @ start()", 5 * M, 7 * M, M).unwrap()
    else {
        panic!()
    };
    assert!(m[0].floats.iter().all(|p| p.f == 5.0));
}

#[test]
fn range_vectors_are_left_open() {
    let h = data();
    let Value::Matrix(m) = instant(&h, "metric{job=\"a\"}[3m]", 10 * M).unwrap() else {
        panic!()
    };
    // (7m, 10m]: 8, 9, 10; the sample at exactly 7m is excluded.
    assert_eq!(
        m[0].floats.iter().map(|p| p.t / M).collect::<Vec<_>>(),
        [8, 9, 10]
    );
    // Staleness markers are not part of range vectors.
    let Value::Matrix(m) = instant(&h, "metric{job=\"b\"}[10m]", 5 * M).unwrap() else {
        panic!()
    };
    assert_eq!(m[0].floats.len(), 1);
}

#[test]
fn subquery_steps_are_aligned_to_absolute_time() {
    let h = data();
    // Steps of 2m after 10m - 5m = 5m, up to 10m: 6m, 8m, 10m.
    let Value::Matrix(m) = instant(&h, "metric{job=\"a\"}[5m:2m]", 10 * M).unwrap() else {
        panic!()
    };
    assert_eq!(
        m[0].floats
            .iter()
            .map(|p| (p.t / M, p.f))
            .collect::<Vec<_>>(),
        [(6, 6.0), (8, 8.0), (10, 10.0)]
    );
    // With an offset, the window moves to (4m, 9m]; the grid stays absolute: 6m, 8m.
    let Value::Matrix(m) = instant(&h, "metric{job=\"a\"}[5m:2m] offset 1m", 10 * M).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        m[0].floats.iter().map(|p| p.t / M).collect::<Vec<_>>(),
        [6, 8]
    );
}

#[test]
fn literals_and_types() {
    let h = data();
    assert_eq!(
        instant(&h, "0x10", 0).unwrap(),
        Value::Scalar { t: 0, v: 16.0 }
    );
    assert_eq!(
        instant(&h, "\"hi\"", 5).unwrap(),
        Value::String {
            t: 5,
            v: "hi".into()
        }
    );
    assert_eq!(
        range(&h, "metric[5m]", 0, M, M).unwrap_err(),
        QueryError::Parse("invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into())
    );
    assert!(matches!(
        instant(&h, "metric{", 0),
        Err(QueryError::Parse(_))
    ));
    // Unary minus drops the metric name.
    let Value::Vector(v) = instant(&h, "-metric{job=\"a\"}", 2 * M).unwrap() else {
        panic!()
    };
    assert_eq!(
        v,
        [Sample {
            metric: Labels::from_pairs([("job", "a")]),
            t: 2 * M,
            f: -2.0
        }]
    );
}

#[test]
fn timestamp_of_a_selector_returns_sample_times() {
    let h = data();
    let Value::Vector(v) = instant(&h, "timestamp(metric{job=\"a\"})", 2 * M + 30 * S).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        v,
        [Sample {
            metric: Labels::from_pairs([("job", "a")]),
            t: 2 * M + 30 * S,
            f: 120.0
        }]
    );
}

#[test]
fn limits_timeouts_and_cancellation() {
    let h = data();
    let small = Engine::new(EngineOpts {
        max_samples: 3,
        ..EngineOpts::default()
    });
    let err = small
        .range(&h, "metric", 0, 10 * M, M, &QueryOpts::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
    let cancel = ember_query::CancelToken::new();
    cancel.cancel();
    let err = engine()
        .instant(
            &h,
            "metric",
            0,
            &QueryOpts {
                cancel: Some(cancel),
                ..QueryOpts::default()
            },
        )
        .unwrap_err();
    assert_eq!(err, QueryError::Canceled("expression evaluation"));
    let err = engine()
        .instant(
            &h,
            "metric",
            0,
            &QueryOpts {
                timeout: Some(std::time::Duration::ZERO),
                ..QueryOpts::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, QueryError::Timeout(_)), "{err:?}");
}

/// `fill` modifiers are behind a feature flag in Prometheus; without it they are a parse
/// error (bad_data), not an evaluation error.
#[test]
fn binop_fill_modifiers_are_parse_errors() {
    let h = data();
    for q in [
        "metric + on(job) fill(0) metric",
        "sum(metric - ignoring(job) fill_left(1) metric)",
    ] {
        match instant(&h, q, 5 * M) {
            Err(QueryError::Parse(msg)) => {
                assert!(msg.contains("fill modifiers"), "{q}: {msg}")
            }
            other => panic!("{q}: want a parse error, got {other:?}"),
        }
    }
}

/// `start()`, `end()`, `range()` and `step()` are the query's own boundaries in seconds;
/// inside a subquery they still refer to the outer query.
#[test]
fn query_boundary_functions() {
    let h = data();
    let r = engine()
        .range(
            &h,
            "max_over_time(vector(end() - start() + step())[5m:1m])",
            60 * S,
            180 * S,
            60 * S,
            &QueryOpts::default(),
        )
        .unwrap();
    let Value::Matrix(m) = r.value else {
        panic!("want a matrix")
    };
    assert_eq!(m.len(), 1);
    assert!(
        m[0].floats.iter().all(|p| p.f == 180.0),
        "{:?}",
        m[0].floats
    );
}

/// Many series: one query's per-series work is split over threads; the answers, the
/// annotations and the sample statistics are those of a single thread, and the sample
/// limit holds across the threads.
#[test]
fn threads_give_the_single_threaded_answer() {
    let h = Head::in_memory(HeadOptions::default());
    let mut app = h.appender();
    for i in 0..3000i64 {
        let name = if i % 3 == 0 { "m_total" } else { "m" };
        let l = Labels::from_pairs([
            ("__name__", name.to_string()),
            ("i", i.to_string()),
            ("job", format!("j{}", i % 7)),
        ]);
        // A reset now and then, and series that end early (staleness by lookback).
        for k in 0..(40 + i % 41) {
            let v = ((k * (i % 5 + 1)) % (50 + i % 13)) as f64;
            app.append(None, l.as_ref(), k * 15 * S, v).unwrap();
        }
    }
    app.commit().unwrap();
    let one = Engine::new(EngineOpts {
        threads: 1,
        ..EngineOpts::default()
    });
    let four = Engine::new(EngineOpts {
        threads: 4,
        ..EngineOpts::default()
    });
    for q in [
        "{__name__=~\"m.*\"}",
        "rate({__name__=~\"m.*\"}[2m])",
        "sum by (job) (increase(m_total[5m]))",
        "timestamp(m)",
        "max_over_time(m[1m]) - min_over_time(m[1m])",
        "absent_over_time(nothing[1m])",
    ] {
        let a = one
            .range(&h, q, 0, 12 * M, 30 * S, &QueryOpts::default())
            .unwrap();
        let b = four
            .range(&h, q, 0, 12 * M, 30 * S, &QueryOpts::default())
            .unwrap();
        assert_eq!(a.value, b.value, "{q}");
        assert_eq!(
            a.annotations.iter().collect::<Vec<_>>(),
            b.annotations.iter().collect::<Vec<_>>(),
            "{q}"
        );
        assert_eq!(
            a.stats.total_queryable_samples, b.stats.total_queryable_samples,
            "{q}"
        );
    }
    let tight = Engine::new(EngineOpts {
        threads: 4,
        max_samples: 10_000,
        ..EngineOpts::default()
    });
    let err = tight
        .range(&h, "rate(m[5m])", 0, 12 * M, 30 * S, &QueryOpts::default())
        .unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)), "{err:?}");
}
