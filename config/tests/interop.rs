//! Ember's configuration handling next to the real Prometheus tools (Debian's
//! `prometheus` package, version 2.42):
//!
//! * `promtool check config` and Ember accept and reject the same configurations, with
//!   the same message;
//! * the configuration Prometheus shows at `/api/v1/status/config` and Ember's
//!   `to_yaml()` agree on every value and on the order of the fields Prometheus shows.
//!
//! Prometheus 2.42 differs from the 3.x line Ember follows in a few documented ways;
//! each exception below says which. Skipped with a message when the tools are not
//! installed, unless `EMBER_INTEROP=require`, which makes a missing tool a failure.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ember_config::Config;
use yaml_rust2::{Yaml, YamlLoader};

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
        eprintln!(
            "SKIPPING config interop test: {name} is not installed (set EMBER_INTEROP=require to fail instead)"
        );
    }
    found
}

/// A child process killed (by PID) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET; the body, if the answer is 200.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
}

/// Cases both Prometheus 2.42 and 3.x reject, with the message both give.
const REJECTED: &[(&str, &str)] = &[
    ("scrape_configs: [{scrape_interval: 1m}]", "job_name is empty"),
    (
        "scrape_configs: [{job_name: p}, {job_name: p}]",
        "found multiple scrape configs with job name \"p\"",
    ),
    (
        "scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 6s}]",
        "scrape timeout greater than scrape interval for scrape config with job name \"a\"",
    ),
    (
        "scrape_configs:\n  - job_name: x\n    scrape_intervall: 10s\n",
        "line 3: field scrape_intervall not found in type config.ScrapeConfig",
    ),
    ("global: {scrape_interval: 15}", "not a valid duration string: \"15\""),
    (
        "scrape_configs: [{job_name: a, honor_labels: maybe}]",
        "cannot unmarshal !!str `maybe` into bool",
    ),
    ("scrape_configs: [{job_name: a, relabel_configs: [{regex: 'abc(def'}]}]", "error parsing regexp"),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{source_labels: [a], target_label: b, action: hashmod}]}]",
        "relabel configuration for hashmod requires non-zero modulus",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{source_labels: [a], regex: x, action: labelkeep}]}]",
        "labelkeep action requires only 'regex', and no other fields",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{source_labels: [a]}]}]",
        "relabel configuration for replace action requires 'target_label' value",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{action: bogus}]}]",
        "unknown relabel action \"bogus\"",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{action: lowercase, source_labels: [a], target_label: b, replacement: c}]}]",
        "'replacement' can not be set for lowercase action",
    ),
    ("rule_files: ['rules/*/*.yml']", "invalid rule file path"),
    (
        "scrape_configs: [{job_name: a, bearer_token: x, bearer_token_file: y}]",
        "at most one of bearer_token & bearer_token_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, static_configs: [{targets: ['http://bad']}]}]",
        "\"http://bad\" is not a valid hostname",
    ),
    ("remote_read: [{remote_timeout: 1s}]", "url for remote_read is empty"),
    ("remote_write: [{remote_timeout: 1s}]", "url for remote_write is empty"),
    (
        "remote_write: [{url: 'http://a', name: q}, {url: 'http://b', name: q}]",
        "found multiple remote write configs with job name \"q\"",
    ),
    ("scrape_configs: [~]", "empty or null scrape config section"),
    (
        "scrape_configs: [{job_name: a, static_configs: [~]}]",
        "empty or null section in static_configs",
    ),
    (
        "scrape_configs: [{job_name: a, dns_sd_configs: [{names: [x], type: A}]}]",
        "a port is required in DNS-SD configs for all record types except SRV",
    ),
    (
        "scrape_configs: [{job_name: a, file_sd_configs: [{files: [targets.txt]}]}]",
        "path name \"targets.txt\" is not valid for file discovery",
    ),
    (
        "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'ftp://x'}]}]",
        "URL scheme must be 'http' or 'https'",
    ),
    ("scrape_configs: [{job_name: a, body_size_limit: 100}]", "units: unknown unit  in 100"),
    (
        "scrape_configs:\n  - job_name: a\nscrape_configs:\n  - job_name: b\n",
        "field scrape_configs already set in type",
    ),
    ("tracing: {client_type: grpc}", "tracing endpoint must be set"),
    (
        "alerting: {alertmanagers: [{api_version: v3}]}",
        "expected Alertmanager api version to be one of",
    ),
];

