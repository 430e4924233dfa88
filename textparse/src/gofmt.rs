//! Go's number and string conventions, as far as Prometheus's parser messages and
//! value semantics depend on them: `strconv.ParseFloat` (minus the hex and underscore
//! forms Prometheus refuses), `strconv.ParseInt`, `strconv.Quote` (`%q`) and
//! `FormatOpenMetricsFloat`.

use std::fmt::Write as _;

/// Why a sample value or timestamp did not parse, worded as Go's strconv words it.
#[derive(Debug)]
pub(crate) enum NumError<'a> {
    /// `p`, `P` or `_` in a float: Prometheus keeps to pre-Go-1.13 float syntax.
    Unsupported,
    Syntax(&'static str, &'a [u8]),
    Range(&'static str, &'a [u8]),
}

impl std::fmt::Display for NumError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumError::Unsupported => f.write_str("unsupported character in float"),
            NumError::Syntax(func, s) => {
                write!(f, "strconv.{func}: parsing {}: invalid syntax", quote(s))
            }
            NumError::Range(func, s) => {
                write!(
                    f,
                    "strconv.{func}: parsing {}: value out of range",
                    quote(s)
                )
            }
        }
    }
}

/// The canonical NaN Prometheus stores for a scraped NaN (distinct from the staleness
/// marker's NaN).
pub(crate) const NORMAL_NAN: u64 = 0x7ff8_0000_0000_0001;

/// A sample value as Prometheus reads it: Go's `ParseFloat` syntax (decimal, `Inf`,
/// `Infinity`, `NaN` in any case, a sign before Inf), refusing `p`, `P` and `_`, and
/// failing on overflow instead of rounding to infinity.
pub(crate) fn parse_float(s: &[u8]) -> Result<f64, NumError<'_>> {
    // Integers are the common case; they are exact below 2^53.
    if !s.is_empty() && s.len() <= 15 && s.iter().all(u8::is_ascii_digit) {
        let mut v: u64 = 0;
        for &d in s {
            v = v * 10 + u64::from(d - b'0');
        }
        return Ok(v as f64);
    }
    if let Some(v) = fast_decimal(s) {
        return Ok(v);
    }
    if s.iter().any(|&c| matches!(c, b'p' | b'P' | b'_')) {
        return Err(NumError::Unsupported);
    }
    let text = std::str::from_utf8(s).map_err(|_| NumError::Syntax("ParseFloat", s))?;
    let v: f64 = text
        .parse()
        .map_err(|_| NumError::Syntax("ParseFloat", s))?;
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if v.is_nan() && unsigned.len() != text.len() {
        // Go accepts a sign only before Inf, not before NaN.
        return Err(NumError::Syntax("ParseFloat", s));
    }
    if v.is_infinite() && !unsigned.starts_with(['i', 'I']) {
        return Err(NumError::Range("ParseFloat", s));
    }
    Ok(v)
}

/// Clinger's fast path for `[-]digits.digits` with at most 15 significant digits: the
/// mantissa and the power of ten are exact doubles, so one division rounds correctly.
/// Sample values are mostly of this shape; `str::parse` handles everything else.
#[inline]
fn fast_decimal(s: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut m: u64 = 0;
    let mut frac: Option<usize> = None;
    let mut nd = 0;
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + u64::from(c - b'0');
                nd += 1;
            }
            b'.' if frac.is_none() => frac = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if nd == 0 || nd > 15 {
        return None;
    }
    let v = m as f64 / POW10[frac.unwrap_or(0)];
    Some(if neg { -v } else { v })
}

/// A text-format timestamp: decimal digits (the lexer guarantees only digits).
pub(crate) fn parse_int(s: &[u8]) -> Result<i64, NumError<'_>> {
    let mut v: i64 = 0;
    if s.is_empty() {
        return Err(NumError::Syntax("ParseInt", s));
    }
    for &d in s {
        if !d.is_ascii_digit() {
            return Err(NumError::Syntax("ParseInt", s));
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d - b'0')))
            .ok_or(NumError::Range("ParseInt", s))?;
    }
    Ok(v)
}

/// Go's `%f` of the special values Prometheus reports in timestamp errors.
pub(crate) fn go_special_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v:.6}")
    }
}

/// Go's `strconv.Quote` (what `%q` prints): printable UTF-8 kept, the rest escaped.
pub(crate) fn quote(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if is_print(c) => out.push(c),
                c if (c as u32) < 0x80 => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if (c as u32) < 0x10000 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
        }
        for &byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: graphic characters and the ASCII space.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xFFFE | 0xFFFF | 0xF0000..)
}

/// A small stack buffer for formatting floats without touching the heap.
pub(crate) struct FloatBuf {
    buf: [u8; 40],
    len: usize,
}

