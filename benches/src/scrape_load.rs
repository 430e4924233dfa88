//! `ember-bench scrape`: the CPU and memory a server spends scraping many targets.
//!
//! The benchmark serves `--targets` node_exporter-like targets of `--series` series each
//! from this process (one HTTP listener on 127.0.0.1; target N is `/metrics/N`, labelled
//! `instance="target-N:9100"`), points each server at them with the same configuration
//! (one job, 15 s interval), lets every target be scraped twice (series creation is
//! start-up work), then measures for `--duration` seconds: the server's CPU seconds (user
//! plus system, from `/proc`) per million scraped samples, and its resident memory per
//! active series at the end. The servers run one after the other, on the same targets.
//!
//! Bodies are prepared before the servers start, so serving costs the benchmark almost
//! nothing: [`VARIANTS`] successive scrapes' worth of values (counters and histogram
//! buckets grow from one to the next), plain and gzip-compressed; a target's k-th scrape
//! gets variant `k % VARIANTS` (so its counters reset every [`VARIANTS`] scrapes, which
//! costs a scraper nothing extra). Responses are gzipped when the scraper accepts it, as
//! node_exporter does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ember_bench::proc_stat::{cpu_time, rss_bytes};
use ember_bench::workload::Workload;

use super::start;

/// Scrapes' worth of prepared bodies.
const VARIANTS: u64 = 40;
/// Scrape interval, as the scenario (node_exporter at 15 s).
const INTERVAL_S: u64 = 15;

/// The prepared bodies and the per-target request counts.
struct Targets {
    plain: Vec<Vec<u8>>,
    gzip: Vec<Vec<u8>>,
    /// Requests served per target.
    served: Vec<AtomicU64>,
    series_per_target: usize,
}

/// One server's figures over the measured window.
struct Measured {
    scrapes: u64,
    samples: u64,
    cpu: Duration,
    rss: u64,
    head_series: f64,
}

/// Renders `series` series in the text format at scrape `k`: the workload's hosts become
/// a `shard` label, since the scraper adds `instance` and `job` itself.
fn render(workload: &Workload, k: u64) -> Vec<u8> {
    let mut out = String::with_capacity(workload.series.len() * 80);
    let mut families: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, def) in workload.series.iter().enumerate() {
        let name = def
            .labels
            .iter()
            .find(|(n, _)| n == "__name__")
            .map(|(_, v)| v.as_str())
            .unwrap_or("unnamed");
        let family = name
            .strip_suffix("_bucket")
            .or_else(|| name.strip_suffix("_sum"))
            .or_else(|| name.strip_suffix("_count"))
            .filter(|f| f.ends_with("_seconds"))
            .unwrap_or(name);
        families.entry(family).or_default().push(i);
    }
    for (family, members) in families {
        let kind = if family.ends_with("_seconds") && family.starts_with("http_") {
            "histogram"
        } else if family.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {family} Benchmark series of family {family}.");
        let _ = writeln!(out, "# TYPE {family} {kind}");
        for i in members {
            let def = &workload.series[i];
            let mut name = "";
            let mut labels = Vec::new();
            let mut shard = String::new();
            for (n, v) in &def.labels {
                match n.as_str() {
                    "__name__" => name = v,
                    "job" => {}
                    "instance" => {
                        shard = format!(
                            "shard=\"{}\"",
                            v.trim_start_matches("host-").trim_end_matches(":9100")
                        )
                    }
                    _ => labels.push(format!("{n}=\"{v}\"")),
                }
            }
            labels.push(shard);
            let _ = writeln!(
                out,
                "{name}{{{}}} {}",
                labels.join(","),
                workload.value(i, k)
            );
        }
    }
    out.into_bytes()
}

fn prepare(targets: usize, series: usize) -> Result<Targets, String> {
    let workload = Workload::new(series);
    let mut plain = Vec::new();
    let mut gzip = Vec::new();
    for k in 0..VARIANTS {
        let body = render(&workload, k);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&body).map_err(|e| e.to_string())?;
        gzip.push(enc.finish().map_err(|e| e.to_string())?);
        plain.push(body);
    }
    Ok(Targets {
        plain,
        gzip,
        served: (0..targets).map(|_| AtomicU64::new(0)).collect(),
        series_per_target: workload.series.len(),
    })
}

