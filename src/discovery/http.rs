//! `http_sd_configs`: target groups fetched as JSON from a URL every
//! `refresh_interval`, as Prometheus's `discovery/http`.

use std::time::Duration;

use ember_config::discovery::HttpSdConfig;

use super::targetgroup::{finish, parse_json, TargetGroup};
use super::Updater;
use crate::http_client::{read_body, HttpClient};

/// The label naming the URL a group came from.
const URL_LABEL: &str = "__meta_url";
/// Largest response body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 64 << 20;

pub(crate) struct Discovery {
    url: String,
    client: HttpClient,
    interval: Duration,
    /// Groups in the last good response, to empty the ones that disappear.
    last_len: usize,
}

impl Discovery {
    pub(crate) fn new(cfg: &HttpSdConfig) -> Result<Discovery, String> {
        Ok(Discovery {
            url: cfg.url.clone(),
            client: HttpClient::new(&cfg.http_client, "http")?,
            interval: cfg.refresh_interval.as_std().max(Duration::from_millis(1)),
            last_len: 0,
        })
    }

    /// Refreshes now and then every interval until aborted; a failed refresh is logged
    /// and leaves the last targets in place.
    pub(crate) async fn run(mut self, up: Updater) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.refresh().await {
                Ok(groups) => up.send(groups),
                Err(e) => {
                    up.mechanisms().http_failures.inc();
                    up.mechanisms()
                        .refresh_failures
                        .with_label_values(&["http", up.set()])
                        .inc();
                    tracing::error!(discovery = "http", config = %up.set(), err = %e, "Unable to refresh target groups");
                }
            }
        }
    }

    pub(crate) async fn refresh(&mut self) -> Result<Vec<TargetGroup>, String> {
        let interval = self.interval.as_secs_f64().to_string();
        let user_agent = format!("Ember/{}", crate::build_info::BUILD.version);
        let resp = self
            .client
            .get(
                &self.url,
                &[
                    ("User-Agent", &user_agent),
                    ("Accept", "application/json"),
                    ("X-Prometheus-Refresh-Interval-Seconds", &interval),
                ],
                self.interval,
            )
            .await?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("server returned HTTP status {}", resp.status()));
        }
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        if !json_content_type(ct.trim()) {
            return Err(format!("unsupported content type {ct:?}"));
        }
        let body = read_body(resp, MAX_BODY_BYTES).await?;
        let raw = parse_json(&body)?;
        let n = raw.len();
        let mut groups = finish(raw, &self.url, URL_LABEL);
        for i in n..self.last_len {
            groups.push(TargetGroup {
                source: format!("{}:{i}", self.url),
                ..TargetGroup::default()
            });
        }
        self.last_len = n;
        Ok(groups)
    }
}

/// `application/json`, optionally with `; charset=utf-8` (quoted or not), any case.
fn json_content_type(ct: &str) -> bool {
    let lower = ct.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("application/json") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix(';') else {
        return false;
    };
    matches!(
        rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0c', '\x0b']),
        "charset=utf-8" | "charset=\"utf-8\""
    )
}

#[cfg(test)]
mod tests {
    use super::json_content_type;

    #[test]
    fn content_types_as_prometheus_regex() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(json_content_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "application/json; charset=latin1",
            "application/json;",
            "",
        ] {
            assert!(!json_content_type(bad), "{bad}");
        }
    }
}
