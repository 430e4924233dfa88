//! Tests of the manager and the mechanisms against real files, HTTP servers and a UDP
//! DNS server on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use ember_config::discovery::KubernetesSdConfig;

use super::*;

const WAIT: Duration = Duration::from_secs(10);

fn manager(reg: &prometheus::Registry) -> DiscoveryManager {
    DiscoveryManager::with_updatert("scrape", reg, Duration::from_millis(50)).unwrap()
}

/// Targets and labels of one static group.
type StaticGroup<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

fn static_set(groups: &[StaticGroup]) -> ServiceDiscoveryConfigs {
    ServiceDiscoveryConfigs {
        static_configs: groups
            .iter()
            .map(|(targets, labels)| ember_config::TargetGroup {
                targets: targets.iter().map(|s| s.to_string()).collect(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .collect(),
        ..ServiceDiscoveryConfigs::default()
    }
}

fn addresses(sets: &TargetSets, set: &str) -> Vec<String> {
    let mut out: Vec<String> = sets
        .get(set)
        .into_iter()
        .flatten()
        .flat_map(|g| g.targets.iter().map(|t| t[ADDRESS_LABEL].clone()))
        .collect();
    out.sort();
    out
}

use targetgroup::ADDRESS_LABEL;

/// Waits until the published state satisfies `pred`.
async fn wait_for(
    rx: &mut watch::Receiver<Arc<TargetSets>>,
    what: &str,
    pred: impl Fn(&TargetSets) -> bool,
) -> Arc<TargetSets> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        {
            let cur = rx.borrow_and_update().clone();
            if pred(&cur) {
                return cur;
            }
        }
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            panic!("timed out waiting for {what}; state: {:?}", rx.borrow());
        }
    }
}

fn metric(reg: &prometheus::Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    for f in reg.gather() {
        if f.name() != name {
            continue;
        }
        for m in f.get_metric() {
            let ok = labels.iter().all(|(k, v)| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == *k && l.value() == *v)
            });
            if ok {
                return Some(
                    if f.get_field_type() == prometheus::proto::MetricType::GAUGE {
                        m.get_gauge().value()
                    } else {
                        m.get_counter().value()
                    },
                );
            }
        }
    }
    None
}

#[tokio::test]
async fn static_targets_are_published_immediately() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let rx = m.subscribe();
    m.apply_config(BTreeMap::from([(
        "job".to_string(),
        static_set(&[(&["a:1", "b:2"], &[("env", "prod")]), (&["c:3"], &[])]),
    )]));
    let state = rx.borrow().clone();
    let groups = &state["job"];
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].source, "0");
    assert_eq!(groups[1].source, "1");
    assert_eq!(groups[0].labels["env"], "prod");
    assert_eq!(
        groups[0].targets,
        vec![
            BTreeMap::from([("__address__".to_string(), "a:1".to_string())]),
            BTreeMap::from([("__address__".to_string(), "b:2".to_string())]),
        ]
    );
    assert_eq!(addresses(&state, "job"), ["a:1", "b:2", "c:3"]);
    assert_eq!(
        metric(
            &reg,
            "prometheus_sd_discovered_targets",
            &[("config", "job"), ("name", "scrape")]
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&reg, "prometheus_sd_failed_configs", &[("name", "scrape")]),
        Some(0.0)
    );
    // A second manager of the same name cannot register its metrics again.
    assert!(DiscoveryManager::new("scrape", &reg).is_err());
    // One of another name can, sharing the mechanisms' metrics.
    assert!(DiscoveryManager::new("notify", &reg).is_ok());
    m.stop();
}

