//! `alerting`: where alerts are sent and how they are relabeled on the way.

use std::path::Path;

use crate::discovery::ServiceDiscoveryConfigs;
use crate::http::HttpClientConfig;
use crate::relabel::{decode_rules, validate_rules, At, RelabelConfig};
use crate::remote::SigV4Config;
use crate::types::{Duration, NameValidation};
use crate::yaml::decode::{decode_struct, error_at, DResult, Decode, DecodeStruct, MapReader};
use crate::yaml::emit::{encode_struct, EncodeStruct, MapWriter};
use crate::yaml::Pos;

/// One `<alertmanager_config>`: a set of Alertmanagers (static or discovered) and how to
/// reach them.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerConfig {
    pub http_client: HttpClientConfig,
    pub sigv4: Option<SigV4Config>,
    /// Default `http`.
    pub scheme: String,
    pub path_prefix: String,
    /// Default 10s.
    pub timeout: Duration,
    /// Only `v2` is supported, as in Prometheus 3.
    pub api_version: String,
    /// Relabeling of the discovered Alertmanager targets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabeling of alerts sent to these Alertmanagers.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    pub service_discovery: ServiceDiscoveryConfigs,
    pub(crate) at: At,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            http_client: HttpClientConfig::default(),
            sigv4: None,
            scheme: "http".into(),
            path_prefix: String::new(),
            timeout: Duration::from_secs(10),
            api_version: "v2".into(),
            relabel_configs: Vec::new(),
            alert_relabel_configs: Vec::new(),
            service_discovery: ServiceDiscoveryConfigs::default(),
            at: At::default(),
        }
    }
}

impl AlertmanagerConfig {
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.service_discovery.set_directory(dir);
        self.http_client.set_directory(dir);
    }
}

impl DecodeStruct for AlertmanagerConfig {
    const GO_TYPE: &'static str = "config.AlertmanagerConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = AlertmanagerConfig {
            at: At(m.node().pos),
            ..AlertmanagerConfig::default()
        };
        c.http_client = HttpClientConfig::read_inline(m, HttpClientConfig::default())?;
        m.read("sigv4", &mut c.sigv4)?;
        m.read("scheme", &mut c.scheme)?;
        m.read("path_prefix", &mut c.path_prefix)?;
        m.read("timeout", &mut c.timeout)?;
        if let Some(n) = m.take_node("api_version") {
            let v = String::decode(n)?;
            if v != "v2" {
                return Err(error_at(
                    n,
                    format!("expected Alertmanager api version to be one of [v2] but got {v}"),
                ));
            }
            c.api_version = v;
        }
        if let Some(n) = m.take_node("relabel_configs") {
            c.relabel_configs =
                decode_rules(n, "empty or null Alertmanager target relabeling rule")?;
        }
        if let Some(n) = m.take_node("alert_relabel_configs") {
            c.alert_relabel_configs =
                decode_rules(n, "empty or null Alertmanager alert relabeling rule")?;
        }
        c.service_discovery = ServiceDiscoveryConfigs::read_inline(m)?;
        Ok(c)
    }

    fn check(&mut self) -> Result<(), String> {
        self.http_client.validate()?;
        let h = &self.http_client;
        if (h.basic_auth.is_some() || h.authorization.is_some() || h.oauth2.is_some())
            && self.sigv4.is_some()
        {
            return Err(
                "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured"
                    .into(),
            );
        }
        if self.relabel_configs.is_empty() {
            self.service_discovery.check_static_targets()?;
        }
        Ok(())
    }
}

impl EncodeStruct for AlertmanagerConfig {
    fn write(&self, w: &mut MapWriter) {
        self.http_client.write_inline(w);
        w.omitempty("sigv4", &self.sigv4);
        w.omitempty("scheme", &self.scheme);
        w.omitempty("path_prefix", &self.path_prefix);
        w.omitempty("timeout", &self.timeout);
        w.field("api_version", &self.api_version);
        w.omitempty("relabel_configs", &self.relabel_configs);
        w.omitempty("alert_relabel_configs", &self.alert_relabel_configs);
        self.service_discovery.write_inline(w);
    }
}

/// `alerting`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertingConfig {
    /// Relabeling of every alert before it is sent.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

impl AlertingConfig {
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        for a in &mut self.alertmanagers {
            a.set_directory(dir);
        }
    }

    pub(crate) fn validate(&mut self, scheme: NameValidation) -> Result<(), (Pos, String)> {
        validate_rules(&mut self.alert_relabel_configs, scheme)?;
        for am in &mut self.alertmanagers {
            validate_rules(&mut am.alert_relabel_configs, scheme)?;
            validate_rules(&mut am.relabel_configs, scheme)?;
        }
        Ok(())
    }
}

impl DecodeStruct for AlertingConfig {
    const GO_TYPE: &'static str = "config.AlertingConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = AlertingConfig::default();
        if let Some(n) = m.take_node("alert_relabel_configs") {
            c.alert_relabel_configs = decode_rules(n, "empty or null alert relabeling rule")?;
        }
        if let Some(n) = m.take_node("alertmanagers") {
            let ams: Vec<Option<AlertmanagerConfig>> = Decode::decode(n)?;
            c.alertmanagers = ams.into_iter().flatten().collect();
        }
        Ok(c)
    }
}

impl EncodeStruct for AlertingConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("alert_relabel_configs", &self.alert_relabel_configs);
        w.omitempty("alertmanagers", &self.alertmanagers);
    }
}

decode_struct!(AlertmanagerConfig, AlertingConfig);
encode_struct!(AlertmanagerConfig, AlertingConfig);
