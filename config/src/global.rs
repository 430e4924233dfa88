//! The process-wide sections of `prometheus.yml`: `global`, `runtime`, `storage`,
//! `tracing` and `otlp`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::http::{join_dir, TlsConfig};
use crate::scrape::{validate_scrape_protocols, ScrapeProtocol};
use crate::types::{go_quote, Duration, NameValidation, Size};
use crate::yaml::decode::{decode_struct, DResult, Decode, DecodeStruct, MapReader};
use crate::yaml::emit::{encode_struct, EncodeStruct, MapWriter};

/// `global`: defaults for every scrape config and rule group, and the labels added when
/// talking to other systems.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalConfig {
    /// Default 1m.
    pub scrape_interval: Duration,
    /// Default 10s (at most the interval).
    pub scrape_timeout: Duration,
    /// `None`: each scrape config picks its default from `scrape_native_histograms`.
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// Default 1m.
    pub evaluation_interval: Duration,
    pub rule_query_offset: Duration,
    pub query_log_file: String,
    pub scrape_failure_log_file: String,
    /// Added to series and alerts sent to other systems. Values have environment
    /// variables (`$VAR`, `${VAR}`) expanded at load.
    pub external_labels: BTreeMap<String, String>,
    pub body_size_limit: Size,
    pub sample_limit: u64,
    pub target_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub keep_dropped_targets: u64,
    /// `utf8` (default) or `legacy`.
    pub metric_name_validation_scheme: NameValidation,
    pub metric_name_escaping_scheme: String,
    pub scrape_native_histograms: Option<bool>,
    pub convert_classic_histograms_to_nhcb: bool,
    pub always_scrape_classic_histograms: bool,
    pub extra_scrape_metrics: Option<bool>,
}

impl Default for GlobalConfig {
    /// Prometheus's `DefaultGlobalConfig` (what an absent `global` section means).
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            scrape_protocols: None,
            evaluation_interval: Duration::from_secs(60),
            rule_query_offset: Duration::ZERO,
            query_log_file: String::new(),
            scrape_failure_log_file: String::new(),
            external_labels: BTreeMap::new(),
            body_size_limit: Size::default(),
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            keep_dropped_targets: 0,
            metric_name_validation_scheme: NameValidation::Utf8,
            metric_name_escaping_scheme: "allow-utf-8".into(),
            scrape_native_histograms: Some(false),
            convert_classic_histograms_to_nhcb: false,
            always_scrape_classic_histograms: false,
            extra_scrape_metrics: Some(false),
        }
    }
}

impl GlobalConfig {
    fn zero() -> GlobalConfig {
        GlobalConfig {
            scrape_interval: Duration::ZERO,
            scrape_timeout: Duration::ZERO,
            evaluation_interval: Duration::ZERO,
            metric_name_validation_scheme: NameValidation::Unset,
            metric_name_escaping_scheme: String::new(),
            scrape_native_histograms: None,
            extra_scrape_metrics: None,
            ..GlobalConfig::default()
        }
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.query_log_file);
        join_dir(dir, &mut self.scrape_failure_log_file);
    }
}

