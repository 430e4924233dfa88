//! Parsing a test script into commands, line by line as Prometheus's `promqltest` does.
//!
//! Comments (`#` first on a line) count as blank lines; a command's body ends at the first
//! blank line. Line numbers are 1-based.

use std::sync::LazyLock;

use ember_storage::Labels;
use regex::Regex;

use super::series::{parse_duration, parse_go_number, parse_series, unquote, SeqValue};

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub enum Command {
    /// `load <interval>` (or `load_with_nhcb`) with its series.
    Load(Load),
    /// `clear`: drop all loaded data.
    Clear,
    /// An `eval` command: one test case.
    Eval(Box<Eval>),
}

#[derive(Debug, Clone)]
pub struct Load {
    pub line: usize,
    /// Milliseconds between the points of a series; the first point is at 0.
    pub interval: i64,
    /// `load_with_nhcb`: classic histograms are also converted to native ones.
    pub with_nhcb: bool,
    /// The series, each defined once (a later definition of the same labels replaces an
    /// earlier one).
    pub series: Vec<LoadSeries>,
}

#[derive(Debug, Clone)]
pub struct LoadSeries {
    pub labels: Labels,
    pub values: Vec<SeqValue>,
    /// An `@st` line gave the series start timestamps (which Ember does not store).
    pub start_timestamps: bool,
}

/// When an `eval` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    Instant { at: i64 },
    Range { start: i64, end: i64, step: i64 },
}

/// The steps of a range-vector result an instant query is expected to return
/// (`expect range vector from .. to .. step ..`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSteps {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

#[derive(Debug, Clone)]
pub struct Eval {
    /// The line of the `eval` command: with the file name, the case's identity.
    pub line: usize,
    /// The command line as written.
    pub command: String,
    pub query: String,
    pub kind: EvalKind,
    pub expect: Expectations,
    pub expected: Expected,
}

impl Eval {
    pub fn is_fail(&self) -> bool {
        self.expect.legacy_fail || !self.expect.fail.is_empty()
    }

    pub fn is_ordered(&self) -> bool {
        self.expect.legacy_ordered || self.expect.ordered
    }
}

/// How a message (an error, a warning, an info) is matched.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// `msg: <text>`: the whole text.
    Exact(String),
    /// `regex: <re>` (unanchored), or no match part (`^.*$`).
    Regex(Regex),
}

impl TextMatch {
    pub fn matches(&self, text: &str) -> bool {
        match self {
            TextMatch::Exact(m) => m == text,
            TextMatch::Regex(r) => r.is_match(text),
        }
    }

    /// `message "..."` or `pattern "..."`, for failure messages.
    pub fn describe(&self) -> String {
        match self {
            TextMatch::Exact(m) => format!("message {m:?}"),
            TextMatch::Regex(r) => format!("pattern {:?}", r.as_str()),
        }
    }
}

/// The `expect` lines of an eval, and the deprecated `eval_*` forms.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// `eval_fail`, `eval_warn`, `eval_info`, `eval_ordered`.
    pub legacy_fail: bool,
    pub legacy_warn: bool,
    pub legacy_info: bool,
    pub legacy_ordered: bool,
    /// `expected_fail_message <text>` (after `eval_fail`).
    pub fail_message: Option<String>,
    /// `expected_fail_regexp <re>` (after `eval_fail`).
    pub fail_regexp: Option<Regex>,
    /// `expect fail ...`: at most one.
    pub fail: Vec<TextMatch>,
    pub warn: Vec<TextMatch>,
    pub info: Vec<TextMatch>,
    pub no_warn: bool,
    pub no_info: bool,
    pub ordered: bool,
}

/// An expected series: its labels, values and 1-based place in the listing (for
/// `ordered`).
#[derive(Debug, Clone)]
pub struct ExpectedSeries {
    pub labels: Labels,
    pub values: Vec<SeqValue>,
    pub pos: usize,
}

