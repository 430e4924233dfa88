//! The Prometheus HTTP API of the real `ember` binary, end to end.
//!
//! Each test writes a WAL with a known data set (`api_support::basic_dataset`: counters
//! stepping 10 and 1 every 15 s, constant gauges, a UTF-8 label name), starts `ember` on
//! it and checks the answers against values derived by hand from that data and against
//! Prometheus's documentation (`docs/querying/api.md`): shapes, codes, error types and
//! messages. Bad inputs must never break the server: every test ends by checking that it
//! still answers and the data is still there.
//!
//! `matches_a_real_prometheus` runs the same requests against Debian's Prometheus 2.42
//! loaded with the same samples (`promtool tsdb create-blocks-from openmetrics`) and
//! compares the answers. It skips loudly when Prometheus is not installed, unless
//! `EMBER_INTEROP=require`.

mod api_support;
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_support::{assert_error, basic_dataset, secs, Client, Reply, Server, END, T0};
use serde_json::{json, Value};

fn server(extra: &[&str]) -> (Server, Client) {
    let s = Server::start(&basic_dataset(), extra);
    let c = Client::new(&s.base());
    (s, c)
}

/// The data is served, and the server is still up: what every test ends with.
fn still_serving(c: &Client) {
    let r = c.get(
        "/api/v1/query",
        &[
            ("query", "sum(http_requests_total)"),
            ("time", &secs(T0 + 600_000)),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // 10*40 + 40 at the 41st sample.
    assert_eq!(r.json()["data"]["result"][0]["value"][1], "440");
}

#[test]
fn instant_queries() {
    let (_s, c) = server(&[]);
    // Between samples: the last sample within the lookback window (T0+600 s, the 41st).
    let t = T0 + 600_500;
    let r = c.get(
        "/api/v1/query",
        &[
            ("query", "http_requests_total{code=\"200\"}"),
            ("time", &secs(t)),
        ],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        r.text(),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"http_requests_total","code":"200","instance":"a","job":"api"},"value":[1700000600.500,"400"]}]}}"#
    );

    // RFC 3339, POST form, and the same answer.
    let rfc = c.get(
        "/api/v1/query",
        &[
            ("query", "http_requests_total{code=\"200\"}"),
            ("time", "2023-11-14T22:23:20.5Z"),
        ],
    );
    assert_eq!(rfc.body, r.body);
    let post = c.post_form(
        "/api/v1/query",
        &[
            ("query", "http_requests_total{code=\"200\"}"),
            ("time", &secs(t)),
        ],
    );
    assert_eq!(post.body, r.body);

    // Scalars and strings: `[time, "value"]`.
    let one = c
        .get("/api/v1/query", &[("query", "1+1"), ("time", "4")])
        .json();
    assert_eq!(
        one["data"],
        json!({"resultType": "scalar", "result": [4, "2"]})
    );
    let s = c.get("/api/v1/query", &[("query", "\"a<b\""), ("time", "1.5")]);
    assert!(
        s.text().contains(r#""result":[1.500,"a\u003cb"]"#),
        "{}",
        s.text()
    );

    // Special values are strings too.
    let special = c
        .get(
            "/api/v1/query",
            &[
                (
                    "query",
                    "vector(1e-7) or label_replace(vector(+Inf), \"a\", \"b\", \"\", \"\")",
                ),
                ("time", "10"),
            ],
        )
        .json();
    let values: Vec<&str> = special["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"][1].as_str().unwrap())
        .collect();
    assert_eq!(values, ["1e-07", "+Inf"]);

    // limit cuts vectors with a warning.
    let limited = c
        .get(
            "/api/v1/query",
            &[("query", "temperature"), ("time", &secs(t)), ("limit", "1")],
        )
        .json();
    assert_eq!(limited["data"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(
        limited["warnings"],
        json!(["results truncated due to limit"])
    );

    // stats=all: timings and samples.
    let stats = c
        .get(
            "/api/v1/query",
            &[
                ("query", "sum(temperature)"),
                ("time", &secs(t)),
                ("stats", "all"),
            ],
        )
        .json();
    let st = &stats["data"]["stats"];
    assert!(st["timings"]["execTotalTime"].as_f64().unwrap() >= 0.0);
    assert!(st["samples"]["totalQueryableSamples"].as_u64().unwrap() >= 2);
    assert!(st["samples"]["peakSamples"].is_u64());

    // Annotations: rate over a gauge-named metric is an info, as in Prometheus 3.
    let info = c
        .get(
            "/api/v1/query",
            &[("query", "rate(temperature[5m])"), ("time", &secs(t))],
        )
        .json();
    let infos = info["infos"].as_array().expect("infos");
    assert!(infos[0]
        .as_str()
        .unwrap()
        .starts_with("PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temperature\""));
    assert!(info.get("warnings").is_none());

    // lookback_delta: one minute back from 2 minutes after the last sample finds nothing.
    let end = END;
    let none = c
        .get(
            "/api/v1/query",
            &[
                ("query", "up"),
                ("time", &secs(end + 120_000)),
                ("lookback_delta", "1m"),
            ],
        )
        .json();
    assert_eq!(none["data"]["result"], json!([]));
    let some = c
        .get(
            "/api/v1/query",
            &[
                ("query", "up"),
                ("time", &secs(end + 120_000)),
                ("lookback_delta", "180"),
            ],
        )
        .json();
    assert_eq!(some["data"]["result"].as_array().unwrap().len(), 1);
    still_serving(&c);
}

#[test]
fn range_queries() {
    let (_s, c) = server(&[]);
    let params = [
        ("query", "temperature{room=\"kitchen\"}"),
        ("start", "1700000060"),
        ("end", "1700000120"),
        ("step", "15s"),
    ];
    let r = c.get("/api/v1/query_range", &params);
    assert_eq!(
        r.text(),
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"temperature","room":"kitchen"},"values":[[1700000060,"20.5"],[1700000075,"20.5"],[1700000090,"20.5"],[1700000105,"20.5"],[1700000120,"20.5"]]}]}}"#
    );
    // Float step, RFC 3339 bounds and POST: the same.
    let same = c.post_form(
        "/api/v1/query_range",
        &[
            ("query", "temperature{room=\"kitchen\"}"),
            ("start", "2023-11-14T22:14:20Z"),
            ("end", "2023-11-14T22:15:20Z"),
            ("step", "15"),
        ],
    );
    assert_eq!(same.body, r.body);

    // A counter stepping 1 every 15 s rises by 1/15 per second; every step sees it.
    let rate = c
        .get(
            "/api/v1/query_range",
            &[
                ("query", "rate(http_requests_total{code=\"500\"}[5m])"),
                ("start", &secs(T0 + 900_000)),
                ("end", &secs(T0 + 1_800_000)),
                ("step", "60"),
            ],
        )
        .json();
    let values = rate["data"]["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 16);
    for v in values {
        let x: f64 = v[1].as_str().unwrap().parse().unwrap();
        assert!((x - 1.0 / 15.0).abs() < 1e-9, "{x}");
    }

    // A scalar over a range is a matrix with empty labels.
    let scalar = c
        .get(
            "/api/v1/query_range",
            &[
                ("query", "2"),
                ("start", "0"),
                ("end", "30"),
                ("step", "15"),
            ],
        )
        .json();
    assert_eq!(
        scalar["data"],
        json!({"resultType": "matrix", "result": [{"metric": {}, "values": [[0, "2"], [15, "2"], [30, "2"]]}]})
    );

    // 11,000 points per series is the most.
    let max = c.get(
        "/api/v1/query_range",
        &[
            ("query", "1"),
            ("start", "0"),
            ("end", "11000"),
            ("step", "1"),
        ],
    );
    assert_eq!(max.status, 200);
    still_serving(&c);
}

