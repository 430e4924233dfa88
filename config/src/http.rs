//! HTTP client settings (`<http_config>`): authentication, TLS, proxies and extra headers,
//! shared by scrape configs, service discovery, Alertmanagers and remote storage.
//!
//! The types and checks follow `prometheus/common`'s `config` package. As there, a
//! `bearer_token` (or `bearer_token_file`) is turned into an `authorization` of type
//! `Bearer` once validated, so the written-back configuration shows `authorization`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::types::{go_quote, Secret, Url};
use crate::yaml::decode::{decode_struct, DResult, Decode, DecodeStruct, MapReader};
use crate::yaml::emit::{encode_struct, Encode, EncodeStruct, MapWriter, Value};
use crate::yaml::{Kind, Node};

/// Joins a relative file path onto the directory of the configuration file, as
/// `config.JoinDir` does (absolute and empty paths are kept).
pub(crate) fn join_dir(dir: &Path, path: &mut String) {
    if path.is_empty() || Path::new(path.as_str()).is_absolute() {
        return;
    }
    let joined = format!("{}/{}", dir.to_string_lossy(), path);
    *path = clean_path(&joined);
}

/// Go's `filepath.Clean`: lexical removal of `.`, `..` and repeated separators.
pub(crate) fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// A TLS protocol version name (`TLS10` … `TLS13`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS10",
            TlsVersion::Tls11 => "TLS11",
            TlsVersion::Tls12 => "TLS12",
            TlsVersion::Tls13 => "TLS13",
        }
    }
}

impl Decode for TlsVersion {
    fn go_type() -> String {
        "config.TLSVersion".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        let s = String::decode(node)?;
        Ok(match s.as_str() {
            "TLS10" => TlsVersion::Tls10,
            "TLS11" => TlsVersion::Tls11,
            "TLS12" => TlsVersion::Tls12,
            "TLS13" => TlsVersion::Tls13,
            _ => {
                return Err(crate::yaml::decode::error_at(
                    node,
                    format!("unknown TLS version: {s}"),
                ))
            }
        })
    }
}

impl Encode for TlsVersion {
    fn encode(&self) -> Value {
        Value::Str(self.as_str().into())
    }
    fn is_zero(&self) -> bool {
        false
    }
}

/// `<tls_config>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsConfig {
    /// PEM text of the CA certificate(s).
    pub ca: String,
    pub cert: String,
    pub key: Secret,
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
    pub ca_ref: String,
    pub cert_ref: String,
    pub key_ref: String,
    pub server_name: String,
    pub insecure_skip_verify: bool,
    pub min_version: Option<TlsVersion>,
    pub max_version: Option<TlsVersion>,
}

impl TlsConfig {
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.ca_file);
        join_dir(dir, &mut self.cert_file);
        join_dir(dir, &mut self.key_file);
    }

    fn validate(&self) -> Result<(), String> {
        let count = |xs: &[bool]| xs.iter().filter(|x| **x).count();
        if count(&[
            !self.ca.is_empty(),
            !self.ca_file.is_empty(),
            !self.ca_ref.is_empty(),
        ]) > 1
        {
            return Err("at most one of ca, ca_file & ca_ref must be configured".into());
        }
        if count(&[
            !self.cert.is_empty(),
            !self.cert_file.is_empty(),
            !self.cert_ref.is_empty(),
        ]) > 1
        {
            return Err("at most one of cert, cert_file & cert_ref must be configured".into());
        }
        if count(&[
            !self.key.is_empty(),
            !self.key_file.is_empty(),
            !self.key_ref.is_empty(),
        ]) > 1
        {
            return Err("at most one of key and key_file must be configured".into());
        }
        let client_cert =
            !self.cert.is_empty() || !self.cert_file.is_empty() || !self.cert_ref.is_empty();
        let client_key =
            !self.key.is_empty() || !self.key_file.is_empty() || !self.key_ref.is_empty();
        if client_cert && !client_key {
            return Err("exactly one of key or key_file must be configured when a client certificate is configured".into());
        }
        if client_key && !client_cert {
            return Err("exactly one of cert or cert_file must be configured when a client key is configured".into());
        }
        Ok(())
    }
}

