//! The Prometheus HTTP API, `/api/v1/...`, as Prometheus 3 serves it (except remote write
//! and read, and `/federate`, which live elsewhere).
//!
//! | module             | concern                                                     |
//! |--------------------|-------------------------------------------------------------|
//! | [`params`]         | parameters: times, durations, limits, `match[]`, PromQL      |
//! | [`json`]           | JSON output byte for byte as Prometheus writes it           |
//! | [`response`]       | error kinds and codes, compression, responses               |
//! | [`query`]          | `query`, `query_range`, `query_exemplars`, `format_query`, `parse_query` |
//! | [`ast`]            | `parse_query`'s syntax tree                                  |
//! | [`series`]         | `series`, `labels`, `label/<name>/values`                    |
//! | [`status`]         | `status/*`                                                   |
//! | [`targets`]        | `targets`, `scrape_pools`, `targets/metadata`, `metadata`    |
//! | [`rules`]          | `rules`, `alerts`, `alertmanagers`, `notifications`          |
//! | [`admin`]          | `admin/tsdb/*`                                               |
//! | [`engine_metrics`] | `prometheus_engine_*`                                        |
//!
//! Every route is counted in `prometheus_http_requests_total` under Prometheus's handler
//! name (`/api/v1/query`, `/api/v1/label/:name/values`), answers `OPTIONS` with `204` and
//! the CORS headers, and, except `status/walreplay` and `notifications`, answers `503`
//! until the server is ready. Unknown paths under `/api/v1/` get a JSON `404`, and known
//! paths a JSON `405` with `Allow` for other methods.

pub mod admin;
pub mod ast;
pub mod engine_metrics;
pub mod json;
pub mod params;
pub mod query;
pub mod response;
pub mod rules;
pub mod series;
pub mod status;
pub mod targets;

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::Router;
use ember_storage::db::ReplayProgress;
use parking_lot::RwLock;
use prometheus::Registry;

use super::instrument::{instrumented, HttpMetrics};
use super::{lifecycle, AppState};
use crate::cli::Options;
use engine_metrics::EngineMetrics;
use response::{ApiError, ErrorType};

/// What the API needs besides the storage and the engine.
pub struct ApiState {
    /// `prometheus_engine_*`.
    pub engine_metrics: EngineMetrics,
    /// Progress of the start-up WAL replay (`status/walreplay`).
    pub replay: Arc<ReplayProgress>,
    /// When the server started (`status/runtimeinfo`).
    pub start_time: SystemTime,
    /// The working directory at start-up.
    pub cwd: String,
    /// `--web.cors.origin`, compiled.
    cors: Option<regex::Regex>,
    /// The configuration file's text as last loaded successfully (`status/config`).
    config_yaml: RwLock<String>,
}

impl ApiState {
    /// Creates the API's state and registers the engine's metrics in `registry`.
    pub fn new(registry: &Registry, options: &Options, max_concurrency: usize) -> ApiState {
        let engine_metrics = EngineMetrics::new(max_concurrency);
        if let Err(e) = engine_metrics.register(registry) {
            tracing::warn!(err = %e, "Unable to register the query engine's metrics");
        }
        let cors_pattern = options.flags.str("web.cors.origin").unwrap_or(".*");
        ApiState {
            engine_metrics,
            replay: Arc::new(ReplayProgress::default()),
            start_time: SystemTime::now(),
            cwd: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            cors: crate::cli::options::cors_regex(cors_pattern).ok(),
            config_yaml: RwLock::new(String::new()),
        }
    }

    /// Records the text of a configuration file just loaded.
    pub fn set_config_yaml(&self, text: &str) {
        *self.config_yaml.write() = text.to_string();
    }

    /// The configuration file's text as last loaded.
    pub fn config_yaml(&self) -> String {
        self.config_yaml.read().clone()
    }
}

/// One API route: its path under `/api/v1`, and whether it waits for readiness.
struct Route {
    path: &'static str,
    /// Prometheus's `handler` label.
    handler: &'static str,
    methods: MethodRouter<Arc<AppState>>,
    allow: &'static str,
    needs_ready: bool,
}

