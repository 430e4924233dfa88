//! Tests of [`call`]: each function's value at every step against hand-computed
//! expectations from Prometheus's documented semantics (the arithmetic is in the
//! comments), and the optimised sliding-window functions against naive per-step
//! reference implementations.

use ember_storage::Labels;
use promql_parser::parser::Expr;
use proptest::prelude::*;

use super::*;
use crate::value::FPoint;

const MIN: i64 = 60_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series::new(
        labels(pairs),
        points.iter().map(|&(t, f)| FPoint { t, f }).collect(),
    )
}

/// Samples `v0, v1, ...` every `interval` ms from 0.
fn evenly(pairs: &[(&str, &str)], interval: i64, values: &[f64]) -> Series {
    let pts: Vec<(i64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64 * interval, v))
        .collect();
    series(pairs, &pts)
}

/// A range argument over `steps` with no offset.
fn range_arg(series: Vec<Series>, range: i64, steps: Steps) -> StepValue {
    StepValue::Range(RangeValue {
        series,
        range,
        window_ends: steps.iter().collect(),
    })
}

fn scalar_arg(v: f64, steps: Steps) -> StepValue {
    StepValue::Scalar(vec![v; steps.len()])
}

fn string_arg(s: &str) -> StepValue {
    StepValue::String(s.to_string())
}

/// Runs `query`'s function (the query supplies the argument expressions, for `absent`'s
/// labels) on `args`.
struct Run {
    delayed: bool,
    annotations: Annotations,
}

impl Run {
    fn new() -> Run {
        Run {
            delayed: false,
            annotations: Annotations::new(),
        }
    }

    fn delayed() -> Run {
        Run {
            delayed: true,
            annotations: Annotations::new(),
        }
    }

    fn call(
        &mut self,
        query: &str,
        steps: Steps,
        args: Vec<StepValue>,
    ) -> Result<StepValue, QueryError> {
        let expr = promql_parser::parser::parse(query).expect("query parses");
        let Expr::Call(c) = &expr else {
            panic!("{query} is not a call");
        };
        let positions = Positions::default();
        let mut ctx = FnCtx {
            steps,
            arg_exprs: &c.args.args,
            call_pos: None,
            positions: &positions,
            annotations: &mut self.annotations,
            delayed_name_removal: self.delayed,
        };
        call(c.func.name, args, &mut ctx)
    }

    fn vector(&mut self, query: &str, steps: Steps, args: Vec<StepValue>) -> Vec<Series> {
        match self.call(query, steps, args) {
            Ok(StepValue::Vector(v)) => v,
            other => panic!("{query}: {other:?}"),
        }
    }

    fn warnings(&self) -> Vec<&str> {
        self.annotations.warnings().collect()
    }

    fn infos(&self) -> Vec<&str> {
        self.annotations.infos().collect()
    }
}

