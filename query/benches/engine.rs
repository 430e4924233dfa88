//! PromQL range queries over 6 hours at a 60 s step, on 10k counter series and 10k
//! classic-histogram bucket series sampled every 15 s (28.8M samples in an in-memory
//! head): the dashboard shapes named in issue #3.
//!
//! `cargo bench -p ember-query --bench engine`

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ember_query::{Engine, EngineOpts, QueryOpts, Value};
use ember_storage::head::{Head, HeadOptions};
use ember_storage::{Labels, SeriesRef};

// The daemon's allocator, so that the figures are the daemon's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STEP: i64 = 15_000;
const HOURS: i64 = 6;
const SAMPLES: i64 = HOURS * 3600 * 1000 / STEP;
const LE: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];

fn build() -> Arc<Head> {
    let head = Head::in_memory(HeadOptions::default());
    let mut series: Vec<(Labels, f64)> = Vec::new();
    for i in 0..10_000usize {
        series.push((
            Labels::from_pairs([
                ("__name__", "http_requests_total".to_string()),
                ("job", format!("job-{}", i % 10)),
                ("instance", format!("host-{}:9100", i / 10 % 100)),
                (
                    "method",
                    ["GET", "POST", "PUT", "DELETE"][i % 4].to_string(),
                ),
                ("handler", format!("/api/v1/h{}", i / 1000)),
            ]),
            1.0 + (i % 7) as f64,
        ));
    }
    for i in 0..1_000usize {
        for (k, le) in LE.iter().enumerate() {
            series.push((
                Labels::from_pairs([
                    (
                        "__name__",
                        "http_request_duration_seconds_bucket".to_string(),
                    ),
                    ("job", format!("job-{}", i % 10)),
                    ("instance", format!("host-{}:9100", i % 100)),
                    ("handler", format!("/api/v1/h{}", i / 100)),
                    ("le", le.to_string()),
                ]),
                (k + 1) as f64 * 2.0,
            ));
        }
    }
    let mut refs: Vec<Option<SeriesRef>> = vec![None; series.len()];
    let mut values = vec![0.0f64; series.len()];
    let empty = Labels::empty();
    for k in 0..SAMPLES {
        let mut app = head.appender();
        for (j, (l, rate)) in series.iter().enumerate() {
            let labels = if refs[j].is_some() {
                empty.as_ref()
            } else {
                l.as_ref()
            };
            // Counters growing at a per-series rate, with a little noise (and no resets,
            // as real counters between restarts).
            values[j] += rate + ((k * 7 + j as i64) % 5) as f64;
            let v = values[j];
            refs[j] = Some(app.append(refs[j], labels, k * STEP, v).expect("append"));
        }
        app.commit().expect("commit");
    }
    head
}

fn queries(c: &mut Criterion) {
    let head = build();
    // EMBER_BENCH_THREADS=1 measures one core's work.
    let mut opts = EngineOpts::default();
    if let Some(t) = std::env::var("EMBER_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        opts.threads = t;
    }
    let engine = Engine::new(opts);
    let end = (SAMPLES - 1) * STEP;
    let start = end - HOURS * 3600 * 1000 + 5 * 60 * 1000;
    let mut g = c.benchmark_group("range_6h_step_60s");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for (name, q) in [
        ("rate", "rate(http_requests_total[5m])"),
        ("sum_by_job_rate", "sum by (job) (rate(http_requests_total[5m]))"),
        (
            "histogram_quantile",
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        ),
        (
            "subquery",
            "max_over_time(sum by (job) (rate(http_requests_total[5m]))[30m:1m])",
        ),
    ] {
        // Check the answer's shape once: a benchmark of wrong answers is worthless.
        let r = engine
            .range(&head, q, start, end, 60_000, &QueryOpts::default())
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        match &r.value {
            Value::Matrix(m) => {
                assert!(!m.is_empty(), "{q}: empty result");
                assert!(m.iter().all(|s| s.floats.len() == 356), "{q}: missing steps");
            }
            other => panic!("{q}: {other:?}"),
        }
        g.bench_function(name, |b| {
            b.iter(|| {
                engine
                    .range(&head, q, start, end, 60_000, &QueryOpts::default())
                    .expect("query")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
