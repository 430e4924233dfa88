//! Numeric helpers shared by the functions, each reproducing what Prometheus (Go) computes,
//! so that results agree to the last bit where Prometheus's own arithmetic is specified:
//! Kahan–Neumaier summation (`util/kahansum`), Go's `math.Max`/`math.Min` (which propagate
//! NaN and prefer +Inf/-Inf), the interpolated quantile of `promql/quantile.go`, Go's
//! float-to-int conversion, `strconv.ParseFloat`'s syntax, and Go's `%.Ng` / `%f` formats.

use std::cmp::Ordering;

/// One step of Kahan–Neumaier summation: adds `inc` to `sum`, accumulating the rounding
/// error in `c`. Once the sum overflows to ±Inf the compensation is reset to 0, so that a
/// final `sum + c` cannot turn an infinite sum into NaN.
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

/// Go's `math.Max`: +Inf wins over NaN, NaN wins over everything else, +0 over -0.
pub(super) fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`: -Inf wins over NaN, NaN wins over everything else, -0 over +0.
pub(super) fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y {
        x
    } else {
        y
    }
}

/// Prometheus's order for quantiles: NaN first, then ascending.
pub(super) fn nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// The `q` quantile of `values` (which this sorts), interpolating linearly between the two
/// closest ranks: rank `q·(n-1)`. NaN for no values or a NaN `q`, -Inf for `q < 0`, +Inf
/// for `q > 1`. NaN values sort first, as in Prometheus.
pub(super) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_unstable_by(nan_first);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Go's `int64(f)` on amd64: truncation toward zero, and the "integer indefinite" value
/// `i64::MIN` for NaN, ±Inf and anything out of range.
pub(super) fn go_f64_to_i64(f: f64) -> i64 {
    // 2^63 as f64 is exact; every f64 below it in magnitude truncates into range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Go's `time.Duration.Seconds()` of `ms` milliseconds: whole seconds plus the fraction,
/// computed separately (not `ms / 1000.0`, which can round differently).
pub(super) fn duration_seconds(ms: i64) -> f64 {
    let sec = ms / 1000;
    let nsec = (ms % 1000) * 1_000_000;
    sec as f64 + nsec as f64 / 1e9
}

/// Go's `strconv.ParseFloat(s, 64)`: `None` where Go returns an error, including for a
/// value that overflows (Go returns ±Inf with `ErrRange`). Accepts decimal and hexadecimal
/// (`0x1.8p3`) notation, `Inf`/`Infinity` (any case, optional sign) and `NaN` (any case).
pub(super) fn parse_go_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let signed = |v: f64| if neg { -v } else { v };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(signed(f64::INFINITY));
    }
    if body.eq_ignore_ascii_case("nan") {
        // Go accepts no sign before NaN.
        return (s.len() == body.len()).then_some(f64::NAN);
    }
    if body.len() > 2 && (body.starts_with("0x") || body.starts_with("0X")) {
        return parse_hex_float(&body[2..]).map(signed);
    }
    // The decimal syntax: digits, an optional point, at least one digit, an optional
    // exponent with at least one digit. Underscores need a base prefix in Go.
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    // Rust's parser is correctly rounded, as Go's is; Go reports overflow as an error.
    let v: f64 = body.parse().ok()?;
    v.is_finite().then_some(signed(v))
}

/// The part of a hexadecimal float after `0x`: hex digits with an optional point, then a
/// mandatory binary exponent `p±d`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once(['p', 'P'])?;
    let exp: i32 = {
        let (neg, d) = match exp.as_bytes().first() {
            Some(b'+') => (false, &exp[1..]),
            Some(b'-') => (true, &exp[1..]),
            _ => (false, exp),
        };
        if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: i32 = d.parse().unwrap_or(i32::MAX / 2).min(100_000);
        if neg {
            -v
        } else {
            v
        }
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.len() + frac.len() == 0 {
        return None;
    }
    let mut value = 0.0f64;
    for c in int.chars().chain(frac.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let scale = exp - 4 * frac.len() as i32;
    let v = value * 2f64.powi(scale);
    v.is_finite().then_some(v)
}

/// Go's `fmt` verb `%.<prec>g`: `prec` significant digits, trailing zeros removed, in
/// exponent form when the exponent is below -4 or at least the number of digits shown.
pub(super) fn format_go_g_prec(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let prec = prec.max(1);
    // Rust rounds the decimal digits correctly (half to even on exact ties), as Go does.
    let e = format!("{:.*e}", prec - 1, v.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let nd = digits.len() as i32;
    let dp = exp + 1; // position of the decimal point relative to the digits
    let mut eprec = prec as i32;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    if v == 0.0 {
        out.push('0');
        return out;
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..-dp {
            out.push('0');
        }
        out.push_str(digits);
    } else if nd <= dp {
        out.push_str(digits);
        for _ in nd..dp {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// Go's `%f`: six decimals; `NaN`, `+Inf`, `-Inf` for the special values.
pub(super) fn format_go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kahan_keeps_small_terms_next_to_huge_ones() {
        // 1 + 1e100 + 1 - 1e100: naive summation loses both ones (1e100 + 1 == 1e100);
        // the compensation term collects them: the exact sum is 2.
        let (mut s, mut c) = (0.0, 0.0);
        for v in [1.0, 1e100, 1.0, -1e100] {
            (s, c) = kahan_inc(v, s, c);
        }
        assert_eq!(s + c, 2.0);
        let naive: f64 = [1.0, 1e100, 1.0, -1e100].iter().sum();
        assert_eq!(naive, 0.0);
    }

    #[test]
    fn kahan_resets_compensation_on_overflow() {
        let (s, c) = kahan_inc(f64::MAX, f64::MAX, 0.0);
        assert_eq!((s, c), (f64::INFINITY, 0.0));
    }

    #[test]
    fn go_max_min_special_values() {
        // Go's documented special cases (math.Max, math.Min).
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert!(go_max(f64::NAN, 1.0).is_nan());
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_max(-0.0, -0.0).is_sign_negative());
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert_eq!(go_max(2.0, 3.0), 3.0);
        assert_eq!(go_min(2.0, 3.0), 2.0);
    }

    #[test]
    fn quantile_interpolates_between_ranks() {
        // values 0 1 4: rank = q*(n-1) = 0.75*2 = 1.5 → 1 + 0.5*(4-1) = 2.5.
        assert_eq!(quantile(0.75, &mut [4.0, 0.0, 1.0]), 2.5);
        // 0.8*2 = 1.6 → 1*0.4 + 4*0.6 = 2.8 (up to rounding of the weights).
        assert!((quantile(0.8, &mut [0.0, 1.0, 4.0]) - 2.8).abs() < 1e-12);
        assert_eq!(quantile(0.0, &mut [3.0, 1.0]), 1.0);
        assert_eq!(quantile(1.0, &mut [3.0, 1.0]), 3.0);
        assert_eq!(quantile(-1.0, &mut [3.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut [3.0]), f64::INFINITY);
        assert!(quantile(f64::NAN, &mut [3.0]).is_nan());
        assert!(quantile(0.5, &mut []).is_nan());
        // NaN sorts first: [NaN, 1, 2], median is rank 1 → 1.
        assert_eq!(quantile(0.5, &mut [2.0, f64::NAN, 1.0]), 1.0);
    }

    #[test]
    fn float_to_int_as_go_on_amd64() {
        assert_eq!(go_f64_to_i64(1.9), 1);
        assert_eq!(go_f64_to_i64(-1.9), -1);
        assert_eq!(go_f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(go_f64_to_i64(f64::INFINITY), i64::MIN);
        assert_eq!(go_f64_to_i64(1e19), i64::MIN);
        assert_eq!(go_f64_to_i64(-(2f64.powi(63))), i64::MIN);
        assert_eq!(go_f64_to_i64(-(2f64.powi(62))), -(1i64 << 62));
    }

    #[test]
    fn duration_seconds_as_go() {
        assert_eq!(duration_seconds(300_000), 300.0);
        assert_eq!(duration_seconds(1_500), 1.5);
        assert_eq!(duration_seconds(90_061), 90.0 + 0.061);
    }

    #[test]
    fn parse_float_accepts_go_syntax_only() {
        assert_eq!(parse_go_float("0.1"), Some(0.1));
        assert_eq!(parse_go_float(".2"), Some(0.2));
        assert_eq!(parse_go_float("1e0"), Some(1.0));
        assert_eq!(parse_go_float("1."), Some(1.0));
        assert_eq!(parse_go_float("-.2"), Some(-0.2));
        assert_eq!(parse_go_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("-infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_go_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_go_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_go_float("0x1.8p1"), Some(3.0));
        for bad in [
            "",
            "Hello World",
            "1e",
            "e5",
            ".",
            "1_000",
            "+nan",
            "1e400",
            "infin",
            " 1",
            "0x1",
        ] {
            assert_eq!(parse_go_float(bad), None, "{bad:?}");
        }
        // Underflow is not an error in Go.
        assert_eq!(parse_go_float("1e-400"), Some(0.0));
    }

    #[test]
    fn format_g_with_precision_as_go() {
        // Expected strings are Go's fmt.Sprintf("%.2g", v) by the rules of strconv's 'g'.
        assert_eq!(format_go_g_prec(5.0, 2), "5");
        assert_eq!(format_go_g_prec(0.25, 2), "0.25");
        assert_eq!(format_go_g_prec(12.0, 2), "12");
        assert_eq!(format_go_g_prec(100.0, 2), "1e+02");
        assert_eq!(format_go_g_prec(1234.0, 2), "1.2e+03");
        assert_eq!(format_go_g_prec(0.00001234, 2), "1.2e-05");
        assert_eq!(format_go_g_prec(15.5, 2), "16");
        assert_eq!(format_go_g_prec(0.0, 2), "0");
        assert_eq!(format_go_g_prec(-2.5, 2), "-2.5");
    }

    #[test]
    fn format_f_as_go() {
        assert_eq!(format_go_f(1.5), "1.500000");
        assert_eq!(format_go_f(f64::INFINITY), "+Inf");
        assert_eq!(format_go_f(f64::NAN), "NaN");
    }
}
