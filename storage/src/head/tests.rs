//! Behaviour of the head as a whole: Prometheus's append rules, query semantics, and
//! concurrent appenders. Expected values come from Prometheus's documented behaviour
//! (storage/interface.go errors, tsdb head append rules), not from Ember's output.

use std::sync::Arc;

use crate::chunkenc::{is_stale_nan, stale_nan, SampleIterator, ValueType};
use crate::labels::Labels;
use crate::matcher::{MatchOp, Matcher};
use crate::querier::{LabelHints, Querier, Series};

use super::*;

const HOUR: i64 = 3600 * 1000;

fn head() -> Arc<Head> {
    Head::in_memory(HeadOptions {
        stripes: 64,
        ..HeadOptions::default()
    })
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).expect("valid matcher")
}

/// `{__name__=~".+"}`: every series (a selection needs at least one matcher).
fn all() -> Vec<Matcher> {
    vec![m(MatchOp::Regex, "__name__", ".+")]
}

fn samples(s: &Series) -> Vec<(i64, f64)> {
    let mut it = s.iter();
    let mut out = Vec::new();
    while it.next() == ValueType::Float {
        out.push(it.at());
    }
    assert!(it.err().is_none(), "iteration error: {:?}", it.err());
    out
}

fn select_all(
    h: &Arc<Head>,
    mint: i64,
    maxt: i64,
    ms: &[Matcher],
) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let q = h.querier(mint, maxt);
    q.select(true, None, ms)
        .expect("select")
        .map(|s| {
            let s = s.expect("series");
            let v = samples(&s);
            (s.labels().clone(), v)
        })
        .collect()
}

fn up(job: &str) -> Labels {
    Labels::from_pairs([("__name__", "up"), ("job", job)])
}

#[test]
fn appended_samples_are_visible_after_commit_only() {
    let h = head();
    let mut app = h.appender();
    app.append(None, up("a").as_ref(), 1000, 1.0).unwrap();
    app.append(None, up("a").as_ref(), 2000, 2.0).unwrap();
    assert!(select_all(&h, 0, 10_000, &[m(MatchOp::Equal, "job", "a")]).is_empty());
    let stats = app.commit().unwrap();
    assert_eq!(stats.appended, 2);
    assert_eq!(stats.series_created, 1);
    let got = select_all(&h, 0, 10_000, &[m(MatchOp::Equal, "job", "a")]);
    assert_eq!(got, vec![(up("a"), vec![(1000, 1.0), (2000, 2.0)])]);
    assert_eq!(h.stats().series, 1);
    assert_eq!((h.min_time(), h.max_time()), (1000, 2000));
}

#[test]
fn rollback_discards_samples_but_keeps_series() {
    let h = head();
    let mut app = h.appender();
    app.append(None, up("a").as_ref(), 1000, 1.0).unwrap();
    app.rollback().unwrap();
    assert!(select_all(&h, 0, 10_000, &all()).is_empty());
    // Prometheus keeps series created by a rolled-back appender (until head GC).
    assert_eq!(h.stats().series, 1);
    // Dropping an appender with pending samples rolls back too.
    {
        let mut app = h.appender();
        app.append(None, up("a").as_ref(), 1000, 1.0).unwrap();
    }
    assert!(select_all(&h, 0, 10_000, &all()).is_empty());
}

#[test]
fn prometheus_append_rules() {
    let h = head();
    let mut app = h.appender();
    let r = app.append(None, up("a").as_ref(), 10_000, 1.0).unwrap();
    app.commit().unwrap();

    // Older than the newest sample: "out of order sample".
    let e = app
        .append(Some(r), up("a").as_ref(), 9_000, 1.0)
        .unwrap_err();
    assert_eq!(e.to_string(), "out of order sample");
    // Same timestamp, different value: Prometheus's duplicate message with %g values.
    let e = app
        .append(Some(r), up("a").as_ref(), 10_000, 2.5)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "duplicate sample for timestamp 10000; overrides not allowed: existing 1, new value 2.5"
    );
    // Same timestamp and value: accepted as a no-op.
    assert_eq!(
        app.append(Some(r), up("a").as_ref(), 10_000, 1.0).unwrap(),
        r
    );
    // More than half a block range behind the newest sample: "out of bounds".
    let e = app
        .append(None, up("b").as_ref(), 10_000 - HOUR - 1, 1.0)
        .unwrap_err();
    assert_eq!(e.to_string(), "out of bounds");
    // Exactly at the bound is fine.
    app.append(None, up("c").as_ref(), 10_000 - HOUR, 1.0)
        .unwrap();
    // Empty label set.
    let e = app
        .append(None, Labels::empty().as_ref(), 10_000, 1.0)
        .unwrap_err();
    assert_eq!(e.to_string(), "empty labelset: invalid sample");
    app.commit().unwrap();
    let got = select_all(
        &h,
        i64::MIN,
        i64::MAX,
        &[m(MatchOp::Equal, "__name__", "up")],
    );
    assert_eq!(
        got,
        vec![
            (up("a"), vec![(10_000, 1.0)]),
            (up("c"), vec![(10_000 - HOUR, 1.0)]),
        ]
    );
}