/// The expected result of an eval.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// A bare number line: the result is a scalar.
    pub scalar: Option<f64>,
    /// Series lines, one per distinct label set (a repeated one replaces the earlier).
    pub series: Vec<ExpectedSeries>,
    /// `expect string "..."`; Prometheus compares a string result with "" when absent.
    pub string: Option<String>,
    /// `expect range vector ...`.
    pub range_vector: Option<RangeSteps>,
}

impl Expected {
    /// Whether any expected value is a native histogram.
    pub fn has_histograms(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.values.contains(&SeqValue::Histogram))
    }

    /// Whether the instant query is not also checked as a range query (its result is a
    /// range vector or a string).
    pub fn excluded_from_range_check(&self) -> bool {
        self.range_vector.is_some() || self.string.is_some()
    }
}

/// A syntax error at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

fn err(line_idx: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        line: line_idx + 1,
        message: message.into(),
    }
}

static PAT_SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\t ]+").unwrap());
static PAT_LOAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^load(?:_(with_nhcb))?\s+(.+?)$").unwrap());
static PAT_EVAL_INSTANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$").unwrap()
});
static PAT_EVAL_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
    )
    .unwrap()
});
static PAT_EXPECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
        .unwrap()
});
static PAT_MATCH_ANY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^.*$").unwrap());
static PAT_EXPECT_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$").unwrap()
});

const RANGE_VECTOR_PREFIX: &str = "expect range vector";
const EXPECT_STRING_PREFIX: &str = "expect string";

/// Parses a whole script.
pub fn parse_script(input: &str) -> Result<Script, SyntaxError> {
    let lines: Vec<&str> = input
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = PAT_SPACE
            .splitn(l, 2)
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let (last, cmd) = if word == "clear" {
            (i, Command::Clear)
        } else if word.starts_with("load") {
            let (last, load) = parse_load(&lines, i)?;
            (last, Command::Load(load))
        } else if word.starts_with("eval") {
            let (last, eval) = parse_eval(&lines, i)?;
            (last, Command::Eval(Box::new(eval)))
        } else {
            return Err(err(i, format!("invalid command {l:?}")));
        };
        commands.push(cmd);
        i = last + 1;
    }
    Ok(Script { commands })
}

/// Parses a `load` command at line `i`; returns the index of its last line.
fn parse_load(lines: &[&str], i: usize) -> Result<(usize, Load), SyntaxError> {
    let caps = PAT_LOAD.captures(lines[i]).ok_or_else(|| {
        err(
            i,
            "invalid load command. (load[_with_nhcb] <step:duration>)",
        )
    })?;
    let with_nhcb = caps.get(1).is_some();
    let step = &caps[2];
    let interval = parse_duration(step)
        .map_err(|e| err(i, format!("invalid step definition {step:?}: {e}")))?;
    let mut load = Load {
        line: i + 1,
        interval,
        with_nhcb,
        series: Vec::new(),
    };
    let mut pending_st: Option<(Labels, usize)> = None;
    let mut last = i;
    for (j, &line) in lines.iter().enumerate().skip(i + 1) {
        if line.is_empty() {
            break;
        }
        last = j;
        if let Some(metric) = st_line_metric(line) {
            if let Some((_, at)) = pending_st {
                return Err(err(at, "@st line has no following sample line"));
            }
            let (labels, _) = parse_series(&format!("{metric} _"))
                .map_err(|e| err(j, format!("invalid @st line metric {metric:?}: {e}")))?;
            pending_st = Some((labels, j));
            continue;
        }
        let (labels, values) = parse_series(line).map_err(|e| err(j, e))?;
        let start_timestamps = match pending_st.take() {
            Some((st_labels, at)) if st_labels != labels => {
                return Err(err(
                    at,
                    "@st metric does not match the following sample line metric",
                ))
            }
            Some(_) => true,
            None => false,
        };
        let def = LoadSeries {
            labels,
            values,
            start_timestamps,
        };
        match load.series.iter_mut().find(|s| s.labels == def.labels) {
            Some(existing) => *existing = def,
            None => load.series.push(def),
        }
    }
    if let Some((_, at)) = pending_st {
        return Err(err(at, "@st line has no following sample line"));
    }
    Ok((last, load))
}

