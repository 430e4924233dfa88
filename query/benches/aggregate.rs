//! Aggregation and binary-operator throughput on a range query's worth of points:
//! 10k series × 360 steps (the shape of `sum by (job) (rate(x[5m]))` over an hour at a
//! 10 s step), with the operands already evaluated.
//!
//! Run: `cargo bench -p ember-query --bench aggregate`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ember_query::aggregate::{aggregate, AggCtx, Grouping};
use ember_query::annotations::Annotations;
use ember_query::binary::{binary, BinCtx};
use ember_query::positions::Positions;
use ember_query::value::{FPoint, Series, StepValue, Steps};
use ember_storage::Labels;
use promql_parser::parser::{parse, Expr};

const SERIES: usize = 10_000;
const STEPS: i64 = 360;
const STEP: i64 = 10_000;

/// `x{job, instance, cpu, mode}`: 10 jobs, 10 series per instance.
fn input(name: &str) -> Vec<Series> {
    (0..SERIES)
        .map(|i| {
            let metric = Labels::from_pairs([
                ("__name__", name.to_string()),
                ("job", format!("job-{}", i % 10)),
                ("instance", format!("host-{}:9100", i / 10)),
                ("cpu", (i % 10).to_string()),
                ("mode", "user".to_string()),
            ]);
            let floats = (0..STEPS)
                .map(|s| FPoint {
                    t: s * STEP,
                    f: (i as f64) * 0.001 + s as f64,
                })
                .collect();
            Series::new(metric, floats)
        })
        .collect()
}

fn steps() -> Steps {
    Steps::range(0, (STEPS - 1) * STEP, STEP)
}

fn run_agg(expr: &Expr, grouping: &Grouping, data: Vec<Series>) -> Vec<Series> {
    let Expr::Aggregate(a) = expr else {
        unreachable!()
    };
    let positions = Positions::default();
    let mut annotations = Annotations::new();
    let mut ctx = AggCtx {
        steps: steps(),
        expr,
        positions: &positions,
        annotations: &mut annotations,
        delayed_name_removal: false,
    };
    aggregate(a.op, None, data, grouping, &mut ctx).unwrap()
}

fn run_bin(expr: &Expr, lhs: StepValue, rhs: StepValue) -> StepValue {
    let Expr::Binary(b) = expr else {
        unreachable!()
    };
    let positions = Positions::default();
    let mut annotations = Annotations::new();
    let mut ctx = BinCtx {
        steps: steps(),
        expr,
        positions: &positions,
        annotations: &mut annotations,
        delayed_name_removal: false,
    };
    binary(b.op, lhs, rhs, b.modifier.as_ref(), &mut ctx).unwrap()
}

fn bench(c: &mut Criterion) {
    let data = input("x");
    let mut g = c.benchmark_group("aggregate_10k_series_360_steps");
    for (query, grouping) in [
        ("sum by (job) (x)", Grouping::By(vec!["job".into()])),
        ("avg by (job) (x)", Grouping::By(vec!["job".into()])),
        (
            "sum by (instance) (x)",
            Grouping::By(vec!["instance".into()]),
        ),
        (
            "max without (cpu) (x)",
            Grouping::Without(vec!["cpu".into()]),
        ),
    ] {
        let expr = parse(query).unwrap();
        g.bench_function(query, |b| {
            b.iter_batched(
                || data.clone(),
                |d| run_agg(&expr, &grouping, d),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();

    let other = input("y");
    let mut g = c.benchmark_group("binary_10k_series_360_steps");
    let expr = parse("x / ignoring(__name__) y").unwrap();
    g.bench_function("x / y (one-to-one)", |b| {
        b.iter_batched(
            || (data.clone(), other.clone()),
            |(l, r)| run_bin(&expr, StepValue::Vector(l), StepValue::Vector(r)),
            BatchSize::LargeInput,
        )
    });
    let expr = parse("x * 2").unwrap();
    g.bench_function("x * 2", |b| {
        b.iter_batched(
            || data.clone(),
            |l| {
                run_bin(
                    &expr,
                    StepValue::Vector(l),
                    StepValue::Scalar(vec![2.0; STEPS as usize]),
                )
            },
            BatchSize::LargeInput,
        )
    });
    let expr = parse("x and y").unwrap();
    g.bench_function("x and y", |b| {
        b.iter_batched(
            || (data.clone(), other.clone()),
            |(l, r)| run_bin(&expr, StepValue::Vector(l), StepValue::Vector(r)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
