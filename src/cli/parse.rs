//! Parsing a command line the way kingpin (Prometheus's flag library) does.
//!
//! The rules, so that every Prometheus command line means the same to Ember:
//!
//! - `--name=value` and `--name value`; a value may not itself look like a flag
//!   (`--config.file --x` is "expected argument"), but `--name=-x` is fine.
//! - Boolean flags take no value: `--name` sets true, `--no-name` sets false, and
//!   `--name=true` is an error ("unexpected true"), as in kingpin.
//! - `-h` is the only short flag.
//! - A flag given twice is an error unless it is repeatable (`--web.listen-address`,
//!   `--enable-feature`, ...), in which case each occurrence adds a value and the default
//!   is dropped.
//! - There are no positional arguments; everything after `--` is one.
//! - `--version` wins over any error that follows it; `--help` wins over value errors.
//!
//! Values are checked as they are parsed (a bad duration is a parse error), so a
//! [`Parsed`] holds only well-formed values.

use std::time::Duration;

use super::spec::{self, FlagSpec, Kind, FLAGS, REMOTE_WRITE_MESSAGES};
use super::units::{self, UnitError};

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Parsed),
    Help,
    Version,
    /// The hidden `--write-documentation`: print the flag reference as Markdown.
    WriteDocumentation,
}

/// A command line that is not valid. The messages are kingpin's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CliError {
    #[error("unknown long flag '{0}'")]
    UnknownLongFlag(String),
    #[error("unknown short flag '{0}'")]
    UnknownShortFlag(String),
    #[error("expected argument for flag '{0}'")]
    ExpectedArgument(String),
    #[error("unexpected {0}")]
    Unexpected(String),
    #[error("flag '{0}' cannot be repeated")]
    Repeated(&'static str),
    #[error("invalid value {value:?} for flag --{flag}: {reason}")]
    InvalidValue {
        flag: &'static str,
        value: String,
        reason: ValueError,
    },
}

/// Why a value does not fit its flag.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Unit(#[from] UnitError),
    #[error("not a number")]
    NotANumber,
    #[error("not an integer")]
    NotAnInteger,
    #[error("enum value must be one of {}, got '{got}'", .options.join(","))]
    NotInEnum {
        options: &'static [&'static str],
        got: String,
    },
    #[error("unrecognized log level {0}")]
    LogLevel(String),
    #[error("unrecognized log format {0}")]
    LogFormat(String),
    #[error("unknown remote write protobuf message {got}, supported: {}", REMOTE_WRITE_MESSAGES.join(", "))]
    RemoteWriteMessage { got: String },
    #[error("duplicated {0} flag value")]
    DuplicateRemoteWriteMessage(String),
}

/// A flag's value, typed by its [`Kind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value given and no default.
    Unset,
    Bool(bool),
    Str(String),
    List(Vec<String>),
    Int(i64),
    Float(f64),
    Duration(Duration),
    Bytes(i64),
}

/// Every flag's value after parsing: the user's, else the default.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Indexed like [`FLAGS`].
    slots: Vec<Slot>,
}

#[derive(Debug, Clone)]
struct Slot {
    value: Value,
    /// The raw strings given on the command line, in order; empty if not given.
    given: Vec<String>,
}