/// The metric of a start-timestamp line (`metric{...}@st <offsets>`), if `line` is one.
fn st_line_metric(line: &str) -> Option<&str> {
    let end = line.find([' ', '\t'])?;
    line[..end].strip_suffix("@st")
}

/// Parses an `eval` command at line `i`; returns the index of its last line.
fn parse_eval(lines: &[&str], i: usize) -> Result<(usize, Eval), SyntaxError> {
    let line = lines[i];
    let instant = PAT_EVAL_INSTANT.captures(line);
    let range = PAT_EVAL_RANGE.captures(line);
    let (modifier, query, kind) = if let Some(c) = &instant {
        let query = c[3].to_string();
        let at_text = c.get(2).map_or("", |m| m.as_str());
        let at = parse_duration(at_text).map_err(|e| {
            eval_err(
                i,
                &query,
                format!("invalid timestamp definition {at_text:?}: {e}"),
            )
        })?;
        (c.get(1), query, EvalKind::Instant { at })
    } else if let Some(c) = &range {
        let query = c[5].to_string();
        let (start, end, step) =
            parse_durations(&c[2], &c[3], &c[4]).map_err(|e| eval_err(i, &query, e))?;
        (c.get(1), query, EvalKind::Range { start, end, step })
    } else {
        return Err(err(
            i,
            "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn] range from <from> to <to> step <step> <query>'",
        ));
    };
    let mut expect = Expectations::default();
    match modifier.map(|m| m.as_str()) {
        Some("ordered") => expect.legacy_ordered = true,
        Some("fail") => expect.legacy_fail = true,
        Some("warn") => expect.legacy_warn = true,
        Some("info") => expect.legacy_info = true,
        _ => {}
    }
    let is_instant = matches!(kind, EvalKind::Instant { .. });
    let mut expected = Expected::default();
    let mut last = i;
    // `pos` counts the lines of the body that are not `expect` lines, as Prometheus's
    // position for `ordered` does.
    let mut pos = 0;
    for (j, &def) in lines.iter().enumerate().skip(i + 1) {
        if def.is_empty() {
            break;
        }
        last = j;
        pos += 1;
        if expect.legacy_fail && def.starts_with("expected_fail_message") {
            expect.fail_message = Some(def["expected_fail_message".len()..].trim().to_string());
            break;
        }
        if expect.legacy_fail && def.starts_with("expected_fail_regexp") {
            let pattern = def["expected_fail_regexp".len()..].trim();
            let re = Regex::new(pattern).map_err(|e| {
                eval_err(
                    j,
                    &query,
                    format!("invalid regexp '{pattern}' for expected_fail_regexp: {e}"),
                )
            })?;
            expect.fail_regexp = Some(re);
            break;
        }
        if def.starts_with(RANGE_VECTOR_PREFIX) {
            let c = PAT_EXPECT_RANGE.captures(def).ok_or_else(|| {
                eval_err(
                    j,
                    &query,
                    format!("invalid range vector definition {def:?}"),
                )
            })?;
            let (start, end, step) =
                parse_durations(&c[1], &c[2], &c[3]).map_err(|e| eval_err(j, &query, e))?;
            expected.range_vector = Some(RangeSteps { start, end, step });
            continue;
        }
        if def.starts_with(EXPECT_STRING_PREFIX) {
            let s = parse_expect_string(def).map_err(|e| eval_err(j, &query, e))?;
            expected.string = Some(s);
            continue;
        }
        if def.split(' ').next() == Some("expect") {
            parse_expect(def, &mut expect).map_err(|e| eval_err(j, &query, e))?;
            pos -= 1;
            continue;
        }
        if let Some(f) = parse_go_number(def) {
            expected.scalar = Some(f);
            break;
        }
        let (labels, values) = parse_series(def).map_err(|e| err(j, e))?;
        if values.len() > 1 && is_instant && expected.range_vector.is_none() {
            return Err(eval_err(
                j,
                &query,
                "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query",
            ));
        }
        let s = ExpectedSeries {
            labels,
            values,
            pos,
        };
        match expected.series.iter_mut().find(|e| e.labels == s.labels) {
            Some(existing) => *existing = s,
            None => expected.series.push(s),
        }
    }
    Ok((
        last,
        Eval {
            line: i + 1,
            command: line.to_string(),
            query,
            kind,
            expect,
            expected,
        },
    ))
}

