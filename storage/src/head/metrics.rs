//! The head's self-metrics, under Prometheus's names and help texts so that existing
//! dashboards and alerts for Prometheus work on Ember.

use std::sync::Weak;

use prometheus::{Gauge, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::metrics::GaugeFn;

use super::Head;

pub(crate) struct HeadMetrics {
    pub series: IntGauge,
    pub series_created: IntCounter,
    pub series_removed: IntCounter,
    pub series_not_found: IntCounter,
    pub chunks: IntGauge,
    pub chunks_created: IntCounter,
    pub chunks_removed: IntCounter,
    pub samples_appended: IntCounterVec,
    pub out_of_bound_samples: IntCounterVec,
    pub out_of_order_samples: IntCounterVec,
    /// The `type="float"` children, resolved once: the append path must not look them up.
    pub float_appended: IntCounter,
    pub float_out_of_bound: IntCounter,
    pub float_out_of_order: IntCounter,
    pub active_appenders: IntGauge,
    pub appenders_created: IntCounter,
    /// Computed at scrape time from the head (they are not updated on the append path).
    pub min_time: GaugeFn,
    pub max_time: GaugeFn,
    pub min_time_seconds: GaugeFn,
    pub max_time_seconds: GaugeFn,
    pub lowest_timestamp: GaugeFn,
    pub lowest_timestamp_seconds: GaugeFn,
    pub chunks_storage_size: GaugeFn,
    pub replay_duration: Gauge,
    pub replay_unknown_refs: IntCounterVec,
    pub mmap_chunk_corruptions: IntCounter,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

fn gauge_fn(name: &str, help: &str) -> GaugeFn {
    GaugeFn::new(name, help).expect("valid metric")
}

impl HeadMetrics {
    pub fn new() -> HeadMetrics {
        // Metric construction only fails for invalid names, which are constants here.
        let counter = |n: &str, h: &str| IntCounter::with_opts(opts(n, h)).expect("valid metric");
        let gauge = |n: &str, h: &str| IntGauge::with_opts(opts(n, h)).expect("valid metric");
        let by_type =
            |n: &str, h: &str| IntCounterVec::new(opts(n, h), &["type"]).expect("valid metric");
        let samples_appended = by_type(
            "prometheus_tsdb_head_samples_appended_total",
            "Total number of appended samples.",
        );
        let out_of_bound_samples = by_type(
            "prometheus_tsdb_out_of_bound_samples_total",
            "Total number of out of bound samples ingestion failed attempts with out of order support disabled.",
        );
        let out_of_order_samples = by_type(
            "prometheus_tsdb_out_of_order_samples_total",
            "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
        );
        HeadMetrics {
            float_appended: samples_appended.with_label_values(&["float"]),
            float_out_of_bound: out_of_bound_samples.with_label_values(&["float"]),
            float_out_of_order: out_of_order_samples.with_label_values(&["float"]),
            samples_appended,
            out_of_bound_samples,
            out_of_order_samples,
            series: gauge(
                "prometheus_tsdb_head_series",
                "Total number of series in the head block.",
            ),
            series_created: counter(
                "prometheus_tsdb_head_series_created_total",
                "Total number of series created in the head",
            ),
            series_removed: counter(
                "prometheus_tsdb_head_series_removed_total",
                "Total number of series removed in the head",
            ),
            series_not_found: counter(
                "prometheus_tsdb_head_series_not_found_total",
                "Total number of requests for series that were not found.",
            ),
            chunks: gauge(
                "prometheus_tsdb_head_chunks",
                "Total number of chunks in the head block.",
            ),
            chunks_created: counter(
                "prometheus_tsdb_head_chunks_created_total",
                "Total number of chunks created in the head",
            ),
            chunks_removed: counter(
                "prometheus_tsdb_head_chunks_removed_total",
                "Total number of chunks removed in the head",
            ),
            active_appenders: gauge(
                "prometheus_tsdb_head_active_appenders",
                "Number of currently active appender transactions",
            ),
            appenders_created: counter(
                "prometheus_tsdb_head_appenders_created_total",
                "Total number of appender transactions created.",
            ),
            min_time: gauge_fn(
                "prometheus_tsdb_head_min_time",
                "Minimum time bound of the head block. The unit is decided by the library consumer.",
            ),
            max_time: gauge_fn(
                "prometheus_tsdb_head_max_time",
                "Maximum timestamp of the head block. The unit is decided by the library consumer.",
            ),
            min_time_seconds: gauge_fn(
                "prometheus_tsdb_head_min_time_seconds",
                "Minimum time bound of the head block.",
            ),
            max_time_seconds: gauge_fn(
                "prometheus_tsdb_head_max_time_seconds",
                "Maximum timestamp of the head block.",
            ),
            lowest_timestamp: gauge_fn(
                "prometheus_tsdb_lowest_timestamp",
                "Lowest timestamp value stored in the database. The unit is decided by the library consumer.",
            ),
            lowest_timestamp_seconds: gauge_fn(
                "prometheus_tsdb_lowest_timestamp_seconds",
                "Lowest timestamp value stored in the database.",
            ),
            chunks_storage_size: gauge_fn(
                "prometheus_tsdb_head_chunks_storage_size_bytes",
                "Size of the chunks_head directory.",
            ),
            replay_duration: Gauge::with_opts(opts(
                "prometheus_tsdb_data_replay_duration_seconds",
                "Time taken to replay the data on disk.",
            ))
            .expect("valid metric"),
            replay_unknown_refs: IntCounterVec::new(
                opts(
                    "prometheus_tsdb_wal_replay_unknown_refs_total",
                    "Total number of unknown series references encountered during WAL replay.",
                ),
                &["type"],
            )
            .expect("valid metric"),
            mmap_chunk_corruptions: counter(
                "prometheus_tsdb_mmap_chunk_corruptions_total",
                "Total number of memory-mapped chunk corruptions.",
            ),
        }
    }

    /// Points the computed gauges at `head` (weakly: a dropped head reads as empty).
    pub fn bind(&self, head: Weak<Head>) {
        let read = |f: fn(&Head) -> f64| {
            let head = head.clone();
            move || head.upgrade().map_or(0.0, |h| f(&h))
        };
        // Prometheus reports the empty head's sentinels (MaxInt64 / MinInt64) as is.
        self.min_time.set_fn(read(|h| h.min_time() as f64));
        self.max_time.set_fn(read(|h| h.max_time() as f64));
        self.min_time_seconds
            .set_fn(read(|h| (h.min_time() / 1000) as f64));
        self.max_time_seconds
            .set_fn(read(|h| (h.max_time() / 1000) as f64));
        // Without persistent blocks the lowest stored timestamp is the head's.
        self.lowest_timestamp.set_fn(read(|h| h.min_time() as f64));
        self.lowest_timestamp_seconds
            .set_fn(read(|h| (h.min_time() / 1000) as f64));
        self.chunks_storage_size.set_fn(read(|h| {
            h.chunks.mapper().map_or(0, |m| m.size_bytes()) as f64
        }));
    }

    pub fn register(&self, r: &Registry) -> prometheus::Result<()> {
        r.register(Box::new(self.series.clone()))?;
        r.register(Box::new(self.series_created.clone()))?;
        r.register(Box::new(self.series_removed.clone()))?;
        r.register(Box::new(self.series_not_found.clone()))?;
        r.register(Box::new(self.chunks.clone()))?;
        r.register(Box::new(self.chunks_created.clone()))?;
        r.register(Box::new(self.chunks_removed.clone()))?;
        r.register(Box::new(self.samples_appended.clone()))?;
        r.register(Box::new(self.out_of_bound_samples.clone()))?;
        r.register(Box::new(self.out_of_order_samples.clone()))?;
        r.register(Box::new(self.active_appenders.clone()))?;
        r.register(Box::new(self.appenders_created.clone()))?;
        r.register(Box::new(self.min_time.clone()))?;
        r.register(Box::new(self.max_time.clone()))?;
        r.register(Box::new(self.min_time_seconds.clone()))?;
        r.register(Box::new(self.max_time_seconds.clone()))?;
        r.register(Box::new(self.lowest_timestamp.clone()))?;
        r.register(Box::new(self.lowest_timestamp_seconds.clone()))?;
        r.register(Box::new(self.replay_duration.clone()))?;
        r.register(Box::new(self.replay_unknown_refs.clone()))?;
        r.register(Box::new(self.mmap_chunk_corruptions.clone()))?;
        r.register(Box::new(self.chunks_storage_size.clone()))?;
        Ok(())
    }
}
