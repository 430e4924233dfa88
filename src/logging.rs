//! Log lines in Prometheus 3's formats, written by a `tracing` layer.
//!
//! Prometheus 3 logs through Go's `log/slog` (configured by `promslog`). Its two formats:
//!
//! ```text
//! time=2025-01-02T15:04:05.123+01:00 level=INFO source=main.go:640 msg="Starting TSDB ..." k=v
//! {"time":"2025-01-02T15:04:05.123456789+01:00","level":"INFO","source":"main.go:640","msg":"Starting TSDB ...","k":"v"}
//! ```
//!
//! - `time` is local time with its UTC offset (`Z` when UTC): milliseconds in logfmt,
//!   nanoseconds without trailing zeros in JSON (Go's RFC 3339 layouts).
//! - `level` is `DEBUG`, `INFO`, `WARN` or `ERROR`.
//! - `source` is the file's base name and line of the log call (here, the Rust file).
//! - `msg`, then the event's fields in the order written. A field named like one of the
//!   four keys above is renamed `logged_<key>`, as promslog does, so keys stay unique.
//! - In logfmt, a value is quoted when it is empty or contains a space, `=`, `"` or a
//!   control character, with Go-style escapes.
//!
//! Ember logs with the message Prometheus uses for the same event, so log-based alerts
//! and searches keep working.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::civil::civil_from_days;
use crate::cli::{LogFormat, LogLevel, LogOptions};

/// Installs the process-wide logger writing to stderr. Call once, before logging.
pub fn init(options: LogOptions) {
    let subscriber = tracing_subscriber::registry().with(
        PromslogLayer::new(options.format, std::io::stderr).with_filter(filter(options.level)),
    );
    // Only fails if a logger is already installed, in which case that one stays.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The `tracing` filter for `--log.level`.
pub fn filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    }
}

/// A `tracing` layer that writes each event as one promslog line.
pub struct PromslogLayer<W> {
    format: LogFormat,
    make_writer: W,
}

impl<W> PromslogLayer<W> {
    pub fn new(format: LogFormat, make_writer: W) -> Self {
        PromslogLayer {
            format,
            make_writer,
        }
    }
}

impl<S, W> Layer<S> for PromslogLayer<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let source = meta.file().map(|file| {
            let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
            format!("{base}:{}", meta.line().unwrap_or(0))
        });
        let time = Timestamp::local(SystemTime::now());
        let line = match self.format {
            LogFormat::Logfmt => logfmt_line(&time, *meta.level(), source.as_deref(), &fields),
            LogFormat::Json => json_line(&time, *meta.level(), source.as_deref(), &fields),
        };
        // One write per line, so lines from concurrent events never interleave. A
        // failed write to stderr has nowhere to be reported.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// slog's level names.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        // slog has no trace level; its closest is debug.
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// A field value, keeping numbers and booleans apart from text for JSON.
#[derive(Debug, Clone, PartialEq)]
enum FieldValue {
    Str(String),
    Int(i64),
    Uint(u64),
    Float(f64),
    Bool(bool),
}

/// An event's message and fields, in the order they were written.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, FieldValue)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
            self.message = match value {
                FieldValue::Str(s) => s,
                other => format!("{other:?}"),
            };
        } else {
            self.fields.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::Float(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::Uint(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, FieldValue::Str(value.to_string()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, FieldValue::Str(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, FieldValue::Str(format!("{value:?}")));
    }
}

/// The key under which a field is written: built-in keys are not reused.
fn field_key(name: &str) -> String {
    match name {
        "time" | "level" | "source" | "msg" => format!("logged_{name}"),
        _ => name.to_string(),
    }
}

fn logfmt_line(time: &Timestamp, level: Level, source: Option<&str>, fields: &Fields) -> String {
    let mut line = format!("time={} level={}", time.rfc3339_millis(), level_name(level));
    if let Some(source) = source {
        line.push_str(" source=");
        push_logfmt_str(&mut line, source);
    }
    line.push_str(" msg=");
    push_logfmt_str(&mut line, &fields.message);
    for (name, value) in &fields.fields {
        line.push(' ');
        push_logfmt_str(&mut line, &field_key(name));
        line.push('=');
        match value {
            FieldValue::Str(s) => push_logfmt_str(&mut line, s),
            FieldValue::Int(v) => write!(line, "{v}").unwrap_or_default(),
            FieldValue::Uint(v) => write!(line, "{v}").unwrap_or_default(),
            FieldValue::Bool(v) => write!(line, "{v}").unwrap_or_default(),
            FieldValue::Float(v) => line.push_str(&go_float(*v)),
        }
    }
    line.push('\n');
    line
}

fn json_line(time: &Timestamp, level: Level, source: Option<&str>, fields: &Fields) -> String {
    let mut line = String::with_capacity(128);
    let mut push = |key: &str, value: serde_json::Value| {
        line.push(if line.is_empty() { '{' } else { ',' });
        line.push_str(&serde_json::Value::from(key).to_string());
        line.push(':');
        line.push_str(&value.to_string());
    };
    push("time", time.rfc3339_nanos().into());
    push("level", level_name(level).into());
    if let Some(source) = source {
        push("source", source.into());
    }
    push("msg", fields.message.as_str().into());
    for (name, value) in &fields.fields {
        let value = match value {
            FieldValue::Str(s) => serde_json::Value::from(s.as_str()),
            FieldValue::Int(v) => (*v).into(),
            FieldValue::Uint(v) => (*v).into(),
            FieldValue::Bool(v) => (*v).into(),
            // JSON has no NaN or infinities; write those as text.
            FieldValue::Float(v) => serde_json::Number::from_f64(*v)
                .map_or_else(|| go_float(*v).into(), serde_json::Value::Number),
        };
        push(&field_key(name), value);
    }
    line.push_str("}\n");
    line
}

/// A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes the common cases.
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        v.to_string()
    }
}