/// Configurations both accept.
const ACCEPTED: &[&str] = &[
    "",
    "global:\n",
    "scrape_configs: [{job_name: a, static_configs: [{targets: ['localhost:9090'], labels: {x: y}}]}]",
    "scrape_configs: [{job_name: a, relabel_configs: [{regex: , target_label: x}]}]",
    "scrape_configs: [{job_name: a, relabel_configs: [{action: Keep, regex: x}]}]",
    "scrape_configs: [{job_name: a, scrape_interval: 0, honor_labels: yes, sample_limit: 0x10}]",
    "scrape_configs:\n  - &j {job_name: a, scrape_interval: 30s}\n  - <<: *j\n    job_name: b\n",
    "remote_write: [{url: 'https://user:pw@example.com/write', headers: {X-Scope-OrgID: t}}]",
    "storage: {tsdb: {out_of_order_time_window: 1h}}",
];

fn promtool_check(promtool: &Path, dir: &Path, yaml: &str) -> (bool, String) {
    let file = dir.join("check.yml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(promtool)
        .args(["check", "config", "--syntax-only"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text.into_owned())
}

#[test]
fn promtool_and_ember_accept_and_reject_the_same_configurations() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (yaml, want) in REJECTED {
        let (ok, out) = promtool_check(&promtool, dir.path(), yaml);
        assert!(!ok, "promtool accepted:\n{yaml}");
        assert!(out.contains(want), "promtool said {out:?}, not {want:?}");
        let e = Config::from_str(yaml, dir.path()).expect_err(yaml);
        assert!(e.to_string().contains(want), "Ember said {e}, not {want:?}");
    }
    for yaml in ACCEPTED {
        let (ok, out) = promtool_check(&promtool, dir.path(), yaml);
        assert!(ok, "promtool rejected:\n{yaml}\n{out}");
        if let Err(e) = Config::from_str(yaml, dir.path()) {
            panic!("Ember rejected:\n{yaml}\n{e}");
        }
    }
}

/// A configuration Prometheus 2.42 loads, using most of what it knows.
const RICH: &str = r#"
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    cluster: neural-prod
    "region": us-east-1
    note: "a b: c"
rule_files: ['rules/*.yml']
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: {module: [http_2xx], zz: [a, b]}
    static_configs:
      - targets: [https://api.example.com/health]
        labels: {env: prod}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_service_name, __meta_kubernetes_endpoint_port_name]
        action: keep
        regex: default;kubernetes;https
      - target_label: __address__
        replacement: blackbox-exporter:9115
      - action: labeldrop
        regex: "foo|bar"
      - action: hashmod
        source_labels: [a]
        modulus: 8
        target_label: __tmp
      - target_label: x
        replacement: '${1}: #yes'
      - action: labelmap
        regex: __meta_(.+)
      - source_labels: [x]
        action: lowercase
        target_label: y
      - source_labels: [x]
        action: keepequal
        target_label: y
  - job_name: node
    scrape_interval: 1m30s
    scrape_timeout: 1500ms
    honor_labels: true
    honor_timestamps: false
    scheme: https
    bearer_token_file: tok
    tls_config: {ca_file: ca.crt, insecure_skip_verify: true, server_name: n, min_version: TLS12}
    file_sd_configs: [{files: ['targets/*.json'], refresh_interval: 1m}]
    dns_sd_configs:
      - names: [_prometheus._tcp.example.com]
      - names: [a.example.com]
        type: A
        port: 9100
    http_sd_configs: [{url: 'http://sd.example.com/targets', basic_auth: {username: u, password: p}}]
    metric_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]
    sample_limit: 1000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
    target_limit: 5
    body_size_limit: 10MB
    proxy_url: http://proxy:3128
    follow_redirects: false
  - job_name: oauth
    oauth2: {client_id: c, client_secret: s, token_url: 'https://t/token', scopes: [a, b], endpoint_params: {p: v}}
    static_configs: [{targets: ['localhost:9090']}]
alerting:
  alert_relabel_configs: [{regex: replica, action: labeldrop}]
  alertmanagers:
    - static_configs: [{targets: ['alertmanager:9093']}]
      path_prefix: /am
      timeout: 5s
      basic_auth: {username: am, password: secret}
