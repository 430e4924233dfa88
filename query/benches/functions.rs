//! Range-vector and instant-vector functions over a realistic range query: 10k series
//! scraped every 15s, evaluated at 360 steps of 10s (one hour), windows of 5m. The
//! arguments are built outside the timed part (a call consumes them).
//!
//! `cargo bench -p ember-query --bench functions`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ember_query::annotations::Annotations;
use ember_query::functions::{call, FnCtx};
use ember_query::positions::Positions;
use ember_query::value::{FPoint, RangeValue, Series, StepValue, Steps};
use ember_storage::Labels;
use promql_parser::parser::Expr;

const SERIES: usize = 10_000;
const SCRAPE: i64 = 15_000;
const RANGE: i64 = 300_000;
const STEP: i64 = 10_000;
const STEPS: i64 = 360;
const START: i64 = 1_700_000_000_000;

fn steps() -> Steps {
    Steps::range(START, START + (STEPS - 1) * STEP, STEP)
}

/// Counters with a few resets, scraped from one window before the first step to the last.
fn range_value() -> RangeValue {
    let steps = steps();
    let first = steps.start - RANGE;
    let series = (0..SERIES)
        .map(|i| {
            let metric = Labels::from_pairs([
                ("__name__", "node_cpu_seconds_total".to_string()),
                ("cpu", (i % 64).to_string()),
                ("instance", format!("host-{}:9100", i / 64)),
                ("mode", "user".to_string()),
            ]);
            let mut v = (i * 7) as f64;
            let floats = (0..)
                .map(|k| first + k * SCRAPE + (i as i64 % SCRAPE))
                .take_while(|&t| t <= steps.end)
                .enumerate()
                .map(|(k, t)| {
                    v = if (k + i) % 500 == 0 {
                        0.0
                    } else {
                        v + (k % 7) as f64 * 0.25
                    };
                    FPoint { t, f: v }
                })
                .collect();
            Series::new(metric, floats)
        })
        .collect();
    RangeValue {
        series,
        range: RANGE,
        window_ends: steps.iter().collect(),
    }
}

/// The instant vector a selector would give: each series' latest sample at every step.
fn instant_vector(rv: &RangeValue) -> Vec<Series> {
    let steps = steps();
    rv.series
        .iter()
        .map(|s| {
            let floats = steps
                .iter()
                .map(|t| {
                    let i = s.floats.partition_point(|p| p.t <= t).max(1) - 1;
                    FPoint {
                        t,
                        f: s.floats[i].f,
                    }
                })
                .collect();
            Series::new(s.metric.clone(), floats)
        })
        .collect()
}

fn run(query: &str, args: Vec<StepValue>) -> StepValue {
    let expr = promql_parser::parser::parse(query).unwrap();
    let Expr::Call(c) = &expr else { unreachable!() };
    let positions = Positions::default();
    let mut annotations = Annotations::new();
    let mut ctx = FnCtx {
        steps: steps(),
        arg_exprs: &c.args.args,
        call_pos: None,
        positions: &positions,
        annotations: &mut annotations,
        delayed_name_removal: false,
    };
    call(c.func.name, args, &mut ctx).unwrap()
}

fn bench(c: &mut Criterion) {
    let rv = range_value();
    let mut g = c.benchmark_group("functions_10k_series_360_steps");
    g.sample_size(10);
    for query in [
        "rate(x[5m])",
        "increase(x[5m])",
        "irate(x[5m])",
        "changes(x[5m])",
        "sum_over_time(x[5m])",
        "avg_over_time(x[5m])",
        "max_over_time(x[5m])",
        "stddev_over_time(x[5m])",
        "deriv(x[5m])",
    ] {
        g.bench_function(query, |b| {
            b.iter_batched(
                || vec![StepValue::Range(rv.clone())],
                |args| black_box(run(query, args)),
                BatchSize::LargeInput,
            )
        });
    }
    let n = steps().len();
    g.bench_function("quantile_over_time(0.9, x[5m])", |b| {
        b.iter_batched(
            || {
                vec![
                    StepValue::Scalar(vec![0.9; n]),
                    StepValue::Range(rv.clone()),
                ]
            },
            |args| black_box(run("quantile_over_time(0.9, x[5m])", args)),
            BatchSize::LargeInput,
        )
    });
    let v = instant_vector(&rv);
    g.bench_function("abs(x)", |b| {
        b.iter_batched(
            || vec![StepValue::Vector(v.clone())],
            |args| black_box(run("abs(x)", args)),
            BatchSize::LargeInput,
        )
    });
    // 1000 histograms of 10 buckets (the `cpu` label standing in for `le`).
    let buckets: Vec<Series> = v
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let le = if i % 10 == 9 {
                "+Inf".to_string()
            } else {
                format!("{}", (i % 10) as f64 * 0.1)
            };
            let mut b = s.metric.builder();
            b.set("cpu", "");
            b.set("le", &le);
            b.set("instance", &format!("h{}", i / 10));
            let floats = s
                .floats
                .iter()
                .map(|p| FPoint {
                    t: p.t,
                    f: (i % 10) as f64 * 10.0 + p.f.min(1.0),
                })
                .collect();
            Series::new(b.labels(), floats)
        })
        .collect();
    g.bench_function("histogram_quantile(0.9, x) 1k histograms", |b| {
        b.iter_batched(
            || {
                vec![
                    StepValue::Scalar(vec![0.9; n]),
                    StepValue::Vector(buckets.clone()),
                ]
            },
            |args| black_box(run("histogram_quantile(0.9, x)", args)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