#[test]
fn bad_requests_get_prometheus_errors() {
    let (_s, c) = server(&[]);
    let q = |params: &[(&str, &str)]| c.get("/api/v1/query", params);
    let qr = |params: &[(&str, &str)]| c.get("/api/v1/query_range", params);

    assert_error(
        &q(&[("query", "up"), ("time", "yesterday")]),
        400,
        "bad_data",
        "invalid parameter \"time\": invalid time value for 'time': cannot parse \"yesterday\" to a valid timestamp",
    );
    assert_error(
        &qr(&[("query", "up"), ("start", "x"), ("end", "1"), ("step", "1")]),
        400,
        "bad_data",
        "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp",
    );
    assert_error(
        &qr(&[
            ("query", "up"),
            ("start", "10"),
            ("end", "1"),
            ("step", "1"),
        ]),
        400,
        "bad_data",
        "invalid parameter \"end\": end timestamp must not be before start time",
    );
    assert_error(
        &qr(&[("query", "up"), ("start", "1"), ("end", "10"), ("step", "0")]),
        400,
        "bad_data",
        "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
    );
    assert_error(
        &qr(&[
            ("query", "up"),
            ("start", "1"),
            ("end", "10"),
            ("step", "5 minutes"),
        ]),
        400,
        "bad_data",
        "invalid parameter \"step\": cannot parse \"5 minutes\" to a valid duration",
    );
    assert_error(
        &qr(&[("query", "up"), ("start", "0"), ("end", "11001"), ("step", "1")]),
        400,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
    assert_error(
        &q(&[("query", "sum(")]),
        400,
        "bad_data",
        "invalid parameter \"query\": parse error: unclosed left parenthesis",
    );
    assert_error(
        &q(&[("query", "")]),
        400,
        "bad_data",
        "invalid parameter \"query\"",
    );
    assert_error(
        &qr(&[("query", "temperature[5m]"), ("start", "0"), ("end", "10"), ("step", "1")]),
        400,
        "bad_data",
        "invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
    );
    assert_error(
        &q(&[("query", "up"), ("limit", "-1")]),
        400,
        "bad_data",
        "invalid parameter \"limit\": limit must be non-negative",
    );
    assert_error(
        &q(&[("query", "up"), ("timeout", "soon")]),
        400,
        "bad_data",
        "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration",
    );
    assert_error(
        &q(&[("query", "up"), ("lookback_delta", "x")]),
        400,
        "bad_data",
        "error parsing lookback delta duration: cannot parse \"x\" to a valid duration",
    );
    // Vector matching fails while running: 422 execution.
    assert_error(
        &q(&[
            ("query", "http_requests_total + on(job) http_requests_total"),
            ("time", &secs(T0 + 600_000)),
        ]),
        422,
        "execution",
        "many-to-many matching not allowed",
    );
    // A timeout of one nanosecond (and of zero) has passed before the query ends: 503.
    for timeout in ["0.000000001", "0"] {
        assert_error(
            &q(&[("query", "sum(temperature)"), ("timeout", timeout)]),
            503,
            "timeout",
            "query timed out in ",
        );
    }
    still_serving(&c);
}

#[test]
fn unknown_paths_methods_and_oversized_input() {
    let (s, c) = server(&[]);
    assert_error(
        &c.get("/api/v1/nope", &[]),
        404,
        "not_found",
        "/api/v1/nope",
    );
    let wrong = c
        .request("DELETE", "/api/v1/query", &[], Vec::new())
        .unwrap();
    assert_error(&wrong, 405, "bad_data", "method DELETE not allowed");
    assert_eq!(wrong.header("allow").as_deref(), Some("GET, OPTIONS, POST"));
    let wrong = c
        .request("GET", "/api/v1/admin/tsdb/snapshot", &[], Vec::new())
        .unwrap();
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow").as_deref(), Some("OPTIONS, POST, PUT"));

    // A form body over 10 MiB is refused (Go's limit), and so is a huge query string.
    let mut body = b"query=".to_vec();
    body.resize(11 << 20, b'1');
    let big = c
        .request(
            "POST",
            "/api/v1/query",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body,
        )
        .unwrap();
    assert_error(&big, 400, "bad_data", "http: POST too large");
    // A large form body within the limit is read (decoded off the async runtime).
    let text = "x".repeat(1 << 20);
    let r = c.post_form(
        "/api/v1/query",
        &[("query", &format!("\"{text}\"")), ("time", "1")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["data"]["result"][1].as_str().map(str::len),
        Some(1 << 20)
    );
    let long = "1".repeat(2 << 20);
    if let Some(r) = c.try_get("/api/v1/query", &[("query", &long)]) {
        assert!((400..500).contains(&r.status), "status {}", r.status);
    }

    // Too many match[] selectors.
    let many: Vec<(&str, &str)> = (0..1001).map(|_| ("match[]", "up")).collect();
    assert_error(
        &c.post_form("/api/v1/series", &many),
        400,
        "bad_data",
        "too many match[] parameters",
    );

    // Queries nested deeper than Ember evaluates are refused before parsing; as deep as
    // it allows is evaluated (and does not exhaust a thread's stack).
    let deep = format!("{}1{}", "(".repeat(1001), ")".repeat(1001));
    assert_error(
        &c.post_form("/api/v1/query", &[("query", &deep)]),
        400,
        "bad_data",
        "too deeply nested",
    );
    let t = secs(T0 + 600_000);
    for (query, want) in [
        (
            format!("{}temperature{}", "sum(".repeat(999), ")".repeat(999)),
            "17.25",
        ),
        (format!("1{}", "+1".repeat(999)), "1000"),
        (format!("{}1", "-".repeat(999)), "-1"),
        (format!("{}up{}", "abs(".repeat(999), ")".repeat(999)), "1"),
        (format!("up{}", " or up".repeat(999)), "1"),
    ] {
        let r = c.post_form("/api/v1/query", &[("query", &query), ("time", &t)]);
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let got = match &v["data"]["result"] {
            Value::Array(a) if a.len() == 2 && a[1].is_string() => a[1].clone(),
            Value::Array(a) => a[0]["value"][1].clone(),
            other => other.clone(),
        };
        assert_eq!(got, want, "{}", &query[..40]);
        for endpoint in ["/api/v1/format_query", "/api/v1/parse_query"] {
            assert_eq!(c.post_form(endpoint, &[("query", &query)]).status, 200);
        }
    }
    drop(s);
}

#[test]
fn series_labels_and_label_values() {
    let (_s, c) = server(&[]);
    let series = c
        .get(
            "/api/v1/series",
            &[("match[]", "http_requests_total"), ("match[]", "up")],
        )
        .json();
    assert_eq!(
        series,
        json!({"status": "success", "data": [
            {"__name__": "http_requests_total", "code": "200", "instance": "a", "job": "api"},
            {"__name__": "http_requests_total", "code": "500", "instance": "b", "job": "api"},
            {"__name__": "up", "instance": "a", "job": "api"}
        ]})
    );
    // The same series twice is listed once; a time range without data lists none.
    let dup = c
        .post_form(
            "/api/v1/series",
            &[
                ("match[]", "up"),
                ("match[]", "{job=\"api\",__name__=\"up\"}"),
            ],
        )
        .json();
    assert_eq!(dup["data"].as_array().unwrap().len(), 1);
    let empty = c
        .get(
            "/api/v1/series",
            &[("match[]", "up"), ("start", "0"), ("end", "100")],
        )
        .json();
    assert_eq!(empty["data"], json!([]));
    let limited = c
        .get(
            "/api/v1/series",
            &[("match[]", "{job=\"api\"}"), ("limit", "2")],
        )
        .json();
    assert_eq!(limited["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        limited["warnings"],
        json!(["results truncated due to limit"])
    );
    assert_error(
        &c.get("/api/v1/series", &[]),
        400,
        "bad_data",
        "no match[] parameter provided",
    );
    assert_error(
        &c.get("/api/v1/series", &[("match[]", "up{")]),
        400,
        "bad_data",
        "invalid parameter \"match[]\": parse error",
    );
    assert_error(
        &c.get("/api/v1/series", &[("match[]", "rate(up[5m])")]),
        400,
        "bad_data",
        "invalid parameter \"match[]\"",
    );

    let labels = c.get("/api/v1/labels", &[]).json();
    assert_eq!(
        labels["data"],
        json!([
            "__name__",
            "code",
            "instance",
            "job",
            "room",
            "service.name"
        ])
    );
    let matched = c
        .post_form("/api/v1/labels", &[("match[]", "temperature")])
        .json();
    assert_eq!(matched["data"], json!(["__name__", "room"]));
    let limited = c.get("/api/v1/labels", &[("limit", "2")]).json();
    assert_eq!(limited["data"], json!(["__name__", "code"]));
    assert_eq!(
        limited["warnings"],
        json!(["results truncated due to limit"])
    );
    assert_error(
        &c.get("/api/v1/labels", &[("match[]", "{")]),
        400,
        "bad_data",
        "parse error",
    );

    let names = c.get("/api/v1/label/__name__/values", &[]).json();
    assert_eq!(
        names["data"],
        json!([
            "checkout_orders",
            "http_requests_total",
            "temperature",
            "up"
        ])
    );
    let codes = c
        .get(
            "/api/v1/label/code/values",
            &[("match[]", "{instance=\"b\"}")],
        )
        .json();
    assert_eq!(codes["data"], json!(["500"]));
    // UTF-8 label names come escaped in the path (`U__` + `_2e_` for `.`).
    let utf8 = c.get("/api/v1/label/U__service_2e_name/values", &[]).json();
    assert_eq!(utf8["data"], json!(["checkout"]));
    let none = c.get("/api/v1/label/nope/values", &[]).json();
    assert_eq!(none["data"], json!([]));
    let outside = c
        .get(
            "/api/v1/label/job/values",
            &[("start", &secs(END + 1_000)), ("end", &secs(END + 100_000))],
        )
        .json();
    assert_eq!(outside["data"], json!([]));
    still_serving(&c);
}

#[test]
fn format_and_parse_query() {
    let (_s, c) = server(&[]);
    let f = c
        .get(
            "/api/v1/format_query",
            &[("query", "sum(rate(x[5m])) by (job)")],
        )
        .json();
    assert_eq!(f["data"], "sum by (job) (rate(x[5m]))");
    // The documented example: foo/bar.
    let p = c.get("/api/v1/parse_query", &[("query", "foo/bar")]).json();
    assert_eq!(p["data"]["type"], "binaryExpr");
    assert_eq!(p["data"]["op"], "/");
    assert_eq!(p["data"]["matching"]["card"], "one-to-one");
    assert_eq!(
        p["data"]["lhs"]["matchers"],
        json!([{"name": "__name__", "type": "=", "value": "foo"}])
    );
    assert_error(
        &c.get("/api/v1/parse_query", &[("query", "foo{")]),
        400,
        "bad_data",
        "invalid parameter \"query\": parse error",
    );
}

#[test]
fn placeholders_exemplars_and_metadata() {
    let (_s, c) = server(&[]);
    let data = |path: &str, params: &[(&str, &str)]| -> Value {
        let r = c.get(path, params);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()["data"].clone()
    };
    // The minimal configuration's one job (its target, localhost:9090, is not Ember).
    let targets = data("/api/v1/targets", &[]);
    assert_eq!(targets["activeTargets"].as_array().unwrap().len(), 1);
    assert_eq!(targets["activeTargets"][0]["scrapePool"], "prometheus");
    assert_eq!(targets["droppedTargets"], json!([]));
    assert_eq!(targets["droppedTargetCounts"], json!({"prometheus": 0}));
    assert_eq!(
        data("/api/v1/targets", &[("state", "dropped")]),
        json!({"activeTargets": [], "droppedTargets": [], "droppedTargetCounts": {"prometheus": 0}})
    );
    assert_eq!(
        data("/api/v1/targets", &[("state", "active")])["droppedTargetCounts"],
        json!(null)
    );
    assert_eq!(
        data("/api/v1/targets/metadata", &[("metric", "no_such_metric")]),
        json!([])
    );
    assert_eq!(
        data("/api/v1/metadata", &[("metric", "no_such_metric")]),
        json!({})
    );
    assert_eq!(data("/api/v1/rules", &[]), json!({"groups": []}));
    assert_eq!(data("/api/v1/alerts", &[]), json!({"alerts": []}));
    assert_eq!(
        data("/api/v1/alertmanagers", &[]),
        json!({"activeAlertmanagers": [], "droppedAlertmanagers": []})
    );
    assert_eq!(
        data("/api/v1/scrape_pools", &[]),
        json!({"scrapePools": ["prometheus"]})
    );
    assert_eq!(
        data(
            "/api/v1/query_exemplars",
            &[("query", "http_requests_total")]
        ),
        json!([])
    );
    // No selector: no content, as Prometheus.
    assert_eq!(
        c.get("/api/v1/query_exemplars", &[("query", "1")]).status,
        204
    );
    assert_error(
        &c.get(
            "/api/v1/query_exemplars",
            &[("query", "up"), ("start", "10"), ("end", "1")],
        ),
        400,
        "bad_data",
        "end timestamp must not be before start timestamp",
    );
    assert_error(
        &c.get("/api/v1/metadata", &[("limit", "x")]),
        400,
        "bad_data",
        "limit must be a number",
    );
    assert_error(
        &c.get("/api/v1/targets/metadata", &[("match_target", "{")]),
        400,
        "bad_data",
        "invalid parameter \"match_target\"",
    );
    assert_error(
        &c.get("/api/v1/rules", &[("type", "x")]),
        400,
        "bad_data",
        "invalid parameter \"type\": not supported value \"x\"",
    );
}

#[test]
fn status_endpoints() {
    let (s, c) = server(&["--query.timeout=90s"]);
    let build = c.get("/api/v1/status/buildinfo", &[]).json()["data"].clone();
    assert!(build["version"].as_str().unwrap().starts_with("3."));
    for key in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(build[key].is_string(), "{key}");
    }
    assert!(
        build.get("features").is_none(),
        "Grafana would take Ember for Mimir"
    );

    // The configuration as loaded: Prometheus's field order, defaults filled in.
    let config = c.get("/api/v1/status/config", &[]).json();
    let yaml = config["data"]["yaml"].as_str().unwrap();
    assert!(
        yaml.starts_with("global:\n  scrape_interval: 15s\n"),
        "{yaml}"
    );
    assert!(yaml.contains("- job_name: prometheus\n"), "{yaml}");
    assert!(yaml.contains("    - localhost:9090\n"), "{yaml}");

    let flags = c.get("/api/v1/status/flags", &[]).json()["data"].clone();
    assert_eq!(flags["query.timeout"], "1m30s");
    assert_eq!(flags["query.lookback-delta"], "5m");
    assert_eq!(flags["web.enable-admin-api"], "false");
    assert_eq!(
        flags["storage.tsdb.path"],
        s.data_dir().display().to_string()
    );

    let rt = c.get("/api/v1/status/runtimeinfo", &[]).json()["data"].clone();
    assert_eq!(rt["reloadConfigSuccess"], true);
    assert_eq!(rt["storageRetention"], "15d");
    assert_eq!(rt["corruptionCount"], 0);
    assert!(rt["goroutineCount"].as_u64().unwrap() >= 1);
    assert!(rt["GOMAXPROCS"].as_u64().unwrap() >= 1);
    assert_eq!(rt["CWD"], s.workdir.path().display().to_string());
    for key in ["startTime", "serverTime", "lastConfigTime"] {
        let t = rt[key].as_str().unwrap();
        assert!(t.ends_with('Z') && t.contains('T'), "{key}: {t}");
    }

    let tsdb = c.get("/api/v1/status/tsdb", &[]).json()["data"].clone();
    assert_eq!(tsdb["headStats"]["numSeries"], 6);
    assert_eq!(tsdb["headStats"]["minTime"], T0);
    assert_eq!(tsdb["headStats"]["maxTime"], END);
    // Distinct pairs: __name__ 4, code 2, instance 2 (a, b), job 1, room 2,
    // service.name 1.
    assert_eq!(tsdb["headStats"]["numLabelPairs"], 12);
    assert_eq!(
        tsdb["seriesCountByMetricName"],
        json!([
            {"name": "http_requests_total", "value": 2},
            {"name": "temperature", "value": 2},
            {"name": "checkout_orders", "value": 1},
            {"name": "up", "value": 1}
        ])
    );
    assert_eq!(
        tsdb["labelValueCountByLabelName"][0],
        json!({"name": "__name__", "value": 4})
    );
    let one = c.get("/api/v1/status/tsdb", &[("limit", "1")]).json()["data"].clone();
    assert_eq!(
        one["seriesCountByLabelValuePair"].as_array().unwrap().len(),
        1
    );
    assert_error(
        &c.get("/api/v1/status/tsdb", &[("limit", "0")]),
        400,
        "bad_data",
        "limit must be a positive number",
    );
    assert_error(
        &c.get("/api/v1/status/tsdb", &[("limit", "10001")]),
        400,
        "bad_data",
        "limit must not exceed 10000",
    );

    // The WAL written before start-up, then the segment Ember opened: all replayed.
    let wal = c.get("/api/v1/status/walreplay", &[]).json()["data"].clone();
    assert_eq!(wal["min"], 0);
    assert!(wal["max"].as_u64().unwrap() <= 1);
    assert_eq!(wal["current"], wal["max"]);
    assert_eq!(
        c.get("/api/v1/status/tsdb/blocks", &[]).json()["data"],
        json!({"blocks": []})
    );
}

/// `status/config` follows reloads; a failed reload keeps the last good text and is
/// reported in `runtimeinfo`.
#[test]
fn config_follows_reloads() {
    let (s, c) = server(&["--web.enable-lifecycle"]);
    let path = s.workdir.join("prometheus.yml");
    let changed = "global:\n  scrape_interval: 30s\n";
    std::fs::write(&path, changed).unwrap();
    assert_eq!(
        c.request("POST", "/-/reload", &[], Vec::new())
            .unwrap()
            .status,
        200
    );
    let config = c.get("/api/v1/status/config", &[]).json();
    let yaml = config["data"]["yaml"].as_str().unwrap().to_string();
    assert!(
        yaml.starts_with("global:\n  scrape_interval: 30s\n"),
        "{yaml}"
    );
    // An unreadable file: the reload fails, the configuration stays.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert_eq!(
        c.request("POST", "/-/reload", &[], Vec::new())
            .unwrap()
            .status,
        500
    );
    assert_eq!(
        c.get("/api/v1/status/config", &[]).json()["data"]["yaml"],
        yaml.as_str()
    );
    let rt = c.get("/api/v1/status/runtimeinfo", &[]).json();
    assert_eq!(rt["data"]["reloadConfigSuccess"], false);
}

#[test]
fn admin_apis() {
    let (_s, c) = server(&[]);
    for path in [
        "/api/v1/admin/tsdb/delete_series",
        "/api/v1/admin/tsdb/clean_tombstones",
        "/api/v1/admin/tsdb/snapshot",
    ] {
        assert_error(
            &c.post_form(path, &[("match[]", "up")]),
            500,
            "unavailable",
            "admin APIs disabled",
        );
    }
    drop(c);

    let (_s, c) = server(&["--web.enable-admin-api"]);
    let del = "/api/v1/admin/tsdb/delete_series";
    assert_error(
        &c.post_form(del, &[]),
        400,
        "bad_data",
        "no match[] parameter provided",
    );
    assert_error(
        &c.post_form(del, &[("match[]", "up"), ("start", "x")]),
        400,
        "bad_data",
        "invalid parameter \"start\"",
    );
    assert_error(
        &c.post_form(del, &[("match[]", "up{")]),
        400,
        "bad_data",
        "invalid parameter \"match[]\"",
    );
    assert_error(
        &c.post_form(del, &[("match[]", "up")]),
        500,
        "unavailable",
        "not available in Ember yet",
    );
    assert_error(
        &c.post_form("/api/v1/admin/tsdb/snapshot", &[("skip_head", "maybe")]),
        400,
        "bad_data",
        "invalid parameter \"skip_head\": unable to parse boolean",
    );
    assert_error(
        &c.post_form("/api/v1/admin/tsdb/snapshot", &[("skip_head", "true")]),
        500,
        "unavailable",
        "not available in Ember yet",
    );
    assert_error(
        &c.post_form("/api/v1/admin/tsdb/clean_tombstones", &[]),
        500,
        "unavailable",
        "not available in Ember yet",
    );
    // Nothing was deleted.
    still_serving(&c);
}

#[test]
fn compression_cors_prefix_and_metrics() {
    let (_s, c) = server(&[
        "--web.cors.origin=https?://good\\.example",
        "--web.route-prefix=/prom",
    ]);
    let params = [("match[]", "http_requests_total")];
    let plain = c.get("/prom/api/v1/series", &params);
    assert_eq!(plain.status, 200);
    assert!(plain.header("content-encoding").is_none());
    for coding in ["gzip", "deflate"] {
        let packed = c.get_with(
            "/prom/api/v1/series",
            &params,
            &[("Accept-Encoding", coding)],
        );
        assert_eq!(packed.header("content-encoding").as_deref(), Some(coding));
        assert_eq!(packed.decoded(), plain.body);
    }
    // CORS: the matching origin is echoed, others are not; Vary: Origin always.
    let good = c.get_with(
        "/prom/api/v1/labels",
        &[],
        &[("Origin", "https://good.example")],
    );
    assert_eq!(
        good.header("access-control-allow-origin").as_deref(),
        Some("https://good.example")
    );
    assert_eq!(
        good.header("access-control-allow-methods").as_deref(),
        Some("GET, POST, OPTIONS")
    );
    let bad = c.get_with(
        "/prom/api/v1/labels",
        &[],
        &[("Origin", "https://evil.example")],
    );
    assert!(bad.header("access-control-allow-origin").is_none());
    assert!(bad
        .headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap_or_default().contains("Origin")));
    let options = c
        .request(
            "OPTIONS",
            "/prom/api/v1/query",
            &[("Origin", "https://good.example")],
            Vec::new(),
        )
        .unwrap();
    assert_eq!(options.status, 204);
    assert_eq!(
        options.header("access-control-allow-headers").as_deref(),
        Some("Accept, Authorization, Content-Type, Origin")
    );
    // Without the prefix: nothing.
    assert_eq!(c.get("/api/v1/labels", &[]).status, 404);

    // Counted per handler, and the engine's metrics move.
    c.get(
        "/prom/api/v1/query",
        &[("query", "up"), ("time", &secs(T0))],
    );
    c.get("/prom/api/v1/label/job/values", &[]);
    let metrics = c.get("/prom/metrics", &[]).text();
    let value = |name: &str| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    assert_eq!(
        value(r#"prometheus_http_requests_total{code="200",handler="/api/v1/query"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"prometheus_http_requests_total{code="200",handler="/api/v1/label/:name/values"}"#),
        Some(1.0)
    );
    assert!(
        value(r#"prometheus_http_request_duration_seconds_count{handler="/api/v1/series"}"#)
            .unwrap()
            >= 3.0
    );
    assert!(value("prometheus_engine_query_samples_total").unwrap() >= 1.0);
    assert_eq!(value("prometheus_engine_queries"), Some(0.0));
    assert_eq!(
        value("prometheus_engine_queries_concurrent_max"),
        Some(20.0)
    );
    assert_eq!(
        value(r#"prometheus_engine_query_duration_seconds_count{slice="inner_eval"}"#),
        Some(1.0)
    );
    assert!(value(
        r#"prometheus_engine_query_duration_seconds{slice="queue_time",quantile="0.99"}"#
    )
    .is_some());
}

// ---------------------------------------------------------------------------------------
// Side by side with a real Prometheus 2.42.

/// The path of an installed tool, or `None` (test skipped, loudly) when it is missing and
/// interop is not required.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("EMBER_INTEROP").as_deref() == Ok("require") {
            panic!("{name} is not installed, and EMBER_INTEROP=require");
        }
        eprintln!("SKIPPING: {name} is not installed (set EMBER_INTEROP=require to fail instead)");
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

/// Compares two API answers: status, result type, the set of result series (by labels)
/// and their timestamps and values (equal as numbers, NaN equal to NaN), the presence of
/// warnings.
/// Returns how many series (or list items) were compared.
fn compare(what: &str, ember: &Reply, prom: &Reply) -> Result<usize, String> {
    let (e, p) = (ember.json(), prom.json());
    if ember.status != prom.status || e["status"] != p["status"] {
        return Err(format!(
            "{what}: ember {} {} vs prometheus {} {}",
            ember.status,
            ember.text(),
            prom.status,
            prom.text()
        ));
    }
    if e.get("warnings").is_some() != p.get("warnings").is_some() {
        return Err(format!("{what}: warnings differ: {e} vs {p}"));
    }
    let (ed, pd) = (&e["data"], &p["data"]);
    if ed.get("resultType").is_none() {
        // Lists of series or strings: compare as sets.
        let set = |v: &Value| -> Vec<String> {
            let mut items: Vec<String> = v
                .as_array()
                .map(|a| a.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default();
            items.sort();
            items
        };
        return if set(ed) == set(pd) {
            Ok(set(ed).len())
        } else {
            Err(format!("{what}: {ed} vs {pd}"))
        };
    }
    if ed["resultType"] != pd["resultType"] {
        return Err(format!(
            "{what}: result types {} vs {}",
            ed["resultType"], pd["resultType"]
        ));
    }
    let points = |v: &Value| -> Vec<(f64, String)> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p[0].as_f64().unwrap_or(f64::NAN),
                            p[1].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let by_labels = |v: &Value| -> BTreeMap<String, Vec<(f64, String)>> {
        if v["resultType"] == "scalar" || v["resultType"] == "string" {
            return BTreeMap::from([(String::new(), points(&json!([v["result"].clone()])))]);
        }
        match v["result"].as_array() {
            Some(items) => items
                .iter()
                .map(|s| {
                    let pts = if s.get("values").is_some() {
                        points(&s["values"])
                    } else {
                        points(&json!([s["value"].clone()]))
                    };
                    (s["metric"].to_string(), pts)
                })
                .collect(),
            None => BTreeMap::new(),
        }
    };
    let (es, ps) = (by_labels(ed), by_labels(pd));
    if es.keys().collect::<Vec<_>>() != ps.keys().collect::<Vec<_>>() {
        return Err(format!(
            "{what}: series differ:\n ember {:?}\n prom  {:?}",
            es.keys(),
            ps.keys()
        ));
    }
    for (labels, ep) in &es {
        let pp = &ps[labels];
        if ep.len() != pp.len() {
            return Err(format!(
                "{what} {labels}: {} points vs {}",
                ep.len(),
                pp.len()
            ));
        }
        for ((et, ev), (pt, pv)) in ep.iter().zip(pp) {
            let (ef, pf): (f64, f64) = (
                ev.parse().unwrap_or(f64::NAN),
                pv.parse().unwrap_or(f64::NAN),
            );
            let same = ev == pv
                || (ef.is_nan() && pf.is_nan())
                || (ef - pf).abs() <= 1e-12 * ef.abs().max(pf.abs());
            if et != pt || !same {
                return Err(format!("{what} {labels}: ({et}, {ev}) vs ({pt}, {pv})"));
            }
        }
    }
    Ok(es.len())
}

#[test]
fn matches_a_real_prometheus() {
    let (Some(prometheus), Some(promtool)) = (tool("prometheus"), tool("promtool")) else {
        return;
    };
    let mut data = basic_dataset();
    // Prometheus 2.42 has no UTF-8 label names.
    data.retain(|s| !s.labels.iter().any(|(n, _)| n.contains('.')));
    data.extend(api_support::dashboard_dataset());

    let ember = Server::start(&data, &[]);
    let prom_dir = ember.workdir.join("prometheus");
    let input = ember.workdir.join("input.om");
    std::fs::write(&input, api_support::to_openmetrics(&data)).unwrap();
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(&input)
        .arg(&prom_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = common::free_port();
    let log = std::fs::File::create(ember.workdir.join("prometheus.log")).unwrap();
    let _prom = Guard(
        Command::new(&prometheus)
            .arg(format!(
                "--config.file={}",
                ember.workdir.arg("prometheus.yml")
            ))
            .arg(format!("--storage.tsdb.path={}", prom_dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(ember.workdir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let p = Client::new(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    while p.try_get("/-/ready", &[]).is_none_or(|r| r.status != 200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "prometheus did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let e = Client::new(&ember.base());

    // Evaluation times between samples (samples fall on multiples of 15 s after T0), so
    // that Prometheus 2's closed windows and Prometheus 3's left-open ones agree, and
    // late enough that every window (up to the queries' 1h) lies within the data: when a
    // counter's window begins before its first sample, Prometheus 3 extrapolates towards
    // the start differently from Prometheus 2 (it caps at the zero point after halving
    // the gap, 2.x before), and Ember follows 3.
    let t = secs(T0 + 5_407_300);
    let (start, end) = (secs(T0 + 3_607_300), secs(END - 52_700));
    let mut queries: Vec<String> =
        std::fs::read_to_string("/work/shared/seed-configs/dashboard-queries.txt")
            .map(|s| {
                s.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
    queries.extend(
        [
            "http_requests_total",
            "sum by (job) (rate(http_requests_total[5m]))",
            "temperature * 2 - 1",
            "increase(pynomaly_detections_total[10m])",
            "max_over_time(celery_queue_length[10m])",
            "avg_over_time(pynomaly_model_accuracy[15m])",
            "count by (__name__) ({__name__=~\"node_.*\"})",
            "label_replace(up, \"x\", \"$1\", \"instance\", \"api-(.*)\")",
            "topk(2, rate(neural_api_requests_total[5m]))",
            "deriv(process_resident_memory_bytes[10m])",
            "absent(nonexistent)",
            "1 / 0",
            "scalar(sum(up))",
        ]
        .map(str::to_string),
    );
    let mut failures = Vec::new();
    let mut compared = 0;
    for q in &queries {
        let instant = [("query", q.as_str()), ("time", t.as_str())];
        let range = [
            ("query", q.as_str()),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", "60"),
        ];
        for (path, params) in [
            ("/api/v1/query", &instant[..]),
            ("/api/v1/query_range", &range[..]),
        ] {
            match compare(
                &format!("{path} {q}"),
                &e.post_form(path, params),
                &p.post_form(path, params),
            ) {
                Ok(0) => failures.push(format!("{path} {q}: no result on either side")),
                Ok(n) => compared += n,
                Err(msg) => failures.push(msg),
            }
        }
    }
    let metadata: &[(&str, &[(&str, &str)])] = &[
        ("/api/v1/series", &[("match[]", "http_requests_total")]),
        (
            "/api/v1/series",
            &[("match[]", "{__name__=~\"celery.*\"}"), ("match[]", "up")],
        ),
        (
            "/api/v1/series",
            &[("match[]", "up"), ("start", "0"), ("end", "100")],
        ),
        ("/api/v1/labels", &[]),
        ("/api/v1/labels", &[("match[]", "{job=\"neural-api\"}")]),
        ("/api/v1/label/__name__/values", &[]),
        (
            "/api/v1/label/job/values",
            &[("match[]", "http_requests_total")],
        ),
        ("/api/v1/label/nope/values", &[]),
        ("/api/v1/query", &[("query", "sum(")]),
        (
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", "10"),
                ("end", "1"),
                ("step", "1"),
            ],
        ),
    ];
    for (path, params) in metadata {
        match compare(
            &format!("{path} {params:?}"),
            &e.get(path, params),
            &p.get(path, params),
        ) {
            Ok(n) => compared += n,
            Err(msg) => failures.push(msg),
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The data set makes every query return something: hundreds of series were
    // compared, not empty answers.
    assert!(compared > 250, "only {compared} series compared");
}
