//! Prometheus's `chunks_head/` files: where the head puts its full chunks.
//!
//! The head keeps one open chunk per series in memory. When that chunk is full it is written
//! here and the series keeps only a [`ChunkDiskRef`], so memory per series stays small.
//! Ember writes and reads these files byte for byte as Prometheus does
//! (`tsdb/docs/format/head_chunks.md`), so either server can take over the other's data
//! directory.
//!
//! # Format
//!
//! Files are named by a sequence number printed as `%06d` (`000001`, `000002`, ...), with no
//! gaps, and are at most 128 MiB. Every number is big endian.
//!
//! ```text
//! file:   magic 0x0130BC91 <4> │ version 1 <1> │ padding 0 <3> │ record │ record │ ...
//! record: series ref <8> │ mint <8> │ maxt <8> │ encoding <1> │ len <uvarint> │ data <len> │ CRC32 <4>
//! ```
//!
//! The CRC is CRC32-Castagnoli over the whole record before it (series ref to data). The high
//! bit of the encoding byte marks an out-of-order chunk. A [`ChunkDiskRef`] is the file's
//! sequence number in its upper 32 bits and the record's offset in the lower 32 bits.
//! Prometheus preallocates files with zeros and does not trim them, so a run of zero bytes
//! after the last record is padding, not damage.
//!
//! # Writing
//!
//! [`ChunkDiskMapper::write_chunk`] encodes the record into a write buffer (4 MiB by default,
//! as Prometheus) under a mutex held for a copy and a CRC, and returns at once: the buffer
//! goes out with one `pwrite` when it is full, on [`ChunkDiskMapper::flush`], and when a file
//! is finished. Written data never goes through a memory map, so pages being written do not
//! count in the process's resident memory. A file is finished when the next record would
//! pass the size limit, on [`ChunkDiskMapper::cut_new_file`] and on
//! [`ChunkDiskMapper::close`]: its buffer is written out and the file is fsynced — the fsync
//! outside the mutex, so other appenders carry on meanwhile. Finished files are never
//! written again. Opening does not append to existing files: the first chunk written starts
//! a new one.
//!
//! # Reading
//!
//! Each file's bytes that are on disk are mapped read-only with `memmap2`, and
//! [`ChunkDiskMapper::chunk`] returns a [`MappedChunk`] that shares that map: no copy, no
//! system call. The file being written is mapped again after each buffer write, over the new
//! length. A chunk still in the write buffer is copied out of it (a chunk is ~150 bytes;
//! flushing instead would turn each query of recent data into a small write and make readers
//! wait for appenders). Maps never extend past the end of their file and files never shrink
//! while mapped (see [`ChunkDiskMapper::open`]), so reading can never raise `SIGBUS`.
//!
//! # Start-up and repair
//!
//! [`ChunkDiskMapper::iterate_all_chunks`] reads the existing files (with `pread` through a
//! small window, so start-up does not fault gigabytes of chunks into resident memory), checks
//! every record's CRC and hands each chunk to the head. Damage — a bad file header, a
//! truncated record, a CRC mismatch, a gap in the file numbers — ends the good data there:
//! the damaged file is truncated to its last good record (deleted if its header is bad) and
//! all later files are deleted, with a warning. Chunks before the damage are kept; the head
//! rebuilds the rest from the WAL. Only then are the files mapped for reading, and new files
//! numbered after the kept ones.

mod record;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::{Mmap, MmapOptions};
use parking_lot::{Mutex, RwLock};

use crate::chunkenc::Encoding;
use crate::SeriesRef;

pub use record::RecordError;
use record::{FILE_HEADER_SIZE, OUT_OF_ORDER_MASK};

/// Prometheus's largest head chunk file, and Ember's default.
pub const MAX_FILE_SIZE: u64 = 128 * 1024 * 1024;
/// Prometheus's default write buffer (`--storage.tsdb.head-chunks-write-buffer-size-bytes`).
pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 4 * 1024 * 1024;
/// The smallest write buffer Prometheus's flag accepts.
pub const MIN_WRITE_BUFFER_SIZE: usize = 64 * 1024;
/// The largest write buffer Prometheus's flag accepts.
pub const MAX_WRITE_BUFFER_SIZE: usize = 8 * 1024 * 1024;

/// Bytes read at a time while scanning files at start-up.
const SCAN_WINDOW: usize = 1024 * 1024;

/// Where a chunk lives: Prometheus's `ChunkDiskMapperRef`, the file sequence number in the
/// upper 32 bits and the byte offset of the record in the lower 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChunkDiskRef(pub u64);

