//! Float formatting as Go formats it, so that messages and values Ember prints read exactly
//! like Prometheus's (`%g` in error messages, `strconv.FormatFloat(v, 'f', -1, 64)` in API
//! values).

use std::fmt::Write;

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` (what `%g` prints): the shortest digits that
/// round-trip, in exponent form when the decimal exponent is below -4 or at least 6, with
/// a sign and at least two exponent digits (`1e+06`, `1.5e-05`).
pub fn format_g(v: f64) -> String {
    let mut out = String::new();
    write_g(&mut out, v);
    out
}

/// Appends [`format_g`] of `v` to `out`.
pub fn write_g(out: &mut String, v: f64) {
    if let Some(s) = special(v) {
        out.push_str(s);
        return;
    }
    // `{:e}` gives the shortest round-trip digits: "-1.234e-5", "1e6".
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an
/// exponent; `NaN`, `+Inf`, `-Inf` as Prometheus's JSON API writes them.
pub fn format_f(v: f64) -> String {
    match special(v) {
        Some(s) => s.to_string(),
        // Rust's Display is the shortest round-trip decimal without exponent, as Go's 'f', -1.
        None => format!("{v}"),
    }
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are what Go's fmt.Sprintf("%g", v) prints (Go documentation and
    /// strconv's rule: exponent form when exp < -4 || exp >= 6 for the shortest form).
    #[test]
    fn g_matches_go() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (1.23e-5, "1.23e-05"),
            (-2.5e10, "-2.5e+10"),
            (1e100, "1e+100"),
            (123456.7, "123456.7"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_g(v), want, "format_g({v:?})");
        }
    }

    #[test]
    fn f_matches_go() {
        assert_eq!(format_f(1e21), "1000000000000000000000");
        assert_eq!(format_f(1e-7), "0.0000001");
        assert_eq!(format_f(0.1), "0.1");
        assert_eq!(format_f(-3.0), "-3");
        assert_eq!(format_f(f64::NAN), "NaN");
        assert_eq!(format_f(f64::INFINITY), "+Inf");
    }
}
