//! Query errors, worded as Prometheus words them; the HTTP API maps each kind to
//! Prometheus's `errorType` and status code.

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The query text is not valid PromQL (`bad_data`, 400).
    #[error("{0}")]
    Parse(String),
    /// Evaluation failed: matching errors, bad function arguments, ... (`execution`, 422).
    #[error("{0}")]
    Execution(String),
    /// `--query.max-samples` exceeded (`execution`, 422).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// `--query.timeout` or the request's `timeout` exceeded (`timeout`, 503).
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The client went away (`canceled`, 503).
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// Reading storage failed (`internal`, 500).
    #[error("{0}")]
    Storage(String),
}

impl QueryError {
    /// A shorthand for [`QueryError::Execution`].
    pub fn exec(msg: impl Into<String>) -> QueryError {
        QueryError::Execution(msg.into())
    }
}

impl From<ember_storage::querier::QueryError> for QueryError {
    fn from(e: ember_storage::querier::QueryError) -> QueryError {
        QueryError::Storage(e.to_string())
    }
}
