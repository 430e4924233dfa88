//! OpenMetrics 1.0, checked against the test vectors of Prometheus 3's
//! `model/textparse/openmetricsparse_test.go` (inputs and expected results as facts).
//! Prometheus's scrape loop keeps `_created` series unless created-timestamp ingestion
//! is on, so they appear here as ordinary series.

mod common;

use common::*;
use ember_textparse::{Format, MetricType, Parser};

const OM: Format = Format::OpenMetrics;
const NORMAL_NAN: u64 = 0x7ff8_0000_0000_0001;

#[test]
fn parses_openmetrics_test_vectors() {
    let mut input = String::from(
        r#"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
# UNIT go_gc_duration_seconds seconds
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25"} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
# HELP nohelp1 
# HELP help2 escape \ \n \\ \" \x chars
# UNIT nounit 
go_gc_duration_seconds{quantile="1.0",a="b"} 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b="c"} 1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33 123.123
# TYPE hh histogram
hh_bucket{le="+Inf"} 1
# TYPE gh gaugehistogram
gh_bucket{le="+Inf"} 1
# TYPE hhh histogram
hhh_bucket{le="+Inf"} 1 # {id="histogram-bucket-test"} 4
hhh_count 1 # {id="histogram-count-test"} 4
# TYPE ggh gaugehistogram
ggh_bucket{le="+Inf"} 1 # {id="gaugehistogram-bucket-test",xx="yy"} 4 123.123
ggh_count 1 # {id="gaugehistogram-count-test",xx="yy"} 4 123.123
# TYPE smr_seconds summary
smr_seconds_count 2.0 # {id="summary-count-test"} 1 123.321
smr_seconds_sum 42.0 # {id="summary-sum-test"} 1 123.321
# TYPE ii info
ii{foo="bar"} 1
# TYPE ss stateset
ss{ss="foo"} 1
ss{ss="bar"} 0
ss{A="a"} 0
# TYPE un unknown
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore="foo"} 1
testmetric{label="\"bar\""} 1
# HELP foo Counter with and without labels to certify ST is parsed for both cases
# TYPE foo counter
foo_total 17.0 1520879607.789 # {id="counter-test"} 5
foo_created 1520872607.123
foo_total{a="b"} 17.0 1520879607.789 # {id="counter-test"} 5
foo_created{a="b"} 1520872607.123
foo_total{le="c"} 21.0
foo_created{le="c"} 1520872621.123
foo_total{le="1"} 10.0
# HELP bar Summary with ST at the end, making sure we find ST even if it's multiple lines a far
# TYPE bar summary
bar_count 17.0
bar_sum 324789.3
bar{quantile="0.95"} 123.7
bar{quantile="0.99"} 150.0
bar_created 1520872608.124
# HELP baz Histogram with the same objective as above's summary
# TYPE baz histogram
baz_bucket{le="0.0"} 0
baz_bucket{le="+Inf"} 17
baz_count 17
baz_sum 324789.3
baz_created 1520872609.125
# HELP fizz_created Gauge which shouldn't be parsed as ST
# TYPE fizz_created gauge
fizz_created 17.0
# HELP something Histogram with _created between buckets and summary
# TYPE something histogram
something_count 18
something_sum 324789.4
something_created 1520430001
something_bucket{le="0.0"} 1
something_bucket{le="1"} 2
something_bucket{le="+Inf"} 18
# HELP nansum Summary with NaN value
# TYPE nansum summary
nansum_count 0
nansum_sum 0.0
nansum{quantile="0.95"} nan
nansum{quantile="0.99"} NaN"#,
    );
    input += "\n# HELP metric foo\x00bar";
    input += "\nnull_byte_metric{a=\"abc\x00\"} 1";
    input += "\n# EOF\n";

    let gc = "go_gc_duration_seconds";
    let nan = f64::from_bits(NORMAL_NAN);
    let want = vec![
        help(gc, "A summary of the GC invocation durations."),
        typ(gc, MetricType::Summary),
        unit(gc, "seconds"),
        series(
            r#"go_gc_duration_seconds{quantile="0"}"#,
            4.9351e-05,
            &["__name__", gc, "quantile", "0.0"],
        ),
        series(
            r#"go_gc_duration_seconds{quantile="0.25"}"#,
            7.424100000000001e-05,
            &["__name__", gc, "quantile", "0.25"],
        ),
        series(
            r#"go_gc_duration_seconds{quantile="0.5",a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.5", "a", "b"],
        ),
        help("nohelp1", ""),
        help("help2", "escape \\ \n \\ \" \\x chars"),
        unit("nounit", ""),
        series(
            r#"go_gc_duration_seconds{quantile="1.0",a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "1.0", "a", "b"],
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
        typ("hh", MetricType::Histogram),
        series(
            r#"hh_bucket{le="+Inf"}"#,
            1.0,
            &["__name__", "hh_bucket", "le", "+Inf"],
        ),
        typ("gh", MetricType::GaugeHistogram),
        series(
            r#"gh_bucket{le="+Inf"}"#,
            1.0,
            &["__name__", "gh_bucket", "le", "+Inf"],
        ),
        typ("hhh", MetricType::Histogram),
        with_exemplar(
            series(
                r#"hhh_bucket{le="+Inf"}"#,
                1.0,
                &["__name__", "hhh_bucket", "le", "+Inf"],
            ),
            &["id", "histogram-bucket-test"],
            4.0,
            None,
        ),
        with_exemplar(
            series("hhh_count", 1.0, &["__name__", "hhh_count"]),
            &["id", "histogram-count-test"],
            4.0,
            None,
        ),
        typ("ggh", MetricType::GaugeHistogram),
        with_exemplar(
            series(
                r#"ggh_bucket{le="+Inf"}"#,
                1.0,
                &["__name__", "ggh_bucket", "le", "+Inf"],
            ),
            &["id", "gaugehistogram-bucket-test", "xx", "yy"],
            4.0,
            Some(123123),
        ),
        with_exemplar(
            series("ggh_count", 1.0, &["__name__", "ggh_count"]),
            &["id", "gaugehistogram-count-test", "xx", "yy"],
            4.0,
            Some(123123),
        ),
        typ("smr_seconds", MetricType::Summary),
        with_exemplar(
            series("smr_seconds_count", 2.0, &["__name__", "smr_seconds_count"]),
            &["id", "summary-count-test"],
            1.0,
            Some(123321),
        ),
        with_exemplar(
            series("smr_seconds_sum", 42.0, &["__name__", "smr_seconds_sum"]),
            &["id", "summary-sum-test"],
            1.0,
            Some(123321),
        ),
        typ("ii", MetricType::Info),
        series(r#"ii{foo="bar"}"#, 1.0, &["__name__", "ii", "foo", "bar"]),
        typ("ss", MetricType::StateSet),
        series(r#"ss{ss="foo"}"#, 1.0, &["__name__", "ss", "ss", "foo"]),
        series(r#"ss{ss="bar"}"#, 0.0, &["__name__", "ss", "ss", "bar"]),
        series(r#"ss{A="a"}"#, 0.0, &["__name__", "ss", "A", "a"]),
        typ("un", MetricType::Unknown),
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
        help(
            "foo",
            "Counter with and without labels to certify ST is parsed for both cases",
        ),
        typ("foo", MetricType::Counter),
        with_exemplar(
            series_ts("foo_total", 17.0, 1520879607789, &["__name__", "foo_total"]),
            &["id", "counter-test"],
            5.0,
            None,
        ),
        series_ts(
            "foo_created",
            1520872607.123,
            0,
            &["__name__", "foo_created"],
        ),
        with_exemplar(
            series_ts(
                r#"foo_total{a="b"}"#,
                17.0,
                1520879607789,
                &["__name__", "foo_total", "a", "b"],
            ),
            &["id", "counter-test"],
            5.0,
            None,
        ),
        series_ts(
            r#"foo_created{a="b"}"#,
            1520872607.123,
            0,
            &["__name__", "foo_created", "a", "b"],
        ),
        series(
            r#"foo_total{le="c"}"#,
            21.0,
            &["__name__", "foo_total", "le", "c"],
        ),
        series(
            r#"foo_created{le="c"}"#,
            1520872621.123,
            &["__name__", "foo_created", "le", "c"],
        ),
        series(
            r#"foo_total{le="1"}"#,
            10.0,
            &["__name__", "foo_total", "le", "1"],
        ),
        help(
            "bar",
            "Summary with ST at the end, making sure we find ST even if it's multiple lines a far",
        ),
        typ("bar", MetricType::Summary),
        series("bar_count", 17.0, &["__name__", "bar_count"]),
        series("bar_sum", 324789.3, &["__name__", "bar_sum"]),
        series(
            r#"bar{quantile="0.95"}"#,
            123.7,
            &["__name__", "bar", "quantile", "0.95"],
        ),
        series(
            r#"bar{quantile="0.99"}"#,
            150.0,
            &["__name__", "bar", "quantile", "0.99"],
        ),
        series("bar_created", 1520872608.124, &["__name__", "bar_created"]),
        help(
            "baz",
            "Histogram with the same objective as above's summary",
        ),
        typ("baz", MetricType::Histogram),
        series(
            r#"baz_bucket{le="0.0"}"#,
            0.0,
            &["__name__", "baz_bucket", "le", "0.0"],
        ),
        series(
            r#"baz_bucket{le="+Inf"}"#,
            17.0,
            &["__name__", "baz_bucket", "le", "+Inf"],
        ),
        series("baz_count", 17.0, &["__name__", "baz_count"]),
        series("baz_sum", 324789.3, &["__name__", "baz_sum"]),
        series("baz_created", 1520872609.125, &["__name__", "baz_created"]),
        help("fizz_created", "Gauge which shouldn't be parsed as ST"),
        typ("fizz_created", MetricType::Gauge),
        series("fizz_created", 17.0, &["__name__", "fizz_created"]),
        help(
            "something",
            "Histogram with _created between buckets and summary",
        ),
        typ("something", MetricType::Histogram),
        series("something_count", 18.0, &["__name__", "something_count"]),
        series("something_sum", 324789.4, &["__name__", "something_sum"]),
        series(
            "something_created",
            1520430001.0,
            &["__name__", "something_created"],
        ),
        series(
            r#"something_bucket{le="0.0"}"#,
            1.0,
            &["__name__", "something_bucket", "le", "0.0"],
        ),
        series(
            r#"something_bucket{le="1"}"#,
            2.0,
            &["__name__", "something_bucket", "le", "1.0"],
        ),
        series(
            r#"something_bucket{le="+Inf"}"#,
            18.0,
            &["__name__", "something_bucket", "le", "+Inf"],
        ),
        help("nansum", "Summary with NaN value"),
        typ("nansum", MetricType::Summary),
        series("nansum_count", 0.0, &["__name__", "nansum_count"]),
        series("nansum_sum", 0.0, &["__name__", "nansum_sum"]),
        series(
            r#"nansum{quantile="0.95"}"#,
            nan,
            &["__name__", "nansum", "quantile", "0.95"],
        ),
        series(
            r#"nansum{quantile="0.99"}"#,
            nan,
            &["__name__", "nansum", "quantile", "0.99"],
        ),
        help("metric", "foo\x00bar"),
        series(
            "null_byte_metric{a=\"abc\x00\"}",
            1.0,
            &["__name__", "null_byte_metric", "a", "abc\x00"],
        ),
    ];
    // The `_created` lines above with a timestamp placeholder of 0 have none.
    let want: Vec<E> = want
        .into_iter()
        .map(|e| match e {
            E::Series {
                text,
                value,
                ts: Some(0),
                labels,
                exemplar,
            } => E::Series {
                text,
                value,
                ts: None,
                labels,
                exemplar,
            },
            e => e,
        })
        .collect();
    let (got, err) = parse_all(OM, input.as_bytes());
    assert_eq!(err, None);
    assert_entries(&got, &want);
}

#[test]
fn parses_quoted_utf8_names_and_exemplar_labels() {
    let input = r#"# HELP "go.gc_duration_seconds" A summary of the GC invocation durations.
# TYPE "go.gc_duration_seconds" summary
# UNIT "go.gc_duration_seconds" seconds
{"go.gc_duration_seconds",quantile="0"} 4.9351e-05
{"go.gc_duration_seconds",quantile="0.25"} 7.424100000000001e-05
{"go.gc_duration_seconds_created"} 1520872607.123
{"go.gc_duration_seconds",quantile="0.5",a="b"} 8.3835e-05
{"http.status",q="0.9",a="b"} 8.3835e-05
{"http.status",q="0.9",a="b"} 8.3835e-05
{q="0.9","http.status",a="b"} 8.3835e-05
{"go.gc_duration_seconds_sum"} 0.004304266
{"Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}","strange©™\n'quoted' \"name\""="6"} 10.0
quotedexemplar_count 1 # {"id.thing"="histogram-count-test"} 4
quotedexemplar2_count 1 # {"id.thing"="histogram-count-test",other="hello"} 4
# EOF
"#;
    let gc = "go.gc_duration_seconds";
    let want = vec![
        help(gc, "A summary of the GC invocation durations."),
        typ(gc, MetricType::Summary),
        unit(gc, "seconds"),
        series(
            r#"{"go.gc_duration_seconds",quantile="0"}"#,
            4.9351e-05,
            &["__name__", gc, "quantile", "0.0"],
        ),
        series(
            r#"{"go.gc_duration_seconds",quantile="0.25"}"#,
            7.424100000000001e-05,
            &["__name__", gc, "quantile", "0.25"],
        ),
        series(
            r#"{"go.gc_duration_seconds_created"}"#,
            1520872607.123,
            &["__name__", "go.gc_duration_seconds_created"],
        ),
        series(
            r#"{"go.gc_duration_seconds",quantile="0.5",a="b"}"#,
            8.3835e-05,
            &["__name__", gc, "quantile", "0.5", "a", "b"],
        ),
        series(
            r#"{"http.status",q="0.9",a="b"}"#,
            8.3835e-05,
            &["__name__", "http.status", "q", "0.9", "a", "b"],
        ),
        series(
            r#"{"http.status",q="0.9",a="b"}"#,
            8.3835e-05,
            &["__name__", "http.status", "q", "0.9", "a", "b"],
        ),
        series(
            r#"{q="0.9","http.status",a="b"}"#,
            8.3835e-05,
            &["__name__", "http.status", "q", "0.9", "a", "b"],
        ),
        series(
            r#"{"go.gc_duration_seconds_sum"}"#,
            0.004304266,
            &["__name__", "go.gc_duration_seconds_sum"],
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
        with_exemplar(
            series(
                "quotedexemplar_count",
                1.0,
                &["__name__", "quotedexemplar_count"],
            ),
            &["id.thing", "histogram-count-test"],
            4.0,
            None,
        ),
        with_exemplar(
            series(
                "quotedexemplar2_count",
                1.0,
                &["__name__", "quotedexemplar2_count"],
            ),
            &["id.thing", "histogram-count-test", "other", "hello"],
            4.0,
            None,
        ),
    ];
    let (got, err) = parse_all(OM, input.as_bytes());
    assert_eq!(err, None);
    assert_entries(&got, &want);
}

/// Every case of `TestOpenMetricsParseErrors`, with Prometheus's exact message.
#[test]
fn reports_errors_with_prometheus_messages() {
    for ok in ["# EOF", "# EOF\n"] {
        assert_eq!(parse_all(OM, ok.as_bytes()), (vec![], None));
    }
    let cases: &[(&[u8], &str)] = &[
        (b"", "data does not end with # EOF"),
        (b"\n", "expected a valid start token, got \"\\n\" (\"INVALID\") while parsing: \"\\n\""),
        (b"metric", "expected value after metric, got \"metric\" (\"EOF\") while parsing: \"metric\""),
        (b"metric 1", "data does not end with # EOF"),
        (b"metric 1\n", "data does not end with # EOF"),
        (b"metric_total 1 # {aa=\"bb\"} 4", "data does not end with # EOF"),
        (b"a\n#EOF\n", "expected value after metric, got \"\\n\" (\"INVALID\") while parsing: \"a\\n\""),
        (b"\n\n#EOF\n", "expected a valid start token, got \"\\n\" (\"INVALID\") while parsing: \"\\n\""),
        (b" a 1\n#EOF\n", "expected a valid start token, got \" \" (\"INVALID\") while parsing: \" \""),
        (b"9\n#EOF\n", "expected a valid start token, got \"9\" (\"INVALID\") while parsing: \"9\""),
        (b"# TYPE u untyped\n#EOF\n", "invalid metric type \"untyped\""),
        (b"# TYPE c counter \n#EOF\n", "invalid metric type \"counter \""),
        (b"#  TYPE c counter\n#EOF\n", "expected a valid start token, got \"#  \" (\"INVALID\") while parsing: \"#  \""),
        (b"# TYPE \n#EOF\n", "expected metric name after TYPE, got \"\\n\" (\"INVALID\") while parsing: \"# TYPE \\n\""),
        (b"# TYPE m\n#EOF\n", "expected text in TYPE"),
        (b"# UNIT metric suffix\n#EOF\n", "unit \"suffix\" not a suffix of metric \"metric\""),
        (b"# UNIT metricsuffix suffix\n#EOF\n", "unit \"suffix\" not a suffix of metric \"metricsuffix\""),
        (b"# UNIT m suffix\n#EOF\n", "unit \"suffix\" not a suffix of metric \"m\""),
        (b"# UNIT \n#EOF\n", "expected metric name after UNIT, got \"\\n\" (\"INVALID\") while parsing: \"# UNIT \\n\""),
        (b"# UNIT m\n#EOF\n", "expected text in UNIT"),
        (b"# HELP \n#EOF\n", "expected metric name after HELP, got \"\\n\" (\"INVALID\") while parsing: \"# HELP \\n\""),
        (b"# HELP m\n#EOF\n", "expected text in HELP"),
        (b"a\t1\n#EOF\n", "expected value after metric, got \"\\t\" (\"INVALID\") while parsing: \"a\\t\""),
        (b"a 1\t2\n#EOF\n", "strconv.ParseFloat: parsing \"1\\t2\": invalid syntax while parsing: \"a 1\\t2\""),
        (b"a 1 2 \n#EOF\n", "expected next entry after timestamp, got \" \\n\" (\"INVALID\") while parsing: \"a 1 2 \\n\""),
        (b"a 1 2 #\n#EOF\n", "expected next entry after timestamp, got \" #\\n\" (\"TIMESTAMP\") while parsing: \"a 1 2 #\\n\""),
        (b"a 1 1z\n#EOF\n", "strconv.ParseFloat: parsing \"1z\": invalid syntax while parsing: \"a 1 1z\""),
        (b" # EOF\n", "expected a valid start token, got \" \" (\"INVALID\") while parsing: \" \""),
        (b"# EOF\na 1", "unexpected data after # EOF"),
        (b"# EOF\n\n", "unexpected data after # EOF"),
        (b"# EOFa 1", "unexpected data after # EOF"),
        (b"#\tTYPE c counter\n", "expected a valid start token, got \"#\\t\" (\"INVALID\") while parsing: \"#\\t\""),
        (b"# TYPE c  counter\n", "invalid metric type \" counter\""),
        (b"a 1 1 1\n# EOF\n", "expected next entry after timestamp, got \" 1\\n\" (\"TIMESTAMP\") while parsing: \"a 1 1 1\\n\""),
        (b"a{b='c'} 1\n# EOF\n", "expected label value, got \"'\" (\"INVALID\") while parsing: \"a{b='\""),
        (b"a{,b=\"c\"} 1\n# EOF\n", "expected label name, got \",b\" (\"COMMA\") while parsing: \"a{,b\""),
        (b"a{b=\"c\"d=\"e\"} 1\n# EOF\n", "expected comma or brace close, got \"d=\" (\"LNAME\") while parsing: \"a{b=\\\"c\\\"d=\""),
        (b"a{b=\"c\",,d=\"e\"} 1\n# EOF\n", "expected label name, got \",d\" (\"COMMA\") while parsing: \"a{b=\\\"c\\\",,d\""),
        (b"a{b=\n# EOF\n", "expected label value, got \"\\n\" (\"INVALID\") while parsing: \"a{b=\\n\""),
        (b"a{\xff=\"foo\"} 1\n# EOF\n", "expected label name, got \"\\xff\" (\"INVALID\") while parsing: \"a{\\xff\""),
        (b"a{b=\"\xff\"} 1\n# EOF\n", "invalid UTF-8 label value: \"\\\"\\xff\\\"\""),
        (b"{\"a\",\"b = \"c\"}\n# EOF\n", "expected equal, got \"c\\\"\" (\"LNAME\") while parsing: \"{\\\"a\\\",\\\"b = \\\"c\\\"\""),
        (b"{\"a\",b\\nc=\"d\"} 1\n# EOF\n", "expected equal, got \"\\\\\" (\"INVALID\") while parsing: \"{\\\"a\\\",b\\\\\""),
        (b"a true\n", "strconv.ParseFloat: parsing \"true\": invalid syntax while parsing: \"a true\""),
        (b"something_weird{problem=\"\n# EOF\n", "expected label value, got \"\\\"\\n\" (\"INVALID\") while parsing: \"something_weird{problem=\\\"\\n\""),
        (b"empty_label_name{=\"\"} 0\n# EOF\n", "expected label name, got \"=\\\"\" (\"EQUAL\") while parsing: \"empty_label_name{=\\\"\""),
        (b"{A}0\n# EOF\n", "expected equal, got \"}0\" (\"BCLOSE\") while parsing: \"{A}0\""),
        (b"foo 1_2\n\n# EOF\n", "unsupported character in float while parsing: \"foo 1_2\""),
        (b"foo 0x1p-3\n\n# EOF\n", "unsupported character in float while parsing: \"foo 0x1p-3\""),
        (b"foo 0x1P-3\n\n# EOF\n", "unsupported character in float while parsing: \"foo 0x1P-3\""),
        (b"foo 0 1_2\n\n# EOF\n", "unsupported character in float while parsing: \"foo 0 1_2\""),
        (b"custom_metric_total 1 # {aa=bb}\n# EOF\n", "expected label value, got \"b\" (\"INVALID\") while parsing: \"custom_metric_total 1 # {aa=b\""),
        (b"custom_metric_total 1 # {aa=\"bb\"}\n# EOF\n", "expected value after exemplar labels, got \"\\n\" (\"INVALID\") while parsing: \"custom_metric_total 1 # {aa=\\\"bb\\\"}\\n\""),
        (b"custom_metric_total 1 # {aa=\"bb\"}", "expected value after exemplar labels, got \"}\" (\"EOF\") while parsing: \"custom_metric_total 1 # {aa=\\\"bb\\\"}\""),
        (b"custom_metric_total 1 # {bb}", "expected equal, got \"}\" (\"BCLOSE\") while parsing: \"custom_metric_total 1 # {bb}\""),
        (b"custom_metric_total 1 # {bb, a=\"dd\"}", "expected equal, got \", \" (\"COMMA\") while parsing: \"custom_metric_total 1 # {bb, \""),
        (b"custom_metric_total 1 # {aa=\"bb\",,cc=\"dd\"} 1", "expected label name, got \",c\" (\"COMMA\") while parsing: \"custom_metric_total 1 # {aa=\\\"bb\\\",,c\""),
        (b"custom_metric_total 1 # {aa=\"bb\"} 1_2", "unsupported character in float while parsing: \"custom_metric_total 1 # {aa=\\\"bb\\\"} 1_2\""),
        (b"custom_metric_total 1 # {aa=\"bb\"} 0x1p-3", "unsupported character in float while parsing: \"custom_metric_total 1 # {aa=\\\"bb\\\"} 0x1p-3\""),
        (b"custom_metric_total 1 # {aa=\"bb\"} true", "strconv.ParseFloat: parsing \"true\": invalid syntax while parsing: \"custom_metric_total 1 # {aa=\\\"bb\\\"} true\""),
        (b"custom_metric_total 1 # {aa=\"bb\",cc=}", "expected label value, got \"}\" (\"INVALID\") while parsing: \"custom_metric_total 1 # {aa=\\\"bb\\\",cc=}\""),
        (b"custom_metric_total 1 # {aa=\\\"\\xff\\\"} 9.0", "expected label value, got \"\\\\\" (\"INVALID\") while parsing: \"custom_metric_total 1 # {aa=\\\\\""),
        (b"{b=\"c\",} 1", "metric name not set while parsing: \"{b=\\\"c\\\",} 1\""),
        (b"a 1 NaN", "invalid timestamp NaN"),
        (b"a 1 -Inf", "invalid timestamp -Inf"),
        (b"a 1 Inf", "invalid timestamp +Inf"),
        (b"# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 NaN", "invalid exemplar timestamp NaN"),
        (b"# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 -Inf", "invalid exemplar timestamp -Inf"),
    ];
    for (input, want) in cases {
        assert_eq!(
            error_of(OM, input),
            *want,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// `TestOMNullByteHandling`.
#[test]
fn handles_null_bytes_like_prometheus() {
    for ok in [
        "null_byte_metric{a=\"abc\x00\"} 1\n# EOF\n",
        "a{b=\"\x00ss\"} 1\n# EOF\n",
        "a{b=\"\x00\"} 1\n# EOF\n",
        "a{b=\"\x00\"} 1\n# EOF",
    ] {
        assert_eq!(parse_all(OM, ok.as_bytes()).1, None, "input {ok:?}");
    }
    let cases = [
        ("a{b=\x00\"ssss\"} 1\n# EOF\n", "expected label value, got \"\\x00\" (\"INVALID\") while parsing: \"a{b=\\x00\""),
        ("a{b=\"\x00", "expected label value, got \"\\\"\\x00\" (\"INVALID\") while parsing: \"a{b=\\\"\\x00\""),
        ("a{b\x00=\"hiih\"}\t1", "expected equal, got \"\\x00\" (\"INVALID\") while parsing: \"a{b\\x00\""),
        ("a\x00{b=\"ddd\"} 1", "expected value after metric, got \"\\x00\" (\"INVALID\") while parsing: \"a\\x00\""),
        ("#", "expected a valid start token, got \"#\" (\"INVALID\") while parsing: \"#\""),
        ("# H", "expected a valid start token, got \"# H\" (\"INVALID\") while parsing: \"# H\""),
        ("custom_metric_total 1 # {b=\x00\"ssss\"} 1\n", "expected label value, got \"\\x00\" (\"INVALID\") while parsing: \"custom_metric_total 1 # {b=\\x00\""),
        ("custom_metric_total 1 # {b=\"\x00ss\"} 1\n", "expected label value, got \"\\\"\\x00\" (\"INVALID\") while parsing: \"custom_metric_total 1 # {b=\\\"\\x00\""),
    ];
    for (input, want) in cases {
        assert_eq!(error_of(OM, input.as_bytes()), want, "input {input:?}");
    }
}

/// `TestOpenMetricsParseBareIdentifierInBraces`.
#[test]
fn bare_identifier_in_braces_is_an_error() {
    assert_eq!(
        error_of(OM, b"{A} 0\n# EOF\n"),
        "expected equal, got \"} \" (\"BCLOSE\") while parsing: \"{A} \""
    );
}

#[test]
fn timestamps_are_seconds_converted_to_milliseconds() {
    let (got, err) = parse_all(OM, b"a 1 1520879607.789\nb 2 -1.5\nc 3 10\n# EOF\n");
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            series_ts("a", 1.0, 1520879607789, &["__name__", "a"]),
            series_ts("b", 2.0, -1500, &["__name__", "b"]),
            series_ts("c", 3.0, 10000, &["__name__", "c"]),
        ]
    );
}

#[test]
fn exemplar_with_quoted_and_escaped_values() {
    let (got, err) = parse_all(
        OM,
        b"# TYPE x counter\nx_total 1 # {trace_id=\"a\\\"b\",\"span.id\"=\"c\"} 0.5 1.25\n# EOF\n",
    );
    assert_eq!(err, None);
    assert_eq!(
        got[1],
        with_exemplar(
            series("x_total", 1.0, &["__name__", "x_total"]),
            &["trace_id", "a\"b", "span.id", "c"],
            0.5,
            Some(1250)
        )
    );
    // An empty exemplar label set is allowed.
    let (got, err) = parse_all(OM, b"y 1 # {} 2\n# EOF\n");
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![with_exemplar(
            series("y", 1.0, &["__name__", "y"]),
            &[],
            2.0,
            None
        )]
    );
}

#[test]
fn exemplar_is_only_reported_for_its_own_line() {
    let mut p = Parser::new(OM, b"a 1 # {x=\"y\"} 1\nb 2\n# EOF\n");
    p.next().unwrap();
    assert!(p.exemplar().is_some());
    p.next().unwrap();
    assert!(p.exemplar().is_none());
}

#[test]
fn help_text_unescapes_quotes_too() {
    let (got, err) = parse_all(OM, b"# HELP m a\\\"b\\\\c\\nd\n# EOF\n");
    assert_eq!(err, None);
    assert_eq!(got, vec![help("m", "a\"b\\c\nd")]);
}

#[test]
fn unit_must_be_a_suffix_after_an_underscore() {
    let (got, err) = parse_all(OM, b"# UNIT m_seconds seconds\n# EOF\n");
    assert_eq!(err, None);
    assert_eq!(got, vec![unit("m_seconds", "seconds")]);
}

#[test]
fn text_format_comments_are_errors_in_openmetrics() {
    assert_eq!(
        error_of(OM, b"# just a comment\n# EOF\n"),
        "expected a valid start token, got \"# j\" (\"INVALID\") while parsing: \"# j\""
    );
}

#[test]
fn exemplar_label_set_length_counts_characters_of_names_and_values() {
    let mut p = Parser::new(OM, "a 1 # {trace_id=\"é€x\",b=\"\"} 1\n# EOF\n".as_bytes());
    p.next().unwrap();
    let ex = p.exemplar().unwrap();
    // "trace_id" (8) + "é€x" (3) + "b" (1) + "" (0)
    assert_eq!(ex.label_set_length(), 12);
    assert_eq!(ember_textparse::EXEMPLAR_MAX_LABEL_SET_LENGTH, 128);
}

/// Prometheus's OpenMetrics parser ignores an unexpected token right after a value: the
/// sample is returned and the rest of the line fails on the next call.
#[test]
fn stray_text_after_a_value_fails_on_the_next_entry() {
    let mut p = Parser::new(OM, b"a 1 # x\n# EOF\n");
    assert_eq!(p.next(), Ok(Some(ember_textparse::Entry::Series)));
    assert_eq!(p.series(), (&b"a"[..], None, 1.0));
    assert_eq!(
        p.next().unwrap_err().to_string(),
        "expected a valid start token, got \"x\" (\"INVALID\") while parsing: \"x\""
    );
}