/// Appends `s`, quoted and escaped if logfmt needs it (slog's `needsQuoting`).
fn push_logfmt_str(line: &mut String, s: &str) {
    let needs_quotes = s.is_empty()
        || s.chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_whitespace() || c.is_control());
    if !needs_quotes {
        line.push_str(s);
        return;
    }
    line.push('"');
    for c in s.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if c.is_control() => write!(line, "\\u{:04x}", c as u32).unwrap_or_default(),
            c => line.push(c),
        }
    }
    line.push('"');
}

/// A wall-clock time broken down in some time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timestamp {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Seconds east of UTC.
    offset: i64,
}

impl Timestamp {
    /// `now` in the local time zone (`TZ`, else `/etc/localtime`); UTC if that fails.
    fn local(now: SystemTime) -> Timestamp {
        let since_epoch = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since_epoch.as_secs() as i64;
        let nanos = since_epoch.subsec_nanos();
        local_broken_down(secs, nanos).unwrap_or_else(|| Timestamp::utc(secs, nanos))
    }

    /// Seconds since the epoch as a UTC calendar time.
    fn utc(secs: i64, nanos: u32) -> Timestamp {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let in_day = secs.rem_euclid(86_400);
        Timestamp {
            year,
            month,
            day,
            hour: (in_day / 3600) as u32,
            minute: (in_day % 3600 / 60) as u32,
            second: (in_day % 60) as u32,
            nanos,
            offset: 0,
        }
    }

    /// `2006-01-02T15:04:05.000Z07:00`: always three fractional digits.
    fn rfc3339_millis(&self) -> String {
        format!(
            "{}.{:03}{}",
            self.date_time(),
            self.nanos / 1_000_000,
            self.zone()
        )
    }

    /// `2006-01-02T15:04:05.999999999Z07:00`: trailing zeros dropped, no dot when whole.
    fn rfc3339_nanos(&self) -> String {
        let frac = format!("{:09}", self.nanos);
        let frac = frac.trim_end_matches('0');
        let dot = if frac.is_empty() { "" } else { "." };
        format!("{}{dot}{frac}{}", self.date_time(), self.zone())
    }

