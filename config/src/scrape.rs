//! `scrape_configs`: what to scrape, how often and how.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::discovery::ServiceDiscoveryConfigs;
use crate::global::GlobalConfig;
use crate::http::{join_dir, HttpClientConfig};
use crate::relabel::{decode_rules, validate_rules, At, RelabelConfig};
use crate::types::{Duration, NameValidation, Size};
use crate::yaml::decode::{decode_struct, DResult, Decode, DecodeStruct, MapReader};
use crate::yaml::emit::{encode_struct, Encode, EncodeStruct, MapWriter, Value};
use crate::yaml::{Node, Pos};

/// An exposition format offered to targets in the `Accept` header.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ScrapeProtocol(String);

impl ScrapeProtocol {
    pub const PROMETHEUS_PROTO: &'static str = "PrometheusProto";
    pub const PROMETHEUS_TEXT_0_0_4: &'static str = "PrometheusText0.0.4";
    pub const PROMETHEUS_TEXT_1_0_0: &'static str = "PrometheusText1.0.0";
    pub const OPENMETRICS_TEXT_0_0_1: &'static str = "OpenMetricsText0.0.1";
    pub const OPENMETRICS_TEXT_1_0_0: &'static str = "OpenMetricsText1.0.0";

    /// The supported protocols, sorted by name (as Prometheus lists them in errors).
    const SUPPORTED: [(&'static str, &'static str); 5] = [
        (
            "OpenMetricsText0.0.1",
            "application/openmetrics-text;version=0.0.1",
        ),
        (
            "OpenMetricsText1.0.0",
            "application/openmetrics-text;version=1.0.0",
        ),
        (
            "PrometheusProto",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        ),
        ("PrometheusText0.0.4", "text/plain;version=0.0.4"),
        ("PrometheusText1.0.0", "text/plain;version=1.0.0"),
    ];

