//! Tests of the XOR chunk: hand-derived byte fixtures, a naive reference encoder,
//! round trips, seeking, reopening and robustness against bad bytes.

use super::*;
use crate::chunkenc::STALE_NAN_BITS;
use proptest::prelude::*;

/// Packs a string of `0`/`1` (other characters ignored) MSB first, zero-padding the
/// last byte: the fixtures below are written as annotated bit strings.
fn bits(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = 0;
    for c in s.chars() {
        let bit = match c {
            '0' => 0,
            '1' => 1,
            _ => continue,
        };
        if n % 8 == 0 {
            out.push(0u8);
        }
        *out.last_mut().unwrap() |= bit << (7 - n % 8);
        n += 1;
    }
    out
}

fn chunk_of(samples: &[(i64, f64)]) -> XorChunk {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, v);
    }
    c
}

/// All samples of chunk bytes, values as bits, and the iterator's error.
fn decode(data: &[u8]) -> (Vec<(i64, u64)>, Option<ChunkError>) {
    let mut it = XorIterator::new(data);
    let mut out = Vec::new();
    while it.next() == ValueType::Float {
        let (t, v) = it.at();
        assert_eq!(it.at_t(), t);
        out.push((t, v.to_bits()));
    }
    (out, it.err().cloned())
}

fn as_bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

// ---------------------------------------------------------------------------------------
// Byte fixtures, derived by hand from tsdb/docs/format/chunks.md and the tables in the
// module docs. Recurring pieces:
//   varint(1000): zig-zag 2000 = 0b1111_1010000 -> 0xd0 (0x50 | continuation), 0x0f
//   1.0 = 0x3ff0_0000_0000_0000, 2.0 = 0x4000_0000_0000_0000, 4.0 = 0x4010_0000_0000_0000,
//   4.5 = 0x4012_0000_0000_0000
// ---------------------------------------------------------------------------------------

#[test]
fn fixture_one_sample() {
    let c = chunk_of(&[(1000, 1.0)]);
    let want = [
        0x00, 0x01, // num_samples = 1
        0xd0, 0x0f, // varint(1000)
        0x3f, 0xf0, 0, 0, 0, 0, 0, 0, // 1.0
    ];
    assert_eq!(c.bytes(), &want);
}

#[test]
fn fixture_two_samples_same_value() {
    let c = chunk_of(&[(1000, 1.0), (1015, 1.0)]);
    let want = [
        0x00, 0x02, // num_samples = 2
        0xd0, 0x0f, // varint(1000)
        0x3f, 0xf0, 0, 0, 0, 0, 0, 0,    // 1.0
        0x0f, // uvarint(15)
        0x00, // xor == 0: one `0` bit, then 7 padding bits
    ];
    assert_eq!(c.bytes(), &want);
}

#[test]
fn fixture_window_new_reused_new() {
    // 1.0 -> 2.0: x = 0x7ff0_0000_0000_0000: leading 1, trailing 52, 11 significant
    //   bits 0x7ff: `11` 00001 001011 111_1111_1111                    (24 bits)
    // t 1030: dod 0: `0`
    // 2.0 -> 4.0: x = 0x0010_0000_0000_0000: leading 11 >= 1, trailing 52 >= 52: reuse
    //   the window: `10` and x >> 52 in 11 bits: 000_0000_0001          (13 bits)
    // t 1045: `0`
    // 4.0 -> 4.5: x = 0x0002_0000_0000_0000: trailing 49 < 52: new window, leading 14,
    //   1 significant bit: `11` 01110 000001 1                          (14 bits)
    // t 1060: `0`; 4.5 -> 4.5: `0`; one padding bit.
    let c = chunk_of(&[
        (1000, 1.0),
        (1015, 2.0),
        (1030, 4.0),
        (1045, 4.5),
        (1060, 4.5),
    ]);
    let mut want = vec![0x00, 0x05, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x0f];
    want.extend(bits(
        "11 00001 001011 11111111111 \
         0 10 00000000001 \
         0 11 01110 000001 1 \
         0 0",
    ));
    assert_eq!(c.bytes(), &want[..]);
}

