//! The WAL writer: cuts records into fragments, fills pages, rolls segments.
//!
//! All state lives behind one mutex. A [`Wal::log`] call compresses each record, appends its
//! fragments (and any page padding) to a reused `pending` buffer, and hands the buffer to
//! the OS with one `write(2)` at the end of the call, so that nothing [`Wal::log`] returned
//! for is lost when the process is killed (durability against power loss comes from fsync:
//! on segment close, [`Wal::sync`] and [`Wal::close`]). Very large batches are written in
//! several pieces, always cut at record boundaries.
//!
//! The writer's position in the segment is `written + pending.len()`, so the page state is
//! derived, never stored twice. If a write fails, the segment file is truncated back to
//! `written` (the end of the last successful write, which is always a record boundary), so a
//! failed write never leaves a partial record for the reader to trip over; if even that
//! truncation fails, the writer refuses to write until it succeeds.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::Mutex;
use prometheus::IntCounter;

use super::compress::Compressor;
use super::segment::{dir_size, list_segments, segment_name, sync_dir};
use super::{
    WalCompression, WalError, WalMetrics, DEFAULT_SEGMENT_SIZE, FRAGMENT_HEADER_SIZE as HEADER,
    PAGE_SIZE as PAGE,
};

/// Fragment kinds (the low 3 bits of the type byte).
pub(crate) const KIND_PAGE_TERM: u8 = 0;
pub(crate) const KIND_FULL: u8 = 1;
pub(crate) const KIND_FIRST: u8 = 2;
pub(crate) const KIND_MIDDLE: u8 = 3;
pub(crate) const KIND_LAST: u8 = 4;
pub(crate) const KIND_MASK: u8 = 0b111;
/// Compression flags in the type byte.
pub(crate) const SNAPPY_FLAG: u8 = 1 << 3;
pub(crate) const ZSTD_FLAG: u8 = 1 << 4;

/// Pending bytes beyond which a `log` call writes out what it has so far (at a record
/// boundary) instead of buffering the whole batch.
const FLUSH_THRESHOLD: usize = 1 << 20;

/// Options for [`Wal::open`].
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Size at which a segment is closed and the next one started; a positive multiple of
    /// [`super::PAGE_SIZE`].
    pub segment_size: u64,
    pub compression: WalCompression,
    pub metrics: Arc<WalMetrics>,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compression: WalCompression::Snappy,
            metrics: Arc::new(WalMetrics::new()),
        }
    }
}

/// An open write-ahead log, appending to its last segment. Thread-safe: every method takes
/// `&self` and serialises on an internal mutex.
///
/// Opening never appends to an existing segment: like Prometheus, it starts a new segment
/// after the last one, so a torn tail left by a crash stays where the reader (and
/// [`Wal::repair`]) can find it.
pub struct Wal {
    dir: PathBuf,
    segment_size: u64,
    compression: WalCompression,
    metrics: Arc<WalMetrics>,
    /// `record_bytes_saved_total{compression=...}`, resolved once.
    bytes_saved: Option<IntCounter>,
    pub(super) inner: Mutex<Inner>,
}

pub(super) struct Inner {
    pub(super) seg: SegmentWriter,
    compressor: Compressor,
}

/// The active segment and the bytes not yet handed to the OS.
pub(super) struct SegmentWriter {
    /// `None` once the WAL is closed.
    pub(super) active: Option<Active>,
    pending: Vec<u8>,
    /// fsync-and-close of the previous segment, running in the background.
    closer: Option<JoinHandle<()>>,
    /// A failed write may have left bytes past `active.written`; they must be cut off
    /// before anything else is written.
    dirty: bool,
}

pub(super) struct Active {
    pub(super) index: u32,
    pub(super) file: File,
    pub(super) path: PathBuf,
    /// Bytes of the segment handed to the OS.
    pub(super) written: u64,
    /// Whether the directory entry of this segment has been fsynced.
    dir_synced: bool,
}

/// Settings the segment writer needs from the [`Wal`].
struct Ctx<'a> {
    dir: &'a Path,
    segment_size: u64,
    metrics: &'a Arc<WalMetrics>,
}

