//! `topk`, `bottomk`, `limitk` and `limit_ratio`: aggregations that select input series
//! (keeping their labels) rather than computing a value per group.
//!
//! Per group and step Prometheus keeps the selected samples in a binary heap (Go's
//! `container/heap`): `topk` a min-heap of the k largest values, `bottomk` a max-heap of
//! the k smallest, `limitk` the first k series (in input order) and `limit_ratio` every
//! series whose label-set hash falls in the ratio's slice of [0, 1). Which of several
//! equal values are kept, and the order of an instant result, depend on that heap's exact
//! sift operations, so the heap here moves elements exactly as Go's does. An instant
//! `topk`/`bottomk` result is then sorted by value (descending/ascending, NaN last) as
//! Prometheus's `sort.Sort` leaves it; `limitk`/`limit_ratio` keep heap order.
//!
//! `limit_ratio` maps a series to `hash / 2^64` with Prometheus's `labels.Hash()` (see
//! [`prometheus_labels_hash`]) and keeps it at ratio `r` when that offset is below `r`
//! (`r >= 0`), or at least `1 + r` (`r < 0`): `limit_ratio(r, x)` and
//! `limit_ratio(-(1 - r), x)` are complements.

use ember_storage::numfmt::format_g;
use promql_parser::parser::token::{TokenType, T_BOTTOMK, T_LIMITK, T_TOPK};

use crate::error::QueryError;
use crate::value::{FPoint, Series};

use super::shared::{prometheus_labels_hash, step_points, Selection};
use super::{AggCtx, Groups, ParamStats};

/// `float64(math.MinInt64)` and the largest float64 below 2^63, Prometheus's bounds for
/// an integer parameter.
const MIN_INT64: f64 = -9_223_372_036_854_775_808.0;
const MAX_INT64: f64 = 9_223_372_036_854_774_784.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Top,
    Bottom,
    Limit,
    Ratio,
}

/// A selected sample: its value and the input series it belongs to.
#[derive(Debug, Clone, Copy)]
struct Entry {
    f: f64,
    series: u32,
}

/// `vectorByValueHeap.Less`: NaN sorts below everything.
#[inline]
fn value_less(a: &Entry, b: &Entry) -> bool {
    a.f.is_nan() || a.f < b.f
}

/// `vectorByReverseValueHeap.Less`: NaN sorts above everything.
#[inline]
fn reverse_less(a: &Entry, b: &Entry) -> bool {
    a.f.is_nan() || a.f > b.f
}

type Less = fn(&Entry, &Entry) -> bool;

/// Go's `heap.Push`: append, then sift up.
fn heap_push(h: &mut Vec<Entry>, e: Entry, less: Less) {
    h.push(e);
    let last = h.len() - 1;
    sift_up(h, last, less);
}

/// Go's `heap.Fix(h, 0)`.
fn heap_fix_top(h: &mut [Entry], less: Less) {
    if !sift_down(h, 0, less) {
        sift_up(h, 0, less);
    }
}

fn sift_up(h: &mut [Entry], mut j: usize, less: Less) {
    while j > 0 {
        let parent = (j - 1) / 2;
        if !less(&h[j], &h[parent]) {
            break;
        }
        h.swap(parent, j);
        j = parent;
    }
}

/// Sifts `h[i0]` down; returns whether it moved.
fn sift_down(h: &mut [Entry], i0: usize, less: Less) -> bool {
    let n = h.len();
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && less(&h[j1 + 1], &h[j1]) {
            j = j1 + 1;
        }
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    i > i0
}

