//! Aggregations of each window's samples: `avg_over_time`, `sum_over_time`,
//! `min_over_time`, `max_over_time`, `count_over_time`, `quantile_over_time`,
//! `stddev_over_time`, `stdvar_over_time`, `mad_over_time`, `last_over_time`,
//! `first_over_time`, `present_over_time`, `ts_of_{min,max,first,last}_over_time`, and
//! `absent_over_time`.
//!
//! The numerics are Prometheus's: sums use Kahan–Neumaier compensation; the average sums
//! directly and switches to an incremental mean only once the sum would overflow; the
//! variance is Welford's with compensated accumulators. `min`/`max` skip NaN unless every
//! sample is NaN. `last_over_time` and `first_over_time` keep the metric name (they act
//! like a selector with an offset); every other function drops it.

use std::collections::VecDeque;

use crate::error::QueryError;
use crate::value::{FPoint, RangeValue, Series};

use super::labels::labels_from_selector;
use super::numeric::{kahan_inc, quantile};
use super::window::{eval_windows, Simple, Window, WindowFn, Windows};
use super::{at, FnCtx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Avg,
    Sum,
    Min,
    Max,
    Count,
    Quantile,
    Stddev,
    Stdvar,
    Mad,
    Last,
    First,
    Present,
    TsOfMin,
    TsOfMax,
    TsOfFirst,
    TsOfLast,
}

impl Kind {
    /// The kinds called with the range vector as their only argument.
    pub(super) fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "avg_over_time" => Kind::Avg,
            "sum_over_time" => Kind::Sum,
            "min_over_time" => Kind::Min,
            "max_over_time" => Kind::Max,
            "count_over_time" => Kind::Count,
            "stddev_over_time" => Kind::Stddev,
            "stdvar_over_time" => Kind::Stdvar,
            "mad_over_time" => Kind::Mad,
            "last_over_time" => Kind::Last,
            "first_over_time" => Kind::First,
            "present_over_time" => Kind::Present,
            "ts_of_min_over_time" => Kind::TsOfMin,
            "ts_of_max_over_time" => Kind::TsOfMax,
            "ts_of_first_over_time" => Kind::TsOfFirst,
            "ts_of_last_over_time" => Kind::TsOfLast,
            _ => return None,
        })
    }
}

/// Evaluates `kind` over `rv`; `q` is `quantile_over_time`'s per-step quantile.
pub(super) fn eval(
    kind: Kind,
    rv: RangeValue,
    q: Option<Vec<f64>>,
    ctx: &mut FnCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let keeps_name = matches!(kind, Kind::Last | Kind::First);
    let mut buf: Vec<f64> = Vec::new();
    let run = |rv: RangeValue, ctx: &mut FnCtx<'_>, f: fn(&[FPoint]) -> f64| {
        eval_windows(
            rv,
            keeps_name,
            ctx,
            &mut Simple(|w: &[FPoint], _| Some(f(w))),
        )
    };
    match kind {
        Kind::Avg => run(rv, ctx, avg),
        Kind::Sum => run(rv, ctx, sum),
        Kind::Min | Kind::Max => {
            let mut f = SlidingExtreme {
                max: kind == Kind::Max,
                deque: VecDeque::new(),
                next: 0,
                last_lo: 0,
            };
            eval_windows(rv, false, ctx, &mut f)
        }
        Kind::TsOfMin => run(rv, ctx, |w| secs(extreme(w, |cur, best| cur <= best).t)),
        Kind::TsOfMax => run(rv, ctx, |w| secs(extreme(w, |cur, best| cur >= best).t)),
        Kind::Count => run(rv, ctx, |w| w.len() as f64),
        Kind::Stdvar => run(rv, ctx, variance),
        Kind::Stddev => run(rv, ctx, |w| variance(w).sqrt()),
        Kind::Last => run(rv, ctx, |w| w[w.len() - 1].f),
        Kind::First => run(rv, ctx, |w| w[0].f),
        Kind::Present => run(rv, ctx, |_| 1.0),
        Kind::TsOfFirst => run(rv, ctx, |w| secs(w[0].t)),
        Kind::TsOfLast => run(rv, ctx, |w| secs(w[w.len() - 1].t)),
        Kind::Mad => eval_windows(
            rv,
            false,
            ctx,
            &mut Simple(|w: &[FPoint], _| Some(median_absolute_deviation(w, &mut buf))),
        ),
        Kind::Quantile => {
            let q = q.unwrap_or_default();
            let mut invalid: Vec<f64> = Vec::new();
            let out = eval_windows(
                rv,
                false,
                ctx,
                &mut Simple(|w: &[FPoint], win: Window| {
                    let q = at(&q, win.step);
                    if (q.is_nan() || !(0.0..=1.0).contains(&q))
                        && !invalid.iter().any(|v| v.to_bits() == q.to_bits())
                    {
                        invalid.push(q);
                    }
                    buf.clear();
                    buf.extend(w.iter().map(|p| p.f));
                    Some(quantile(q, &mut buf))
                }),
            )?;
            let pos = ctx.arg_pos(0);
            for q in invalid {
                ctx.annotations.invalid_quantile(q, pos);
            }
            Ok(out)
        }
    }
}

