//! Tests of the HTTP client against real servers on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap as AxHeaders, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use ember_config::http::{Authorization, BasicAuth, Header, OAuth2};
use ember_config::{HttpClientConfig, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

type Seen = Arc<Mutex<Vec<AxHeaders>>>;

/// Serves `/echo` (records the request headers), `/redirect` (302 to `/echo`) and
/// `/slow` (answers after 3 s) on an ephemeral port.
async fn server() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/echo",
            get(|State(seen): State<Seen>, h: AxHeaders| async move {
                seen.lock().unwrap().push(h);
                "echoed"
            }),
        )
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [("Location", "/echo")], "moved") }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [("Location", "/loop")], "again") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn last_header(seen: &Seen, name: &str) -> Vec<String> {
    let seen = seen.lock().unwrap();
    let h = seen.last().expect("a request reached the server");
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

const T: Duration = Duration::from_secs(5);

#[test]
fn base64_matches_rfc4648_vectors() {
    for (input, want) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64_encode(input.as_bytes()), want, "{input}");
    }
}

#[tokio::test]
async fn basic_auth_with_password_file_is_reread() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pass\n").unwrap();
    let cfg = HttpClientConfig {
        basic_auth: Some(BasicAuth {
            username: "user".into(),
            password_file: pw.to_string_lossy().into_owned(),
            ..BasicAuth::default()
        }),
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&cfg, "test").unwrap();
    let url = format!("http://{addr}/echo");
    let r = c.get(&url, &[], T).await.unwrap();
    assert_eq!(r.status(), 200);
    // base64("user:pass"), trailing newline of the file trimmed.
    assert_eq!(last_header(&seen, "authorization"), ["Basic dXNlcjpwYXNz"]);
    std::fs::write(&pw, "secret").unwrap();
    c.get(&url, &[], T).await.unwrap();
    // base64("user:secret")
    assert_eq!(
        last_header(&seen, "authorization"),
        ["Basic dXNlcjpzZWNyZXQ="]
    );
    std::fs::remove_file(&pw).unwrap();
    let err = c.get(&url, &[], T).await.unwrap_err();
    assert_eq!(
        err,
        format!(
            "Get \"{url}\": unable to read basic auth password: unable to read file {p}: open {p}: no such file or directory",
            p = pw.display()
        )
    );
}

#[tokio::test]
async fn bearer_credentials_file_is_reread_after_change() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("token");
    std::fs::write(&tok, "  first-token\n").unwrap();
    let mut cfg = HttpClientConfig {
        bearer_token_file: tok.to_string_lossy().into_owned(),
        ..HttpClientConfig::default()
    };
    cfg.validate().unwrap();
    let c = HttpClient::new(&cfg, "test").unwrap();
    let url = format!("http://{addr}/echo");
    c.get(&url, &[], T).await.unwrap();
    assert_eq!(last_header(&seen, "authorization"), ["Bearer first-token"]);
    std::fs::write(&tok, "second-token").unwrap();
    c.get(&url, &[], T).await.unwrap();
    assert_eq!(last_header(&seen, "authorization"), ["Bearer second-token"]);
}

#[tokio::test]
async fn authorization_type_and_caller_header_precedence() {
    let (addr, seen) = server().await;
    let cfg = HttpClientConfig {
        authorization: Some(Authorization {
            kind: "Token".into(),
            credentials: Secret::new("abc"),
            ..Authorization::default()
        }),
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&cfg, "test").unwrap();
    let url = format!("http://{addr}/echo");
    c.get(&url, &[], T).await.unwrap();
    assert_eq!(last_header(&seen, "authorization"), ["Token abc"]);
    c.get(&url, &[("Authorization", "Custom x")], T)
        .await
        .unwrap();
    assert_eq!(last_header(&seen, "authorization"), ["Custom x"]);
}

