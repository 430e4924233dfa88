//! Expression queries: `/api/v1/query`, `/api/v1/query_range`, `/api/v1/query_exemplars`,
//! `/api/v1/format_query` and `/api/v1/parse_query`.
//!
//! Parameters are checked on the async runtime, in Prometheus's order and with its
//! messages. Parsing, evaluation, serialisation and compression then run on a blocking
//! thread (`spawn_blocking`): they are CPU-bound and may take seconds. The query's
//! [`CancelToken`] is cancelled when the handler is dropped, which hyper does when the
//! client goes away, so an abandoned query stops at its next cancellation check.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ember_query::value::Steps;
use ember_query::{CancelToken, QueryError, QueryOpts, QueryResult, QueryStats, Value};
use promql_parser::parser::Expr;

use super::json::{self, Envelope};
use super::params::{self, parse_duration, parse_limit, parse_query, ApiRequest, Params};
use super::response::{self, encoded_response, ApiError, ApiResult, Encoding};
use crate::api::AppState;

/// Points one range query may return per series (Prometheus's limit).
const MAX_POINTS_PER_SERIES: i128 = 11_000;

/// At most this many warnings and infos are listed; the rest are counted.
const MAX_ANNOTATIONS: usize = 10;

/// A query request, checked and ready to run.
struct QueryRequest {
    query: String,
    steps: Steps,
    range: bool,
    limit: usize,
    /// The `timeout` parameter in nanoseconds, if given (may be zero or negative).
    timeout: Option<i64>,
    lookback_delta: Option<i64>,
    stats: String,
}