#[tokio::test]
async fn unsupported_mechanisms_are_reported_and_the_set_is_empty() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let rx = m.subscribe();
    let cfg = ServiceDiscoveryConfigs {
        kubernetes: vec![KubernetesSdConfig::default()],
        ..ServiceDiscoveryConfigs::default()
    };
    let mut mixed = static_set(&[(&["x:1"], &[])]);
    mixed.kubernetes = vec![KubernetesSdConfig::default()];
    m.apply_config(BTreeMap::from([
        ("k8s".to_string(), cfg),
        ("mixed".to_string(), mixed),
    ]));
    assert_eq!(m.unsupported("k8s"), ["kubernetes"]);
    assert_eq!(m.unsupported("mixed"), ["kubernetes"]);
    assert!(m.unsupported("other").is_empty());
    let state = rx.borrow().clone();
    assert_eq!(state.get("k8s"), Some(&Vec::new()));
    assert_eq!(addresses(&state, "mixed"), ["x:1"]);
    assert_eq!(
        metric(&reg, "prometheus_sd_failed_configs", &[("name", "scrape")]),
        Some(2.0)
    );
}

#[tokio::test]
async fn removed_sets_get_one_empty_update_then_disappear() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let rx = m.subscribe();
    m.apply_config(BTreeMap::from([
        ("a".to_string(), static_set(&[(&["a:1"], &[])])),
        ("b".to_string(), static_set(&[(&["b:1"], &[])])),
    ]));
    assert_eq!(addresses(&rx.borrow(), "b"), ["b:1"]);
    m.apply_config(BTreeMap::from([(
        "a".to_string(),
        static_set(&[(&["a:1"], &[])]),
    )]));
    let state = rx.borrow().clone();
    assert_eq!(state.get("b"), Some(&Vec::new()));
    assert_eq!(addresses(&state, "a"), ["a:1"]);
    assert_eq!(
        metric(&reg, "prometheus_sd_discovered_targets", &[("config", "b")]),
        None
    );
    m.apply_config(BTreeMap::from([(
        "a".to_string(),
        static_set(&[(&["a:1"], &[])]),
    )]));
    assert!(!rx.borrow().contains_key("b"));
}

fn file_cfg(pattern: &str, refresh: Duration) -> ServiceDiscoveryConfigs {
    ServiceDiscoveryConfigs {
        file: vec![FileSdConfig {
            files: vec![pattern.to_string()],
            refresh_interval: refresh.into(),
        }],
        ..ServiceDiscoveryConfigs::default()
    }
}

/// Writes through a temporary name and renames, as config management tools do.
fn write_atomic(path: &std::path::Path, content: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn file_sd_watches_changes_keeps_last_good_and_drops_deleted_files() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let mut rx = m.subscribe();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("a.json");
    let yaml = dir.path().join("b.yml");
    write_atomic(
        &json,
        r#"[{"targets": ["j1:9100", "j2:9100"], "labels": {"team": "x"}}]"#,
    );
    write_atomic(&yaml, "- targets: ['y1:9100']\n- targets: ['y2:9100']\n");
    let pattern = format!("{}/*", dir.path().display());
    // Hour-long interval: only the watcher can bring the later changes in.
    let cfg = ServiceDiscoveryConfigs {
        file: vec![
            FileSdConfig {
                files: vec![format!("{pattern}.json")],
                refresh_interval: Duration::from_secs(3600).into(),
            },
            FileSdConfig {
                files: vec![format!("{pattern}.yml")],
                refresh_interval: Duration::from_secs(3600).into(),
            },
        ],
        ..ServiceDiscoveryConfigs::default()
    };
    m.apply_config(BTreeMap::from([("files".to_string(), cfg)]));
    let state = wait_for(&mut rx, "initial file targets", |s| {
        addresses(s, "files").len() == 4
    })
    .await;
    let g = state["files"]
        .iter()
        .find(|g| g.source == format!("{}:0", json.display()))
        .expect("group of a.json");
    assert_eq!(g.labels["__meta_filepath"], json.display().to_string());
    assert_eq!(g.labels["team"], "x");

    write_atomic(&json, r#"[{"targets": ["j3:9100"]}]"#);
    wait_for(&mut rx, "changed JSON", |s| {
        addresses(s, "files") == ["j3:9100", "y1:9100", "y2:9100"]
    })
    .await;

    // A broken file keeps its last good targets and counts a read error.
    let errors_before = MechanismMetrics::shared(&reg).file_read_errors.get();
    write_atomic(&yaml, "- targets: [unclosed\n");
    let deadline = tokio::time::Instant::now() + WAIT;
    while MechanismMetrics::shared(&reg).file_read_errors.get() == errors_before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no read error counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        addresses(&rx.borrow(), "files"),
        ["j3:9100", "y1:9100", "y2:9100"]
    );

    // Fewer groups: the missing source is emptied.
    write_atomic(&yaml, "- targets: ['y1:9100']\n");
    wait_for(&mut rx, "one YAML group", |s| {
        addresses(s, "files") == ["j3:9100", "y1:9100"]
    })
    .await;

    std::fs::remove_file(&json).unwrap();
    wait_for(&mut rx, "deleted JSON file", |s| {
        addresses(s, "files") == ["y1:9100"]
    })
    .await;
    m.stop();
}