impl DecodeStruct for TlsConfig {
    const GO_TYPE: &'static str = "config.TLSConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = TlsConfig::default();
        m.read("ca", &mut c.ca)?;
        m.read("cert", &mut c.cert)?;
        m.read("key", &mut c.key)?;
        m.read("ca_file", &mut c.ca_file)?;
        m.read("cert_file", &mut c.cert_file)?;
        m.read("key_file", &mut c.key_file)?;
        m.read("ca_ref", &mut c.ca_ref)?;
        m.read("cert_ref", &mut c.cert_ref)?;
        m.read("key_ref", &mut c.key_ref)?;
        m.read("server_name", &mut c.server_name)?;
        m.read("insecure_skip_verify", &mut c.insecure_skip_verify)?;
        m.read("min_version", &mut c.min_version)?;
        m.read("max_version", &mut c.max_version)?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        self.validate()
    }
}

impl EncodeStruct for TlsConfig {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("ca", &self.ca);
        w.omitempty("cert", &self.cert);
        w.omitempty("key", &self.key);
        w.omitempty("ca_file", &self.ca_file);
        w.omitempty("cert_file", &self.cert_file);
        w.omitempty("key_file", &self.key_file);
        w.omitempty("ca_ref", &self.ca_ref);
        w.omitempty("cert_ref", &self.cert_ref);
        w.omitempty("key_ref", &self.key_ref);
        w.omitempty("server_name", &self.server_name);
        w.field("insecure_skip_verify", &self.insecure_skip_verify);
        w.omitempty("min_version", &self.min_version);
        w.omitempty("max_version", &self.max_version);
    }
}

/// `basic_auth`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BasicAuth {
    pub username: String,
    pub username_file: String,
    pub username_ref: String,
    pub password: Secret,
    pub password_file: String,
    pub password_ref: String,
}

impl DecodeStruct for BasicAuth {
    const GO_TYPE: &'static str = "config.BasicAuth";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = BasicAuth::default();
        m.read("username", &mut c.username)?;
        m.read("username_file", &mut c.username_file)?;
        m.read("username_ref", &mut c.username_ref)?;
        m.read("password", &mut c.password)?;
        m.read("password_file", &mut c.password_file)?;
        m.read("password_ref", &mut c.password_ref)?;
        Ok(c)
    }
}

impl EncodeStruct for BasicAuth {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("username", &self.username);
        w.omitempty("username_file", &self.username_file);
        w.omitempty("username_ref", &self.username_ref);
        w.omitempty("password", &self.password);
        w.omitempty("password_file", &self.password_file);
        w.omitempty("password_ref", &self.password_ref);
    }
}

/// `authorization`: a credential sent as `Authorization: <type> <credentials>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Authorization {
    /// `Bearer` unless set.
    pub kind: String,
    pub credentials: Secret,
    pub credentials_file: String,
    pub credentials_ref: String,
}

impl DecodeStruct for Authorization {
    const GO_TYPE: &'static str = "config.Authorization";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = Authorization::default();
        m.read("type", &mut c.kind)?;
        m.read("credentials", &mut c.credentials)?;
        m.read("credentials_file", &mut c.credentials_file)?;
        m.read("credentials_ref", &mut c.credentials_ref)?;
        Ok(c)
    }
}

impl EncodeStruct for Authorization {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("type", &self.kind);
        w.omitempty("credentials", &self.credentials);
        w.omitempty("credentials_file", &self.credentials_file);
        w.omitempty("credentials_ref", &self.credentials_ref);
    }
}

