//! The PromQL engine's metrics, under Prometheus's names:
//!
//! - `prometheus_engine_queries`: queries running or waiting for a slot;
//! - `prometheus_engine_queries_concurrent_max`: `--query.max-concurrency`;
//! - `prometheus_engine_query_duration_seconds{slice}`: a summary of the time spent in
//!   each phase (`queue_time`, `prepare_time`, `inner_eval`, `result_sort`), with the
//!   0.5, 0.9 and 0.99 quantiles;
//! - `prometheus_engine_query_samples_total`: samples loaded by all queries.
//!
//! The `prometheus` crate has no summaries, so [`QuantileSummary`] is one: a count and a
//! sum over all time, and quantiles over the observations of the last ten minutes (at
//! most [`WINDOW_CAPACITY`] of them, the newest kept), as Prometheus's summaries report
//! quantiles over a sliding ten-minute window.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType, Quantile, Summary};
use prometheus::{IntCounter, IntGauge, Registry};

use ember_query::QueryStats;

/// How long an observation counts towards the quantiles.
const WINDOW: Duration = Duration::from_secs(600);

/// The most observations kept per slice for the quantiles.
pub const WINDOW_CAPACITY: usize = 2048;

/// The quantiles reported, as Prometheus's engine summary.
const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// The engine's metrics.
pub struct EngineMetrics {
    pub queries: IntGauge,
    pub concurrent_max: IntGauge,
    pub samples: IntCounter,
    pub durations: QuantileSummary,
}

impl EngineMetrics {
    /// Creates the metrics (not registered yet: see [`EngineMetrics::register`]).
    pub fn new(max_concurrency: usize) -> EngineMetrics {
        // The names and help texts are constants that the library accepts; a failure
        // here is a programming error, caught by the tests.
        let queries = IntGauge::new(
            "prometheus_engine_queries",
            "The current number of queries being executed or waiting.",
        )
        .expect("valid metric definition");
        let concurrent_max = IntGauge::new(
            "prometheus_engine_queries_concurrent_max",
            "The max number of concurrent queries.",
        )
        .expect("valid metric definition");
        concurrent_max.set(i64::try_from(max_concurrency).unwrap_or(i64::MAX));
        let samples = IntCounter::new(
            "prometheus_engine_query_samples_total",
            "The total number of samples loaded by all queries.",
        )
        .expect("valid metric definition");
        let durations = QuantileSummary::new(
            "prometheus_engine_query_duration_seconds",
            "Query timings",
            "slice",
            &["inner_eval", "prepare_time", "queue_time", "result_sort"],
        )
        .expect("valid metric definition");
        EngineMetrics {
            queries,
            concurrent_max,
            samples,
            durations,
        }
    }

    /// Registers the metrics in `registry`.
    pub fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.queries.clone()))?;
        registry.register(Box::new(self.concurrent_max.clone()))?;
        registry.register(Box::new(self.samples.clone()))?;
        registry.register(Box::new(self.durations.clone()))?;
        Ok(())
    }

    /// Records a finished query's timings and samples.
    pub fn observe(&self, stats: &QueryStats) {
        self.durations
            .observe("queue_time", stats.exec_queue_time.as_secs_f64());
        self.durations
            .observe("prepare_time", stats.query_preparation_time.as_secs_f64());
        self.durations
            .observe("inner_eval", stats.inner_eval_time.as_secs_f64());
        self.durations
            .observe("result_sort", stats.result_sort_time.as_secs_f64());
        self.samples.inc_by(stats.total_queryable_samples);
    }
}

/// A summary with one label, whose values are fixed up front.
#[derive(Clone)]
pub struct QuantileSummary {
    inner: std::sync::Arc<SummaryInner>,
}

struct SummaryInner {
    desc: Desc,
    label: String,
    slices: Vec<(String, Mutex<SliceState>)>,
}

#[derive(Default)]
struct SliceState {
    count: u64,
    sum: f64,
    window: VecDeque<(Instant, f64)>,
}

impl QuantileSummary {
    pub fn new(
        name: &str,
        help: &str,
        label: &str,
        values: &[&str],
    ) -> Result<QuantileSummary, prometheus::Error> {
        let desc = Desc::new(
            name.to_string(),
            help.to_string(),
            vec![label.to_string()],
            HashMap::new(),
        )?;
        Ok(QuantileSummary {
            inner: std::sync::Arc::new(SummaryInner {
                desc,
                label: label.to_string(),
                slices: values
                    .iter()
                    .map(|v| (v.to_string(), Mutex::new(SliceState::default())))
                    .collect(),
            }),
        })
    }

