//! Reading selectors from storage.
//!
//! A vector selector is evaluated series by series, walking each series' samples once
//! while the steps advance: at step `i` it takes the newest sample at or before the
//! evaluation time `t_i` and newer than `t_i - lookback` (left-open, Prometheus 3), unless
//! that sample is a staleness marker. A matrix selector keeps, per series, only the samples
//! that fall in some step's window `(end_i - range, end_i]`, skipping the gaps between
//! windows with `seek` (whole chunks are skipped without decoding).
//!
//! `t_i` and `end_i` already include `offset` and `@`: see [`EvalTimes`].

use ember_storage::chunkenc::{is_stale_nan, SampleIterator, ValueType};
use ember_storage::labels::METRIC_NAME;
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::{Querier, SelectHints, Series as StoredSeries};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::VectorSelector;

use crate::error::QueryError;
use crate::value::{FPoint, Series, Steps};

/// The time each step of a selector looks at: the step timestamp, or the fixed `@` time,
/// minus the offset. Non-decreasing across steps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EvalTimes {
    pub steps: Steps,
    /// `@` timestamp in milliseconds, if any (already resolved for `start()`/`end()`).
    pub at: Option<i64>,
    /// Offset in milliseconds (negative offsets allowed).
    pub offset: i64,
}

impl EvalTimes {
    #[inline]
    pub fn at_step(&self, i: usize) -> i64 {
        self.at.unwrap_or_else(|| self.steps.ts(i)) - self.offset
    }

    pub fn first(&self) -> i64 {
        self.at_step(0)
    }

    pub fn last(&self) -> i64 {
        self.at_step(self.steps.len() - 1)
    }

    /// Whether windows of `width` ending at the steps' times cover one unbroken span
    /// (each window starts no later than the previous one ends).
    pub fn contiguous(&self, width: i64) -> bool {
        self.at.is_some() || self.steps.len() == 1 || self.steps.interval <= width
    }
}

/// The storage matchers of a selector: its matchers plus `__name__="<name>"` when the
/// name was written outside the braces.
pub(crate) fn matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, QueryError> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(QueryError::Parse(
            "\"or\" inside a selector's braces is not PromQL syntax".into(),
        ));
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        out.push(
            Matcher::new(MatchOp::Equal, METRIC_NAME, name.as_str())
                .map_err(|e| QueryError::Parse(e.to_string()))?,
        );
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Regex,
            PMatchOp::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(
            Matcher::new(op, m.name.as_str(), m.value.as_str())
                .map_err(|e| QueryError::Parse(e.to_string()))?,
        );
    }
    Ok(out)
}

/// Opens the series matching `vs` over `[mint, maxt]`.
pub(crate) fn select(
    querier: &dyn Querier,
    vs: &VectorSelector,
    hints: &SelectHints,
) -> Result<Vec<StoredSeries>, QueryError> {
    let ms = matchers(vs)?;
    querier
        .select(false, Some(hints), &ms)?
        .map(|s| s.map_err(QueryError::from))
        .collect()
}