fn secs(t: i64) -> f64 {
    t as f64 / 1000.0
}

/// The sample chosen by `better(candidate, best)`, starting from the first one; a NaN best
/// is always replaced, so NaN only wins when every sample is NaN.
fn extreme(w: &[FPoint], better: impl Fn(f64, f64) -> bool) -> FPoint {
    let mut best = w[0];
    for p in w {
        if better(p.f, best.f) || best.f.is_nan() {
            best = *p;
        }
    }
    best
}

/// `max_over_time` / `min_over_time` in O(1) amortised per step, whatever the window's
/// length: a deque holds the indices of the window's non-NaN samples that could still
/// become the extreme, their values monotonic from the front (the extreme) to the back. A
/// new sample removes the back entries it beats (strictly, so the first of equal values
/// stays in front, as the scan in [`extreme`] keeps it); samples leaving the window leave
/// the front. The result is [`extreme`]'s, bit for bit (equal values can differ in sign
/// of zero): NaN only when the window holds nothing else.
struct SlidingExtreme {
    max: bool,
    deque: VecDeque<u32>,
    /// The next sample index to enter the deque.
    next: usize,
    last_lo: usize,
}

impl WindowFn for SlidingExtreme {
    fn begin(&mut self, _points: &[FPoint]) {
        self.deque.clear();
        self.next = 0;
        self.last_lo = 0;
    }

    fn eval(&mut self, points: &[FPoint], w: Window) -> Result<Option<f64>, QueryError> {
        if w.lo < self.last_lo || w.hi < self.next {
            // The window moved backwards: start again from its beginning.
            self.deque.clear();
            self.next = w.lo;
        }
        self.last_lo = w.lo;
        self.next = self.next.max(w.lo);
        while self.next < w.hi {
            let v = points[self.next].f;
            if !v.is_nan() {
                while let Some(&b) = self.deque.back() {
                    let bv = points[b as usize].f;
                    if (self.max && bv < v) || (!self.max && bv > v) {
                        self.deque.pop_back();
                    } else {
                        break;
                    }
                }
                self.deque.push_back(self.next as u32);
            }
            self.next += 1;
        }
        while self.deque.front().is_some_and(|&f| (f as usize) < w.lo) {
            self.deque.pop_front();
        }
        Ok(Some(match self.deque.front() {
            Some(&i) => points[i as usize].f,
            // Only NaN: the scan ends on the last one.
            None => points[w.hi - 1].f,
        }))
    }
}

