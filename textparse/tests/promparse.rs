//! The text format 0.0.4, checked against the test vectors of Prometheus 3's
//! `model/textparse/promparse_test.go` (inputs and expected results as facts).

mod common;

use common::*;
use ember_textparse::{Format, MetricType, Parser};

const P: Format = Format::PromText;

#[test]
fn parses_prometheus_text_format_test_vectors() {
    let mut input = String::from(
        r#"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# 	TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
go_gc_duration_seconds{quantile="0.8", a="b"} 8.3835e-05
go_gc_duration_seconds{ quantile="0.9", a="b"} 8.3835e-05
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/",le="1"} 423
prometheus_http_request_duration_seconds_bucket{handler="/",le="2"} 1423
prometheus_http_request_duration_seconds_bucket{handler="/",le="+Inf"} 1423
prometheus_http_request_duration_seconds_sum{handler="/"} 2000
prometheus_http_request_duration_seconds_count{handler="/"} 1423
# Hrandom comment starting with prefix of HELP
#
wind_speed{A="2",c="3"} 12345
# comment with escaped \n newline
# comment with escaped \ escape character
# HELP nohelp1
# HELP nohelp2 
go_gc_duration_seconds{ quantile="1.0", a="b" } 8.3835e-05
go_gc_duration_seconds { quantile="1.0", a="b" } 8.3835e-05
go_gc_duration_seconds { quantile= "1.0", a= "b", } 8.3835e-05
go_gc_duration_seconds { quantile = "1.0", a = "b" } 8.3835e-05
go_gc_duration_seconds { quantile = "2.0" a = "b" } 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b="c"}	1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33  	123123
# TYPE some_counter_total counter
# HELP some_counter_total Help after type.
some_counter_total 12
# HELP nohelp3
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore="foo"} 1
testmetric{label="\"bar\""} 1
testmetric{le="10"} 1
# HELP type_and_unit_test1 Type specified in metadata overrides.
# TYPE type_and_unit_test1 gauge
type_and_unit_test1{__type__="counter"} 123
# HELP type_and_unit_test2 Type specified in label.
type_and_unit_test2{__type__="counter"} 123"#,
    );
    input += "\n# HELP metric foo\x00bar";
    input += "\nnull_byte_metric{a=\"abc\x00\"} 1";

    let gc = "go_gc_duration_seconds";
    let h = "prometheus_http_request_duration_seconds";
    let want = vec![
        help(gc, "A summary of the GC invocation durations."),
        typ(gc, MetricType::Summary),
        series(
            r#"go_gc_duration_seconds{quantile="0"}"#,
            4.9351e-05,
            &["__name__", gc, "quantile", "0.0"],
        ),
        series(
            r#"go_gc_duration_seconds{quantile="0.25",}"#,
            7.424100000000001e-05,
            &["__name__", gc, "quantile", "0.25"],
        ),
        series(
            r#"go_gc_duration_seconds{quantile="0.5",a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.5", "a", "b"],
        ),
        series(
            r#"go_gc_duration_seconds{quantile="0.8", a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.8", "a", "b"],
        ),
        series(
            r#"go_gc_duration_seconds{ quantile="0.9", a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.9", "a", "b"],
        ),
        help(h, "Histogram of latencies for HTTP requests."),
        typ(h, MetricType::Histogram),
        series(
            r#"prometheus_http_request_duration_seconds_bucket{handler="/",le="1"}"#,
            423.0,
            &[
                "__name__",
                "prometheus_http_request_duration_seconds_bucket",
                "handler",
                "/",
                "le",
                "1.0",
            ],
        ),
        series(
            r#"prometheus_http_request_duration_seconds_bucket{handler="/",le="2"}"#,
            1423.0,
            &[
                "__name__",
                "prometheus_http_request_duration_seconds_bucket",
                "handler",
                "/",
                "le",
                "2.0",
            ],
        ),
        series(
            r#"prometheus_http_request_duration_seconds_bucket{handler="/",le="+Inf"}"#,
            1423.0,
            &[
                "__name__",
                "prometheus_http_request_duration_seconds_bucket",
                "handler",
                "/",
                "le",
                "+Inf",
            ],
        ),
        series(
            r#"prometheus_http_request_duration_seconds_sum{handler="/"}"#,
            2000.0,
            &[
                "__name__",
                "prometheus_http_request_duration_seconds_sum",
                "handler",
                "/",
            ],
        ),
        series(
            r#"prometheus_http_request_duration_seconds_count{handler="/"}"#,
            1423.0,
            &[
                "__name__",
                "prometheus_http_request_duration_seconds_count",
                "handler",
                "/",
            ],
        ),
        comment("# Hrandom comment starting with prefix of HELP"),
        comment("#"),
        series(
            r#"wind_speed{A="2",c="3"}"#,
            12345.0,
            &["__name__", "wind_speed", "A", "2", "c", "3"],
        ),
        comment("# comment with escaped \\n newline"),
        comment("# comment with escaped \\ escape character"),
        help("nohelp1", ""),
        help("nohelp2", ""),
        series(
            r#"go_gc_duration_seconds{ quantile="1.0", a="b" }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"go_gc_duration_seconds { quantile="1.0", a="b" }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"go_gc_duration_seconds { quantile= "1.0", a= "b", }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"go_gc_duration_seconds { quantile = "1.0", a = "b" }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"go_gc_duration_seconds { quantile = "2.0" a = "b" }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "2.0", "a", "b"],
        ),
        series(
            "go_gc_duration_seconds_count",
            99.0,
            &["__name__", "go_gc_duration_seconds_count"],
        ),
        series(
            r#"some:aggregate:rate5m{a_b="c"}"#,
            1.0,
            &["__name__", "some:aggregate:rate5m", "a_b", "c"],
        ),
        help(
            "go_goroutines",
            "Number of goroutines that currently exist.",
        ),
        typ("go_goroutines", MetricType::Gauge),
        series_ts(
            "go_goroutines",
            33.0,
            123123,
            &["__name__", "go_goroutines"],
        ),
        typ("some_counter_total", MetricType::Counter),
        help("some_counter_total", "Help after type."),
        series(
            "some_counter_total",
            12.0,
            &["__name__", "some_counter_total"],
        ),
        help("nohelp3", ""),
        series(
            "_metric_starting_with_underscore",
            1.0,
            &["__name__", "_metric_starting_with_underscore"],
        ),
        series(
            r#"testmetric{_label_starting_with_underscore="foo"}"#,
            1.0,
            &[
                "__name__",
                "testmetric",
                "_label_starting_with_underscore",
                "foo",
            ],
        ),
        series(
            r#"testmetric{label="\"bar\""}"#,
            1.0,
            &["__name__", "testmetric", "label", "\"bar\""],
        ),
        series(
            r#"testmetric{le="10"}"#,
            1.0,
            &["__name__", "testmetric", "le", "10"],
        ),
        help(
            "type_and_unit_test1",
            "Type specified in metadata overrides.",
        ),
        typ("type_and_unit_test1", MetricType::Gauge),
        series(
            r#"type_and_unit_test1{__type__="counter"}"#,
            123.0,
            &["__name__", "type_and_unit_test1", "__type__", "counter"],
        ),
        help("type_and_unit_test2", "Type specified in label."),
        series(
            r#"type_and_unit_test2{__type__="counter"}"#,
            123.0,
            &["__name__", "type_and_unit_test2", "__type__", "counter"],
        ),
        help("metric", "foo\x00bar"),
        series(
            "null_byte_metric{a=\"abc\x00\"}",
            1.0,
            &["__name__", "null_byte_metric", "a", "abc\x00"],
        ),
    ];
    let (got, err) = parse_all(P, input.as_bytes());
    assert_eq!(err, None);
    assert_entries(&got, &want);
}

