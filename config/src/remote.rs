//! `remote_write` and `remote_read`, with the cloud authentication blocks they accept
//! (`sigv4`, `azuread`, `google_iam`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::global::is_reserved_header;
use crate::http::HttpClientConfig;
use crate::relabel::{decode_rules, At, RelabelConfig};
use crate::types::{Duration, Secret, Url};
use crate::yaml::decode::{decode_struct, error_at, DResult, DecodeStruct, MapReader};
use crate::yaml::emit::{encode_struct, EncodeStruct, MapWriter};
use crate::yaml::Pos;

/// AWS Signature Version 4 request signing (`sigv4`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SigV4Config {
    pub region: String,
    pub access_key: String,
    pub secret_key: Secret,
    pub profile: String,
    pub role_arn: String,
    pub external_id: String,
    pub use_fips_sts_endpoint: bool,
    pub service_name: String,
}

impl DecodeStruct for SigV4Config {
    const GO_TYPE: &'static str = "sigv4.SigV4Config";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = SigV4Config::default();
        m.read("region", &mut c.region)?;
        m.read("access_key", &mut c.access_key)?;
        m.read("secret_key", &mut c.secret_key)?;
        m.read("profile", &mut c.profile)?;
        m.read("role_arn", &mut c.role_arn)?;
        m.read("external_id", &mut c.external_id)?;
        m.read("use_fips_sts_endpoint", &mut c.use_fips_sts_endpoint)?;
        m.read("service_name", &mut c.service_name)?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        if self.access_key.is_empty() != self.secret_key.is_empty() {
            return Err("must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config".into());
        }
        if !self.external_id.is_empty() && self.role_arn.is_empty() {
            return Err("external_id can only be used with role_arn".into());
        }
        Ok(())
    }
}

impl EncodeStruct for SigV4Config {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("region", &self.region);
        w.omitempty("access_key", &self.access_key);
        w.omitempty("secret_key", &self.secret_key);
        w.omitempty("profile", &self.profile);
        w.omitempty("role_arn", &self.role_arn);
        w.omitempty("external_id", &self.external_id);
        w.omitempty("use_fips_sts_endpoint", &self.use_fips_sts_endpoint);
        w.omitempty("service_name", &self.service_name);
    }
}

/// A block of `azuread` (`managed_identity`, `workload_identity`, `oauth`, `sdk`,
/// `certificate`); fields not used by a method stay empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AzureAdAuth {
    pub client_id: String,
    pub client_secret: Secret,
    pub tenant_id: String,
    pub token_file_path: String,
    pub certificate_path: String,
    pub certificate_key_path: String,
    pub certificate_password: Secret,
    pub send_certificate_chain: bool,
}

/// Which fields each Azure AD method has, in Prometheus's order.
#[derive(Clone, Copy)]
enum AzureAdMethod {
    ManagedIdentity,
    WorkloadIdentity,
    OAuth,
    Sdk,
    Certificate,
}

impl AzureAdAuth {
    fn read(m: &mut MapReader<'_>, method: AzureAdMethod) -> DResult<Self> {
        let mut c = AzureAdAuth::default();
        match method {
            AzureAdMethod::ManagedIdentity => m.read("client_id", &mut c.client_id)?,
            AzureAdMethod::WorkloadIdentity => {
                m.read("client_id", &mut c.client_id)?;
                m.read("tenant_id", &mut c.tenant_id)?;
                m.read("token_file_path", &mut c.token_file_path)?;
            }
            AzureAdMethod::OAuth => {
                m.read("client_id", &mut c.client_id)?;
                m.read("client_secret", &mut c.client_secret)?;
                m.read("tenant_id", &mut c.tenant_id)?;
            }
            AzureAdMethod::Sdk => m.read("tenant_id", &mut c.tenant_id)?,
            AzureAdMethod::Certificate => {
                m.read("client_id", &mut c.client_id)?;
                m.read("tenant_id", &mut c.tenant_id)?;
                m.read("certificate_path", &mut c.certificate_path)?;
                m.read("certificate_key_path", &mut c.certificate_key_path)?;
                m.read("certificate_password", &mut c.certificate_password)?;
                m.read("send_certificate_chain", &mut c.send_certificate_chain)?;
            }
        }
        Ok(c)
    }

