//! The `prometheus_sd_*` self-metrics, under Prometheus's names and labels.

use std::sync::{Arc, OnceLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Counter, CounterVec, GaugeVec, IntCounter, IntGauge, Opts, Registry};

/// The metrics of one manager (`name` label `scrape` or `notify`).
pub(crate) struct ManagerMetrics {
    pub failed_configs: IntGauge,
    pub discovered_targets: GaugeVec,
    pub received_updates: IntCounter,
    pub delayed_updates: IntCounter,
    pub sent_updates: IntCounter,
    pub last_update: GaugeVec,
}

impl ManagerMetrics {
    pub(crate) fn register(name: &str, registry: &Registry) -> Result<ManagerMetrics, String> {
        let opts = |n: &str, h: &str| Opts::new(n, h).const_label("name", name);
        let err =
            |e: prometheus::Error| format!("failed to register discovery manager metrics: {e}");
        let m = ManagerMetrics {
            failed_configs: IntGauge::with_opts(opts(
                "prometheus_sd_failed_configs",
                "Current number of service discovery configurations that failed to load.",
            ))
            .map_err(err)?,
            discovered_targets: GaugeVec::new(
                opts(
                    "prometheus_sd_discovered_targets",
                    "Current number of discovered targets.",
                ),
                &["config"],
            )
            .map_err(err)?,
            received_updates: IntCounter::with_opts(opts(
                "prometheus_sd_received_updates_total",
                "Total number of update events received from the SD providers.",
            ))
            .map_err(err)?,
            delayed_updates: IntCounter::with_opts(opts(
                "prometheus_sd_updates_delayed_total",
                "Total number of update events that couldn't be sent immediately.",
            ))
            .map_err(err)?,
            sent_updates: IntCounter::with_opts(opts(
                "prometheus_sd_updates_total",
                "Total number of update events sent to the SD consumers.",
            ))
            .map_err(err)?,
            last_update: GaugeVec::new(
                opts(
                    "prometheus_sd_last_update_timestamp_seconds",
                    "Timestamp of the last update sent to the SD consumers.",
                ),
                &["config"],
            )
            .map_err(err)?,
        };
        let collectors: [Box<dyn Collector>; 6] = [
            Box::new(m.failed_configs.clone()),
            Box::new(m.discovered_targets.clone()),
            Box::new(m.received_updates.clone()),
            Box::new(m.delayed_updates.clone()),
            Box::new(m.sent_updates.clone()),
            Box::new(m.last_update.clone()),
        ];
        for c in collectors {
            registry.register(c).map_err(err)?;
        }
        Ok(m)
    }
}

/// The mechanisms' metrics, shared by all managers of the process as in Prometheus
/// (registered with each registry a manager is created with, once).
pub(crate) struct MechanismMetrics {
    pub file_read_errors: IntCounter,
    pub file_scan_duration: SummaryNoQuantiles,
    pub file_watcher_errors: IntCounter,
    pub file_mtime: GaugeVec,
    pub http_failures: IntCounter,
    pub dns_lookups: IntCounter,
    pub dns_lookup_failures: IntCounter,
    pub refresh_failures: CounterVec,
}

impl MechanismMetrics {
    /// The process's instance, registered with `registry` unless it already is.
    pub(crate) fn shared(registry: &Registry) -> Arc<MechanismMetrics> {
        static ALL: OnceLock<Arc<MechanismMetrics>> = OnceLock::new();
        let m = ALL
            .get_or_init(|| Arc::new(MechanismMetrics::new()))
            .clone();
        let collectors: [Box<dyn Collector>; 8] = [
            Box::new(m.file_read_errors.clone()),
            Box::new(m.file_scan_duration.clone()),
            Box::new(m.file_watcher_errors.clone()),
            Box::new(m.file_mtime.clone()),
            Box::new(m.http_failures.clone()),
            Box::new(m.dns_lookups.clone()),
            Box::new(m.dns_lookup_failures.clone()),
            Box::new(m.refresh_failures.clone()),
        ];
        for c in collectors {
            // AlreadyReg when a second manager shares the registry: fine.
            let _ = registry.register(c);
        }
        m
    }

    fn new() -> MechanismMetrics {
        let counter = |n: &str, h: &str| {
            IntCounter::new(n, h).unwrap_or_else(|_| unreachable!("valid metric name {n}"))
        };
        MechanismMetrics {
            file_read_errors: counter(
                "prometheus_sd_file_read_errors_total",
                "The number of File-SD read errors.",
            ),
            file_scan_duration: SummaryNoQuantiles::new(
                "prometheus_sd_file_scan_duration_seconds",
                "The duration of the File-SD scan in seconds.",
            ),
            file_watcher_errors: counter(
                "prometheus_sd_file_watcher_errors_total",
                "The number of File-SD errors caused by filesystem watch failures.",
            ),
            file_mtime: GaugeVec::new(
                Opts::new(
                    "prometheus_sd_file_mtime_seconds",
                    "Timestamp (mtime) of files read by FileSD. Timestamp is set at read time.",
                ),
                &["filename"],
            )
            .unwrap_or_else(|_| unreachable!("valid metric")),
            http_failures: counter(
                "prometheus_sd_http_failures_total",
                "Number of HTTP service discovery refresh failures.",
            ),
            dns_lookups: counter(
                "prometheus_sd_dns_lookups_total",
                "The number of DNS-SD lookups.",
            ),
            dns_lookup_failures: counter(
                "prometheus_sd_dns_lookup_failures_total",
                "The number of DNS-SD lookup failures.",
            ),
            refresh_failures: CounterVec::new(
                Opts::new(
                    "prometheus_sd_refresh_failures_total",
                    "Number of refresh failures for the given SD mechanism.",
                ),
                &["mechanism", "config"],
            )
            .unwrap_or_else(|_| unreachable!("valid metric")),
        }
    }
}

/// A summary with `_sum` and `_count` only: Prometheus exposes the file scan duration
/// as a summary, and the `prometheus` crate has none. (Quantiles are left out.)
#[derive(Clone)]
pub(crate) struct SummaryNoQuantiles {
    desc: Arc<Desc>,
    sum: Counter,
    count: IntCounter,
}

impl SummaryNoQuantiles {
    fn new(name: &str, help: &str) -> SummaryNoQuantiles {
        SummaryNoQuantiles {
            desc: Arc::new(
                Desc::new(name.into(), help.into(), vec![], Default::default())
                    .unwrap_or_else(|_| unreachable!("valid metric")),
            ),
            sum: Counter::new("sum", "sum").unwrap_or_else(|_| unreachable!("valid metric")),
            count: IntCounter::new("count", "count")
                .unwrap_or_else(|_| unreachable!("valid metric")),
        }
    }

    pub(crate) fn observe(&self, v: f64) {
        self.sum.inc_by(v);
        self.count.inc();
    }
}

impl Collector for SummaryNoQuantiles {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut s = prometheus::proto::Summary::default();
        s.set_sample_sum(self.sum.get());
        s.set_sample_count(self.count.get());
        let mut m = prometheus::proto::Metric::default();
        m.set_summary(s);
        let mut f = MetricFamily::default();
        f.set_name(self.desc.fq_name.clone());
        f.set_help(self.desc.help.clone());
        f.set_field_type(prometheus::proto::MetricType::SUMMARY);
        f.mut_metric().push(m);
        vec![f]
    }
}