fn eval_err(i: usize, query: &str, message: impl std::fmt::Display) -> SyntaxError {
    err(i, format!("error in eval {query}: {message}"))
}

/// `from`, `to`, `step` durations, with `to` not before `from`.
fn parse_durations(from: &str, to: &str, step: &str) -> Result<(i64, i64, i64), String> {
    let start = parse_duration(from)
        .map_err(|e| format!("invalid start timestamp definition {from:?}: {e}"))?;
    let end =
        parse_duration(to).map_err(|e| format!("invalid end timestamp definition {to:?}: {e}"))?;
    if end < start {
        return Err(format!(
            "invalid test definition, end timestamp ({to}) is before start timestamp ({from})"
        ));
    }
    let step =
        parse_duration(step).map_err(|e| format!("invalid step definition {step:?}: {e}"))?;
    Ok((start, end, step))
}

/// `expect string "..."` (double or back quotes; Go's `strconv.Unquote`).
fn parse_expect_string(line: &str) -> Result<String, String> {
    let missing = "expected string literal not valid - a quoted string literal is required";
    if line == EXPECT_STRING_PREFIX {
        return Err(missing.into());
    }
    let s = line
        .strip_prefix(EXPECT_STRING_PREFIX)
        .and_then(|s| s.strip_prefix(' '))
        .ok_or(missing)?;
    if s.is_empty() {
        return Err(missing.into());
    }
    unquote(s, false).map_err(|_| {
        "expected string literal not valid - check that the string is correctly quoted".into()
    })
}

