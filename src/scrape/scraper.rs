//! Fetching one scrape: the GET with Prometheus's headers, the body read into a reused
//! buffer, gzip decoded here (bounded by `body_size_limit` as it is decoded, so a
//! compressed bomb cannot exhaust memory), and the Content-Type mapped to a parser.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use ember_config::ScrapeProtocol;
use ember_textparse::Format;
use parking_lot::Mutex;

use super::target::go_quote;
use crate::http_client::HttpClient;

/// Why a scrape failed before its body could be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The (decoded) body reached `body_size_limit`.
    BodySizeLimit,
    Other(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::BodySizeLimit => f.write_str("body size limit exceeded"),
            FetchError::Other(s) => f.write_str(s),
        }
    }
}

/// The `Accept` header for `protocols`, weighted in order as Prometheus 3 builds it
/// (`;escaping=` on the 1.0.0 text formats, `*/*` last). The protobuf format is left
/// out: Ember does not parse it yet.
pub fn accept_header(protocols: &[ScrapeProtocol], escaping: &str) -> String {
    let mut weight = 5 + 1;
    let mut out = String::new();
    for p in protocols {
        if p.as_str() == ScrapeProtocol::PROMETHEUS_PROTO {
            continue;
        }
        let Some(h) = p.header() else { continue };
        out.push_str(h);
        if p.as_str() == ScrapeProtocol::PROMETHEUS_TEXT_1_0_0
            || p.as_str() == ScrapeProtocol::OPENMETRICS_TEXT_1_0_0
        {
            out.push_str(";escaping=");
            out.push_str(escaping);
        }
        out.push_str(&format!(";q=0.{weight},"));
        weight -= 1;
    }
    out.push_str(&format!("*/*;q=0.{weight}"));
    out
}

/// The parser for a response: by its Content-Type, else the job's fallback protocol, else
/// Prometheus 3's error.
pub fn choose_format(
    content_type: Option<&str>,
    fallback: Option<(Format, &str)>,
) -> Result<Format, String> {
    match content_type.filter(|c| !c.is_empty()) {
        None => match fallback {
            Some((f, _)) => Ok(f),
            None => Err("non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target".into()),
        },
        Some(ct) => match (Format::from_content_type(ct), fallback) {
            (Some(f), _) => Ok(f),
            (None, Some((f, _))) => Ok(f),
            (None, None) => Err(format!(
                "received unsupported Content-Type {} and no fallback_scrape_protocol specified for target",
                go_quote(ct)
            )),
        },
    }
}

/// Reused body buffers, shared by the loops of the manager so memory follows the number
/// of scrapes in flight, not the number of targets.
#[derive(Default)]
pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

/// At most this many idle buffers are kept.
const MAX_IDLE_BUFFERS: usize = 64;
/// Buffers that grew beyond this are not kept.
const MAX_KEPT_CAPACITY: usize = 64 << 20;

impl BufferPool {
    pub fn get(&self) -> Vec<u8> {
        self.free.lock().pop().unwrap_or_default()
    }

    pub fn put(&self, mut buf: Vec<u8>) {
        if buf.capacity() > MAX_KEPT_CAPACITY {
            return;
        }
        buf.clear();
        let mut free = self.free.lock();
        if free.len() < MAX_IDLE_BUFFERS {
            free.push(buf);
        }
    }
}

/// How one target is fetched.
pub struct Scraper {
    pub client: Arc<HttpClient>,
    pub url: String,
    pub accept: String,
    pub compression: bool,
    pub timeout: Duration,
    /// 0: unlimited.
    pub body_size_limit: u64,
    pub user_agent: String,
    /// `X-Prometheus-Scrape-Timeout-Seconds`, formatted once.
    pub timeout_header: String,
}

