use super::*;
use proptest::prelude::*;

fn series(r: u64, pairs: &[(&str, &str)]) -> RefSeries {
    RefSeries {
        series: SeriesRef(r),
        labels: Labels::from_pairs(pairs.iter().copied()),
    }
}

// ----- Byte fixtures, derived by hand from tsdb/docs/format/wal.md and record.go. -----

#[test]
fn series_record_bytes() {
    let mut out = Vec::new();
    encode_series(
        &[series(
            0x0102_0304_0506_0708,
            &[("job", "a"), ("__name__", "up")],
        )],
        &mut out,
    );
    // type 1 | ref be64 | 2 labels | "__name__" "up" "job" "a" (sorted by name), each string
    // as uvarint length + bytes.
    let mut want = vec![1u8, 1, 2, 3, 4, 5, 6, 7, 8, 2];
    want.extend_from_slice(b"\x08__name__\x02up\x03job\x01a");
    assert_eq!(out, want);
    let mut got = Vec::new();
    Decoder::new().series(&want, &mut got).unwrap();
    assert_eq!(
        got,
        vec![series(
            0x0102_0304_0506_0708,
            &[("__name__", "up"), ("job", "a")]
        )]
    );
}

#[test]
fn samples_record_bytes_use_signed_deltas() {
    let samples = [
        RefSample {
            series: SeriesRef(10),
            t: 1000,
            v: 1.0,
        },
        RefSample {
            series: SeriesRef(9),
            t: 990,
            v: -0.5,
        },
    ];
    let mut out = Vec::new();
    encode_samples(&samples, &mut out);
    // type 2 | base ref 10 be64 | base t 1000 be64 |
    //   dref 0 -> 0x00, dt 0 -> 0x00, 1.0 = 0x3FF0000000000000 |
    //   dref -1 -> zigzag 1 -> 0x01, dt -10 -> zigzag 19 -> 0x13, -0.5 = 0xBFE0000000000000
    let mut want = vec![2u8];
    want.extend_from_slice(&10u64.to_be_bytes());
    want.extend_from_slice(&1000u64.to_be_bytes());
    want.extend_from_slice(&[0x00, 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
    want.extend_from_slice(&[0x01, 0x13, 0xbf, 0xe0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(out, want);
    let mut got = Vec::new();
    Decoder::new().samples(&want, &mut got).unwrap();
    assert_eq!(got, samples);
    // No samples: the type byte alone.
    out.clear();
    encode_samples(&[], &mut out);
    assert_eq!(out, [2]);
    Decoder::new().samples(&out, &mut got).unwrap();
    assert_eq!(got.len(), 2);
}

#[test]
fn samples_v2_record_is_decoded_without_start_times() {
    // type 11 | ref 3 -> varint 0x06 | t 100 -> zigzag 200 -> 0xC8 0x01 | st 0 -> 0x00 |
    // value 1.5 = 0x3FF8000000000000 |
    // dref +1 -> 0x02 | t-t0 15 -> 0x1E | marker 0 (no st) | 2.0 = 0x4000000000000000 |
    // dref -2 -> 0x03 | t-t0 30 -> 0x3C | marker 2 (explicit), st-st0 5 -> 0x0A | 0.0
    let mut rec = vec![11u8, 0x06, 0xC8, 0x01, 0x00, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0];
    rec.extend_from_slice(&[0x02, 0x1E, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0]);
    rec.extend_from_slice(&[0x03, 0x3C, 0x02, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut got = Vec::new();
    Decoder::new().samples(&rec, &mut got).unwrap();
    let s = |r, t, v| RefSample {
        series: SeriesRef(r),
        t,
        v,
    };
    assert_eq!(got, vec![s(3, 100, 1.5), s(4, 115, 2.0), s(2, 130, 0.0)]);
    // An unknown start-time marker is malformed.
    let mut bad = rec.clone();
    bad[15] = 7; // the second sample's marker: 13 bytes of header and first sample, dref, dt
    assert!(matches!(
        Decoder::new().samples(&bad, &mut got),
        Err(RecordError::Malformed { .. })
    ));
    assert_eq!(got.len(), 3, "a failed decode leaves the output as it was");
}

#[test]
fn tombstones_record_bytes() {
    let t = [Tombstone {
        series: SeriesRef(5),
        mint: -1,
        maxt: 300,
    }];
    let mut out = Vec::new();
    encode_tombstones(&t, &mut out);
    // type 3 | ref 5 be64 | mint -1 -> zigzag 1 -> 0x01 | maxt 300 -> zigzag 600 -> 0xD8 0x04
    let mut want = vec![3u8];
    want.extend_from_slice(&5u64.to_be_bytes());
    want.extend_from_slice(&[0x01, 0xD8, 0x04]);
    assert_eq!(out, want);
    let mut got = Vec::new();
    Decoder::new().tombstones(&want, &mut got).unwrap();
    assert_eq!(got, t);
}

#[test]
fn exemplars_record_bytes() {
    let e = [RefExemplar {
        series: SeriesRef(7),
        t: 42,
        v: 2.0,
        labels: Labels::from_pairs([("trace_id", "ab")]),
    }];
    let mut out = Vec::new();
    encode_exemplars(&e, &mut out);
    // type 4 | ref 7 be64 | t 42 be64 | dref 0 | dt 0 | 2.0 be64 | 1 label "trace_id" "ab"
    let mut want = vec![4u8];
    want.extend_from_slice(&7u64.to_be_bytes());
    want.extend_from_slice(&42u64.to_be_bytes());
    want.extend_from_slice(&[0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 1]);
    want.extend_from_slice(b"\x08trace_id\x02ab");
    assert_eq!(out, want);
    let mut got = Vec::new();
    Decoder::new().exemplars(&want, &mut got).unwrap();
    assert_eq!(got, e);
}

#[test]
fn metadata_record_bytes_and_unknown_fields() {
    let m = [RefMetadata {
        series: SeriesRef(300),
        metric_type: MetricType::Counter,
        unit: "seconds".into(),
        help: "h".into(),
    }];
    let mut out = Vec::new();
    encode_metadata(&m, &mut out);
    // type 6 | ref 300 uvarint -> 0xAC 0x02 | type 1 | 2 fields | "UNIT" "seconds" "HELP" "h"
    let mut want = vec![6u8, 0xAC, 0x02, 1, 2];
    want.extend_from_slice(b"\x04UNIT\x07seconds\x04HELP\x01h");
    assert_eq!(out, want);
    let mut got = Vec::new();
    Decoder::new().metadata(&want, &mut got).unwrap();
    assert_eq!(got, m);
    // A field Ember does not know is skipped; an unknown type number reads as Unknown.
    let mut rec = vec![6u8, 1, 99, 3];
    rec.extend_from_slice(b"\x03FOO\x03bar\x04HELP\x01x\x04UNIT\x00");
    got.clear();
    Decoder::new().metadata(&rec, &mut got).unwrap();
    assert_eq!(
        got,
        vec![RefMetadata {
            series: SeriesRef(1),
            metric_type: MetricType::Unknown,
            unit: String::new(),
            help: "x".into(),
        }]
    );
}

#[test]
fn mmap_markers_record_bytes() {
    let m = [RefMmapMarker {
        series: SeriesRef(1),
        chunk: 0x0000_0001_0000_0010,
    }];
    let mut out = Vec::new();
    encode_mmap_markers(&m, &mut out);
    let want = [5u8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0x10];
    assert_eq!(out, want);
    let mut got = Vec::new();
    Decoder::new().mmap_markers(&want, &mut got).unwrap();
    assert_eq!(got, m);
}

#[test]
fn series_encoder_from_borrowed_labels() {
    let a = Labels::from_pairs([("a", "1")]);
    let b = Labels::from_pairs([("b", "2"), ("c", "3")]);
    let mut from_refs = Vec::new();
    encode_series_refs(
        [(SeriesRef(1), a.as_ref()), (SeriesRef(2), b.as_ref())],
        &mut from_refs,
    );
    let mut from_owned = Vec::new();
    encode_series(
        &[
            RefSeries {
                series: SeriesRef(1),
                labels: a,
            },
            RefSeries {
                series: SeriesRef(2),
                labels: b,
            },
        ],
        &mut from_owned,
    );
    assert_eq!(from_refs, from_owned);
}

#[test]
fn record_types() {
    assert_eq!(RecordType::of(&[1]), Ok(RecordType::Series));
    assert_eq!(RecordType::of(&[]), Err(RecordError::Empty));
    assert_eq!(RecordType::of(&[0]), Err(RecordError::UnknownType(0)));
    assert_eq!(RecordType::of(&[14]), Err(RecordError::UnknownType(14)));
    for b in 1..=13u8 {
        let t = RecordType::from_u8(b).unwrap();
        assert_eq!(t as u8, b);
        assert_eq!(t.is_supported(), matches!(b, 1..=6 | 11), "{t}");
    }
    assert_eq!(
        RecordType::HistogramSamples.to_string(),
        "histogram_samples"
    );
}

#[test]
fn wrong_type_is_rejected() {
    let mut out = Vec::new();
    assert_eq!(
        Decoder::new().samples(&[1, 0], &mut out),
        Err(RecordError::WrongType {
            expected: RecordType::Samples,
            found: 1
        })
    );
    let mut s = Vec::new();
    assert_eq!(Decoder::new().series(&[], &mut s), Err(RecordError::Empty));
}

// ----- Label validation -----

fn series_record(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut rec = vec![1u8];
    rec.extend_from_slice(&9u64.to_be_bytes());
    put_uvarint(&mut rec, pairs.len() as u64);
    for (n, v) in pairs {
        put_uvarint(&mut rec, n.len() as u64);
        rec.extend_from_slice(n);
        put_uvarint(&mut rec, v.len() as u64);
        rec.extend_from_slice(v);
    }
    rec
}

#[test]
fn labels_out_of_order_are_sorted_and_empty_values_dropped() {
    let rec = series_record(&[(b"b", b"2"), (b"a", b"1"), (b"c", b"")]);
    let mut got = Vec::new();
    Decoder::new().series(&rec, &mut got).unwrap();
    assert_eq!(got, vec![series(9, &[("a", "1"), ("b", "2")])]);
}

#[test]
fn labels_with_non_minimal_varints_are_canonicalised() {
    // "a"="1" with the name length written as 0x81 0x00 (1 in two bytes).
    let mut rec = vec![1u8];
    rec.extend_from_slice(&9u64.to_be_bytes());
    rec.extend_from_slice(&[1, 0x81, 0x00, b'a', 1, b'1']);
    let mut got = Vec::new();
    Decoder::new().series(&rec, &mut got).unwrap();
    let want = Labels::from_pairs([("a", "1")]);
    assert_eq!(got[0].labels, want);
    assert_eq!(got[0].labels.hash64(), want.hash64());
}

#[test]
fn invalid_labels_are_errors() {
    let mut got = Vec::new();
    let dup = series_record(&[(b"a", b"1"), (b"a", b"2")]);
    assert!(matches!(
        Decoder::new().series(&dup, &mut got),
        Err(RecordError::Labels {
            source: LabelsError::DuplicateName(_),
            ..
        })
    ));
    let empty_name = series_record(&[(b"", b"1")]);
    assert!(matches!(
        Decoder::new().series(&empty_name, &mut got),
        Err(RecordError::Labels {
            source: LabelsError::EmptyName,
            ..
        })
    ));
    let bad_utf8 = series_record(&[(b"a", b"\xff")]);
    assert!(matches!(
        Decoder::new().series(&bad_utf8, &mut got),
        Err(RecordError::Malformed { .. })
    ));
    // A label count far beyond what the record holds is rejected before looping.
    let mut huge = vec![1u8];
    huge.extend_from_slice(&9u64.to_be_bytes());
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        Decoder::new().series(&huge, &mut got),
        Err(RecordError::Malformed { .. })
    ));
    assert!(got.is_empty());
}

#[test]
fn varint_overflow_and_truncation() {
    let mut got = Vec::new();
    // A tombstone whose mint varint has 11 continuation bytes.
    let mut rec = vec![3u8];
    rec.extend_from_slice(&1u64.to_be_bytes());
    rec.extend_from_slice(&[0xff; 11]);
    assert!(matches!(
        Decoder::new().tombstones(&rec, &mut got),
        Err(RecordError::Malformed {
            what: "varint overflows 64 bits",
            ..
        })
    ));
    // Ten bytes whose last is 2: more than 64 bits.
    let mut rec = vec![3u8];
    rec.extend_from_slice(&1u64.to_be_bytes());
    rec.extend_from_slice(&[
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0,
    ]);
    assert!(Decoder::new().tombstones(&rec, &mut got).is_err());
    // The largest value, ten bytes ending in 1, is fine: u64::MAX zigzag-decodes to i64::MIN.
    let mut rec = vec![3u8];
    rec.extend_from_slice(&1u64.to_be_bytes());
    rec.extend_from_slice(&[
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0,
    ]);
    Decoder::new().tombstones(&rec, &mut got).unwrap();
    assert_eq!(got[0].mint, i64::MIN);
    assert_eq!(got[0].maxt, 0);
}

// ----- Property tests -----

fn label_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("[a-zA-Z_][a-zA-Z0-9_.]{0,12}", ".{1,16}"), 0..8)
}

fn arb_labels() -> impl Strategy<Value = Labels> {
    label_pairs().prop_map(|p| Labels::from_pairs(p.iter().map(|(a, b)| (a.as_str(), b.as_str()))))
}

fn arb_f64() -> impl Strategy<Value = f64> {
    any::<u64>().prop_map(f64::from_bits)
}

fn same_bits(a: &[RefSample], b: &[RefSample]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.series == y.series && x.t == y.t && x.v.to_bits() == y.v.to_bits())
}

proptest! {
    #[test]
    fn series_round_trip(s in proptest::collection::vec((any::<u64>(), arb_labels()), 0..20)) {
        let s: Vec<RefSeries> = s.into_iter().map(|(r, labels)| RefSeries { series: SeriesRef(r), labels }).collect();
        let mut rec = Vec::new();
        encode_series(&s, &mut rec);
        let mut got = Vec::new();
        Decoder::new().series(&rec, &mut got).unwrap();
        prop_assert_eq!(got, s);
    }

    #[test]
    fn samples_round_trip(s in proptest::collection::vec((any::<u64>(), any::<i64>(), arb_f64()), 0..200)) {
        let s: Vec<RefSample> = s.into_iter().map(|(r, t, v)| RefSample { series: SeriesRef(r), t, v }).collect();
        let mut rec = Vec::new();
        encode_samples(&s, &mut rec);
        let mut got = Vec::new();
        Decoder::new().samples(&rec, &mut got).unwrap();
        prop_assert!(same_bits(&got, &s));
    }

    #[test]
    fn tombstones_round_trip(s in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<i64>()), 0..50)) {
        let s: Vec<Tombstone> = s.into_iter().map(|(r, mint, maxt)| Tombstone { series: SeriesRef(r), mint, maxt }).collect();
        let mut rec = Vec::new();
        encode_tombstones(&s, &mut rec);
        let mut got = Vec::new();
        Decoder::new().tombstones(&rec, &mut got).unwrap();
        prop_assert_eq!(got, s);
    }

    #[test]
    fn exemplars_round_trip(s in proptest::collection::vec((any::<u64>(), any::<i64>(), -1e9f64..1e9, arb_labels()), 0..20)) {
        let s: Vec<RefExemplar> = s.into_iter().map(|(r, t, v, labels)| RefExemplar { series: SeriesRef(r), t, v, labels }).collect();
        let mut rec = Vec::new();
        encode_exemplars(&s, &mut rec);
        let mut got = Vec::new();
        Decoder::new().exemplars(&rec, &mut got).unwrap();
        prop_assert_eq!(got, s);
    }

    #[test]
    fn metadata_round_trip(s in proptest::collection::vec((any::<u64>(), 0u8..8, ".{0,10}", ".{0,40}"), 0..20)) {
        let s: Vec<RefMetadata> = s.into_iter().map(|(r, t, unit, help)| RefMetadata {
            series: SeriesRef(r), metric_type: MetricType::from_u8(t), unit, help,
        }).collect();
        let mut rec = Vec::new();
        encode_metadata(&s, &mut rec);
        let mut got = Vec::new();
        Decoder::new().metadata(&rec, &mut got).unwrap();
        prop_assert_eq!(got, s);
    }

    #[test]
    fn mmap_markers_round_trip(s in proptest::collection::vec((any::<u64>(), any::<u64>()), 0..50)) {
        let s: Vec<RefMmapMarker> = s.into_iter().map(|(r, c)| RefMmapMarker { series: SeriesRef(r), chunk: c }).collect();
        let mut rec = Vec::new();
        encode_mmap_markers(&s, &mut rec);
        let mut got = Vec::new();
        Decoder::new().mmap_markers(&rec, &mut got).unwrap();
        prop_assert_eq!(got, s);
    }

    /// Every decoder, fed any bytes behind any type byte, returns without panicking.
    #[test]
    fn arbitrary_bytes_never_panic(typ in 0u8..16, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut rec = vec![typ];
        rec.extend_from_slice(&body);
        let mut d = Decoder::new();
        let _ = d.series(&rec, &mut Vec::new());
        let _ = d.samples(&rec, &mut Vec::new());
        let _ = d.tombstones(&rec, &mut Vec::new());
        let _ = d.exemplars(&rec, &mut Vec::new());
        let _ = d.metadata(&rec, &mut Vec::new());
        let _ = d.mmap_markers(&rec, &mut Vec::new());
    }

    /// A cut-off samples record decodes, if at all, to a prefix of the samples.
    #[test]
    fn truncated_samples_give_a_prefix_or_an_error(
        s in proptest::collection::vec((0u64..1000, 0i64..1_000_000, arb_f64()), 1..50),
        cut in any::<prop::sample::Index>(),
    ) {
        let s: Vec<RefSample> = s.into_iter().map(|(r, t, v)| RefSample { series: SeriesRef(r), t, v }).collect();
        let mut rec = Vec::new();
        encode_samples(&s, &mut rec);
        let cut = cut.index(rec.len());
        let mut got = Vec::new();
        if Decoder::new().samples(&rec[..cut], &mut got).is_ok() {
            prop_assert!(same_bits(&got, &s[..got.len()]));
        } else {
            prop_assert!(got.is_empty());
        }
    }

    /// The same for series records.
    #[test]
    fn truncated_series_give_a_prefix_or_an_error(
        s in proptest::collection::vec((any::<u64>(), arb_labels()), 1..10),
        cut in any::<prop::sample::Index>(),
    ) {
        let s: Vec<RefSeries> = s.into_iter().map(|(r, labels)| RefSeries { series: SeriesRef(r), labels }).collect();
        let mut rec = Vec::new();
        encode_series(&s, &mut rec);
        let cut = cut.index(rec.len());
        let mut got = Vec::new();
        if Decoder::new().series(&rec[..cut], &mut got).is_ok() {
            prop_assert_eq!(&got[..], &s[..got.len()]);
        }
    }
}
