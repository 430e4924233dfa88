//! The `/-/` routes: health, readiness, and (with `--web.enable-lifecycle`) shutdown and
//! reload. Texts and status codes are Prometheus's, so probes and scripts written for it
//! work unchanged:
//!
//! | route                  | answer                                                      |
//! |------------------------|-------------------------------------------------------------|
//! | `GET /-/healthy`       | 200 `Prometheus Server is Healthy.` as soon as HTTP is up   |
//! | `GET /-/ready`         | 200 `Prometheus Server is Ready.` once storage is open and the configuration loaded; before that and while stopping, 503 `Service Unavailable` with `X-Prometheus-Stopping: false`/`true` |
//! | `POST`/`PUT /-/quit`   | starts a graceful shutdown; 403 without `--web.enable-lifecycle` |
//! | `POST`/`PUT /-/reload` | reloads the configuration; 500 with the error if it fails   |
//! | `GET /-/quit`, `/-/reload` | 405 `Only POST or PUT requests allowed`                 |

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::IntGauge;
use tokio::sync::oneshot;

use super::{AppState, Control};

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ReadyStatus {
    /// Starting: storage opening, WAL replaying, configuration loading.
    NotReady = 0,
    Ready = 1,
    /// Shutting down.
    Stopping = 2,
}

/// The shared ready status, mirrored into the `prometheus_ready` gauge.
pub struct Readiness {
    status: AtomicU8,
    gauge: IntGauge,
}

impl Readiness {
    pub fn new(gauge: IntGauge) -> Readiness {
        gauge.set(0);
        Readiness {
            status: AtomicU8::new(ReadyStatus::NotReady as u8),
            gauge,
        }
    }

    pub fn set(&self, status: ReadyStatus) {
        self.status.store(status as u8, Ordering::Release);
        self.gauge.set(i64::from(status == ReadyStatus::Ready));
    }

    pub fn get(&self) -> ReadyStatus {
        match self.status.load(Ordering::Acquire) {
            1 => ReadyStatus::Ready,
            2 => ReadyStatus::Stopping,
            _ => ReadyStatus::NotReady,
        }
    }
}

/// Middleware for routes that need a ready server: 503 until then, as Prometheus's.
pub async fn require_ready(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let stopping = match state.readiness.get() {
        ReadyStatus::Ready => return next.run(request).await,
        ReadyStatus::NotReady => "false",
        ReadyStatus::Stopping => "true",
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("X-Prometheus-Stopping", stopping)],
        "Service Unavailable",
    )
        .into_response()
}

pub async fn healthy(State(state): State<Arc<AppState>>) -> String {
    format!("{} is Healthy.\n", state.app_name)
}

pub async fn ready(State(state): State<Arc<AppState>>) -> String {
    format!("{} is Ready.\n", state.app_name)
}

pub async fn quit(State(state): State<Arc<AppState>>) -> Response {
    if !state.enable_lifecycle {
        return lifecycle_disabled();
    }
    if state.quit_requested.swap(true, Ordering::AcqRel) {
        return "Termination already in progress.".into_response();
    }
    // If the server is already shutting down the receiver is gone; either way it stops.
    let _ = state.control.send(Control::Quit).await;
    "Requesting termination... Goodbye!".into_response()
}

pub async fn reload(State(state): State<Arc<AppState>>) -> Response {
    if !state.enable_lifecycle {
        return lifecycle_disabled();
    }
    let (reply, outcome) = oneshot::channel();
    let result = match state.control.send(Control::Reload(reply)).await {
        Ok(()) => outcome
            .await
            .unwrap_or_else(|_| Err("the server is shutting down".to_string())),
        Err(_) => Err("the server is shutting down".to_string()),
    };
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST or PUT requests allowed",
    )
        .into_response()
}

fn lifecycle_disabled() -> Response {
    (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.").into_response()
}