/// `expect <type> [msg|regex: <text>]`, added to `expect`.
fn parse_expect(line: &str, expect: &mut Expectations) -> Result<(), String> {
    let c = PAT_EXPECT.captures(line.trim()).ok_or(
        "invalid expect statement, must match `expect <type> <match_type>: <string>` format",
    )?;
    let kind = &c[1];
    let matcher = match c.get(2).map(|m| m.as_str()) {
        Some("msg") => TextMatch::Exact(c[3].trim().to_string()),
        Some(_) => {
            let pattern = c[3].trim();
            let re =
                Regex::new(pattern).map_err(|_| format!("invalid regex {pattern} for {kind}"))?;
            TextMatch::Regex(re)
        }
        None => TextMatch::Regex(PAT_MATCH_ANY.clone()),
    };
    match kind {
        "fail" => expect.fail.push(matcher),
        "warn" => expect.warn.push(matcher),
        "info" => expect.info.push(matcher),
        "no_warn" => expect.no_warn = true,
        "no_info" => expect.no_info = true,
        _ => expect.ordered = true,
    }
    if !expect.info.is_empty() && expect.no_info {
        return Err("invalid expect lines, info and no_info cannot be used together".into());
    }
    if !expect.warn.is_empty() && expect.no_warn {
        return Err("invalid expect lines, warn and no_warn cannot be used together".into());
    }
    if expect.fail.len() > 1 {
        return Err("invalid expect lines, multiple expect fail lines are not allowed".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(script: &str) -> Eval {
        let s = parse_script(script).unwrap();
        match s.commands.into_iter().next() {
            Some(Command::Eval(e)) => *e,
            other => panic!("not an eval: {other:?}"),
        }
    }

    fn syntax_error(script: &str) -> SyntaxError {
        parse_script(script).expect_err("should not parse")
    }

    #[test]
    fn commands_and_comments() {
        let s = parse_script(
            "# comment\nload 1m\n  a{x=\"1\"} 1 2\n  # inner comment ends the block\n  \nclear\n\neval instant at 1m a\n  a{x=\"1\"} 2\n",
        )
        .unwrap();
        assert_eq!(s.commands.len(), 3);
        let Command::Load(l) = &s.commands[0] else {
            panic!()
        };
        assert_eq!((l.line, l.interval, l.with_nhcb), (2, 60_000, false));
        assert_eq!(l.series.len(), 1);
        assert!(matches!(s.commands[1], Command::Clear));
        let Command::Eval(e) = &s.commands[2] else {
            panic!()
        };
        assert_eq!(e.line, 8);
        assert_eq!(e.query, "a");
        assert_eq!(e.kind, EvalKind::Instant { at: 60_000 });
        assert_eq!(e.expected.series[0].values, [SeqValue::Float(2.0)]);
    }

    #[test]
    fn load_replaces_repeated_series() {
        let s = parse_script("load_with_nhcb 30s\n  a 1\n  b 2\n  a 3\n").unwrap();
        let Command::Load(l) = &s.commands[0] else {
            panic!()
        };
        assert!(l.with_nhcb);
        assert_eq!(l.series.len(), 2);
        assert_eq!(l.series[0].values, [SeqValue::Float(3.0)]);
    }

    #[test]
    fn start_timestamp_lines() {
        let s = parse_script("load 1m\n  a@st 0 -1m\n  a 1 2\n  b 1\n").unwrap();
        let Command::Load(l) = &s.commands[0] else {
            panic!()
        };
        assert!(l.series[0].start_timestamps);
        assert!(!l.series[1].start_timestamps);
        assert_eq!(syntax_error("load 1m\n  a@st 0\n  b 1\n").line, 2);
        assert_eq!(syntax_error("load 1m\n  b 1\n  a@st 0\n").line, 3);
    }

    #[test]
    fn range_eval() {
        let e = eval("eval range from 0 to 10m step 5m rate(x[5m])\n  {} 1 2 _\n");
        assert_eq!(
            e.kind,
            EvalKind::Range {
                start: 0,
                end: 600_000,
                step: 300_000
            }
        );
        assert_eq!(e.query, "rate(x[5m])");
        assert_eq!(e.expected.series[0].values.len(), 3);
    }

    #[test]
    fn expect_lines() {
        let e = eval(
            "eval instant at 0 foo\n  expect warn msg: PromQL warning: w (1:1)\n  expect warn regex: a|b\n  expect no_info\n  expect ordered\n  foo{a=\"1\"} 1\n  foo{a=\"2\"} 2\n",
        );
        assert!(matches!(&e.expect.warn[0], TextMatch::Exact(m) if m == "PromQL warning: w (1:1)"));
        assert!(e.expect.warn[1].matches("xbx"));
        assert!(e.expect.no_info && e.is_ordered() && !e.is_fail());
        // Expect lines do not count in the positions of the series.
        assert_eq!(
            e.expected.series.iter().map(|s| s.pos).collect::<Vec<_>>(),
            [1, 2]
        );
        let e = eval("eval instant at 0 foo\n  expect fail\n");
        assert!(e.is_fail() && e.expect.fail[0].matches("anything"));
    }

    #[test]
    fn deprecated_forms() {
        let e = eval("eval_fail instant at 0 foo\n  expected_fail_message boom it is\n");
        assert!(e.is_fail());
        assert_eq!(e.expect.fail_message.as_deref(), Some("boom it is"));
        let e = eval("eval_fail range from 0 to 1m step 1m foo\n  expected_fail_regexp bo+m\n");
        assert!(e.expect.fail_regexp.unwrap().is_match("a boom"));
        assert!(eval("eval_warn instant at 0 foo\n").expect.legacy_warn);
        assert!(eval("eval_info instant at 0 foo\n").expect.legacy_info);
        assert!(eval("eval_ordered instant at 0 foo\n").is_ordered());
        // The body ends after an expected_fail_message line.
        assert_eq!(
            syntax_error("eval_fail instant at 0 foo\n  expected_fail_message x\n  foo 1\n").line,
            3
        );
    }

    #[test]
    fn scalar_string_and_range_vector() {
        let e = eval("eval instant at 0 1 + 1\n  2\n");
        assert_eq!(e.expected.scalar, Some(2.0));
        let e = eval("eval instant at 0 0x10\n  0x10\n");
        assert_eq!(e.expected.scalar, Some(16.0));
        let e = eval("eval instant at 0 \"a\"\n  expect string \"a\\tb\"\n");
        assert_eq!(e.expected.string.as_deref(), Some("a\tb"));
        assert!(e.expected.excluded_from_range_check());
        let e = eval("eval instant at 1m m[1m]\n  expect range vector from 10s to 1m step 10s\n  m{env=\"a\"} 2 3 4 5 6\n");
        assert_eq!(
            e.expected.range_vector,
            Some(RangeSteps {
                start: 10_000,
                end: 60_000,
                step: 10_000
            })
        );
        assert_eq!(e.expected.series[0].values.len(), 5);
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let cases = [
            ("load 1m\n  a 1\n\nbogus\n", 4),
            // Without a blank line it is a series of the load.
            ("load 1m\n  a 1\nbogus x\n", 3),
            ("load xyz\n", 1),
            ("load\n", 1),
            ("\n\neval instant at 1m\n", 3),
            ("eval instant at 1x foo\n", 1),
            ("eval range from 5m to 1m step 1m foo\n", 1),
            ("eval instant at 1m foo\n  foo 1 2\n", 2),
            ("eval instant at 1m foo\n  expect bogus\n", 2),
            (
                "eval instant at 1m foo\n  expect warn\n  expect no_warn\n",
                3,
            ),
            (
                "eval instant at 1m foo\n  expect info\n  expect no_info\n",
                3,
            ),
            ("eval instant at 1m foo\n  expect fail\n  expect fail\n", 3),
            ("eval instant at 1m foo\n  expect fail regex: (\n", 2),
            ("eval instant at 1m foo\n  expect string\n", 2),
            ("eval instant at 1m foo\n  expect string 'ab'\n", 2),
            ("eval instant at 1m foo\n  expect range vector from 1m\n", 2),
            ("load 1m\n  a{b=\"c\" 1\n", 2),
            ("EVAL instant at 1m foo\n", 1),
        ];
        for (script, line) in cases {
            let e = syntax_error(script);
            assert_eq!(e.line, line, "{script:?}: {}", e.message);
        }
    }

    #[test]
    fn shared_files_parse() {
        let dir = std::env::var("EMBER_PROMQLTEST_DIR").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/promqltest").to_string()
        });
        let Ok(entries) = std::fs::read_dir(&dir) else {
            // The conformance test (tests/promqltest.rs) insists on the directory.
            eprintln!("{dir} not found: not parsing the shared scripts here");
            return;
        };
        let mut evals = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "test") {
                let text = std::fs::read_to_string(&path).unwrap();
                let script = parse_script(&text)
                    .unwrap_or_else(|e| panic!("{}:{}: {}", path.display(), e.line, e.message));
                evals += script
                    .commands
                    .iter()
                    .filter(|c| matches!(c, Command::Eval(_)))
                    .count();
            }
        }
        assert!(evals > 0);
    }
}
