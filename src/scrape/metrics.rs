//! The scrape manager's self-metrics, under Prometheus's names (`prometheus_target_*`).
//!
//! Prometheus reports interval, sync and reload lengths as summaries; the `prometheus`
//! crate has none, so [`LabeledSummary`] is one: count and sum over all time, quantiles
//! (Prometheus's 0.01, 0.05, 0.5, 0.9, 0.99) over the last ten minutes' observations.
//! Prometheus's native-histogram twins (`*_histogram_seconds`) are left out: without
//! native histograms they would be classic histograms whose names `promtool check
//! metrics` rejects.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType, Quantile, Summary};
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

const WINDOW: Duration = Duration::from_secs(600);
const WINDOW_CAPACITY: usize = 1024;
const QUANTILES: [f64; 5] = [0.01, 0.05, 0.5, 0.9, 0.99];

/// The metrics shared by all pools and loops.
pub struct ScrapeMetrics {
    pub pools_total: IntCounter,
    pub pools_failed: IntCounter,
    pub pool_reloads: IntCounter,
    pub pool_reloads_failed: IntCounter,
    pub exceeded_target_limit: IntCounter,
    pub exceeded_label_limits: IntCounter,
    pub target_limit: IntGaugeVec,
    pub pool_targets: IntGaugeVec,
    pub pool_syncs: IntCounterVec,
    pub sync_failed: IntCounterVec,
    pub sync_length: LabeledSummary,
    pub reload_length: LabeledSummary,
    pub interval_length: LabeledSummary,
    pub exceeded_body_size_limit: IntCounter,
    pub cache_flush_forced: IntCounter,
    pub exceeded_sample_limit: IntCounter,
    pub sample_duplicate: IntCounter,
    pub sample_out_of_order: IntCounter,
    pub sample_out_of_bounds: IntCounter,
    pub scrape_duration: Histogram,
}

impl ScrapeMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<Arc<ScrapeMetrics>, prometheus::Error> {
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let by_job =
            |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), &["scrape_job"]);
        let counter_by_job =
            |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), &["scrape_job"]);
        let m = ScrapeMetrics {
            pools_total: counter(
                "prometheus_target_scrape_pools_total",
                "Total number of scrape pool creation attempts.",
            )?,
            pools_failed: counter(
                "prometheus_target_scrape_pools_failed_total",
                "Total number of scrape pool creations that failed.",
            )?,
            pool_reloads: counter(
                "prometheus_target_scrape_pool_reloads_total",
                "Total number of scrape pool reloads.",
            )?,
            pool_reloads_failed: counter(
                "prometheus_target_scrape_pool_reloads_failed_total",
                "Total number of failed scrape pool reloads.",
            )?,
            exceeded_target_limit: counter(
                "prometheus_target_scrape_pool_exceeded_target_limit_total",
                "Total number of times scrape pools hit the target limit, during sync or config reload.",
            )?,
            exceeded_label_limits: counter(
                "prometheus_target_scrape_pool_exceeded_label_limits_total",
                "Total number of times scrape pools hit the label limits, during sync or config reload.",
            )?,
            target_limit: by_job(
                "prometheus_target_scrape_pool_target_limit",
                "Maximum number of targets allowed in this scrape pool.",
            )?,
            pool_targets: by_job(
                "prometheus_target_scrape_pool_targets",
                "Current number of targets in this scrape pool.",
            )?,
            pool_syncs: counter_by_job(
                "prometheus_target_scrape_pool_sync_total",
                "Total number of syncs that were executed on a scrape pool.",
            )?,
            sync_failed: counter_by_job(
                "prometheus_target_sync_failed_total",
                "Total number of target sync failures.",
            )?,
            sync_length: LabeledSummary::new(
                "prometheus_target_sync_length_seconds",
                "Actual interval to sync the scrape pool.",
                "scrape_job",
            )?,
            reload_length: LabeledSummary::new(
                "prometheus_target_reload_length_seconds",
                "Actual interval to reload the scrape pool with a given configuration.",
                "interval",
            )?,
            interval_length: LabeledSummary::new(
                "prometheus_target_interval_length_seconds",
                "Actual intervals between scrapes.",
                "interval",
            )?,
            exceeded_body_size_limit: counter(
                "prometheus_target_scrapes_exceeded_body_size_limit_total",
                "Total number of scrapes that hit the body size limit",
            )?,
            cache_flush_forced: counter(
                "prometheus_target_scrapes_cache_flush_forced_total",
                "How many times a scrape cache was flushed due to getting big while scrapes are failing.",
            )?,
            exceeded_sample_limit: counter(
                "prometheus_target_scrapes_exceeded_sample_limit_total",
                "Total number of scrapes that hit the sample limit and were rejected.",
            )?,
            sample_duplicate: counter(
                "prometheus_target_scrapes_sample_duplicate_timestamp_total",
                "Total number of samples rejected due to duplicate timestamps but different values.",
            )?,
            sample_out_of_order: counter(
                "prometheus_target_scrapes_sample_out_of_order_total",
                "Total number of samples rejected due to not being out of the expected order.",
            )?,
            sample_out_of_bounds: counter(
                "prometheus_target_scrapes_sample_out_of_bounds_total",
                "Total number of samples rejected due to timestamp falling outside of the time bounds.",
            )?,
            scrape_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "prometheus_target_scrape_duration_seconds",
                    "Total duration of the scrape from start to commit completion in seconds.",
                )
                .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
            )?,
        };
        registry.register(Box::new(m.pools_total.clone()))?;
        registry.register(Box::new(m.pools_failed.clone()))?;
        registry.register(Box::new(m.pool_reloads.clone()))?;
        registry.register(Box::new(m.pool_reloads_failed.clone()))?;
        registry.register(Box::new(m.exceeded_target_limit.clone()))?;
        registry.register(Box::new(m.exceeded_label_limits.clone()))?;
        registry.register(Box::new(m.target_limit.clone()))?;
        registry.register(Box::new(m.pool_targets.clone()))?;
        registry.register(Box::new(m.pool_syncs.clone()))?;
        registry.register(Box::new(m.sync_failed.clone()))?;
        registry.register(Box::new(m.sync_length.clone()))?;
        registry.register(Box::new(m.reload_length.clone()))?;
        registry.register(Box::new(m.interval_length.clone()))?;
        registry.register(Box::new(m.exceeded_body_size_limit.clone()))?;
        registry.register(Box::new(m.cache_flush_forced.clone()))?;
        registry.register(Box::new(m.exceeded_sample_limit.clone()))?;
        registry.register(Box::new(m.sample_duplicate.clone()))?;
        registry.register(Box::new(m.sample_out_of_order.clone()))?;
        registry.register(Box::new(m.sample_out_of_bounds.clone()))?;
        registry.register(Box::new(m.scrape_duration.clone()))?;
        Ok(Arc::new(m))
    }

    /// Forgets a removed pool's per-job series.
    pub fn remove_job(&self, job: &str) {
        let _ = self.target_limit.remove_label_values(&[job]);
        let _ = self.pool_targets.remove_label_values(&[job]);
        let _ = self.pool_syncs.remove_label_values(&[job]);
        let _ = self.sync_failed.remove_label_values(&[job]);
        self.sync_length.remove(job);
    }
}