impl Scraper {
    /// GETs the target and reads the (decoded) body into `body`; returns the
    /// Content-Type. The caller bounds the whole call by the timeout.
    pub async fn fetch(&self, body: &mut Vec<u8>) -> Result<Option<String>, FetchError> {
        let headers = [
            ("Accept", self.accept.as_str()),
            (
                "Accept-Encoding",
                if self.compression { "gzip" } else { "identity" },
            ),
            ("User-Agent", self.user_agent.as_str()),
            (
                "X-Prometheus-Scrape-Timeout-Seconds",
                self.timeout_header.as_str(),
            ),
        ];
        let mut resp = self
            .client
            .get(&self.url, &headers, self.timeout)
            .await
            .map_err(FetchError::Other)?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Other(format!(
                "server returned HTTP status {}",
                resp.status()
            )));
        }
        let limit = if self.body_size_limit == 0 {
            u64::MAX
        } else {
            self.body_size_limit
        };
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let gzip = resp
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes() == b"gzip");
        body.clear();
        let read_err = |e: reqwest::Error| FetchError::Other(e.to_string());
        if !gzip {
            while let Some(chunk) = resp.chunk().await.map_err(read_err)? {
                let room = limit.saturating_sub(body.len() as u64);
                if chunk.len() as u64 >= room {
                    return Err(FetchError::BodySizeLimit);
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(content_type);
        }
        let mut decoder = flate2::write::MultiGzDecoder::new(LimitedWriter { out: body, limit });
        while let Some(chunk) = resp.chunk().await.map_err(read_err)? {
            decoder.write_all(&chunk).map_err(|e| gzip_error(&e))?;
        }
        decoder.try_finish().map_err(|e| gzip_error(&e))?;
        Ok(content_type)
    }
}

fn gzip_error(e: &std::io::Error) -> FetchError {
    if e.kind() == std::io::ErrorKind::FileTooLarge {
        FetchError::BodySizeLimit
    } else if e.kind() == std::io::ErrorKind::UnexpectedEof {
        FetchError::Other("unexpected EOF".into())
    } else {
        FetchError::Other(format!("gzip: {e}"))
    }
}

/// Appends to a buffer, failing once it would hold `limit` bytes or more.
struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
    limit: u64,
}

impl Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if (self.out.len() + buf.len()) as u64 >= self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "body size limit exceeded",
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Seconds as Go's `strconv.FormatFloat(s, 'f', -1, 64)`: `10`, `0.5`.
pub fn format_seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    let mut buf = ryu::Buffer::new();
    let text = buf.format(s);
    text.strip_suffix(".0").unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_weights_protocols_in_order_and_leaves_out_protobuf() {
        let p = |names: &[&str]| {
            names
                .iter()
                .map(|n| ScrapeProtocol::new(n))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            accept_header(
                &p(&["PrometheusText0.0.4", "OpenMetricsText1.0.0"]),
                "underscores"
            ),
            "text/plain;version=0.0.4;q=0.6,application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,*/*;q=0.4"
        );
        assert_eq!(
            accept_header(
                &p(&["PrometheusProto", "PrometheusText1.0.0"]),
                "allow-utf-8"
            ),
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5"
        );
    }

    #[test]
    fn content_type_or_fallback_chooses_the_parser() {
        let fb = Some((Format::PromText, "text/plain"));
        assert_eq!(
            choose_format(Some("application/openmetrics-text; version=1.0.0"), None),
            Ok(Format::OpenMetrics)
        );
        assert_eq!(
            choose_format(Some("text/plain; version=0.0.4"), None),
            Ok(Format::PromText)
        );
        assert_eq!(
            choose_format(Some("application/json"), fb),
            Ok(Format::PromText)
        );
        assert_eq!(choose_format(None, fb), Ok(Format::PromText));
        assert_eq!(
            choose_format(Some(""), None).unwrap_err(),
            "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
        );
        assert_eq!(
            choose_format(Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily"), None).unwrap_err(),
            "received unsupported Content-Type \"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily\" and no fallback_scrape_protocol specified for target"
        );
    }

    #[test]
    fn timeout_seconds_as_go_formats_them() {
        assert_eq!(format_seconds(Duration::from_secs(10)), "10");
        assert_eq!(format_seconds(Duration::from_millis(500)), "0.5");
        assert_eq!(format_seconds(Duration::from_millis(1250)), "1.25");
    }

    #[test]
    fn the_buffer_pool_reuses_and_bounds_buffers() {
        let pool = BufferPool::default();
        let mut b = pool.get();
        b.extend_from_slice(b"abc");
        let cap = b.capacity();
        pool.put(b);
        let b = pool.get();
        assert!(b.is_empty() && b.capacity() == cap);
        for _ in 0..MAX_IDLE_BUFFERS + 10 {
            pool.put(Vec::with_capacity(8));
        }
        assert_eq!(pool.free.lock().len(), MAX_IDLE_BUFFERS);
    }
}
