//! The text exposition `/federate` writes, against the format's rules
//! (prometheus/docs `exposition_formats.md`) and Prometheus's federation handler.

use axum::http::{header, HeaderMap, HeaderValue};
use ember_storage::labels::Labels;

use super::*;

fn latest(pairs: &[(&str, &str)], t: i64, v: f64) -> Latest {
    Latest {
        labels: Labels::from_pairs(pairs.iter().copied()),
        t,
        v,
    }
}

fn external() -> Vec<(String, String)> {
    vec![
        ("instance".to_string(), String::new()),
        ("region".to_string(), "eu".to_string()),
    ]
}

#[test]
fn groups_by_name_and_appends_external_labels() {
    let samples = [
        latest(&[("__name__", "a"), ("job", "x")], 1000, 1.0),
        latest(
            &[("__name__", "a"), ("instance", "h:1"), ("job", "y")],
            2000,
            -0.0,
        ),
        latest(&[("__name__", "b"), ("region", "us")], 3000, 1e-7),
        latest(&[("__name__", "c")], 4000, f64::INFINITY),
    ];
    let mut out = String::new();
    write_text(&mut out, &samples, &external(), Escaping::Underscores);
    assert_eq!(
        out,
        "# TYPE a untyped\n\
         a{job=\"x\",instance=\"\",region=\"eu\"} 1 1000\n\
         a{instance=\"h:1\",job=\"y\",region=\"eu\"} 0 2000\n\
         # TYPE b untyped\n\
         b{region=\"us\",instance=\"\"} 1e-07 3000\n\
         # TYPE c untyped\n\
         c{instance=\"\",region=\"eu\"} +Inf 4000\n"
    );
}

#[test]
fn escapes_values_and_names() {
    let samples = [
        latest(&[("__name__", "m"), ("path", "a\"b\\c\nd")], 1, 0.5),
        latest(&[("__name__", "http.requests"), ("le.x", "1")], 2, 2.0),
    ];
    let mut out = String::new();
    write_text(&mut out, &samples, &[], Escaping::Underscores);
    assert_eq!(
        out,
        "# TYPE m untyped\nm{path=\"a\\\"b\\\\c\\nd\"} 0.5 1\n\
         # TYPE http_requests untyped\nhttp_requests{le_x=\"1\"} 2 2\n"
    );
    let mut out = String::new();
    write_text(&mut out, &samples[1..], &[], Escaping::AllowUtf8);
    assert_eq!(
        out,
        "# TYPE \"http.requests\" untyped\n{\"http.requests\",\"le.x\"=\"1\"} 2 2\n"
    );
    assert_eq!(escape_name("a.b_c", Escaping::Dots), "a_dot_b__c");
    assert_eq!(escape_name("a.b", Escaping::Values), "U__a_2e_b");
    assert_eq!(escape_name("ok_name:x", Escaping::Dots), "ok_name:x");
}

#[test]
fn values_are_written_as_go_formats_them() {
    let mut out = String::new();
    for v in [
        1.0,
        -1.0,
        0.1,
        123456.0,
        1234567.0,
        1e21,
        f64::NAN,
        f64::NEG_INFINITY,
    ] {
        write_value(&mut out, v);
        out.push(' ');
    }
    assert_eq!(out, "1 -1 0.1 123456 1.234567e+06 1e+21 NaN -Inf ");
}

fn accept(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
    h
}

#[test]
fn escaping_is_negotiated_as_prometheus_does() {
    assert_eq!(negotiate_escaping(&HeaderMap::new()), Escaping::Underscores);
    // Prometheus 3's scrape Accept header: the first clause's escaping carries over to
    // the text/plain 0.0.4 clause that matches.
    let scraper = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                   application/openmetrics-text;version=0.0.1;q=0.5,\
                   text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
                   text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    assert_eq!(negotiate_escaping(&accept(scraper)), Escaping::AllowUtf8);
    assert_eq!(
        negotiate_escaping(&accept("text/plain;version=0.0.4;escaping=dots")),
        Escaping::Dots
    );
    assert_eq!(
        negotiate_escaping(&accept("text/plain;escaping=bogus")),
        Escaping::Underscores
    );
}

#[test]
fn selectors_parse_to_matchers() {
    let m = parse_selector(r#"up{job=~"a|b",x!=""}"#).unwrap();
    let shown: Vec<String> = m
        .iter()
        .map(|m| format!("{}{}{:?}", m.name(), m.op(), m.value()))
        .collect();
    assert_eq!(shown, [r#"__name__="up""#, r#"job=~"a|b""#, r#"x!="""#]);
    assert!(parse_selector("up + 1").is_err());
    assert!(parse_selector("{").is_err());
    assert!(parse_selector("rate(up[5m])").is_err());
}

#[test]
fn external_labels_come_from_the_global_section() {
    let text = "global:\n  scrape_interval: 15s\n  external_labels:\n    region: eu\n    replica: 1\nscrape_configs: []\n";
    let mut got = external_labels_from_config(text).unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("region".to_string(), "eu".to_string()),
            ("replica".to_string(), "1".to_string())
        ]
    );
    assert!(external_labels_from_config("global: {}\n")
        .unwrap()
        .is_empty());
    assert!(external_labels_from_config("global: [").is_err());
}

#[test]
fn compression_is_negotiated_as_prometheus_does() {
    let enc = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        negotiate_encoding(&h)
    };
    assert_eq!(negotiate_encoding(&HeaderMap::new()), Encoding::Identity);
    assert_eq!(enc("gzip"), Encoding::Gzip);
    assert_eq!(enc("br, deflate, gzip"), Encoding::Deflate);
    // A parameter makes the token unknown to Prometheus's handler too.
    assert_eq!(enc("gzip;q=1.0"), Encoding::Identity);
    let text = b"# TYPE a untyped\na 1 1\n".repeat(100);
    let gz = Encoding::Gzip.compress(text.clone()).unwrap();
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut back)
        .unwrap();
    assert_eq!(back, text);
}
