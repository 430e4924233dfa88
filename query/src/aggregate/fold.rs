//! The aggregations that fold a group's values into one value per step: `sum`, `avg`,
//! `min`, `max`, `group`, `count`, `stddev`, `stdvar`, and `quantile`.
//!
//! Numerics are Prometheus 3's, operation for operation:
//! - `sum` is a Kahan–Neumaier sum; the compensation is reset when the sum becomes
//!   infinite and added to the sum at the end.
//! - `avg` sums the same way and divides at the end; if the running sum would overflow to
//!   ±Inf it switches, for the rest of that step, to an incremental mean (with its own
//!   compensation), so that e.g. the average of four `9.9e307` is not `+Inf`.
//! - `stddev`/`stdvar` use Welford's online algorithm; a first value that is NaN or ±Inf
//!   makes the result NaN.
//! - `min`/`max` replace a NaN with any later value, so NaN only comes out when every
//!   value was NaN.
//! - `quantile` sorts the values with NaN below everything and interpolates linearly
//!   between the two nearest ranks.

use std::cmp::Ordering;

use crate::value::{FPoint, Series, Steps};

use super::shared::{dense_start, step_points, Selection};
use super::Groups;

/// One aggregation's per-step state.
pub(super) trait Fold {
    type State: Copy;
    /// The state after the group's first value at a step.
    fn first(f: f64) -> Self::State;
    /// Adds a further value.
    fn add(st: &mut Self::State, f: f64);
    /// The aggregated value.
    fn value(st: &Self::State) -> f64;
}

/// Aggregates each group of `input` with `F`, one output series per group that has a value
/// at some step, in order of the groups' first appearance.
pub(super) fn fold<F: Fold>(input: &[Series], selection: &Selection, steps: &Steps) -> Vec<Series> {
    let groups = Groups::new(input, selection, true);
    let n = steps.len();
    let mut states: Vec<Option<F::State>> = vec![None; n];
    let mut drop_name = vec![false; n];
    let mut out = Vec::with_capacity(groups.len());
    for g in 0..groups.len() {
        let mut seen = 0usize;
        for &si in groups.members(g) {
            let s = &input[si as usize];
            let mut visit = |i: usize, f: f64| match &mut states[i] {
                Some(st) => {
                    F::add(st, f);
                    drop_name[i] |= s.drop_name;
                }
                slot @ None => {
                    *slot = Some(F::first(f));
                    drop_name[i] = s.drop_name;
                    seen += 1;
                }
            };
            match dense_start(steps, &s.floats) {
                Some(i0) => {
                    for (k, p) in s.floats.iter().enumerate() {
                        visit(i0 + k, p.f);
                    }
                }
                None => {
                    for (i, f) in step_points(steps, &s.floats) {
                        visit(i, f);
                    }
                }
            }
        }
        if seen == 0 {
            continue;
        }
        let mut floats = Vec::with_capacity(seen);
        // Prometheus sets the output's name-dropping flag at every step the group is seen,
        // so the last such step decides.
        let mut last_drop = false;
        for (i, (slot, drop)) in states.iter_mut().zip(drop_name.iter_mut()).enumerate() {
            if let Some(st) = slot.take() {
                floats.push(FPoint {
                    t: steps.ts(i),
                    f: F::value(&st),
                });
                last_drop = *drop;
            }
            *drop = false;
        }
        out.push(Series {
            metric: groups.labels[g].clone(),
            floats,
            drop_name: last_drop,
        });
    }
    out
}

/// Kahan–Neumaier compensated addition of `inc` to `sum` with compensation `c`, as
/// Prometheus's `kahansum.Inc`: the compensation is dropped when the sum is infinite.
#[inline]
pub(super) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

pub(super) struct Sum;

impl Fold for Sum {
    /// (sum, compensation)
    type State = (f64, f64);
    fn first(f: f64) -> Self::State {
        (f, 0.0)
    }
    #[inline]
    fn add(st: &mut Self::State, f: f64) {
        *st = kahan_inc(f, st.0, st.1);
    }
    fn value(st: &Self::State) -> f64 {
        st.0 + st.1
    }
}

pub(super) struct Avg;

