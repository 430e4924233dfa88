//! Tests of the segment format: writer, reader, corruption handling, repair, checkpoints.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::record::{
    self, Decoder, RecordType, RefExemplar, RefMetadata, RefSample, RefSeries, Tombstone,
};
use super::*;
use crate::{Labels, SeriesRef};

const P: usize = PAGE_SIZE;

fn opts(segment_size: u64, compression: WalCompression) -> WalOptions {
    WalOptions {
        segment_size,
        compression,
        metrics: Arc::new(WalMetrics::new()),
    }
}

/// Deterministic pseudo-random bytes (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// `len` bytes: random, or (when `compressible`) drawn from a small alphabet.
    fn bytes(&mut self, len: usize, compressible: bool) -> Vec<u8> {
        (0..len)
            .map(|_| {
                let x = self.next();
                if compressible {
                    b"abcd"[(x % 4) as usize]
                } else {
                    (x >> 32) as u8
                }
            })
            .collect()
    }
}

/// Every record of the segments in `dir`, and the error that ended the reading, if any.
fn read_dir(dir: &Path) -> (Vec<Vec<u8>>, Option<WalError>) {
    read_ranges(&[SegmentRange::all(dir)])
}

fn read_ranges(ranges: &[SegmentRange]) -> (Vec<Vec<u8>>, Option<WalError>) {
    let mut r = match Reader::open(ranges) {
        Ok(r) => r,
        Err(e) => return (vec![], Some(e)),
    };
    let mut out = Vec::new();
    loop {
        match r.next() {
            Ok(Some(rec)) => out.push(rec.to_vec()),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

fn write(dir: &Path, o: WalOptions, records: &[Vec<u8>]) {
    let wal = Wal::open(dir, o).unwrap();
    for batch in records.chunks(3) {
        let refs: Vec<&[u8]> = batch.iter().map(|r| r.as_slice()).collect();
        wal.log(&refs).unwrap();
    }
    wal.close().unwrap();
}

/// CRC-32C computed bit by bit (reflected polynomial 0x82F63B78): a reference independent
/// of the `crc32c` crate.
fn crc32c_reference(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Where the format puts each record, for uncompressed records of the given lengths:
/// (segment, offset of its first fragment, offset just past its last fragment). A
/// simulation of page filling, independent of the writer's arithmetic.
fn layout(lens: &[usize], segment_size: usize) -> Layout {
    // Fragments from `pos`: (end of the last fragment, position after any padding).
    fn simulate(mut pos: usize, len: usize) -> (usize, usize) {
        let mut rest = len;
        loop {
            let room = P - pos % P - 7;
            let n = rest.min(room);
            pos += 7 + n;
            rest -= n;
            let end = pos;
            if !pos.is_multiple_of(P) && P - pos % P < 7 {
                pos += P - pos % P;
            }
            if rest == 0 {
                return (end, pos);
            }
        }
    }
    let pages = segment_size / P;
    let (mut seg, mut pos) = (0u32, 0usize);
    let mut out = Vec::new();
    for &len in lens {
        let (mut end, mut next) = simulate(pos, len);
        if pos > 0 && (end - 1) / P >= pages {
            seg += 1;
            pos = 0;
            (end, next) = simulate(0, len);
        }
        out.push((seg, pos, end));
        pos = next;
    }
    out
}

// ----- The format, byte by byte -----

#[test]
fn one_record_byte_by_byte() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        opts(DEFAULT_SEGMENT_SIZE, WalCompression::None),
        &[b"123456789".to_vec()],
    );
    let seg = fs::read(dir.path().join("00000000")).unwrap();
    // Closing pads the last page: one 32 KiB page.
    assert_eq!(seg.len(), P);
    // type 1 (full, no compression) | length 9 as u16 BE | CRC-32C of "123456789", the
    // catalogue check value 0xE3069283, BE | the data | zeros.
    assert_eq!(seg[..7], [0x01, 0x00, 0x09, 0xe3, 0x06, 0x92, 0x83]);
    assert_eq!(&seg[7..16], b"123456789");
    assert!(seg[16..].iter().all(|&b| b == 0));
    assert_eq!(crc32c_reference(b"123456789"), 0xe306_9283);
}

#[test]
fn compressed_records_set_their_flag() {
    let rec = vec![b'a'; 100];
    for (c, type_byte) in [
        (WalCompression::Snappy, 0x09u8),
        (WalCompression::Zstd, 0x11),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            opts(DEFAULT_SEGMENT_SIZE, c),
            std::slice::from_ref(&rec),
        );
        let seg = fs::read(dir.path().join("00000000")).unwrap();
        // type: full (1) | snappy flag (1<<3) or zstd flag (1<<4)
        assert_eq!(seg[0], type_byte);
        let len = usize::from(u16::from_be_bytes([seg[1], seg[2]]));
        assert!(len < rec.len());
        let payload = &seg[7..7 + len];
        assert_eq!(
            u32::from_be_bytes([seg[3], seg[4], seg[5], seg[6]]),
            crc32c_reference(payload)
        );
        let plain = match c {
            WalCompression::Snappy => snap::raw::Decoder::new().decompress_vec(payload).unwrap(),
            _ => {
                assert_eq!(payload[..4], [0x28, 0xb5, 0x2f, 0xfd], "zstd frame magic");
                zstd::bulk::decompress(payload, 1000).unwrap()
            }
        };
        assert_eq!(plain, rec);
        assert_eq!(read_dir(dir.path()).0, vec![rec.clone()]);
    }
}

#[test]
fn incompressible_records_are_stored_plain() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Rng(7).bytes(50, false);
    write(
        dir.path(),
        opts(DEFAULT_SEGMENT_SIZE, WalCompression::Snappy),
        std::slice::from_ref(&rec),
    );
    let seg = fs::read(dir.path().join("00000000")).unwrap();
    assert_eq!(seg[0], 0x01);
    assert_eq!(&seg[7..57], &rec[..]);
}