    fn write(&self, w: &mut MapWriter, method: AzureAdMethod) {
        match method {
            AzureAdMethod::ManagedIdentity => w.omitempty("client_id", &self.client_id),
            AzureAdMethod::WorkloadIdentity => {
                w.omitempty("client_id", &self.client_id);
                w.omitempty("tenant_id", &self.tenant_id);
                w.omitempty("token_file_path", &self.token_file_path);
            }
            AzureAdMethod::OAuth => {
                w.omitempty("client_id", &self.client_id);
                w.omitempty("client_secret", &self.client_secret);
                w.omitempty("tenant_id", &self.tenant_id);
            }
            AzureAdMethod::Sdk => w.omitempty("tenant_id", &self.tenant_id),
            AzureAdMethod::Certificate => {
                w.omitempty("client_id", &self.client_id);
                w.omitempty("tenant_id", &self.tenant_id);
                w.omitempty("certificate_path", &self.certificate_path);
                w.omitempty("certificate_key_path", &self.certificate_key_path);
                w.omitempty("certificate_password", &self.certificate_password);
                w.omitempty("send_certificate_chain", &self.send_certificate_chain);
            }
        }
    }
}

/// Whether `s` is a UUID as Go's `uuid.Parse` accepts it.
fn is_uuid(s: &str) -> bool {
    let s = s
        .strip_prefix("urn:uuid:")
        .or_else(|| s.strip_prefix('{').and_then(|x| x.strip_suffix('}')))
        .unwrap_or(s);
    let b = s.as_bytes();
    match b.len() {
        32 => b.iter().all(u8::is_ascii_hexdigit),
        36 => b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        }),
        _ => false,
    }
}

/// Azure AD authentication (`azuread`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AzureAdConfig {
    pub managed_identity: Option<AzureAdAuth>,
    pub workload_identity: Option<AzureAdAuth>,
    pub oauth: Option<AzureAdAuth>,
    pub sdk: Option<AzureAdAuth>,
    pub certificate: Option<AzureAdAuth>,
    /// `AzurePublic` (default), `AzureChina` or `AzureGovernment`.
    pub cloud: String,
    pub scope: String,
}

fn read_azure_block(
    m: &mut MapReader<'_>,
    key: &str,
    go_type: &'static str,
    method: AzureAdMethod,
) -> DResult<Option<AzureAdAuth>> {
    let Some(n) = m.take_node(key) else {
        return Ok(None);
    };
    if n.is_null() {
        return Ok(None);
    }
    let mut r = MapReader::new(n, go_type)?;
    let v = AzureAdAuth::read(&mut r, method)?;
    r.finish()?;
    Ok(Some(v))
}