#[test]
fn parses_quoted_utf8_metric_and_label_names() {
    let input = r#"# HELP "go.gc_duration_seconds" A summary of the GC invocation durations.
# 	TYPE "go.gc_duration_seconds" summary
{"go.gc_duration_seconds",quantile="0"} 4.9351e-05
{"go.gc_duration_seconds",quantile="0.25",} 7.424100000000001e-05
{"go.gc_duration_seconds",quantile="0.5",a="b"} 8.3835e-05
{"go.gc_duration_seconds",quantile="0.8", a="b"} 8.3835e-05
{"go.gc_duration_seconds", quantile="0.9", a="b"} 8.3835e-05
{"go.gc_duration_seconds", quantile="1.0", a="b" } 8.3835e-05
{ "go.gc_duration_seconds", quantile="1.0", a="b" } 8.3835e-05
{ "go.gc_duration_seconds", quantile= "1.0", a= "b", } 8.3835e-05
{ "go.gc_duration_seconds", quantile = "1.0", a = "b" } 8.3835e-05
{"go.gc_duration_seconds_count"} 99
{"Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}","strange©™\n'quoted' \"name\""="6"} 10.0"#;
    let gc = "go.gc_duration_seconds";
    let want = vec![
        help(gc, "A summary of the GC invocation durations."),
        typ(gc, MetricType::Summary),
        series(
            r#"{"go.gc_duration_seconds",quantile="0"}"#,
            4.9351e-05,
            &["__name__", gc, "quantile", "0.0"],
        ),
        series(
            r#"{"go.gc_duration_seconds",quantile="0.25",}"#,
            7.424100000000001e-05,
            &["__name__", gc, "quantile", "0.25"],
        ),
        series(
            r#"{"go.gc_duration_seconds",quantile="0.5",a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.5", "a", "b"],
        ),
        series(
            r#"{"go.gc_duration_seconds",quantile="0.8", a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.8", "a", "b"],
        ),
        series(
            r#"{"go.gc_duration_seconds", quantile="0.9", a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.9", "a", "b"],
        ),
        series(
            r#"{"go.gc_duration_seconds", quantile="1.0", a="b" }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"{ "go.gc_duration_seconds", quantile="1.0", a="b" }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"{ "go.gc_duration_seconds", quantile= "1.0", a= "b", }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"{ "go.gc_duration_seconds", quantile = "1.0", a = "b" }"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
        ),
        series(
            r#"{"go.gc_duration_seconds_count"}"#,
            99.0,
            &["__name__", "go.gc_duration_seconds_count"],
        ),
        series(
            r#"{"Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}","strange©™\n'quoted' \"name\""="6"}"#,
            10.0,
            &[
                "__name__",
                "Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}",
                "strange©™\n'quoted' \"name\"",
                "6",
            ],
        ),
    ];
    let (got, err) = parse_all(P, input.as_bytes());
    assert_eq!(err, None);
    assert_entries(&got, &want);
}