#[test]
fn page_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let lens = [
        P - 7,     // exactly the room of page 0: one full fragment, page 0 full
        P - 7 - 3, // leaves 3 bytes on page 1: too few for a header, so zero padding
        0,         // empty records: a bare header each, on page 2
        0,         //
        100_000,   // first, middle, middle, last fragments
        5,         //
    ];
    let mut rng = Rng(1);
    let records: Vec<Vec<u8>> = lens.iter().map(|&n| rng.bytes(n, false)).collect();
    write(
        dir.path(),
        opts(DEFAULT_SEGMENT_SIZE, WalCompression::None),
        &records,
    );
    let seg = fs::read(dir.path().join("00000000")).unwrap();
    let header = |at: usize| {
        (
            seg[at],
            usize::from(u16::from_be_bytes([seg[at + 1], seg[at + 2]])),
        )
    };
    // Record 0 fills page 0.
    assert_eq!(header(0), (1, P - 7));
    // Record 1 starts page 1 and leaves 3 zero bytes.
    assert_eq!(header(P), (1, P - 10));
    assert_eq!(seg[2 * P - 3..2 * P], [0, 0, 0]);
    // Records 2 and 3: empty full fragments, CRC of nothing is 0.
    assert_eq!(
        seg[2 * P..2 * P + 14],
        [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    );
    // Record 4 at 2P+14: first fragment of the page's remaining room, then a middle
    // fragment on each of pages 3 and 4 (32761 bytes each), then the last fragment with
    // 100000 - (32747 + 2 * 32761) = 1731 bytes on page 5.
    let first = P - 14 - 7;
    assert_eq!(header(2 * P + 14), (2, first));
    assert_eq!(header(3 * P), (3, P - 7));
    assert_eq!(header(4 * P), (3, P - 7));
    assert_eq!(header(5 * P), (4, 1731));
    // Record 5 right after it.
    assert_eq!(header(5 * P + 7 + 1731), (1, 5));
    assert_eq!(
        layout(&lens, DEFAULT_SEGMENT_SIZE as usize)[5],
        (0, 5 * P + 7 + 1731, 5 * P + 14 + 1731 + 5)
    );
    assert_eq!(read_dir(dir.path()).0, records);
}

#[test]
fn a_record_that_does_not_fit_starts_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(2);
    // Segments of 2 pages. 40000 bytes: first (32761) + last (7239) on page 1, ending at
    // 32768 + 7 + 7239 = 40014. 30000 bytes then need more than the 32768 - 7246 - 7 =
    // 25515 left: they go to segment 1.
    let records = vec![rng.bytes(40_000, false), rng.bytes(30_000, false)];
    write(
        dir.path(),
        opts(2 * P as u64, WalCompression::None),
        &records,
    );
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 1]);
    let s0 = fs::read(dir.path().join("00000000")).unwrap();
    assert_eq!(
        s0.len(),
        2 * P,
        "the finished segment is padded to a page boundary"
    );
    assert!(s0[40_014..].iter().all(|&b| b == 0));
    let s1 = fs::read(dir.path().join("00000001")).unwrap();
    assert_eq!(s1[..3], [1, (30_000u16 >> 8) as u8, 30_000u16 as u8]);
    assert_eq!(
        layout(&[40_000, 30_000], 2 * P),
        vec![(0, 0, 40_014), (1, 0, 30_007)]
    );
    assert_eq!(read_dir(dir.path()).0, records);
}

#[test]
fn an_oversized_record_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(3);
    let records = vec![
        rng.bytes(100, false),
        rng.bytes(100_000, false),
        rng.bytes(10, false),
    ];
    write(dir.path(), opts(P as u64, WalCompression::None), &records);
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 1, 2]);
    let len = |i| fs::metadata(segment_name(dir.path(), i)).unwrap().len() as usize;
    assert_eq!(len(0), P);
    // 100000 bytes need 4 pages (3 * 32761 < 100000): a segment 4 times the segment size.
    assert_eq!(len(1), 4 * P);
    assert_eq!(len(2), P);
    assert_eq!(read_dir(dir.path()).0, records);

    // A fresh segment takes an oversized record itself, leaving no empty segment behind.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        opts(P as u64, WalCompression::None),
        &records[1..2],
    );
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0]);
}

#[test]
fn layout_matches_the_model_for_many_sizes() {
    let mut rng = Rng(4);
    let lens: Vec<usize> = (0..300)
        .map(|_| match rng.below(4) {
            0 => rng.below(20) as usize,
            1 => P - 7 - rng.below(12) as usize,
            2 => rng.below(3 * P as u64) as usize,
            _ => rng.below(2000) as usize,
        })
        .collect();
    let records: Vec<Vec<u8>> = lens.iter().map(|&n| rng.bytes(n, false)).collect();
    let dir = tempfile::tempdir().unwrap();
    let seg_size = 8 * P;
    write(
        dir.path(),
        opts(seg_size as u64, WalCompression::None),
        &records,
    );
    let model = layout(&lens, seg_size);
    let mut r = Reader::open(&[SegmentRange::all(dir.path())]).unwrap();
    for (i, want) in records.iter().enumerate() {
        assert_eq!(r.next().unwrap(), Some(&want[..]), "record {i}");
        let (seg, start, _) = model[i];
        assert_eq!(r.position(), Some((seg, start as u64)), "record {i}");
    }
    assert_eq!(r.next().unwrap(), None);
}

