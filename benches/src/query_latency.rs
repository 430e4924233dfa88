//! `ember-bench query-latency`: the same dashboard queries against Ember and Prometheus
//! holding the same data.
//!
//! Each server in turn gets the workload by remote write (as in `rw-throughput`), then
//! answers each query over HTTP (`/api/v1/query_range`, form-encoded POST as Grafana
//! sends it): one warm-up, then `--repeat` timed runs; the median is reported. The
//! answers of the two servers are compared (same series, same values), because a
//! benchmark of wrong answers is worthless.
//!
//! Two documented differences between Prometheus 2.42 and 3.x (which Ember follows) are
//! kept out of the comparison: 2.x's range windows include a sample exactly at their
//! start and 3.x's do not, so the samples sit 7.5 s off the whole-minute grid on which
//! query and subquery steps fall; and 3.x sums with Kahan compensation (`sum`, `avg`)
//! where 2.x adds plainly, so values are compared to within 1e-9 relative, not bit for
//! bit.

use std::path::Path;
use std::time::{Duration, Instant};

use ember_bench::workload::Workload;

use super::{http_client, send_all, start, Server, PUSH_ONLY_CONFIG};

/// The queries: (name, PromQL). Shapes of the dashboard set.
pub const QUERIES: [(&str, &str); 4] = [
    ("rate", "rate(node_cpu_seconds_total[5m])"),
    (
        "sum_by_rate",
        "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "subquery",
        "max_over_time(sum by (mode) (rate(node_cpu_seconds_total[5m]))[30m:1m])",
    ),
];

/// One query's outcome on one server.
pub struct Timed {
    pub median: Duration,
    /// The `data.result` array, series sorted by their labels, for comparison.
    pub result: Vec<(String, String)>,
}

/// Pushes the workload into `bin`'s server and times every query on it.
#[allow(clippy::too_many_arguments)]
pub fn run(
    server: Server,
    bin: &Path,
    requests: &[Vec<Vec<u8>>],
    start_ms: i64,
    end_ms: i64,
    step_s: u64,
    repeat: usize,
) -> Result<Vec<Timed>, String> {
    let name = if server == Server::Ember {
        "ember"
    } else {
        "prometheus"
    };
    eprintln!(
        "{name}: starting {} and pushing the workload",
        bin.display()
    );
    let running = start(bin, PUSH_ONLY_CONFIG)?;
    let write_url = format!("http://127.0.0.1:{}/api/v1/write", running.port);
    let refused: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = requests
            .iter()
            .map(|shard| {
                let url = write_url.clone();
                scope.spawn(move || send_all(&url, shard).0)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(1)).sum()
    });
    if refused > 0 {
        return Err(format!("{name} refused {refused} remote-write requests"));
    }
    // Let the last appends settle (Prometheus commits asynchronously to its head).
    std::thread::sleep(Duration::from_secs(2));
    let client = http_client()?;
    let url = format!("http://127.0.0.1:{}/api/v1/query_range", running.port);
    let mut out = Vec::new();
    for (qname, q) in QUERIES {
        let form = [
            ("query", q.to_string()),
            ("start", format!("{:.3}", start_ms as f64 / 1000.0)),
            ("end", format!("{:.3}", end_ms as f64 / 1000.0)),
            ("step", step_s.to_string()),
        ];
        let mut times = Vec::with_capacity(repeat);
        let mut result = Vec::new();
        for i in 0..=repeat {
            let t = Instant::now();
            let answer = client
                .post(&url)
                .form(&form)
                .send()
                .map_err(|e| format!("{name} {qname}: {e}"))?;
            let status = answer.status();
            let body = answer.text().map_err(|e| e.to_string())?;
            let took = t.elapsed();
            if !status.is_success() {
                return Err(format!("{name} {qname}: {status}: {body}"));
            }
            if i == 0 {
                result = series_of(&body)?;
            } else {
                times.push(took);
            }
        }
        times.sort();
        let median = times[times.len() / 2];
        eprintln!(
            "{name}: {qname}: {} series, median {median:?}",
            result.len()
        );
        out.push(Timed { median, result });
    }
    drop(running);
    Ok(out)
}

