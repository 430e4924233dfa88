//! The receiver's decode and append path, in process: decoding a 2000-sample remote-write
//! 1.0 request of the node_exporter-like workload, and decompressing, decoding, appending
//! and committing it (WAL included) to a durable database whose series already exist
//! (the steady state of a remote-write stream).
//!
//! The receiver's modules are compiled in from the daemon's sources.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ember_bench::workload::Workload;
use ember_storage::db::{Db, DbOptions};
use prost::Message;

mod remote_write;

use remote_write::decode::V1Request;
use remote_write::ingest::{self, Protocol, Scratch};
use remote_write::metrics::ReceiverMetrics;

const SERIES: usize = 20_000;
const BATCH: usize = 2000;

fn bench(c: &mut Criterion) {
    let workload = Workload::new(SERIES);
    let t0 = 1_700_000_000_000i64;
    let batch: Vec<usize> = (0..BATCH).collect();

    let mut group = c.benchmark_group("remote_write");
    group.throughput(Throughput::Elements(BATCH as u64));

    let body = workload.request_message(&batch, t0, 0).encode_to_vec();
    let mut req = V1Request::default();
    group.bench_function("decode_2000_samples", |b| {
        b.iter(|| req.decode(std::hint::black_box(&body)).unwrap())
    });

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(DbOptions::new(dir.path()), None).unwrap();
    let metrics = ReceiverMetrics::unregistered();
    let mut scratch = Scratch::default();
    let mut encoder = snap::raw::Encoder::new();
    let mut step = 0u64;
    let mut next = |chunk: usize| {
        // Series of the whole workload, one 2000-series chunk after the other.
        let series: Vec<usize> = (chunk * BATCH..(chunk + 1) * BATCH).collect();
        let t = t0 + step as i64 * 15_000;
        encoder
            .compress_vec(&workload.request_message(&series, t, step).encode_to_vec())
            .unwrap()
    };
    // Create every series first.
    for chunk in 0..SERIES / BATCH {
        let body = next(chunk);
        ingest::decompress(&body, &mut scratch).unwrap();
        let mut app = db.appender();
        ingest::ingest(&mut app, Protocol::V1, t0, &mut scratch, &metrics).unwrap();
    }
    let mut chunk = 0;
    group.bench_function("decompress_decode_append_commit_2000_samples", |b| {
        b.iter_batched(
            || {
                chunk = (chunk + 1) % (SERIES / BATCH);
                if chunk == 0 {
                    step += 1;
                }
                let series: Vec<usize> = (chunk * BATCH..(chunk + 1) * BATCH).collect();
                let t = t0 + step as i64 * 15_000;
                snap::raw::Encoder::new()
                    .compress_vec(&workload.request_message(&series, t, step).encode_to_vec())
                    .unwrap()
            },
            |body| {
                ingest::decompress(&body, &mut scratch).unwrap();
                let mut app = db.appender();
                let out =
                    ingest::ingest(&mut app, Protocol::V1, i64::MAX / 2, &mut scratch, &metrics)
                        .unwrap();
                assert!(out.errors.is_empty(), "{}", out.errors.message());
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    db.close().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