    /// Records an observation for the label value `slice` (unknown values are ignored).
    pub fn observe(&self, slice: &str, v: f64) {
        let Some((_, state)) = self.inner.slices.iter().find(|(s, _)| s == slice) else {
            return;
        };
        let now = Instant::now();
        let mut s = state.lock();
        s.count += 1;
        s.sum += v;
        if s.window.len() == WINDOW_CAPACITY {
            s.window.pop_front();
        }
        s.window.push_back((now, v));
    }

    /// The quantiles of `slice` now: NaN when nothing was observed in the window.
    #[cfg(test)]
    pub fn quantiles(&self, slice: &str) -> Vec<(f64, f64)> {
        let Some((_, state)) = self.inner.slices.iter().find(|(s, _)| s == slice) else {
            return Vec::new();
        };
        let mut s = state.lock();
        quantiles_of(&mut s, Instant::now())
    }
}

fn quantiles_of(s: &mut SliceState, now: Instant) -> Vec<(f64, f64)> {
    while s
        .window
        .front()
        .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
    {
        s.window.pop_front();
    }
    let mut values: Vec<f64> = s.window.iter().map(|(_, v)| *v).collect();
    values.sort_by(f64::total_cmp);
    QUANTILES
        .iter()
        .map(|&q| {
            let v = if values.is_empty() {
                f64::NAN
            } else {
                // Nearest rank.
                let rank = (q * values.len() as f64).ceil() as usize;
                values[rank.clamp(1, values.len()) - 1]
            };
            (q, v)
        })
        .collect()
}

impl Collector for QuantileSummary {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.inner.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let now = Instant::now();
        let mut family = MetricFamily::default();
        family.set_name(self.inner.desc.fq_name.clone());
        family.set_help(self.inner.desc.help.clone());
        family.set_field_type(MetricType::SUMMARY);
        for (value, state) in &self.inner.slices {
            let mut s = state.lock();
            let mut summary = Summary::default();
            summary.set_sample_count(s.count);
            summary.set_sample_sum(s.sum);
            summary.set_quantile(
                quantiles_of(&mut s, now)
                    .into_iter()
                    .map(|(q, v)| {
                        let mut quantile = Quantile::default();
                        quantile.set_quantile(q);
                        quantile.set_value(v);
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

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Encoder, TextEncoder};

    #[test]
    fn summary_reports_count_sum_and_nearest_rank_quantiles() {
        let s = QuantileSummary::new("x_seconds", "help", "slice", &["a", "b"]).unwrap();
        for v in 1..=100 {
            s.observe("a", f64::from(v));
        }
        s.observe("nope", 1.0);
        assert_eq!(s.quantiles("a"), [(0.5, 50.0), (0.9, 90.0), (0.99, 99.0)]);
        let b = s.quantiles("b");
        assert!(b.iter().all(|(_, v)| v.is_nan()));

        let registry = Registry::new();
        registry.register(Box::new(s.clone())).unwrap();
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut text)
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        for line in [
            "# TYPE x_seconds summary",
            "x_seconds{slice=\"a\",quantile=\"0.5\"} 50",
            "x_seconds{slice=\"a\",quantile=\"0.99\"} 99",
            "x_seconds_sum{slice=\"a\"} 5050",
            "x_seconds_count{slice=\"a\"} 100",
            "x_seconds_count{slice=\"b\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn the_window_keeps_the_newest_observations() {
        let s = QuantileSummary::new("y", "help", "slice", &["a"]).unwrap();
        for _ in 0..WINDOW_CAPACITY {
            s.observe("a", 1000.0);
        }
        for _ in 0..WINDOW_CAPACITY {
            s.observe("a", 1.0);
        }
        assert!(s.quantiles("a").iter().all(|&(_, v)| v == 1.0));
    }

    #[test]
    fn engine_metrics_register_under_prometheus_names() {
        let registry = Registry::new();
        let m = EngineMetrics::new(20);
        m.register(&registry).unwrap();
        m.observe(&QueryStats {
            total_queryable_samples: 42,
            inner_eval_time: Duration::from_millis(3),
            ..QueryStats::default()
        });
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        for name in [
            "prometheus_engine_queries",
            "prometheus_engine_queries_concurrent_max",
            "prometheus_engine_query_duration_seconds",
            "prometheus_engine_query_samples_total",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing");
        }
        assert_eq!(m.samples.get(), 42);
        assert_eq!(m.concurrent_max.get(), 20);
        assert_eq!(m.durations.quantiles("inner_eval")[0], (0.5, 0.003));
    }
}