/// The series of a query_range answer: (labels JSON, values JSON), sorted.
fn series_of(body: &str) -> Result<Vec<(String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let result = v["data"]["result"]
        .as_array()
        .ok_or_else(|| format!("no data.result in {body:.200}"))?;
    let mut out: Vec<(String, String)> = result
        .iter()
        .map(|s| (s["metric"].to_string(), s["values"].to_string()))
        .collect();
    out.sort();
    Ok(out)
}

/// Runs the comparison and prints the table.
pub fn compare(
    ember_bin: &Path,
    prometheus_bin: &Path,
    series: usize,
    duration_s: u64,
    repeat: usize,
) -> Result<(), String> {
    let steps = duration_s / 15;
    let workload = Workload::new(series);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    // Samples 7.5 s off the minute grid, the newest a minute or two ago.
    let t0 = (now - 60_000 - steps as i64 * 15_000) / 60_000 * 60_000 + 7_500;
    let last = t0 + (steps as i64 - 1) * 15_000;
    eprintln!("building requests ({series} series x {steps} scrapes)...");
    let requests = workload.requests(t0, steps, 2000, 4);
    // The whole range at a 60 s step, on the minute grid (off the samples by 7.5 s).
    let (start, end) = (t0 + 5 * 60_000 - 7_500, last - 7_500);
    let ember = run(Server::Ember, ember_bin, &requests, start, end, 60, repeat)?;
    let prom = run(
        Server::Prometheus,
        prometheus_bin,
        &requests,
        start,
        end,
        60,
        repeat,
    )?;
    println!(
        "\nquery_range over {:.1} h at a 60 s step, {series} series, median of {repeat}",
        (end - start) as f64 / 3.6e6
    );
    println!(
        "{:<20} {:>12} {:>12} {:>10} {:>8}",
        "query", "ember", "prometheus", "ember/prom", "same"
    );
    let mut log_ratio = 0.0;
    let mut all_same = true;
    for (((qname, _), e), p) in QUERIES.iter().zip(&ember).zip(&prom) {
        let same = same_answer(&e.result, &p.result);
        all_same &= same;
        let ratio = e.median.as_secs_f64() / p.median.as_secs_f64();
        log_ratio += ratio.ln();
        println!(
            "{:<20} {:>10.1}ms {:>10.1}ms {:>10.3} {:>8}",
            qname,
            e.median.as_secs_f64() * 1e3,
            p.median.as_secs_f64() * 1e3,
            ratio,
            if same { "yes" } else { "NO" }
        );
        if !same {
            let diff = e
                .result
                .iter()
                .zip(&p.result)
                .find(|(a, b)| !same_answer(std::slice::from_ref(*a), std::slice::from_ref(*b)))
                .map(|(a, b)| {
                    format!(
                        "ember {:.300} {:.300}\nprometheus {:.300} {:.300}",
                        a.0, a.1, b.0, b.1
                    )
                });
            eprintln!(
                "{qname}: answers differ ({} vs {} series)\n{}",
                e.result.len(),
                p.result.len(),
                diff.unwrap_or_default()
            );
        }
    }
    println!(
        "geometric mean ember/prometheus: {:.3}",
        (log_ratio / QUERIES.len() as f64).exp()
    );
    if !all_same {
        return Err("the servers' answers differ".into());
    }
    Ok(())
}

/// Whether two answers hold the same series with the same timestamps and values within
/// 1e-9 relative (Kahan-compensated sums in Prometheus 3 against plain sums in 2.x).
fn same_answer(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let values = |s: &str| -> Option<Vec<(f64, f64)>> {
        let v: serde_json::Value = serde_json::from_str(s).ok()?;
        v.as_array()?
            .iter()
            .map(|p| Some((p[0].as_f64()?, p[1].as_str()?.parse::<f64>().ok()?)))
            .collect()
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|((la, va), (lb, vb))| {
            let (Some(va), Some(vb)) = (values(va), values(vb)) else {
                return false;
            };
            la == lb
                && va.len() == vb.len()
                && va.iter().zip(&vb).all(|(x, y)| {
                    x.0 == y.0
                        && (x.1 == y.1
                            || (x.1.is_nan() && y.1.is_nan())
                            || (x.1 - y.1).abs() <= 1e-9 * x.1.abs().max(y.1.abs()))
                })
        })
}
