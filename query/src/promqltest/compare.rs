//! Checking a query's outcome against an eval's expectations, with Prometheus's rules:
//!
//! - values compare with a relative epsilon of 1e-6 ([`almost_equal`]);
//! - series are matched by label set, in any order unless `ordered` is expected; every
//!   expected series must be present and no other;
//! - a range-vector result must be sorted by labels;
//! - every `expect warn|info` line must match some annotation of its kind, and when any
//!   such line exists every annotation of that kind must be matched by one;
//!   `no_warn`/`no_info` forbid the kind; without any of these, annotations are ignored;
//! - an expected failure is checked against the error's message.

use ember_storage::chunkenc::is_stale_nan;
use ember_storage::numfmt::format_g;

use crate::annotations::Annotations;
use crate::value::{Series, Value};

use super::script::{Eval, Expected, TextMatch};
use super::series::SeqValue;

/// Relative error allowed between an expected and an actual value.
pub const EPSILON: f64 = 0.000001;

/// Prometheus's `almost.Equal`: equal within `epsilon` relative to the magnitudes (or
/// absolutely near zero), NaN equal to NaN, and the staleness marker equal only to itself.
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let min_normal = f64::MIN_POSITIVE; // The smallest positive normal f64.
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < epsilon * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// How a result's steps map to expected values.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    pub start: i64,
    /// `None` for an instant query without `expect range vector`: no point fits then.
    pub end: Option<i64>,
    pub step: i64,
}

/// Checks the annotations of a successful query.
pub fn check_annotations(eval: &Eval, annotations: &Annotations) -> Result<(), String> {
    let warnings: Vec<&str> = annotations.warnings().collect();
    let infos: Vec<&str> = annotations.infos().collect();
    let e = &eval.expect;
    if e.legacy_warn && warnings.is_empty() {
        return Err("expected warnings but got none".into());
    }
    if e.legacy_info && infos.is_empty() {
        return Err("expected info annotations but got none".into());
    }
    check_kind(&e.warn, &warnings, "warn")?;
    check_kind(&e.info, &infos, "info")?;
    if e.no_warn && !warnings.is_empty() {
        return Err(format!("unexpected warning annotations: {warnings:?}"));
    }
    if e.no_info && !infos.is_empty() {
        return Err(format!("unexpected info annotations: {infos:?}"));
    }
    Ok(())
}

fn check_kind(expected: &[TextMatch], actual: &[&str], kind: &str) -> Result<(), String> {
    if expected.is_empty() {
        return Ok(());
    }
    if actual.is_empty() {
        return Err(format!("expected {kind} annotations but none were found"));
    }
    for e in expected {
        if !actual.iter().any(|a| e.matches(a)) {
            return Err(format!(
                "expected {kind} annotation matching {} but no matching annotation was found, found: {actual:?}",
                e.describe()
            ));
        }
    }
    for a in actual {
        if !expected.iter().any(|e| e.matches(a)) {
            return Err(format!("unexpected {kind} annotation {a:?}"));
        }
    }
    Ok(())
}

/// Checks the error of a query that was expected to fail.
pub fn check_expected_failure(eval: &Eval, error: &str) -> Result<(), String> {
    let e = &eval.expect;
    if let Some(m) = e.fail_message.as_deref().filter(|m| !m.is_empty()) {
        if m != error {
            return Err(format!("expected error {m:?}, but got: {error}"));
        }
    }
    if let Some(re) = &e.fail_regexp {
        if !re.is_match(error) {
            return Err(format!(
                "expected error matching pattern {:?}, but got: {error}",
                re.as_str()
            ));
        }
    }
    if let Some(m) = e.fail.first() {
        if !m.matches(error) {
            return Err(format!(
                "expected error matching {}, but got: {error}",
                m.describe()
            ));
        }
    }
    Ok(())
}

