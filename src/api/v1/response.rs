//! Answers: the error kinds with their HTTP codes, response compression, and turning a
//! finished JSON body into an HTTP response.
//!
//! Error kinds and codes are Prometheus 3's (`web/api/v1/api.go`, `getDefaultErrorCode`):
//!
//! | `errorType`   | code | when                                                   |
//! |---------------|------|--------------------------------------------------------|
//! | `bad_data`    | 400  | a parameter is missing or malformed, the query does not parse |
//! | `execution`   | 422  | the query failed while running                         |
//! | `canceled`    | 499  | the client went away                                   |
//! | `timeout`     | 503  | `timeout` or `--query.timeout` was exceeded            |
//! | `internal`    | 500  | storage failed                                         |
//! | `unavailable` | 500  | a disabled or not yet available feature (admin APIs)   |
//! | `not_found`   | 404  | no such API endpoint                                   |
//!
//! Compression follows Prometheus's `util/httputil/compression.go`: the first of `gzip`
//! or `deflate` (zlib) listed in `Accept-Encoding` is used, for every answer of the API.

use std::fmt;
use std::io::Write;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ember_query::QueryError;

use super::json;

/// Prometheus's `errorType`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    BadData,
    Execution,
    Canceled,
    Timeout,
    Internal,
    Unavailable,
    NotFound,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Canceled => "canceled",
            ErrorType::Timeout => "timeout",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
            ErrorType::NotFound => "not_found",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            // nginx's "client closed request", as Prometheus.
            ErrorType::Canceled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ErrorType::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Internal | ErrorType::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

/// A failed API call: its kind and the message, worded as Prometheus words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorType,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_data(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::BadData, message)
    }

    /// `invalid parameter "<name>": <reason>`, Prometheus's `invalidParamError`.
    pub fn invalid_param(name: &str, reason: impl fmt::Display) -> ApiError {
        ApiError::bad_data(format!("invalid parameter \"{name}\": {reason}"))
    }

    pub fn execution(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Execution, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Unavailable, message)
    }

    /// An error of a running query (Prometheus's `returnAPIError`). Parse errors are
    /// reported by the callers, which know the parameter's name.
    pub fn from_query(e: QueryError) -> ApiError {
        let kind = match &e {
            QueryError::Parse(_) => ErrorType::BadData,
            QueryError::Execution(_) | QueryError::TooManySamples(_) => ErrorType::Execution,
            QueryError::Timeout(_) => ErrorType::Timeout,
            QueryError::Canceled(_) => ErrorType::Canceled,
            QueryError::Storage(_) => ErrorType::Internal,
        };
        ApiError::new(kind, e.to_string())
    }

    /// The JSON error response.
    pub fn into_response_with(self, encoding: Encoding) -> Response {
        let body = json::error_body(self.kind.as_str(), &self.message);
        json_response(self.kind.status(), body, encoding)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(Encoding::Identity)
    }
}

/// How the response body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Identity,
    Gzip,
    /// zlib-wrapped deflate, as Go's `compress/zlib` and HTTP's `deflate` mean it.
    Deflate,
}

impl Encoding {
    /// The first of `gzip` and `deflate` in `Accept-Encoding` (a `;q=0` refuses it).
    pub fn negotiate(headers: &HeaderMap) -> Encoding {
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or_default().trim();
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                if refused {
                    continue;
                }
                if coding.eq_ignore_ascii_case("gzip") {
                    return Encoding::Gzip;
                }
                if coding.eq_ignore_ascii_case("deflate") {
                    return Encoding::Deflate;
                }
            }
        }
        Encoding::Identity
    }

    fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Deflate => Some("deflate"),
        }
    }

    /// Compresses `body`; on the (unexpected) failure of an in-memory encoder, the body
    /// is returned as it is.
    pub fn encode(self, body: Vec<u8>) -> (Vec<u8>, Encoding) {
        // The fastest level: JSON of numbers compresses well even so, and responses of
        // hundreds of megabytes must not cost more CPU to compress than to compute.
        let level = flate2::Compression::fast();
        let out = Vec::with_capacity(body.len() / 4 + 64);
        let compressed = match self {
            Encoding::Identity => return (body, self),
            Encoding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(out, level);
                e.write_all(&body).and_then(|()| e.finish())
            }
            Encoding::Deflate => {
                let mut e = flate2::write::ZlibEncoder::new(out, level);
                e.write_all(&body).and_then(|()| e.finish())
            }
        };
        match compressed {
            Ok(c) => (c, self),
            Err(_) => (body, Encoding::Identity),
        }
    }
}

/// A response with a JSON body, compressed as negotiated. Bodies of many megabytes are
/// compressed by the caller on a blocking thread first ([`Encoding::encode`], then
/// [`encoded_response`]); this one compresses in place and is for small bodies.
pub fn json_response(status: StatusCode, body: Vec<u8>, encoding: Encoding) -> Response {
    let (body, encoding) = encoding.encode(body);
    encoded_response(status, body, encoding)
}

/// A response with an already compressed (or plain) JSON body.
pub fn encoded_response(status: StatusCode, body: Vec<u8>, encoding: Encoding) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(coding) = encoding.header() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

/// `204 No Content`, Prometheus's answer when a call has no data (an exemplar query
/// without selectors, a successful admin call).
pub fn no_content() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// An API call's outcome: a finished JSON body, or an error.
pub type ApiResult = Result<Vec<u8>, ApiError>;

/// Turns an outcome into a response.
pub fn reply(result: ApiResult, encoding: Encoding) -> Response {
    match result {
        Ok(body) => json_response(StatusCode::OK, body, encoding),
        Err(e) => e.into_response_with(encoding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accept(v: &str) -> Encoding {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        Encoding::negotiate(&h)
    }

    #[test]
    fn the_first_known_coding_wins() {
        assert_eq!(accept("gzip, deflate, br"), Encoding::Gzip);
        assert_eq!(accept("br, deflate, gzip"), Encoding::Deflate);
        assert_eq!(accept("br"), Encoding::Identity);
        assert_eq!(accept("gzip;q=0, deflate"), Encoding::Deflate);
        assert_eq!(accept("identity"), Encoding::Identity);
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn compressed_bodies_decompress_to_the_original() {
        let body = br#"{"status":"success","data":[]}"#.repeat(100);
        let (gz, e) = Encoding::Gzip.encode(body.clone());
        assert_eq!(e, Encoding::Gzip);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let (z, _) = Encoding::Deflate.encode(body.clone());
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }

    /// Prometheus's codes; `unavailable` falls to its default (500), as a real
    /// Prometheus answers a disabled admin API.
    #[test]
    fn error_codes_are_prometheus_codes() {
        assert_eq!(ErrorType::BadData.status().as_u16(), 400);
        assert_eq!(ErrorType::Execution.status().as_u16(), 422);
        assert_eq!(ErrorType::Canceled.status().as_u16(), 499);
        assert_eq!(ErrorType::Timeout.status().as_u16(), 503);
        assert_eq!(ErrorType::Internal.status().as_u16(), 500);
        assert_eq!(ErrorType::Unavailable.status().as_u16(), 500);
        assert_eq!(ErrorType::NotFound.status().as_u16(), 404);
        let e = ApiError::from_query(QueryError::Timeout("expression evaluation"));
        assert_eq!(e.kind, ErrorType::Timeout);
        assert_eq!(e.message, "query timed out in expression evaluation");
        assert_eq!(
            ApiError::invalid_param("step", "x").message,
            "invalid parameter \"step\": x"
        );
    }
}