#[test]
fn append_by_unknown_ref_falls_back_to_labels() {
    let h = head();
    let mut app = h.appender();
    let r = app
        .append(Some(SeriesRef(9999)), up("a").as_ref(), 1, 1.0)
        .unwrap();
    assert_ne!(r, SeriesRef(9999));
    app.commit().unwrap();
    assert_eq!(h.series_ref(up("a").as_ref()), Some(r));
}

#[test]
fn stale_markers_and_special_values_round_trip() {
    let h = head();
    let mut app = h.appender();
    let l = up("a");
    let values = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        stale_nan(),
        1e-310,
    ];
    for (i, v) in values.iter().enumerate() {
        app.append(None, l.as_ref(), i as i64 * 1000, *v).unwrap();
    }
    app.commit().unwrap();
    let got = select_all(&h, 0, 100_000, &all());
    let bits: Vec<u64> = got[0].1.iter().map(|(_, v)| v.to_bits()).collect();
    let want: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, want);
    assert!(is_stale_nan(got[0].1[5].1));
    assert!(!is_stale_nan(got[0].1[4].1));
}

#[test]
fn queries_trim_to_the_range_and_seek() {
    let h = head();
    let mut app = h.appender();
    for i in 0..1000 {
        app.append(None, up("a").as_ref(), i * 15_000, i as f64)
            .unwrap();
    }
    app.commit().unwrap();
    // Inclusive bounds, across several chunks.
    let got = select_all(&h, 15_000 * 100, 15_000 * 700, &all());
    let ts: Vec<i64> = got[0].1.iter().map(|s| s.0).collect();
    assert_eq!(ts.len(), 601);
    assert_eq!(ts[0], 15_000 * 100);
    assert_eq!(*ts.last().unwrap(), 15_000 * 700);

    let q = h.querier(0, i64::MAX);
    let series: Vec<Series> = q
        .select(false, None, &all())
        .unwrap()
        .map(|s| s.unwrap())
        .collect();
    let mut it = series[0].iter();
    assert_eq!(it.seek(15_000 * 500 + 1), ValueType::Float);
    assert_eq!(it.at(), (15_000 * 501, 501.0));
    // Seeking backwards is a no-op.
    assert_eq!(it.seek(0), ValueType::Float);
    assert_eq!(it.at().0, 15_000 * 501);
    assert_eq!(it.next(), ValueType::Float);
    assert_eq!(it.at().0, 15_000 * 502);
    assert_eq!(it.seek(15_000 * 2000), ValueType::None);
    assert_eq!(it.next(), ValueType::None);
}

#[test]
fn series_without_samples_in_range_are_not_returned() {
    let h = head();
    let mut app = h.appender();
    app.append(None, up("a").as_ref(), 1_000, 1.0).unwrap();
    app.append(None, up("b").as_ref(), 50_000, 1.0).unwrap();
    app.commit().unwrap();
    let got = select_all(&h, 10_000, 60_000, &all());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, up("b"));
}

