use super::*;
use ember_config::Config;

/// The first job of a configuration whose `scrape_configs` are `jobs` (YAML).
fn job(jobs: &str) -> ScrapeConfig {
    let text = format!("scrape_configs:\n{jobs}");
    let cfg = Config::from_str(&text, ".").unwrap();
    let job = cfg.all_scrape_configs().next().unwrap().clone();
    job
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Populates one target; returns (result, discovered).
fn populate(
    cfg: &ScrapeConfig,
    target: &[(&str, &str)],
    group: &[(&str, &str)],
) -> (Result<Labels, String>, Labels) {
    let relabeler = Relabeler::new(&cfg.relabel_configs).unwrap();
    let (t, g) = (map(target), map(group));
    populate_labels(
        &mut LabelsBuilder::new(),
        cfg,
        &relabeler,
        &Discovered {
            target: &t,
            group: &g,
        },
    )
}

fn pairs(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn defaults_fill_the_discovered_labels_and_instance_defaults_to_the_address() {
    let cfg = job("  - job_name: node\n    scrape_interval: 30s\n");
    let (res, discovered) = populate(&cfg, &[("__address__", "10.0.0.1:9100")], &[]);
    // The documented example of a dropped target's discovered labels (api.md), for this
    // job's values.
    assert_eq!(
        pairs(&discovered),
        owned(&[
            ("__address__", "10.0.0.1:9100"),
            ("__always_scrape_classic_histograms__", "false"),
            ("__convert_classic_histograms_to_nhcb__", "false"),
            ("__metrics_path__", "/metrics"),
            ("__scheme__", "http"),
            ("__scrape_interval__", "30s"),
            ("__scrape_native_histograms__", "false"),
            ("__scrape_timeout__", "10s"),
            ("job", "node"),
        ])
    );
    let labels = res.unwrap();
    let t = Target::new(labels, discovered, &cfg);
    assert_eq!(
        pairs(t.labels()),
        owned(&[("instance", "10.0.0.1:9100"), ("job", "node")])
    );
    assert_eq!(t.url(), "http://10.0.0.1:9100/metrics");
    assert_eq!(t.get(SCRAPE_INTERVAL_LABEL), "30s");
    let (i, to, err) = t.interval_and_timeout(Duration::from_secs(1), Duration::from_secs(1));
    assert_eq!(
        (i, to, err),
        (Duration::from_secs(30), Duration::from_secs(10), None)
    );
}

#[test]
fn target_labels_win_over_group_labels_and_defaults() {
    let cfg = job("  - job_name: j\n");
    let (res, discovered) = populate(
        &cfg,
        &[
            ("__address__", "a:1"),
            ("env", "target"),
            ("job", "custom"),
            ("__scheme__", "https"),
        ],
        &[("env", "group"), ("team", "x"), ("__address__", "group:2")],
    );
    assert_eq!(discovered.get("env"), Some("target"));
    assert_eq!(discovered.get("team"), Some("x"));
    assert_eq!(discovered.get("__address__"), Some("a:1"));
    let t = Target::new(res.unwrap(), discovered, &cfg);
    assert_eq!(t.labels().get("job"), Some("custom"));
    assert_eq!(t.url(), "https://a:1/metrics");
}

#[test]
fn blackbox_param_target_pattern() {
    // The blackbox exporter's documented configuration.
    let cfg = job(concat!(
        "  - job_name: blackbox\n",
        "    metrics_path: /probe\n",
        "    params:\n",
        "      module: [http_2xx]\n",
        "    relabel_configs:\n",
        "      - source_labels: [__address__]\n",
        "        target_label: __param_target\n",
        "      - source_labels: [__param_target]\n",
        "        target_label: instance\n",
        "      - target_label: __address__\n",
        "        replacement: 127.0.0.1:9115\n",
    ));
    let (res, discovered) = populate(&cfg, &[("__address__", "https://example.com/a b")], &[]);
    assert_eq!(discovered.get("__param_module"), Some("http_2xx"));
    let t = Target::new(res.unwrap(), discovered, &cfg);
    assert_eq!(
        t.url(),
        "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com%2Fa+b"
    );
    assert_eq!(
        pairs(t.labels()),
        owned(&[("instance", "https://example.com/a b"), ("job", "blackbox")])
    );
}

#[test]
fn param_labels_replace_the_first_configured_value_only() {
    let cfg = job(concat!(
        "  - job_name: j\n",
        "    params:\n",
        "      x: [a, b]\n",
        "      'y z': ['~*!']\n",
    ));
    let (res, discovered) = populate(&cfg, &[("__address__", "h:1"), ("__param_x", "c")], &[]);
    let t = Target::new(res.unwrap(), discovered, &cfg);
    // Keys sorted, values in order, Go's query escaping (`~` kept, `*` and `!` escaped).
    assert_eq!(t.url(), "http://h:1/metrics?x=c&x=b&y+z=~%2A%21");
}

#[test]
fn relabeling_can_drop_and_meta_labels_are_removed_after_it() {
    let cfg = job(concat!(
        "  - job_name: j\n",
        "    relabel_configs:\n",
        "      - source_labels: [__meta_keep]\n",
        "        regex: 'no'\n",
        "        action: drop\n",
        "      - source_labels: [__meta_zone]\n",
        "        target_label: zone\n",
    ));
    let (res, _) = populate(&cfg, &[("__address__", "h:1"), ("__meta_keep", "no")], &[]);
    assert!(res.unwrap().is_empty(), "dropped targets have no labels");

    let (res, discovered) = populate(
        &cfg,
        &[
            ("__address__", "h:1"),
            ("__meta_zone", "eu"),
            ("__meta_keep", "yes"),
        ],
        &[],
    );
    assert_eq!(discovered.get("__meta_zone"), Some("eu"));
    let labels = res.unwrap();
    assert_eq!(labels.get("zone"), Some("eu"));
    assert!(labels.iter().all(|l| !l.name.starts_with("__meta_")));
    assert_eq!(
        labels.get("__address__"),
        Some("h:1"),
        "other __ labels stay"
    );
}

#[test]
fn relabeling_can_set_instance_and_per_target_intervals() {
    let cfg = job(concat!(
        "  - job_name: j\n",
        "    scrape_interval: 1m\n",
        "    relabel_configs:\n",
        "      - target_label: instance\n",
        "        replacement: my-instance\n",
        "      - target_label: __scrape_interval__\n",
        "        replacement: 5s\n",
        "      - target_label: __scrape_timeout__\n",
        "        replacement: 2s500ms\n",
    ));
    let (res, discovered) = populate(&cfg, &[("__address__", "h:1")], &[]);
    let t = Target::new(res.unwrap(), discovered, &cfg);
    assert_eq!(t.labels().get("instance"), Some("my-instance"));
    let (i, to, err) = t.interval_and_timeout(Duration::from_secs(60), Duration::from_secs(10));
    assert_eq!(err, None);
    assert_eq!(i, Duration::from_secs(5));
    assert_eq!(to, Duration::from_millis(2500));
}

#[test]
fn invalid_targets_are_errors_worded_as_prometheus() {
    let with_rule = |rule: &str| job(&format!("  - job_name: j\n    relabel_configs:\n{rule}"));
    type Case<'a> = (ScrapeConfig, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            with_rule("      - action: labeldrop\n        regex: __address__\n"),
            vec![("__address__", "h:1")],
            "no address",
        ),
        (
            job("  - job_name: j\n"),
            vec![("__address__", "http://h:1/metrics")],
            "\"http://h:1/metrics\" is not a valid hostname",
        ),
        (
            job("  - job_name: j\n"),
            vec![("__address__", "h:1"), ("__scrape_interval__", "abc")],
            "error parsing scrape interval: not a valid duration string: \"abc\"",
        ),
        (
            job("  - job_name: j\n"),
            vec![("__address__", "h:1"), ("__scrape_interval__", "0s")],
            "scrape interval cannot be 0",
        ),
        (
            job("  - job_name: j\n"),
            vec![("__address__", "h:1"), ("__scrape_timeout__", "0")],
            "scrape timeout cannot be 0",
        ),
        (
            job("  - job_name: j\n"),
            vec![
                ("__address__", "h:1"),
                ("__scrape_interval__", "5s"),
                ("__scrape_timeout__", "10s"),
            ],
            "scrape timeout cannot be greater than scrape interval (\"10s\" > \"5s\")",
        ),
        (
            job("  - job_name: j\n"),
            vec![("__address__", "h:1"), ("__scrape_native_histograms__", "yes")],
            "error parsing scrape native histograms: strconv.ParseBool: parsing \"yes\": invalid syntax",
        ),
    ];
    for (cfg, target, want) in cases {
        let (res, _) = populate(&cfg, &target, &[]);
        assert_eq!(res.unwrap_err(), want);
    }
}

