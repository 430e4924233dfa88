//! One series in the head: its labels, its open chunk, and the references of its full
//! chunks.
//!
//! Memory per series is what Ember's footprint is made of, so a series holds only:
//! its packed labels, one open XOR chunk with its encoder state, and for each full chunk a
//! 32-byte [`FullChunk`] (time range, sample count and where the bytes are: a
//! `chunks_head/` file or, failing that, memory). Everything else (postings, maps) lives in
//! shared structures.
//!
//! Chunks are cut as Prometheus cuts them (`memSeries.appendPreprocessor`): at the end of
//! the chunk range the first sample falls in (so no chunk spans a block boundary); at a
//! predicted end time computed when a quarter of `samples_per_chunk` is reached, which
//! spreads the range's samples evenly over chunks of about `samples_per_chunk`; at twice
//! `samples_per_chunk` if the rate rose; and before a chunk would exceed 1 KiB.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::chunkenc::{XorChunk, MAX_BYTES_PER_XOR_CHUNK};
use crate::labels::Labels;
use crate::SeriesRef;

use super::chunks::{ChunkStore, StoredChunkRef};

/// The largest sample an XOR append can add: a chunk at this size or above is cut before
/// the next append so it never exceeds [`MAX_BYTES_PER_XOR_CHUNK`] (Prometheus's
/// `MaxBytesPerXORChunkBeforeAppend`).
const MAX_BYTES_BEFORE_APPEND: usize = MAX_BYTES_PER_XOR_CHUNK - 19;

/// Chunk-cutting parameters shared by all series of a head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkOpts {
    /// The block range: chunks never span a multiple of it.
    pub chunk_range: i64,
    pub samples_per_chunk: u16,
}

/// A series in the head.
pub(crate) struct MemSeries {
    pub series_ref: SeriesRef,
    pub labels: Labels,
    /// Whether a WAL series record for this series has been written. A commit that
    /// carries samples for a series not yet logged writes its series record first, so the
    /// WAL never holds samples for a series it does not define.
    logged: AtomicBool,
    pub state: Mutex<SeriesState>,
}

/// The mutable part of a series, behind its own lock.
pub(crate) struct SeriesState {
    open: Option<OpenChunk>,
    pub full: Vec<FullChunk>,
    /// The timestamp at or after which the next sample starts a new chunk.
    next_at: i64,
    /// Timestamp of the newest sample (`i64::MIN` when there is none).
    pub last_t: i64,
    /// Value of the newest sample, for duplicate detection.
    pub last_v: f64,
}

/// The chunk samples are appended to.
pub(crate) struct OpenChunk {
    pub chunk: XorChunk,
    pub min_t: i64,
    pub max_t: i64,
}

/// A full chunk: where its bytes are and what they cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FullChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub stored: StoredChunkRef,
    pub num_samples: u16,
}

/// What a chunk looks like to a query: its range and either a stored chunk to fetch or a
/// copy of the open chunk's bytes.
#[derive(Debug, Clone)]
pub(crate) enum ChunkSnapshot {
    Stored {
        min_t: i64,
        max_t: i64,
        stored: StoredChunkRef,
    },
    Open {
        min_t: i64,
        max_t: i64,
        bytes: Arc<[u8]>,
    },
}

/// Prometheus's `rangeForTimestamp`: the end of the chunk range `t` falls in.
pub(crate) fn range_end(t: i64, width: i64) -> i64 {
    (t / width) * width + width
}

/// Prometheus's `computeChunkEndTime`: assuming the range up to `max_t` fills at the rate
/// seen between `start` and `cur` (a quarter of a chunk), the end time that splits the
/// rest of the range into equally sized chunks.
fn chunk_end_time(start: i64, cur: i64, max_t: i64, ratio_to_full: f64) -> i64 {
    let n = (max_t - start) as f64 / ((cur - start + 1) as f64 * ratio_to_full);
    if n <= 1.0 {
        return max_t;
    }
    (start as f64 + (max_t - start) as f64 / n.floor()) as i64
}

impl MemSeries {
    pub fn new(series_ref: SeriesRef, labels: Labels, logged: bool) -> MemSeries {
        MemSeries {
            series_ref,
            labels,
            logged: AtomicBool::new(logged),
            state: Mutex::new(SeriesState {
                open: None,
                full: Vec::new(),
                next_at: i64::MIN,
                last_t: i64::MIN,
                last_v: 0.0,
            }),
        }
    }

    pub fn is_logged(&self) -> bool {
        self.logged.load(Ordering::Acquire)
    }

    pub fn mark_logged(&self) {
        self.logged.store(true, Ordering::Release);
    }
}

