//! Ember's HTTP side: the routes, their shared state, and the route prefix.
//!
//! It serves the `/-/` lifecycle routes ([`lifecycle`]), `/metrics` ([`metrics`]) and the
//! Prometheus HTTP API (`/api/v1/...`, [`v1`]), `/federate` ([`federate`]) and the
//! remote-write receiver ([`remote_write`]). Every route is wrapped by [`instrument`] for the
//! `prometheus_http_*` metrics, and routes that need a ready server are wrapped by
//! [`lifecycle::require_ready`].
//!
//! With a route prefix other than `/` (`--web.route-prefix`, or the path of
//! `--web.external-url`), every route moves under it and `/` redirects there, as in
//! Prometheus. Unknown paths get Go's `404 page not found`.

pub mod federate;
pub mod instrument;
pub mod lifecycle;
pub mod metrics;
pub mod remote_write;
pub mod v1;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ember_query::{Engine, EngineOpts};
use ember_storage::db::Db;
use prometheus::Registry;
use tokio::sync::{mpsc, oneshot};

use crate::cli::Options;
use instrument::{instrumented, HttpMetrics};
pub use lifecycle::{Readiness, ReadyStatus};

/// Requests from HTTP handlers to the server's lifecycle loop.
#[derive(Debug)]
pub enum Control {
    /// `/-/quit`: shut down gracefully.
    Quit,
    /// `/-/reload`: reload the configuration and report the outcome.
    Reload(oneshot::Sender<Result<(), String>>),
}

/// State shared by every handler.
pub struct AppState {
    /// `Prometheus Server` (or `Prometheus Agent`), the name in the `/-/` answers.
    pub app_name: &'static str,
    pub readiness: Readiness,
    pub registry: Registry,
    pub enable_lifecycle: bool,
    pub control: mpsc::Sender<Control>,
    /// Set by the first `/-/quit`.
    quit_requested: AtomicBool,
    /// The command line: every flag's value, the external URL, the route prefix.
    pub options: Arc<Options>,
    /// The storage, set once it is open (the routes that need it wait for readiness).
    db: OnceLock<Arc<Db>>,
    /// The scrape manager, set once the storage is open.
    scrape: OnceLock<Arc<crate::scrape::ScrapeManager>>,
    /// The PromQL engine, configured from the `--query.*` flags.
    pub engine: Arc<Engine>,
    /// The Prometheus HTTP API's own state.
    pub api_v1: v1::ApiState,
}

impl AppState {
    pub fn new(
        app_name: &'static str,
        readiness: Readiness,
        registry: Registry,
        control: mpsc::Sender<Control>,
        options: Arc<Options>,
    ) -> AppState {
        let engine = Arc::new(Engine::new(engine_options(&options)));
        let api_v1 = v1::ApiState::new(&registry, &options, engine.opts().max_concurrency);
        AppState {
            app_name,
            readiness,
            registry,
            enable_lifecycle: options.enable_lifecycle,
            control,
            quit_requested: AtomicBool::new(false),
            options,
            db: OnceLock::new(),
            scrape: OnceLock::new(),
            engine,
            api_v1,
        }
    }

    /// Hands the opened storage to the handlers.
    pub fn set_db(&self, db: Arc<Db>) {
        let _ = self.db.set(db);
    }

    /// Hands the scrape manager to the handlers.
    pub fn set_scrape_manager(&self, m: Arc<crate::scrape::ScrapeManager>) {
        let _ = self.scrape.set(m);
    }

    /// The scrape manager, once the storage is open.
    pub fn scrape_manager(&self) -> Option<&Arc<crate::scrape::ScrapeManager>> {
        self.scrape.get()
    }

    /// The storage, if it is open yet.
    pub fn db(&self) -> Option<&Arc<Db>> {
        self.db.get()
    }
}

/// The engine settings from the `--query.*` flags (Prometheus's defaults when unset).
pub fn engine_options(options: &Options) -> EngineOpts {
    let flags = &options.flags;
    let mut opts = EngineOpts::default();
    if let Some(d) = flags.duration("query.lookback-delta") {
        opts.lookback_delta = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    }
    if let Some(d) = flags.duration("query.timeout") {
        opts.timeout = d;
    }
    if let Some(n) = flags.int("query.max-concurrency") {
        opts.max_concurrency = usize::try_from(n).unwrap_or(1).max(1);
    }
    if let Some(n) = flags.int("query.max-samples") {
        opts.max_samples = usize::try_from(n).unwrap_or(0);
    }
    opts
}

