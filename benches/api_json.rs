//! Writing query results as the HTTP API's JSON: a range query's matrix of 10,000 series
//! × 1,000 points (10M points, the size of a large dashboard panel's answer), the same
//! compressed with gzip at the level the API uses, and sample-value formatting alone.
//!
//! `cargo bench --bench api_json`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ember_query::{FPoint, Series, Value};
use ember_storage::Labels;

// The serialisation code is the daemon's (a binary crate): compiled in here as it is.
#[allow(dead_code)]
#[path = "../src/civil.rs"]
mod civil;
#[allow(dead_code)]
#[path = "../src/api/v1/json.rs"]
mod json;

fn matrix(series: usize, points: usize) -> Value {
    Value::Matrix(
        (0..series)
            .map(|i| {
                let labels = Labels::from_pairs([
                    ("__name__", "http_requests_total".to_string()),
                    ("handler", format!("/api/v1/h{}", i / 1000)),
                    ("instance", format!("host-{}:9100", i / 10 % 100)),
                    ("job", format!("job-{}", i % 10)),
                    (
                        "method",
                        ["GET", "POST", "PUT", "DELETE"][i % 4].to_string(),
                    ),
                ]);
                let floats = (0..points)
                    .map(|p| FPoint {
                        t: 1_700_000_000_000 + p as i64 * 15_000,
                        // Rates: fractional values with many digits, as a rate() answer.
                        f: (i * 31 + p * 7) as f64 / 9.0,
                    })
                    .collect();
                Series::new(labels, floats)
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let m = matrix(10_000, 1_000);
    let mut g = c.benchmark_group("api_json");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000_000));
    g.bench_function("matrix_10k_series_x_1k_points", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(300 << 20);
            json::write_query_value(&mut out, &m);
            out
        })
    });

    let mut body = Vec::new();
    json::write_query_value(&mut body, &matrix(1_000, 1_000));
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&body).unwrap();
        let packed = e.finish().unwrap();
        eprintln!(
            "1k series x 1k points: {} bytes of JSON, {} gzipped ({:.1}x)",
            body.len(),
            packed.len(),
            body.len() as f64 / packed.len() as f64
        );
    }
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("gzip_1k_series_x_1k_points", |b| {
        b.iter_batched(
            || body.clone(),
            |body| {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&body).unwrap();
                e.finish().unwrap()
            },
            BatchSize::LargeInput,
        )
    });

    let values: Vec<f64> = (0..1_000_000).map(|i| i as f64 / 7.0 + 1e-3).collect();
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("sample_values_1m", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(24 << 20);
            for &v in &values {
                json::write_value(&mut out, v);
            }
            out
        })
    });
    // A yardstick on the same machine and load: Rust's own shortest formatting, which
    // lacks Go's exponent rules.
    g.bench_function("sample_values_1m_std_display", |b| {
        b.iter(|| {
            use std::io::Write;
            let mut out = Vec::with_capacity(24 << 20);
            for &v in &values {
                let _ = write!(out, "\"{v}\"");
            }
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
