//! Cardinality statistics of the head's index, for `/api/v1/status/tsdb`: which metric
//! names, label names and label pairs hold the most series, as Prometheus's
//! `MemPostings.Stats` computes them.

use super::Head;

/// The head's cardinality, each list the top `limit` entries, largest first (ties by
/// name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardinalityStats {
    pub num_series: u64,
    /// Distinct label pairs (`name="value"`) in the index.
    pub num_label_pairs: u64,
    /// Series per metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Approximate bytes of a label name's pairs over all its series, with Prometheus's
    /// per-label size (each string plus a length byte, or four for strings of 255 bytes
    /// and more).
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Series per label pair, as `name=value`.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

impl Head {
    /// Computes the cardinality statistics with lists of at most `limit` entries.
    pub fn cardinality_stats(&self, limit: usize) -> CardinalityStats {
        let mut metrics = Vec::new();
        let mut pairs = Vec::new();
        // Per label name: (distinct values, bytes).
        let mut names: std::collections::HashMap<String, (u64, u64)> =
            std::collections::HashMap::new();
        let mut num_label_pairs = 0u64;
        self.postings().for_each_pair(|name, value, series| {
            num_label_pairs += 1;
            if name == crate::labels::METRIC_NAME {
                metrics.push((value.to_string(), series));
            }
            pairs.push((format!("{name}={value}"), series));
            let entry = names.entry(name.to_string()).or_default();
            entry.0 += 1;
            entry.1 += label_size(name, value) * series;
        });
        let (values, bytes): (Vec<_>, Vec<_>) = names
            .into_iter()
            .map(|(n, (v, b))| ((n.clone(), v), (n, b)))
            .unzip();
        CardinalityStats {
            num_series: self.num_series(),
            num_label_pairs,
            series_count_by_metric_name: top(metrics, limit),
            label_value_count_by_label_name: top(values, limit),
            memory_in_bytes_by_label_name: top(bytes, limit),
            series_count_by_label_value_pair: top(pairs, limit),
        }
    }
}

/// Prometheus's `labels.SizeOfLabels` for one copy of a pair (its default string-labels
/// encoding: each string prefixed by its length in one byte, or four from 255 bytes on).
fn label_size(name: &str, value: &str) -> u64 {
    let encoded = |s: &str| s.len() as u64 + if s.len() < 255 { 1 } else { 4 };
    encoded(name) + encoded(value)
}

/// The `limit` largest entries, largest first, ties by name.
fn top(mut items: Vec<(String, u64)>, limit: usize) -> Vec<(String, u64)> {
    items.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items.truncate(limit);
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::HeadOptions;
    use crate::labels::Labels;

    #[test]
    fn counts_series_values_and_pairs() {
        let head = Head::in_memory(HeadOptions::default());
        let mut app = head.appender();
        let series = [
            [("__name__", "up"), ("job", "a"), ("instance", "1")],
            [("__name__", "up"), ("job", "b"), ("instance", "1")],
            [("__name__", "up"), ("job", "b"), ("instance", "2")],
            [("__name__", "go"), ("job", "b"), ("instance", "3")],
        ];
        for (i, s) in series.iter().enumerate() {
            let labels = Labels::from_pairs(s.iter().copied());
            app.append(None, labels.as_ref(), 1000 + i as i64, 1.0)
                .unwrap();
        }
        app.commit().unwrap();

        let stats = head.cardinality_stats(10);
        assert_eq!(stats.num_series, 4);
        // __name__: up, go; job: a, b; instance: 1, 2, 3.
        assert_eq!(stats.num_label_pairs, 7);
        assert_eq!(
            stats.series_count_by_metric_name,
            [("up".to_string(), 3), ("go".to_string(), 1)]
        );
        assert_eq!(
            stats.label_value_count_by_label_name,
            [
                ("instance".to_string(), 3),
                ("__name__".to_string(), 2),
                ("job".to_string(), 2)
            ]
        );
        assert_eq!(
            stats.series_count_by_label_value_pair[..3],
            [
                ("__name__=up".to_string(), 3),
                ("job=b".to_string(), 3),
                ("instance=1".to_string(), 2)
            ]
        );
        // Per series: the name's length + 1, the value's length + 1.
        let bytes: std::collections::HashMap<_, _> =
            stats.memory_in_bytes_by_label_name.into_iter().collect();
        assert_eq!(bytes["job"], 4 * ((3 + 1) + (1 + 1)));
        assert_eq!(
            bytes["__name__"],
            3 * ((8 + 1) + (2 + 1)) + (8 + 1) + (2 + 1)
        );
        assert_eq!(bytes["instance"], 4 * ((8 + 1) + (1 + 1)));

        let top1 = head.cardinality_stats(1);
        assert_eq!(top1.series_count_by_metric_name, [("up".to_string(), 3)]);
        assert_eq!(top1.label_value_count_by_label_name.len(), 1);
    }

    #[test]
    fn long_strings_take_four_length_bytes() {
        let long = "x".repeat(300);
        assert_eq!(label_size("a", &long), 2 + 304);
    }
}
