//! The remote-write receiver of the real binary: 1.0 and 2.0 requests, every kind of bad
//! request, durability across `kill -9`, and a real Prometheus 2.42 remote-writing what it
//! scrapes from a real node_exporter.
//!
//! Stored data is read back by opening the data directory with Ember's storage after the
//! server stopped (the query API is tested elsewhere). Expected status codes and messages
//! are Prometheus 3's (`storage/remote/write_handler.go` and client_golang's remote
//! write handler); expected data is what the test sent.

mod common;
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, Ember, Workdir};
use ember_storage::db::{Db, DbOptions};
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::Querier;
use prost::Message;
use support::proto::v2;
use support::*;

/// Every series in a data directory, by its printed labels, with its samples as
/// (timestamp, value bits). The server must have stopped.
fn stored(data: &Path) -> BTreeMap<String, Vec<(i64, u64)>> {
    let db = Db::open(DbOptions::new(data), None).expect("open the data directory");
    let q = db.querier(i64::MIN, i64::MAX);
    let all = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
    let mut out = BTreeMap::new();
    for s in q.select(true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut samples = Vec::new();
        s.for_each_in(i64::MIN, i64::MAX, |t, v| samples.push((t, v.to_bits())))
            .unwrap();
        out.insert(s.labels().to_string(), samples);
    }
    db.close().unwrap();
    out
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

#[test]
fn v1_and_v2_requests_are_stored() {
    let w = Workdir::new();
    let mut ember = Ember::start(
        w.path(),
        &[&data_arg(&w), "--web.enable-remote-write-receiver"],
    );
    ember.wait_ready();
    let t = now_ms() - 60_000;
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);

    let a = post_v1(
        &ember,
        &v1(vec![
            series(
                &[
                    ("__name__", "node_load1"),
                    ("instance", "h1:9100"),
                    ("job", "node"),
                ],
                &[(t, 0.5), (t + 15_000, 0.75), (t + 30_000, stale)],
            ),
            series(
                &[
                    ("__name__", "node_cpu_seconds_total"),
                    ("cpu", "0"),
                    ("mode", "idle"),
                ],
                &[(t, 1234.5)],
            ),
        ]),
    );
    assert_eq!((a.status, a.body.as_str()), (204, ""));
    // 1.0 answers carry no written-counts headers.
    assert_eq!(a.header("X-Prometheus-Remote-Write-Samples-Written"), None);

    let symbols = [
        "",
        "__name__",
        "http_requests_total",
        "code",
        "200",
        "trace_id",
        "x1",
        "Requests.",
    ];
    let b = post_v2(
        &ember,
        &v2::Request {
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            timeseries: vec![v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![
                    v2::Sample {
                        value: 10.0,
                        timestamp: t,
                        start_timestamp: t - 3_600_000,
                    },
                    v2::Sample {
                        value: 11.0,
                        timestamp: t + 15_000,
                        start_timestamp: t - 3_600_000,
                    },
                ],
                exemplars: vec![v2::Exemplar {
                    labels_refs: vec![5, 6],
                    value: 0.2,
                    timestamp: t,
                }],
                metadata: Some(v2::Metadata {
                    r#type: 1,
                    help_ref: 7,
                    unit_ref: 0,
                }),
                histograms: vec![],
            }],
        },
    );
    assert_eq!((b.status, b.body.as_str()), (204, ""));
    assert_eq!(
        b.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("2")
    );
    assert_eq!(
        b.header("X-Prometheus-Remote-Write-Histograms-Written"),
        Some("0")
    );
    assert_eq!(
        b.header("X-Prometheus-Remote-Write-Exemplars-Written"),
        Some("1")
    );

    let metrics = ember.get("/metrics").unwrap().body;
    for line in [
        r#"prometheus_http_requests_total{code="204",handler="/api/v1/write"} 2"#,
        "prometheus_api_remote_write_invalid_labels_samples_total 0",
        r#"ember_remote_write_written_total{type="sample"} 6"#,
        r#"ember_remote_write_written_total{type="exemplar"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing:\n{metrics}"
        );
    }
    assert_eq!(ember.terminate().code(), Some(0));

    let got = stored(&w.join("data"));
    let want = BTreeMap::from([
        (
            r#"{__name__="http_requests_total", code="200"}"#.to_string(),
            bits(&[(t, 10.0), (t + 15_000, 11.0)]),
        ),
        (
            r#"{__name__="node_cpu_seconds_total", cpu="0", mode="idle"}"#.to_string(),
            bits(&[(t, 1234.5)]),
        ),
        (
            r#"{__name__="node_load1", instance="h1:9100", job="node"}"#.to_string(),
            bits(&[(t, 0.5), (t + 15_000, 0.75), (t + 30_000, stale)]),
        ),
    ]);
    assert_eq!(got, want);
}

