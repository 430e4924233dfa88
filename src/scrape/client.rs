//! A stand-in for the shared HTTP client (`crate::http_client`, which applies a job's
//! auth, TLS and proxy settings): the same signature, plain HTTP only. Replaced when the
//! shared client lands.

use std::time::Duration;

use ember_config::HttpClientConfig;

/// An HTTP client for one job.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

impl HttpClient {
    pub fn new(cfg: &HttpClientConfig, _name: &str) -> Result<HttpClient, String> {
        let redirects = if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let client = reqwest::Client::builder()
            .redirect(redirects)
            .build()
            .map_err(|e| format!("error creating HTTP client: {e}"))?;
        Ok(HttpClient { client })
    }

    /// GET `url` with extra `headers`, giving up after `timeout`.
    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<reqwest::Response, String> {
        let mut req = self.client.get(url).timeout(timeout);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("Get {}: context deadline exceeded", go_quote(url))
            } else {
                format!("Get {}: {}", go_quote(url), error_chain(&e))
            }
        })
    }
}

fn go_quote(s: &str) -> String {
    super::target::go_quote(s)
}

/// The error and its causes, as Go joins them.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
