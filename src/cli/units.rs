//! Durations and byte sizes, spelled the way Prometheus's command line spells them.
//!
//! Prometheus uses three notations, and a flag accepts exactly the one its Prometheus
//! counterpart accepts:
//!
//! - **Prometheus durations** (`15d`, `2h30m`, `1y`, `0`): whole numbers, each followed by
//!   one of `y` (365 days), `w`, `d`, `h`, `m`, `s`, `ms`, units from largest to smallest
//!   and each at most once. Used by almost every duration flag.
//! - **Go durations** (`2ms`, `1.5h`, `300us`, plus `d` and `w`): decimal numbers with
//!   units in any order, as Go's `time.ParseDuration`. Only `--scrape.timestamp-tolerance`.
//! - **Base-2 byte sizes** (`512MB`, `1.5GiB`, `4KB512B`, `0`): `KB` and `KiB` both mean
//!   1024; a unit is required except for `0`; `kB` (SI) is rejected.
//!
//! The error messages are Prometheus's, so a typo reads the same on both servers.

use std::time::Duration;

/// A duration or size string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("empty duration string")]
    EmptyDuration,
    #[error("not a valid duration string: {0:?}")]
    InvalidDuration(String),
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownDurationUnit { unit: String, input: String },
    #[error("duration out of range: {0:?}")]
    DurationOutOfRange(String),
    #[error("time: invalid duration {0:?}")]
    InvalidGoDuration(String),
    #[error("time: missing unit in duration {0:?}")]
    MissingGoDurationUnit(String),
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownGoDurationUnit { unit: String, input: String },
    #[error("time: negative durations are not supported here: {0:?}")]
    NegativeGoDuration(String),
    #[error("units: invalid {0}")]
    InvalidSize(String),
    #[error("units: unknown unit {unit} in {input}")]
    UnknownSizeUnit { unit: String, input: String },
    #[error("units: overflow parsing unit {0}")]
    SizeOverflow(String),
}

const MS: u64 = 1_000_000; // nanoseconds
const SEC: u64 = 1_000 * MS;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const YEAR: u64 = 365 * DAY;

/// Prometheus's duration units, largest first, with their length in nanoseconds.
const PROM_UNITS: [(&str, u64); 7] = [
    ("y", YEAR),
    ("w", WEEK),
    ("d", DAY),
    ("h", HOUR),
    ("m", MIN),
    ("s", SEC),
    ("ms", MS),
];

/// Parses a Prometheus duration (`15d`, `2h30m`, `0`).
pub fn parse_duration(input: &str) -> Result<Duration, UnitError> {
    match input {
        "0" => return Ok(Duration::ZERO),
        "" => return Err(UnitError::EmptyDuration),
        _ => {}
    }
    let invalid = || UnitError::InvalidDuration(input.to_string());
    let mut rest = input;
    let mut total: u64 = 0;
    // Index into PROM_UNITS of the last unit seen; the next one must come later.
    let mut next_allowed = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(pos) = PROM_UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(UnitError::UnknownDurationUnit {
                unit: unit.to_string(),
                input: input.to_string(),
            });
        };
        if pos < next_allowed {
            return Err(invalid());
        }
        next_allowed = pos + 1;
        // Like Go's time.Duration, the total must fit in an i64 of nanoseconds.
        total = value
            .checked_mul(PROM_UNITS[pos].1)
            .and_then(|v| total.checked_add(v))
            .filter(|&t| t <= i64::MAX as u64)
            .ok_or_else(|| UnitError::DurationOutOfRange(input.to_string()))?;
    }
    Ok(Duration::from_nanos(total))
}

/// Formats a duration as Prometheus prints one: `15d`, `2h30m`, `1y`, `0s`. Years and
/// weeks are used only when they divide the duration exactly, so 90 days stays `90d`.
/// Precision is milliseconds.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, nanos) in PROM_UNITS {
        let mult = nanos / MS;
        let exact_only = unit == "y" || unit == "w";
        if exact_only && !ms.is_multiple_of(mult) {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
            ms -= v * mult;
        }
    }
    out
}