impl DecodeStruct for GlobalConfig {
    const GO_TYPE: &'static str = "config.GlobalConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        // A `global` section starts from zero; its defaults are filled in by `check`.
        let mut c = GlobalConfig::zero();
        m.read("scrape_interval", &mut c.scrape_interval)?;
        m.read("scrape_timeout", &mut c.scrape_timeout)?;
        m.read("scrape_protocols", &mut c.scrape_protocols)?;
        m.read("evaluation_interval", &mut c.evaluation_interval)?;
        m.read("rule_query_offset", &mut c.rule_query_offset)?;
        m.read("query_log_file", &mut c.query_log_file)?;
        m.read("scrape_failure_log_file", &mut c.scrape_failure_log_file)?;
        m.read("external_labels", &mut c.external_labels)?;
        m.read("body_size_limit", &mut c.body_size_limit)?;
        m.read("sample_limit", &mut c.sample_limit)?;
        m.read("target_limit", &mut c.target_limit)?;
        m.read("label_limit", &mut c.label_limit)?;
        m.read("label_name_length_limit", &mut c.label_name_length_limit)?;
        m.read("label_value_length_limit", &mut c.label_value_length_limit)?;
        m.read("keep_dropped_targets", &mut c.keep_dropped_targets)?;
        m.read(
            "metric_name_validation_scheme",
            &mut c.metric_name_validation_scheme,
        )?;
        m.read(
            "metric_name_escaping_scheme",
            &mut c.metric_name_escaping_scheme,
        )?;
        m.read("scrape_native_histograms", &mut c.scrape_native_histograms)?;
        m.read(
            "convert_classic_histograms_to_nhcb",
            &mut c.convert_classic_histograms_to_nhcb,
        )?;
        m.read(
            "always_scrape_classic_histograms",
            &mut c.always_scrape_classic_histograms,
        )?;
        m.read("extra_scrape_metrics", &mut c.extra_scrape_metrics)?;
        Ok(c)
    }

    fn check(&mut self) -> Result<(), String> {
        if self.metric_name_validation_scheme == NameValidation::Unset {
            self.metric_name_validation_scheme = NameValidation::Utf8;
        }
        for name in self.external_labels.keys() {
            if !self.metric_name_validation_scheme.is_valid_label_name(name) {
                return Err(format!("{} is not a valid label name", go_quote(name)));
            }
        }
        let defaults = GlobalConfig::default();
        if self.scrape_interval.is_zero() {
            self.scrape_interval = defaults.scrape_interval;
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err("global scrape timeout greater than scrape interval".into());
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = defaults.scrape_timeout.min(self.scrape_interval);
        }
        if self.evaluation_interval.is_zero() {
            self.evaluation_interval = defaults.evaluation_interval;
        }
        if self.scrape_native_histograms.is_none() {
            self.scrape_native_histograms = Some(false);
        }
        if self.extra_scrape_metrics.is_none() {
            self.extra_scrape_metrics = Some(false);
        }
        if let Some(p) = &self.scrape_protocols {
            validate_scrape_protocols(p).map_err(|e| format!("{e} for global config"))?;
        }
        Ok(())
    }
}

impl EncodeStruct for GlobalConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("scrape_interval", &self.scrape_interval);
        w.omitempty("scrape_timeout", &self.scrape_timeout);
        w.omitempty("scrape_protocols", &self.scrape_protocols);
        w.omitempty("evaluation_interval", &self.evaluation_interval);
        w.omitempty("rule_query_offset", &self.rule_query_offset);
        w.omitempty("query_log_file", &self.query_log_file);
        w.omitempty("scrape_failure_log_file", &self.scrape_failure_log_file);
        w.omitempty("external_labels", &self.external_labels);
        w.omitempty("body_size_limit", &self.body_size_limit);
        w.omitempty("sample_limit", &self.sample_limit);
        w.omitempty("target_limit", &self.target_limit);
        w.omitempty("label_limit", &self.label_limit);
        w.omitempty("label_name_length_limit", &self.label_name_length_limit);
        w.omitempty("label_value_length_limit", &self.label_value_length_limit);
        w.omitempty("keep_dropped_targets", &self.keep_dropped_targets);
        w.omitempty(
            "metric_name_validation_scheme",
            &self.metric_name_validation_scheme,
        );
        w.omitempty(
            "metric_name_escaping_scheme",
            &self.metric_name_escaping_scheme,
        );
        w.omitempty("scrape_native_histograms", &self.scrape_native_histograms);
        w.omitempty(
            "convert_classic_histograms_to_nhcb",
            &self.convert_classic_histograms_to_nhcb,
        );
        w.omitempty(
            "always_scrape_classic_histograms",
            &self.always_scrape_classic_histograms,
        );
        w.omitempty("extra_scrape_metrics", &self.extra_scrape_metrics);
    }
}

/// `runtime`: process tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// Go's GC target in Prometheus; accepted and shown, without effect on Ember.
    pub gogc: i64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig { gogc: 75 }
    }
}

impl DecodeStruct for RuntimeConfig {
    const GO_TYPE: &'static str = "config.RuntimeConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = RuntimeConfig { gogc: 0 };
        m.read("gogc", &mut c.gogc)?;
        if c.gogc == 0 {
            c = RuntimeConfig::default();
        }
        Ok(c)
    }
}

