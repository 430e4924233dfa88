//! Appenders: batches of samples that commit atomically.
//!
//! `append` validates a sample against its series (ordering, duplicates, bounds) and
//! queues it; `commit` writes the batch's WAL records with one write, and only then applies
//! the samples to their series, so a batch is either wholly in the WAL or not at all, and
//! nothing visible was ever unlogged. `rollback` (or dropping the appender) discards the
//! queue. An appender is reusable: after `commit` or `rollback` it starts a new batch with
//! its buffers kept, so a long-lived producer (a scrape loop, a remote-write connection)
//! allocates nothing per batch.
//!
//! Errors carry Prometheus's messages, which API clients match on.

use std::sync::Arc;

use crate::labels::LabelsRef;
use crate::numfmt::format_g;
use crate::wal::record::{self, RefSample};
use crate::SeriesRef;

use super::series::MemSeries;
use super::Head;

/// Why a sample or a batch was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("out of order sample")]
    OutOfOrder,
    #[error("out of bounds")]
    OutOfBounds,
    #[error("duplicate sample for timestamp {}", duplicate_detail(.timestamp, .existing, .new))]
    Duplicate {
        timestamp: i64,
        existing: f64,
        new: f64,
    },
    #[error("empty labelset: invalid sample")]
    EmptyLabels,
    #[error("write to WAL: {0}")]
    Wal(#[from] crate::wal::WalError),
    #[error("storage is closed")]
    Closed,
}

fn duplicate_detail(t: &i64, existing: &f64, new: &f64) -> String {
    format!(
        "{t}; overrides not allowed: existing {}, new value {}",
        format_g(*existing),
        format_g(*new)
    )
}

impl AppendError {
    /// Whether the error concerns one sample (the batch can go on) rather than the batch.
    pub fn is_sample_error(&self) -> bool {
        matches!(
            self,
            AppendError::OutOfOrder
                | AppendError::OutOfBounds
                | AppendError::Duplicate { .. }
                | AppendError::EmptyLabels
        )
    }
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Samples now in the head.
    pub appended: u64,
    /// Samples dropped at commit because a concurrent commit had written newer samples
    /// to their series first.
    pub out_of_order: u64,
    /// Series this batch created.
    pub series_created: u64,
}

struct Pending {
    series: Arc<MemSeries>,
    t: i64,
    v: f64,
}

/// Buffers an appender reuses across batches; pooled by the head so short-lived
/// appenders do not allocate either.
#[derive(Default)]
pub(crate) struct AppendBuffers {
    samples: Vec<Pending>,
    created: Vec<Arc<MemSeries>>,
    wal_samples: Vec<RefSample>,
    series_rec: Vec<u8>,
    samples_rec: Vec<u8>,
    to_log: Vec<Arc<MemSeries>>,
}

impl AppendBuffers {
    fn clear(&mut self) {
        self.samples.clear();
        self.created.clear();
        self.wal_samples.clear();
        self.series_rec.clear();
        self.samples_rec.clear();
        self.to_log.clear();
    }
}

/// A batch of appends to the head. See the module documentation.
pub struct Appender {
    head: Arc<Head>,
    buf: AppendBuffers,
    /// The oldest timestamp accepted in this batch, fixed when the batch starts (as
    /// Prometheus fixes it when an appender is created).
    min_valid_time: i64,
    active: bool,
}

impl Appender {
    pub(crate) fn new(head: Arc<Head>) -> Appender {
        let buf = head.buffers.lock().pop().unwrap_or_default();
        head.metrics.appenders_created.inc();
        let min_valid_time = head.appendable_min_valid_time();
        Appender {
            head,
            buf,
            min_valid_time,
            active: false,
        }
    }

    fn start(&mut self) {
        if !self.active {
            self.active = true;
            self.min_valid_time = self.head.appendable_min_valid_time();
            self.head.metrics.active_appenders.inc();
        }
    }

    fn finish(&mut self) {
        self.buf.clear();
        if self.active {
            self.active = false;
            self.head.metrics.active_appenders.dec();
        }
    }

