//! XOR chunk encode and decode speed on 120-sample chunks (a full head chunk) of
//! realistic data. Run: `cargo bench -p ember-storage --bench chunkenc`.
//!
//! Throughput is reported per sample; the compressed size of each data set is printed
//! once (bytes/sample) when the benchmark starts.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ember_storage::chunkenc::{SampleIterator, ValueType, XorChunk, XorIterator};

const SAMPLES: usize = 120;
const START: i64 = 1_700_000_000_000;

/// xorshift64*: deterministic data without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// 15 s scrape interval with up to ±3 ms of jitter.
fn scrape_times(rng: &mut Rng) -> Vec<i64> {
    (0..SAMPLES as i64)
        .map(|i| START + i * 15_000 + rng.range(-3, 3))
        .collect()
}

/// A counter (e.g. requests served) growing by small varying amounts.
fn counter() -> Vec<(i64, f64)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut v = 1_234_567.0;
    scrape_times(&mut rng)
        .into_iter()
        .map(|t| {
            v += rng.range(0, 30) as f64;
            (t, v)
        })
        .collect()
}

/// A gauge (e.g. a temperature) as a random walk with 2-3 significant digits.
fn gauge() -> Vec<(i64, f64)> {
    let mut rng = Rng(0xd1b5_4a32_d192_ed03);
    let mut tenths: i64 = 425; // 42.5
    scrape_times(&mut rng)
        .into_iter()
        .map(|t| {
            tenths = (tenths + rng.range(-5, 5)).clamp(10, 999);
            (t, tenths as f64 / 10.0)
        })
        .collect()
}

/// A constant (e.g. `up`) scraped on an exact interval.
fn constant() -> Vec<(i64, f64)> {
    (0..SAMPLES as i64)
        .map(|i| (START + i * 15_000, 1.0))
        .collect()
}

fn encode(samples: &[(i64, f64)]) -> XorChunk {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, v);
    }
    c
}

/// Decodes every sample, folding them cheaply (integer adds, not a float-add chain) so
/// that the measurement is the decoder's.
fn decode(bytes: &[u8]) -> (i64, u64) {
    let mut it = XorIterator::new(bytes);
    let (mut ts, mut vs) = (0i64, 0u64);
    while it.next() == ValueType::Float {
        let (t, v) = it.at();
        ts = ts.wrapping_add(t);
        vs = vs.wrapping_add(v.to_bits());
    }
    (ts, vs)
}

fn data_sets() -> Vec<(&'static str, Vec<(i64, f64)>)> {
    let sets = vec![
        ("counter", counter()),
        ("gauge", gauge()),
        ("constant", constant()),
    ];
    for (name, samples) in &sets {
        let bytes = encode(samples).bytes().len();
        eprintln!(
            "{name}: {SAMPLES} samples in {bytes} bytes = {:.2} bytes/sample",
            bytes as f64 / SAMPLES as f64
        );
    }
    sets
}

fn bench(c: &mut Criterion) {
    let sets = data_sets();

    let mut g = c.benchmark_group("xor_encode");
    g.throughput(Throughput::Elements(SAMPLES as u64));
    for (name, samples) in &sets {
        g.bench_with_input(BenchmarkId::from_parameter(name), samples, |b, s| {
            b.iter(|| encode(black_box(s)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("xor_decode");
    g.throughput(Throughput::Elements(SAMPLES as u64));
    for (name, samples) in &sets {
        let chunk = encode(samples);
        g.bench_with_input(
            BenchmarkId::from_parameter(name),
            chunk.bytes(),
            |b, bytes| b.iter(|| decode(black_box(bytes))),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
