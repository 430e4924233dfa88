//! Functions of how a series moves within each window: `rate`, `increase`, `delta`
//! (extrapolated), `irate`, `idelta` (last two samples), `deriv`, `predict_linear` (least
//! squares), `changes`, `resets`, and `double_exponential_smoothing`.
//!
//! `rate` and `increase` treat any decrease as a counter reset: the value before the
//! decrease is added back. Per window that is a sum over the resets inside it, so the
//! indices of all resets of a series are found once and a third cursor moves through them
//! beside the window's two: a step costs O(1 + resets in its window), never a scan of the
//! window. The corrections are still added in sample order, so the result is bit for bit
//! the one Prometheus computes. `changes` and `resets` count events with prefix sums.

use crate::error::QueryError;
use crate::value::{FPoint, RangeValue, Series};

use super::numeric::{duration_seconds, format_go_f, kahan_inc};
use super::window::{eval_windows, Simple, Window, WindowFn};
use super::{at, FnCtx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Changes,
    Resets,
    DoubleExponentialSmoothing,
}

impl Kind {
    pub(super) fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "rate" => Kind::Rate,
            "increase" => Kind::Increase,
            "delta" => Kind::Delta,
            "irate" => Kind::Irate,
            "idelta" => Kind::Idelta,
            "deriv" => Kind::Deriv,
            "predict_linear" => Kind::PredictLinear,
            "changes" => Kind::Changes,
            "resets" => Kind::Resets,
            "double_exponential_smoothing" => Kind::DoubleExponentialSmoothing,
            _ => return None,
        })
    }
}

/// Evaluates `kind` over `rv`; `params` are the scalar arguments after the range vector
/// (`predict_linear`'s duration, the smoothing and trend factors).
pub(super) fn eval(
    kind: Kind,
    rv: RangeValue,
    params: &[Vec<f64>],
    ctx: &mut FnCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let param = |i: usize| params.get(i).map_or(&[][..], Vec::as_slice);
    match kind {
        Kind::Rate | Kind::Increase | Kind::Delta => {
            let mut f = Extrapolated {
                counter: kind != Kind::Delta,
                per_second: kind == Kind::Rate,
                range_seconds: duration_seconds(rv.range),
                resets: Vec::new(),
                cursor: 0,
                last_lo: 0,
            };
            eval_windows(rv, false, ctx, &mut f)
        }
        Kind::Irate | Kind::Idelta => {
            let per_second = kind == Kind::Irate;
            eval_windows(
                rv,
                false,
                ctx,
                &mut Simple(|w: &[FPoint], _| instant_value(w, per_second)),
            )
        }
        Kind::Deriv => eval_windows(
            rv,
            false,
            ctx,
            &mut Simple(|w: &[FPoint], _| {
                // The first sample's time as the origin keeps x small (Prometheus #2674).
                (w.len() >= 2).then(|| linear_regression(w, w[0].t).0)
            }),
        ),
        Kind::PredictLinear => {
            let steps = ctx.steps;
            let duration = param(0);
            eval_windows(
                rv,
                false,
                ctx,
                &mut Simple(|w: &[FPoint], win: Window| {
                    if w.len() < 2 {
                        return None;
                    }
                    // The intercept is at the evaluation time, not at the window's end
                    // (they differ under `offset` and `@`).
                    let (slope, intercept) = linear_regression(w, steps.ts(win.step));
                    Some(slope * at(duration, win.step) + intercept)
                }),
            )
        }
        Kind::Changes | Kind::Resets => {
            let mut f = PairCounts {
                resets: kind == Kind::Resets,
                prefix: Vec::new(),
            };
            eval_windows(rv, false, ctx, &mut f)
        }
        Kind::DoubleExponentialSmoothing => {
            let mut f = Smoothing {
                smoothing: param(0),
                trend: param(1),
            };
            eval_windows(rv, false, ctx, &mut f)
        }
    }
}

/// `rate`, `increase` (counters) and `delta` (gauges): the change over the window,
/// extrapolated toward the window's edges.
struct Extrapolated {
    counter: bool,
    per_second: bool,
    range_seconds: f64,
    /// Indices `j` of the current series where `points[j] < points[j-1]` (counter resets).
    resets: Vec<u32>,
    /// The first entry of `resets` that may lie in the current window.
    cursor: usize,
    last_lo: usize,
}

impl WindowFn for Extrapolated {
    fn begin(&mut self, points: &[FPoint]) {
        self.resets.clear();
        self.cursor = 0;
        self.last_lo = 0;
        if self.counter {
            for j in 1..points.len() {
                if points[j].f < points[j - 1].f {
                    self.resets.push(j as u32);
                }
            }
        }
    }

    fn eval(&mut self, points: &[FPoint], w: Window) -> Result<Option<f64>, QueryError> {
        // A single sample gives no rate.
        if w.len() < 2 {
            return Ok(None);
        }
        let (first, last) = (points[w.lo], points[w.hi - 1]);
        let mut result = last.f - first.f;
        if self.counter {
            if w.lo < self.last_lo {
                self.cursor = 0;
            }
            self.last_lo = w.lo;
            // A reset at j lies in the window when both j-1 and j do: lo < j < hi.
            while self.cursor < self.resets.len() && self.resets[self.cursor] as usize <= w.lo {
                self.cursor += 1;
            }
            for &j in &self.resets[self.cursor..] {
                let j = j as usize;
                if j >= w.hi {
                    break;
                }
                result += points[j - 1].f;
            }
        }
        Ok(Some(self.extrapolate(result, first, last, w)))
    }

