//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` over classic
//! histograms: series whose `le` label is a bucket's upper bound and whose value is the
//! cumulative count of observations up to it.
//!
//! The input's series are grouped once by their labels without `le` (the metric name
//! included, as in Prometheus); then, step by step, each group's buckets present at that
//! step are collected into a reused buffer and evaluated (`promql/quantile.go`): sorted
//! by bound, required to end in a `+Inf` bucket, buckets of equal bound merged, and, for
//! quantiles, counts forced to be monotonic (with an info annotation summarising every
//! place that needed it). A series whose `le` does not parse is skipped with a warning.
//!
//! Native histograms are not stored yet, so every sample here is a float sample.

use std::collections::HashMap;

use ember_storage::numfmt::format_g;
use ember_storage::Labels;

use crate::positions::Pos;
use crate::value::{FPoint, Series, Steps};

use super::date::rfc3339;
use super::numeric::{format_go_g_prec, parse_go_float};
use super::{at, FnCtx};

/// Relative differences between adjacent buckets below this are taken as floating-point
/// noise and ignored (`smallDeltaTolerance`).
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    upper: f64,
    count: f64,
}

/// The series of one classic histogram: the same labels but for `le`.
struct Group {
    metric: Labels,
    /// (upper bound, index of the series in the input)
    members: Vec<(f64, usize)>,
}

/// Groups the bucket series of `input`, warning (at `pos`) about any with a bad `le`.
fn group_buckets(input: &[Series], ctx: &mut FnCtx<'_>, pos: Option<Pos>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_labels: HashMap<Labels, usize> = HashMap::new();
    for (i, s) in input.iter().enumerate() {
        if s.floats.is_empty() {
            continue;
        }
        let le = s.metric.get("le").unwrap_or("");
        let Some(upper) = parse_go_float(le) else {
            let name = ctx.annotation_metric_name(s);
            ctx.annotations.bad_bucket_label(le, name, pos);
            continue;
        };
        let mut b = s.metric.builder();
        b.del("le");
        let key = b.labels();
        let g = *by_labels.entry(key).or_insert_with_key(|key| {
            groups.push(Group {
                metric: key.clone(),
                members: Vec::new(),
            });
            groups.len() - 1
        });
        groups[g].members.push((upper, i));
    }
    groups
}

/// The buckets of every group present at one step: group `g`'s are `flat[start..end]`
/// for each `(g, start, end)` in `spans` (unsorted).
#[derive(Default)]
struct StepBuckets {
    flat: Vec<Bucket>,
    spans: Vec<(usize, usize, usize)>,
}

/// Walks the steps, handing `f` the buckets present at each step (steps without any are
/// skipped). One cursor per input series moves forward through its samples.
fn for_each_step(
    input: &[Series],
    groups: &[Group],
    steps: &Steps,
    mut f: impl FnMut(usize, &mut StepBuckets),
) {
    let mut cursors = vec![0usize; input.len()];
    let mut sb = StepBuckets::default();
    for step in 0..steps.len() {
        let t = steps.ts(step);
        sb.flat.clear();
        sb.spans.clear();
        for (g, group) in groups.iter().enumerate() {
            let start = sb.flat.len();
            for &(upper, si) in &group.members {
                let floats = &input[si].floats;
                let c = &mut cursors[si];
                while *c < floats.len() && floats[*c].t < t {
                    *c += 1;
                }
                if let Some(p) = floats.get(*c).filter(|p| p.t == t) {
                    sb.flat.push(Bucket { upper, count: p.f });
                }
            }
            if sb.flat.len() > start {
                sb.spans.push((g, start, sb.flat.len()));
            }
        }
        if !sb.spans.is_empty() {
            f(step, &mut sb);
        }
    }
}

/// `histogram_quantile(q, v)`.
pub(super) fn quantile(q: &[f64], input: Vec<Series>, ctx: &mut FnCtx<'_>) -> Vec<Series> {
    let n = ctx.steps.len();
    warn_invalid_quantiles((0..n).map(|i| at(q, i)), ctx.arg_pos(0), ctx);
    let pos = ctx.arg_pos(1);
    let groups = group_buckets(&input, ctx, pos);
    let steps = ctx.steps;
    let mut points: Vec<Vec<FPoint>> = vec![Vec::new(); groups.len()];
    let mut forced = ForcedMonotonicity::default();
    for_each_step(&input, &groups, &steps, |step, sb| {
        let t = steps.ts(step);
        for &(g, start, end) in &sb.spans {
            let (v, fix) = bucket_quantile(at(q, step), &mut sb.flat[start..end]);
            if let Some(fix) = fix {
                forced.add(name_for(ctx, &groups[g].metric), t, fix);
            }
            points[g].push(FPoint { t, f: v });
        }
    });
    forced.emit(ctx, pos);
    let mut out = Vec::with_capacity(groups.len());
    for (group, floats) in groups.into_iter().zip(points) {
        if !floats.is_empty() {
            let mut s = Series::new(group.metric, floats);
            ctx.drop_metric_name(&mut s);
            out.push(s);
        }
    }
    out
}

