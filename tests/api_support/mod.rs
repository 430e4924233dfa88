//! Shared by the HTTP API tests (`api_v1.rs`, `grafana.rs`): data sets written into a
//! WAL before `ember` starts (it replays them), the same data as OpenMetrics text for
//! `promtool tsdb create-blocks-from openmetrics`, and a small HTTP client.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ember_storage::db::{Db, DbOptions};
use ember_storage::Labels;
use serde_json::Value;

use crate::common::{Ember, Workdir};

/// The start of every data set: 2023-11-14T22:13:20Z, in milliseconds.
pub const T0: i64 = 1_700_000_000_000;

/// Samples are 15 s apart, for two hours.
pub const STEP_MS: i64 = 15_000;
pub const POINTS: i64 = 481;

/// The last sample's time.
pub const END: i64 = T0 + (POINTS - 1) * STEP_MS;

/// One series: its labels and samples.
#[derive(Debug, Clone)]
pub struct SeriesData {
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
}

impl SeriesData {
    pub fn new(labels: &[(&str, &str)], value: impl Fn(i64) -> f64) -> SeriesData {
        SeriesData {
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            samples: (0..POINTS).map(|i| (T0 + i * STEP_MS, value(i))).collect(),
        }
    }
}

/// The hand-checked data set of `api_v1.rs` (see the expectations there).
pub fn basic_dataset() -> Vec<SeriesData> {
    vec![
        SeriesData::new(
            &[
                ("__name__", "http_requests_total"),
                ("code", "200"),
                ("instance", "a"),
                ("job", "api"),
            ],
            |i| (10 * i) as f64,
        ),
        SeriesData::new(
            &[
                ("__name__", "http_requests_total"),
                ("code", "500"),
                ("instance", "b"),
                ("job", "api"),
            ],
            |i| i as f64,
        ),
        SeriesData::new(&[("__name__", "temperature"), ("room", "kitchen")], |_| {
            20.5
        }),
        SeriesData::new(&[("__name__", "temperature"), ("room", "garage")], |_| {
            -3.25
        }),
        SeriesData::new(
            &[("__name__", "up"), ("instance", "a"), ("job", "api")],
            |_| 1.0,
        ),
        // A label name outside the legacy character set (Prometheus 3's UTF-8 names).
        SeriesData::new(
            &[
                ("__name__", "checkout_orders"),
                ("service.name", "checkout"),
            ],
            |i| (i % 7) as f64,
        ),
    ]
}

