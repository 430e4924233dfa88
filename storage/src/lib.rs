//! Ember's storage engine.
//!
//! Samples enter through an [`head::Appender`], are made durable in the write-ahead log
//! ([`wal`]) and then become visible in the in-memory [`head`], whose full chunks live in
//! memory-mapped files ([`chunks_head`]). Queries go through the storage-agnostic
//! [`querier`] interface. [`db::Db`] owns the data directory and wires the parts together.
//!
//! | module        | concern                                                           |
//! |---------------|-------------------------------------------------------------------|
//! | [`labels`]    | label sets: packed, sorted, hashed                                |
//! | [`matcher`]   | label matchers (`=`, `!=`, `=~`, `!~`) with fast paths            |
//! | [`chunkenc`]  | the XOR (Gorilla) chunk encoding, bit for bit Prometheus's        |
//! | [`postings`]  | sorted series-ref lists and the head's inverted index             |
//! | [`wal`]       | Prometheus's WAL format: segments, records, repair, checkpoints   |
//! | [`chunks_head`] | Prometheus's `chunks_head/` files for full head chunks          |
//! | [`head`]      | the in-memory series, appenders, replay                           |
//! | [`querier`]   | select series by matchers over a time range                       |
//! | [`db`]        | the data directory: lock, open, replay, close                     |

pub mod chunkenc;
pub mod chunks_head;
pub mod db;
pub mod head;
pub mod labels;
pub mod matcher;
pub mod metrics;
pub mod numfmt;
pub mod postings;
pub mod querier;
pub mod wal;

pub use labels::{Label, Labels, LabelsBuilder, LabelsRef};

/// A series' identity inside the head: a process-wide, monotonically assigned number that
/// is also the series id in WAL records and `chunks_head/` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SeriesRef(pub u64);

/// Milliseconds since the Unix epoch, as everywhere in Prometheus.
pub type Timestamp = i64;
