//! Warnings and infos returned with query results, worded exactly as Prometheus words
//! them (`util/annotations`), because API clients, Grafana and the promqltest suites match
//! the text. Each ends with the position (`line:col`) of the expression it is about.

use std::fmt;

use ember_storage::numfmt::format_g;

use crate::positions::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Warning,
    Info,
}

/// One annotation, rendered as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Annotation {
    pub kind: Kind,
    pub text: String,
}

impl fmt::Display for Annotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The annotations of one query: a set (the same text once), in the order first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    list: Vec<Annotation>,
}

/// Go's `%q` for a string.
fn q(s: &str) -> String {
    let mut out = String::new();
    let _ = ember_storage::labels::write_go_quoted(&mut out, s);
    out
}

fn at(pos: Option<Pos>) -> String {
    match pos {
        Some(p) => format!(" ({p})"),
        None => String::new(),
    }
}

impl Annotations {
    pub fn new() -> Annotations {
        Annotations::default()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Annotation> {
        self.list.iter()
    }

    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.list
            .iter()
            .filter(|a| a.kind == Kind::Warning)
            .map(|a| a.text.as_str())
    }

    pub fn infos(&self) -> impl Iterator<Item = &str> {
        self.list
            .iter()
            .filter(|a| a.kind == Kind::Info)
            .map(|a| a.text.as_str())
    }

    pub fn merge(&mut self, other: Annotations) {
        for a in other.list {
            self.push(a);
        }
    }

    fn push(&mut self, a: Annotation) {
        if !self.list.contains(&a) {
            self.list.push(a);
        }
    }

    /// Adds `PromQL warning: <msg> (<pos>)`.
    pub fn warn(&mut self, msg: impl fmt::Display, pos: Option<Pos>) {
        self.push(Annotation {
            kind: Kind::Warning,
            text: format!("PromQL warning: {msg}{}", at(pos)),
        });
    }

    /// Adds `PromQL info: <msg> (<pos>)`.
    pub fn info(&mut self, msg: impl fmt::Display, pos: Option<Pos>) {
        self.push(Annotation {
            kind: Kind::Info,
            text: format!("PromQL info: {msg}{}", at(pos)),
        });
    }

    // Prometheus's annotations, by name (util/annotations/annotations.go).

    pub fn invalid_quantile(&mut self, q_: f64, pos: Option<Pos>) {
        self.warn(
            format!(
                "quantile value should be between 0 and 1, got {}",
                format_g(q_)
            ),
            pos,
        );
    }

    pub fn invalid_ratio(&mut self, ratio: f64, capped_to: f64, pos: Option<Pos>) {
        self.warn(
            format!(
                "ratio value should be between -1 and 1, got {}, capping to {}",
                format_g(ratio),
                format_g(capped_to)
            ),
            pos,
        );
    }

    /// `bucket label "le" is missing or has a malformed value of "<v>"[ for metric name "<m>"]`.
    pub fn bad_bucket_label(&mut self, value: &str, metric_name: &str, pos: Option<Pos>) {
        self.warn(
            format!(
                "bucket label \"le\" is missing or has a malformed value of {}{}",
                q(value),
                for_metric_name(metric_name)
            ),
            pos,
        );
    }

    pub fn sort_in_range_query(&mut self, pos: Option<Pos>) {
        self.warn(
            "sort is ineffective for range queries since results are always ordered by labels",
            pos,
        );
    }

    pub fn possible_non_counter(&mut self, metric_name: &str, pos: Option<Pos>) {
        self.info(
            format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                q(metric_name)
            ),
            pos,
        );
    }

    /// Native histograms are not stored yet, so this is only emitted for classic buckets.
    pub fn histogram_quantile_forced_monotonicity(&mut self, detail: &str, pos: Option<Pos>) {
        self.info(
            format!(
                "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile){detail}"
            ),
            pos,
        );
    }

    pub fn mixed_classic_native_histograms(&mut self, metric_name: &str, pos: Option<Pos>) {
        self.warn(
            format!(
                "vector contains a mix of classic and native histograms{}",
                for_metric_name(metric_name)
            ),
            pos,
        );
    }
}

/// Prometheus's `maybeAddMetricName`: ` for metric name "<m>"` when the name is known.
fn for_metric_name(metric_name: &str) -> String {
    if metric_name.is_empty() {
        String::new()
    } else {
        format!(" for metric name {}", q(metric_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_prometheus() {
        let mut a = Annotations::new();
        a.invalid_quantile(f64::NAN, Some(Pos { line: 1, col: 8 }));
        a.invalid_ratio(1.1, 1.0, Some(Pos { line: 1, col: 19 }));
        a.bad_bucket_label("Hello World", "series", Some(Pos { line: 1, col: 25 }));
        a.possible_non_counter("foo", Some(Pos { line: 1, col: 6 }));
        a.sort_in_range_query(Some(Pos { line: 1, col: 1 }));
        a.sort_in_range_query(Some(Pos { line: 1, col: 1 }));
        let w: Vec<&str> = a.warnings().collect();
        assert_eq!(
            w,
            [
                "PromQL warning: quantile value should be between 0 and 1, got NaN (1:8)",
                "PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1 (1:19)",
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\" (1:25)",
                "PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:1)",
            ]
        );
        let i: Vec<&str> = a.infos().collect();
        assert_eq!(
            i,
            ["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"foo\" (1:6)"]
        );
    }
}
