//! Calendar functions: `year`, `month`, `day_of_month`, `day_of_year`, `day_of_week`,
//! `days_in_month`, `hour`, `minute`, in UTC.
//!
//! Without an argument they read the evaluation time (its whole seconds, truncated toward
//! zero as Go's integer division does); with one, each float sample is a Unix time in
//! seconds, truncated to an integer as Go's `int64(f)` truncates it. Dates are proleptic
//! Gregorian, computed from the day count since 1970-01-01 with Howard Hinnant's
//! `civil_from_days` algorithm, so no time-zone database is involved.

use crate::value::{FPoint, Series};

use super::numeric::go_f64_to_i64;
use super::FnCtx;

/// A UTC calendar breakdown of a Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Civil {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
    /// 1..=366
    pub yday: u32,
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Year, month, day of the day `z` days after 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The calendar breakdown of `secs` seconds after the Unix epoch, in UTC.
pub(super) fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let before: u32 = (1..month).map(|m| days_in(year, m)).sum();
    Civil {
        year,
        month,
        day,
        hour: sod / 3600,
        minute: sod % 3600 / 60,
        second: sod % 60,
        // 1970-01-01 was a Thursday (4).
        weekday: (days + 4).rem_euclid(7) as u32,
        yday: before + day,
    }
}

/// `secs` in RFC 3339 (`2006-01-02T15:04:05Z`), as Go's `time.RFC3339` formats a UTC time.
pub(super) fn rfc3339(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Which part of the date a function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DatePart {
    Year,
    Month,
    DayOfMonth,
    DayOfYear,
    DayOfWeek,
    DaysInMonth,
    Hour,
    Minute,
}

impl DatePart {
    pub(super) fn from_name(name: &str) -> Option<DatePart> {
        Some(match name {
            "year" => DatePart::Year,
            "month" => DatePart::Month,
            "day_of_month" => DatePart::DayOfMonth,
            "day_of_year" => DatePart::DayOfYear,
            "day_of_week" => DatePart::DayOfWeek,
            "days_in_month" => DatePart::DaysInMonth,
            "hour" => DatePart::Hour,
            "minute" => DatePart::Minute,
            _ => return None,
        })
    }

    fn of(self, secs: i64) -> f64 {
        let c = civil(secs);
        match self {
            DatePart::Year => c.year as f64,
            DatePart::Month => f64::from(c.month),
            DatePart::DayOfMonth => f64::from(c.day),
            DatePart::DayOfYear => f64::from(c.yday),
            DatePart::DayOfWeek => f64::from(c.weekday),
            DatePart::DaysInMonth => f64::from(days_in(c.year, c.month)),
            DatePart::Hour => f64::from(c.hour),
            DatePart::Minute => f64::from(c.minute),
        }
    }
}

/// `part()` without an argument: one series without labels, the part of each step's time.
pub(super) fn of_steps(part: DatePart, ctx: &FnCtx<'_>) -> Vec<Series> {
    let steps = ctx.steps;
    let floats = (0..steps.len())
        .map(|i| {
            let t = steps.ts(i);
            FPoint {
                t,
                f: part.of(t / 1000),
            }
        })
        .collect();
    vec![Series::new(Default::default(), floats)]
}

/// `part(v)`: the part of each sample's value read as Unix seconds; the name is dropped.
pub(super) fn of_values(part: DatePart, mut input: Vec<Series>, ctx: &FnCtx<'_>) -> Vec<Series> {
    input.retain(|s| !s.floats.is_empty());
    for s in &mut input {
        for p in &mut s.floats {
            p.f = part.of(go_f64_to_i64(p.f));
        }
        ctx.drop_metric_name(s);
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        // 1136239445 = 2006-01-02T22:04:05Z (Go's reference time, in UTC), a Monday.
        let c = civil(1_136_239_445);
        assert_eq!(
            c,
            Civil {
                year: 2006,
                month: 1,
                day: 2,
                hour: 22,
                minute: 4,
                second: 5,
                weekday: 1,
                yday: 2
            }
        );
        assert_eq!(civil(0).weekday, 4); // 1970-01-01, a Thursday
        assert_eq!(civil(-1).year, 1969);
        assert_eq!(civil(-1).yday, 365);
        assert_eq!(
            (civil(-1).hour, civil(-1).minute, civil(-1).second),
            (23, 59, 59)
        );
        // 2016-02-29 23:59:59 and the next second, 2016-03-01.
        assert_eq!(
            (civil(1_456_790_399).month, civil(1_456_790_399).day),
            (2, 29)
        );
        assert_eq!(
            (civil(1_456_790_400).month, civil(1_456_790_400).day),
            (3, 1)
        );
        // 2016-12-31 is day 366 of a leap year; 2022-12-31 day 365.
        assert_eq!(civil(1_483_191_420).yday, 366);
        assert_eq!(civil(1_672_493_820).yday, 365);
        // 2008-12-31T23:59:59 and 2009-01-01T00:00:00.
        assert_eq!(civil(1_230_767_999).year, 2008);
        assert_eq!(civil(1_230_768_000).year, 2009);
        // 2000-02-29 exists (divisible by 400); 1900 was not a leap year.
        assert_eq!(days_in(2000, 2), 29);
        assert_eq!(days_in(1900, 2), 28);
        assert_eq!(DatePart::DaysInMonth.of(1_454_284_800), 29.0); // 2016-02-01
        assert_eq!(DatePart::DaysInMonth.of(1_485_907_200), 28.0); // 2017-02-01
    }

    #[test]
    fn civil_agrees_with_day_by_day_walk() {
        // Brute force: walk day by day from 1970-01-01 backwards and forwards, counting
        // months and years by hand, and compare with the closed-form conversion.
        let (mut y, mut m, mut d, mut yday, mut wday) = (1970i64, 1u32, 1u32, 1u32, 4u32);
        for day in 0..800_000i64 {
            let c = civil(day * 86_400 + 3_661);
            assert_eq!(
                (c.year, c.month, c.day, c.yday, c.weekday, c.hour, c.minute),
                (y, m, d, yday, wday, 1, 1)
            );
            wday = (wday + 1) % 7;
            d += 1;
            yday += 1;
            if d > days_in(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                    yday = 1;
                }
            }
        }
        let (mut y, mut m, mut d) = (1969i64, 12u32, 31u32);
        for day in 1..800_000i64 {
            let c = civil(-day * 86_400);
            assert_eq!((c.year, c.month, c.day), (y, m, d));
            d -= 1;
            if d == 0 {
                if m == 1 {
                    m = 12;
                    y -= 1;
                } else {
                    m -= 1;
                }
                d = days_in(y, m);
            }
        }
    }

    #[test]
    fn rfc3339_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(3000), "1970-01-01T00:50:00Z");
        assert_eq!(rfc3339(1_136_239_445), "2006-01-02T22:04:05Z");
    }
}
