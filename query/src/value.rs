//! Values: what a query returns, and what the evaluator passes between nodes.
//!
//! Results ([`Value`]) are Prometheus's: a scalar, a string, an instant vector (one sample
//! per series) or a matrix (many points per series).
//!
//! Inside the evaluator every expression is evaluated once for all steps of the query
//! ([`Steps`]), series by series: an instant-vector expression becomes a list of
//! [`Series`] whose points sit at (a subset of) the step timestamps, a scalar becomes one
//! value per step, and a range vector ([`RangeValue`]) keeps the raw samples of each series
//! together with the window each step looks at. An instant query is the one-step case.
//! Native histograms will add a histogram point list beside `floats`.

use ember_storage::Labels;

/// A float point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FPoint {
    pub t: i64,
    pub f: f64,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub metric: Labels,
    pub t: i64,
    pub f: f64,
}

/// A series with points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub metric: Labels,
    pub floats: Vec<FPoint>,
    /// The metric name is to be removed from `metric` when the query result is finished
    /// (Prometheus 3's delayed name removal: an operation that changes a series' meaning
    /// marks it instead of dropping `__name__` at once, so later label functions can still
    /// see it).
    pub drop_name: bool,
}

impl Series {
    pub fn new(metric: Labels, floats: Vec<FPoint>) -> Series {
        Series {
            metric,
            floats,
            drop_name: false,
        }
    }
}

pub type Vector = Vec<Sample>;
pub type Matrix = Vec<Series>;

/// A query's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vector),
    Matrix(Matrix),
}

impl Value {
    /// Prometheus's name for the type (`scalar`, `string`, `vector`, `matrix`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// The evaluation steps of a query: `start`, `start + interval`, ..., up to `end`
/// inclusive. An instant query has one step (`start == end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    pub start: i64,
    pub end: i64,
    /// Milliseconds between steps; at least 1.
    pub interval: i64,
}

impl Steps {
    pub fn instant(t: i64) -> Steps {
        Steps {
            start: t,
            end: t,
            interval: 1,
        }
    }

    pub fn range(start: i64, end: i64, interval: i64) -> Steps {
        Steps {
            start,
            end: end.max(start),
            interval: interval.max(1),
        }
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        ((self.end - self.start) / self.interval) as usize + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Timestamp of step `i`.
    #[inline]
    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    /// The step at timestamp `t`, if `t` is one.
    #[inline]
    pub fn index(&self, t: i64) -> Option<usize> {
        if t < self.start || t > self.end || (t - self.start) % self.interval != 0 {
            return None;
        }
        Some(((t - self.start) / self.interval) as usize)
    }

    /// The step timestamps in order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.ts(i))
    }

    /// Whether this is a range query (more than one possible step). As in Prometheus, a
    /// range query whose start equals its end still counts as an instant evaluation.
    pub fn is_range(&self) -> bool {
        self.start != self.end
    }
}

/// A range vector: the raw samples of each selected series (staleness markers removed)
/// and, per step, the end of the window that step looks at. A step's window is
/// `(window_ends[i] - range, window_ends[i]]`: left-open, as in Prometheus 3.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeValue {
    pub series: Vec<Series>,
    pub range: i64,
    /// One per step (the step timestamp moved by `offset` and `@`).
    pub window_ends: Vec<i64>,
}

impl RangeValue {
    /// The samples of `points` inside step `i`'s window.
    pub fn window<'a>(&self, points: &'a [FPoint], i: usize) -> &'a [FPoint] {
        let end = self.window_ends[i];
        let start = end - self.range;
        let lo = points.partition_point(|p| p.t <= start);
        let hi = points.partition_point(|p| p.t <= end);
        &points[lo..hi.max(lo)]
    }
}

/// An expression's value over all steps, as the evaluator passes it between nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum StepValue {
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
    /// An instant vector at every step.
    Vector(Vec<Series>),
    /// A range vector (from a matrix selector or a subquery).
    Range(RangeValue),
}

impl StepValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            StepValue::Scalar(_) => "scalar",
            StepValue::String(_) => "string",
            StepValue::Vector(_) => "vector",
            StepValue::Range(_) => "matrix",
        }
    }
}

/// Removes the metric name from `s`: at once, or with delayed name removal by marking it
/// for removal when the query result is finished.
pub fn drop_metric_name(s: &mut Series, delayed: bool) {
    if delayed {
        s.drop_name = true;
    } else if s.metric.get(ember_storage::labels::METRIC_NAME).is_some() {
        let mut b = s.metric.builder();
        b.del(ember_storage::labels::METRIC_NAME);
        s.metric = b.labels();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let s = Steps::range(0, 100, 30);
        assert_eq!(s.len(), 4);
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 30, 60, 90]);
        assert_eq!(s.index(60), Some(2));
        assert_eq!(s.index(61), None);
        assert_eq!(s.index(120), None);
        assert_eq!(Steps::instant(5).len(), 1);
        assert!(!Steps::instant(5).is_range());
    }

    #[test]
    fn windows_are_left_open() {
        let pts: Vec<FPoint> = (0..10)
            .map(|i| FPoint {
                t: i * 10,
                f: i as f64,
            })
            .collect();
        let r = RangeValue {
            series: vec![],
            range: 30,
            window_ends: vec![50, 5, 1000],
        };
        let w: Vec<i64> = r.window(&pts, 0).iter().map(|p| p.t).collect();
        assert_eq!(w, [30, 40, 50]);
        assert_eq!(r.window(&pts, 1).len(), 1);
        assert!(r.window(&pts, 2).is_empty());
    }
}