/// Whether appending changed the number of chunks, for the head's chunk metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AppendOutcome {
    pub appended: bool,
    pub chunk_created: bool,
}

impl SeriesState {
    /// Appends an in-order sample. Returns `appended: false` when `t` is not after the
    /// newest sample (the caller validated earlier, but a concurrent commit may have won).
    pub fn append(
        &mut self,
        series: SeriesRef,
        t: i64,
        v: f64,
        opts: ChunkOpts,
        store: &ChunkStore,
    ) -> AppendOutcome {
        if t <= self.last_t {
            return AppendOutcome::default();
        }
        let mut created = false;
        let needs_cut = match &self.open {
            None => true,
            Some(c) => c.chunk.bytes().len() >= MAX_BYTES_BEFORE_APPEND,
        };
        if needs_cut {
            self.cut(series, t, opts, store);
            created = true;
        }
        let quarter = opts.samples_per_chunk / 4;
        let n = self.open.as_ref().map_or(0, |c| c.chunk.num_samples());
        if n == quarter && n > 0 {
            if let Some(c) = &self.open {
                self.next_at = chunk_end_time(c.min_t, c.max_t, self.next_at, 4.0);
            }
        }
        if !created && (t >= self.next_at || n >= opts.samples_per_chunk.saturating_mul(2)) {
            self.cut(series, t, opts, store);
            created = true;
        }
        if let Some(c) = &mut self.open {
            c.chunk.append(t, v);
            c.max_t = t;
        }
        self.last_t = t;
        self.last_v = v;
        AppendOutcome {
            appended: true,
            chunk_created: created,
        }
    }

    /// Moves the open chunk (if it has samples) to the chunk store and starts a new one
    /// whose range begins at `t`.
    fn cut(&mut self, series: SeriesRef, t: i64, opts: ChunkOpts, store: &ChunkStore) {
        if let Some(old) = self.open.take() {
            if old.chunk.num_samples() > 0 {
                let stored = store.write(series, old.min_t, old.max_t, old.chunk.bytes());
                self.full.push(FullChunk {
                    min_t: old.min_t,
                    max_t: old.max_t,
                    stored,
                    num_samples: old.chunk.num_samples(),
                });
            }
        }
        self.open = Some(OpenChunk {
            chunk: XorChunk::new(),
            min_t: t,
            max_t: i64::MIN,
        });
        self.next_at = range_end(t, opts.chunk_range);
    }

    /// Attaches full chunks found in `chunks_head/` at start-up (oldest first).
    pub fn attach_full_chunks(&mut self, chunks: Vec<FullChunk>) {
        if let Some(last) = chunks.last() {
            self.last_t = self.last_t.max(last.max_t);
        }
        self.full = chunks;
    }

    /// The newest sample's value when it must be known for a duplicate check but only
    /// stored chunks hold it (after a restart, before the first append).
    pub fn needs_last_value_from_store(&self) -> bool {
        self.open.is_none() && !self.full.is_empty()
    }

    /// Oldest sample timestamp, if any.
    pub fn min_time(&self) -> Option<i64> {
        match (self.full.first(), &self.open) {
            (Some(f), _) => Some(f.min_t),
            (None, Some(o)) if o.chunk.num_samples() > 0 => Some(o.min_t),
            _ => None,
        }
    }

    /// The chunks overlapping `[mint, maxt]`, oldest first; the open chunk is copied.
    pub fn snapshot(&self, mint: i64, maxt: i64, out: &mut Vec<ChunkSnapshot>) {
        for f in &self.full {
            if f.max_t >= mint && f.min_t <= maxt {
                out.push(ChunkSnapshot::Stored {
                    min_t: f.min_t,
                    max_t: f.max_t,
                    stored: f.stored,
                });
            }
        }
        if let Some(o) = &self.open {
            if o.chunk.num_samples() > 0 && o.max_t >= mint && o.min_t <= maxt {
                out.push(ChunkSnapshot::Open {
                    min_t: o.min_t,
                    max_t: o.max_t,
                    bytes: Arc::from(o.chunk.bytes()),
                });
            }
        }
    }

