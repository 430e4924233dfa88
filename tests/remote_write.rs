//! The remote-write receiver of the real binary: 1.0 and 2.0 requests, every kind of bad
//! request, durability across `kill -9`, and a real Prometheus 2.42 remote-writing what it
//! scrapes from a real node_exporter.
//!
//! Stored data is read back by opening the data directory with Ember's storage after the
//! server stopped (the query API is tested elsewhere). Expected status codes and messages
//! are Prometheus 3's (`storage/remote/write_handler.go` and client_golang's remote
//! write handler); expected data is what the test sent.

mod common;

#[allow(dead_code)]
#[path = "../src/api/remote_write/proto.rs"]
mod proto;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{free_port, Ember, Workdir, TIMEOUT};
use ember_storage::db::{Db, DbOptions};
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::Querier;
use prost::Message;
use proto::v2;

const V2_CONTENT_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn data_arg(w: &Workdir) -> String {
    format!("--storage.tsdb.path={}", w.arg("data"))
}

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// POSTs `body` as is, with the given `Content-Type` and `Content-Encoding`.
fn post_raw(
    ember: &Ember,
    content_type: Option<&str>,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req = client().post(ember.url("/api/v1/write")).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    if let Some(enc) = encoding {
        req = req.header("Content-Encoding", enc);
    }
    let resp = req.send().expect("request");
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().unwrap(),
    }
}

/// Announces a 32 MiB + 1 body and, without sending it, reads the answer's status line
/// and body (`<status line>|<body>`).
fn oversized_request(ember: &Ember) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", ember.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "POST /api/v1/write HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n\
         Content-Encoding: snappy\r\nContent-Length: {}\r\n\r\n",
        32 * 1024 * 1024 + 1
    )
    .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return format!("{}|{body}", head.lines().next().unwrap_or_default());
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

fn post_v1(ember: &Ember, req: &proto::WriteRequest) -> Answer {
    post_raw(
        ember,
        Some("application/x-protobuf"),
        Some("snappy"),
        snappy(&req.encode_to_vec()),
    )
}

fn post_v2(ember: &Ember, req: &v2::Request) -> Answer {
    post_raw(
        ember,
        Some(V2_CONTENT_TYPE),
        Some("snappy"),
        snappy(&req.encode_to_vec()),
    )
}

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> proto::TimeSeries {
    proto::TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| proto::Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| proto::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

fn v1(timeseries: Vec<proto::TimeSeries>) -> proto::WriteRequest {
    proto::WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

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

/// The path of an installed tool, or `None` (test skipped) when it is missing and interop
/// is not required (`EMBER_INTEROP=require`).
fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("EMBER_INTEROP").as_deref() == Ok("require") {
            panic!("{name} is not installed, and EMBER_INTEROP=require");
        }
        eprintln!(
            "SKIPPING: {name} is not installed (Debian packages prometheus, \
             prometheus-node-exporter); set EMBER_INTEROP=require to fail instead"
        );
    }
    found
}

/// A child process killed (by PID) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Guard {
    fn terminate(&mut self) {
        let pid = i32::try_from(self.0.id()).unwrap();
        // SAFETY: kill() signals only the process this test started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let started = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(90), "did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn wait_http_ok(url: &str, child: &mut Guard, log: &Path) {
    let started = Instant::now();
    loop {
        if client()
            .get(url)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "exited: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        assert!(started.elapsed() < TIMEOUT, "{url} not up in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts Debian's Prometheus on `config` with a data directory in `dir`.
fn start_prometheus(bin: &Path, dir: &Path, config: &str, port: u16, name: &str) -> Guard {
    let config_path = dir.join(format!("{name}.yml"));
    std::fs::write(&config_path, config).unwrap();
    let log = dir.join(format!("{name}.log"));
    let mut guard = Guard(
        Command::new(bin)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prometheus-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_http_ok(
        &format!("http://127.0.0.1:{port}/-/ready"),
        &mut guard,
        &log,
    );
    guard
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
