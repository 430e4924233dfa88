//! Ember's self-monitoring metrics, served at `/metrics`.
//!
//! One [`prometheus::Registry`] holds everything: the process collector (`process_*`),
//! the metrics registered here under Prometheus's names, the HTTP metrics
//! ([`crate::api::instrument`]), and whatever the storage registers (`prometheus_tsdb_*`)
//! when it opens. Prometheus's own dashboards and alerts therefore work on Ember.

use prometheus::{Gauge, IntGauge, IntGaugeVec, Opts, Registry};

use crate::build_info::BUILD;

/// The daemon's own metrics.
pub struct SelfMetrics {
    pub registry: Registry,
    /// `prometheus_ready`: 1 once start-up has finished, 0 before and while stopping.
    pub ready: IntGauge,
    /// `prometheus_config_last_reload_successful`.
    pub config_reload_successful: IntGauge,
    /// `prometheus_config_last_reload_success_timestamp_seconds`.
    pub config_reload_success_time: Gauge,
}

impl SelfMetrics {
    /// Creates the registry with the process collector and the daemon's metrics.
    pub fn new() -> Result<SelfMetrics, prometheus::Error> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let build_info = IntGaugeVec::new(
            Opts::new(
                "prometheus_build_info",
                "Always 1, labelled with the version, revision and branch Ember was built \
                 from, the compiler (goversion), and the target OS and architecture.",
            ),
            &[
                "branch",
                "goarch",
                "goos",
                "goversion",
                "revision",
                "tags",
                "version",
            ],
        )?;
        build_info
            .with_label_values(&[
                BUILD.branch,
                BUILD.arch,
                BUILD.os,
                BUILD.rustc,
                BUILD.revision,
                "",
                BUILD.version,
            ])
            .set(1);
        registry.register(Box::new(build_info))?;

        let ready = IntGauge::new(
            "prometheus_ready",
            "1 when start-up has finished and the server serves normally, else 0.",
        )?;
        registry.register(Box::new(ready.clone()))?;
        let config_reload_successful = IntGauge::new(
            "prometheus_config_last_reload_successful",
            "1 if the last configuration load succeeded, else 0.",
        )?;
        registry.register(Box::new(config_reload_successful.clone()))?;
        let config_reload_success_time = Gauge::new(
            "prometheus_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.",
        )?;
        registry.register(Box::new(config_reload_success_time.clone()))?;

        Ok(SelfMetrics {
            registry,
            ready,
            config_reload_successful,
            config_reload_success_time,
        })
    }

    /// Records the outcome of a configuration load.
    pub fn config_loaded(&self, success: bool) {
        self.config_reload_successful.set(i64::from(success));
        if success {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            self.config_reload_success_time.set(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family<'a>(
        families: &'a [prometheus::proto::MetricFamily],
        name: &str,
    ) -> Option<&'a prometheus::proto::MetricFamily> {
        families.iter().find(|f| f.name() == name)
    }

    #[test]
    fn registry_has_process_build_and_lifecycle_metrics() {
        let m = SelfMetrics::new().unwrap();
        let families = m.registry.gather();
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
            "prometheus_ready",
            "prometheus_config_last_reload_successful",
            "prometheus_config_last_reload_success_timestamp_seconds",
        ] {
            assert!(family(&families, name).is_some(), "{name} missing");
        }
        let info = family(&families, "prometheus_build_info").unwrap();
        let metric = &info.get_metric()[0];
        assert_eq!(metric.get_gauge().value(), 1.0);
        let labels: Vec<(&str, &str)> = metric
            .get_label()
            .iter()
            .map(|l| (l.name(), l.value()))
            .collect();
        assert!(labels.contains(&("version", env!("CARGO_PKG_VERSION"))));
        assert!(labels.contains(&("goos", std::env::consts::OS)));
    }

    #[test]
    fn config_load_outcome_is_recorded() {
        let m = SelfMetrics::new().unwrap();
        m.config_loaded(true);
        assert_eq!(m.config_reload_successful.get(), 1);
        let first = m.config_reload_success_time.get();
        assert!(first > 1.6e9);
        m.config_loaded(false);
        assert_eq!(m.config_reload_successful.get(), 0);
        // A failure keeps the time of the last success.
        assert_eq!(m.config_reload_success_time.get(), first);
    }
}
