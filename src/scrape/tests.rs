//! The scrape manager against real HTTP servers on 127.0.0.1, reading back what it
//! stored from a real database in a temporary directory.

use std::io::Write;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use ember_storage::chunkenc::is_stale_nan;
use ember_storage::db::DbOptions;
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::Querier;
use parking_lot::Mutex;

use super::target::Health;
use super::*;

/// What the test server answers, and what it saw.
#[derive(Clone)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
    gzip: bool,
    delay: Duration,
}

impl Reply {
    fn text(body: &str) -> Reply {
        Reply {
            status: 200,
            content_type: Some("text/plain; version=0.0.4; charset=utf-8".into()),
            body: body.as_bytes().to_vec(),
            gzip: false,
            delay: Duration::ZERO,
        }
    }
}

struct TestServer {
    addr: String,
    reply: Arc<Mutex<Reply>>,
    requests: Arc<Mutex<Vec<HeaderMap>>>,
}

impl TestServer {
    async fn start(reply: Reply) -> TestServer {
        let reply = Arc::new(Mutex::new(reply));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, q) = (Arc::clone(&reply), Arc::clone(&requests));
        let app = axum::Router::new().fallback(move |headers: HeaderMap| {
            let (r, q) = (Arc::clone(&r), Arc::clone(&q));
            async move {
                q.lock().push(headers);
                let reply = r.lock().clone();
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                let mut h = HeaderMap::new();
                if let Some(ct) = &reply.content_type {
                    h.insert("content-type", HeaderValue::from_str(ct).unwrap());
                }
                let body = if reply.gzip {
                    h.insert("content-encoding", HeaderValue::from_static("gzip"));
                    let mut enc =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    enc.write_all(&reply.body).unwrap();
                    enc.finish().unwrap()
                } else {
                    reply.body.clone()
                };
                (StatusCode::from_u16(reply.status).unwrap(), h, body).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestServer {
            addr,
            reply,
            requests,
        }
    }

    fn set(&self, f: impl FnOnce(&mut Reply)) {
        f(&mut self.reply.lock());
    }

    fn requests(&self) -> usize {
        self.requests.lock().len()
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    db: Arc<Db>,
    manager: Arc<ScrapeManager>,
    targets: watch::Sender<TargetSets>,
    registry: prometheus::Registry,
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(DbOptions::new(dir.path()), None).unwrap());
        let registry = prometheus::Registry::new();
        let manager = ScrapeManager::with_options(
            Arc::clone(&db),
            &registry,
            Duration::from_millis(20),
            true,
        )
        .unwrap();
        let (targets, rx) = watch::channel(TargetSets::default());
        tokio::spawn(Arc::clone(&manager).run(rx));
        Harness {
            _dir: dir,
            db,
            manager,
            targets,
            registry,
        }
    }

    /// Applies `yaml` and its static targets.
    async fn apply(&self, yaml: &str) {
        let cfg = Config::from_str(yaml, ".").unwrap();
        self.manager.apply_config(&cfg).await.unwrap();
        let _ = self.targets.send(Arc::new(static_target_sets(&cfg)));
    }

    /// Every stored series named `name`: labels and samples.
    fn series(&self, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let q = self.db.querier(i64::MIN, i64::MAX);
        let m = Matcher::new(MatchOp::Equal, "__name__", name).unwrap();
        let mut out = Vec::new();
        for s in q.select(true, None, &[m]).unwrap() {
            let s = s.unwrap();
            let mut samples = Vec::new();
            s.for_each_in(i64::MIN, i64::MAX, |t, v| samples.push((t, v)))
                .unwrap();
            out.push((s.labels().clone(), samples));
        }
        out
    }

    /// The values of the only series named `name`.
    fn values(&self, name: &str) -> Vec<f64> {
        let s = self.series(name);
        assert!(s.len() <= 1, "{name}: {s:?}");
        s.first()
            .map(|(_, v)| v.iter().map(|(_, v)| *v).collect())
            .unwrap_or_default()
    }

    async fn wait_for(&self, what: &str, mut cond: impl FnMut(&Harness) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond(self) {
            if Instant::now() > deadline {
                let status = self
                    .manager
                    .targets()
                    .values()
                    .flat_map(|p| p.active.clone())
                    .map(|t| t.status().last_error)
                    .collect::<Vec<_>>();
                panic!("timed out waiting for {what}; last errors: {status:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `up` has `n` samples.
    async fn scrapes(&self, n: usize) {
        self.wait_for(&format!("{n} scrapes"), |h| h.values("up").len() >= n)
            .await;
    }

    fn target(&self) -> Arc<Target> {
        let pools = self.manager.targets();
        let mut all: Vec<Arc<Target>> = pools.values().flat_map(|p| p.active.clone()).collect();
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    fn counter(&self, name: &str) -> f64 {
        self.registry
            .gather()
            .iter()
            .find(|f| f.name() == name)
            .map(|f| {
                f.get_metric()
                    .iter()
                    .map(|m| m.get_counter().value() + m.get_gauge().value())
                    .sum()
            })
            .unwrap_or(0.0)
    }
}

fn job(addr: &str, extra: &str) -> String {
    format!(
        "scrape_configs:\n  - job_name: t\n    scrape_interval: 200ms\n{extra}    static_configs:\n      - targets: ['{addr}']\n"
    )
}

fn label_pairs(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn plain_text_scrape_stores_samples_synthetic_series_and_metadata() {
    let srv = TestServer::start(Reply::text(
        "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\"} 5\nb 2.5\n",
    ))
    .await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(2).await;

    let a = h.series("a_total");
    assert_eq!(a.len(), 1);
    assert_eq!(
        label_pairs(&a[0].0),
        expected(&[
            ("__name__", "a_total"),
            ("instance", &srv.addr),
            ("job", "t"),
            ("x", "1")
        ])
    );
    assert!(a[0].1.iter().all(|(_, v)| *v == 5.0));
    assert!(h.values("b").iter().all(|v| *v == 2.5));
    assert!(h.values("up").iter().all(|v| *v == 1.0));
    assert_eq!(h.values("scrape_samples_scraped")[0], 2.0);
    assert_eq!(h.values("scrape_samples_post_metric_relabeling")[0], 2.0);
    // Both series are new on the first scrape, cached on the second.
    let added = h.values("scrape_series_added");
    assert_eq!(&added[..2], &[2.0, 0.0]);
    assert!(h.values("scrape_duration_seconds")[0] > 0.0);
    // The synthetic series carry the target's labels.
    let up = h.series("up");
    assert_eq!(
        label_pairs(&up[0].0),
        expected(&[("__name__", "up"), ("instance", &srv.addr), ("job", "t")])
    );
    // Samples of a scrape share its timestamp.
    assert_eq!(a[0].1[0].0, up[0].1[0].0);

    let t = h.target();
    let status = t.status();
    assert_eq!(status.health, Health::Up);
    assert_eq!(status.last_error, "");
    assert!(status.last_scrape.is_some());
    let meta = t.metadata_of("a_total").unwrap();
    assert_eq!(
        (meta.metric_type, meta.help.as_str()),
        ("counter", "Things.")
    );

    // Prometheus 3's request headers.
    let req = srv.requests.lock()[0].clone();
    assert_eq!(
        req["accept"],
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
         application/openmetrics-text;version=0.0.1;q=0.5,\
         text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
         text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    );
    assert_eq!(req["accept-encoding"], "gzip");
    assert_eq!(req["x-prometheus-scrape-timeout-seconds"], "0.2");
    assert!(req["user-agent"].to_str().unwrap().starts_with("Ember/"));

    // Self-metrics under Prometheus's names.
    assert_eq!(h.counter("prometheus_target_scrape_pools_total"), 1.0);
    assert_eq!(h.counter("prometheus_target_scrape_pool_targets"), 1.0);
    let families = h.registry.gather();
    let interval = families
        .iter()
        .find(|f| f.name() == "prometheus_target_interval_length_seconds")
        .unwrap();
    let m = &interval.get_metric()[0];
    assert_eq!(m.get_label()[0].name(), "interval");
    assert_eq!(m.get_label()[0].value(), "200ms");
    let summary = m.get_summary();
    assert!(summary.sample_count() >= 1);
    let quantiles: Vec<f64> = summary
        .get_quantile()
        .iter()
        .map(|q| q.quantile())
        .collect();
    assert_eq!(quantiles, [0.01, 0.05, 0.5, 0.9, 0.99]);
    // Observed intervals are close to the configured 200ms.
    let median = summary.get_quantile()[2].value();
    assert!((0.1..0.4).contains(&median), "{median}");
    assert!(families
        .iter()
        .any(|f| f.name() == "prometheus_target_sync_length_seconds"));
    h.manager.stop().await;
}

#[tokio::test]
async fn gzip_and_openmetrics_bodies() {
    let mut reply =
        Reply::text("# TYPE c_seconds gauge\n# UNIT c_seconds seconds\nc_seconds 7\n# EOF\n");
    reply.content_type = Some("application/openmetrics-text; version=1.0.0; charset=utf-8".into());
    reply.gzip = true;
    let srv = TestServer::start(reply).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(1).await;
    assert_eq!(h.values("up")[0], 1.0, "{}", h.target().status().last_error);
    assert_eq!(h.values("c_seconds")[0], 7.0);
    // Without `# EOF` an OpenMetrics body is invalid.
    srv.set(|r| r.body = b"c_seconds 7\n".to_vec());
    h.wait_for("a failed scrape", |h| h.values("up").contains(&0.0))
        .await;
    assert!(!h.target().status().last_error.is_empty());
    h.manager.stop().await;
}

#[tokio::test]
async fn content_type_decides_the_parser_and_the_fallback_protocol_applies() {
    let mut reply = Reply::text("a 1\n");
    reply.content_type = Some("application/json".into());
    let srv = TestServer::start(reply).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(1).await;
    assert_eq!(h.values("up")[0], 0.0);
    assert_eq!(
        h.target().status().last_error,
        "received unsupported Content-Type \"application/json\" and no fallback_scrape_protocol specified for target"
    );
    assert!(h.values("a").is_empty());

    srv.set(|r| r.content_type = Some(String::new()));
    h.wait_for("the blank Content-Type error", |h| {
        h.target().status().last_error == "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
    })
    .await;

    h.apply(&job(
        &srv.addr,
        "    fallback_scrape_protocol: PrometheusText0.0.4\n",
    ))
    .await;
    h.wait_for("a scrape through the fallback", |h| h.values("a") == [1.0])
        .await;
    h.manager.stop().await;
}

#[tokio::test]
async fn http_errors_timeouts_and_body_limits_fail_the_scrape() {
    let mut reply = Reply::text("a 1\n");
    reply.status = 500;
    let srv = TestServer::start(reply).await;
    let h = Harness::new().await;
    h.apply(&job(
        &srv.addr,
        "    body_size_limit: 100B\n    scrape_timeout: 100ms\n",
    ))
    .await;
    h.scrapes(1).await;
    assert_eq!(h.values("up")[0], 0.0);
    assert_eq!(
        h.target().status().last_error,
        "server returned HTTP status 500 Internal Server Error"
    );

    srv.set(|r| {
        r.status = 200;
        r.delay = Duration::from_millis(400);
    });
    h.wait_for("a timeout", |h| {
        h.target()
            .status()
            .last_error
            .ends_with("context deadline exceeded")
    })
    .await;

    // 100 bytes or more is over a 100B limit, plain or decompressed.
    srv.set(|r| {
        r.delay = Duration::ZERO;
        r.body = format!("a 1\n# {}\n", "x".repeat(200)).into_bytes();
    });
    h.wait_for("the body size limit", |h| {
        h.target().status().last_error == "body size limit exceeded"
    })
    .await;
    srv.set(|r| {
        r.gzip = true;
        r.body = vec![b'#'; 10_000];
    });
    let before = h.counter("prometheus_target_scrapes_exceeded_body_size_limit_total");
    h.wait_for("the limit on a decompressed body", |h| {
        h.counter("prometheus_target_scrapes_exceeded_body_size_limit_total") > before
    })
    .await;
    assert!(h.values("a").is_empty());
    srv.set(|r| r.body = b"a 1\n".to_vec());
    h.wait_for("recovery", |h| h.values("a") == [1.0]).await;
    h.manager.stop().await;
}

#[tokio::test]
async fn a_parse_error_rolls_the_scrape_back() {
    let srv = TestServer::start(Reply::text("a 1\nb 2\nc{ 3\n")).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(1).await;
    assert_eq!(h.values("up")[0], 0.0);
    assert!(
        h.values("a").is_empty(),
        "samples before the error are rolled back"
    );
    assert!(h.values("b").is_empty());
    let err = h.target().status().last_error;
    assert!(!err.is_empty() && !err.contains("line"), "{err}");
    h.manager.stop().await;
}

#[tokio::test]
async fn sample_limit_rejects_the_whole_scrape() {
    let srv = TestServer::start(Reply::text("a 1\nb 2\nc 3\n")).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "    sample_limit: 2\n")).await;
    h.scrapes(1).await;
    assert_eq!(h.values("up")[0], 0.0);
    assert_eq!(h.target().status().last_error, "sample limit exceeded");
    assert_eq!(h.values("scrape_samples_scraped")[0], 3.0);
    assert!(h.values("a").is_empty() && h.values("b").is_empty());
    assert!(h.counter("prometheus_target_scrapes_exceeded_sample_limit_total") >= 1.0);
    // Within the limit after metric relabeling drops one.
    h.apply(&job(
        &srv.addr,
        "    sample_limit: 2\n    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: c\n        action: drop\n",
    ))
    .await;
    h.wait_for("a scrape within the limit", |h| h.values("a") == [1.0])
        .await;
    assert!(h.values("c").is_empty());
    h.manager.stop().await;
}

#[tokio::test]
async fn label_limits_fail_the_scrape_with_prometheus_messages() {
    let srv = TestServer::start(Reply::text("a{x=\"1\"} 1\n")).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "    label_limit: 3\n")).await;
    h.scrapes(1).await;
    assert_eq!(
        h.target().status().last_error,
        "label_limit exceeded (metric: a, number of labels: 4, limit: 3)"
    );
    srv.set(|r| r.body = b"a{x=\"this-value-is-way-too-long\"} 1\n".to_vec());
    h.apply(&job(&srv.addr, "    label_value_length_limit: 20\n"))
        .await;
    h.wait_for("the value length error", |h| {
        h.target().status().last_error
            == "label_value_length_limit exceeded (metric: a, label name: x, value: \"this-value-is-way-too-long\", length: 26, limit: 20)"
    })
    .await;
    h.apply(&job(&srv.addr, "    label_name_length_limit: 2\n"))
        .await;
    h.wait_for("the name length error", |h| {
        h.target().status().last_error
            == "label_name_length_limit exceeded (metric: a, label name: __name__, length: 8, limit: 2)"
    })
    .await;
    assert!(h.values("a").is_empty());
    assert!(h.counter("prometheus_target_scrape_pool_exceeded_label_limits_total") >= 3.0);
    h.manager.stop().await;
}

#[tokio::test]
async fn honor_labels_both_ways() {
    let srv = TestServer::start(Reply::text(
        "a{job=\"exposed\",instance=\"i\",exported_job=\"e\"} 1\n",
    ))
    .await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(1).await;
    let a = h.series("a");
    assert_eq!(
        label_pairs(&a[0].0),
        expected(&[
            ("__name__", "a"),
            ("exported_exported_job", "exposed"),
            ("exported_instance", "i"),
            ("exported_job", "e"),
            ("instance", &srv.addr),
            ("job", "t"),
        ])
    );

    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "    honor_labels: true\n")).await;
    h.scrapes(1).await;
    let a = h.series("a");
    assert_eq!(
        label_pairs(&a[0].0),
        expected(&[
            ("__name__", "a"),
            ("exported_job", "e"),
            ("instance", "i"),
            ("job", "exposed"),
        ])
    );
    h.manager.stop().await;
}

#[tokio::test]
async fn honor_timestamps_both_ways() {
    let ts = append::now_ms() - 5_000;
    let srv = TestServer::start(Reply::text(&format!("a 1 {ts}\n"))).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(2).await;
    let a = h.series("a");
    assert_eq!(a[0].1, [(ts, 1.0)], "the exposed timestamp, once");

    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "    honor_timestamps: false\n"))
        .await;
    h.scrapes(2).await;
    let a = h.series("a");
    let up = h.series("up");
    assert_eq!(a[0].1[0].0, up[0].1[0].0, "the scrape's timestamp");
    assert!(a[0].1.len() >= 2);
    h.manager.stop().await;
}