/// The `/api/v1` routes, to be merged into the server's router.
pub fn routes(state: &Arc<AppState>, http: &Arc<HttpMetrics>) -> Router<Arc<AppState>> {
    const GET_POST: &str = "GET, OPTIONS, POST";
    const GET: &str = "GET, OPTIONS";
    const POST_PUT: &str = "OPTIONS, POST, PUT";
    let r = |path, handler, methods, allow| Route {
        path,
        handler,
        methods,
        allow,
        needs_ready: true,
    };
    let table = [
        r(
            "/api/v1/query",
            "/api/v1/query",
            get(query::query).post(query::query),
            GET_POST,
        ),
        r(
            "/api/v1/query_range",
            "/api/v1/query_range",
            get(query::query_range).post(query::query_range),
            GET_POST,
        ),
        r(
            "/api/v1/query_exemplars",
            "/api/v1/query_exemplars",
            get(query::query_exemplars).post(query::query_exemplars),
            GET_POST,
        ),
        r(
            "/api/v1/format_query",
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
            GET_POST,
        ),
        r(
            "/api/v1/parse_query",
            "/api/v1/parse_query",
            get(query::parse_query_ast).post(query::parse_query_ast),
            GET_POST,
        ),
        r(
            "/api/v1/labels",
            "/api/v1/labels",
            get(series::label_names).post(series::label_names),
            GET_POST,
        ),
        r(
            "/api/v1/label/{name}/values",
            "/api/v1/label/:name/values",
            get(series::label_values),
            GET,
        ),
        r(
            "/api/v1/series",
            "/api/v1/series",
            get(series::series).post(series::series),
            GET_POST,
        ),
        r(
            "/api/v1/scrape_pools",
            "/api/v1/scrape_pools",
            get(targets::scrape_pools),
            GET,
        ),
        r(
            "/api/v1/targets",
            "/api/v1/targets",
            get(targets::targets),
            GET,
        ),
        r(
            "/api/v1/targets/metadata",
            "/api/v1/targets/metadata",
            get(targets::target_metadata),
            GET,
        ),
        r(
            "/api/v1/metadata",
            "/api/v1/metadata",
            get(targets::metadata),
            GET,
        ),
        r(
            "/api/v1/alertmanagers",
            "/api/v1/alertmanagers",
            get(rules::alertmanagers),
            GET,
        ),
        r("/api/v1/alerts", "/api/v1/alerts", get(rules::alerts), GET),
        r("/api/v1/rules", "/api/v1/rules", get(rules::rules), GET),
        Route {
            needs_ready: false,
            ..r(
                "/api/v1/notifications",
                "/api/v1/notifications",
                get(rules::notifications),
                GET,
            )
        },
        r(
            "/api/v1/status/config",
            "/api/v1/status/config",
            get(status::config),
            GET,
        ),
        r(
            "/api/v1/status/runtimeinfo",
            "/api/v1/status/runtimeinfo",
            get(status::runtimeinfo),
            GET,
        ),
        r(
            "/api/v1/status/buildinfo",
            "/api/v1/status/buildinfo",
            get(status::buildinfo),
            GET,
        ),
        r(
            "/api/v1/status/flags",
            "/api/v1/status/flags",
            get(status::flags),
            GET,
        ),
        r(
            "/api/v1/status/tsdb",
            "/api/v1/status/tsdb",
            get(status::tsdb),
            GET,
        ),
        r(
            "/api/v1/status/tsdb/blocks",
            "/api/v1/status/tsdb/blocks",
            get(status::tsdb_blocks),
            GET,
        ),
        Route {
            needs_ready: false,
            ..r(
                "/api/v1/status/walreplay",
                "/api/v1/status/walreplay",
                get(status::walreplay),
                GET,
            )
        },
        r(
            "/api/v1/admin/tsdb/delete_series",
            "/api/v1/admin/tsdb/delete_series",
            axum::routing::post(admin::delete_series).put(admin::delete_series),
            POST_PUT,
        ),
        r(
            "/api/v1/admin/tsdb/clean_tombstones",
            "/api/v1/admin/tsdb/clean_tombstones",
            axum::routing::post(admin::clean_tombstones).put(admin::clean_tombstones),
            POST_PUT,
        ),
        r(
            "/api/v1/admin/tsdb/snapshot",
            "/api/v1/admin/tsdb/snapshot",
            axum::routing::post(admin::snapshot).put(admin::snapshot),
            POST_PUT,
        ),
    ];

    let mut router = Router::new();
    for route in table {
        let allow = route.allow;
        let mut methods = route
            .methods
            .options(options)
            .fallback(move |method: Method| method_not_allowed(method, allow));
        if route.needs_ready {
            methods = methods.layer(middleware::from_fn_with_state(
                Arc::clone(state),
                lifecycle::require_ready,
            ));
        }
        router = router.route(route.path, instrumented(http, route.handler, methods));
    }
    // Any other path: OPTIONS is answered (as Prometheus's `/*path` route), the rest is
    // not found.
    let unknown = any(not_found)
        .options(options)
        .layer(middleware::from_fn_with_state(
            Arc::clone(state),
            lifecycle::require_ready,
        ));
    router
        .route("/api/v1/{*path}", unknown)
        .layer(middleware::from_fn_with_state(Arc::clone(state), cors))
}

