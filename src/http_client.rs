//! The daemon's HTTP client, built from a `<http_config>` ([`HttpClientConfig`]) the way
//! Prometheus's `prometheus/common/config` builds its round trippers: TLS settings,
//! proxies, redirects and HTTP/2 at construction; authentication and extra headers applied
//! to every request, with secrets kept in files re-read each time (so a rotated token is
//! picked up without a reload).
//!
//! Used by scrapes, `http_sd_configs`, the notifier and remote write. Response bodies are
//! left to the caller, which reads them with its own size bound ([`read_body`]); the
//! client never asks for or decodes compressed bodies by itself.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ember_config::http::{Authorization, BasicAuth, Header, OAuth2, ProxyConfig};
use ember_config::{HttpClientConfig, TlsConfig};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Largest secret file (password, token, header value) read per request.
const MAX_SECRET_FILE: u64 = 1 << 20;
/// Largest OAuth2 token response read.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;
/// Redirects followed before giving up, as Go's `http.Client`.
const MAX_REDIRECTS: usize = 10;
/// A cached OAuth2 token is renewed this long before it expires (`golang.org/x/oauth2`).
const TOKEN_EXPIRY_DELTA: Duration = Duration::from_secs(10);

/// An HTTP client for one `<http_config>`. Cloning is cheap and shares connections.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    client: reqwest::Client,
    auth: Auth,
    headers: Vec<(HeaderName, Header)>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// Where a secret comes from: the configuration itself or a file re-read per request.
#[derive(Clone)]
enum SecretSource {
    Inline(String),
    File(PathBuf),
}

impl SecretSource {
    /// From the `x`, `x_file` and `x_ref` fields; `None` when none is set.
    fn from_fields(inline: &str, file: &str, reference: &str) -> Result<Option<Self>, String> {
        if !reference.is_empty() {
            return Err("cannot use secret ref without manager".into());
        }
        Ok(if !file.is_empty() {
            Some(SecretSource::File(PathBuf::from(file)))
        } else if !inline.is_empty() {
            Some(SecretSource::Inline(inline.to_string()))
        } else {
            None
        })
    }

    /// The value; file contents are trimmed of surrounding white space as Prometheus does.
    fn fetch(&self) -> Result<String, String> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::File(path) => read_small_file(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("unable to read file {}: {e}", path.display())),
        }
    }
}