/// Checks a query's value against the expected result.
pub fn compare_result(
    expected: &Expected,
    ordered: bool,
    steps: Steps,
    value: &Value,
) -> Result<(), String> {
    match value {
        Value::Matrix(m) => compare_matrix(expected, ordered, steps, m),
        Value::Vector(v) => {
            if expected.scalar.is_some() {
                return Err(format!(
                    "expected scalar result, but got vector {}",
                    fmt_vector(v)
                ));
            }
            let samples: Vec<(&ember_storage::Labels, f64)> =
                v.iter().map(|s| (&s.metric, s.f)).collect();
            compare_vector(expected, ordered, &samples)
        }
        Value::Scalar { v, .. } => {
            let Some(exp) = expected.scalar else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {}",
                    format_g(*v)
                ));
            };
            if !almost_equal(exp, *v, EPSILON) {
                return Err(format!(
                    "expected scalar {} but got {}",
                    format_g(exp),
                    format_g(*v)
                ));
            }
            Ok(())
        }
        Value::String { v, .. } => {
            let exp = expected.string.as_deref().unwrap_or("");
            if exp != v {
                return Err(format!("expected string {exp:?} but got {v:?}"));
            }
            Ok(())
        }
    }
}

/// Checks an instant vector (also one cut out of a range query).
pub fn compare_vector(
    expected: &Expected,
    ordered: bool,
    samples: &[(&ember_storage::Labels, f64)],
) -> Result<(), String> {
    if expected.scalar.is_some() {
        return Err("expected scalar result, but got a vector".into());
    }
    let mut seen = vec![false; expected.series.len()];
    for (i, (labels, f)) in samples.iter().enumerate() {
        let Some(idx) = expected.series.iter().position(|e| &e.labels == *labels) else {
            return Err(format!(
                "unexpected metric {labels} in result, has value {}",
                format_g(*f)
            ));
        };
        let exp = &expected.series[idx];
        if ordered && exp.pos != i + 1 {
            return Err(format!(
                "expected metric {labels} at position {} but was at {}",
                exp.pos,
                i + 1
            ));
        }
        let Some(&first) = exp.values.first() else {
            return Err(format!(
                "expected metric {labels} has no value to compare with"
            ));
        };
        if !almost_equal(first.float(), *f, EPSILON) {
            return Err(format!(
                "expected {} for {labels} but got {}",
                fmt_seq(first),
                format_g(*f)
            ));
        }
        seen[idx] = true;
    }
    for (exp, seen) in expected.series.iter().zip(&seen) {
        if !seen {
            return Err(format!(
                "expected metric {} with {} not found",
                exp.labels,
                fmt_seqs(&exp.values)
            ));
        }
    }
    Ok(())
}

fn compare_matrix(
    expected: &Expected,
    ordered: bool,
    steps: Steps,
    matrix: &[Series],
) -> Result<(), String> {
    if ordered {
        return Err("expected ordered result, but query returned a matrix".into());
    }
    if expected.scalar.is_some() {
        return Err(format!(
            "expected scalar result, but got matrix {}",
            fmt_matrix(matrix)
        ));
    }
    check_sorted(matrix)?;
    let mut seen = vec![false; expected.series.len()];
    for s in matrix {
        let Some(idx) = expected.series.iter().position(|e| e.labels == s.metric) else {
            return Err(format!(
                "unexpected metric {} in result, has {}",
                s.metric,
                fmt_points(s)
            ));
        };
        seen[idx] = true;
        let exp = &expected.series[idx];
        let mut points = Vec::new();
        for (i, v) in exp.values.iter().enumerate() {
            let t = steps.start + i as i64 * steps.step;
            if steps.end.is_none_or(|end| t > end) {
                return Err(format!(
                    "expected {} points for {}, but query time range cannot return this many points",
                    exp.values.len(),
                    exp.labels
                ));
            }
            if let SeqValue::Float(f) = v {
                points.push((t, *f));
            }
        }
        if points.len() != s.floats.len() {
            return Err(format!(
                "expected {} float points for {}, but got {}",
                points.len(),
                exp.labels,
                fmt_points(s)
            ));
        }
        for (i, ((t, f), got)) in points.iter().zip(&s.floats).enumerate() {
            if *t != got.t {
                return Err(format!(
                    "expected float value at index {i} for {} to have timestamp {t}, but it had timestamp {} (result has {})",
                    exp.labels,
                    got.t,
                    fmt_points(s)
                ));
            }
            if !almost_equal(got.f, *f, EPSILON) {
                return Err(format!(
                    "expected float value at index {i} (t={t}) for {} to be {}, but got {} (result has {})",
                    exp.labels,
                    format_g(*f),
                    format_g(got.f),
                    fmt_points(s)
                ));
            }
        }
    }
    for (exp, seen) in expected.series.iter().zip(&seen) {
        if !seen {
            return Err(format!("expected metric {} not found", exp.labels));
        }
    }
    Ok(())
}