impl ChunkDiskRef {
    pub fn new(seq: u32, offset: u32) -> ChunkDiskRef {
        ChunkDiskRef((u64::from(seq) << 32) | u64::from(offset))
    }

    /// The file's sequence number (`000001` is 1).
    pub fn seq(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The record's byte offset in its file.
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for ChunkDiskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}:{}", self.seq(), self.offset())
    }
}

/// Tuning of a [`ChunkDiskMapper`]; the defaults are Prometheus's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkDiskMapperOptions {
    /// Bytes of chunks gathered before one write to the file. The daemon checks the flag
    /// against [`MIN_WRITE_BUFFER_SIZE`]..=[`MAX_WRITE_BUFFER_SIZE`]; any non-zero size works.
    pub write_buffer_size: usize,
    /// A new file is started when the next record would make the current one larger than
    /// this. At most 2^32, as offsets in a [`ChunkDiskRef`] are 32 bits.
    pub max_file_size: u64,
}

impl Default for ChunkDiskMapperOptions {
    fn default() -> Self {
        ChunkDiskMapperOptions {
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            max_file_size: MAX_FILE_SIZE,
        }
    }
}

/// One chunk found by [`ChunkDiskMapper::iterate_all_chunks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadChunkMeta {
    pub series: SeriesRef,
    pub chunk: ChunkDiskRef,
    pub mint: i64,
    pub maxt: i64,
    /// The sample count stored in the chunk's first two bytes.
    pub num_samples: u16,
    pub encoding: Encoding,
    /// Written by Prometheus's out-of-order head (the encoding byte's high bit).
    pub out_of_order: bool,
}

/// Errors of the head chunk files. Each names the file, chunk or offset concerned.
#[derive(Debug, thiserror::Error)]
pub enum ChunksHeadError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid head chunk options: {0}")]
    InvalidOptions(String),
    #[error("the head chunk files are closed")]
    Closed,
    #[error("series ref 0 cannot be written: Prometheus reads a record starting with zeros as the end of the file")]
    ZeroSeriesRef,
    #[error(
        "a chunk of {len} bytes does not fit in a head chunk file of at most {max_file_size} bytes"
    )]
    ChunkTooLarge { len: usize, max_file_size: u64 },
    #[error("head chunk {0}: no such file (never written, or deleted by truncation)")]
    UnknownFile(ChunkDiskRef),
    #[error("head chunk {chunk}: offset is past the {written} bytes written to its file")]
    BeyondEnd { chunk: ChunkDiskRef, written: u64 },
    #[error("head chunk file {}, offset {offset}: {reason}", file.display())]
    Corrupt {
        file: PathBuf,
        offset: u64,
        #[source]
        reason: RecordError,
    },
    #[error("head chunk file {} does not follow file {prev:06}: the numbering has a gap", file.display())]
    Gap { file: PathBuf, prev: u32 },
    #[error("head chunk file {}: sequence number does not fit in 32 bits", .0.display())]
    SequenceOutOfRange(PathBuf),
    #[error("processing a head chunk failed: {0}")]
    Callback(#[source] Box<dyn std::error::Error + Send + Sync>),
}

type Result<T, E = ChunksHeadError> = std::result::Result<T, E>;

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ChunksHeadError + 'a {
    move |source| ChunksHeadError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A chunk read back: its encoding and bytes. Cheap to create and to hold: a chunk on disk
/// shares its file's memory map (which stays valid while any chunk holds it, even after the
/// file is deleted); a chunk still in the write buffer is a copy.
#[derive(Clone)]
pub struct MappedChunk {
    encoding: Encoding,
    bytes: ChunkBytes,
}

#[derive(Clone)]
enum ChunkBytes {
    Mapped {
        map: Arc<Mmap>,
        start: usize,
        end: usize,
    },
    Copied(Box<[u8]>),
}

impl MappedChunk {
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The chunk's bytes, to decode with the chunk encoding.
    pub fn data(&self) -> &[u8] {
        match &self.bytes {
            ChunkBytes::Mapped { map, start, end } => &map[*start..*end],
            ChunkBytes::Copied(b) => b,
        }
    }
}

impl fmt::Debug for MappedChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedChunk")
            .field("encoding", &self.encoding)
            .field("len", &self.data().len())
            .field("mapped", &matches!(self.bytes, ChunkBytes::Mapped { .. }))
            .finish()
    }
}

