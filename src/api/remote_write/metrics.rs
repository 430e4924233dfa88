//! The receiver's metrics.
//!
//! Under Prometheus 3's names (its `storage/remote/write_handler.go`):
//!
//! - `prometheus_api_remote_write_invalid_labels_samples_total`: samples and histogram
//!   samples rejected for invalid labels.
//! - `prometheus_api_remote_write_without_metadata_appended_samples_total`: Prometheus
//!   counts there samples whose metadata it could not persist with
//!   `--enable-feature=metadata-wal-records`; Ember keeps no metadata, so it stays 0
//!   (registered so that dashboards find it).
//!
//! Samples that reach the head are also counted by the storage under Prometheus's names
//! (`prometheus_tsdb_head_samples_appended_total`, `prometheus_tsdb_out_of_order_samples_total`,
//! `prometheus_tsdb_out_of_bound_samples_total`). Ember adds the receiver's own view:
//!
//! - `ember_remote_write_written_total{type="sample"|"exemplar"}`: what the
//!   `X-Prometheus-Remote-Write-*-Written` headers reported, summed.
//! - `ember_remote_write_rejected_total{reason}`: samples refused, by reason
//!   (`out_of_order`, `out_of_bounds`, `duplicate`, `native_histogram`).

use ember_storage::head::AppendError;
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// The counters the receiver updates.
pub struct ReceiverMetrics {
    pub invalid_labels: IntCounter,
    pub written_samples: IntCounter,
    pub written_exemplars: IntCounter,
    pub rejected_out_of_order: IntCounter,
    pub rejected_out_of_bounds: IntCounter,
    pub rejected_duplicate: IntCounter,
    pub rejected_histograms: IntCounter,
}

impl ReceiverMetrics {
    /// Creates the counters and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<ReceiverMetrics, prometheus::Error> {
        let invalid_labels = IntCounter::new(
            "prometheus_api_remote_write_invalid_labels_samples_total",
            "Remote-write samples and histogram samples rejected for invalid labels.",
        )?;
        let without_metadata = IntCounter::new(
            "prometheus_api_remote_write_without_metadata_appended_samples_total",
            "Remote-write samples appended without their metadata being persisted (Ember \
             keeps no metadata; always 0).",
        )?;
        let written = IntCounterVec::new(
            Opts::new(
                "ember_remote_write_written_total",
                "Remote-write samples and exemplars written, as the receiver reported them.",
            ),
            &["type"],
        )?;
        let rejected = IntCounterVec::new(
            Opts::new(
                "ember_remote_write_rejected_total",
                "Remote-write samples refused by the receiver, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(invalid_labels.clone()))?;
        registry.register(Box::new(without_metadata.clone()))?;
        registry.register(Box::new(written.clone()))?;
        registry.register(Box::new(rejected.clone()))?;
        Ok(ReceiverMetrics {
            invalid_labels,
            written_samples: written.with_label_values(&["sample"]),
            written_exemplars: written.with_label_values(&["exemplar"]),
            rejected_out_of_order: rejected.with_label_values(&["out_of_order"]),
            rejected_out_of_bounds: rejected.with_label_values(&["out_of_bounds"]),
            rejected_duplicate: rejected.with_label_values(&["duplicate"]),
            rejected_histograms: rejected.with_label_values(&["native_histogram"]),
        })
    }

    /// Counters that are not registered anywhere (when registration failed).
    pub fn unregistered() -> ReceiverMetrics {
        ReceiverMetrics::new(&Registry::new()).expect("a fresh registry accepts the metrics")
    }

    /// Counts a sample the head refused.
    pub fn rejected(&self, e: &AppendError) {
        match e {
            AppendError::OutOfOrder => self.rejected_out_of_order.inc(),
            AppendError::OutOfBounds => self.rejected_out_of_bounds.inc(),
            AppendError::Duplicate { .. } => self.rejected_duplicate.inc(),
            _ => {}
        }
    }
}