impl QueryRequest {
    /// `/api/v1/query`'s parameters, in Prometheus's order.
    fn instant(p: &Params, now: i64) -> Result<QueryRequest, ApiError> {
        let limit = parse_limit(p.get("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
        let t = params::time_param(p, "time", now)?;
        let timeout = timeout_param(p)?;
        let lookback_delta = lookback_param(p)?;
        Ok(QueryRequest {
            query: p.get("query").to_string(),
            steps: Steps::instant(t),
            range: false,
            limit,
            timeout,
            lookback_delta,
            stats: p.get("stats").to_string(),
        })
    }

    /// `/api/v1/query_range`'s parameters, in Prometheus's order.
    fn range(p: &Params) -> Result<QueryRequest, ApiError> {
        let limit = parse_limit(p.get("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
        let start =
            params::parse_time(p.get("start")).map_err(|e| ApiError::invalid_param("start", e))?;
        let end =
            params::parse_time(p.get("end")).map_err(|e| ApiError::invalid_param("end", e))?;
        if end < start {
            return Err(ApiError::invalid_param(
                "end",
                "end timestamp must not be before start time",
            ));
        }
        let step = parse_duration(p.get("step")).map_err(|e| ApiError::invalid_param("step", e))?;
        if step <= 0 {
            return Err(ApiError::invalid_param(
                "step",
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        // As Go's time.Duration arithmetic: (end - start) / step, in nanoseconds.
        let span = (i128::from(end) - i128::from(start)) * 1_000_000;
        if span / i128::from(step) > MAX_POINTS_PER_SERIES {
            return Err(ApiError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        let timeout = timeout_param(p)?;
        let lookback_delta = lookback_param(p)?;
        // The engine works in milliseconds; a step below one cannot be evaluated.
        let step_ms = step / 1_000_000;
        if step_ms <= 0 {
            return Err(ApiError::invalid_param(
                "step",
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        Ok(QueryRequest {
            query: p.get("query").to_string(),
            steps: Steps::range(start, end, step_ms),
            range: true,
            limit,
            timeout,
            lookback_delta,
            stats: p.get("stats").to_string(),
        })
    }
}

fn timeout_param(p: &Params) -> Result<Option<i64>, ApiError> {
    let v = p.get("timeout");
    if v.is_empty() {
        return Ok(None);
    }
    parse_duration(v)
        .map(Some)
        .map_err(|e| ApiError::invalid_param("timeout", e))
}

/// `lookback_delta` in milliseconds; zero or negative means the engine's default.
fn lookback_param(p: &Params) -> Result<Option<i64>, ApiError> {
    let v = p.get("lookback_delta");
    if v.is_empty() {
        return Ok(None);
    }
    let ns = parse_duration(v)
        .map_err(|e| ApiError::bad_data(format!("error parsing lookback delta duration: {e}")))?;
    Ok(Some(ns / 1_000_000).filter(|&ms| ms > 0))
}

/// Now, in milliseconds.
fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Cancels a query's token when dropped, unless disarmed: the handler future is dropped
/// when the client disconnects.
struct CancelOnDrop(Option<CancelToken>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            token.cancel();
        }
    }
}

/// Counts a query in `prometheus_engine_queries` while it lives.
struct RunningQuery<'a>(&'a prometheus::IntGauge);

impl<'a> RunningQuery<'a> {
    fn start(gauge: &'a prometheus::IntGauge) -> RunningQuery<'a> {
        gauge.inc();
        RunningQuery(gauge)
    }
}

impl Drop for RunningQuery<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub async fn query(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    match QueryRequest::instant(&req.params, now_millis()) {
        Ok(q) => run(state, q, req.encoding).await,
        Err(e) => e.into_response_with(req.encoding),
    }
}

pub async fn query_range(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    match QueryRequest::range(&req.params) {
        Ok(q) => run(state, q, req.encoding).await,
        Err(e) => e.into_response_with(req.encoding),
    }
}

/// Runs a checked query on a blocking thread and answers with its result.
async fn run(state: Arc<AppState>, q: QueryRequest, encoding: Encoding) -> Response {
    let Some(db) = state.db().cloned() else {
        return ApiError::unavailable("the storage is not open yet").into_response_with(encoding);
    };
    let token = CancelToken::new();
    let guard = CancelOnDrop(Some(token.clone()));
    let task_state = Arc::clone(&state);
    let task = tokio::task::spawn_blocking(move || {
        let _running = RunningQuery::start(&task_state.api_v1.engine_metrics.queries);
        let outcome = execute(&task_state, db.as_ref(), &q, token);
        let body = outcome.map(|r| {
            task_state.api_v1.engine_metrics.observe(&r.stats);
            render(&q, r)
        });
        body.map(|body| encoding.encode(body))
    });
    let joined = task.await;
    guard.disarm();
    match joined {
        Ok(Ok((body, used))) => encoded_response(StatusCode::OK, body, used),
        Ok(Err(e)) => e.into_response_with(encoding),
        Err(e) => {
            ApiError::internal(format!("query evaluation failed: {e}")).into_response_with(encoding)
        }
    }
}

/// Parses and evaluates a query.
fn execute(
    state: &AppState,
    storage: &ember_storage::db::Db,
    q: &QueryRequest,
    token: CancelToken,
) -> Result<QueryResult, ApiError> {
    let expr = parse_query(&q.query).map_err(|e| ApiError::invalid_param("query", e))?;
    let timeout = q
        .timeout
        .map(|ns| Duration::from_nanos(u64::try_from(ns).unwrap_or(0)));
    if timeout.is_some_and(|t| t.is_zero()) {
        return Err(ApiError::from_query(QueryError::Timeout("query execution")));
    }
    let opts = QueryOpts {
        lookback_delta: q.lookback_delta,
        timeout,
        cancel: Some(token),
    };
    let started = Instant::now();
    let result = state
        .engine
        .exec(storage, &q.query, &expr, q.steps, q.range, &opts);
    drop_expr(expr);
    let result = result.map_err(|e| match e {
        // Raised before evaluation starts (a range query over a range vector, a bad
        // regex): Prometheus reports these as a bad `query` parameter.
        QueryError::Parse(msg) => ApiError::invalid_param("query", msg),
        other => ApiError::from_query(other),
    })?;
    // A query that outlived its `timeout` has timed out, even if it finished.
    if timeout.is_some_and(|t| started.elapsed() > t) {
        return Err(ApiError::from_query(QueryError::Timeout("query execution")));
    }
    Ok(result)
}

/// Drops a syntax tree without recursing once per level (the nesting check bounds the
/// depth, this keeps dropping cheap on the stack regardless).
fn drop_expr(expr: Expr) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Aggregate(a) => {
                stack.push(*a.expr);
                if let Some(p) = a.param {
                    stack.push(*p);
                }
            }
            Expr::Unary(u) => stack.push(*u.expr),
            Expr::Binary(b) => {
                stack.push(*b.lhs);
                stack.push(*b.rhs);
            }
            Expr::Paren(p) => stack.push(*p.expr),
            Expr::Subquery(s) => stack.push(*s.expr),
            Expr::Call(c) => stack.extend(c.args.args.into_iter().map(|a| *a)),
            _ => {}
        }
    }
}

/// The response body of a successful query.
fn render(q: &QueryRequest, result: QueryResult) -> Vec<u8> {
    let QueryResult {
        mut value,
        annotations,
        stats,
    } = result;
    let mut warnings: Vec<String> = annotations.warnings().map(str::to_string).collect();
    let infos: Vec<String> = annotations.infos().map(str::to_string).collect();
    if q.limit > 0 && truncate(&mut value, q.limit) {
        warnings.push("results truncated due to limit".to_string());
    }
    if !matches!(q.stats.as_str(), "" | "true" | "all") {
        warnings.push(format!(
            "value {} for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\"",
            params::go_quote(&q.stats)
        ));
    }
    let mut envelope = Envelope::with_capacity(estimate_size(&value));
    let out = envelope.data();
    out.extend_from_slice(br#"{"resultType":"#);
    json::write_str(out, value.type_name());
    out.extend_from_slice(br#","result":"#);
    json::write_query_value(out, &value);
    if !q.stats.is_empty() {
        out.extend_from_slice(br#","stats":"#);
        write_stats(out, &stats, q.stats == "all");
    }
    out.push(b'}');
    envelope.finish(
        &cap_annotations(warnings, "warning"),
        &cap_annotations(infos, "info"),
    )
}

/// Truncates vectors and matrices to `limit` series; whether anything was cut.
fn truncate(value: &mut Value, limit: usize) -> bool {
    match value {
        Value::Vector(v) if v.len() > limit => {
            v.truncate(limit);
            true
        }
        Value::Matrix(m) if m.len() > limit => {
            m.truncate(limit);
            true
        }
        _ => false,
    }
}

/// At most [`MAX_ANNOTATIONS`], then `N more <kind> annotations omitted`.
fn cap_annotations(mut list: Vec<String>, kind: &str) -> Vec<String> {
    if list.len() > MAX_ANNOTATIONS {
        let skipped = list.len() - MAX_ANNOTATIONS;
        list.truncate(MAX_ANNOTATIONS);
        list.push(format!("{skipped} more {kind} annotations omitted"));
    }
    list
}

/// A guess of the JSON size, to allocate the buffer once.
fn estimate_size(value: &Value) -> usize {
    match value {
        Value::Matrix(m) => m.iter().map(|s| 64 + s.floats.len() * 28).sum::<usize>() + 64,
        Value::Vector(v) => v.len() * 96 + 64,
        _ => 128,
    }
}

/// Prometheus's `stats.BuiltinStats`: timings in seconds and sample counts.
fn write_stats(out: &mut Vec<u8>, s: &QueryStats, all: bool) {
    out.extend_from_slice(br#"{"timings":{"evalTotalTime":"#);
    json::write_number(out, s.eval_total_time.as_secs_f64());
    out.extend_from_slice(br#","resultSortTime":"#);
    json::write_number(out, s.result_sort_time.as_secs_f64());
    out.extend_from_slice(br#","queryPreparationTime":"#);
    json::write_number(out, s.query_preparation_time.as_secs_f64());
    out.extend_from_slice(br#","innerEvalTime":"#);
    json::write_number(out, s.inner_eval_time.as_secs_f64());
    out.extend_from_slice(br#","execQueueTime":"#);
    json::write_number(out, s.exec_queue_time.as_secs_f64());
    out.extend_from_slice(br#","execTotalTime":"#);
    json::write_number(out, s.exec_total_time.as_secs_f64());
    out.extend_from_slice(br#"},"samples":{"#);
    if all && !s.per_step.is_empty() {
        out.extend_from_slice(br#""totalQueryableSamplesPerStep":["#);
        for (i, (t, n)) in s.per_step.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            json::write_number(out, *t as f64 / 1000.0);
            out.push(b',');
            json::write_int(out, *n);
            out.push(b']');
        }
        out.extend_from_slice(b"],");
    }
    out.extend_from_slice(br#""totalQueryableSamples":"#);
    json::write_int(out, s.total_queryable_samples);
    // Ember counts each sample once per query; what it reads is what it loads.
    out.extend_from_slice(br#","samplesRead":"#);
    json::write_int(out, s.total_queryable_samples);
    out.extend_from_slice(br#","peakSamples":"#);
    json::write_int(out, s.peak_samples);
    out.extend_from_slice(b"}}");
}

/// `/api/v1/query_exemplars`: parameters checked as Prometheus checks them; Ember stores
/// no exemplars yet, so a query with selectors finds none.
pub async fn query_exemplars(req: ApiRequest) -> Response {
    let p = &req.params;
    let checked = (|| {
        let start = params::time_param(p, "start", params::MIN_TIME)?;
        let end = params::time_param(p, "end", params::MAX_TIME)?;
        if end < start {
            return Err(ApiError::bad_data(
                "end timestamp must not be before start timestamp",
            ));
        }
        Ok(p.get("query").to_string())
    })();
    let query = match checked {
        Ok(q) => q,
        Err(e) => return e.into_response_with(req.encoding),
    };
    let encoding = req.encoding;
    let parsed = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
        let expr = parse_query(&query).map_err(ApiError::bad_data)?;
        let has_selectors = has_selectors(&expr);
        drop_expr(expr);
        Ok(has_selectors)
    })
    .await;
    match parsed {
        // No selectors, no data: Prometheus answers 204.
        Ok(Ok(false)) => response::no_content(),
        Ok(Ok(true)) => {
            let mut e = Envelope::new();
            e.data().extend_from_slice(b"[]");
            response::reply(Ok(e.finish(&[], &[])), encoding)
        }
        Ok(Err(e)) => e.into_response_with(encoding),
        Err(e) => ApiError::internal(e.to_string()).into_response_with(encoding),
    }
}

/// Whether an expression contains a vector or range selector.
fn has_selectors(expr: &Expr) -> bool {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::VectorSelector(_) | Expr::MatrixSelector(_) => return true,
            Expr::Aggregate(a) => {
                stack.push(&a.expr);
                if let Some(p) = &a.param {
                    stack.push(p);
                }
            }
            Expr::Unary(u) => stack.push(&u.expr),
            Expr::Binary(b) => {
                stack.push(&b.lhs);
                stack.push(&b.rhs);
            }
            Expr::Paren(p) => stack.push(&p.expr),
            Expr::Subquery(s) => stack.push(&s.expr),
            Expr::Call(c) => stack.extend(c.args.args.iter().map(|a| &**a)),
            _ => {}
        }
    }
    false
}

/// `/api/v1/format_query`: the query pretty-printed.
pub async fn format_query(req: ApiRequest) -> Response {
    let query = req.params.get("query").to_string();
    let encoding = req.encoding;
    let result = tokio::task::spawn_blocking(move || -> ApiResult {
        let expr = parse_query(&query).map_err(|e| ApiError::invalid_param("query", e))?;
        let pretty = expr.prettify();
        drop_expr(expr);
        let mut e = Envelope::new();
        json::write_str(e.data(), &pretty);
        Ok(e.finish(&[], &[]))
    })
    .await;
    response::reply(flatten(result), encoding)
}

/// `/api/v1/parse_query`: the query's syntax tree as JSON.
pub async fn parse_query_ast(req: ApiRequest) -> Response {
    let query = req.params.get("query").to_string();
    let encoding = req.encoding;
    let result = tokio::task::spawn_blocking(move || -> ApiResult {
        let expr = parse_query(&query).map_err(|e| ApiError::invalid_param("query", e))?;
        let mut e = Envelope::new();
        super::ast::write_ast(e.data(), &expr);
        drop_expr(expr);
        Ok(e.finish(&[], &[]))
    })
    .await;
    response::reply(flatten(result), encoding)
}

fn flatten(r: Result<ApiResult, tokio::task::JoinError>) -> ApiResult {
    r.unwrap_or_else(|e| Err(ApiError::internal(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_query::value::{FPoint, Sample, Series};
    use ember_storage::Labels;

    fn req(query: &str, extra: &str) -> Params {
        Params::new(Some(&format!("query={query}{extra}")), None)
    }

    fn render_str(q: &QueryRequest, value: Value) -> String {
        let r = QueryResult {
            value,
            annotations: Default::default(),
            stats: QueryStats::default(),
        };
        String::from_utf8(render(q, r)).unwrap()
    }

    #[test]
    fn range_parameters_are_checked_in_prometheus_order() {
        let err = |extra: &str| {
            QueryRequest::range(&req("up", extra))
                .err()
                .unwrap()
                .message
        };
        assert_eq!(
            err("&start=x&end=1&step=1"),
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"
        );
        assert_eq!(
            err("&start=10&end=1&step=1"),
            "invalid parameter \"end\": end timestamp must not be before start time"
        );
        assert_eq!(
            err("&start=1&end=10&step=0"),
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"
        );
        assert_eq!(
            err("&start=1&end=10&step=abc"),
            "invalid parameter \"step\": cannot parse \"abc\" to a valid duration"
        );
        // 11,000 points are fine, 11,001 are not.
        assert!(QueryRequest::range(&req("up", "&start=0&end=11000&step=1")).is_ok());
        assert_eq!(
            err("&start=0&end=11001&step=1"),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
        );
        assert_eq!(
            err("&start=0&end=10&step=1&limit=-1"),
            "invalid parameter \"limit\": limit must be non-negative"
        );
        assert_eq!(
            err("&start=0&end=10&step=1&lookback_delta=x"),
            "error parsing lookback delta duration: cannot parse \"x\" to a valid duration"
        );
        let ok = QueryRequest::range(&req("up", "&start=0&end=60&step=15s&timeout=0.5")).unwrap();
        assert_eq!(ok.steps, Steps::range(0, 60_000, 15_000));
        assert_eq!(ok.timeout, Some(500_000_000));
    }

    #[test]
    fn instant_time_defaults_to_now() {
        let q = QueryRequest::instant(&req("up", ""), 12_345).unwrap();
        assert_eq!(q.steps, Steps::instant(12_345));
        let e = QueryRequest::instant(&req("up", "&time=abc"), 0)
            .err()
            .unwrap();
        assert_eq!(
            e.message,
            "invalid parameter \"time\": invalid time value for 'time': cannot parse \"abc\" to a valid timestamp"
        );
    }

    /// The documented example of an instant query's answer (docs/querying/api.md).
    #[test]
    fn vectors_render_as_the_documented_example() {
        let q = QueryRequest::instant(&req("up", ""), 0).unwrap();
        let body = render_str(
            &q,
            Value::Vector(vec![
                Sample {
                    metric: Labels::from_pairs([
                        ("__name__", "up"),
                        ("job", "prometheus"),
                        ("instance", "localhost:9090"),
                    ]),
                    t: 1_435_781_451_781,
                    f: 1.0,
                },
                Sample {
                    metric: Labels::from_pairs([
                        ("__name__", "up"),
                        ("job", "node"),
                        ("instance", "localhost:9100"),
                    ]),
                    t: 1_435_781_451_781,
                    f: 0.0,
                },
            ]),
        );
        let expected = serde_json::json!({
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [
                    {"metric": {"__name__": "up", "job": "prometheus", "instance": "localhost:9090"},
                     "value": [1435781451.781, "1"]},
                    {"metric": {"__name__": "up", "job": "node", "instance": "localhost:9100"},
                     "value": [1435781451.781, "0"]}
                ]
            }
        });
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            expected
        );
        // Labels in name order, as Prometheus's label sets.
        assert!(
            body.contains(r#"{"__name__":"up","instance":"localhost:9090","job":"prometheus"}"#)
        );
    }

    /// The documented range query example's shape, and the limit's warning.
    #[test]
    fn matrices_render_values_and_limits_warn() {
        let mut q = QueryRequest::range(&req("up", "&start=0&end=30&step=15")).unwrap();
        let series = |job: &str| {
            Series::new(
                Labels::from_pairs([("__name__", "up"), ("job", job)]),
                vec![
                    FPoint {
                        t: 1_435_781_430_781,
                        f: 1.0,
                    },
                    FPoint {
                        t: 1_435_781_445_781,
                        f: 1.0,
                    },
                ],
            )
        };
        let body = render_str(&q, Value::Matrix(vec![series("a"), series("b")]));
        assert_eq!(
            body,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[1435781430.781,"1"],[1435781445.781,"1"]]},{"metric":{"__name__":"up","job":"b"},"values":[[1435781430.781,"1"],[1435781445.781,"1"]]}]}}"#
        );
        q.limit = 1;
        let body = render_str(&q, Value::Matrix(vec![series("a"), series("b")]));
        assert!(
            body.ends_with(r#""job":"a"},"values":[[1435781430.781,"1"],[1435781445.781,"1"]]}]},"warnings":["results truncated due to limit"]}"#),
            "{body}"
        );
    }

    #[test]
    fn scalars_strings_and_stats() {
        let mut q = QueryRequest::instant(&req("1", "&stats=all"), 0).unwrap();
        let body = render_str(&q, Value::Scalar { t: 1_000, v: 2.5 });
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["data"]["result"], serde_json::json!([1, "2.5"]));
        let stats = &v["data"]["stats"];
        for key in [
            "evalTotalTime",
            "resultSortTime",
            "queryPreparationTime",
            "innerEvalTime",
            "execQueueTime",
            "execTotalTime",
        ] {
            assert!(stats["timings"][key].is_number(), "{key}");
        }
        for key in ["totalQueryableSamples", "samplesRead", "peakSamples"] {
            assert!(stats["samples"][key].is_u64(), "{key}");
        }
        q.stats = "1".into();
        let body = render_str(
            &q,
            Value::String {
                t: 1_500,
                v: "a<b".into(),
            },
        );
        assert!(body.contains(r#""result":[1.500,"a\u003cb"]"#), "{body}");
        assert!(body.contains(r#""warnings":["value \"1\" for parameter \"stats\" is deprecated"#));
    }

    #[test]
    fn a_dropped_handler_cancels_its_query() {
        let token = CancelToken::new();
        drop(CancelOnDrop(Some(token.clone())));
        assert!(token.is_canceled());
        let token = CancelToken::new();
        CancelOnDrop(Some(token.clone())).disarm();
        assert!(!token.is_canceled());
    }

    #[test]
    fn annotations_are_capped_at_ten() {
        let list: Vec<String> = (0..13).map(|i| format!("w{i}")).collect();
        let capped = cap_annotations(list, "warning");
        assert_eq!(capped.len(), 11);
        assert_eq!(capped[10], "3 more warning annotations omitted");
    }

    #[test]
    fn deep_trees_drop_without_recursion() {
        let q = format!("{}1{}", "(".repeat(900), ")".repeat(900));
        let expr = parse_query(&q).unwrap();
        assert!(!has_selectors(&expr));
        drop_expr(expr);
        assert!(has_selectors(&parse_query("1 + sum(rate(x[5m]))").unwrap()));
    }
}
