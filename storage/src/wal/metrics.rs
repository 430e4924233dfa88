//! The WAL's self-metrics, under Prometheus's names and help texts (`tsdb/wlog/wlog.go`,
//! and the WAL/checkpoint metrics of `tsdb/head.go`).

use std::path::PathBuf;

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::metrics::{GaugeFn, Summary};

use super::segment::dir_size;

/// Metrics of one WAL. Create them once, [register](WalMetrics::register) them, and pass
/// them to [`super::Wal::open`] through [`super::WalOptions`]; unregistered metrics work
/// too (they are simply not exported).
pub struct WalMetrics {
    pub(crate) fsync_duration: Summary,
    pub(crate) page_flushes: IntCounter,
    pub(crate) completed_pages: IntCounter,
    pub(crate) truncations: IntCounter,
    pub(crate) truncations_failed: IntCounter,
    pub(crate) writes_failed: IntCounter,
    pub(crate) segment_current: IntGauge,
    pub(crate) storage_size: GaugeFn,
    pub(crate) record_part_writes: IntCounter,
    pub(crate) record_parts_bytes: IntCounter,
    pub(crate) record_bytes_saved: IntCounterVec,
    pub(crate) corruptions: IntCounter,
    pub(crate) checkpoint_creations: IntCounter,
    pub(crate) checkpoint_creations_failed: IntCounter,
    pub(crate) checkpoint_deletions: IntCounter,
    pub(crate) checkpoint_deletions_failed: IntCounter,
}

const WAL: &str = "prometheus_tsdb_wal_";

impl WalMetrics {
    pub fn new() -> WalMetrics {
        // The names and help texts are constants known to be valid: construction cannot fail.
        fn counter(name: &str, help: &str) -> IntCounter {
            IntCounter::with_opts(Opts::new(name, help)).expect("valid metric name")
        }
        let w = |s: &str| format!("{WAL}{s}");
        WalMetrics {
            fsync_duration: Summary::new(
                &w("fsync_duration_seconds"),
                "Duration of write log fsync.",
            )
            .expect("valid metric name"),
            page_flushes: counter(&w("page_flushes_total"), "Total number of page flushes."),
            completed_pages: counter(
                &w("completed_pages_total"),
                "Total number of completed pages.",
            ),
            truncations: counter(
                &w("truncations_total"),
                "Total number of write log truncations attempted.",
            ),
            truncations_failed: counter(
                &w("truncations_failed_total"),
                "Total number of write log truncations that failed.",
            ),
            writes_failed: counter(
                &w("writes_failed_total"),
                "Total number of write log writes that failed.",
            ),
            segment_current: IntGauge::with_opts(Opts::new(
                w("segment_current"),
                "Write log segment index that TSDB is currently writing to.",
            ))
            .expect("valid metric name"),
            storage_size: GaugeFn::new(
                &w("storage_size_bytes"),
                "Size of the write log directory.",
            )
            .expect("valid metric name"),
            record_part_writes: counter(
                &w("record_part_writes_total"),
                "Total number of record parts written before flushing.",
            ),
            record_parts_bytes: counter(
                &w("record_parts_bytes_written_total"),
                "Total number of record part bytes written before flushing, including CRC and compression headers.",
            ),
            record_bytes_saved: IntCounterVec::new(
                Opts::new(
                    w("record_bytes_saved_total"),
                    "Total number of bytes saved by the optional record compression. Use this metric to learn about the effectiveness compression.",
                ),
                &["compression"],
            )
            .expect("valid metric name"),
            corruptions: counter(&w("corruptions_total"), "Total number of WAL corruptions."),
            checkpoint_creations: counter(
                "prometheus_tsdb_checkpoint_creations_total",
                "Total number of checkpoint creations attempted.",
            ),
            checkpoint_creations_failed: counter(
                "prometheus_tsdb_checkpoint_creations_failed_total",
                "Total number of checkpoint creations that failed.",
            ),
            checkpoint_deletions: counter(
                "prometheus_tsdb_checkpoint_deletions_total",
                "Total number of checkpoint deletions attempted.",
            ),
            checkpoint_deletions_failed: counter(
                "prometheus_tsdb_checkpoint_deletions_failed_total",
                "Total number of checkpoint deletions that failed.",
            ),
        }
    }

    /// Registers every metric in `registry`.
    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.fsync_duration.clone()))?;
        registry.register(Box::new(self.page_flushes.clone()))?;
        registry.register(Box::new(self.completed_pages.clone()))?;
        registry.register(Box::new(self.truncations.clone()))?;
        registry.register(Box::new(self.truncations_failed.clone()))?;
        registry.register(Box::new(self.writes_failed.clone()))?;
        registry.register(Box::new(self.segment_current.clone()))?;
        registry.register(Box::new(self.storage_size.clone()))?;
        registry.register(Box::new(self.record_part_writes.clone()))?;
        registry.register(Box::new(self.record_parts_bytes.clone()))?;
        registry.register(Box::new(self.record_bytes_saved.clone()))?;
        registry.register(Box::new(self.corruptions.clone()))?;
        registry.register(Box::new(self.checkpoint_creations.clone()))?;
        registry.register(Box::new(self.checkpoint_creations_failed.clone()))?;
        registry.register(Box::new(self.checkpoint_deletions.clone()))?;
        registry.register(Box::new(self.checkpoint_deletions_failed.clone()))?;
        Ok(())
    }

    /// Counts a corruption found while replaying or checkpointing.
    pub fn inc_corruptions(&self) {
        self.corruptions.inc();
    }

    /// Makes `prometheus_tsdb_wal_storage_size_bytes` measure `dir` at every scrape.
    pub(crate) fn measure_dir(&self, dir: PathBuf) {
        self.storage_size.set_fn(move || match dir_size(&dir) {
            Ok(n) => n as f64,
            Err(e) => {
                tracing::error!(dir = %dir.display(), err = %e, "failed to calculate the size of the WAL directory");
                0.0
            }
        });
    }
}

impl Default for WalMetrics {
    fn default() -> Self {
        WalMetrics::new()
    }
}

impl std::fmt::Debug for WalMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalMetrics").finish_non_exhaustive()
    }
}
