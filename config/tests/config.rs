//! Loading `prometheus.yml`: Prometheus 3's defaults, inheritance and validation.
//!
//! The rejected configurations reproduce the cases of Prometheus's
//! `config/config_test.go` (`expectedErrors`): the YAML is written here, the expected
//! message is Prometheus's.

use std::path::Path;

use ember_config::{Config, ConfigError, Duration, NameValidation, RuleFile};

fn load(yaml: &str) -> Result<Config, ConfigError> {
    Config::from_str(yaml, "/etc/prometheus")
}

fn load_err(yaml: &str) -> ConfigError {
    match load(yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e,
    }
}

#[test]
fn defaults_and_inheritance() {
    let c = load(
        "
global:
  scrape_interval: 15s
  external_labels: {cluster: prod}
scrape_configs:
  - job_name: a
    static_configs: [{targets: ['localhost:9090']}]
  - job_name: b
    scrape_interval: 5s
  - job_name: c
    scrape_interval: 2m
",
    )
    .unwrap();
    let g = &c.global;
    assert_eq!(g.scrape_interval, Duration::from_secs(15));
    assert_eq!(g.scrape_timeout, Duration::from_secs(10));
    assert_eq!(g.evaluation_interval, Duration::from_secs(60));
    assert_eq!(g.metric_name_validation_scheme, NameValidation::Utf8);
    let [a, b, cc] = &c.scrape_configs[..] else {
        panic!()
    };
    assert_eq!(a.scrape_interval, Duration::from_secs(15));
    assert_eq!(a.scrape_timeout, Duration::from_secs(10));
    assert_eq!(a.metrics_path, "/metrics");
    assert_eq!(a.scheme, "http");
    assert!(a.honor_timestamps && !a.honor_labels && a.enable_compression);
    assert!(a.http_client.follow_redirects && a.http_client.enable_http2);
    assert_eq!(a.metric_name_escaping_scheme, "allow-utf-8");
    assert_eq!(
        a.protocols().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        [
            "OpenMetricsText1.0.0",
            "OpenMetricsText0.0.1",
            "PrometheusText1.0.0",
            "PrometheusText0.0.4"
        ]
    );
    assert_eq!(
        a.service_discovery.static_configs[0].targets,
        ["localhost:9090"]
    );
    // A timeout is capped by a shorter interval.
    assert_eq!(b.scrape_timeout, Duration::from_secs(5));
    assert_eq!(cc.scrape_timeout, Duration::from_secs(10));
    assert_eq!(a.line(), 6);
}

#[test]
fn empty_and_null_documents_are_the_defaults() {
    for doc in ["", "# nothing\n", "global:\n", "{}"] {
        let c = load(doc).unwrap();
        assert_eq!(c.global.scrape_interval, Duration::from_secs(60), "{doc:?}");
        assert_eq!(c.runtime.gogc, 75);
        assert_eq!(
            c.otlp.translation_strategy,
            "UnderscoreEscapingWithSuffixes"
        );
    }
}

#[test]
fn relative_paths_are_joined_onto_the_config_directory() {
    let c = load(
        "
rule_files: ['rules/*.yml', '/abs/*.yml']
scrape_configs:
  - job_name: a
    bearer_token_file: token
    tls_config: {ca_file: ../ca.crt}
    file_sd_configs: [{files: ['targets/*.json']}]
",
    )
    .unwrap();
    assert_eq!(c.rule_files, ["/etc/prometheus/rules/*.yml", "/abs/*.yml"]);
    let a = &c.scrape_configs[0];
    // A bearer token file becomes an authorization of type Bearer.
    let auth = a.http_client.authorization.as_ref().unwrap();
    assert_eq!(auth.kind, "Bearer");
    assert_eq!(auth.credentials_file, "/etc/prometheus/token");
    assert_eq!(a.http_client.tls_config.ca_file, "/etc/ca.crt");
    assert_eq!(
        a.service_discovery.file[0].files,
        ["/etc/prometheus/targets/*.json"]
    );
}