/// Serves the targets on 127.0.0.1 from a one-thread runtime; returns the port.
fn serve(targets: Arc<Targets>) -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::Builder::new()
        .name("targets".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("targets: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    eprintln!("targets: cannot use the listener");
                    return;
                };
                let app = axum::Router::new()
                    .route("/metrics/{id}", axum::routing::get(metrics))
                    .with_state(targets);
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("targets: {e}");
                }
            });
        })
        .map_err(|e| e.to_string())?;
    Ok(port)
}

async fn metrics(
    axum::extract::State(targets): axum::extract::State<Arc<Targets>>,
    axum::extract::Path(id): axum::extract::Path<usize>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let Some(count) = targets.served.get(id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let k = count.fetch_add(1, Ordering::Relaxed) % VARIANTS;
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let content_type = (
        header::CONTENT_TYPE,
        "text/plain; version=0.0.4; charset=utf-8",
    );
    if gzip {
        (
            [content_type, (header::CONTENT_ENCODING, "gzip")],
            targets.gzip[k as usize].clone(),
        )
            .into_response()
    } else {
        ([content_type], targets.plain[k as usize].clone()).into_response()
    }
}

fn config(targets: usize, port: u16) -> String {
    let mut out = format!(
        "global:\n  scrape_interval: {INTERVAL_S}s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: node\n    static_configs:\n"
    );
    for id in 0..targets {
        let _ = writeln!(
            out,
            "      - targets: ['127.0.0.1:{port}']\n        labels: {{__metrics_path__: '/metrics/{id}', instance: 'target-{id:04}:9100'}}"
        );
    }
    out
}

fn total_served(targets: &Targets) -> u64 {
    targets
        .served
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
}

/// The value of an instant query's first sample, if any.
fn query_scalar(client: &reqwest::blocking::Client, port: u16, query: &str) -> Option<f64> {
    let text = client
        .get(format!("http://127.0.0.1:{port}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .ok()?
        .text()
        .ok()?;
    let body: serde_json::Value = serde_json::from_str(&text).ok()?;
    body["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
}

/// A metric from the server's own `/metrics` (the servers do not scrape themselves here).
fn self_metric(client: &reqwest::blocking::Client, port: u16, name: &str) -> Option<f64> {
    let text = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .ok()?
        .text()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn run_server(
    name: &str,
    bin: &Path,
    targets: &Targets,
    port: u16,
    measure: Duration,
) -> Result<Measured, String> {
    let n = targets.served.len();
    eprintln!("{name}: starting {} with {n} targets", bin.display());
    for c in &targets.served {
        c.store(0, Ordering::Relaxed);
    }
    let mut running = start(bin, &config(n, port))?;
    let pid = running.child.id();
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    // Warm-up: every target scraped at least twice (its series exist, its scrape cache is
    // warm), bounded by four intervals.
    let started = Instant::now();
    let warm_limit = Duration::from_secs(4 * INTERVAL_S + 30);
    loop {
        if let Ok(Some(status)) = running.child.try_wait() {
            return Err(format!("{name} exited ({status})"));
        }
        let min = targets
            .served
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        if min >= 2 {
            break;
        }
        if started.elapsed() > warm_limit {
            return Err(format!(
                "{name}: not every target was scraped twice within {} s",
                warm_limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "{name}: warm after {:.0} s; measuring {} s",
        started.elapsed().as_secs_f64(),
        measure.as_secs()
    );
    let served_before = total_served(targets);
    let cpu_before = cpu_time(pid).map_err(|e| e.to_string())?;
    std::thread::sleep(measure);
    let cpu = cpu_time(pid).map_err(|e| e.to_string())? - cpu_before;
    let scrapes = total_served(targets) - served_before;
    let rss = rss_bytes(pid).map_err(|e| e.to_string())?;
    let head_series = self_metric(&client, running.port, "prometheus_tsdb_head_series")
        .ok_or_else(|| format!("{name}: no prometheus_tsdb_head_series in its /metrics"))?;
    let up = query_scalar(&client, running.port, "count(up{job=\"node\"} == 1)").unwrap_or(0.0);
    if (up as usize) < n {
        return Err(format!("{name}: only {up} of {n} targets are up"));
    }
    // Every scrape yields the target's series plus the five synthetic ones (up, ...).
    let samples = scrapes * (targets.series_per_target as u64 + 5);
    eprintln!(
        "{name}: {scrapes} scrapes, {samples} samples, {:.2} CPU s, {head_series} head series",
        cpu.as_secs_f64()
    );
    Ok(Measured {
        scrapes,
        samples,
        cpu,
        rss,
        head_series,
    })
}

/// Runs the benchmark and prints its table.
pub fn compare(
    servers: &[(&str, PathBuf)],
    targets: usize,
    series: usize,
    measure_s: u64,
) -> Result<(), String> {
    for (name, path) in servers {
        if !path.is_file() {
            let hint = if *name == "ember" {
                "build it: cargo build --release"
            } else {
                "Debian package: apt-get install prometheus"
            };
            return Err(format!("{} not found ({hint})", path.display()));
        }
    }
    eprintln!("preparing {targets} targets x {series} series...");
    let prepared = Arc::new(prepare(targets, series)?);
    let port = serve(Arc::clone(&prepared))?;
    let measure = Duration::from_secs(measure_s.max(INTERVAL_S));
    let mut results = Vec::new();
    for (name, bin) in servers {
        results.push((*name, run_server(name, bin, &prepared, port, measure)?));
    }
    println!(
        "\nscraping {targets} targets x {} series every {INTERVAL_S} s ({} active series), measured over {} s",
        prepared.series_per_target,
        targets * (prepared.series_per_target + 5),
        measure.as_secs()
    );
    println!(
        "{:<12} {:>10} {:>12} {:>10} {:>18} {:>12} {:>16}",
        "server", "scrapes", "samples", "cpu s", "cpu s/1M samples", "RSS MiB", "RSS kB/series"
    );
    for (name, m) in &results {
        println!(
            "{:<12} {:>10} {:>12} {:>10.2} {:>18.3} {:>12.1} {:>16.2}",
            name,
            m.scrapes,
            m.samples,
            m.cpu.as_secs_f64(),
            cpu_per_million(m),
            m.rss as f64 / (1024.0 * 1024.0),
            m.rss as f64 / 1024.0 / m.head_series.max(1.0)
        );
    }
    if let [(_, a), (_, b)] = &results[..] {
        println!(
            "{:<12} {:>10} {:>12} {:>10} {:>18.2} {:>12.2} {:>16.2}",
            format!("{}/{}", results[0].0, results[1].0),
            "",
            "",
            "",
            cpu_per_million(a) / cpu_per_million(b),
            a.rss as f64 / b.rss as f64,
            (a.rss as f64 / a.head_series) / (b.rss as f64 / b.head_series)
        );
    }
    Ok(())
}

fn cpu_per_million(m: &Measured) -> f64 {
    m.cpu.as_secs_f64() / (m.samples.max(1) as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_expositions_with_growing_counters() {
        let t = prepare(2, 300).expect("prepare");
        assert_eq!(t.plain.len() as u64, VARIANTS);
        let text = String::from_utf8(t.plain[1].clone()).expect("utf-8");
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples.len(), 300);
        assert!(text.contains("# TYPE node_cpu_seconds_total counter"));
        assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
        assert!(samples
            .iter()
            .all(|l| !l.contains("instance=") && !l.contains("job=")));
        let value = |body: &[u8], prefix: &str| -> f64 {
            let text = String::from_utf8_lossy(body).into_owned();
            let line = text
                .lines()
                .find(|l| l.starts_with(prefix))
                .expect("series")
                .to_string();
            line.rsplit(' ')
                .next()
                .expect("value")
                .parse()
                .expect("number")
        };
        let series = "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\",shard=\"00000\"}";
        assert!(value(&t.plain[5], series) > value(&t.plain[1], series));
        // The gzip variant decodes to the plain one.
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&t.gzip[3][..]),
            &mut decoded,
        )
        .expect("gunzip");
        assert_eq!(decoded, t.plain[3]);
    }

    #[test]
    fn configuration_names_every_target() {
        let cfg = config(3, 1234);
        assert_eq!(cfg.matches("127.0.0.1:1234").count(), 3);
        assert!(cfg.contains("__metrics_path__: '/metrics/2', instance: 'target-0002:9100'"));
    }
}