impl FloatBuf {
    pub(crate) fn new() -> FloatBuf {
        FloatBuf {
            buf: [0; 40],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    fn push(&mut self, s: &[u8]) {
        let end = (self.len + s.len()).min(self.buf.len());
        let n = end - self.len;
        self.buf[self.len..end].copy_from_slice(&s[..n]);
        self.len = end;
    }
}

impl std::fmt::Write for FloatBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Prometheus's `FormatOpenMetricsFloat`: Go's shortest `%g` form, with `.0` added to
/// integers, `+Inf`/`-Inf`/`NaN` for the specials. Used to normalise `le` and `quantile`.
pub(crate) fn format_openmetrics_float(v: f64, out: &mut FloatBuf) {
    out.len = 0;
    if v.is_nan() {
        return out.push(b"NaN");
    }
    if v == f64::INFINITY {
        return out.push(b"+Inf");
    }
    if v == f64::NEG_INFINITY {
        return out.push(b"-Inf");
    }
    if v == 0.0 {
        return out.push(b"0.0");
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, like Go's precision -1.
    let mut sci = FloatBuf::new();
    let _ = write!(sci, "{:e}", v.abs());
    let (mut digits, mut nd, mut exp) = ([0u8; 24], 0usize, 0i32);
    let mut in_exp = false;
    let mut exp_neg = false;
    for &c in &sci.buf[..sci.len] {
        match c {
            b'e' => in_exp = true,
            b'-' if in_exp => exp_neg = true,
            b'0'..=b'9' if in_exp => exp = exp * 10 + i32::from(c - b'0'),
            b'0'..=b'9' if nd < digits.len() => {
                digits[nd] = c;
                nd += 1;
            }
            _ => {}
        }
    }
    if exp_neg {
        exp = -exp;
    }
    let digits = &digits[..nd];
    if v < 0.0 {
        out.push(b"-");
    }
    // Go's %g with the shortest precision switches to an exponent outside [-4, 6).
    if !(-4..6).contains(&exp) {
        out.push(&digits[..1]);
        if nd > 1 {
            out.push(b".");
            out.push(&digits[1..]);
        }
        out.push(if exp < 0 { b"e-" } else { b"e+" });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b"0");
        }
        let _ = write!(out, "{e}");
        return;
    }
    let dp = exp + 1;
    if dp <= 0 {
        out.push(b"0.");
        for _ in 0..-dp {
            out.push(b"0");
        }
        out.push(digits);
    } else {
        let dp = dp as usize;
        if dp >= nd {
            out.push(digits);
            for _ in nd..dp {
                out.push(b"0");
            }
            out.push(b".0");
        } else {
            out.push(&digits[..dp]);
            out.push(b".");
            out.push(&digits[dp..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn om(v: f64) -> String {
        let mut b = FloatBuf::new();
        format_openmetrics_float(v, &mut b);
        b.as_str().to_string()
    }

    /// Expected strings are Go's `strconv.FormatFloat(v, 'g', -1, 64)` plus Prometheus's
    /// `.0` for integral results.
    #[test]
    fn openmetrics_float_format_matches_go() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (100000.0, "100000.0"),
            (123456.7, "123456.7"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (-0.5, "-0.5"),
            (0.1, "0.1"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (v, want) in cases {
            assert_eq!(om(*v), *want, "{v:e}");
        }
    }

    #[test]
    fn quote_matches_go_strconv_quote() {
        assert_eq!(quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote(b"\n\t\r\x07\x08\x0c\x0b"), r#""\n\t\r\a\b\f\v""#);
        assert_eq!(quote(b"\x00\x7f\xff"), r#""\x00\x7f\xff""#);
        assert_eq!(quote("é€©".as_bytes()), "\"é€©\"");
        assert_eq!(quote("\u{200b}\u{a0}".as_bytes()), r#""\u200b\u00a0""#);
        assert_eq!(quote("\u{f0000}".as_bytes()), r#""\U000f0000""#);
    }

    #[test]
    fn parse_float_follows_go_with_prometheus_restrictions() {
        assert_eq!(parse_float(b"12").unwrap(), 12.0);
        assert_eq!(parse_float(b"999999999999999").unwrap(), 999999999999999.0);
        assert_eq!(
            parse_float(b"9007199254740993").unwrap(),
            9007199254740992.0
        );
        assert!(matches!(parse_float(b"1_0"), Err(NumError::Unsupported)));
        assert!(matches!(parse_float(b"0x1p3"), Err(NumError::Unsupported)));
        assert!(matches!(parse_float(b"0x10"), Err(NumError::Syntax(..))));
        assert!(matches!(parse_float(b""), Err(NumError::Syntax(..))));
        assert!(matches!(parse_float(b" 1"), Err(NumError::Syntax(..))));
        assert!(matches!(parse_float(b"1e309"), Err(NumError::Range(..))));
        assert_eq!(parse_float(b"1e-400").unwrap(), 0.0);
        assert!(parse_float(b"INFINITY").unwrap().is_infinite());
    }

    proptest::proptest! {
        /// The integer and short-decimal fast paths agree with the general parser.
        #[test]
        fn fast_paths_agree_with_str_parse(s in "-?[0-9]{0,17}(\\.[0-9]{0,17})?") {
            let want = s.parse::<f64>().ok();
            let got = parse_float(s.as_bytes()).ok();
            proptest::prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{}", s);
        }
    }

    #[test]
    fn parse_int_detects_overflow() {
        assert_eq!(parse_int(b"9223372036854775807").unwrap(), i64::MAX);
        assert!(matches!(
            parse_int(b"9223372036854775808"),
            Err(NumError::Range(..))
        ));
    }
}
