//! Resident memory per active series in a durable head.
//!
//! Creates 1M node_exporter-like series and appends 120 samples to each at a 15 s interval
//! (so every series holds one full open chunk), then 360 more (2 h in all: three full
//! chunks per series moved to `chunks_head/`). Prints the growth of the process's RSS
//! (`VmRSS` from /proc/self/status, which includes the page cache pages the process has
//! mapped) divided by the number of series, and the head's own accounting.
//!
//! `cargo bench -p ember-storage --bench head_memory` (a plain program, not criterion: it
//! measures memory, not time).

use std::time::Instant;

use ember_storage::db::{Db, DbOptions};
use ember_storage::{Labels, SeriesRef};

mod common;
use common::node_labels;

const SERIES: usize = 1_000_000;
const BATCH: usize = 1_000;
const STEP: i64 = 15_000;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument (a filter) is ignored.
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(DbOptions::new(tmp.path()), None).unwrap();
    // The benchmark's own ref cache, allocated and touched before the baseline so it is
    // not counted as head memory.
    let mut refs: Vec<Option<SeriesRef>> = Vec::with_capacity(SERIES);
    refs.resize(SERIES, None);
    let before = rss_bytes();
    let started = Instant::now();
    let report = |what: &str, samples: i64| {
        let rss = rss_bytes().saturating_sub(before);
        let own = db.head().series_memory_bytes();
        println!(
            "{what}: {SERIES} series x {samples} samples: RSS growth {:.0} MiB = {:.0} B/series; head series accounting {:.0} B/series; elapsed {:.1?}",
            rss as f64 / (1 << 20) as f64,
            rss as f64 / SERIES as f64,
            own as f64 / SERIES as f64,
            started.elapsed(),
        );
    };
    for k in 0..480i64 {
        let mut app = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            let l = if r.is_none() {
                node_labels(i)
            } else {
                Labels::empty()
            };
            let v = (k * (i as i64 % 7 + 1)) as f64;
            *r = Some(app.append(*r, l.as_ref(), k * STEP, v).unwrap());
            if i % BATCH == BATCH - 1 {
                app.commit().unwrap();
            }
        }
        app.commit().unwrap();
        if k == 119 {
            report("open chunks full", k + 1);
        }
    }
    report("2 hours", 480);
    let s = db.stats();
    println!("head: {} series, {} chunks", s.head_series, s.head_chunks);
    db.close().unwrap();
}
