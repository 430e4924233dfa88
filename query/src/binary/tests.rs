//! Binary operator tests. Expected values follow Prometheus's documented semantics
//! (docs/querying/operators.md) and Go's float functions; the arithmetic is in the
//! comments. Many cases mirror Prometheus's operators.test.

use super::*;
use ember_storage::labels;
use ember_storage::Labels;
use promql_parser::parser::{Expr, VectorMatchFillValues};

use crate::value::FPoint;

fn series(metric: Labels, points: &[(i64, f64)]) -> Series {
    Series::new(
        metric,
        points.iter().map(|&(t, f)| FPoint { t, f }).collect(),
    )
}

fn at0(metric: Labels, f: f64) -> Series {
    series(metric, &[(0, f)])
}

struct Run {
    steps: Steps,
    delayed: bool,
}

impl Run {
    fn instant() -> Run {
        Run {
            steps: Steps::instant(0),
            delayed: false,
        }
    }

    fn range(start: i64, end: i64, step: i64) -> Run {
        Run {
            steps: Steps::range(start, end, step),
            delayed: false,
        }
    }

    /// Evaluates `query`'s top-level binary expression with the given operands.
    fn eval(&self, query: &str, lhs: StepValue, rhs: StepValue) -> Result<StepValue, QueryError> {
        let expr = promql_parser::parser::parse(query).unwrap();
        let Expr::Binary(b) = &expr else {
            panic!("{query} is not a binary expression")
        };
        let positions = Positions::default();
        let mut annotations = Annotations::new();
        let mut ctx = BinCtx {
            steps: self.steps,
            expr: &expr,
            positions: &positions,
            annotations: &mut annotations,
            delayed_name_removal: self.delayed,
        };
        binary(b.op, lhs, rhs, b.modifier.as_ref(), &mut ctx)
    }

    fn vv(
        &self,
        query: &str,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
    ) -> Result<Vec<Series>, QueryError> {
        match self.eval(query, StepValue::Vector(lhs), StepValue::Vector(rhs))? {
            StepValue::Vector(v) => Ok(v),
            other => panic!("{other:?}"),
        }
    }

