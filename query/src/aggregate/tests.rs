//! Aggregation tests. Expected values are worked out by hand from Prometheus's documented
//! semantics (docs/querying/operators.md) and the algorithms described in each module;
//! the arithmetic is in the comments.

use super::*;
use ember_storage::labels;
use ember_storage::Labels;

use crate::value::FPoint;

fn series(metric: Labels, points: &[(i64, f64)]) -> Series {
    Series::new(
        metric,
        points.iter().map(|&(t, f)| FPoint { t, f }).collect(),
    )
}

/// One sample at t=0 per series.
fn instant(metrics: Vec<(Labels, f64)>) -> Vec<Series> {
    metrics
        .into_iter()
        .map(|(m, f)| series(m, &[(0, f)]))
        .collect()
}

struct Run {
    steps: Steps,
    annotations: Annotations,
}

impl Run {
    fn instant() -> Run {
        Run::steps(Steps::instant(0))
    }

    fn steps(steps: Steps) -> Run {
        Run {
            steps,
            annotations: Annotations::new(),
        }
    }

    fn agg(
        &mut self,
        op: u16,
        param: Option<StepValue>,
        input: Vec<Series>,
        grouping: Grouping,
    ) -> Result<Vec<Series>, QueryError> {
        let expr = promql_parser::parser::parse("sum(x)").unwrap();
        let positions = Positions::default();
        let mut ctx = AggCtx {
            steps: self.steps,
            expr: &expr,
            positions: &positions,
            annotations: &mut self.annotations,
            delayed_name_removal: false,
        };
        aggregate(TokenType::new(op), param, input, &grouping, &mut ctx)
    }

    fn scalar(&self, v: f64) -> Option<StepValue> {
        Some(StepValue::Scalar(vec![v; self.steps.len()]))
    }

    fn warnings(&self) -> Vec<String> {
        self.annotations.warnings().map(str::to_string).collect()
    }
}

/// (labels, value) of each instant result, in result order.
fn values(out: &[Series]) -> Vec<(String, f64)> {
    out.iter()
        .map(|s| {
            assert_eq!(s.floats.len(), 1, "{s:?}");
            (s.metric.to_string(), s.floats[0].f)
        })
        .collect()
}

fn sorted_values(out: &[Series]) -> Vec<(String, f64)> {
    let mut v = values(out);
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn by(names: &[&str]) -> Grouping {
    Grouping::By(names.iter().map(|s| s.to_string()).collect())
}

fn without(names: &[&str]) -> Grouping {
    Grouping::Without(names.iter().map(|s| s.to_string()).collect())
}

/// The eight `http_requests` series of Prometheus's aggregator tests at 50m: job api-server
/// or app-server, instance 0 or 1, group production or canary, values 100..800.
fn http_requests() -> Vec<Series> {
    let mut v = Vec::new();
    let mut f = 100.0;
    for job in ["api-server", "app-server"] {
        for group in ["production", "canary"] {
            for instance in ["0", "1"] {
                v.push((
                    labels!("__name__" => "http_requests", "group" => group, "instance" => instance, "job" => job),
                    f,
                ));
                f += 100.0;
            }
        }
    }
    instant(v)
}

#[test]
fn sum_by_without_and_all() {
    let mut r = Run::instant();
    // api-server: production 100 + 200 = 300, canary 300 + 400 = 700.
    let api: Vec<Series> = http_requests().into_iter().take(4).collect();
    let out = r.agg(T_SUM, None, api.clone(), by(&["group"])).unwrap();
    assert_eq!(
        values(&out),
        [
            ("{group=\"production\"}".to_string(), 300.0),
            ("{group=\"canary\"}".to_string(), 700.0)
        ]
    );
    // `without` drops the listed labels and the metric name.
    let out = r
        .agg(T_SUM, None, api.clone(), without(&["instance"]))
        .unwrap();
    assert_eq!(
        sorted_values(&out),
        [
            ("{group=\"canary\", job=\"api-server\"}".to_string(), 700.0),
            (
                "{group=\"production\", job=\"api-server\"}".to_string(),
                300.0
            )
        ]
    );
    // Labels that no series has do not appear; `by ()` is one group.
    let out = r
        .agg(T_SUM, None, http_requests(), by(&["job", "nonexistent"]))
        .unwrap();
    assert_eq!(
        values(&out),
        [
            ("{job=\"api-server\"}".to_string(), 1000.0),
            ("{job=\"app-server\"}".to_string(), 2600.0)
        ]
    );
    let out = r.agg(T_SUM, None, api.clone(), by(&[])).unwrap();
    assert_eq!(values(&out), [("{}".to_string(), 1000.0)]);
    let out = r.agg(T_SUM, None, api, Grouping::All).unwrap();
    assert_eq!(values(&out), [("{}".to_string(), 1000.0)]);
    // `without ()` keeps every label but the name.
    let out = r
        .agg(T_SUM, None, http_requests().split_off(6), without(&[]))
        .unwrap();
    assert_eq!(
        values(&out)[0].0,
        "{group=\"canary\", instance=\"0\", job=\"app-server\"}"
    );
}

#[test]
fn other_folds() {
    let mut r = Run::instant();
    let job = || by(&["job"]);
    // api-server: 100 200 300 400; app-server: 500 600 700 800.
    let out = r.agg(T_AVG, None, http_requests(), job()).unwrap();
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [250.0, 650.0]
    );
    let out = r.agg(T_MIN, None, http_requests(), job()).unwrap();
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [100.0, 500.0]
    );
    let out = r.agg(T_MAX, None, http_requests(), job()).unwrap();
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [400.0, 800.0]
    );
    let out = r.agg(T_COUNT, None, http_requests(), job()).unwrap();
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [4.0, 4.0]
    );
    let out = r.agg(T_GROUP, None, http_requests(), job()).unwrap();
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [1.0, 1.0]
    );
    // Population variance of 100..800: mean 450, squared deviations
    // 350² + 250² + 150² + 50² twice = 2 * (122500 + 62500 + 22500 + 2500) = 420000,
    // / 8 = 52500; stddev = sqrt(52500) = 229.128784747792.
    let out = r
        .agg(T_STDVAR, None, http_requests(), Grouping::All)
        .unwrap();
    assert_eq!(values(&out)[0].1, 52500.0);
    let out = r
        .agg(T_STDDEV, None, http_requests(), Grouping::All)
        .unwrap();
    assert!((values(&out)[0].1 - 229.128_784_747_792).abs() < 1e-9);
    // by instance: 100 300 500 700 -> mean 400, deviations 300² + 100² twice = 200000,
    // / 4 = 50000.
    let out = r
        .agg(T_STDVAR, None, http_requests(), by(&["instance"]))
        .unwrap();
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [50000.0, 50000.0]
    );
}

