//! The real server's life: start-up, the `/-/` routes and `/metrics`, logs, the data
//! directory lock, reloads and graceful shutdown.

mod common;

use common::{logfmt_value, parse_logfmt, run, Ember, Workdir};

fn data_arg(w: &Workdir) -> String {
    format!("--storage.tsdb.path={}", w.arg("data"))
}

#[test]
fn healthy_ready_and_metrics() {
    let w = Workdir::new();
    let mut ember = Ember::start(w.path(), &[&data_arg(&w)]);
    ember.wait_ready();

    let healthy = ember.get("/-/healthy").unwrap();
    assert_eq!(healthy.status, 200);
    assert_eq!(healthy.body, "Prometheus Server is Healthy.\n");
    let ready = ember.get("/-/ready").unwrap();
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body, "Prometheus Server is Ready.\n");
    let missing = ember.get("/api/v1/nothing-here").unwrap();
    assert_eq!(missing.status, 404);

    let metrics = ember.get("/metrics").unwrap();
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let value = |body: &str, name: &str| -> Option<f64> {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    let body = metrics.body;
    assert!(value(&body, "process_cpu_seconds_total").is_some());
    assert!(value(&body, "process_resident_memory_bytes").unwrap() > 0.0);
    assert_eq!(value(&body, "prometheus_ready"), Some(1.0));
    assert_eq!(
        value(&body, "prometheus_config_last_reload_successful"),
        Some(1.0)
    );
    assert!(body
        .lines()
        .any(|l| l.starts_with("prometheus_build_info{") && l.contains(r#"version=""#)));

    // One more request to each handler moves its counters by exactly one.
    let healthy_total = r#"prometheus_http_requests_total{code="200",handler="/-/healthy"}"#;
    let metrics_total = r#"prometheus_http_requests_total{code="200",handler="/metrics"}"#;
    let healthy_count = r#"prometheus_http_request_duration_seconds_count{handler="/-/healthy"}"#;
    let before = (
        value(&body, healthy_total).unwrap(),
        value(&body, metrics_total).unwrap(),
        value(&body, healthy_count).unwrap(),
    );
    assert!(
        before.0 >= 2.0,
        "the harness and this test called /-/healthy"
    );
    assert_eq!(before.1, 0.0, "counted after the response is produced");
    ember.get("/-/healthy").unwrap();
    let after = ember.get("/metrics").unwrap().body;
    assert_eq!(value(&after, healthy_total), Some(before.0 + 1.0));
    assert_eq!(value(&after, metrics_total), Some(1.0));
    assert_eq!(value(&after, healthy_count), Some(before.2 + 1.0));

    assert_eq!(ember.terminate().code(), Some(0));
}

/// Command lines as docker-compose files for Prometheus write them.
#[test]
fn seed_style_command_lines_start() {
    let w = Workdir::new();
    let config = format!("--config.file={}", w.arg("prometheus.yml"));
    let data = data_arg(&w);
    let command_lines: [&[&str]; 4] = [
        &[
            &config,
            &data,
            "--web.console.libraries=/etc/prometheus/console_libraries",
            "--web.console.templates=/etc/prometheus/consoles",
            "--storage.tsdb.retention.time=200h",
            "--web.enable-lifecycle",
        ],
        &[
            &config,
            &data,
            "--storage.tsdb.retention.time=30d",
            "--storage.tsdb.retention.size=10GB",
            "--web.enable-admin-api",
            "--web.enable-lifecycle",
            "--alertmanager.notification-queue-capacity=10000",
        ],
        &[
            "--config.file",
            &w.arg("prometheus.yml"),
            "--storage.tsdb.path",
            &w.arg("data"),
            "--web.external-url=http://localhost:9090",
            "--enable-feature=exemplar-storage,memory-snapshot-on-shutdown",
            "--log.level=debug",
        ],
        &[
            &config,
            &data,
            "--web.route-prefix=/",
            "--web.enable-remote-write-receiver",
            "--query.max-concurrency=50",
            "--storage.tsdb.min-block-duration=2h",
            "--no-storage.tsdb.wal-compression",
            "--log.format=json",
        ],
    ];
    for args in command_lines {
        let mut ember = Ember::start(w.path(), args);
        ember.wait_ready();
        assert_eq!(ember.terminate().code(), Some(0), "{args:?}");
    }
}

#[test]
fn each_inactive_flag_is_warned_about_exactly_once() {
    let w = Workdir::new();
    let mut ember = Ember::start(
        w.path(),
        &[
            &data_arg(&w),
            "--storage.tsdb.retention.time=15d",
            "--rules.alert.resend-delay=1m",
            "--enable-feature=exemplar-storage",
            "--enable-feature=exemplar-storage,no-such-feature",
            "--no-auto-gomemlimit",
            "--web.enable-lifecycle",
        ],
    );
    ember.wait_ready();
    ember.terminate();
    let warnings: Vec<String> = ember
        .log()
        .into_iter()
        .filter(|l| logfmt_value(l, "level").as_deref() == Some("WARN"))
        .collect();
    let count = |key: &str, value: &str| {
        warnings
            .iter()
            .filter(|l| logfmt_value(l, key).as_deref() == Some(value))
            .count()
    };
    assert_eq!(count("flag", "--storage.tsdb.retention.time"), 1);
    assert_eq!(count("flag", "--rules.alert.resend-delay"), 1);
    assert_eq!(count("flag", "--auto-gomemlimit"), 1);
    assert_eq!(count("option", "exemplar-storage"), 1);
    assert_eq!(count("option", "no-such-feature"), 1);
    // Active flags are not warned about.
    assert!(!warnings
        .iter()
        .any(|l| l.contains("web.enable-lifecycle") || l.contains("storage.tsdb.path")));
    let retention = warnings
        .iter()
        .find(|l| l.contains("--storage.tsdb.retention.time"))
        .unwrap();
    assert_eq!(
        logfmt_value(retention, "feature").as_deref(),
        Some("persistent blocks, compaction and retention")
    );
}

#[test]
fn logfmt_lines_carry_prometheus_keys() {
    let w = Workdir::new();
    let mut ember = Ember::start(w.path(), &[&data_arg(&w)]);
    ember.wait_ready();
    assert_eq!(ember.terminate().code(), Some(0));
    let log = ember.log();
    assert!(log.len() >= 8, "{log:?}");
    for line in &log {
        let pairs = parse_logfmt(line).unwrap_or_else(|| panic!("not logfmt: {line}"));
        let keys: Vec<&str> = pairs.iter().take(4).map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["time", "level", "source", "msg"], "{line}");
        let time = &pairs[0].1;
        // 2006-01-02T15:04:05.000Z07:00
        assert_eq!(&time[10..11], "T", "{line}");
        assert_eq!(&time[19..20], ".", "{line}");
        assert!(
            time.ends_with('Z') || time[23..].starts_with(['+', '-']),
            "{line}"
        );
        assert!(["DEBUG", "INFO", "WARN", "ERROR"].contains(&pairs[1].1.as_str()));
        assert!(pairs[2].1.contains(".rs:"), "{line}");
    }
    let messages: Vec<String> = log.iter().filter_map(|l| logfmt_value(l, "msg")).collect();
    let position = |msg: &str| {
        messages
            .iter()
            .position(|m| m == msg)
            .unwrap_or_else(|| panic!("no {msg:?} in {messages:?}"))
    };
    // Prometheus's start-up and shutdown sequence.
    let order = [
        "Start listening for connections",
        "Starting TSDB ...",
        "TSDB started",
        "Loading configuration file",
        "Completed loading of configuration file",
        "Server is ready to receive web requests.",
        "Received an OS signal, exiting gracefully...",
        "Stopping web handler...",
        "Stopping storage...",
        "TSDB stopped",
        "See you next time!",
    ];
    let positions: Vec<usize> = order.iter().map(|m| position(m)).collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{messages:?}");
    let signal_line = log
        .iter()
        .find(|l| l.contains("Received an OS signal"))
        .unwrap();
    assert_eq!(
        logfmt_value(signal_line, "signal").as_deref(),
        Some("terminated")
    );
    assert_eq!(logfmt_value(signal_line, "level").as_deref(), Some("WARN"));
}

#[test]
fn json_lines_carry_prometheus_keys() {
    let w = Workdir::new();
    let mut ember = Ember::start(w.path(), &[&data_arg(&w), "--log.format=json"]);
    ember.wait_ready();
    ember.signal(libc::SIGINT);
    assert_eq!(ember.wait_exit().code(), Some(0));
    let log = ember.log();
    assert!(!log.is_empty());
    for line in &log {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let object = v.as_object().unwrap();
        for key in ["time", "level", "source", "msg"] {
            assert!(object[key].is_string(), "{key} in {line}");
        }
        // Keys in slog's order.
        let at = |k: &str| line.find(&format!("\"{k}\":")).unwrap();
        assert!(at("time") < at("level") && at("level") < at("source") && at("source") < at("msg"));
    }
    let signal = log
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["msg"] == "Received an OS signal, exiting gracefully...")
        .expect("signal line");
    assert_eq!(signal["signal"], "interrupt");
    assert_eq!(signal["level"], "WARN");
}

#[test]
fn log_level_filters_lines() {
    let w = Workdir::new();
    let mut quiet = Ember::start(
        w.path(),
        &[
            &data_arg(&w),
            "--log.level=warn",
            "--rules.alert.resend-delay=1m",
        ],
    );
    quiet.wait_ready();
    quiet.terminate();
    let levels: Vec<String> = quiet
        .log()
        .iter()
        .filter_map(|l| logfmt_value(l, "level"))
        .collect();
    assert!(
        levels.iter().all(|l| l == "WARN" || l == "ERROR"),
        "{levels:?}"
    );
    assert!(levels.iter().any(|l| l == "WARN"));

    let mut verbose = Ember::start(w.path(), &[&data_arg(&w), "--log.level=debug"]);
    verbose.wait_ready();
    verbose.terminate();
    assert!(verbose
        .log()
        .iter()
        .any(|l| logfmt_value(l, "level").as_deref() == Some("DEBUG")
            && logfmt_value(l, "msg").as_deref() == Some("TSDB options")));
}

#[test]
fn a_locked_data_directory_is_fatal_and_sigterm_releases_it() {
    let w = Workdir::new();
    let data = data_arg(&w);
    let mut first = Ember::start(w.path(), &[&data]);
    first.wait_ready();
    assert!(w.join("data/lock").exists());

    // Port 0: the OS picks one, so this process cannot race for a port.
    let second = run(w.path(), &[&data, "--web.listen-address=127.0.0.1:0"]);
    assert_eq!(second.code(), Some(1), "{}", second.stderr);
    let fatal = second
        .stderr
        .lines()
        .find(|l| logfmt_value(l, "msg").as_deref() == Some("Fatal error"))
        .unwrap_or_else(|| panic!("no fatal error in:\n{}", second.stderr));
    let err = logfmt_value(fatal, "err").unwrap();
    assert!(err.starts_with("opening storage failed: "), "{err}");
    assert!(err.contains("locked"), "{err}");
    // The first server is unaffected.
    assert_eq!(first.get("/-/ready").unwrap().status, 200);

    assert_eq!(first.terminate().code(), Some(0));
    assert!(first.log().iter().any(|l| l.contains("See you next time!")));
    let mut third = Ember::start(w.path(), &[&data]);
    third.wait_ready();
    assert_eq!(third.terminate().code(), Some(0));
}

#[test]
fn an_unusable_data_directory_is_fatal() {
    let w = Workdir::new();
    std::fs::write(w.join("a-file"), "not a directory").unwrap();
    let out = run(
        w.path(),
        &[
            &format!("--storage.tsdb.path={}", w.arg("a-file")),
            "--web.listen-address=127.0.0.1:0",
        ],
    );
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr.contains("opening storage failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn configuration_file_missing_or_default() {
    // The default path falls back to the built-in configuration...
    let empty = tempfile::tempdir().unwrap();
    let data = format!(
        "--storage.tsdb.path={}",
        empty.path().join("data").display()
    );
    let mut ember = Ember::start(empty.path(), &[&data]);
    ember.wait_ready();
    assert!(ember
        .log()
        .iter()
        .any(|l| l.contains("using the built-in configuration")));
    ember.terminate();
    // ...a file the user names must exist (exit 2, as Prometheus).
    let out = run(
        empty.path(),
        &[
            &data,
            "--config.file=missing.yml",
            "--web.listen-address=127.0.0.1:0",
        ],
    );
    assert_eq!(out.code(), Some(2));
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("Error loading config (--config.file=missing.yml)"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(logfmt_value(line, "file")
        .unwrap()
        .ends_with("/missing.yml"));
}

#[test]
fn reloads_by_sighup_and_http_then_quit() {
    let w = Workdir::new();
    let config = format!("--config.file={}", w.arg("prometheus.yml"));
    let mut ember = Ember::start(
        w.path(),
        &[&data_arg(&w), &config, "--web.enable-lifecycle"],
    );
    ember.wait_ready();
    let loads = |e: &Ember| e.count_log(|l| l.contains("Completed loading of configuration file"));
    assert_eq!(loads(&ember), 1);

    ember.signal(libc::SIGHUP);
    assert!(ember.wait_for_log(|_| loads(&ember) == 2));
    assert_eq!(ember.get("/-/ready").unwrap().status, 200);

    std::fs::remove_file(w.join("prometheus.yml")).unwrap();
    let failed = ember.post("/-/reload").unwrap();
    assert_eq!(failed.status, 500);
    assert!(
        failed
            .body
            .starts_with("failed to reload config: couldn't load configuration"),
        "{}",
        failed.body
    );
    let metrics = ember.get("/metrics").unwrap().body;
    assert!(metrics
        .lines()
        .any(|l| l == "prometheus_config_last_reload_successful 0"));
    assert!(ember.count_log(|l| l.contains("Error reloading config")) >= 1);

    std::fs::write(w.join("prometheus.yml"), common::MINIMAL_CONFIG).unwrap();
    assert_eq!(ember.post("/-/reload").unwrap().status, 200);
    let metrics = ember.get("/metrics").unwrap().body;
    assert!(metrics
        .lines()
        .any(|l| l == "prometheus_config_last_reload_successful 1"));

    let quit = ember.post("/-/quit").unwrap();
    assert_eq!(quit.body, "Requesting termination... Goodbye!");
    assert_eq!(ember.wait_exit().code(), Some(0));
    assert!(ember
        .log()
        .iter()
        .any(|l| l.contains("Received termination request via web service")));
}

#[test]
fn route_prefix_from_external_url_and_several_listeners() {
    let w = Workdir::new();
    let extra_port = common::free_port();
    let extra = format!("--web.listen-address=127.0.0.1:{extra_port}");
    let mut ember = Ember::start(
        w.path(),
        &[
            &data_arg(&w),
            "--web.external-url=http://example.com/ember/",
            &extra,
        ],
    );
    let healthy = ember.get("/ember/-/healthy").unwrap();
    assert_eq!(healthy.status, 200);
    assert_eq!(ember.get("/-/healthy").unwrap().status, 404);
    let root = ember.get("/").unwrap();
    assert_eq!(root.status, 302);
    assert_eq!(root.headers["location"], "/ember");
    // The second listener serves the same routes.
    let other = format!("http://127.0.0.1:{extra_port}/ember/-/ready");
    let started = std::time::Instant::now();
    loop {
        let answer = reqwest::blocking::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(&other)
            .send()
            .unwrap();
        if answer.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < common::TIMEOUT,
            "never ready on the second listener"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(ember.log().iter().any(
        |l| logfmt_value(l, "msg").as_deref() == Some("Router prefix")
            && logfmt_value(l, "prefix").as_deref() == Some("/ember")
    ));
    assert_eq!(ember.terminate().code(), Some(0));
}