/// Reads a file of at most [`MAX_SECRET_FILE`] bytes as UTF-8 (lossily).
fn read_small_file(path: &std::path::Path) -> Result<String, String> {
    let f = std::fs::File::open(path).map_err(|e| crate::go_errors::io_error("open", path, &e))?;
    let mut buf = Vec::new();
    f.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| crate::go_errors::io_error("read", path, &e))?;
    if buf.len() as u64 > MAX_SECRET_FILE {
        return Err(format!("file larger than {MAX_SECRET_FILE} bytes"));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

enum Auth {
    None,
    Basic {
        username: Option<SecretSource>,
        password: Option<SecretSource>,
    },
    Credentials {
        kind: String,
        credentials: Option<SecretSource>,
    },
    OAuth2(Box<OAuth2Source>),
}

impl HttpClient {
    /// Builds a client from the config: TLS (`ca`/`ca_file`, client certificate and key,
    /// `server_name`, `insecure_skip_verify`, `min_version`/`max_version`), proxies,
    /// `follow_redirects` and `enable_http2`. `name` is for errors and logs. Errors name
    /// the problem as Prometheus does (`unable to read CA cert: open /x: no such file or
    /// directory`).
    pub fn new(cfg: &HttpClientConfig, name: &str) -> Result<HttpClient, String> {
        let client = build_reqwest(
            &cfg.tls_config,
            &cfg.proxy,
            cfg.follow_redirects,
            cfg.enable_http2,
        )?;
        let mut auth = Auth::None;
        // A config that skipped validation may still carry a bare bearer token.
        let bearer = Authorization {
            kind: "Bearer".into(),
            credentials: cfg.bearer_token.clone(),
            credentials_file: cfg.bearer_token_file.clone(),
            ..Authorization::default()
        };
        let authorization = cfg.authorization.as_ref().or(
            if cfg.bearer_token.is_empty() && cfg.bearer_token_file.is_empty() {
                None
            } else {
                Some(&bearer)
            },
        );
        if let Some(a) = authorization {
            let credentials = SecretSource::from_fields(
                a.credentials.expose(),
                &a.credentials_file,
                &a.credentials_ref,
            )
            .map_err(|e| format!("unable to use credentials: {e}"))?;
            let kind = if a.kind.trim().is_empty() {
                "Bearer".to_string()
            } else {
                a.kind.trim().to_string()
            };
            auth = Auth::Credentials { kind, credentials };
        }
        if let Some(b) = &cfg.basic_auth {
            auth = basic_auth(b)?;
        }
        if let Some(o) = &cfg.oauth2 {
            auth = Auth::OAuth2(Box::new(OAuth2Source::new(o)?));
        }
        let mut headers = Vec::new();
        for (n, h) in cfg.http_headers.iter().flatten() {
            let name = HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| format!("invalid header name {n:?}"))?;
            headers.push((name, h.clone()));
        }
        Ok(HttpClient {
            inner: Arc::new(Inner {
                name: name.to_string(),
                client,
                auth,
                headers,
            }),
        })
    }

    /// A GET with the config's authentication and headers applied, plus `headers` from
    /// the caller, and `timeout` for the whole request (until the response head). The
    /// caller reads the body with its own bound. Errors read as Go's (`Get "http://x":
    /// context deadline exceeded`).
    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<reqwest::Response, String> {
        self.send(reqwest::Method::GET, url, headers, None, timeout)
            .await
    }

    /// The same for POST (the notifier and remote write).
    #[allow(dead_code)] // for the notifier (#6) and the remote-write sender (#8)
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: bytes::Bytes,
        timeout: Duration,
    ) -> Result<reqwest::Response, String> {
        self.send(reqwest::Method::POST, url, headers, Some(body), timeout)
            .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<bytes::Bytes>,
        timeout: Duration,
    ) -> Result<reqwest::Response, String> {
        let op = if method == reqwest::Method::POST {
            "Post"
        } else {
            "Get"
        };
        let fail = |e: String| format!("{op} {}: {e}", go_quote(url));
        let deadline = Instant::now() + timeout;
        let mut map = HeaderMap::with_capacity(headers.len() + self.inner.headers.len() + 1);
        for (n, v) in headers {
            let name = HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| fail(format!("invalid header name {n:?}")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| fail(format!("invalid value for header {n}")))?;
            map.append(name, value);
        }
        for (name, h) in &self.inner.headers {
            let mut add = |v: &str| -> Result<(), String> {
                let value = HeaderValue::from_str(v)
                    .map_err(|_| fail(format!("invalid value for header {name}")))?;
                map.append(name.clone(), value);
                Ok(())
            };
            for v in &h.values {
                add(v)?;
            }
            for v in &h.secrets {
                add(v.expose())?;
            }
            for f in &h.files {
                let v = read_small_file(std::path::Path::new(f))
                    .map_err(|e| fail(format!("unable to read headers file {f}: {e}")))?;
                add(v.trim())?;
            }
        }
        // As Prometheus's round trippers: an Authorization given by the caller wins.
        if !map.contains_key(AUTHORIZATION) {
            if let Some(value) = self.authorization(deadline).await.map_err(fail)? {
                let mut v = HeaderValue::from_str(&value)
                    .map_err(|_| fail("invalid Authorization header value".into()))?;
                v.set_sensitive(true);
                map.insert(AUTHORIZATION, v);
            }
        }
        let mut req = self
            .inner
            .client
            .request(method, url)
            .headers(map)
            .timeout(deadline.saturating_duration_since(Instant::now()));
        if let Some(b) = body {
            req = req.body(b);
        }
        req.send().await.map_err(|e| fail(go_error_text(&e)))
    }

    /// The `Authorization` value for the next request, if any.
    async fn authorization(&self, deadline: Instant) -> Result<Option<String>, String> {
        match &self.inner.auth {
            Auth::None => Ok(None),
            Auth::Credentials { kind, credentials } => {
                let c = match credentials {
                    Some(s) => s
                        .fetch()
                        .map_err(|e| format!("unable to read authorization credentials: {e}"))?,
                    None => String::new(),
                };
                Ok(Some(format!("{kind} {c}")))
            }
            Auth::Basic { username, password } => {
                let u = match username {
                    Some(s) => s
                        .fetch()
                        .map_err(|e| format!("unable to read basic auth username: {e}"))?,
                    None => String::new(),
                };
                let p = match password {
                    Some(s) => s
                        .fetch()
                        .map_err(|e| format!("unable to read basic auth password: {e}"))?,
                    None => String::new(),
                };
                Ok(Some(basic_value(&u, &p)))
            }
            Auth::OAuth2(o) => o.authorization(deadline).await.map(Some),
        }
    }
}