impl Wal {
    /// Opens the WAL in `dir` (created if missing) for appending, starting a new segment
    /// after the last existing one. Leftover temporary checkpoint directories from an
    /// interrupted checkpoint are deleted.
    pub fn open(dir: impl AsRef<Path>, opts: WalOptions) -> Result<Wal, WalError> {
        let dir = dir.as_ref().to_path_buf();
        if opts.segment_size == 0 || !opts.segment_size.is_multiple_of(PAGE as u64) {
            return Err(WalError::InvalidSegmentSize(opts.segment_size));
        }
        std::fs::create_dir_all(&dir).map_err(WalError::io("create WAL directory", &dir))?;
        super::checkpoint::delete_temp_checkpoints(&dir)?;
        let next = match list_segments(&dir)?.last() {
            Some(&last) => last.checked_add(1).ok_or(WalError::NotSequential {
                dir: dir.clone(),
                prev: last,
                next: last,
            })?,
            None => 0,
        };
        let active = create_segment(&dir, next)?;
        let metrics = opts.metrics;
        metrics.segment_current.set(i64::from(next));
        metrics.measure_dir(dir.clone());
        let bytes_saved = match opts.compression {
            WalCompression::None => None,
            WalCompression::Snappy => {
                Some(metrics.record_bytes_saved.with_label_values(&["snappy"]))
            }
            WalCompression::Zstd => Some(metrics.record_bytes_saved.with_label_values(&["zstd"])),
        };
        Ok(Wal {
            dir,
            segment_size: opts.segment_size,
            compression: opts.compression,
            metrics,
            bytes_saved,
            inner: Mutex::new(Inner {
                seg: SegmentWriter {
                    active: Some(active),
                    pending: Vec::new(),
                    closer: None,
                    dirty: false,
                },
                compressor: Compressor::new(opts.compression),
            }),
        })
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compression applied to new records.
    pub fn compression(&self) -> WalCompression {
        self.compression
    }

    /// The metrics this WAL updates.
    pub fn metrics(&self) -> &Arc<WalMetrics> {
        &self.metrics
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            dir: &self.dir,
            segment_size: self.segment_size,
            metrics: &self.metrics,
        }
    }

    /// Appends `records`, in order, and writes them to the OS before returning (usually
    /// with one `write(2)`). On error, records of this call may or may not have been
    /// written, but never a part of one.
    pub fn log(&self, records: &[&[u8]]) -> Result<(), WalError> {
        let mut guard = self.inner.lock();
        let Inner { seg, compressor } = &mut *guard;
        let ctx = self.ctx();
        let result = (|| {
            seg.ensure_clean(&self.dir)?;
            let mut saved = 0u64;
            for rec in records {
                let (bytes, flag) = compressor.compress(rec);
                saved += (rec.len() - bytes.len()) as u64;
                seg.append(&ctx, bytes, flag)?;
                if seg.pending.len() >= FLUSH_THRESHOLD {
                    seg.flush(&ctx)?;
                }
            }
            if let Some(c) = &self.bytes_saved {
                c.inc_by(saved);
            }
            seg.flush(&ctx)
        })();
        if result.is_err() {
            self.metrics.writes_failed.inc();
            seg.rollback();
        }
        result
    }