#[tokio::test]
async fn file_sd_rereads_on_refresh_interval() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let mut rx = m.subscribe();
    let dir = tempfile::tempdir().unwrap();
    // Watch a directory that does not exist yet: only the interval can find the file.
    let sub = dir.path().join("later");
    let pattern = format!("{}/t.json", sub.display());
    m.apply_config(BTreeMap::from([(
        "f".to_string(),
        file_cfg(&pattern, Duration::from_millis(100)),
    )]));
    tokio::time::sleep(Duration::from_millis(150)).await;
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("t.json"), r#"[{"targets": ["late:1"]}]"#).unwrap();
    wait_for(&mut rx, "file found by periodic refresh", |s| {
        addresses(s, "f") == ["late:1"]
    })
    .await;
}

#[tokio::test]
async fn unchanged_providers_keep_running_and_are_shared_across_sets() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let mut rx = m.subscribe();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    std::fs::write(&path, r#"[{"targets": ["f:1"]}]"#).unwrap();
    let cfg = file_cfg(&path.display().to_string(), Duration::from_secs(3600));
    m.apply_config(BTreeMap::from([("one".to_string(), cfg.clone())]));
    wait_for(&mut rx, "file targets", |s| addresses(s, "one") == ["f:1"]).await;
    let provider_names = |m: &DiscoveryManager| -> Vec<String> {
        m.shared
            .state
            .lock()
            .providers
            .iter()
            .map(|p| p.name.clone())
            .collect()
    };
    let before = provider_names(&m);

    // Same config again, plus a second set using it: no new provider, and the targets
    // are there at once (a restarted provider would have to read the file first).
    m.apply_config(BTreeMap::from([
        ("one".to_string(), cfg.clone()),
        ("two".to_string(), cfg.clone()),
    ]));
    let state = rx.borrow().clone();
    assert_eq!(addresses(&state, "one"), ["f:1"]);
    assert_eq!(addresses(&state, "two"), ["f:1"]);
    assert_eq!(provider_names(&m), before);

    // A changed config replaces the provider.
    let other = file_cfg(&path.display().to_string(), Duration::from_secs(1800));
    m.apply_config(BTreeMap::from([("one".to_string(), other)]));
    assert_ne!(provider_names(&m), before);
    wait_for(&mut rx, "targets of the new provider", |s| {
        addresses(s, "one") == ["f:1"] && !s.contains_key("two")
    })
    .await;
}

#[derive(Clone, Default)]
struct HttpSd {
    /// 0: good JSON, 1: HTTP 500, 2: wrong content type, 3: bad JSON, 4: one group.
    mode: Arc<AtomicUsize>,
    headers: Arc<std::sync::Mutex<Vec<HeaderMap>>>,
}

