//! `POST /api/v1/write`: the remote-write receiver, for remote write 1.0
//! (`prometheus.WriteRequest`) and 2.0 (`io.prometheus.write.v2.Request`).
//!
//! A request goes through, in Prometheus's order (its `remote_api.go` write handler):
//!
//! 1. `Content-Encoding` must be absent or `snappy` (415), the body at most 32 MiB (413),
//!    its snappy header must announce at most 32 MiB decoded (400), and it must
//!    decompress (400).
//! 2. `Content-Type` chooses the message: `application/x-protobuf` (1.0),
//!    `...;proto=prometheus.WriteRequest` (1.0) or `...;proto=io.prometheus.write.v2.Request`
//!    (2.0); anything else, or a message not in
//!    `--web.remote-write-receiver.accepted-protobuf-messages`, is 415.
//! 3. The message is decoded ([`decode`], 400 if malformed) and appended in one batch
//!    ([`ingest`]): 204 once committed to the WAL; 400 if some data was refused (the rest
//!    is written); 5xx, with nothing written, if storage could not take it.
//!
//! Answers to 2.0 requests carry the `X-Prometheus-Remote-Write-{Samples,Histograms,
//! Exemplars}-Written` headers. Error bodies are plain text, as Prometheus's. Steps 1 to 3
//! run on a blocking thread, at most [`max_in_flight`] requests at a time (which also
//! bounds the memory requests in flight can use); each thread reuses its buffers.
//!
//! The receiver is always on in Ember (`--web.enable-remote-write-receiver` is accepted
//! for compatibility), and answers 503 until the server is ready.

pub mod decode;
#[cfg(test)]
mod decode_tests;
pub mod ingest;
pub mod metrics;
#[cfg(test)]
mod proto;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::sync::Semaphore;

use super::instrument::{instrumented, HttpMetrics};
use super::{lifecycle, AppState};
use ingest::{IngestError, Outcome, Protocol, Scratch, SnappyError, StorageFailure};
use metrics::ReceiverMetrics;

/// The largest request body accepted, compressed (Prometheus's limit).
pub const MAX_BODY_BYTES: usize = ingest::MAX_DECODED_BYTES;

const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";

/// How many requests are decoded and appended at once: twice the cores, at least 4.
pub fn max_in_flight() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .max(4)
}

/// The receiver's shared state.
struct Receiver {
    metrics: ReceiverMetrics,
    /// Bounds the requests being decoded and appended.
    in_flight: Arc<Semaphore>,
    accept_v1: bool,
    accept_v2: bool,
    /// The accepted messages, for the 415 message.
    accepted: String,
}

thread_local! {
    /// Each blocking thread's buffers.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The route `/api/v1/write`, instrumented under that handler name.
pub fn routes(state: &Arc<AppState>, http: &Arc<HttpMetrics>) -> Router<Arc<AppState>> {
    let metrics = ReceiverMetrics::new(&state.registry).unwrap_or_else(|e| {
        tracing::warn!(err = %e, "Unable to register the remote-write receiver's metrics");
        ReceiverMetrics::unregistered()
    });
    let accepted: Vec<String> = state
        .options
        .flags
        .list("web.remote-write-receiver.accepted-protobuf-messages")
        .to_vec();
    // The flag's default lists both; an empty list (never produced by the parser) too.
    let accepts =
        |p: Protocol| accepted.is_empty() || accepted.iter().any(|m| m == p.message_name());
    let receiver = Arc::new(Receiver {
        metrics,
        in_flight: Arc::new(Semaphore::new(max_in_flight())),
        accept_v1: accepts(Protocol::V1),
        accept_v2: accepts(Protocol::V2),
        accepted: if accepted.is_empty() {
            format!(
                "{}, {}",
                Protocol::V1.message_name(),
                Protocol::V2.message_name()
            )
        } else {
            accepted.join(", ")
        },
    });
    let ready = middleware::from_fn_with_state(Arc::clone(state), lifecycle::require_ready);
    let handler = move |State(app): State<Arc<AppState>>, headers: HeaderMap, body: Body| {
        let receiver = Arc::clone(&receiver);
        async move { write(receiver, app, headers, body).await }
    };
    Router::new().route(
        "/api/v1/write",
        instrumented(http, "/api/v1/write", post(handler).layer(ready)),
    )
}

/// Go's `http.Error`: the message and a newline, as plain text.
fn http_error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

async fn write(
    receiver: Arc<Receiver>,
    app: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(enc) = headers.get(header::CONTENT_ENCODING) {
        let enc = String::from_utf8_lossy(enc.as_bytes());
        if !enc.is_empty() && enc != "snappy" {
            return http_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("{enc} encoding (compression) is not accepted by this server; only snappy is acceptable"),
            );
        }
    }
    let too_large = || {
        http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds the {MAX_BODY_BYTES} bytes limit"),
        )
    };
    // A declared length over the limit is refused before reading anything.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            // Over the limit (a body without a length), or a broken connection.
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return if over {
                too_large()
            } else {
                http_error(StatusCode::BAD_REQUEST, format!("error reading body: {e}"))
            };
        }
    };
    let Some(db) = app.db().cloned() else {
        return http_error(StatusCode::SERVICE_UNAVAILABLE, "storage is not open yet");
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Ok(permit) = Arc::clone(&receiver.in_flight).acquire_owned().await else {
        return http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    };
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let answer = handle(&receiver, &db, &body, content_type.as_deref(), &mut scratch);
            scratch.trim();
            answer
        })
    });
    match work.await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(component = "web", err = %e, "Remote-write request handling failed");
            http_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// Steps 1 to 3 of the module documentation, on a blocking thread.