/// Sorts a heap for an instant `topk` (`descending`) or `bottomk` result as Go's
/// `sort.Sort(sort.Reverse(heap))` does. Up to 12 elements that is an insertion sort,
/// reproduced exactly (equal values keep their heap order); larger results are sorted
/// stably by the same order, NaN last.
fn sort_result(h: &mut [Entry], descending: bool) {
    let less: Less = if descending { value_less } else { reverse_less };
    // Reverse's Less(i, j) is the heap's Less(j, i).
    if h.len() <= 12 {
        for i in 1..h.len() {
            let mut j = i;
            while j > 0 && less(&h[j - 1], &h[j]) {
                h.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    h.sort_by(|a, b| match (a.f.is_nan(), b.f.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) if descending => b.f.partial_cmp(&a.f).unwrap_or(std::cmp::Ordering::Equal),
        (false, false) => a.f.partial_cmp(&b.f).unwrap_or(std::cmp::Ordering::Equal),
    });
}

/// The per-step limit: `k` series (0: none at this step) or a ratio (0: none).
fn step_limits(kind: Kind, params: &[f64], n_series: usize) -> Vec<f64> {
    params
        .iter()
        .map(|&p| match kind {
            Kind::Ratio => p.clamp(-1.0, 1.0),
            // Go's int64() truncates toward zero; the range was checked already.
            _ => ((p as i64).min(n_series as i64)).max(0) as f64,
        })
        .collect()
}

/// Whether a series at sampling offset `offset` is kept at ratio `r` (in [-1, 1]).
#[inline]
fn ratio_keeps(r: f64, offset: f64) -> bool {
    (r >= 0.0 && offset < r) || (r < 0.0 && offset >= 1.0 + r)
}

/// A series' sampling offset in [0, 1]: its label-set hash over 2^64.
pub(super) fn sample_offset(metric: &ember_storage::Labels, buf: &mut Vec<u8>) -> f64 {
    prometheus_labels_hash(metric, buf) as f64 / u64::MAX as f64
}

pub(super) fn aggregate_k(
    op: TokenType,
    params: &[f64],
    mut input: Vec<Series>,
    selection: &Selection,
    ctx: &mut AggCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let kind = match op.id() {
        T_TOPK => Kind::Top,
        T_BOTTOMK => Kind::Bottom,
        T_LIMITK => Kind::Limit,
        _ => Kind::Ratio,
    };
    let stats = ParamStats::of(params);
    if kind == Kind::Ratio {
        if stats.max == 0.0 && stats.min == 0.0 {
            return Ok(Vec::new());
        }
        if stats.any_nan {
            return Err(QueryError::exec("Ratio value is NaN"));
        }
        let pos = ctx.param_pos();
        if stats.max > 1.0 {
            ctx.annotations.invalid_ratio(stats.max, 1.0, pos);
        }
        if stats.min < -1.0 {
            ctx.annotations.invalid_ratio(stats.min, -1.0, pos);
        }
    } else {
        if stats.max < 1.0 {
            return Ok(Vec::new());
        }
        if stats.any_nan {
            return Err(QueryError::exec("Parameter value is NaN"));
        }
        if stats.min <= MIN_INT64 {
            return Err(QueryError::exec(format!(
                "Scalar value {} underflows int64",
                format_g(stats.min)
            )));
        }
        if stats.max >= MAX_INT64 {
            return Err(QueryError::exec(format!(
                "Scalar value {} overflows int64",
                format_g(stats.max)
            )));
        }
    }

    let steps = ctx.steps;
    let n = steps.len();
    let limits = step_limits(kind, params, input.len());
    let offsets: Vec<f64> = if kind == Kind::Ratio {
        let mut buf = Vec::new();
        input
            .iter()
            .map(|s| sample_offset(&s.metric, &mut buf))
            .collect()
    } else {
        Vec::new()
    };
    let less: Less = if kind == Kind::Bottom {
        reverse_less
    } else {
        value_less
    };

    let groups = Groups::new(&input, selection, false);
    let mut heaps: Vec<Vec<Entry>> = vec![Vec::new(); n];
    let instant = !steps.is_range();
    let mut instant_out: Vec<Entry> = Vec::new();
    // Range evaluation: the selected points of each input series.
    let mut selected: Vec<Vec<FPoint>> = if instant {
        Vec::new()
    } else {
        vec![Vec::new(); input.len()]
    };

    for g in 0..groups.len() {
        for &si in groups.members(g) {
            for (i, f) in step_points(&steps, &input[si as usize].floats) {
                let limit = limits[i];
                if limit == 0.0 {
                    continue;
                }
                let h = &mut heaps[i];
                let e = Entry { f, series: si };
                match kind {
                    Kind::Top | Kind::Bottom => {
                        let k = limit as usize;
                        if h.len() < k {
                            heap_push(h, e, less);
                        } else {
                            let top = h[0].f;
                            let better = if kind == Kind::Top { top < f } else { top > f };
                            if better || (top.is_nan() && !f.is_nan()) {
                                h[0] = e;
                                if k > 1 {
                                    heap_fix_top(h, less);
                                }
                            }
                        }
                    }
                    Kind::Limit => {
                        if h.len() < limit as usize {
                            heap_push(h, e, less);
                        }
                    }
                    Kind::Ratio => {
                        if ratio_keeps(limit, offsets[si as usize]) {
                            heap_push(h, e, less);
                        }
                    }
                }
            }
        }
        for (i, h) in heaps.iter_mut().enumerate() {
            if h.is_empty() {
                continue;
            }
            if instant {
                if matches!(kind, Kind::Top | Kind::Bottom) && h.len() > 1 {
                    sort_result(h, kind == Kind::Top);
                }
                instant_out.extend_from_slice(h);
            } else {
                for e in h.iter() {
                    selected[e.series as usize].push(FPoint {
                        t: steps.ts(i),
                        f: e.f,
                    });
                }
            }
            h.clear();
        }
    }

    if instant {
        let t = steps.ts(0);
        return Ok(instant_out
            .into_iter()
            .map(|e| {
                let s = &mut input[e.series as usize];
                Series {
                    metric: std::mem::take(&mut s.metric),
                    floats: vec![FPoint { t, f: e.f }],
                    drop_name: s.drop_name,
                }
            })
            .collect());
    }
    Ok(input
        .into_iter()
        .zip(selected)
        .filter(|(_, pts)| !pts.is_empty())
        .map(|(s, floats)| Series {
            metric: s.metric,
            floats,
            drop_name: s.drop_name,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(f: f64, series: u32) -> Entry {
        Entry { f, series }
    }

    fn series_of(h: &[Entry]) -> Vec<u32> {
        h.iter().map(|e| e.series).collect()
    }

    #[test]
    fn heap_sifts_like_go() {
        // Pushing 5, 3, 4, 1 into a min-heap (Go container/heap):
        // [5] -> [3,5] (3 sifts up) -> [3,5,4] -> [1,3,4,5] (1 sifts up twice).
        let mut h = Vec::new();
        for (i, f) in [5.0, 3.0, 4.0, 1.0].into_iter().enumerate() {
            heap_push(&mut h, e(f, i as u32), value_less);
        }
        assert_eq!(series_of(&h), [3, 1, 2, 0]);
        // Replacing the top with 6 and fixing: 6 sinks below the smaller child 3, then 5:
        // [6,3,4,5] -> [3,6,4,5] -> [3,5,4,6].
        h[0] = e(6.0, 9);
        heap_fix_top(&mut h, value_less);
        assert_eq!(series_of(&h), [1, 0, 2, 9]);
    }

    #[test]
    fn nan_sorts_last_in_results() {
        let mut h = vec![e(f64::NAN, 0), e(100.0, 1), e(200.0, 2)];
        sort_result(&mut h, true);
        assert_eq!(series_of(&h), [2, 1, 0]);
        let mut h = vec![e(f64::NAN, 0), e(200.0, 2), e(100.0, 1)];
        sort_result(&mut h, false);
        assert_eq!(series_of(&h), [1, 2, 0]);
        // The stable fallback for more than 12 elements gives the same order.
        let mut h: Vec<Entry> = (0..20).map(|i| e(f64::from(i % 7), i)).collect();
        h.push(e(f64::NAN, 99));
        sort_result(&mut h, true);
        let vals: Vec<f64> = h[..20].iter().map(|e| e.f).collect();
        assert!(vals.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(h[20].series, 99);
    }

    #[test]
    fn ratio_complements() {
        for off in [0.0, 0.1, 0.2, 0.5, 0.79, 0.8, 0.99] {
            // r and -(1 - r) select complementary offsets.
            assert_ne!(ratio_keeps(0.2, off), ratio_keeps(-0.8, off), "{off}");
        }
        assert!(ratio_keeps(1.0, 0.999) && ratio_keeps(-1.0, 0.0));
        assert!(!ratio_keeps(0.0, 0.0));
    }

    #[test]
    fn limits_truncate_and_cap() {
        assert_eq!(
            step_limits(Kind::Top, &[2.7, -0.5, 100.0, 0.9], 5),
            [2.0, 0.0, 5.0, 0.0]
        );
        assert_eq!(
            step_limits(Kind::Ratio, &[1.1, -2.0, 0.3], 5),
            [1.0, -1.0, 0.3]
        );
    }
}