#[test]
fn kahan_summation() {
    let mut r = Run::instant();
    let input = instant(vec![
        (labels!("p" => "a"), 1e100),
        (labels!("p" => "b"), 1.0),
        (labels!("p" => "c"), -1e100),
    ]);
    // Plain addition gives (1e100 + 1) - 1e100 = 0. Kahan–Neumaier: sum 1e100; + 1:
    // t = 1e100, |sum| >= 1 so c = (1e100 - t) + 1 = 1; + -1e100: t = 0, c += (1e100 - 0)
    // - 1e100 = 0, so c = 1; result t + c = 1.
    let out = r.agg(T_SUM, None, input.clone(), Grouping::All).unwrap();
    assert_eq!(values(&out)[0].1, 1.0);
    // avg divides the compensated sum: (0 + 1) / 3.
    let out = r.agg(T_AVG, None, input, Grouping::All).unwrap();
    assert_eq!(values(&out)[0].1, 1.0 / 3.0);
    // Twelve times 52 averages to exactly 52.
    let twelve = instant(
        (0..12)
            .map(|i| (labels!("i" => i.to_string()), 52.0))
            .collect(),
    );
    let out = r.agg(T_AVG, None, twelve, Grouping::All).unwrap();
    assert_eq!(values(&out)[0].1, 52.0);
}

#[test]
fn avg_switches_to_incremental_mean_on_overflow() {
    let mut r = Run::instant();
    let big = 9.988_465_674_311_58e307;
    let input = |vals: &[f64]| {
        instant(
            vals.iter()
                .enumerate()
                .map(|(i, &f)| (labels!("i" => i.to_string()), f))
                .collect(),
        )
    };
    // 4 * 9.99e307 overflows float64 (max 1.80e308); the mean does not.
    let out = r.agg(T_AVG, None, input(&[big; 4]), Grouping::All).unwrap();
    let v = values(&out)[0].1;
    assert!((v - big).abs() / big < 1e-15, "{v}");
    let out = r
        .agg(T_AVG, None, input(&[-big, -big, big, big]), Grouping::All)
        .unwrap();
    assert_eq!(values(&out)[0].1, 0.0);
    // Infinities: 0, Inf, Inf, 0 -> Inf; Inf, -Inf -> NaN; NaN anywhere -> NaN.
    let inf = f64::INFINITY;
    let out = r
        .agg(T_AVG, None, input(&[0.0, inf, inf, 0.0]), Grouping::All)
        .unwrap();
    assert_eq!(values(&out)[0].1, inf);
    let out = r
        .agg(T_AVG, None, input(&[inf, -inf]), Grouping::All)
        .unwrap();
    assert!(values(&out)[0].1.is_nan());
    let out = r
        .agg(T_SUM, None, input(&[2.0, f64::NAN]), Grouping::All)
        .unwrap();
    assert!(values(&out)[0].1.is_nan());
    let out = r
        .agg(T_SUM, None, input(&[inf, 2.0]), Grouping::All)
        .unwrap();
    assert_eq!(values(&out)[0].1, inf);
}

#[test]
fn min_max_skip_nan_and_stddev_poisons() {
    let mut r = Run::instant();
    let input = |vals: &[f64]| {
        instant(
            vals.iter()
                .enumerate()
                .map(|(i, &f)| (labels!("i" => i.to_string()), f))
                .collect(),
        )
    };
    let nan = f64::NAN;
    // A NaN is replaced by any later value, and never replaces one.
    let out = r
        .agg(
            T_MAX,
            None,
            input(&[1.0, 2.0, nan, 3.0, 4.0]),
            Grouping::All,
        )
        .unwrap();
    assert_eq!(values(&out)[0].1, 4.0);
    let out = r
        .agg(T_MAX, None, input(&[nan, 1.0]), Grouping::All)
        .unwrap();
    assert_eq!(values(&out)[0].1, 1.0);
    let out = r
        .agg(T_MIN, None, input(&[nan, 3.0, 1.0]), Grouping::All)
        .unwrap();
    assert_eq!(values(&out)[0].1, 1.0);
    let out = r.agg(T_MIN, None, input(&[nan]), Grouping::All).unwrap();
    assert!(values(&out)[0].1.is_nan());
    // stddev of 1, 2: mean 1.5, variance 0.25.
    let out = r
        .agg(T_STDDEV, None, input(&[1.0, 2.0]), Grouping::All)
        .unwrap();
    assert_eq!(values(&out)[0].1, 0.5);
    // A NaN or Inf first or later makes it NaN; alone, a finite value has variance 0.
    for vals in [
        [nan, 1.0, 2.0],
        [1.0, 2.0, nan],
        [f64::INFINITY, 1.0, 2.0],
        [1.0, 2.0, f64::INFINITY],
    ] {
        let out = r.agg(T_STDVAR, None, input(&vals), Grouping::All).unwrap();
        assert!(values(&out)[0].1.is_nan(), "{vals:?}");
    }
    let out = r
        .agg(T_STDDEV, None, input(&[f64::INFINITY]), Grouping::All)
        .unwrap();
    assert!(values(&out)[0].1.is_nan());
    let out = r.agg(T_STDDEV, None, input(&[7.0]), Grouping::All).unwrap();
    assert_eq!(values(&out)[0].1, 0.0);
}