#[tokio::test]
async fn http_headers_values_secrets_files_and_caller_headers() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("h");
    std::fs::write(&f, "from-file\n").unwrap();
    let mut headers = BTreeMap::new();
    headers.insert(
        "X-Scope-OrgID".to_string(),
        Header {
            values: vec!["v1".into(), "v2".into()],
            secrets: vec![Secret::new("s1")],
            files: vec![f.to_string_lossy().into_owned()],
        },
    );
    let cfg = HttpClientConfig {
        http_headers: Some(headers),
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&cfg, "test").unwrap();
    c.get(
        &format!("http://{addr}/echo"),
        &[
            ("Accept", "text/plain"),
            ("X-Prometheus-Scrape-Timeout-Seconds", "10"),
        ],
        T,
    )
    .await
    .unwrap();
    assert_eq!(
        last_header(&seen, "x-scope-orgid"),
        ["v1", "v2", "s1", "from-file"]
    );
    assert_eq!(last_header(&seen, "accept"), ["text/plain"]);
    assert_eq!(
        last_header(&seen, "x-prometheus-scrape-timeout-seconds"),
        ["10"]
    );
    // Nothing unasked for: no compression negotiated, no authorization.
    assert!(last_header(&seen, "accept-encoding").is_empty());
    assert!(last_header(&seen, "authorization").is_empty());
}

use std::collections::BTreeMap;

#[tokio::test]
async fn redirects_followed_or_returned() {
    let (addr, _seen) = server().await;
    let url = format!("http://{addr}/redirect");
    let follow = HttpClient::new(&HttpClientConfig::default(), "test").unwrap();
    let r = follow.get(&url, &[], T).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "echoed");

    let cfg = HttpClientConfig {
        follow_redirects: false,
        ..HttpClientConfig::default()
    };
    let stay = HttpClient::new(&cfg, "test").unwrap();
    let r = stay.get(&url, &[], T).await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/echo");

    let looping = format!("http://{addr}/loop");
    let err = follow.get(&looping, &[], T).await.unwrap_err();
    assert_eq!(
        err,
        format!("Get \"{looping}\": stopped after 10 redirects")
    );
}

