//! The storage-agnostic read interface: select series by label matchers over a time range,
//! and list label names and values.
//!
//! The PromQL engine and the HTTP API see storage only through [`Querier`], so the head,
//! persistent blocks and remote stores look the same to them. A selected [`Series`] carries
//! its labels and the chunks overlapping the range; [`SeriesIterator`] decodes them one
//! sample at a time, without copying, bounded to the querier's range.

use crate::chunkenc::{ChunkError, Encoding, SampleIterator, ValueType, XorIterator};
use crate::head::ChunkBytes;
use crate::labels::Labels;
use crate::matcher::Matcher;

/// Why a query against storage failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryError {
    #[error("reading chunk of series {series}: {reason}")]
    Chunk { series: String, reason: String },
    #[error("storage is closed")]
    Closed,
    #[error("{0}")]
    Other(String),
}

/// Hints a selection may use to do less work (Prometheus's `SelectHints`). All times are
/// milliseconds; zero means unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectHints {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    /// The function around the selector (`rate`, `series` for metadata calls, ...).
    pub func: Option<String>,
    /// The range of a range selector.
    pub range: i64,
    pub grouping: Vec<String>,
    pub by: bool,
    /// At most this many series (0: no limit).
    pub limit: usize,
}

/// Hints for label name and value look-ups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelHints {
    /// At most this many results (0: no limit).
    pub limit: usize,
}

/// Series as a selection yields them, lazily.
pub type SeriesSet = Box<dyn Iterator<Item = Result<Series, QueryError>> + Send>;

/// Read access to stored series over a fixed time range `[mint, maxt]`.
pub trait Querier: Send + Sync {
    /// The series matching all `matchers` that have samples in the range, sorted by labels
    /// when `sorted` is true.
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet, QueryError>;

    /// Sorted distinct values of label `name` among series matching `matchers` (all series
    /// when empty).
    fn label_values(
        &self,
        name: &str,
        hints: &LabelHints,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, QueryError>;

    /// Sorted distinct label names among series matching `matchers`.
    fn label_names(
        &self,
        hints: &LabelHints,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, QueryError>;
}

/// Something queriers can be opened on: the head, the database, later remote stores.
pub trait Queryable: Send + Sync {
    /// A querier over `[mint, maxt]` (milliseconds, inclusive).
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, QueryError>;
}

impl Queryable for std::sync::Arc<crate::head::Head> {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, QueryError> {
        Ok(Box::new(crate::head::Head::querier(self, mint, maxt)))
    }
}

impl Queryable for crate::db::Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, QueryError> {
        Ok(Box::new(crate::db::Db::querier(self, mint, maxt)))
    }
}

/// One encoded chunk of a series.
#[derive(Debug, Clone)]
pub struct ChunkMeta {
    pub min_t: i64,
    pub max_t: i64,
    pub encoding: Encoding,
    pub bytes: ChunkBytes,
}

/// A selected series: labels, and chunks in time order, bounded to `[mint, maxt]`.
#[derive(Debug, Clone)]
pub struct Series {
    labels: Labels,
    chunks: Vec<ChunkMeta>,
    mint: i64,
    maxt: i64,
}

impl Series {
    pub fn new(labels: Labels, chunks: Vec<ChunkMeta>, mint: i64, maxt: i64) -> Series {
        Series {
            labels,
            chunks,
            mint,
            maxt,
        }
    }

    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    pub fn into_labels(self) -> Labels {
        self.labels
    }

    /// The chunks, oldest first (they may extend beyond the range; the iterator trims).
    pub fn chunks(&self) -> &[ChunkMeta] {
        &self.chunks
    }