    pub fn new(name: &str) -> ScrapeProtocol {
        ScrapeProtocol(name.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Accept` header entry for this protocol (without a `q` weight), if supported.
    pub fn header(&self) -> Option<&'static str> {
        Self::SUPPORTED
            .iter()
            .find(|(n, _)| *n == self.0)
            .map(|(_, h)| *h)
    }

    fn validate(&self) -> Result<(), String> {
        if self.header().is_some() {
            return Ok(());
        }
        let names: Vec<&str> = Self::SUPPORTED.iter().map(|(n, _)| *n).collect();
        Err(format!(
            "unknown scrape protocol {}, supported: [{}]",
            self.0,
            names.join(" ")
        ))
    }

    /// The default order when native histograms are not scraped.
    pub fn defaults() -> Vec<ScrapeProtocol> {
        [
            Self::OPENMETRICS_TEXT_1_0_0,
            Self::OPENMETRICS_TEXT_0_0_1,
            Self::PROMETHEUS_TEXT_1_0_0,
            Self::PROMETHEUS_TEXT_0_0_4,
        ]
        .map(ScrapeProtocol::new)
        .to_vec()
    }

    /// The default order when native histograms are scraped: protobuf first.
    pub fn proto_first_defaults() -> Vec<ScrapeProtocol> {
        let mut v = vec![ScrapeProtocol::new(Self::PROMETHEUS_PROTO)];
        v.extend(Self::defaults());
        v
    }
}

impl fmt::Debug for ScrapeProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ScrapeProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Decode for ScrapeProtocol {
    fn go_type() -> String {
        "config.ScrapeProtocol".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        String::decode(node).map(ScrapeProtocol)
    }
}

impl Encode for ScrapeProtocol {
    fn encode(&self) -> Value {
        Value::Str(self.0.clone())
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

/// Prometheus's checks of a `scrape_protocols` list.
pub(crate) fn validate_scrape_protocols(list: &[ScrapeProtocol]) -> Result<(), String> {
    if list.is_empty() {
        return Err("scrape_protocols cannot be empty".into());
    }
    let mut seen: Vec<String> = Vec::new();
    for p in list {
        let lower = p.0.to_lowercase();
        if seen.contains(&lower) {
            let all: Vec<&str> = list.iter().map(|p| p.as_str()).collect();
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                all.join(" ")
            ));
        }
        p.validate().map_err(|e| format!("scrape_protocols: {e}"))?;
        seen.push(lower);
    }
    Ok(())
}

/// The escaping schemes a scrape may request.
const ESCAPING_SCHEMES: [&str; 4] = ["allow-utf-8", "underscores", "dots", "values"];

/// One `<scrape_config>`: a job.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    /// URL query parameters of every scrape.
    pub params: BTreeMap<String, Vec<String>>,
    /// Inherited from `global` when unset.
    pub scrape_interval: Duration,
    /// Inherited from `global` when unset, at most the interval.
    pub scrape_timeout: Duration,
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    pub scrape_native_histograms: Option<bool>,
    pub always_scrape_classic_histograms: Option<bool>,
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    pub scrape_failure_log_file: String,
    pub metrics_path: String,
    pub scheme: String,
    pub enable_compression: bool,
    pub body_size_limit: Size,
    pub sample_limit: u64,
    pub target_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub native_histogram_bucket_limit: u64,
    pub native_histogram_min_bucket_factor: f64,
    pub keep_dropped_targets: u64,
    pub metric_name_validation_scheme: NameValidation,
    pub metric_name_escaping_scheme: String,
    pub extra_scrape_metrics: Option<bool>,
    pub http_client: HttpClientConfig,
    pub relabel_configs: Vec<RelabelConfig>,
    pub metric_relabel_configs: Vec<RelabelConfig>,
    pub service_discovery: ServiceDiscoveryConfigs,
    pub(crate) at: At,
}

impl Default for ScrapeConfig {
    /// Prometheus's `DefaultScrapeConfig` (before inheriting from `global`).
    fn default() -> Self {
        ScrapeConfig {
            job_name: String::new(),
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            params: BTreeMap::new(),
            scrape_interval: Duration::ZERO,
            scrape_timeout: Duration::ZERO,
            scrape_protocols: None,
            fallback_scrape_protocol: None,
            scrape_native_histograms: None,
            always_scrape_classic_histograms: None,
            convert_classic_histograms_to_nhcb: None,
            scrape_failure_log_file: String::new(),
            metrics_path: "/metrics".into(),
            scheme: "http".into(),
            enable_compression: true,
            body_size_limit: Size::default(),
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            native_histogram_bucket_limit: 0,
            native_histogram_min_bucket_factor: 0.0,
            keep_dropped_targets: 0,
            metric_name_validation_scheme: NameValidation::Unset,
            metric_name_escaping_scheme: String::new(),
            extra_scrape_metrics: None,
            http_client: HttpClientConfig::default(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            service_discovery: ServiceDiscoveryConfigs::default(),
            at: At::default(),
        }
    }
}

impl ScrapeConfig {
    /// The line of the job in its file (0 when built in code).
    pub fn line(&self) -> u32 {
        self.at.0.line
    }

    pub(crate) fn pos(&self) -> Pos {
        self.at.0
    }

    /// Whether native histograms are scraped (after inheritance).
    pub fn scrape_native_histograms_enabled(&self) -> bool {
        self.scrape_native_histograms == Some(true)
    }

    /// The effective scrape protocols (after inheritance).
    pub fn protocols(&self) -> &[ScrapeProtocol] {
        self.scrape_protocols.as_deref().unwrap_or(&[])
    }

    /// `ScrapeConfig.Validate`: inherits unset fields from `global` and checks the job.
    pub(crate) fn validate(&mut self, global: &GlobalConfig) -> Result<(), (Pos, String)> {
        let at = self.at.0;
        let job = crate::types::go_quote(&self.job_name);
        if self.scrape_interval.is_zero() {
            self.scrape_interval = global.scrape_interval;
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err((
                at,
                format!("scrape timeout greater than scrape interval for scrape config with job name {job}"),
            ));
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = global.scrape_timeout.min(self.scrape_interval);
        }
        if self.body_size_limit.bytes() == 0 {
            self.body_size_limit = global.body_size_limit;
        }
        macro_rules! inherit {
            ($($f:ident),*) => { $( if self.$f == 0 { self.$f = global.$f; } )* };
        }
        inherit!(
            sample_limit,
            target_limit,
            label_limit,
            label_name_length_limit,
            label_value_length_limit,
            keep_dropped_targets
        );
        if self.scrape_failure_log_file.is_empty() {
            self.scrape_failure_log_file = global.scrape_failure_log_file.clone();
        }
        if self.scrape_native_histograms.is_none() {
            self.scrape_native_histograms = global.scrape_native_histograms;
        }
        if self.extra_scrape_metrics.is_none() {
            self.extra_scrape_metrics = global.extra_scrape_metrics;
        }
        if self.scrape_protocols.is_none() {
            self.scrape_protocols = Some(match &global.scrape_protocols {
                Some(p) => p.clone(),
                None if self.scrape_native_histograms_enabled() => {
                    ScrapeProtocol::proto_first_defaults()
                }
                None => ScrapeProtocol::defaults(),
            });
        }
        validate_scrape_protocols(self.protocols())
            .map_err(|e| (at, format!("{e} for scrape config with job name {job}")))?;
        if let Some(p) = &self.fallback_scrape_protocol {
            p.validate().map_err(|e| {
                (
                    at,
                    format!("invalid fallback_scrape_protocol for scrape config with job name {job}: {e}"),
                )
            })?;
        }
        let local_unset = self.metric_name_validation_scheme == NameValidation::Unset;
        if local_unset {
            self.metric_name_validation_scheme = global.metric_name_validation_scheme;
        }
        let global_escaping = match global.metric_name_escaping_scheme.as_str() {
            "" => {
                if global.metric_name_validation_scheme == NameValidation::Legacy {
                    "underscores"
                } else {
                    "allow-utf-8"
                }
            }
            s if ESCAPING_SCHEMES.contains(&s) => s,
            other => {
                return Err((
                    at,
                    format!(
                        "unknown global name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                        crate::types::go_quote(other)
                    ),
                ))
            }
        };
        if self.metric_name_escaping_scheme.is_empty() {
            self.metric_name_escaping_scheme = if local_unset {
                global_escaping.to_string()
            } else if self.metric_name_validation_scheme == NameValidation::Legacy {
                "underscores".into()
            } else {
                "allow-utf-8".into()
            };
        }
        match self.metric_name_escaping_scheme.as_str() {
            "allow-utf-8" => {
                if self.metric_name_validation_scheme != NameValidation::Utf8 {
                    return Err((
                        at,
                        "utf8 metric names requested but validation scheme is not set to UTF8"
                            .into(),
                    ));
                }
            }
            "underscores" | "dots" | "values" => {}
            other => {
                return Err((
                    at,
                    format!(
                        "unknown scrape config name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                        crate::types::go_quote(other)
                    ),
                ))
            }
        }
        if self.convert_classic_histograms_to_nhcb.is_none() {
            self.convert_classic_histograms_to_nhcb =
                Some(global.convert_classic_histograms_to_nhcb);
        }
        if self.always_scrape_classic_histograms.is_none() {
            self.always_scrape_classic_histograms = Some(global.always_scrape_classic_histograms);
        }
        let scheme = self.metric_name_validation_scheme;
        validate_rules(&mut self.relabel_configs, scheme)?;
        validate_rules(&mut self.metric_relabel_configs, scheme)?;
        Ok(())
    }

    /// Joins relative file paths onto `dir`.
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.service_discovery.set_directory(dir);
        self.http_client.set_directory(dir);
        join_dir(dir, &mut self.scrape_failure_log_file);
    }
}

impl DecodeStruct for ScrapeConfig {
    const GO_TYPE: &'static str = "config.ScrapeConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = ScrapeConfig {
            at: At(m.node().pos),
            ..ScrapeConfig::default()
        };
        m.read("job_name", &mut c.job_name)?;
        m.read("honor_labels", &mut c.honor_labels)?;
        m.read("honor_timestamps", &mut c.honor_timestamps)?;
        m.read(
            "track_timestamps_staleness",
            &mut c.track_timestamps_staleness,
        )?;
        m.read("params", &mut c.params)?;
        m.read("scrape_interval", &mut c.scrape_interval)?;
        m.read("scrape_timeout", &mut c.scrape_timeout)?;
        m.read("scrape_protocols", &mut c.scrape_protocols)?;
        if let Some(n) = m.take_node("fallback_scrape_protocol") {
            let p = ScrapeProtocol::decode(n)?;
            c.fallback_scrape_protocol = (!p.0.is_empty()).then_some(p);
        }
        m.read("scrape_native_histograms", &mut c.scrape_native_histograms)?;
        m.read(
            "always_scrape_classic_histograms",
            &mut c.always_scrape_classic_histograms,
        )?;
        m.read(
            "convert_classic_histograms_to_nhcb",
            &mut c.convert_classic_histograms_to_nhcb,
        )?;
        m.read("scrape_failure_log_file", &mut c.scrape_failure_log_file)?;
        m.read("metrics_path", &mut c.metrics_path)?;
        m.read("scheme", &mut c.scheme)?;
        m.read("enable_compression", &mut c.enable_compression)?;
        m.read("body_size_limit", &mut c.body_size_limit)?;
        m.read("sample_limit", &mut c.sample_limit)?;
        m.read("target_limit", &mut c.target_limit)?;
        m.read("label_limit", &mut c.label_limit)?;
        m.read("label_name_length_limit", &mut c.label_name_length_limit)?;
        m.read("label_value_length_limit", &mut c.label_value_length_limit)?;
        m.read(
            "native_histogram_bucket_limit",
            &mut c.native_histogram_bucket_limit,
        )?;
        m.read(
            "native_histogram_min_bucket_factor",
            &mut c.native_histogram_min_bucket_factor,
        )?;
        m.read("keep_dropped_targets", &mut c.keep_dropped_targets)?;
        m.read(
            "metric_name_validation_scheme",
            &mut c.metric_name_validation_scheme,
        )?;
        m.read(
            "metric_name_escaping_scheme",
            &mut c.metric_name_escaping_scheme,
        )?;
        m.read("extra_scrape_metrics", &mut c.extra_scrape_metrics)?;
        c.http_client = HttpClientConfig::read_inline(m, HttpClientConfig::default())?;
        if let Some(n) = m.take_node("relabel_configs") {
            c.relabel_configs =
                decode_rules(n, "empty or null target relabeling rule in scrape config")?;
        }
        if let Some(n) = m.take_node("metric_relabel_configs") {
            c.metric_relabel_configs =
                decode_rules(n, "empty or null metric relabeling rule in scrape config")?;
        }
        c.service_discovery = ServiceDiscoveryConfigs::read_inline(m)?;
        Ok(c)
    }

    fn check(&mut self) -> Result<(), String> {
        if self.job_name.is_empty() {
            return Err("job_name is empty".into());
        }
        self.http_client.validate()?;
        if self.relabel_configs.is_empty() {
            self.service_discovery.check_static_targets()?;
        }
        Ok(())
    }
}

impl EncodeStruct for ScrapeConfig {
    fn write(&self, w: &mut MapWriter) {
        w.field("job_name", &self.job_name);
        w.omitempty("honor_labels", &self.honor_labels);
        w.field("honor_timestamps", &self.honor_timestamps);
        w.field(
            "track_timestamps_staleness",
            &self.track_timestamps_staleness,
        );
        w.omitempty("params", &self.params);
        w.omitempty("scrape_interval", &self.scrape_interval);
        w.omitempty("scrape_timeout", &self.scrape_timeout);
        w.omitempty("scrape_protocols", &self.scrape_protocols);
        w.omitempty("fallback_scrape_protocol", &self.fallback_scrape_protocol);
        w.omitempty("scrape_native_histograms", &self.scrape_native_histograms);
        w.omitempty(
            "always_scrape_classic_histograms",
            &self.always_scrape_classic_histograms,
        );
        w.omitempty(
            "convert_classic_histograms_to_nhcb",
            &self.convert_classic_histograms_to_nhcb,
        );
        w.omitempty("scrape_failure_log_file", &self.scrape_failure_log_file);
        w.omitempty("metrics_path", &self.metrics_path);
        w.omitempty("scheme", &self.scheme);
        w.field("enable_compression", &self.enable_compression);
        w.omitempty("body_size_limit", &self.body_size_limit);
        w.omitempty("sample_limit", &self.sample_limit);
        w.omitempty("target_limit", &self.target_limit);
        w.omitempty("label_limit", &self.label_limit);
        w.omitempty("label_name_length_limit", &self.label_name_length_limit);
        w.omitempty("label_value_length_limit", &self.label_value_length_limit);
        w.omitempty(
            "native_histogram_bucket_limit",
            &self.native_histogram_bucket_limit,
        );
        w.omitempty(
            "native_histogram_min_bucket_factor",
            &self.native_histogram_min_bucket_factor,
        );
        w.omitempty("keep_dropped_targets", &self.keep_dropped_targets);
        w.omitempty(
            "metric_name_validation_scheme",
            &self.metric_name_validation_scheme,
        );
        w.omitempty(
            "metric_name_escaping_scheme",
            &self.metric_name_escaping_scheme,
        );
        w.omitempty("extra_scrape_metrics", &self.extra_scrape_metrics);
        self.http_client.write_inline(w);
        w.omitempty("relabel_configs", &self.relabel_configs);
        w.omitempty("metric_relabel_configs", &self.metric_relabel_configs);
        self.service_discovery.write_inline(w);
    }
}

decode_struct!(ScrapeConfig);
encode_struct!(ScrapeConfig);