async fn http_sd_server(state: HttpSd) -> SocketAddr {
    let app = Router::new()
        .route(
            "/sd",
            get(|State(s): State<HttpSd>, h: HeaderMap| async move {
                s.headers.lock().unwrap().push(h);
                use axum::http::StatusCode;
                use axum::response::IntoResponse;
                match s.mode.load(Ordering::SeqCst) {
                    0 => (
                        [("Content-Type", "application/json; charset=utf-8")],
                        r#"[{"targets": ["h1:80", "h2:80"], "labels": {"dc": "a"}}, {"targets": ["h3:80"]}]"#,
                    )
                        .into_response(),
                    1 => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
                    2 => ([("Content-Type", "text/plain")], "[]").into_response(),
                    3 => ([("Content-Type", "application/json")], "[{").into_response(),
                    _ => (
                        [("Content-Type", "application/json")],
                        r#"[{"targets": ["h1:80"]}]"#,
                    )
                        .into_response(),
                }
            }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn http_cfg(url: &str, refresh: Duration) -> HttpSdConfig {
    HttpSdConfig {
        url: url.to_string(),
        refresh_interval: refresh.into(),
        ..HttpSdConfig::default()
    }
}

#[tokio::test]
async fn http_sd_refresh_results_and_errors() {
    let state = HttpSd::default();
    let addr = http_sd_server(state.clone()).await;
    let url = format!("http://{addr}/sd");
    let mut d = http::Discovery::new(&http_cfg(&url, Duration::from_millis(1500))).unwrap();
    let groups = d.refresh().await.unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].source, format!("{url}:0"));
    assert_eq!(groups[0].labels["__meta_url"], url);
    assert_eq!(groups[0].labels["dc"], "a");
    assert_eq!(groups[1].targets[0]["__address__"], "h3:80");
    {
        let h = state.headers.lock().unwrap();
        let h = h.last().unwrap();
        assert_eq!(h["x-prometheus-refresh-interval-seconds"], "1.5");
        assert_eq!(h["accept"], "application/json");
    }

    state.mode.store(1, Ordering::SeqCst);
    assert_eq!(
        d.refresh().await.unwrap_err(),
        "server returned HTTP status 500 Internal Server Error"
    );
    state.mode.store(2, Ordering::SeqCst);
    assert_eq!(
        d.refresh().await.unwrap_err(),
        "unsupported content type \"text/plain\""
    );
    state.mode.store(3, Ordering::SeqCst);
    assert!(d.refresh().await.is_err());

    // Fewer groups than the last good answer: the missing source is emptied.
    state.mode.store(4, Ordering::SeqCst);
    let groups = d.refresh().await.unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[1].source, format!("{url}:1"));
    assert!(groups[1].targets.is_empty());
}

#[tokio::test]
async fn http_sd_keeps_last_targets_on_failure() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let mut rx = m.subscribe();
    let state = HttpSd::default();
    let addr = http_sd_server(state.clone()).await;
    let url = format!("http://{addr}/sd");
    let cfg = ServiceDiscoveryConfigs {
        http: vec![http_cfg(&url, Duration::from_millis(50))],
        ..ServiceDiscoveryConfigs::default()
    };
    m.apply_config(BTreeMap::from([("web".to_string(), cfg)]));
    wait_for(&mut rx, "HTTP targets", |s| {
        addresses(s, "web") == ["h1:80", "h2:80", "h3:80"]
    })
    .await;
    let failures_before = MechanismMetrics::shared(&reg).http_failures.get();
    let requests_before = state.headers.lock().unwrap().len();
    state.mode.store(1, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + WAIT;
    while state.headers.lock().unwrap().len() < requests_before + 3 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(MechanismMetrics::shared(&reg).http_failures.get() >= failures_before + 2);
    assert_eq!(addresses(&rx.borrow(), "web"), ["h1:80", "h2:80", "h3:80"]);
    assert!(
        metric(
            &reg,
            "prometheus_sd_refresh_failures_total",
            &[("mechanism", "http"), ("config", "web")]
        )
        .unwrap_or(0.0)
            >= 2.0
    );
    state.mode.store(4, Ordering::SeqCst);
    wait_for(&mut rx, "one HTTP target", |s| {
        addresses(s, "web") == ["h1:80"]
    })
    .await;
}

