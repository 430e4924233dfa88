//! Interop: Ember opens a data directory written by a real Prometheus (Debian's 2.42).
//!
//! Prometheus is fed through its remote-write receiver with a known set of series, enough
//! samples per series that it cuts chunks into `chunks_head/`, then killed with SIGKILL
//! (no clean shutdown). Ember then opens the directory: its querier must return exactly
//! the samples that were sent, bit for bit (NaN payloads, the stale marker and infinities
//! included).
//!
//! Without a `prometheus` binary the test is skipped with a loud message, unless
//! `EMBER_INTEROP=require` (as in CI), where it fails.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ember_storage::chunkenc::{stale_nan, SampleIterator, ValueType};
use ember_storage::db::{Db, DbOptions};
use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::querier::Querier;
use ember_storage::Labels;
use prost::Message;

mod remote {
    //! The remote-write 1.0 messages (prometheus/prompb/types.proto, remote.proto).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }
}

fn prometheus_binary() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/prometheus");
    if p.exists() {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("prometheus"))
            .find(|p| p.exists())
    })
}

/// Skips loudly, or fails when interop tests are required.
fn interop_unavailable(what: &str) {
    if std::env::var("EMBER_INTEROP").as_deref() == Ok("require") {
        panic!("EMBER_INTEROP=require but {what} is not available");
    }
    eprintln!("\n======== SKIPPED: {what} is not installed; interop test not run ========\n");
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_ready(base: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("prometheus exited early: {status}");
        }
        if let Ok(r) = ureq::get(&format!("{base}/-/ready")).call() {
            if r.status() == 200 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("prometheus did not become ready");
}

const BASE_TS: i64 = 1_700_000_000_000;
const STEP: i64 = 15_000;
const SAMPLES: i64 = 300; // > 2 × 120: every series has full chunks in chunks_head/
const SERIES: usize = 60;

fn series_labels(i: usize) -> Vec<(String, String)> {
    vec![
        (
            "__name__".into(),
            if i.is_multiple_of(3) {
                "node_cpu_seconds_total"
            } else {
                "node_load1"
            }
            .into(),
        ),
        ("instance".into(), format!("host-{}:9100", i / 3)),
        ("job".into(), "node".into()),
        ("mode".into(), ["idle", "user", "system"][i % 3].into()),
    ]
}

fn sample_value(i: usize, k: i64) -> f64 {
    match (i, k) {
        (7, 50) => stale_nan(),
        (8, 60) => f64::NAN,
        (9, 70) => f64::INFINITY,
        (10, 80) => f64::NEG_INFINITY,
        // (-0.0 cannot be sent: proto3 drops a double equal to 0.0 from the wire.)
        (11, _) => 5e-324 * k as f64,
        _ if i.is_multiple_of(3) => (k * (i as i64 + 1)) as f64 * 0.25,
        _ => ((k as f64) * 0.1 + i as f64).sin(),
    }
}

fn write(base: &str, from: i64, to: i64) {
    let req = remote::WriteRequest {
        timeseries: (0..SERIES)
            .map(|i| remote::TimeSeries {
                labels: series_labels(i)
                    .into_iter()
                    .map(|(name, value)| remote::Label { name, value })
                    .collect(),
                samples: (from..to)
                    .map(|k| remote::Sample {
                        value: sample_value(i, k),
                        timestamp: BASE_TS + k * STEP,
                    })
                    .collect(),
            })
            .collect(),
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let resp = ureq::post(&format!("{base}/api/v1/write"))
        .set("Content-Encoding", "snappy")
        .set("Content-Type", "application/x-protobuf")
        .set("X-Prometheus-Remote-Write-Version", "0.1.0")
        .send_bytes(&body);
    match resp {
        Ok(r) => assert!(
            r.status() / 100 == 2,
            "remote write answered {}",
            r.status()
        ),
        Err(ureq::Error::Status(code, r)) => {
            let mut s = String::new();
            let _ = r.into_reader().read_to_string(&mut s);
            panic!("remote write failed: {code} {s}");
        }
        Err(e) => panic!("remote write failed: {e}"),
    }
}

fn chunk_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("chunks_head"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.metadata().map(|m| m.len() > 8).unwrap_or(false))
                .count()
        })
        .unwrap_or(0)
}

/// Starts Prometheus on `data` with the remote-write receiver; returns it and its URL.
fn start_prometheus(bin: &Path, config: &Path, data: &Path) -> (Guard, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let mut guard = Guard(child);
    wait_ready(&base, &mut guard.0);
    (guard, base)
}

#[test]
fn ember_reads_a_wal_written_by_prometheus() {
    let Some(bin) = prometheus_binary() else {
        interop_unavailable("prometheus (Debian package `prometheus`)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1h\nscrape_configs: []\n",
    )
    .unwrap();

    // First run: stopped cleanly, so Prometheus flushes its full head chunks (it buffers
    // them) into chunks_head/.
    let (mut guard, base) = start_prometheus(&bin, &config, &data);
    let half = 200;
    for from in (0..half).step_by(20) {
        write(&base, from, from + 20);
    }
    let pid = guard.0.id() as i32;
    // SAFETY: kill(2) on the PID of a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = guard.0.wait().unwrap();
    assert!(status.success(), "prometheus exited with {status}");
    assert!(
        chunk_files(&data) > 0,
        "Prometheus wrote no chunks_head/ file"
    );

    // Second run on the same directory (Prometheus replays it), more samples, then
    // SIGKILL: the newest samples exist only in the WAL.
    let (mut guard, base) = start_prometheus(&bin, &config, &data);
    for from in (half..SAMPLES).step_by(20) {
        write(&base, from, (from + 20).min(SAMPLES));
    }
    guard.0.kill().unwrap(); // SIGKILL: no clean shutdown
    guard.0.wait().unwrap();

    let db = Db::open(DbOptions::new(&data), None).expect("Ember opens Prometheus's data dir");
    let replay = db.replay_stats();
    assert!(
        replay.mmapped_chunks > 0,
        "Prometheus's chunks_head/ chunks were not loaded: {replay:?}"
    );
    assert_eq!(replay.unknown_refs, 0, "{replay:?}");
    let q = db.querier(i64::MIN, i64::MAX);
    let mut got: BTreeMap<Labels, Vec<(i64, u64)>> = BTreeMap::new();
    for s in q.select(true, None, &[all()]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((t, x.to_bits()));
        }
        assert!(it.err().is_none(), "{:?}", it.err());
        got.insert(s.labels().clone(), v);
    }
    let mut want: BTreeMap<Labels, Vec<(i64, u64)>> = BTreeMap::new();
    for i in 0..SERIES {
        want.insert(
            Labels::from_pairs(series_labels(i)),
            (0..SAMPLES)
                .map(|k| (BASE_TS + k * STEP, sample_value(i, k).to_bits()))
                .collect(),
        );
    }
    assert_eq!(got.len(), want.len(), "series count");
    for (l, w) in &want {
        assert_eq!(got.get(l), Some(w), "samples of {l}");
    }
    assert_eq!(db.stats().head_series, SERIES as u64);
    db.close().unwrap();
}

/// `{__name__=~".+"}`: every series.
fn all() -> Matcher {
    Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()
}