#[test]
fn round_trips_with_every_compression() {
    for c in [
        WalCompression::None,
        WalCompression::Snappy,
        WalCompression::Zstd,
    ] {
        for seed in 1..4 {
            let mut rng = Rng(seed * 31 + 5);
            let records: Vec<Vec<u8>> = (0..150)
                .map(|_| {
                    let len = match rng.below(5) {
                        0 => 0,
                        1 => rng.below(100),
                        2 => rng.below(200_000),
                        _ => rng.below(5000),
                    } as usize;
                    let compressible = rng.below(2) == 0;
                    rng.bytes(len, compressible)
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), opts(4 * P as u64, c), &records[..100]);
            // Reopening continues in a new segment.
            let before = list_segments(dir.path()).unwrap();
            write(dir.path(), opts(4 * P as u64, c), &records[100..]);
            let after = list_segments(dir.path()).unwrap();
            assert!(after.len() > before.len());
            let (got, err) = read_dir(dir.path());
            assert!(err.is_none(), "{c:?}: {err:?}");
            assert_eq!(got.len(), records.len());
            assert!(got == records, "{c:?} seed {seed}: records differ");
        }
    }
}

// ----- Damage -----

/// A one-segment WAL of records of assorted sizes (several spanning pages), and their
/// layout.
/// (segment, start, end) of each record.
type Layout = Vec<(u32, usize, usize)>;

fn small_wal(dir: &Path, c: WalCompression) -> (Vec<Vec<u8>>, Layout) {
    // Record 5 ends 3 bytes short of the end of page 1 (record 4 ends at 40041), so zero
    // padding follows it.
    let lens = [
        10,
        0,
        300,
        40_000,
        5,
        2 * P - 40_041 - 7 - 3,
        17,
        1000,
        9000,
        4,
    ];
    let mut rng = Rng(9);
    let compressible = c != WalCompression::None;
    let records: Vec<Vec<u8>> = lens.iter().map(|&n| rng.bytes(n, compressible)).collect();
    let wal = Wal::open(dir, opts(DEFAULT_SEGMENT_SIZE, c)).unwrap();
    for r in &records {
        wal.log(&[r]).unwrap();
    }
    // Not closed: the segment ends part-way through its last page, as after a crash.
    drop(wal.inner.lock().seg.active.take());
    (records, layout(&lens, DEFAULT_SEGMENT_SIZE as usize))
}

/// Checks what a reader returns from a damaged copy: the intact records in order, then
/// (if `expect_error`) a corruption at `offset`.
fn check_damaged(
    dir: &Path,
    records: &[Vec<u8>],
    intact: usize,
    error_at: Option<u64>,
    what: &str,
) {
    let (got, err) = read_dir(dir);
    assert_eq!(got.len(), intact, "{what}: records returned");
    assert!(
        got[..] == records[..intact],
        "{what}: a returned record differs"
    );
    match (error_at, err) {
        (None, None) => {}
        (Some(off), Some(WalError::Corruption(c))) => {
            assert_eq!((c.segment, c.offset), (0, off), "{what}: {c}");
        }
        (want, got) => panic!("{what}: expected corruption at {want:?}, got {got:?}"),
    }
}

#[test]
fn truncation_at_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (records, lay) = small_wal(dir.path(), WalCompression::None);
    let path = dir.path().join("00000000");
    let full = fs::metadata(&path).unwrap().len() as usize;
    assert_eq!(full, lay.last().unwrap().2);
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    for cut in (0..=full).rev() {
        f.set_len(cut as u64).unwrap();
        // Intact: records that end by the cut. Damaged: the one the cut falls inside.
        let intact = lay.iter().filter(|r| r.2 <= cut).count();
        let torn = lay
            .iter()
            .find(|r| r.1 < cut && cut < r.2)
            .map(|r| r.1 as u64);
        check_damaged(dir.path(), &records, intact, torn, &format!("cut at {cut}"));
    }
}

