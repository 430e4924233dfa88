//! Per-sample functions of an instant vector (`abs`, `ln`, trigonometry, `round`,
//! `clamp`, ...), `timestamp` of an expression, and the scalar functions `scalar`,
//! `vector`, `time`, `pi`, `max_of`, `min_of`.
//!
//! The per-sample functions rewrite each input series' points in place (the arguments are
//! owned), so they cost no allocation beyond the label set rebuilt when the metric name is
//! dropped. All of them drop the name, as Prometheus's `simpleFloatFunc` does.

use crate::value::{FPoint, Series};

use super::numeric::{go_max, go_min};
use super::{at, at_time, FnCtx};

/// The function of a per-sample function's name.
pub(super) fn unary(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => go_log2,
        "log10" => go_log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "sgn" => sgn,
        _ => return None,
    })
}

/// -1, 1, or the value itself for ±0 and NaN.
fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// Go's `math.Frexp`: `v = frac · 2^exp` with `|frac|` in [½, 1), for finite non-zero `v`.
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let (mut v, mut exp) = (v, 0);
    if v.abs() < f64::MIN_POSITIVE {
        // Subnormal: normalise first.
        v *= (1u64 << 52) as f64;
        exp = -52;
    }
    let bits = v.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i32 - 1022;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, exp)
}

/// Go's `math.Log2`: exact for powers of two (`frexp` gives the exponent), otherwise
/// `ln(frac)/ln 2 + exp`.
fn go_log2(v: f64) -> f64 {
    let (frac, exp) = frexp(v);
    if frac == 0.5 {
        return f64::from(exp - 1);
    }
    // Go's constant `1/Ln2` is computed exactly at compile time: log2(e), correctly rounded.
    frac.ln() * std::f64::consts::LOG2_E + f64::from(exp)
}

/// Go's `math.Log10`: `log2(v) · (Ln2/Ln10)`, the constant computed exactly (log10(2)).
fn go_log10(v: f64) -> f64 {
    go_log2(v) * std::f64::consts::LOG10_2
}

/// Applies `f` to every sample, dropping the metric name.
pub(super) fn map_values(
    mut input: Vec<Series>,
    ctx: &FnCtx<'_>,
    f: impl Fn(f64) -> f64,
) -> Vec<Series> {
    input.retain(|s| !s.floats.is_empty());
    for s in &mut input {
        for p in &mut s.floats {
            p.f = f(p.f);
        }
        ctx.drop_metric_name(s);
    }
    input
}

/// `round(v, to_nearest)`: rounds to the nearest multiple of `to_nearest` (default 1),
/// ties upward, via the inverse as Prometheus computes it (`floor(v·(1/n) + 0.5) / (1/n)`).
pub(super) fn round(
    mut input: Vec<Series>,
    to_nearest: Option<&[f64]>,
    ctx: &FnCtx<'_>,
) -> Vec<Series> {
    input.retain(|s| !s.floats.is_empty());
    for s in &mut input {
        for p in &mut s.floats {
            let n = to_nearest.map_or(1.0, |v| at_time(v, &ctx.steps, p.t));
            let inv = 1.0 / n;
            p.f = (p.f * inv + 0.5).floor() / inv;
        }
        ctx.drop_metric_name(s);
    }
    input
}

/// `clamp(v, min, max)` and its one-sided forms: Go's `Max(min, Min(max, v))`, so a NaN
/// bound gives NaN. Steps where `max < min` have no result.
pub(super) fn clamp(
    mut input: Vec<Series>,
    min: Option<&[f64]>,
    max: Option<&[f64]>,
    ctx: &FnCtx<'_>,
) -> Vec<Series> {
    let steps = ctx.steps;
    let bound =
        |v: Option<&[f64]>, t: i64, default: f64| v.map_or(default, |v| at_time(v, &steps, t));
    for s in &mut input {
        s.floats.retain_mut(|p| {
            let lo = bound(min, p.t, f64::NEG_INFINITY);
            let hi = bound(max, p.t, f64::INFINITY);
            if hi < lo {
                return false;
            }
            p.f = go_max(lo, go_min(hi, p.f));
            true
        });
        ctx.drop_metric_name(s);
    }
    input.retain(|s| !s.floats.is_empty());
    input
}

