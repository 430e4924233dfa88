//! Scrape-side endpoints: `/api/v1/targets`, `/api/v1/scrape_pools`,
//! `/api/v1/targets/metadata` and `/api/v1/metadata`, from the scrape manager's view of
//! its pools, in Prometheus 3's JSON shapes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::json::{write_int, write_labels, write_number, write_str, write_time};
use super::params::{self, ApiRequest};
use super::response::{reply, ApiError};
use crate::api::AppState;
use crate::scrape::target::{SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL};
use crate::scrape::{Metadata, PoolView, Target};

fn ok(data: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut e = super::json::Envelope::new();
    e.data().extend_from_slice(data);
    Ok(e.finish(&[], &[]))
}

fn pools(state: &AppState) -> BTreeMap<String, PoolView> {
    state
        .scrape_manager()
        .map(|m| m.targets())
        .unwrap_or_default()
}

/// `/api/v1/targets` (`scrapePool` and `state` filters).
pub async fn targets(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let filter = req.params.url("state").to_ascii_lowercase();
    let show_active = matches!(filter.as_str(), "" | "any" | "active");
    let show_dropped = matches!(filter.as_str(), "" | "any" | "dropped");
    let pool_filter = req.params.url("scrapePool").to_string();
    let pools = pools(&state);
    let global = GlobalUrlOptions::new(&state);
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(br#"{"activeTargets":["#);
    let mut first = true;
    if show_active {
        for (name, view) in &pools {
            if !pool_filter.is_empty() && *name != pool_filter {
                continue;
            }
            for t in &view.active {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_active_target(&mut out, name, t, &global);
            }
        }
    }
    out.extend_from_slice(br#"],"droppedTargets":["#);
    let mut first = true;
    if show_dropped {
        for (name, view) in &pools {
            if !pool_filter.is_empty() && *name != pool_filter {
                continue;
            }
            for t in &view.dropped {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                out.extend_from_slice(br#"{"discoveredLabels":"#);
                write_labels(&mut out, &t.discovered_labels());
                out.extend_from_slice(br#","scrapePool":"#);
                write_str(&mut out, name);
                out.push(b'}');
            }
        }
    }
    out.extend_from_slice(br#"],"droppedTargetCounts":"#);
    if show_dropped {
        out.push(b'{');
        for (i, (name, view)) in pools.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(&mut out, name);
            out.push(b':');
            write_int(&mut out, view.dropped_count);
        }
        out.push(b'}');
    } else {
        out.extend_from_slice(b"null");
    }
    out.push(b'}');
    reply(ok(&out), req.encoding)
}

fn write_active_target(out: &mut Vec<u8>, pool: &str, t: &Target, global: &GlobalUrlOptions) {
    let status = t.status();
    out.extend_from_slice(br#"{"discoveredLabels":"#);
    write_labels(out, &t.discovered_labels());
    out.extend_from_slice(br#","labels":"#);
    write_labels(out, t.labels());
    out.extend_from_slice(br#","scrapePool":"#);
    write_str(out, pool);
    out.extend_from_slice(br#","scrapeUrl":"#);
    write_str(out, t.url());
    out.extend_from_slice(br#","globalUrl":"#);
    write_str(out, &global.global_url(t.url()));
    out.extend_from_slice(br#","lastError":"#);
    write_str(out, &status.last_error);
    out.extend_from_slice(br#","lastScrape":"#);
    match status.last_scrape {
        Some(t) => write_time(out, t),
        None => out.extend_from_slice(br#""0001-01-01T00:00:00Z""#),
    }
    out.extend_from_slice(br#","lastScrapeDuration":"#);
    write_number(out, status.last_duration.as_secs_f64());
    out.extend_from_slice(br#","health":"#);
    write_str(out, status.health.as_str());
    out.extend_from_slice(br#","scrapeInterval":"#);
    write_str(out, t.get(SCRAPE_INTERVAL_LABEL));
    out.extend_from_slice(br#","scrapeTimeout":"#);
    write_str(out, t.get(SCRAPE_TIMEOUT_LABEL));
    out.push(b'}');
}

/// What `globalUrl` is derived from: the first listen address and the external URL.
struct GlobalUrlOptions {
    listen_port: String,
    scheme: String,
    host: String,
}

const LOCALHOST: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

impl GlobalUrlOptions {
    fn new(state: &AppState) -> GlobalUrlOptions {
        let listen = state
            .options
            .listen_addresses
            .first()
            .map(String::as_str)
            .unwrap_or("");
        let listen_port = crate::cli::options::split_host_port(listen)
            .map(|(_, p)| p.to_string())
            .unwrap_or_default();
        GlobalUrlOptions {
            listen_port,
            scheme: state.options.external_url.scheme().to_string(),
            host: state.options.external_url.host().to_string(),
        }
    }

    /// The scrape URL as seen from outside, as Prometheus's `getGlobalURL`: a target on
    /// localhost gets the external host name; Ember's own port also the external scheme
    /// and port.
    fn global_url(&self, url: &str) -> String {
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_string();
        };
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = split_host_port_lenient(authority);
        if !LOCALHOST.contains(&host) {
            return url.to_string();
        }
        if !port.is_empty() && port == self.listen_port {
            return format!("{}://{}{tail}", self.scheme, self.host);
        }
        let (ext_host, _) = split_host_port_lenient(&self.host);
        let new_authority = if port.is_empty() {
            ext_host.to_string()
        } else if ext_host.contains(':') {
            format!("[{ext_host}]:{port}")
        } else {
            format!("{ext_host}:{port}")
        };
        format!("{scheme}://{new_authority}{tail}")
    }
}

/// `host:port`, `[v6]:port`, or a host alone (port empty).
fn split_host_port_lenient(s: &str) -> (&str, &str) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            return (h, after.strip_prefix(':').unwrap_or(""));
        }
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p),
        _ => (s, ""),
    }
}

/// `/api/v1/scrape_pools`.
pub async fn scrape_pools(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let names = state
        .scrape_manager()
        .map(|m| m.scrape_pools())
        .unwrap_or_default();
    let mut out = Vec::new();
    out.extend_from_slice(br#"{"scrapePools":["#);
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(&mut out, n);
    }
    out.extend_from_slice(b"]}");
    reply(ok(&out), req.encoding)
}

/// Reads an optional integer limit as the metadata endpoints do (`<name> must be a
/// number`); -1 when absent.
fn metadata_limit(req: &ApiRequest, name: &str) -> Result<i64, ApiError> {
    let v = req.params.get(name);
    if v.is_empty() {
        return Ok(-1);
    }
    params::go_atoi(v).map_err(|_| ApiError::bad_data(format!("{name} must be a number")))
}

fn write_metadata_fields(out: &mut Vec<u8>, m: &Metadata) {
    out.extend_from_slice(br#""type":"#);
    write_str(out, m.metric_type);
    out.extend_from_slice(br#","help":"#);
    write_str(out, &m.help);
    out.extend_from_slice(br#","unit":"#);
    write_str(out, &m.unit);
}

/// `/api/v1/targets/metadata` (`match_target`, `metric`, `limit`).
pub async fn target_metadata(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let limit = match metadata_limit(&req, "limit") {
        Ok(l) => l,
        Err(e) => return reply(Err(e), req.encoding),
    };
    let target = req.params.get("match_target").to_string();
    let metric = req.params.get("metric").to_string();
    let state2 = Arc::clone(&state);
    let result = tokio::task::spawn_blocking(move || {
        let matchers = if target.is_empty() {
            Vec::new()
        } else {
            params::parse_selector(&target)
                .map_err(|e| ApiError::invalid_param("match_target", e))?
        };
        let mut out = Vec::new();
        out.push(b'[');
        let mut n: i64 = 0;
        for view in pools(&state2).values() {
            for t in &view.active {
                if limit >= 0 && n >= limit {
                    break;
                }
                let labels = t.labels();
                if !matchers
                    .iter()
                    .all(|m| m.matches(labels.get(m.name()).unwrap_or("")))
                {
                    continue;
                }
                let mut emit = |family: Option<&str>, m: &Metadata| {
                    if n > 0 {
                        out.push(b',');
                    }
                    n += 1;
                    out.extend_from_slice(br#"{"target":"#);
                    write_labels(&mut out, labels);
                    out.push(b',');
                    if let Some(f) = family {
                        out.extend_from_slice(br#""metric":"#);
                        write_str(&mut out, f);
                        out.push(b',');
                    }
                    write_metadata_fields(&mut out, m);
                    out.push(b'}');
                };
                if metric.is_empty() {
                    for (family, m) in t.metadata_list() {
                        emit(Some(&family), &m);
                    }
                } else if let Some(m) = t.metadata_of(&metric) {
                    emit(None, &m);
                }
            }
        }
        out.push(b']');
        ok(&out)
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e.to_string())));
    reply(result, req.encoding)
}

/// `/api/v1/metadata` (`metric`, `limit`, `limit_per_metric`).
pub async fn metadata(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let limits = metadata_limit(&req, "limit")
        .and_then(|l| Ok((l, metadata_limit(&req, "limit_per_metric")?)));
    let (limit, per_metric) = match limits {
        Ok(l) => l,
        Err(e) => return reply(Err(e), req.encoding),
    };
    let metric = req.params.get("metric").to_string();
    let mut families: BTreeMap<String, Vec<Metadata>> = BTreeMap::new();
    for view in pools(&state).values() {
        for t in &view.active {
            let list = if metric.is_empty() {
                t.metadata_list()
            } else {
                t.metadata_of(&metric)
                    .map(|m| vec![(metric.clone(), m)])
                    .unwrap_or_default()
            };
            for (family, m) in list {
                let set = families.entry(family).or_default();
                if per_metric > 0 && set.len() as i64 >= per_metric {
                    continue;
                }
                if !set.contains(&m) {
                    set.push(m);
                }
            }
        }
    }
    let mut out = Vec::new();
    out.push(b'{');
    for (i, (family, set)) in families.iter().enumerate() {
        if limit >= 0 && i as i64 >= limit {
            break;
        }
        if i > 0 {
            out.push(b',');
        }
        write_str(&mut out, family);
        out.extend_from_slice(b":[");
        for (j, m) in set.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.push(b'{');
            write_metadata_fields(&mut out, m);
            out.push(b'}');
        }
        out.push(b']');
    }
    out.push(b'}');
    reply(ok(&out), req.encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(port: &str, scheme: &str, host: &str) -> GlobalUrlOptions {
        GlobalUrlOptions {
            listen_port: port.into(),
            scheme: scheme.into(),
            host: host.into(),
        }
    }

    #[test]
    fn global_url_rewrites_localhost_as_prometheus() {
        let o = opts("9090", "https", "prom.example:443");
        // Our own port: the external scheme and host.
        assert_eq!(
            o.global_url("http://localhost:9090/metrics"),
            "https://prom.example:443/metrics"
        );
        // Another local port: the external host name with the target's port.
        assert_eq!(
            o.global_url("http://127.0.0.1:9100/metrics?a=b"),
            "http://prom.example:9100/metrics?a=b"
        );
        assert_eq!(
            o.global_url("http://[::1]:9100/metrics"),
            "http://prom.example:9100/metrics"
        );
        // Remote targets are left alone.
        assert_eq!(
            o.global_url("http://node1:9100/metrics"),
            "http://node1:9100/metrics"
        );
    }
}