#[test]
fn flipped_bytes_at_every_offset() {
    for c in [WalCompression::None, WalCompression::Snappy] {
        let dir = tempfile::tempdir().unwrap();
        let (records, lay) = small_wal(dir.path(), c);
        let path = dir.path().join("00000000");
        let original = fs::read(&path).unwrap();
        // With compression the stored lengths differ from the model's: find the records'
        // extents by reading.
        let lay: Vec<(usize, usize)> = if c == WalCompression::None {
            lay.iter().map(|r| (r.1, r.2)).collect()
        } else {
            extents(&original)
        };
        // Every byte of every fragment header and of the page edges, and a stride of the
        // rest (reading the whole WAL once per flip is slow in a debug build).
        let mut hot = vec![false; original.len()];
        let mut pos = 0;
        while pos < original.len() {
            if original[pos] == 0 {
                pos += P - pos % P;
                continue;
            }
            let len = usize::from(u16::from_be_bytes([original[pos + 1], original[pos + 2]]));
            hot[pos..pos + 7].iter_mut().for_each(|h| *h = true);
            pos += 7 + len;
        }
        for (x, h) in hot.iter_mut().enumerate() {
            *h |= x % P < 8 || x % P > P - 8;
        }
        for x in 0..original.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let stride = if mask == 0x01 { 7 } else { 53 };
                if !hot[x] && x % stride != 0 {
                    continue;
                }
                let mut damaged = original.clone();
                damaged[x] ^= mask;
                fs::write(&path, &damaged).unwrap();
                // Records ending by x are intact; the damage is in the record holding x, or
                // in the padding after the last intact one.
                let intact = lay.iter().filter(|r| r.1 <= x).count();
                let at = lay
                    .iter()
                    .find(|r| r.0 <= x && x < r.1)
                    .map_or_else(|| lay[..intact].last().map_or(0, |r| r.1), |r| r.0)
                    as u64;
                check_damaged(
                    dir.path(),
                    &records,
                    intact,
                    Some(at),
                    &format!("{c:?}: byte {x} ^ {mask:#x}"),
                );
            }
        }
    }
}

/// (start, end) of every record in a clean segment, from its fragment headers.
fn extents(seg: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut start = 0;
    while pos < seg.len() {
        if seg[pos] == 0 {
            pos += P - pos % P;
            continue;
        }
        let kind = seg[pos] & 7;
        let len = usize::from(u16::from_be_bytes([seg[pos + 1], seg[pos + 2]]));
        if kind == 1 || kind == 2 {
            start = pos;
        }
        pos += 7 + len;
        if kind == 1 || kind == 4 {
            out.push((start, pos));
        }
    }
    out
}

#[test]
fn reader_rejects_malformed_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let frag = |typ: u8, data: &[u8]| {
        let mut f = vec![typ];
        f.extend_from_slice(&(data.len() as u16).to_be_bytes());
        f.extend_from_slice(&crc32c_reference(data).to_be_bytes());
        f.extend_from_slice(data);
        f
    };
    type Case = (&'static str, Vec<u8>, fn(&CorruptionReason) -> bool);
    let cases: Vec<Case> = vec![
        ("last without first", frag(4, b"x"), |r| {
            matches!(r, CorruptionReason::UnexpectedFragment { .. })
        }),
        ("middle without first", frag(3, b"x"), |r| {
            matches!(r, CorruptionReason::UnexpectedFragment { .. })
        }),
        (
            "full inside a record",
            [frag(2, b"x"), frag(1, b"y")].concat(),
            |r| matches!(r, CorruptionReason::UnexpectedFragment { .. }),
        ),
        ("unknown kind", frag(5, b"x"), |r| {
            matches!(r, CorruptionReason::UnknownFragmentType { kind: 5, .. })
        }),
        ("reserved bit", frag(0x21, b"x"), |r| {
            matches!(r, CorruptionReason::UnknownFlags { .. })
        }),
        ("both compressions", frag(0x19, b"x"), |r| {
            matches!(r, CorruptionReason::UnknownFlags { .. })
        }),
        (
            "mixed compression",
            [frag(0x0a, b"x"), frag(0x04, b"y")].concat(),
            |r| matches!(r, CorruptionReason::MixedCompression { .. }),
        ),
        ("bad snappy", frag(0x09, b"\xff\xff\xff"), |r| {
            matches!(r, CorruptionReason::Decompress(_))
        }),
        ("torn record", frag(2, b"x"), |r| {
            matches!(r, CorruptionReason::TornRecord { .. })
        }),
        ("torn fragment", frag(1, b"xyz")[..8].to_vec(), |r| {
            matches!(r, CorruptionReason::TruncatedFragment { .. })
        }),
        ("garbage in padding", vec![0, 0, 7], |r| {
            matches!(r, CorruptionReason::NonZeroPadding { at: 2 })
        }),
    ];
    for (what, bytes, ok) in cases {
        fs::write(dir.path().join("00000000"), &bytes).unwrap();
        let (got, err) = read_dir(dir.path());
        match err {
            Some(WalError::Corruption(c)) => {
                assert!(ok(&c.reason), "{what}: {c}");
                assert_eq!(c.offset, 0, "{what}");
            }
            other => panic!("{what}: expected corruption, got {got:?} {other:?}"),
        }
    }
    // A fragment whose length runs past its page, at the end of page 0 (after a record
    // filling the page up to there).
    let mut page = frag(1, &vec![1u8; P - 17]);
    page.extend_from_slice(&frag(1, b"abcd")[..7]);
    page.extend_from_slice(&[1, 2, 3, 4, 5]);
    fs::write(dir.path().join("00000000"), &page).unwrap();
    assert!(matches!(
        read_dir(dir.path()).1,
        Some(WalError::Corruption(Corruption { offset, reason: CorruptionReason::LengthPastPage { .. }, .. })) if offset == (P - 10) as u64
    ));
    // A header that would cross into the next page.
    let mut page = frag(1, &vec![1u8; P - 10]);
    page.extend_from_slice(&[1, 0, 0]);
    fs::write(dir.path().join("00000000"), &page).unwrap();
    assert!(matches!(
        read_dir(dir.path()).1,
        Some(WalError::Corruption(Corruption {
            reason: CorruptionReason::HeaderPastPage { room: 3, .. },
            ..
        }))
    ));
}

