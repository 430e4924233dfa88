//! The head: the in-memory part of the database, holding the most recent samples of every
//! active series.
//!
//! ```text
//!  Appender ──commit──> WAL (one write per batch) ──then──> series (striped maps)
//!                                                             │ open chunk (XOR)
//!                                                             └ full chunks ──> chunks_head/
//!  Querier  ──matchers──> postings ──refs──> series ──> chunk snapshots ──> samples
//! ```
//!
//! Series live in [`stripe::StripeSeries`] (labels-hash → series and ref → series, each
//! striped over many locks) and in the inverted index [`crate::postings::MemPostings`].
//! Each series has its own small lock; nothing global is locked per sample. A batch
//! becomes durable (WAL written) before any of its samples is applied, so a crash never
//! leaves applied-but-unlogged data, and replay ([`replay`]) rebuilds exactly the
//! committed state.

mod appender;
mod cardinality;
mod chunks;
mod metrics;
pub(crate) mod querier;
pub(crate) mod replay;
mod series;
mod stripe;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::chunkenc::{SampleIterator, ValueType, XorIterator};
use crate::chunks_head::ChunkDiskMapper;
use crate::labels::{Labels, LabelsRef};
use crate::postings::MemPostings;
use crate::wal::Wal;
use crate::SeriesRef;

pub use appender::{AppendError, Appender, CommitStats};
pub use cardinality::CardinalityStats;
pub use chunks::ChunkBytes;
pub use querier::HeadQuerier;
pub use replay::ReplayStats;

use appender::AppendBuffers;
use chunks::ChunkStore;
use metrics::HeadMetrics;
use series::{ChunkOpts, MemSeries};
use stripe::StripeSeries;

/// Options of a head; the defaults are Prometheus's.
#[derive(Debug, Clone, Copy)]
pub struct HeadOptions {
    /// The block range in milliseconds: chunks never span a multiple of it, and samples
    /// older than half of it behind the newest sample are out of bounds.
    pub chunk_range: i64,
    /// Samples per chunk that chunk cutting aims at.
    pub samples_per_chunk: u16,
    /// Number of lock stripes of the series maps.
    pub stripes: usize,
}

impl Default for HeadOptions {
    fn default() -> HeadOptions {
        HeadOptions {
            chunk_range: 2 * 3600 * 1000,
            samples_per_chunk: 120,
            stripes: stripe::DEFAULT_STRIPES,
        }
    }
}

/// Counts and time range of the head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    pub series: u64,
    pub chunks: u64,
    /// Oldest sample timestamp (`i64::MAX` when empty).
    pub min_time: i64,
    /// Newest sample timestamp (`i64::MIN` when empty).
    pub max_time: i64,
}

/// The in-memory head. Shared as `Arc<Head>` by appenders and queriers.
pub struct Head {
    opts: ChunkOpts,
    series: StripeSeries,
    postings: MemPostings,
    chunks: ChunkStore,
    wal: Option<Wal>,
    last_series_ref: AtomicU64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    /// No sample older than this is accepted (the end of the newest persisted block).
    min_valid_time: AtomicI64,
    metrics: HeadMetrics,
    buffers: Mutex<Vec<AppendBuffers>>,
    closed: AtomicBool,
}

impl Head {
    /// A head without a WAL whose full chunks stay in memory: for tests, benchmarks and
    /// the PromQL conformance runner. Nothing survives the process.
    pub fn in_memory(opts: HeadOptions) -> Arc<Head> {
        Arc::new(Head::new(opts, ChunkStore::memory(), None))
    }

    /// A durable head over an open WAL and `chunks_head/` mapper (replay is separate).
    pub(crate) fn durable(opts: HeadOptions, wal: Wal, mapper: ChunkDiskMapper) -> Head {
        Head::new(opts, ChunkStore::disk(mapper), Some(wal))
    }

