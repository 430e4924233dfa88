//! Runs one PromQL range query over synthetic counters, for profiling the engine with
//! instruction counts (repeatable on a noisy machine), e.g.:
//!
//! ```text
//! cargo build --release -p ember-query --example query_once
//! valgrind --tool=callgrind --toggle-collect='ember_query::engine::Engine::range*' \
//!     target/release/examples/query_once 'rate(x[5m])' 1000
//! ```
//!
//! Data: N counter series (default 1,000) sampled every 15 s for 6 h; the query runs over
//! the last 6 h at a 60 s step. Prints the time taken and the number of series returned.

use std::time::Instant;

use ember_query::{Engine, EngineOpts, QueryOpts, Value};
use ember_storage::head::{Head, HeadOptions};
use ember_storage::Labels;

fn main() {
    let mut args = std::env::args().skip(1);
    let query = args.next().unwrap_or_else(|| "rate(x[5m])".to_string());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let step = 15_000i64;
    let samples = 6 * 3600 * 1000 / step;
    let head = Head::in_memory(HeadOptions::default());
    let labels: Vec<Labels> = (0..n)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "x".to_string()),
                ("instance", format!("host-{i}:9100")),
                ("job", format!("job-{}", i % 10)),
            ])
        })
        .collect();
    let mut refs = vec![None; n];
    let mut values = vec![0.0f64; n];
    for k in 0..samples {
        let mut app = head.appender();
        for (j, l) in labels.iter().enumerate() {
            values[j] += 1.0 + ((k * 7 + j as i64) % 5) as f64;
            refs[j] = Some(
                app.append(refs[j], l.as_ref(), k * step, values[j])
                    .expect("append"),
            );
        }
        app.commit().expect("commit");
    }
    let engine = Engine::new(EngineOpts {
        threads,
        ..EngineOpts::default()
    });
    let end = (samples - 1) * step;
    let start = end - 6 * 3600 * 1000 + 5 * 60 * 1000;
    let t = Instant::now();
    let r = engine
        .range(&head, &query, start, end, 60_000, &QueryOpts::default())
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    let took = t.elapsed();
    let series = match &r.value {
        Value::Matrix(m) => m.len(),
        _ => 0,
    };
    println!("{query}: {series} series in {took:?}");
}
