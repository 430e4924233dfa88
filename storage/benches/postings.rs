//! Postings and matcher benchmarks on a node_exporter-like head index.
//!
//! The index: 1,000 instances × 1,000 series = 1M series, refs assigned instance by
//! instance (as the first scrape of each target creates its series). Every series has
//! `__name__`, `instance`, `job`, `datacenter` and `env`, plus its metric's own labels:
//! `cpu`/`mode` (128 CPU series per instance), `device` (disk and network), `device`/
//! `fstype`/`mountpoint` (filesystems), `name`/`state` (systemd units), and a unique
//! `container_id` (8 series per instance: a high-cardinality label with 8,000 values).
//! That is 6.3 labels per series on average, ~700 metric names.
//!
//! Run: `cargo bench -p ember-storage --bench postings`. Before the criterion groups it
//! prints the index's heap size per series (measured with a counting allocator), the
//! single- and two-thread add rates for the full 1M series, and the rate of adding 100k
//! more series to the full index.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::postings::{postings_for_matchers, MemPostings};
use ember_storage::{Labels, SeriesRef};

/// Counts live heap bytes, to measure the index's memory.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const INSTANCES: usize = 1000;
const MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];

/// The 1,000 label sets of one instance.
fn instance_series(i: usize) -> Vec<Labels> {
    let instance = format!("host-{i}");
    let dc = format!("dc-{}", i % 10);
    let env = match i % 4 {
        0 => "staging",
        _ => "prod",
    };
    let mut out = Vec::with_capacity(1000);
    let mut push = |name: &str, extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("__name__", name),
            ("instance", instance.as_str()),
            ("job", "node"),
            ("datacenter", dc.as_str()),
            ("env", env),
        ];
        pairs.extend_from_slice(extra);
        out.push(Labels::from_pairs(pairs));
    };
    for cpu in 0..16 {
        for mode in MODES {
            push(
                "node_cpu_seconds_total",
                &[("cpu", &cpu.to_string()), ("mode", mode)],
            );
        }
    }
    for m in 0..10 {
        for d in 0..8 {
            let dev = format!("sd{}", (b'a' + d) as char);
            push(&format!("node_disk_metric_{m}_total"), &[("device", &dev)]);
        }
    }
    for m in 0..16 {
        for d in 0..8 {
            push(
                &format!("node_network_metric_{m}_total"),
                &[("device", &format!("eth{d}"))],
            );
        }
    }
    for m in 0..7 {
        for d in 0..8 {
            let (dev, mp) = (format!("/dev/nvme0n{d}"), format!("/mnt/disk{d}"));
            push(
                &format!("node_filesystem_metric_{m}_bytes"),
                &[("device", &dev), ("fstype", "ext4"), ("mountpoint", &mp)],
            );
        }
    }
    for u in 0..60 {
        for state in ["activating", "active", "deactivating", "failed", "inactive"] {
            push(
                "node_systemd_unit_state",
                &[("name", &format!("unit-{u}.service")), ("state", state)],
            );
        }
    }
    for c in 0..8 {
        let id = format!(
            "{:016x}",
            (i as u64 * 8 + c).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        push("container_info", &[("container_id", &id)]);
    }
    push("node_load1", &[]);
    for m in 1..300 {
        push(&format!("node_scalar_metric_{m}"), &[]);
    }
    assert_eq!(out.len(), 1000);
    out
}

fn all_series() -> Vec<Labels> {
    (0..INSTANCES).flat_map(instance_series).collect()
}

fn build(series: &[Labels]) -> MemPostings {
    let p = MemPostings::new();
    for (r, l) in series.iter().enumerate() {
        p.add(SeriesRef(r as u64 + 1), l.as_ref());
    }
    p
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).unwrap()
}

fn report(series: &[Labels]) {
    let labels: usize = series.iter().map(Labels::len).sum();
    println!(
        "index: {} series, {:.2} labels per series",
        series.len(),
        labels as f64 / series.len() as f64
    );
    let before = LIVE.load(Ordering::Relaxed);
    let start = Instant::now();
    let p = build(series);
    let took = start.elapsed();
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "MemPostings heap: {:.1} MiB, {:.1} bytes per series; 1 thread: {:.2} M series/s",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / series.len() as f64,
        series.len() as f64 / took.as_secs_f64() / 1e6
    );

    // Series churn: 100 more targets' series into the full index.
    let more: Vec<Labels> = (INSTANCES..INSTANCES + 100)
        .flat_map(instance_series)
        .collect();
    let start = Instant::now();
    for (r, l) in more.iter().enumerate() {
        p.add(SeriesRef((series.len() + r) as u64 + 1), l.as_ref());
    }
    println!(
        "into the full index: {:.2} M series/s",
        more.len() as f64 / start.elapsed().as_secs_f64() / 1e6
    );
    drop(p);

    let p = MemPostings::new();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2 {
            let p = &p;
            s.spawn(move || {
                for (r, l) in series.iter().enumerate().skip(t).step_by(2) {
                    p.add(SeriesRef(r as u64 + 1), l.as_ref());
                }
            });
        }
    });
    println!(
        "2 threads: {:.2} M series/s",
        series.len() as f64 / start.elapsed().as_secs_f64() / 1e6
    );
}

