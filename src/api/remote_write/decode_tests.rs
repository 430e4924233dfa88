//! The decoder against prost's encoding of the same messages (the reference), and against
//! truncated and corrupted input.

use proptest::prelude::*;
use prost::Message;

use super::decode::*;
use crate::api::remote_write::proto::{self, v2};

/// What a 1.0 series decodes to, read from the prost struct.
#[derive(Debug, PartialEq)]
struct ExpectedV1 {
    labels: Vec<(String, String)>,
    samples: Vec<(i64, u64)>,
    histograms: Vec<i64>,
    exemplars: u32,
}

fn decoded_v1(buf: &[u8], req: &V1Request) -> Vec<ExpectedV1> {
    req.series
        .iter()
        .map(|s| ExpectedV1 {
            labels: req.labels[s.labels.range()]
                .iter()
                .map(|l| {
                    (
                        String::from_utf8(l.name.get(buf).to_vec()).unwrap(),
                        String::from_utf8(l.value.get(buf).to_vec()).unwrap(),
                    )
                })
                .collect(),
            samples: req.samples[s.samples.range()]
                .iter()
                .map(|s| (s.t, s.v.to_bits()))
                .collect(),
            histograms: req.histograms[s.histograms.range()].to_vec(),
            exemplars: s.exemplars,
        })
        .collect()
}

fn expected_v1(req: &proto::WriteRequest) -> Vec<ExpectedV1> {
    req.timeseries
        .iter()
        .map(|ts| ExpectedV1 {
            labels: ts
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect(),
            samples: ts
                .samples
                .iter()
                .map(|s| (s.timestamp, s.value.to_bits()))
                .collect(),
            histograms: ts.histograms.iter().map(|h| h.timestamp).collect(),
            exemplars: ts.exemplars.len() as u32,
        })
        .collect()
}

fn label() -> impl Strategy<Value = proto::Label> {
    ("[a-z_]{0,6}|__name__", "\\PC{0,8}").prop_map(|(name, value)| proto::Label { name, value })
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::from_bits(0x7ff0_0000_0000_0002)),
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
    ]
}

fn histogram() -> impl Strategy<Value = proto::Histogram> {
    (
        any::<i64>(),
        any::<i64>(),
        proptest::collection::vec(any::<i64>(), 0..4),
        proptest::collection::vec(float(), 0..3),
        any::<bool>(),
        -4i32..9,
    )
        .prop_map(|(t, st, deltas, counts, int, schema)| proto::Histogram {
            count: Some(if int {
                proto::HistogramCount::CountInt(7)
            } else {
                proto::HistogramCount::CountFloat(7.5)
            }),
            sum: 1.5,
            schema,
            zero_threshold: 1e-128,
            zero_count: Some(proto::HistogramZeroCount::ZeroCountInt(1)),
            negative_spans: vec![proto::BucketSpan {
                offset: -2,
                length: deltas.len() as u32,
            }],
            negative_deltas: deltas.clone(),
            negative_counts: counts.clone(),
            positive_spans: vec![proto::BucketSpan {
                offset: 3,
                length: 1,
            }],
            positive_deltas: deltas,
            positive_counts: counts.clone(),
            reset_hint: 2,
            timestamp: t,
            custom_values: counts,
            start_timestamp: st,
        })
}

fn series_v1() -> impl Strategy<Value = proto::TimeSeries> {
    (
        proptest::collection::vec(label(), 0..6),
        proptest::collection::vec((any::<i64>(), float()), 0..5),
        proptest::collection::vec(histogram(), 0..2),
        proptest::collection::vec(proptest::collection::vec(label(), 0..2), 0..2),
    )
        .prop_map(
            |(labels, samples, histograms, exemplars)| proto::TimeSeries {
                labels,
                samples: samples
                    .into_iter()
                    .map(|(timestamp, value)| proto::Sample { value, timestamp })
                    .collect(),
                exemplars: exemplars
                    .into_iter()
                    .map(|labels| proto::Exemplar {
                        labels,
                        value: 1.0,
                        timestamp: 5,
                    })
                    .collect(),
                histograms,
            },
        )
}

fn request_v1() -> impl Strategy<Value = proto::WriteRequest> {
    (proptest::collection::vec(series_v1(), 0..6), 0usize..3).prop_map(|(timeseries, meta)| {
        proto::WriteRequest {
            timeseries,
            metadata: (0..meta)
                .map(|i| proto::MetricMetadata {
                    r#type: i as i32,
                    metric_family_name: format!("m{i}"),
                    help: "help".into(),
                    unit: String::new(),
                })
                .collect(),
        }
    })
}