    fn scalar(&self, v: f64) -> StepValue {
        StepValue::Scalar(vec![v; self.steps.len()])
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

fn sorted(out: &[Series]) -> Vec<(String, f64)> {
    let mut v = values(out);
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn pair(l: &str, f: f64) -> (String, f64) {
    (l.to_string(), f)
}

fn scalars(r: &Run, q: &str, l: f64, rv: f64) -> f64 {
    match r.eval(q, r.scalar(l), r.scalar(rv)).unwrap() {
        StepValue::Scalar(v) => v[0],
        other => panic!("{other:?}"),
    }
}

#[test]
fn scalar_arithmetic_is_go_float_arithmetic() {
    let r = Run::instant();
    assert_eq!(scalars(&r, "1 + 2", 1.0, 2.0), 3.0);
    assert_eq!(scalars(&r, "1 - 2", 1.0, 2.0), -1.0);
    assert_eq!(scalars(&r, "1 * 2", 3.0, 2.0), 6.0);
    assert_eq!(scalars(&r, "1 / 2", 1.0, 0.0), f64::INFINITY);
    assert_eq!(scalars(&r, "1 / 2", -1.0, 0.0), f64::NEG_INFINITY);
    assert!(scalars(&r, "1 / 2", 0.0, 0.0).is_nan());
    // math.Mod: the result has the sign of the dividend: -7 = -2*3 - 1, 7 = -2*-3 + 1.
    assert_eq!(scalars(&r, "1 % 2", -7.0, 3.0), -1.0);
    assert_eq!(scalars(&r, "1 % 2", 7.0, -3.0), 1.0);
    // 1000 = 3333 * 0.3 + 0.1 (0.3 is not exact in binary, hence the tolerance).
    assert!((scalars(&r, "1 % 2", 1000.0, 0.3) - 0.1).abs() < 1e-9);
    assert!(scalars(&r, "1 % 2", 5.0, 0.0).is_nan());
    assert!(scalars(&r, "1 % 2", f64::INFINITY, 2.0).is_nan());
    assert_eq!(scalars(&r, "1 % 2", 5.0, f64::INFINITY), 5.0);
    // math.Pow special cases: x^0 = 1 even for NaN, 1^y = 1 even for NaN.
    assert_eq!(scalars(&r, "1 ^ 2", 2.0, -1.0), 0.5);
    assert_eq!(scalars(&r, "1 ^ 2", f64::NAN, 0.0), 1.0);
    assert_eq!(scalars(&r, "1 ^ 2", 1.0, f64::NAN), 1.0);
    assert!(scalars(&r, "1 ^ 2", -8.0, 1.0 / 3.0).is_nan());
    // atan2(10, 20) = atan(0.5).
    assert_eq!(scalars(&r, "1 atan2 2", 10.0, 20.0), 0.5f64.atan());
    assert!(scalars(&r, "1 atan2 2", 10.0, f64::NAN).is_nan());
    // Scalar comparisons are 0 or 1; NaN compares false except with !=.
    assert_eq!(scalars(&r, "1 == bool 2", 1.0, 1.0), 1.0);
    assert_eq!(scalars(&r, "1 == bool 2", 0.0, 1.0), 0.0);
    assert_eq!(scalars(&r, "1 >= bool 2", f64::NAN, f64::NAN), 0.0);
    assert_eq!(scalars(&r, "1 != bool 2", f64::NAN, f64::NAN), 1.0);
}

#[test]
fn vector_scalar_names_and_filters() {
    let r = Run::instant();
    let v = || {
        vec![
            at0(labels!("__name__" => "node_cpu", "mode" => "idle"), 3.0),
            at0(labels!("__name__" => "node_cpu", "mode" => "user"), 1.0),
        ]
    };
    let vec = |x: Vec<Series>| StepValue::Vector(x);
    let get = |s: StepValue| match s {
        StepValue::Vector(v) => v,
        other => panic!("{other:?}"),
    };
    // Arithmetic drops the name.
    let out = get(r.eval("a * 2", vec(v()), r.scalar(2.0)).unwrap());
    assert_eq!(
        values(&out),
        [pair("{mode=\"idle\"}", 6.0), pair("{mode=\"user\"}", 2.0)]
    );
    // A filter keeps the name and the vector's value, on either side.
    let out = get(r.eval("a > 2", vec(v()), r.scalar(2.0)).unwrap());
    assert_eq!(
        values(&out),
        [pair("{__name__=\"node_cpu\", mode=\"idle\"}", 3.0)]
    );
    let out = get(r.eval("2 < a", r.scalar(2.0), vec(v())).unwrap());
    assert_eq!(
        values(&out),
        [pair("{__name__=\"node_cpu\", mode=\"idle\"}", 3.0)]
    );
    // `bool` gives 0/1 for every sample and drops the name; 2 - a swaps operands.
    let out = get(r.eval("a > bool 2", vec(v()), r.scalar(2.0)).unwrap());
    assert_eq!(
        values(&out),
        [pair("{mode=\"idle\"}", 1.0), pair("{mode=\"user\"}", 0.0)]
    );
    let out = get(r.eval("2 - a", r.scalar(2.0), vec(v())).unwrap());
    assert_eq!(values(&out)[0].1, -1.0);
    // NaN never passes a filter (but passes !=).
    let nan = vec![at0(labels!("__name__" => "x"), f64::NAN)];
    assert!(get(r
        .eval("a == 2", vec(nan.clone()), r.scalar(f64::NAN))
        .unwrap())
    .is_empty());
    assert_eq!(
        get(r.eval("a != 2", vec(nan), r.scalar(1.0)).unwrap()).len(),
        1
    );
}

#[test]
fn vector_scalar_with_delayed_name_removal_marks_instead() {
    let mut r = Run::instant();
    r.delayed = true;
    let v = vec![at0(labels!("__name__" => "m", "env" => "1"), 120.0)];
    let StepValue::Vector(out) = r
        .eval("a * 2", StepValue::Vector(v.clone()), r.scalar(2.0))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(out[0].metric, labels!("__name__" => "m", "env" => "1"));
    assert!(out[0].drop_name);
    // A filter keeps the input's flag.
    let StepValue::Vector(out) = r
        .eval("a <= 200", StepValue::Vector(v), r.scalar(200.0))
        .unwrap()
    else {
        panic!()
    };
    assert!(!out[0].drop_name);
}

#[test]
fn name_dropping_collisions() {
    // -{__name__=~"testmetric1|testmetric2"}: the same labels once the names are gone.
    let both = || {
        vec![
            at0(labels!("__name__" => "testmetric1", "src" => "a"), 0.0),
            at0(labels!("__name__" => "testmetric2", "src" => "a"), 1.0),
        ]
    };
    let r = Run::instant();
    let err = r
        .eval("0 - a", r.scalar(0.0), StepValue::Vector(both()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
    // With delayed name removal an instant result keeps both (the final result check
    // happens after the names are removed).
    let mut r = Run::instant();
    r.delayed = true;
    let StepValue::Vector(out) = r
        .eval("0 - a", r.scalar(0.0), StepValue::Vector(both()))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(out.len(), 2);
    // In a range query, samples that do not overlap merge into one series.
    let r = Run::range(0, 20, 20);
    let apart = vec![
        series(
            labels!("__name__" => "http_requests", "job" => "api"),
            &[(0, 2.0)],
        ),
        series(
            labels!("__name__" => "http_errors", "job" => "api"),
            &[(20, 4.0)],
        ),
    ];
    let StepValue::Vector(out) = r
        .eval("0 - a", r.scalar(0.0), StepValue::Vector(apart))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].metric, labels!("job" => "api"));
    assert_eq!(
        out[0].floats,
        [FPoint { t: 0, f: -2.0 }, FPoint { t: 20, f: -4.0 }]
    );
}

/// The canary/production `http_requests_total` of operators.test at 50m.
fn http_requests() -> Vec<Series> {
    let mut v = Vec::new();
    let mut f = 100.0;
    for job in ["api-server", "app-server"] {
        for group in ["production", "canary"] {
            for instance in ["0", "1"] {
                v.push(at0(
                    labels!("__name__" => "http_requests_total", "group" => group, "instance" => instance, "job" => job),
                    f,
                ));
                f += 100.0;
            }
        }
    }
    v
}

fn select(v: &[Series], label: &str, value: &str) -> Vec<Series> {
    v.iter()
        .filter(|s| s.metric.get(label) == Some(value))
        .cloned()
        .collect()
}

#[test]
fn one_to_one_matching() {
    let r = Run::instant();
    let all = http_requests();
    let canary = select(&all, "group", "canary");
    let production = select(&all, "group", "production");
    // canary / on(instance, job) production: 300/100, 700/500, 400/200, 800/600; the
    // result keeps only the `on` labels.
    let out = r
        .vv(
            "a / on(instance, job) b",
            canary.clone(),
            production.clone(),
        )
        .unwrap();
    assert_eq!(
        sorted(&out),
        [
            pair("{instance=\"0\", job=\"api-server\"}", 3.0),
            pair("{instance=\"0\", job=\"app-server\"}", 1.4),
            pair("{instance=\"1\", job=\"api-server\"}", 2.0),
            pair("{instance=\"1\", job=\"app-server\"}", 800.0 / 600.0),
        ]
    );
    // ignoring(group) gives the same, dropping `group` and the name.
    let out2 = r
        .vv("a / ignoring(group) b", canary.clone(), production)
        .unwrap();
    assert_eq!(sorted(&out2), sorted(&out));
    // Without matching modifiers all labels but the name must be equal: a + a doubles.
    let out = r.vv("a + b", canary.clone(), canary.clone()).unwrap();
    assert_eq!(
        values(&out)[0],
        pair(
            "{group=\"canary\", instance=\"0\", job=\"api-server\"}",
            600.0
        )
    );
    // A filtering comparison keeps the left side's labels, name included.
    let out = r
        .vv("a > b", canary.clone(), select(&all, "instance", "0"))
        .unwrap();
    assert!(out.is_empty());
    let out = r.vv("a >= b", canary.clone(), canary.clone()).unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0].metric.metric_name(), Some("http_requests_total"));
    let out = r.vv("a < bool b", canary.clone(), canary).unwrap();
    assert_eq!(
        values(&out)[0],
        pair(
            "{group=\"canary\", instance=\"0\", job=\"api-server\"}",
            0.0
        )
    );
    // on() with no labels matches everything to everything: fine for single series.
    let out = r
        .vv(
            "a + on() b",
            vec![at0(labels!("__name__" => "random", "foo" => "bar"), 2.0)],
            vec![at0(labels!("__name__" => "metricA", "baz" => "meh"), 3.0)],
        )
        .unwrap();
    assert_eq!(values(&out), [pair("{}", 5.0)]);
}

fn node_data() -> (Vec<Series>, Vec<Series>, Vec<Series>) {
    let cpu = vec![
        at0(
            labels!("__name__" => "node_cpu", "instance" => "abc", "job" => "node", "mode" => "idle"),
            3.0,
        ),
        at0(
            labels!("__name__" => "node_cpu", "instance" => "abc", "job" => "node", "mode" => "user"),
            1.0,
        ),
        at0(
            labels!("__name__" => "node_cpu", "instance" => "def", "job" => "node", "mode" => "idle"),
            8.0,
        ),
        at0(
            labels!("__name__" => "node_cpu", "instance" => "def", "job" => "node", "mode" => "user"),
            2.0,
        ),
    ];
    let role = vec![at0(
        labels!("__name__" => "node_role", "instance" => "abc", "job" => "node", "role" => "prometheus"),
        1.0,
    )];
    let threshold = vec![at0(
        labels!("__name__" => "threshold", "instance" => "abc", "job" => "node", "target" => "a@b.com"),
        0.0,
    )];
    (cpu, role, threshold)
}

#[test]
fn group_left_and_group_right() {
    let r = Run::instant();
    let (cpu, role, threshold) = node_data();
    // Copy `role` from the one side.
    let out = r
        .vv(
            "a * on(instance) group_left(role) b",
            cpu.clone(),
            role.clone(),
        )
        .unwrap();
    assert_eq!(
        values(&out),
        [
            pair(
                "{instance=\"abc\", job=\"node\", mode=\"idle\", role=\"prometheus\"}",
                3.0
            ),
            pair(
                "{instance=\"abc\", job=\"node\", mode=\"user\", role=\"prometheus\"}",
                1.0
            ),
        ]
    );
    // group_right: the right side is the "many" side, and the value is still a * b.
    let var = vec![at0(
        labels!("__name__" => "node_var", "instance" => "abc", "job" => "node"),
        2.0,
    )];
    let out = r
        .vv(
            "a * on(instance) group_right(role) b",
            role.clone(),
            var.clone(),
        )
        .unwrap();
    assert_eq!(
        values(&out),
        [pair(
            "{instance=\"abc\", job=\"node\", role=\"prometheus\"}",
            2.0
        )]
    );
    let out = r
        .vv("a / on(instance) group_right b", var.clone(), cpu.clone())
        .unwrap();
    // 2 / 3 and 2 / 1 for the abc series; def has no match.
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [2.0 / 3.0, 2.0]
    );
    // A filter keeps the many side's name and adds the include labels.
    let out = r
        .vv(
            "a > on(job, instance) group_left(target) b",
            cpu.clone(),
            threshold,
        )
        .unwrap();
    assert_eq!(
        values(&out),
        [
            pair("{__name__=\"node_cpu\", instance=\"abc\", job=\"node\", mode=\"idle\", target=\"a@b.com\"}", 3.0),
            pair("{__name__=\"node_cpu\", instance=\"abc\", job=\"node\", mode=\"user\", target=\"a@b.com\"}", 1.0),
        ]
    );
    // An include label the one side lacks is removed from the result.
    let out = r
        .vv(
            "a / ignoring(mode) group_left(mode) b",
            cpu[..1].to_vec(),
            var,
        )
        .unwrap();
    assert_eq!(values(&out)[0].0, "{instance=\"abc\", job=\"node\"}");
    // Ratio of total: node_cpu / on(instance) group_left sum by (instance, job).
    let sums = vec![
        at0(labels!("instance" => "abc", "job" => "node"), 4.0),
        at0(labels!("instance" => "def", "job" => "node"), 10.0),
    ];
    let out = r.vv("a / on(instance) group_left b", cpu, sums).unwrap();
    assert_eq!(
        values(&out).iter().map(|v| v.1).collect::<Vec<_>>(),
        [0.75, 0.25, 0.8, 0.2]
    );
}

