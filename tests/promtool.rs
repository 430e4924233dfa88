//! `promtool query` against Ember and against a real Prometheus 2.42 holding the same data
//! gives the same answers.
//!
//! Prometheus scrapes a real node_exporter every 2 s and remote-writes everything it
//! scrapes into Ember. Then `promtool query instant|range|series|labels` runs the same
//! dashboard-shaped queries against both servers at the same times, and the outputs
//! (promtool's own text rendering, lines sorted) must be equal.
//!
//! Prometheus 2.42 differs from 3.x (which Ember follows) in one documented way that can
//! show here: 2.x range and lookback windows include a sample exactly on their start,
//! 3.x's do not. Query times are therefore placed half a scrape interval after a scrape,
//! so that no window starts on a sample (node_exporter's samples all carry their scrape's
//! timestamp, and Prometheus scrapes at a fixed interval). The other: 3.x's `sum` and `avg`
//! use Kahan-compensated addition where 2.x adds plainly, so numbers are compared to
//! within 1e-9 relative ([`same_output`]) rather than digit for digit.
//!
//! Skips (loudly) without the Debian packages `prometheus` and `prometheus-node-exporter`;
//! fails instead with `EMBER_INTEROP=require`.

mod common;
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, Ember, Workdir};
use support::{data_arg, start_prometheus, tool, wait_http_ok, Guard};

/// Scrape interval of the test's Prometheus, in milliseconds.
const SCRAPE_MS: i64 = 2_000;

fn promtool(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    // Both servers may return series in different orders; the contents must match.
    lines.sort();
    lines.join("\n")
}

/// Seconds with milliseconds, as promtool takes times.
fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The timestamp (ms) of the newest `up` sample at or before `at_ms`, per promtool.
fn last_scrape(promtool_bin: &Path, url: &str, at_ms: i64) -> Option<i64> {
    let out = promtool(
        promtool_bin,
        &[
            "query",
            "instant",
            "--time",
            &secs(at_ms),
            url,
            "timestamp(up)",
        ],
    );
    // `{instance="...", job="node"} => 1700000000.123 @[...]`
    let value = out.split("=> ").nth(1)?.split_whitespace().next()?;
    let seconds: f64 = value.parse().ok()?;
    Some((seconds * 1000.0).round() as i64)
}

/// promtool outputs equal word for word, numbers within 1e-9 relative.
fn same_output(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x == y
                || match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                    _ => false,
                }
        })
}