#[tokio::test]
async fn metric_relabeling_drops_and_rewrites() {
    let srv = TestServer::start(Reply::text("a{x=\"1\"} 1\nb 2\n")).await;
    let h = Harness::new().await;
    let extra = concat!(
        "    metric_relabel_configs:\n",
        "      - source_labels: [__name__]\n",
        "        regex: b\n",
        "        action: drop\n",
        "      - source_labels: [x]\n",
        "        target_label: y\n",
    );
    h.apply(&job(&srv.addr, extra)).await;
    h.scrapes(2).await;
    assert!(h.series("b").is_empty());
    assert_eq!(h.series("a")[0].0.get("y"), Some("1"));
    assert_eq!(h.values("scrape_samples_scraped")[0], 2.0);
    assert_eq!(h.values("scrape_samples_post_metric_relabeling")[0], 1.0);
    h.manager.stop().await;
}

#[tokio::test]
async fn staleness_markers_when_a_series_or_the_target_goes_away() {
    let srv = TestServer::start(Reply::text("a 1\nb 2\n")).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(1).await;
    srv.set(|r| r.body = b"a 1\n".to_vec());
    h.wait_for("b to go stale", |h| {
        h.values("b").last().is_some_and(|v| is_stale_nan(*v))
    })
    .await;
    let b = h.values("b");
    assert!(b[..b.len() - 1].iter().all(|v| *v == 2.0));
    assert!(!h.values("a").iter().any(|v| is_stale_nan(*v)));

    // The target disappears from discovery: end-of-run staleness after two intervals.
    let _ = h.targets.send(TargetSets::default());
    let gone = Instant::now();
    h.wait_for("a and up to go stale", |h| {
        h.values("a").last().is_some_and(|v| is_stale_nan(*v))
            && h.values("up").last().is_some_and(|v| is_stale_nan(*v))
    })
    .await;
    assert!(
        gone.elapsed() >= Duration::from_millis(300),
        "{:?}",
        gone.elapsed()
    );
    assert!(h.manager.targets()["t"].active.is_empty());
    h.manager.stop().await;
}

