//! Start-up: rebuilding the head from `chunks_head/` and the WAL.
//!
//! 1. The full chunks in `chunks_head/` are indexed by series (their bytes stay on disk).
//! 2. The last checkpoint, then every later WAL segment, is read in order. Series records
//!    create series (under their WAL ref) and attach their full chunks; samples records are
//!    applied, skipping samples already covered by a series' full chunks.
//! 3. Reading, CRC checking and decompression run on the calling thread; decoding and
//!    applying samples run on worker threads, each owning the series whose ref falls in
//!    its shard, so a series' samples are applied in WAL order without locking contention.
//!
//! A torn or corrupt WAL tail (a crash mid-write) ends the replay at the last good record:
//! the damaged segment is repaired (truncated there, later segments removed) with a log
//! line saying what was dropped, and Ember starts with everything before it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use parking_lot::RwLock;

use crate::chunkenc::Encoding;
use crate::db::ReplayProgress;
use crate::wal::record::{Decoder, RecordType, RefSample, RefSeries};
use crate::wal::{self, SegmentRange, WalError};
use crate::SeriesRef;

use super::chunks::StoredChunkRef;
use super::series::{FullChunk, MemSeries};
use super::Head;

/// What a replay found.
#[derive(Debug, Clone, Default)]
pub struct ReplayStats {
    pub series: u64,
    pub samples: u64,
    /// Samples whose series no series record defined.
    pub unknown_refs: u64,
    pub mmapped_chunks: u64,
    /// Records of kinds the head does not hold yet (native histograms, exemplars, ...).
    pub skipped_records: u64,
    /// Set when a corrupt WAL tail was cut off.
    pub repaired: Option<String>,
    pub duration: Duration,
}

/// Errors that stop a replay (I/O on the data directory; corruption is repaired instead).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("WAL: {0}")]
    Wal(#[from] WalError),
    #[error("chunks_head: {0}")]
    ChunksHead(#[from] crate::chunks_head::ChunksHeadError),
}

/// A replay worker's ref → series cache. WAL refs are small, dense integers, mostly
/// ascending within a record, so a vector indexed by ref turns the per-sample hash look-up
/// (several cache misses) into one nearly sequential load. Refs beyond
/// [`DenseSeriesCache::LIMIT`] (a head that churned through many series) use the maps.
#[derive(Default)]
struct DenseSeriesCache {
    slots: Vec<Option<Arc<MemSeries>>>,
    /// The last series looked up past the limit.
    spill: Option<Arc<MemSeries>>,
}

impl DenseSeriesCache {
    /// 8M refs: at most 64 MiB per worker, freed when replay ends.
    const LIMIT: u64 = 1 << 23;

    fn get(&mut self, head: &Head, r: SeriesRef) -> Option<&Arc<MemSeries>> {
        if r.0 >= Self::LIMIT {
            self.spill = head.series.get_by_ref(r);
            return self.spill.as_ref();
        }
        let i = r.0 as usize;
        if i >= self.slots.len() {
            self.slots.resize((i + 1).next_power_of_two(), None);
        }
        if self.slots[i].is_none() {
            self.slots[i] = Some(head.series.get_by_ref(r)?);
        }
        self.slots[i].as_ref()
    }
}

/// Work for one replay worker: a samples record to decode and apply its shard of.
type Job = Arc<[u8]>;

struct WorkerResult {
    samples: u64,
    unknown: u64,
    chunks_created: i64,
    mint: i64,
    maxt: i64,
}

/// State shared while records are read: the replay's bookkeeping on the reading thread.
struct Feeder<'a> {
    head: &'a Head,
    senders: Vec<Sender<Job>>,
    mmapped: HashMap<SeriesRef, Vec<FullChunk>>,
    multi_ref: &'a RwLock<HashMap<SeriesRef, SeriesRef>>,
    decoder: Decoder,
    series_buf: Vec<RefSeries>,
    stats: ReplayStats,
    progress: &'a ReplayProgress,
}

impl Feeder<'_> {
    /// Feeds every record of `reader` to the head; stops at the first damage and returns it.
    fn feed(&mut self, reader: &mut wal::Reader) -> Result<(), WalError> {
        loop {
            // Progress is the segment of the previous record: close enough for a status page.
            if let Some((segment, _)) = reader.position() {
                self.progress
                    .current_segment
                    .store(u64::from(segment), Ordering::Release);
            }
            let Some(rec) = reader.next()? else {
                break;
            };
            match RecordType::of(rec) {
                Ok(RecordType::Series) => {
                    self.series_buf.clear();
                    if let Err(e) = self.decoder.series(rec, &mut self.series_buf) {
                        tracing::warn!(position = ?reader.position(), err = %e, "skipping undecodable series record in WAL");
                        continue;
                    }
                    for s in std::mem::take(&mut self.series_buf) {
                        self.head.replay_series(
                            s,
                            &mut self.mmapped,
                            self.multi_ref,
                            &mut self.stats,
                        );
                    }
                }
                Ok(RecordType::Samples | RecordType::SamplesV2) => {
                    let job: Job = Arc::from(rec);
                    for tx in &self.senders {
                        // A worker only stops early by panicking; its join reports that.
                        let _ = tx.send(job.clone());
                    }
                }
                _ => self.stats.skipped_records += 1,
            }
        }
        Ok(())
    }
}