/// Writes full head chunks to `chunks_head/` files and reads them back through memory maps.
/// All methods take `&self`; share it between appenders and queriers.
pub struct ChunkDiskMapper {
    dir: PathBuf,
    /// The directory itself, fsynced after files are created or deleted.
    dir_file: File,
    opts: ChunkDiskMapperOptions,
    /// The write side. Lock order: `writer` before `files`.
    writer: Mutex<Writer>,
    /// Every file present, by sequence number, with its read-only map.
    files: RwLock<BTreeMap<u32, FileEntry>>,
    /// Bytes in all files, the write buffer included.
    size: AtomicU64,
    closed: AtomicBool,
}

struct FileEntry {
    /// Maps bytes `[0, map.len())`, all on disk; `None` until the first buffer write.
    map: Option<Arc<Mmap>>,
    /// Largest maxt of the file's chunks, `i64::MIN` if none. Exact once the file is finished.
    maxt: i64,
    /// The file's length once finished (or as found at start-up).
    len: u64,
}

struct Writer {
    closed: bool,
    scan: Scan,
    /// Sequence number of the next file to create.
    next_seq: u32,
    /// The file being written; `None` until the first chunk after opening or finishing one.
    cur: Option<CurrentFile>,
    /// Records not yet written to `cur`; they belong at `cur.flushed` onwards.
    buf: Vec<u8>,
}

enum Scan {
    /// The files found at opening, not yet checked: `(seq, path)` in sequence order.
    Pending(Vec<(u32, PathBuf)>),
    /// Checked and repaired; files numbered below `first_new_seq` existed at opening.
    Done { first_new_seq: u32 },
}

struct CurrentFile {
    seq: u32,
    path: PathBuf,
    file: File,
    /// Bytes already written to the file.
    flushed: u64,
    maxt: i64,
    chunks: u64,
}

/// A finished file to fsync once the writer lock is released.
struct PendingSync {
    file: File,
    path: PathBuf,
}

impl ChunkDiskMapper {
    /// Opens (creating if needed) the `chunks_head` directory `dir`. Existing files are only
    /// listed here; [`iterate_all_chunks`](Self::iterate_all_chunks) checks and repairs them
    /// (or the first write does, if the head skips iterating). Nothing is appended to existing
    /// files: the first chunk written starts a new file.
    ///
    /// The directory must not be changed by anyone else while open — the data directory's
    /// lock file guarantees it — since the memory maps rely on files never shrinking.
    pub fn open(dir: &Path, opts: ChunkDiskMapperOptions) -> Result<ChunkDiskMapper> {
        if opts.write_buffer_size == 0 {
            return Err(ChunksHeadError::InvalidOptions(
                "write buffer size must be positive".into(),
            ));
        }
        if opts.max_file_size <= FILE_HEADER_SIZE as u64 || opts.max_file_size > 1 << 32 {
            return Err(ChunksHeadError::InvalidOptions(format!(
                "max file size {} is not in {}..=2^32",
                opts.max_file_size,
                FILE_HEADER_SIZE + 1
            )));
        }
        std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let dir_file = File::open(dir).map_err(io_err("open directory", dir))?;
        let (existing, size) = list_files(dir)?;
        Ok(ChunkDiskMapper {
            dir: dir.to_path_buf(),
            dir_file,
            opts,
            writer: Mutex::new(Writer {
                closed: false,
                scan: Scan::Pending(existing),
                // Set by the scan, which every write waits for.
                next_seq: 1,
                cur: None,
                buf: Vec::new(),
            }),
            files: RwLock::new(BTreeMap::new()),
            size: AtomicU64::new(size),
            closed: AtomicBool::new(false),
        })
    }

    /// Calls `f` for every chunk in the files that existed at opening, in file and offset
    /// order. The first call also repairs: damage ends a file's chunks there, the file is
    /// truncated to its last good chunk (deleted if its header is bad), later files are
    /// deleted, a warning says what was dropped, and iteration succeeds. Chunks with an
    /// encoding Ember does not know are skipped with a warning.
    ///
    /// An error from `f` stops the iteration and is returned; nothing is repaired then.
    /// Writers wait while this runs, and `f` must not call back into the mapper.
    pub fn iterate_all_chunks(
        &self,
        mut f: impl FnMut(HeadChunkMeta) -> Result<(), ChunksHeadError>,
    ) -> Result<()> {
        let mut w = self.writer.lock();
        if w.closed {
            return Err(ChunksHeadError::Closed);
        }
        self.scan(&mut w, &mut f)
    }

