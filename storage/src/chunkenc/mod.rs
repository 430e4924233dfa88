//! Chunk encodings.
//!
//! A chunk holds up to a few hundred samples of one series, compressed. Ember uses
//! Prometheus's encodings bit for bit (`tsdb/docs/format/chunks.md`), so its blocks and
//! `chunks_head/` files are readable by Prometheus and the other way round. Today that is
//! the XOR (Gorilla) encoding for float samples; native histogram encodings slot in beside
//! it as further [`Encoding`] variants and [`ValueType`]s.

mod bstream;
mod xor;

pub use xor::{XorChunk, XorIterator};

/// Chunk encodings, numbered as in Prometheus's `chunkenc.Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    None = 0,
    Xor = 1,
    Histogram = 2,
    FloatHistogram = 3,
    Xor2 = 4,
    HistogramSt = 5,
    FloatHistogramSt = 6,
}

impl Encoding {
    /// The encoding for a stored byte, or `None` when the byte is no known encoding.
    pub fn from_u8(b: u8) -> Option<Encoding> {
        Some(match b {
            0 => Encoding::None,
            1 => Encoding::Xor,
            2 => Encoding::Histogram,
            3 => Encoding::FloatHistogram,
            4 => Encoding::Xor2,
            5 => Encoding::HistogramSt,
            6 => Encoding::FloatHistogramSt,
            _ => return None,
        })
    }
}

/// The largest an XOR chunk may grow (Prometheus's `MaxBytesPerXORChunk`).
pub const MAX_BYTES_PER_XOR_CHUNK: usize = 1024;

/// A head chunk is cut before an append once its bytes exceed this: the largest sample
/// (19 bytes) then still fits [`MAX_BYTES_PER_XOR_CHUNK`]
/// (Prometheus's `MaxBytesPerXORChunkBeforeAppend`).
pub const MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND: usize = MAX_BYTES_PER_XOR_CHUNK - 19;

/// What an iterator is positioned on, as Prometheus's `chunkenc.ValueType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Exhausted (or failed: see [`SampleIterator::err`]).
    None,
    Float,
    Histogram,
    FloatHistogram,
}

/// The bit pattern Prometheus writes as a staleness marker: a signalling NaN that no
/// arithmetic produces, so it survives storage and is recognised on read.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is the staleness marker (compared by bits: every other NaN is a value).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// A decoding failure: the bytes are not a valid chunk of the claimed encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk too short: {0} bytes")]
    TooShort(usize),
    #[error("chunk data truncated after {decoded} of {expected} samples")]
    Truncated { decoded: u16, expected: u16 },
    #[error("corrupt chunk data in sample {sample}: {reason}")]
    Corrupt { sample: u16, reason: &'static str },
    #[error("unsupported chunk encoding {0}")]
    UnsupportedEncoding(u8),
}

/// Iterates the samples of a chunk, a series, or a merge of several, in timestamp order.
///
/// Semantics are those of Prometheus's `chunkenc.Iterator`: `next` advances and says what
/// the iterator now stands on; `seek(t)` advances to the first sample with timestamp `>= t`
/// and does nothing if the current sample already qualifies; once `ValueType::None` is
/// returned, every later call returns it too and [`SampleIterator::err`] says whether the
/// end was an error.
pub trait SampleIterator {
    fn next(&mut self) -> ValueType;
    fn seek(&mut self, t: i64) -> ValueType;
    /// The current float sample. Only meaningful after `next`/`seek` returned `Float`.
    fn at(&self) -> (i64, f64);
    /// The current sample's timestamp, whatever its type.
    fn at_t(&self) -> i64;
    fn err(&self) -> Option<&ChunkError>;
}