#[test]
fn set_operators() {
    let r = Run::instant();
    let all = http_requests();
    let canary = select(&all, "group", "canary");
    let instance0 = select(&all, "instance", "0");
    let instance1 = select(&all, "instance", "1");
    let names = |out: &[Series]| -> Vec<String> {
        out.iter()
            .map(|s| {
                format!(
                    "{}/{}",
                    s.metric.get("group").unwrap(),
                    s.metric.get("instance").unwrap()
                )
            })
            .collect()
    };
    // and: canary series that also exist with instance 0 (same labels).
    let out = r.vv("a and b", canary.clone(), instance0.clone()).unwrap();
    assert_eq!(names(&out), ["canary/0", "canary/0"]);
    assert_eq!(out[0].metric.metric_name(), Some("http_requests_total"));
    // and on(instance): any canary series whose instance appears on the right.
    let out = r
        .vv(
            "a and on(instance) b",
            canary.clone(),
            select(&instance0, "group", "production"),
        )
        .unwrap();
    assert_eq!(names(&out), ["canary/0", "canary/0"]);
    // unless: canary without a match on the right.
    let out = r
        .vv("a unless b", canary.clone(), instance0.clone())
        .unwrap();
    assert_eq!(names(&out), ["canary/1", "canary/1"]);
    let out = r
        .vv("a unless on(job) b", canary.clone(), instance0.clone())
        .unwrap();
    assert!(out.is_empty());
    // or: all of the left, then the right's series whose signature the left lacks.
    let mut plus_one = canary.clone();
    for s in &mut plus_one {
        s.metric = {
            let mut b = s.metric.builder();
            b.del("__name__");
            b.labels()
        };
        s.floats[0].f += 1.0;
    }
    let out = r.vv("a or b", plus_one, instance1).unwrap();
    assert_eq!(
        out.iter().map(|s| s.floats[0].f).collect::<Vec<_>>(),
        [301.0, 401.0, 701.0, 801.0, 200.0, 600.0]
    );
    // AND ON (dummy) vector(1): every left series, `vector(1)` has no `dummy` either.
    let one = vec![at0(Labels::empty(), 1.0)];
    assert_eq!(
        r.vv("a and on(dummy) b", all.clone(), one.clone())
            .unwrap()
            .len(),
        8
    );
    assert_eq!(
        r.vv("a and ignoring(group, instance, job) b", all.clone(), one)
            .unwrap()
            .len(),
        8
    );
    // Nothing on one side.
    assert!(r.vv("a and b", all.clone(), vec![]).unwrap().is_empty());
    assert_eq!(r.vv("a unless b", all.clone(), vec![]).unwrap().len(), 8);
    assert_eq!(r.vv("a or b", vec![], all).unwrap().len(), 8);
}