impl EncodeStruct for RuntimeConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("gogc", &self.gogc);
    }
}

/// `storage.tsdb.retention`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetentionConfig {
    pub time: Duration,
    pub size: Size,
    pub percentage: f64,
}

impl DecodeStruct for RetentionConfig {
    const GO_TYPE: &'static str = "config.TSDBRetentionConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = RetentionConfig::default();
        m.read("time", &mut c.time)?;
        m.read("size", &mut c.size)?;
        m.read("percentage", &mut c.percentage)?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        if self.size.bytes() < 0 {
            return Err(format!(
                "'storage.tsdb.retention.size' must be greater than or equal to 0, got {}",
                self.size
            ));
        }
        if !(0.0..=100.0).contains(&self.percentage) {
            return Err(format!(
                "'storage.tsdb.retention.percentage' must be in the range [0, 100], got {}",
                ember_storage::numfmt::format_g(self.percentage)
            ));
        }
        Ok(())
    }
}

impl EncodeStruct for RetentionConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("time", &self.time);
        w.omitempty("size", &self.size);
        w.omitempty("percentage", &self.percentage);
    }
}

/// `storage.tsdb.chunk_encoding`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChunkEncodingConfig {
    /// `xor`, `xor2`, or empty (the default encoding).
    pub floats: String,
}

impl DecodeStruct for ChunkEncodingConfig {
    const GO_TYPE: &'static str = "config.ChunkEncodingConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = ChunkEncodingConfig::default();
        m.read("floats", &mut c.floats)?;
        Ok(c)
    }
}

impl EncodeStruct for ChunkEncodingConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("floats", &self.floats);
    }
}

/// `storage.tsdb`: the runtime-reloadable TSDB settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TsdbConfig {
    /// How far behind the newest sample an out-of-order sample is still accepted.
    pub out_of_order_time_window: Duration,
    pub stale_series_compaction_threshold: f64,
    pub chunk_encoding: ChunkEncodingConfig,
    pub retention: RetentionConfig,
}

impl Default for TsdbConfig {
    fn default() -> Self {
        TsdbConfig {
            out_of_order_time_window: Duration::ZERO,
            stale_series_compaction_threshold: 0.0,
            chunk_encoding: ChunkEncodingConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl DecodeStruct for TsdbConfig {
    const GO_TYPE: &'static str = "config.TSDBConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = TsdbConfig::default();
        // Prometheus writes its derived millisecond field back under this name, so a
        // written-back configuration reads again; the value is recomputed.
        let _ = m.take::<i64>("outofordertimewindow")?;
        m.read("out_of_order_time_window", &mut c.out_of_order_time_window)?;
        m.read(
            "stale_series_compaction_threshold",
            &mut c.stale_series_compaction_threshold,
        )?;
        m.read("chunk_encoding", &mut c.chunk_encoding)?;
        m.read("retention", &mut c.retention)?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        match self.chunk_encoding.floats.as_str() {
            "" | "xor" | "xor2" => Ok(()),
            other => Err(format!(
                "'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got {}",
                go_quote(other)
            )),
        }
    }
}

impl EncodeStruct for TsdbConfig {
    fn write(&self, w: &mut MapWriter) {
        w.field(
            "outofordertimewindow",
            &self.out_of_order_time_window.as_millis(),
        );
        w.omitempty("out_of_order_time_window", &self.out_of_order_time_window);
        w.omitempty(
            "stale_series_compaction_threshold",
            &self.stale_series_compaction_threshold,
        );
        w.omitempty("chunk_encoding", &self.chunk_encoding);
        // Always present after loading, so always written (as `retention: {}` if empty).
        w.raw(
            "retention",
            crate::yaml::emit::Encode::encode(&self.retention),
        );
    }
}

/// `storage.exemplars`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExemplarsConfig {
    /// Size of the exemplar ring buffer; 0 or less disables exemplar storage.
    pub max_exemplars: i64,
}

impl DecodeStruct for ExemplarsConfig {
    const GO_TYPE: &'static str = "config.ExemplarsConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = ExemplarsConfig::default();
        m.read("max_exemplars", &mut c.max_exemplars)?;
        Ok(c)
    }
}

impl EncodeStruct for ExemplarsConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("max_exemplars", &self.max_exemplars);
    }
}