/// Series for every metric the dashboard queries of `/work/shared/seed-configs` use:
/// counters (one with a reset), classic histograms with monotonic buckets, and gauges.
pub fn dashboard_dataset() -> Vec<SeriesData> {
    let mut out = Vec::new();
    // A deterministic, irregular counter: increments of 1..=11 per step.
    let counter = |seed: i64| {
        move |i: i64| -> f64 {
            (0..=i)
                .map(|k| ((k * 7 + seed * 3) % 11 + 1) as f64)
                .sum::<f64>()
                * 0.5
        }
    };
    let gauge = |seed: i64, base: f64, scale: f64| {
        move |i: i64| -> f64 { base + ((i * 13 + seed * 5) % 17) as f64 * scale }
    };
    let counters: &[&[(&str, &str)]] = &[
        &[
            ("__name__", "neural_api_requests_total"),
            ("job", "neural-api"),
            ("instance", "api-1"),
            ("status", "200"),
        ],
        &[
            ("__name__", "neural_api_requests_total"),
            ("job", "neural-api"),
            ("instance", "api-1"),
            ("status", "503"),
        ],
        &[
            ("__name__", "neural_api_requests_total"),
            ("job", "neural-api"),
            ("instance", "api-2"),
            ("status", "200"),
        ],
        &[
            ("__name__", "process_cpu_seconds_total"),
            ("job", "neural-workers"),
            ("instance", "w1"),
        ],
        &[
            ("__name__", "process_cpu_seconds_total"),
            ("job", "neural-workers"),
            ("instance", "w2"),
        ],
        &[
            ("__name__", "http_requests_total"),
            ("job", "pynomaly-api"),
            ("method", "GET"),
            ("status", "200"),
            ("status_code", "200"),
            ("endpoint", "/detect"),
        ],
        &[
            ("__name__", "http_requests_total"),
            ("job", "pynomaly-api"),
            ("method", "POST"),
            ("status", "500"),
            ("status_code", "503"),
            ("endpoint", "/train"),
        ],
        &[
            ("__name__", "http_requests_total"),
            ("job", "other"),
            ("method", "GET"),
            ("status", "200"),
            ("status_code", "200"),
            ("endpoint", "/detect"),
        ],
        &[
            ("__name__", "pynomaly_detections_total"),
            ("job", "pynomaly-api"),
        ],
        &[
            ("__name__", "node_cpu_seconds_total"),
            ("cpu", "0"),
            ("mode", "idle"),
        ],
        &[
            ("__name__", "node_cpu_seconds_total"),
            ("cpu", "1"),
            ("mode", "idle"),
        ],
        &[
            ("__name__", "node_cpu_seconds_total"),
            ("cpu", "0"),
            ("mode", "user"),
        ],
        &[
            ("__name__", "search_operations_total"),
            ("search_type", "vector"),
            ("dataset_id", "d1"),
        ],
        &[
            ("__name__", "search_operations_total"),
            ("search_type", "text"),
            ("dataset_id", "d2"),
        ],
        &[
            ("__name__", "vector_operations_total"),
            ("operation", "insert"),
        ],
        &[
            ("__name__", "vector_operations_total"),
            ("operation", "delete"),
        ],
        &[
            ("__name__", "neurectomy_http_requests_total"),
            ("status", "500"),
        ],
        &[
            ("__name__", "neurectomy_http_requests_total"),
            ("status", "200"),
        ],
        &[("__name__", "neurectomy_ryot_tokens_generated_total")],
        &[("__name__", "neurectomy_sigmalang_original_size_bytes_sum")],
        &[("__name__", "neurectomy_sigmalang_compressed_size_bytes_sum")],
    ];
    for (seed, labels) in counters.iter().enumerate() {
        out.push(SeriesData::new(labels, counter(seed as i64)));
    }
    // A counter that resets halfway.
    out.push(SeriesData::new(
        &[
            ("__name__", "pynomaly_detections_total"),
            ("job", "restarted"),
        ],
        |i| {
            if i < 120 {
                (i * 3) as f64
            } else {
                ((i - 120) * 2) as f64
            }
        },
    ));
    let histograms: &[&[(&str, &str)]] = &[
        &[
            ("__name__", "neural_api_request_duration_seconds_bucket"),
            ("job", "neural-api"),
        ],
        &[
            ("__name__", "celery_task_duration_seconds_bucket"),
            ("task", "train"),
        ],
        &[
            ("__name__", "http_request_duration_seconds_bucket"),
            ("job", "pynomaly-api"),
        ],
        &[
            ("__name__", "search_latency_seconds_bucket"),
            ("job", "search"),
        ],
        &[
            (
                "__name__",
                "neurectomy_http_request_duration_seconds_bucket",
            ),
            ("endpoint", "/x"),
        ],
        &[
            (
                "__name__",
                "neurectomy_http_request_duration_seconds_bucket",
            ),
            ("endpoint", "/y"),
        ],
        &[
            (
                "__name__",
                "neurectomy_sigmavault_operation_duration_seconds_bucket",
            ),
            ("operation", "read"),
        ],
    ];
    let bounds = ["0.1", "0.5", "1", "5", "+Inf"];
    for (seed, labels) in histograms.iter().enumerate() {
        for (b, le) in bounds.iter().enumerate() {
            let mut l = labels.to_vec();
            l.push(("le", le));
            // Observations per step in each bucket, summed up to this bound: cumulative
            // counts, so buckets never decrease with `le`.
            out.push(SeriesData::new(&l, move |i| {
                (0..=i)
                    .map(|k| {
                        (0..=b as i64)
                            .map(|j| ((k * 5 + j * 3 + seed as i64) % 4) as f64)
                            .sum::<f64>()
                    })
                    .sum()
            }));
        }
    }
    // (labels, base value, scale of the variation)
    type Gauge<'a> = (&'a [(&'a str, &'a str)], f64, f64);
    let gauges: &[Gauge] = &[
        (
            &[
                ("__name__", "neural_api_active_requests"),
                ("job", "neural-api"),
            ],
            3.0,
            1.0,
        ),
        (
            &[("__name__", "celery_queue_length"), ("queue", "training")],
            0.0,
            2.0,
        ),
        (
            &[
                ("__name__", "celery_queue_length"),
                ("queue", "compilation"),
            ],
            1.0,
            1.0,
        ),
        (
            &[("__name__", "celery_queue_length"), ("queue", "export")],
            0.0,
            0.5,
        ),
        (
            &[("__name__", "celery_queue_length"), ("queue", "other")],
            9.0,
            1.0,
        ),
        (
            &[
                ("__name__", "process_resident_memory_bytes"),
                ("job", "neural-workers"),
                ("instance", "w1"),
            ],
            2e8,
            1e6,
        ),
        (
            &[
                ("__name__", "up"),
                ("job", "neural-api"),
                ("instance", "api-1"),
            ],
            1.0,
            0.0,
        ),
        (
            &[
                ("__name__", "up"),
                ("job", "neural-api"),
                ("instance", "api-2"),
            ],
            0.0,
            0.0,
        ),
        (
            &[
                ("__name__", "pg_stat_database_numbackends"),
                ("datname", "neural_api"),
            ],
            5.0,
            1.0,
        ),
        (
            &[
                ("__name__", "pg_stat_database_numbackends"),
                ("datname", "postgres"),
            ],
            1.0,
            0.0,
        ),
        (&[("__name__", "redis_memory_used_bytes")], 1e7, 12345.0),
        (&[("__name__", "redis_memory_max_bytes")], 1e9, 0.0),
        (
            &[
                ("__name__", "node_filesystem_avail_bytes"),
                ("mountpoint", "/"),
            ],
            5e10,
            1e8,
        ),
        (
            &[
                ("__name__", "node_filesystem_size_bytes"),
                ("mountpoint", "/"),
            ],
            1e11,
            0.0,
        ),
        (&[("__name__", "node_memory_MemAvailable_bytes")], 4e9, 1e7),
        (&[("__name__", "node_memory_MemTotal_bytes")], 1.6e10, 0.0),
        (
            &[("__name__", "pynomaly_model_accuracy"), ("model", "a")],
            0.9,
            0.003,
        ),
        (
            &[("__name__", "pynomaly_model_accuracy"), ("model", "b")],
            0.7,
            0.01,
        ),
        (&[("__name__", "pg_settings_max_connections")], 100.0, 0.0),
        (&[("__name__", "active_connections")], 12.0, 1.0),
        (&[("__name__", "cache_hit_ratio")], 0.5, 0.025),
        (&[("__name__", "memory_usage_bytes")], 3e8, 1e5),
        (&[("__name__", "rate_limit_remaining")], 1000.0, -7.0),
        (
            &[("__name__", "datasets_total"), ("tenant_id", "t1")],
            4.0,
            1.0,
        ),
        (
            &[("__name__", "datasets_total"), ("tenant_id", "t2")],
            7.0,
            0.0,
        ),
        (&[("__name__", "vectors_total")], 1e6, 1000.0),
        (
            &[
                ("__name__", "neurectomy_circuit_breaker_state"),
                ("service", "a"),
            ],
            1.0,
            0.0,
        ),
        (
            &[
                ("__name__", "neurectomy_circuit_breaker_state"),
                ("service", "b"),
            ],
            0.0,
            0.0,
        ),
    ];
    for (seed, (labels, base, scale)) in gauges.iter().enumerate() {
        out.push(SeriesData::new(labels, gauge(seed as i64, *base, *scale)));
    }
    out
}