#[tokio::test]
async fn http_sd_with_unusable_client_config_fails_the_config() {
    let reg = prometheus::Registry::new();
    let m = manager(&reg);
    let rx = m.subscribe();
    let mut cfg = http_cfg("http://127.0.0.1:1/sd", Duration::from_secs(60));
    cfg.http_client.tls_config.ca_file = "/nonexistent/ca.pem".into();
    m.apply_config(BTreeMap::from([(
        "bad".to_string(),
        ServiceDiscoveryConfigs {
            http: vec![cfg],
            ..ServiceDiscoveryConfigs::default()
        },
    )]));
    assert_eq!(rx.borrow().get("bad"), Some(&Vec::new()));
    assert_eq!(
        metric(&reg, "prometheus_sd_failed_configs", &[("name", "scrape")]),
        Some(1.0)
    );
}

/// A DNS server on UDP 127.0.0.1 answering from a fixed zone:
/// `a.test` A, `v6.test` AAAA, `_m._tcp.test` SRV, `mail.test` MX, `zone.test` NS,
/// `cname.test` CNAME + A, `broken.test` SERVFAIL, anything else NXDOMAIN.
async fn dns_server() -> SocketAddr {
    use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{CNAME, MX, NS, SRV};
    use hickory_resolver::proto::rr::{Name, RData, Record};
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(query) = q.queries().first().cloned() else {
                continue;
            };
            let mut resp = Message::new();
            resp.set_id(q.id())
                .set_message_type(MessageType::Response)
                .set_op_code(q.op_code())
                .set_recursion_desired(q.recursion_desired())
                .set_recursion_available(true)
                .set_authoritative(true);
            resp.add_query(query.clone());
            let qname = query.name().clone();
            let name = qname.to_ascii().to_ascii_lowercase();
            let n = |s: &str| Name::from_ascii(s).unwrap();
            let rec = |d: RData| Record::from_rdata(qname.clone(), 60, d);
            let qt = query.query_type();
            use hickory_resolver::proto::rr::RecordType as T;
            match (name.as_str(), qt) {
                ("a.test.", T::A) => {
                    resp.add_answer(rec(RData::A("10.0.0.1".parse().unwrap())));
                    resp.add_answer(rec(RData::A("10.0.0.2".parse().unwrap())));
                }
                ("v6.test.", T::AAAA) => {
                    resp.add_answer(rec(RData::AAAA("2001:db8::1".parse().unwrap())));
                }
                ("_m._tcp.test.", T::SRV) => {
                    resp.add_answer(rec(RData::SRV(SRV::new(0, 0, 9100, n("node1.test.")))));
                    resp.add_answer(rec(RData::SRV(SRV::new(0, 0, 9200, n("node2.test.")))));
                }
                ("mail.test.", T::MX) => {
                    resp.add_answer(rec(RData::MX(MX::new(10, n("mx1.test.")))));
                }
                ("zone.test.", T::NS) => {
                    resp.add_answer(rec(RData::NS(NS(n("ns1.test.")))));
                }
                ("cname.test.", T::A) => {
                    resp.add_answer(rec(RData::CNAME(CNAME(n("a.test.")))));
                    resp.add_answer(Record::from_rdata(
                        n("a.test."),
                        60,
                        RData::A("10.0.0.1".parse().unwrap()),
                    ));
                }
                ("a.test.", _) | ("v6.test.", _) => {} // NOERROR, no records of the type
                ("broken.test.", _) => {
                    resp.set_response_code(ResponseCode::ServFail);
                }
                _ => {
                    resp.set_response_code(ResponseCode::NXDomain);
                }
            }
            if let Ok(bytes) = resp.to_vec() {
                let _ = sock.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

fn dns_cfg(names: &[&str], kind: &str, port: i64) -> DnsSdConfig {
    DnsSdConfig {
        names: names.iter().map(|s| s.to_string()).collect(),
        refresh_interval: Duration::from_secs(30).into(),
        record_type: kind.to_string(),
        port,
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn dns_sd_a_aaaa_srv_mx_ns_over_real_udp() {
    let ns = dns_server().await;
    let reg = prometheus::Registry::new();
    let mm = MechanismMetrics::shared(&reg);

    let mut d = dns::Discovery::new(&dns_cfg(&["a.test.", "cname.test."], "A", 9100), Some(ns));
    let g = d.refresh(&mm).await;
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].source, "a.test.");
    assert_eq!(
        g[0].targets,
        [
            labels(&[
                ("__address__", "10.0.0.1:9100"),
                ("__meta_dns_name", "a.test.")
            ]),
            labels(&[
                ("__address__", "10.0.0.2:9100"),
                ("__meta_dns_name", "a.test.")
            ]),
        ]
    );
    // The CNAME itself is skipped; the address behind it is a target.
    assert_eq!(
        g[1].targets,
        [labels(&[
            ("__address__", "10.0.0.1:9100"),
            ("__meta_dns_name", "cname.test.")
        ])]
    );

    let mut d = dns::Discovery::new(&dns_cfg(&["v6.test."], "AAAA", 80), Some(ns));
    let g = d.refresh(&mm).await;
    assert_eq!(
        g[0].targets,
        [labels(&[
            ("__address__", "[2001:db8::1]:80"),
            ("__meta_dns_name", "v6.test.")
        ])]
    );

    let mut d = dns::Discovery::new(&dns_cfg(&["_m._tcp.test."], "SRV", 0), Some(ns));
    let g = d.refresh(&mm).await;
    assert_eq!(
        g[0].targets,
        [
            labels(&[
                ("__address__", "node1.test:9100"),
                ("__meta_dns_name", "_m._tcp.test."),
                ("__meta_dns_srv_record_port", "9100"),
                ("__meta_dns_srv_record_target", "node1.test."),
            ]),
            labels(&[
                ("__address__", "node2.test:9200"),
                ("__meta_dns_name", "_m._tcp.test."),
                ("__meta_dns_srv_record_port", "9200"),
                ("__meta_dns_srv_record_target", "node2.test."),
            ]),
        ]
    );

    let mut d = dns::Discovery::new(&dns_cfg(&["mail.test."], "MX", 25), Some(ns));
    assert_eq!(
        d.refresh(&mm).await[0].targets,
        [labels(&[
            ("__address__", "mx1.test:25"),
            ("__meta_dns_mx_record_target", "mx1.test."),
            ("__meta_dns_name", "mail.test."),
        ])]
    );
    let mut d = dns::Discovery::new(&dns_cfg(&["zone.test."], "NS", 53), Some(ns));
    assert_eq!(
        d.refresh(&mm).await[0].targets,
        [labels(&[
            ("__address__", "ns1.test:53"),
            ("__meta_dns_name", "zone.test."),
            ("__meta_dns_ns_record_target", "ns1.test."),
        ])]
    );
}

#[tokio::test]
async fn dns_sd_negative_answers_empty_the_group_and_failures_keep_it() {
    let ns = dns_server().await;
    let reg = prometheus::Registry::new();
    let mm = MechanismMetrics::shared(&reg);
    let failures_before = mm.dns_lookup_failures.get();
    let lookups_before = mm.dns_lookups.get();
    let mut d = dns::Discovery::new(
        &dns_cfg(&["missing.test.", "v6.test.", "broken.test."], "A", 80),
        Some(ns),
    );
    let g = d.refresh(&mm).await;
    // NXDOMAIN and "no A records" are answers: empty groups that remove old targets.
    // SERVFAIL is a failure: no group, so the manager keeps the name's last targets.
    let sources: Vec<&str> = g.iter().map(|g| g.source.as_str()).collect();
    assert_eq!(sources, ["missing.test.", "v6.test."]);
    assert!(g.iter().all(|g| g.targets.is_empty()));
    assert!(mm.dns_lookups.get() >= lookups_before + 3);
    assert!(mm.dns_lookup_failures.get() > failures_before);
}
