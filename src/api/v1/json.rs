//! JSON output, byte for byte as Prometheus writes it.
//!
//! Responses are written straight into one `Vec<u8>`: a range query over 10,000 series of
//! 11,000 points is a few hundred megabytes of text, and building a tree of values first
//! would double the memory and the time. The formats are those of Prometheus's
//! `util/jsonutil` and `web/api/v1/json_codec.go`:
//!
//! - sample values are strings, in Go's `strconv.FormatFloat(v, 'f', -1, 64)` (shortest
//!   round-trip digits, no exponent), except below 1e-6 and from 1e21 on, where the `'e'`
//!   form is used (`"1e-07"`, `"1e+21"`); `NaN`, `+Inf`, `-Inf` are spelled so;
//! - timestamps are seconds with exactly three decimals when not whole (`1435781451.781`,
//!   `1.500`, `-1.500`, `12`);
//! - strings are escaped as Go's `encoding/json` does with HTML escaping on (`<`, `>`, `&`
//!   as `\u003c`, `\u003e`, `\u0026`; U+2028 and U+2029 as `\u2028`, `\u2029`);
//! - plain JSON numbers (query timings) as `encoding/json` writes a `float64`.
//!
//! [`Envelope`] writes the `{"status":"success","data":...}` frame around a payload.

use ember_query::Value;
use ember_storage::Labels;

/// Appends `s` as a JSON string literal, escaped as Go's `encoding/json` escapes it.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            b'<' => Some(b"\\u003c"),
            b'>' => Some(b"\\u003e"),
            b'&' => Some(b"\\u0026"),
            0..=0x1f => None, // \u00XX below
            // U+2028 and U+2029 (E2 80 A8 / E2 80 A9): JavaScript line terminators.
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(if bytes[i + 2] == 0xa8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 3;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a timestamp in milliseconds as Prometheus's `jsonutil.MarshalTimestamp`: whole
/// seconds, then `.` and three digits when the milliseconds are not zero.
pub fn write_timestamp(out: &mut Vec<u8>, t: i64) {
    let mut buf = itoa::Buffer::new();
    let t = if t < 0 {
        out.push(b'-');
        t.unsigned_abs()
    } else {
        t as u64
    };
    out.extend_from_slice(buf.format(t / 1000).as_bytes());
    let frac = t % 1000;
    if frac != 0 {
        out.push(b'.');
        if frac < 100 {
            out.push(b'0');
        }
        if frac < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(buf.format(frac).as_bytes());
    }
}

/// Appends a sample value as a quoted string (`"1"`, `"0.25"`, `"1e-07"`, `"NaN"`), as
/// Prometheus's `jsonutil.MarshalFloat`.
pub fn write_value(out: &mut Vec<u8>, v: f64) {
    out.push(b'"');
    write_go_float(out, v, GoFloat::Value);
    out.push(b'"');
}

/// A JSON number as Go's `encoding/json` writes a `float64` (for query timings and
/// statistics). NaN and infinities, which JSON cannot hold, are written as 0.
pub fn write_number(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.push(b'0');
        return;
    }
    write_go_float(out, v, GoFloat::Json);
}

/// Appends a decimal integer.
pub fn write_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Which Go float format: Prometheus's sample values (`e` form with a two-digit exponent,
/// `1e-07`), or `encoding/json` numbers (`1e-7`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum GoFloat {
    Value,
    Json,
}

/// Go's shortest round-trip formatting: `'f'` form for 1e-6 <= |v| < 1e21 (and zero),
/// `'e'` form outside.
fn write_go_float(out: &mut Vec<u8>, v: f64, style: GoFloat) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    // Whole numbers below 2^53 are exact and have no fraction: the common case (counters,
    // gauges of counts) skips digit generation.
    if v == v.trunc() && v.abs() < 9_007_199_254_740_992.0 && (v != 0.0 || v.is_sign_positive()) {
        write_int(out, v as i64);
        return;
    }
    let mut buf = ryu::Buffer::new();
    let digits = Digits::of(buf.format_finite(v));
    let digits_bytes = digits.digits();
    if v.is_sign_negative() {
        out.push(b'-');
    }
    let exp = digits.exp;
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // d[.ddd]e±XX
        out.push(digits_bytes[0]);
        if digits_bytes.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits_bytes[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 && style == GoFloat::Value {
            out.push(b'0');
        }
        write_int(out, e);
        return;
    }
    // Plain decimal: the digits d1 d2 ... stand for d1.d2... × 10^exp.
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', point.unsigned_abs() as usize));
        out.extend_from_slice(digits_bytes);
    } else {
        let point = point as usize;
        if digits_bytes.len() <= point {
            out.extend_from_slice(digits_bytes);
            out.extend(std::iter::repeat_n(b'0', point - digits_bytes.len()));
        } else {
            out.extend_from_slice(&digits_bytes[..point]);
            out.push(b'.');
            out.extend_from_slice(&digits_bytes[point..]);
        }
    }
}

/// The significant digits of a shortest representation and the decimal exponent of the
/// first one, read from ryu's output (`1.5`, `0.001`, `1e21`, `1.2345e-7`) without
/// allocating.
struct Digits {
    buf: [u8; 32],
    len: usize,
    exp: i32,
}