impl Head {
    /// Rebuilds the head from `chunks_head/` and the WAL in `wal_dir`. Call once, on an
    /// empty head, before any appender is created.
    pub(crate) fn replay(
        &self,
        wal_dir: &Path,
        progress: &ReplayProgress,
    ) -> Result<ReplayStats, ReplayError> {
        let started = Instant::now();
        let mut stats = ReplayStats::default();
        let mmapped = self.load_mmapped_chunks(&mut stats)?;

        let checkpoint = wal::last_checkpoint(wal_dir)?;
        let wal_range = SegmentRange {
            dir: wal_dir.to_path_buf(),
            first: checkpoint.as_ref().map(|(_, i)| i.saturating_add(1)),
            last: None,
        };
        if let Some((first, last)) = wal::segment_range(wal_dir)? {
            progress
                .first_segment
                .store(u64::from(first), Ordering::Release);
            progress
                .last_segment
                .store(u64::from(last), Ordering::Release);
        }

        // Refs of duplicate series records (same labels under a second ref) → the kept ref.
        let multi_ref: RwLock<HashMap<SeriesRef, SeriesRef>> = RwLock::new(HashMap::new());
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);

        let (results, feeder_stats) = std::thread::scope(
            |scope| -> Result<(Vec<WorkerResult>, ReplayStats), ReplayError> {
                let mut senders = Vec::with_capacity(workers);
                let mut handles = Vec::with_capacity(workers);
                for shard in 0..workers {
                    let (tx, rx) = bounded::<Job>(64);
                    senders.push(tx);
                    let multi_ref = &multi_ref;
                    handles.push(
                        scope.spawn(move || self.replay_worker(rx, shard, workers, multi_ref)),
                    );
                }
                let mut feeder = Feeder {
                    head: self,
                    senders,
                    mmapped,
                    multi_ref: &multi_ref,
                    decoder: Decoder::new(),
                    series_buf: Vec::new(),
                    stats,
                    progress,
                };

                // The checkpoint first. Damage there cannot be repaired by truncation (later
                // segments build on it), so it is reported and replay goes on with the WAL.
                if let Some((dir, index)) = &checkpoint {
                    let mut reader = wal::Reader::open(&[SegmentRange::all(dir.clone())])?;
                    if let Err(e) = feeder.feed(&mut reader) {
                        tracing::error!(checkpoint = index, err = %e, "the WAL checkpoint is damaged; the samples after the damage in it are lost");
                        feeder.stats.repaired = Some(e.to_string());
                    }
                }
                let mut reader = wal::Reader::open(&[wal_range])?;
                let damage = match feeder.feed(&mut reader) {
                    Ok(()) => None,
                    Err(WalError::Corruption(c)) => Some(c),
                    Err(e) => return Err(e.into()),
                };
                let Feeder {
                    senders,
                    mmapped,
                    mut stats,
                    ..
                } = feeder;
                drop(senders);
                let mut results = Vec::with_capacity(workers);
                for h in handles {
                    match h.join() {
                        Ok(r) => results.push(r),
                        Err(p) => std::panic::resume_unwind(p),
                    }
                }
                let orphans: usize = mmapped.values().map(Vec::len).sum();
                if orphans > 0 {
                    tracing::info!(
                        chunks = orphans,
                        "ignoring chunks_head chunks of series the WAL no longer defines"
                    );
                }
                if let Some(c) = damage {
                    tracing::warn!(err = %c, "the WAL ends in a damaged record (a crash mid-write?); repairing");
                    let report = match self.wal() {
                        Some(w) => Some(w.repair(&c)?),
                        None => None,
                    };
                    stats.repaired = Some(format!("{c}; repair: {report:?}"));
                }
                Ok((results, stats))
            },
        )?;
        stats = feeder_stats;