/// `OPTIONS`: no content; the CORS layer adds the headers.
async fn options() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn not_found(request: Request) -> Response {
    ApiError::new(
        ErrorType::NotFound,
        format!("no API endpoint at {}", request.uri().path()),
    )
    .into_response()
}

async fn method_not_allowed(method: Method, allow: &'static str) -> Response {
    let mut response = ApiError::bad_data(format!(
        "method {method} not allowed for this endpoint (allowed: {allow})"
    ))
    .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Prometheus's `httputil.SetCORS`: `Vary: Origin` always; with an `Origin` header, the
/// allowed methods and headers, and the origin itself when `--web.cors.origin` matches
/// it.
async fn cors(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin else {
        return response;
    };
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Date"),
    );
    let allowed = state
        .api_v1
        .cors
        .as_ref()
        .is_some_and(|re| re.is_match(&origin));
    if allowed {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Readiness, ReadyStatus};
    use axum::body::Body;
    use tower::ServiceExt;

    fn state() -> Arc<AppState> {
        let registry = Registry::new();
        let ready = prometheus::IntGauge::new("prometheus_ready", "ready").unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        let options = match crate::cli::parse(&["--storage.tsdb.path=/nonexistent"]).unwrap() {
            crate::cli::Command::Run(flags) => Options::resolve(flags, "localhost").unwrap(),
            other => panic!("{other:?}"),
        };
        Arc::new(AppState::new(
            "Prometheus Server",
            Readiness::new(ready),
            registry,
            tx,
            Arc::new(options),
        ))
    }

    async fn call(router: &Router, method: &str, path: &str) -> (u16, String) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    /// As Prometheus: the API answers 503 until the server is ready, except the WAL
    /// replay status (meant for that time) and the notifications.
    #[tokio::test]
    async fn only_walreplay_and_notifications_answer_before_ready() {
        let state = state();
        let http = Arc::new(HttpMetrics::new(&state.registry).unwrap());
        let router = routes(&state, &http).with_state(Arc::clone(&state));
        let (code, body) = call(&router, "GET", "/api/v1/query?query=1").await;
        assert_eq!((code, body.as_str()), (503, "Service Unavailable"));
        assert_eq!(call(&router, "GET", "/api/v1/labels").await.0, 503);
        let (code, body) = call(&router, "GET", "/api/v1/status/walreplay").await;
        assert_eq!(code, 200);
        assert_eq!(
            body,
            r#"{"status":"success","data":{"min":0,"max":0,"current":0}}"#
        );
        assert_eq!(call(&router, "GET", "/api/v1/notifications").await.0, 200);

        state.readiness.set(ReadyStatus::Ready);
        let (code, body) = call(&router, "GET", "/api/v1/status/buildinfo").await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            call(&router, "OPTIONS", "/api/v1/anything/at/all").await.0,
            204
        );
        assert_eq!(call(&router, "OPTIONS", "/api/v1/query").await.0, 204);
        let (code, body) = call(&router, "GET", "/api/v1/anything").await;
        assert_eq!(code, 404);
        assert!(body.contains(r#""errorType":"not_found""#), "{body}");
        // Ready, but no storage (cannot happen in the server): a clear error.
        let (code, body) = call(&router, "GET", "/api/v1/query?query=1").await;
        assert_eq!(code, 500);
        assert!(body.contains("the storage is not open yet"), "{body}");
    }
}