    /// Calls `f` with every sample in `[mint, maxt]` (within the querier's range too), in
    /// time order, decoding each chunk in one tight loop: the fast way to read every
    /// sample of a span. [`iter`](Self::iter) is for reading with `seek`, skipping chunks.
    /// Returns the number of samples passed to `f`.
    pub fn for_each_in(
        &self,
        mint: i64,
        maxt: i64,
        mut f: impl FnMut(i64, f64),
    ) -> Result<u64, ChunkError> {
        let (lo, hi) = (mint.max(self.mint), maxt.min(self.maxt));
        let mut last_t = i64::MIN;
        let mut n = 0u64;
        for c in &self.chunks {
            if c.max_t < lo {
                continue;
            }
            if c.min_t > hi {
                break;
            }
            if c.encoding != Encoding::Xor {
                return Err(ChunkError::UnsupportedEncoding(c.encoding as u8));
            }
            let mut it = XorIterator::new(c.bytes.as_slice());
            // A chunk starting inside the span and after the previous one's samples (the
            // usual case) needs only the end checked per sample.
            let starts_inside = c.min_t >= lo && c.min_t > last_t;
            if starts_inside {
                while it.next() != ValueType::None {
                    let (t, v) = it.at();
                    // Time never goes backwards within a chunk; should a corrupt one try,
                    // the sample is skipped as below.
                    if t > hi {
                        break;
                    }
                    if t <= last_t {
                        continue;
                    }
                    last_t = t;
                    n += 1;
                    f(t, v);
                }
            } else {
                while it.next() != ValueType::None {
                    let (t, v) = it.at();
                    // Before the span, or not newer than the previous chunk's last sample
                    // (overlapping chunks from different sources): skipped.
                    if t < lo || t <= last_t {
                        continue;
                    }
                    if t > hi {
                        break;
                    }
                    last_t = t;
                    n += 1;
                    f(t, v);
                }
            }
            if let Some(e) = it.err() {
                return Err(e.clone());
            }
            if last_t >= hi {
                break;
            }
        }
        Ok(n)
    }

    /// An upper bound on the number of samples in `[mint, maxt]`: the sample counts of the
    /// chunks overlapping it (read from their headers), for sizing buffers.
    pub fn sample_count_hint(&self, mint: i64, maxt: i64) -> usize {
        let (lo, hi) = (mint.max(self.mint), maxt.min(self.maxt));
        self.chunks
            .iter()
            .filter(|c| c.max_t >= lo && c.min_t <= hi)
            .map(|c| match c.bytes.as_slice().first_chunk::<2>() {
                Some(h) => u16::from_be_bytes(*h) as usize,
                None => 0,
            })
            .sum()
    }

    /// The samples within the querier's range.
    pub fn iter(&self) -> SeriesIterator<'_> {
        SeriesIterator {
            chunks: &self.chunks,
            next_chunk: 0,
            cur: None,
            mint: self.mint,
            maxt: self.maxt,
            last_t: i64::MIN,
            cur_vt: ValueType::None,
            done: false,
            err: None,
        }
    }
}

/// Iterates a series' samples across its chunks, trimmed to the querier's range.
///
/// Chunks of one source never overlap; should two overlap (data from different sources),
/// a sample not newer than the previous one is skipped so time never goes backwards.
pub struct SeriesIterator<'a> {
    chunks: &'a [ChunkMeta],
    next_chunk: usize,
    cur: Option<XorIterator<'a>>,
    mint: i64,
    maxt: i64,
    last_t: i64,
    /// What the iterator stands on (`None` before the first sample).
    cur_vt: ValueType,
    done: bool,
    err: Option<ChunkError>,
}

impl<'a> SeriesIterator<'a> {
    /// Opens the next chunk that can hold a sample at or after `t`.
    fn open_next_chunk(&mut self, t: i64) -> bool {
        while let Some(c) = self.chunks.get(self.next_chunk) {
            self.next_chunk += 1;
            if c.max_t < t || c.max_t < self.mint {
                continue;
            }
            if c.min_t > self.maxt {
                break;
            }
            if c.encoding != Encoding::Xor {
                self.err = Some(ChunkError::UnsupportedEncoding(c.encoding as u8));
                return false;
            }
            self.cur = Some(XorIterator::new(c.bytes.as_slice()));
            return true;
        }
        false
    }

    fn finish(&mut self) -> ValueType {
        self.done = true;
        self.cur_vt = ValueType::None;
        self.cur = None;
        ValueType::None
    }