#[test]
fn bad_requests_are_refused_and_the_server_keeps_serving() {
    let w = Workdir::new();
    let mut ember = Ember::start(w.path(), &[&data_arg(&w)]);
    ember.wait_ready();
    let t = now_ms() - 60_000;
    let good = v1(vec![series(&[("__name__", "kept")], &[(t, 1.0)])]);
    assert_eq!(post_v1(&ember, &good).status, 204);
    let valid_body = snappy(&good.encode_to_vec());

    // Corrupt snappy.
    let a = post_raw(
        &ember,
        None,
        Some("snappy"),
        b"\x10not snappy at all".to_vec(),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    // Truncated protobuf (valid snappy).
    let encoded = good.encode_to_vec();
    let a = post_raw(&ember, None, None, snappy(&encoded[..encoded.len() - 3]));
    assert_eq!((a.status, a.body.as_str()), (400, "unexpected EOF\n"));
    // Not protobuf.
    let a = post_raw(&ember, Some("application/json"), None, valid_body.clone());
    assert_eq!(a.status, 415);
    assert_eq!(
        a.body,
        "expected application/x-protobuf as the first (media) part, got application/json content-type\n"
    );
    let a = post_raw(
        &ember,
        Some("application/x-protobuf;proto=io.prometheus.write.v9.Request"),
        None,
        valid_body.clone(),
    );
    assert_eq!(a.status, 415, "{}", a.body);
    // Another compression.
    let a = post_raw(&ember, None, Some("gzip"), valid_body.clone());
    assert_eq!(a.status, 415);
    assert_eq!(
        a.body,
        "gzip encoding (compression) is not accepted by this server; only snappy is acceptable\n"
    );
    // A body over 32 MiB is refused from its declared length, before it is sent.
    assert_eq!(
        oversized_request(&ember),
        "HTTP/1.1 413 Payload Too Large|request body exceeds the 33554432 bytes limit\n"
    );
    // A snappy header announcing 1 GiB.
    let a = post_raw(&ember, None, None, vec![0x80, 0x80, 0x80, 0x80, 0x04, 0x00]);
    assert_eq!(
        (a.status, a.body.as_str()),
        (400, "decoded size exceeds the 33554432 bytes limit\n")
    );
    // Not POST.
    let a = client().get(ember.url("/api/v1/write")).send().unwrap();
    assert_eq!(a.status().as_u16(), 405);

    // Invalid labels and out-of-order samples: 400, the valid rest is written.
    let a = post_v1(
        &ember,
        &v1(vec![
            series(&[("job", "nameless")], &[(t, 1.0)]),
            series(&[("__name__", "dup"), ("a", "1"), ("a", "2")], &[(t, 1.0)]),
            series(&[("__name__", "kept")], &[(t - 1000, 9.0), (t + 1000, 2.0)]),
            series(&[("__name__", "partial")], &[(t, 3.0)]),
        ]),
    );
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        "invalid metric name or labels, got {job=\"nameless\"}\n\
         invalid labels for series, labels {__name__=\"dup\", a=\"1\", a=\"2\"}, duplicated label a\n\
         out of order sample for series {__name__=\"kept\"}\n"
    );
    // 2.0: a partial write still reports what was written.
    let a = post_v2(
        &ember,
        &v2::Request {
            symbols: vec!["".into(), "__name__".into(), "partial".into()],
            timeseries: vec![
                v2::TimeSeries {
                    labels_refs: vec![1, 2],
                    samples: vec![v2::Sample {
                        value: 4.0,
                        timestamp: t + 1000,
                        start_timestamp: 0,
                    }],
                    ..Default::default()
                },
                v2::TimeSeries {
                    labels_refs: vec![1, 9],
                    samples: vec![v2::Sample {
                        value: 4.0,
                        timestamp: t + 1000,
                        start_timestamp: 0,
                    }],
                    ..Default::default()
                },
            ],
        },
    );
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        "parsing labels for series [1, 9]: labelRefs 1 (name) = 9 (value) outside of symbols table (size 3)\n"
    );
    assert_eq!(
        a.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("1")
    );

    // Still serving, and counting.
    let later = v1(vec![series(&[("__name__", "kept")], &[(t + 2000, 5.0)])]);
    assert_eq!(post_v1(&ember, &later).status, 204);
    let metrics = ember.get("/metrics").unwrap().body;
    for line in [
        "prometheus_api_remote_write_invalid_labels_samples_total 3",
        r#"ember_remote_write_rejected_total{reason="out_of_order"} 1"#,
        r#"prometheus_http_requests_total{code="415",handler="/api/v1/write"} 3"#,
        r#"prometheus_http_requests_total{code="413",handler="/api/v1/write"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing:\n{metrics}"
        );
    }
    assert_eq!(ember.terminate().code(), Some(0));

    assert_eq!(
        stored(&w.join("data")),
        BTreeMap::from([
            (
                r#"{__name__="kept"}"#.to_string(),
                bits(&[(t, 1.0), (t + 1000, 2.0), (t + 2000, 5.0)])
            ),
            (
                r#"{__name__="partial"}"#.to_string(),
                bits(&[(t, 3.0), (t + 1000, 4.0)])
            ),
        ])
    );
}