#[test]
fn range_steps_and_gaps() {
    // Steps 0, 10, 20, 30.
    let mut r = Run::steps(Steps::range(0, 30, 10));
    let input = vec![
        series(labels!("job" => "a", "i" => "1"), &[(0, 1.0), (10, 2.0)]),
        series(labels!("job" => "a", "i" => "2"), &[(10, 10.0), (30, 30.0)]),
        series(labels!("job" => "b", "i" => "1"), &[(20, 5.0)]),
        series(labels!("job" => "c", "i" => "1"), &[]),
    ];
    let out = r.agg(T_SUM, None, input.clone(), by(&["job"])).unwrap();
    // job a: 1 at 0, 2 + 10 at 10, nothing at 20, 30 at 30; job b: 5 at 20; c: no points.
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].metric, labels!("job" => "a"));
    assert_eq!(
        out[0].floats,
        [
            FPoint { t: 0, f: 1.0 },
            FPoint { t: 10, f: 12.0 },
            FPoint { t: 30, f: 30.0 }
        ]
    );
    assert_eq!(out[1].floats, [FPoint { t: 20, f: 5.0 }]);
    let out = r.agg(T_COUNT, None, input, Grouping::All).unwrap();
    assert_eq!(
        out[0].floats.iter().map(|p| p.f).collect::<Vec<_>>(),
        [1.0, 2.0, 1.0, 1.0]
    );
}

#[test]
fn name_dropping_flag_follows_the_group() {
    let mut r = Run::steps(Steps::range(0, 10, 10));
    let mut marked = series(labels!("__name__" => "m", "env" => "2"), &[(0, 0.05)]);
    marked.drop_name = true;
    let plain = series(
        labels!("__name__" => "m", "env" => "1"),
        &[(0, 10.0), (10, 1.0)],
    );
    // `by (__name__)` keeps the name; the group drops it where any member is marked, and
    // the last step the group has a value decides for the series (here: step 10, where
    // only the unmarked series has a value).
    let out = r
        .agg(
            T_SUM,
            None,
            vec![plain.clone(), marked.clone()],
            by(&["__name__"]),
        )
        .unwrap();
    assert_eq!(out[0].metric, labels!("__name__" => "m"));
    assert_eq!(out[0].floats[0].f, 10.05);
    assert!(!out[0].drop_name);
    let out = r
        .agg(T_SUM, None, vec![marked.clone()], by(&["__name__"]))
        .unwrap();
    assert!(out[0].drop_name);
    let mut r = Run::instant();
    let out = r
        .agg(T_SUM, None, vec![plain, marked], by(&["__name__"]))
        .unwrap();
    assert!(out[0].drop_name);
}

#[test]
fn quantile_interpolates_with_nan_lowest() {
    let mut r = Run::instant();
    let data = |test: &str, vals: &[f64]| -> Vec<(Labels, f64)> {
        vals.iter()
            .enumerate()
            .map(|(i, &f)| {
                (
                    labels!("test" => test, "point" => i.to_string().as_str()),
                    f,
                )
            })
            .collect()
    };
    let mut input = data("two", &[0.0, 1.0]);
    input.extend(data("three", &[0.0, 1.0, 2.0]));
    input.extend(data("uneven", &[0.0, 1.0, 4.0]));
    input.extend(data("nan", &[0.0, 1.0, f64::NAN]));
    let input = instant(input);
    // q = 0.8: rank = 0.8 * (n - 1).
    //   two:    rank 0.8 -> 0 * 0.2 + 1 * 0.8 = 0.8
    //   three:  rank 1.6 -> 1 * 0.4 + 2 * 0.6 = 1.6
    //   uneven: rank 1.6 -> 1 * 0.4 + 4 * 0.6 = 2.8
    //   nan:    sorted NaN, 0, 1; rank 1.6 -> 0 * 0.4 + 1 * 0.6 = 0.6
    let out = r
        .agg(
            T_QUANTILE,
            r.scalar(0.8),
            input.clone(),
            without(&["point"]),
        )
        .unwrap();
    let got: Vec<f64> = values(&out).iter().map(|v| v.1).collect();
    assert_eq!(got.len(), 4);
    for (g, want) in got.iter().zip([0.8, 1.6, 2.8, 0.6]) {
        assert!((g - want).abs() < 1e-12, "{got:?}");
    }
    // q = 0.2 on NaN, 0, 1: rank 0.4 -> NaN * 0.6 + 0 * 0.4 = NaN.
    let out = r
        .agg(
            T_QUANTILE,
            r.scalar(0.2),
            input.clone(),
            without(&["point"]),
        )
        .unwrap();
    assert!(values(&out)[3].1.is_nan());
    assert!(r.warnings().is_empty());
    // Out of range: warnings, and -Inf / +Inf / NaN results.
    let out = r
        .agg(
            T_QUANTILE,
            r.scalar(-1.0),
            input.clone(),
            without(&["point"]),
        )
        .unwrap();
    assert_eq!(values(&out)[0].1, f64::NEG_INFINITY);
    let out = r
        .agg(
            T_QUANTILE,
            r.scalar(2.0),
            input.clone(),
            without(&["point"]),
        )
        .unwrap();
    assert_eq!(values(&out)[0].1, f64::INFINITY);
    let out = r
        .agg(T_QUANTILE, r.scalar(f64::NAN), input, without(&["point"]))
        .unwrap();
    assert!(values(&out)[0].1.is_nan());
    assert_eq!(
        r.warnings(),
        [
            "PromQL warning: quantile value should be between 0 and 1, got -1",
            "PromQL warning: quantile value should be between 0 and 1, got 2",
            "PromQL warning: quantile value should be between 0 and 1, got NaN",
        ]
    );
}

