//! A deterministic, node_exporter-like workload, turned into remote-write 1.0 requests.
//!
//! Each host exposes 100 series, as a node_exporter plus an instrumented service would:
//! 32 CPU-time counters (4 CPUs × 8 modes), 9 memory gauges, 8 network counters,
//! 6 filesystem gauges, 3 load averages, and 3 classic histograms of 12 buckets plus
//! `_sum` and `_count` (42 series). Series carry `instance="host-NNNNN:9100"` and
//! `job="node"`. Values depend only on (series, step): counters and buckets grow,
//! gauges wander; so two runs, and the two servers of a comparison, get the same bytes.
//!
//! Requests are built as Prometheus's sender builds them: one sample per series per
//! request, series sharded over the senders by index so that each series' samples are
//! sent in time order by one sender, `batch` samples per request, snappy-compressed.

use crate::proto;

/// Series per host.
pub const SERIES_PER_HOST: usize = 100;

const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
const MEMORY: [&str; 9] = [
    "MemTotal",
    "MemFree",
    "MemAvailable",
    "Buffers",
    "Cached",
    "SwapTotal",
    "SwapFree",
    "Active",
    "Inactive",
];
const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
/// Cumulative share of requests at or below each bucket bound, in thousandths.
const BUCKET_SHARE: [u64; 12] = [50, 120, 260, 430, 610, 780, 880, 940, 975, 990, 997, 1000];
const HANDLERS: [&str; 3] = ["/api/v1/query", "/api/v1/write", "/metrics"];

/// How a series' value evolves.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Grows by about `rate` a second.
    Counter {
        rate: f64,
    },
    /// Wanders around `base`.
    Gauge {
        base: f64,
    },
    /// A histogram bucket: the share (thousandths) of the handler's requests.
    Bucket {
        share: u64,
    },
    Sum,
    Count,
}

/// One series: its labels (sorted by name) and how its value evolves.
#[derive(Debug, Clone)]
pub struct SeriesDef {
    pub labels: Vec<(String, String)>,
    kind: Kind,
}

/// The workload: `series` series over as many hosts as needed.
pub struct Workload {
    pub series: Vec<SeriesDef>,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn labels(pairs: &[(&str, &str)], host: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    out.push(("instance".into(), format!("host-{host:05}:9100")));
    out.push(("job".into(), "node".into()));
    out.sort();
    out
}

impl Workload {
    /// `n` series: whole hosts of [`SERIES_PER_HOST`], the last one cut short if needed.
    pub fn new(n: usize) -> Workload {
        let mut series = Vec::with_capacity(n);
        let mut host = 0;
        while series.len() < n {
            for def in host_series(host) {
                if series.len() < n {
                    series.push(def);
                }
            }
            host += 1;
        }
        Workload { series }
    }

    /// The value of series `i` at step `k` (steps are scrape intervals, 15 s apart).
    pub fn value(&self, i: usize, k: u64) -> f64 {
        let h = mix((i as u64) << 24 ^ k);
        // Requests a handler served by step k: about 2 a second, always growing.
        let requests = |k: u64| k * 30 + (mix(i as u64 ^ 0xabcd) % 1000) + (h % 7);
        match self.series[i].kind {
            Kind::Counter { rate } => {
                (rate * 15.0 * k as f64 + (h % 1000) as f64 * rate * 0.0075).round() / 100.0
            }
            Kind::Gauge { base } => base + (h % 10_000) as f64,
            Kind::Bucket { share } => (requests(k) * share / 1000) as f64,
            Kind::Sum => (requests(k) as f64 * 0.137 * 1000.0).round() / 1000.0,
            Kind::Count => requests(k) as f64,
        }
    }

    /// The snappy-compressed 1.0 requests for `steps` scrapes from `t0` (ms), 15 s apart:
    /// for each of `shards` senders, its requests in sending order.
    pub fn requests(&self, t0: i64, steps: u64, batch: usize, shards: usize) -> Vec<Vec<Vec<u8>>> {
        let shards = shards.max(1);
        let encoded: Vec<Vec<u8>> = self.series.iter().map(encode_labels).collect();
        let mut out = vec![Vec::new(); shards];
        let mut body = Vec::new();
        let mut enc = snap::raw::Encoder::new();
        for (shard, requests) in out.iter_mut().enumerate() {
            let mine: Vec<usize> = (shard..self.series.len()).step_by(shards).collect();
            for k in 0..steps {
                let t = t0 + k as i64 * 15_000;
                for chunk in mine.chunks(batch.max(1)) {
                    body.clear();
                    for &i in chunk {
                        encode_series(&mut body, &encoded[i], t, self.value(i, k));
                    }
                    requests.push(enc.compress_vec(&body).expect("snappy compresses"));
                }
            }
        }
        out
    }

