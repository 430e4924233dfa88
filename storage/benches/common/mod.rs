//! Data shared by the storage benchmarks.

use ember_storage::Labels;

/// Series `i` of a node_exporter-like population: 1,000 hosts × 1,000 series of 100
/// metric names, five labels, about 95 bytes of names and values.
pub fn node_labels(i: usize) -> Labels {
    let host = i / 1000;
    let metric = (i % 1000) / 10;
    let dim = i % 10;
    Labels::from_pairs([
        ("__name__", format!("node_metric_{metric:03}_total")),
        ("instance", format!("host-{host:04}.example.org:9100")),
        ("job", "node".to_string()),
        ("cpu", dim.to_string()),
        (
            "mode",
            ["idle", "user", "system", "iowait", "irq"][dim % 5].to_string(),
        ),
    ])
}
