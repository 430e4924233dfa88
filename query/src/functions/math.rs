//! Per-sample functions of an instant vector (`abs`, `ln`, trigonometry, `round`,
//! `clamp`, ...), `timestamp` of an expression, and the scalar functions `scalar`,
//! `vector`, `time`, `pi`, `max_of`, `min_of`.
//!
//! The per-sample functions rewrite each input series' points in place (the arguments are
//! owned), so they cost no allocation beyond the label set rebuilt when the metric name is
//! dropped. All of them drop the name, as Prometheus's `simpleFloatFunc` does.

use crate::value::{FPoint, Series};

use super::gomath;
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
        "ln" => go_log,
        "log2" => go_log2,
        "log10" => go_log10,
        "sin" => gomath::sin,
        "cos" => gomath::cos,
        "tan" => gomath::tan,
        "asin" => gomath::asin,
        "acos" => gomath::acos,
        "atan" => gomath::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => gomath::asinh,
        "acosh" => gomath::acosh,
        "atanh" => gomath::atanh,
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

/// Go's `math.Log`: fdlibm's `__ieee754_log` (Go's amd64 assembly computes the same
/// steps), so that results agree with Prometheus to the bit; the platform's `ln` differs
/// in the last place for some inputs (e.g. ln 3). Reduce `v = 2^k·(1+f)` with `1+f` in
/// [√2/2, √2), then `ln(1+f) = f - s·(f - R) ...` with `s = f/(2+f)` and a degree-14
/// minimax polynomial `R` in `s²`, `k·ln 2` added in two parts for precision.
pub(super) fn go_log(v: f64) -> f64 {
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 6.93147180369123816490e-1
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // 1.90821492927058770002e-10
    const L1: f64 = f64::from_bits(0x3fe5_5555_5555_5593); // 6.666666666666735130e-1
    const L2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04); // 3.999999999940941908e-1
    const L3: f64 = f64::from_bits(0x3fd2_4924_9422_9359); // 2.857142874366239149e-1
    const L4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af); // 2.222219843214978396e-1
    const L5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de); // 1.818357216161805012e-1
    const L6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f); // 1.531383769920937332e-1
    const L7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244); // 1.479819860511658591e-1
    if v.is_nan() || v == f64::INFINITY {
        return v;
    }
    if v < 0.0 {
        return f64::NAN;
    }
    if v == 0.0 {
        return f64::NEG_INFINITY;
    }
    let (mut f1, mut ki) = frexp(v);
    if f1 < std::f64::consts::FRAC_1_SQRT_2 {
        f1 *= 2.0;
        ki -= 1;
    }
    let f = f1 - 1.0;
    let k = f64::from(ki);
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
    let t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// Go's `math.Log2`: exact for powers of two (`frexp` gives the exponent), otherwise
/// `ln(frac)/ln 2 + exp`.
fn go_log2(v: f64) -> f64 {
    let (frac, exp) = frexp(v);
    if frac == 0.5 {
        return f64::from(exp - 1);
    }
    // Go's constant `1/Ln2` is computed exactly at compile time: log2(e), correctly rounded.
    go_log(frac) * std::f64::consts::LOG2_E + f64::from(exp)
}

/// Go's `math.Log10`: `ln(v) · (1/Ln10)`, the constant computed exactly (log10(e)).
fn go_log10(v: f64) -> f64 {
    go_log(v) * std::f64::consts::LOG10_E
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
        // Go computes log10 as ln(v)·log10(e), which is not always correctly rounded:
        // Prometheus (Go) gives log10(0.1) = -0.9999999999999999.
        assert_eq!(go_log10(0.1), -0.9999999999999999);
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

#[cfg(test)]
mod prometheus_reference {
    use super::unary;

    fn parse(s: &str) -> f64 {
        match s {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            s => s.parse().expect("a float"),
        }
    }

    /// Distance in units of the last place (for finite values of the same sign).
    fn ulps(a: f64, b: f64) -> u64 {
        if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        if a.is_sign_negative() != b.is_sign_negative() || !a.is_finite() || !b.is_finite() {
            return u64::MAX;
        }
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Ember against values computed by a real Prometheus (see the fixture's header).
    /// The logarithms, `sqrt`, the circular and inverse hyperbolic functions and the
    /// exact functions agree to the bit; `exp`, `sinh`, `cosh`, `tanh` use the platform's
    /// libm, which differs from Go's by at most 2 units in the last place on these inputs.
    #[test]
    fn agrees_with_prometheus() {
        let fixture = include_str!("testdata/prometheus-math.txt");
        let mut worst: Vec<(u64, String)> = Vec::new();
        for line in fixture.lines().filter(|l| !l.starts_with('#')) {
            let mut it = line.split(' ');
            let (name, input, want) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
            let f = unary(name).unwrap_or_else(|| panic!("{name} is a function"));
            let (got, want) = (f(parse(input)), parse(want));
            let d = ulps(got, want);
            let exact = matches!(
                name,
                "ln" | "log2"
                    | "log10"
                    | "sqrt"
                    | "sin"
                    | "cos"
                    | "tan"
                    | "asin"
                    | "acos"
                    | "atan"
                    | "asinh"
                    | "acosh"
                    | "atanh"
                    | "deg"
                    | "rad"
                    | "abs"
                    | "ceil"
                    | "floor"
                    | "sgn"
            );
            if exact {
                assert_eq!(d, 0, "{name}({input}) = {got:?}, Prometheus {want:?}");
            } else {
                assert!(
                    d <= 64,
                    "{name}({input}) = {got:?}, Prometheus {want:?} ({d} ulps)"
                );
            }
            worst.push((d, format!("{name}({input})")));
        }
        worst.sort();
        println!("largest differences: {:?}", &worst[worst.len() - 5..]);
    }
}
