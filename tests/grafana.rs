//! Grafana's Prometheus data source against the real `ember` binary.
//!
//! Each test replays the exact requests Grafana sends (endpoints, methods, parameters,
//! number formats, headers), and reads the answers the way Grafana reads them. The
//! shapes come from Grafana's sources, named at each request:
//!
//! - `pkg/promlib/client/client.go`: queries (`QueryInstant`, `QueryRange`,
//!   `QueryExemplars`) as `POST` forms (or `GET` when the data source is set so), times
//!   and steps as `strconv.FormatFloat(seconds, 'f', -1, 64)`; resource calls
//!   (`QueryResource`), `POST` except for the endpoints that only support `GET`, falling
//!   back to `GET` on 400 or 405;
//! - `pkg/promlib/healthcheck.go`: "Save & test" runs `1+1` as an instant query at t=4;
//! - `pkg/promlib/heuristics.go`: `status/buildinfo`; no `features` means Prometheus;
//! - `pkg/promlib/converter/prom.go`: how answers are parsed;
//! - `packages/grafana-prometheus/src/resource_clients.ts`, `language_provider.ts`,
//!   `datasource.ts`, `constants.ts`: label names, label values (`limit=40000`, names
//!   escaped with `U__`), series (`match[]={__name__!=""}`), metadata, rules, and the
//!   exemplar probe (`query=test`, start and end in milliseconds).

mod api_support;
mod common;

use api_support::{basic_dataset, Client, Reply, Server, END, T0};
use serde_json::Value;

/// Grafana's `formatTime`: seconds with the fraction, shortest form.
fn format_time(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    format!("{s}")
}

/// A frame as Grafana's converter builds one from a matrix or vector element.
#[derive(Debug)]
struct Frame {
    labels: Vec<(String, String)>,
    points: Vec<(f64, f64)>,
}

/// Reads an answer as `converter.ReadPrometheusStyleResult` does: `status`, `data`
/// (`resultType` and `result`, in either order), `error`/`errorType`, `warnings`,
/// `infos`. Returns the frames, or the error Grafana would show.
fn read_prometheus_result(reply: &Reply) -> Result<(String, Vec<Frame>), String> {
    let v: Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
    let obj = v.as_object().ok_or("not an object")?;
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .ok_or("no status")?;
    if status == "error" {
        return Err(format!(
            "{}: {}",
            obj["errorType"].as_str().unwrap_or_default(),
            obj["error"].as_str().unwrap_or_default()
        ));
    }
    for key in ["warnings", "infos"] {
        if let Some(list) = obj.get(key) {
            assert!(list
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)));
        }
    }
    let data = obj
        .get("data")
        .and_then(Value::as_object)
        .ok_or("expected object type")?;
    let result_type = data
        .get("resultType")
        .and_then(Value::as_str)
        .ok_or("no resultType found")?
        .to_string();
    let result = &data["result"];
    let pair = |p: &Value| -> Result<(f64, f64), String> {
        let a = p.as_array().ok_or("pair is not an array")?;
        let t = a[0].as_f64().ok_or("time is not a number")?;
        let s = a[1].as_str().ok_or("value is not a string")?;
        // strconv.ParseFloat: decimals, exponents, NaN, +Inf, -Inf.
        let v = s.parse::<f64>().map_err(|e| format!("{s:?}: {e}"))?;
        Ok((t, v))
    };
    let frames = match result_type.as_str() {
        "matrix" | "vector" => {
            let mut frames = Vec::new();
            for item in result.as_array().ok_or("result is not an array")? {
                let metric = item["metric"].as_object().ok_or("no metric")?;
                let labels = metric
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            k.clone(),
                            v.as_str().ok_or("label not a string")?.to_string(),
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let points = if let Some(values) = item.get("values") {
                    values
                        .as_array()
                        .ok_or("values not an array")?
                        .iter()
                        .map(pair)
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    vec![pair(&item["value"])?]
                };
                frames.push(Frame { labels, points });
            }
            frames
        }
        "scalar" => vec![Frame {
            labels: Vec::new(),
            points: vec![pair(result)?],
        }],
        "string" => Vec::new(),
        other => return Err(format!("unknown result type: {other}")),
    };
    Ok((result_type, frames))
}