fn handle(
    receiver: &Receiver,
    db: &ember_storage::db::Db,
    body: &[u8],
    content_type: Option<&str>,
    scratch: &mut Scratch,
) -> Response {
    if let Err(e) = ingest::decompress(body, scratch) {
        tracing::error!(component = "web", err = %e, "Error decoding remote write request");
        return match e {
            SnappyError::Corrupt | SnappyError::TooLarge => http_error(StatusCode::BAD_REQUEST, e),
        };
    }
    let protocol = match parse_content_type(content_type.unwrap_or(CONTENT_TYPE_PROTOBUF)) {
        Ok(p) => p,
        Err(message) => return http_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
    };
    let accepted = match protocol {
        Protocol::V1 => receiver.accept_v1,
        Protocol::V2 => receiver.accept_v2,
    };
    if !accepted {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "{} protobuf message is not accepted by this server; only accepts {}",
                protocol.message_name(),
                receiver.accepted
            ),
        );
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut app = db.appender();
    match ingest::ingest(&mut app, protocol, now_ms, scratch, &receiver.metrics) {
        Ok(outcome) => answer(protocol, &outcome),
        Err(IngestError::Decode(e)) => {
            tracing::error!(component = "web", protobuf_message = protocol.message_name(), err = %e, "Error decoding remote write request");
            with_written_headers(
                protocol,
                &Outcome::default(),
                http_error(StatusCode::BAD_REQUEST, e),
            )
        }
        Err(IngestError::Storage(e)) => {
            let status = match e {
                StorageFailure::Closed => StatusCode::SERVICE_UNAVAILABLE,
                StorageFailure::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            tracing::error!(component = "web", err = %e, "Error while storing the remote write request");
            with_written_headers(protocol, &Outcome::default(), http_error(status, e))
        }
    }
}

/// 204, or 400 with the errors of a partial write.
fn answer(protocol: Protocol, outcome: &Outcome) -> Response {
    let response = if outcome.errors.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let message = outcome.errors.message();
        tracing::warn!(component = "web", err = %message, "Remote write request partially refused");
        http_error(StatusCode::BAD_REQUEST, message)
    };
    with_written_headers(protocol, outcome, response)
}

/// The `X-Prometheus-Remote-Write-*-Written` headers, on 2.0 answers only (1.0 senders
/// could read a 1.0 receiver's missing headers as "nothing written").
fn with_written_headers(protocol: Protocol, outcome: &Outcome, mut response: Response) -> Response {
    if protocol == Protocol::V2 {
        let h = response.headers_mut();
        for (name, n) in [
            ("x-prometheus-remote-write-samples-written", outcome.samples),
            (
                "x-prometheus-remote-write-histograms-written",
                outcome.histograms,
            ),
            (
                "x-prometheus-remote-write-exemplars-written",
                outcome.exemplars,
            ),
        ] {
            h.insert(name, HeaderValue::from(n));
        }
    }
    response
}

/// The protobuf message a `Content-Type` names: `application/x-protobuf` with an
/// optional `proto=<message>` parameter (no parameter means 1.0). Parameters are
/// `key=value` pairs separated by `;`, whitespace around them ignored.
fn parse_content_type(content_type: &str) -> Result<Protocol, String> {
    let content_type = content_type.trim();
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if media != CONTENT_TYPE_PROTOBUF {
        return Err(format!(
            "expected {CONTENT_TYPE_PROTOBUF} as the first (media) part, got {content_type} content-type"
        ));
    }
    for param in parts {
        let Some((key, value)) = param.split_once('=').filter(|(_, v)| !v.contains('=')) else {
            return Err(format!(
                "as per https://www.rfc-editor.org/rfc/rfc9110#parameter expected parameters to be key-values, got {param} in {content_type} content-type"
            ));
        };
        if key.trim() == "proto" {
            return match value.trim() {
                "prometheus.WriteRequest" => Ok(Protocol::V1),
                "io.prometheus.write.v2.Request" => Ok(Protocol::V2),
                other => Err(format!(
                    "got {content_type} content type; unknown type for remote write protobuf message {other}, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"
                )),
            };
        }
    }
    Ok(Protocol::V1)
}