    /// The same requests as prost types (for checks and the in-process benchmarks).
    pub fn request_message(&self, series: &[usize], t: i64, k: u64) -> proto::WriteRequest {
        proto::WriteRequest {
            timeseries: series
                .iter()
                .map(|&i| proto::TimeSeries {
                    labels: self.series[i]
                        .labels
                        .iter()
                        .map(|(n, v)| proto::Label {
                            name: n.clone(),
                            value: v.clone(),
                        })
                        .collect(),
                    samples: vec![proto::Sample {
                        value: self.value(i, k),
                        timestamp: t,
                    }],
                    ..Default::default()
                })
                .collect(),
            metadata: vec![],
        }
    }
}

fn host_series(host: usize) -> Vec<SeriesDef> {
    let mut out = Vec::with_capacity(SERIES_PER_HOST);
    let mut add = |pairs: &[(&str, &str)], kind| {
        out.push(SeriesDef {
            labels: labels(pairs, host),
            kind,
        })
    };
    for cpu in ["0", "1", "2", "3"] {
        for (m, mode) in CPU_MODES.iter().enumerate() {
            add(
                &[
                    ("__name__", "node_cpu_seconds_total"),
                    ("cpu", cpu),
                    ("mode", mode),
                ],
                Kind::Counter {
                    rate: 100.0 / (m as f64 + 1.0),
                },
            );
        }
    }
    for (i, m) in MEMORY.iter().enumerate() {
        let name = format!("node_memory_{m}_bytes");
        add(
            &[("__name__", &name)],
            Kind::Gauge {
                base: 1e9 * (i as f64 + 1.0),
            },
        );
    }
    for dev in ["eth0", "lo"] {
        for name in [
            "node_network_receive_bytes_total",
            "node_network_transmit_bytes_total",
            "node_network_receive_packets_total",
            "node_network_transmit_packets_total",
        ] {
            add(
                &[("__name__", name), ("device", dev)],
                Kind::Counter { rate: 12_345.0 },
            );
        }
    }
    for (dev, mount) in [("sda1", "/"), ("sda2", "/var"), ("tmpfs", "/run")] {
        for name in ["node_filesystem_avail_bytes", "node_filesystem_size_bytes"] {
            add(
                &[
                    ("__name__", name),
                    ("device", dev),
                    ("fstype", "ext4"),
                    ("mountpoint", mount),
                ],
                Kind::Gauge { base: 5e10 },
            );
        }
    }
    for name in ["node_load1", "node_load5", "node_load15"] {
        add(&[("__name__", name)], Kind::Gauge { base: 1.0 });
    }
    for handler in HANDLERS {
        for (le, share) in BUCKETS.iter().zip(BUCKET_SHARE) {
            add(
                &[
                    ("__name__", "http_request_duration_seconds_bucket"),
                    ("handler", handler),
                    ("le", le),
                ],
                Kind::Bucket { share },
            );
        }
        add(
            &[
                ("__name__", "http_request_duration_seconds_sum"),
                ("handler", handler),
            ],
            Kind::Sum,
        );
        add(
            &[
                ("__name__", "http_request_duration_seconds_count"),
                ("handler", handler),
            ],
            Kind::Count,
        );
    }
    debug_assert_eq!(out.len(), SERIES_PER_HOST);
    out
}

fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A series' `labels` fields (TimeSeries field 1), encoded once.
fn encode_labels(def: &SeriesDef) -> Vec<u8> {
    let mut out = Vec::new();
    let mut label = Vec::new();
    for (n, v) in &def.labels {
        label.clear();
        put_bytes(&mut label, 1, n.as_bytes());
        put_bytes(&mut label, 2, v.as_bytes());
        put_bytes(&mut out, 1, &label);
    }
    out
}

/// Appends one `timeseries` field (WriteRequest field 1) with one sample, exactly as
/// prost encodes it.
fn encode_series(out: &mut Vec<u8>, labels: &[u8], t: i64, v: f64) {
    let mut sample = [0u8; 32];
    let mut n = 0;
    if v.to_bits() != 0 {
        sample[n] = 1 << 3 | 1;
        sample[n + 1..n + 9].copy_from_slice(&v.to_le_bytes());
        n += 9;
    }
    if t != 0 {
        sample[n] = 2 << 3;
        n += 1;
        let mut x = t as u64;
        while x >= 0x80 {
            sample[n] = (x as u8) | 0x80;
            x >>= 7;
            n += 1;
        }
        sample[n] = x as u8;
        n += 1;
    }
    // The sample field: tag, length (at most 20, one byte), body.
    let series_len = labels.len() + 1 + 1 + n;
    out.push(1 << 3 | 2);
    put_varint(out, series_len as u64);
    out.extend_from_slice(labels);
    put_bytes(out, 2, &sample[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn hand_encoding_is_prost_encoding() {
        let w = Workload::new(250);
        let t0 = 1_700_000_000_000;
        let reqs = w.requests(t0, 3, 40, 2);
        // Shard 1, step 2, second chunk of 40: series 81, 83, ... 159.
        let per_step = 125usize.div_ceil(40);
        let body = snap::raw::Decoder::new()
            .decompress_vec(&reqs[1][2 * per_step + 1])
            .unwrap();
        let series: Vec<usize> = (1..250).step_by(2).skip(40).take(40).collect();
        let want = w.request_message(&series, t0 + 30_000, 2).encode_to_vec();
        assert_eq!(body, want);
    }

    #[test]
    fn hosts_have_100_distinct_series_and_counters_grow() {
        let w = Workload::new(300);
        let mut seen = std::collections::HashSet::new();
        for s in &w.series {
            assert!(seen.insert(s.labels.clone()), "{:?}", s.labels);
            assert!(s.labels.windows(2).all(|p| p[0].0 < p[1].0));
        }
        for i in 0..300 {
            if matches!(
                w.series[i].kind,
                Kind::Counter { .. } | Kind::Bucket { .. } | Kind::Count
            ) {
                for k in 0..50 {
                    assert!(w.value(i, k + 1) >= w.value(i, k), "series {i} step {k}");
                }
            }
        }
    }
}
