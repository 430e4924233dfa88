//! Rule and alerting endpoints: `/api/v1/rules`, `/api/v1/alerts`,
//! `/api/v1/alertmanagers` and `/api/v1/notifications`.
//!
//! Rules and Alertmanager notifications have not landed in Ember yet: the answers are
//! Prometheus's with no rule groups, no alerts and no Alertmanagers, and the parameters
//! of `/api/v1/rules` are checked as Prometheus checks them.

use axum::response::Response;

use super::params::{self, go_parse_bool, parse_matcher_sets, ApiRequest};
use super::response::{reply, ApiError};

fn ok(data: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut e = super::json::Envelope::new();
    e.data().extend_from_slice(data);
    Ok(e.finish(&[], &[]))
}

/// `/api/v1/rules` (`type`, `rule_name[]`, `rule_group[]`, `file[]`, `match[]`,
/// `exclude_alerts`, `group_limit`, `group_next_token`).
pub async fn rules(req: ApiRequest) -> Response {
    let encoding = req.encoding;
    let selectors: Vec<String> = req.params.all("match[]").map(str::to_string).collect();
    let matched = tokio::task::spawn_blocking(move || {
        parse_matcher_sets(selectors.iter().map(String::as_str))
            .map(|_| ())
            .map_err(|e| ApiError::bad_data(e.to_string()))
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e.to_string())));
    let result = matched
        .and_then(|()| check_rules_params(&req))
        .and_then(|()| ok(br#"{"groups":[]}"#));
    reply(result, encoding)
}

/// The rest of `/api/v1/rules`'s parameters, in Prometheus's order. They are read from
/// the URL, as there.
fn check_rules_params(req: &ApiRequest) -> Result<(), ApiError> {
    let p = &req.params;
    let kind = p.url("type").to_ascii_lowercase();
    if !matches!(kind.as_str(), "" | "alert" | "record") {
        return Err(ApiError::invalid_param(
            "type",
            format!("not supported value {}", params::go_quote(&kind)),
        ));
    }
    let exclude = p.url("exclude_alerts").to_ascii_lowercase();
    if !exclude.is_empty() {
        go_parse_bool(&exclude).map_err(|e| {
            ApiError::invalid_param(
                "exclude_alerts",
                format!("error converting exclude_alerts: {e}"),
            )
        })?;
    }
    let group_limit = p.url("group_limit");
    let next_token = p.url("group_next_token");
    if !next_token.is_empty() && group_limit.is_empty() {
        return Err(ApiError::invalid_param(
            "group_next_token",
            "group_limit needs to be present in order to paginate over the groups",
        ));
    }
    if !group_limit.is_empty() {
        let n = group_limit.parse::<i32>().map_err(|_| {
            let reason = if params::go_atoi(group_limit).is_ok() {
                "value out of range"
            } else {
                "invalid syntax"
            };
            ApiError::invalid_param(
                "group_limit",
                format!(
                    "group_limit needs to be a valid number: strconv.ParseInt: parsing {}: {reason}",
                    params::go_quote(group_limit)
                ),
            )
        })?;
        if n <= 0 {
            return Err(ApiError::invalid_param(
                "group_limit",
                "group_limit needs to be greater than 0",
            ));
        }
        // There are no groups, so no token can name one.
        if !next_token.is_empty() {
            return Err(ApiError::invalid_param(
                "group_next_token",
                format!("invalid group_next_token '{next_token}'. were rule groups changed?"),
            ));
        }
    }
    Ok(())
}

/// `/api/v1/alerts`.
pub async fn alerts(req: ApiRequest) -> Response {
    reply(ok(br#"{"alerts":[]}"#), req.encoding)
}

/// `/api/v1/alertmanagers`.
pub async fn alertmanagers(req: ApiRequest) -> Response {
    reply(
        ok(br#"{"activeAlertmanagers":[],"droppedAlertmanagers":[]}"#),
        req.encoding,
    )
}

/// `/api/v1/notifications`: the server's notifications for its web UI; none yet.
pub async fn notifications(req: ApiRequest) -> Response {
    reply(ok(b"[]"), req.encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v1::params::Params;
    use crate::api::v1::response::Encoding;

    fn check(query: &str) -> Result<(), String> {
        let req = ApiRequest {
            params: Params::new(Some(query), None),
            encoding: Encoding::Identity,
        };
        check_rules_params(&req).map_err(|e| e.message)
    }

    /// Messages from Prometheus's `web/api/v1/api.go`.
    #[test]
    fn rules_parameters() {
        assert_eq!(check(""), Ok(()));
        assert_eq!(
            check("type=alert&exclude_alerts=true&group_limit=5"),
            Ok(())
        );
        assert_eq!(
            check("type=x"),
            Err("invalid parameter \"type\": not supported value \"x\"".into())
        );
        assert_eq!(
            check("exclude_alerts=maybe"),
            Err("invalid parameter \"exclude_alerts\": error converting exclude_alerts: strconv.ParseBool: parsing \"maybe\": invalid syntax".into())
        );
        assert_eq!(
            check("group_next_token=abc"),
            Err("invalid parameter \"group_next_token\": group_limit needs to be present in order to paginate over the groups".into())
        );
        assert_eq!(
            check("group_limit=0"),
            Err("invalid parameter \"group_limit\": group_limit needs to be greater than 0".into())
        );
        assert_eq!(
            check("group_limit=x"),
            Err("invalid parameter \"group_limit\": group_limit needs to be a valid number: strconv.ParseInt: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(
            check("group_limit=2&group_next_token=abc"),
            Err("invalid parameter \"group_next_token\": invalid group_next_token 'abc'. were rule groups changed?".into())
        );
    }
}