/// Any YAML value, kept as written (OAuth2 JWT `claims`).
#[derive(Debug, Clone, PartialEq)]
pub enum YamlValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<YamlValue>),
    Map(BTreeMap<String, YamlValue>),
}

impl Decode for YamlValue {
    fn go_type() -> String {
        "interface {}".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        use crate::yaml::{resolve_plain, Resolved, Style};
        Ok(match &node.kind {
            Kind::Scalar { text, style } => match style {
                Style::Quoted => YamlValue::String(text.clone()),
                Style::Plain => match resolve_plain(text) {
                    Resolved::Null => YamlValue::Null,
                    Resolved::Bool(b) => YamlValue::Bool(b),
                    Resolved::Int(i) => YamlValue::Int(i),
                    Resolved::Uint(u) => YamlValue::Float(u as f64),
                    Resolved::Float(f) => YamlValue::Float(f),
                    Resolved::Timestamp | Resolved::Str => YamlValue::String(text.clone()),
                },
            },
            Kind::Seq(items) => YamlValue::List(
                items
                    .iter()
                    .map(|n| YamlValue::decode(n))
                    .collect::<DResult<_>>()?,
            ),
            Kind::Map(_) => YamlValue::Map(BTreeMap::decode(node)?),
        })
    }
}

impl Encode for YamlValue {
    fn encode(&self) -> Value {
        match self {
            YamlValue::Null => Value::Null,
            YamlValue::Bool(b) => Value::Bool(*b),
            YamlValue::Int(i) => Value::Int(*i),
            YamlValue::Float(f) => Value::Float(*f),
            YamlValue::String(s) => Value::Str(s.clone()),
            YamlValue::List(l) => l.encode(),
            YamlValue::Map(m) => m.encode(),
        }
    }
    fn is_zero(&self) -> bool {
        matches!(self, YamlValue::Null)
    }
}

/// Proxy settings, inlined into `<http_config>` and `oauth2`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProxyConfig {
    pub proxy_url: Option<Url>,
    pub no_proxy: String,
    pub proxy_from_environment: bool,
    /// Headers sent with `CONNECT` requests to the proxy.
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

impl ProxyConfig {
    pub(crate) fn read_inline(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = ProxyConfig::default();
        m.read("proxy_url", &mut c.proxy_url)?;
        m.read("no_proxy", &mut c.no_proxy)?;
        m.read("proxy_from_environment", &mut c.proxy_from_environment)?;
        m.read("proxy_connect_header", &mut c.proxy_connect_header)?;
        Ok(c)
    }

    pub(crate) fn write_inline(&self, w: &mut MapWriter) {
        w.omitempty("proxy_url", &self.proxy_url);
        w.omitempty("no_proxy", &self.no_proxy);
        w.omitempty("proxy_from_environment", &self.proxy_from_environment);
        w.omitempty("proxy_connect_header", &self.proxy_connect_header);
    }

    fn validate(&self) -> Result<(), String> {
        let has_url = self
            .proxy_url
            .as_ref()
            .is_some_and(|u| !u.as_str().is_empty());
        if !self.proxy_connect_header.is_empty() && !self.proxy_from_environment && !has_url {
            return Err("if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured".into());
        }
        if self.proxy_from_environment && has_url {
            return Err(
                "if proxy_from_environment is configured, proxy_url must not be configured".into(),
            );
        }
        if self.proxy_from_environment && !self.no_proxy.is_empty() {
            return Err(
                "if proxy_from_environment is configured, no_proxy must not be configured".into(),
            );
        }
        if self.proxy_url.is_none() && !self.no_proxy.is_empty() {
            return Err("if no_proxy is configured, proxy_url must also be configured".into());
        }
        Ok(())
    }
}