fn basic_auth(b: &BasicAuth) -> Result<Auth, String> {
    let username = SecretSource::from_fields(&b.username, &b.username_file, &b.username_ref)
        .map_err(|e| format!("unable to use username: {e}"))?;
    let password =
        SecretSource::from_fields(b.password.expose(), &b.password_file, &b.password_ref)
            .map_err(|e| format!("unable to use password: {e}"))?;
    Ok(Auth::Basic { username, password })
}

/// `Basic base64(user:password)`.
fn basic_value(user: &str, password: &str) -> String {
    let mut raw = String::with_capacity(user.len() + password.len() + 1);
    raw.push_str(user);
    raw.push(':');
    raw.push_str(password);
    format!("Basic {}", base64_encode(raw.as_bytes()))
}

/// Standard base64 with padding (a few bytes per request; not worth a crate).
fn base64_encode(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(TABLE[(n >> 18) as usize & 63] as char);
        out.push(TABLE[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            TABLE[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            TABLE[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Go's `%q` for the URL in error messages (URLs rarely need escaping).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Builds the reqwest client for one TLS and proxy setting.
fn build_reqwest(
    tls: &TlsConfig,
    proxy: &ProxyConfig,
    follow_redirects: bool,
    enable_http2: bool,
) -> Result<reqwest::Client, String> {
    let tls = rustls_config(tls, enable_http2)?;
    let mut b = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(if follow_redirects {
            reqwest::redirect::Policy::limited(MAX_REDIRECTS)
        } else {
            reqwest::redirect::Policy::none()
        })
        // Go's transport: keep idle connections 90 s.
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true);
    if !enable_http2 {
        b = b.http1_only();
    }
    if let Some(url) = &proxy.proxy_url {
        let mut p =
            reqwest::Proxy::all(url.as_str()).map_err(|e| format!("invalid proxy_url: {e}"))?;
        if !proxy.no_proxy.is_empty() {
            p = p.no_proxy(reqwest::NoProxy::from_string(&proxy.no_proxy));
        }
        if !proxy.proxy_connect_header.is_empty() {
            let mut h = HeaderMap::new();
            for (name, values) in &proxy.proxy_connect_header {
                let n = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("invalid proxy_connect_header name {name:?}"))?;
                for v in values {
                    let v = HeaderValue::from_str(v.expose())
                        .map_err(|_| format!("invalid proxy_connect_header value for {name}"))?;
                    h.append(n.clone(), v);
                }
            }
            p = p.headers(h);
        }
        b = b.proxy(p);
    } else if !proxy.proxy_from_environment {
        // reqwest reads HTTP_PROXY & co. by default; Prometheus only when asked.
        b = b.no_proxy();
    }
    b.build()
        .map_err(|e| format!("unable to build HTTP client: {e}"))
}

/// The rustls configuration for a `<tls_config>`.
fn rustls_config(cfg: &TlsConfig, enable_http2: bool) -> Result<rustls::ClientConfig, String> {
    use ember_config::http::TlsVersion;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    if let (Some(min), Some(max)) = (cfg.min_version, cfg.max_version) {
        if max < min {
            return Err("tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified".into());
        }
    }
    // rustls speaks TLS 1.2 and 1.3 only, which is also Go's client default minimum.
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    let allows = |v: TlsVersion| {
        cfg.min_version.is_none_or(|m| m <= v) && cfg.max_version.is_none_or(|m| v <= m)
    };
    if allows(TlsVersion::Tls12) {
        versions.push(&rustls::version::TLS12);
    }
    if allows(TlsVersion::Tls13) {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        return Err("tls_config: TLS versions below TLS12 are not supported".into());
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_config: {e}"))?;

    let ca = SecretSource::from_fields(&cfg.ca, &cfg.ca_file, &cfg.ca_ref)
        .map_err(|e| format!("unable to use CA cert: {e}"))?;
    let roots = match &ca {
        Some(src) => {
            let pem = src
                .fetch()
                .map_err(|e| format!("unable to read CA cert: {e}"))?;
            let mut store = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(format!("unable to use specified CA cert {}", describe(src)));
            }
            Arc::new(store)
        }
        None => system_roots(),
    };
    let verifier: Arc<dyn ServerCertVerifier> = if cfg.insecure_skip_verify {
        Arc::new(NoVerification(provider.clone()))
    } else {
        let webpki =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| format!("unable to use CA cert: {e}"))?;
        if cfg.server_name.is_empty() {
            webpki
        } else {
            let name = ServerName::try_from(cfg.server_name.clone()).map_err(|e| {
                format!("invalid tls_config server_name {:?}: {e}", cfg.server_name)
            })?;
            Arc::new(FixedServerName {
                inner: webpki,
                name,
            })
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);

    let cert = SecretSource::from_fields(&cfg.cert, &cfg.cert_file, &cfg.cert_ref)
        .map_err(|e| format!("unable to use client cert: {e}"))?;
    let key = SecretSource::from_fields(cfg.key.expose(), &cfg.key_file, &cfg.key_ref)
        .map_err(|e| format!("unable to use client key: {e}"))?;
    let mut config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let cert_pem = cert
                .fetch()
                .map_err(|e| format!("unable to read specified client cert: {e}"))?;
            let key_pem = key
                .fetch()
                .map_err(|e| format!("unable to read specified client key: {e}"))?;
            let bad = |e: String| {
                format!(
                    "unable to use specified client cert ({}) & key ({}): {e}",
                    describe(&cert),
                    describe(&key)
                )
            };
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad(format!("tls: failed to parse certificate PEM data: {e}")))?;
            if certs.is_empty() {
                return Err(bad(
                    "tls: failed to find any PEM data in certificate input".into()
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| {
                bad(format!(
                    "tls: failed to find any PEM data in key input: {e}"
                ))
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| bad(e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if enable_http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

fn describe(src: &SecretSource) -> String {
    match src {
        SecretSource::Inline(_) => "inline".into(),
        SecretSource::File(p) => format!("file {}", p.display()),
    }
}

/// The system's trust store, loaded once per process (Go's `x509.SystemCertPool`).
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(err = %e, "Error loading a system CA certificate");
            }
            let (added, ignored) = store.add_parsable_certificates(found.certs);
            tracing::debug!(added, ignored, "Loaded system CA certificates");
            Arc::new(store)
        })
        .clone()
}

/// `insecure_skip_verify`: accepts any certificate, still checking handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `server_name`: the certificate is checked against this name instead of the URL's
/// host. (The SNI sent is still the URL's host name; see docs/compatibility.md.)
#[derive(Debug)]
struct FixedServerName {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for FixedServerName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The part of a Go `*url.Error` after the URL: `context deadline exceeded`,
/// `dial tcp 127.0.0.1:1: connect: connection refused`, `tls: failed to verify
/// certificate: x509: certificate signed by unknown authority`, ...
fn go_error_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "context deadline exceeded".into();
    }
    if e.is_redirect() {
        return format!("stopped after {MAX_REDIRECTS} redirects");
    }
    let addr = e
        .url()
        .map(|u| {
            let host = u.host_str().unwrap_or_default();
            let port = u.port_or_known_default().unwrap_or(80);
            if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        })
        .unwrap_or_default();
    // Walk the cause chain for the errors users meet most.
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut innermost = e.to_string();
    while let Some(err) = cur {
        if let Some(tls) = find_rustls_error(err) {
            return go_tls_error(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            let what = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Some("connect: connection refused"),
                std::io::ErrorKind::ConnectionReset => Some("read: connection reset by peer"),
                std::io::ErrorKind::TimedOut => Some("i/o timeout"),
                std::io::ErrorKind::UnexpectedEof => None,
                _ => None,
            };
            if let Some(w) = what {
                return if e.is_connect() {
                    format!("dial tcp {addr}: {w}")
                } else {
                    w.to_string()
                };
            }
        }
        innermost = err.to_string();
        cur = err.source();
    }
    if e.is_connect() {
        let host = e.url().and_then(|u| u.host_str()).unwrap_or_default();
        if innermost.contains("Name or service not known")
            || innermost.contains("No address associated")
            || innermost.contains("nodename nor servname")
        {
            return format!("dial tcp: lookup {host}: no such host");
        }
        return format!(
            "dial tcp {addr}: {}",
            crate::go_errors::strip_os_error(&innermost)
        );
    }
    if innermost.contains("connection closed before message completed") {
        return "EOF".into();
    }
    crate::go_errors::strip_os_error(&innermost)
}

/// The rustls error behind `err`, looking inside `io::Error`s (whose `source()` skips
/// the error they wrap).
fn find_rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = err;
    // Bounded: wrappers nest a handful of levels at most.
    for _ in 0..16 {
        if let Some(tls) = cur.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        match cur
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => cur = inner,
            None => return None,
        }
    }
    None
}

/// Go's wording for the certificate errors seen in practice.
fn go_tls_error(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let what = match c {
                C::UnknownIssuer => "x509: certificate signed by unknown authority".to_string(),
                C::Expired | C::NotValidYet => {
                    "x509: certificate has expired or is not yet valid".to_string()
                }
                C::NotValidForName => {
                    "x509: certificate is not valid for the requested name".to_string()
                }
                C::NotValidForNameContext {
                    expected,
                    presented,
                } => {
                    let expected = match expected {
                        ServerName::DnsName(d) => d.as_ref().to_string(),
                        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
                        other => format!("{other:?}"),
                    };
                    // rustls writes names as `DnsName("x")` / `IpAddress(x)`.
                    let names: Vec<&str> = presented
                        .iter()
                        .map(|p| {
                            p.strip_prefix("DnsName(\"")
                                .and_then(|r| r.strip_suffix("\")"))
                                .or_else(|| {
                                    p.strip_prefix("IpAddress(")
                                        .and_then(|r| r.strip_suffix(')'))
                                })
                                .unwrap_or(p)
                        })
                        .collect();
                    let is_ip = expected.parse::<std::net::IpAddr>().is_ok();
                    if is_ip && !presented.iter().any(|p| p.starts_with("IpAddress")) {
                        format!("x509: cannot validate certificate for {expected} because it doesn't contain any IP SANs")
                    } else {
                        format!(
                            "x509: certificate is valid for {}, not {expected}",
                            names.join(", ")
                        )
                    }
                }
                other => format!("x509: {other:?}"),
            };
            format!("tls: failed to verify certificate: {what}")
        }
        other => format!("remote error: tls: {other}"),
    }
}