    /// Appends a full chunk and returns where it is. Cheap: a copy into the write buffer
    /// under a short lock; the buffer is written out when full. On error the chunk may or may
    /// not be in the files, so the caller should keep it in memory.
    pub fn write_chunk(
        &self,
        series: SeriesRef,
        mint: i64,
        maxt: i64,
        encoding: Encoding,
        data: &[u8],
    ) -> Result<ChunkDiskRef> {
        if series.0 == 0 {
            return Err(ChunksHeadError::ZeroSeriesRef);
        }
        let rec_len = record::record_size(data.len());
        if (FILE_HEADER_SIZE + rec_len) as u64 > self.opts.max_file_size {
            return Err(ChunksHeadError::ChunkTooLarge {
                len: data.len(),
                max_file_size: self.opts.max_file_size,
            });
        }
        let mut w = self.writer.lock();
        if w.closed {
            return Err(ChunksHeadError::Closed);
        }
        self.ensure_scanned(&mut w)?;

        let fits = w
            .cur
            .as_ref()
            .is_some_and(|c| c.flushed + (w.buf.len() + rec_len) as u64 <= self.opts.max_file_size);
        let mut finished = None;
        if !fits {
            finished = self.finish_current(&mut w)?;
            if let Err(e) = self.start_file(&mut w) {
                drop(w);
                if let Some(f) = finished {
                    self.sync_finished(f)?;
                }
                return Err(e);
            }
        }
        if !w.buf.is_empty() && w.buf.len() + rec_len > self.opts.write_buffer_size {
            self.flush_locked(&mut w)?;
        }
        let Writer {
            cur: Some(cur),
            buf,
            ..
        } = &mut *w
        else {
            unreachable!("a file was started above")
        };
        let offset = cur.flushed + buf.len() as u64;
        record::encode_record(buf, series.0, mint, maxt, encoding as u8, data);
        cur.maxt = cur.maxt.max(maxt);
        cur.chunks += 1;
        let chunk = ChunkDiskRef::new(cur.seq, offset as u32);
        self.size.fetch_add(rec_len as u64, Ordering::Relaxed);
        if buf.len() >= self.opts.write_buffer_size {
            // Only a record larger than the whole buffer gets here.
            self.flush_locked(&mut w)?;
        }
        drop(w);

        if let Some(f) = finished {
            self.sync_finished(f)?;
        }
        if !fits {
            self.sync_dir()?;
        }
        Ok(chunk)
    }

    /// The chunk at `r`, from its file's memory map or, if not yet written out, copied from
    /// the write buffer. The record's CRC is checked on every read.
    pub fn chunk(&self, r: ChunkDiskRef) -> Result<MappedChunk> {
        if self.closed.load(Ordering::Acquire) {
            return Err(ChunksHeadError::Closed);
        }
        let (seq, offset) = (r.seq(), r.offset() as usize);
        if let Some(map) = self.mapped(r)? {
            return self.chunk_from_map(r, map, offset);
        }
        // Not on disk yet: the write buffer has it, unless it was written out meanwhile.
        let w = self.writer.lock();
        if let Some(cur) = w.cur.as_ref().filter(|c| c.seq == seq) {
            if offset as u64 >= cur.flushed {
                let at = (offset as u64 - cur.flushed) as usize;
                let Some(bytes) = w.buf.get(at..).filter(|b| !b.is_empty()) else {
                    return Err(ChunksHeadError::BeyondEnd {
                        chunk: r,
                        written: cur.flushed + w.buf.len() as u64,
                    });
                };
                let (encoding, rec) = self.parse_chunk(r, bytes)?;
                return Ok(MappedChunk {
                    encoding,
                    bytes: ChunkBytes::Copied(bytes[rec.data].into()),
                });
            }
        }
        match self.mapped(r)? {
            Some(map) => self.chunk_from_map(r, map, offset),
            None => Err(ChunksHeadError::BeyondEnd {
                chunk: r,
                written: self.files.read().get(&seq).map_or(0, |e| e.len),
            }),
        }
    }

    /// Finishes the file being written — writes out its buffer and fsyncs it — so the next
    /// chunk starts a new file. Does nothing if the current file holds no chunk.
    pub fn cut_new_file(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if w.closed {
            return Err(ChunksHeadError::Closed);
        }
        if w.cur.as_ref().is_none_or(|c| c.chunks == 0) {
            return Ok(());
        }
        let finished = self.finish_current(&mut w)?;
        drop(w);
        match finished {
            Some(f) => self.sync_finished(f),
            None => Ok(()),
        }
    }

