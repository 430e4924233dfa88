//! WAL throughput: appending samples records, and reading + decoding a WAL back (the
//! start-up replay path).
//!
//! `cargo bench -p ember-storage --bench wal`

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ember_storage::wal::record::{self, Decoder, RecordType, RefSample, RefSeries};
use ember_storage::wal::{Reader, SegmentRange, Wal, WalCompression, WalOptions};
use ember_storage::{Labels, SeriesRef};

const SERIES: u64 = 1000;

/// One scrape's samples record: 1000 series, one timestamp, counter-like values.
fn samples_record(scrape: i64, out: &mut Vec<u8>, samples: &mut Vec<RefSample>) {
    samples.clear();
    for i in 0..SERIES {
        samples.push(RefSample {
            series: SeriesRef(i + 1),
            t: 1_700_000_000_000 + scrape * 15_000,
            v: ((i * 7919 + scrape as u64 * (i % 13 + 1)) % 100_000) as f64,
        });
    }
    out.clear();
    record::encode_samples(samples, out);
}

fn series_record(out: &mut Vec<u8>) {
    let series: Vec<RefSeries> = (0..SERIES)
        .map(|i| RefSeries {
            series: SeriesRef(i + 1),
            labels: Labels::from_pairs([
                ("__name__", format!("node_metric_{}", i % 50)),
                ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
                ("job", "node".to_string()),
            ]),
        })
        .collect();
    out.clear();
    record::encode_series(&series, out);
}

fn bench_log(c: &mut Criterion) {
    let mut rec = Vec::new();
    let mut samples = Vec::new();
    samples_record(1, &mut rec, &mut samples);
    let mut group = c.benchmark_group("wal_log_1000_samples");
    group.measurement_time(Duration::from_secs(5));
    for compression in [
        WalCompression::None,
        WalCompression::Snappy,
        WalCompression::Zstd,
    ] {
        for (unit, throughput) in [
            ("bytes", Throughput::Bytes(rec.len() as u64)),
            ("samples", Throughput::Elements(SERIES)),
        ] {
            group.throughput(throughput);
            let id = BenchmarkId::new(format!("{compression:?}"), unit);
            group.bench_function(id, |b| {
                let dir = tempfile::tempdir().unwrap();
                let wal = Wal::open(
                    dir.path(),
                    WalOptions {
                        compression,
                        ..WalOptions::default()
                    },
                )
                .unwrap();
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    let mut done = 0;
                    while done < iters {
                        let n = (iters - done).min(2000);
                        let start = Instant::now();
                        for _ in 0..n {
                            wal.log(&[black_box(&rec)]).unwrap();
                        }
                        elapsed += start.elapsed();
                        done += n;
                        // Keep the disk footprint small (untimed).
                        let cur = wal.current_segment().unwrap();
                        wal.truncate(cur).unwrap();
                    }
                    elapsed
                });
            });
        }
    }
    group.finish();
}

/// Writes a WAL of `scrapes` samples records of 1000 samples (plus the series record).
fn build_wal(dir: &Path, scrapes: i64, compression: WalCompression) {
    let wal = Wal::open(
        dir,
        WalOptions {
            compression,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let mut rec = Vec::new();
    let mut samples = Vec::new();
    series_record(&mut rec);
    wal.log(&[&rec]).unwrap();
    for s in 0..scrapes {
        samples_record(s, &mut rec, &mut samples);
        wal.log(&[&rec]).unwrap();
    }
    wal.close().unwrap();
}

/// Reads every record and decodes series and samples; returns the number of samples.
fn replay(
    dir: &Path,
    dec: &mut Decoder,
    series: &mut Vec<RefSeries>,
    samples: &mut Vec<RefSample>,
) -> usize {
    let mut reader = Reader::open(&[SegmentRange::all(dir)]).unwrap();
    let mut n = 0;
    while let Some(rec) = reader.next().unwrap() {
        match RecordType::of(rec) {
            Ok(RecordType::Samples) => {
                samples.clear();
                dec.samples(rec, samples).unwrap();
                n += samples.len();
            }
            Ok(RecordType::Series) => {
                series.clear();
                dec.series(rec, series).unwrap();
            }
            _ => {}
        }
    }
    n
}

fn bench_replay(c: &mut Criterion) {
    const SCRAPES: i64 = 4000; // 4 M samples
    let mut group = c.benchmark_group("wal_replay_4M_samples");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for compression in [WalCompression::Snappy, WalCompression::None] {
        let dir = tempfile::tempdir().unwrap();
        build_wal(dir.path(), SCRAPES, compression);
        let bytes: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        eprintln!(
            "{compression:?} WAL of {} samples: {bytes} bytes on disk",
            SCRAPES as u64 * SERIES
        );
        group.throughput(Throughput::Elements(SCRAPES as u64 * SERIES));
        let (mut dec, mut series, mut samples) = (Decoder::new(), Vec::new(), Vec::new());
        group.bench_function(format!("{compression:?}"), |b| {
            b.iter(|| {
                let n = replay(dir.path(), &mut dec, &mut series, &mut samples);
                assert_eq!(n as u64, SCRAPES as u64 * SERIES);
            })
        });
    }
    group.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_decode");
    let mut rec = Vec::new();
    let mut samples = Vec::new();
    samples_record(3, &mut rec, &mut samples);
    group.throughput(Throughput::Elements(SERIES));
    let mut dec = Decoder::new();
    let mut out = Vec::with_capacity(SERIES as usize);
    group.bench_function("samples_1000", |b| {
        b.iter(|| {
            out.clear();
            dec.samples(black_box(&rec), &mut out).unwrap();
            out.len()
        })
    });
    group.bench_function("encode_samples_1000", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            buf.clear();
            record::encode_samples(black_box(&samples), &mut buf);
            buf.len()
        })
    });
    series_record(&mut rec);
    let mut series = Vec::new();
    group.bench_function("series_1000", |b| {
        b.iter(|| {
            series.clear();
            dec.series(black_box(&rec), &mut series).unwrap();
            series.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode, bench_log, bench_replay);
criterion_main!(benches);