/// Parses a Go duration (`2ms`, `1.5h`, `1h30m`, `300us`), also accepting `d` and `w`.
/// Negative durations are rejected: no flag that takes this notation can use one.
pub fn parse_go_duration(input: &str) -> Result<Duration, UnitError> {
    let invalid = || UnitError::InvalidGoDuration(input.to_string());
    let mut s = input;
    if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    } else if let Some(rest) = s.strip_prefix('-') {
        if rest != "0" {
            return Err(UnitError::NegativeGoDuration(input.to_string()));
        }
        s = rest;
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    for (value, unit) in decimal_terms(s).ok_or_else(invalid)? {
        let nanos = match unit {
            "" => return Err(UnitError::MissingGoDurationUnit(input.to_string())),
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            "d" => DAY,
            "w" => WEEK,
            _ => {
                return Err(UnitError::UnknownGoDurationUnit {
                    unit: unit.to_string(),
                    input: input.to_string(),
                })
            }
        };
        total += value * nanos as f64;
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total as u64))
}

/// Splits `1.5h30m` into `[(1.5, "h"), (30.0, "m")]`: decimal numbers, each followed by
/// its unit (possibly empty), as Go's `time.ParseDuration` and the byte-size parser of
/// Prometheus's flag library read them. `None` if a number is malformed (`.`, `1.2.3`).
fn decimal_terms(mut s: &str) -> Option<Vec<(f64, &str)>> {
    let mut terms = Vec::new();
    while !s.is_empty() {
        let number_len = s
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let number = &s[..number_len];
        if !number.bytes().any(|b| b.is_ascii_digit()) || number.matches('.').count() > 1 {
            return None;
        }
        let value = number.parse().ok()?;
        s = &s[number_len..];
        let unit_len = s
            .bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'.')
            .count();
        terms.push((value, &s[..unit_len]));
        s = &s[unit_len..];
    }
    Some(terms)
}