/// Builds the router; `route_prefix` is `/` or `/a/b` (no trailing slash).
pub fn router(state: Arc<AppState>, http: &Arc<HttpMetrics>, route_prefix: &str) -> Router {
    let ready_only = middleware::from_fn_with_state(Arc::clone(&state), lifecycle::require_ready);
    let routes = Router::new()
        .route(
            "/-/healthy",
            instrumented(http, "/-/healthy", get(lifecycle::healthy)),
        )
        .route(
            "/-/ready",
            instrumented(http, "/-/ready", get(lifecycle::ready).layer(ready_only)),
        )
        .route(
            "/-/quit",
            instrumented(
                http,
                "/-/quit",
                post(lifecycle::quit)
                    .put(lifecycle::quit)
                    .get(lifecycle::method_not_allowed),
            ),
        )
        .route(
            "/-/reload",
            instrumented(
                http,
                "/-/reload",
                post(lifecycle::reload)
                    .put(lifecycle::reload)
                    .get(lifecycle::method_not_allowed),
            ),
        )
        .route(
            "/metrics",
            instrumented(http, "/metrics", get(metrics::handler)),
        )
        .merge(remote_write::routes(&state, http))
        .merge(federate::routes(&state, http))
        .merge(v1::routes(&state, http))
        .fallback(not_found)
        .with_state(state);

    if route_prefix == "/" {
        return routes;
    }
    // 302 Found, as Go's http.Redirect in Prometheus.
    let target = route_prefix.to_string();
    let redirect = get(move || async move { (StatusCode::FOUND, [(header::LOCATION, target)]) });
    Router::new()
        .route("/", instrumented(http, "/", redirect))
        .nest(&escape_route(route_prefix), routes)
        .fallback(not_found)
}

/// Go's answer to an unknown path.
async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
        .into_response()
}