    /// Queues a sample for the series `series_ref` (a ref returned by an earlier append)
    /// or, when that is `None` or unknown, for the series with `labels` (created if new).
    /// Returns the series' ref for later appends.
    pub fn append(
        &mut self,
        series_ref: Option<SeriesRef>,
        labels: LabelsRef<'_>,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        if self.head.is_closed() {
            return Err(AppendError::Closed);
        }
        self.start();
        let series = match series_ref.and_then(|r| self.head.series.get_by_ref(r)) {
            Some(s) => s,
            None => {
                if labels.is_empty() {
                    return Err(AppendError::EmptyLabels);
                }
                let (s, created) = self.head.get_or_create(labels);
                if created {
                    self.buf.created.push(s.clone());
                }
                s
            }
        };
        let r = series.series_ref;
        if t < self.min_valid_time {
            self.head.metrics.float_out_of_bound.inc();
            return Err(AppendError::OutOfBounds);
        }
        {
            let state = series.state.lock();
            if t < state.last_t {
                drop(state);
                self.head.metrics.float_out_of_order.inc();
                return Err(AppendError::OutOfOrder);
            }
            if t == state.last_t {
                let existing = if state.needs_last_value_from_store() {
                    self.head.last_stored_value(&state).unwrap_or(state.last_v)
                } else {
                    state.last_v
                };
                if existing.to_bits() != v.to_bits() {
                    return Err(AppendError::Duplicate {
                        timestamp: t,
                        existing,
                        new: v,
                    });
                }
                // An exact duplicate (same time and value) is accepted and ignored, as
                // Prometheus does: federation and retries produce them legitimately.
                return Ok(r);
            }
        }
        self.buf.samples.push(Pending { series, t, v });
        Ok(r)
    }

    /// Number of samples queued in the current batch.
    pub fn pending(&self) -> usize {
        self.buf.samples.len()
    }

    /// Makes the batch durable (one WAL write), then visible. On a WAL error nothing of the
    /// batch is applied and the error is returned; the appender is ready for a new batch
    /// either way.
    pub fn commit(&mut self) -> Result<CommitStats, AppendError> {
        let result = self.commit_inner();
        self.finish();
        result
    }

    fn commit_inner(&mut self) -> Result<CommitStats, AppendError> {
        let head = &*self.head;
        let buf = &mut self.buf;
        let mut stats = CommitStats {
            series_created: buf.created.len() as u64,
            ..CommitStats::default()
        };
        if buf.samples.is_empty() && buf.created.is_empty() {
            return Ok(stats);
        }
        if head.is_closed() {
            return Err(AppendError::Closed);
        }
        if let Some(wal) = head.wal() {
            log_batch(wal, buf)?;
        }
        for s in &buf.to_log {
            s.mark_logged();
        }

        // Apply, holding each series' lock across a run of its samples.
        let mut mint = i64::MAX;
        let mut maxt = i64::MIN;
        let mut chunks_created = 0i64;
        let mut i = 0;
        while i < buf.samples.len() {
            let series = buf.samples[i].series.clone();
            let mut state = series.state.lock();
            while i < buf.samples.len() && Arc::ptr_eq(&buf.samples[i].series, &series) {
                let p = &buf.samples[i];
                let out = state.append(series.series_ref, p.t, p.v, head.opts, &head.chunks);
                if out.appended {
                    stats.appended += 1;
                    mint = mint.min(p.t);
                    maxt = maxt.max(p.t);
                    chunks_created += i64::from(out.chunk_created);
                } else if p.t < state.last_t {
                    stats.out_of_order += 1;
                }
                i += 1;
            }
        }
        head.update_time_range(mint, maxt);
        head.metrics.float_appended.inc_by(stats.appended);
        head.metrics.float_out_of_order.inc_by(stats.out_of_order);
        if chunks_created > 0 {
            head.metrics.chunks.add(chunks_created);
            head.metrics.chunks_created.inc_by(chunks_created as u64);
        }
        Ok(stats)
    }

    /// Discards the batch. Series it created stay (empty) and are logged, as Prometheus
    /// does, so that the WAL describes every series the head holds.
    pub fn rollback(&mut self) -> Result<(), AppendError> {
        let result = if self.buf.created.is_empty() || self.head.is_closed() {
            Ok(())
        } else {
            self.buf.samples.clear();
            match self.head.wal() {
                Some(wal) => log_batch(wal, &mut self.buf).map_err(AppendError::from),
                None => Ok(()),
            }
            .map(|()| {
                for s in &self.buf.to_log {
                    s.mark_logged();
                }
            })
        };
        self.finish();
        result
    }
}

/// Encodes the batch's series records (series not yet logged) and samples record, and
/// writes them with one WAL call.
fn log_batch(wal: &crate::wal::Wal, buf: &mut AppendBuffers) -> Result<(), crate::wal::WalError> {
    // The series to define first: those this batch created, and any series another
    // appender created but has not committed yet.
    buf.to_log.clear();
    buf.to_log.extend(buf.created.iter().cloned());
    buf.to_log.extend(
        buf.samples
            .iter()
            .filter(|p| !p.series.is_logged())
            .map(|p| p.series.clone()),
    );
    if buf.to_log.len() > buf.created.len() {
        buf.to_log.sort_unstable_by_key(|s| s.series_ref);
        buf.to_log.dedup_by_key(|s| s.series_ref);
    }
    let mut records: [&[u8]; 2] = [&[], &[]];
    let mut n = 0;
    if !buf.to_log.is_empty() {
        buf.series_rec.clear();
        record::encode_series_refs(
            buf.to_log.iter().map(|s| (s.series_ref, s.labels.as_ref())),
            &mut buf.series_rec,
        );
        records[n] = &buf.series_rec;
        n += 1;
    }
    if !buf.samples.is_empty() {
        buf.wal_samples.clear();
        buf.wal_samples
            .extend(buf.samples.iter().map(|p| RefSample {
                series: p.series.series_ref,
                t: p.t,
                v: p.v,
            }));
        buf.samples_rec.clear();
        record::encode_samples(&buf.wal_samples, &mut buf.samples_rec);
        records[n] = &buf.samples_rec;
        n += 1;
    }
    wal.log(&records[..n])
}

impl Drop for Appender {
    fn drop(&mut self) {
        if self.active {
            if let Err(e) = self.rollback() {
                tracing::warn!(err = %e, "rolling back a dropped appender failed");
            }
        }
        let buf = std::mem::take(&mut self.buf);
        let mut pool = self.head.buffers.lock();
        if pool.len() < 64 {
            pool.push(buf);
        }
    }
}