    /// Deletes the files whose chunks all have `maxt < mint`, for head truncation after
    /// compaction. Only a leading run of such files goes, so the numbering keeps no gaps
    /// (Prometheus refuses a directory with gaps); a later file goes on a later call once
    /// everything before it qualifies. The file being written is finished first if it holds
    /// chunks, so that it can go too.
    pub fn truncate(&self, mint: i64) -> Result<()> {
        let mut w = self.writer.lock();
        if w.closed {
            return Err(ChunksHeadError::Closed);
        }
        self.ensure_scanned(&mut w)?;
        let finished = if w.cur.as_ref().is_some_and(|c| c.chunks > 0) {
            self.finish_current(&mut w)?
        } else {
            None
        };
        let current = w.cur.as_ref().map(|c| c.seq);
        let mut removed = Vec::new();
        {
            let mut files = self.files.write();
            for (&seq, entry) in files.iter() {
                if Some(seq) == current || entry.maxt >= mint {
                    break;
                }
                removed.push((seq, entry.len));
            }
            for (seq, len) in &removed {
                files.remove(seq);
                self.size.fetch_sub(*len, Ordering::Relaxed);
            }
        }
        drop(w);

        if let Some(f) = finished {
            self.sync_finished(f)?;
        }
        if removed.is_empty() {
            return Ok(());
        }
        // In ascending order, so a failure leaves the remaining files without a gap.
        for (seq, _) in &removed {
            let path = self.file_path(*seq);
            std::fs::remove_file(&path).map_err(io_err("delete", &path))?;
        }
        self.sync_dir()
    }