#[test]
fn a_record_never_continues_into_the_next_segment() {
    let dir = tempfile::tempdir().unwrap();
    let frag = |typ: u8, data: &[u8]| {
        let mut f = vec![typ];
        f.extend_from_slice(&(data.len() as u16).to_be_bytes());
        f.extend_from_slice(&crc32c_reference(data).to_be_bytes());
        f.extend_from_slice(data);
        f
    };
    fs::write(
        dir.path().join("00000000"),
        [frag(1, b"a"), frag(2, b"b")].concat(),
    )
    .unwrap();
    fs::write(dir.path().join("00000001"), frag(4, b"c")).unwrap();
    let (got, err) = read_dir(dir.path());
    assert_eq!(got, vec![b"a".to_vec()]);
    match err {
        Some(WalError::Corruption(c)) => {
            assert_eq!((c.segment, c.offset), (0, 8));
            assert!(matches!(c.reason, CorruptionReason::TornRecord { .. }));
        }
        other => panic!("{other:?}"),
    }
}

// ----- Repair -----

#[test]
fn repair_after_truncation_and_flips() {
    let mut rng = Rng(11);
    let records: Vec<Vec<u8>> = (0..40)
        .map(|_| {
            let n = rng.below(30_000) as usize;
            rng.bytes(n, false)
        })
        .collect();
    let seg_size = 4 * P as u64;
    let base = tempfile::tempdir().unwrap();
    write(base.path(), opts(seg_size, WalCompression::None), &records);
    let segs = list_segments(base.path()).unwrap();
    assert!(segs.len() >= 3, "{segs:?}");
    let mut cases: Vec<(u32, u64, Option<u8>)> = Vec::new();
    for _ in 0..60 {
        let seg = segs[rng.below(segs.len() as u64) as usize];
        let len = fs::metadata(segment_name(base.path(), seg)).unwrap().len();
        let at = rng.below(len);
        cases.push((
            seg,
            at,
            if rng.below(2) == 0 {
                None
            } else {
                Some(1 << rng.below(8))
            },
        ));
    }
    for (seg, at, flip) in cases {
        let dir = tempfile::tempdir().unwrap();
        for s in &segs {
            fs::copy(segment_name(base.path(), *s), segment_name(dir.path(), *s)).unwrap();
        }
        let p = segment_name(dir.path(), seg);
        match flip {
            None => fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .unwrap()
                .set_len(at)
                .unwrap(),
            Some(mask) => {
                let mut b = fs::read(&p).unwrap();
                b[at as usize] ^= mask;
                fs::write(&p, b).unwrap();
            }
        }
        let what = format!("segment {seg} offset {at} flip {flip:?}");
        let wal = Wal::open(dir.path(), opts(seg_size, WalCompression::None)).unwrap();
        let (before, err) = read_dir(dir.path());
        let Some(err) = err else {
            // Cut exactly at a record boundary: nothing to repair.
            assert!(flip.is_none(), "{what}: a flipped byte went unnoticed");
            continue;
        };
        assert!(before[..] == records[..before.len()], "{what}");
        let WalError::Corruption(c) = err else {
            panic!("{what}: {err}")
        };
        assert_eq!(c.segment, seg, "{what}");
        let report = wal.repair(&c).unwrap();
        assert_eq!(report.segment, seg);
        assert_eq!(report.new_segment, seg + 1);
        let deleted: Vec<u32> = report.deleted_segments.iter().map(|d| d.0).collect();
        let expect_deleted: Vec<u32> = (seg + 1..=segs[segs.len() - 1] + 1).collect();
        assert_eq!(deleted, expect_deleted, "{what}");
        // Reads cleanly now, with exactly the records before the damage.
        let (after, err) = read_dir(dir.path());
        assert!(err.is_none(), "{what}: {err:?}");
        assert_eq!(after.len(), before.len(), "{what}");
        // And accepts new writes.
        wal.log(&[b"new record"]).unwrap();
        wal.close().unwrap();
        let (all, err) = read_dir(dir.path());
        assert!(err.is_none(), "{what}");
        assert_eq!(all.len(), before.len() + 1);
        assert_eq!(all.last().unwrap(), b"new record");
        assert_eq!(wal.metrics().corruptions.get(), 1);
    }
}

#[test]
fn repair_refuses_other_directories() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let c = Corruption {
        dir: dir.path().join("checkpoint.00000001"),
        segment: 0,
        offset: 0,
        reason: CorruptionReason::TornRecord { end: 0 },
    };
    assert!(matches!(
        wal.repair(&c),
        Err(WalError::NotRepairable { .. })
    ));
}

// ----- The writer's API -----