#[test]
fn fixture_dod_buckets() {
    // ts_0 = 0, ts_1 = 10000, all values 0.0. Common prefix:
    //   00 03 | varint(0) = 00 | 0.0 = 8 zero bytes | uvarint(10000) = 0x90 0x4e
    //   (10000 = 78 * 128 + 16: 0x10 | 0x80, then 78 = 0x4e)
    // then `0` for v_1 (xor 0), ts_2's dod, `0` for v_2.
    let prefix = [0x00, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0x4e];
    let cases: &[(i64, &str)] = &[
        // dod 0: `0`
        (20000, "0 0 0"),
        // dod -1: `10` + 14-bit two's complement 11111111111111
        (19999, "0 10 11111111111111 0"),
        // dod 8192, the top of the 14-bit range (decodes as +2^13): `10` 10000000000000
        (28192, "0 10 10000000000000 0"),
        // dod -8191, the bottom of the 14-bit range: 2^14 - 8191 = 8193
        (11809, "0 10 10000000000001 0"),
        // dod -8192 does not fit 14 bits: `110` + 2^17 - 8192 = 122880 in 17 bits
        (11808, "0 110 11110000000000000 0"),
        // dod 8193: `110` + 17 bits
        (28193, "0 110 00010000000000001 0"),
        // dod 65537, past the 17-bit top 65536: `1110` + 20 bits
        (85537, "0 1110 00010000000000000001 0"),
        // dod -524287, the bottom of the 20-bit range: 2^20 - 524287 = 524289
        // (ts_2 is negative: -504287)
        (-504287, "0 1110 10000000000000000001 0"),
        // dod 524289, past the 20-bit top: `1111` + 64 bits
        (
            544289,
            "0 1111 00000000 00000000 00000000 00000000 00000000 00001000 00000000 00000001 0",
        ),
        // dod -524288, past the 20-bit bottom: `1111` + 64-bit two's complement
        (
            -504288,
            "0 1111 11111111 11111111 11111111 11111111 11111111 11111000 00000000 00000000 0",
        ),
    ];
    for &(t2, tail) in cases {
        let c = chunk_of(&[(0, 0.0), (10000, 0.0), (t2, 0.0)]);
        let mut want = prefix.to_vec();
        want.extend(bits(tail));
        assert_eq!(c.bytes(), &want[..], "ts_2 = {t2}");
        let (got, err) = decode(c.bytes());
        assert_eq!(err, None);
        assert_eq!(got, vec![(0, 0), (10000, 0), (t2, 0)]);
    }
}

#[test]
fn fixture_leading_clamped_to_31() {
    // v_0 = 1.0; v_1 = bits 0x3ff0_0000_0000_0001: x = 1, 63 leading zeros clamped to
    // 31, trailing 0, so 33 significant bits: `11` 11111 100001 + 33-bit 1.
    // v_2 = bits ...0003: x = 2, leading 62 (clamped 31) >= 31, trailing 1 >= 0: reuse,
    // `10` + 33 bits of x >> 0 = 2.
    // Timestamps 0, 1, 2: varint(0) = 00, uvarint(1) = 01, dod 0 = `0`.
    let c = chunk_of(&[
        (0, 1.0),
        (1, f64::from_bits(0x3ff0_0000_0000_0001)),
        (2, f64::from_bits(0x3ff0_0000_0000_0003)),
    ]);
    let mut want = vec![0x00, 0x03, 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x01];
    want.extend(bits(
        "11 11111 100001 0 00000000 00000000 00000000 00000001 \
         0 10 0 00000000 00000000 00000000 00000010",
    ));
    assert_eq!(c.bytes(), &want[..]);
}

