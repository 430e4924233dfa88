//! Small metric types the `prometheus` crate lacks, shared by the storage engine.
//!
//! Prometheus exposes some of its own metrics as summaries (for example
//! `prometheus_tsdb_wal_fsync_duration_seconds`) and some as gauges computed at scrape time
//! (`prometheus_tsdb_wal_storage_size_bytes`). The `prometheus` crate has neither a summary
//! nor a function-backed gauge, so this module provides both as [`prometheus::core::Collector`]s:
//!
//! - [`Summary`]: counts observations and sums them, exposed with type `summary` as
//!   `<name>_sum` and `<name>_count`. It keeps no quantiles (Prometheus's own summaries do;
//!   dashboards built on `rate(x_sum) / rate(x_count)` work unchanged).
//! - [`GaugeFn`]: a gauge whose value is computed by a closure at every scrape.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use prometheus::core::{Collector, Desc};
use prometheus::proto;

/// A summary without quantiles: a count of observations and their sum. Cheap to clone
/// (clones share the same values) and lock-free to observe.
#[derive(Clone)]
pub struct Summary {
    inner: Arc<SummaryInner>,
}

struct SummaryInner {
    desc: Desc,
    count: AtomicU64,
    /// The sum as `f64` bits, updated with a compare-and-swap loop.
    sum_bits: AtomicU64,
}

impl Summary {
    /// A summary named `name` with help text `help`. Fails on an invalid metric name.
    pub fn new(name: &str, help: &str) -> prometheus::Result<Summary> {
        let desc = Desc::new(
            name.to_string(),
            help.to_string(),
            vec![],
            Default::default(),
        )?;
        Ok(Summary {
            inner: Arc::new(SummaryInner {
                desc,
                count: AtomicU64::new(0),
                sum_bits: AtomicU64::new(0f64.to_bits()),
            }),
        })
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let sum = &self.inner.sum_bits;
        let mut old = sum.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + v).to_bits();
            match sum.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(current) => old = current,
            }
        }
        self.inner.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Number of observations so far.
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.inner.sum_bits.load(Ordering::Relaxed))
    }
}

impl Collector for Summary {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.inner.desc]
    }

    fn collect(&self) -> Vec<proto::MetricFamily> {
        let mut s = proto::Summary::default();
        s.set_sample_count(self.count());
        s.set_sample_sum(self.sum());
        let mut m = proto::Metric::default();
        m.set_summary(s);
        vec![family(&self.inner.desc, proto::MetricType::SUMMARY, m)]
    }
}

type ValueFn = Box<dyn Fn() -> f64 + Send + Sync>;

/// A gauge whose value is computed when it is collected. The closure can be replaced
/// after registration ([`GaugeFn::set_fn`]), so the metric can be registered before the
/// thing it measures exists; until then it reads 0.
#[derive(Clone)]
pub struct GaugeFn {
    inner: Arc<GaugeFnInner>,
}

struct GaugeFnInner {
    desc: Desc,
    value: Mutex<Option<ValueFn>>,
}

impl GaugeFn {
    /// A gauge named `name` with help text `help`, reading 0 until [`GaugeFn::set_fn`].
    pub fn new(name: &str, help: &str) -> prometheus::Result<GaugeFn> {
        let desc = Desc::new(
            name.to_string(),
            help.to_string(),
            vec![],
            Default::default(),
        )?;
        Ok(GaugeFn {
            inner: Arc::new(GaugeFnInner {
                desc,
                value: Mutex::new(None),
            }),
        })
    }

    /// Sets the closure computing the value.
    pub fn set_fn(&self, f: impl Fn() -> f64 + Send + Sync + 'static) {
        *self.inner.value.lock() = Some(Box::new(f));
    }

    /// The current value (0 without a closure).
    pub fn get(&self) -> f64 {
        self.inner.value.lock().as_ref().map_or(0.0, |f| f())
    }
}

impl Collector for GaugeFn {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.inner.desc]
    }

    fn collect(&self) -> Vec<proto::MetricFamily> {
        let mut g = proto::Gauge::default();
        g.set_value(self.get());
        let mut m = proto::Metric::default();
        m.set_gauge(g);
        vec![family(&self.inner.desc, proto::MetricType::GAUGE, m)]
    }
}

fn family(desc: &Desc, kind: proto::MetricType, m: proto::Metric) -> proto::MetricFamily {
    let mut f = proto::MetricFamily::default();
    f.set_name(desc.fq_name.clone());
    f.set_help(desc.help.clone());
    f.set_field_type(kind);
    f.set_metric(vec![m]);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Encoder, Registry, TextEncoder};

    fn exposition(r: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&r.gather(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn summary_exposes_sum_and_count() {
        let s = Summary::new("x_seconds", "Some help.").unwrap();
        let r = Registry::new();
        r.register(Box::new(s.clone())).unwrap();
        s.observe(0.25);
        s.observe(1.5);
        let text = exposition(&r);
        assert!(text.contains("# HELP x_seconds Some help.\n"), "{text}");
        assert!(text.contains("# TYPE x_seconds summary\n"), "{text}");
        assert!(text.contains("x_seconds_sum 1.75\n"), "{text}");
        assert!(text.contains("x_seconds_count 2\n"), "{text}");
    }

    #[test]
    fn summary_sums_concurrent_observations() {
        let s = Summary::new("y", "h").unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        s.observe(0.5);
                    }
                });
            }
        });
        assert_eq!(s.count(), 4000);
        assert_eq!(s.sum(), 2000.0);
    }

    #[test]
    fn gauge_fn_is_computed_at_collection() {
        let g = GaugeFn::new("z_bytes", "Z.").unwrap();
        let r = Registry::new();
        r.register(Box::new(g.clone())).unwrap();
        assert!(exposition(&r).contains("z_bytes 0\n"));
        let v = Arc::new(AtomicU64::new(7));
        let v2 = v.clone();
        g.set_fn(move || v2.load(Ordering::Relaxed) as f64);
        assert!(exposition(&r).contains("z_bytes 7\n"));
        v.store(9, Ordering::Relaxed);
        assert!(exposition(&r).contains("# TYPE z_bytes gauge\nz_bytes 9\n"));
    }
}