#[test]
fn errors_name_the_line_and_field() {
    let e = load_err(
        "global:
  scrape_interval: 15s
scrape_configs:
  - job_name: x
    scrape_intervall: 10s
",
    );
    assert_eq!(
        e.to_string(),
        "line 5: field scrape_intervall not found in type config.ScrapeConfig"
    );
    let e = Config::from_str("global:\n  scrape_interval: 1x\n", "/").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: unknown unit \"x\" in duration \"1x\""
    );
    let e = load_err("scrape_configs:\n  - job_name: x\n    honor_labels: maybe\n");
    assert_eq!(
        e.to_string(),
        "line 3: cannot unmarshal !!str `maybe` into bool"
    );
    let e = load_err("scrape_configs: [{job_name: a, sample_limit: -1}]");
    assert!(
        e.to_string()
            .contains("cannot unmarshal !!int `-1` into uint"),
        "{e}"
    );
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, "global:\n  scrape_intervall: 1m\n").unwrap();
    let e = Config::load(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: field scrape_intervall not found in type config.GlobalConfig",
            path.display()
        )
    );
    let missing = dir.path().join("missing.yml");
    let e = Config::load(&missing).unwrap_err();
    assert!(e
        .to_string()
        .starts_with(&format!("{}: cannot read file", missing.display())));
}