#[test]
fn promtool_answers_the_same_from_ember_and_prometheus() {
    let (Some(prometheus), Some(node_exporter), Some(promtool_bin)) = (
        tool("prometheus"),
        tool("prometheus-node-exporter"),
        tool("promtool"),
    ) else {
        return;
    };
    let w = Workdir::new();
    // No scrape jobs: Ember holds only what Prometheus remote-writes to it.
    std::fs::write(
        w.join("prometheus.yml"),
        "global:\n  scrape_interval: 15s\n",
    )
    .unwrap();
    let mut ember = Ember::start(w.path(), &[&data_arg(&w)]);
    ember.wait_ready();

    let node_port = free_port();
    let node_log = w.join("node.log");
    let mut node = Guard(
        Command::new(&node_exporter)
            .arg(format!("--web.listen-address=127.0.0.1:{node_port}"))
            .args([
                "--no-collector.hwmon",
                "--no-collector.thermal_zone",
                "--no-collector.rapl",
                "--no-collector.powersupplyclass",
                "--no-collector.systemd",
                "--no-collector.nvme",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&node_log).expect("node log"))
            .spawn()
            .expect("start node_exporter"),
    );
    wait_http_ok(
        &format!("http://127.0.0.1:{node_port}/metrics"),
        &mut node,
        &node_log,
    );
    let prom_port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 2s\n  evaluation_interval: 1m\n\
         scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{node_port}']\n\
         remote_write:\n  - url: http://127.0.0.1:{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 2000\n",
        ember.port
    );
    let mut prom = start_prometheus(&prometheus, w.path(), &config, prom_port, "prometheus");
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let ember_url = format!("http://127.0.0.1:{}", ember.port);

    // Enough scrapes for 1m windows to hold data.
    std::thread::sleep(Duration::from_secs(24));
    let now = support::now_ms();
    let scrape = last_scrape(&promtool_bin, &prom_url, now - 4_000)
        .expect("Prometheus has scraped node_exporter");
    let at = scrape + SCRAPE_MS / 2;
    // Wait until Ember has received that scrape through remote write.
    let started = Instant::now();
    while last_scrape(&promtool_bin, &ember_url, at) != Some(scrape) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Ember never received the scrape at {scrape} by remote write"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let start = at - 20_000;

    let instant_queries = [
        "up",
        r#"node_cpu_seconds_total{mode="idle"}"#,
        r#"rate(node_cpu_seconds_total{mode="idle"}[10s])"#,
        "sum by (mode) (rate(node_cpu_seconds_total[10s]))",
        "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100",
        "topk(3, node_network_receive_bytes_total)",
        r#"count by (__name__) ({job="node", __name__=~"node_load.*"})"#,
        r#"go_gc_duration_seconds{quantile="0.5"}"#,
        "avg_over_time(node_load1[10s])",
        "max_over_time(irate(node_context_switches_total[5s])[14s:2s])",
        "predict_linear(node_filesystem_avail_bytes[10s], 3600)",
        r#"label_replace(up, "host", "$1", "instance", "(.*):.*")"#,
        "count(node_cpu_seconds_total) without (cpu)",
    ];
    for q in instant_queries {
        let mine = promtool(
            &promtool_bin,
            &["query", "instant", "--time", &secs(at), &ember_url, q],
        );
        let theirs = promtool(
            &promtool_bin,
            &["query", "instant", "--time", &secs(at), &prom_url, q],
        );
        assert!(!theirs.is_empty(), "{q}: Prometheus returned nothing");
        assert!(
            same_output(&mine, &theirs),
            "promtool query instant {q}:\n{mine}\nvs\n{theirs}"
        );
    }
    for q in [
        "up",
        "rate(node_network_receive_bytes_total[10s])",
        "sum(rate(node_cpu_seconds_total[10s]))",
    ] {
        let args = |url: &str| {
            promtool(
                &promtool_bin,
                &[
                    "query",
                    "range",
                    "--start",
                    &secs(start),
                    "--end",
                    &secs(at),
                    "--step",
                    "4s",
                    url,
                    q,
                ],
            )
        };
        let (mine, theirs) = (args(&ember_url), args(&prom_url));
        assert!(!theirs.is_empty(), "{q}: Prometheus returned nothing");
        assert!(
            same_output(&mine, &theirs),
            "promtool query range {q}:\n{mine}\nvs\n{theirs}"
        );
    }
    for m in ["up", r#"{__name__=~"node_load.*"}"#] {
        let args = |url: &str| {
            promtool(
                &promtool_bin,
                &[
                    "query",
                    "series",
                    "--match",
                    m,
                    "--start",
                    &secs(start),
                    "--end",
                    &secs(at),
                    url,
                ],
            )
        };
        assert_eq!(
            args(&ember_url),
            args(&prom_url),
            "promtool query series {m}"
        );
    }
    for name in ["__name__", "job", "mode"] {
        let args = |url: &str| {
            promtool(
                &promtool_bin,
                &[
                    "query",
                    "labels",
                    "--start",
                    &secs(start),
                    "--end",
                    &secs(at),
                    url,
                    name,
                ],
            )
        };
        let theirs = args(&prom_url);
        assert!(
            !theirs.is_empty(),
            "label {name}: Prometheus returned nothing"
        );
        assert_eq!(args(&ember_url), theirs, "promtool query labels {name}");
    }
    prom.terminate();
    drop(node);
    assert_eq!(ember.terminate().code(), Some(0));
}