/// Every error case of `TestPromParseErrors`, with Prometheus's exact message.
#[test]
fn reports_errors_with_prometheus_messages() {
    let cases: &[(&str, &str)] = &[
        ("a", "expected value after metric, got \"\\n\" (\"INVALID\") while parsing: \"a\\n\""),
        ("a{b='c'} 1\n", "expected label value, got \"'\" (\"INVALID\") while parsing: \"a{b='\""),
        ("a{b=\n", "expected label value, got \"\\n\" (\"INVALID\") while parsing: \"a{b=\\n\""),
        ("a{\u{ff}=\"foo\"} 1\n", ""),
        ("a{b=\"\u{ff}\"} 1\n", ""),
        (r#"{"a", "b = "c"}"#, "expected equal, got \"c\\\"\" (\"LNAME\") while parsing: \"{\\\"a\\\", \\\"b = \\\"c\\\"\""),
        (r#"{"a",b\nc="d"} 1"#, "expected equal, got \"\\\\\" (\"INVALID\") while parsing: \"{\\\"a\\\",b\\\\\""),
        ("a true\n", "strconv.ParseFloat: parsing \"true\": invalid syntax while parsing: \"a true\""),
        ("something_weird{problem=\"", "expected label value, got \"\\\"\\n\" (\"INVALID\") while parsing: \"something_weird{problem=\\\"\\n\""),
        ("empty_label_name{=\"\"} 0", "expected label name, got \"=\\\"\" (\"EQUAL\") while parsing: \"empty_label_name{=\\\"\""),
        ("{A}0", "expected equal, got \"}0\" (\"BCLOSE\") while parsing: \"{A}0\""),
        ("foo 1_2\n", "unsupported character in float while parsing: \"foo 1_2\""),
        ("foo 0x1p-3\n", "unsupported character in float while parsing: \"foo 0x1p-3\""),
        ("foo 0x1P-3\n", "unsupported character in float while parsing: \"foo 0x1P-3\""),
        ("foo 0 1_2\n", "expected next entry after timestamp, got \"_\" (\"INVALID\") while parsing: \"foo 0 1_\""),
        (r#"{a="ok"} 1"#, "metric name not set while parsing: \"{a=\\\"ok\\\"} 1\""),
        ("# TYPE #\n#EOF\n", "expected metric name after TYPE, got \"#\" (\"INVALID\") while parsing: \"# TYPE #\""),
        ("# HELP #\n#EOF\n", "expected metric name after HELP, got \"#\" (\"INVALID\") while parsing: \"# HELP #\""),
    ];
    for (input, want) in cases {
        if want.is_empty() {
            continue; // the two invalid-byte cases below need raw bytes
        }
        assert_eq!(error_of(P, input.as_bytes()), *want, "input {input:?}");
    }
    assert_eq!(
        error_of(P, b"a{\xff=\"foo\"} 1\n"),
        "expected label name, got \"\\xff\" (\"INVALID\") while parsing: \"a{\\xff\""
    );
    assert_eq!(
        error_of(P, b"a{b=\"\xff\"} 1\n"),
        "invalid UTF-8 label value: \"\\\"\\xff\\\"\""
    );
}

/// `TestPromNullByteHandling`: NULs are allowed inside label values and help texts only.
#[test]
fn handles_null_bytes_like_prometheus() {
    for ok in [
        "null_byte_metric{a=\"abc\x00\"} 1",
        "a{b=\"\x00ss\"} 1\n",
        "a{b=\"\x00\"} 1\n",
    ] {
        let (_, err) = parse_all(P, ok.as_bytes());
        assert_eq!(err, None, "input {ok:?}");
    }
    let cases = [
        ("a{b=\x00\"ssss\"} 1\n", "expected label value, got \"\\x00\" (\"INVALID\") while parsing: \"a{b=\\x00\""),
        ("a{b=\"\x00", "expected label value, got \"\\\"\\x00\\n\" (\"INVALID\") while parsing: \"a{b=\\\"\\x00\\n\""),
        ("a{b\x00=\"hiih\"}\t1", "expected equal, got \"\\x00\" (\"INVALID\") while parsing: \"a{b\\x00\""),
        ("a\x00{b=\"ddd\"} 1", "expected value after metric, got \"\\x00\" (\"INVALID\") while parsing: \"a\\x00\""),
        ("a 0 1\x00", "expected next entry after timestamp, got \"\\x00\" (\"INVALID\") while parsing: \"a 0 1\\x00\""),
    ];
    for (input, want) in cases {
        assert_eq!(error_of(P, input.as_bytes()), want, "input {input:?}");
    }
}

/// `TestPromParseBareIdentifierInBraces`: `{A} 0` is an error, never a panic.
#[test]
fn bare_identifier_in_braces_is_an_error() {
    assert_eq!(
        error_of(P, b"{A} 0\n"),
        "expected equal, got \"} \" (\"BCLOSE\") while parsing: \"{A} \""
    );
}

#[test]
fn timestamps_are_integer_milliseconds_and_not_negative() {
    let (got, err) = parse_all(P, b"a 1 1700000000123\nb 2\n");
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            series_ts("a", 1.0, 1700000000123, &["__name__", "a"]),
            series("b", 2.0, &["__name__", "b"])
        ]
    );
    // The lexer's timestamp is `[0-9]+`: a sign is not part of it.
    assert_eq!(
        error_of(P, b"a 1 -5\n"),
        "expected timestamp or new record, got \"-\" (\"INVALID\") while parsing: \"a 1 -\""
    );
    assert_eq!(
        error_of(P, b"a 1 99999999999999999999\n"),
        "strconv.ParseInt: parsing \"99999999999999999999\": value out of range while parsing: \"a 1 99999999999999999999\""
    );
}

#[test]
fn values_follow_go_parse_float() {
    let cases: &[(&str, f64)] = &[
        ("1e3", 1000.0),
        ("-Inf", f64::NEG_INFINITY),
        ("+Inf", f64::INFINITY),
        ("Inf", f64::INFINITY),
        ("inf", f64::INFINITY),
        ("+infinity", f64::INFINITY),
        ("-1.5E-3", -0.0015),
        (".5", 0.5),
        ("5.", 5.0),
        ("+3", 3.0),
        ("-0", -0.0),
        ("123456789012345678901234567890", 1.2345678901234568e29),
    ];
    for (text, want) in cases {
        let body = format!("m {text}\n");
        let (got, err) = parse_all(P, body.as_bytes());
        assert_eq!(err, None, "{text}");
        assert_eq!(got, vec![series("m", *want, &["__name__", "m"])], "{text}");
    }
    // NaN in any case becomes Prometheus's canonical NaN (not the staleness marker).
    for text in ["NaN", "nan", "NAN"] {
        let body = format!("m {text}\n");
        let mut p = Parser::new(P, body.as_bytes());
        p.next().unwrap();
        assert_eq!(p.series().2.to_bits(), 0x7ff8_0000_0000_0001);
    }
    for (text, msg) in [
        ("+NaN", "invalid syntax"),
        ("-nan", "invalid syntax"),
        ("0x10", "invalid syntax"),
        ("1e", "invalid syntax"),
        ("infinit", "invalid syntax"),
        ("1e400", "value out of range"),
        ("-1e400", "value out of range"),
    ] {
        let body = format!("m {text}\n");
        assert_eq!(
            error_of(P, body.as_bytes()),
            format!("strconv.ParseFloat: parsing \"{text}\": {msg} while parsing: \"m {text}\"")
        );
    }
}

#[test]
fn carriage_returns_are_not_line_ends() {
    // Prometheus's text lexer has no rule for `\r`: a CRLF body fails on the value.
    assert_eq!(
        error_of(P, b"a 1\r\n"),
        "strconv.ParseFloat: parsing \"1\\r\": invalid syntax while parsing: \"a 1\\r\""
    );
}

#[test]
fn blank_lines_comments_and_leading_whitespace_are_skipped() {
    let (got, err) = parse_all(P, b"\n\n  \t a 1\n\n# x\n\tb{c=\"d\"}\t2 \t\n");
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            series("a", 1.0, &["__name__", "a"]),
            comment("# x"),
            series("b{c=\"d\"}", 2.0, &["__name__", "b", "c", "d"]),
        ]
    );
}