#[test]
fn matchers_labels_and_values() {
    let h = head();
    let mut app = h.appender();
    let mk = |name: &str, job: &str, inst: &str| {
        Labels::from_pairs([("__name__", name), ("job", job), ("instance", inst)])
    };
    let all = [
        mk("up", "node", "a:9100"),
        mk("up", "node", "b:9100"),
        mk("up", "api", "a:8080"),
        mk("http_requests_total", "api", "a:8080"),
    ];
    for l in &all {
        app.append(None, l.as_ref(), 1000, 1.0).unwrap();
    }
    // A series whose only label set lacks `job`.
    app.append(
        None,
        Labels::from_pairs([("__name__", "lonely")]).as_ref(),
        1000,
        1.0,
    )
    .unwrap();
    app.commit().unwrap();

    let names = |ms: &[Matcher]| -> Vec<String> {
        select_all(&h, 0, 2000, ms)
            .into_iter()
            .map(|(l, _)| l.to_string())
            .collect()
    };
    assert_eq!(
        names(&[
            m(MatchOp::Equal, "__name__", "up"),
            m(MatchOp::Regex, "instance", "a:.*")
        ]),
        [
            r#"{__name__="up", instance="a:8080", job="api"}"#,
            r#"{__name__="up", instance="a:9100", job="node"}"#,
        ]
    );
    // `job=""` selects series without a job label.
    assert_eq!(
        names(&[m(MatchOp::Equal, "job", "")]),
        [r#"{__name__="lonely"}"#]
    );
    // Negative matchers also select series lacking the label.
    assert_eq!(names(&[m(MatchOp::NotEqual, "job", "node")]).len(), 3);

    let q = h.querier(0, 2000);
    assert_eq!(
        q.label_values("job", &LabelHints::default(), &[]).unwrap(),
        ["api", "node"]
    );
    assert_eq!(
        q.label_values(
            "instance",
            &LabelHints::default(),
            &[m(MatchOp::Equal, "job", "api")]
        )
        .unwrap(),
        ["a:8080"]
    );
    assert_eq!(
        q.label_names(&LabelHints::default(), &[]).unwrap(),
        ["__name__", "instance", "job"]
    );
    assert_eq!(
        q.label_names(
            &LabelHints::default(),
            &[m(MatchOp::Equal, "__name__", "lonely")]
        )
        .unwrap(),
        ["__name__"]
    );
    assert_eq!(
        q.label_values("job", &LabelHints { limit: 1 }, &[])
            .unwrap(),
        ["api"]
    );
    // A range outside the head's data sees nothing.
    let q = h.querier(5000, 6000);
    assert!(q
        .label_values("job", &LabelHints::default(), &[])
        .unwrap()
        .is_empty());
}

#[test]
fn concurrent_appenders_lose_nothing() {
    let h = head();
    let threads = 4;
    let series_per_thread = 200;
    let samples = 300;
    std::thread::scope(|s| {
        for t in 0..threads {
            let h = h.clone();
            s.spawn(move || {
                let mut app = h.appender();
                let labels: Vec<Labels> = (0..series_per_thread)
                    .map(|i| {
                        Labels::from_pairs([
                            ("__name__", "m".to_string()),
                            ("thread", t.to_string()),
                            ("i", i.to_string()),
                        ])
                    })
                    .collect();
                let mut refs = vec![None; series_per_thread];
                for k in 0..samples {
                    for (i, l) in labels.iter().enumerate() {
                        refs[i] = Some(
                            app.append(refs[i], l.as_ref(), k as i64 * 1000, (k * i) as f64)
                                .unwrap(),
                        );
                    }
                    if k % 10 == 9 {
                        app.commit().unwrap();
                    }
                }
                app.commit().unwrap();
            });
        }
    });
    let got = select_all(&h, i64::MIN, i64::MAX, &all());
    assert_eq!(got.len(), threads * series_per_thread);
    for (l, s) in &got {
        let i: usize = l.get("i").unwrap().parse().unwrap();
        let want: Vec<(i64, f64)> = (0..samples)
            .map(|k| (k as i64 * 1000, (k * i) as f64))
            .collect();
        assert_eq!(s, &want, "series {l}");
    }
    assert_eq!(h.stats().series, (threads * series_per_thread) as u64);
}

#[test]
fn many_appenders_on_one_series_keep_order_consistent() {
    // Several threads race on the same series with disjoint timestamps; whatever the
    // interleaving, the stored series is strictly increasing and every stored sample is
    // one that was appended.
    let h = head();
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let h = h.clone();
            s.spawn(move || {
                let mut app = h.appender();
                for k in 0..500i64 {
                    let ts = k * 4 + t;
                    match app.append(None, up("race").as_ref(), ts, ts as f64) {
                        Ok(_) => {}
                        Err(e) => assert!(e.is_sample_error(), "{e}"),
                    }
                    app.commit().unwrap();
                }
            });
        }
    });
    let got = select_all(&h, i64::MIN, i64::MAX, &all());
    let s = &got[0].1;
    assert!(s.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(s.iter().all(|(t, v)| *t as f64 == *v));
}