impl DecodeStruct for AzureAdConfig {
    const GO_TYPE: &'static str = "azuread.AzureADConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        use AzureAdMethod::*;
        Ok(AzureAdConfig {
            managed_identity: read_azure_block(
                m,
                "managed_identity",
                "azuread.ManagedIdentityConfig",
                ManagedIdentity,
            )?,
            workload_identity: read_azure_block(
                m,
                "workload_identity",
                "azuread.WorkloadIdentityConfig",
                WorkloadIdentity,
            )?,
            oauth: read_azure_block(m, "oauth", "azuread.OAuthConfig", OAuth)?,
            sdk: read_azure_block(m, "sdk", "azuread.SDKConfig", Sdk)?,
            certificate: read_azure_block(
                m,
                "certificate",
                "azuread.CertificateConfig",
                Certificate,
            )?,
            cloud: m.take("cloud")?.unwrap_or_default(),
            scope: m.take("scope")?.unwrap_or_default(),
        })
    }

    fn check(&mut self) -> Result<(), String> {
        if self.cloud.is_empty() {
            self.cloud = "AzurePublic".into();
        }
        if !["AzureChina", "AzureGovernment", "AzurePublic"].contains(&self.cloud.as_str()) {
            return Err("must provide a cloud in the Azure AD config".into());
        }
        let n = [
            self.managed_identity.is_some(),
            self.workload_identity.is_some(),
            self.oauth.is_some(),
            self.sdk.is_some(),
            self.certificate.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if n == 0 {
            return Err("must provide an Azure Managed Identity, Azure Workload Identity, Azure OAuth, Azure Certificate or Azure SDK in the Azure AD config".into());
        }
        if n > 1 {
            return Err(
                "cannot provide multiple authentication methods in the Azure AD config".into(),
            );
        }
        if let Some(mi) = &self.managed_identity {
            if !mi.client_id.is_empty() && !is_uuid(&mi.client_id) {
                return Err("the provided Azure Managed Identity client_id is invalid".into());
            }
        }
        if let Some(wi) = &mut self.workload_identity {
            if wi.client_id.is_empty() {
                return Err(
                    "must provide an Azure Workload Identity client_id in the Azure AD config"
                        .into(),
                );
            }
            if wi.tenant_id.is_empty() {
                return Err(
                    "must provide an Azure Workload Identity tenant_id in the Azure AD config"
                        .into(),
                );
            }
            if !is_uuid(&wi.client_id) {
                return Err("the provided Azure Workload Identity client_id is invalid".into());
            }
            if !is_uuid(&wi.tenant_id) {
                return Err("the provided Azure Workload Identity tenant_id is invalid".into());
            }
            if wi.token_file_path.is_empty() {
                wi.token_file_path = std::env::var("AZURE_FEDERATED_TOKEN_FILE")
                    .ok()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "/var/run/secrets/azure/tokens/azure-identity-token".into());
            }
        }
        if let Some(o) = &self.oauth {
            if o.client_id.is_empty() {
                return Err("must provide an Azure OAuth client_id in the Azure AD config".into());
            }
            if o.client_secret.is_empty() {
                return Err(
                    "must provide an Azure OAuth client_secret in the Azure AD config".into(),
                );
            }
            if o.tenant_id.is_empty() {
                return Err("must provide an Azure OAuth tenant_id in the Azure AD config".into());
            }
            if !is_uuid(&o.client_id) {
                return Err("the provided Azure OAuth client_id is invalid".into());
            }
        }
        if let Some(c) = &self.certificate {
            if c.client_id.is_empty() {
                return Err(
                    "must provide an Azure Certificate client_id in the Azure AD config".into(),
                );
            }
            if c.tenant_id.is_empty() {
                return Err(
                    "must provide an Azure Certificate tenant_id in the Azure AD config".into(),
                );
            }
            if c.certificate_path.is_empty() {
                return Err(
                    "must provide an Azure Certificate certificate_path in the Azure AD config"
                        .into(),
                );
            }
            if !is_uuid(&c.client_id) {
                return Err("the provided Azure Certificate client_id is invalid".into());
            }
        }
        if !self.scope.is_empty()
            && !self
                .scope
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c.is_whitespace() || ":/.-".contains(c))
        {
            return Err("the provided scope contains invalid characters".into());
        }
        Ok(())
    }
}

impl EncodeStruct for AzureAdConfig {
    fn write(&self, w: &mut MapWriter) {
        use AzureAdMethod::*;
        let mut block = |key: &str, v: &Option<AzureAdAuth>, method: AzureAdMethod| {
            if let Some(a) = v {
                let mut inner = MapWriter::default();
                a.write(&mut inner, method);
                w.raw(key, inner.into_value());
            }
        };
        block("managed_identity", &self.managed_identity, ManagedIdentity);
        block(
            "workload_identity",
            &self.workload_identity,
            WorkloadIdentity,
        );
        block("oauth", &self.oauth, OAuth);
        block("sdk", &self.sdk, Sdk);
        block("certificate", &self.certificate, Certificate);
        w.omitempty("cloud", &self.cloud);
        w.omitempty("scope", &self.scope);
    }
}

/// Google Cloud authentication (`google_iam`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GoogleIamConfig {
    pub credentials_file: String,
}

impl DecodeStruct for GoogleIamConfig {
    const GO_TYPE: &'static str = "googleiam.Config";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = GoogleIamConfig::default();
        m.read("credentials_file", &mut c.credentials_file)?;
        Ok(c)
    }
}

impl EncodeStruct for GoogleIamConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("credentials_file", &self.credentials_file);
    }
}

/// `queue_config` of a remote-write endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    pub capacity: i64,
    pub max_shards: i64,
    pub min_shards: i64,
    pub max_samples_per_send: i64,
    pub batch_send_deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub retry_on_http_429: bool,
    pub sample_age_limit: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: false,
            sample_age_limit: Duration::ZERO,
        }
    }
}