    /// Heap and inline bytes this state holds (for memory accounting in tests/benches).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<SeriesState>()
            + self.full.capacity() * std::mem::size_of::<FullChunk>()
            + self.open.as_ref().map_or(0, |o| o.chunk.heap_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::{SampleIterator, ValueType, XorIterator};

    const HOUR: i64 = 3600 * 1000;

    fn opts() -> ChunkOpts {
        ChunkOpts {
            chunk_range: 2 * HOUR,
            samples_per_chunk: 120,
        }
    }

    fn collect(store: &ChunkStore, st: &SeriesState) -> Vec<(i64, f64)> {
        let mut snaps = Vec::new();
        st.snapshot(i64::MIN, i64::MAX, &mut snaps);
        let mut out = Vec::new();
        for s in snaps {
            let bytes: Vec<u8> = match s {
                ChunkSnapshot::Stored { stored, .. } => store
                    .read(stored)
                    .expect("stored chunk")
                    .as_slice()
                    .to_vec(),
                ChunkSnapshot::Open { bytes, .. } => bytes.to_vec(),
            };
            let mut it = XorIterator::new(&bytes);
            while it.next() == ValueType::Float {
                out.push(it.at());
            }
        }
        out
    }

    #[test]
    fn range_end_is_prometheus_range_for_timestamp() {
        assert_eq!(range_end(0, 2 * HOUR), 2 * HOUR);
        assert_eq!(range_end(2 * HOUR - 1, 2 * HOUR), 2 * HOUR);
        assert_eq!(range_end(2 * HOUR, 2 * HOUR), 4 * HOUR);
    }

    /// At a 15 s interval a 2 h range holds 480 samples: Prometheus's prediction splits it
    /// into four chunks of 120, each ending on a 30-minute boundary.
    #[test]
    fn cuts_like_prometheus_at_15s() {
        let store = ChunkStore::memory();
        let s = MemSeries::new(SeriesRef(1), Labels::empty(), true);
        let mut st = s.state.lock();
        for i in 0..480 {
            let out = st.append(SeriesRef(1), i * 15_000, i as f64, opts(), &store);
            assert!(out.appended);
        }
        let sizes: Vec<u16> = st.full.iter().map(|f| f.num_samples).collect();
        assert_eq!(sizes, [120, 120, 120]);
        assert_eq!(st.open.as_ref().map(|o| o.chunk.num_samples()), Some(120));
        // The chunk after the range boundary starts a new range.
        st.append(SeriesRef(1), 2 * HOUR, 0.0, opts(), &store);
        assert_eq!(st.full.len(), 4);
        let got = collect(&store, &st);
        assert_eq!(got.len(), 481);
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn never_spans_a_range_boundary() {
        let store = ChunkStore::memory();
        let s = MemSeries::new(SeriesRef(1), Labels::empty(), true);
        let mut st = s.state.lock();
        // A sample every 7 minutes across 10 hours.
        for i in 0..90 {
            st.append(SeriesRef(1), i * 7 * 60_000, 1.0, opts(), &store);
        }
        for f in &st.full {
            assert_eq!(
                f.min_t / (2 * HOUR),
                f.max_t / (2 * HOUR),
                "chunk {f:?} spans a boundary"
            );
        }
        assert_eq!(collect(&store, &st).len(), 90);
    }

    #[test]
    fn rejects_non_increasing_timestamps() {
        let store = ChunkStore::memory();
        let s = MemSeries::new(SeriesRef(1), Labels::empty(), true);
        let mut st = s.state.lock();
        assert!(st.append(SeriesRef(1), 10, 1.0, opts(), &store).appended);
        assert!(!st.append(SeriesRef(1), 10, 1.0, opts(), &store).appended);
        assert!(!st.append(SeriesRef(1), 9, 1.0, opts(), &store).appended);
        assert_eq!(collect(&store, &st), [(10, 1.0)]);
    }

    #[test]
    fn caps_chunk_size_at_1kib() {
        let store = ChunkStore::memory();
        let s = MemSeries::new(SeriesRef(1), Labels::empty(), true);
        let mut st = s.state.lock();
        // Random-looking values make each sample cost many bits.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..119 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            st.append(
                SeriesRef(1),
                i * 1000,
                f64::from_bits(x >> 2),
                opts(),
                &store,
            );
        }
        assert!(!st.full.is_empty(), "a 1 KiB chunk should have been cut");
        for f in &st.full {
            let len = store.read(f.stored).expect("chunk").as_slice().len();
            assert!(len <= MAX_BYTES_PER_XOR_CHUNK, "chunk of {len} bytes");
        }
    }

    #[test]
    fn chunk_end_time_matches_prometheus_formula() {
        // 30 samples at 15 s from 0: cur = 435000, range end 7200000 → n = 4.13 → 4 chunks.
        assert_eq!(chunk_end_time(0, 435_000, 2 * HOUR, 4.0), HOUR / 2);
        // Sparse data: n <= 1 keeps the range end.
        assert_eq!(chunk_end_time(0, HOUR, 2 * HOUR, 4.0), 2 * HOUR);
    }
}
