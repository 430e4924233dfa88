//! `/metrics`: the registry in the Prometheus text format 0.0.4.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, TextEncoder};

use super::AppState;

pub async fn handler(State(state): State<Arc<AppState>>) -> Response {
    let encoder = TextEncoder::new();
    let families = state.registry.gather();
    let mut body = Vec::with_capacity(16 * 1024);
    match encoder.encode(&families, &mut body) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("error encoding metrics: {e}\n"),
        )
            .into_response(),
    }
}