#[test]
fn type_names_of_the_text_format() {
    let (got, err) = parse_all(
        P,
        b"# TYPE a counter\n# TYPE b gauge\n# TYPE c histogram\n# TYPE d summary\n# TYPE e untyped\n",
    );
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            typ("a", MetricType::Counter),
            typ("b", MetricType::Gauge),
            typ("c", MetricType::Histogram),
            typ("d", MetricType::Summary),
            typ("e", MetricType::Unknown),
        ]
    );
    assert_eq!(
        error_of(P, b"# TYPE a info\n"),
        "invalid metric type \"info\""
    );
    assert_eq!(
        error_of(P, b"# TYPE a unknown\n"),
        "invalid metric type \"unknown\""
    );
    assert_eq!(
        error_of(P, b"# TYPE a  gauge\n"),
        "invalid metric type \" gauge\""
    );
    assert_eq!(error_of(P, b"# TYPE a\n"), "invalid metric type \"\"");
}

#[test]
fn help_text_unescapes_backslash_and_newline_only() {
    let (got, err) = parse_all(P, b"# HELP m a\\\\b\\nc\\\"d\\x\n");
    assert_eq!(err, None);
    assert_eq!(got, vec![help("m", "a\\b\nc\\\"d\\x")]);
    assert_eq!(
        error_of(P, b"# HELP m \xff\n"),
        "help text \"\\xff\" is not a valid utf8 string"
    );
}