impl QueueConfig {
    fn validate(&self) -> Result<(), String> {
        if self.max_shards <= 0 {
            return Err("remote write queue max_shards must be positive".into());
        }
        if self.min_shards <= 0 {
            return Err("remote write queue min_shards must be positive".into());
        }
        if self.min_shards > self.max_shards {
            return Err("remote write queue min_shards must not be greater than max_shards".into());
        }
        if self.max_samples_per_send <= 0 {
            return Err("remote write queue max_samples_per_send must be positive".into());
        }
        if self.capacity <= 0 {
            return Err("remote write queue capacity must be positive".into());
        }
        if self.max_backoff < self.min_backoff {
            return Err("remote write queue max_backoff must not be less than min_backoff".into());
        }
        Ok(())
    }
}

impl DecodeStruct for QueueConfig {
    const GO_TYPE: &'static str = "config.QueueConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = QueueConfig::default();
        m.read("capacity", &mut c.capacity)?;
        m.read("max_shards", &mut c.max_shards)?;
        m.read("min_shards", &mut c.min_shards)?;
        m.read("max_samples_per_send", &mut c.max_samples_per_send)?;
        m.read("batch_send_deadline", &mut c.batch_send_deadline)?;
        m.read("min_backoff", &mut c.min_backoff)?;
        m.read("max_backoff", &mut c.max_backoff)?;
        m.read("retry_on_http_429", &mut c.retry_on_http_429)?;
        m.read("sample_age_limit", &mut c.sample_age_limit)?;
        Ok(c)
    }
}

impl EncodeStruct for QueueConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("capacity", &self.capacity);
        w.omitempty("max_shards", &self.max_shards);
        w.omitempty("min_shards", &self.min_shards);
        w.omitempty("max_samples_per_send", &self.max_samples_per_send);
        w.omitempty("batch_send_deadline", &self.batch_send_deadline);
        w.omitempty("min_backoff", &self.min_backoff);
        w.omitempty("max_backoff", &self.max_backoff);
        w.omitempty("retry_on_http_429", &self.retry_on_http_429);
        w.omitempty("sample_age_limit", &self.sample_age_limit);
    }
}

/// `metadata_config` of a remote-write endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataConfig {
    pub send: bool,
    pub send_interval: Duration,
    pub max_samples_per_send: i64,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: Duration::from_secs(60),
            max_samples_per_send: 2000,
        }
    }
}

impl DecodeStruct for MetadataConfig {
    const GO_TYPE: &'static str = "config.MetadataConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = MetadataConfig::default();
        m.read("send", &mut c.send)?;
        m.read("send_interval", &mut c.send_interval)?;
        m.read("max_samples_per_send", &mut c.max_samples_per_send)?;
        Ok(c)
    }
}

impl EncodeStruct for MetadataConfig {
    fn write(&self, w: &mut MapWriter) {
        w.field("send", &self.send);
        w.field("send_interval", &self.send_interval);
        w.omitempty("max_samples_per_send", &self.max_samples_per_send);
    }
}

/// The two remote-write protobuf messages.
pub const WRITE_V1_MESSAGE: &str = "prometheus.WriteRequest";
pub const WRITE_V2_MESSAGE: &str = "io.prometheus.write.v2.Request";

/// Checks `headers` of a remote endpoint.
fn validate_remote_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    for h in headers.keys() {
        if h.eq_ignore_ascii_case("authorization") {
            return Err("authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter".into());
        }
        if is_reserved_header(h) {
            return Err(format!("{h} is a reserved header. It must not be changed"));
        }
    }
    Ok(())
}