/// Escapes the characters axum's route syntax gives a meaning to, so that any prefix is
/// matched literally.
fn escape_route(path: &str) -> String {
    path.replace('{', "{{").replace('}', "}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    struct Fixture {
        state: Arc<AppState>,
        router: Router,
        control: mpsc::Receiver<Control>,
    }

    fn fixture(enable_lifecycle: bool, prefix: &str) -> Fixture {
        let registry = Registry::new();
        let ready = prometheus::IntGauge::new("prometheus_ready", "ready").unwrap();
        registry.register(Box::new(ready.clone())).unwrap();
        let http = Arc::new(HttpMetrics::new(&registry).unwrap());
        let (tx, control) = mpsc::channel(4);
        let mut args = vec!["--storage.tsdb.path=/nonexistent".to_string()];
        if enable_lifecycle {
            args.push("--web.enable-lifecycle".into());
        }
        let options = match crate::cli::parse(&args).unwrap() {
            crate::cli::Command::Run(flags) => Options::resolve(flags, "localhost").unwrap(),
            other => panic!("{other:?}"),
        };
        let state = Arc::new(AppState::new(
            "Prometheus Server",
            Readiness::new(ready),
            registry,
            tx,
            Arc::new(options),
        ));
        let router = router(Arc::clone(&state), &http, prefix);
        Fixture {
            state,
            router,
            control,
        }
    }

    struct Answer {
        status: StatusCode,
        headers: axum::http::HeaderMap,
        body: String,
    }

    async fn call(router: &Router, method: &str, path: &str) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    #[tokio::test]
    async fn ready_answers_503_until_ready_and_while_stopping() {
        let f = fixture(false, "/");
        let healthy = call(&f.router, "GET", "/-/healthy").await;
        assert_eq!(healthy.status, StatusCode::OK);
        assert_eq!(healthy.body, "Prometheus Server is Healthy.\n");

        let starting = call(&f.router, "GET", "/-/ready").await;
        assert_eq!(starting.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(starting.body, "Service Unavailable");
        assert_eq!(starting.headers["X-Prometheus-Stopping"], "false");

        f.state.readiness.set(ReadyStatus::Ready);
        let ready = call(&f.router, "GET", "/-/ready").await;
        assert_eq!(ready.status, StatusCode::OK);
        assert_eq!(ready.body, "Prometheus Server is Ready.\n");
        let head = call(&f.router, "HEAD", "/-/ready").await;
        assert_eq!((head.status, head.body.as_str()), (StatusCode::OK, ""));

        f.state.readiness.set(ReadyStatus::Stopping);
        let stopping = call(&f.router, "GET", "/-/ready").await;
        assert_eq!(stopping.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(stopping.headers["X-Prometheus-Stopping"], "true");
        // Health does not depend on readiness.
        assert_eq!(
            call(&f.router, "GET", "/-/healthy").await.status,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn metrics_count_requests_per_handler_and_code() {
        let f = fixture(false, "/");
        call(&f.router, "GET", "/-/ready").await; // 503: not ready yet
        f.state.readiness.set(ReadyStatus::Ready);
        call(&f.router, "GET", "/-/ready").await;
        call(&f.router, "GET", "/-/healthy").await;
        call(&f.router, "GET", "/-/healthy").await;
        call(&f.router, "GET", "/nowhere").await; // not a route: not counted
        let metrics = call(&f.router, "GET", "/metrics").await;
        assert_eq!(metrics.status, StatusCode::OK);
        assert_eq!(
            metrics.headers[header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let lines: Vec<&str> = metrics.body.lines().collect();
        for expected in [
            "prometheus_ready 1",
            r#"prometheus_http_requests_total{code="200",handler="/-/healthy"} 2"#,
            r#"prometheus_http_requests_total{code="200",handler="/-/ready"} 1"#,
            r#"prometheus_http_requests_total{code="503",handler="/-/ready"} 1"#,
            // Present from the start, before any request.
            r#"prometheus_http_requests_total{code="200",handler="/metrics"} 0"#,
            r#"prometheus_http_requests_total{code="200",handler="/-/reload"} 0"#,
            r#"prometheus_http_request_duration_seconds_count{handler="/-/healthy"} 2"#,
            r#"prometheus_http_response_size_bytes_bucket{handler="/-/healthy",le="100"} 2"#,
            r#"prometheus_http_response_size_bytes_sum{handler="/-/healthy"} 60"#,
        ] {
            assert!(
                lines.contains(&expected),
                "missing {expected:?} in\n{}",
                metrics.body
            );
        }
        assert!(!metrics.body.contains("/nowhere"));
    }

    #[tokio::test]
    async fn lifecycle_routes_are_forbidden_unless_enabled() {
        let mut f = fixture(false, "/");
        for path in ["/-/quit", "/-/reload"] {
            for method in ["POST", "PUT"] {
                let a = call(&f.router, method, path).await;
                assert_eq!(a.status, StatusCode::FORBIDDEN);
                assert_eq!(a.body, "Lifecycle API is not enabled.");
            }
            let a = call(&f.router, "GET", path).await;
            assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(a.body, "Only POST or PUT requests allowed");
        }
        assert!(f.control.try_recv().is_err());
    }

    #[tokio::test]
    async fn quit_and_reload_reach_the_lifecycle_loop() {
        let mut f = fixture(true, "/");
        let first = call(&f.router, "POST", "/-/quit").await;
        assert_eq!(first.body, "Requesting termination... Goodbye!");
        assert!(matches!(f.control.recv().await, Some(Control::Quit)));
        let second = call(&f.router, "PUT", "/-/quit").await;
        assert_eq!(second.body, "Termination already in progress.");
        assert!(f.control.try_recv().is_err());

        // The loop answers the reload; a failure becomes a 500 with the reason.
        let router = f.router.clone();
        let reload = tokio::spawn(async move { call(&router, "POST", "/-/reload").await });
        match f.control.recv().await {
            Some(Control::Reload(reply)) => reply.send(Ok(())).unwrap(),
            other => panic!("{other:?}"),
        }
        assert_eq!(reload.await.unwrap().status, StatusCode::OK);
        let router = f.router.clone();
        let reload = tokio::spawn(async move { call(&router, "PUT", "/-/reload").await });
        match f.control.recv().await {
            Some(Control::Reload(reply)) => reply.send(Err("bad yaml".into())).unwrap(),
            other => panic!("{other:?}"),
        }
        let failed = reload.await.unwrap();
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failed.body, "failed to reload config: bad yaml\n");
    }

    #[tokio::test]
    async fn route_prefix_moves_every_route() {
        let f = fixture(false, "/ember/x");
        let a = call(&f.router, "GET", "/ember/x/-/healthy").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(
            call(&f.router, "GET", "/ember/x/metrics").await.status,
            StatusCode::OK
        );
        let missing = call(&f.router, "GET", "/-/healthy").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.body, "404 page not found\n");
        let root = call(&f.router, "GET", "/").await;
        assert_eq!(root.status, StatusCode::FOUND);
        assert_eq!(root.headers[header::LOCATION], "/ember/x");

        // Characters that mean something to the router are taken literally.
        let f = fixture(false, "/a{b}");
        assert_eq!(
            call(&f.router, "GET", "/a{b}/-/healthy").await.status,
            StatusCode::OK
        );
    }
}