/// `histogram_quantiles(v, label, q...)`: one output series per histogram and quantile,
/// the quantile written into `label` (in OpenMetrics float syntax: `0.5`, `1.0`, `NaN`).
pub(super) fn quantiles(
    input: Vec<Series>,
    label: &str,
    qs: &[Vec<f64>],
    ctx: &mut FnCtx<'_>,
) -> Vec<Series> {
    let n = ctx.steps.len();
    for (k, q) in qs.iter().enumerate() {
        warn_invalid_quantiles((0..n).map(|i| at(q, i)), ctx.arg_pos(k + 2), ctx);
    }
    let pos = ctx.arg_pos(0);
    let groups = group_buckets(&input, ctx, pos);
    let steps = ctx.steps;
    let mut out: Vec<Series> = Vec::new();
    // (quantile argument, group) → (label value, output series): one entry unless the
    // quantile changes between steps.
    let mut index: HashMap<(usize, usize), Vec<(String, usize)>> = HashMap::new();
    let mut forced = ForcedMonotonicity::default();
    let mut scratch: Vec<Bucket> = Vec::new();
    // Per quantile argument, the label value of the last quantile seen (by its bits).
    let mut labels: Vec<(u64, String)> = vec![(0, String::new()); qs.len()];
    for_each_step(&input, &groups, &steps, |step, sb| {
        let t = steps.ts(step);
        // Quantile-major order within a step, as Prometheus emits an instant result.
        for (k, q) in qs.iter().enumerate() {
            let q = at(q, step);
            if labels[k].1.is_empty() || labels[k].0 != q.to_bits() {
                labels[k] = (q.to_bits(), format_openmetrics_float(q));
            }
            let q_label = &labels[k].1;
            for &(g, start, end) in &sb.spans {
                scratch.clear();
                scratch.extend_from_slice(&sb.flat[start..end]);
                let (v, fix) = bucket_quantile(q, &mut scratch);
                if let Some(fix) = fix {
                    forced.add(name_for(ctx, &groups[g].metric), t, fix);
                }
                let seen = index.entry((k, g)).or_default();
                let i = match seen.iter().find(|(l, _)| l == q_label) {
                    Some(&(_, i)) => i,
                    None => {
                        let mut b = groups[g].metric.builder();
                        b.set(label, q_label);
                        out.push(Series::new(b.labels(), Vec::new()));
                        seen.push((q_label.clone(), out.len() - 1));
                        out.len() - 1
                    }
                };
                out[i].floats.push(FPoint { t, f: v });
            }
        }
    });
    forced.emit(ctx, pos);
    for s in &mut out {
        ctx.drop_metric_name(s);
    }
    out
}

/// `histogram_fraction(lower, upper, v)`: the estimated fraction of observations between
/// the two bounds.
pub(super) fn fraction(
    lower: &[f64],
    upper: &[f64],
    input: Vec<Series>,
    ctx: &mut FnCtx<'_>,
) -> Vec<Series> {
    let pos = ctx.arg_pos(2);
    let groups = group_buckets(&input, ctx, pos);
    let steps = ctx.steps;
    let mut points: Vec<Vec<FPoint>> = vec![Vec::new(); groups.len()];
    for_each_step(&input, &groups, &steps, |step, sb| {
        for &(g, start, end) in &sb.spans {
            let f = bucket_fraction(at(lower, step), at(upper, step), &mut sb.flat[start..end]);
            points[g].push(FPoint {
                t: steps.ts(step),
                f,
            });
        }
    });
    let mut out = Vec::with_capacity(groups.len());
    for (group, floats) in groups.into_iter().zip(points) {
        if !floats.is_empty() {
            let mut s = Series::new(group.metric, floats);
            ctx.drop_metric_name(&mut s);
            out.push(s);
        }
    }
    out
}