/// The resource calls' data as `readArrayData`: strings, or label objects of strings.
fn read_array_data(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v = reply.json();
    assert_eq!(v["status"], "success");
    let items = v["data"].as_array().expect("an array").clone();
    for item in &items {
        match item {
            Value::String(_) => {}
            Value::Object(m) => assert!(m.values().all(Value::is_string), "{item}"),
            other => panic!("unexpected item {other}"),
        }
    }
    items
}

fn server() -> (Server, Client) {
    let s = Server::start(&basic_dataset(), &[]);
    let c = Client::new(&s.base());
    (s, c)
}

#[test]
fn save_and_test_and_build_info() {
    let (_s, c) = server();
    // healthcheck.go: `1+1`, instant, time range 1s..4s, so time=4; POST by default.
    for reply in [
        c.post_form("/api/v1/query", &[("query", "1+1"), ("time", "4")]),
        c.get("/api/v1/query", &[("query", "1+1"), ("time", "4")]),
    ] {
        let (kind, frames) = read_prometheus_result(&reply).expect("health check passes");
        assert_eq!(kind, "scalar");
        assert_eq!(frames[0].points, [(4.0, 2.0)]);
    }
    // The query timeout set in the data source is passed as `timeout`.
    let with_timeout = c.post_form(
        "/api/v1/query",
        &[("query", "1+1"), ("time", "4"), ("timeout", "60s")],
    );
    assert!(read_prometheus_result(&with_timeout).is_ok());

    // heuristics.go: GET status/buildinfo, 200, no `features`: a Prometheus.
    let build = c.get("/api/v1/status/buildinfo", &[]);
    assert_eq!(build.status, 200);
    let v = build.json();
    assert_eq!(v["status"], "success");
    assert!(v["data"].get("features").is_none());
    for key in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(v["data"][key].is_string(), "{key}");
    }
    // The version parses as semver and is at least 2.24.0, the version from which the
    // front end uses the labels API with `match[]` (datasource.ts,
    // hasLabelsMatchAPISupport).
    let version = v["data"]["version"].as_str().unwrap();
    let core: Vec<u64> = version
        .split(['+', '-'])
        .next()
        .unwrap()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        core.len() == 3 && (core[0], core[1]) >= (2, 24),
        "{version}"
    );
}

#[test]
fn panel_queries() {
    let (_s, c) = server();
    // client.go QueryRange: POST form with float seconds; the step in seconds.
    let (start, end) = (T0 + 1_234_567, T0 + 1_834_567);
    let params = [
        ("query", "rate(http_requests_total[5m])"),
        ("start", &format_time(start) as &str),
        ("end", &format_time(end)),
        ("step", "30"),
    ];
    let (kind, frames) =
        read_prometheus_result(&c.post_form("/api/v1/query_range", &params)).unwrap();
    assert_eq!(kind, "matrix");
    assert_eq!(frames.len(), 2);
    for f in &frames {
        assert!(f.labels.iter().any(|(k, v)| k == "job" && v == "api"));
        assert_eq!(f.points.len(), 21);
        assert_eq!(f.points[0].0, start as f64 / 1000.0);
    }
    // Sub-second steps, as Grafana sends for short ranges.
    let short = [
        ("query", "temperature"),
        ("start", "1700000100"),
        ("end", "1700000101"),
        ("step", "0.25"),
    ];
    let (_, frames) = read_prometheus_result(&c.post_form("/api/v1/query_range", &short)).unwrap();
    assert_eq!(frames[0].points.len(), 5);
    assert_eq!(frames[0].points[1].0, 1_700_000_100.25);

    // client.go QueryInstant: `time` is the range's end.
    let instant = [
        ("query", "sum by (job) (http_requests_total)"),
        ("time", &format_time(END) as &str),
    ];
    let (kind, frames) = read_prometheus_result(&c.post_form("/api/v1/query", &instant)).unwrap();
    assert_eq!(kind, "vector");
    assert_eq!(frames[0].points, [(END as f64 / 1000.0, 4800.0 + 480.0)]);

    // Errors reach the panel as "<errorType>: <error>".
    let err =
        read_prometheus_result(&c.post_form("/api/v1/query", &[("query", "sum(")])).unwrap_err();
    assert!(
        err.starts_with("bad_data: invalid parameter \"query\""),
        "{err}"
    );

    // client.go QueryExemplars: query, start, end; an array answer.
    let ex = c.post_form(
        "/api/v1/query_exemplars",
        &[
            ("query", "http_requests_total"),
            ("start", &format_time(start)),
            ("end", &format_time(end)),
        ],
    );
    assert!(read_array_data(&ex).is_empty());
}