#[tokio::test]
async fn timeout_and_refused_connection_read_as_go_errors() {
    let (addr, _seen) = server().await;
    let c = HttpClient::new(&HttpClientConfig::default(), "test").unwrap();
    let url = format!("http://{addr}/slow");
    let started = std::time::Instant::now();
    let err = c
        .get(&url, &[], Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(err, format!("Get \"{url}\": context deadline exceeded"));

    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let err = c.get(&url, &[], T).await.unwrap_err();
    assert_eq!(
        err,
        format!("Get \"{url}\": dial tcp 127.0.0.1:{port}: connect: connection refused")
    );
}

#[tokio::test]
async fn post_sends_body() {
    let got: Arc<Mutex<Vec<u8>>> = Arc::default();
    let app = Router::new()
        .route(
            "/write",
            post(
                |State(got): State<Arc<Mutex<Vec<u8>>>>, body: axum::body::Bytes| async move {
                    *got.lock().unwrap() = body.to_vec();
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = HttpClient::new(&HttpClientConfig::default(), "test").unwrap();
    let r = c
        .post(
            &format!("http://{addr}/write"),
            &[("Content-Type", "application/x-protobuf")],
            bytes::Bytes::from_static(b"payload"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(got.lock().unwrap().as_slice(), b"payload");
}

#[tokio::test]
async fn read_body_enforces_its_bound() {
    let (addr, _seen) = server().await;
    let c = HttpClient::new(&HttpClientConfig::default(), "test").unwrap();
    let url = format!("http://{addr}/echo");
    let r = c.get(&url, &[], T).await.unwrap();
    assert_eq!(read_body(r, 6).await.unwrap(), b"echoed");
    let r = c.get(&url, &[], T).await.unwrap();
    assert_eq!(
        read_body(r, 5).await.unwrap_err(),
        "body size limit exceeded (5 bytes)"
    );
}

#[tokio::test]
async fn oauth2_client_credentials_token_is_cached() {
    #[derive(Clone, Default)]
    struct Tok {
        calls: Arc<AtomicUsize>,
        auth: Arc<Mutex<Vec<String>>>,
        bodies: Arc<Mutex<Vec<String>>>,
    }
    let tok = Tok::default();
    let (addr, seen) = server().await;
    let app = Router::new()
        .route(
            "/token",
            post(
                |State(t): State<Tok>, h: AxHeaders, body: String| async move {
                    t.calls.fetch_add(1, Ordering::SeqCst);
                    t.auth.lock().unwrap().push(
                        h.get("authorization")
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default(),
                    );
                    t.bodies.lock().unwrap().push(body);
                    (
                        [("Content-Type", "application/json")],
                        r#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#,
                    )
                        .into_response()
                },
            ),
        )
        .with_state(tok.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut endpoint_params = BTreeMap::new();
    endpoint_params.insert("audience".to_string(), "ember".to_string());
    let cfg = HttpClientConfig {
        oauth2: Some(OAuth2 {
            client_id: "id".into(),
            client_secret: Secret::new("sec"),
            token_url: format!("http://{token_addr}/token"),
            scopes: vec!["a".into(), "b".into()],
            endpoint_params,
            ..OAuth2::default()
        }),
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&cfg, "test").unwrap();
    let url = format!("http://{addr}/echo");
    c.get(&url, &[], T).await.unwrap();
    c.get(&url, &[], T).await.unwrap();
    assert_eq!(last_header(&seen, "authorization"), ["Bearer tok-1"]);
    assert_eq!(tok.calls.load(Ordering::SeqCst), 1, "token cached");
    // base64("id:sec")
    assert_eq!(tok.auth.lock().unwrap()[0], "Basic aWQ6c2Vj");
    let body = tok.bodies.lock().unwrap()[0].clone();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(pairs.contains(&("grant_type".into(), "client_credentials".into())));
    assert!(pairs.contains(&("scope".into(), "a b".into())));
    assert!(pairs.contains(&("audience".into(), "ember".into())));
}

#[tokio::test]
async fn unreadable_ca_file_and_secret_refs_are_errors() {
    let cfg = HttpClientConfig {
        tls_config: TlsConfig {
            ca_file: "/nonexistent/ca.pem".into(),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    };
    assert_eq!(
        HttpClient::new(&cfg, "test").unwrap_err(),
        "unable to read CA cert: unable to read file /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory"
    );
    let cfg = HttpClientConfig {
        tls_config: TlsConfig {
            ca: "not a certificate".into(),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    };
    assert_eq!(
        HttpClient::new(&cfg, "test").unwrap_err(),
        "unable to use specified CA cert inline"
    );
    let cfg = HttpClientConfig {
        authorization: Some(Authorization {
            kind: "Bearer".into(),
            credentials_ref: "vault".into(),
            ..Authorization::default()
        }),
        ..HttpClientConfig::default()
    };
    assert_eq!(
        HttpClient::new(&cfg, "test").unwrap_err(),
        "unable to use credentials: cannot use secret ref without manager"
    );
}

/// A CA and a server certificate it signed for `names` (DNS) and 127.0.0.1.
struct Pki {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn pki(names: &[&str], with_ip: bool) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Ember test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    if with_ip {
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    }
    let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// A TLS server answering every request with `200 ok`.
async fn tls_server(p: &Pki) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(p.cert_der.clone())],
            PrivateKeyDer::Pkcs8(p.key_der.clone().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

fn tls_cfg(tls: TlsConfig) -> HttpClientConfig {
    HttpClientConfig {
        tls_config: tls,
        ..HttpClientConfig::default()
    }
}

#[tokio::test]
async fn tls_with_ca_file_unknown_authority_and_insecure_skip_verify() {
    let p = pki(&["localhost"], true);
    let addr = tls_server(&p).await;
    let url = format!("https://127.0.0.1:{}/metrics", addr.port());
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &p.ca_pem).unwrap();

    let trusted = HttpClient::new(
        &tls_cfg(TlsConfig {
            ca_file: ca_file.to_string_lossy().into_owned(),
            ..TlsConfig::default()
        }),
        "test",
    )
    .unwrap();
    let r = trusted.get(&url, &[], T).await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");

    // The same CA given inline, and a host name from the certificate.
    let inline = HttpClient::new(
        &tls_cfg(TlsConfig {
            ca: p.ca_pem.clone(),
            ..TlsConfig::default()
        }),
        "test",
    )
    .unwrap();
    let by_name = format!("https://localhost:{}/metrics", addr.port());
    assert_eq!(inline.get(&by_name, &[], T).await.unwrap().status(), 200);

    let untrusted = HttpClient::new(&HttpClientConfig::default(), "test").unwrap();
    let err = untrusted.get(&url, &[], T).await.unwrap_err();
    assert_eq!(
        err,
        format!("Get \"{url}\": tls: failed to verify certificate: x509: certificate signed by unknown authority")
    );

    let insecure = HttpClient::new(
        &tls_cfg(TlsConfig {
            insecure_skip_verify: true,
            ..TlsConfig::default()
        }),
        "test",
    )
    .unwrap();
    assert_eq!(insecure.get(&url, &[], T).await.unwrap().status(), 200);
}

#[tokio::test]
async fn tls_server_name_selects_the_name_checked() {
    // A certificate for example.test only, served on 127.0.0.1.
    let p = pki(&["example.test"], false);
    let addr = tls_server(&p).await;
    let url = format!("https://127.0.0.1:{}/", addr.port());
    let without = HttpClient::new(
        &tls_cfg(TlsConfig {
            ca: p.ca_pem.clone(),
            ..TlsConfig::default()
        }),
        "test",
    )
    .unwrap();
    let err = without.get(&url, &[], T).await.unwrap_err();
    assert_eq!(
        err,
        format!("Get \"{url}\": tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs")
    );
    let by_name = format!("https://localhost:{}/", addr.port());
    let err = without.get(&by_name, &[], T).await.unwrap_err();
    assert_eq!(
        err,
        format!("Get \"{by_name}\": tls: failed to verify certificate: x509: certificate is valid for example.test, not localhost")
    );
    let with = HttpClient::new(
        &tls_cfg(TlsConfig {
            ca: p.ca_pem.clone(),
            server_name: "example.test".into(),
            ..TlsConfig::default()
        }),
        "test",
    )
    .unwrap();
    assert_eq!(with.get(&url, &[], T).await.unwrap().status(), 200);
}

#[tokio::test]
async fn tls_client_certificate_files_are_loaded() {
    let p = pki(&["localhost"], true);
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("c.pem");
    let key = dir.path().join("k.pem");
    // The server certificate doubles as a client certificate for loading purposes.
    std::fs::write(&cert, pem("CERTIFICATE", &p.cert_der)).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", &p.key_der)).unwrap();
    let ok = HttpClient::new(
        &tls_cfg(TlsConfig {
            cert_file: cert.to_string_lossy().into_owned(),
            key_file: key.to_string_lossy().into_owned(),
            ..TlsConfig::default()
        }),
        "test",
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
    std::fs::write(&key, "garbage").unwrap();
    let err = HttpClient::new(
        &tls_cfg(TlsConfig {
            cert_file: cert.to_string_lossy().into_owned(),
            key_file: key.to_string_lossy().into_owned(),
            ..TlsConfig::default()
        }),
        "test",
    )
    .unwrap_err();
    assert!(
        err.starts_with(&format!(
            "unable to use specified client cert (file {}) & key (file {}):",
            cert.display(),
            key.display()
        )),
        "{err}"
    );
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
