//! The value types of Prometheus's configuration: durations (`1h30m`), sizes (`512MB`),
//! secrets, URLs and label names, each read, checked and written as Prometheus does.

use std::fmt;

use ember_storage::labels::{is_legacy_label_name, write_go_quoted};

use crate::yaml::decode::{scalar_text, type_error, DResult, Decode};
use crate::yaml::emit::{Encode, Value};
use crate::yaml::Node;

/// Go's `%q`: a double-quoted string with Go's escapes.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let _ = write_go_quoted(&mut out, s);
    out
}

/// A duration as Prometheus writes it (`model.Duration`): `1d`, `1h30m`, `15s`, `0`.
///
/// Units are `y` (365 days), `w`, `d`, `h`, `m`, `s` and `ms`, largest first, each at most
/// once. Written back at millisecond precision (`1m30s`, `0s`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(std::time::Duration);

impl Duration {
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    pub const fn from_secs(s: u64) -> Duration {
        Duration(std::time::Duration::from_secs(s))
    }

    pub const fn from_millis(ms: u64) -> Duration {
        Duration(std::time::Duration::from_millis(ms))
    }

    /// The standard-library duration.
    pub fn as_std(self) -> std::time::Duration {
        self.0
    }

    /// Whole milliseconds (saturating).
    pub fn as_millis(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Parses Prometheus's duration syntax, with `model.ParseDuration`'s messages.
    pub fn parse(s: &str) -> Result<Duration, String> {
        match s {
            "0" => return Ok(Duration::ZERO),
            "" => return Err("empty duration string".into()),
            _ => {}
        }
        let invalid = || format!("not a valid duration string: {}", go_quote(s));
        const MS: u64 = 1_000_000;
        let units: [(&str, u64); 7] = [
            ("y", 365 * 24 * 3600 * 1000 * MS),
            ("w", 7 * 24 * 3600 * 1000 * MS),
            ("d", 24 * 3600 * 1000 * MS),
            ("h", 3600 * 1000 * MS),
            ("m", 60 * 1000 * MS),
            ("s", 1000 * MS),
            ("ms", MS),
        ];
        let b = s.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        let mut last_pos = 0usize;
        while i < b.len() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(invalid());
            }
            let v: u64 = s[start..i].parse().map_err(|_| invalid())?;
            let ustart = i;
            while i < b.len() && !b[i].is_ascii_digit() {
                i += 1;
            }
            if i == ustart {
                return Err(invalid());
            }
            let unit = &s[ustart..i];
            let Some(pos) = units.iter().position(|(u, _)| *u == unit) else {
                return Err(format!(
                    "unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(s)
                ));
            };
            if pos < last_pos {
                return Err(invalid());
            }
            last_pos = pos + 1;
            let mult = units[pos].1;
            if v > (1u64 << 63) / mult {
                return Err("duration out of range".into());
            }
            total += v * mult;
            if total > i64::MAX as u64 {
                return Err("duration out of range".into());
            }
        }
        Ok(Duration(std::time::Duration::from_nanos(total)))
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl fmt::Display for Duration {
    /// `model.Duration.String()`: `1y`, `2w`, `1d2h`, `1m30s`, `1s500ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        let units: [(&str, i64, bool); 7] = [
            ("y", 1000 * 60 * 60 * 24 * 365, true),
            ("w", 1000 * 60 * 60 * 24 * 7, true),
            ("d", 1000 * 60 * 60 * 24, false),
            ("h", 1000 * 60 * 60, false),
            ("m", 1000 * 60, false),
            ("s", 1000, false),
            ("ms", 1, false),
        ];
        for (unit, mult, exact) in units {
            if exact && ms % mult != 0 {
                continue;
            }
            let v = ms / mult;
            if v > 0 {
                write!(f, "{v}{unit}")?;
                ms -= v * mult;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Decode for Duration {
    fn go_type() -> String {
        "model.Duration".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        if node.is_null() {
            return Ok(Duration::ZERO);
        }
        let text = scalar_text(node, "string")?;
        Duration::parse(text).map_err(|e| crate::yaml::decode::error_at(node, e))
    }
}

impl Encode for Duration {
    fn encode(&self) -> Value {
        Value::Str(self.to_string())
    }
    fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

/// A size in bytes (`units.Base2Bytes`): `512MB` and `512MiB` both mean 512 × 2²⁰ bytes.
/// A unit is required (`B`, `KB`/`KiB`, `MB`/`MiB`, … `EB`/`EiB`); written back with
/// binary units (`10MiB`, `1KiB512B`, `0B`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Size(i64);

impl Size {
    pub const fn from_bytes(b: i64) -> Size {
        Size(b)
    }

    pub fn bytes(self) -> i64 {
        self.0
    }

    /// `units.ParseBase2Bytes`, with its messages.
    pub fn parse(s: &str) -> Result<Size, String> {
        let orig = s;
        let invalid = || format!("units: invalid {orig}");
        let mut rest = s;
        let mut neg = false;
        if let Some(c) = rest.chars().next() {
            if c == '-' || c == '+' {
                neg = c == '-';
                rest = &rest[1..];
            }
        }
        if rest == "0" {
            return Ok(Size(0));
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total = 0f64;
        while !rest.is_empty() {
            let b = rest.as_bytes();
            if !(b[0] == b'.' || b[0].is_ascii_digit()) {
                return Err(invalid());
            }
            let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut g: f64 = if int_len > 0 {
                rest[..int_len].parse::<i64>().map_err(|_| invalid())? as f64
            } else {
                0.0
            };
            rest = &rest[int_len..];
            let mut post = false;
            if let Some(after) = rest.strip_prefix('.') {
                let frac_len = after.bytes().take_while(u8::is_ascii_digit).count();
                if frac_len > 0 {
                    let frac: i64 = after[..frac_len].parse().map_err(|_| invalid())?;
                    g += frac as f64 / 10f64.powi(frac_len as i32);
                    post = true;
                }
                rest = &after[frac_len..];
            }
            if int_len == 0 && !post {
                return Err(invalid());
            }
            let unit_len = rest
                .bytes()
                .take_while(|c| *c != b'.' && !c.is_ascii_digit())
                .count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let mult: f64 = match unit {
                "B" => 1.0,
                "KiB" | "KB" => 1024.0,
                "MiB" | "MB" => 1024f64.powi(2),
                "GiB" | "GB" => 1024f64.powi(3),
                "TiB" | "TB" => 1024f64.powi(4),
                "PiB" | "PB" => 1024f64.powi(5),
                "EiB" | "EB" => 1024f64.powi(6),
                _ => return Err(format!("units: unknown unit {unit} in {orig}")),
            };
            total += g * mult;
        }
        if neg {
            total = -total;
        }
        if total < -(2f64.powi(63)) || total > 2f64.powi(63) - 1.0 {
            return Err("units: overflow parsing unit".into());
        }
        Ok(Size(total as i64))
    }
}

impl fmt::Display for Size {
    /// `units.ToString(n, 1024, "iB", "B")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
        let mut n = self.0;
        let mut parts: [String; 7] = Default::default();
        for (i, m) in UNITS.iter().enumerate() {
            if n % 1024 != 0 || (i == 0 && n == 0) {
                let suffix = if i == 0 { "B" } else { "iB" };
                parts[UNITS.len() - 1 - i] = format!("{}{m}{suffix}", n % 1024);
            }
            n /= 1024;
            if n == 0 {
                break;
            }
        }
        f.write_str(&parts.concat())
    }
}

impl fmt::Debug for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Decode for Size {
    fn go_type() -> String {
        "units.Base2Bytes".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        if node.is_null() {
            return Ok(Size(0));
        }
        let text = scalar_text(node, "units.Base2Bytes")?;
        Size::parse(text).map_err(|e| crate::yaml::decode::error_at(node, e))
    }
}

impl Encode for Size {
    fn encode(&self) -> Value {
        Value::Str(self.to_string())
    }
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

/// A secret (a password, a token). Shown as `<secret>` when printed or written back, so
/// that `/api/v1/status/config` and logs never reveal it; [`Secret::expose`] gives the
/// value to the code that uses it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("<secret>")
        }
    }
}

impl Decode for Secret {
    fn go_type() -> String {
        "config.Secret".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        String::decode(node).map(Secret)
    }
}

impl Encode for Secret {
    fn encode(&self) -> Value {
        if self.0.is_empty() {
            Value::Null
        } else {
            Value::Str("<secret>".into())
        }
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

/// A URL as Go's `net/url` accepts it (`config.URL`): relative references and opaque URLs
/// are allowed, control characters, bad escapes, bad ports and bad host characters are
/// not. Written back with the password replaced by `xxxxx`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Url {
    raw: String,
    scheme: String,
    host: String,
    /// Byte range of the password in `raw`, if the URL has one.
    password: Option<(usize, usize)>,
}

impl Url {
    /// Parses `s` with `url.Parse`'s rules and messages (`parse "…": …`).
    pub fn parse(s: &str) -> Result<Url, String> {
        parse_go_url(s).map_err(|e| format!("parse {}: {e}", go_quote(s)))
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The scheme, lower-cased (`https`); empty for a relative reference.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host with its port (`example.com:9090`); empty when there is no authority.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The URL with its password, if any, replaced by `xxxxx` (`URL.Redacted()`).
    pub fn redacted(&self) -> String {
        match self.password {
            Some((a, b)) => format!("{}xxxxx{}", &self.raw[..a], &self.raw[b..]),
            None => self.raw.clone(),
        }
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Decode for Url {
    fn go_type() -> String {
        "config.URL".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        let text = scalar_text(node, "string")?;
        Url::parse(text).map_err(|e| crate::yaml::decode::error_at(node, e))
    }
}

impl Encode for Url {
    fn encode(&self) -> Value {
        Value::Str(self.redacted())
    }
    fn is_zero(&self) -> bool {
        false
    }
}

fn parse_go_url(s: &str) -> Result<Url, String> {
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let (without_frag, frag) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    if let Some(f) = frag {
        check_escapes(f)?;
    }
    let mut url = Url {
        raw: s.to_string(),
        ..Url::default()
    };
    if without_frag == "*" {
        return Ok(url);
    }
    // Scheme.
    let mut rest = without_frag;
    for (i, c) in without_frag.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == ':' {
            if i == 0 {
                return Err("missing protocol scheme".into());
            }
            url.scheme = without_frag[..i].to_ascii_lowercase();
            rest = &without_frag[i + 1..];
        }
        break;
    }
    let rest = match rest.split_once('?') {
        Some((a, q)) => {
            check_escapes(q)?;
            a
        }
        None => rest,
    };
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            return Ok(url); // opaque
        }
        let segment = rest.split('/').next().unwrap_or("");
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    let mut path = rest;
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, p) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        path = p;
        // `rest` is a slice of `s`: the authority starts two bytes into it.
        let offset = rest.as_ptr() as usize - s.as_ptr() as usize + 2;
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        if let Some(ui) = userinfo {
            if !ui
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
            {
                return Err("net/url: invalid userinfo".into());
            }
            check_escapes(ui)?;
            if let Some(colon) = ui.find(':') {
                url.password = Some((offset + colon + 1, offset + ui.len()));
            }
        }
        check_host(host)?;
        url.host = host.to_string();
    }
    check_escapes(path)?;
    Ok(url)
}

fn check_host(host: &str) -> Result<(), String> {
    let port = if let Some(inner) = host.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &inner[end + 1..];
        if !port.is_empty() && !port.starts_with(':') {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
        port
    } else {
        match host.rfind(':') {
            Some(i) => &host[i..],
            None => "",
        }
    };
    if let Some(digits) = port.strip_prefix(':') {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
    }
    for c in host.chars() {
        let ok = c.is_alphanumeric() || !c.is_ascii() || "-_.~!$&'()*+,;=:[]<>\"%".contains(c);
        if !ok {
            return Err(format!(
                "invalid character {} in host name",
                go_quote(&c.to_string())
            ));
        }
    }
    check_escapes(host)
}

/// Percent escapes must be `%` and two hex digits (`invalid URL escape "%zz"`).
fn check_escapes(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok =
                i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
            if !ok {
                let end = (i + 3).min(b.len());
                let bad = String::from_utf8_lossy(&b[i..end]);
                return Err(format!("invalid URL escape {}", go_quote(&bad)));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// How metric and label names are validated (`metric_name_validation_scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Not set here; inherited (written back as nothing).
    #[default]
    Unset,
    /// `[a-zA-Z_][a-zA-Z0-9_]*` label names, `[a-zA-Z_:][a-zA-Z0-9_:]*` metric names.
    Legacy,
    /// Any non-empty UTF-8 name (the Prometheus 3 default).
    Utf8,
}

impl NameValidation {
    pub fn as_str(self) -> &'static str {
        match self {
            NameValidation::Unset => "",
            NameValidation::Legacy => "legacy",
            NameValidation::Utf8 => "utf8",
        }
    }

    /// Whether `name` is a valid label name under this scheme (unset means UTF-8).
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Legacy => is_legacy_label_name(name),
            _ => !name.is_empty(),
        }
    }