/// `(configuration, Prometheus's message)` pairs from `expectedErrors`.
const REJECTED: &[(&str, &str)] = &[
    ("scrape_configs: [{scrape_interval: 1m}]", "job_name is empty"),
    (
        "scrape_configs: [{job_name: prometheus}, {job_name: prometheus}]",
        "found multiple scrape configs with job name \"prometheus\"",
    ),
    (
        "scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 6s}]",
        "scrape timeout greater than scrape interval",
    ),
    ("global: {scrape_interval: 5s, scrape_timeout: 6s}", "global scrape timeout greater than scrape interval"),
    ("global: {external_labels: {'': x}}", "\"\" is not a valid label name"),
    (
        "global: {metric_name_validation_scheme: legacy, external_labels: {a.b: x}}",
        "\"a.b\" is not a valid label name",
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
        "scrape_configs: [{job_name: a, relabel_configs: [{regex: x, replacement: y, action: labeldrop}]}]",
        "labeldrop action requires only 'regex', and no other fields",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{source_labels: [a], action: dropequal}]}]",
        "relabel configuration for dropequal action requires 'target_label' value",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{source_labels: [a], target_label: b, separator: ',', action: keepequal}]}]",
        "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{action: lowercase, source_labels: [__name__], target_label: __name__, replacement: bar}]}]",
        "'replacement' can not be set for lowercase action",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{action: uppercase, source_labels: [__name__]}]}]",
        "relabel configuration for uppercase action requires 'target_label' value",
    ),
    ("rule_files: ['rules/*/*.yml']", "invalid rule file path"),
    (
        "scrape_configs: [{job_name: a, consult_sd_configs: [{server: 'localhost:1234'}]}]",
        "field consult_sd_configs not found in type",
    ),
    (
        "scrape_configs: [{job_name: a, bearer_token: x, bearer_token_file: y}]",
        "at most one of bearer_token & bearer_token_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, bearer_token: x, basic_auth: {username: u}}]",
        "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, bearer_token: x}]}]",
        "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, kubeconfig_file: k, namespaces: {own_namespace: true}}]}]",
        "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, api_server: 'https://k:443', namespaces: {own_namespace: true}}]}]",
        "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, api_server: 'https://k:443', kubeconfig_file: k}]}]",
        "cannot use 'kubeconfig_file' and 'api_server' simultaneously",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, kubeconfig_file: k, bearer_token: x}]}]",
        "cannot use a custom HTTP client configuration together with 'kubeconfig_file'",
    ),
    ("scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: vacation}]}]", "role"),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: endpoints, selectors: [{role: node, label: 'a=b'}]}]}]",
        "endpoints role supports only pod, service, endpoints selectors",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: ingress, selectors: [{role: node}]}]}]",
        "ingress role supports only ingress selectors",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, selectors: [{role: service}]}]}]",
        "pod role supports only pod, node selectors",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, selectors: [{role: pod}, {role: pod}]}]}]",
        "duplicated selector role: pod",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: endpoints, selectors: [{role: pod, field: 'metadata.status-Running'}]}]}]",
        "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: endpoints, api_server: 'kubernetes:443', namespaces: {foo: bar}}]}]",
        "field foo not found in type kubernetes.NamespaceDiscovery",
    ),
    (
        "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, api_server: 'https://k', basic_auth: {username: u}, authorization: {credentials: c}}]}]",
        "at most one of basic_auth, oauth2 & authorization must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, marathon_sd_configs: [{servers: []}]}]",
        "marathon_sd: must contain at least one Marathon server",
    ),
    (
        "scrape_configs: [{job_name: a, marathon_sd_configs: [{servers: [x], auth_token: t, auth_token_file: f}]}]",
        "marathon_sd: at most one of auth_token & auth_token_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, marathon_sd_configs: [{servers: [x], auth_token: t, basic_auth: {username: u}}]}]",
        "marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, marathon_sd_configs: [{servers: [x], auth_token: t, bearer_token: b}]}]",
        "marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, marathon_sd_configs: [{servers: [x], auth_token: t, authorization: {credentials: c}}]}]",
        "marathon_sd: at most one of auth_token, auth_token_file & authorization must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, openstack_sd_configs: [{role: invalid, region: r}]}]",
        "unknown OpenStack SD role",
    ),
    (
        "scrape_configs: [{job_name: a, openstack_sd_configs: [{role: instance, region: r, availability: invalid}]}]",
        "unknown availability invalid, must be one of admin, internal or public",
    ),
    (
        "scrape_configs: [{job_name: a, static_configs: [{targets: ['http://bad']}]}]",
        "\"http://bad\" is not a valid hostname",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{source_labels: [a]}]}]",
        "relabel configuration for replace action requires 'target_label' value",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{source_labels: [a], action: hashmod, modulus: 8}]}]",
        "relabel configuration for hashmod action requires 'target_label' value",
    ),
    ("global: {nonexistent_field: test}", "field nonexistent_field not found in type"),
    ("remote_read: [{remote_timeout: 1s}]", "url for remote_read is empty"),
    (
        "remote_write: [{url: 'http://x', headers: {X-Prometheus-Remote-Write-Version: '1'}}]",
        "X-Prometheus-Remote-Write-Version is a reserved header. It must not be changed",
    ),
    (
        "remote_read: [{url: 'http://x', headers: {x-prometheus-remote-write-version: '1'}}]",
        "x-prometheus-remote-write-version is a reserved header. It must not be changed",
    ),
    (
        "remote_write: [{url: 'http://x', headers: {Authorization: x}}]",
        "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter",
    ),
    (
        "remote_write: [{url: 'http://x', protobuf_message: io.prometheus.writet.v2.Request}]",
        "invalid protobuf_message value: unknown type for remote write protobuf message io.prometheus.writet.v2.Request, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request",
    ),
    ("remote_write: [{remote_timeout: 1s}]", "url for remote_write is empty"),
    (
        "remote_write: [{url: 'http://a', name: queue1}, {url: 'http://b', name: queue1}]",
        "found multiple remote write configs with job name \"queue1\"",
    ),
    (
        "remote_write: [{url: 'http://a', queue_config: {max_samples_per_send: 0}}]",
        "remote write queue max_samples_per_send must be positive",
    ),
    (
        "remote_write: [{url: 'http://a', queue_config: {max_shards: 0}}]",
        "remote write queue max_shards must be positive",
    ),
    (
        "remote_write: [{url: 'http://a', queue_config: {min_shards: 0}}]",
        "remote write queue min_shards must be positive",
    ),
    (
        "remote_write: [{url: 'http://a', queue_config: {capacity: 0}}]",
        "remote write queue capacity must be positive",
    ),
    (
        "remote_write: [{url: 'http://a', queue_config: {min_shards: 10, max_shards: 5}}]",
        "remote write queue min_shards must not be greater than max_shards",
    ),
    (
        "remote_write: [{url: 'http://a', queue_config: {min_backoff: 1s, max_backoff: 100ms}}]",
        "remote write queue max_backoff must not be less than min_backoff",
    ),
    (
        "remote_read: [{url: 'http://a', name: queue1}, {url: 'http://b', name: queue1}]",
        "found multiple remote read configs with job name \"queue1\"",
    ),
    (
        "scrape_configs: [{job_name: a, ec2_sd_configs: [{region: r, filters: [{name: tag:x, values: []}]}]}]",
        "EC2 SD configuration filter values cannot be empty",
    ),
    (
        "scrape_configs: [{job_name: a, ec2_sd_configs: [{region: r, bearer_token: x, bearer_token_file: y}]}]",
        "at most one of bearer_token & bearer_token_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, lightsail_sd_configs: [{region: r, bearer_token: x, bearer_token_file: y}]}]",
        "at most one of bearer_token & bearer_token_file must be configured",
    ),
    (
        "scrape_configs:\n  - job_name: a\nscrape_configs:\n  - job_name: b\n",
        "field scrape_configs already set in type config.Config",
    ),
    (
        "scrape_configs: [{job_name: a, azure_sd_configs: [{subscription_id: s, tenant_id: t, client_secret: c}]}]",
        "azure SD configuration requires a client_id",
    ),
    (
        "scrape_configs: [{job_name: a, azure_sd_configs: [{subscription_id: s, tenant_id: t, client_id: c}]}]",
        "azure SD configuration requires a client_secret",
    ),
    (
        "scrape_configs: [{job_name: a, azure_sd_configs: [{tenant_id: t}]}]",
        "azure SD configuration requires a subscription_id",
    ),
    (
        "scrape_configs: [{job_name: a, azure_sd_configs: [{subscription_id: s, client_id: c, client_secret: s}]}]",
        "azure SD configuration requires a tenant_id",
    ),
    (
        "scrape_configs: [{job_name: a, azure_sd_configs: [{subscription_id: s, authentication_method: invalid}]}]",
        "unknown authentication_type \"invalid\". Supported types are \"OAuth\", \"ManagedIdentity\", \"SDK\" or \"WorkloadIdentity\"",
    ),
    (
        "scrape_configs: [{job_name: a, oci_sd_configs: [{region: r, auth: invalid}]}]",
        "oci_sd: unknown auth method \"invalid\", expected \"api_key\" or \"instance_principal\"",
    ),
    (
        "scrape_configs: [{job_name: a, azure_sd_configs: [{subscription_id: s, authentication_method: ManagedIdentity, bearer_token: x, basic_auth: {username: u}}]}]",
        "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
    ),
    ("scrape_configs: [~]", "empty or null scrape config section"),
    ("remote_write: [~]", "empty or null remote write config section"),
    ("remote_read: [~]", "empty or null remote read config section"),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [~]}]",
        "empty or null target relabeling rule",
    ),
    (
        "scrape_configs: [{job_name: a, metric_relabel_configs: [~]}]",
        "empty or null metric relabeling rule",
    ),
    ("alerting: {alert_relabel_configs: [~]}", "empty or null alert relabeling rule"),
    (
        "alerting: {alertmanagers: [{relabel_configs: [~]}]}",
        "empty or null Alertmanager target relabeling rule",
    ),
    (
        "remote_write: [{url: 'http://a', write_relabel_configs: [~]}]",
        "empty or null relabeling rule in remote write config",
    ),
    (
        "scrape_configs: [{job_name: a, static_configs: [~]}]",
        "empty or null section in static_configs",
    ),
    (
        "scrape_configs: [{job_name: a, puppetdb_sd_configs: [{url: 'http://p'}]}]",
        "query missing",
    ),
    ("scrape_configs: [{job_name: a, puppetdb_sd_configs: [{query: q}]}]", "URL is missing"),
    (
        "scrape_configs: [{job_name: a, puppetdb_sd_configs: [{url: 'http://', query: q}]}]",
        "host is missing in URL",
    ),
    (
        "scrape_configs: [{job_name: a, puppetdb_sd_configs: [{url: 'puppetdb', query: q}]}]",
        "URL scheme must be 'http' or 'https'",
    ),
    (
        "scrape_configs: [{job_name: a, hetzner_sd_configs: [{role: invalid}]}]",
        "unknown role",
    ),
    (
        "scrape_configs: [{job_name: a, eureka_sd_configs: [{refresh_interval: 1m}]}]",
        "empty or null eureka server",
    ),
    (
        "scrape_configs: [{job_name: a, eureka_sd_configs: [{server: eureka}]}]",
        "invalid eureka server URL",
    ),
    (
        "scrape_configs: [{job_name: a, scaleway_sd_configs: [{role: invalid, project_id: p, access_key: a, secret_key: s}]}]",
        "unknown role \"invalid\"",
    ),
    (
        "scrape_configs: [{job_name: a, scaleway_sd_configs: [{role: instance, project_id: p, access_key: a}]}]",
        "one of secret_key & secret_key_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, scaleway_sd_configs: [{role: instance, project_id: p, access_key: a, secret_key: s, secret_key_file: f}]}]",
        "at most one of secret_key & secret_key_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, outscale_sd_configs: [{region: '', access_key: a}]}]",
        "outscale SD configuration requires a region",
    ),
    (
        "scrape_configs: [{job_name: a, outscale_sd_configs: [{access_key: a}]}]",
        "one of secret_key & secret_key_file must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, body_size_limit: 100}]",
        "units: unknown unit  in 100",
    ),
    (
        "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'localhost:8080'}]}]",
        "URL scheme must be 'http' or 'https'",
    ),
    (
        "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'http://'}]}]",
        "host is missing in URL",
    ),
    (
        "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'ftp://x'}]}]",
        "URL scheme must be 'http' or 'https'",
    ),
    (
        "scrape_configs: [{job_name: a, relabel_configs: [{action: ~}]}]",
        "relabel action cannot be empty",
    ),
    ("tracing: {client_type: grpc}", "tracing endpoint must be set"),
    (
        "tracing: {endpoint: 'localhost:4317', headers: {x-prometheus-remote-write-version: '1'}}",
        "x-prometheus-remote-write-version is a reserved header. It must not be changed",
    ),
    (
        "tracing: {endpoint: 'localhost:4317', headers: {Authorization: x}}",
        "authorization header configuration is not yet supported",
    ),
    (
        "tracing: {endpoint: 'localhost:4317', compression: foo}",
        "invalid compression type foo provided, valid options: gzip",
    ),
    (
        "scrape_configs: [{job_name: a, uyuni_sd_configs: [{username: u, password: p}]}]",
        "Uyuni SD configuration requires server host",
    ),
    (
        "scrape_configs: [{job_name: a, ionos_sd_configs: [{}]}]",
        "datacenter id can't be empty",
    ),
    (
        "scrape_configs: [{job_name: a, ovhcloud_sd_configs: [{application_key: k, consumer_key: c, service: vps}]}]",
        "application secret can not be empty",
    ),
    (
        "scrape_configs: [{job_name: a, ovhcloud_sd_configs: [{application_key: k, application_secret: s, consumer_key: c, service: fakeservice}]}]",
        "unknown service: fakeservice",
    ),
    ("scrape_config_files: ['scrape_configs/*/*']", "invalid scrape config file path \"scrape_configs/*/*\""),
    (
        "scrape_configs: [{job_name: node, scrape_protocols: [prometheusproto]}]",
        "scrape_protocols: unknown scrape protocol prometheusproto, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0] for scrape config with job name \"node\"",
    ),
    (
        "scrape_configs: [{job_name: node, scrape_protocols: [OpenMetricsText1.0.0, PrometheusProto, OpenMetricsText1.0.0]}]",
        "duplicated protocol in scrape_protocols, got [OpenMetricsText1.0.0 PrometheusProto OpenMetricsText1.0.0] for scrape config with job name \"node\"",
    ),
    (
        "scrape_configs: [{job_name: node, fallback_scrape_protocol: prometheusproto}]",
        "invalid fallback_scrape_protocol for scrape config with job name \"node\": unknown scrape protocol prometheusproto, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]",
    ),
    (
        "scrape_configs: [{job_name: node, fallback_scrape_protocol: [OpenMetricsText1.0.0, PrometheusText0.0.4]}]",
        "cannot unmarshal !!seq into string",
    ),
    (
        "scrape_configs: [{job_name: node, metric_name_validation_scheme: legacy, metric_name_escaping_scheme: allow-utf-8}]",
        "utf8 metric names requested but validation scheme is not set to UTF8",
    ),
    (
        "scrape_configs: [{job_name: a, stackit_sd_configs: [{endpoint: '://invalid'}]}]",
        "invalid endpoint",
    ),
    ("storage: {tsdb: {retention: {time: -1h}}}", "not a valid duration string: \"-1h\""),
    (
        "storage: {tsdb: {retention: {size: -1MB}}}",
        "'storage.tsdb.retention.size' must be greater than or equal to 0",
    ),
    (
        "storage: {tsdb: {retention: {percentage: 101}}}",
        "'storage.tsdb.retention.percentage' must be in the range [0, 100]",
    ),
    (
        "storage: {tsdb: {retention: {percentage: -1}}}",
        "'storage.tsdb.retention.percentage' must be in the range [0, 100]",
    ),
    (
        "storage: {tsdb: {chunk_encoding: {floats: xor3}}}",
        "'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got \"xor3\"",
    ),
    (
        "storage: {tsdb: {chunk_encoding: {floats: XOR}}}",
        "'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got \"XOR\"",
    ),
    ("alerting: {alertmanagers: [{api_version: v1}]}", "expected Alertmanager api version to be one of [v2] but got v1"),
    (
        "otlp: {promote_all_resource_attributes: true, promote_resource_attributes: [a]}",
        "'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously",
    ),
    (
        "otlp: {ignore_resource_attributes: [a]}",
        "'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true",
    ),
    (
        "otlp: {promote_resource_attributes: [a, ' a', '']}",
        "duplicated promoted OTel resource attribute \"a\"",
    ),
    ("otlp: {translation_strategy: Foo}", "unsupported OTLP translation strategy \"Foo\""),
    (
        "global: {metric_name_validation_scheme: legacy}\notlp: {translation_strategy: NoTranslation}",
        "OTLP translation strategy \"NoTranslation\" is not allowed when UTF8 is disabled",
    ),
    ("global: {metric_name_validation_scheme: bogus}", "unrecognized ValidationScheme: \"bogus\""),
    (
        "remote_write: [{url: 'http://a', sigv4: {region: r}, basic_auth: {username: u}}]",
        "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [basic_auth sigv4]",
    ),
    (
        "remote_write: [{url: 'http://a', sigv4: {access_key: a}}]",
        "must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config",
    ),
    (
        "remote_write: [{url: 'http://a', azuread: {cloud: AzurePublic}}]",
        "must provide an Azure Managed Identity, Azure Workload Identity, Azure OAuth, Azure Certificate or Azure SDK in the Azure AD config",
    ),
    (
        "remote_write: [{url: 'http://a', azuread: {managed_identity: {client_id: not-a-uuid}}}]",
        "the provided Azure Managed Identity client_id is invalid",
    ),
    (
        "scrape_configs: [{job_name: a, tls_config: {cert_file: c}}]",
        "exactly one of key or key_file must be configured when a client certificate is configured",
    ),
    (
        "scrape_configs: [{job_name: a, authorization: {type: Basic, credentials: x}}]",
        "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
    ),
    (
        "scrape_configs: [{job_name: a, oauth2: {client_id: x}}]",
        "oauth2 token_url must be configured",
    ),
    (
        "scrape_configs: [{job_name: a, no_proxy: localhost}]",
        "if no_proxy is configured, proxy_url must also be configured",
    ),
    (
        "scrape_configs: [{job_name: a, http_headers: {user-agent: {values: [x]}}}]",
        "setting header \"User-Agent\" is not allowed",
    ),
    (
        "scrape_configs: [{job_name: a, dns_sd_configs: [{names: [x], type: A}]}]",
        "a port is required in DNS-SD configs for all record types except SRV",
    ),
    (
        "scrape_configs: [{job_name: a, file_sd_configs: [{files: [targets.txt]}]}]",
        "path name \"targets.txt\" is not valid for file discovery",
    ),
    ("scrape_configs: [{job_name: a, scrape_interval: 15}]", "not a valid duration string: \"15\""),
    ("remote_write: [{url: 'http://a b'}]", "parse \"http://a b\": invalid character \" \" in host name"),
];