fn warn_invalid_quantiles(qs: impl Iterator<Item = f64>, pos: Option<Pos>, ctx: &mut FnCtx<'_>) {
    for q in qs {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            ctx.annotations.invalid_quantile(q, pos);
        }
    }
}

fn name_for(ctx: &FnCtx<'_>, metric: &Labels) -> String {
    if ctx.delayed_name_removal {
        metric.metric_name().unwrap_or("").to_string()
    } else {
        String::new()
    }
}

/// Labels' `FormatOpenMetricsFloat`: Go's shortest `%g`, with `.0` added to integers.
fn format_openmetrics_float(q: f64) -> String {
    if q == 0.0 {
        return "0.0".into();
    }
    let s = format_g(q);
    if q.is_finite() && !s.contains(['e', '.']) {
        s + ".0"
    } else {
        s
    }
}

/// Where monotonicity had to be forced at one step in one histogram.
#[derive(Debug, Clone, Copy)]
struct Fix {
    min_bucket: f64,
    max_bucket: f64,
    max_diff: f64,
}

/// The forced-monotonicity info of one call, merged over steps and histograms per metric
/// name as Prometheus merges its annotation: first and last time, lowest and highest bucket
/// bound, largest correction, and how many (step, histogram) pairs needed it.
#[derive(Default)]
struct ForcedMonotonicity {
    by_name: Vec<(String, Merged)>,
}

struct Merged {
    count: u64,
    min_ts: i64,
    max_ts: i64,
    fix: Fix,
}

impl ForcedMonotonicity {
    fn add(&mut self, name: String, t: i64, fix: Fix) {
        match self.by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, m)) => {
                m.count += 1;
                m.min_ts = m.min_ts.min(t);
                m.max_ts = m.max_ts.max(t);
                m.fix.min_bucket = m.fix.min_bucket.min(fix.min_bucket);
                m.fix.max_bucket = m.fix.max_bucket.max(fix.max_bucket);
                m.fix.max_diff = m.fix.max_diff.max(fix.max_diff);
            }
            None => self.by_name.push((
                name,
                Merged {
                    count: 1,
                    min_ts: t,
                    max_ts: t,
                    fix,
                },
            )),
        }
    }

    fn emit(self, ctx: &mut FnCtx<'_>, pos: Option<Pos>) {
        for (name, m) in self.by_name {
            let mut detail = String::new();
            if !name.is_empty() {
                detail.push_str(" for metric name ");
                let _ = ember_storage::labels::write_go_quoted(&mut detail, &name);
            }
            detail.push_str(&format!(
                ", from buckets {} to {}, with a max diff of {}, over {} samples from {} to {}",
                format_g(m.fix.min_bucket),
                format_g(m.fix.max_bucket),
                format_go_g_prec(m.fix.max_diff, 2),
                m.count,
                rfc3339(m.min_ts / 1000),
                rfc3339(m.max_ts / 1000),
            ));
            ctx.annotations
                .histogram_quantile_forced_monotonicity(&detail, pos);
        }
    }
}

/// Sorts by upper bound (stable; equal bounds keep their order).
fn sort_buckets(buckets: &mut [Bucket]) {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// Merges adjacent buckets of equal bound (the input is sorted), summing their counts;
/// returns how many buckets remain at the front.
fn coalesce(buckets: &mut [Bucket]) -> usize {
    let mut out = 0;
    for i in 1..buckets.len() {
        if buckets[i].upper == buckets[out].upper {
            buckets[out].count += buckets[i].count;
        } else {
            out += 1;
            buckets[out] = buckets[i];
        }
    }
    out + 1
}

/// Prometheus's `almost.Equal`: within `epsilon` relative difference (absolute near zero).
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
    if a.to_bits() == STALE_NAN || b.to_bits() == STALE_NAN {
        return a.to_bits() == STALE_NAN && b.to_bits() == STALE_NAN;
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Removes decreases between successive (sorted) buckets: differences within `tolerance`
/// are silently evened out, real decreases raised to the previous count and reported.
fn ensure_monotonic(buckets: &mut [Bucket], tolerance: f64) -> Option<Fix> {
    let mut fix = Fix {
        min_bucket: f64::INFINITY,
        max_bucket: f64::NEG_INFINITY,
        max_diff: 0.0,
    };
    let mut forced = false;
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, tolerance) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            forced = true;
            fix.min_bucket = fix.min_bucket.min(b.upper);
            fix.max_bucket = fix.max_bucket.max(b.upper);
            if prev - curr > fix.max_diff {
                fix.max_diff = prev - curr;
            }
            continue;
        }
        prev = curr;
    }
    forced.then_some(fix)
}