    /// Whether `name` is a valid metric name under this scheme (unset means UTF-8).
    pub fn is_valid_metric_name(self, name: &str) -> bool {
        match self {
            NameValidation::Legacy => {
                let mut bytes = name.bytes();
                matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
                    && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
            }
            _ => !name.is_empty(),
        }
    }
}

impl Decode for NameValidation {
    fn go_type() -> String {
        "model.ValidationScheme".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        match scalar_text(node, "string")? {
            "" => Ok(NameValidation::Unset),
            "legacy" => Ok(NameValidation::Legacy),
            "utf8" => Ok(NameValidation::Utf8),
            other => Err(crate::yaml::decode::error_at(
                node,
                format!("unrecognized ValidationScheme: {}", go_quote(other)),
            )),
        }
    }
}

impl Encode for NameValidation {
    fn encode(&self) -> Value {
        Value::Str(self.as_str().into())
    }
    fn is_zero(&self) -> bool {
        *self == NameValidation::Unset
    }
}

/// A label name as `model.LabelName` reads it: any non-empty string
/// (`"" is not a valid label name`).
pub(crate) fn decode_label_name(node: &Node) -> DResult<String> {
    let s = String::decode(node)?;
    if s.is_empty() {
        return Err(crate::yaml::decode::error_at(
            node,
            format!("{} is not a valid label name", go_quote(&s)),
        ));
    }
    Ok(s)
}

