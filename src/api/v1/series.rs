//! Metadata queries over the stored series: `/api/v1/series`, `/api/v1/labels` and
//! `/api/v1/label/<name>/values`, through the storage [`Querier`].
//!
//! Parameters and messages are Prometheus's (`match[]`, `start`, `end`, `limit`, and the
//! `results truncated due to limit` warning). Several `match[]` selectors union their
//! results. Series are listed sorted by their labels. The selection runs on a blocking
//! thread and stops when the client goes away.
//!
//! [`Querier`]: ember_storage::querier::Querier

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use ember_query::CancelToken;
use ember_storage::matcher::Matcher;
use ember_storage::querier::{LabelHints, Querier, SelectHints};
use ember_storage::Labels;

use super::json::{self, Envelope};
use super::params::{self, parse_limit, parse_matcher_sets, ApiRequest, Params};
use super::response::{reply, ApiError, ApiResult};
use crate::api::AppState;

const TRUNCATED: &str = "results truncated due to limit";

/// How often (in series) a long listing checks whether its client went away.
const CANCEL_CHECK_EVERY: usize = 128;

/// The time range and limit shared by the three endpoints.
struct Range {
    start: i64,
    end: i64,
    limit: usize,
}

fn range_and_limit(p: &Params) -> Result<Range, ApiError> {
    let limit = parse_limit(p.get("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
    let start = params::time_param(p, "start", params::MIN_TIME)?;
    let end = params::time_param(p, "end", params::MAX_TIME)?;
    Ok(Range { start, end, limit })
}

/// Runs `work` on a blocking thread with a cancellation token that fires if the client
/// disconnects, and answers with its outcome.
async fn blocking(
    state: &Arc<AppState>,
    encoding: super::response::Encoding,
    work: impl FnOnce(&dyn Querier, &CancelToken) -> ApiResult + Send + 'static,
    range: (i64, i64),
) -> Response {
    let Some(db) = state.db().cloned() else {
        return reply(
            Err(ApiError::unavailable("the storage is not open yet")),
            encoding,
        );
    };
    let token = CancelToken::new();
    let cancel_on_drop = CancelGuard(Some(token.clone()));
    let task = tokio::task::spawn_blocking(move || {
        let querier = db.querier(range.0, range.1);
        work(&querier, &token)
    });
    let result = task.await;
    cancel_on_drop.disarm();
    reply(
        result.unwrap_or_else(|e| Err(ApiError::internal(e.to_string()))),
        encoding,
    )
}

struct CancelGuard(Option<CancelToken>);

impl CancelGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

fn storage_error(e: ember_storage::querier::QueryError) -> ApiError {
    ApiError::execution(e.to_string())
}

fn canceled() -> ApiError {
    ApiError::new(super::response::ErrorType::Canceled, "context canceled")
}

/// `/api/v1/series`.
pub async fn series(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let p = &req.params;
    let selectors: Vec<String> = p.all("match[]").map(str::to_string).collect();
    if selectors.is_empty() {
        return reply(
            Err(ApiError::bad_data("no match[] parameter provided")),
            req.encoding,
        );
    }
    let r = match range_and_limit(p) {
        Ok(r) => r,
        Err(e) => return reply(Err(e), req.encoding),
    };
    let (start, end, limit) = (r.start, r.end, r.limit);
    let work = move |q: &dyn Querier, token: &CancelToken| -> ApiResult {
        let sets = parse_matcher_sets(selectors.iter().map(String::as_str))
            .map_err(|e| ApiError::invalid_param("match[]", e))?;
        let hints = SelectHints {
            start,
            end,
            func: Some("series".to_string()),
            limit: hint_limit(limit),
            ..SelectHints::default()
        };
        let mut found: Vec<Labels> = Vec::new();
        for set in &sets {
            for (i, s) in q
                .select(true, Some(&hints), set)
                .map_err(storage_error)?
                .enumerate()
            {
                if i % CANCEL_CHECK_EVERY == 0 && token.is_canceled() {
                    return Err(canceled());
                }
                found.push(s.map_err(storage_error)?.into_labels());
            }
        }
        found.sort_unstable();
        found.dedup();
        let truncated = limit > 0 && found.len() > limit;
        if truncated {
            found.truncate(limit);
        }
        let mut e = Envelope::with_capacity(found.len() * 64);
        let out = e.data();
        out.push(b'[');
        for (i, l) in found.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_labels(out, l);
        }
        out.push(b']');
        Ok(e.finish(&warnings(truncated), &[]))
    };
    blocking(&state, req.encoding, work, (start, end)).await
}

/// `/api/v1/labels`.
pub async fn label_names(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let p = &req.params;
    let r = match range_and_limit(p) {
        Ok(r) => r,
        Err(e) => return reply(Err(e), req.encoding),
    };
    let selectors: Vec<String> = p.all("match[]").map(str::to_string).collect();
    let limit = r.limit;
    let work = move |q: &dyn Querier, _: &CancelToken| -> ApiResult {
        let sets = matcher_sets(&selectors)?;
        let hints = LabelHints {
            limit: hint_limit(limit),
        };
        let names = collect_union(&sets, |ms| q.label_names(&hints, ms))?;
        Ok(string_list(names, limit))
    };
    blocking(&state, req.encoding, work, (r.start, r.end)).await
}

/// `/api/v1/label/<name>/values`; names outside the legacy character set come escaped
/// (`U__` encoding).
pub async fn label_values(
    State(state): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    req: ApiRequest,
) -> Response {
    let raw = match name {
        Ok(Path(n)) => n,
        Err(_) => {
            return reply(
                Err(ApiError::bad_data(
                    "invalid label name: the path is not valid UTF-8",
                )),
                req.encoding,
            )
        }
    };
    let name = params::unescape_label_name(&raw);
    if name.is_empty() {
        return reply(
            Err(ApiError::bad_data(format!(
                "invalid label name: {}",
                params::go_quote(&name)
            ))),
            req.encoding,
        );
    }
    let p = &req.params;
    let r = match range_and_limit(p) {
        Ok(r) => r,
        Err(e) => return reply(Err(e), req.encoding),
    };
    let selectors: Vec<String> = p.all("match[]").map(str::to_string).collect();
    let limit = r.limit;
    let work = move |q: &dyn Querier, _: &CancelToken| -> ApiResult {
        let sets = matcher_sets(&selectors)?;
        let hints = LabelHints {
            limit: hint_limit(limit),
        };
        let values = collect_union(&sets, |ms| q.label_values(&name, &hints, ms))?;
        Ok(string_list(values, limit))
    };
    blocking(&state, req.encoding, work, (r.start, r.end)).await
}

/// `match[]` for the label endpoints: errors without the parameter's name, as there.
fn matcher_sets(selectors: &[String]) -> Result<Vec<Vec<Matcher>>, ApiError> {
    parse_matcher_sets(selectors.iter().map(String::as_str))
        .map_err(|e| ApiError::bad_data(e.to_string()))
}

/// The union of a look-up over every matcher set (or over no matchers when none given),
/// sorted.
fn collect_union(
    sets: &[Vec<Matcher>],
    mut lookup: impl FnMut(&[Matcher]) -> Result<Vec<String>, ember_storage::querier::QueryError>,
) -> Result<Vec<String>, ApiError> {
    if sets.is_empty() {
        return lookup(&[]).map_err(storage_error);
    }
    if sets.len() == 1 {
        return lookup(&sets[0]).map_err(storage_error);
    }
    let mut all = BTreeSet::new();
    for set in sets {
        all.extend(lookup(set).map_err(storage_error)?);
    }
    Ok(all.into_iter().collect())
}

/// A sorted string list as the API answers it, cut at `limit` with a warning.
fn string_list(mut items: Vec<String>, limit: usize) -> Vec<u8> {
    items.sort_unstable();
    let truncated = limit > 0 && items.len() > limit;
    if truncated {
        items.truncate(limit);
    }
    let mut e = Envelope::with_capacity(items.iter().map(|s| s.len() + 3).sum::<usize>() + 16);
    json::write_str_array(e.data(), items.iter().map(String::as_str));
    e.finish(&warnings(truncated), &[])
}

fn warnings(truncated: bool) -> Vec<String> {
    if truncated {
        vec![TRUNCATED.to_string()]
    } else {
        Vec::new()
    }
}

/// One more than the API's limit, so that truncation can be noticed (Prometheus's
/// `toHintLimit`); 0 stays "no limit".
fn hint_limit(limit: usize) -> usize {
    if limit > 0 {
        limit.saturating_add(1)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_cut_with_a_warning() {
        let body = string_list(vec!["b".into(), "a".into(), "c".into()], 2);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"status":"success","data":["a","b"],"warnings":["results truncated due to limit"]}"#
        );
        let body = string_list(vec![], 0);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"status":"success","data":[]}"#
        );
        assert_eq!(hint_limit(0), 0);
        assert_eq!(hint_limit(5), 6);
    }
}