#[test]
fn set_operators_per_step() {
    // Steps 0, 10, 20. The right side has the signature at 0 and 20 only.
    let r = Run::range(0, 20, 10);
    let lhs = vec![series(
        labels!("__name__" => "a", "k" => "1"),
        &[(0, 1.0), (10, 2.0), (20, 3.0)],
    )];
    let rhs = vec![series(
        labels!("__name__" => "b", "k" => "1"),
        &[(0, 9.0), (20, 9.0)],
    )];
    let out = r.vv("a and b", lhs.clone(), rhs.clone()).unwrap();
    assert_eq!(
        out[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
        [0, 20]
    );
    let out = r.vv("a unless b", lhs.clone(), rhs.clone()).unwrap();
    assert_eq!(out[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(), [10]);
    // or: the right side fills in where the left lacks the signature.
    let out = r.vv("b or a", rhs, lhs).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
        [0, 20]
    );
    assert_eq!(out[1].floats.iter().map(|p| p.t).collect::<Vec<_>>(), [10]);
}

#[test]
fn comparisons_per_step_with_nan_and_gaps() {
    // operators.test, left_floats == right_floats over 11 steps of 6m.
    let r = Run::range(0, 10, 1);
    let l = [
        Some(1.0),
        Some(2.0),
        None,
        None,
        Some(3.0),
        None,
        Some(4.0),
        Some(5.0),
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
    ];
    let rt = [
        Some(4.0),
        None,
        None,
        Some(5.0),
        Some(3.0),
        Some(7.0),
        Some(-1.0),
        Some(20.0),
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
    ];
    let mk = |name: &str, v: &[Option<f64>]| {
        let pts: Vec<(i64, f64)> = v
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|f| (i as i64, f)))
            .collect();
        vec![series(labels!("__name__" => name), &pts)]
    };
    let out = r.vv("a == b", mk("left", &l), mk("right", &rt)).unwrap();
    // Equal at 4 (3), 9 (Inf), 10 (-Inf); NaN == NaN is false.
    assert_eq!(
        out[0].floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
        [(4, 3.0), (9, f64::INFINITY), (10, f64::NEG_INFINITY)]
    );
    assert_eq!(out[0].metric.metric_name(), Some("left"));
    let out = r
        .vv("a == bool b", mk("left", &l), mk("right", &rt))
        .unwrap();
    assert_eq!(out[0].metric, Labels::empty());
    assert_eq!(
        out[0].floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
        [
            (0, 0.0),
            (4, 1.0),
            (6, 0.0),
            (7, 0.0),
            (8, 0.0),
            (9, 1.0),
            (10, 1.0)
        ]
    );
    let out = r.vv("a != b", mk("left", &l), mk("right", &rt)).unwrap();
    assert_eq!(
        out[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
        [0, 6, 7, 8]
    );
}

