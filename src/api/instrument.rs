//! Per-handler HTTP metrics, under Prometheus's names:
//!
//! - `prometheus_http_requests_total{code, handler}`
//! - `prometheus_http_request_duration_seconds{handler}` (buckets .1 to 120 s)
//! - `prometheus_http_response_size_bytes{handler}` (buckets 100 B to 1 GB)
//!
//! `handler` is the route's path without the route prefix (`/-/ready`, `/metrics`), as in
//! Prometheus. Each route's `code="200"` counter exists from the start, at 0, so that
//! rate() over it works from the first scrape.

use std::sync::Arc;
use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::MethodRouter;
use prometheus::{exponential_buckets, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The HTTP metrics, shared by every route.
pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    response_size: HistogramVec,
}

impl HttpMetrics {
    pub fn new(registry: &Registry) -> Result<HttpMetrics, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new("prometheus_http_requests_total", "HTTP requests served."),
            &["code", "handler"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "prometheus_http_request_duration_seconds",
                "Time to produce HTTP responses.",
            )
            .buckets(vec![0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0]),
            &["handler"],
        )?;
        let response_size = HistogramVec::new(
            HistogramOpts::new(
                "prometheus_http_response_size_bytes",
                "Size of HTTP response bodies.",
            )
            .buckets(exponential_buckets(100.0, 10.0, 8)?),
            &["handler"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(response_size.clone()))?;
        Ok(HttpMetrics {
            requests,
            duration,
            response_size,
        })
    }

    fn observe(&self, handler: &str, code: u16, seconds: f64, size: u64) {
        let code = code.to_string();
        self.requests
            .with_label_values(&[code.as_str(), handler])
            .inc();
        self.duration.with_label_values(&[handler]).observe(seconds);
        self.response_size
            .with_label_values(&[handler])
            .observe(size as f64);
    }
}

/// Wraps a route so that its requests are counted and timed under `handler`.
pub fn instrumented<S>(
    metrics: &Arc<HttpMetrics>,
    handler: &'static str,
    route: MethodRouter<S>,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    metrics.requests.with_label_values(&["200", handler]);
    let target = Target {
        metrics: Arc::clone(metrics),
        handler,
    };
    route.layer(middleware::from_fn_with_state(target, observe))
}

#[derive(Clone)]
struct Target {
    metrics: Arc<HttpMetrics>,
    handler: &'static str,
}

async fn observe(State(target): State<Target>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let response = next.run(request).await;
    // The body's length when known (all of Ember's responses so far), else its lower
    // bound; streamed bodies are timed and sized up to their first byte.
    let hint = response.body().size_hint();
    let size = hint.exact().unwrap_or(hint.lower());
    target.metrics.observe(
        target.handler,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
        size,
    );
    response
}