#[test]
fn wal_truncation_keeps_everything_at_or_after_mint() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = crate::db::DbOptions::new(tmp.path());
    let mint = 50 * 15_000;
    {
        let db = crate::db::Db::open(opts.clone(), None).unwrap();
        let mut app = db.appender();
        for k in 0..100i64 {
            for s in 0..20 {
                let l = Labels::from_pairs([("__name__", "t".to_string()), ("s", s.to_string())]);
                app.append(None, l.as_ref(), k * 15_000, k as f64).unwrap();
            }
            app.commit().unwrap();
            // Several segments, so there is something to checkpoint.
            if k % 10 == 9 {
                db.head().wal().unwrap().next_segment().unwrap();
            }
        }
        let stats = db.head().truncate_wal(mint).unwrap().expect("truncated");
        assert_eq!(stats.total_series, 20);
        assert!(stats.dropped_samples > 0);
        let wal_dir = tmp.path().join("wal");
        let (first, _) = crate::wal::segment_range(&wal_dir).unwrap().unwrap();
        let (_, cp) = crate::wal::last_checkpoint(&wal_dir).unwrap().unwrap();
        assert_eq!(first, cp + 1, "segments up to the checkpoint are deleted");
        db.close().unwrap();
    }
    let db = crate::db::Db::open(opts, None).unwrap();
    let got = select_all(db.head(), mint, i64::MAX, &all());
    assert_eq!(got.len(), 20);
    for (_, s) in &got {
        let want: Vec<(i64, f64)> = (50..100).map(|k| (k * 15_000, k as f64)).collect();
        assert_eq!(s, &want);
    }
}

/// Replay of hand-written WAL records: a ref far beyond the dense cache, the same labels
/// defined again under a second ref (Prometheus maps both to one series), and samples for
/// a ref no series record defines (dropped and counted).
#[test]
fn replay_handles_sparse_duplicate_and_unknown_refs() {
    use crate::wal::record::{encode_samples, encode_series_refs, RefSample};
    let tmp = tempfile::tempdir().unwrap();
    let opts = crate::db::DbOptions::new(tmp.path());
    let a = up("a");
    let b = up("b");
    let far = SeriesRef(1 << 40);
    {
        let db = crate::db::Db::open(opts.clone(), None).unwrap();
        let wal = db.head().wal().unwrap();
        let mut rec = Vec::new();
        encode_series_refs([(SeriesRef(3), a.as_ref()), (far, b.as_ref())], &mut rec);
        let mut samples = Vec::new();
        let s = |r: SeriesRef, t: i64, v: f64| RefSample { series: r, t, v };
        encode_samples(
            &[
                s(SeriesRef(3), 1000, 1.0),
                s(far, 1000, 10.0),
                s(SeriesRef(99), 1000, 0.0),
            ],
            &mut samples,
        );
        wal.log(&[&rec, &samples]).unwrap();
        // `a` again under ref 7, with later samples under the new ref.
        rec.clear();
        encode_series_refs([(SeriesRef(7), a.as_ref())], &mut rec);
        samples.clear();
        encode_samples(
            &[s(SeriesRef(7), 2000, 2.0), s(far, 2000, 20.0)],
            &mut samples,
        );
        wal.log(&[&rec, &samples]).unwrap();
        db.close().unwrap();
    }
    let db = crate::db::Db::open(opts, None).unwrap();
    assert_eq!(db.replay_stats().unknown_refs, 1);
    assert_eq!(db.replay_stats().series, 2);
    let got = select_all(db.head(), i64::MIN, i64::MAX, &all());
    assert_eq!(
        got,
        vec![
            (a.clone(), vec![(1000, 1.0), (2000, 2.0)]),
            (b.clone(), vec![(1000, 10.0), (2000, 20.0)]),
        ]
    );
    // New series continue after the highest ref seen.
    let mut app = db.appender();
    let r = app.append(None, up("c").as_ref(), 3000, 3.0).unwrap();
    app.commit().unwrap();
    assert!(r.0 > far.0);
}
