//! Scraping end to end: the `ember` binary scrapes a local exposition server and itself,
//! stores what it scraped, shows its targets in the API, and follows reloads.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{free_port, Ember, Workdir};
use serde_json::Value;

/// A minimal HTTP/1.1 server on 127.0.0.1 answering every request with `body` as the
/// Prometheus text format. Returns its `host:port`.
fn exposition_server(body: &str) -> (String, Arc<Mutex<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let body = Arc::new(Mutex::new(body.to_string()));
    let shared = Arc::clone(&body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let body = shared.lock().unwrap().clone();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (addr, body)
}

fn get_json(ember: &Ember, path: &str) -> Value {
    let a = ember.get(path).expect("request");
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    serde_json::from_str(&a.body).expect("JSON")
}

fn query(ember: &Ember, q: &str) -> Vec<Value> {
    let path = format!(
        "/api/v1/query?query={}",
        form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    let v = get_json(ember, &path);
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn wait_until(what: &str, ember: &Ember, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            ember.log().join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn scrapes_a_target_and_itself_and_shows_them_in_the_api() {
    let (app, _) = exposition_server(
        "# HELP e2e_metric A test metric.\n# TYPE e2e_metric gauge\ne2e_metric{k=\"v\"} 42\n",
    );
    let w = Workdir::new();
    let port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{app}']\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n        labels:\n          team: db\n"
    );
    std::fs::write(w.join("prometheus.yml"), config).unwrap();
    let mut ember = Ember::spawn(
        w.path(),
        &[
            &format!("--config.file={}", w.arg("prometheus.yml")),
            &format!("--storage.tsdb.path={}", w.arg("data")),
            &format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        port,
    );
    ember.wait_ready();
    assert!(
        !ember
            .log()
            .iter()
            .any(|l| l.contains("Scraping, rules and alerting are not implemented")),
        "the old warning is gone"
    );

    wait_until("both targets up", &ember, || {
        let up = query(&ember, "up == 1");
        up.len() == 2
    });
    let r = query(&ember, "e2e_metric");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["metric"]["job"], "app");
    assert_eq!(r[0]["metric"]["instance"], app.as_str());
    assert_eq!(r[0]["metric"]["k"], "v");
    assert_eq!(r[0]["value"][1], "42");
    // Ember's own metrics, scraped with the static group's label.
    let ready = query(&ember, "prometheus_ready{job=\"self\"}");
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0]["metric"]["team"], "db");
    assert_eq!(ready[0]["value"][1], "1");

    let targets = get_json(&ember, "/api/v1/targets");
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 2);
    let t = active.iter().find(|t| t["scrapePool"] == "app").unwrap();
    let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "discoveredLabels",
        "labels",
        "scrapePool",
        "scrapeUrl",
        "globalUrl",
        "lastError",
        "lastScrape",
        "lastScrapeDuration",
        "health",
        "scrapeInterval",
        "scrapeTimeout",
    ];
    want.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, want);
    assert_eq!(t["health"], "up");
    assert_eq!(t["lastError"], "");
    assert_eq!(t["scrapeUrl"], format!("http://{app}/metrics"));
    assert_eq!(t["scrapeInterval"], "1s");
    assert_eq!(t["scrapeTimeout"], "1s");
    assert_eq!(t["labels"]["job"], "app");
    assert_eq!(t["labels"]["instance"], app.as_str());
    assert_eq!(t["discoveredLabels"]["__address__"], app.as_str());
    assert_eq!(t["discoveredLabels"]["__scheme__"], "http");
    assert!(t["lastScrapeDuration"].as_f64().unwrap() > 0.0);
    let last = t["lastScrape"].as_str().unwrap();
    assert!(
        last.len() > 20 && last.ends_with('Z') && last.contains('T'),
        "{last}"
    );
    assert_eq!(targets["data"]["droppedTargets"], serde_json::json!([]));
    assert_eq!(
        targets["data"]["droppedTargetCounts"],
        serde_json::json!({"app": 0, "self": 0})
    );
    let only_active = get_json(&ember, "/api/v1/targets?state=active&scrapePool=self");
    assert_eq!(
        only_active["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(only_active["data"]["droppedTargetCounts"], Value::Null);

    let pools = get_json(&ember, "/api/v1/scrape_pools");
    assert_eq!(
        pools["data"]["scrapePools"],
        serde_json::json!(["app", "self"])
    );

    let md = get_json(&ember, "/api/v1/targets/metadata?metric=e2e_metric");
    assert_eq!(
        md["data"],
        serde_json::json!([{"target": {"instance": app, "job": "app"}, "type": "gauge", "help": "A test metric.", "unit": ""}])
    );
    let md = get_json(&ember, "/api/v1/metadata?metric=e2e_metric");
    assert_eq!(
        md["data"],
        serde_json::json!({"e2e_metric": [{"type": "gauge", "help": "A test metric.", "unit": ""}]})
    );
    let bad = ember.get("/api/v1/metadata?limit=x").unwrap();
    assert_eq!(bad.status, 400);
    ember.terminate();
}

#[test]
fn reload_adds_targets_and_a_bad_config_keeps_scraping() {
    let (app, _) = exposition_server("first 1\n");
    let (app2, _) = exposition_server("second 2\n");
    let w = Workdir::new();
    let job = |name: &str, addr: &str| {
        format!("  - job_name: {name}\n    static_configs:\n      - targets: ['{addr}']\n")
    };
    let head = "global:\n  scrape_interval: 1s\nscrape_configs:\n";
    std::fs::write(
        w.join("prometheus.yml"),
        format!("{head}{}", job("one", &app)),
    )
    .unwrap();
    let mut ember = Ember::start(
        w.path(),
        &[
            &format!("--config.file={}", w.arg("prometheus.yml")),
            &format!("--storage.tsdb.path={}", w.arg("data")),
            "--web.enable-lifecycle",
        ],
    );
    ember.wait_ready();
    wait_until("the first target", &ember, || {
        !query(&ember, "first").is_empty()
    });

    std::fs::write(
        w.join("prometheus.yml"),
        format!("{head}{}{}", job("one", &app), job("two", &app2)),
    )
    .unwrap();
    assert_eq!(ember.post("/-/reload").unwrap().status, 200);
    wait_until("the new target", &ember, || {
        !query(&ember, "second").is_empty()
    });
    let config = get_json(&ember, "/api/v1/status/config");
    assert!(config["data"]["yaml"]
        .as_str()
        .unwrap()
        .contains("job_name: two"));

    std::fs::write(
        w.join("prometheus.yml"),
        format!("{head}{}  - job_nam: broken\n", job("one", &app)),
    )
    .unwrap();
    let failed = ember.post("/-/reload").unwrap();
    assert_eq!(failed.status, 500, "{}", failed.body);
    let metrics = ember.get("/metrics").unwrap().body;
    assert!(metrics
        .lines()
        .any(|l| l == "prometheus_config_last_reload_successful 0"));
    // The old configuration goes on: both jobs keep being scraped.
    let count = |q: &str| {
        query(&ember, &format!("count_over_time({q}[5m])"))
            .first()
            .and_then(|r| r["value"][1].as_str().and_then(|s| s.parse::<f64>().ok()))
            .unwrap_or(0.0)
    };
    let (a, b) = (count("first"), count("second"));
    wait_until("more scrapes after the failed reload", &ember, || {
        count("first") >= a + 2.0 && count("second") >= b + 2.0
    });
    ember.terminate();
}

#[test]
fn file_sd_targets_are_scraped_and_follow_the_file() {
    let (app, _) = exposition_server("from_file 3\n");
    let w = Workdir::new();
    let targets = w.join("targets.json");
    std::fs::write(
        &targets,
        format!(r#"[{{"targets": ["{app}"], "labels": {{"env": "test"}}}}]"#),
    )
    .unwrap();
    std::fs::write(
        w.join("prometheus.yml"),
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: files\n    file_sd_configs:\n      - files: ['targets.json']\n        refresh_interval: 1s\n",
    )
    .unwrap();
    let mut ember = Ember::start(
        w.path(),
        &[
            &format!("--config.file={}", w.arg("prometheus.yml")),
            &format!("--storage.tsdb.path={}", w.arg("data")),
        ],
    );
    ember.wait_ready();
    wait_until("the file's target", &ember, || {
        query(&ember, "from_file{env=\"test\", job=\"files\"}").len() == 1
    });
    let t = get_json(&ember, "/api/v1/targets");
    let active = &t["data"]["activeTargets"][0];
    assert_eq!(
        active["discoveredLabels"]["__meta_filepath"]
            .as_str()
            .map(|p| p.ends_with("targets.json")),
        Some(true)
    );
    // The file empties: the target goes away.
    std::fs::write(&targets, "[]").unwrap();
    wait_until("the target to go", &ember, || {
        get_json(&ember, "/api/v1/targets")["data"]["activeTargets"]
            .as_array()
            .is_some_and(|a| a.is_empty())
    });
    ember.terminate();
}

#[test]
fn an_invalid_configuration_at_start_exits_2() {
    let w = Workdir::new();
    std::fs::write(
        w.join("prometheus.yml"),
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 1x\n",
    )
    .unwrap();
    let out = common::run(
        w.path(),
        &[
            &format!("--config.file={}", w.arg("prometheus.yml")),
            &format!("--storage.tsdb.path={}", w.arg("data")),
            &format!("--web.listen-address=127.0.0.1:{}", free_port()),
        ],
    );
    assert_eq!(out.code(), Some(2));
    let log = out.stderr.clone();
    assert!(log.contains("Error loading config"), "{log}");
    assert!(log.contains("prometheus.yml:3"), "{log}");
}