fn benches(c: &mut Criterion) {
    let series = all_series();
    report(&series);
    let index = build(&series);

    let queries: Vec<(&str, Vec<Matcher>)> = vec![
        (
            "name_and_job_128k",
            vec![
                m(MatchOp::Equal, "__name__", "node_cpu_seconds_total"),
                m(MatchOp::Equal, "job", "node"),
            ],
        ),
        (
            "name_and_job_1k",
            vec![
                m(MatchOp::Equal, "__name__", "node_load1"),
                m(MatchOp::Equal, "job", "node"),
            ],
        ),
        (
            "name_and_instance_prefix_regex",
            vec![
                m(MatchOp::Equal, "__name__", "node_cpu_seconds_total"),
                m(MatchOp::Regex, "instance", "host-1.*"),
            ],
        ),
        (
            "set_regex_alone",
            vec![m(MatchOp::Regex, "mode", "user|system|iowait")],
        ),
        (
            "name_and_set_regex",
            vec![
                m(MatchOp::Equal, "__name__", "node_cpu_seconds_total"),
                m(MatchOp::Regex, "mode", "user|system|iowait"),
            ],
        ),
        (
            "name_and_not_equal",
            vec![
                m(MatchOp::Equal, "__name__", "node_cpu_seconds_total"),
                m(MatchOp::NotEqual, "mode", "idle"),
            ],
        ),
        (
            "name_and_not_regex",
            vec![
                m(MatchOp::Equal, "__name__", "node_load1"),
                m(MatchOp::NotRegex, "instance", "host-1.*"),
            ],
        ),
        (
            "high_cardinality_contains",
            vec![m(MatchOp::Regex, "container_id", ".*ab.*")],
        ),
        (
            "name_regex_case_insensitive",
            vec![m(MatchOp::Regex, "__name__", "(?i)NODE_DISK.*")],
        ),
    ];
    let mut g = c.benchmark_group("postings_for_matchers");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for (name, ms) in &queries {
        let n = postings_for_matchers(&index, ms).len();
        println!("{name}: {n} series");
        g.bench_function(*name, |b| {
            b.iter(|| postings_for_matchers(&index, black_box(ms)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("mem_postings_add");
    let batch = &series[..20_000];
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.bench_function("20k_series_into_empty", |b| {
        b.iter_batched(
            MemPostings::new,
            |p| {
                for (r, l) in batch.iter().enumerate() {
                    p.add(SeriesRef(r as u64 + 1), l.as_ref());
                }
                p
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    // The matcher alone over every value of a label, against the plain regex engine.
    let instances: Vec<String> = (0..INSTANCES).map(|i| format!("host-{i}")).collect();
    let containers = index.label_values("container_id");
    let names = index.label_values("__name__");
    let cases: [(&str, &str, &[String]); 6] = [
        ("set", "host-1|host-22|host-333|host-999", &instances),
        ("prefix", "host-1.*", &instances),
        ("contains", ".*ab.*", &containers),
        ("case_insensitive_prefix", "(?i)NODE_DISK.*", &names),
        (
            "prefiltered_regex",
            "node_[a-z]+_metric_1[0-9]?_total",
            &names,
        ),
        (
            "alternation_with_wildcards",
            "node_cpu.*|node_load.*|.*_bytes",
            &names,
        ),
    ];
    let mut g = c.benchmark_group("matcher");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    for (name, pattern, values) in cases {
        g.throughput(Throughput::Elements(values.len() as u64));
        let fast = m(MatchOp::Regex, "l", pattern);
        let plain = regex::Regex::new(&format!("^(?s:{pattern})$")).unwrap();
        let a = values.iter().filter(|v| fast.matches(v)).count();
        assert_eq!(a, values.iter().filter(|v| plain.is_match(v)).count());
        g.bench_function(format!("{name}/ember"), |b| {
            b.iter(|| values.iter().filter(|v| fast.matches(black_box(v))).count())
        });
        g.bench_function(format!("{name}/regex_crate"), |b| {
            b.iter(|| {
                values
                    .iter()
                    .filter(|v| plain.is_match(black_box(v)))
                    .count()
            })
        });
    }
    g.finish();
}

criterion_group!(postings, benches);
criterion_main!(postings);