/// A range query's (or a range-vector) result must be sorted by labels.
pub fn check_sorted(matrix: &[Series]) -> Result<(), String> {
    for (i, w) in matrix.windows(2).enumerate() {
        if w[0].metric > w[1].metric {
            return Err(format!(
                "matrix results should always be sorted by labels, but matrix is not sorted: series at index {} with labels {} sorts before series at index {i} with labels {}",
                i + 1,
                w[1].metric,
                w[0].metric
            ));
        }
    }
    Ok(())
}

fn fmt_seq(v: SeqValue) -> String {
    match v {
        SeqValue::Omitted => "_".into(),
        SeqValue::Float(f) => format_g(f),
        SeqValue::Histogram => "{{histogram}}".into(),
    }
}

fn fmt_seqs(v: &[SeqValue]) -> String {
    let parts: Vec<String> = v.iter().map(|&v| fmt_seq(v)).collect();
    format!("[{}]", parts.join(" "))
}

fn fmt_points(s: &Series) -> String {
    let parts: Vec<String> = s
        .floats
        .iter()
        .map(|p| format!("{} @[{}]", format_g(p.f), p.t))
        .collect();
    let plural = if s.floats.len() == 1 { "" } else { "s" };
    format!(
        "{} float point{plural} [{}]",
        s.floats.len(),
        parts.join(" ")
    )
}

fn fmt_vector(v: &[crate::value::Sample]) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|s| format!("{} => {} @[{}]", s.metric, format_g(s.f), s.t))
        .collect();
    parts.join("\n")
}