#[test]
fn query_editor_lookups() {
    let (_s, c) = server();
    // getRangeSnapInterval / getTimeRangeParams: whole seconds.
    let (start, end) = ((T0 / 1000).to_string(), (END / 1000 + 1).to_string());
    let range = [("start", start.as_str()), ("end", end.as_str())];

    // resource_clients.ts queryMetrics: label values of __name__, limit 40000, GET only.
    let names = read_array_data(&c.get(
        "/api/v1/label/__name__/values",
        &[range[0], range[1], ("limit", "40000")],
    ));
    assert_eq!(names.len(), 4);

    // queryLabelKeys: /api/v1/labels, a POST resource call (datasource.ts
    // GET_AND_POST_METADATA_ENDPOINTS), with and without match[].
    let keys =
        read_array_data(&c.post_form("/api/v1/labels", &[("limit", "40000"), range[0], range[1]]));
    assert!(keys.contains(&Value::from("service.name")));
    let keys = read_array_data(&c.post_form(
        "/api/v1/labels",
        &[
            ("limit", "40000"),
            range[0],
            range[1],
            ("match[]", "temperature"),
        ],
    ));
    assert_eq!(keys, [Value::from("__name__"), Value::from("room")]);

    // queryLabelValues with a UTF-8 name: escapeForUtf8Support gives U__service_2e_name.
    let values = read_array_data(&c.get(
        "/api/v1/label/U__service_2e_name/values",
        &[("limit", "40000"), range[0], range[1]],
    ));
    assert_eq!(values, [Value::from("checkout")]);
    let values = read_array_data(&c.get(
        "/api/v1/label/room/values",
        &[
            ("limit", "40000"),
            range[0],
            range[1],
            ("match[]", "temperature"),
        ],
    ));
    assert_eq!(values, [Value::from("garage"), Value::from("kitchen")]);

    // querySeries: match[]={__name__!=""} (MATCH_ALL_LABELS), limit 40000, POST.
    let series = read_array_data(&c.post_form(
        "/api/v1/series",
        &[
            range[0],
            range[1],
            ("match[]", "{__name__!=\"\"}"),
            ("limit", "40000"),
        ],
    ));
    assert_eq!(series.len(), 6);

    // language_provider.ts loadMetricsMetadata: an object keyed by metric name.
    let meta = c.get("/api/v1/metadata", &[]);
    assert!(meta.json()["data"].is_object());

    // datasource.ts loadRules: data.groups.
    assert!(c.get("/api/v1/rules", &[]).json()["data"]["groups"].is_array());

    // datasource.ts areExemplarsAvailable: start and end in milliseconds; success means
    // exemplars are offered.
    let probe = c.get(
        "/api/v1/query_exemplars",
        &[
            ("query", "test"),
            ("start", "1700000000000"),
            ("end", "1700001800000"),
        ],
    );
    assert_eq!(probe.json()["status"], "success");

    // client.go QueryResource: a GET-only endpoint asked with POST falls back to GET on
    // 405; Ember answers 405 as Prometheus does.
    let post = c.post_form("/api/v1/label/job/values", &[]);
    assert_eq!(post.status, 405);
}