#[test]
fn duplicate_one_side_series_fail_with_the_pair() {
    let r = Run::instant();
    let scalar_metric = vec![at0(labels!("__name__" => "scalar_metric"), 3.0)];
    // Labels sort "beta" after "alpha" whichever comes first in the input.
    let dups = vec![
        at0(labels!("__name__" => "dup_metric", "label" => "beta"), 2.0),
        at0(labels!("__name__" => "dup_metric", "label" => "alpha"), 1.0),
    ];
    let err = r
        .vv("a > on() b", scalar_metric.clone(), dups.clone())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "found duplicate series for the match group {} on the right hand-side of the operation: [{__name__=\"dup_metric\", label=\"alpha\"}, {__name__=\"dup_metric\", label=\"beta\"}];many-to-many matching not allowed: matching labels must be unique on one side"
    );
    // group_right makes the left side the "one" side; the group is the `ignoring` view.
    let err = r
        .vv("a * ignoring(label) group_right b", dups, scalar_metric)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("found duplicate series for the match group {} on the left hand-side"),
        "{err}"
    );
}

#[test]
fn many_side_duplicates_need_group_modifiers() {
    let r = Run::instant();
    let many = vec![
        at0(
            labels!("__name__" => "many_side", "job" => "test", "label" => "foo"),
            0.0,
        ),
        at0(
            labels!("__name__" => "many_side", "job" => "test", "label" => "bar"),
            1.0,
        ),
    ];
    let one = vec![at0(labels!("__name__" => "one_side", "job" => "test"), 1.0)];
    // Fails even when the comparison filters out all (>) or some (>=) samples.
    for q in [
        "a > on(job) b",
        "a >= on(job) b",
        "a <= on(job) b",
        "a + on(job) b",
    ] {
        let err = r.vv(q, many.clone(), one.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
            "{q}"
        );
    }
    // With group_left it is fine: the result labels differ.
    assert_eq!(
        r.vv("a + on(job) group_left b", many.clone(), one.clone())
            .unwrap()
            .len(),
        2
    );
    // ... unless the group labels make them equal: both results become {job="test"}
    // with `label` copied (absent) from the one side.
    let err = r
        .vv("a + on(job) group_left(label) b", many, one)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "multiple matches for labels: grouping labels must ensure unique matches"
    );
}

#[test]
fn errors_only_at_steps_where_both_sides_have_samples() {
    let r = Run::range(0, 20, 10);
    // The right side's duplicates overlap only at 10, where the left side has no sample.
    let lhs = vec![series(labels!("__name__" => "l"), &[(0, 1.0), (20, 1.0)])];
    let rhs = vec![
        series(
            labels!("__name__" => "r", "x" => "1"),
            &[(0, 1.0), (10, 1.0)],
        ),
        series(
            labels!("__name__" => "r", "x" => "2"),
            &[(10, 2.0), (20, 2.0)],
        ),
    ];
    let out = r.vv("a + on() b", lhs, rhs).unwrap();
    // Step 0 pairs with x=1, step 20 with x=2: the same result labels {}, one series.
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].floats,
        [FPoint { t: 0, f: 2.0 }, FPoint { t: 20, f: 3.0 }]
    );
}