/// Writes the series into a new WAL in `dir`, as a server appending them would.
pub fn write_wal(dir: &Path, series: &[SeriesData]) {
    let db = Db::open(DbOptions::new(dir), None).expect("open the data directory");
    let mut app = db.appender();
    for s in series {
        let labels = Labels::from_pairs(s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        for &(t, v) in &s.samples {
            app.append(None, labels.as_ref(), t, v).expect("append");
        }
    }
    app.commit().expect("commit");
    db.close().expect("close");
}

/// The series as OpenMetrics text (no metadata; one series after another).
pub fn to_openmetrics(series: &[SeriesData]) -> String {
    let mut out = String::new();
    for s in series {
        let name = s
            .labels
            .iter()
            .find(|(n, _)| n == "__name__")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let labels: Vec<String> = s
            .labels
            .iter()
            .filter(|(n, _)| n != "__name__")
            .map(|(n, v)| format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        for &(t, v) in &s.samples {
            out.push_str(&format!(
                "{name}{{{}}} {v} {}.{:03}\n",
                labels.join(","),
                t / 1000,
                t % 1000
            ));
        }
    }
    out.push_str("# EOF\n");
    out
}

/// A server started on a WAL holding `series`, ready.
pub struct Server {
    pub workdir: Workdir,
    pub ember: Ember,
}

impl Server {
    pub fn start(series: &[SeriesData], extra: &[&str]) -> Server {
        let workdir = Workdir::new();
        let data = workdir.join("data");
        write_wal(&data, series);
        let data_arg = format!("--storage.tsdb.path={}", data.display());
        let config = format!("--config.file={}", workdir.arg("prometheus.yml"));
        let mut args = vec![data_arg.as_str(), config.as_str()];
        args.extend_from_slice(extra);
        let ember = Ember::start(workdir.path(), &args);
        // Ready once `/-/ready` (under the route prefix, if any) answers 200.
        let prefix = extra
            .iter()
            .find_map(|a| a.strip_prefix("--web.route-prefix="))
            .unwrap_or("");
        let client = Client::new(&ember.url(prefix));
        let started = std::time::Instant::now();
        while client
            .try_get("/-/ready", &[])
            .is_none_or(|r| r.status != 200)
        {
            assert!(
                started.elapsed() < crate::common::TIMEOUT,
                "ember not ready in time; its log:\n{}",
                ember.log().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { workdir, ember }
    }

    pub fn base(&self) -> String {
        self.ember.url("")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.workdir.join("data")
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The body, gunzipped or inflated as `Content-Encoding` says.
    pub fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding").as_deref() {
            Some("gzip") => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .expect("gzip body");
            }
            Some("deflate") => {
                flate2::read::ZlibDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .expect("zlib body");
            }
            _ => out = self.body.clone(),
        }
        out
    }
}

/// A blocking HTTP client for one server (no proxy, no redirects, no compression unless
/// asked for).
pub struct Client {
    base: String,
    http: reqwest::blocking::Client,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::blocking::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
        }
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Option<Reply> {
        let resp = req.send().ok()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().ok()?.to_vec();
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    /// `GET path?params`.
    pub fn get(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        self.try_get(path, params)
            .unwrap_or_else(|| panic!("GET {path} failed"))
    }

    pub fn try_get(&self, path: &str, params: &[(&str, &str)]) -> Option<Reply> {
        let url = format!("{}{path}{}", self.base, query_string(params));
        self.send(self.http.get(url))
    }

    /// `GET` with extra headers.
    pub fn get_with(&self, path: &str, params: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        let url = format!("{}{path}{}", self.base, query_string(params));
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req)
            .unwrap_or_else(|| panic!("GET {path} failed"))
    }

    /// `POST` with a form-encoded body.
    pub fn post_form(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        let body = query_string(params).trim_start_matches('?').to_string();
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req)
            .unwrap_or_else(|| panic!("POST {path} failed"))
    }

    /// Any method, raw body, extra headers.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Option<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(body))
    }
}

/// `?a=1&b=2`, form-encoded (or empty).
pub fn query_string(params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    format!("?{}", s.finish())
}

/// Seconds (with milliseconds) of a millisecond timestamp, as a parameter.
pub fn secs(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// Checks an error answer: code, `status`, `errorType`, and the message.
pub fn assert_error(reply: &Reply, code: u16, error_type: &str, message: &str) {
    let body = reply.json();
    assert_eq!(reply.status, code, "{}", reply.text());
    assert_eq!(body["status"], "error", "{}", reply.text());
    assert_eq!(body["errorType"], error_type, "{}", reply.text());
    let got = body["error"].as_str().unwrap_or_default();
    assert!(
        got.contains(message),
        "error {got:?} does not contain {message:?}"
    );
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json")
    );
}
