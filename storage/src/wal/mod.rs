//! The write-ahead log, in Prometheus's on-disk format (`tsdb/docs/format/wal.md`), so that
//! Ember replays a WAL written by Prometheus 2.x/3.x and Prometheus replays Ember's.
//!
//! # Layout
//!
//! A WAL is a directory of *segments*, files named by an increasing 8-digit decimal number
//! (`00000000`, `00000001`, ...), plus *checkpoints*: directories `checkpoint.NNNNNNNN` that
//! hold, in the same segment format, what is still needed from all segments up to
//! `NNNNNNNN` (see [`checkpoint`]). Segments are 128 MiB by default; the last one is the one
//! being written.
//!
//! A segment is a sequence of 32 KiB *pages* and has no header. Records are opaque byte
//! strings (their content is defined in [`record`]); each is written as one or more
//! *fragments*, and a fragment never crosses a page boundary:
//!
//! ```text
//! fragment:  ┌──────────┬────────────────┬─────────────────────┬──────────────┐
//!            │ type: u8 │ length: u16 BE │ CRC32-Castagnoli BE │ data         │
//!            └──────────┴────────────────┴─────────────────────┴──────────────┘
//!                                          (over the data only)  (length bytes)
//!
//! type byte: ┌───────────────┬───────────┬─────────────┬───────────────────────┐
//!            │ reserved: 3b  │ zstd: 1b  │ snappy: 1b  │ fragment kind: 3b     │
//!            └───────────────┴───────────┴─────────────┴───────────────────────┘
//!            kind 0: the rest of the page is zero padding
//!                 1: a full record   2: first   3: middle   4: last fragment
//! ```
//!
//! A record that fits in the room left on the current page is written as one *full*
//! fragment; otherwise it is cut into a *first* fragment filling the page, *middle*
//! fragments filling whole pages, and a *last* fragment. When fewer than 7 bytes (a header)
//! remain on a page, the writer pads them with zeros. A record is compressed as a whole
//! (snappy block format or zstd) before it is cut up; its fragments carry the compression
//! flag. A record never spans two segments: if it does not fit in what is left of the
//! current segment, the writer moves to a new one; a record larger than a whole segment gets
//! a segment of its own that is as large as needed.
//!
//! # Why it is shaped like this
//!
//! Pages bound the damage of a torn write and let a reader resynchronise; CRCs catch bit
//! rot and torn fragments; never spanning segments means whole segments can be deleted
//! once a checkpoint covers them, and a torn write can only damage the last segment. After
//! a crash the WAL is read to its end; on a [`Corruption`] it is [repaired](Wal::repair) by
//! dropping everything from the damaged record on.
//!
//! # Modules
//!
//! | module         | concern                                                           |
//! |----------------|-------------------------------------------------------------------|
//! | [`Wal`]        | the writer: pages, fragments, segments, fsync, truncation, repair |
//! | [`Reader`]     | reads records back over a sequence of segments, detecting damage  |
//! | [`record`]     | the record types (series, samples, ...) and their encodings       |
//! | [`checkpoint`] | compacting old segments into a checkpoint                         |
//! | [`WalMetrics`] | the `prometheus_tsdb_wal_*` and `prometheus_tsdb_checkpoint_*` metrics |

pub mod checkpoint;
mod compress;
mod metrics;
mod reader;
pub mod record;
mod repair;
mod segment;
mod writer;

use std::io;
use std::path::PathBuf;

pub use crate::db::WalCompression;
pub use checkpoint::{
    checkpoint, checkpoint_dir, delete_checkpoints, delete_temp_checkpoints, last_checkpoint,
    CheckpointStats,
};
pub use metrics::WalMetrics;
pub use reader::Reader;
pub use repair::RepairReport;
pub use segment::{list_segments, segment_name, segment_range, SegmentRange};
pub use writer::{Wal, WalOptions};

/// Size of a page: fragments never cross a page boundary.
pub const PAGE_SIZE: usize = 32 * 1024;
/// Size of a fragment header: type byte, length, CRC.
pub const FRAGMENT_HEADER_SIZE: usize = 7;
/// Default segment size, as Prometheus's (`--storage.tsdb.wal-segment-size`).
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 * 1024 * 1024;
/// Largest record a reader will decompress. Protects against a corrupt (or hostile)
/// compressed record claiming a huge size; real records are far smaller (Prometheus's own
/// checkpoints write records of about 1 MiB).
pub const MAX_RECORD_SIZE: usize = 256 * 1024 * 1024;

