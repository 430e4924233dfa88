//! WAL interoperability with real Prometheus: Ember reads a WAL Prometheus wrote, and
//! Prometheus (`promtool tsdb dump`, which replays the WAL into a head) reads Ember's.
//!
//! The fixture test always runs. The live tests run the Debian `prometheus`/`promtool`
//! binaries when installed, are skipped otherwise, and fail when they are missing with
//! `EMBER_INTEROP=require`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ember_storage::wal::record::{self, Decoder, RecordType, RefSample, RefSeries};
use ember_storage::wal::{Reader, SegmentRange, Wal, WalCompression, WalOptions};
use ember_storage::{Labels, SeriesRef};

/// Series and samples decoded from a WAL directory.
struct Decoded {
    series: HashMap<SeriesRef, Labels>,
    samples: Vec<RefSample>,
    records: usize,
}

fn decode(wal_dir: &Path) -> Decoded {
    let mut reader = Reader::open(&[SegmentRange::all(wal_dir)]).unwrap();
    let mut dec = Decoder::new();
    let (mut series, mut samples, mut batch) = (HashMap::new(), Vec::new(), Vec::new());
    let mut records = 0;
    while let Some(rec) = reader.next().unwrap() {
        records += 1;
        match RecordType::of(rec).unwrap() {
            RecordType::Series => {
                batch.clear();
                dec.series(rec, &mut batch).unwrap();
                for s in batch.drain(..) {
                    let s: RefSeries = s;
                    series.insert(s.series, s.labels);
                }
            }
            RecordType::Samples | RecordType::SamplesV2 => dec.samples(rec, &mut samples).unwrap(),
            _ => {} // metadata, exemplars, ...: not compared here
        }
    }
    Decoded {
        series,
        samples,
        records,
    }
}

/// Per series (labels as Prometheus prints them): number of samples, first and last
/// timestamp.
type Summary = BTreeMap<String, (usize, i64, i64)>;

fn summarize(d: &Decoded) -> Summary {
    let mut out = Summary::new();
    for s in &d.samples {
        let labels = d
            .series
            .get(&s.series)
            .unwrap_or_else(|| panic!("sample of unknown series {:?}", s.series));
        let e = out
            .entry(labels.to_string())
            .or_insert((0, i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 = e.1.min(s.t);
        e.2 = e.2.max(s.t);
    }
    out
}

/// Summarises `promtool tsdb dump` output (`{labels} value timestamp` lines).
fn summarize_dump(dump: &str) -> Summary {
    let mut out = Summary::new();
    for line in dump.lines() {
        let (labels, rest) = line.rsplit_once("} ").unwrap();
        let t: i64 = rest.split(' ').nth(1).unwrap().parse().unwrap();
        let e = out
            .entry(format!("{labels}}}"))
            .or_insert((0, i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 = e.1.min(t);
        e.2 = e.2.max(t);
    }
    out
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prometheus-2.42")
}

#[test]
fn reads_a_wal_written_by_prometheus_2_42() {
    let d = decode(&fixture().join("wal"));
    let expected: Summary = std::fs::read_to_string(fixture().join("expected.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                (
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(expected.len(), 336);
    assert_eq!(summarize(&d), expected);
    let up: Vec<f64> = d
        .samples
        .iter()
        .filter(|s| d.series[&s.series].metric_name() == Some("up"))
        .map(|s| s.v)
        .collect();
    assert_eq!(up, vec![1.0; 15]);
}

fn tool(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("EMBER_INTEROP").as_deref() == Ok("require") {
        panic!(
            "EMBER_INTEROP=require but {} is not installed",
            path.display()
        );
    }
    eprintln!("skipping: {} is not installed", path.display());
    None
}

fn promtool_dump(promtool: &Path, data: &Path) -> String {
    let out = Command::new(promtool)
        .args(["tsdb", "dump"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn prometheus_reads_a_wal_written_by_ember() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    // Prometheus 2.42 reads snappy and uncompressed records (zstd came later).
    for compression in [WalCompression::None, WalCompression::Snappy] {
        let data = tempfile::tempdir().unwrap();
        let wal = Wal::open(
            data.path().join("wal"),
            WalOptions {
                segment_size: 64 * 1024,
                compression,
                ..WalOptions::default()
            },
        )
        .unwrap();
        // 1500 series with long labels: their series record spans several pages, and the
        // small segments make the writer roll over several times.
        let series: Vec<RefSeries> = (0..1500u64)
            .map(|i| RefSeries {
                series: SeriesRef(i + 1),
                labels: Labels::from_pairs([
                    ("__name__", format!("ember_metric_{}", i % 7)),
                    ("instance", format!("host-{i}.example:9100")),
                    ("padding", "x".repeat(40)),
                ]),
            })
            .collect();
        let mut rec = Vec::new();
        record::encode_series(&series, &mut rec);
        wal.log(&[&rec]).unwrap();
        let t0 = 1_700_000_000_000i64;
        let mut written = BTreeMap::new();
        for scrape in 0..20i64 {
            let samples: Vec<RefSample> = series
                .iter()
                .map(|s| RefSample {
                    series: s.series,
                    t: t0 + scrape * 15_000,
                    v: (s.series.0 as f64) * 0.25 + scrape as f64,
                })
                .collect();
            for s in &samples {
                written.insert(
                    (series[(s.series.0 - 1) as usize].labels.to_string(), s.t),
                    s.v,
                );
            }
            rec.clear();
            record::encode_samples(&samples, &mut rec);
            wal.log(&[&rec]).unwrap();
        }
        wal.close().unwrap();
        assert!(wal.segments().unwrap().unwrap().1 >= 2);

        let dump = promtool_dump(&promtool, data.path());
        let mut read = BTreeMap::new();
        for line in dump.lines() {
            let (labels, rest) = line.rsplit_once("} ").unwrap();
            let mut f = rest.split(' ');
            let v: f64 = f.next().unwrap().parse().unwrap();
            let t: i64 = f.next().unwrap().parse().unwrap();
            read.insert((format!("{labels}}}"), t), v);
        }
        assert_eq!(read.len(), 30_000, "{compression:?}");
        assert!(
            read == written,
            "{compression:?}: promtool read other samples than Ember wrote"
        );
    }
}

#[test]
fn reads_the_wal_of_a_running_prometheus_after_a_kill() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 500ms\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            data.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(8));
    // SIGKILL: a crash, leaving the last page unpadded.
    child.kill().unwrap();
    child.wait().unwrap();

    let d = decode(&data.path().join("data/wal"));
    assert!(d.records > 5, "{} records", d.records);
    assert!(d.series.len() > 100, "{} series", d.series.len());
    let summary = summarize(&d);
    let up = format!("{{__name__=\"up\", instance=\"127.0.0.1:{port}\", job=\"self\"}}");
    assert!(
        summary.get(&up).is_some_and(|s| s.0 >= 3),
        "{:?}",
        summary.get(&up)
    );
    if let Some(promtool) = tool("promtool") {
        assert_eq!(
            summary,
            summarize_dump(&promtool_dump(&promtool, &data.path().join("data")))
        );
    }
}