#[derive(Clone, Copy)]
pub(super) struct AvgState {
    sum: f64,
    /// Compensation of `sum`, or of `mean` once `incremental`.
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl Fold for Avg {
    type State = AvgState;
    fn first(f: f64) -> AvgState {
        AvgState {
            sum: f,
            c: 0.0,
            mean: f,
            count: 1.0,
            incremental: false,
        }
    }
    #[inline]
    fn add(st: &mut AvgState, f: f64) {
        st.count += 1.0;
        if !st.incremental {
            let (sum, c) = kahan_inc(f, st.sum, st.c);
            if !sum.is_infinite() {
                st.sum = sum;
                st.c = c;
                return;
            }
            // The sum would overflow: continue with an incremental mean.
            st.incremental = true;
            st.mean = st.sum / (st.count - 1.0);
            st.c /= st.count - 1.0;
        }
        let q = (st.count - 1.0) / st.count;
        let (mean, c) = kahan_inc(f / st.count, q * st.mean, q * st.c);
        st.mean = mean;
        st.c = c;
    }
    fn value(st: &AvgState) -> f64 {
        if st.incremental {
            st.mean + st.c
        } else {
            st.sum / st.count + st.c / st.count
        }
    }
}

pub(super) struct Min;

impl Fold for Min {
    type State = f64;
    fn first(f: f64) -> f64 {
        f
    }
    #[inline]
    fn add(st: &mut f64, f: f64) {
        if *st > f || st.is_nan() {
            *st = f;
        }
    }
    fn value(st: &f64) -> f64 {
        *st
    }
}

pub(super) struct Max;

impl Fold for Max {
    type State = f64;
    fn first(f: f64) -> f64 {
        f
    }
    #[inline]
    fn add(st: &mut f64, f: f64) {
        if *st < f || st.is_nan() {
            *st = f;
        }
    }
    fn value(st: &f64) -> f64 {
        *st
    }
}

pub(super) struct Group;

impl Fold for Group {
    type State = ();
    fn first(_: f64) {}
    fn add(_: &mut (), _: f64) {}
    fn value(_: &()) -> f64 {
        1.0
    }
}

pub(super) struct Count;

impl Fold for Count {
    type State = f64;
    fn first(_: f64) -> f64 {
        1.0
    }
    #[inline]
    fn add(st: &mut f64, _: f64) {
        *st += 1.0;
    }
    fn value(st: &f64) -> f64 {
        *st
    }
}

/// Welford's online variance: (sum of squared deviations, mean, count).
#[derive(Clone, Copy)]
pub(super) struct Welford {
    m2: f64,
    mean: f64,
    count: f64,
}

fn welford_first(f: f64) -> Welford {
    Welford {
        m2: if f.is_finite() { 0.0 } else { f64::NAN },
        mean: f,
        count: 1.0,
    }
}

#[inline]
fn welford_add(st: &mut Welford, f: f64) {
    st.count += 1.0;
    let delta = f - st.mean;
    st.mean += delta / st.count;
    st.m2 += delta * (f - st.mean);
}

pub(super) struct StdVar;

impl Fold for StdVar {
    type State = Welford;
    fn first(f: f64) -> Welford {
        welford_first(f)
    }
    #[inline]
    fn add(st: &mut Welford, f: f64) {
        welford_add(st, f)
    }
    fn value(st: &Welford) -> f64 {
        st.m2 / st.count
    }
}

pub(super) struct StdDev;

impl Fold for StdDev {
    type State = Welford;
    fn first(f: f64) -> Welford {
        welford_first(f)
    }
    #[inline]
    fn add(st: &mut Welford, f: f64) {
        welford_add(st, f)
    }
    fn value(st: &Welford) -> f64 {
        (st.m2 / st.count).sqrt()
    }
}

/// `quantile(q, ...)` per group; `q` has one value per step.
pub(super) fn quantile(
    input: &[Series],
    selection: &Selection,
    steps: &Steps,
    q: &[f64],
) -> Vec<Series> {
    let groups = Groups::new(input, selection, true);
    let n = steps.len();
    let mut values: Vec<(u32, f64)> = Vec::new();
    let mut drop_name = vec![false; n];
    let mut seen = vec![false; n];
    let mut out = Vec::with_capacity(groups.len());
    for g in 0..groups.len() {
        values.clear();
        for &si in groups.members(g) {
            let s = &input[si as usize];
            for (i, f) in step_points(steps, &s.floats) {
                values.push((i as u32, f));
                if seen[i] {
                    drop_name[i] |= s.drop_name;
                } else {
                    seen[i] = true;
                    drop_name[i] = s.drop_name;
                }
            }
        }
        if values.is_empty() {
            continue;
        }
        // By step; within a step the order does not matter, the values are sorted next.
        values.sort_unstable_by_key(|&(i, _)| i);
        let mut floats = Vec::new();
        let mut last_drop = false;
        let mut vals: Vec<f64> = Vec::new();
        for run in values.chunk_by(|a, b| a.0 == b.0) {
            let i = run[0].0 as usize;
            vals.clear();
            vals.extend(run.iter().map(|&(_, f)| f));
            floats.push(FPoint {
                t: steps.ts(i),
                f: quantile_of(q[i], &mut vals),
            });
            last_drop = drop_name[i];
            seen[i] = false;
            drop_name[i] = false;
        }
        out.push(Series {
            metric: groups.labels[g].clone(),
            floats,
            drop_name: last_drop,
        });
    }
    out
}

/// The `q`-quantile of `values` (reordered): NaN for no values or a NaN `q`, -Inf for
/// `q < 0`, +Inf for `q > 1`; otherwise the values are sorted with NaN lowest and the
/// result interpolated linearly at rank `q * (n - 1)`.
pub(super) fn quantile_of(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Stable, with -0 and +0 equal: the order Go's insertion sort leaves small inputs in.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}