#[test]
fn rejects_what_prometheus_rejects() {
    for (yaml, want) in REJECTED {
        let e = load_err(yaml);
        assert!(
            e.to_string().contains(want),
            "config:\n{yaml}\nwant: {want}\ngot:  {e}"
        );
        assert!(
            e.problems()[0].line.is_some()
                || yaml.starts_with("rule_files")
                || yaml.starts_with("scrape_config_files")
                || yaml.starts_with("otlp")
                || yaml.contains("translation_strategy"),
            "no line for {yaml}: {e}"
        );
    }
}

#[test]
fn validation_errors_point_at_the_offending_block() {
    let e = load_err(
        "scrape_configs:
  - job_name: ok
  - job_name: slow
    scrape_interval: 5s
    scrape_timeout: 6s
",
    );
    assert_eq!(
        e.to_string(),
        "line 3: scrape timeout greater than scrape interval for scrape config with job name \"slow\""
    );
    let e = load_err(
        "scrape_configs:
  - job_name: a
    relabel_configs:
      - source_labels: [x]
        target_label: y
      - action: hashmod
        target_label: z
",
    );
    assert_eq!(
        e.to_string(),
        "line 6: relabel configuration for hashmod requires non-zero modulus"
    );
}

#[test]
fn hostile_documents_are_rejected_quickly() {
    let deep = format!("global: {}", "[".repeat(100_000));
    assert!(load(&deep).is_err());
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, prev) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        let n = ["b", "c", "d", "e", "f", "g", "h", "i"][i];
        laughs.push_str(&format!("{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    let e = load_err(&laughs);
    assert!(e.to_string().contains("excessive aliasing"), "{e}");
    assert!(load("scrape_configs: [{job_name: \"\\xff\"}]").is_ok());
    assert!(load("\u{0}").is_err());
}

#[test]
fn anchors_and_merge_keys_work() {
    let c = load(
        "
x-common: &common
  scrape_interval: 30s
  metrics_path: /m
scrape_configs:
  - <<: *common
    job_name: a
  - <<: *common
    job_name: b
    metrics_path: /other
",
    );
    // `x-common` is not a Prometheus field.
    assert!(c.is_err());
    let c = load(
        "
scrape_configs:
  - &base
    job_name: a
    scrape_interval: 30s
    metrics_path: /m
  - <<: *base
    job_name: b
    metrics_path: /other
",
    )
    .unwrap();
    let b = &c.scrape_configs[1];
    assert_eq!(b.scrape_interval, Duration::from_secs(30));
    assert_eq!(b.metrics_path, "/other");
}

#[test]
fn external_labels_expand_environment_variables() {
    // Safety: the variable is only read by this test.
    unsafe { std::env::set_var("EMBER_CONFIG_TEST_REGION", "eu-1") };
    let c = load(
        "global:\n  external_labels:\n    region: ${EMBER_CONFIG_TEST_REGION}\n    price: $$5\n    none: $EMBER_CONFIG_TEST_UNSET\n",
    )
    .unwrap();
    let l = &c.global.external_labels;
    assert_eq!(l["region"], "eu-1");
    assert_eq!(l["price"], "$5");
    assert_eq!(l["none"], "");
}

#[test]
fn scrape_config_files_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("jobs")).unwrap();
    std::fs::write(
        dir.path().join("jobs/a.yml"),
        "scrape_configs:\n  - job_name: from-file\n    file_sd_configs: [{files: [t.json]}]\n",
    )
    .unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "global: {scrape_interval: 20s}\nscrape_config_files: ['jobs/*.yml']\nscrape_configs: [{job_name: main}]\n",
    )
    .unwrap();
    let c = Config::load(&main).unwrap();
    let names: Vec<&str> = c
        .all_scrape_configs()
        .map(|s| s.job_name.as_str())
        .collect();
    assert_eq!(names, ["main", "from-file"]);
    let f = &c.file_scrape_configs[0];
    assert_eq!(f.scrape_interval, Duration::from_secs(20));
    assert_eq!(
        Path::new(&f.service_discovery.file[0].files[0]),
        dir.path().join("jobs/t.json")
    );

    std::fs::write(
        dir.path().join("jobs/b.yml"),
        "scrape_configs:\n  - job_name: main\n",
    )
    .unwrap();
    let e = Config::load(&main).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: found multiple scrape configs with job name \"main\", first found in main config file",
            dir.path().join("jobs/b.yml").display()
        )
    );
    std::fs::write(
        dir.path().join("jobs/b.yml"),
        "scrape_configs:\n  - job_nam: x\n",
    )
    .unwrap();
    let e = Config::load(&main).unwrap_err();
    assert!(
        e.to_string().contains("b.yml:2: field job_nam not found"),
        "{e}"
    );
}