#[test]
fn open_segments_truncate_close() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Wal::open(dir.path(), opts(1000, WalCompression::None)),
        Err(WalError::InvalidSegmentSize(1000))
    ));
    let wal = Wal::open(dir.path(), opts(P as u64, WalCompression::None)).unwrap();
    assert_eq!(wal.segments().unwrap(), Some((0, 0)));
    let rec = vec![7u8; 20_000];
    for _ in 0..6 {
        wal.log(&[&rec]).unwrap();
    }
    // 20000 bytes twice do not fit one page: one record per segment.
    assert_eq!(wal.current_segment().unwrap(), 5);
    assert_eq!(wal.next_segment().unwrap(), 6);
    assert_eq!(wal.segments().unwrap(), Some((0, 6)));
    assert_eq!(wal.size_bytes().unwrap(), 6 * P as u64);
    wal.truncate(3).unwrap();
    assert_eq!(wal.segments().unwrap(), Some((3, 6)));
    // Never the active segment, whatever is asked.
    wal.truncate(100).unwrap();
    assert_eq!(wal.segments().unwrap(), Some((6, 6)));
    wal.sync().unwrap();
    wal.close().unwrap();
    wal.close().unwrap();
    assert!(matches!(wal.log(&[b"x"]), Err(WalError::Closed(_))));
    assert_eq!(wal.metrics().truncations.get(), 2);
    assert!(wal.metrics().fsync_duration.count() >= 1);
    drop(wal);
    // Reopening starts after the last segment.
    let wal = Wal::open(dir.path(), opts(P as u64, WalCompression::None)).unwrap();
    assert_eq!(wal.current_segment().unwrap(), 7);
}

#[test]
fn non_sequential_segments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("00000001"), b"").unwrap();
    fs::write(dir.path().join("00000003"), b"").unwrap();
    assert!(matches!(
        Wal::open(dir.path(), WalOptions::default()),
        Err(WalError::NotSequential {
            prev: 1,
            next: 3,
            ..
        })
    ));
}

#[test]
fn concurrent_writers_keep_each_ones_order() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(4 * P as u64, WalCompression::Snappy)).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let wal = &wal;
            s.spawn(move || {
                for i in 0..300u32 {
                    let mut rec = vec![t];
                    rec.extend_from_slice(&i.to_be_bytes());
                    rec.resize(5 + (i as usize * 37) % 3000, t);
                    wal.log(&[&rec]).unwrap();
                }
            });
        }
    });
    wal.close().unwrap();
    let (got, err) = read_dir(dir.path());
    assert!(err.is_none());
    assert_eq!(got.len(), 1200);
    for t in 0..4u8 {
        let seq: Vec<u32> = got
            .iter()
            .filter(|r| r[0] == t)
            .map(|r| u32::from_be_bytes([r[1], r[2], r[3], r[4]]))
            .collect();
        assert_eq!(seq, (0..300).collect::<Vec<_>>());
    }
}

#[test]
fn metrics_count_pages_parts_and_savings() {
    let dir = tempfile::tempdir().unwrap();
    let registry = prometheus::Registry::new();
    let metrics = Arc::new(WalMetrics::new());
    metrics.register(&registry).unwrap();
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compression: WalCompression::None,
            metrics: metrics.clone(),
        },
    )
    .unwrap();
    // 100000 bytes: 4 fragments, pages 0-2 completed, page 3 flushed part-way.
    wal.log(&[&vec![1u8; 100_000]]).unwrap();
    assert_eq!(metrics.record_part_writes.get(), 4);
    assert_eq!(metrics.record_parts_bytes.get(), 100_000 + 4 * 7);
    assert_eq!(metrics.completed_pages.get(), 3);
    assert_eq!(metrics.page_flushes.get(), 4);
    assert_eq!(metrics.segment_current.get(), 0);
    wal.next_segment().unwrap();
    assert_eq!(metrics.segment_current.get(), 1);
    wal.close().unwrap();
    let mut text = Vec::new();
    prometheus::Encoder::encode(
        &prometheus::TextEncoder::new(),
        &registry.gather(),
        &mut text,
    )
    .unwrap();
    let text = String::from_utf8(text).unwrap();
    for name in [
        "# TYPE prometheus_tsdb_wal_fsync_duration_seconds summary",
        "prometheus_tsdb_wal_fsync_duration_seconds_count ",
        "prometheus_tsdb_wal_page_flushes_total 5",
        "prometheus_tsdb_wal_completed_pages_total 4",
        "prometheus_tsdb_wal_storage_size_bytes 131072",
        "prometheus_tsdb_wal_segment_current 1",
        "prometheus_tsdb_wal_truncations_total 0",
        "prometheus_tsdb_checkpoint_creations_total 0",
        "# HELP prometheus_tsdb_wal_writes_failed_total Total number of write log writes that failed.",
    ] {
        assert!(text.contains(name), "missing {name:?} in\n{text}");
    }

    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        dir.path(),
        opts(DEFAULT_SEGMENT_SIZE, WalCompression::Snappy),
    )
    .unwrap();
    wal.log(&[&vec![b'a'; 10_000], &Rng(5).bytes(100, false)])
        .unwrap();
    let saved = wal
        .metrics()
        .record_bytes_saved
        .with_label_values(&["snappy"])
        .get();
    let stored = fs::metadata(dir.path().join("00000000")).unwrap().len();
    assert_eq!(saved, 10_100 + 14 - stored);
}

// ----- Checkpoints -----

fn sample(r: u64, t: i64) -> RefSample {
    RefSample {
        series: SeriesRef(r),
        t,
        v: t as f64,
    }
}

fn series_rec(refs: &[u64]) -> Vec<u8> {
    let s: Vec<RefSeries> = refs
        .iter()
        .map(|&r| RefSeries {
            series: SeriesRef(r),
            labels: Labels::from_pairs([("__name__", "m"), ("id", &r.to_string())]),
        })
        .collect();
    let mut out = Vec::new();
    record::encode_series(&s, &mut out);
    out
}

fn samples_rec(s: &[RefSample]) -> Vec<u8> {
    let mut out = Vec::new();
    record::encode_samples(s, &mut out);
    out
}