/// `oauth2`: the client-credentials (or JWT-bearer) flow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OAuth2 {
    pub client_id: String,
    pub client_secret: Secret,
    pub client_secret_file: String,
    pub client_secret_ref: String,
    pub client_certificate_key_id: String,
    pub client_certificate_key: Secret,
    pub client_certificate_key_file: String,
    pub client_certificate_key_ref: String,
    pub grant_type: String,
    pub signature_algorithm: String,
    pub iss: String,
    pub audience: String,
    pub claims: BTreeMap<String, YamlValue>,
    pub scopes: Vec<String>,
    pub token_url: String,
    pub endpoint_params: BTreeMap<String, String>,
    pub tls_config: TlsConfig,
    pub proxy: ProxyConfig,
}

impl DecodeStruct for OAuth2 {
    const GO_TYPE: &'static str = "config.OAuth2";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = OAuth2::default();
        m.read("client_id", &mut c.client_id)?;
        m.read("client_secret", &mut c.client_secret)?;
        m.read("client_secret_file", &mut c.client_secret_file)?;
        m.read("client_secret_ref", &mut c.client_secret_ref)?;
        m.read(
            "client_certificate_key_id",
            &mut c.client_certificate_key_id,
        )?;
        m.read("client_certificate_key", &mut c.client_certificate_key)?;
        m.read(
            "client_certificate_key_file",
            &mut c.client_certificate_key_file,
        )?;
        m.read(
            "client_certificate_key_ref",
            &mut c.client_certificate_key_ref,
        )?;
        m.read("grant_type", &mut c.grant_type)?;
        m.read("signature_algorithm", &mut c.signature_algorithm)?;
        m.read("iss", &mut c.iss)?;
        m.read("audience", &mut c.audience)?;
        m.read("claims", &mut c.claims)?;
        m.read("scopes", &mut c.scopes)?;
        m.read("token_url", &mut c.token_url)?;
        m.read("endpoint_params", &mut c.endpoint_params)?;
        m.read("tls_config", &mut c.tls_config)?;
        c.proxy = ProxyConfig::read_inline(m)?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        self.proxy.validate()
    }
}

impl EncodeStruct for OAuth2 {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("client_id", &self.client_id);
        w.omitempty("client_secret", &self.client_secret);
        w.omitempty("client_secret_file", &self.client_secret_file);
        w.omitempty("client_secret_ref", &self.client_secret_ref);
        w.omitempty("client_certificate_key_id", &self.client_certificate_key_id);
        w.omitempty("client_certificate_key", &self.client_certificate_key);
        w.omitempty(
            "client_certificate_key_file",
            &self.client_certificate_key_file,
        );
        w.omitempty(
            "client_certificate_key_ref",
            &self.client_certificate_key_ref,
        );
        w.omitempty("grant_type", &self.grant_type);
        w.omitempty("signature_algorithm", &self.signature_algorithm);
        w.omitempty("iss", &self.iss);
        w.omitempty("audience", &self.audience);
        w.omitempty("claims", &self.claims);
        w.omitempty("scopes", &self.scopes);
        w.omitempty("token_url", &self.token_url);
        w.omitempty("endpoint_params", &self.endpoint_params);
        w.omitempty("tls_config", &self.tls_config);
        self.proxy.write_inline(w);
    }
}

/// One extra request header: literal values, secret values and values read from files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    pub values: Vec<String>,
    pub secrets: Vec<Secret>,
    pub files: Vec<String>,
}

impl DecodeStruct for Header {
    const GO_TYPE: &'static str = "config.Header";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = Header::default();
        m.read("values", &mut c.values)?;
        m.read("secrets", &mut c.secrets)?;
        m.read("files", &mut c.files)?;
        Ok(c)
    }
}

impl EncodeStruct for Header {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("values", &self.values);
        w.omitempty("secrets", &self.secrets);
        w.omitempty("files", &self.files);
    }
}

/// Headers Prometheus sets itself, which `http_headers` may not override.
const RESERVED_HEADERS: &[&str] = &[
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
];