    /// Bytes in the head chunk files, chunks still in the write buffer included.
    pub fn size_bytes(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    /// Writes the buffered chunks out to the file (no fsync); they are then read through the
    /// file's map. Finished files are fsynced already.
    pub fn flush(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if w.closed {
            return Err(ChunksHeadError::Closed);
        }
        self.flush_locked(&mut w)
    }

    /// Writes out the buffer, fsyncs and closes the current file, and releases the maps.
    /// Afterwards every method fails with [`ChunksHeadError::Closed`]; chunks already read
    /// stay readable. Closing twice is fine.
    pub fn close(&self) -> Result<()> {
        let mut w = self.writer.lock();
        if w.closed {
            return Ok(());
        }
        let finished = self.finish_current(&mut w);
        w.closed = true;
        self.closed.store(true, Ordering::Release);
        self.files.write().clear();
        drop(w);
        if let Some(f) = finished? {
            self.sync_finished(f)?;
        }
        self.sync_dir()
    }

    fn file_path(&self, seq: u32) -> PathBuf {
        self.dir.join(format!("{seq:06}"))
    }

    /// The map of `r`'s file if it covers `r`'s offset; `None` if the offset is not on disk.
    fn mapped(&self, r: ChunkDiskRef) -> Result<Option<Arc<Mmap>>> {
        let files = self.files.read();
        let entry = files.get(&r.seq()).ok_or(ChunksHeadError::UnknownFile(r))?;
        Ok(entry
            .map
            .as_ref()
            .filter(|m| (r.offset() as usize) < m.len())
            .cloned())
    }

    fn chunk_from_map(
        &self,
        r: ChunkDiskRef,
        map: Arc<Mmap>,
        offset: usize,
    ) -> Result<MappedChunk> {
        let (encoding, rec) = self.parse_chunk(r, &map[offset..])?;
        Ok(MappedChunk {
            encoding,
            bytes: ChunkBytes::Mapped {
                start: offset + rec.data.start,
                end: offset + rec.data.end,
                map,
            },
        })
    }

    fn parse_chunk(&self, r: ChunkDiskRef, bytes: &[u8]) -> Result<(Encoding, record::Record)> {
        let corrupt = |reason| ChunksHeadError::Corrupt {
            file: self.file_path(r.seq()),
            offset: u64::from(r.offset()),
            reason,
        };
        let rec = record::parse_record(bytes).map_err(corrupt)?;
        let raw = rec.encoding & !OUT_OF_ORDER_MASK;
        let encoding = Encoding::from_u8(raw).ok_or(corrupt(RecordError::UnknownEncoding(raw)))?;
        Ok((encoding, rec))
    }

    /// Checks and repairs the files found at opening, unless done already.
    fn ensure_scanned(&self, w: &mut Writer) -> Result<()> {
        match w.scan {
            Scan::Pending(_) => self.scan(w, &mut |_| Ok(())),
            Scan::Done { .. } => Ok(()),
        }
    }

    /// Reads every record of the files found at opening, calling `f` for each good chunk. The
    /// first time through it repairs damage and then maps the files; later calls (the files
    /// are good by then) report damage as an error instead.
    fn scan(
        &self,
        w: &mut Writer,
        f: &mut dyn FnMut(HeadChunkMeta) -> Result<(), ChunksHeadError>,
    ) -> Result<()> {
        let (files, repair) = match &w.scan {
            Scan::Pending(files) => (files.clone(), true),
            Scan::Done { first_new_seq } => {
                let present = self.files.read();
                let files = present
                    .range(..*first_new_seq)
                    .map(|(&seq, _)| (seq, self.file_path(seq)))
                    .collect::<Vec<_>>();
                (files, false)
            }
        };

        let mut window = Vec::new();
        let mut kept: Vec<(u32, u64, i64)> = Vec::with_capacity(files.len());
        let mut damage = None;
        for (i, (seq, path)) in files.iter().enumerate() {
            if let Some(&(prev, _, _)) = kept.last() {
                if *seq != prev + 1 {
                    damage = Some(Damage::Gap { index: i, prev });
                    break;
                }
            }
            let scanned = scan_file(*seq, path, &mut window, f)?;
            match scanned.damage {
                None => kept.push((*seq, scanned.len, scanned.maxt)),
                Some((offset, reason)) => {
                    if offset > 0 {
                        kept.push((*seq, offset, scanned.maxt));
                    }
                    damage = Some(Damage::Record {
                        index: i,
                        file_len: scanned.len,
                        offset,
                        reason,
                    });
                    break;
                }
            }
        }

        if !repair {
            return match damage {
                None => Ok(()),
                Some(Damage::Record {
                    index,
                    offset,
                    reason,
                    ..
                }) => Err(ChunksHeadError::Corrupt {
                    file: files[index].1.clone(),
                    offset,
                    reason,
                }),
                Some(Damage::Gap { index, prev }) => Err(ChunksHeadError::Gap {
                    file: files[index].1.clone(),
                    prev,
                }),
            };
        }
        if let Some(damage) = damage {
            self.repair(&files, damage)?;
        }

        let mut maps = BTreeMap::new();
        for &(seq, len, maxt) in &kept {
            let path = self.file_path(seq);
            let file = File::open(&path).map_err(io_err("open", &path))?;
            // SAFETY: the map covers [0, len) and the file is `len` bytes long: the scan
            // read all of it, and a repair truncated it to exactly `len`. Nothing writes to a
            // file found at opening and nothing shrinks it from here on (truncation deletes
            // whole files; an unlinked file stays valid while mapped), and the data
            // directory's lock keeps other processes out. So the bytes stay readable and
            // unchanged for the map's lifetime: no SIGBUS, no aliasing mutation.
            let map = unsafe { MmapOptions::new().len(len as usize).map(&file) }
                .map_err(io_err("mmap", &path))?;
            let map = Some(Arc::new(map));
            maps.insert(seq, FileEntry { map, maxt, len });
        }
        self.size
            .store(kept.iter().map(|k| k.1).sum(), Ordering::Relaxed);
        *self.files.write() = maps;
        w.next_seq = kept.last().map_or(1, |k| k.0 + 1);
        w.scan = Scan::Done {
            first_new_seq: w.next_seq,
        };
        Ok(())
    }

    /// Cuts the files at `damage`: truncates or deletes the damaged file, deletes all later ones.
    fn repair(&self, files: &[(u32, PathBuf)], damage: Damage) -> Result<()> {
        let (first_deleted, mut dropped) = match &damage {
            Damage::Gap { index, .. } => (*index, 0),
            Damage::Record {
                index,
                file_len,
                offset,
                ..
            } => {
                let path = &files[*index].1;
                if *offset == 0 {
                    (*index, 0)
                } else {
                    let file = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(io_err("open for repair", path))?;
                    file.set_len(*offset).map_err(io_err("truncate", path))?;
                    file.sync_all().map_err(io_err("fsync", path))?;
                    (*index + 1, file_len - offset)
                }
            }
        };
        let deleted = &files[first_deleted..];
        for (_, path) in deleted {
            dropped += std::fs::metadata(path).map_or(0, |m| m.len());
            std::fs::remove_file(path).map_err(io_err("delete", path))?;
        }
        self.sync_dir()?;
        let deleted_files = deleted
            .iter()
            .map(|(_, p)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",");
        match damage {
            Damage::Record {
                index,
                offset,
                reason,
                ..
            } => tracing::warn!(
                file = %files[index].1.display(),
                offset,
                reason = %reason,
                dropped_bytes = dropped,
                deleted_files,
                "head chunk file damaged: dropping everything from this offset on"
            ),
            Damage::Gap { index, prev } => tracing::warn!(
                file = %files[index].1.display(),
                after_seq = prev,
                dropped_bytes = dropped,
                deleted_files,
                "head chunk files have a gap in their numbering: dropping the files after it"
            ),
        }
        Ok(())
    }

    /// Creates the next file; its header goes into the (empty) write buffer.
    fn start_file(&self, w: &mut Writer) -> Result<()> {
        debug_assert!(w.cur.is_none() && w.buf.is_empty());
        let seq = w.next_seq;
        let path = self.file_path(seq);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        w.next_seq = seq
            .checked_add(1)
            .ok_or_else(|| ChunksHeadError::SequenceOutOfRange(self.file_path(seq)))?;
        w.buf.reserve(self.opts.write_buffer_size);
        w.buf.extend_from_slice(&record::file_header());
        self.size
            .fetch_add(FILE_HEADER_SIZE as u64, Ordering::Relaxed);
        self.files.write().insert(
            seq,
            FileEntry {
                map: None,
                maxt: i64::MIN,
                len: 0,
            },
        );
        w.cur = Some(CurrentFile {
            seq,
            path,
            file,
            flushed: 0,
            maxt: i64::MIN,
            chunks: 0,
        });
        Ok(())
    }

    /// Writes the buffer out and ends the current file; returns it for fsyncing.
    fn finish_current(&self, w: &mut Writer) -> Result<Option<PendingSync>> {
        self.flush_locked(w)?;
        let Some(cur) = w.cur.take() else {
            return Ok(None);
        };
        if let Some(entry) = self.files.write().get_mut(&cur.seq) {
            entry.maxt = cur.maxt;
            entry.len = cur.flushed;
        }
        Ok(Some(PendingSync {
            file: cur.file,
            path: cur.path,
        }))
    }

    /// Writes the buffer to the current file with one `pwrite` and maps the new length.
    fn flush_locked(&self, w: &mut Writer) -> Result<()> {
        let Writer { cur, buf, .. } = w;
        let Some(cur) = cur.as_mut() else {
            return Ok(());
        };
        if buf.is_empty() {
            return Ok(());
        }
        cur.file
            .write_all_at(buf, cur.flushed)
            .map_err(io_err("write", &cur.path))?;
        cur.flushed += buf.len() as u64;
        buf.clear();
        buf.shrink_to(self.opts.write_buffer_size);
        // SAFETY: the map covers [0, flushed), bytes that `write_all_at` has just put in the
        // file, so the file is at least that long. The current file only grows, and later
        // writes go at `flushed` or beyond, outside this map, so the mapped bytes never
        // change; nothing else touches the directory (see `open`). No SIGBUS, no aliasing.
        let map = unsafe { MmapOptions::new().len(cur.flushed as usize).map(&cur.file) }
            .map_err(io_err("mmap", &cur.path))?;
        if let Some(entry) = self.files.write().get_mut(&cur.seq) {
            entry.map = Some(Arc::new(map));
            entry.len = cur.flushed;
        }
        Ok(())
    }

    fn sync_finished(&self, f: PendingSync) -> Result<()> {
        f.file.sync_all().map_err(io_err("fsync", &f.path))
    }

    fn sync_dir(&self) -> Result<()> {
        self.dir_file
            .sync_all()
            .map_err(io_err("fsync directory", &self.dir))
    }
}

impl Drop for ChunkDiskMapper {
    /// Writes out buffered chunks (without fsync) if [`close`](Self::close) was not called.
    fn drop(&mut self) {
        let mut w = self.writer.lock();
        if w.closed {
            return;
        }
        if let Err(e) = self.flush_locked(&mut w) {
            tracing::error!(err = %e, "writing buffered head chunks on drop failed");
        }
    }
}

enum Damage {
    /// `files[index]` does not follow `prev`.
    Gap { index: usize, prev: u32 },
    /// `files[index]` is bad from `offset` on (0: bad header).
    Record {
        index: usize,
        file_len: u64,
        offset: u64,
        reason: RecordError,
    },
}

/// What reading one file found.
struct ScannedFile {
    len: u64,
    maxt: i64,
    /// Where the good data ends and why, if not at the end of the file or zero padding.
    damage: Option<(u64, RecordError)>,
}

/// Reads the records of one file through `window`, calling `f` for each good one.
fn scan_file(
    seq: u32,
    path: &Path,
    window: &mut Vec<u8>,
    f: &mut dyn FnMut(HeadChunkMeta) -> Result<(), ChunksHeadError>,
) -> Result<ScannedFile> {
    let file = File::open(path).map_err(io_err("open", path))?;
    let len = file.metadata().map_err(io_err("stat", path))?.len();
    let mut rd = Window::new(&file, len, window);
    let mut out = ScannedFile {
        len,
        maxt: i64::MIN,
        damage: None,
    };
    let header = rd.get(0, FILE_HEADER_SIZE).map_err(io_err("read", path))?;
    if let Err(e) = record::check_file_header(header, len) {
        out.damage = Some((0, e));
        return Ok(out);
    }
    let mut pos = FILE_HEADER_SIZE as u64;
    while pos < len {
        let rec = match read_record(&mut rd, pos).map_err(io_err("read", path))? {
            Ok(rec) => rec,
            Err(e) => {
                if !rd.zeros_from(pos).map_err(io_err("read", path))? {
                    out.damage = Some((pos, e));
                }
                break;
            }
        };
        out.maxt = out.maxt.max(rec.maxt);
        let raw = rec.encoding & !OUT_OF_ORDER_MASK;
        let chunk = ChunkDiskRef::new(seq, pos as u32);
        match Encoding::from_u8(raw) {
            Some(encoding) => {
                let bytes = rd.get(pos, rec.len).map_err(io_err("read", path))?;
                f(HeadChunkMeta {
                    series: SeriesRef(rec.series),
                    chunk,
                    mint: rec.mint,
                    maxt: rec.maxt,
                    num_samples: rec.num_samples(bytes),
                    encoding,
                    out_of_order: rec.encoding & OUT_OF_ORDER_MASK != 0,
                })?;
            }
            None => tracing::warn!(
                file = %path.display(),
                offset = pos,
                encoding = raw,
                series = rec.series,
                "skipping head chunk with an unknown encoding"
            ),
        }
        pos += rec.len as u64;
    }
    Ok(out)
}

/// The record at `pos`: the outer error is I/O, the inner one bad bytes.
fn read_record(rd: &mut Window<'_>, pos: u64) -> io::Result<Result<record::Record, RecordError>> {
    if pos > u64::from(u32::MAX) {
        return Ok(Err(RecordError::OffsetOutOfRange(pos)));
    }
    let remaining = rd.len - pos;
    let first = record::parse_record(rd.get(pos, record::MAX_RECORD_HEADER_SIZE)?);
    Ok(match first {
        Err(RecordError::Truncated { needed, .. }) if needed <= remaining => {
            record::parse_record(rd.get(pos, needed as usize)?)
        }
        Err(RecordError::Truncated { needed, .. }) => Err(RecordError::Truncated {
            needed,
            available: remaining,
        }),
        other => other,
    })
}

/// Reads a file through a buffer holding `[start, start + buf.len())`, refilled on demand.
struct Window<'a> {
    file: &'a File,
    len: u64,
    buf: &'a mut Vec<u8>,
    start: u64,
}

