//! The receiver's pipeline on an in-memory head: what is stored and what is refused, for
//! hand-built 1.0 and 2.0 requests (expectations from the specifications and Prometheus's
//! write handler), and the `Content-Type` negotiation.

use std::sync::Arc;

use ember_storage::head::{Head, HeadOptions};
use ember_storage::labels::Labels;
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::Querier;
use prost::Message;

use super::ingest::{self, Outcome, Protocol, Scratch};
use super::metrics::ReceiverMetrics;
use super::parse_content_type;
use super::proto::{self, v2};

const NOW: i64 = 1_700_000_000_000;

fn ts(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> proto::TimeSeries {
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

struct Fixture {
    head: Arc<Head>,
    metrics: ReceiverMetrics,
    scratch: Scratch,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            head: Head::in_memory(HeadOptions::default()),
            metrics: ReceiverMetrics::unregistered(),
            scratch: Scratch::default(),
        }
    }

    fn send(&mut self, protocol: Protocol, body: Vec<u8>) -> Outcome {
        let compressed = snap::raw::Encoder::new().compress_vec(&body).unwrap();
        ingest::decompress(&compressed, &mut self.scratch).unwrap();
        let mut app = self.head.appender();
        ingest::ingest(&mut app, protocol, NOW, &mut self.scratch, &self.metrics).unwrap()
    }

    fn v1(&mut self, series: Vec<proto::TimeSeries>) -> Outcome {
        let req = proto::WriteRequest {
            timeseries: series,
            metadata: vec![],
        };
        self.send(Protocol::V1, req.encode_to_vec())
    }

    /// Every stored series with its samples, sorted by labels.
    fn stored(&self) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let q = self.head.querier(i64::MIN, i64::MAX);
        let all = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
        let mut out: Vec<_> = q
            .select(true, None, &[all])
            .unwrap()
            .map(|s| {
                let s = s.unwrap();
                let mut samples = Vec::new();
                s.for_each_in(i64::MIN, i64::MAX, |t, v| samples.push((t, v)))
                    .unwrap();
                (s.labels().clone(), samples)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[test]
fn v1_samples_are_stored_with_sorted_labels() {
    let mut f = Fixture::new();
    let out = f.v1(vec![
        ts(
            &[("__name__", "up"), ("instance", "a:1"), ("job", "node")],
            &[(NOW - 2000, 1.0), (NOW - 1000, 0.0)],
        ),
        // Not sorted on the wire: Prometheus sorts, so does Ember.
        ts(&[("job", "node"), ("__name__", "load1")], &[(NOW, 0.25)]),
        // An empty value is an absent label.
        ts(&[("__name__", "x"), ("empty", "")], &[(NOW, 7.0)]),
    ]);
    assert!(out.errors.is_empty(), "{}", out.errors.message());
    assert_eq!(out.samples, 4);
    assert_eq!(
        f.stored(),
        vec![
            (
                Labels::from_pairs([("__name__", "load1"), ("job", "node")]),
                vec![(NOW, 0.25)]
            ),
            (
                Labels::from_pairs([("__name__", "up"), ("instance", "a:1"), ("job", "node")]),
                vec![(NOW - 2000, 1.0), (NOW - 1000, 0.0)]
            ),
            (Labels::from_pairs([("__name__", "x")]), vec![(NOW, 7.0)]),
        ]
    );
}

#[test]
fn invalid_labels_are_refused_and_the_rest_is_written() {
    let mut f = Fixture::new();
    let out = f.v1(vec![
        ts(&[("job", "no-name")], &[(NOW, 1.0)]),
        ts(&[("__name__", "")], &[(NOW, 1.0)]),
        ts(
            &[("__name__", "a"), ("", "v")],
            &[(NOW, 1.0), (NOW + 1, 2.0)],
        ),
        ts(&[("__name__", "a"), ("x", "1"), ("x", "2")], &[(NOW, 1.0)]),
        ts(&[("__name__", "good")], &[(NOW, 3.0)]),
    ]);
    assert_eq!(out.samples, 1);
    assert_eq!(f.metrics.invalid_labels.get(), 5);
    assert_eq!(
        out.errors.message(),
        [
            r#"invalid metric name or labels, got {job="no-name"}"#,
            r#"invalid metric name or labels, got {__name__=""}"#,
            r#"invalid metric name or labels, got {__name__="a", ""="v"}"#,
            r#"invalid labels for series, labels {__name__="a", x="1", x="2"}, duplicated label x"#,
        ]
        .join("\n")
    );
    assert_eq!(f.stored().len(), 1);
}

#[test]
fn invalid_utf8_in_labels_is_refused() {
    // Built by hand: prost's String cannot hold invalid UTF-8.
    let label = |n: &[u8], v: &[u8]| {
        let mut l = vec![0x0a, n.len() as u8];
        l.extend_from_slice(n);
        l.extend_from_slice(&[0x12, v.len() as u8]);
        l.extend_from_slice(v);
        l
    };
    let mut series = Vec::new();
    for l in [label(b"__name__", b"m"), label(b"bad", b"\xff\xfe")] {
        series.push(0x0a);
        series.push(l.len() as u8);
        series.extend_from_slice(&l);
    }
    let sample = proto::Sample {
        value: 1.0,
        timestamp: NOW,
    }
    .encode_to_vec();
    series.push(0x12);
    series.push(sample.len() as u8);
    series.extend_from_slice(&sample);
    let mut body = vec![0x0a, series.len() as u8];
    body.extend_from_slice(&series);
    let mut f = Fixture::new();
    let out = f.send(Protocol::V1, body);
    assert_eq!(out.samples, 0);
    assert_eq!(
        out.errors.message(),
        "invalid metric name or labels, got {__name__=\"m\", bad=\"\u{fffd}\u{fffd}\"}"
    );
    assert!(f.stored().is_empty());
}

#[test]
fn out_of_order_and_future_samples_are_a_partial_write() {
    let mut f = Fixture::new();
    f.v1(vec![ts(&[("__name__", "m")], &[(NOW, 1.0)])]);
    let out = f.v1(vec![
        // Older than what is stored: out of order; the newer one is written.
        ts(
            &[("__name__", "m")],
            &[(NOW - 1000, 5.0), (NOW + 1000, 2.0)],
        ),
        // More than 10 minutes ahead of the receiver's clock.
        ts(&[("__name__", "n")], &[(NOW + 10 * 60 * 1000 + 1, 1.0)]),
        // Within one series: going back, and a second value for a timestamp.
        ts(
            &[("__name__", "o")],
            &[
                (NOW, 1.0),
                (NOW - 1, 1.0),
                (NOW, 2.0),
                (NOW, 1.0),
                (NOW + 1, 1.0),
            ],
        ),
    ]);
    assert_eq!(out.samples, 4);
    assert_eq!(
        out.errors.message(),
        [
            r#"out of order sample for series {__name__="m"}"#,
            r#"out of bounds: timestamp is too far in the future for series {__name__="n"}"#,
            r#"out of order sample for series {__name__="o"}"#,
            r#"duplicate sample for timestamp 1700000000000; overrides not allowed: existing 1, new value 2 for series {__name__="o"}"#,
        ]
        .join("\n")
    );
    // Against what is stored: a second value is a duplicate; the same value, a retry,
    // is accepted and not stored twice.
    let out = f.v1(vec![
        ts(&[("__name__", "m")], &[(NOW + 1000, 3.0)]),
        ts(&[("__name__", "n")], &[(NOW + 10 * 60 * 1000, 1.0)]),
    ]);
    assert_eq!(out.samples, 1);
    assert_eq!(
        out.errors.message(),
        r#"duplicate sample for timestamp 1700000001000; overrides not allowed: existing 2, new value 3 for series {__name__="m"}"#
    );
    let out = f.v1(vec![ts(&[("__name__", "m")], &[(NOW + 1000, 2.0)])]);
    assert!(out.errors.is_empty());
    assert_eq!(out.samples, 1);
    assert_eq!(
        f.stored(),
        vec![
            (
                Labels::from_pairs([("__name__", "m")]),
                vec![(NOW, 1.0), (NOW + 1000, 2.0)]
            ),
            (
                Labels::from_pairs([("__name__", "n")]),
                vec![(NOW + 600_000, 1.0)]
            ),
            (
                Labels::from_pairs([("__name__", "o")]),
                vec![(NOW, 1.0), (NOW + 1, 1.0)]
            ),
        ]
    );
    assert_eq!(f.metrics.rejected_out_of_order.get(), 2);
    assert_eq!(f.metrics.rejected_duplicate.get(), 2);
    assert_eq!(f.metrics.rejected_out_of_bounds.get(), 1);
}

#[test]
fn many_errors_are_reported_in_a_bounded_message() {
    let mut f = Fixture::new();
    let series = (0..25)
        .map(|i| ts(&[("job", &i.to_string())], &[(NOW, 1.0)]))
        .collect();
    let out = f.v1(series);
    let message = out.errors.message();
    assert_eq!(message.lines().count(), 11);
    assert!(message.ends_with("\n... and 15 more errors"), "{message}");
}

fn v2_request() -> v2::Request {
    let symbols = [
        "",
        "__name__",
        "http_requests_total",
        "job",
        "api",
        "trace_id",
        "abc",
        "Requests.",
        "1",
    ];
    v2::Request {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeseries: vec![
            v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![
                    v2::Sample {
                        value: 10.0,
                        timestamp: NOW - 1000,
                        start_timestamp: NOW - 60_000,
                    },
                    v2::Sample {
                        value: 12.0,
                        timestamp: NOW,
                        start_timestamp: NOW - 60_000,
                    },
                ],
                exemplars: vec![v2::Exemplar {
                    labels_refs: vec![5, 6],
                    value: 1.0,
                    timestamp: NOW,
                }],
                metadata: Some(v2::Metadata {
                    r#type: 1,
                    help_ref: 7,
                    unit_ref: 0,
                }),
                ..Default::default()
            },
            // A native histogram: refused (Ember stores floats), the rest still written.
            v2::TimeSeries {
                labels_refs: vec![1, 8],
                histograms: vec![v2::Histogram {
                    count: Some(v2::HistogramCount::CountInt(3)),
                    timestamp: NOW,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

#[test]
fn v2_resolves_symbols_and_counts_what_it_wrote() {
    let mut f = Fixture::new();
    let out = f.send(Protocol::V2, v2_request().encode_to_vec());
    assert_eq!((out.samples, out.histograms, out.exemplars), (2, 0, 1));
    assert_eq!(
        out.errors.message(),
        r#"1 native histogram samples rejected for series {__name__="1"}: Ember stores float samples only"#
    );
    assert_eq!(
        f.stored(),
        vec![(
            Labels::from_pairs([("__name__", "http_requests_total"), ("job", "api")]),
            vec![(NOW - 1000, 10.0), (NOW, 12.0)]
        )]
    );
}

#[test]
fn v2_bad_references_refuse_their_series_only() {
    let mut req = v2_request();
    req.timeseries.truncate(1);
    let good = req.timeseries[0].clone();
    let mut odd = good.clone();
    odd.labels_refs = vec![1, 2, 3];
    let mut outside = good.clone();
    outside.labels_refs = vec![1, 2, 3, 99];
    let mut bad_help = good.clone();
    bad_help.metadata = Some(v2::Metadata {
        r#type: 2,
        help_ref: 50,
        unit_ref: 0,
    });
    let mut bad_exemplar = good.clone();
    bad_exemplar.labels_refs = vec![1, 2];
    bad_exemplar.samples = vec![v2::Sample {
        value: 1.0,
        timestamp: NOW,
        start_timestamp: 0,
    }];
    bad_exemplar.exemplars[0].labels_refs = vec![5];
    let mut empty = good.clone();
    empty.labels_refs = vec![1, 6];
    empty.samples.clear();
    empty.exemplars.clear();
    req.timeseries = vec![odd, outside, bad_help, bad_exemplar, empty, good];
    let mut f = Fixture::new();
    let out = f.send(Protocol::V2, req.encode_to_vec());
    assert_eq!(out.samples, 3);
    assert_eq!(
        out.errors.message(),
        [
            "parsing labels for series [1, 2, 3]: invalid labelRefs length 3",
            "parsing labels for series [1, 2, 3, 99]: labelRefs 3 (name) = 99 (value) outside of symbols table (size 9)",
            "parsing metadata for series [1, 2, 3, 4]: metadata help_ref 50 outside of symbols table (size 9)",
            r#"parsing exemplar for series {__name__="http_requests_total"}: invalid labelRefs length 1"#,
            r#"TimeSeries must contain at least one sample or histogram for series {__name__="abc"}"#,
        ]
        .join("\n")
    );
}

#[test]
fn malformed_protobuf_stores_nothing() {
    let mut f = Fixture::new();
    let mut body = proto::WriteRequest {
        timeseries: vec![ts(&[("__name__", "m")], &[(NOW, 1.0)])],
        metadata: vec![],
    }
    .encode_to_vec();
    body.push(0x0a); // a field announced, never given
    let compressed = snap::raw::Encoder::new().compress_vec(&body).unwrap();
    ingest::decompress(&compressed, &mut f.scratch).unwrap();
    let mut app = f.head.appender();
    let err = ingest::ingest(&mut app, Protocol::V1, NOW, &mut f.scratch, &f.metrics).unwrap_err();
    assert_eq!(err.to_string(), "unexpected EOF");
    assert!(f.stored().is_empty());
}

#[test]
fn snappy_is_checked_before_allocating() {
    let mut scratch = Scratch::default();
    assert!(ingest::decompress(b"\xff\xff\xff", &mut scratch).is_err());
    // A header announcing 64 MiB, with no data behind it.
    let bomb = [0x80, 0x80, 0x80, 0x20, 0x00];
    assert_eq!(
        ingest::decompress(&bomb, &mut scratch)
            .unwrap_err()
            .to_string(),
        "decoded size exceeds the 33554432 bytes limit"
    );
}

#[test]
fn content_type_negotiation() {
    use Protocol::*;
    for (ct, want) in [
        ("application/x-protobuf", Ok(V1)),
        (
            "application/x-protobuf;proto=prometheus.WriteRequest",
            Ok(V1),
        ),
        (
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            Ok(V2),
        ),
        (
            "application/x-protobuf; proto=io.prometheus.write.v2.Request",
            Ok(V2),
        ),
        ("application/x-protobuf;charset=utf-8", Ok(V1)),
        ("application/json", Err(())),
        (
            "application/x-protobuf;proto=io.prometheus.write.v3.Request",
            Err(()),
        ),
        ("application/x-protobuf;proto", Err(())),
    ] {
        assert_eq!(parse_content_type(ct).map_err(drop), want, "{ct}");
    }
    assert_eq!(
        parse_content_type("text/plain").unwrap_err(),
        "expected application/x-protobuf as the first (media) part, got text/plain content-type"
    );
}

/// A server's shared state, not ready yet, and its HTTP metrics.
fn app_state() -> (
    Arc<crate::api::AppState>,
    Arc<crate::api::instrument::HttpMetrics>,
) {
    use crate::api::{instrument::HttpMetrics, AppState, Readiness};
    let registry = prometheus::Registry::new();
    let ready = prometheus::IntGauge::new("prometheus_ready", "ready").unwrap();
    let http = Arc::new(HttpMetrics::new(&registry).unwrap());
    let (tx, _control) = tokio::sync::mpsc::channel(4);
    let options = match crate::cli::parse(&["--storage.tsdb.path=/nonexistent"]).unwrap() {
        crate::cli::Command::Run(flags) => {
            crate::cli::Options::resolve(flags, "localhost").unwrap()
        }
        other => panic!("{other:?}"),
    };
    let state = Arc::new(AppState::new(
        "Prometheus Server",
        Readiness::new(ready),
        registry,
        tx,
        Arc::new(options),
    ));
    (state, http)
}

/// A body without a declared length is cut off at 32 MiB: 413.
#[tokio::test]
async fn oversized_body_without_length_is_413() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    let (state, http) = app_state();
    let dir = tempfile::tempdir().unwrap();
    let db =
        ember_storage::db::Db::open(ember_storage::db::DbOptions::new(dir.path()), None).unwrap();
    state.set_db(Arc::new(db));
    state.readiness.set(crate::api::ReadyStatus::Ready);
    let app = crate::api::router(Arc::clone(&state), &http, "/");
    let chunks = (0..33).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1024 * 1024]));
    let response = app
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/api/v1/write")
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

/// Before the server is ready (storage opening, WAL replaying) the receiver and
/// `/federate` answer 503, as Prometheus's; a server marked ready whose storage is not
/// there yet also answers 503 rather than failing.
#[tokio::test]
async fn requests_before_ready_get_503() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use crate::api::{router, ReadyStatus};

    let (state, http) = app_state();
    let app = router(Arc::clone(&state), &http, "/");
    let body = snap::raw::Encoder::new()
        .compress_vec(&proto::WriteRequest::default().encode_to_vec())
        .unwrap();
    let call = |uri: &'static str, method: &'static str| {
        let app = app.clone();
        let body = body.clone();
        async move {
            let response = app
                .oneshot(
                    Request::builder()
                        .method(method)
                        .uri(uri)
                        .header("Content-Type", "application/x-protobuf")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status().as_u16();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    assert_eq!(
        call("/api/v1/write", "POST").await,
        (503, "Service Unavailable".to_string())
    );
    assert_eq!(
        call("/federate?match[]=up", "GET").await,
        (503, "Service Unavailable".to_string())
    );
    state.readiness.set(ReadyStatus::Ready);
    assert_eq!(
        call("/api/v1/write", "POST").await,
        (503, "storage is not open yet\n".to_string())
    );
}

#[test]
fn v2_invalid_utf8_symbols_refuse_the_series_using_them() {
    // Built by hand: prost's String cannot hold invalid UTF-8.
    let mut body = Vec::new();
    for sym in [&b""[..], b"__name__", b"ok", b"\xc3\x28"] {
        body.push(0x22);
        body.push(sym.len() as u8);
        body.extend_from_slice(sym);
    }
    for refs in [[1u8, 3], [1, 2]] {
        let sample = v2::Sample {
            value: 1.0,
            timestamp: NOW,
            start_timestamp: 0,
        }
        .encode_to_vec();
        let mut ts = vec![0x0a, 2, refs[0], refs[1], 0x12, sample.len() as u8];
        ts.extend_from_slice(&sample);
        body.push(0x2a);
        body.push(ts.len() as u8);
        body.extend_from_slice(&ts);
    }
    let mut f = Fixture::new();
    let out = f.send(Protocol::V2, body);
    assert_eq!(out.samples, 1);
    assert_eq!(
        out.errors.message(),
        "invalid metric name or labels, got {__name__=\"\u{fffd}(\"}"
    );
    assert_eq!(
        f.stored(),
        vec![(Labels::from_pairs([("__name__", "ok")]), vec![(NOW, 1.0)])]
    );
}

/// Storage that cannot take the request (here: closed, as during shutdown) is a 5xx, so
/// that the sender retries, and nothing of the request is kept.
#[test]
fn closed_storage_is_a_5xx() {
    use ember_storage::db::{Db, DbOptions};

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(DbOptions::new(dir.path()), None).unwrap();
    db.close().unwrap();
    let receiver = super::Receiver {
        metrics: ReceiverMetrics::unregistered(),
        in_flight: Arc::new(tokio::sync::Semaphore::new(1)),
        accept_v1: true,
        accept_v2: true,
        accepted: String::new(),
    };
    let body = proto::WriteRequest {
        timeseries: vec![ts(&[("__name__", "m")], &[(NOW, 1.0)])],
        metadata: vec![],
    }
    .encode_to_vec();
    let compressed = snap::raw::Encoder::new().compress_vec(&body).unwrap();
    let response = super::handle(
        &receiver,
        &db,
        &compressed,
        Some("application/x-protobuf;proto=prometheus.WriteRequest"),
        &mut Scratch::default(),
    );
    assert_eq!(response.status().as_u16(), 503);
    let v2_body = snap::raw::Encoder::new()
        .compress_vec(&v2_request().encode_to_vec())
        .unwrap();
    let response = super::handle(
        &receiver,
        &db,
        &v2_body,
        Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
        &mut Scratch::default(),
    );
    assert_eq!(response.status().as_u16(), 503);
    // A 2.0 answer reports that nothing was written.
    assert_eq!(
        response.headers()["x-prometheus-remote-write-samples-written"],
        "0"
    );
}