#[tokio::test]
async fn stopping_the_manager_writes_no_staleness_markers() {
    let srv = TestServer::start(Reply::text("a 1\n")).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(1).await;
    h.manager.stop().await;
    let n = srv.requests();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(srv.requests(), n, "no scrapes after stop");
    assert!(!h.values("a").iter().any(|v| is_stale_nan(*v)));
}

#[tokio::test]
async fn reload_keeps_unchanged_jobs_restarts_changed_ones_and_stops_removed_ones() {
    let srv = TestServer::start(Reply::text("a 1\n")).await;
    let other = TestServer::start(Reply::text("o 1\n")).await;
    let h = Harness::new().await;
    let two = |extra: &str| {
        format!(
            "{}  - job_name: other\n    scrape_interval: 200ms\n{extra}    static_configs:\n      - targets: ['{}']\n",
            job(&srv.addr, ""),
            other.addr
        )
    };
    h.apply(&two("")).await;
    h.wait_for("both jobs", |h| {
        !h.values("a").is_empty() && !h.values("o").is_empty()
    })
    .await;
    let t_before = Arc::clone(&h.manager.targets()["t"].active[0]);
    let reloads = h.counter("prometheus_target_scrape_pool_reloads_total");

    // Changing one job's sample limit reloads that pool only, reusing its cache.
    h.apply(&two("    sample_limit: 100\n")).await;
    assert_eq!(
        h.counter("prometheus_target_scrape_pool_reloads_total"),
        reloads + 1.0
    );
    assert!(Arc::ptr_eq(&t_before, &h.manager.targets()["t"].active[0]));
    let n = h.series("o")[0].1.len();
    h.wait_for("more scrapes of other", |h| {
        h.series("o")[0].1.len() >= n + 2
    })
    .await;
    let other_up = h
        .series("scrape_series_added")
        .into_iter()
        .find(|(l, _)| l.get("job") == Some("other"))
        .unwrap();
    assert_eq!(
        other_up.1.last().unwrap().1,
        0.0,
        "the cache survived the reload: no series added"
    );

    // Removing a job stops its loop without staleness markers.
    h.apply(&job(&srv.addr, "")).await;
    assert_eq!(h.manager.scrape_pools(), ["t"]);
    let n = other.requests();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(other.requests() <= n + 1);
    assert!(!h.values("o").iter().any(|v| is_stale_nan(*v)));
    h.manager.stop().await;
}

