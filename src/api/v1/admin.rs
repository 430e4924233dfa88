//! `/api/v1/admin/tsdb/{delete_series,clean_tombstones,snapshot}`.
//!
//! Without `--web.enable-admin-api` they answer as Prometheus does (`unavailable`,
//! `admin APIs disabled`). With it, the parameters are checked fully, as Prometheus checks
//! them; deleting series, cleaning tombstones and snapshots are storage features that
//! Ember does not have yet, and a valid request is answered with an error saying so.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::params::{self, go_parse_bool, ApiRequest};
use super::response::{reply, ApiError};
use crate::api::AppState;

fn admin_enabled(state: &AppState) -> Result<(), ApiError> {
    if state.options.flags.bool("web.enable-admin-api") {
        Ok(())
    } else {
        Err(ApiError::unavailable("admin APIs disabled"))
    }
}

fn not_yet(what: &str) -> ApiError {
    ApiError::unavailable(format!(
        "{what} is not available in Ember yet: it arrives with persistent blocks (tombstones, snapshots)"
    ))
}

/// `POST`/`PUT /api/v1/admin/tsdb/delete_series`.
pub async fn delete_series(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let encoding = req.encoding;
    let checked = (|| {
        admin_enabled(&state)?;
        let p = &req.params;
        let selectors: Vec<String> = p.all("match[]").map(str::to_string).collect();
        if selectors.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let start = params::time_param(p, "start", params::MIN_TIME)?;
        let end = params::time_param(p, "end", params::MAX_TIME)?;
        Ok((selectors, start, end))
    })();
    let (selectors, _start, _end) = match checked {
        Ok(c) => c,
        Err(e) => return reply(Err(e), encoding),
    };
    let parsed = tokio::task::spawn_blocking(move || {
        if selectors.len() > params::MAX_MATCHER_SETS {
            return Err(ApiError::invalid_param(
                "match[]",
                params::MatchersError::TooMany,
            ));
        }
        for s in &selectors {
            params::parse_selector(s).map_err(|e| ApiError::invalid_param("match[]", e))?;
        }
        Err(not_yet("deleting series"))
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e.to_string())));
    reply(parsed, encoding)
}

/// `POST`/`PUT /api/v1/admin/tsdb/clean_tombstones`.
pub async fn clean_tombstones(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let result = admin_enabled(&state).and_then(|()| Err(not_yet("cleaning tombstones")));
    reply(result, req.encoding)
}

/// `POST`/`PUT /api/v1/admin/tsdb/snapshot`.
pub async fn snapshot(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let result = admin_enabled(&state).and_then(|()| {
        let skip_head = req.params.get("skip_head");
        if !skip_head.is_empty() {
            go_parse_bool(skip_head).map_err(|e| {
                ApiError::invalid_param("skip_head", format!("unable to parse boolean: {e}"))
            })?;
        }
        Err(not_yet("taking snapshots"))
    });
    reply(result, req.encoding)
}