/// Every sample acknowledged with a 2xx is on disk, however the process ends.
#[test]
fn acknowledged_samples_survive_kill_9() {
    let w = Workdir::new();
    let mut ember = Ember::start(w.path(), &[&data_arg(&w)]);
    ember.wait_ready();
    let t0 = now_ms() - 30 * 60_000;
    let mut want: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for round in 0..50i64 {
        let t = t0 + round * 15_000;
        let req = v1((0..40)
            .map(|i| {
                let host = format!("h{i}");
                series(
                    &[("__name__", "node_load5"), ("instance", &host)],
                    &[(t, (round * 40 + i) as f64)],
                )
            })
            .collect());
        assert_eq!(post_v1(&ember, &req).status, 204);
        for i in 0..40 {
            want.entry(format!(r#"{{__name__="node_load5", instance="h{i}"}}"#))
                .or_default()
                .push((t, ((round * 40 + i) as f64).to_bits()));
        }
    }
    ember.signal(libc::SIGKILL);
    ember.wait_exit();
    assert_eq!(stored(&w.join("data")), want);
}

/// Raw samples of every series Prometheus holds for `job="node"`, by printed labels:
/// an instant query of a range selector returns them exactly (stale markers excluded).
fn prometheus_samples(port: u16, at_s: i64) -> BTreeMap<String, Vec<(i64, u64)>> {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let text = client()
        .get(&url)
        .query(&[
            ("query", r#"{job="node"}[1h]"#),
            ("time", &at_s.to_string()),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let resp: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resp["status"], "success", "{resp}");
    let mut out = BTreeMap::new();
    for s in resp["data"]["result"].as_array().unwrap() {
        let labels = ember_storage::Labels::from_pairs(
            s["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
        );
        let samples = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                let v: f64 = match p[1].as_str().unwrap() {
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    other => other.parse().unwrap(),
                };
                (t, v.to_bits())
            })
            .collect();
        out.insert(labels.to_string(), samples);
    }
    out
}

/// Prometheus 2.42 scrapes node_exporter and remote-writes to Ember for ~30 s; Ember ends
/// up with exactly the series and samples Prometheus stored.
#[test]
fn prometheus_remote_writes_node_exporter_to_ember() {
    let (Some(prometheus), Some(node_exporter)) =
        (tool("prometheus"), tool("prometheus-node-exporter"))
    else {
        return;
    };
    let w = Workdir::new();
    // No scrape jobs: only what Prometheus writes may be stored.
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
            // Collectors that read hardware or need privileges are off: they only add
            // errors in a container.
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
            .stderr(std::fs::File::create(&node_log).unwrap())
            .spawn()
            .unwrap(),
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
         remote_write:\n  - url: http://127.0.0.1:{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 500\n",
        ember.port
    );
    let mut prom = start_prometheus(&prometheus, w.path(), &config, prom_port, "sender");
    std::thread::sleep(Duration::from_secs(30));
    // Stopping flushes the remote-write queue, but the last scrapes may not have been
    // read from Prometheus's WAL by then: compare what is older than a few seconds.
    let cut = now_ms() - 5_000;
    prom.terminate();
    let log = std::fs::read_to_string(w.join("sender.log")).unwrap_or_default();
    assert!(
        !log.lines().any(|l| l.contains("non-recoverable error")),
        "Prometheus's remote write failed:\n{log}"
    );
    drop(node);

    // Prometheus again, on the same data, without scraping or sending: its TSDB's view.
    let prom_port = free_port();
    let mut reader = start_prometheus(
        &prometheus,
        w.path(),
        "global:\n  scrape_interval: 1h\n",
        prom_port,
        "reader",
    );
    let keep_before_cut =
        |m: BTreeMap<String, Vec<(i64, u64)>>| -> BTreeMap<String, Vec<(i64, u64)>> {
            m.into_iter()
                .map(|(k, v)| (k, v.into_iter().filter(|s| s.0 <= cut).collect::<Vec<_>>()))
                .filter(|(_, v)| !v.is_empty())
                .collect()
        };
    let want = keep_before_cut(prometheus_samples(prom_port, now_ms() / 1000 + 1));
    reader.terminate();
    assert!(
        want.len() > 100,
        "node_exporter should give hundreds of series, got {}",
        want.len()
    );
    assert!(want.keys().any(|k| k.starts_with(r#"{__name__="up""#)));

    assert_eq!(ember.terminate().code(), Some(0));
    let stale = 0x7ff0_0000_0000_0002u64;
    let got = keep_before_cut(
        stored(&w.join("data"))
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().filter(|s| s.1 != stale).collect()))
            .collect(),
    );
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (k, samples) in &want {
        assert_eq!(&got[k], samples, "samples of {k}");
    }
}