impl Digits {
    fn of(s: &str) -> Digits {
        let s = s.strip_prefix('-').unwrap_or(s);
        let (mantissa, exp) = match s.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
            None => (s, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut d = Digits {
            buf: [0; 32],
            len: 0,
            exp: exp + int.len() as i32 - 1,
        };
        let mut leading = true;
        for &c in int.as_bytes().iter().chain(frac.as_bytes()) {
            if leading && c == b'0' {
                d.exp -= 1;
                continue;
            }
            leading = false;
            if d.len < d.buf.len() {
                d.buf[d.len] = c;
                d.len += 1;
            }
        }
        while d.len > 1 && d.buf[d.len - 1] == b'0' {
            d.len -= 1;
        }
        if d.len == 0 {
            d.buf[0] = b'0';
            d.len = 1;
            d.exp = 0;
        }
        d
    }

    fn digits(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Appends a label set as a JSON object, in label order.
pub fn write_labels(out: &mut Vec<u8>, labels: &Labels) {
    out.push(b'{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, l.name);
        out.push(b':');
        write_str(out, l.value);
    }
    out.push(b'}');
}

/// Writes a query result as Prometheus's JSON codec does.
pub fn write_query_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Scalar { t, v } => {
            out.push(b'[');
            write_timestamp(out, *t);
            out.push(b',');
            write_value(out, *v);
            out.push(b']');
        }
        Value::String { t, v } => {
            out.push(b'[');
            write_timestamp(out, *t);
            out.push(b',');
            write_str(out, v);
            out.push(b']');
        }
        Value::Vector(samples) => {
            out.push(b'[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(br#"{"metric":"#);
                write_labels(out, &s.metric);
                out.extend_from_slice(br#","value":["#);
                write_timestamp(out, s.t);
                out.push(b',');
                write_value(out, s.f);
                out.extend_from_slice(b"]}");
            }
            out.push(b']');
        }
        Value::Matrix(series) => {
            out.push(b'[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(br#"{"metric":"#);
                write_labels(out, &s.metric);
                if !s.floats.is_empty() {
                    out.extend_from_slice(br#","values":["#);
                    for (j, p) in s.floats.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        out.push(b'[');
                        write_timestamp(out, p.t);
                        out.push(b',');
                        write_value(out, p.f);
                        out.push(b']');
                    }
                    out.push(b']');
                }
                out.push(b'}');
            }
            out.push(b']');
        }
    }
}

/// Appends `["a","b"]`.
pub fn write_str_array<'a>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'a str>) {
    out.push(b'[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s);
    }
    out.push(b']');
}

/// A Go `time.Time` as `encoding/json` writes it: RFC 3339 in UTC with the nanoseconds,
/// trailing zeros trimmed (`"2026-11-23T08:38:13.39655Z"`, `"2026-11-23T08:38:13Z"`).
pub fn write_time(out: &mut Vec<u8>, t: std::time::SystemTime) {
    let (secs, nanos) = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let mut secs = -(d.as_secs() as i64);
            let mut nanos = d.subsec_nanos();
            if nanos > 0 {
                secs -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            (secs, nanos)
        }
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::civil::civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    write_str(out, &s);
}

/// The `{"status":"success","data":<payload>[,"warnings":[...]][,"infos":[...]]}` frame,
/// written around a payload appended in between.
pub struct Envelope {
    buf: Vec<u8>,
}

impl Envelope {
    /// Starts a success envelope; append the payload to [`Envelope::data`].
    pub fn new() -> Envelope {
        Envelope::with_capacity(256)
    }