#[test]
fn quantile_parameter_per_step() {
    // q = 0, 1, 0.5 at steps 0, 10, 20 over values 0, 1, 2, 3: min, max, median 1.5.
    let mut r = Run::steps(Steps::range(0, 20, 10));
    let input: Vec<Series> = (0..4)
        .map(|i| {
            let f = f64::from(i);
            series(labels!("i" => i.to_string()), &[(0, f), (10, f), (20, f)])
        })
        .collect();
    let q = Some(StepValue::Scalar(vec![0.0, 1.0, 0.5]));
    let out = r.agg(T_QUANTILE, q, input, Grouping::All).unwrap();
    assert_eq!(
        out[0].floats.iter().map(|p| p.f).collect::<Vec<_>>(),
        [0.0, 3.0, 1.5]
    );
}

/// Topk test data at 50m (Prometheus's aggregator tests): api-server production 100, 200,
/// NaN (instance 2), canary 300, 400; app-server production 500, 600, canary 700, 800.
fn topk_data() -> Vec<Series> {
    let rows = [
        ("api-server", "0", "production", 100.0),
        ("api-server", "1", "production", 200.0),
        ("api-server", "2", "production", f64::NAN),
        ("api-server", "0", "canary", 300.0),
        ("api-server", "1", "canary", 400.0),
        ("app-server", "0", "production", 500.0),
        ("app-server", "1", "production", 600.0),
        ("app-server", "0", "canary", 700.0),
        ("app-server", "1", "canary", 800.0),
    ];
    instant(
        rows.iter()
            .map(|&(job, instance, group, f)| {
                (
                    labels!("__name__" => "http_requests", "group" => group, "instance" => instance, "job" => job),
                    f,
                )
            })
            .collect(),
    )
}