    fn date_time(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    fn zone(&self) -> String {
        if self.offset == 0 {
            return "Z".to_string();
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let abs = self.offset.abs();
        format!("{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
    }
}

/// The local calendar time of `secs` from the C library, which reads `TZ` and the
/// system's zone files.
// time_t and tm_gmtoff are 32-bit on some targets, so the conversions are kept.
#[allow(clippy::useless_conversion)]
fn local_broken_down(secs: i64, nanos: u32) -> Option<Timestamp> {
    let t: libc::time_t = secs.try_into().ok()?;
    // SAFETY: tm is plain old data; all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r is the thread-safe variant: it reads `t` and writes only into
    // `tm`, both owned by this frame; it returns NULL on failure, which we check.
    let result = unsafe { libc::localtime_r(&t, &mut tm) };
    if result.is_null() {
        return None;
    }
    Some(Timestamp {
        year: i64::from(tm.tm_year) + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        // A leap second (60) is shown as 59, as Go does.
        second: u32::try_from(tm.tm_sec.min(59)).ok()?,
        nanos,
        offset: i64::from(tm.tm_gmtoff),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects written lines.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn capture(format: LogFormat, level: LogLevel, f: impl FnOnce()) -> Vec<String> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(PromslogLayer::new(format, buffer.clone()).with_filter(filter(level)));
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn logfmt_line_has_prometheus_keys_in_order() {
        let before = line!();
        let lines = capture(LogFormat::Logfmt, LogLevel::Info, || {
            tracing::info!(
                component = "web",
                address = "0.0.0.0:9090",
                n = 3,
                ok = true,
                "Start listening for connections"
            );
        });
        let after = line!();
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        let rest = line.strip_prefix("time=").unwrap();
        let (time, rest) = rest.split_once(' ').unwrap();
        assert_time_layout(time, 3);
        let rest = rest.strip_prefix("level=INFO source=logging.rs:").unwrap();
        let (source_line, rest) = rest.split_once(' ').unwrap();
        let source_line: u32 = source_line.parse().unwrap();
        assert!(before < source_line && source_line < after);
        assert_eq!(
            rest,
            "msg=\"Start listening for connections\" component=web address=0.0.0.0:9090 n=3 ok=true"
        );
    }

    #[test]
    fn logfmt_quotes_like_slog() {
        let mut s = String::new();
        for (input, expected) in [
            ("plain", "plain"),
            ("", "\"\""),
            ("a b", "\"a b\""),
            ("a=b", "\"a=b\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("back\\slash", "back\\slash"),
            ("ünïcödé", "ünïcödé"),
            ("tab\t", "\"tab\\t\""),
        ] {
            s.clear();
            push_logfmt_str(&mut s, input);
            assert_eq!(s, expected, "{input:?}");
        }
    }

    #[test]
    fn json_line_is_an_object_with_typed_values() {
        let lines = capture(LogFormat::Json, LogLevel::Debug, || {
            tracing::debug!(count = 7u64, ratio = 0.5, err = %"boom", msg = "clash", "hello");
        });
        assert_eq!(lines.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        // Key order as written (serde_json's map sorts, so look at the text).
        let positions: Vec<usize> = [
            "time",
            "level",
            "source",
            "msg",
            "count",
            "ratio",
            "err",
            "logged_msg",
        ]
        .iter()
        .map(|k| lines[0].find(&format!("\"{k}\":")).unwrap())
        .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{}", lines[0]);
        assert_eq!(v.as_object().unwrap().len(), 8);
        assert_eq!(v["level"], "DEBUG");
        assert_eq!(v["msg"], "hello");
        assert_eq!(v["count"], 7);
        assert_eq!(v["ratio"], 0.5);
        assert_eq!(v["err"], "boom");
        assert_eq!(v["logged_msg"], "clash");
        assert!(v["source"].as_str().unwrap().starts_with("logging.rs:"));
        assert_time_layout(v["time"].as_str().unwrap(), 0);
    }

    #[test]
    fn level_filter_drops_lower_severities() {
        let lines = capture(LogFormat::Logfmt, LogLevel::Warn, || {
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let levels: Vec<&str> = lines.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
        assert_eq!(levels, ["level=WARN", "level=ERROR"]);
    }

    /// `digits` fractional digits exactly, or 0 for "up to 9, no trailing zero".
    fn assert_time_layout(time: &str, digits: usize) {
        let b = time.as_bytes();
        assert_eq!(
            (b[4], b[7], b[10], b[13], b[16]),
            (b'-', b'-', b'T', b':', b':'),
            "{time}"
        );
        let zone_at = time[19..]
            .find(['Z', '+', '-'])
            .map(|i| i + 19)
            .unwrap_or_else(|| panic!("no zone in {time}"));
        let frac = &time[19..zone_at];
        if digits > 0 {
            assert_eq!(frac.len(), digits + 1, "{time}");
        } else if !frac.is_empty() {
            assert!(frac.len() <= 10 && !frac.ends_with('0'), "{time}");
        }
        let zone = &time[zone_at..];
        assert!(
            zone == "Z" || (zone.len() == 6 && &zone[3..4] == ":"),
            "{time}"
        );
    }

    #[test]
    fn rfc3339_layouts() {
        // 2001-09-09T01:46:40Z is Unix time 1_000_000_000.
        let t = Timestamp::utc(1_000_000_000, 120_000_000);
        assert_eq!(t.rfc3339_millis(), "2001-09-09T01:46:40.120Z");
        assert_eq!(t.rfc3339_nanos(), "2001-09-09T01:46:40.12Z");
        let whole = Timestamp::utc(1_000_000_000, 0);
        assert_eq!(whole.rfc3339_millis(), "2001-09-09T01:46:40.000Z");
        assert_eq!(whole.rfc3339_nanos(), "2001-09-09T01:46:40Z");
        let east = Timestamp {
            offset: 5 * 3600 + 30 * 60,
            ..whole
        };
        assert_eq!(east.rfc3339_millis(), "2001-09-09T01:46:40.000+05:30");
        let west = Timestamp {
            offset: -8 * 3600,
            ..whole
        };
        assert_eq!(west.rfc3339_nanos(), "2001-09-09T01:46:40-08:00");
        // Day boundaries and leap years.
        assert_eq!(Timestamp::utc(0, 0).date_time(), "1970-01-01T00:00:00");
        assert_eq!(
            Timestamp::utc(951_782_400, 0).date_time(),
            "2000-02-29T00:00:00"
        );
        assert_eq!(Timestamp::utc(-1, 0).date_time(), "1969-12-31T23:59:59");
    }

    #[test]
    fn local_time_agrees_with_utc_and_its_offset() {
        // Whatever the zone, local wall time minus the offset is the UTC time.
        for secs in [0i64, 1_000_000_000, 1_700_000_000, 1_719_792_000] {
            let local = local_broken_down(secs, 0).expect("localtime_r");
            let days = days_from_civil(local.year, local.month, local.day);
            let wall = days * 86_400
                + i64::from(local.hour) * 3600
                + i64::from(local.minute) * 60
                + i64::from(local.second);
            assert_eq!(wall - local.offset, secs);
        }
    }

    /// Inverse of civil_from_days, written independently for the check above.
    fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}
