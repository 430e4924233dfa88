//! Shared helpers: run a parser to the end and record every entry with all accessors.

#![allow(dead_code)]

use ember_textparse::{Entry, Format, MetricType, Parser};

pub type Labels = Vec<(String, String)>;

#[derive(Debug, PartialEq, Clone)]
pub enum E {
    Help(String, String),
    Type(String, MetricType),
    Unit(String, String),
    Comment(String),
    Series {
        text: String,
        /// The value's bits, so NaNs compare exactly.
        value: u64,
        ts: Option<i64>,
        labels: Labels,
        exemplar: Option<(Labels, u64, Option<i64>)>,
    },
}

pub fn lbls(pairs: &[&str]) -> Labels {
    pairs
        .chunks(2)
        .map(|p| (p[0].to_string(), p[1].to_string()))
        .collect()
}

pub fn help(m: &str, h: &str) -> E {
    E::Help(m.into(), h.into())
}
pub fn typ(m: &str, t: MetricType) -> E {
    E::Type(m.into(), t)
}
pub fn unit(m: &str, u: &str) -> E {
    E::Unit(m.into(), u.into())
}
pub fn comment(c: &str) -> E {
    E::Comment(c.into())
}
pub fn series(text: &str, v: f64, labels: &[&str]) -> E {
    E::Series {
        text: text.into(),
        value: v.to_bits(),
        ts: None,
        labels: lbls(labels),
        exemplar: None,
    }
}
pub fn series_ts(text: &str, v: f64, ts: i64, labels: &[&str]) -> E {
    match series(text, v, labels) {
        E::Series {
            text,
            value,
            labels,
            ..
        } => E::Series {
            text,
            value,
            ts: Some(ts),
            labels,
            exemplar: None,
        },
        e => e,
    }
}
pub fn with_exemplar(e: E, ex_labels: &[&str], v: f64, ts: Option<i64>) -> E {
    match e {
        E::Series {
            text,
            value,
            ts: t,
            labels,
            ..
        } => E::Series {
            text,
            value,
            ts: t,
            labels,
            exemplar: Some((lbls(ex_labels), v.to_bits(), ts)),
        },
        e => e,
    }
}

/// Every entry up to the end or the first error, and that error's message.
pub fn parse_all(format: Format, input: &[u8]) -> (Vec<E>, Option<String>) {
    let mut p = Parser::new(format, input);
    let mut out = Vec::new();
    loop {
        match p.next() {
            Ok(None) => return (out, None),
            Err(e) => {
                assert_eq!(p.next(), Ok(None), "the parser is done after an error");
                return (out, Some(e.to_string()));
            }
            Ok(Some(Entry::Help)) => {
                let (m, h) = p.help();
                out.push(E::Help(m.into(), h.into_owned()));
            }
            Ok(Some(Entry::Type)) => {
                let (m, t) = p.metric_type();
                out.push(E::Type(m.into(), t));
            }
            Ok(Some(Entry::Unit)) => {
                let (m, u) = p.unit();
                out.push(E::Unit(m.into(), u.into()));
            }
            Ok(Some(Entry::Comment)) => {
                out.push(E::Comment(
                    String::from_utf8_lossy(p.comment()).into_owned(),
                ));
            }
            Ok(Some(Entry::Series)) => {
                let (text, ts, v) = p.series();
                let mut labels = Vec::new();
                p.labels(|n, v| labels.push((n.to_string(), v.to_string())));
                assert_eq!(labels[0].0, "__name__");
                assert_eq!(labels[0].1, p.metric_name());
                let exemplar = p.exemplar().map(|ex| {
                    let mut l = Vec::new();
                    ex.labels(|n, v| l.push((n.to_string(), v.to_string())));
                    (l, ex.value.to_bits(), ex.timestamp_ms)
                });
                out.push(E::Series {
                    text: String::from_utf8_lossy(text).into_owned(),
                    value: v.to_bits(),
                    ts,
                    labels,
                    exemplar,
                });
            }
        }
    }
}

/// The error message a body fails with (panics if it parses).
pub fn error_of(format: Format, input: &[u8]) -> String {
    match parse_all(format, input) {
        (_, Some(e)) => e,
        (entries, None) => panic!("{input:?} parsed without error: {entries:?}"),
    }
}

/// Asserts entries one by one, for readable failures.
pub fn assert_entries(got: &[E], want: &[E]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "entry {i}");
    }
    assert_eq!(got.len(), want.len(), "number of entries");
}