    fn new(opts: HeadOptions, chunks: ChunkStore, wal: Option<Wal>) -> Head {
        let metrics = HeadMetrics::new();
        Head {
            opts: ChunkOpts {
                chunk_range: opts.chunk_range.max(1),
                samples_per_chunk: opts.samples_per_chunk.max(1),
            },
            series: StripeSeries::new(opts.stripes),
            postings: MemPostings::new(),
            chunks,
            wal,
            last_series_ref: AtomicU64::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            metrics,
            buffers: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Registers the head's metrics in `registry`.
    pub fn register_metrics(
        self: &Arc<Self>,
        registry: &prometheus::Registry,
    ) -> prometheus::Result<()> {
        self.metrics.bind(Arc::downgrade(self));
        self.metrics.register(registry)
    }

    /// A new batch of appends.
    pub fn appender(self: &Arc<Self>) -> Appender {
        Appender::new(self.clone())
    }

    /// A querier over `[mint, maxt]` (inclusive, milliseconds).
    pub fn querier(self: &Arc<Self>, mint: i64, maxt: i64) -> HeadQuerier {
        HeadQuerier::new(self.clone(), mint, maxt)
    }

    pub fn stats(&self) -> HeadStats {
        HeadStats {
            series: self.metrics.series.get().max(0) as u64,
            chunks: self.metrics.chunks.get().max(0) as u64,
            min_time: self.min_time.load(Ordering::Acquire),
            max_time: self.max_time.load(Ordering::Acquire),
        }
    }

    pub fn num_series(&self) -> u64 {
        self.stats().series
    }

    /// Oldest sample timestamp, `i64::MAX` when the head is empty.
    pub fn min_time(&self) -> i64 {
        self.min_time.load(Ordering::Acquire)
    }

    /// Newest sample timestamp, `i64::MIN` when the head is empty.
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    /// The oldest timestamp an append may have now (Prometheus's
    /// `appendableMinValidTime`): half a block range behind the newest sample, and never
    /// before the end of the newest persisted block.
    pub fn appendable_min_valid_time(&self) -> i64 {
        let window_end = self.max_time().saturating_sub(self.opts.chunk_range / 2);
        window_end.max(self.min_valid_time.load(Ordering::Acquire))
    }

    /// Sets the end of the newest persisted block (no older sample may enter the head).
    pub fn set_min_valid_time(&self, t: i64) {
        self.min_valid_time.fetch_max(t, Ordering::AcqRel);
    }

    /// The labels of a series, if it exists.
    pub fn series_labels(&self, r: SeriesRef) -> Option<Labels> {
        self.series.get_by_ref(r).map(|s| s.labels.clone())
    }

    /// The ref of the series with these labels, if it exists.
    pub fn series_ref(&self, labels: LabelsRef<'_>) -> Option<SeriesRef> {
        self.series
            .get_by_labels(labels.hash64(), labels)
            .map(|s| s.series_ref)
    }

    pub(crate) fn wal(&self) -> Option<&Wal> {
        self.wal.as_ref()
    }

    pub(crate) fn postings(&self) -> &MemPostings {
        &self.postings
    }

    /// Finds or creates the series for `labels`.
    fn get_or_create(&self, labels: LabelsRef<'_>) -> (Arc<MemSeries>, bool) {
        let hash = labels.hash64();
        let (series, created) = self.series.get_or_create(hash, labels, false, || {
            SeriesRef(self.last_series_ref.fetch_add(1, Ordering::AcqRel) + 1)
        });
        if created {
            self.postings.add(series.series_ref, series.labels.as_ref());
            self.metrics.series.inc();
            self.metrics.series_created.inc();
        }
        (series, created)
    }

    /// The newest sample value of a series whose newest sample is in a stored chunk (after
    /// a restart, before the first append), for duplicate detection.
    fn last_stored_value(&self, state: &series::SeriesState) -> Option<f64> {
        let last = state.full.last()?;
        let bytes = self.chunks.read(last.stored).ok()?;
        let mut it = XorIterator::new(bytes.as_slice());
        let mut value = None;
        while it.next() == ValueType::Float {
            value = Some(it.at().1);
        }
        value
    }

    /// Widens the head's time range to cover `[mint, maxt]`.
    fn update_time_range(&self, mint: i64, maxt: i64) {
        if mint > maxt {
            return;
        }
        self.min_time.fetch_min(mint, Ordering::AcqRel);
        self.max_time.fetch_max(maxt, Ordering::AcqRel);
    }

    /// Shrinks the WAL as Prometheus does after a head truncation: starts a new segment,
    /// checkpoints the older two thirds of the segments (keeping the series the head still
    /// holds and their samples at or after `mint`), deletes those segments and older
    /// checkpoints. Returns what the checkpoint kept and dropped, or `None` when there was
    /// nothing to truncate (or no WAL).
    pub fn truncate_wal(
        &self,
        mint: i64,
    ) -> Result<Option<crate::wal::CheckpointStats>, crate::wal::WalError> {
        let Some(wal) = self.wal() else {
            return Ok(None);
        };
        wal.next_segment()?;
        let Some((first, last)) = wal.segments()? else {
            return Ok(None);
        };
        // Never the segment being written; of the rest, the older two thirds hold mostly
        // obsolete samples.
        let Some(last) = last.checked_sub(1) else {
            return Ok(None);
        };
        if last < first {
            return Ok(None);
        }
        let to = first + (last - first) * 2 / 3;
        let keep = |r: SeriesRef| self.series.get_by_ref(r).is_some();
        let stats = wal.checkpoint(first, to, &keep, mint)?;
        wal.truncate(to + 1)?;
        wal.delete_checkpoints(to)?;
        Ok(Some(stats))
    }

    /// Flushes chunk files and the WAL and fsyncs them. Appends fail afterwards.
    pub(crate) fn close(&self) -> Result<(), crate::db::DbError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some(m) = self.chunks.mapper() {
            m.close().map_err(crate::db::DbError::from)?;
        }
        if let Some(w) = &self.wal {
            w.close().map_err(crate::db::DbError::from)?;
        }
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Approximate bytes of memory the head's series use (labels, series state, open
    /// chunks, maps), excluding postings: for the memory benchmarks.
    pub fn series_memory_bytes(&self) -> usize {
        let mut total = self.series.map_bytes();
        self.series.for_each(|s| {
            total += std::mem::size_of::<MemSeries>()
                + 16 // Arc counts
                + s.labels.heap_bytes()
                + s.state.lock().memory_bytes();
        });
        total
    }
}

#[cfg(test)]
mod tests;
