//! Checkpoints: compacting the oldest segments so they can be deleted, as Prometheus's
//! `wlog.Checkpoint`.
//!
//! When the head is truncated, the segments holding only old data are replaced by a
//! checkpoint `checkpoint.NNNNNNNN` (a directory of segments in the WAL format), where
//! `NNNNNNNN` is the last segment it covers. It holds what replay still needs from the
//! previous checkpoint and those segments: the series the caller keeps, their samples and
//! exemplars at or after `mint`, their tombstones still reaching `mint`, and the latest
//! metadata of each kept series. Replay then reads the last checkpoint followed by the
//! segments after it.
//!
//! Crash safety: the checkpoint is written into `checkpoint.NNNNNNNN.tmp`, fsynced, and
//! renamed into place (then the WAL directory is fsynced). A crash leaves either no new
//! checkpoint (and a `.tmp` directory that the next checkpoint or [`super::Wal::open`]
//! deletes) or a complete one; the segments it covers are deleted only afterwards.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::SeriesRef;

use super::record::{self, Decoder, RecordError, RecordType};
use super::segment::{sync_dir, SegmentRange};
use super::{Reader, Wal, WalCompression, WalError, WalMetrics, WalOptions, DEFAULT_SEGMENT_SIZE};

const PREFIX: &str = "checkpoint.";
const TMP_SUFFIX: &str = ".tmp";
/// Records are batched up to this size before being logged to the checkpoint.
const BATCH_BYTES: usize = 1 << 20;

/// What a checkpoint kept and dropped, by kind of entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    pub dropped_series: usize,
    pub dropped_samples: usize,
    pub dropped_tombstones: usize,
    pub dropped_exemplars: usize,
    pub dropped_metadata: usize,
    /// Records of types Ember does not decode (native histograms, mmap markers, unknown
    /// types), dropped whole.
    pub dropped_records: usize,
    pub total_series: usize,
    pub total_samples: usize,
    pub total_tombstones: usize,
    pub total_exemplars: usize,
    pub total_metadata: usize,
}

/// The directory of checkpoint `index` in `wal_dir`.
pub fn checkpoint_dir(wal_dir: &Path, index: u32) -> PathBuf {
    wal_dir.join(format!("{PREFIX}{index:08}"))
}

/// Checkpoints in `wal_dir`, ascending by index.
fn list_checkpoints(wal_dir: &Path) -> Result<Vec<(u32, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(wal_dir).map_err(WalError::io("list checkpoints in", wal_dir))? {
        let entry = entry.map_err(WalError::io("list checkpoints in", wal_dir))?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let Some(index) = super::segment::parse_segment_name(rest) else {
            continue; // e.g. a `.tmp` directory
        };
        let path = entry.path();
        if !path.is_dir() {
            return Err(WalError::CheckpointNotDir { path });
        }
        out.push((index, path));
    }
    out.sort_unstable_by_key(|(i, _)| *i);
    Ok(out)
}

/// The most recent checkpoint in `wal_dir`: its directory and the last segment it covers.
pub fn last_checkpoint(wal_dir: &Path) -> Result<Option<(PathBuf, u32)>, WalError> {
    Ok(list_checkpoints(wal_dir)?.pop().map(|(i, p)| (p, i)))
}

