//! The sliding window over a range vector's samples.
//!
//! A range-vector argument holds each series' samples once, plus the end of the window
//! every step looks at; a step's window is `(end - range, end]`. Window ends never move
//! backwards from one step to the next (steps ascend; `offset` shifts them all alike; `@`
//! pins them all to one time), so one series is walked with two indices that only move
//! forward: over all steps, each sample is passed at most twice, with no search and no copy
//! per step. (Should ends ever move backwards, the walk restarts, which stays correct.)
//!
//! [`eval_windows`] runs a [`WindowFn`] over every non-empty window of every series and
//! collects the results into output series at the step timestamps.

use crate::error::QueryError;
use crate::value::{FPoint, RangeValue, Series};

use super::FnCtx;

/// One step's window over one series: `points[lo..hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    /// The step index.
    pub step: usize,
    pub lo: usize,
    pub hi: usize,
    /// The window's exclusive start and inclusive end (milliseconds).
    pub start: i64,
    pub end: i64,
}

impl Window {
    pub fn len(&self) -> usize {
        self.hi - self.lo
    }
}

/// The windows of one series, step by step.
pub(super) struct Windows<'a> {
    points: &'a [FPoint],
    ends: &'a [i64],
    range: i64,
    step: usize,
    lo: usize,
    hi: usize,
    last_end: i64,
}

impl<'a> Windows<'a> {
    pub fn new(points: &'a [FPoint], ends: &'a [i64], range: i64) -> Windows<'a> {
        Windows {
            points,
            ends,
            range,
            step: 0,
            lo: 0,
            hi: 0,
            last_end: i64::MIN,
        }
    }
}

impl Iterator for Windows<'_> {
    type Item = Window;

    #[inline]
    fn next(&mut self) -> Option<Window> {
        let step = self.step;
        let end = *self.ends.get(step)?;
        self.step += 1;
        if end < self.last_end {
            self.lo = 0;
            self.hi = 0;
        }
        self.last_end = end;
        let start = end.saturating_sub(self.range);
        let pts = self.points;
        while self.hi < pts.len() && pts[self.hi].t <= end {
            self.hi += 1;
        }
        while self.lo < self.hi && pts[self.lo].t <= start {
            self.lo += 1;
        }
        Some(Window {
            step,
            lo: self.lo,
            hi: self.hi,
            start,
            end,
        })
    }
}

/// A range-vector function, evaluated window by window.
pub(super) trait WindowFn {
    /// Prepares for the next series (per-series precomputation, into reused buffers).
    fn begin(&mut self, _points: &[FPoint]) {}

    /// The value for the non-empty window `w` over `points`, or `None` for no sample.
    fn eval(&mut self, points: &[FPoint], w: Window) -> Result<Option<f64>, QueryError>;

    /// Called for each input series that produced at least one sample, with its labels
    /// as they were before the function (for annotations about the input).
    fn produced(&mut self, _input: &Series, _ctx: &mut FnCtx<'_>) {}
}

/// A [`WindowFn`] from a closure over the window's samples.
pub(super) struct Simple<F>(pub F);

impl<F> WindowFn for Simple<F>
where
    F: FnMut(&[FPoint], Window) -> Option<f64>,
{
    #[inline]
    fn eval(&mut self, points: &[FPoint], w: Window) -> Result<Option<f64>, QueryError> {
        Ok((self.0)(&points[w.lo..w.hi], w))
    }
}

/// Runs `f` over every non-empty window of every series of `rv`, returning one output
/// series per input series that produced a sample. Output samples sit at the step
/// timestamps. The metric name is dropped unless `keeps_name` (and the input was not
/// already marked for dropping it).
pub(super) fn eval_windows(
    rv: RangeValue,
    keeps_name: bool,
    ctx: &mut FnCtx<'_>,
    f: &mut impl WindowFn,
) -> Result<Vec<Series>, QueryError> {
    let steps = ctx.steps;
    let RangeValue {
        series,
        range,
        window_ends,
    } = rv;
    let n_steps = window_ends.len();
    let mut out = Vec::with_capacity(series.len());
    for input in series {
        f.begin(&input.floats);
        let mut floats: Vec<FPoint> = Vec::new();
        for w in Windows::new(&input.floats, &window_ends, range) {
            if w.lo == w.hi {
                continue;
            }
            if let Some(v) = f.eval(&input.floats, w)? {
                if floats.capacity() == 0 {
                    floats.reserve_exact(n_steps - w.step);
                }
                floats.push(FPoint {
                    t: steps.ts(w.step),
                    f: v,
                });
            }
        }
        if floats.is_empty() {
            continue;
        }
        f.produced(&input, ctx);
        let drop = !keeps_name || input.drop_name;
        let mut s = Series {
            metric: input.metric,
            floats,
            drop_name: input.drop_name,
        };
        if drop {
            ctx.drop_metric_name(&mut s);
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(ts: &[i64]) -> Vec<FPoint> {
        ts.iter().map(|&t| FPoint { t, f: t as f64 }).collect()
    }

    /// The windows by definition: every sample with `end - range < t <= end`.
    fn brute(points: &[FPoint], ends: &[i64], range: i64) -> Vec<(usize, usize)> {
        ends.iter()
            .map(|&end| {
                let idx: Vec<usize> = (0..points.len())
                    .filter(|&i| points[i].t > end - range && points[i].t <= end)
                    .collect();
                match (idx.first(), idx.last()) {
                    (Some(&a), Some(&b)) => (a, b + 1),
                    _ => (0, 0),
                }
            })
            .collect()
    }

    fn walk(points: &[FPoint], ends: &[i64], range: i64) -> Vec<(usize, usize)> {
        Windows::new(points, ends, range)
            .map(|w| if w.lo == w.hi { (0, 0) } else { (w.lo, w.hi) })
            .collect()
    }

    #[test]
    fn windows_are_left_open_and_right_closed() {
        let p = pts(&[0, 10, 20, 30, 40]);
        // Window (10, 30] holds 20 and 30; (−10, 0] holds 0; (40, 60] is empty.
        let ends = [30, 0, 60];
        let w: Vec<_> = Windows::new(&p, &ends[..1], 20).collect();
        assert_eq!((w[0].lo, w[0].hi, w[0].start, w[0].end), (2, 4, 10, 30));
        assert_eq!(walk(&p, &ends, 20), brute(&p, &ends, 20));
    }

    #[test]
    fn matches_brute_force_for_many_shapes() {
        let p = pts(&[-5, 0, 3, 3, 7, 15, 16, 30, 31, 60, 100]);
        for range in [1, 3, 5, 10, 29, 30, 31, 200] {
            for step in [1, 2, 5, 7, 30] {
                let ends: Vec<i64> = (-10..120).step_by(step).collect();
                assert_eq!(
                    walk(&p, &ends, range),
                    brute(&p, &ends, range),
                    "{range} {step}"
                );
            }
            // Constant ends (`@`), and ends that move backwards once.
            let ends = [50, 50, 50, 10, 20];
            assert_eq!(walk(&p, &ends, range), brute(&p, &ends, range));
        }
        assert_eq!(walk(&[], &[1, 2], 5), vec![(0, 0), (0, 0)]);
    }
}
