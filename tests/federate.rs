//! `/federate` of the real binary: data in by remote write, the text exposition out,
//! checked against the format's rules (prometheus/docs `exposition_formats.md`) and
//! Prometheus's federation handler; and a real Prometheus 2.42 federating from Ember.

mod common;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{free_port, Ember, Workdir};
use support::*;

const CONFIG: &str =
    "global:\n  scrape_interval: 15s\n  external_labels:\n    region: eu\n    replica: a\n";

fn start(w: &Workdir) -> Ember {
    std::fs::write(w.join("prometheus.yml"), CONFIG).unwrap();
    let config = format!("--config.file={}", w.arg("prometheus.yml"));
    let mut ember = Ember::start(w.path(), &[&config, &data_arg(w)]);
    ember.wait_ready();
    ember
}

fn federate(ember: &Ember, query: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut req = client().get(ember.url(&format!("/federate{query}")));
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, resp.text().unwrap())
}

#[test]
fn latest_samples_grouped_by_name_with_external_labels() {
    let w = Workdir::new();
    let mut ember = start(&w);
    let now = now_ms();
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let answer = post_v1(
        &ember,
        &v1(vec![
            series(
                &[("__name__", "fed_a"), ("instance", "h:1"), ("job", "x")],
                &[(now - 120_000, 1.0), (now - 60_000, 2.5)],
            ),
            series(
                &[
                    ("__name__", "fed_a"),
                    ("job", "w"),
                    ("path", "C:\\dir \"q\""),
                ],
                &[(now - 1000, -0.0)],
            ),
            // Already has one of the external labels: kept as it is.
            series(
                &[("__name__", "fed_b"), ("region", "us")],
                &[(now - 2000, 1e-7)],
            ),
            // Ends with a stale marker: left out.
            series(
                &[("__name__", "fed_c")],
                &[(now - 90_000, 1.0), (now - 30_000, stale)],
            ),
            // Older than the lookback delta (5m): left out.
            series(&[("__name__", "fed_d")], &[(now - 400_000, 1.0)]),
            series(
                &[("__name__", "fed.utf8"), ("le.x", "y")],
                &[(now - 3000, 12345678.0)],
            ),
            series(&[("__name__", "other")], &[(now - 3000, 1.0)]),
        ]),
    );
    assert_eq!(answer.status, 204, "{}", answer.body);

    let (status, ct, body) = federate(
        &ember,
        "?match[]=%7B__name__%3D~%22fed_.%2B%22%7D&match[]=fed_a&match[]=%7B__name__%3D%22fed.utf8%22%7D",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(
        ct,
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
    );
    // Ordered by the metric names as stored ("fed.utf8" < "fed_a"), then escaped.
    let expected = format!(
        "# TYPE fed_utf8 untyped\n\
         fed_utf8{{le_x=\"y\",instance=\"\",region=\"eu\",replica=\"a\"}} 1.2345678e+07 {t4}\n\
         # TYPE fed_a untyped\n\
         fed_a{{instance=\"h:1\",job=\"x\",region=\"eu\",replica=\"a\"}} 2.5 {t1}\n\
         fed_a{{job=\"w\",path=\"C:\\\\dir \\\"q\\\"\",instance=\"\",region=\"eu\",replica=\"a\"}} 0 {t2}\n\
         # TYPE fed_b untyped\n\
         fed_b{{region=\"us\",instance=\"\",replica=\"a\"}} 1e-07 {t3}\n",
        t1 = now - 60_000,
        t2 = now - 1000,
        t3 = now - 2000,
        t4 = now - 3000,
    );
    assert_eq!(body, expected);

    // Compressed for a client that accepts gzip, as Prometheus's scrapers do.
    let resp = client()
        .get(ember.url(
            "/federate?match[]=%7B__name__%3D~%22fed_.%2B%22%7D&match[]=%7B__name__%3D%22fed.utf8%22%7D",
        ))
        .header("Accept-Encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let gz = resp.bytes().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    assert_eq!(text, expected);

    // A client that takes UTF-8 names gets them quoted.
    let (_, ct, body) = federate(
        &ember,
        "?match[]=%7B__name__%3D%22fed.utf8%22%7D",
        Some("text/plain;version=0.0.4;escaping=allow-utf-8"),
    );
    assert!(ct.ends_with("escaping=allow-utf-8"), "{ct}");
    assert_eq!(
        body,
        format!(
            "# TYPE \"fed.utf8\" untyped\n{{\"fed.utf8\",\"le.x\"=\"y\",instance=\"\",region=\"eu\",replica=\"a\"}} 1.2345678e+07 {}\n",
            now - 3000
        )
    );

    // No selector: nothing (as Prometheus). A bad one: 400 with the parser's message.
    let (status, _, body) = federate(&ember, "", None);
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, _, body) = federate(&ember, "?match[]=up%2B1", None);
    assert_eq!(status, 400);
    assert!(!body.is_empty());
    let metrics = ember.get("/metrics").unwrap().body;
    assert!(metrics
        .lines()
        .any(|l| l == r#"prometheus_http_requests_total{code="400",handler="/federate"} 1"#));
    assert_eq!(ember.terminate().code(), Some(0));
}

/// Prometheus 2.42 scrapes Ember's `/federate` (`honor_labels: true`) and stores exactly
/// the samples pushed into Ember, with Ember's labels and external labels.
#[test]
fn prometheus_federates_from_ember() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let w = Workdir::new();
    let ember = start(&w);
    let prom_port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n\
         scrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n\
         \x20   params:\n      'match[]': ['{{__name__=~\"fed_.+\"}}']\n\
         \x20   static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        ember.port
    );
    let mut prom = start_prometheus(&prometheus, w.path(), &config, prom_port, "federator");
    // Scraping starts once service discovery has delivered the target (up to 5 s).
    let started = std::time::Instant::now();
    loop {
        let up = client()
            .get(format!("http://127.0.0.1:{prom_port}/api/v1/query"))
            .query(&[("query", r#"up{job="federate"}"#)])
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default();
        if up.contains(r#""value":["#) && up.contains(r#","1"]"#) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Prometheus never scraped Ember: {up}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Each sample stays the newest for 3 s, so that 1 s scrapes see every one.
    let mut pushed: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for round in 0..5 {
        let t = now_ms();
        let mut all = Vec::new();
        for host in ["a", "b"] {
            let v = f64::from(round) * 1.5 + if host == "a" { 0.0 } else { 100.0 };
            all.push(series(
                &[("__name__", "fed_requests_total"), ("host", host)],
                &[(t, v)],
            ));
            pushed
                .entry(format!(
                    r#"{{__name__="fed_requests_total", host="{host}", job="federate", region="eu", replica="a"}}"#
                ))
                .or_default()
                .push((t, v.to_bits()));
        }
        assert_eq!(post_v1(&ember, &v1(all)).status, 204);
        std::thread::sleep(Duration::from_secs(3));
    }

    let text = client()
        .get(format!("http://127.0.0.1:{prom_port}/api/v1/query"))
        .query(&[("query", r#"{__name__=~"fed_.+"}[5m]"#)])
        .send()
        .unwrap()
        .text()
        .unwrap();
    prom.terminate();
    let resp: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resp["status"], "success", "{resp}");
    let mut got: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
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
                let v: f64 = p[1].as_str().unwrap().parse().unwrap();
                (t, v.to_bits())
            })
            .collect();
        got.insert(labels.to_string(), samples);
    }
    assert_eq!(got, pushed);
}