/// Go's `sort.Search`: the first index in `0..n` for which `f` holds, by bisection.
fn search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0, n);
    while i < j {
        let h = (i + j) / 2;
        if !f(h) {
            i = h + 1;
        } else {
            j = h;
        }
    }
    i
}

/// The `q` quantile of classic buckets (`BucketQuantile`), interpolated linearly within
/// the bucket it falls in, with a lower bound of 0 for the first bucket when its upper
/// bound is positive. NaN without a `+Inf` bucket, with fewer than two buckets, or without
/// observations; ±Inf for `q` out of range. Also returns where monotonicity was forced.
fn bucket_quantile(q: f64, buckets: &mut [Bucket]) -> (f64, Option<Fix>) {
    if q.is_nan() {
        return (f64::NAN, None);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, None);
    }
    if q > 1.0 {
        return (f64::INFINITY, None);
    }
    sort_buckets(buckets);
    if buckets.last().map(|b| b.upper) != Some(f64::INFINITY) {
        return (f64::NAN, None);
    }
    let n = coalesce(buckets);
    let buckets = &mut buckets[..n];
    let fix = ensure_monotonic(buckets, SMALL_DELTA_TOLERANCE);
    let n = buckets.len();
    if n < 2 {
        return (f64::NAN, fix);
    }
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return (f64::NAN, fix);
    }
    let mut rank = q * observations;
    let b = search(n - 1, |i| buckets[i].count >= rank);
    let v = if b == n - 1 {
        buckets[n - 2].upper
    } else if b == 0 && buckets[0].upper <= 0.0 {
        buckets[0].upper
    } else {
        let mut start = 0.0;
        let end = buckets[b].upper;
        let mut count = buckets[b].count;
        if b > 0 {
            start = buckets[b - 1].upper;
            count -= buckets[b - 1].count;
            rank -= buckets[b - 1].count;
        }
        start + (end - start) * (rank / count)
    };
    (v, fix)
}