/// Reads a response body of at most `limit` bytes; a larger body is an error
/// (`body size limit exceeded`), so a misbehaving server cannot exhaust memory.
pub async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(
        resp.content_length()
            .map_or(0, |l| (l as usize).min(limit).min(1 << 20)),
    );
    while let Some(chunk) = resp.chunk().await.map_err(|e| go_error_text(&e))? {
        if out.len() + chunk.len() > limit {
            return Err(format!("body size limit exceeded ({limit} bytes)"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The OAuth2 client-credentials flow: a token fetched from `token_url` and cached until
/// shortly before it expires, or until the client secret (file) changes.
struct OAuth2Source {
    cfg: OAuth2,
    secret: Option<SecretSource>,
    client: reqwest::Client,
    cache: tokio::sync::Mutex<Option<CachedToken>>,
}

struct CachedToken {
    secret: String,
    value: String,
    expires: Option<Instant>,
}

impl OAuth2Source {
    fn new(cfg: &OAuth2) -> Result<OAuth2Source, String> {
        if cfg.grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
            return Err("oauth2 grant_type urn:ietf:params:oauth:grant-type:jwt-bearer is not supported by Ember yet".into());
        }
        let secret = SecretSource::from_fields(
            cfg.client_secret.expose(),
            &cfg.client_secret_file,
            &cfg.client_secret_ref,
        )
        .map_err(|e| format!("unable to use client secret: {e}"))?;
        // The token endpoint is reached with the oauth2 block's own TLS and proxy.
        let client = build_reqwest(&cfg.tls_config, &cfg.proxy, true, true)?;
        Ok(OAuth2Source {
            cfg: cfg.clone(),
            secret,
            client,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    async fn authorization(&self, deadline: Instant) -> Result<String, String> {
        let secret = match &self.secret {
            Some(s) => s
                .fetch()
                .map_err(|e| format!("unable to read oauth2 client secret: {e}"))?,
            None => String::new(),
        };
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.as_ref() {
            let fresh = t
                .expires
                .is_none_or(|exp| Instant::now() + TOKEN_EXPIRY_DELTA < exp);
            if fresh && t.secret == secret {
                return Ok(t.value.clone());
            }
        }
        let token = self.fetch_token(&secret, deadline).await?;
        let value = token.value.clone();
        *cache = Some(token);
        Ok(value)
    }

    /// Asks the token endpoint, credentials first in a Basic header and, when that is
    /// refused, in the form (`golang.org/x/oauth2`'s auto-detected auth style).
    async fn fetch_token(&self, secret: &str, deadline: Instant) -> Result<CachedToken, String> {
        let base = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if !self.cfg.scopes.is_empty() {
                form.append_pair("scope", &self.cfg.scopes.join(" "));
            }
            for (k, v) in &self.cfg.endpoint_params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let url = self.cfg.token_url.as_str();
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let header_try = self
            .token_request(
                url,
                base.clone(),
                Some(basic_value(&enc(&self.cfg.client_id), &enc(secret))),
                deadline,
            )
            .await;
        let result = match header_try {
            Ok(t) => Ok(t),
            Err(TokenError::Refused(_)) => {
                let body = {
                    let mut form = form_urlencoded::Serializer::new(base);
                    form.append_pair("client_id", &self.cfg.client_id);
                    form.append_pair("client_secret", secret);
                    form.finish()
                };
                self.token_request(url, body, None, deadline).await
            }
            Err(e) => Err(e),
        };
        let (value, expires_in) = result.map_err(|e| match e {
            TokenError::Refused(m) | TokenError::Other(m) => format!("oauth2: {m}"),
        })?;
        Ok(CachedToken {
            secret: secret.to_string(),
            value,
            expires: expires_in.map(|s| Instant::now() + Duration::from_secs(s)),
        })
    }

    async fn token_request(
        &self,
        url: &str,
        body: String,
        auth: Option<String>,
        deadline: Instant,
    ) -> Result<(String, Option<u64>), TokenError> {
        let mut req = self
            .client
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .timeout(deadline.saturating_duration_since(Instant::now()))
            .body(body);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        let resp = req.send().await.map_err(|e| {
            TokenError::Other(format!("Post {}: {}", go_quote(url), go_error_text(&e)))
        })?;
        let status = resp.status();
        let form_body = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.starts_with("application/x-www-form-urlencoded") || v.starts_with("text/plain")
            });
        let body = read_body(resp, MAX_TOKEN_RESPONSE)
            .await
            .map_err(TokenError::Other)?;
        if !status.is_success() {
            return Err(TokenError::Refused(format!(
                "cannot fetch token: {status}\nResponse: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let (token, kind, expires) = if form_body {
            let mut token = String::new();
            let mut kind = String::new();
            let mut expires = None;
            for (k, v) in form_urlencoded::parse(&body) {
                match k.as_ref() {
                    "access_token" => token = v.into_owned(),
                    "token_type" => kind = v.into_owned(),
                    "expires_in" => expires = v.parse::<u64>().ok(),
                    _ => {}
                }
            }
            (token, kind, expires)
        } else {
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| TokenError::Other(format!("cannot parse json: {e}")))?;
            let token = v["access_token"].as_str().unwrap_or_default().to_string();
            let kind = v["token_type"].as_str().unwrap_or_default().to_string();
            let expires = match &v["expires_in"] {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            };
            (token, kind, expires)
        };
        if token.is_empty() {
            return Err(TokenError::Other(
                "server response missing access_token".into(),
            ));
        }
        // `Token.Type()`: bearer/mac/basic are capitalised, empty means Bearer.
        let kind = match kind.to_ascii_lowercase().as_str() {
            "" | "bearer" => "Bearer".to_string(),
            "mac" => "MAC".to_string(),
            "basic" => "Basic".to_string(),
            _ => kind,
        };
        Ok((format!("{kind} {token}"), expires.filter(|s| *s > 0)))
    }
}

enum TokenError {
    /// The endpoint answered with an error status: worth retrying another auth style.
    Refused(String),
    Other(String),
}

#[cfg(test)]
mod tests;