/// One `<remote_write>` endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWriteConfig {
    pub url: Url,
    pub remote_timeout: Duration,
    pub headers: BTreeMap<String, String>,
    pub write_relabel_configs: Vec<RelabelConfig>,
    pub name: String,
    pub send_exemplars: bool,
    pub send_native_histograms: bool,
    pub round_robin_dns: bool,
    /// [`WRITE_V1_MESSAGE`] (default) or [`WRITE_V2_MESSAGE`].
    pub protobuf_message: String,
    pub failed_request_logging: bool,
    pub http_client: HttpClientConfig,
    pub queue_config: QueueConfig,
    pub metadata_config: MetadataConfig,
    pub sigv4: Option<SigV4Config>,
    pub azuread: Option<AzureAdConfig>,
    pub google_iam: Option<GoogleIamConfig>,
    pub(crate) at: At,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        RemoteWriteConfig {
            url: Url::default(),
            remote_timeout: Duration::from_secs(30),
            headers: BTreeMap::new(),
            write_relabel_configs: Vec::new(),
            name: String::new(),
            send_exemplars: false,
            send_native_histograms: false,
            round_robin_dns: false,
            protobuf_message: WRITE_V1_MESSAGE.into(),
            failed_request_logging: false,
            http_client: HttpClientConfig {
                enable_http2: false,
                ..HttpClientConfig::default()
            },
            queue_config: QueueConfig::default(),
            metadata_config: MetadataConfig::default(),
            sigv4: None,
            azuread: None,
            google_iam: None,
            at: At::default(),
        }
    }
}

impl RemoteWriteConfig {
    pub(crate) fn pos(&self) -> Pos {
        self.at.0
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.http_client.set_directory(dir);
    }
}

impl DecodeStruct for RemoteWriteConfig {
    const GO_TYPE: &'static str = "config.RemoteWriteConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = RemoteWriteConfig {
            at: At(m.node().pos),
            ..RemoteWriteConfig::default()
        };
        let url: Option<Option<Url>> = m.take("url")?;
        let url = url
            .flatten()
            .ok_or_else(|| error_at(m.node(), "url for remote_write is empty"))?;
        c.url = url;
        m.read("remote_timeout", &mut c.remote_timeout)?;
        m.read("headers", &mut c.headers)?;
        if let Some(n) = m.take_node("write_relabel_configs") {
            c.write_relabel_configs =
                decode_rules(n, "empty or null relabeling rule in remote write config")?;
        }
        m.read("name", &mut c.name)?;
        m.read("send_exemplars", &mut c.send_exemplars)?;
        m.read("send_native_histograms", &mut c.send_native_histograms)?;
        m.read("round_robin_dns", &mut c.round_robin_dns)?;
        m.read("protobuf_message", &mut c.protobuf_message)?;
        m.read("failed_request_logging", &mut c.failed_request_logging)?;
        let base = std::mem::take(&mut c.http_client);
        c.http_client = HttpClientConfig::read_inline(m, base)?;
        m.read("queue_config", &mut c.queue_config)?;
        m.read("metadata_config", &mut c.metadata_config)?;
        m.read("sigv4", &mut c.sigv4)?;
        m.read("azuread", &mut c.azuread)?;
        m.read("google_iam", &mut c.google_iam)?;
        Ok(c)
    }

    fn check(&mut self) -> Result<(), String> {
        validate_remote_headers(&self.headers)?;
        if self.protobuf_message != WRITE_V1_MESSAGE && self.protobuf_message != WRITE_V2_MESSAGE {
            return Err(format!(
                "invalid protobuf_message value: unknown type for remote write protobuf message {}, supported: {WRITE_V1_MESSAGE}, {WRITE_V2_MESSAGE}",
                self.protobuf_message
            ));
        }
        self.http_client.validate()?;
        self.queue_config.validate()?;
        let mut auth = Vec::new();
        if self.http_client.basic_auth.is_some() {
            auth.push("basic_auth");
        }
        if self.http_client.authorization.is_some() {
            auth.push("authorization");
        }
        if self.http_client.oauth2.is_some() {
            auth.push("oauth2");
        }
        if self.sigv4.is_some() {
            auth.push("sigv4");
        }
        if self.azuread.is_some() {
            auth.push("azuread");
        }
        if self.google_iam.is_some() {
            auth.push("google_iam");
        }
        if auth.len() > 1 {
            return Err(format!(
                "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [{}]",
                auth.join(" ")
            ));
        }
        Ok(())
    }
}