/// Evaluates an instant vector selector over one stored series: one point per step that
/// finds a sample within the lookback window. Also returns the number of samples read.
/// With `sample_timestamps`, point values are the samples' own timestamps in seconds
/// (for `timestamp()`), as Prometheus does.
pub(crate) fn instant_points(
    series: &StoredSeries,
    times: &EvalTimes,
    lookback: i64,
    sample_timestamps: bool,
    out: &mut Vec<FPoint>,
) -> Result<u64, QueryError> {
    if times.contiguous(lookback) {
        return instant_points_dense(series, times, lookback, sample_timestamps, out);
    }
    let mut it = series.iter();
    let mut read = 0u64;
    // `prev`: newest sample at or before the current evaluation time.
    let mut prev: Option<(i64, f64)> = None;
    // `next`: the first sample after `prev` (not yet consumed).
    let mut next: Option<(i64, f64)> = match it.next() {
        ValueType::Float => Some(it.at()),
        ValueType::None => None,
        _ => None,
    };
    for i in 0..times.steps.len() {
        let te = times.at_step(i);
        let window_start = te - lookback; // exclusive
        if let Some((nt, _)) = next {
            if nt <= window_start {
                // Everything up to the window start is irrelevant: skip it (whole chunks
                // without decoding).
                prev = None;
                next = match it.seek(window_start + 1) {
                    ValueType::Float => Some(it.at()),
                    _ => None,
                };
            }
        }
        while let Some((nt, nv)) = next {
            if nt > te {
                break;
            }
            prev = Some((nt, nv));
            read += 1;
            next = match it.next() {
                ValueType::Float => Some(it.at()),
                _ => None,
            };
        }
        if let Some((pt, pv)) = prev {
            if pt > window_start && !is_stale_nan(pv) {
                let f = if sample_timestamps {
                    pt as f64 / 1000.0
                } else {
                    pv
                };
                out.push(FPoint {
                    t: times.steps.ts(i),
                    f,
                });
            }
        }
    }
    if let Some(e) = it.err() {
        return Err(QueryError::Storage(format!(
            "reading {}: {e}",
            series.labels()
        )));
    }
    Ok(read)
}

/// [`instant_points`] when the steps' lookback windows leave no gap: every sample of the
/// span is needed anyway, so the chunks are decoded straight through and the steps are
/// advanced as the samples go by.
fn instant_points_dense(
    series: &StoredSeries,
    times: &EvalTimes,
    lookback: i64,
    sample_timestamps: bool,
    out: &mut Vec<FPoint>,
) -> Result<u64, QueryError> {
    let n = times.steps.len();
    out.reserve(n);
    let mut i = 0;
    // The newest sample at or before step `i`'s evaluation time.
    let mut prev: Option<(i64, f64)> = None;
    let emit = |i: usize, prev: Option<(i64, f64)>, out: &mut Vec<FPoint>| {
        if let Some((pt, pv)) = prev {
            if pt > times.at_step(i) - lookback && !is_stale_nan(pv) {
                let f = if sample_timestamps {
                    pt as f64 / 1000.0
                } else {
                    pv
                };
                out.push(FPoint {
                    t: times.steps.ts(i),
                    f,
                });
            }
        }
    };
    let read = series
        .for_each_in(times.first() - lookback + 1, times.last(), |t, v| {
            while i < n && times.at_step(i) < t {
                emit(i, prev, out);
                i += 1;
            }
            prev = Some((t, v));
        })
        .map_err(|e| QueryError::Storage(format!("reading {}: {e}", series.labels())))?;
    while i < n {
        emit(i, prev, out);
        i += 1;
    }
    Ok(read)
}

/// The samples of one stored series that fall in at least one step's window
/// `(end_i - range, end_i]`, staleness markers removed. Returns how many samples the
/// windows hold together (a sample counts once per window it is in, as Prometheus counts
/// queryable samples).
pub(crate) fn range_points(
    series: &StoredSeries,
    times: &EvalTimes,
    range: i64,
    out: &mut Vec<FPoint>,
) -> Result<u64, QueryError> {
    if times.contiguous(range) {
        // The windows leave no gap: one span, decoded straight through. The windows
        // holding a sample at `t` are those ending in `[t, t + range)`: steps `a..b`.
        out.reserve(series.sample_count_hint(times.first() - range + 1, times.last()));
        // `a_end`/`b_start` cache step a's window end and step b's window start, so a
        // sample usually costs two comparisons (step times move only every few samples).
        let n = times.steps.len();
        let step_time = |i: usize| if i < n { times.at_step(i) } else { i64::MAX };
        let (mut a, mut b, mut in_windows) = (0usize, 0usize, 0u64);
        let (mut a_end, mut b_start) = (step_time(0), step_time(0).saturating_sub(range));
        series
            .for_each_in(times.first() - range + 1, times.last(), |t, v| {
                if is_stale_nan(v) {
                    return;
                }
                while a_end < t {
                    a += 1;
                    a_end = step_time(a);
                }
                while b_start < t {
                    b += 1;
                    b_start = step_time(b).saturating_sub(range);
                }
                in_windows += (b - a) as u64;
                out.push(FPoint { t, f: v });
            })
            .map_err(|e| QueryError::Storage(format!("reading {}: {e}", series.labels())))?;
        return Ok(in_windows);
    }
    let start = out.len();
    let mut it = series.iter();
    let n = times.steps.len();
    let mut j = 0; // the first window whose end is >= the current sample
    let mut vt = it.next();
    while vt != ValueType::None {
        let (t, v) = it.at();
        while j < n && times.at_step(j) < t {
            j += 1;
        }
        if j == n {
            break;
        }
        let end = times.at_step(j);
        if t <= end - range {
            // Before this window: skip to its start.
            vt = it.seek(end - range + 1);
            continue;
        }
        if !is_stale_nan(v) {
            out.push(FPoint { t, f: v });
        }
        vt = it.next();
    }
    if let Some(e) = it.err() {
        return Err(QueryError::Storage(format!(
            "reading {}: {e}",
            series.labels()
        )));
    }
    let ends: Vec<i64> = (0..times.steps.len()).map(|i| times.at_step(i)).collect();
    Ok(window_sample_count(&out[start..], &ends, range))
}

