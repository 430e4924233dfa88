//! Parsing a node_exporter-like scrape (about 1,000 series: counters, gauges, a
//! histogram and a summary, with HELP/TYPE) in both formats, two ways: the scrape-cache
//! hit path (series text, value, timestamp only) and the miss path (labels too).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ember_textparse::{Entry, Format, Parser};
use std::fmt::Write;

/// A body shaped like node_exporter's, in the given format; returns it and its series count.
fn body(om: bool) -> (String, usize) {
    let mut b = String::new();
    let mut n = 0;
    let counter = if om { "_total" } else { "" };
    let family = |b: &mut String, name: &str, typ: &str, help: &str| {
        writeln!(b, "# HELP {name} {help}").unwrap();
        writeln!(b, "# TYPE {name} {typ}").unwrap();
    };
    // Counters by CPU and mode.
    family(
        &mut b,
        "node_cpu_seconds",
        "counter",
        "Seconds the CPUs spent in each mode.",
    );
    for cpu in 0..16 {
        for mode in [
            "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
        ] {
            writeln!(
                b,
                "node_cpu_seconds{counter}{{cpu=\"{cpu}\",mode=\"{mode}\"}} {}.{}",
                123456 + cpu * 7,
                cpu * 31 % 100
            )
            .unwrap();
            n += 1;
        }
    }
    // Per-device network and disk counters.
    for metric in [
        "receive_bytes",
        "transmit_bytes",
        "receive_packets",
        "transmit_packets",
        "receive_errs",
        "transmit_errs",
        "receive_drop",
        "transmit_drop",
    ] {
        family(
            &mut b,
            &format!("node_network_{metric}"),
            "counter",
            "Network device statistic.",
        );
        for dev in 0..12 {
            writeln!(
                b,
                "node_network_{metric}{counter}{{device=\"eth{dev}\"}} {}",
                9_876_543_210u64 + dev * 1013
            )
            .unwrap();
            n += 1;
        }
    }
    for metric in [
        "reads_completed",
        "writes_completed",
        "read_bytes",
        "written_bytes",
        "io_time_seconds",
        "read_time_seconds",
        "write_time_seconds",
    ] {
        family(
            &mut b,
            &format!("node_disk_{metric}"),
            "counter",
            "Disk statistic.",
        );
        for dev in 0..10 {
            writeln!(
                b,
                "node_disk_{metric}{counter}{{device=\"nvme{dev}n1\"}} {}.25",
                4_321_000 + dev * 17
            )
            .unwrap();
            n += 1;
        }
    }
    // Filesystem gauges with three labels.
    for metric in [
        "avail_bytes",
        "free_bytes",
        "size_bytes",
        "files",
        "files_free",
        "readonly",
        "device_error",
    ] {
        family(
            &mut b,
            &format!("node_filesystem_{metric}"),
            "gauge",
            "Filesystem statistic.",
        );
        for fs in 0..20 {
            writeln!(b, "node_filesystem_{metric}{{device=\"/dev/sda{fs}\",fstype=\"ext4\",mountpoint=\"/srv/data{fs}\"}} {}", 1.5e11 + fs as f64 * 3.0e9).unwrap();
            n += 1;
        }
    }
    // A histogram per handler.
    family(
        &mut b,
        "http_request_duration_seconds",
        "histogram",
        "Request latency.",
    );
    let les = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ];
    for h in 0..20 {
        for (i, le) in les.iter().enumerate() {
            write!(b, "http_request_duration_seconds_bucket{{handler=\"/api/v1/h{h}\",method=\"GET\",le=\"{le}\"}} {}", 100 * (i + 1) + h).unwrap();
            if om && i == 3 {
                write!(
                    b,
                    " # {{trace_id=\"4bf92f3577b34da6a3ce929d0e0e{h:04}\"}} 0.042 1700000000.123"
                )
                .unwrap();
            }
            b.push('\n');
            n += 1;
        }
        writeln!(
            b,
            "http_request_duration_seconds_sum{{handler=\"/api/v1/h{h}\",method=\"GET\"}} {}.5",
            37 + h
        )
        .unwrap();
        writeln!(
            b,
            "http_request_duration_seconds_count{{handler=\"/api/v1/h{h}\",method=\"GET\"}} {}",
            1200 + h
        )
        .unwrap();
        n += 2;
    }
    // A summary and plain gauges.
    family(
        &mut b,
        "go_gc_duration_seconds",
        "summary",
        "A summary of the GC invocation durations.",
    );
    for q in ["0", "0.25", "0.5", "0.75", "1"] {
        writeln!(b, "go_gc_duration_seconds{{quantile=\"{q}\"}} 4.9351e-05").unwrap();
        n += 1;
    }
    writeln!(
        b,
        "go_gc_duration_seconds_sum 0.0123\ngo_gc_duration_seconds_count 99"
    )
    .unwrap();
    n += 2;
    for i in 0..279 {
        family(
            &mut b,
            &format!("node_misc_gauge_{i}"),
            "gauge",
            "A gauge without labels.",
        );
        writeln!(b, "node_misc_gauge_{i} {}", i as f64 * 0.37).unwrap();
        n += 1;
    }
    if om {
        b.push_str("# EOF\n");
    }
    (b, n)
}

fn parse_cached(format: Format, body: &[u8]) -> usize {
    let mut p = Parser::new(format, body);
    let mut n = 0;
    while let Some(e) = p.next().unwrap() {
        if e == Entry::Series {
            black_box(p.series());
            n += 1;
        }
    }
    n
}

fn parse_with_labels(format: Format, body: &[u8]) -> usize {
    let mut p = Parser::new(format, body);
    let mut n = 0;
    while let Some(e) = p.next().unwrap() {
        if e == Entry::Series {
            black_box(p.series());
            p.labels(|name, value| {
                black_box((name, value));
            });
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    for (label, format, om) in [
        ("promtext", Format::PromText, false),
        ("openmetrics", Format::OpenMetrics, true),
    ] {
        let (b, series) = body(om);
        assert_eq!(parse_cached(format, b.as_bytes()), series);
        let mut g = c.benchmark_group(format!("parse_{label}_{series}_series"));
        g.throughput(Throughput::Bytes(b.len() as u64));
        g.bench_function("series_only", |bench| {
            bench.iter(|| parse_cached(format, black_box(b.as_bytes())))
        });
        g.bench_function("with_labels", |bench| {
            bench.iter(|| parse_with_labels(format, black_box(b.as_bytes())))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