fn meta(r: u64, help: &str) -> RefMetadata {
    RefMetadata {
        series: SeriesRef(r),
        metric_type: record::MetricType::Gauge,
        unit: String::new(),
        help: help.into(),
    }
}

/// Everything a reader decodes from some segments, grouped by kind.
#[derive(Default, Debug)]
struct Contents {
    series: Vec<u64>,
    samples: Vec<(u64, i64)>,
    tombstones: Vec<Tombstone>,
    exemplars: Vec<(u64, i64)>,
    metadata: Vec<(u64, String)>,
    other: usize,
}

fn contents(ranges: &[SegmentRange]) -> Contents {
    let (recs, err) = read_ranges(ranges);
    assert!(err.is_none(), "{err:?}");
    let mut c = Contents::default();
    let mut d = Decoder::new();
    for rec in recs {
        match RecordType::of(&rec) {
            Ok(RecordType::Series) => {
                let mut v = Vec::new();
                d.series(&rec, &mut v).unwrap();
                c.series.extend(v.iter().map(|s| s.series.0));
            }
            Ok(RecordType::Samples) => {
                let mut v = Vec::new();
                d.samples(&rec, &mut v).unwrap();
                c.samples.extend(v.iter().map(|s| (s.series.0, s.t)));
            }
            Ok(RecordType::Tombstones) => d.tombstones(&rec, &mut c.tombstones).unwrap(),
            Ok(RecordType::Exemplars) => {
                let mut v = Vec::new();
                d.exemplars(&rec, &mut v).unwrap();
                c.exemplars.extend(v.iter().map(|e| (e.series.0, e.t)));
            }
            Ok(RecordType::Metadata) => {
                let mut v = Vec::new();
                d.metadata(&rec, &mut v).unwrap();
                c.metadata
                    .extend(v.into_iter().map(|m| (m.series.0, m.help)));
            }
            _ => c.other += 1,
        }
    }
    c
}

#[test]
fn checkpoint_keeps_what_replay_needs() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(P as u64, WalCompression::Snappy)).unwrap();
    let mut tomb = Vec::new();
    record::encode_tombstones(
        &[
            Tombstone {
                series: SeriesRef(2),
                mint: 0,
                maxt: 50,
            }, // all before mint: dropped
            Tombstone {
                series: SeriesRef(2),
                mint: 0,
                maxt: 150,
            }, // kept
            Tombstone {
                series: SeriesRef(3),
                mint: 0,
                maxt: 150,
            }, // series not kept
        ],
        &mut tomb,
    );
    let mut ex = Vec::new();
    let exemplar = |r: u64, t: i64| RefExemplar {
        series: SeriesRef(r),
        t,
        v: 1.0,
        labels: Labels::from_pairs([("trace_id", "x")]),
    };
    record::encode_exemplars(
        &[exemplar(2, 99), exemplar(2, 100), exemplar(3, 200)],
        &mut ex,
    );
    let mut md1 = Vec::new();
    record::encode_metadata(&[meta(2, "old"), meta(3, "x"), meta(4, "four")], &mut md1);
    let mut md2 = Vec::new();
    record::encode_metadata(&[meta(2, "new")], &mut md2);
    let histogram = vec![RecordType::HistogramSamples as u8, 0, 0];
    // Segment 0: series 1-4, samples around mint = 100.
    wal.log(&[
        &series_rec(&[1, 2, 3, 4]),
        &samples_rec(&[
            sample(1, 50),
            sample(2, 99),
            sample(2, 100),
            sample(3, 150),
            sample(4, 101),
        ]),
        &tomb,
    ])
    .unwrap();
    wal.next_segment().unwrap();
    // Segment 1.
    wal.log(&[&ex, &md1, &md2, &histogram, &samples_rec(&[sample(4, 120)])])
        .unwrap();
    wal.next_segment().unwrap();
    // Segment 2: not covered by the checkpoint.
    wal.log(&[&series_rec(&[5]), &samples_rec(&[sample(5, 10)])])
        .unwrap();

    let keep = |r: SeriesRef| r.0.is_multiple_of(2); // keeps 2 and 4
    let stats = wal.checkpoint(0, 1, &keep, 100).unwrap();
    assert_eq!(
        stats,
        CheckpointStats {
            dropped_series: 2,
            dropped_samples: 3,
            dropped_tombstones: 2,
            dropped_exemplars: 2,
            dropped_metadata: 2, // series 3's, and series 2's older one
            dropped_records: 1,  // the histogram record
            total_series: 4,
            total_samples: 6,
            total_tombstones: 3,
            total_exemplars: 3,
            total_metadata: 4,
        }
    );
    let cp = checkpoint_dir(dir.path(), 1);
    assert_eq!(last_checkpoint(dir.path()).unwrap(), Some((cp.clone(), 1)));
    let c = contents(&[SegmentRange::all(&cp)]);
    assert_eq!(c.series, vec![2, 4]);
    assert_eq!(c.samples, vec![(2, 100), (4, 101), (4, 120)]);
    assert_eq!(
        c.tombstones,
        vec![Tombstone {
            series: SeriesRef(2),
            mint: 0,
            maxt: 150
        }]
    );
    assert_eq!(c.exemplars, vec![(2, 100)]);
    assert_eq!(
        c.metadata,
        vec![(2, "new".to_string()), (4, "four".to_string())]
    );
    assert_eq!(c.other, 0);
    assert_eq!(wal.metrics().checkpoint_creations.get(), 1);

    // Truncating the covered segments leaves a WAL that replays the same.
    wal.truncate(2).unwrap();
    wal.delete_checkpoints(1).unwrap();
    let replay = contents(&[
        SegmentRange::all(&cp),
        SegmentRange {
            dir: dir.path().into(),
            first: Some(2),
            last: None,
        },
    ]);
    assert_eq!(replay.series, vec![2, 4, 5]);

    // The next checkpoint builds on this one: segment 2 and later, with a new mint.
    wal.log(&[&samples_rec(&[sample(2, 300)])]).unwrap();
    wal.next_segment().unwrap();
    // Asking to start before the last checkpoint's end is fine (those segments are
    // covered); a gap after it is not.
    assert!(matches!(
        checkpoint(dir.path(), 5, 6, &keep, 0, WalCompression::None),
        Err(WalError::CheckpointGap {
            last: 1,
            expected: 2,
            ..
        })
    ));
    let stats = wal.checkpoint(0, 3, &|r| r.0 != 4, 110).unwrap();
    assert_eq!(stats.total_series, 3);
    let cp3 = checkpoint_dir(dir.path(), 3);
    let c = contents(&[SegmentRange::all(&cp3)]);
    assert_eq!(c.series, vec![2, 5]);
    assert_eq!(c.samples, vec![(2, 300)]);
    assert_eq!(c.metadata, vec![(2, "new".to_string())]);
    wal.delete_checkpoints(3).unwrap();
    assert_eq!(last_checkpoint(dir.path()).unwrap(), Some((cp3.clone(), 3)));
    assert!(!cp.exists());
    assert_eq!(wal.metrics().checkpoint_deletions.get(), 2);
}