/// Deletes the checkpoints in `wal_dir` with an index below `below`. Keeps going after a
/// failure and returns the first error.
pub fn delete_checkpoints(wal_dir: &Path, below: u32) -> Result<(), WalError> {
    let mut first_err = None;
    for (i, path) in list_checkpoints(wal_dir)? {
        if i >= below {
            break;
        }
        if let Err(e) = fs::remove_dir_all(&path) {
            first_err.get_or_insert(WalError::Io {
                op: "delete checkpoint",
                path,
                source: e,
            });
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Deletes leftover `checkpoint.*.tmp` directories of interrupted checkpoints.
pub fn delete_temp_checkpoints(wal_dir: &Path) -> Result<(), WalError> {
    for entry in fs::read_dir(wal_dir).map_err(WalError::io("list checkpoints in", wal_dir))? {
        let entry = entry.map_err(WalError::io("list checkpoints in", wal_dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(PREFIX) && name.ends_with(TMP_SUFFIX) {
            let path = entry.path();
            tracing::info!(dir = %path.display(), "deleting leftover temporary checkpoint");
            fs::remove_dir_all(&path)
                .map_err(WalError::io("delete temporary checkpoint", &path))?;
        }
    }
    Ok(())
}

/// Deletes a directory when dropped, unless disarmed: cleans up a failed checkpoint.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// Writes `checkpoint.<to>` from the last checkpoint (if any) and segments `from..=to` of
/// the WAL in `wal_dir`, keeping the series for which `keep` is true and data at or after
/// `mint` (see the module documentation). With an existing checkpoint, `from` is moved to
/// the segment right after it; a gap between the two is an error. `keep` must give the
/// same answer for a series throughout the call.
///
/// Samples and exemplars of series that are not kept are dropped too (Prometheus keeps
/// them, though replay can do nothing with samples whose series record is gone).
pub fn checkpoint(
    wal_dir: &Path,
    from: u32,
    to: u32,
    keep: &dyn Fn(SeriesRef) -> bool,
    mint: i64,
    compression: WalCompression,
) -> Result<CheckpointStats, WalError> {
    tracing::info!(
        from_segment = from,
        to_segment = to,
        mint,
        "creating checkpoint"
    );
    let mut ranges = Vec::new();
    let mut from = from;
    if let Some((dir, last)) = last_checkpoint(wal_dir)? {
        let expected = last.saturating_add(1);
        if from > expected {
            return Err(WalError::CheckpointGap {
                dir: wal_dir.to_path_buf(),
                from,
                to,
                last,
                expected,
            });
        }
        // Segments the last checkpoint covers are superseded by it.
        from = expected;
        ranges.push(SegmentRange::all(dir));
    }
    ranges.push(SegmentRange {
        dir: wal_dir.to_path_buf(),
        first: Some(from),
        last: Some(to),
    });
    let mut reader = Reader::open(&ranges)?;

    delete_temp_checkpoints(wal_dir)?;
    let final_dir = checkpoint_dir(wal_dir, to);
    let mut tmp_name = final_dir.as_os_str().to_owned();
    tmp_name.push(TMP_SUFFIX);
    let tmp_dir = PathBuf::from(tmp_name);
    fs::create_dir_all(&tmp_dir).map_err(WalError::io("create checkpoint directory", &tmp_dir))?;
    let mut cleanup = RemoveOnDrop(Some(tmp_dir.clone()));
    let cp = Wal::open(
        &tmp_dir,
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compression,
            metrics: Arc::new(WalMetrics::new()),
        },
    )?;

    let mut stats = CheckpointStats::default();
    let mut filter = Filter {
        keep,
        mint,
        dec: Decoder::new(),
        series: Vec::new(),
        samples: Vec::new(),
        tombstones: Vec::new(),
        exemplars: Vec::new(),
        metadata: Vec::new(),
        latest_metadata: HashMap::new(),
    };
    let mut batch = Batch::default();
    loop {
        let rec = match reader.next() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => return Err(e),
        };
        if let Err(source) = filter.record(rec, &mut batch.buf, &mut stats) {
            let (segment, offset) = reader.position().unwrap_or_default();
            let dir = reader.current_dir().unwrap_or(wal_dir).to_path_buf();
            return Err(WalError::Record {
                dir,
                segment,
                offset,
                source,
            });
        }
        batch.end_record();
        if batch.buf.len() >= BATCH_BYTES {
            batch.log(&cp)?;
        }
    }
    batch.log(&cp)?;

    // The latest metadata of each kept series, in ref order, in records of bounded size.
    let mut latest: Vec<_> = filter.latest_metadata.into_values().collect();
    latest.sort_unstable_by_key(|m| m.series);
    for chunk in latest.chunks(4096) {
        record::encode_metadata(chunk, &mut batch.buf);
        batch.end_record();
        batch.log(&cp)?;
    }

    cp.close()?;
    drop(cp);
    if final_dir.exists() {
        fs::remove_dir_all(&final_dir).map_err(WalError::io("replace checkpoint", &final_dir))?;
    }
    fs::rename(&tmp_dir, &final_dir).map_err(WalError::io("rename checkpoint into", &final_dir))?;
    cleanup.0 = None;
    sync_dir(wal_dir)?;
    Ok(stats)
}

/// Encoded records waiting to be logged: `buf` holds them back to back, `ends` where each
/// ends.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    /// Marks the end of a record just appended to `buf` (nothing if it appended nothing).
    fn end_record(&mut self) {
        if self.buf.len() > self.ends.last().copied().unwrap_or(0) {
            self.ends.push(self.buf.len());
        }
    }

    fn log(&mut self, wal: &Wal) -> Result<(), WalError> {
        let mut start = 0;
        let recs: Vec<&[u8]> = self
            .ends
            .iter()
            .map(|&end| {
                let r = &self.buf[start..end];
                start = end;
                r
            })
            .collect();
        wal.log(&recs)?;
        self.buf.clear();
        self.ends.clear();
        Ok(())
    }
}

/// Decodes one record, drops what the checkpoint does not keep, re-encodes the rest.
struct Filter<'k> {
    keep: &'k dyn Fn(SeriesRef) -> bool,
    mint: i64,
    dec: Decoder,
    series: Vec<record::RefSeries>,
    samples: Vec<record::RefSample>,
    tombstones: Vec<record::Tombstone>,
    exemplars: Vec<record::RefExemplar>,
    metadata: Vec<record::RefMetadata>,
    latest_metadata: HashMap<SeriesRef, record::RefMetadata>,
}

impl Filter<'_> {
    fn record(
        &mut self,
        rec: &[u8],
        out: &mut Vec<u8>,
        stats: &mut CheckpointStats,
    ) -> Result<(), RecordError> {
        let keep = self.keep;
        let mint = self.mint;
        let typ = match RecordType::of(rec) {
            Ok(t) if t.is_supported() => t,
            // Unknown and undecodable types are dropped, as Prometheus drops unknown ones.
            Ok(_) | Err(RecordError::UnknownType(_)) => {
                stats.dropped_records += 1;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        match typ {
            RecordType::Series => {
                self.series.clear();
                self.dec.series(rec, &mut self.series)?;
                let total = self.series.len();
                self.series.retain(|s| keep(s.series));
                stats.total_series += total;
                stats.dropped_series += total - self.series.len();
                if !self.series.is_empty() {
                    record::encode_series(&self.series, out);
                }
            }
            RecordType::Samples | RecordType::SamplesV2 => {
                self.samples.clear();
                self.dec.samples(rec, &mut self.samples)?;
                let total = self.samples.len();
                self.samples.retain(|s| s.t >= mint && keep(s.series));
                stats.total_samples += total;
                stats.dropped_samples += total - self.samples.len();
                if !self.samples.is_empty() {
                    record::encode_samples(&self.samples, out);
                }
            }
            RecordType::Tombstones => {
                self.tombstones.clear();
                self.dec.tombstones(rec, &mut self.tombstones)?;
                let total = self.tombstones.len();
                self.tombstones.retain(|s| s.maxt >= mint && keep(s.series));
                stats.total_tombstones += total;
                stats.dropped_tombstones += total - self.tombstones.len();
                if !self.tombstones.is_empty() {
                    record::encode_tombstones(&self.tombstones, out);
                }
            }
            RecordType::Exemplars => {
                self.exemplars.clear();
                self.dec.exemplars(rec, &mut self.exemplars)?;
                let total = self.exemplars.len();
                self.exemplars.retain(|e| e.t >= mint && keep(e.series));
                stats.total_exemplars += total;
                stats.dropped_exemplars += total - self.exemplars.len();
                if !self.exemplars.is_empty() {
                    record::encode_exemplars(&self.exemplars, out);
                }
            }
            RecordType::Metadata => {
                self.metadata.clear();
                self.dec.metadata(rec, &mut self.metadata)?;
                let total = self.metadata.len();
                // Only the latest metadata of a kept series survives: the first one seen
                // for a series counts as kept, every other one as dropped (as Prometheus
                // counts).
                let mut new_series = 0;
                for m in self.metadata.drain(..) {
                    if keep(m.series) && self.latest_metadata.insert(m.series, m).is_none() {
                        new_series += 1;
                    }
                }
                stats.total_metadata += total;
                stats.dropped_metadata += total - new_series;
            }
            // Mmap markers belong to the out-of-order log and are not checkpointed.
            _ => stats.dropped_records += 1,
        }
        Ok(())
    }
}

impl Wal {
    /// [`checkpoint`] of this WAL with its compression, counting
    /// `prometheus_tsdb_checkpoint_creations{,_failed}_total` (and
    /// `prometheus_tsdb_wal_corruptions_total` when it fails on damage).
    pub fn checkpoint(
        &self,
        from: u32,
        to: u32,
        keep: &dyn Fn(SeriesRef) -> bool,
        mint: i64,
    ) -> Result<CheckpointStats, WalError> {
        let m = self.metrics();
        m.checkpoint_creations.inc();
        let r = checkpoint(self.dir(), from, to, keep, mint, self.compression());
        if let Err(e) = &r {
            m.checkpoint_creations_failed.inc();
            if matches!(e, WalError::Corruption(_)) {
                m.corruptions.inc();
            }
        }
        r
    }

    /// [`delete_checkpoints`] in this WAL's directory, counting
    /// `prometheus_tsdb_checkpoint_deletions{,_failed}_total`.
    pub fn delete_checkpoints(&self, below: u32) -> Result<(), WalError> {
        let m = self.metrics();
        m.checkpoint_deletions.inc();
        let r = delete_checkpoints(self.dir(), below);
        if r.is_err() {
            m.checkpoint_deletions_failed.inc();
        }
        r
    }
}