/// `storage`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorageConfig {
    pub tsdb: TsdbConfig,
    /// `None` when not configured (Prometheus then keeps 100000 exemplars when exemplar
    /// storage is enabled).
    pub exemplars: Option<ExemplarsConfig>,
}

impl DecodeStruct for StorageConfig {
    const GO_TYPE: &'static str = "config.StorageConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = StorageConfig::default();
        m.read("tsdb", &mut c.tsdb)?;
        m.read("exemplars", &mut c.exemplars)?;
        Ok(c)
    }
}

impl EncodeStruct for StorageConfig {
    fn write(&self, w: &mut MapWriter) {
        w.raw("tsdb", crate::yaml::emit::Encode::encode(&self.tsdb));
        w.omitempty("exemplars", &self.exemplars);
    }
}

/// Headers Prometheus sets itself on remote read/write and tracing requests.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// `tracing`: OTLP trace export.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingConfig {
    /// `grpc` (default) or `http`.
    pub client_type: String,
    pub endpoint: String,
    pub sampling_fraction: f64,
    pub insecure: bool,
    pub tls_config: TlsConfig,
    pub headers: BTreeMap<String, String>,
    pub compression: String,
    pub timeout: Duration,
}

impl Default for TracingConfig {
    fn default() -> Self {
        TracingConfig {
            client_type: "grpc".into(),
            endpoint: String::new(),
            sampling_fraction: 0.0,
            insecure: false,
            tls_config: TlsConfig::default(),
            headers: BTreeMap::new(),
            compression: String::new(),
            timeout: Duration::ZERO,
        }
    }
}

impl DecodeStruct for TracingConfig {
    const GO_TYPE: &'static str = "config.TracingConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = TracingConfig::default();
        if let Some(n) = m.take_node("client_type") {
            let t = String::decode(n)?;
            if t != "http" && t != "grpc" {
                return Err(crate::yaml::decode::error_at(
                    n,
                    format!("expected tracing client type to be to be http or grpc, but got {t}"),
                ));
            }
            c.client_type = t;
        }
        m.read("endpoint", &mut c.endpoint)?;
        m.read("sampling_fraction", &mut c.sampling_fraction)?;
        m.read("insecure", &mut c.insecure)?;
        m.read("tls_config", &mut c.tls_config)?;
        m.read("headers", &mut c.headers)?;
        m.read("compression", &mut c.compression)?;
        m.read("timeout", &mut c.timeout)?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        for name in self.headers.keys() {
            let lower = name.to_lowercase();
            if lower == "authorization" {
                return Err(
                    "custom authorization header configuration is not yet supported".into(),
                );
            }
            if is_reserved_header(&lower) {
                return Err(format!(
                    "{name} is a reserved header. It must not be changed"
                ));
            }
        }
        if self.endpoint.is_empty() {
            return Err("tracing endpoint must be set".into());
        }
        if !self.compression.is_empty() && self.compression != "gzip" {
            return Err(format!(
                "invalid compression type {} provided, valid options: gzip",
                self.compression
            ));
        }
        Ok(())
    }
}

impl EncodeStruct for TracingConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("client_type", &self.client_type);
        w.omitempty("endpoint", &self.endpoint);
        w.omitempty("sampling_fraction", &self.sampling_fraction);
        w.omitempty("insecure", &self.insecure);
        w.omitempty("tls_config", &self.tls_config);
        w.omitempty("headers", &self.headers);
        w.omitempty("compression", &self.compression);
        w.omitempty("timeout", &self.timeout);
    }
}

/// `otlp`: how the OTLP receiver translates metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    pub promote_all_resource_attributes: bool,
    pub promote_resource_attributes: Vec<String>,
    pub ignore_resource_attributes: Vec<String>,
    pub translation_strategy: String,
    pub keep_identifying_resource_attributes: bool,
    pub convert_histograms_to_nhcb: bool,
    pub promote_scope_metadata: bool,
    pub label_name_underscore_sanitization: bool,
    pub label_name_preserve_multiple_underscores: bool,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            promote_all_resource_attributes: false,
            promote_resource_attributes: Vec::new(),
            ignore_resource_attributes: Vec::new(),
            translation_strategy: "UnderscoreEscapingWithSuffixes".into(),
            keep_identifying_resource_attributes: false,
            convert_histograms_to_nhcb: false,
            promote_scope_metadata: false,
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
        }
    }
}