fn fmt_matrix(m: &[Series]) -> String {
    let parts: Vec<String> = m
        .iter()
        .map(|s| format!("{} => {}", s.metric, fmt_points(s)))
        .collect();
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::positions::Pos;
    use crate::promqltest::script::{parse_script, Command};
    use crate::value::{FPoint, Sample};
    use ember_storage::chunkenc::stale_nan;
    use ember_storage::Labels;

    fn eval(script: &str) -> Eval {
        match parse_script(script).unwrap().commands.into_iter().next() {
            Some(Command::Eval(e)) => *e,
            _ => panic!("not an eval"),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    fn sample(pairs: &[(&str, &str)], f: f64) -> Sample {
        Sample {
            metric: labels(pairs),
            t: 0,
            f,
        }
    }

    const INSTANT: Steps = Steps {
        start: 0,
        end: None,
        step: 0,
    };

    #[test]
    fn epsilon_edges() {
        // Relative: 1e-6 of the sum of magnitudes.
        assert!(almost_equal(1.0, 1.0 + 1e-7, EPSILON));
        assert!(!almost_equal(1.0, 1.0 + 1e-5, EPSILON));
        assert!(almost_equal(1e20, 1e20 * (1.0 + 1e-7), EPSILON));
        assert!(!almost_equal(1e-20, 2e-20, EPSILON));
        // Near zero the tolerance is absolute and tiny.
        assert!(!almost_equal(0.0, 1e-300, EPSILON));
        assert!(almost_equal(0.0, 0.0, EPSILON));
        assert!(almost_equal(0.0, -0.0, EPSILON));
        assert!(almost_equal(0.0, f64::MIN_POSITIVE * 1e-7, EPSILON));
        // Infinities equal only themselves; NaNs equal each other.
        assert!(almost_equal(f64::INFINITY, f64::INFINITY, EPSILON));
        assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY, EPSILON));
        assert!(!almost_equal(f64::INFINITY, f64::MAX, EPSILON));
        assert!(almost_equal(f64::NAN, -f64::NAN, EPSILON));
        assert!(!almost_equal(f64::NAN, 1.0, EPSILON));
        // The staleness marker equals only itself, not another NaN.
        assert!(almost_equal(stale_nan(), stale_nan(), EPSILON));
        assert!(!almost_equal(stale_nan(), f64::NAN, EPSILON));
        assert!(!almost_equal(f64::NAN, stale_nan(), EPSILON));
        // Opposite signs never agree.
        assert!(!almost_equal(1e-3, -1e-3, EPSILON));
        assert!(almost_equal(f64::MAX, f64::MAX, EPSILON));
        assert!(almost_equal(f64::MAX, f64::MAX * (1.0 - 1e-9), EPSILON));
    }

    #[test]
    fn vectors_match_unordered() {
        let e = eval("eval instant at 0 x\n  x{a=\"1\"} 1\n  x{a=\"2\"} 2\n");
        let v = Value::Vector(vec![
            sample(&[("__name__", "x"), ("a", "2")], 2.0000001),
            sample(&[("__name__", "x"), ("a", "1")], 1.0),
        ]);
        assert_eq!(compare_result(&e.expected, false, INSTANT, &v), Ok(()));
        // Ordered, the listing order matters.
        assert!(compare_result(&e.expected, true, INSTANT, &v).is_err());
        let missing = Value::Vector(vec![sample(&[("__name__", "x"), ("a", "1")], 1.0)]);
        assert!(compare_result(&e.expected, false, INSTANT, &missing)
            .unwrap_err()
            .contains("not found"));
        let extra = Value::Vector(vec![
            sample(&[("__name__", "x"), ("a", "1")], 1.0),
            sample(&[("__name__", "x"), ("a", "2")], 2.0),
            sample(&[("__name__", "x"), ("a", "3")], 3.0),
        ]);
        assert!(compare_result(&e.expected, false, INSTANT, &extra)
            .unwrap_err()
            .contains("unexpected metric"));
        let wrong = Value::Vector(vec![
            sample(&[("__name__", "x"), ("a", "1")], 1.0),
            sample(&[("__name__", "x"), ("a", "2")], 2.1),
        ]);
        assert!(compare_result(&e.expected, false, INSTANT, &wrong).is_err());
        // An empty expectation accepts only an empty vector.
        let none = eval("eval instant at 0 x\n");
        assert_eq!(
            compare_result(&none.expected, false, INSTANT, &Value::Vector(vec![])),
            Ok(())
        );
        assert!(compare_result(&none.expected, false, INSTANT, &wrong).is_err());
    }

    #[test]
    fn scalars_and_strings() {
        let e = eval("eval instant at 0 1\n  1.0000001\n");
        assert_eq!(
            compare_result(&e.expected, false, INSTANT, &Value::Scalar { t: 0, v: 1.0 }),
            Ok(())
        );
        assert!(
            compare_result(&e.expected, false, INSTANT, &Value::Scalar { t: 0, v: 2.0 }).is_err()
        );
        assert!(compare_result(&e.expected, false, INSTANT, &Value::Vector(vec![])).is_err());
        // A scalar result needs a scalar expectation.
        let v = eval("eval instant at 0 1\n  {} 1\n");
        assert!(
            compare_result(&v.expected, false, INSTANT, &Value::Scalar { t: 0, v: 1.0 }).is_err()
        );
        let s = eval("eval instant at 0 \"a\"\n  expect string \"a\"\n");
        let a = Value::String {
            t: 0,
            v: "a".into(),
        };
        assert_eq!(compare_result(&s.expected, false, INSTANT, &a), Ok(()));
        assert!(compare_result(
            &s.expected,
            false,
            INSTANT,
            &Value::String {
                t: 0,
                v: "b".into()
            }
        )
        .is_err());
    }

    #[test]
    fn matrices() {
        let e = eval("eval range from 0 to 2m step 1m x\n  x 1 _ 3\n");
        let steps = Steps {
            start: 0,
            end: Some(120_000),
            step: 60_000,
        };
        let series = |pts: &[(i64, f64)]| {
            Value::Matrix(vec![Series::new(
                labels(&[("__name__", "x")]),
                pts.iter().map(|&(t, f)| FPoint { t, f }).collect(),
            )])
        };
        assert_eq!(
            compare_result(
                &e.expected,
                false,
                steps,
                &series(&[(0, 1.0), (120_000, 3.0)])
            ),
            Ok(())
        );
        // The omitted point must be absent, and timestamps must agree.
        assert!(compare_result(
            &e.expected,
            false,
            steps,
            &series(&[(0, 1.0), (60_000, 2.0), (120_000, 3.0)])
        )
        .is_err());
        assert!(compare_result(
            &e.expected,
            false,
            steps,
            &series(&[(0, 1.0), (60_000, 3.0)])
        )
        .is_err());
        // More expected points than the range has.
        let long = eval("eval range from 0 to 2m step 1m x\n  x 1 2 3 4\n");
        assert!(
            compare_result(&long.expected, false, steps, &series(&[(0, 1.0)]))
                .unwrap_err()
                .contains("cannot return this many points")
        );
        // Unsorted matrices are rejected.
        let two = eval("eval range from 0 to 0 step 1m x\n  x{a=\"1\"} 1\n  x{a=\"2\"} 1\n");
        let unsorted = Value::Matrix(vec![
            Series::new(
                labels(&[("__name__", "x"), ("a", "2")]),
                vec![FPoint { t: 0, f: 1.0 }],
            ),
            Series::new(
                labels(&[("__name__", "x"), ("a", "1")]),
                vec![FPoint { t: 0, f: 1.0 }],
            ),
        ]);
        assert!(compare_result(&two.expected, false, steps, &unsorted)
            .unwrap_err()
            .contains("not sorted"));
        // An instant query's matrix without `expect range vector` fits no point.
        let inst = eval("eval instant at 0 x[1m]\n  x 1\n");
        assert!(compare_result(&inst.expected, false, INSTANT, &series(&[(0, 1.0)])).is_err());
        assert_eq!(
            compare_result(
                &eval("eval instant at 0 x[1m]\n").expected,
                false,
                INSTANT,
                &Value::Matrix(vec![])
            ),
            Ok(())
        );
    }

    fn annotations(warnings: &[&str], infos: &[&str]) -> Annotations {
        let mut a = Annotations::new();
        let p = Some(Pos { line: 1, col: 1 });
        for w in warnings {
            a.warn(w, p);
        }
        for i in infos {
            a.info(i, p);
        }
        a
    }

    #[test]
    fn annotation_rules() {
        let none = annotations(&[], &[]);
        let w = annotations(&["w1", "w2"], &["i1"]);
        // Without expectations, annotations are ignored.
        assert_eq!(
            check_annotations(&eval("eval instant at 0 x\n"), &w),
            Ok(())
        );
        // Every expect line must match some annotation ...
        let e = eval("eval instant at 0 x\n  expect warn msg: PromQL warning: w1 (1:1)\n");
        assert!(check_annotations(&e, &none).is_err());
        // ... and when one exists, every annotation of the kind must be matched.
        assert!(check_annotations(&e, &w)
            .unwrap_err()
            .contains("unexpected warn annotation"));
        let e = eval("eval instant at 0 x\n  expect warn msg: PromQL warning: w1 (1:1)\n  expect warn regex: w2\n");
        assert_eq!(check_annotations(&e, &w), Ok(()));
        // A bare `expect warn` matches any warning; infos are not constrained by it.
        assert_eq!(
            check_annotations(&eval("eval instant at 0 x\n  expect warn\n"), &w),
            Ok(())
        );
        assert!(check_annotations(
            &eval("eval instant at 0 x\n  expect info regex: nope\n"),
            &w
        )
        .is_err());
        assert!(check_annotations(&eval("eval instant at 0 x\n  expect no_info\n"), &w).is_err());
        assert!(check_annotations(&eval("eval instant at 0 x\n  expect no_warn\n"), &w).is_err());
        assert_eq!(
            check_annotations(
                &eval("eval instant at 0 x\n  expect no_warn\n  expect no_info\n"),
                &none
            ),
            Ok(())
        );
        // Exact messages include the position.
        assert!(check_annotations(
            &eval("eval instant at 0 x\n  expect info msg: PromQL info: i1\n"),
            &w
        )
        .is_err());
        // Deprecated forms only require presence.
        assert_eq!(
            check_annotations(&eval("eval_warn instant at 0 x\n"), &w),
            Ok(())
        );
        assert!(check_annotations(&eval("eval_info instant at 0 x\n"), &none).is_err());
    }

    #[test]
    fn failure_rules() {
        let e = eval("eval instant at 0 x\n  expect fail msg: boom\n");
        assert_eq!(check_expected_failure(&e, "boom"), Ok(()));
        assert!(check_expected_failure(&e, "boom!").is_err());
        let e = eval("eval instant at 0 x\n  expect fail regex: bo+m\n");
        assert_eq!(check_expected_failure(&e, "a booom b"), Ok(()));
        assert_eq!(
            check_expected_failure(&eval("eval instant at 0 x\n  expect fail\n"), "anything"),
            Ok(())
        );
        let e = eval("eval_fail instant at 0 x\n  expected_fail_message exact text\n");
        assert!(check_expected_failure(&e, "exact text!").is_err());
        assert_eq!(check_expected_failure(&e, "exact text"), Ok(()));
    }
}