/// `timestamp(expr)` of an expression that is not a selector: its samples sit at the step
/// timestamps, so each becomes its step's time in seconds. The name is dropped.
pub(super) fn timestamp(input: Vec<Series>, ctx: &FnCtx<'_>) -> Vec<Series> {
    map_values_with_time(input, ctx, |t, _| t as f64 / 1000.0)
}

fn map_values_with_time(
    mut input: Vec<Series>,
    ctx: &FnCtx<'_>,
    f: impl Fn(i64, f64) -> f64,
) -> Vec<Series> {
    input.retain(|s| !s.floats.is_empty());
    for s in &mut input {
        for p in &mut s.floats {
            p.f = f(p.t, p.f);
        }
        ctx.drop_metric_name(s);
    }
    input
}

/// `scalar(v)`: per step, the value of the only sample, or NaN for none or several.
pub(super) fn scalar(input: &[Series], ctx: &FnCtx<'_>) -> Vec<f64> {
    let n = ctx.steps.len();
    let mut value = vec![f64::NAN; n];
    let mut count = vec![0u32; n];
    for s in input {
        for p in &s.floats {
            if let Some(i) = ctx.steps.index(p.t) {
                count[i] += 1;
                value[i] = if count[i] == 1 { p.f } else { f64::NAN };
            }
        }
    }
    value
}

/// `vector(s)`: one series without labels holding the scalar at every step.
pub(super) fn vector(values: &[f64], ctx: &FnCtx<'_>) -> Vec<Series> {
    let steps = ctx.steps;
    let floats = (0..steps.len())
        .map(|i| FPoint {
            t: steps.ts(i),
            f: at(values, i),
        })
        .collect();
    vec![Series::new(Default::default(), floats)]
}

/// `time()`: each step's time in seconds.
pub(super) fn time(ctx: &FnCtx<'_>) -> Vec<f64> {
    ctx.steps.iter().map(|t| t as f64 / 1000.0).collect()
}

/// `max_of(a, b)` / `min_of(a, b)` of two scalars, step by step (Go's `Max`/`Min`).
pub(super) fn max_min_of(max: bool, x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len().max(y.len());
    (0..n)
        .map(|i| {
            if max {
                go_max(at(x, i), at(y, i))
            } else {
                go_min(at(x, i), at(y, i))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_as_go() {
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(-3.0), (-0.75, 2));
        assert_eq!(frexp(0.1), (0.8, -3));
        let (f, e) = frexp(f64::from_bits(1)); // the smallest subnormal, 2^-1074
        assert_eq!((f, e), (0.5, -1073));
    }

    #[test]
    fn log2_is_exact_for_powers_of_two() {
        for e in -1074i32..1024 {
            // 2^e built from its bits (subnormal below -1022).
            let v = if e >= -1022 {
                f64::from_bits(((e + 1023) as u64) << 52)
            } else {
                f64::from_bits(1u64 << (e + 1074))
            };
            assert_eq!(go_log2(v), f64::from(e), "{e}");
        }
        assert!((go_log2(10.0) - 3.321_928_094_887_362_6).abs() < 1e-15);
        assert_eq!(go_log2(0.0), f64::NEG_INFINITY);
        assert!(go_log2(-1.0).is_nan());
        assert_eq!(go_log2(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn log10_as_go() {
        // Go computes log10 through log2: 10 → 3.3219280948873626 · 0.30102999566398120
        // = 1 (to within an ulp); 100 → 2.
        assert!((go_log10(10.0) - 1.0).abs() <= f64::EPSILON);
        assert!((go_log10(100.0) - 2.0).abs() <= 2.0 * f64::EPSILON);
        assert_eq!(go_log10(0.0), f64::NEG_INFINITY);
        assert!(go_log10(-10.0).is_nan());
    }

    #[test]
    fn sgn_keeps_zero_and_nan() {
        assert_eq!(sgn(-50.0), -1.0);
        assert_eq!(sgn(f64::INFINITY), 1.0);
        assert!(sgn(-0.0).is_sign_negative() && sgn(-0.0) == 0.0);
        assert!(sgn(f64::NAN).is_nan());
    }
}
