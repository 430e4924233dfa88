//! The WAL's steady state allocates nothing per call: `Wal::log`, and `Reader::next` with
//! sample decoding into a reused vector. Counted with a global allocator that counts the
//! allocations of the thread under test only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ember_storage::wal::record::{self, Decoder, RefSample};
use ember_storage::wal::{Reader, SegmentRange, Wal, WalCompression, WalOptions};
use ember_storage::SeriesRef;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; the bookkeeping touches only const-initialised
// thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn steady_state_does_not_allocate() {
    for compression in [
        WalCompression::None,
        WalCompression::Snappy,
        WalCompression::Zstd,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(
            dir.path(),
            // Default 128 MiB segments: no segment is started during the measurement (starting
            // one allocates: a path, a file, a background fsync thread).
            WalOptions {
                compression,
                ..WalOptions::default()
            },
        )
        .unwrap();
        let samples: Vec<RefSample> = (0..1000)
            .map(|i| RefSample {
                series: SeriesRef(i),
                t: 1000,
                v: (i % 10) as f64,
            })
            .collect();
        let mut rec = Vec::new();
        record::encode_samples(&samples, &mut rec);
        let big = vec![7u8; 100_000];
        // Warm up: buffers grow to their steady size.
        for _ in 0..3 {
            wal.log(&[&rec, &big]).unwrap();
        }
        let n = allocations(|| {
            for _ in 0..120 {
                wal.log(&[&rec]).unwrap();
                wal.log(&[&rec, &big]).unwrap();
            }
        });
        assert_eq!(n, 0, "{compression:?}: allocations in Wal::log");
        wal.close().unwrap();

        let mut reader = Reader::open(&[SegmentRange::all(dir.path())]).unwrap();
        let mut dec = Decoder::new();
        let mut out = Vec::new();
        // Warm up past a few page boundaries, so that records assembled from several
        // fragments have been seen.
        for _ in 0..150 {
            let r = reader.next().unwrap().unwrap();
            if r[0] == 2 {
                out.clear();
                dec.samples(r, &mut out).unwrap();
            }
        }
        let n = allocations(|| {
            for _ in 0..100 {
                let r = reader.next().unwrap().unwrap();
                if r[0] == 2 {
                    out.clear();
                    dec.samples(r, &mut out).unwrap();
                    assert_eq!(out.len(), 1000);
                }
            }
        });
        assert_eq!(
            n, 0,
            "{compression:?}: allocations in Reader::next + decoding"
        );
    }
}