fn instances(out: &[Series]) -> Vec<String> {
    out.iter()
        .map(|s| {
            format!(
                "{}/{}/{}",
                s.metric
                    .get("job")
                    .unwrap_or("")
                    .trim_end_matches("-server"),
                s.metric.get("group").unwrap_or(""),
                s.metric.get("instance").unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn topk_bottomk_order_and_nan() {
    let mut r = Run::instant();
    let out = r
        .agg(T_TOPK, r.scalar(3.0), topk_data(), Grouping::All)
        .unwrap();
    assert_eq!(
        instances(&out),
        ["app/canary/1", "app/canary/0", "app/production/1"]
    );
    assert_eq!(out[0].metric.metric_name(), Some("http_requests"));
    let out = r
        .agg(T_BOTTOMK, r.scalar(3.0), topk_data(), Grouping::All)
        .unwrap();
    assert_eq!(
        instances(&out),
        ["api/production/0", "api/production/1", "api/canary/0"]
    );
    // NaN sorts away from the top and the bottom.
    let prod: Vec<Series> = topk_data().into_iter().take(3).collect();
    let out = r
        .agg(T_TOPK, r.scalar(3.0), prod.clone(), Grouping::All)
        .unwrap();
    assert_eq!(
        values(&out)[..2].iter().map(|v| v.1).collect::<Vec<_>>(),
        [200.0, 100.0]
    );
    assert!(values(&out)[2].1.is_nan());
    let out = r
        .agg(T_BOTTOMK, r.scalar(1e10), prod, Grouping::All)
        .unwrap();
    assert_eq!(
        values(&out)[..2].iter().map(|v| v.1).collect::<Vec<_>>(),
        [100.0, 200.0]
    );
    // Per group, groups in order of first appearance: by (group) -> production first.
    let out = r
        .agg(T_TOPK, r.scalar(1.0), topk_data(), by(&["group"]))
        .unwrap();
    assert_eq!(instances(&out), ["app/production/1", "app/canary/1"]);
    // by (instance): instance 2 only has NaN, which is still selected.
    let out = r
        .agg(T_TOPK, r.scalar(1.0), topk_data(), by(&["instance"]))
        .unwrap();
    assert_eq!(
        instances(&out),
        ["app/canary/0", "app/canary/1", "api/production/2"]
    );
}

#[test]
fn topk_ties_keep_the_first_seen() {
    // topk(1) over equal values keeps the first series (a later equal value does not
    // replace the heap top); bottomk likewise.
    let mut r = Run::instant();
    let input = instant(vec![
        (labels!("i" => "a"), 5.0),
        (labels!("i" => "b"), 5.0),
        (labels!("i" => "c"), 5.0),
    ]);
    let out = r
        .agg(T_TOPK, r.scalar(1.0), input.clone(), Grouping::All)
        .unwrap();
    assert_eq!(out[0].metric, labels!("i" => "a"));
    let out = r
        .agg(T_BOTTOMK, r.scalar(1.0), input.clone(), Grouping::All)
        .unwrap();
    assert_eq!(out[0].metric, labels!("i" => "a"));
    // topk(2) of equal values: heap [a, b] (b does not sift above an equal a); the
    // insertion sort keeps that order.
    let out = r.agg(T_TOPK, r.scalar(2.0), input, Grouping::All).unwrap();
    assert_eq!(
        out.iter()
            .map(|s| s.metric.get("i").unwrap())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
}

#[test]
fn k_per_step_in_range_queries() {
    // Bug #15971: k = 1, 2, 3, 4 over four steps with five series valued by index.
    let mut r = Run::steps(Steps::range(0, 30, 10));
    let input: Vec<Series> = (0..5)
        .map(|i| {
            let f = f64::from(i);
            series(
                labels!("i" => i.to_string()),
                &[(0, f), (10, f), (20, f), (30, f)],
            )
        })
        .collect();
    let k = Some(StepValue::Scalar(vec![1.0, 2.0, 3.0, 0.0]));
    let out = r.agg(T_TOPK, k, input.clone(), Grouping::All).unwrap();
    // Step 0 keeps {4}, step 10 {4, 3}, step 20 {4, 3, 2}, step 30 nothing (k = 0).
    let got: Vec<(String, Vec<i64>)> = out
        .iter()
        .map(|s| {
            (
                s.metric.get("i").unwrap().to_string(),
                s.floats.iter().map(|p| p.t).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("2".to_string(), vec![20]),
            ("3".to_string(), vec![10, 20]),
            ("4".to_string(), vec![0, 10, 20])
        ]
    );
    // limitk takes the first k in input order.
    let k = Some(StepValue::Scalar(vec![1.0, 2.0, 1.0, 1.0]));
    let out = r.agg(T_LIMITK, k, input, Grouping::All).unwrap();
    let got: Vec<(String, usize)> = out
        .iter()
        .map(|s| (s.metric.get("i").unwrap().to_string(), s.floats.len()))
        .collect();
    assert_eq!(got, [("0".to_string(), 4), ("1".to_string(), 1)]);
}

#[test]
fn k_parameter_errors() {
    let mut r = Run::instant();
    for op in [T_TOPK, T_BOTTOMK, T_LIMITK] {
        // Checked even when there is nothing to aggregate.
        let err = r
            .agg(op, r.scalar(f64::NAN), vec![], Grouping::All)
            .unwrap_err();
        assert_eq!(err.to_string(), "Parameter value is NaN");
        let err = r
            .agg(op, r.scalar(1e19), topk_data(), Grouping::All)
            .unwrap_err();
        assert_eq!(err.to_string(), "Scalar value 1e+19 overflows int64");
        // All k below 1: an empty result, before any other check.
        assert!(r
            .agg(op, r.scalar(0.5), topk_data(), Grouping::All)
            .unwrap()
            .is_empty());
        assert!(r
            .agg(op, r.scalar(-1e20), topk_data(), Grouping::All)
            .unwrap()
            .is_empty());
    }
    let mut r = Run::steps(Steps::range(0, 10, 10));
    let err = r
        .agg(
            T_TOPK,
            Some(StepValue::Scalar(vec![5.0, -1e19])),
            vec![],
            Grouping::All,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "Scalar value -1e+19 underflows int64");
    let err = r
        .agg(
            T_TOPK,
            Some(StepValue::Scalar(vec![5.0, f64::NAN])),
            vec![],
            Grouping::All,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "Parameter value is NaN");
    let err = r
        .agg(
            T_LIMIT_RATIO,
            Some(StepValue::Scalar(vec![0.5, f64::NAN])),
            vec![],
            Grouping::All,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "Ratio value is NaN");
}

#[test]
fn limit_ratio_selects_by_label_hash() {
    let mut r = Run::instant();
    let input: Vec<Series> = (0..200)
        .map(|i| {
            series(
                labels!("__name__" => "m", "i" => i.to_string().as_str()),
                &[(0, 1.0)],
            )
        })
        .collect();
    let count = |r: &mut Run, ratio: f64| {
        r.agg(T_LIMIT_RATIO, r.scalar(ratio), input.clone(), Grouping::All)
            .unwrap()
            .len()
    };
    assert_eq!(count(&mut r, 1.0), 200);
    assert_eq!(count(&mut r, -1.0), 200);
    assert_eq!(count(&mut r, 0.0), 0);
    // Brute-force reference: offset = xxh64(stringlabels bytes) / 2^64, kept when below r.
    let expected: Vec<String> = input
        .iter()
        .filter(|s| {
            let mut bytes = Vec::new();
            for l in s.metric.iter() {
                bytes.push(l.name.len() as u8);
                bytes.extend_from_slice(l.name.as_bytes());
                bytes.push(l.value.len() as u8);
                bytes.extend_from_slice(l.value.as_bytes());
            }
            (xxhash_rust::xxh64::xxh64(&bytes, 0) as f64 / 18_446_744_073_709_551_616.0) < 0.3
        })
        .map(|s| s.metric.to_string())
        .collect();
    let mut got: Vec<String> = r
        .agg(T_LIMIT_RATIO, r.scalar(0.3), input.clone(), Grouping::All)
        .unwrap()
        .iter()
        .map(|s| s.metric.to_string())
        .collect();
    got.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(got, expected);
    // Roughly 30% of 200 (a hash is uniform; this is a sanity bound, not the reference).
    assert!((30..=90).contains(&got.len()), "{}", got.len());
    // r and -(1 - r) are complements.
    let a = r
        .agg(T_LIMIT_RATIO, r.scalar(0.3), input.clone(), Grouping::All)
        .unwrap();
    let b = r
        .agg(T_LIMIT_RATIO, r.scalar(-0.7), input.clone(), Grouping::All)
        .unwrap();
    assert_eq!(a.len() + b.len(), 200);
    assert!(a.iter().all(|x| b.iter().all(|y| x.metric != y.metric)));
    // Capping warnings.
    assert_eq!(count(&mut r, 1.1), 200);
    assert_eq!(count(&mut r, -1.1), 200);
    assert_eq!(
        r.warnings(),
        [
            "PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1",
            "PromQL warning: ratio value should be between -1 and 1, got -1.1, capping to -1",
        ]
    );
}

#[test]
fn count_values_formats_and_groups() {
    let mut r = Run::instant();
    let v = |job: &str, instance: &str, group: &str, f: f64| {
        (
            labels!("__name__" => "version", "group" => group, "instance" => instance, "job" => job),
            f,
        )
    };
    let input = instant(vec![
        v("api-server", "0", "production", 6.0),
        v("api-server", "1", "production", 6.0),
        v("api-server", "0", "canary", 8.0),
        v("app-server", "0", "canary", 7.0),
        v("app-server", "1", "canary", 0.1 + 0.2),
    ]);
    let out = r
        .agg(
            T_COUNT_VALUES,
            Some(StepValue::String("version".into())),
            input.clone(),
            Grouping::All,
        )
        .unwrap();
    // 0.1 + 0.2 = 0.30000000000000004, printed with the shortest round-trip digits.
    assert_eq!(
        sorted_values(&out),
        [
            ("{version=\"0.30000000000000004\"}".to_string(), 1.0),
            ("{version=\"6\"}".to_string(), 2.0),
            ("{version=\"7\"}".to_string(), 1.0),
            ("{version=\"8\"}".to_string(), 1.0),
        ]
    );
    // Overwriting a label with the value: the value wins, the name goes.
    let out = r
        .agg(
            T_COUNT_VALUES,
            Some(StepValue::String("job".into())),
            input.clone(),
            without(&["instance"]),
        )
        .unwrap();
    assert_eq!(
        sorted_values(&out),
        [
            (
                "{group=\"canary\", job=\"0.30000000000000004\"}".to_string(),
                1.0
            ),
            ("{group=\"canary\", job=\"7\"}".to_string(), 1.0),
            ("{group=\"canary\", job=\"8\"}".to_string(), 1.0),
            ("{group=\"production\", job=\"6\"}".to_string(), 2.0),
        ]
    );
    let out = r
        .agg(
            T_COUNT_VALUES,
            Some(StepValue::String("job".into())),
            input.clone(),
            by(&["job", "group"]),
        )
        .unwrap();
    assert_eq!(out.len(), 4);
    // `without` listing the value label itself counts every value together.
    let out = r
        .agg(
            T_COUNT_VALUES,
            Some(StepValue::String("v".into())),
            input.clone(),
            without(&["v", "instance", "job"]),
        )
        .unwrap();
    assert_eq!(
        sorted_values(&out),
        [
            ("{group=\"canary\"}".to_string(), 3.0),
            ("{group=\"production\"}".to_string(), 2.0)
        ]
    );
    let err = r
        .agg(
            T_COUNT_VALUES,
            Some(StepValue::String(String::new())),
            input,
            Grouping::All,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid label name \"\"");
}

#[test]
fn count_values_over_steps() {
    // Values 1, 1, 2 and 1, 2, 2 over three steps; special values formatted as Go does.
    let mut r = Run::steps(Steps::range(0, 20, 10));
    let input = vec![
        series(labels!("i" => "a"), &[(0, 1.0), (10, 1.0), (20, 2.0)]),
        series(labels!("i" => "b"), &[(0, 1.0), (10, 2.0), (20, 2.0)]),
        series(
            labels!("i" => "c"),
            &[(0, f64::INFINITY), (10, f64::NAN), (20, -0.0)],
        ),
    ];
    let out = r
        .agg(
            T_COUNT_VALUES,
            Some(StepValue::String("v".into())),
            input,
            Grouping::All,
        )
        .unwrap();
    let got: Vec<(String, Vec<(i64, f64)>)> = out
        .iter()
        .map(|s| {
            (
                s.metric.get("v").unwrap().to_string(),
                s.floats.iter().map(|p| (p.t, p.f)).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("1".to_string(), vec![(0, 2.0), (10, 1.0)]),
            ("2".to_string(), vec![(10, 1.0), (20, 2.0)]),
            ("+Inf".to_string(), vec![(0, 1.0)]),
            ("NaN".to_string(), vec![(10, 1.0)]),
            ("-0".to_string(), vec![(20, 1.0)]),
        ]
    );
}

#[test]
fn param_stats_follow_go_min_max() {
    let s = ParamStats::of(&[3.0, f64::NAN, 1.0]);
    assert!(s.any_nan && s.min.is_nan() && s.max.is_nan());
    // +Inf wins a maximum even over NaN.
    let s = ParamStats::of(&[f64::NAN, f64::INFINITY]);
    assert_eq!(s.max, f64::INFINITY);
    assert!(s.min.is_nan());
    let s = ParamStats::of(&[2.0, -3.0, 5.0]);
    assert_eq!((s.min, s.max, s.any_nan), (-3.0, 5.0, false));
}

/// Aggregations against a step-by-step reference written after Prometheus's
/// `rangeEvalAgg`/`aggregation`/`aggregationK`/`aggregationCountValues`: at each step
/// visit the input series in order, fold each sample into its group's state, and emit.
/// The series-major implementation must give the same series, points (bit for bit) and
/// name-dropping flags.
mod reference {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Copy, Debug)]
    struct St {
        v: f64,
        c: f64,
        mean: f64,
        n: f64,
        inc: bool,
    }

    fn kahan(inc: f64, sum: f64, c: f64) -> (f64, f64) {
        let t = sum + inc;
        if t.is_infinite() {
            (t, 0.0)
        } else if sum.abs() >= inc.abs() {
            (t, c + ((sum - t) + inc))
        } else {
            (t, c + ((inc - t) + sum))
        }
    }

    fn first(op: u16, f: f64) -> St {
        let mut s = St {
            v: f,
            c: 0.0,
            mean: f,
            n: 1.0,
            inc: false,
        };
        if op == T_STDDEV || op == T_STDVAR {
            s.v = if f.is_nan() || f.is_infinite() {
                f64::NAN
            } else {
                0.0
            };
        }
        s
    }

    fn add(op: u16, s: &mut St, f: f64) {
        match op {
            T_SUM => (s.v, s.c) = kahan(f, s.v, s.c),
            T_AVG => {
                s.n += 1.0;
                if !s.inc {
                    let (v, c) = kahan(f, s.v, s.c);
                    if !v.is_infinite() {
                        (s.v, s.c) = (v, c);
                        return;
                    }
                    s.inc = true;
                    s.mean = s.v / (s.n - 1.0);
                    s.c /= s.n - 1.0;
                }
                let q = (s.n - 1.0) / s.n;
                (s.mean, s.c) = kahan(f / s.n, q * s.mean, q * s.c);
            }
            T_MAX if s.v < f || s.v.is_nan() => s.v = f,
            T_MIN if s.v > f || s.v.is_nan() => s.v = f,
            T_COUNT => s.n += 1.0,
            T_STDDEV | T_STDVAR => {
                s.n += 1.0;
                let d = f - s.mean;
                s.mean += d / s.n;
                s.v += d * (f - s.mean);
            }
            _ => {}
        }
    }

    fn value(op: u16, s: &St) -> f64 {
        match op {
            T_SUM => s.v + s.c,
            T_AVG if s.inc => s.mean + s.c,
            T_AVG => s.v / s.n + s.c / s.n,
            T_COUNT => s.n,
            T_GROUP => 1.0,
            T_STDVAR => s.v / s.n,
            T_STDDEV => (s.v / s.n).sqrt(),
            _ => s.v,
        }
    }

    fn group_labels(g: &Grouping, m: &Labels) -> Labels {
        let mut b = m.builder();
        match g {
            Grouping::All => return Labels::empty(),
            Grouping::By(names) => {
                b.retain(|n, _| names.iter().any(|x| x == n));
            }
            Grouping::Without(names) => {
                b.retain(|n, _| n != "__name__" && !names.iter().any(|x| x == n));
            }
        }
        b.labels()
    }

    /// A value's bits, with every NaN the same (NaN payloads are not portable).
    fn bits(f: f64) -> u64 {
        if f.is_nan() {
            f64::NAN.to_bits()
        } else {
            f.to_bits()
        }
    }

    type Out = Vec<(String, Vec<(i64, u64)>, bool)>;

    /// A reference output series: labels, points, name-dropping flag.
    type RefSeries = (Labels, Vec<(i64, f64)>, bool);

    fn norm(out: Vec<Series>, sort: bool) -> Out {
        let mut v: Out = out
            .into_iter()
            .map(|s| {
                (
                    s.metric.to_string(),
                    s.floats.iter().map(|p| (p.t, bits(p.f))).collect(),
                    s.drop_name,
                )
            })
            .collect();
        if sort {
            v.sort();
        }
        v
    }

    /// Prometheus's evaluation, step by step. `param` is per step.
    fn reference(op: u16, param: &[f64], input: &[Series], g: &Grouping, steps: Steps) -> Out {
        let keys: Vec<Labels> = input.iter().map(|s| group_labels(g, &s.metric)).collect();
        let mut order: Vec<Labels> = Vec::new();
        for k in &keys {
            if !order.contains(k) {
                order.push(k.clone());
            }
        }
        let instant = !steps.is_range();
        let mut out: Vec<RefSeries> = Vec::new();
        let file = |out: &mut Vec<RefSeries>,
                    m: &Labels,
                    t: i64,
                    f: f64,
                    d: bool,
                    overwrite_flag: bool| {
            if !instant {
                if let Some(e) = out.iter_mut().find(|e| &e.0 == m) {
                    e.1.push((t, f));
                    if overwrite_flag {
                        e.2 = d;
                    }
                    return;
                }
            }
            out.push((m.clone(), vec![(t, f)], d));
        };
        for (i, t) in steps.iter().enumerate() {
            let present: Vec<(usize, f64)> = input
                .iter()
                .enumerate()
                .filter_map(|(si, s)| s.floats.iter().find(|p| p.t == t).map(|p| (si, p.f)))
                .collect();
            match op {
                T_TOPK | T_BOTTOMK | T_LIMITK => {
                    let k = (param[i] as i64).min(input.len() as i64);
                    if k < 1 {
                        continue;
                    }
                    for key in &order {
                        let mut members: Vec<(usize, f64)> = present
                            .iter()
                            .copied()
                            .filter(|&(si, _)| &keys[si] == key)
                            .collect();
                        // Distinct values (the generator ensures it): the k best, best first,
                        // NaN last.
                        let rank = |f: f64| {
                            if f.is_nan() {
                                f64::INFINITY
                            } else if op == T_TOPK {
                                -f
                            } else {
                                f
                            }
                        };
                        if op != T_LIMITK {
                            members.sort_by(|a, b| rank(a.1).partial_cmp(&rank(b.1)).unwrap());
                        }
                        for &(si, f) in members.iter().take(k as usize) {
                            file(
                                &mut out,
                                &input[si].metric,
                                t,
                                f,
                                input[si].drop_name,
                                false,
                            );
                        }
                    }
                }
                T_COUNT_VALUES => {
                    let mut counts: Vec<(Labels, f64)> = Vec::new();
                    for &(si, f) in &present {
                        let mut b = input[si].metric.builder();
                        b.set("v", &ember_storage::numfmt::format_f(f));
                        let with_value = b.labels();
                        let g2 = match g {
                            Grouping::All => Grouping::By(vec!["v".into()]),
                            Grouping::By(n) => {
                                let mut n = n.clone();
                                n.push("v".into());
                                Grouping::By(n)
                            }
                            w => w.clone(),
                        };
                        let key = group_labels(&g2, &with_value);
                        match counts.iter_mut().find(|c| c.0 == key) {
                            Some(c) => c.1 += 1.0,
                            None => counts.push((key, 1.0)),
                        }
                    }
                    for (m, n) in counts {
                        file(&mut out, &m, t, n, false, false);
                    }
                }
                _ => {
                    for key in &order {
                        let mut st: Option<(St, bool)> = None;
                        let mut vals = Vec::new();
                        for &(si, f) in present.iter().filter(|&&(si, _)| &keys[si] == key) {
                            vals.push(f);
                            match &mut st {
                                None => st = Some((first(op, f), input[si].drop_name)),
                                Some((s, d)) => {
                                    add(op, s, f);
                                    *d |= input[si].drop_name;
                                }
                            }
                        }
                        if let Some((s, d)) = st {
                            let v = if op == T_QUANTILE {
                                super::fold::quantile_of(param[i], &mut vals)
                            } else {
                                value(op, &s)
                            };
                            file(&mut out, key, t, v, d, true);
                        }
                    }
                }
            }
        }
        let series: Vec<Series> = out
            .into_iter()
            .map(|(m, pts, d)| {
                let mut s = series(m, &pts);
                s.drop_name = d;
                s
            })
            .collect();
        norm(series, !instant || op == T_LIMITK || op == T_COUNT_VALUES)
    }

    fn input(nsteps: usize) -> impl Strategy<Value = Vec<Series>> {
        let value = prop_oneof![
            8 => (-20i32..20).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(9.9e307),
            1 => Just(-9.9e307),
            1 => Just(1e100),
        ];
        let one = (
            prop_oneof![Just("m"), Just("n")],
            proptest::option::of(prop_oneof![Just("1"), Just("2")]),
            proptest::option::of(prop_oneof![Just("1"), Just("2")]),
            proptest::collection::vec(proptest::option::of(value), nsteps),
            any::<bool>(),
        );
        proptest::collection::vec(one, 0..7).prop_map(|v| {
            let mut seen = std::collections::HashSet::new();
            v.into_iter()
                .filter_map(|(name, a, b, vals, drop)| {
                    let mut p = vec![("__name__", name)];
                    p.extend(a.map(|a| ("a", a)));
                    p.extend(b.map(|b| ("b", b)));
                    let metric = Labels::from_pairs(p);
                    if !seen.insert(metric.clone()) {
                        return None;
                    }
                    let pts: Vec<(i64, f64)> = vals
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| (i as i64 * 10, v)))
                        .collect();
                    let mut s = series(metric, &pts);
                    s.drop_name = drop;
                    Some(s)
                })
                .collect()
        })
    }

    fn grouping() -> impl Strategy<Value = Grouping> {
        let names = proptest::sample::subsequence(vec!["__name__", "a", "b"], 0..=2)
            .prop_map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
        prop_oneof![
            Just(Grouping::All),
            names.clone().prop_map(Grouping::By),
            names.prop_map(Grouping::Without),
        ]
    }

    /// Makes each step's values distinct (for topk/bottomk, where ties are broken by
    /// Prometheus's heap rather than by a sort), keeping at most one NaN.
    fn distinct(mut input: Vec<Series>) -> Vec<Series> {
        for (si, s) in input.iter_mut().enumerate() {
            for p in &mut s.floats {
                if p.f.is_nan() && si > 0 {
                    p.f = 0.0;
                }
                if !p.f.is_nan() {
                    p.f = p.f.clamp(-1e6, 1e6) + si as f64 * 1e-3;
                }
            }
        }
        input
    }

    fn check(
        op: u16,
        param: Vec<f64>,
        input: Vec<Series>,
        g: Grouping,
        steps: Steps,
    ) -> Result<(), TestCaseError> {
        let instant = !steps.is_range();
        let want = reference(op, &param, &input, &g, steps);
        let p = if op == T_COUNT_VALUES {
            Some(StepValue::String("v".into()))
        } else if matches!(op, T_TOPK | T_BOTTOMK | T_LIMITK | T_QUANTILE) {
            Some(StepValue::Scalar(param))
        } else {
            None
        };
        let mut r = Run::steps(steps);
        let got = norm(
            r.agg(op, p, input, g.clone()).unwrap(),
            !instant || op == T_LIMITK || op == T_COUNT_VALUES,
        );
        prop_assert_eq!(got, want, "op {} grouping {:?}", op, g);
        Ok(())
    }

    const OPS: [u16; 13] = [
        T_SUM,
        T_AVG,
        T_MIN,
        T_MAX,
        T_COUNT,
        T_GROUP,
        T_STDDEV,
        T_STDVAR,
        T_QUANTILE,
        T_TOPK,
        T_BOTTOMK,
        T_LIMITK,
        T_COUNT_VALUES,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn range_matches_reference(
            (nsteps, input, param) in (1usize..4).prop_flat_map(|n| (
                Just(n),
                input(n),
                proptest::collection::vec(prop_oneof![Just(0.0), Just(0.5), Just(1.0), Just(2.0), Just(3.0)], n),
            )),
            op in proptest::sample::select(OPS.to_vec()),
            g in grouping(),
        ) {
            let steps = Steps::range(0, (nsteps as i64 - 1) * 10, 10);
            let input = if matches!(op, T_TOPK | T_BOTTOMK) { distinct(input) } else { input };
            let param = if op == T_QUANTILE { param.iter().map(|p| p / 2.0).collect() } else { param };
            // All k below 1 is an empty result without evaluation; keep it in the test.
            check(op, param, input, g, steps)?;
        }

        #[test]
        fn instant_matches_reference(
            input in input(1),
            k in prop_oneof![Just(1.0), Just(2.0), Just(5.0)],
            op in proptest::sample::select(OPS.to_vec()),
            g in grouping(),
        ) {
            let input = if matches!(op, T_TOPK | T_BOTTOMK) { distinct(input) } else { input };
            let param = vec![if op == T_QUANTILE { k / 5.0 } else { k }];
            check(op, param, input, g, Steps::instant(0))?;
        }
    }
}