#[test]
fn label_values_unescape_and_may_span_lines() {
    let (got, err) = parse_all(P, b"m{a=\"x\\\\y\\\"z\\nw\\q\",b=\"l1\nl2\"} 1\n");
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![series(
            "m{a=\"x\\\\y\\\"z\\nw\\q\",b=\"l1\nl2\"}",
            1.0,
            &["__name__", "m", "a", "x\\y\"z\nw\\q", "b", "l1\nl2"]
        )]
    );
}

#[test]
fn empty_label_set_and_trailing_comma() {
    let (got, err) = parse_all(P, b"m{} 1\nn{a=\"b\",} 2\n");
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            series("m{}", 1.0, &["__name__", "m"]),
            series("n{a=\"b\",}", 2.0, &["__name__", "n", "a", "b"]),
        ]
    );
}

#[test]
fn metric_name_set_twice_is_an_error() {
    assert_eq!(
        error_of(P, b"m{\"n\"} 1\n"),
        "metric name already set while parsing: \"m{\\\"n\\\"}\""
    );
}

#[test]
fn nul_at_line_start_ends_the_body_as_in_prometheus() {
    let (got, err) = parse_all(P, b"a 1\n\x00b 2\n");
    assert_eq!(err, None);
    assert_eq!(got, vec![series("a", 1.0, &["__name__", "a"])]);
}

