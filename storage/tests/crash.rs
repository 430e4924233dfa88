//! Crash safety end to end: a child process appends from several threads and reports each
//! batch once `commit` returned; the parent kills it with SIGKILL at a random moment,
//! reopens the data directory, and checks that every reported batch is there, whole, and
//! that nothing torn or invented is. Repeated over several kill/restart rounds, so replay
//! of replayed data, `chunks_head/` files and WAL repair are all exercised.
//!
//! The child is this test binary re-executed with `EMBER_CRASH_CHILD` set.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ember_storage::chunkenc::{SampleIterator, ValueType};
use ember_storage::db::{Db, DbOptions};
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::Querier;
use ember_storage::{Labels, SeriesRef};

const THREADS: usize = 3;
const SERIES_PER_THREAD: usize = 40;
const TEST_NAME: &str = "sigkill_mid_stream_loses_no_committed_sample";

fn labels(thread: usize, i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "crash_test".to_string()),
        ("thread", thread.to_string()),
        ("series", i.to_string()),
    ])
}

/// The value written at batch `k` of series `i`: checkable without a log.
fn value(thread: usize, i: usize, k: i64) -> f64 {
    (k as f64) * 1.5 + (thread * 1000 + i) as f64
}

/// Per thread: the batches stored for each series (as timestamps / 1000).
fn stored_batches(dir: &Path) -> Vec<Vec<Vec<i64>>> {
    let db = Db::open(DbOptions::new(dir), None).expect("reopen after crash");
    let q = db.querier(i64::MIN, i64::MAX);
    let mut out = vec![vec![Vec::new(); SERIES_PER_THREAD]; THREADS];
    for s in q.select(false, None, &[all()]).expect("select") {
        let s = s.expect("series");
        let t: usize = s.labels().get("thread").unwrap().parse().unwrap();
        let i: usize = s.labels().get("series").unwrap().parse().unwrap();
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            let (ts, v) = it.at();
            let k = ts / 1000;
            assert_eq!(
                v.to_bits(),
                value(t, i, k).to_bits(),
                "series {t}/{i} batch {k}"
            );
            out[t][i].push(k);
        }
        assert!(it.err().is_none());
    }
    db.close().unwrap();
    out
}

fn child_main(dir: &str) {
    let db = Db::open(DbOptions::new(dir), None).expect("child open");
    let start = stored_resume_point(&db);
    let stdout = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for (t, &resume) in start.iter().enumerate() {
            let db = &db;
            let stdout = &stdout;
            let mut k = resume;
            s.spawn(move || {
                let mut app = db.appender();
                let ls: Vec<Labels> = (0..SERIES_PER_THREAD).map(|i| labels(t, i)).collect();
                let mut refs: Vec<Option<SeriesRef>> = vec![None; SERIES_PER_THREAD];
                loop {
                    for (i, l) in ls.iter().enumerate() {
                        refs[i] = Some(
                            app.append(refs[i], l.as_ref(), k * 1000, value(t, i, k))
                                .expect("append"),
                        );
                    }
                    app.commit().expect("commit");
                    let mut out = stdout.lock().unwrap();
                    writeln!(out, "{t} {k}").unwrap();
                    out.flush().unwrap();
                    k += 1;
                }
            });
        }
    });
}

/// Where each thread continues: one past its newest stored batch.
fn stored_resume_point(db: &Db) -> Vec<i64> {
    let q = db.querier(i64::MIN, i64::MAX);
    let mut next = vec![0i64; THREADS];
    for s in q.select(false, None, &[all()]).unwrap() {
        let s = s.unwrap();
        let t: usize = s.labels().get("thread").unwrap().parse().unwrap();
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            next[t] = next[t].max(it.at().0 / 1000 + 1);
        }
    }
    next
}

#[test]
fn sigkill_mid_stream_loses_no_committed_sample() {
    if let Ok(dir) = std::env::var("EMBER_CRASH_CHILD") {
        child_main(&dir);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut committed = [-1i64; THREADS];
    for round in 0..4 {
        let mut child = Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env("EMBER_CRASH_CHILD", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Kill after a pseudo-random number of reported commits (at least a few hundred,
        // so chunks get cut and written to chunks_head/).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 300 + (seed % 900) as usize;
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = 0;
        while seen < kill_after && Instant::now() < deadline {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some((t, k)) = parse(&line) {
                        committed[t] = committed[t].max(k);
                        seen += 1;
                    }
                }
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
                               // Lines already written before the kill were committed too.
        for line in lines.map_while(Result::ok) {
            if let Some((t, k)) = parse(&line) {
                committed[t] = committed[t].max(k);
            }
        }
        child.wait().unwrap();
        assert!(seen > 0, "round {round}: the child reported no commit");

        let stored = stored_batches(&dir);
        for t in 0..THREADS {
            let first = &stored[t][0];
            for (i, batches) in stored[t].iter().enumerate() {
                // Every batch reported as committed is there, and nothing else is missing.
                let want_at_least: Vec<i64> = (0..=committed[t]).collect();
                assert!(
                    batches.len() >= want_at_least.len()
                        && batches[..want_at_least.len()] == want_at_least[..],
                    "round {round}: thread {t} series {i} lacks committed batches (committed up to {}, stored {:?}..{:?})",
                    committed[t],
                    batches.first(),
                    batches.last()
                );
                // Batches are contiguous (no gap, no invented batch)...
                assert!(batches.iter().enumerate().all(|(n, k)| *k == n as i64));
                // ...and whole: every series of a thread has the same batches.
                assert_eq!(batches, first, "round {round}: torn batch in thread {t}");
            }
            committed[t] = first.last().copied().unwrap_or(-1);
        }
    }
}

fn parse(line: &str) -> Option<(usize, i64)> {
    let (t, k) = line.split_once(' ')?;
    Some((t.parse().ok()?, k.parse().ok()?))
}

/// `{__name__=~".+"}`: every series.
fn all() -> Matcher {
    Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()
}