#[test]
fn rule_file_globs_resolve_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    for f in ["b.yml", "a.yml", "c.txt"] {
        std::fs::write(dir.path().join("rules").join(f), "groups: []\n").unwrap();
    }
    let main = dir.path().join("prometheus.yml");
    std::fs::write(&main, "rule_files: ['rules/*.yml', 'rules/a.yml']\n").unwrap();
    let c = Config::load(&main).unwrap();
    let paths = c.rule_file_paths().unwrap();
    assert_eq!(
        paths,
        [
            dir.path().join("rules/a.yml"),
            dir.path().join("rules/b.yml")
        ]
    );
    for p in paths {
        assert!(RuleFile::load(p).unwrap().groups.is_empty());
    }
}

#[test]
fn secrets_never_print() {
    let c = load(
        "
scrape_configs:
  - job_name: a
    basic_auth: {username: u, password: mysecret}
    oauth2: ~
    tls_config: {key: mysecret, cert: c}
    http_headers: {X-Token: {secrets: [mysecret]}}
remote_write:
  - url: 'https://user:mysecret@example.com/write'
    sigv4: {access_key: a, secret_key: mysecret}
",
    )
    .unwrap();
    let y = c.to_yaml();
    assert!(!y.contains("mysecret"), "{y}");
    assert_eq!(y.matches("<secret>").count(), 4, "{y}");
    assert!(y.contains("https://user:xxxxx@example.com/write"), "{y}");
    assert!(!format!("{c:?}").contains("mysecret"));
    let pw = c.scrape_configs[0].http_client.basic_auth.as_ref().unwrap();
    assert_eq!(pw.password.expose(), "mysecret");
}