remote_write:
  - url: https://user:pw@rw.example.com/api/v1/write
    name: rw1
    remote_timeout: 10s
    headers: {X-Scope-OrgID: "tenant 1"}
    write_relabel_configs: [{source_labels: [__name__], regex: 'pynomaly_.*', action: keep}]
    queue_config: {capacity: 100, max_shards: 10, min_shards: 2, max_samples_per_send: 50, batch_send_deadline: 2s, min_backoff: 10ms, max_backoff: 1s}
    metadata_config: {send: false, send_interval: 2m, max_samples_per_send: 100}
  - url: http://rw2/write
    sigv4: {region: us-east-1, access_key: a, secret_key: s}
    queue_config: {capacity: 100, max_shards: 10, min_shards: 2, max_samples_per_send: 50, batch_send_deadline: 2s, min_backoff: 10ms, max_backoff: 1s}
    metadata_config: {max_samples_per_send: 100}
remote_read:
  - url: http://localhost:9201/read
    read_recent: true
    required_matchers: {job: x}
    remote_timeout: 30s
    filter_external_labels: false
storage:
  tsdb: {out_of_order_time_window: 30m}
  exemplars: {max_exemplars: 1000}
tracing:
  endpoint: localhost:4317
  client_type: http
  sampling_fraction: 0.5
  insecure: true
  headers: {a: b}
  compression: gzip
  timeout: 5s
"#;

/// `path → value` for every scalar, and `path → keys` for every mapping.
fn flatten(
    y: &Yaml,
    path: &str,
    values: &mut BTreeMap<String, String>,
    keys: &mut BTreeMap<String, Vec<String>>,
) {
    match y {
        Yaml::Hash(h) => {
            let mut ks = Vec::new();
            for (k, v) in h {
                let k = k.as_str().unwrap_or("?").to_string();
                flatten(v, &format!("{path}.{k}"), values, keys);
                ks.push(k);
            }
            keys.insert(path.to_string(), ks);
        }
        Yaml::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(v, &format!("{path}[{i}]"), values, keys);
            }
            if a.is_empty() {
                values.insert(path.to_string(), "[]".into());
            }
        }
        Yaml::String(s) | Yaml::Real(s) => {
            values.insert(path.to_string(), s.clone());
        }
        Yaml::Integer(i) => {
            values.insert(path.to_string(), i.to_string());
        }
        Yaml::Boolean(b) => {
            values.insert(path.to_string(), b.to_string());
        }
        Yaml::Null => {
            values.insert(path.to_string(), "null".into());
        }
        _ => {}
    }
}

/// Where Prometheus 2.42 shows something Prometheus 3 shows differently.
fn known_difference(path: &str, prometheus_value: &str, ember_value: Option<&String>) -> bool {
    // Remote write turned HTTP/2 off by default in Prometheus 3.
    if path.starts_with(".remote_write[") && path.ends_with(".enable_http2") {
        return prometheus_value == "true" && ember_value.is_some_and(|v| v == "false");
    }
    // Prometheus 3 leaves out a relabel rule's regex when the rule did not set one;
    // 2.42 writes the default `(.*)`.
    if path.ends_with(".regex") && prometheus_value == "(.*)" && ember_value.is_none() {
        return true;
    }
    // Prometheus 2.42's TLS version writes itself as a number (771 for TLS12); 3.x
    // writes its name.
    if path.ends_with("_version") && path.contains(".tls_config.") {
        return prometheus_value.parse::<u16>().is_ok();
    }
    // 2.42 wrote an empty `client_secret_file`; 3.x leaves it out.
    if path.ends_with(".oauth2.client_secret_file") && prometheus_value.is_empty() {
        return ember_value.is_none();
    }
    false
}

/// Fields whose place changed between 2.42 and 3.x: the proxy settings moved after
/// `enable_http2` when they became their own inlined struct.
const MOVED_FIELDS: &[&str] = &["proxy_url", "no_proxy", "proxy_from_environment"];