    /// fsyncs the active segment. Runs outside the lock, so writers are not blocked.
    pub fn sync(&self) -> Result<(), WalError> {
        let (file, path, sync_dir_too) = {
            let mut g = self.inner.lock();
            let active = g.seg.active_mut(&self.dir)?;
            let file = active
                .file
                .try_clone()
                .map_err(WalError::io("duplicate handle of", &active.path))?;
            let sync_dir_too = !active.dir_synced;
            active.dir_synced = true;
            (file, active.path.clone(), sync_dir_too)
        };
        fsync(&file, &path, &self.metrics)?;
        if sync_dir_too {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Closes the active segment (padding its last page) and starts the next one; returns
    /// the new segment's index. The old segment is fsynced in the background.
    pub fn next_segment(&self) -> Result<u32, WalError> {
        let mut g = self.inner.lock();
        let ctx = self.ctx();
        g.seg.ensure_clean(&self.dir)?;
        let r = g.seg.next_segment(&ctx);
        if r.is_err() {
            g.seg.rollback();
        }
        r
    }

    /// The index of the segment being written.
    pub fn current_segment(&self) -> Result<u32, WalError> {
        let g = self.inner.lock();
        match &g.seg.active {
            Some(a) => Ok(a.index),
            None => Err(WalError::Closed(self.dir.clone())),
        }
    }

    /// The first and last segment in the directory.
    pub fn segments(&self) -> Result<Option<(u32, u32)>, WalError> {
        super::segment_range(&self.dir)
    }

    /// Deletes the segments with an index below `below` (never the active one), as after a
    /// checkpoint covering them.
    pub fn truncate(&self, below: u32) -> Result<(), WalError> {
        self.metrics.truncations.inc();
        let r = (|| {
            let active = self.current_segment()?;
            for i in list_segments(&self.dir)? {
                if i >= below || i >= active {
                    break;
                }
                let p = segment_name(&self.dir, i);
                std::fs::remove_file(&p).map_err(WalError::io("delete segment", &p))?;
            }
            Ok(())
        })();
        if r.is_err() {
            self.metrics.truncations_failed.inc();
        }
        r
    }

    /// Total size of the WAL directory (segments and checkpoints), in bytes.
    pub fn size_bytes(&self) -> Result<u64, WalError> {
        dir_size(&self.dir).map_err(WalError::io("measure", &self.dir))
    }

    /// Pads the last page, fsyncs and closes the active segment. Later writes fail with
    /// [`WalError::Closed`]; closing again does nothing.
    pub fn close(&self) -> Result<(), WalError> {
        let mut g = self.inner.lock();
        let ctx = self.ctx();
        let seg = &mut g.seg;
        if seg.active.is_none() {
            return Ok(());
        }
        seg.ensure_clean(&self.dir)?;
        seg.pad_page()?;
        seg.flush(&ctx)?;
        seg.join_closer();
        let Some(active) = seg.active.take() else {
            return Ok(());
        };
        fsync(&active.file, &active.path, &self.metrics)?;
        if !active.dir_synced {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(dir = %self.dir.display(), err = %e, "closing the WAL failed");
        }
    }
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("segment_size", &self.segment_size)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl SegmentWriter {
    fn active_mut(&mut self, dir: &Path) -> Result<&mut Active, WalError> {
        self.active
            .as_mut()
            .ok_or_else(|| WalError::Closed(dir.to_path_buf()))
    }

    /// Cuts off whatever a failed write left past the last good write.
    fn ensure_clean(&mut self, dir: &Path) -> Result<(), WalError> {
        let dirty = self.dirty;
        let active = self.active_mut(dir)?;
        if dirty {
            active
                .file
                .set_len(active.written)
                .map_err(WalError::io("truncate after a failed write", &active.path))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Makes `active` the segment to write (dropping the old one without padding it).
    pub(super) fn set_active(&mut self, active: Option<Active>) {
        self.pending.clear();
        self.dirty = false;
        self.active = active;
    }

    /// Forgets pending bytes and truncates the file to the last good write.
    fn rollback(&mut self) {
        self.pending.clear();
        if let Some(a) = &self.active {
            self.dirty = a.file.set_len(a.written).is_err();
        }
    }

    /// Position in the active segment, counting pending bytes.
    fn pos(&self) -> u64 {
        self.active.as_ref().map_or(0, |a| a.written) + self.pending.len() as u64
    }

    /// Appends one (already compressed) record as fragments, moving to a new segment first
    /// when it does not fit in what is left of this one.
    fn append(
        &mut self,
        ctx: &Ctx<'_>,
        mut rec: &[u8],
        compression: WalCompression,
    ) -> Result<(), WalError> {
        let pos = self.pos();
        let page_off = (pos % PAGE as u64) as usize;
        let done_pages = pos / PAGE as u64;
        let pages = ctx.segment_size / PAGE as u64;
        // Room for data: the rest of this page plus every later page of the segment, each
        // losing a header.
        let left = (PAGE - page_off - HEADER) as u64
            + (PAGE - HEADER) as u64 * pages.saturating_sub(done_pages + 1);
        let fits = done_pages < pages && rec.len() as u64 <= left;
        // An empty segment takes any record, however large: it becomes that record's own
        // segment.
        if !fits && pos > 0 {
            self.next_segment(ctx)?;
        }

        let flag = match compression {
            WalCompression::None => 0,
            WalCompression::Snappy => SNAPPY_FLAG,
            WalCompression::Zstd => ZSTD_FLAG,
        };
        let mut page_off = (self.pos() % PAGE as u64) as usize;
        let (mut parts, mut part_bytes) = (0u64, 0u64);
        let mut first = true;
        // One pass at least, so that an empty record is written as an empty full fragment.
        loop {
            let room = PAGE - page_off - HEADER;
            let n = rec.len().min(room);
            let last = n == rec.len();
            let kind = match (first, last) {
                (true, true) => KIND_FULL,
                (true, false) => KIND_FIRST,
                (false, false) => KIND_MIDDLE,
                (false, true) => KIND_LAST,
            };
            let (part, rest) = rec.split_at(n);
            let crc = crc32c::crc32c(part);
            self.pending.push(kind | flag);
            self.pending.extend_from_slice(&(n as u16).to_be_bytes());
            self.pending.extend_from_slice(&crc.to_be_bytes());
            self.pending.extend_from_slice(part);
            parts += 1;
            part_bytes += (HEADER + n) as u64;
            page_off += HEADER + n;
            if PAGE - page_off < HEADER {
                // No room for another header: zero-fill the rest of the page.
                self.pending
                    .resize(self.pending.len() + (PAGE - page_off), 0);
                page_off = 0;
            }
            rec = rest;
            first = false;
            if last {
                break;
            }
        }
        ctx.metrics.record_part_writes.inc_by(parts);
        ctx.metrics.record_parts_bytes.inc_by(part_bytes);
        Ok(())
    }

    /// Hands the pending bytes to the OS.
    fn flush(&mut self, ctx: &Ctx<'_>) -> Result<(), WalError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(active) = self.active.as_mut() else {
            return Err(WalError::Closed(ctx.dir.to_path_buf()));
        };
        let start = active.written;
        active
            .file
            .write_all(&self.pending)
            .map_err(WalError::io("write segment", &active.path))?;
        let end = start + self.pending.len() as u64;
        active.written = end;
        self.pending.clear();
        let completed = end / PAGE as u64 - start / PAGE as u64;
        ctx.metrics.completed_pages.inc_by(completed);
        ctx.metrics
            .page_flushes
            .inc_by(completed + u64::from(!end.is_multiple_of(PAGE as u64)));
        Ok(())
    }

    /// Zero-fills the rest of the current page, if it has been started.
    fn pad_page(&mut self) -> Result<(), WalError> {
        let off = (self.pos() % PAGE as u64) as usize;
        if off != 0 {
            self.pending.resize(self.pending.len() + (PAGE - off), 0);
        }
        Ok(())
    }

    /// Finishes the active segment and creates the next one. The finished segment is
    /// fsynced and closed in the background.
    fn next_segment(&mut self, ctx: &Ctx<'_>) -> Result<u32, WalError> {
        self.pad_page()?;
        self.flush(ctx)?;
        let active = self.active_mut(ctx.dir)?;
        let next_index = active.index.checked_add(1).ok_or(WalError::NotSequential {
            dir: ctx.dir.to_path_buf(),
            prev: active.index,
            next: active.index,
        })?;
        let next = create_segment(ctx.dir, next_index)?;
        let Some(prev) = self.active.replace(next) else {
            return Ok(next_index);
        };
        ctx.metrics.segment_current.set(i64::from(next_index));
        self.join_closer();
        // fsync and close the finished segment in the background: writers need not wait.
        // A failure to start a thread only costs latency: the work is then done inline.
        let job = Arc::new(Mutex::new(Some((
            prev,
            Arc::clone(ctx.metrics),
            ctx.dir.to_path_buf(),
        ))));
        let run = |job: &Mutex<Option<(Active, Arc<WalMetrics>, PathBuf)>>| {
            if let Some((prev, metrics, dir)) = job.lock().take() {
                close_segment(prev, &metrics, &dir);
            }
        };
        let spawned = std::thread::Builder::new()
            .name("wal-segment-close".into())
            .spawn({
                let job = Arc::clone(&job);
                move || run(&job)
            });
        match spawned {
            Ok(h) => self.closer = Some(h),
            Err(_) => run(&job),
        }
        if let Some(a) = &mut self.active {
            // The closer syncs the directory after the new segment was created.
            a.dir_synced = true;
        }
        Ok(next_index)
    }

    pub(super) fn join_closer(&mut self) {
        if let Some(h) = self.closer.take() {
            let _ = h.join();
        }
    }
}

/// Creates segment `index` in `dir`; it must not exist yet.
pub(super) fn create_segment(dir: &Path, index: u32) -> Result<Active, WalError> {
    let path = segment_name(dir, index);
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(WalError::io("create segment", &path))?;
    Ok(Active {
        index,
        file,
        path,
        written: 0,
        dir_synced: false,
    })
}

/// fsyncs a finished segment and the directory (which makes the next segment's directory
/// entry durable too), then closes the segment.
fn close_segment(prev: Active, metrics: &WalMetrics, dir: &Path) {
    if let Err(e) = fsync(&prev.file, &prev.path, metrics) {
        tracing::error!(err = %e, "fsync of the previous WAL segment failed");
    }
    if let Err(e) = sync_dir(dir) {
        tracing::error!(err = %e, "fsync of the WAL directory failed");
    }
}

/// fsyncs `file`, timing it into `prometheus_tsdb_wal_fsync_duration_seconds`.
fn fsync(file: &File, path: &Path, metrics: &WalMetrics) -> Result<(), WalError> {
    let start = Instant::now();
    let r = file.sync_data();
    metrics
        .fsync_duration
        .observe(start.elapsed().as_secs_f64());
    r.map_err(WalError::io("fsync segment", path))
}