#[test]
fn le_and_quantile_are_normalised_only_for_histograms_and_summaries() {
    let body = b"# TYPE h histogram\nh_bucket{le=\"1e6\"} 1\nh_bucket{le=\"100000\"} 1\nh_bucket{le=\"0.00001\"} 1\nh_bucket{le=\"-1\"} 1\nh_bucket{le=\"x\"} 1\n# TYPE s summary\ns{quantile=\"1\",le=\"1\"} 1\n# TYPE g gauge\ng{le=\"1\",quantile=\"1\"} 1\n";
    let (got, err) = parse_all(P, body);
    assert_eq!(err, None);
    let values: Vec<Vec<(String, String)>> = got
        .into_iter()
        .filter_map(|e| match e {
            E::Series { labels, .. } => Some(labels[1..].to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        vec![
            lbls(&["le", "1e+06"]),
            lbls(&["le", "100000.0"]),
            lbls(&["le", "1e-05"]),
            lbls(&["le", "-1.0"]),
            lbls(&["le", "x"]),
            lbls(&["quantile", "1.0", "le", "1"]),
            lbls(&["le", "1", "quantile", "1"]),
        ]
    );
}

#[test]
fn line_numbers_count_from_one() {
    let mut p = Parser::new(P, b"# HELP a x\n\na 1\nb{c=\"multi\nline\"} 2\nbad\n");
    p.next().unwrap();
    assert_eq!(p.line(), 1);
    p.next().unwrap();
    assert_eq!(p.line(), 3);
    p.next().unwrap();
    assert_eq!(p.line(), 4);
    let err = p.next().unwrap_err();
    assert_eq!(err.line(), 6);
}