#[test]
fn status_config_matches_prometheus() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, RICH).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let _prom = Guard(
        Command::new(&prometheus)
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        if let Some(b) = http_get(port, "/api/v1/status/config") {
            break b;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not answer: {}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // {"status":"success","data":{"yaml":"..."}}: unescape the JSON string by reading it
    // as a YAML double-quoted scalar, which has the same escapes.
    let start = body.find("\"yaml\":").unwrap() + 7;
    let end = body.rfind('}').unwrap();
    let json_string = body[start..end].trim_end_matches('}').trim();
    let prometheus_yaml = YamlLoader::load_from_str(json_string).unwrap()[0]
        .as_str()
        .unwrap()
        .to_string();

    let ours = Config::load(&cfg_path).unwrap().to_yaml();
    let (mut pv, mut pk) = (BTreeMap::new(), BTreeMap::new());
    let (mut ev, mut ek) = (BTreeMap::new(), BTreeMap::new());
    flatten(
        &YamlLoader::load_from_str(&prometheus_yaml).unwrap()[0],
        "",
        &mut pv,
        &mut pk,
    );
    flatten(
        &YamlLoader::load_from_str(&ours).unwrap()[0],
        "",
        &mut ev,
        &mut ek,
    );

    let mut problems = Vec::new();
    for (path, value) in &pv {
        let e = ev.get(path);
        if e != Some(value) && !known_difference(path, value, e) {
            problems.push(format!("{path}: Prometheus {value:?}, Ember {e:?}"));
        }
    }
    // The fields both show come in the same order.
    for (path, keys) in &pk {
        let Some(ours) = ek.get(path) else { continue };
        let comparable = |k: &&String| !MOVED_FIELDS.contains(&k.as_str());
        let shared: Vec<&String> = keys
            .iter()
            .filter(|k| ours.contains(k))
            .filter(comparable)
            .collect();
        let ours_shared: Vec<&String> = ours
            .iter()
            .filter(|k| keys.contains(k))
            .filter(comparable)
            .collect();
        if shared != ours_shared {
            problems.push(format!("{path}: order {shared:?} vs {ours_shared:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n--- Prometheus:\n{prometheus_yaml}\n--- Ember:\n{ours}",
        problems.join("\n")
    );
    // Where both print a line the same way, it is the same text (spot checks).
    for line in [
        "  - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_service_name, __meta_kubernetes_endpoint_port_name]",
        "    replacement: '${1}: #yes'",
        "  scrape_timeout: 1s500ms",
        "  body_size_limit: 10MiB",
        "- url: https://user:xxxxx@rw.example.com/api/v1/write",
        "    X-Scope-OrgID: tenant 1",
        "    note: 'a b: c'",
    ] {
        assert!(prometheus_yaml.contains(line), "Prometheus lacks {line:?}");
        assert!(ours.contains(line), "Ember lacks {line:?}:\n{ours}");
    }
}

/// Rule files both reject, with a message both give (after the location, which
/// Prometheus writes as `line:column` and Ember as `:line`).
const REJECTED_RULES: &[(&str, &str)] = &[
    (
        "groups:\n- name: g\n  rules:\n  - record: a\n    alert: b\n    expr: up\n",
        "group \"g\", rule 1, \"b\": only one of 'record' and 'alert' must be set",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - alert: x\n    expr: sum(\n",
        "group \"g\", rule 1, \"x\": could not parse expression",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n- name: g\n  rules: []\n",
        "groupname: \"g\" is repeated in the same file",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n    for: 1m\n",
        "group \"g\", rule 1, \"a\": invalid field 'for' in recording rule",
    ),
    (
        "groups:\n- name: ''\n  rules:\n  - record: a\n    expr: up\n",
        "Groupname must not be empty",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n    annotations: {a: b}\n",
        "group \"g\", rule 1, \"a\": invalid field 'annotations' in recording rule",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - alert: a\n    expr: up\n    labels: {__name__: x}\n",
        "group \"g\", rule 1, \"a\": invalid label name: __name__",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - expr: up\n",
        "group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - record: a\n",
        "group \"g\", rule 1, \"a\": field 'expr' must be set in rule",
    ),
    (
        "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n    exp: up\n",
        "line 6: field exp not found in type rulefmt.",
    ),
    (
        "groups:\n- name: g\n  interval: 15\n",
        "not a valid duration string: \"15\"",
    ),
];

#[test]
fn promtool_and_ember_check_rule_files_alike() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    let check = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let out = Command::new(&promtool)
            .args(["check", "rules"])
            .arg(&file)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said.into_owned())
    };
    for (text, want) in REJECTED_RULES {
        let (ok, said) = check(text);
        assert!(!ok, "promtool accepted:\n{text}");
        assert!(said.contains(want), "promtool said {said:?}, not {want:?}");
        let e = ember_config::RuleFile::load(&file).expect_err(text);
        let shown = e
            .to_string()
            .replace(&format!("{}:", file.display()), "line ");
        assert!(
            e.to_string().contains(want) || shown.contains(want),
            "Ember said {e}, not {want:?}"
        );
    }
    let seeds = std::env::var_os("EMBER_SEEDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed-configs")
        });
    let Ok(entries) = std::fs::read_dir(&seeds) else {
        panic!(
            "seed configs not found at {} (set EMBER_SEEDS_DIR)",
            seeds.display()
        );
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with("-rules.yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (ok, said) = check(&text);
        assert!(ok, "promtool rejected {}: {said}", path.display());
        ember_config::RuleFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}