#[test]
fn fixture_sixty_four_significant_bits_written_as_zero() {
    // v_0 = 0.0, v_1 = bits 0x8000_0000_0000_0001: x has no leading or trailing zeros,
    // 64 significant bits, written as 0 in the 6-bit field: `11` 00000 000000 + 64 bits.
    // varint(0) = 00, 0.0 = 8 zero bytes, uvarint(1) = 01.
    let c = chunk_of(&[(0, 0.0), (1, f64::from_bits(0x8000_0000_0000_0001))]);
    let mut want = vec![0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
    want.extend(bits(
        "11 00000 000000 10000000 00000000 00000000 00000000 \
         00000000 00000000 00000000 00000001",
    ));
    assert_eq!(c.bytes(), &want[..]);
    let (got, err) = decode(c.bytes());
    assert_eq!(err, None);
    assert_eq!(got, vec![(0, 0), (1, 0x8000_0000_0000_0001)]);
}

#[test]
fn decodes_a_reuse_before_any_window_as_64_bits() {
    // Prometheus's reopened appender starts from leading = trailing = 0 instead of "no
    // window", so a chunk it extends can hold `10` + 64 bits before any `11`. Such bytes
    // must decode: 0.0 then x = 2.0's bits.
    let mut data = vec![0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
    data.extend(bits(
        "10 01000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000",
    ));
    let (got, err) = decode(&data);
    assert_eq!(err, None);
    assert_eq!(got, vec![(0, 0), (1, 2.0f64.to_bits())]);
}

// ---------------------------------------------------------------------------------------
// Chunks written by real Prometheus
// ---------------------------------------------------------------------------------------

/// `testdata/prometheus-2.42-chunks` is a block `chunks/000001` file written by
/// `promtool tsdb create-blocks-from openmetrics` (Prometheus 2.42) from the samples of
/// `testdata/gen_prometheus_chunks.py`: 1947 samples in 17 chunks of 5 series (constant,
/// counter, gauge, special values, irregular timestamps). Every chunk must decode, and
/// Ember's encoder, given the decoded samples, must write Prometheus's bytes (up to a
/// spare trailing zero byte that only 2.x writes).
#[test]
fn prometheus_written_chunks_reencode_bit_for_bit() {
    let file: &[u8] = include_bytes!("../testdata/prometheus-2.42-chunks");
    // Segment header (tsdb/docs/format/chunks.md): magic 0x85BD40DD, version 1, 3 padding.
    assert_eq!(&file[..8], &[0x85, 0xbd, 0x40, 0xdd, 0x01, 0, 0, 0]);
    let mut rest = &file[8..];
    let (mut chunks, mut samples, mut spares) = (0, 0, 0);
    while !rest.is_empty() {
        // Chunk: len <uvarint> | encoding <1 byte> | data <len> | CRC32C(encoding, data).
        let mut r = BitReader::new(rest, 0);
        let len = r.read_uvarint().unwrap() as usize;
        let at = r.pos() / 8;
        let encoding = rest[at];
        let data = &rest[at + 1..at + 1 + len];
        let crc = &rest[at + 1 + len..at + 5 + len];
        assert_eq!(encoding, 1, "XOR");
        assert_eq!(crc, &crc32c::crc32c(&rest[at..at + 1 + len]).to_be_bytes());
        rest = &rest[at + 5 + len..];

        let (decoded, err) = decode(data);
        assert_eq!(err, None, "chunk {chunks}");
        assert_eq!(
            decoded.len(),
            u16::from_be_bytes([data[0], data[1]]) as usize
        );
        assert!(decoded.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(decoded
            .iter()
            .all(|&(t, _)| (1_700_006_399_995..=1_700_013_485_003).contains(&t)));
        // Prometheus 2.x's bstream appended a spare zero byte when a whole byte was
        // written at a byte boundary (fixed in 3.0 by prometheus#14854), so a 2.x chunk
        // can end in one zero byte that carries no bits; 3.x, and Ember, do not write it.
        let reencoded = chunk_of_bits(&decoded);
        let spare = data.len() - reencoded.bytes().len();
        assert!(spare <= 1 && data[data.len() - spare..].iter().all(|&b| b == 0));
        assert_eq!(
            reencoded.bytes(),
            &data[..data.len() - spare],
            "chunk {chunks}"
        );
        assert_eq!(
            XorChunk::from_bytes(data).unwrap().bytes(),
            reencoded.bytes()
        );
        spares += spare;
        chunks += 1;
        samples += decoded.len();
    }
    // promtool reported: 1947 samples, 17 chunks.
    assert_eq!((chunks, samples), (17, 1947));
    assert!(spares < chunks, "most chunks match exactly");
}

// ---------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------

#[test]
fn too_short_for_the_header() {
    for data in [&[][..], &[0x00][..]] {
        let mut it = XorIterator::new(data);
        assert_eq!(it.next(), ValueType::None);
        assert_eq!(it.err(), Some(&ChunkError::TooShort(data.len())));
        assert_eq!(
            XorChunk::from_bytes(data).unwrap_err(),
            ChunkError::TooShort(data.len())
        );
    }
}

#[test]
fn empty_chunk() {
    let c = XorChunk::new();
    assert_eq!(c.bytes(), &[0, 0]);
    assert_eq!(c.num_samples(), 0);
    assert_eq!(c.heap_bytes(), 0);
    assert_eq!(c.first_timestamp(), None);
    assert_eq!(c.last_timestamp(), None);
    assert_eq!(c.last_value(), None);
    let mut it = c.iter();
    assert_eq!(it.next(), ValueType::None);
    assert_eq!(it.seek(i64::MIN), ValueType::None);
    assert_eq!(it.err(), None);
}

#[test]
fn header_claims_more_samples_than_present() {
    let mut data = chunk_of(&[(1000, 1.0), (1015, 2.0)]).bytes().to_vec();
    data[1] = 3;
    let (got, err) = decode(&data);
    assert_eq!(got, as_bits(&[(1000, 1.0), (1015, 2.0)]));
    assert_eq!(
        err,
        Some(ChunkError::Truncated {
            decoded: 2,
            expected: 3
        })
    );
}

#[test]
fn window_wider_than_64_bits_is_corrupt() {
    // Sample 1's value: `11`, leading 31, sigbits 40: 71 bits of window.
    let mut data = vec![0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
    data.extend(bits(
        "11 11111 101000 0000000000000000000000000000000000000000",
    ));
    let (got, err) = decode(&data);
    assert_eq!(got, vec![(0, 0)]);
    assert!(
        matches!(err, Some(ChunkError::Corrupt { sample: 1, .. })),
        "{err:?}"
    );
}

#[test]
fn overlong_first_timestamp_is_corrupt() {
    let mut data = vec![0x00, 0x01];
    data.extend([0xff; 10]);
    data.extend([0; 8]);
    let (got, err) = decode(&data);
    assert!(got.is_empty());
    assert!(matches!(err, Some(ChunkError::Corrupt { sample: 0, .. })));
}

#[test]
fn ended_iterator_stays_ended() {
    let c = chunk_of(&[(10, 1.0), (20, 2.0)]);
    let mut it = c.iter();
    assert_eq!(it.next(), ValueType::Float);
    assert_eq!(it.next(), ValueType::Float);
    // Still on the last sample: a seek at or before it is a no-op.
    assert_eq!(it.seek(20), ValueType::Float);
    assert_eq!(it.at(), (20, 2.0));
    assert_eq!(it.next(), ValueType::None);
    // Once ended, even a seek to a timestamp the last sample satisfied returns None.
    assert_eq!(it.seek(0), ValueType::None);
    assert_eq!(it.next(), ValueType::None);
    assert_eq!(it.err(), None);

    let mut it = c.iter();
    assert_eq!(it.seek(21), ValueType::None);
    assert_eq!(it.seek(0), ValueType::None);
}

// ---------------------------------------------------------------------------------------
// State and memory
// ---------------------------------------------------------------------------------------

#[test]
fn chunk_struct_is_small() {
    // A chunk lives in every head series: at most 48 bytes, and no more as an Option.
    let size = std::mem::size_of::<XorChunk>();
    assert!(size <= 48, "{size}");
    assert_eq!(std::mem::size_of::<Option<XorChunk>>(), size);
}

#[test]
fn accessors_and_memory() {
    let mut c = XorChunk::new();
    c.append(-5, 1.5);
    assert_eq!(c.heap_bytes(), 128);
    for i in 0..200 {
        c.append(i * 15_000 + (i % 3), i as f64 * 0.1);
    }
    assert_eq!(c.num_samples(), 201);
    assert_eq!(c.first_timestamp(), Some(-5));
    assert_eq!(c.last_timestamp(), Some(199 * 15_000 + 1));
    assert_eq!(c.last_value(), Some(199.0 * 0.1));
    assert!(c.heap_bytes() >= c.bytes().len());

    let before = c.bytes().to_vec();
    c.shrink_to_fit();
    assert_eq!(c.heap_bytes(), before.len());
    assert_eq!(c.bytes(), &before[..]);
    // Appending after shrinking reallocates and carries on as before.
    let mut reference = c.clone();
    reference.append(4_000_000, 7.0);
    c.append(4_000_000, 7.0);
    assert_eq!(c.bytes(), reference.bytes());
    assert_eq!(c.num_samples(), 202);
}

#[test]
fn full_chunk_ignores_appends() {
    let mut c = XorChunk::new();
    for i in 0..u16::MAX as i64 {
        c.append(i, 0.0);
    }
    assert_eq!(c.num_samples(), u16::MAX);
    let before = c.bytes().to_vec();
    c.append(1 << 20, 1.0);
    assert_eq!(c.bytes(), &before[..]);
    assert_eq!(c.iter().count_samples(), u16::MAX as usize);
}

trait CountSamples {
    fn count_samples(self) -> usize;
}

impl CountSamples for XorIterator<'_> {
    fn count_samples(mut self) -> usize {
        let mut n = 0;
        while self.next() == ValueType::Float {
            n += 1;
        }
        assert_eq!(self.err(), None);
        n
    }
}

// ---------------------------------------------------------------------------------------
// A naive reference encoder: one `bool` per bit, written straight from the format tables
// in the module docs, without the word-at-a-time tricks of the real one.
// ---------------------------------------------------------------------------------------

struct RefEncoder {
    bits: Vec<bool>,
}

impl RefEncoder {
    fn put(&mut self, value: u64, n: u32) {
        for i in (0..n).rev() {
            self.bits.push((value >> i) & 1 == 1);
        }
    }

    fn put_uvarint(&mut self, mut x: u64) {
        loop {
            let low = x & 0x7f;
            x >>= 7;
            if x == 0 {
                self.put(low, 8);
                return;
            }
            self.put(low | 0x80, 8);
        }
    }

    fn encode(samples: &[(i64, u64)]) -> Vec<u8> {
        let mut e = RefEncoder { bits: Vec::new() };
        e.put(samples.len() as u64, 16);
        let (mut prev_t, mut prev_delta, mut prev_v) = (0i64, 0i64, 0u64);
        let mut window: Option<(u32, u32)> = None;
        for (i, &(t, v)) in samples.iter().enumerate() {
            match i {
                0 => {
                    let zigzag = if t < 0 {
                        !((t as u64) << 1)
                    } else {
                        (t as u64) << 1
                    };
                    e.put_uvarint(zigzag);
                    e.put(v, 64);
                }
                1 => {
                    prev_delta = t.wrapping_sub(prev_t);
                    e.put_uvarint(prev_delta as u64);
                }
                _ => {
                    let delta = t.wrapping_sub(prev_t);
                    let dod = delta.wrapping_sub(prev_delta) as i128;
                    prev_delta = delta;
                    let in_range =
                        |n: u32| -((1i128 << (n - 1)) - 1) <= dod && dod <= 1i128 << (n - 1);
                    if dod == 0 {
                        e.put(0, 1);
                    } else if in_range(14) {
                        e.put(0b10, 2);
                        e.put(dod as u64, 14);
                    } else if in_range(17) {
                        e.put(0b110, 3);
                        e.put(dod as u64, 17);
                    } else if in_range(20) {
                        e.put(0b1110, 4);
                        e.put(dod as u64, 20);
                    } else {
                        e.put(0b1111, 4);
                        e.put(dod as u64, 64);
                    }
                }
            }
            if i > 0 {
                let x = v ^ prev_v;
                if x == 0 {
                    e.put(0, 1);
                } else {
                    let lead = x.leading_zeros().min(31);
                    let trail = x.trailing_zeros();
                    match window {
                        Some((l, tr)) if lead >= l && trail >= tr => {
                            e.put(0b10, 2);
                            e.put(x >> tr, 64 - l - tr);
                        }
                        _ => {
                            window = Some((lead, trail));
                            let sig = 64 - lead - trail;
                            e.put(0b11, 2);
                            e.put(lead as u64, 5);
                            e.put((sig % 64) as u64, 6);
                            e.put(x >> trail, sig);
                        }
                    }
                }
            }
            prev_t = t;
            prev_v = v;
        }
        let mut out = vec![0u8; e.bits.len().div_ceil(8)];
        for (i, &b) in e.bits.iter().enumerate() {
            if b {
                out[i / 8] |= 0x80 >> (i % 8);
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// Gaps between timestamps: scrape-like, each dod bucket, and huge.
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 14_990i64..15_010,
        1 => 1i64..=100,
        1 => 1i64..=70_000,
        1 => 1i64..=1_100_000,
        1 => 1i64..=(1 << 62),
    ]
}

/// Values as bits: special patterns, small-digit decimals, arbitrary bits.
fn value_bits() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(STALE_NAN_BITS),
        Just(f64::NAN.to_bits()),
        Just(0x7ff8_0000_dead_beef), // a NaN with a payload
        Just(0xfff0_0000_0000_0001), // a negative signalling NaN
        Just(f64::INFINITY.to_bits()),
        Just(f64::NEG_INFINITY.to_bits()),
        Just((-0.0f64).to_bits()),
        Just(0u64),
        Just(1u64),                  // the smallest subnormal
        Just(0x000f_ffff_ffff_ffff), // the largest subnormal
        Just(0x8000_0000_0000_0001), // 64 significant bits against 0.0
        (0i64..10_000).prop_map(|n| (n as f64 / 100.0).to_bits()),
        any::<u64>(),
    ]
}

/// Delta-of-delta values at the edges of the `varbit_ts` buckets.
const EDGE_DODS: &[i64] = &[
    1, -1, 8191, -8191, 8192, -8192, 8193, 65535, -65535, 65536, -65536, 65537, 524287, -524287,
    524288, -524288, 524289,
];

/// Increasing timestamps (stopping before they would overflow), including negative ones,
/// sometimes with a dod at a bucket edge, and values that often repeat the previous one.
fn samples(max: usize) -> impl Strategy<Value = Vec<(i64, u64)>> {
    let step = (
        gap(),
        prop::option::weighted(0.2, prop::sample::select(EDGE_DODS)),
        value_bits(),
        prop::bool::weighted(0.3),
    );
    (
        -(1i64 << 62)..(1i64 << 62),
        prop::collection::vec(step, 0..max),
    )
        .prop_map(|(start, steps)| {
            let mut out: Vec<(i64, u64)> = Vec::with_capacity(steps.len());
            let mut t = start;
            let mut prev_gap = 0i64;
            for (i, (g, edge_dod, v, repeat)) in steps.into_iter().enumerate() {
                if i > 0 {
                    // Use the edge dod when it keeps timestamps increasing.
                    let g = match edge_dod {
                        Some(d) if i >= 2 && prev_gap + d >= 1 => prev_gap + d,
                        _ => g,
                    };
                    match t.checked_add(g) {
                        Some(next) => t = next,
                        None => break,
                    }
                    prev_gap = g;
                }
                let v = match out.last() {
                    Some(&(_, prev)) if repeat => prev,
                    _ => v,
                };
                out.push((t, v));
            }
            out
        })
}

fn chunk_of_bits(samples: &[(i64, u64)]) -> XorChunk {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, f64::from_bits(v));
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(s in samples(300)) {
        let c = chunk_of_bits(&s);
        prop_assert_eq!(c.num_samples() as usize, s.len());
        prop_assert_eq!(c.first_timestamp(), s.first().map(|x| x.0));
        prop_assert_eq!(c.last_timestamp(), s.last().map(|x| x.0));
        prop_assert_eq!(c.last_value().map(f64::to_bits), s.last().map(|x| x.1));
        let (got, err) = decode(c.bytes());
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, s);
    }

    /// The bytes equal the naive reference encoder's.
    #[test]
    fn bytes_match_reference_encoder(s in samples(300)) {
        let c = chunk_of_bits(&s);
        prop_assert_eq!(c.bytes(), &RefEncoder::encode(&s)[..]);
    }

    /// Any timestamps, in any order, round-trip: arithmetic wraps as in Go.
    #[test]
    fn any_timestamps_round_trip(s in prop::collection::vec((any::<i64>(), value_bits()), 0..100)) {
        let c = chunk_of_bits(&s);
        prop_assert_eq!(c.bytes(), &RefEncoder::encode(&s)[..]);
        let (got, err) = decode(c.bytes());
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, s);
    }

    /// Seeks land on the first sample with ts >= target (brute force over the samples),
    /// never move backwards, and are a no-op when the current sample already qualifies.
    #[test]
    fn seek_matches_brute_force(
        s in samples(200),
        ops in prop::collection::vec((any::<bool>(), any::<prop::sample::Index>(), -2i64..=2), 1..20),
    ) {
        let c = chunk_of_bits(&s);
        let mut it = c.iter();
        // Reference position: index of the current sample; None before the first call.
        let mut pos: Option<usize> = None;
        let mut ended = false;
        for (is_seek, idx, offset) in ops {
            let got = if is_seek {
                // Targets at, just around and between the chunk's timestamps.
                let target = if s.is_empty() {
                    offset
                } else {
                    s[idx.index(s.len())].0.saturating_add(offset)
                };
                let got = it.seek(target);
                if !ended {
                    let from = pos.unwrap_or(0);
                    let current_ok = pos.is_some_and(|p| s[p].0 >= target);
                    if !current_ok {
                        match (from..s.len()).find(|&i| s[i].0 >= target) {
                            Some(i) => pos = Some(i),
                            None => ended = true,
                        }
                    }
                }
                got
            } else {
                let got = it.next();
                if !ended {
                    let next = pos.map_or(0, |p| p + 1);
                    if next < s.len() { pos = Some(next) } else { ended = true }
                }
                got
            };
            if ended {
                prop_assert_eq!(got, ValueType::None);
            } else {
                prop_assert_eq!(got, ValueType::Float);
                let p = pos.unwrap();
                let (t, v) = it.at();
                prop_assert_eq!((t, v.to_bits()), s[p]);
            }
        }
        prop_assert_eq!(it.err(), None);
    }

    /// Reopening a prefix and appending the rest gives the same bytes as one chunk.
    #[test]
    fn reopen_then_append_equals_one_chunk(s in samples(200), split in any::<prop::sample::Index>()) {
        let k = if s.is_empty() { 0 } else { split.index(s.len() + 1) };
        let whole = chunk_of_bits(&s);
        let mut reopened = XorChunk::from_bytes(chunk_of_bits(&s[..k]).bytes()).unwrap();
        prop_assert_eq!(reopened.num_samples() as usize, k);
        for &(t, v) in &s[k..] {
            reopened.append(t, f64::from_bits(v));
        }
        prop_assert_eq!(reopened.bytes(), whole.bytes());
        prop_assert_eq!(reopened.first_timestamp(), whole.first_timestamp());
        prop_assert_eq!(reopened.last_timestamp(), whole.last_timestamp());
        prop_assert_eq!(reopened.last_value().map(f64::to_bits), whole.last_value().map(f64::to_bits));
    }

    /// Cutting bytes off a chunk yields its first samples, then a truncation error.
    #[test]
    fn truncation_is_reported(s in samples(100), cut in any::<prop::sample::Index>()) {
        prop_assume!(!s.is_empty());
        let c = chunk_of_bits(&s);
        let full = c.bytes();
        let len = 2 + cut.index(full.len() - 2); // keep the header, drop at least a byte
        let (got, err) = decode(&full[..len]);
        prop_assert!(got.len() < s.len());
        prop_assert_eq!(&got[..], &s[..got.len()]);
        prop_assert_eq!(err, Some(ChunkError::Truncated { decoded: got.len() as u16, expected: s.len() as u16 }));
        prop_assert!(XorChunk::from_bytes(&full[..len]).is_err());
    }

    /// Arbitrary bytes never panic the iterator or `from_bytes`.
    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..400), target in any::<i64>()) {
        exercise(&data, target);
    }

    /// Valid chunks with flipped bits never panic either (they reach deeper states).
    #[test]
    fn corrupted_chunks_never_panic(
        s in samples(150),
        flips in prop::collection::vec(any::<prop::sample::Index>(), 1..8),
        target in any::<i64>(),
    ) {
        let mut data = chunk_of_bits(&s).bytes().to_vec();
        for f in flips {
            let bit = f.index(data.len() * 8);
            data[bit / 8] ^= 0x80 >> (bit % 8);
        }
        exercise(&data, target);
    }
}

/// Runs everything that reads bytes; the test is that nothing panics and iteration ends.
fn exercise(data: &[u8], target: i64) {
    let mut it = XorIterator::new(data);
    let mut n = 0u32;
    while it.next() == ValueType::Float {
        n += 1;
        assert!(n <= u16::MAX as u32);
    }
    assert_eq!(it.next(), ValueType::None);
    let mut it = XorIterator::new(data);
    let _ = it.seek(target);
    let _ = it.seek(target.wrapping_add(1));
    if let Ok(mut c) = XorChunk::from_bytes(data) {
        c.append(target, 1.0);
        c.append(target.wrapping_add(15_000), 2.0);
        let _ = c.first_timestamp();
        let (_, err) = decode(c.bytes());
        assert_eq!(err, None);
    }
}