/// Go's `http.CanonicalHeaderKey` (`x-scope-orgid` → `X-Scope-Orgid`).
pub(crate) fn canonical_header_key(name: &str) -> String {
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// `<http_config>`: how to talk to an HTTP endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpClientConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub oauth2: Option<OAuth2>,
    /// Moved into [`HttpClientConfig::authorization`] by validation.
    pub bearer_token: Secret,
    /// Moved into [`HttpClientConfig::authorization`] by validation.
    pub bearer_token_file: String,
    pub tls_config: TlsConfig,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    pub proxy: ProxyConfig,
    pub http_headers: Option<BTreeMap<String, Header>>,
}

impl Default for HttpClientConfig {
    /// `config.DefaultHTTPClientConfig`: follow redirects, HTTP/2 enabled.
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: Secret::default(),
            bearer_token_file: String::new(),
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
            proxy: ProxyConfig::default(),
            http_headers: None,
        }
    }
}

impl HttpClientConfig {
    /// Reads the inlined fields from the owner's mapping, on top of `base`.
    pub(crate) fn read_inline(m: &mut MapReader<'_>, base: HttpClientConfig) -> DResult<Self> {
        let mut c = base;
        m.read("basic_auth", &mut c.basic_auth)?;
        m.read("authorization", &mut c.authorization)?;
        m.read("oauth2", &mut c.oauth2)?;
        m.read("bearer_token", &mut c.bearer_token)?;
        m.read("bearer_token_file", &mut c.bearer_token_file)?;
        m.read("tls_config", &mut c.tls_config)?;
        m.read("follow_redirects", &mut c.follow_redirects)?;
        m.read("enable_http2", &mut c.enable_http2)?;
        c.proxy = ProxyConfig::read_inline(m)?;
        m.read("http_headers", &mut c.http_headers)?;
        Ok(c)
    }

    pub(crate) fn write_inline(&self, w: &mut MapWriter) {
        w.omitempty("basic_auth", &self.basic_auth);
        w.omitempty("authorization", &self.authorization);
        w.omitempty("oauth2", &self.oauth2);
        w.omitempty("bearer_token", &self.bearer_token);
        w.omitempty("bearer_token_file", &self.bearer_token_file);
        w.omitempty("tls_config", &self.tls_config);
        w.field("follow_redirects", &self.follow_redirects);
        w.field("enable_http2", &self.enable_http2);
        self.proxy.write_inline(w);
        w.omitempty("http_headers", &self.http_headers);
    }

