//! Head chunk files: the cost of cutting a chunk to disk, of reading it back, and of the
//! start-up scan. Chunks are 150 bytes, about what 120 XOR-encoded samples take.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ember_storage::chunkenc::Encoding;
use ember_storage::chunks_head::{ChunkDiskMapper, ChunkDiskMapperOptions, ChunkDiskRef};
use ember_storage::SeriesRef;

const CHUNK_LEN: usize = 150;

fn data() -> Vec<u8> {
    (0..CHUNK_LEN).map(|i| (i * 7) as u8).collect()
}

fn open(dir: &std::path::Path) -> ChunkDiskMapper {
    ChunkDiskMapper::open(dir, ChunkDiskMapperOptions::default()).unwrap()
}

/// Writes `n` chunks from `threads` threads at once into a fresh directory and returns the
/// time taken. Every 100k chunks one thread truncates all files away, as compaction would, so
/// long runs do not fill the disk; that cost is included.
fn timed_writes(n: u64, threads: u64) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let m = open(dir.path());
    let d = data();
    let per = n.div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (m, d) = (&m, &d);
            s.spawn(move || {
                for i in 0..per {
                    m.write_chunk(
                        SeriesRef(t + 1 + i % 1000 * threads),
                        i as i64,
                        i as i64 + 1,
                        Encoding::Xor,
                        d,
                    )
                    .unwrap();
                    if t == 0 && i % 100_000 == 99_999 {
                        m.truncate(i64::MAX).unwrap();
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();
    m.close().unwrap();
    elapsed
}

fn write(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunks_head/write_chunk");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("1_thread", |b| b.iter_custom(|n| timed_writes(n, 1)));
    g.bench_function("4_threads", |b| b.iter_custom(|n| timed_writes(n, 4)));
    g.finish();
}

/// 100k chunks in the files (and flushed), read in a scattered order.
fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let m = open(dir.path());
    let d = data();
    let refs: Vec<ChunkDiskRef> = (0..100_000u64)
        .map(|i| {
            m.write_chunk(SeriesRef(i + 1), 0, 1, Encoding::Xor, &d)
                .unwrap()
        })
        .collect();
    m.flush().unwrap();
    let mut g = c.benchmark_group("chunks_head/chunk");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("mapped", |b| {
        b.iter(|| {
            i = (i + 7919) % refs.len();
            let c = m.chunk(refs[i]).unwrap();
            c.data().len()
        })
    });
    // The last ~4 MiB of chunks stay in the write buffer until it fills.
    let buffered: Vec<ChunkDiskRef> = (0..1000u64)
        .map(|i| {
            m.write_chunk(SeriesRef(i + 1), 0, 1, Encoding::Xor, &d)
                .unwrap()
        })
        .collect();
    g.bench_function("buffered", |b| {
        b.iter(|| {
            i = (i + 7919) % buffered.len();
            let c = m.chunk(buffered[i]).unwrap();
            c.data().len()
        })
    });
    g.finish();
}

/// Start-up: open a directory with 1M chunks (~190 MB, 2 files) and iterate them all.
fn iterate(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    {
        let m = open(dir.path());
        let d = data();
        for i in 0..N {
            m.write_chunk(
                SeriesRef(i % 10_000 + 1),
                i as i64,
                i as i64,
                Encoding::Xor,
                &d,
            )
            .unwrap();
        }
        m.close().unwrap();
    }
    let mut g = c.benchmark_group("chunks_head/iterate_all_chunks");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function("1M_chunks", |b| {
        b.iter_batched(
            || open(dir.path()),
            |m| {
                let mut samples = 0u64;
                m.iterate_all_chunks(|meta| {
                    samples += u64::from(meta.num_samples);
                    Ok(())
                })
                .unwrap();
                samples
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, write, read, iterate);
criterion_main!(benches);