/// The fraction of observations between `lower` and `upper` (`BucketFraction`),
/// interpolating linearly inside buckets; the `+Inf` bucket and a first bucket reaching
/// down to -Inf contribute only whole.
fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [Bucket]) -> f64 {
    sort_buckets(buckets);
    if buckets.last().map(|b| b.upper) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    let n = coalesce(buckets);
    let buckets = &buckets[..n];
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if buckets[0].upper <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            lower_bound = buckets[i - 1].upper;
        }
        let upper_bound = b.upper;
        let interpolate = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                b.count
            } else {
                rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn quantile_interpolates_inside_the_bucket() {
        // Buckets 0:0, 2:1, 4:2, 6:3, +Inf:3 (cumulative). q=0.5: rank 1.5 falls in
        // (2, 4] holding 1 observation, 0.5 of the way: 2 + 2·0.5 = 3.
        let b = buckets(&[(INF, 3.0), (2.0, 1.0), (0.0, 0.0), (6.0, 3.0), (4.0, 2.0)]);
        assert_eq!(bucket_quantile(0.5, &mut b.clone()).0, 3.0);
        // q=1/6: rank 0.5 in (0, 2]: 0 + 2·0.5 = 1.
        assert_eq!(bucket_quantile(1.0 / 6.0, &mut b.clone()).0, 1.0);
        // q=1: rank 3 is reached in the (4, 6] bucket: its upper bound.
        assert_eq!(bucket_quantile(1.0, &mut b.clone()).0, 6.0);
        // q=0: rank 0, first bucket with count >= 0 is le=0, whose bound is <= 0.
        assert_eq!(bucket_quantile(0.0, &mut b.clone()).0, 0.0);
    }

    #[test]
    fn quantile_in_the_inf_bucket_is_the_previous_bound() {
        // 1:1, +Inf:10: rank 9 for q=0.9 lies beyond le=1 → the second-highest bound, 1.
        assert_eq!(
            bucket_quantile(0.9, &mut buckets(&[(1.0, 1.0), (INF, 10.0)])).0,
            1.0
        );
    }

    #[test]
    fn quantile_special_cases() {
        let b = buckets(&[(1.0, 1.0), (INF, 2.0)]);
        assert!(bucket_quantile(f64::NAN, &mut b.clone()).0.is_nan());
        assert_eq!(bucket_quantile(-0.1, &mut b.clone()).0, -INF);
        assert_eq!(bucket_quantile(1.01, &mut b.clone()).0, INF);
        // No +Inf bucket; a single bucket; no observations.
        assert!(
            bucket_quantile(0.5, &mut buckets(&[(1.0, 1.0), (2.0, 2.0)]))
                .0
                .is_nan()
        );
        assert!(bucket_quantile(0.5, &mut buckets(&[(INF, 2.0)])).0.is_nan());
        assert!(
            bucket_quantile(0.5, &mut buckets(&[(1.0, 0.0), (INF, 0.0)]))
                .0
                .is_nan()
        );
        // Equal bounds ("1" and "1.0") are merged: 1:2+3=5 → 5 of 10 below 1.
        let mut b = buckets(&[(1.0, 2.0), (1.0, 3.0), (INF, 10.0), (2.0, 10.0)]);
        assert_eq!(bucket_quantile(0.5, &mut b).0, 1.0);
    }

    #[test]
    fn monotonicity_is_forced_and_reported() {
        // 0.1:2 1:1 10:5 100:4 1000:9 +Inf:8 → counts become 2 2 5 5 9 9; corrections at
        // le=1 (diff 1), le=100 (diff 1), +Inf (diff 1).
        let mut b = buckets(&[
            (0.1, 2.0),
            (1.0, 1.0),
            (10.0, 5.0),
            (100.0, 4.0),
            (1000.0, 9.0),
            (INF, 8.0),
        ]);
        let fix = ensure_monotonic(&mut b, SMALL_DELTA_TOLERANCE).unwrap();
        let counts: Vec<f64> = b.iter().map(|b| b.count).collect();
        assert_eq!(counts, [2.0, 2.0, 5.0, 5.0, 9.0, 9.0]);
        assert_eq!(
            (fix.min_bucket, fix.max_bucket, fix.max_diff),
            (1.0, INF, 1.0)
        );
        // Rank for q=0.5 at 50m (counts ×10: 20 20 50 50 90 90): 45 lies in (1, 10]
        // holding 30: 1 + 9·(25/30) = 8.5.
        let mut b = buckets(&[
            (0.1, 20.0),
            (1.0, 10.0),
            (10.0, 50.0),
            (100.0, 40.0),
            (1000.0, 90.0),
            (INF, 80.0),
        ]);
        let (v, fix) = bucket_quantile(0.5, &mut b);
        assert_eq!(v, 8.5);
        assert!(fix.is_some());
    }

    #[test]
    fn tiny_differences_are_noise() {
        let mut b = buckets(&[(1.0, 1e12), (2.0, 1e12 - 0.5), (INF, 1e12)]);
        assert!(ensure_monotonic(&mut b, SMALL_DELTA_TOLERANCE).is_none());
        assert_eq!(b[1].count, 1e12);
    }

    #[test]
    fn fraction() {
        // 0:0 2:1 4:2 6:3 +Inf:3 — (0, 4] holds 2 of 3.
        let b = buckets(&[(0.0, 0.0), (2.0, 1.0), (4.0, 2.0), (6.0, 3.0), (INF, 3.0)]);
        assert!((bucket_fraction(0.0, 4.0, &mut b.clone()) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(bucket_fraction(0.0, 6.0, &mut b.clone()), 1.0);
        // 3.5 is 3/4 into (2, 4]: rank 1 + 1·0.75 = 1.75 → 1.75/3.
        assert!((bucket_fraction(0.0, 3.5, &mut b.clone()) - 1.75 / 3.0).abs() < 1e-15);
        assert_eq!(bucket_fraction(3.0, 2.0, &mut b.clone()), 0.0);
        assert!(bucket_fraction(f64::NAN, 1.0, &mut b.clone()).is_nan());
        assert_eq!(bucket_fraction(-INF, INF, &mut b.clone()), 1.0);
    }

    #[test]
    fn openmetrics_float_labels() {
        assert_eq!(format_openmetrics_float(0.0), "0.0");
        assert_eq!(format_openmetrics_float(1.0), "1.0");
        assert_eq!(format_openmetrics_float(0.25), "0.25");
        assert_eq!(format_openmetrics_float(2.0), "2.0");
        assert_eq!(format_openmetrics_float(-0.1), "-0.1");
        assert_eq!(format_openmetrics_float(1e21), "1e+21");
        assert_eq!(format_openmetrics_float(f64::NAN), "NaN");
        assert_eq!(format_openmetrics_float(INF), "+Inf");
    }
}