impl Parsed {
    /// The value of `--name`. Unknown names are a programming error; they read as unset.
    pub fn value(&self, name: &str) -> &Value {
        debug_assert!(spec::find(name).is_some(), "no flag --{name}");
        index_of(name).map_or(&Value::Unset, |i| &self.slots[i].value)
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.value(name), Value::Bool(true))
    }

    /// A string flag's value; `None` when unset.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A repeatable flag's values.
    pub fn list(&self, name: &str) -> &[String] {
        match self.value(name) {
            Value::List(v) => v,
            _ => &[],
        }
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.value(name) {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        match self.value(name) {
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    pub fn duration(&self, name: &str) -> Option<Duration> {
        match self.value(name) {
            Value::Duration(v) => Some(*v),
            _ => None,
        }
    }

    pub fn bytes(&self, name: &str) -> Option<i64> {
        match self.value(name) {
            Value::Bytes(v) => Some(*v),
            _ => None,
        }
    }

    /// Whether `--name` was on the command line.
    pub fn is_given(&self, name: &str) -> bool {
        index_of(name).is_some_and(|i| !self.slots[i].given.is_empty())
    }

    /// The flags given on the command line, in table order.
    pub fn given_flags(&self) -> impl Iterator<Item = &'static FlagSpec> + '_ {
        FLAGS
            .iter()
            .zip(&self.slots)
            .filter(|(_, slot)| !slot.given.is_empty())
            .map(|(spec, _)| spec)
    }
}

/// Parses the arguments after the program name.
pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Command, CliError> {
    let mut tokens = Tokens::new(args);
    let mut matched: Vec<(usize, String)> = Vec::new();
    let parse_error = match_flags(&mut tokens, &mut matched).err();

    let mut slots: Vec<Slot> = FLAGS
        .iter()
        .map(|_| Slot {
            value: Value::Unset,
            given: Vec::new(),
        })
        .collect();
    let mut value_error = None;
    for (index, raw) in &matched {
        let spec = &FLAGS[*index];
        let slot = &mut slots[*index];
        if !slot.given.is_empty() && !spec.kind.is_repeatable() {
            value_error = Some(CliError::Repeated(spec.name));
            break;
        }
        slot.given.push(raw.clone());
        if let Err(reason) = check_repeat(spec, &slot.given) {
            value_error = Some(CliError::InvalidValue {
                flag: spec.name,
                value: raw.clone(),
                reason,
            });
            break;
        }
    }

    let given = |name: &str| matched.iter().any(|(i, _)| FLAGS[*i].name == name);
    if given("version") {
        return Ok(Command::Version);
    }
    if let Some(e) = parse_error {
        return Err(e);
    }
    if given("help") || given("help-long") || given("help-man") {
        return Ok(Command::Help);
    }
    if let Some(e) = value_error {
        return Err(e);
    }
    if given("write-documentation") {
        return Ok(Command::WriteDocumentation);
    }

    for (spec, slot) in FLAGS.iter().zip(slots.iter_mut()) {
        let raw: Vec<&str> = if slot.given.is_empty() {
            match spec.default {
                None => continue,
                Some(d) if spec.kind.is_repeatable() => d.split(',').collect(),
                Some(d) => vec![d],
            }
        } else {
            slot.given.iter().map(String::as_str).collect()
        };
        slot.value = typed_value(spec, &raw).map_err(|reason| CliError::InvalidValue {
            flag: spec.name,
            value: raw.join(","),
            reason,
        })?;
    }
    Ok(Command::Run(Parsed { slots }))
}

/// Matches flags and their values until the end or the first error.
fn match_flags<S: AsRef<str>>(
    tokens: &mut Tokens<'_, S>,
    matched: &mut Vec<(usize, String)>,
) -> Result<(), CliError> {
    loop {
        let (display, spec_index, negated) = match tokens.next() {
            Token::End => return Ok(()),
            Token::Arg(value) => return Err(CliError::Unexpected(value)),
            Token::Long(name) => {
                let display = format!("--{name}");
                if let Some(i) = index_of(&name) {
                    (display, i, false)
                } else if let Some(i) = name.strip_prefix("no-").and_then(index_of) {
                    (display, i, true)
                } else {
                    return Err(CliError::UnknownLongFlag(display));
                }
            }
            Token::Short(c) => {
                let display = format!("-{c}");
                match FLAGS.iter().position(|f| f.short == Some(c)) {
                    Some(i) => (display, i, false),
                    None => return Err(CliError::UnknownShortFlag(display)),
                }
            }
        };
        let value = if FLAGS[spec_index].kind == Kind::Bool {
            (!negated).to_string()
        } else if negated {
            // Only booleans have a --no- form.
            return Err(CliError::UnknownLongFlag(display));
        } else {
            match tokens.next_value() {
                Some(v) => v,
                None => return Err(CliError::ExpectedArgument(display)),
            }
        };
        matched.push((spec_index, value));
    }
}

fn index_of(name: &str) -> Option<usize> {
    FLAGS.iter().position(|f| f.name == name)
}

/// Checks a repeatable flag's newest value against the earlier ones, and any flag's value
/// on its own, as soon as it is seen (kingpin's `Set`).
fn check_repeat(spec: &FlagSpec, given: &[String]) -> Result<(), ValueError> {
    let Some((last, earlier)) = given.split_last() else {
        return Ok(());
    };
    if spec.kind == Kind::RemoteWriteMessages && earlier.contains(last) {
        return Err(ValueError::DuplicateRemoteWriteMessage(last.clone()));
    }
    typed_value(spec, &[last.as_str()]).map(|_| ())
}

/// Converts a flag's raw strings into its typed value.
fn typed_value(spec: &FlagSpec, raw: &[&str]) -> Result<Value, ValueError> {
    // Non-repeatable flags have exactly one raw value here.
    let one = raw.last().copied().unwrap_or("");
    Ok(match spec.kind {
        Kind::Bool => Value::Bool(one == "true"),
        Kind::String => Value::Str(one.to_string()),
        Kind::Strings => Value::List(raw.iter().map(|s| s.to_string()).collect()),
        Kind::RemoteWriteMessages => {
            for msg in raw {
                if !REMOTE_WRITE_MESSAGES.contains(msg) {
                    return Err(ValueError::RemoteWriteMessage {
                        got: msg.to_string(),
                    });
                }
            }
            Value::List(raw.iter().map(|s| s.to_string()).collect())
        }
        Kind::Int => {
            let f: f64 = one.trim().parse().map_err(|_| ValueError::NotANumber)?;
            if !f.is_finite() {
                return Err(ValueError::NotANumber);
            }
            // Truncation toward zero, saturating: Go's float-to-int conversion.
            Value::Int(f as i64)
        }
        Kind::Int64 => Value::Int(parse_int64(one).ok_or(ValueError::NotAnInteger)?),
        Kind::Float => Value::Float(one.parse().map_err(|_| ValueError::NotANumber)?),
        Kind::Duration => Value::Duration(units::parse_duration(one)?),
        Kind::GoDuration => Value::Duration(units::parse_go_duration(one)?),
        Kind::Bytes => Value::Bytes(units::parse_base2_bytes(one)?),
        Kind::ByteCount => match one.parse::<i64>() {
            Ok(n) => Value::Bytes(n),
            Err(_) => Value::Bytes(units::parse_base2_bytes(one)?),
        },
        Kind::Enum(options) => {
            if !options.contains(&one) {
                return Err(ValueError::NotInEnum {
                    options,
                    got: one.to_string(),
                });
            }
            Value::Str(one.to_string())
        }
        Kind::LogLevel => {
            let level = one.to_ascii_lowercase();
            if !["debug", "info", "warn", "error"].contains(&level.as_str()) {
                return Err(ValueError::LogLevel(one.to_string()));
            }
            Value::Str(level)
        }
        Kind::LogFormat => {
            if one != "logfmt" && one != "json" {
                return Err(ValueError::LogFormat(one.to_string()));
            }
            Value::Str(one.to_string())
        }
    })
}

/// An integer as Go's `strconv.ParseInt(s, 0, 64)` reads it: optional sign, then decimal,
/// `0x` hex, `0o` or leading-`0` octal, or `0b` binary.
fn parse_int64(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(b) = lower.strip_prefix("0x") {
        (16, b)
    } else if let Some(b) = lower.strip_prefix("0o") {
        (8, b)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from(u64::from_str_radix(body, radix).ok()?);
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

/// A lexical token of the command line.
#[derive(Debug, PartialEq)]
enum Token {
    Long(String),
    Short(char),
    Arg(String),
    End,
}

/// Splits the arguments into tokens as kingpin's lexer does.
struct Tokens<'a, S> {
    args: &'a [S],
    next: usize,
    /// A value split off `--name=value`, or the rest of a short-flag cluster (`-hx`).
    pushed: Option<Pushed>,
    /// After `--`, every argument is positional.
    args_only: bool,
}

enum Pushed {
    Value(String),
    Arg(String),
}

impl<'a, S: AsRef<str>> Tokens<'a, S> {
    fn new(args: &'a [S]) -> Self {
        Tokens {
            args,
            next: 0,
            pushed: None,
            args_only: false,
        }
    }

    fn next(&mut self) -> Token {
        let arg = match self.pushed.take() {
            Some(Pushed::Value(v)) => return Token::Arg(v),
            Some(Pushed::Arg(a)) => a,
            None => match self.args.get(self.next) {
                None => return Token::End,
                Some(a) => {
                    self.next += 1;
                    a.as_ref().to_string()
                }
            },
        };
        if self.args_only {
            return Token::Arg(arg);
        }
        if arg == "--" {
            self.args_only = true;
            return self.next();
        }
        if let Some(long) = arg.strip_prefix("--") {
            return match long.split_once('=') {
                Some((name, value)) => {
                    self.pushed = Some(Pushed::Value(value.to_string()));
                    Token::Long(name.to_string())
                }
                None => Token::Long(long.to_string()),
            };
        }
        if let Some(short) = arg.strip_prefix('-') {
            let mut chars = short.chars();
            let Some(c) = chars.next() else {
                // A lone "-" is an (empty) argument in kingpin.
                return Token::Arg(String::new());
            };
            let rest = chars.as_str();
            if !rest.is_empty() {
                // `-hx` is `-h -x`: the only short flag is boolean.
                self.pushed = Some(Pushed::Arg(format!("-{rest}")));
            }
            return Token::Short(c);
        }
        Token::Arg(arg)
    }

    /// The next token if it is a value for the flag just read.
    fn next_value(&mut self) -> Option<String> {
        match self.next() {
            Token::Arg(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Parsed {
        match parse(args) {
            Ok(Command::Run(p)) => p,
            other => panic!("{args:?} parsed to {other:?}"),
        }
    }

    fn err(args: &[&str]) -> String {
        match parse(args) {
            Err(e) => e.to_string(),
            other => panic!("{args:?} parsed to {other:?}"),
        }
    }

    #[test]
    fn defaults_are_prometheus_defaults() {
        let p = run(&[]);
        assert_eq!(p.str("config.file"), Some("prometheus.yml"));
        assert_eq!(p.str("storage.tsdb.path"), Some("data/"));
        assert_eq!(p.list("web.listen-address"), ["0.0.0.0:9090"]);
        assert_eq!(p.str("log.level"), Some("info"));
        assert_eq!(p.str("log.format"), Some("logfmt"));
        assert!(!p.bool("web.enable-lifecycle"));
        assert!(p.bool("storage.tsdb.wal-compression"));
        assert_eq!(
            p.duration("storage.tsdb.min-block-duration"),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(p.int("storage.remote.read-sample-limit"), Some(50_000_000));
        assert_eq!(p.float("auto-gomemlimit.ratio"), Some(0.9));
        assert_eq!(
            p.duration("scrape.timestamp-tolerance"),
            Some(Duration::from_millis(2))
        );
        assert_eq!(
            p.list("web.remote-write-receiver.accepted-protobuf-messages"),
            REMOTE_WRITE_MESSAGES
        );
        assert_eq!(p.value("storage.tsdb.retention.time"), &Value::Unset);
        assert_eq!(p.given_flags().count(), 0);
    }

    #[test]
    fn values_with_equals_or_as_the_next_argument() {
        let p = run(&["--config.file=a.yml", "--storage.tsdb.path", "/prometheus"]);
        assert_eq!(p.str("config.file"), Some("a.yml"));
        assert_eq!(p.str("storage.tsdb.path"), Some("/prometheus"));
        // Only the first '=' splits.
        let p = run(&["--web.external-url=http://x/?a=b"]);
        assert_eq!(p.str("web.external-url"), Some("http://x/?a=b"));
        // A value may start with '-' when attached with '='.
        let p = run(&["--web.route-prefix=-x"]);
        assert_eq!(p.str("web.route-prefix"), Some("-x"));
        // `--` makes the next argument a value even though it looks like a flag.
        let p = run(&["--web.route-prefix", "--", "--x"]);
        assert_eq!(p.str("web.route-prefix"), Some("--x"));
        assert_eq!(
            p.given_flags().map(|f| f.name).collect::<Vec<_>>(),
            ["web.route-prefix"]
        );
    }

    #[test]
    fn booleans_take_no_value_and_have_a_no_form() {
        let p = run(&[
            "--web.enable-lifecycle",
            "--no-storage.tsdb.wal-compression",
        ]);
        assert!(p.bool("web.enable-lifecycle"));
        assert!(!p.bool("storage.tsdb.wal-compression"));
        assert!(p.is_given("storage.tsdb.wal-compression"));
        // As kingpin: the attached value is left over as a positional argument.
        assert_eq!(err(&["--web.enable-lifecycle=true"]), "unexpected true");
        assert_eq!(err(&["--web.enable-lifecycle", "yes"]), "unexpected yes");
        // Non-booleans have no --no- form.
        assert_eq!(
            err(&["--no-config.file=x"]),
            "unknown long flag '--no-config.file'"
        );
    }

    #[test]
    fn kingpin_error_messages() {
        assert_eq!(err(&["--foo"]), "unknown long flag '--foo'");
        assert_eq!(err(&["--no-foo"]), "unknown long flag '--no-foo'");
        assert_eq!(err(&["-x"]), "unknown short flag '-x'");
        assert_eq!(err(&["extra"]), "unexpected extra");
        assert_eq!(
            err(&["--config.file"]),
            "expected argument for flag '--config.file'"
        );
        assert_eq!(
            err(&["--config.file", "--web.enable-lifecycle"]),
            "expected argument for flag '--config.file'"
        );
        assert_eq!(
            err(&["--config.file=a", "--config.file=b"]),
            "flag 'config.file' cannot be repeated"
        );
        assert_eq!(
            err(&["--storage.tsdb.retention.time=abc"]),
            "invalid value \"abc\" for flag --storage.tsdb.retention.time: not a valid duration string: \"abc\""
        );
        assert_eq!(
            err(&["--storage.tsdb.retention.size=12XB"]),
            "invalid value \"12XB\" for flag --storage.tsdb.retention.size: units: unknown unit XB in 12XB"
        );
        assert_eq!(
            err(&["--log.level=foo"]),
            "invalid value \"foo\" for flag --log.level: unrecognized log level foo"
        );
        assert_eq!(
            err(&["--storage.tsdb.wal-compression-type=lz4"]),
            "invalid value \"lz4\" for flag --storage.tsdb.wal-compression-type: enum value must be one of snappy,zstd, got 'lz4'"
        );
        assert!(err(&["--query.max-samples=many"]).ends_with("not a number"));
    }

    #[test]
    fn repeatable_flags_replace_their_default() {
        let p = run(&[
            "--web.listen-address=127.0.0.1:1",
            "--web.listen-address",
            "127.0.0.1:2",
            "--enable-feature=a,b",
            "--enable-feature=c",
        ]);
        assert_eq!(p.list("web.listen-address"), ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(p.list("enable-feature"), ["a,b", "c"]);
        let key = "web.remote-write-receiver.accepted-protobuf-messages";
        let p = run(&[&format!("--{key}=io.prometheus.write.v2.Request")]);
        assert_eq!(p.list(key), ["io.prometheus.write.v2.Request"]);
        let dup = format!("--{key}=prometheus.WriteRequest");
        assert!(err(&[&dup, &dup]).contains("duplicated prometheus.WriteRequest"));
        assert!(err(&[&format!("--{key}=foo")]).contains("unknown remote write protobuf"));
    }

    #[test]
    fn help_and_version_take_precedence_as_in_kingpin() {
        assert!(matches!(parse(&["--version"]), Ok(Command::Version)));
        assert!(matches!(parse(&["-h"]), Ok(Command::Help)));
        assert!(matches!(parse(&["--help-long"]), Ok(Command::Help)));
        // --version before a bad flag still prints the version...
        assert!(matches!(
            parse(&["--version", "--foo"]),
            Ok(Command::Version)
        ));
        // ...but a bad flag before it stops the parse first.
        assert!(parse(&["--foo", "--version"]).is_err());
        // --help beats a bad value, not an unknown flag.
        assert!(matches!(
            parse(&["--help", "--query.timeout=x"]),
            Ok(Command::Help)
        ));
        assert!(parse(&["--help", "--foo"]).is_err());
        // -h clusters: -hx is -h -x.
        assert_eq!(err(&["-hx"]), "unknown short flag '-x'");
        assert!(matches!(
            parse(&["--write-documentation"]),
            Ok(Command::WriteDocumentation)
        ));
    }

    #[test]
    fn numbers_follow_kingpin() {
        let p = run(&[
            "--storage.remote.read-sample-limit=1.9e3",
            "--rules.max-concurrent-evals=0x10",
            "--storage.tsdb.head-chunks-write-buffer-size-bytes=65536",
        ]);
        assert_eq!(p.int("storage.remote.read-sample-limit"), Some(1900));
        assert_eq!(p.int("rules.max-concurrent-evals"), Some(16));
        assert_eq!(
            p.bytes("storage.tsdb.head-chunks-write-buffer-size-bytes"),
            Some(65536)
        );
        let p = run(&["--storage.tsdb.head-chunks-write-buffer-size-bytes=1MB"]);
        assert_eq!(
            p.bytes("storage.tsdb.head-chunks-write-buffer-size-bytes"),
            Some(1 << 20)
        );
        assert_eq!(parse_int64("010"), Some(8));
        assert_eq!(parse_int64("-0b101"), Some(-5));
        assert_eq!(parse_int64("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int64("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int64("9223372036854775808"), None);
        assert_eq!(parse_int64("1.5"), None);
        assert_eq!(parse_int64("0x"), None);
    }

    #[test]
    fn log_level_is_case_insensitive() {
        assert_eq!(run(&["--log.level=DEBUG"]).str("log.level"), Some("debug"));
    }
}