/// The mean: a compensated direct sum divided by the count, unless the sum overflows, from
/// which point on the mean is updated incrementally (`mean·(n-1)/n + v/n`).
fn avg(w: &[FPoint]) -> f64 {
    let (mut sum, mut count) = (w[0].f, 1.0);
    let (mut mean, mut c) = (0.0, 0.0);
    let mut incremental = false;
    for (i, p) in w.iter().enumerate().skip(1) {
        count = (i + 1) as f64;
        if !incremental {
            let (new_sum, new_c) = kahan_inc(p.f, sum, c);
            if !new_sum.is_infinite() {
                (sum, c) = (new_sum, new_c);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(p.f / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// The compensated sum; an infinite sum is returned as is.
fn sum(w: &[FPoint]) -> f64 {
    let (mut sum, mut c) = (0.0, 0.0);
    for p in w {
        (sum, c) = kahan_inc(p.f, sum, c);
    }
    if sum.is_infinite() {
        sum
    } else {
        sum + c
    }
}

/// The population variance, by Welford's method with compensated accumulators.
fn variance(w: &[FPoint]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in w {
        count += 1.0;
        let delta = p.f - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (p.f - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// The median of the absolute deviations from the median; NaN if any sample is NaN.
fn median_absolute_deviation(w: &[FPoint], buf: &mut Vec<f64>) -> f64 {
    if w.iter().any(|p| p.f.is_nan()) {
        return f64::NAN;
    }
    buf.clear();
    buf.extend(w.iter().map(|p| p.f));
    let median = quantile(0.5, buf);
    for v in buf.iter_mut() {
        *v = (*v - median).abs();
    }
    quantile(0.5, buf)
}

/// `absent_over_time(v[r])`: 1 at every step where no series has a sample in its window,
/// as one series labelled from the selector's equality matchers; nothing if every step
/// has a sample.
pub(super) fn absent_over_time(rv: RangeValue, ctx: &mut FnCtx<'_>) -> Vec<Series> {
    let n = rv.window_ends.len();
    let mut present = vec![false; n];
    let mut missing = n;
    for s in &rv.series {
        for w in Windows::new(&s.floats, &rv.window_ends, rv.range) {
            if w.lo < w.hi && !present[w.step] {
                present[w.step] = true;
                missing -= 1;
            }
        }
        if missing == 0 {
            return Vec::new();
        }
    }
    let steps = ctx.steps;
    let floats = (0..n)
        .filter(|&i| !present[i])
        .map(|i| FPoint {
            t: steps.ts(i),
            f: 1.0,
        })
        .collect();
    let metric = ctx
        .arg_expr(0)
        .map(labels_from_selector)
        .unwrap_or_default();
    let mut s = Series::new(metric, floats);
    ctx.drop_metric_name(&mut s);
    vec![s]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(values: &[f64]) -> Vec<FPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &f)| FPoint {
                t: i as i64 * 10_000,
                f,
            })
            .collect()
    }

    #[test]
    fn avg_and_sum_follow_prometheus_numerics() {
        // Direct mean of 1..5 = 15/5 = 3.
        assert_eq!(avg(&w(&[1.0, 2.0, 3.0, 4.0, 5.0])), 3.0);
        // 1 + 1e100 + 1 - 1e100: Kahan keeps both ones: sum 2, mean 0.5.
        assert_eq!(sum(&w(&[1.0, 1e100, 1.0, -1e100])), 2.0);
        assert_eq!(avg(&w(&[1.0, 1e100, 1.0, -1e100])), 0.5);
        // Two values above f64::MAX/2: the direct sum overflows, so the mean is computed
        // incrementally: m = a, then m·½ + a/2 = a.
        let a = f64::MAX / 1.5;
        assert_eq!(avg(&w(&[a, a])), a);
        assert_eq!(sum(&w(&[a, a])), f64::INFINITY);
        assert_eq!(avg(&w(&[-a, a])), 0.0);
        // Infinities: Inf + 0 + Inf → Inf; Inf and -Inf → NaN.
        assert_eq!(avg(&w(&[f64::INFINITY, 0.0, f64::INFINITY])), f64::INFINITY);
        assert!(avg(&w(&[1.0, 2.0, 3.0, f64::INFINITY, f64::NEG_INFINITY])).is_nan());
        assert!(avg(&w(&[1.0, f64::NAN])).is_nan());
        // 52 repeated 13 times is exactly 52 (the direct sum is exact).
        assert_eq!(avg(&w(&[52.0; 13])), 52.0);
    }

    #[test]
    fn variance_of_known_set() {
        // 0 8 8 2 3: mean 4.2; squared deviations 17.64 14.44 14.44 4.84 1.44 = 52.8;
        // /5 = 10.56.
        let v = variance(&w(&[0.0, 8.0, 8.0, 2.0, 3.0]));
        assert!((v - 10.56).abs() < 1e-12);
        assert_eq!(variance(&w(&[1.5990505637277868; 3])), 0.0);
        assert_eq!(variance(&w(&[7.0])), 0.0);
    }

    #[test]
    fn extremes_skip_nan() {
        let pts = w(&[f64::NAN, 0.0, 1.0]);
        assert_eq!(extreme(&pts, |c, b| c < b).f, 0.0);
        assert_eq!(extreme(&pts, |c, b| c > b).f, 1.0);
        let pts = w(&[2.0, f64::NAN, 1.0]);
        assert_eq!(extreme(&pts, |c, b| c < b).f, 1.0);
        assert_eq!(extreme(&pts, |c, b| c > b).f, 2.0);
        assert!(extreme(&w(&[f64::NAN, f64::NAN]), |c, b| c > b).f.is_nan());
        // ts_of_max takes the last of equal maxima (>=), max keeps the first.
        let pts = w(&[1.0, 3.0, 3.0]);
        assert_eq!(extreme(&pts, |c, b| c >= b).t, 20_000);
        assert_eq!(extreme(&pts, |c, b| c > b).t, 10_000);
    }

    fn arb_values() -> impl proptest::strategy::Strategy<Value = Vec<f64>> {
        use proptest::prelude::*;
        let v = prop_oneof![
            4 => (-3i32..3).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(-0.0),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ];
        proptest::collection::vec(v, 0..40)
    }

    proptest::proptest! {
        #[test]
        fn sliding_extreme_matches_the_scan(
            values in arb_values(),
            range in 1i64..8,
            ends in proptest::collection::vec(-2i64..45, 1..30),
            sorted in proptest::bool::ANY,
        ) {
            let pts = w(&values);
            let mut ends = ends;
            if sorted {
                ends.sort_unstable();
            }
            let ends: Vec<i64> = ends.into_iter().map(|e| e * 10_000).collect();
            let range = range * 10_000;
            for max in [true, false] {
                let mut f = SlidingExtreme { max, deque: VecDeque::new(), next: 0, last_lo: 0 };
                f.begin(&pts);
                for win in Windows::new(&pts, &ends, range) {
                    if win.lo == win.hi {
                        continue;
                    }
                    let got = f.eval(&pts, win).unwrap().unwrap();
                    let slice = &pts[win.lo..win.hi];
                    let want = if max {
                        extreme(slice, |c, b| c > b).f
                    } else {
                        extreme(slice, |c, b| c < b).f
                    };
                    proptest::prop_assert!(
                        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                        "{:?} {:?} {} {}", slice, win, got, want
                    );
                }
            }
        }
    }

    #[test]
    fn mad() {
        let mut buf = Vec::new();
        // 4 6 2 1 999 1 2: median 2; deviations 2 4 0 1 997 1 0 → median 1.
        let pts = w(&[4.0, 6.0, 2.0, 1.0, 999.0, 1.0, 2.0]);
        assert_eq!(median_absolute_deviation(&pts, &mut buf), 1.0);
        assert_eq!(median_absolute_deviation(&w(&[5.0]), &mut buf), 0.0);
        assert!(median_absolute_deviation(&w(&[1.0, f64::NAN]), &mut buf).is_nan());
    }
}