    /// `HTTPClientConfig.Validate`: checks the combinations and moves a bearer token into
    /// `authorization`.
    pub fn validate(&mut self) -> Result<(), String> {
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".into(),
            );
        }
        let has_bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && has_bearer {
            return Err("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured".into());
        }
        if let Some(b) = &self.basic_auth {
            let n = [
                !b.username.is_empty(),
                !b.username_file.is_empty(),
                !b.username_ref.is_empty(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if n > 1 {
                return Err("at most one of basic_auth username, username_file & username_ref must be configured".into());
            }
            let n = [
                !b.password.is_empty(),
                !b.password_file.is_empty(),
                !b.password_ref.is_empty(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if n > 1 {
                return Err("at most one of basic_auth password, password_file & password_ref must be configured".into());
            }
        }
        if let Some(a) = &mut self.authorization {
            if has_bearer {
                return Err(
                    "authorization is not compatible with bearer_token & bearer_token_file".into(),
                );
            }
            let n = [
                !a.credentials.is_empty(),
                !a.credentials_file.is_empty(),
                !a.credentials_ref.is_empty(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if n > 1 {
                return Err(
                    "at most one of authorization credentials & credentials_file must be configured"
                        .into(),
                );
            }
            a.kind = a.kind.trim().to_string();
            if a.kind.is_empty() {
                a.kind = "Bearer".into();
            }
            if a.kind.eq_ignore_ascii_case("basic") {
                return Err(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                        .into(),
                );
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return Err(
                    "at most one of basic_auth, oauth2 & authorization must be configured".into(),
                );
            }
        } else {
            if !self.bearer_token.is_empty() {
                self.authorization = Some(Authorization {
                    kind: "Bearer".into(),
                    credentials: std::mem::take(&mut self.bearer_token),
                    ..Authorization::default()
                });
            }
            if !self.bearer_token_file.is_empty() {
                self.authorization = Some(Authorization {
                    kind: "Bearer".into(),
                    credentials_file: std::mem::take(&mut self.bearer_token_file),
                    ..Authorization::default()
                });
            }
        }
        if let Some(o) = &self.oauth2 {
            if self.basic_auth.is_some() {
                return Err(
                    "at most one of basic_auth, oauth2 & authorization must be configured".into(),
                );
            }
            if o.client_id.is_empty() {
                return Err("oauth2 client_id must be configured".into());
            }
            if o.token_url.is_empty() {
                return Err("oauth2 token_url must be configured".into());
            }
            if o.grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
                let n = [
                    !o.client_certificate_key.is_empty(),
                    !o.client_certificate_key_file.is_empty(),
                    !o.client_certificate_key_ref.is_empty(),
                ]
                .iter()
                .filter(|x| **x)
                .count();
                if n > 1 {
                    return Err("at most one of oauth2 client_certificate_key, client_certificate_key_file & client_certificate_key_ref must be configured using grant-type=urn:ietf:params:oauth:grant-type:jwt-bearer".into());
                }
                if !o.signature_algorithm.is_empty()
                    && !["RS256", "RS384", "RS512"].contains(&o.signature_algorithm.as_str())
                {
                    return Err("valid signature algorithms are RS256, RS384 and RS512".into());
                }
            } else {
                let n = [
                    !o.client_secret.is_empty(),
                    !o.client_secret_file.is_empty(),
                    !o.client_secret_ref.is_empty(),
                ]
                .iter()
                .filter(|x| **x)
                .count();
                if n > 1 {
                    return Err("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials".into());
                }
            }
        }
        self.proxy.validate()?;
        if let Some(headers) = &self.http_headers {
            for name in headers.keys() {
                let canonical = canonical_header_key(name);
                if RESERVED_HEADERS.contains(&canonical.as_str()) {
                    return Err(format!(
                        "setting header {} is not allowed",
                        go_quote(&canonical)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Joins relative file paths onto `dir`.
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
        if let Some(b) = &mut self.basic_auth {
            join_dir(dir, &mut b.password_file);
            join_dir(dir, &mut b.username_file);
        }
        if let Some(a) = &mut self.authorization {
            join_dir(dir, &mut a.credentials_file);
        }
        if let Some(o) = &mut self.oauth2 {
            join_dir(dir, &mut o.client_secret_file);
            o.tls_config.set_directory(dir);
        }
        if let Some(h) = &mut self.http_headers {
            for header in h.values_mut() {
                for f in &mut header.files {
                    join_dir(dir, f);
                }
            }
        }
        join_dir(dir, &mut self.bearer_token_file);
    }
}

decode_struct!(TlsConfig, BasicAuth, Authorization, OAuth2, Header);
encode_struct!(TlsConfig, BasicAuth, Authorization, OAuth2, Header);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_is_lexical() {
        assert_eq!(clean_path("/etc/prometheus/./tok"), "/etc/prometheus/tok");
        assert_eq!(clean_path("./tok"), "tok");
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path("/../x"), "/x");
        assert_eq!(clean_path("a//b/"), "a/b");
    }

    #[test]
    fn canonical_header_keys() {
        assert_eq!(canonical_header_key("x-scope-orgid"), "X-Scope-Orgid");
        assert_eq!(canonical_header_key("AUTHORIZATION"), "Authorization");
        assert_eq!(canonical_header_key("with space"), "with space");
    }
}