/// Samples summed over all steps' windows (Prometheus counts a sample once per window it
/// is in), computed with two pointers.
fn window_sample_count(points: &[FPoint], ends: &[i64], range: i64) -> u64 {
    let (mut lo, mut hi, mut total) = (0usize, 0usize, 0u64);
    for &end in ends {
        while hi < points.len() && points[hi].t <= end {
            hi += 1;
        }
        while lo < hi && points[lo].t <= end - range {
            lo += 1;
        }
        total += (hi - lo) as u64;
    }
    total
}

/// A series as the evaluator passes it on: labels plus points.
pub(crate) fn to_series(stored: &StoredSeries, floats: Vec<FPoint>) -> Series {
    Series::new(stored.labels().clone(), floats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_storage::chunkenc::stale_nan;
    use ember_storage::head::{Head, HeadOptions};
    use ember_storage::Labels;

    fn stored(samples: &[(i64, f64)]) -> StoredSeries {
        let head = Head::in_memory(HeadOptions {
            stripes: 4,
            ..HeadOptions::default()
        });
        let mut app = head.appender();
        let l = Labels::from_pairs([("__name__", "x")]);
        for &(t, v) in samples {
            app.append(None, l.as_ref(), t, v).unwrap();
        }
        app.commit().unwrap();
        let q = head.querier(i64::MIN, i64::MAX);
        let m = Matcher::new(MatchOp::Equal, "__name__", "x").unwrap();
        let mut set = q.select(false, None, &[m]).unwrap();
        set.next().unwrap().unwrap()
    }

    fn times(start: i64, end: i64, step: i64) -> EvalTimes {
        EvalTimes {
            steps: Steps::range(start, end, step),
            at: None,
            offset: 0,
        }
    }

    #[test]
    fn lookback_is_left_open_and_stale_markers_end_a_series() {
        let s = stored(&[
            (0, 1.0),
            (10_000, 2.0),
            (20_000, stale_nan()),
            (40_000, 4.0),
        ]);
        let mut out = Vec::new();
        instant_points(&s, &times(0, 60_000, 5_000), 15_000, false, &mut out).unwrap();
        let got: Vec<(i64, f64)> = out.iter().map(|p| (p.t, p.f)).collect();
        // t=0..10s: 1; t=10s..15s: 2 (at 25s the newest sample is the stale marker);
        // 40s..54s: 4; at 55s the sample at 40s is exactly lookback old: excluded.
        assert_eq!(
            got,
            [
                (0, 1.0),
                (5_000, 1.0),
                (10_000, 2.0),
                (15_000, 2.0),
                (40_000, 4.0),
                (45_000, 4.0),
                (50_000, 4.0)
            ]
        );
    }

    #[test]
    fn offset_and_at_shift_the_evaluation_time() {
        let s = stored(&[(0, 1.0), (10_000, 2.0), (20_000, 3.0)]);
        let mut out = Vec::new();
        let t = EvalTimes {
            steps: Steps::range(20_000, 30_000, 10_000),
            at: None,
            offset: 10_000,
        };
        instant_points(&s, &t, 300_000, false, &mut out).unwrap();
        assert_eq!(
            out,
            [FPoint { t: 20_000, f: 2.0 }, FPoint { t: 30_000, f: 3.0 }]
        );
        out.clear();
        let t = EvalTimes {
            steps: Steps::range(20_000, 30_000, 10_000),
            at: Some(0),
            offset: 0,
        };
        instant_points(&s, &t, 300_000, true, &mut out).unwrap();
        assert_eq!(
            out,
            [FPoint { t: 20_000, f: 0.0 }, FPoint { t: 30_000, f: 0.0 }]
        );
    }

    #[test]
    fn range_keeps_only_samples_in_some_window() {
        let pts: Vec<(i64, f64)> = (0..100).map(|i| (i * 1000, i as f64)).collect();
        let s = stored(&pts);
        let mut out = Vec::new();
        // Windows (5s,10s], (45s,50s], (85s,90s].
        range_points(&s, &times(10_000, 90_000, 40_000), 5_000, &mut out).unwrap();
        let ts: Vec<i64> = out.iter().map(|p| p.t / 1000).collect();
        assert_eq!(ts, [6, 7, 8, 9, 10, 46, 47, 48, 49, 50, 86, 87, 88, 89, 90]);
    }

    /// Both ways of reading (straight through when windows touch, seeking when they leave
    /// gaps) agree with the definitions: a sample is kept when some window holds it, and
    /// counted once per window holding it; a step's point is its lookback's newest sample.
    #[test]
    fn dense_and_seeking_reads_agree_with_the_definitions() {
        // Irregular times, a stale marker, a gap.
        let mut pts: Vec<(i64, f64)> = Vec::new();
        let mut t = 0;
        for i in 0..400i64 {
            t += 1_000 + (i * 7919 % 13) * 500;
            if (150..170).contains(&i) {
                t += 20_000;
            }
            let v = if i == 77 { stale_nan() } else { i as f64 };
            pts.push((t, v));
        }
        let s = stored(&pts);
        for (step, width, offset, at) in [
            (5_000, 20_000, 0, None),
            (20_000, 20_000, 3_000, None),
            (30_000, 20_000, 0, None),
            (61_000, 7_000, -5_000, None),
            (10_000, 60_000, 0, Some(150_000)),
        ] {
            let tm = EvalTimes {
                steps: Steps::range(4_000, t + 30_000, step),
                at,
                offset,
            };
            let ends: Vec<i64> = (0..tm.steps.len()).map(|i| tm.at_step(i)).collect();
            let case = format!("step {step} width {width} offset {offset} at {at:?}");

            let mut out = Vec::new();
            let count = range_points(&s, &tm, width, &mut out).unwrap();
            let in_window = |t: i64| ends.iter().filter(|&&e| e - width < t && t <= e).count();
            let want: Vec<FPoint> = pts
                .iter()
                .filter(|&&(t, v)| in_window(t) > 0 && !is_stale_nan(v))
                .map(|&(t, f)| FPoint { t, f })
                .collect();
            assert_eq!(out, want, "{case}");
            let want_count: usize = want.iter().map(|p| in_window(p.t)).sum();
            assert_eq!(count as usize, want_count, "{case}");

            let mut out = Vec::new();
            instant_points(&s, &tm, width, false, &mut out).unwrap();
            let want: Vec<FPoint> = ends
                .iter()
                .enumerate()
                .filter_map(|(i, &e)| {
                    let &(t, v) = pts.iter().rev().find(|&&(t, _)| t <= e)?;
                    (t > e - width && !is_stale_nan(v)).then(|| FPoint {
                        t: tm.steps.ts(i),
                        f: v,
                    })
                })
                .collect();
            assert_eq!(out, want, "{case}");
        }
    }
}