    pub fn with_capacity(capacity: usize) -> Envelope {
        let mut buf = Vec::with_capacity(capacity.max(64));
        buf.extend_from_slice(br#"{"status":"success","data":"#);
        Envelope { buf }
    }

    /// The buffer to append the payload to.
    pub fn data(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Closes the frame with the warnings and infos (each omitted when empty).
    pub fn finish(mut self, warnings: &[String], infos: &[String]) -> Vec<u8> {
        for (key, list) in [("warnings", warnings), ("infos", infos)] {
            if list.is_empty() {
                continue;
            }
            self.buf.extend_from_slice(b",\"");
            self.buf.extend_from_slice(key.as_bytes());
            self.buf.extend_from_slice(b"\":");
            write_str_array(&mut self.buf, list.iter().map(String::as_str));
        }
        self.buf.push(b'}');
        self.buf
    }
}

/// The error body: `{"status":"error","errorType":"<type>","error":"<message>"}`.
pub fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + message.len());
    out.extend_from_slice(br#"{"status":"error","errorType":"#);
    write_str(&mut out, error_type);
    out.extend_from_slice(br#","error":"#);
    write_str(&mut out, message);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: f64) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn number(v: f64) -> String {
        let mut out = Vec::new();
        write_number(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn ts(t: i64) -> String {
        let mut out = Vec::new();
        write_timestamp(&mut out, t);
        String::from_utf8(out).unwrap()
    }

    fn string(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    /// Expected strings are Go's `strconv.FormatFloat` with Prometheus's choice of `'f'`
    /// or `'e'` (util/jsonutil: `'e'` when |v| < 1e-6 or |v| >= 1e21); several were
    /// read off a real Prometheus 2.42 (`vector(1e-7)` is `"1e-07"`, `vector(1e21)` is
    /// `"1e+21"`, `vector(123456789012345678)` is `"123456789012345680"`).
    #[test]
    fn sample_values_as_prometheus_writes_them() {
        let cases: &[(f64, &str)] = &[
            (0.0, "\"0\""),
            (-0.0, "\"-0\""),
            (1.0, "\"1\""),
            (-3.0, "\"-3\""),
            (1.5, "\"1.5\""),
            (0.1, "\"0.1\""),
            (1234.5678, "\"1234.5678\""),
            (1e-6, "\"0.000001\""),
            (1.5e-6, "\"0.0000015\""),
            (9.99e-7, "\"9.99e-07\""),
            (1e-7, "\"1e-07\""),
            (-2.5e-10, "\"-2.5e-10\""),
            (1e20, "\"100000000000000000000\""),
            (1e21, "\"1e+21\""),
            (1.5e300, "\"1.5e+300\""),
            (123456789012345678.0, "\"123456789012345680\""),
            (9007199254740993.0, "\"9007199254740992\""),
            (1e16, "\"10000000000000000\""),
            (0.3333333333333333, "\"0.3333333333333333\""),
            (f64::MAX, "\"1.7976931348623157e+308\""),
            (5e-324, "\"5e-324\""),
            (f64::NAN, "\"NaN\""),
            (f64::INFINITY, "\"+Inf\""),
            (f64::NEG_INFINITY, "\"-Inf\""),
        ];
        for &(v, want) in cases {
            assert_eq!(value(v), want, "{v:e}");
        }
    }

    /// encoding/json's float64: the same cut-offs, but the exponent without padding.
    #[test]
    fn json_numbers_as_encoding_json_writes_them() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.000123), "0.000123");
        assert_eq!(number(1e-7), "1e-7");
        assert_eq!(number(2.5e21), "2.5e+21");
        assert_eq!(number(12.5), "12.5");
    }

    /// From the API documentation (`1435781451.781`) and a real Prometheus 2.42
    /// (`time=1000.5` answers `1000.500`, `time=-1.5` answers `-1.500`).
    #[test]
    fn timestamps_have_three_decimals_or_none() {
        assert_eq!(ts(1_435_781_451_781), "1435781451.781");
        assert_eq!(ts(1_000_500), "1000.500");
        assert_eq!(ts(-1_500), "-1.500");
        assert_eq!(ts(1_000), "1");
        assert_eq!(ts(1), "0.001");
        assert_eq!(ts(10), "0.010");
        assert_eq!(ts(0), "0");
        assert_eq!(ts(-5), "-0.005");
    }

    /// A real Prometheus 2.42 answers a label value `<&>` + U+2028 + `é"\` as
    /// `"\u003c\u0026\u003e\u2028é\"\\"`.
    #[test]
    fn strings_are_escaped_as_go_escapes_them() {
        assert_eq!(
            string("<&>\u{2028}é\"\\"),
            r#""\u003c\u0026\u003e\u2028é\"\\""#
        );
        assert_eq!(string("a\nb\tc\r\u{1}\u{1f}"), r#""a\nb\tc\r\u0001\u001f""#);
        assert_eq!(string("\u{2029}x\u{7f}"), "\"\\u2029x\u{7f}\"");
        assert_eq!(string(""), "\"\"");
        assert_eq!(string("日本"), "\"日本\"");
    }

    #[test]
    fn envelope_omits_empty_annotations() {
        let mut e = Envelope::new();
        e.data().extend_from_slice(b"[]");
        assert_eq!(
            String::from_utf8(e.finish(&[], &[])).unwrap(),
            r#"{"status":"success","data":[]}"#
        );
        let mut e = Envelope::new();
        e.data().extend_from_slice(b"1");
        assert_eq!(
            String::from_utf8(e.finish(&[], &["i".into()])).unwrap(),
            r#"{"status":"success","data":1,"infos":["i"]}"#
        );
        assert_eq!(
            String::from_utf8(error_body("bad_data", "x \"y\"")).unwrap(),
            r#"{"status":"error","errorType":"bad_data","error":"x \"y\""}"#
        );
    }

    #[test]
    fn times_as_go_marshals_them() {
        use std::time::{Duration, UNIX_EPOCH};
        let mut out = Vec::new();
        write_time(
            &mut out,
            UNIX_EPOCH + Duration::new(1_795_423_093, 396_550_909),
        );
        assert_eq!(out, b"\"2026-11-23T08:38:13.396550909Z\"");
        out.clear();
        write_time(&mut out, UNIX_EPOCH + Duration::new(1_795_423_093, 0));
        assert_eq!(out, b"\"2026-11-23T08:38:13Z\"");
        out.clear();
        write_time(&mut out, UNIX_EPOCH + Duration::new(0, 500_000_000));
        assert_eq!(out, b"\"1970-01-01T00:00:00.5Z\"");
    }
}