/// The single sample of a one-step result, by series.
fn instant(out: &[Series]) -> Vec<(String, f64)> {
    out.iter()
        .map(|s| {
            assert_eq!(s.floats.len(), 1, "{s:?}");
            (s.metric.to_string(), s.floats[0].f)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

// ---------------------------------------------------------------- rate and friends

#[test]
fn rate_with_a_counter_reset_in_the_middle() {
    // 0 27 54 81 108 | 0 27 54 81 108 135 every 5m; rate(x[50m]) at 50m.
    // Window (0, 50m]: 10 samples from 27@5m to 135@50m with one reset (108 → 0).
    // increase = 135 - 27 + 108 = 216. Sampled 2700s, average spacing 300s; 300s to the
    // start (< 1.1·300: extrapolate fully; a zero point 2700·27/216 = 337.5s away is
    // further), 0s to the end: 216 · 3000/2700 / 3000s = 0.08.
    let vals = [0., 27., 54., 81., 108., 0., 27., 54., 81., 108., 135.];
    let x = evenly(&[("__name__", "x_total")], 5 * MIN, &vals);
    let steps = Steps::instant(50 * MIN);
    let mut r = Run::new();
    let out = r.vector(
        "rate(x_total[50m])",
        steps,
        vec![range_arg(vec![x], 50 * MIN, steps)],
    );
    assert_eq!(instant(&out), [("{}".to_string(), 0.08)]);
    assert!(r.infos().is_empty(), "_total is a counter name");
}

#[test]
fn increase_does_not_extrapolate_below_zero() {
    // 1 11 21 ... 101 every 5m, increase(x[100m]) at 50m: all 11 samples, increase 100
    // over 3000s. The start is 3000s away (beyond 1.1 spacings: extrapolate half a spacing,
    // 150s), but the counter would reach zero 3000·1/100 = 30s before the first sample:
    // 100 · 3030/3000 = 101.
    let vals: Vec<f64> = (0..11).map(|i| 1.0 + 10.0 * i as f64).collect();
    let x = evenly(&[("__name__", "x_total")], 5 * MIN, &vals);
    let steps = Steps::instant(50 * MIN);
    let out = Run::new().vector(
        "increase(x_total[100m])",
        steps,
        vec![range_arg(vec![x], 100 * MIN, steps)],
    );
    assert!(close(instant(&out)[0].1, 101.0));
    // Starting at 10: zero is 3000·10/100 = 300s away, more than 150s: 100 · 3150/3000.
    let vals: Vec<f64> = (0..11).map(|i| 10.0 + 10.0 * i as f64).collect();
    let x = evenly(&[("__name__", "x_total")], 5 * MIN, &vals);
    let out = Run::new().vector(
        "increase(x_total[100m])",
        steps,
        vec![range_arg(vec![x], 100 * MIN, steps)],
    );
    assert!(close(instant(&out)[0].1, 105.0));
}

#[test]
fn delta_extrapolates_a_gauge() {
    // 0 50 100 150 200 every 5m; delta(x[20m]) at 20m: window (0, 20m] = 50..200, change
    // 150 over 900s, 300s to the start (within 1.1 spacings), 0 to the end:
    // 150 · 1200/900 = 200. Decreasing: -200.
    let up = evenly(&[("path", "/foo")], 5 * MIN, &[0., 50., 100., 150., 200.]);
    let down = evenly(&[("path", "/bar")], 5 * MIN, &[200., 150., 100., 50., 0.]);
    let steps = Steps::instant(20 * MIN);
    let out = Run::new().vector(
        "delta(x[20m])",
        steps,
        vec![range_arg(vec![up, down], 20 * MIN, steps)],
    );
    assert_eq!(
        instant(&out),
        [
            ("{path=\"/foo\"}".to_string(), 200.0),
            ("{path=\"/bar\"}".to_string(), -200.0)
        ]
    );
}

#[test]
fn rate_needs_two_samples_and_warns_about_non_counters() {
    let x = evenly(&[("__name__", "requests")], 5 * MIN, &[1.0, 2.0]);
    // One sample in (0, 5m] → no result; two in (−5m, 5m] → a result and the info.
    let steps = Steps::range(5 * MIN, 5 * MIN, MIN);
    let mut r = Run::new();
    let out = r.vector(
        "rate(requests[5m])",
        steps,
        vec![range_arg(vec![x.clone()], 5 * MIN, steps)],
    );
    assert!(out.is_empty());
    assert!(r.infos().is_empty(), "no info without a result");
    let out = r.vector(
        "rate(requests[10m])",
        steps,
        vec![range_arg(vec![x], 10 * MIN, steps)],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(
        r.infos(),
        ["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"requests\""]
    );
}

#[test]
fn irate_and_idelta_use_the_last_two_samples() {
    // 0 10 20 5 at 0, 5, 10, 15m (a counter reset at 15m).
    let x = evenly(&[], 5 * MIN, &[0.0, 10.0, 20.0, 5.0]);
    let steps = Steps::range(10 * MIN, 15 * MIN, 5 * MIN);
    // At 10m: 10 → 20 over 300s: irate 1/30, idelta 10. At 15m: 20 → 5 is a reset for
    // irate (5 since the reset: 5/300) and -15 for idelta.
    let out = Run::new().vector(
        "irate(x[20m])",
        steps,
        vec![range_arg(vec![x.clone()], 20 * MIN, steps)],
    );
    let got: Vec<f64> = out[0].floats.iter().map(|p| p.f).collect();
    assert_eq!(got, [10.0 / 300.0, 5.0 / 300.0]);
    let out = Run::new().vector(
        "idelta(x[20m])",
        steps,
        vec![range_arg(vec![x], 20 * MIN, steps)],
    );
    let got: Vec<f64> = out[0].floats.iter().map(|p| p.f).collect();
    assert_eq!(got, [10.0, -15.0]);
    // NaN: 1 NaN → NaN.
    let nan = evenly(&[], 5 * MIN, &[1.0, f64::NAN]);
    let steps = Steps::instant(5 * MIN);
    let out = Run::new().vector(
        "irate(x[20m])",
        steps,
        vec![range_arg(vec![nan], 20 * MIN, steps)],
    );
    assert!(out[0].floats[0].f.is_nan());
}

/// Least squares the textbook way (no compensation), for reference.
fn naive_regression(pts: &[FPoint], origin: i64) -> (f64, f64) {
    let n = pts.len() as f64;
    let xs: Vec<f64> = pts.iter().map(|p| (p.t - origin) as f64 / 1000.0).collect();
    let mx = xs.iter().sum::<f64>() / n;
    let my = pts.iter().map(|p| p.f).sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(pts).map(|(x, p)| (x - mx) * (p.f - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

#[test]
fn deriv_and_predict_linear() {
    // 0 10 20 30 40 0 10 20 30 40 50 every 5m. deriv over all 11 samples: the slope
    // computed in Prometheus's test data is 0.010606060606060607 per second.
    let vals = [0., 10., 20., 30., 40., 0., 10., 20., 30., 40., 50.];
    let x = evenly(&[("__name__", "x")], 5 * MIN, &vals);
    let steps = Steps::instant(50 * MIN);
    let out = Run::new().vector(
        "deriv(x[100m])",
        steps,
        vec![range_arg(vec![x.clone()], 100 * MIN, steps)],
    );
    assert!(close(out[0].floats[0].f, 0.010606060606060607));
    assert!(out[0].metric.is_empty(), "deriv drops the name");
    // predict_linear(x[50m], 3600) at 50m over the 10 samples of (0, 50m], the intercept
    // at the evaluation time: slope·3600 + value at 50m.
    let out = Run::new().vector(
        "predict_linear(x[50m], 3600)",
        steps,
        vec![
            range_arg(vec![x.clone()], 50 * MIN, steps),
            scalar_arg(3600.0, steps),
        ],
    );
    let (slope, intercept) = naive_regression(&x.floats[1..], 50 * MIN);
    assert!(close(out[0].floats[0].f, slope * 3600.0 + intercept));
    assert!(close(out[0].floats[0].f, 70.0));
    // With `@ 3000` the window stays at (−5m, 50m] but the intercept moves with the step:
    // at 10m, the prediction is for 600 + 3600 s.
    let steps = Steps::instant(10 * MIN);
    let rv = RangeValue {
        series: vec![x.clone()],
        range: 55 * MIN,
        window_ends: vec![50 * MIN],
    };
    let out = Run::new().vector(
        "predict_linear(x[55m] @ 3000, 3600)",
        steps,
        vec![StepValue::Range(rv), scalar_arg(3600.0, steps)],
    );
    let (slope, intercept) = naive_regression(&x.floats, 10 * MIN);
    assert!(close(out[0].floats[0].f, slope * 3600.0 + intercept));
    assert!(close(out[0].floats[0].f, 51.36363636363637));
    // A constant ±Inf gives NaN; a constant finite value slope 0.
    let inf = evenly(&[], MIN, &[f64::INFINITY; 3]);
    let steps = Steps::instant(2 * MIN);
    let out = Run::new().vector(
        "deriv(x[5m])",
        steps,
        vec![range_arg(vec![inf], 5 * MIN, steps)],
    );
    assert!(out[0].floats[0].f.is_nan());
}

#[test]
fn changes_and_resets() {
    // 1 2 3 0 1 0 0 1 2 0 every 5m (Prometheus's /foo series), at 50m... the samples sit
    // at 0..45m; window (0, 50m] drops the first: 2 3 0 1 0 0 1 2 0.
    // changes: 2→3, 3→0, 0→1, 1→0, 0→1, 1→2, 2→0 = 7 (0→0 is not a change);
    // resets: 3→0, 1→0, 2→0 = 3.
    let x = evenly(&[], 5 * MIN, &[1., 2., 3., 0., 1., 0., 0., 1., 2., 0.]);
    let steps = Steps::instant(50 * MIN);
    let out = Run::new().vector(
        "changes(x[50m])",
        steps,
        vec![range_arg(vec![x.clone()], 50 * MIN, steps)],
    );
    assert_eq!(out[0].floats[0].f, 7.0);
    let out = Run::new().vector(
        "resets(x[50m])",
        steps,
        vec![range_arg(vec![x.clone()], 50 * MIN, steps)],
    );
    assert_eq!(out[0].floats[0].f, 3.0);
    // A single sample: 0 changes.
    let out = Run::new().vector(
        "changes(x[5m])",
        Steps::instant(45 * MIN),
        vec![range_arg(vec![x], 5 * MIN, Steps::instant(45 * MIN))],
    );
    assert_eq!(out[0].floats[0].f, 0.0);
    // NaN to NaN is no change: 0 NaN 0 → 2, NaN NaN NaN → 0.
    let a = evenly(&[("a", "c")], 5 * MIN, &[0.0, f64::NAN, 0.0]);
    let b = evenly(&[("a", "b")], 5 * MIN, &[f64::NAN; 3]);
    let steps = Steps::instant(15 * MIN);
    let out = Run::new().vector(
        "changes(x[20m])",
        steps,
        vec![range_arg(vec![a, b], 20 * MIN, steps)],
    );
    assert_eq!(
        instant(&out),
        [
            ("{a=\"c\"}".to_string(), 2.0),
            ("{a=\"b\"}".to_string(), 0.0)
        ]
    );
}

#[test]
fn double_exponential_smoothing() {
    // A straight line is smoothed to itself: 0 10 20 ... every 10s, sf 0.5, tf 0.5.
    // s1 = 0, b = 10; i=1: x=5, y=0.5·(0+10)=5 → s1=10; i=2: b=0.5·(10-0)+0.5·10=10,
    // x=10, y=0.5·(10+10)=10 → 20; ... so the result is the last value.
    let x = evenly(&[], 10_000, &[0., 10., 20., 30., 40.]);
    let steps = Steps::instant(40_000);
    let out = Run::new().vector(
        "double_exponential_smoothing(x[1m], 0.5, 0.5)",
        steps,
        vec![
            range_arg(vec![x.clone()], MIN, steps),
            scalar_arg(0.5, steps),
            scalar_arg(0.5, steps),
        ],
    );
    assert_eq!(out[0].floats[0].f, 40.0);
    let err = Run::new()
        .call(
            "double_exponential_smoothing(x[1m], 1, 0.5)",
            steps,
            vec![
                range_arg(vec![x.clone()], MIN, steps),
                scalar_arg(1.0, steps),
                scalar_arg(0.5, steps),
            ],
        )
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::exec("invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000")
    );
    let err = Run::new()
        .call(
            "double_exponential_smoothing(x[1m], 0.5, 0)",
            steps,
            vec![
                range_arg(vec![x], MIN, steps),
                scalar_arg(0.5, steps),
                scalar_arg(0.0, steps),
            ],
        )
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::exec("invalid trend factor. Expected: 0 < tf < 1, got: 0.000000")
    );
}

// ------------------------------------------------- sliding windows vs. per-step reference

/// Prometheus's rate/increase/delta written directly from its definition, per step, over
/// the window found by binary search.
fn reference_extrapolated(
    rv: &RangeValue,
    s: &Series,
    i: usize,
    counter: bool,
    per_second: bool,
) -> Option<f64> {
    let w = rv.window(&s.floats, i);
    if w.len() < 2 {
        return None;
    }
    let end = rv.window_ends[i];
    let start = end - rv.range;
    let mut result = w[w.len() - 1].f - w[0].f;
    if counter {
        for pair in w.windows(2) {
            if pair[1].f < pair[0].f {
                result += pair[0].f;
            }
        }
    }
    let mut to_start = (w[0].t - start) as f64 / 1000.0;
    let mut to_end = (end - w[w.len() - 1].t) as f64 / 1000.0;
    let sampled = (w[w.len() - 1].t - w[0].t) as f64 / 1000.0;
    let avg = sampled / (w.len() - 1) as f64;
    if to_start >= avg * 1.1 {
        to_start = avg / 2.0;
    }
    if counter && result > 0.0 && w[0].f >= 0.0 {
        to_start = to_start.min(sampled * (w[0].f / result));
    }
    if to_end >= avg * 1.1 {
        to_end = avg / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if per_second {
        factor /= numeric::duration_seconds(rv.range);
    }
    Some(result * factor)
}

fn reference_changes(w: &[FPoint], resets: bool) -> f64 {
    w.windows(2)
        .filter(|p| {
            if resets {
                p[1].f < p[0].f
            } else {
                p[1].f != p[0].f && !(p[1].f.is_nan() && p[0].f.is_nan())
            }
        })
        .count() as f64
}

fn arb_series() -> impl Strategy<Value = Vec<FPoint>> {
    // Timestamps with irregular gaps; values that reset now and then.
    prop::collection::vec(
        (1i64..40_000, -5.0f64..100.0, prop::bool::weighted(0.15)),
        0..60,
    )
    .prop_map(|v| {
        let (mut t, mut f) = (0i64, 0.0f64);
        v.into_iter()
            .map(|(dt, inc, reset)| {
                t += dt;
                f = if reset { inc.abs() } else { f + inc.abs() };
                FPoint { t, f }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn sliding_windows_match_per_step_reference(
        pts in arb_series(),
        range in 1i64..200_000,
        start in -50_000i64..400_000,
        interval in 1i64..60_000,
        n in 1usize..40,
        offset in 0i64..100_000,
    ) {
        let steps = Steps::range(start, start + interval * (n as i64 - 1), interval);
        let rv = RangeValue {
            series: vec![Series::new(labels(&[("__name__", "x_total")]), pts.clone())],
            range,
            window_ends: steps.iter().map(|t| t - offset).collect(),
        };
        let s = &rv.series[0];
        for (name, counter, per_second) in [("rate", true, true), ("increase", true, false), ("delta", false, false)] {
            let out = Run::new().vector(&format!("{name}(x_total[1m])"), steps, vec![StepValue::Range(rv.clone())]);
            let got: Vec<(i64, f64)> = out.iter().flat_map(|s| s.floats.iter().map(|p| (p.t, p.f))).collect();
            let want: Vec<(i64, f64)> = (0..steps.len())
                .filter_map(|i| reference_extrapolated(&rv, s, i, counter, per_second).map(|v| (steps.ts(i), v)))
                .collect();
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert_eq!(g.0, w.0);
                prop_assert!(g.1.to_bits() == w.1.to_bits(), "{} {:?} {:?}", name, g, w);
            }
        }
        for (name, resets) in [("changes", false), ("resets", true)] {
            let out = Run::new().vector(&format!("{name}(x[1m])"), steps, vec![StepValue::Range(rv.clone())]);
            let got: Vec<(i64, f64)> = out.iter().flat_map(|s| s.floats.iter().map(|p| (p.t, p.f))).collect();
            let want: Vec<(i64, f64)> = (0..steps.len())
                .filter_map(|i| {
                    let w = rv.window(&s.floats, i);
                    (!w.is_empty()).then(|| (steps.ts(i), reference_changes(w, resets)))
                })
                .collect();
            prop_assert_eq!(got, want);
        }
        // Window aggregates: count, sum, last against the slices RangeValue::window gives.
        let out = Run::new().vector("count_over_time(x[1m])", steps, vec![StepValue::Range(rv.clone())]);
        let got: Vec<(i64, f64)> = out.iter().flat_map(|s| s.floats.iter().map(|p| (p.t, p.f))).collect();
        let want: Vec<(i64, f64)> = (0..steps.len())
            .filter_map(|i| {
                let w = rv.window(&s.floats, i);
                (!w.is_empty()).then(|| (steps.ts(i), w.len() as f64))
            })
            .collect();
        prop_assert_eq!(got, want);
    }
}

// ------------------------------------------------------------------------ over time

#[test]
fn over_time_aggregations() {
    // data 2 0 3 every 10s, at 1m over [2m]: all three.
    let d = evenly(
        &[("__name__", "data"), ("type", "numbers")],
        10_000,
        &[2.0, 0.0, 3.0],
    );
    let steps = Steps::instant(MIN);
    let run = |q: &str, extra: Vec<StepValue>| {
        let mut args = extra;
        args.push(range_arg(vec![d.clone()], 2 * MIN, steps));
        let mut r = Run::new();
        instant(&r.vector(q, steps, args))[0].clone()
    };
    let v = |q: &str| run(q, vec![]).1;
    assert_eq!(v("min_over_time(data[2m])"), 0.0);
    assert_eq!(v("max_over_time(data[2m])"), 3.0);
    assert_eq!(v("sum_over_time(data[2m])"), 5.0);
    assert_eq!(v("count_over_time(data[2m])"), 3.0);
    assert!(close(v("avg_over_time(data[2m])"), 5.0 / 3.0));
    // Variance: mean 5/3; deviations 1/3, -5/3, 4/3 → squares 1/9 + 25/9 + 16/9 = 42/9;
    // /3 = 14/9.
    assert!(close(v("stdvar_over_time(data[2m])"), 14.0 / 9.0));
    assert!(close(
        v("stddev_over_time(data[2m])"),
        (14.0f64 / 9.0).sqrt()
    ));
    assert_eq!(v("present_over_time(data[2m])"), 1.0);
    assert_eq!(v("ts_of_min_over_time(data[2m])"), 10.0);
    assert_eq!(v("ts_of_max_over_time(data[2m])"), 20.0);
    assert_eq!(v("ts_of_first_over_time(data[2m])"), 0.0);
    assert_eq!(v("ts_of_last_over_time(data[2m])"), 20.0);
    // Sorted 0 2 3: median 2; deviations 2 0 1 → median 1.
    assert_eq!(v("mad_over_time(data[2m])"), 1.0);
    // quantile 0.75: rank 1.5 between 2 and 3 → 2.5.
    assert_eq!(
        run(
            "quantile_over_time(0.75, data[2m])",
            vec![scalar_arg(0.75, steps)]
        )
        .1,
        2.5
    );
    // Names: last/first keep it, the others drop it.
    assert_eq!(
        run("last_over_time(data[2m])", vec![]),
        ("{__name__=\"data\", type=\"numbers\"}".into(), 3.0)
    );
    assert_eq!(
        run("first_over_time(data[2m])", vec![]),
        ("{__name__=\"data\", type=\"numbers\"}".into(), 2.0)
    );
    assert_eq!(
        run("max_over_time(data[2m])", vec![]).0,
        "{type=\"numbers\"}"
    );
}

#[test]
fn quantile_over_time_warns_once_per_bad_quantile() {
    let d = evenly(&[], 10_000, &[0.0, 1.0]);
    let steps = Steps::range(10_000, 20_000, 10_000);
    let mut r = Run::new();
    let out = r.vector(
        "quantile_over_time(2, x[1m])",
        steps,
        vec![
            scalar_arg(2.0, steps),
            range_arg(vec![d.clone()], MIN, steps),
        ],
    );
    assert_eq!(
        out[0].floats.iter().map(|p| p.f).collect::<Vec<_>>(),
        [f64::INFINITY; 2]
    );
    assert_eq!(
        r.warnings(),
        ["PromQL warning: quantile value should be between 0 and 1, got 2"]
    );
    // No samples, no warning.
    let mut r = Run::new();
    r.vector(
        "quantile_over_time(2, x[1m])",
        steps,
        vec![scalar_arg(2.0, steps), range_arg(vec![], MIN, steps)],
    );
    assert!(r.warnings().is_empty());
}

#[test]
fn last_over_time_keeps_a_name_marked_for_dropping() {
    // A subquery over abs(x) hands over series already marked to lose their name.
    let mut s = evenly(&[("__name__", "x")], MIN, &[1.0, 2.0]);
    s.drop_name = true;
    let steps = Steps::instant(MIN);
    let out = Run::delayed().vector(
        "last_over_time(x[5m])",
        steps,
        vec![range_arg(vec![s.clone()], 5 * MIN, steps)],
    );
    assert!(out[0].drop_name);
    let out = Run::new().vector(
        "last_over_time(x[5m])",
        steps,
        vec![range_arg(vec![s], 5 * MIN, steps)],
    );
    assert!(out[0].metric.is_empty());
}

#[test]
fn absent_over_time_labels_and_gaps() {
    // Samples at 0 and 1m; [30s] windows: present at steps 0 and 1m, absent at 2m and 3m.
    let x = series(&[("__name__", "x"), ("job", "a")], &[(0, 1.0), (MIN, 1.0)]);
    let steps = Steps::range(0, 3 * MIN, MIN);
    let out = Run::new().vector(
        "absent_over_time(x{job=\"a\",instance=~\"i.*\"}[30s])",
        steps,
        vec![range_arg(vec![x.clone()], 30_000, steps)],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].metric, labels(&[("job", "a")]));
    assert_eq!(
        out[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
        [2 * MIN, 3 * MIN]
    );
    // Present at every step: nothing.
    let steps = Steps::range(0, MIN, MIN);
    let out = Run::new().vector(
        "absent_over_time(x[30s])",
        steps,
        vec![range_arg(vec![x], 30_000, steps)],
    );
    assert!(out.is_empty());
}

// --------------------------------------------------------------------- per-sample

#[test]
fn per_sample_functions_drop_the_name() {
    let x = series(&[("__name__", "x"), ("a", "b")], &[(0, -2.5), (MIN, 2.5)]);
    let steps = Steps::range(0, MIN, MIN);
    let vals = |out: &[Series]| out[0].floats.iter().map(|p| p.f).collect::<Vec<_>>();
    let mut r = Run::new();
    let out = r.vector("abs(x)", steps, vec![StepValue::Vector(vec![x.clone()])]);
    assert_eq!(vals(&out), [2.5, 2.5]);
    assert_eq!(out[0].metric, labels(&[("a", "b")]));
    // round: ties go up: -2.5 → -2, 2.5 → 3; to the nearest 2: -2.5/2+0.5 = -0.75 → -1 → -2.
    let out = r.vector("round(x)", steps, vec![StepValue::Vector(vec![x.clone()])]);
    assert_eq!(vals(&out), [-2.0, 3.0]);
    let out = r.vector(
        "round(x, 2)",
        steps,
        vec![StepValue::Vector(vec![x.clone()]), scalar_arg(2.0, steps)],
    );
    assert_eq!(vals(&out), [-2.0, 2.0]);
    let out = r.vector("sgn(x)", steps, vec![StepValue::Vector(vec![x.clone()])]);
    assert_eq!(vals(&out), [-1.0, 1.0]);
    // Delayed removal marks instead of removing.
    let out = Run::delayed().vector("ceil(x)", steps, vec![StepValue::Vector(vec![x.clone()])]);
    assert_eq!(vals(&out), [-2.0, 3.0]);
    assert!(out[0].drop_name);
    assert_eq!(out[0].metric.metric_name(), Some("x"));
    // deg(rad(v)) = v.
    let out = r.vector("rad(x)", steps, vec![StepValue::Vector(vec![x])]);
    assert!(close(vals(&out)[1], 2.5 * std::f64::consts::PI / 180.0));
}

#[test]
fn clamp_bounds_per_step() {
    let x = series(
        &[("src", "a")],
        &[(0, -50.0), (MIN, 100.0), (2 * MIN, f64::NAN)],
    );
    let steps = Steps::range(0, 2 * MIN, MIN);
    let vals = |out: &[Series]| out[0].floats.iter().map(|p| p.f).collect::<Vec<_>>();
    let out = Run::new().vector(
        "clamp(x, -25, 75)",
        steps,
        vec![
            StepValue::Vector(vec![x.clone()]),
            scalar_arg(-25.0, steps),
            scalar_arg(75.0, steps),
        ],
    );
    let v = vals(&out);
    assert_eq!(&v[..2], [-25.0, 75.0]);
    assert!(v[2].is_nan(), "a NaN sample stays NaN");
    // A NaN bound makes every result NaN; max < min removes the step.
    let out = Run::new().vector(
        "clamp(x, 0, NaN)",
        steps,
        vec![
            StepValue::Vector(vec![x.clone()]),
            scalar_arg(0.0, steps),
            scalar_arg(f64::NAN, steps),
        ],
    );
    assert!(vals(&out).iter().all(|v| v.is_nan()));
    let out = Run::new().vector(
        "clamp(x, 5, scalar(m))",
        steps,
        vec![
            StepValue::Vector(vec![x.clone()]),
            scalar_arg(5.0, steps),
            StepValue::Scalar(vec![10.0, -5.0, 10.0]),
        ],
    );
    assert_eq!(
        out[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
        [0, 2 * MIN]
    );
    let out = Run::new().vector(
        "clamp_min(x, 0)",
        steps,
        vec![StepValue::Vector(vec![x.clone()]), scalar_arg(0.0, steps)],
    );
    assert_eq!(&vals(&out)[..2], [0.0, 100.0]);
    let out = Run::new().vector(
        "clamp_max(x, 0)",
        steps,
        vec![StepValue::Vector(vec![x]), scalar_arg(0.0, steps)],
    );
    assert_eq!(&vals(&out)[..2], [-50.0, 0.0]);
}

#[test]
fn scalar_vector_time_pi() {
    let steps = Steps::range(0, 2 * MIN, MIN);
    let a = series(&[("l", "x")], &[(0, 1.0), (MIN, 1.0)]);
    let b = series(&[("l", "y")], &[(MIN, 2.0)]);
    match Run::new()
        .call("scalar(x)", steps, vec![StepValue::Vector(vec![a, b])])
        .unwrap()
    {
        // One sample at 0, two at 1m, none at 2m.
        StepValue::Scalar(v) => {
            assert_eq!(v[0], 1.0);
            assert!(v[1].is_nan() && v[2].is_nan());
        }
        other => panic!("{other:?}"),
    }
    let out = Run::new().vector("vector(1)", steps, vec![scalar_arg(1.0, steps)]);
    assert_eq!(out.len(), 1);
    assert!(out[0].metric.is_empty());
    assert_eq!(out[0].floats.len(), 3);
    assert_eq!(
        Run::new().call("time()", steps, vec![]).unwrap(),
        StepValue::Scalar(vec![0.0, 60.0, 120.0])
    );
    assert_eq!(
        Run::new().call("pi()", Steps::instant(0), vec![]).unwrap(),
        StepValue::Scalar(vec![std::f64::consts::PI])
    );
}

#[test]
fn timestamp_of_an_expression_is_the_step_time() {
    let x = series(&[("__name__", "x")], &[(5_000, 7.0)]);
    let out = Run::new().vector(
        "timestamp(abs(x))",
        Steps::instant(5_000),
        vec![StepValue::Vector(vec![x])],
    );
    assert_eq!(instant(&out), [("{}".to_string(), 5.0)]);
}

#[test]
fn dates() {
    // 1136239445 = 2006-01-02T22:04:05Z, a Monday.
    let steps = Steps::instant(0);
    let v = |name: &str| {
        let out = Run::new().vector(
            &format!("{name}(x)"),
            steps,
            vec![StepValue::Vector(vec![series(
                &[("__name__", "x")],
                &[(0, 1_136_239_445.0)],
            )])],
        );
        assert!(out[0].metric.is_empty());
        out[0].floats[0].f
    };
    assert_eq!(v("year"), 2006.0);
    assert_eq!(v("month"), 1.0);
    assert_eq!(v("day_of_month"), 2.0);
    assert_eq!(v("day_of_year"), 2.0);
    assert_eq!(v("day_of_week"), 1.0);
    assert_eq!(v("days_in_month"), 31.0);
    assert_eq!(v("hour"), 22.0);
    assert_eq!(v("minute"), 4.0);
    // Without an argument: the evaluation time (here 1970-01-01, a Thursday).
    let out = Run::new().vector("day_of_week()", Steps::instant(1_500), vec![]);
    assert_eq!(instant(&out), [("{}".to_string(), 4.0)]);
}

// -------------------------------------------------------------------------- labels

#[test]
fn label_replace_and_join() {
    let x = series(
        &[
            ("__name__", "testmetric"),
            ("src", "source-value-10"),
            ("dst", "original"),
        ],
        &[(0, 0.0)],
    );
    let steps = Steps::instant(0);
    let out = Run::new().vector(
        "label_replace(testmetric, \"dst\", \"destination-value-$1\", \"src\", \"source-value-(.*)\")",
        steps,
        vec![
            StepValue::Vector(vec![x.clone()]),
            string_arg("dst"),
            string_arg("destination-value-$1"),
            string_arg("src"),
            string_arg("source-value-(.*)"),
        ],
    );
    assert_eq!(out[0].metric.get("dst"), Some("destination-value-10"));
    assert_eq!(out[0].metric.metric_name(), Some("testmetric"));
    // An empty source label still matches `(.*)`; an empty result removes the label.
    let out = Run::new().vector(
        "label_replace(testmetric, \"dst\", \"\", \"dst\", \".*\")",
        steps,
        vec![
            StepValue::Vector(vec![x.clone()]),
            string_arg("dst"),
            string_arg(""),
            string_arg("dst"),
            string_arg(".*"),
        ],
    );
    assert_eq!(out[0].metric.get("dst"), None);
    let out = Run::new().vector(
        "label_join(testmetric, \"dst\", \"-\", \"src\", \"nope\", \"src\")",
        steps,
        vec![
            StepValue::Vector(vec![x.clone()]),
            string_arg("dst"),
            string_arg("-"),
            string_arg("src"),
            string_arg("nope"),
            string_arg("src"),
        ],
    );
    assert_eq!(
        out[0].metric.get("dst"),
        Some("source-value-10--source-value-10")
    );
    // Writing __name__ revives a name marked for dropping.
    let mut marked = x;
    marked.drop_name = true;
    let out = Run::delayed().vector(
        "label_join(x, \"__name__\", \"_\", \"__name__\", \"src\")",
        steps,
        vec![
            StepValue::Vector(vec![marked]),
            string_arg("__name__"),
            string_arg("_"),
            string_arg("__name__"),
            string_arg("src"),
        ],
    );
    assert_eq!(
        out[0].metric.metric_name(),
        Some("testmetric_source-value-10")
    );
    assert!(!out[0].drop_name);
}

#[test]
fn absent_labels_come_from_equality_matchers() {
    let steps = Steps::range(0, MIN, MIN);
    let check = |q: &str, want: &[(&str, &str)]| {
        let out = Run::new().vector(q, steps, vec![StepValue::Vector(vec![])]);
        assert_eq!(out.len(), 1, "{q}");
        assert_eq!(out[0].metric, labels(want), "{q}");
        assert_eq!(out[0].floats.len(), 2);
    };
    check("absent(nonexistent)", &[]);
    check(
        "absent(nonexistent{job=\"testjob\", instance=\"testinstance\", method=~\".x\"})",
        &[("instance", "testinstance"), ("job", "testjob")],
    );
    check(
        "absent(nonexistent{job=\"testjob\",job=\"testjob2\",foo=\"bar\"})",
        &[("foo", "bar")],
    );
    check(
        "absent(nonexistent{job=\"testjob\",job=~\"testjob2\",foo=\"bar\"})",
        &[("foo", "bar")],
    );
    check(
        "absent(nonexistent{job=~\"x\",job=\"testjob2\"})",
        &[("job", "testjob2")],
    );
    check("absent(sum(nonexistent{job=\"testjob\"}))", &[]);
    check("absent((nonexistent{job=\"a\"}))", &[("job", "a")]);
    // Present at one of two steps: absent at the other only.
    let x = series(&[("__name__", "x")], &[(MIN, 1.0)]);
    let out = Run::new().vector("absent(x)", steps, vec![StepValue::Vector(vec![x])]);
    assert_eq!(out[0].floats, [FPoint { t: 0, f: 1.0 }]);
}

// ---------------------------------------------------------------------------- sort

#[test]
fn sort_orders_an_instant_vector() {
    let steps = Steps::instant(0);
    let mk = |i: &str, v: f64| series(&[("i", i)], &[(0, v)]);
    let input = vec![mk("a", 3.0), mk("b", f64::NAN), mk("c", 1.0), mk("d", 2.0)];
    let order = |out: Vec<Series>| {
        out.iter()
            .map(|s| s.metric.get("i").unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let mut r = Run::new();
    assert_eq!(
        order(r.vector("sort(x)", steps, vec![StepValue::Vector(input.clone())])),
        ["c", "d", "a", "b"]
    );
    assert_eq!(
        order(r.vector(
            "sort_desc(x)",
            steps,
            vec![StepValue::Vector(input.clone())]
        )),
        ["a", "d", "c", "b"]
    );
    assert!(r.warnings().is_empty());
    // A range query: unchanged, with the warning.
    let steps = Steps::range(0, MIN, MIN);
    let out = r.vector("sort(x)", steps, vec![StepValue::Vector(input)]);
    assert_eq!(order(out), ["a", "b", "c", "d"]);
    assert_eq!(
        r.warnings(),
        ["PromQL warning: sort is ineffective for range queries since results are always ordered by labels"]
    );
}

#[test]
fn sort_by_label_natural_order() {
    let steps = Steps::instant(0);
    let mk = |cpu: &str, g: &str| series(&[("cpu", cpu), ("g", g)], &[(0, 1.0)]);
    let input = vec![
        mk("10", "b"),
        mk("2", "a"),
        mk("100", "a"),
        mk("1", "z"),
        mk("2", "0"),
    ];
    let order = |out: Vec<Series>| {
        out.iter()
            .map(|s| {
                format!(
                    "{}/{}",
                    s.metric.get("cpu").unwrap(),
                    s.metric.get("g").unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    let out = Run::new().vector(
        "sort_by_label(x, \"cpu\")",
        steps,
        vec![StepValue::Vector(input.clone()), string_arg("cpu")],
    );
    // Ties on cpu="2" are broken by the whole label set (g="0" < g="a").
    assert_eq!(order(out), ["1/z", "2/0", "2/a", "10/b", "100/a"]);
    let out = Run::new().vector(
        "sort_by_label_desc(x, \"cpu\")",
        steps,
        vec![StepValue::Vector(input), string_arg("cpu")],
    );
    assert_eq!(order(out), ["100/a", "10/b", "2/a", "2/0", "1/z"]);
}

// ----------------------------------------------------------------------- histograms

fn bucket(name: &str, le: &str, extra: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    let mut pairs = vec![("__name__", name), ("le", le)];
    pairs.extend_from_slice(extra);
    series(&pairs, points)
}

#[test]
fn histogram_quantile_groups_buckets_by_labels() {
    // Two histograms told apart by `start`; the second has its buckets as "1e0" / "+Inf".
    // positive: 0.1:5 0.2:7 1:11 +Inf:12 → q=0.5: rank 6 in (0.1, 0.2] holding 2, half way
    // → 0.15. negative: -0.2:1 -0.1:2 0.3:2 +Inf:3 → rank 1.5 in (-0.2, -0.1] holding 1,
    // half way → -0.15.
    let t = 0;
    let input = vec![
        bucket("h_bucket", "0.1", &[("start", "positive")], &[(t, 5.0)]),
        bucket("h_bucket", ".2", &[("start", "positive")], &[(t, 7.0)]),
        bucket("h_bucket", "1e0", &[("start", "positive")], &[(t, 11.0)]),
        bucket("h_bucket", "+Inf", &[("start", "positive")], &[(t, 12.0)]),
        bucket("h_bucket", "-.2", &[("start", "negative")], &[(t, 1.0)]),
        bucket("h_bucket", "-0.1", &[("start", "negative")], &[(t, 2.0)]),
        bucket("h_bucket", "0.3", &[("start", "negative")], &[(t, 2.0)]),
        bucket("h_bucket", "+Inf", &[("start", "negative")], &[(t, 3.0)]),
    ];
    let steps = Steps::instant(t);
    let mut r = Run::new();
    let out = r.vector(
        "histogram_quantile(0.5, h_bucket)",
        steps,
        vec![scalar_arg(0.5, steps), StepValue::Vector(input.clone())],
    );
    let got = instant(&out);
    assert_eq!(got[0].0, "{start=\"positive\"}");
    assert!(close(got[0].1, 0.15));
    assert_eq!(got[1].0, "{start=\"negative\"}");
    assert!(close(got[1].1, -0.15));
    assert!(r.warnings().is_empty() && r.infos().is_empty());
    // Out-of-range quantiles: ±Inf and a warning.
    let mut r = Run::new();
    let out = r.vector(
        "histogram_quantile(-0.1, h_bucket)",
        steps,
        vec![scalar_arg(-0.1, steps), StepValue::Vector(input.clone())],
    );
    assert!(instant(&out).iter().all(|(_, v)| *v == f64::NEG_INFINITY));
    assert_eq!(
        r.warnings(),
        ["PromQL warning: quantile value should be between 0 and 1, got -0.1"]
    );
    // histogram_quantiles labels each quantile.
    let out = Run::new().vector(
        "histogram_quantiles(h_bucket, \"q\", 0.5, 1)",
        steps,
        vec![
            StepValue::Vector(input.clone()),
            string_arg("q"),
            scalar_arg(0.5, steps),
            scalar_arg(1.0, steps),
        ],
    );
    let got = instant(&out);
    let names: Vec<&str> = got.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        names,
        [
            "{q=\"0.5\", start=\"positive\"}",
            "{q=\"0.5\", start=\"negative\"}",
            "{q=\"1.0\", start=\"positive\"}",
            "{q=\"1.0\", start=\"negative\"}"
        ]
    );
    // q=1: rank 12 (positive) is first reached at +Inf, so the result is the highest
    // finite bound, 1; rank 3 (negative: -0.2:1 -0.1:2 0.3:2 +Inf:3) likewise → 0.3.
    assert_eq!((got[2].1, got[3].1), (1.0, 0.3));
    // histogram_fraction(0, 0.2): positive: 0.2 is a bucket bound: 7 of 12.
    let out = Run::new().vector(
        "histogram_fraction(0, 0.2, h_bucket)",
        steps,
        vec![
            scalar_arg(0.0, steps),
            scalar_arg(0.2, steps),
            StepValue::Vector(input),
        ],
    );
    assert!(close(instant(&out)[0].1, 7.0 / 12.0));
}

#[test]
fn histogram_quantile_warnings_and_infos() {
    let steps = Steps::instant(50 * MIN);
    let t = 50 * MIN;
    let bad = vec![series(
        &[("__name__", "series"), ("le", "Hello World")],
        &[(t, 2.0)],
    )];
    let mut r = Run::delayed();
    let out = r.vector(
        "histogram_quantile(0.8, series)",
        steps,
        vec![scalar_arg(0.8, steps), StepValue::Vector(bad.clone())],
    );
    assert!(out.is_empty());
    assert_eq!(
        r.warnings(),
        ["PromQL warning: bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\""]
    );
    // Without delayed name removal the metric name is not reported.
    let mut r = Run::new();
    r.vector(
        "histogram_quantile(0.8, series)",
        steps,
        vec![scalar_arg(0.8, steps), StepValue::Vector(bad)],
    );
    assert_eq!(
        r.warnings(),
        ["PromQL warning: bucket label \"le\" is missing or has a malformed value of \"Hello World\""]
    );
    // Non-monotonic buckets (×10 at 50m): 0.1:20 1:10 10:50 100:40 1000:90 +Inf:80.
    let nm: Vec<Series> = [
        ("0.1", 20.0),
        ("1", 10.0),
        ("10", 50.0),
        ("100", 40.0),
        ("1000", 90.0),
        ("+Inf", 80.0),
    ]
    .iter()
    .map(|&(le, v)| bucket("nonmonotonic_bucket", le, &[], &[(t, v)]))
    .collect();
    let mut r = Run::new();
    let out = r.vector(
        "histogram_quantile(0.5, nonmonotonic_bucket)",
        steps,
        vec![scalar_arg(0.5, steps), StepValue::Vector(nm)],
    );
    assert_eq!(instant(&out)[0].1, 8.5);
    assert_eq!(
        r.infos(),
        ["PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile), from buckets 1 to +Inf, with a max diff of 10, over 1 samples from 1970-01-01T00:50:00Z to 1970-01-01T00:50:00Z"]
    );
    // An invalid quantile warns even without data.
    let mut r = Run::new();
    r.vector(
        "histogram_quantile(NaN, none)",
        steps,
        vec![scalar_arg(f64::NAN, steps), StepValue::Vector(vec![])],
    );
    assert_eq!(
        r.warnings(),
        ["PromQL warning: quantile value should be between 0 and 1, got NaN"]
    );
}

#[test]
fn native_only_functions_return_nothing_over_floats() {
    let steps = Steps::instant(0);
    let x = series(&[("__name__", "x")], &[(0, 1.0)]);
    for f in [
        "histogram_count",
        "histogram_sum",
        "histogram_avg",
        "histogram_stddev",
        "histogram_stdvar",
        "start_timestamp",
    ] {
        let out = Run::new().vector(
            &format!("{f}(x)"),
            steps,
            vec![StepValue::Vector(vec![x.clone()])],
        );
        assert!(out.is_empty(), "{f}");
    }
}

#[test]
fn wrong_arguments_are_errors_not_panics() {
    let steps = Steps::instant(0);
    let err = Run::new()
        .call("abs(x)", steps, vec![scalar_arg(1.0, steps)])
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::exec("abs(): argument 1 should be a vector, got scalar")
    );
    let err = Run::new().call("rate(x[5m])", steps, vec![]).unwrap_err();
    assert_eq!(
        err,
        QueryError::exec("rate(): missing argument 1 (a range vector)")
    );
}

#[test]
fn histogram_quantiles_with_a_quantile_that_changes_between_steps() {
    // One histogram 1:1 +Inf:2 at two steps; the quantile is 0.5 then 1: one output series
    // per label value. q=0.5: rank 1 reached at le=1 → 0 + 1·(1/1) = 1; q=1: rank 2 only
    // at +Inf → the highest finite bound, 1.
    let steps = Steps::range(0, MIN, MIN);
    let input = vec![
        bucket("h_bucket", "1", &[], &[(0, 1.0), (MIN, 1.0)]),
        bucket("h_bucket", "+Inf", &[], &[(0, 2.0), (MIN, 2.0)]),
    ];
    let out = Run::new().vector(
        "histogram_quantiles(h_bucket, \"q\", scalar(x))",
        steps,
        vec![
            StepValue::Vector(input),
            string_arg("q"),
            StepValue::Scalar(vec![0.5, 1.0]),
        ],
    );
    let got: Vec<(String, Vec<FPoint>)> = out
        .iter()
        .map(|s| (s.metric.to_string(), s.floats.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("{q=\"0.5\"}".to_string(), vec![FPoint { t: 0, f: 1.0 }]),
            ("{q=\"1.0\"}".to_string(), vec![FPoint { t: MIN, f: 1.0 }]),
        ]
    );
}