#[derive(Debug, PartialEq)]
struct ExpectedV2 {
    refs: Vec<u32>,
    samples: Vec<(i64, u64, i64)>,
    histograms: Vec<(i64, i64)>,
    exemplars: Vec<(Vec<u32>, u64, i64)>,
    metadata: (i32, u32, u32),
}

fn expected_v2(req: &v2::Request) -> Vec<ExpectedV2> {
    req.timeseries
        .iter()
        .map(|ts| ExpectedV2 {
            refs: ts.labels_refs.clone(),
            samples: ts
                .samples
                .iter()
                .map(|s| (s.timestamp, s.value.to_bits(), s.start_timestamp))
                .collect(),
            histograms: ts
                .histograms
                .iter()
                .map(|h| (h.timestamp, h.start_timestamp))
                .collect(),
            exemplars: ts
                .exemplars
                .iter()
                .map(|e| (e.labels_refs.clone(), e.value.to_bits(), e.timestamp))
                .collect(),
            metadata: ts
                .metadata
                .map_or((0, 0, 0), |m| (m.r#type, m.help_ref, m.unit_ref)),
        })
        .collect()
}

fn decoded_v2(req: &V2Request) -> Vec<ExpectedV2> {
    req.series
        .iter()
        .map(|s| ExpectedV2 {
            refs: req.refs[s.labels.range()].to_vec(),
            samples: req.samples[s.samples.range()]
                .iter()
                .map(|x| (x.t, x.v.to_bits(), x.start_t))
                .collect(),
            histograms: req.histograms[s.histograms.range()]
                .iter()
                .map(|h| (h.timestamp, h.start_timestamp))
                .collect(),
            exemplars: req.exemplars[s.exemplars.range()]
                .iter()
                .map(|e| (req.refs[e.labels.range()].to_vec(), e.value.to_bits(), e.t))
                .collect(),
            metadata: (
                s.metadata.metric_type,
                s.metadata.help_ref,
                s.metadata.unit_ref,
            ),
        })
        .collect()
}

fn request_v2() -> impl Strategy<Value = v2::Request> {
    let series = (
        proptest::collection::vec(0u32..300, 0..8),
        proptest::collection::vec((any::<i64>(), float(), any::<i64>()), 0..4),
        proptest::collection::vec(histogram(), 0..2),
        proptest::collection::vec(
            (
                proptest::collection::vec(0u32..9, 0..4),
                float(),
                any::<i64>(),
            ),
            0..3,
        ),
        proptest::option::of((0i32..8, 0u32..20, 0u32..20)),
    )
        .prop_map(
            |(refs, samples, histograms, exemplars, metadata)| v2::TimeSeries {
                labels_refs: refs,
                samples: samples
                    .into_iter()
                    .map(|(timestamp, value, start_timestamp)| v2::Sample {
                        value,
                        timestamp,
                        start_timestamp,
                    })
                    .collect(),
                histograms,
                exemplars: exemplars
                    .into_iter()
                    .map(|(labels_refs, value, timestamp)| v2::Exemplar {
                        labels_refs,
                        value,
                        timestamp,
                    })
                    .collect(),
                metadata: metadata.map(|(r#type, help_ref, unit_ref)| v2::Metadata {
                    r#type,
                    help_ref,
                    unit_ref,
                }),
            },
        );
    (
        proptest::collection::vec("\\PC{0,6}", 0..10),
        proptest::collection::vec(series, 0..5),
    )
        .prop_map(|(symbols, timeseries)| v2::Request {
            symbols,
            timeseries,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn v1_decodes_what_prost_encodes(req in request_v1()) {
        let buf = req.encode_to_vec();
        let mut got = V1Request::default();
        got.decode(&buf).unwrap();
        // The reference is prost's decoding of the same bytes (-0.0, a default, is not
        // on the wire and comes back as 0.0).
        let reference = proto::WriteRequest::decode(buf.as_slice()).unwrap();
        prop_assert_eq!(decoded_v1(&buf, &got), expected_v1(&reference));
        prop_assert_eq!(got.metadata as usize, req.metadata.len());
        // Decoding again into the same buffers gives the same (nothing left over).
        got.decode(&buf).unwrap();
        prop_assert_eq!(decoded_v1(&buf, &got), expected_v1(&reference));
    }

    #[test]
    fn v2_decodes_what_prost_encodes(req in request_v2()) {
        let buf = req.encode_to_vec();
        let mut got = V2Request::default();
        got.decode(&buf).unwrap();
        let symbols: Vec<String> = got
            .symbols
            .iter()
            .map(|s| String::from_utf8(s.get(&buf).to_vec()).unwrap())
            .collect();
        let reference = v2::Request::decode(buf.as_slice()).unwrap();
        prop_assert_eq!(&symbols, &reference.symbols);
        prop_assert_eq!(decoded_v2(&got), expected_v2(&reference));
    }

    /// Every prefix and every single-byte corruption of a valid message decodes to an
    /// error or to a result, without panicking; prost agrees on which prefixes are valid.
    #[test]
    fn truncated_or_corrupted_input_never_panics(
        req in request_v1(),
        flip in any::<(usize, u8)>(),
    ) {
        let buf = req.encode_to_vec();
        let mut got = V1Request::default();
        for end in 0..buf.len() {
            let ours = got.decode(&buf[..end]).is_ok();
            // prost also checks UTF-8 of strings, which this decoder leaves for later:
            // wherever prost accepts a prefix, so must the decoder.
            if proto::WriteRequest::decode(&buf[..end]).is_ok() {
                prop_assert!(ours, "prefix of {end} bytes rejected");
            }
        }
        if !buf.is_empty() {
            let mut bad = buf.clone();
            let i = flip.0 % bad.len();
            bad[i] ^= flip.1.max(1);
            let _ = got.decode(&bad);
            let mut v2 = V2Request::default();
            let _ = v2.decode(&bad);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = V1Request::default().decode(&bytes);
        let _ = V2Request::default().decode(&bytes);
    }
}

#[test]
fn v1_and_v2_agree_with_prost_on_packed_and_unpacked_refs() {
    // labels_refs = [1, 2] written unpacked (two varint fields), as some encoders do.
    let series = [0x08, 0x01, 0x08, 0x02];
    let mut buf = vec![0x22, 0x00]; // symbols: ""
    buf.push(0x2a);
    buf.push(series.len() as u8);
    buf.extend_from_slice(&series);
    let reference = v2::Request::decode(buf.as_slice()).unwrap();
    assert_eq!(reference.timeseries[0].labels_refs, vec![1, 2]);
    let mut got = V2Request::default();
    got.decode(&buf).unwrap();
    assert_eq!(got.refs, vec![1, 2]);
}

#[test]
fn malformed_messages_are_errors() {
    let mut r = V1Request::default();
    // A timeseries field announcing 5 bytes with 1 present.
    assert_eq!(
        r.decode(&[0x0a, 0x05, 0x00]),
        Err(DecodeError::UnexpectedEof)
    );
    // Field 1 with the varint wire type.
    assert!(matches!(
        r.decode(&[0x08, 0x01]),
        Err(DecodeError::WrongWireType { field: 1, .. })
    ));
    // A group (wire type 3).
    assert!(matches!(
        r.decode(&[0x0b]),
        Err(DecodeError::IllegalWireType { wire_type: 3 })
    ));
    // Field number 0.
    assert_eq!(r.decode(&[0x00]), Err(DecodeError::IllegalTag));
    // An eleven-byte varint.
    assert_eq!(r.decode(&[0x80; 11]), Err(DecodeError::Overflow));
    // Unknown fields of every wire type are skipped.
    r.decode(&[
        0x78, 0x01, 0x79, 0, 0, 0, 0, 0, 0, 0, 0, 0x7a, 0x00, 0x7d, 0, 0, 0, 0,
    ])
    .unwrap();
    assert!(r.series.is_empty());
}

#[test]
fn element_budget_caps_memory() {
    // MAX_ELEMENTS + 1 empty samples in one series: 2 bytes each on the wire.
    let n = MAX_ELEMENTS + 1;
    let mut series = Vec::with_capacity(2 * n);
    for _ in 0..n {
        series.extend_from_slice(&[0x12, 0x00]);
    }
    let mut buf = vec![0x0a];
    let mut len = series.len() as u64;
    while len >= 0x80 {
        buf.push((len as u8) | 0x80);
        len >>= 7;
    }
    buf.push(len as u8);
    buf.extend_from_slice(&series);
    assert_eq!(
        V1Request::default().decode(&buf),
        Err(DecodeError::TooManyElements)
    );
}