    fn produced(&mut self, input: &Series, ctx: &mut FnCtx<'_>) {
        if !self.counter {
            return;
        }
        let name = input.metric.metric_name().unwrap_or("");
        let counter_like = ["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|s| name.ends_with(s));
        if !name.is_empty() && !counter_like {
            let pos = ctx.arg_pos(0);
            ctx.annotations.possible_non_counter(name, pos);
        }
    }
}

impl Extrapolated {
    /// Prometheus 3's extrapolation: the sampled interval is extended toward each edge of
    /// the window by the distance to it, but by at most half the average sample spacing
    /// when the gap is more than 1.1 spacings (the series likely started or ended there);
    /// a counter is never extrapolated to below zero.
    fn extrapolate(&self, result: f64, first: FPoint, last: FPoint, w: Window) -> f64 {
        let samples_minus_one = (w.len() - 1) as f64;
        let mut to_start = (first.t - w.start) as f64 / 1000.0;
        let mut to_end = (w.end - last.t) as f64 / 1000.0;
        let sampled = (last.t - first.t) as f64 / 1000.0;
        let average = sampled / samples_minus_one;
        let threshold = average * 1.1;
        if to_start >= threshold {
            to_start = average / 2.0;
        }
        if self.counter {
            // Where the counter, extended backwards at its average slope, would reach zero.
            let mut to_zero = to_start;
            if result > 0.0 && first.f >= 0.0 {
                to_zero = sampled * (first.f / result);
            }
            if to_zero < to_start {
                to_start = to_zero;
            }
        }
        if to_end >= threshold {
            to_end = average / 2.0;
        }
        let mut factor = 1.0;
        if sampled != 0.0 {
            factor = (sampled + to_start + to_end) / sampled;
        }
        if self.per_second {
            factor /= self.range_seconds;
        }
        result * factor
    }
}

/// `irate`/`idelta`: from the last two samples of the window. For `irate` a decrease is a
/// counter reset, and the later value is the increase since it.
fn instant_value(w: &[FPoint], per_second: bool) -> Option<f64> {
    let [.., prev, last] = w else {
        return None;
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    let mut v = if per_second && last.f < prev.f {
        last.f
    } else {
        last.f - prev.f
    };
    if per_second {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares fit of value over time (seconds from `intercept_time`), with Kahan sums:
/// `(slope, intercept)`. A constant series has slope 0 (or NaN for a constant ±Inf).
pub(super) fn linear_regression(points: &[FPoint], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = points[0].f;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.f != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(p.f, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * p.f, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `changes` / `resets`: how many consecutive pairs in the window differ / decrease.
/// `prefix[k]` counts the events among the pairs ending at indices `1..=k`.
struct PairCounts {
    resets: bool,
    prefix: Vec<u32>,
}

impl WindowFn for PairCounts {
    fn begin(&mut self, points: &[FPoint]) {
        self.prefix.clear();
        let mut n = 0u32;
        self.prefix.push(0);
        for pair in points.windows(2) {
            let (prev, cur) = (pair[0].f, pair[1].f);
            let event = if self.resets {
                cur < prev
            } else {
                cur != prev && !(cur.is_nan() && prev.is_nan())
            };
            n += u32::from(event);
            self.prefix.push(n);
        }
    }

    fn eval(&mut self, _points: &[FPoint], w: Window) -> Result<Option<f64>, QueryError> {
        // Pairs (j-1, j) with lo < j < hi.
        Ok(Some(f64::from(self.prefix[w.hi - 1] - self.prefix[w.lo])))
    }
}

/// `double_exponential_smoothing(v, sf, tf)`: Holt's linear smoothing of the window.
struct Smoothing<'a> {
    smoothing: &'a [f64],
    trend: &'a [f64],
}

impl WindowFn for Smoothing<'_> {
    fn eval(&mut self, points: &[FPoint], w: Window) -> Result<Option<f64>, QueryError> {
        let sf = at(self.smoothing, w.step);
        let tf = at(self.trend, w.step);
        if sf <= 0.0 || sf >= 1.0 {
            return Err(QueryError::exec(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                format_go_f(sf)
            )));
        }
        if tf <= 0.0 || tf >= 1.0 {
            return Err(QueryError::exec(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                format_go_f(tf)
            )));
        }
        let v = &points[w.lo..w.hi];
        if v.len() < 2 {
            return Ok(None);
        }
        let (mut s0, mut s1) = (0.0, v[0].f);
        let mut b = v[1].f - v[0].f;
        for (i, p) in v.iter().enumerate().skip(1) {
            let x = sf * p.f;
            // The trend is updated from the second smoothed value on.
            if i > 1 {
                b = tf * (s1 - s0) + (1.0 - tf) * b;
            }
            let y = (1.0 - sf) * (s1 + b);
            (s0, s1) = (s1, x + y);
        }
        Ok(Some(s1))
    }
}