impl<'a> Window<'a> {
    fn new(file: &'a File, len: u64, buf: &'a mut Vec<u8>) -> Window<'a> {
        buf.clear();
        Window {
            file,
            len,
            buf,
            start: 0,
        }
    }

    /// File bytes `[off, off + n)`, fewer at the end of the file.
    fn get(&mut self, off: u64, n: usize) -> io::Result<&[u8]> {
        let off = off.min(self.len);
        let end = off.saturating_add(n as u64).min(self.len);
        let buf_end = self.start + self.buf.len() as u64;
        if off < self.start || end > buf_end {
            let want = (end - off).max(SCAN_WINDOW as u64).min(self.len - off) as usize;
            self.buf.resize(want, 0);
            self.file.read_exact_at(self.buf, off)?;
            self.start = off;
        }
        Ok(&self.buf[(off - self.start) as usize..(end - self.start) as usize])
    }

    /// Whether every byte from `off` to the end of the file is zero (preallocation padding).
    fn zeros_from(&mut self, mut off: u64) -> io::Result<bool> {
        while off < self.len {
            let chunk = self.get(off, SCAN_WINDOW)?;
            if chunk.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            off += chunk.len() as u64;
        }
        Ok(true)
    }
}

/// The files named `%06d` in `dir` in sequence order, and their total size. Other names are
/// ignored, as Prometheus does (Prometheus also takes unpadded numbers; neither writes them).
fn list_files(dir: &Path) -> Result<(Vec<(u32, PathBuf)>, u64)> {
    let mut found: BTreeMap<u32, PathBuf> = BTreeMap::new();
    let mut size = 0;
    for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let path = entry.path();
        let meta = entry.metadata().map_err(io_err("stat", &path))?;
        if !meta.is_file() {
            continue;
        }
        let seq = name
            .parse::<u64>()
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| ChunksHeadError::SequenceOutOfRange(path.clone()))?;
        if name != format!("{seq:06}") {
            // Such as `7` or `0000007`: never written by Ember or Prometheus.
            tracing::warn!(file = %path.display(), "ignoring head chunk file with a non-canonical name");
            continue;
        }
        size += meta.len();
        found.insert(seq, path);
    }
    Ok((found.into_iter().collect(), size))
}