/// Errors of the WAL: I/O, damage found while reading, misuse.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("create segment", "write", "fsync", ...).
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Corruption(#[from] Corruption),
    #[error("invalid WAL segment size {0}: it must be a positive multiple of the page size ({PAGE_SIZE})")]
    InvalidSegmentSize(u64),
    #[error("WAL segments in {dir} are not sequential: {prev:08} is followed by {next:08}")]
    NotSequential { dir: PathBuf, prev: u32, next: u32 },
    #[error("the write-ahead log in {0} is closed")]
    Closed(PathBuf),
    #[error("cannot repair {corruption}: {why}")]
    NotRepairable {
        corruption: Box<Corruption>,
        why: &'static str,
    },
    #[error("checkpoint of segments {from:08}..={to:08} in {dir}: the last checkpoint ends at segment {last:08}, so segments must start at {expected:08} at the latest")]
    CheckpointGap {
        dir: PathBuf,
        from: u32,
        to: u32,
        last: u32,
        expected: u32,
    },
    #[error("checkpoint {path} is not a directory")]
    CheckpointNotDir { path: PathBuf },
    #[error("decoding the record at offset {offset} of segment {segment:08} in {dir}: {source}")]
    Record {
        dir: PathBuf,
        segment: u32,
        offset: u64,
        #[source]
        source: record::RecordError,
    },
}

impl WalError {
    /// Wraps an I/O error with what was being done to which path. The path is copied only
    /// when there is an error, so hot paths pay nothing for it.
    pub(crate) fn io<'a>(
        op: &'static str,
        path: &'a std::path::Path,
    ) -> impl FnOnce(io::Error) -> WalError + 'a {
        move |source| WalError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Damage found while reading a segment. Everything before `offset` in `segment` (and in
/// all earlier segments) was read successfully; the record starting at `offset` (or the
/// padding there) is damaged or incomplete. [`Wal::repair`] keeps exactly the bytes before
/// `offset`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corruption in segment {segment:08} of {dir} at offset {offset}: {reason}", dir = dir.display())]
pub struct Corruption {
    /// The directory holding the segment (the WAL or a checkpoint).
    pub dir: PathBuf,
    pub segment: u32,
    /// Byte offset in the segment where the damaged record (its first fragment) or the
    /// damaged padding starts.
    pub offset: u64,
    pub reason: CorruptionReason,
}

/// What exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorruptionReason {
    #[error("fragment at offset {at}: checksum {computed:#010x} does not match the stored {stored:#010x}")]
    Checksum { at: u64, stored: u32, computed: u32 },
    #[error("fragment at offset {at}: unknown fragment type {kind}")]
    UnknownFragmentType { at: u64, kind: u8 },
    #[error("fragment at offset {at}: unsupported flags in type byte {byte:#04x}")]
    UnknownFlags { at: u64, byte: u8 },
    #[error("fragment at offset {at}: a {found} fragment {context}")]
    UnexpectedFragment {
        at: u64,
        found: &'static str,
        /// "inside a record" or "outside a record".
        context: &'static str,
    },
    #[error("fragment at offset {at}: the fragments of one record disagree on compression")]
    MixedCompression { at: u64 },
    #[error("fragment at offset {at}: header does not fit in the {room} bytes left on the page")]
    HeaderPastPage { at: u64, room: usize },
    #[error("fragment at offset {at}: length {len} runs past the end of the page ({room} bytes left after the header)")]
    LengthPastPage { at: u64, len: usize, room: usize },
    #[error("non-zero byte at offset {at} in page padding")]
    NonZeroPadding { at: u64 },
    #[error("segment ends at offset {end} inside a fragment (torn write)")]
    TruncatedFragment { end: u64 },
    #[error("segment ends at offset {end} inside a record (torn write)")]
    TornRecord { end: u64 },
    #[error("decompressing the record failed: {0}")]
    Decompress(String),
}

#[cfg(test)]
mod tests;