/// A summary with one label whose values appear as observed.
#[derive(Clone)]
pub struct LabeledSummary {
    inner: Arc<SummaryInner>,
}

struct SummaryInner {
    desc: Desc,
    label: String,
    series: Mutex<BTreeMap<String, SeriesState>>,
}

#[derive(Default)]
struct SeriesState {
    count: u64,
    sum: f64,
    window: VecDeque<(Instant, f64)>,
}

impl LabeledSummary {
    pub fn new(name: &str, help: &str, label: &str) -> Result<LabeledSummary, prometheus::Error> {
        let desc = Desc::new(
            name.to_string(),
            help.to_string(),
            vec![label.to_string()],
            HashMap::new(),
        )?;
        Ok(LabeledSummary {
            inner: Arc::new(SummaryInner {
                desc,
                label: label.to_string(),
                series: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    pub fn observe(&self, label_value: &str, v: f64) {
        let now = Instant::now();
        let mut series = self.inner.series.lock();
        let s = match series.get_mut(label_value) {
            Some(s) => s,
            None => series.entry(label_value.to_string()).or_default(),
        };
        s.count += 1;
        s.sum += v;
        if s.window.len() == WINDOW_CAPACITY {
            s.window.pop_front();
        }
        s.window.push_back((now, v));
    }

    pub fn remove(&self, label_value: &str) {
        self.inner.series.lock().remove(label_value);
    }
}

impl Collector for LabeledSummary {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.inner.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let now = Instant::now();
        let mut family = MetricFamily::default();
        family.set_name(self.inner.desc.fq_name.clone());
        family.set_help(self.inner.desc.help.clone());
        family.set_field_type(MetricType::SUMMARY);
        let mut series = self.inner.series.lock();
        for (value, s) in series.iter_mut() {
            while s
                .window
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
            {
                s.window.pop_front();
            }
            let mut values: Vec<f64> = s.window.iter().map(|(_, v)| *v).collect();
            values.sort_by(f64::total_cmp);
            let mut summary = Summary::default();
            summary.set_sample_count(s.count);
            summary.set_sample_sum(s.sum);
            summary.set_quantile(
                QUANTILES
                    .iter()
                    .map(|&q| {
                        let mut quantile = Quantile::default();
                        quantile.set_quantile(q);
                        quantile.set_value(if values.is_empty() {
                            f64::NAN
                        } else {
                            let rank = (q * values.len() as f64).ceil() as usize;
                            values[rank.clamp(1, values.len()) - 1]
                        });
                        quantile
                    })
                    .collect(),
            );
            let mut label = LabelPair::default();
            label.set_name(self.inner.label.clone());
            label.set_value(value.clone());
            let mut metric = Metric::default();
            metric.set_label(vec![label]);
            metric.set_summary(summary);
            family.mut_metric().push(metric);
        }
        vec![family]
    }
}