    /// Moves to the first sample at or after `t` that is inside the range and newer than
    /// the current one. `seek` positions the current chunk by seeking instead of stepping.
    fn advance(&mut self, t: i64, seek: bool) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        let target = t.max(self.mint).max(self.last_t.saturating_add(1));
        let mut use_seek = seek;
        loop {
            let vt = match self.cur.as_mut() {
                None => {
                    if !self.open_next_chunk(target) {
                        return self.finish();
                    }
                    use_seek = true;
                    continue;
                }
                Some(it) if use_seek => it.seek(target),
                Some(it) => it.next(),
            };
            if vt == ValueType::None {
                if let Some(e) = self.cur.as_ref().and_then(|it| it.err()) {
                    self.err = Some(e.clone());
                    return self.finish();
                }
                self.cur = None;
                continue;
            }
            let ts = self.at_t();
            if ts > self.maxt {
                return self.finish();
            }
            self.last_t = ts;
            self.cur_vt = vt;
            return vt;
        }
    }
}

impl SampleIterator for SeriesIterator<'_> {
    fn next(&mut self) -> ValueType {
        self.advance(i64::MIN, false)
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        // Already at or past t: no effect.
        if self.cur_vt != ValueType::None && self.last_t >= t {
            return self.cur_vt;
        }
        self.advance(t, true)
    }

    fn at(&self) -> (i64, f64) {
        self.cur.as_ref().map_or((0, 0.0), |c| c.at())
    }

    fn at_t(&self) -> i64 {
        self.cur.as_ref().map_or(0, |c| c.at_t())
    }

    fn err(&self) -> Option<&ChunkError> {
        self.err.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::chunkenc::XorChunk;

    fn chunk(samples: &[(i64, f64)]) -> ChunkMeta {
        let mut c = XorChunk::new();
        for &(t, v) in samples {
            c.append(t, v);
        }
        ChunkMeta {
            min_t: samples[0].0,
            max_t: samples[samples.len() - 1].0,
            encoding: Encoding::Xor,
            bytes: ChunkBytes::Shared(Arc::from(c.bytes())),
        }
    }

    fn by_iterator(s: &Series, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
        let mut it = s.iter();
        let mut out = Vec::new();
        let mut vt = it.seek(mint);
        while vt != ValueType::None {
            let (t, v) = it.at();
            if t > maxt {
                break;
            }
            out.push((t, v));
            vt = it.next();
        }
        out
    }

    /// `for_each_in` yields exactly what seeking and stepping the iterator yields, for
    /// spans starting and ending inside, between and outside chunks, with two chunks that
    /// overlap (time never goes backwards).
    #[test]
    fn for_each_in_agrees_with_the_iterator() {
        let a: Vec<(i64, f64)> = (0..120).map(|i| (i * 10, i as f64)).collect();
        let b: Vec<(i64, f64)> = (115..240).map(|i| (i * 10, -(i as f64))).collect();
        let c: Vec<(i64, f64)> = (300..310).map(|i| (i * 10, 0.5)).collect();
        let s = Series::new(
            Labels::empty(),
            vec![chunk(&a), chunk(&b), chunk(&c)],
            25,
            3050,
        );
        for mint in [-5, 0, 25, 1000, 1195, 1200, 2500, 3000, 4000] {
            for maxt in [0, 30, 1185, 1190, 2395, 2999, 3050, 9999] {
                let mut got = Vec::new();
                let n = s.for_each_in(mint, maxt, |t, v| got.push((t, v))).unwrap();
                assert_eq!(got, by_iterator(&s, mint, maxt), "[{mint}, {maxt}]");
                assert_eq!(n as usize, got.len());
            }
        }
    }

    #[test]
    fn for_each_in_reports_corrupt_chunks() {
        let mut bad = chunk(&[(0, 1.0), (10, 2.0), (20, 3.0)]);
        let bytes = bad.bytes.as_slice();
        bad.bytes = ChunkBytes::Shared(Arc::from(&bytes[..bytes.len() - 2]));
        let s = Series::new(Labels::empty(), vec![bad], 0, 100);
        assert!(s.for_each_in(0, 100, |_, _| {}).is_err());
    }
}