/// Trims the attribute names and rejects empty and repeated ones.
fn sanitize_attributes(attrs: &mut [String], adjective: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for a in attrs.iter_mut() {
        let t = a.trim().to_string();
        if t.is_empty() {
            errors.push(format!("empty {adjective} OTel resource attribute"));
            continue;
        }
        if seen.contains(&t) {
            errors.push(format!(
                "duplicated {adjective} OTel resource attribute {}",
                go_quote(&t)
            ));
            continue;
        }
        seen.push(t.clone());
        *a = t;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

impl DecodeStruct for OtlpConfig {
    const GO_TYPE: &'static str = "config.OTLPConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = OtlpConfig::default();
        m.read(
            "promote_all_resource_attributes",
            &mut c.promote_all_resource_attributes,
        )?;
        m.read(
            "promote_resource_attributes",
            &mut c.promote_resource_attributes,
        )?;
        m.read(
            "ignore_resource_attributes",
            &mut c.ignore_resource_attributes,
        )?;
        m.read("translation_strategy", &mut c.translation_strategy)?;
        m.read(
            "keep_identifying_resource_attributes",
            &mut c.keep_identifying_resource_attributes,
        )?;
        m.read(
            "convert_histograms_to_nhcb",
            &mut c.convert_histograms_to_nhcb,
        )?;
        m.read("promote_scope_metadata", &mut c.promote_scope_metadata)?;
        m.read(
            "label_name_underscore_sanitization",
            &mut c.label_name_underscore_sanitization,
        )?;
        m.read(
            "label_name_preserve_multiple_underscores",
            &mut c.label_name_preserve_multiple_underscores,
        )?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        if self.promote_all_resource_attributes {
            if !self.promote_resource_attributes.is_empty() {
                return Err("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously".into());
            }
            sanitize_attributes(&mut self.ignore_resource_attributes, "ignored")
                .map_err(|e| format!("invalid 'ignore_resource_attributes': {e}"))?;
        } else {
            if !self.ignore_resource_attributes.is_empty() {
                return Err("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true".into());
            }
            sanitize_attributes(&mut self.promote_resource_attributes, "promoted")
                .map_err(|e| format!("invalid 'promote_resource_attributes': {e}"))?;
        }
        Ok(())
    }
}

impl EncodeStruct for OtlpConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty(
            "promote_all_resource_attributes",
            &self.promote_all_resource_attributes,
        );
        w.omitempty(
            "promote_resource_attributes",
            &self.promote_resource_attributes,
        );
        w.omitempty(
            "ignore_resource_attributes",
            &self.ignore_resource_attributes,
        );
        w.omitempty("translation_strategy", &self.translation_strategy);
        w.omitempty(
            "keep_identifying_resource_attributes",
            &self.keep_identifying_resource_attributes,
        );
        w.omitempty(
            "convert_histograms_to_nhcb",
            &self.convert_histograms_to_nhcb,
        );
        w.omitempty("promote_scope_metadata", &self.promote_scope_metadata);
        w.omitempty(
            "label_name_underscore_sanitization",
            &self.label_name_underscore_sanitization,
        );
        w.omitempty(
            "label_name_preserve_multiple_underscores",
            &self.label_name_preserve_multiple_underscores,
        );
    }
}

/// Whether a header name is reserved for remote read/write and tracing
/// (`authorization` is checked separately).
pub(crate) fn is_reserved_header(name: &str) -> bool {
    RESERVED_HEADERS.contains(&name.to_lowercase().as_str())
}

decode_struct!(
    GlobalConfig,
    RuntimeConfig,
    RetentionConfig,
    ChunkEncodingConfig,
    TsdbConfig,
    ExemplarsConfig,
    StorageConfig,
    TracingConfig,
    OtlpConfig
);
encode_struct!(
    GlobalConfig,
    RuntimeConfig,
    RetentionConfig,
    ChunkEncodingConfig,
    TsdbConfig,
    ExemplarsConfig,
    StorageConfig,
    TracingConfig,
    OtlpConfig
);