        let mut mint = i64::MAX;
        let mut maxt = i64::MIN;
        let mut chunks_created = 0;
        for r in &results {
            stats.samples += r.samples;
            stats.unknown_refs += r.unknown;
            chunks_created += r.chunks_created;
            mint = mint.min(r.mint);
            maxt = maxt.max(r.maxt);
        }
        // Full chunks from chunks_head count towards the time range too.
        self.series.for_each(|s| {
            let st = s.state.lock();
            if let Some(t) = st.min_time() {
                mint = mint.min(t);
            }
            if st.last_t != i64::MIN {
                maxt = maxt.max(st.last_t);
            }
        });
        self.update_time_range(mint, maxt);
        self.metrics
            .chunks
            .add(chunks_created + stats.mmapped_chunks as i64);
        self.metrics
            .chunks_created
            .inc_by(chunks_created.max(0) as u64);
        if stats.unknown_refs > 0 {
            self.metrics
                .replay_unknown_refs
                .with_label_values(&["samples"])
                .inc_by(stats.unknown_refs);
            tracing::warn!(
                samples = stats.unknown_refs,
                "WAL replay found samples for unknown series references"
            );
        }
        stats.duration = started.elapsed();
        self.metrics
            .replay_duration
            .set(stats.duration.as_secs_f64());
        progress.done.store(true, Ordering::Release);
        Ok(stats)
    }

    /// Indexes `chunks_head/` by series: ref → full chunks, oldest first.
    fn load_mmapped_chunks(
        &self,
        stats: &mut ReplayStats,
    ) -> Result<HashMap<SeriesRef, Vec<FullChunk>>, ReplayError> {
        let mut by_series: HashMap<SeriesRef, Vec<FullChunk>> = HashMap::new();
        let Some(mapper) = self.chunks.mapper() else {
            return Ok(by_series);
        };
        let mut skipped = 0u64;
        mapper.iterate_all_chunks(|meta| {
            if meta.encoding != Encoding::Xor {
                skipped += 1;
                return Ok(());
            }
            by_series.entry(meta.series).or_default().push(FullChunk {
                min_t: meta.mint,
                max_t: meta.maxt,
                stored: StoredChunkRef::disk(meta.chunk),
                num_samples: meta.num_samples,
            });
            Ok(())
        })?;
        if skipped > 0 {
            tracing::warn!(
                chunks = skipped,
                "chunks_head holds native histogram chunks, which Ember does not read yet; their samples are served from the WAL where it still has them"
            );
        }
        for chunks in by_series.values_mut() {
            chunks.sort_by_key(|c| c.min_t);
            // Keep a strictly increasing, non-overlapping sequence (a crash between cutting
            // and writing can leave a duplicate).
            chunks.dedup_by(|b, a| b.min_t <= a.max_t);
        }
        stats.mmapped_chunks = 0;
        Ok(by_series)
    }

    /// Creates (or maps) one series from a series record.
    fn replay_series(
        &self,
        s: RefSeries,
        mmapped: &mut HashMap<SeriesRef, Vec<FullChunk>>,
        multi_ref: &RwLock<HashMap<SeriesRef, SeriesRef>>,
        stats: &mut ReplayStats,
    ) {
        let r = s.series;
        self.last_series_ref.fetch_max(r.0, Ordering::AcqRel);
        let (series, created) = self.series.insert_replayed(r, s.labels);
        if !created {
            if series.series_ref != r {
                // Same labels under a second ref (a series re-created after a restart that
                // lost the first record's commit): samples under either ref go to one series.
                multi_ref.write().insert(r, series.series_ref);
                if let Some(chunks) = mmapped.remove(&r) {
                    drop(chunks);
                }
            }
            return;
        }
        self.postings.add(series.series_ref, series.labels.as_ref());
        self.metrics.series.inc();
        self.metrics.series_created.inc();
        stats.series += 1;
        if let Some(chunks) = mmapped.remove(&r) {
            stats.mmapped_chunks += chunks.len() as u64;
            series.state.lock().attach_full_chunks(chunks);
        }
    }

    /// Applies the samples of every record in `rx` whose series falls in `shard`.
    fn replay_worker(
        &self,
        rx: Receiver<Job>,
        shard: usize,
        shards: usize,
        multi_ref: &RwLock<HashMap<SeriesRef, SeriesRef>>,
    ) -> WorkerResult {
        let mut res = WorkerResult {
            samples: 0,
            unknown: 0,
            chunks_created: 0,
            mint: i64::MAX,
            maxt: i64::MIN,
        };
        let mut samples: Vec<RefSample> = Vec::new();
        let mut decoder = Decoder::new();
        let mut cache = DenseSeriesCache::default();
        let shards = shards as u64;
        let shard = shard as u64;
        for rec in rx {
            samples.clear();
            if let Err(e) = decoder.samples(&rec, &mut samples) {
                if shard == 0 {
                    tracing::warn!(err = %e, "skipping undecodable samples record in WAL");
                }
                continue;
            }
            // Duplicate refs are rare; only then is the map consulted per sample.
            let remap = !multi_ref.read().is_empty();
            for s in &samples {
                let target = if remap {
                    multi_ref.read().get(&s.series).copied().unwrap_or(s.series)
                } else {
                    s.series
                };
                // Shard by the series the sample lands in, so one worker owns each series.
                if target.0 % shards != shard {
                    continue;
                }
                let Some(series) = cache.get(self, target) else {
                    res.unknown += 1;
                    continue;
                };
                let mut st = series.state.lock();
                let out = st.append(series.series_ref, s.t, s.v, self.opts, &self.chunks);
                if out.appended {
                    res.samples += 1;
                    res.chunks_created += i64::from(out.chunk_created);
                    res.mint = res.mint.min(s.t);
                    res.maxt = res.maxt.max(s.t);
                }
            }
        }
        res
    }
}