/// Formats a duration as Go's `time.Duration.String` does (`1h2m3.5s`, `1.5ms`, `0s`),
/// for log fields that Prometheus logs as Go durations.
pub fn format_go_duration(d: Duration) -> String {
    let nanos = d.as_nanos().min(i64::MAX as u128) as u64;
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < SEC {
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < MS {
            ("µs", 1_000)
        } else {
            ("ms", MS)
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let hours = nanos / HOUR;
    let minutes = nanos % HOUR / MIN;
    let seconds = fraction(nanos % MIN, SEC);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / scale` as a decimal without trailing zeros (`1500, 1000` -> `1.5`).
fn fraction(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// The byte units accepted by [`parse_base2_bytes`]: both the IEC spelling (`KiB`) and the
/// traditional one (`KB`) mean powers of 1024.
const BYTE_UNITS: [(&str, f64); 13] = [
    ("B", 1.0),
    ("KiB", 1024.0),
    ("KB", 1024.0),
    ("MiB", 1_048_576.0),
    ("MB", 1_048_576.0),
    ("GiB", 1_073_741_824.0),
    ("GB", 1_073_741_824.0),
    ("TiB", 1_099_511_627_776.0),
    ("TB", 1_099_511_627_776.0),
    ("PiB", 1_125_899_906_842_624.0),
    ("PB", 1_125_899_906_842_624.0),
    ("EiB", 1_152_921_504_606_846_976.0),
    ("EB", 1_152_921_504_606_846_976.0),
];

/// Parses a base-2 byte size (`512MB`, `1.5GiB`, `1GB512MB`, `0`). A sign is accepted, as
/// in Prometheus; callers that need a positive size check the range themselves.
pub fn parse_base2_bytes(input: &str) -> Result<i64, UnitError> {
    let invalid = || UnitError::InvalidSize(input.to_string());
    let mut s = input;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total = 0.0f64;
    for (value, unit) in decimal_terms(s).ok_or_else(invalid)? {
        let Some((_, mult)) = BYTE_UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(UnitError::UnknownSizeUnit {
                unit: unit.to_string(),
                input: input.to_string(),
            });
        };
        total += value * mult;
    }
    if negative {
        total = -total;
    }
    // i64::MAX is not representable in f64; 2^63 is the first value out of range.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&total) {
        return Err(UnitError::SizeOverflow(input.to_string()));
    }
    Ok(total as i64)
}

/// Formats a byte count the way Prometheus prints a size flag's value: the largest
/// base-2 units that divide it (`4MiB`, `1GiB512MiB`, `100B`, `0B`).
pub fn format_base2_bytes(bytes: i64) -> String {
    const PREFIXES: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut n = bytes;
    let mut parts: Vec<String> = Vec::new();
    for (i, prefix) in PREFIXES.iter().enumerate() {
        if n % 1024 != 0 || (i == 0 && n == 0) {
            let suffix = if i == 0 { "B" } else { "iB" };
            parts.push(format!("{}{prefix}{suffix}", n % 1024));
        }
        n /= 1024;
        if n == 0 {
            break;
        }
    }
    parts.reverse();
    parts.concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Duration {
        parse_duration(s).unwrap()
    }

    #[test]
    fn prometheus_durations_add_up_their_units() {
        // Each expectation is the sum of the unit lengths written out by hand.
        assert_eq!(d("0"), Duration::ZERO);
        assert_eq!(d("15d"), Duration::from_secs(15 * 86_400));
        assert_eq!(d("2h30m"), Duration::from_secs(2 * 3600 + 30 * 60));
        assert_eq!(d("1y"), Duration::from_secs(365 * 86_400));
        assert_eq!(d("1w2d"), Duration::from_secs(9 * 86_400));
        assert_eq!(d("1s500ms"), Duration::from_millis(1500));
        assert_eq!(d("0s"), Duration::ZERO);
        assert_eq!(d("90m"), Duration::from_secs(5400));
    }

    #[test]
    fn prometheus_durations_reject_what_prometheus_rejects() {
        let invalid = |s: &str| UnitError::InvalidDuration(s.to_string());
        assert_eq!(parse_duration(""), Err(UnitError::EmptyDuration));
        assert_eq!(parse_duration("abc"), Err(invalid("abc")));
        // Go reads the "." as the unit of "1".
        assert_eq!(
            parse_duration("1.5h"),
            Err(UnitError::UnknownDurationUnit {
                unit: ".".into(),
                input: "1.5h".into()
            })
        );
        assert_eq!(parse_duration("-1h"), Err(invalid("-1h")));
        assert_eq!(parse_duration("5"), Err(invalid("5")));
        // Units out of order, or repeated.
        assert_eq!(parse_duration("30m2h"), Err(invalid("30m2h")));
        assert_eq!(parse_duration("1h1h"), Err(invalid("1h1h")));
        assert_eq!(
            parse_duration("3x"),
            Err(UnitError::UnknownDurationUnit {
                unit: "x".into(),
                input: "3x".into()
            })
        );
        // 300 years overflows Go's int64 nanoseconds (~292 years).
        assert!(matches!(
            parse_duration("300y"),
            Err(UnitError::DurationOutOfRange(_))
        ));
        assert!(parse_duration("292y").is_ok());
    }

    #[test]
    fn prometheus_durations_format_with_exact_years_and_weeks_only() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(d("15d")), "15d");
        assert_eq!(format_duration(d("90d")), "90d"); // not 12w6d
        assert_eq!(format_duration(d("14d")), "2w");
        assert_eq!(format_duration(d("365d")), "1y");
        assert_eq!(format_duration(d("2h30m")), "2h30m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    }

    #[test]
    fn go_durations_follow_time_parse_duration() {
        let g = |s: &str| parse_go_duration(s).unwrap();
        assert_eq!(g("2ms"), Duration::from_millis(2));
        assert_eq!(g("1.5h"), Duration::from_secs(5400));
        assert_eq!(g("1h30m"), Duration::from_secs(5400));
        assert_eq!(g("300us"), Duration::from_micros(300));
        assert_eq!(g("300µs"), Duration::from_micros(300));
        assert_eq!(g("2d"), Duration::from_secs(2 * 86_400));
        assert_eq!(g("0"), Duration::ZERO);
        assert_eq!(g(".5s"), Duration::from_millis(500));
        assert!(matches!(
            parse_go_duration("1"),
            Err(UnitError::MissingGoDurationUnit(_))
        ));
        assert!(matches!(
            parse_go_duration("1y"),
            Err(UnitError::UnknownGoDurationUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("-2ms"),
            Err(UnitError::NegativeGoDuration(_))
        ));
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("1..5s").is_err());
    }

    #[test]
    fn go_durations_format_like_go() {
        // Expectations from Go's documented time.Duration.String examples and rules.
        let f = format_go_duration;
        assert_eq!(f(Duration::ZERO), "0s");
        assert_eq!(f(Duration::from_nanos(999)), "999ns");
        assert_eq!(f(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(f(Duration::from_nanos(1_500)), "1.5µs");
        assert_eq!(f(Duration::from_secs(60)), "1m0s");
        assert_eq!(f(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(f(Duration::from_millis(3_723_500)), "1h2m3.5s");
        assert_eq!(f(Duration::from_millis(2_500)), "2.5s");
    }

    #[test]
    fn byte_sizes_are_base_2_in_both_spellings() {
        let b = |s: &str| parse_base2_bytes(s).unwrap();
        assert_eq!(b("0"), 0);
        assert_eq!(b("512MB"), 512 << 20);
        assert_eq!(b("512MiB"), 512 << 20);
        assert_eq!(b("1KB"), 1024);
        assert_eq!(b("100B"), 100);
        assert_eq!(b("1.5GB"), 3 << 29);
        assert_eq!(b("1GB512MB"), (1 << 30) + (512 << 20));
        assert_eq!(b("-1KB"), -1024);
        assert_eq!(b("7EiB"), 7 << 60);
    }

    #[test]
    fn byte_sizes_reject_si_kilo_missing_units_and_overflow() {
        assert_eq!(
            parse_base2_bytes("12XB"),
            Err(UnitError::UnknownSizeUnit {
                unit: "XB".into(),
                input: "12XB".into()
            })
        );
        assert_eq!(
            parse_base2_bytes("1kB"),
            Err(UnitError::UnknownSizeUnit {
                unit: "kB".into(),
                input: "1kB".into()
            })
        );
        // A bare number other than 0 has the empty unit, which is not a unit.
        assert!(matches!(
            parse_base2_bytes("100"),
            Err(UnitError::UnknownSizeUnit { .. })
        ));
        assert_eq!(
            parse_base2_bytes(""),
            Err(UnitError::InvalidSize(String::new()))
        );
        assert_eq!(
            parse_base2_bytes("MB"),
            Err(UnitError::InvalidSize("MB".into()))
        );
        assert!(matches!(
            parse_base2_bytes("8EB"),
            Err(UnitError::SizeOverflow(_))
        ));
    }

    #[test]
    fn byte_sizes_format_with_largest_exact_units() {
        assert_eq!(format_base2_bytes(0), "0B");
        assert_eq!(format_base2_bytes(4 << 20), "4MiB");
        assert_eq!(format_base2_bytes((1 << 30) + (512 << 20)), "1GiB512MiB");
        assert_eq!(format_base2_bytes(1025), "1KiB1B");
        assert_eq!(format_base2_bytes(100), "100B");
    }

    proptest! {
        #[test]
        fn prometheus_duration_format_parses_back(ms in 0u64..(200 * 365 * 86_400_000)) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        // Sizes add up in an f64, as in Prometheus, so they are exact up to 2^53.
        #[test]
        fn byte_size_format_parses_back(n in 0i64..(1i64 << 53)) {
            prop_assert_eq!(parse_base2_bytes(&format_base2_bytes(n)), Ok(n));
        }
    }
}
