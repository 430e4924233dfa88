//! Scrape-side endpoints: `/api/v1/targets`, `/api/v1/scrape_pools`,
//! `/api/v1/targets/metadata` and `/api/v1/metadata`.
//!
//! Scraping has not landed in Ember yet, so there are no targets and no metadata: the
//! answers are Prometheus's for an empty scrape manager, with the parameters checked as
//! Prometheus checks them. They fill in when scraping arrives.

use axum::response::Response;

use super::params::{self, ApiRequest};
use super::response::{reply, ApiError};

fn ok(data: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut e = super::json::Envelope::new();
    e.data().extend_from_slice(data);
    Ok(e.finish(&[], &[]))
}

/// `/api/v1/targets` (`scrapePool` and `state` filters).
pub async fn targets(req: ApiRequest) -> Response {
    let state = req.params.url("state").to_ascii_lowercase();
    let show_dropped = matches!(state.as_str(), "" | "any" | "dropped");
    // Dropped targets come with their counts per pool; without them the field is null.
    let body: &[u8] = if show_dropped {
        br#"{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}"#
    } else {
        br#"{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":null}"#
    };
    reply(ok(body), req.encoding)
}

/// `/api/v1/scrape_pools`.
pub async fn scrape_pools(req: ApiRequest) -> Response {
    reply(ok(br#"{"scrapePools":[]}"#), req.encoding)
}

/// Reads an optional integer limit as the metadata endpoints do (`<name> must be a
/// number`).
fn metadata_limit(req: &ApiRequest, name: &str) -> Result<(), ApiError> {
    let v = req.params.get(name);
    if !v.is_empty() && params::go_atoi(v).is_err() {
        return Err(ApiError::bad_data(format!("{name} must be a number")));
    }
    Ok(())
}

/// `/api/v1/targets/metadata` (`match_target`, `metric`, `limit`).
pub async fn target_metadata(req: ApiRequest) -> Response {
    if let Err(e) = metadata_limit(&req, "limit") {
        return reply(Err(e), req.encoding);
    }
    let target = req.params.get("match_target").to_string();
    let result = tokio::task::spawn_blocking(move || {
        if !target.is_empty() {
            params::parse_selector(&target)
                .map_err(|e| ApiError::invalid_param("match_target", e))?;
        }
        ok(b"[]")
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e.to_string())));
    reply(result, req.encoding)
}

/// `/api/v1/metadata` (`metric`, `limit`, `limit_per_metric`).
pub async fn metadata(req: ApiRequest) -> Response {
    let result = (|| {
        metadata_limit(&req, "limit")?;
        metadata_limit(&req, "limit_per_metric")?;
        ok(b"{}")
    })();
    reply(result, req.encoding)
}