#[test]
fn interrupted_checkpoints_leave_a_readable_wal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = Wal::open(dir.path(), opts(P as u64, WalCompression::None)).unwrap();
        wal.log(&[&series_rec(&[1]), &samples_rec(&[sample(1, 1)])])
            .unwrap();
        wal.next_segment().unwrap();
        wal.close().unwrap();
    }
    // A crash while writing checkpoint.00000000: its .tmp directory, half written.
    let tmp = dir.path().join("checkpoint.00000000.tmp");
    fs::create_dir(&tmp).unwrap();
    fs::write(tmp.join("00000000"), [1u8, 0, 50]).unwrap();
    // Replay ignores it: there is no checkpoint, and the WAL reads in full.
    assert_eq!(last_checkpoint(dir.path()).unwrap(), None);
    assert_eq!(
        contents(&[SegmentRange::all(dir.path())]).samples,
        vec![(1, 1)]
    );
    // Opening the WAL cleans it up.
    let _wal = Wal::open(dir.path(), opts(P as u64, WalCompression::None)).unwrap();
    assert!(!tmp.exists());

    // A checkpoint that fails part-way (a corrupt segment) leaves no directory behind.
    fs::write(dir.path().join("00000001"), [9u8; 10]).unwrap();
    let err = checkpoint(dir.path(), 0, 1, &|_| true, 0, WalCompression::None).unwrap_err();
    assert!(matches!(err, WalError::Corruption(_)), "{err}");
    assert_eq!(last_checkpoint(dir.path()).unwrap(), None);
    assert!(!dir.path().join("checkpoint.00000001.tmp").exists());
}

#[test]
fn a_failed_write_leaves_no_partial_record() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(DEFAULT_SEGMENT_SIZE, WalCompression::None)).unwrap();
    wal.log(&[b"first"]).unwrap();
    let path = dir.path().join("00000000");
    // Swap in a read-only handle: writes (and the truncation after them) now fail.
    let writable = {
        let mut g = wal.inner.lock();
        let active = g.seg.active.as_mut().unwrap();
        std::mem::replace(&mut active.file, fs::File::open(&path).unwrap())
    };
    assert!(matches!(wal.log(&[b"lost"]), Err(WalError::Io { .. })));
    assert!(
        wal.log(&[b"lost too"]).is_err(),
        "refuses to write until the tail is cut"
    );
    assert_eq!(wal.metrics().writes_failed.get(), 2);
    // Simulate what a partial write leaves behind: part of a fragment after the good data.
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&[1, 0, 9, 0xaa])
        .unwrap();
    wal.inner.lock().seg.active.as_mut().unwrap().file = writable;
    // The next write cuts the garbage off first.
    wal.log(&[b"second"]).unwrap();
    wal.close().unwrap();
    let (got, err) = read_dir(dir.path());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, vec![b"first".to_vec(), b"second".to_vec()]);
}

#[test]
fn checkpoint_names_an_undecodable_record() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(P as u64, WalCompression::None)).unwrap();
    // A samples record cut inside its base timestamp.
    wal.log(&[&series_rec(&[1]), &[2u8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]])
        .unwrap();
    wal.next_segment().unwrap();
    match wal.checkpoint(0, 0, &|_| true, 0) {
        Err(WalError::Record {
            dir: d,
            segment: 0,
            offset,
            source:
                record::RecordError::Malformed {
                    record: RecordType::Samples,
                    ..
                },
        }) => {
            assert_eq!(d, dir.path());
            // Right after the series record's fragment.
            assert_eq!(offset, 7 + series_rec(&[1]).len() as u64);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(wal.metrics().checkpoint_creations_failed.get(), 1);
    assert_eq!(last_checkpoint(dir.path()).unwrap(), None);
}