#[tokio::test]
async fn target_limit_fails_every_scrape_of_the_pool() {
    let srv = TestServer::start(Reply::text("a 1\n")).await;
    let h = Harness::new().await;
    let yaml = format!(
        "scrape_configs:\n  - job_name: t\n    scrape_interval: 200ms\n    target_limit: 1\n    static_configs:\n      - targets: ['{0}', 'localhost:{1}']\n",
        srv.addr,
        srv.addr.rsplit(':').next().unwrap()
    );
    h.apply(&yaml).await;
    h.wait_for("two failed targets", |h| {
        h.manager.targets().get("t").is_some_and(|p| {
            p.active.len() == 2 && p.active.iter().all(|t| t.status().health == Health::Down)
        })
    })
    .await;
    let t = h.manager.targets()["t"].active[0].status();
    assert_eq!(
        t.last_error,
        "target_limit exceeded (number of targets: 2, limit: 1)"
    );
    assert!(h.values("a").is_empty());
    h.manager.stop().await;
}

#[tokio::test]
async fn dropped_targets_are_kept_up_to_keep_dropped_targets() {
    let h = Harness::new().await;
    let yaml = concat!(
        "scrape_configs:\n  - job_name: t\n    keep_dropped_targets: 2\n",
        "    relabel_configs:\n      - source_labels: [__address__]\n        regex: 'drop.*'\n        action: drop\n",
        "    static_configs:\n      - targets: ['drop1:1', 'drop2:1', 'drop3:1', 'keep:1']\n",
    );
    h.apply(yaml).await;
    h.wait_for("the sync", |h| {
        h.manager
            .targets()
            .get("t")
            .is_some_and(|p| p.dropped_count == 3)
    })
    .await;
    let view = &h.manager.targets()["t"];
    assert_eq!(view.dropped.len(), 2);
    assert_eq!(view.active.len(), 1);
    assert_eq!(
        view.dropped[0].discovered_labels().get("__address__"),
        Some("drop1:1")
    );
    h.manager.stop().await;
}