#[test]
fn the_earliest_failing_step_decides() {
    let r = Run::range(0, 10, 10);
    // Step 10: two right series share a signature (duplicate error). Step 0: two left
    // series with different names match the same right series (one-to-one error). The
    // step-0 error is the one Prometheus reports.
    let lhs = vec![
        series(
            labels!("__name__" => "l1", "k" => "a"),
            &[(0, 1.0), (10, 1.0)],
        ),
        series(labels!("__name__" => "l2", "k" => "a"), &[(0, 1.0)]),
    ];
    let rhs = vec![
        series(
            labels!("__name__" => "r", "k" => "a", "x" => "1"),
            &[(0, 1.0), (10, 1.0)],
        ),
        series(
            labels!("__name__" => "r", "k" => "a", "x" => "2"),
            &[(10, 1.0)],
        ),
    ];
    let err = r.vv("a + on(k) b", lhs.clone(), rhs.clone()).unwrap_err();
    assert!(
        err.to_string().starts_with("multiple matches for labels"),
        "{err}"
    );
    // At one step, the duplicate check on the one side comes first.
    let r = Run::instant();
    let at = |v: &[Series]| -> Vec<Series> {
        v.iter()
            .map(|s| series(s.metric.clone(), &[(0, 1.0)]))
            .collect()
    };
    let err = r.vv("a + on(k) b", at(&lhs), at(&rhs)).unwrap_err();
    assert!(
        err.to_string().starts_with("found duplicate series"),
        "{err}"
    );
}

#[test]
fn name_matching_with_delayed_removal() {
    // With delayed removal a marked series still has its name, so on(__name__) matches it.
    let mut r = Run::instant();
    r.delayed = true;
    let mut marked = at0(labels!("__name__" => "m", "env" => "1"), 0.2);
    marked.drop_name = true;
    let plain = at0(labels!("__name__" => "m", "env" => "2"), 1.0);
    let out = r
        .vv(
            "a + on(__name__) group_left b",
            vec![marked.clone()],
            vec![plain.clone()],
        )
        .unwrap();
    // Arithmetic removes the name right away.
    assert_eq!(values(&out), [pair("{env=\"1\"}", 1.2)]);
    // A bool comparison keeps it but marks the result.
    let out = r
        .vv("a < bool on(__name__) b", vec![marked], vec![plain])
        .unwrap();
    // One-to-one `on` keeps only the `on` labels.
    assert_eq!(values(&out), [pair("{__name__=\"m\"}", 1.0)]);
    assert!(out[0].drop_name);
}

#[test]
fn fill_modifiers_are_rejected() {
    let r = Run::instant();
    let expr = promql_parser::parser::parse("a + b").unwrap();
    let Expr::Binary(b) = &expr else { panic!() };
    let mut m = b.modifier.clone().unwrap_or_default();
    m.fill_values = VectorMatchFillValues::new(0.0, 0.0);
    let positions = Positions::default();
    let mut annotations = Annotations::new();
    let mut ctx = BinCtx {
        steps: r.steps,
        expr: &expr,
        positions: &positions,
        annotations: &mut annotations,
        delayed_name_removal: false,
    };
    assert!(binary(
        b.op,
        StepValue::Vector(vec![]),
        StepValue::Vector(vec![]),
        Some(&m),
        &mut ctx
    )
    .is_err());
}

/// Vector matching against a step-by-step reference written after Prometheus's
/// `VectorBinop`/`VectorAnd`/`VectorOr`/`VectorUnless` and `rangeEval`: at each step gather
/// the samples present, match them with hash maps, raise the first error, and file result
/// samples under their labels. The series-major implementation must agree on every
/// result and every error message.
mod reference {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    type Pairs = Vec<(String, String)>;

    /// A reference output series: labels, points, name-dropping flag.
    type RefSeries = (Pairs, Vec<(i64, f64)>, bool);

    fn pairs(l: &Labels) -> Pairs {
        l.iter()
            .map(|p| (p.name.to_string(), p.value.to_string()))
            .collect()
    }