#[test]
fn offsets_are_stable_spread_and_within_the_interval() {
    let cfg = job("  - job_name: j\n");
    let interval = Duration::from_secs(15);
    let mut phases = std::collections::BTreeSet::new();
    for i in 0..50 {
        let (res, d) = populate(&cfg, &[("__address__", &format!("h{i}:1"))], &[]);
        let t = Target::new(res.unwrap(), d, &cfg);
        let a = t.offset(interval, 42);
        assert!(a <= interval, "{a:?}");
        // The absolute phase (now + offset) modulo the interval does not depend on when
        // it is computed.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let phase = (now + a).as_millis() % interval.as_millis();
        let b = t.offset(interval, 42);
        let now2 = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let phase2 = (now2 + b).as_millis() % interval.as_millis();
        let diff = phase.abs_diff(phase2);
        assert!(
            diff <= 2 || diff >= interval.as_millis() - 2,
            "{phase} {phase2}"
        );
        phases.insert(phase / 1000);
    }
    assert!(
        phases.len() >= 8,
        "50 targets spread over at least 8 of 15 seconds: {phases:?}"
    );
}

#[test]
fn go_bool_and_quote() {
    for s in ["1", "t", "T", "TRUE", "true", "True"] {
        assert_eq!(parse_go_bool(s), Some(true));
    }
    for s in ["0", "f", "F", "FALSE", "false", "False"] {
        assert_eq!(parse_go_bool(s), Some(false));
    }
    assert_eq!(parse_go_bool("yes"), None);
    assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
}