impl EncodeStruct for RemoteWriteConfig {
    fn write(&self, w: &mut MapWriter) {
        w.field("url", &self.url);
        w.omitempty("remote_timeout", &self.remote_timeout);
        w.omitempty("headers", &self.headers);
        w.omitempty("write_relabel_configs", &self.write_relabel_configs);
        w.omitempty("name", &self.name);
        w.omitempty("send_exemplars", &self.send_exemplars);
        w.omitempty("send_native_histograms", &self.send_native_histograms);
        w.omitempty("round_robin_dns", &self.round_robin_dns);
        w.omitempty("protobuf_message", &self.protobuf_message);
        w.omitempty("failed_request_logging", &self.failed_request_logging);
        self.http_client.write_inline(w);
        w.omitempty("queue_config", &self.queue_config);
        w.omitempty("metadata_config", &self.metadata_config);
        w.omitempty("sigv4", &self.sigv4);
        w.omitempty("azuread", &self.azuread);
        w.omitempty("google_iam", &self.google_iam);
    }
}

/// One `<remote_read>` endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteReadConfig {
    pub url: Url,
    pub remote_timeout: Duration,
    pub chunked_read_limit: u64,
    pub headers: BTreeMap<String, String>,
    pub read_recent: bool,
    pub name: String,
    pub http_client: HttpClientConfig,
    /// Equality matchers a query must contain to be sent to this endpoint.
    pub required_matchers: BTreeMap<String, String>,
    pub filter_external_labels: bool,
    pub(crate) at: At,
}

impl Default for RemoteReadConfig {
    fn default() -> Self {
        RemoteReadConfig {
            url: Url::default(),
            remote_timeout: Duration::from_secs(60),
            chunked_read_limit: 50_000_000,
            headers: BTreeMap::new(),
            read_recent: false,
            name: String::new(),
            http_client: HttpClientConfig::default(),
            required_matchers: BTreeMap::new(),
            filter_external_labels: true,
            at: At::default(),
        }
    }
}

impl RemoteReadConfig {
    pub(crate) fn pos(&self) -> Pos {
        self.at.0
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.http_client.set_directory(dir);
    }
}

impl DecodeStruct for RemoteReadConfig {
    const GO_TYPE: &'static str = "config.RemoteReadConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = RemoteReadConfig {
            at: At(m.node().pos),
            ..RemoteReadConfig::default()
        };
        let url: Option<Option<Url>> = m.take("url")?;
        c.url = url
            .flatten()
            .ok_or_else(|| error_at(m.node(), "url for remote_read is empty"))?;
        m.read("remote_timeout", &mut c.remote_timeout)?;
        m.read("chunked_read_limit", &mut c.chunked_read_limit)?;
        m.read("headers", &mut c.headers)?;
        m.read("read_recent", &mut c.read_recent)?;
        m.read("name", &mut c.name)?;
        c.http_client = HttpClientConfig::read_inline(m, HttpClientConfig::default())?;
        if let Some(n) = m.take_node("required_matchers") {
            c.required_matchers = crate::discovery::decode_label_set(n)?;
        }
        m.read("filter_external_labels", &mut c.filter_external_labels)?;
        Ok(c)
    }

    fn check(&mut self) -> Result<(), String> {
        validate_remote_headers(&self.headers)?;
        self.http_client.validate()
    }
}

impl EncodeStruct for RemoteReadConfig {
    fn write(&self, w: &mut MapWriter) {
        w.field("url", &self.url);
        w.omitempty("remote_timeout", &self.remote_timeout);
        w.omitempty("chunked_read_limit", &self.chunked_read_limit);
        w.omitempty("headers", &self.headers);
        w.omitempty("read_recent", &self.read_recent);
        w.omitempty("name", &self.name);
        self.http_client.write_inline(w);
        w.omitempty("required_matchers", &self.required_matchers);
        w.omitempty("filter_external_labels", &self.filter_external_labels);
    }
}

decode_struct!(
    SigV4Config,
    AzureAdConfig,
    GoogleIamConfig,
    QueueConfig,
    MetadataConfig,
    RemoteWriteConfig,
    RemoteReadConfig
);
encode_struct!(
    SigV4Config,
    AzureAdConfig,
    GoogleIamConfig,
    QueueConfig,
    MetadataConfig,
    RemoteWriteConfig,
    RemoteReadConfig
);

#[cfg(test)]
mod tests {
    use super::is_uuid;

    #[test]
    fn uuids() {
        assert!(is_uuid("00000000-0000-0000-0000-000000000000"));
        assert!(is_uuid("{00000000-0000-0000-0000-000000000000}"));
        assert!(is_uuid("00000000000000000000000000000000"));
        assert!(!is_uuid("not-a-uuid"));
    }
}