    fn to_labels(p: &Pairs) -> Labels {
        Labels::from_pairs(p.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    #[derive(Debug, Clone)]
    struct Case {
        op: &'static str,
        bool_mod: bool,
        on: bool,
        names: Vec<&'static str>,
        /// None: one-to-one; Some((left, include)): group_left/group_right.
        group: Option<(bool, Vec<&'static str>)>,
    }

    impl Case {
        fn query(&self) -> String {
            let mut q = format!("a {} ", self.op);
            if self.bool_mod {
                q.push_str("bool ");
            }
            q.push_str(if self.on { "on(" } else { "ignoring(" });
            q.push_str(&self.names.join(", "));
            q.push_str(") ");
            if let Some((left, include)) = &self.group {
                q.push_str(if *left { "group_left(" } else { "group_right(" });
                q.push_str(&include.join(", "));
                q.push_str(") ");
            }
            q.push('b');
            q
        }

        fn set_op(&self) -> bool {
            matches!(self.op, "and" | "or" | "unless")
        }

        fn sig(&self, l: &Pairs) -> Pairs {
            l.iter()
                .filter(|(n, _)| {
                    if self.on {
                        self.names.contains(&n.as_str())
                    } else {
                        n != "__name__" && !self.names.contains(&n.as_str())
                    }
                })
                .cloned()
                .collect()
        }
    }

    /// A value's bits, with every NaN the same (NaN payloads are not portable).
    fn bits(f: f64) -> u64 {
        if f.is_nan() {
            f64::NAN.to_bits()
        } else {
            f.to_bits()
        }
    }

    type Outcome = Result<Vec<(String, Vec<(i64, u64)>, bool)>, String>;

    /// Prometheus's evaluation, step by step.
    fn reference(
        case: &Case,
        lhs: &[Series],
        rhs: &[Series],
        steps: Steps,
        delayed: bool,
    ) -> Outcome {
        let at = |side: &[Series], t: i64| -> Vec<(Pairs, f64, bool)> {
            side.iter()
                .filter_map(|s| {
                    s.floats
                        .iter()
                        .find(|p| p.t == t)
                        .map(|p| (pairs(&s.metric), p.f, s.drop_name))
                })
                .collect()
        };
        // Output series by labels: points and the drop flag of the first sample.
        let mut out: Vec<RefSeries> = Vec::new();
        let mut index: HashMap<Pairs, usize> = HashMap::new();
        for t in steps.iter() {
            let ls = at(lhs, t);
            let rs = at(rhs, t);
            let mut step_out: Vec<(Pairs, f64, bool)> = Vec::new();
            if case.set_op() {
                let rsigs: HashSet<Pairs> = rs.iter().map(|s| case.sig(&s.0)).collect();
                let lsigs: HashSet<Pairs> = ls.iter().map(|s| case.sig(&s.0)).collect();
                match case.op {
                    "and" => {
                        step_out.extend(ls.into_iter().filter(|s| rsigs.contains(&case.sig(&s.0))))
                    }
                    "unless" => {
                        step_out.extend(ls.into_iter().filter(|s| !rsigs.contains(&case.sig(&s.0))))
                    }
                    _ => {
                        step_out.extend(ls);
                        step_out
                            .extend(rs.into_iter().filter(|s| !lsigs.contains(&case.sig(&s.0))));
                    }
                }
            } else if !ls.is_empty() && !rs.is_empty() {
                let right = matches!(case.group, Some((false, _)));
                let (many, one) = if right { (rs, ls) } else { (ls, rs) };
                let mut by_sig: HashMap<Pairs, (Pairs, f64)> = HashMap::new();
                for (m, f, _) in &one {
                    let sig = case.sig(m);
                    if let Some((prev, _)) = by_sig.get(&sig) {
                        let (mut d1, mut d2) =
                            (to_labels(m).to_string(), to_labels(prev).to_string());
                        if d1 > d2 {
                            std::mem::swap(&mut d1, &mut d2);
                        }
                        return Err(format!(
                            "found duplicate series for the match group {} on the {} hand-side of the operation: [{d1}, {d2}];many-to-many matching not allowed: matching labels must be unique on one side",
                            to_labels(&sig),
                            if right { "left" } else { "right" }
                        ));
                    }
                    by_sig.insert(sig, (m.clone(), *f));
                }
                let mut matched: HashSet<Pairs> = HashSet::new();
                let mut inserted: HashMap<Pairs, HashSet<Pairs>> = HashMap::new();
                for (m, f, _) in &many {
                    let sig = case.sig(m);
                    let Some((o, of)) = by_sig.get(&sig) else {
                        continue;
                    };
                    let (l, r) = if right { (*of, *f) } else { (*f, *of) };
                    let (v, keep) = match case.op {
                        "+" => (l + r, true),
                        "/" => (l / r, true),
                        ">" => (l, l > r),
                        "==" => (l, l == r),
                        other => panic!("{other}"),
                    };
                    let drop = case.op == "+" || case.op == "/" || (case.bool_mod && !delayed);
                    let mut metric: Pairs = m.clone();
                    if drop {
                        metric.retain(|(n, _)| n != "__name__");
                    }
                    match &case.group {
                        None => metric.retain(|(n, _)| case.names.contains(&n.as_str()) == case.on),
                        Some((_, include)) => {
                            for name in include {
                                metric.retain(|(n, _)| n != name);
                                if let Some((_, v)) = o.iter().find(|(n, _)| n == name) {
                                    metric.push((name.to_string(), v.clone()));
                                }
                            }
                            metric.sort();
                        }
                    }
                    if case.group.is_none() {
                        if !matched.insert(sig) {
                            return Err("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into());
                        }
                    } else if !inserted.entry(sig).or_default().insert(metric.clone()) {
                        return Err("multiple matches for labels: grouping labels must ensure unique matches".into());
                    }
                    if case.bool_mod {
                        step_out.push((metric, if keep { 1.0 } else { 0.0 }, true));
                    } else if keep {
                        step_out.push((metric, v, false));
                    }
                }
            }
            if !steps.is_range() {
                if !delayed {
                    let mut seen = HashSet::new();
                    if !step_out.iter().all(|s| seen.insert(s.0.clone())) {
                        return Err(SAME_LABELSET.into());
                    }
                }
                for (m, f, d) in step_out {
                    out.push((m, vec![(t, f)], d));
                }
                continue;
            }
            for (m, f, d) in step_out {
                match index.get(&m) {
                    Some(&i) => {
                        if out[i].1.last().is_some_and(|p| p.0 == t) {
                            return Err(SAME_LABELSET.into());
                        }
                        out[i].1.push((t, f));
                    }
                    None => {
                        index.insert(m.clone(), out.len());
                        out.push((m, vec![(t, f)], d));
                    }
                }
            }
        }
        let mut res: Vec<_> = out
            .into_iter()
            .map(|(m, pts, d)| {
                (
                    to_labels(&m).to_string(),
                    pts.into_iter().map(|(t, f)| (t, bits(f))).collect(),
                    d,
                )
            })
            .collect();
        res.sort();
        Ok(res)
    }

    fn actual(
        case: &Case,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
        steps: Steps,
        delayed: bool,
    ) -> Outcome {
        let r = Run { steps, delayed };
        match r.vv(&case.query(), lhs, rhs) {
            Ok(out) => {
                let mut res: Vec<_> = out
                    .into_iter()
                    .map(|s| {
                        (
                            s.metric.to_string(),
                            s.floats.iter().map(|p| (p.t, bits(p.f))).collect(),
                            s.drop_name,
                        )
                    })
                    .collect();
                res.sort();
                Ok(res)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// A side: up to 5 series over small label alphabets (so signatures collide), each
    /// present at a random subset of the steps with small values; unique label sets.
    fn side(name: &'static str, nsteps: usize) -> impl Strategy<Value = Vec<Series>> {
        let one = (
            prop_oneof![Just(name), Just("c")],
            proptest::option::of(prop_oneof![Just("1"), Just("2")]),
            proptest::option::of(prop_oneof![Just("1"), Just("2")]),
            proptest::option::of(Just("1")),
            proptest::collection::vec(proptest::option::of(0u8..4), nsteps),
            any::<bool>(),
        );
        proptest::collection::vec(one, 0..5).prop_map(|v| {
            let mut seen = HashSet::new();
            v.into_iter()
                .filter_map(|(n, x, y, z, vals, drop)| {
                    let mut p = vec![("__name__", n)];
                    p.extend(x.map(|x| ("x", x)));
                    p.extend(y.map(|y| ("y", y)));
                    p.extend(z.map(|z| ("z", z)));
                    let metric = Labels::from_pairs(p);
                    if !seen.insert(metric.clone()) {
                        return None;
                    }
                    let pts: Vec<(i64, f64)> = vals
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| (i as i64 * 10, f64::from(v))))
                        .collect();
                    let mut s = series(metric, &pts);
                    s.drop_name = drop;
                    Some(s)
                })
                .collect()
        })
    }

    fn case() -> impl Strategy<Value = Case> {
        let labels = proptest::sample::subsequence(vec!["__name__", "x", "y", "z"], 0..=3);
        let include = proptest::sample::subsequence(vec!["x", "y", "z"], 0..=2);
        (
            prop_oneof![
                Just("+"),
                Just("/"),
                Just(">"),
                Just("=="),
                Just("and"),
                Just("or"),
                Just("unless")
            ],
            any::<bool>(),
            any::<bool>(),
            labels,
            proptest::option::of((any::<bool>(), include)),
        )
            .prop_map(|(op, bool_mod, on, names, group)| {
                let set = matches!(op, "and" | "or" | "unless");
                let cmp = matches!(op, ">" | "==");
                // What the parser accepts: bool only on comparisons, no grouping for set
                // operators, no label both in on(...) and group_x(...).
                let group = if set {
                    None
                } else {
                    group.map(|(left, inc): (bool, Vec<&str>)| {
                        let inc = inc
                            .into_iter()
                            .filter(|l| !(on && names.contains(l)))
                            .collect();
                        (left, inc)
                    })
                };
                Case {
                    op,
                    bool_mod: bool_mod && cmp,
                    on,
                    names,
                    group,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn range_matches_reference(
            (nsteps, lhs, rhs) in (1usize..4).prop_flat_map(|n| (Just(n), side("a", n), side("b", n))),
            case in case(),
            delayed in any::<bool>(),
        ) {
            let steps = Steps::range(0, (nsteps as i64 - 1) * 10, 10);
            let want = reference(&case, &lhs, &rhs, steps, delayed);
            let got = actual(&case, lhs, rhs, steps, delayed);
            prop_assert_eq!(got, want, "{}", case.query());
        }

        #[test]
        fn instant_matches_reference(
            lhs in side("a", 1),
            rhs in side("b", 1),
            case in case(),
            delayed in any::<bool>(),
        ) {
            let steps = Steps::instant(0);
            let want = reference(&case, &lhs, &rhs, steps, delayed);
            let got = actual(&case, lhs, rhs, steps, delayed);
            prop_assert_eq!(got, want, "{}", case.query());
        }
    }
}
