//! Head benchmarks on a durable database (real WAL with snappy, real `chunks_head/`):
//!
//! - `append_existing/{1,2}_threads`: one sample into each of 1M existing series per
//!   iteration, by cached ref, 1,000 samples per commit (a remote-write request's worth),
//!   from one or two threads.
//! - `wal_replay`: `Db::open` of a directory holding 100k series × 240 samples (24M
//!   samples, chunks cut into `chunks_head/` and the WAL tail), i.e. start-up time.
//!
//! `cargo bench -p ember-storage --bench head`

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ember_storage::db::{Db, DbOptions};
use ember_storage::{Labels, SeriesRef};

mod common;
use common::node_labels;

const SERIES: usize = 1_000_000;
const BATCH: usize = 1_000;
const STEP: i64 = 15_000;

/// Creates the series (one sample each) and returns their refs.
fn populate(db: &Db, n: usize) -> Vec<SeriesRef> {
    let mut refs = Vec::with_capacity(n);
    let mut app = db.appender();
    for i in 0..n {
        refs.push(app.append(None, node_labels(i).as_ref(), 0, 0.0).unwrap());
        if i % BATCH == BATCH - 1 {
            app.commit().unwrap();
        }
    }
    app.commit().unwrap();
    refs
}

/// Appends one sample at `t` to each series in `refs`, `BATCH` per commit.
fn append_round(db: &Db, refs: &[SeriesRef], t: i64) {
    let mut app = db.appender();
    let empty = Labels::empty();
    for (i, r) in refs.iter().enumerate() {
        app.append(Some(*r), empty.as_ref(), t, (t / STEP + i as i64) as f64)
            .unwrap();
        if i % BATCH == BATCH - 1 {
            app.commit().unwrap();
        }
    }
    app.commit().unwrap();
}

fn append_existing(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(DbOptions::new(tmp.path()), None).unwrap();
    let refs = populate(&db, SERIES);
    let next_t = AtomicI64::new(STEP);

    let mut g = c.benchmark_group("append_existing");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(SERIES as u64));
    for threads in [1usize, 2] {
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = next_t.fetch_add(STEP, Ordering::Relaxed);
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for part in refs.chunks(SERIES / threads) {
                            let db = &db;
                            s.spawn(move || append_round(db, part, t));
                        }
                    });
                    total += start.elapsed();
                }
                total
            })
        });
    }
    g.finish();
    db.close().unwrap();
}

fn wal_replay(c: &mut Criterion) {
    const REPLAY_SERIES: usize = 100_000;
    const REPLAY_SAMPLES: i64 = 240;
    let tmp = tempfile::tempdir().unwrap();
    {
        let db = Db::open(DbOptions::new(tmp.path()), None).unwrap();
        let refs = populate(&db, REPLAY_SERIES);
        for k in 1..REPLAY_SAMPLES {
            append_round(&db, &refs, k * STEP);
        }
        db.close().unwrap();
    }
    let mut g = c.benchmark_group("wal_replay");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(
        REPLAY_SERIES as u64 * REPLAY_SAMPLES as u64,
    ));
    g.bench_function("open_100k_series_x_240_samples", |b| {
        b.iter(|| {
            let db = Db::open(DbOptions::new(tmp.path()), None).unwrap();
            assert_eq!(db.stats().head_series, REPLAY_SERIES as u64);
            db.close().unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, append_existing, wal_replay);
criterion_main!(benches);
