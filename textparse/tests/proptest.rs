//! Property tests: no input panics the parser, series text always lies inside the body,
//! and generated valid expositions read back exactly what was written.

mod common;

use common::*;
use ember_textparse::{Entry, Format, Parser};
use proptest::prelude::*;

/// Runs every accessor on every entry; checks series text is a slice of `body`.
fn exercise(format: Format, body: &[u8]) {
    let mut p = Parser::new(format, body);
    let range = body.as_ptr_range();
    for _ in 0..body.len() + 2 {
        match p.next() {
            Ok(None) => break,
            Err(e) => {
                let _ = (e.to_string(), e.line());
                assert_eq!(p.next(), Ok(None));
                break;
            }
            Ok(Some(entry)) => {
                let _ = p.line();
                match entry {
                    Entry::Series => {
                        let (text, _, _) = p.series();
                        if !text.is_empty() {
                            let r = text.as_ptr_range();
                            assert!(r.start >= range.start && r.end <= range.end);
                        }
                        let mut n = 0;
                        p.labels(|_, _| n += 1);
                        assert!(n >= 1);
                        let _ = p.metric_name();
                        if let Some(ex) = p.exemplar() {
                            ex.labels(|_, _| {});
                        }
                    }
                    Entry::Help => {
                        let _ = p.help();
                    }
                    Entry::Type => {
                        let _ = p.metric_type();
                    }
                    Entry::Unit => {
                        let _ = p.unit();
                    }
                    Entry::Comment => {
                        let _ = p.comment();
                    }
                }
            }
        }
    }
}

/// Bytes biased towards the exposition alphabet, so the parser gets deep.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        8 => prop::sample::select(b"ab_:{}=,\"\\# \t\n01.e+-IfNnaHELPTYUOF".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..200)
}

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    ts: Option<i64>,
}

fn legacy(s: &str, metric: bool) -> bool {
    let mut chars = s.chars();
    let ok_start = |c: char| c.is_ascii_alphabetic() || c == '_' || (metric && c == ':');
    chars.next().is_some_and(ok_start) && chars.all(|c| ok_start(c) || c.is_ascii_digit())
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", "[a-z.é€ \"\\\\\n-]{1,10}",]
}

fn sample_strategy() -> impl Strategy<Value = Sample> {
    (
        name_strategy(),
        prop::collection::vec(
            (
                prop_oneof!["[a-zA-Z_][a-zA-Z0-9_]{0,8}", "[a-z.€\"\\\\ ]{1,8}"],
                "(?s).{0,12}",
            ),
            0..5,
        ),
        prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ],
        prop::option::of(-1_000_000_000_000i64..4_000_000_000_000),
    )
        .prop_map(|(name, labels, value, ts)| Sample {
            name,
            // Label names must differ from `__name__` only in what a generator can
            // produce; duplicates are allowed (they are the scrape loop's concern).
            labels: labels
                .into_iter()
                .filter(|(n, _)| !n.starts_with("__"))
                .collect(),
            value,
            ts,
        })
}

fn render(s: &Sample, om: bool) -> String {
    let mut line = String::new();
    let mut parts = Vec::new();
    if legacy(&s.name, true) {
        line.push_str(&s.name);
    } else {
        parts.push(format!("\"{}\"", escape(&s.name)));
    }
    for (n, v) in &s.labels {
        let n = if legacy(n, false) {
            n.clone()
        } else {
            format!("\"{}\"", escape(n))
        };
        parts.push(format!("{n}=\"{}\"", escape(v)));
    }
    if !parts.is_empty() {
        line.push('{');
        line.push_str(&parts.join(","));
        line.push('}');
    }
    let v = if s.value.is_infinite() {
        if s.value > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        }
    } else {
        format!("{:?}", s.value)
    };
    line.push(' ');
    line.push_str(&v);
    if let Some(ts) = s.ts {
        if om {
            // Whole milliseconds written as seconds with three decimals.
            let sign = if ts < 0 { "-" } else { "" };
            line.push_str(&format!(
                " {sign}{}.{:03}",
                ts.unsigned_abs() / 1000,
                ts.unsigned_abs() % 1000
            ));
        } else if ts >= 0 {
            line.push_str(&format!(" {ts}"));
        }
    }
    line
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bodies_never_panic(b in body()) {
        exercise(Format::PromText, &b);
        exercise(Format::OpenMetrics, &b);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..300)) {
        exercise(Format::PromText, &b);
        exercise(Format::OpenMetrics, &b);
    }

    #[test]
    fn valid_expositions_round_trip(samples in prop::collection::vec(sample_strategy(), 1..8), om in any::<bool>()) {
        let mut body = String::new();
        for s in &samples {
            body.push_str(&render(s, om));
            body.push('\n');
        }
        if om {
            body.push_str("# EOF\n");
        }
        let format = if om { Format::OpenMetrics } else { Format::PromText };
        let (got, err) = parse_all(format, body.as_bytes());
        prop_assert_eq!(err, None, "body {:?}", body);
        prop_assert_eq!(got.len(), samples.len());
        for (g, s) in got.iter().zip(&samples) {
            let E::Series { labels, value, ts, text, .. } = g else {
                panic!("not a series: {g:?}");
            };
            let mut want = vec![("__name__".to_string(), s.name.clone())];
            want.extend(s.labels.iter().cloned());
            prop_assert_eq!(labels, &want);
            prop_assert_eq!(*value, s.value.to_bits());
            let want_ts = match s.ts {
                // Prometheus converts with int64(seconds * 1000): truncation after a
                // float multiply, so 271752870.696 s reads as ...695 ms.
                Some(t) if om => {
                    let sign = if t < 0 { "-" } else { "" };
                    let secs: f64 = format!("{sign}{}.{:03}", t.unsigned_abs() / 1000, t.unsigned_abs() % 1000).parse().unwrap();
                    Some((secs * 1000.0) as i64)
                }
                Some(t) if t >= 0 => Some(t),
                _ => None,
            };
            prop_assert_eq!(*ts, want_ts);
            let line = render(s, om);
            prop_assert!(line.starts_with(text.as_str()));
        }
    }
}