/// Reads a list of label names (`source_labels`).
pub(crate) fn decode_label_names(node: &Node) -> DResult<Vec<String>> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    match &node.kind {
        crate::yaml::Kind::Seq(items) => items.iter().map(|n| decode_label_name(n)).collect(),
        _ => Err(type_error(node, "model.LabelNames")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_as_prometheus() {
        let cases = [
            ("0", "0s"),
            ("0s", "0s"),
            ("15s", "15s"),
            ("90s", "1m30s"),
            ("1500ms", "1s500ms"),
            ("1h30m", "1h30m"),
            ("1d", "1d"),
            ("2w", "2w"),
            ("1y", "1y"),
            ("8d", "8d"),
            ("1y1d", "366d"),
            ("14d", "2w"),
            ("366d", "366d"),
        ];
        for (input, shown) in cases {
            let d = Duration::parse(input).unwrap();
            assert_eq!(d.to_string(), shown, "{input}");
        }
        assert_eq!(Duration::parse("1m").unwrap().as_millis(), 60_000);
        assert_eq!(
            Duration::parse("-1h").unwrap_err(),
            "not a valid duration string: \"-1h\""
        );
        assert_eq!(
            Duration::parse("1s1m").unwrap_err(),
            "not a valid duration string: \"1s1m\""
        );
        assert_eq!(
            Duration::parse("15").unwrap_err(),
            "not a valid duration string: \"15\""
        );
        assert_eq!(
            Duration::parse("5x").unwrap_err(),
            "unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(Duration::parse("").unwrap_err(), "empty duration string");
        assert!(Duration::parse("99999999999999y").is_err());
    }

    #[test]
    fn sizes_parse_base2_and_print_binary_units() {
        assert_eq!(Size::parse("512MB").unwrap().bytes(), 512 << 20);
        assert_eq!(Size::parse("512MiB").unwrap().bytes(), 512 << 20);
        assert_eq!(Size::parse("1KB").unwrap().bytes(), 1024);
        assert_eq!(Size::parse("1.5KB").unwrap().bytes(), 1536);
        assert_eq!(Size::parse("0").unwrap().bytes(), 0);
        assert_eq!(Size::parse("-1MB").unwrap().bytes(), -(1 << 20));
        assert_eq!(
            Size::parse("100").unwrap_err(),
            "units: unknown unit  in 100"
        );
        assert_eq!(Size::parse("kb").unwrap_err(), "units: invalid kb");
        assert_eq!(Size::from_bytes(10 << 20).to_string(), "10MiB");
        assert_eq!(Size::from_bytes(1536).to_string(), "1KiB512B");
        assert_eq!(Size::from_bytes(0).to_string(), "0B");
    }

    #[test]
    fn urls_follow_go_net_url() {
        let u = Url::parse("https://user:pw@example.com:9090/api/v1/write?x=1").unwrap();
        assert_eq!(u.scheme(), "https");
        assert_eq!(u.host(), "example.com:9090");
        assert_eq!(
            u.redacted(),
            "https://user:xxxxx@example.com:9090/api/v1/write?x=1"
        );
        assert!(Url::parse("/relative/path").is_ok());
        assert!(Url::parse("localhost:9090").is_ok()); // scheme "localhost", opaque
        assert_eq!(
            Url::parse("http://a b/").unwrap_err(),
            "parse \"http://a b/\": invalid character \" \" in host name"
        );
        assert_eq!(
            Url::parse("http://host:port/").unwrap_err(),
            "parse \"http://host:port/\": invalid port \":port\" after host"
        );
        assert_eq!(
            Url::parse("://x").unwrap_err(),
            "parse \"://x\": missing protocol scheme"
        );
        assert_eq!(
            Url::parse("http://x/%zz").unwrap_err(),
            "parse \"http://x/%zz\": invalid URL escape \"%zz\""
        );
        assert!(Url::parse("http://x/\u{7f}").is_err());
        assert!(Url::parse("http://[::1]:9090/").is_ok());
    }
}