#[tokio::test]
async fn duplicate_label_names_fail_the_scrape() {
    let srv = TestServer::start(Reply::text("a{x=\"1\",x=\"2\"} 1\n")).await;
    let h = Harness::new().await;
    h.apply(&job(&srv.addr, "")).await;
    h.scrapes(1).await;
    assert_eq!(
        h.target().status().last_error,
        "label name \"x\" is not unique: invalid sample"
    );
    assert!(h.values("a").is_empty());
    h.manager.stop().await;
}

#[tokio::test]
async fn extra_scrape_metrics_and_track_timestamps_staleness() {
    let ts = append::now_ms() - 5_000;
    let srv = TestServer::start(Reply::text(&format!("a 1 {ts}\nb 2\n"))).await;
    let h = Harness::new().await;
    h.apply(&job(
        &srv.addr,
        "    extra_scrape_metrics: true\n    track_timestamps_staleness: true\n    sample_limit: 10\n",
    ))
    .await;
    h.scrapes(1).await;
    assert_eq!(h.values("scrape_timeout_seconds")[0], 0.2);
    assert_eq!(h.values("scrape_sample_limit")[0], 10.0);
    let body_len = format!("a 1 {ts}\nb 2\n").len() as f64;
    assert_eq!(h.values("scrape_body_size_bytes")[0], body_len);
    // A series with an explicit timestamp gets a staleness marker when it disappears,
    // because track_timestamps_staleness is on.
    srv.set(|r| r.body = b"b 2\n".to_vec());
    h.wait_for("a to go stale", |h| {
        h.values("a").last().is_some_and(|v| is_stale_nan(*v))
    })
    .await;
    h.manager.stop().await;
}
