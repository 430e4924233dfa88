//! The bytes of a head chunk file: the file header and one chunk record.
//!
//! Everything here works on byte slices, so the same code encodes into the write buffer and
//! parses from a memory map, from the write buffer, or from a window read with `pread`.

use std::ops::Range;

/// The first four bytes of every head chunk file (big endian).
pub const MAGIC: u32 = 0x0130_BC91;
/// The only file format version.
pub const FORMAT_V1: u8 = 1;
/// Magic, version and three bytes of padding; the first record starts here.
pub const FILE_HEADER_SIZE: usize = 8;

/// Series ref, mint and maxt (8 bytes each) and the encoding byte.
const FIXED_SIZE: usize = 8 + 8 + 8 + 1;
/// The data length is a uvarint of at most 5 bytes (a 32-bit length).
const MAX_LEN_FIELD_SIZE: usize = 5;
const CRC_SIZE: usize = 4;
/// Bytes that always suffice to learn a record's total length.
pub const MAX_RECORD_HEADER_SIZE: usize = FIXED_SIZE + MAX_LEN_FIELD_SIZE;
/// The high bit of the encoding byte marks an out-of-order chunk.
pub const OUT_OF_ORDER_MASK: u8 = 0x80;

/// Why bytes are not a valid file header or chunk record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("file header needs {FILE_HEADER_SIZE} bytes, the file has {0}")]
    ShortFileHeader(u64),
    #[error("bad magic number {0:#010x} (want {MAGIC:#010x})")]
    BadMagic(u32),
    #[error("unsupported format version {0} (want {FORMAT_V1})")]
    BadVersion(u8),
    #[error("record truncated: needs {needed} bytes, {available} available")]
    Truncated { needed: u64, available: u64 },
    #[error("data length field is longer than {MAX_LEN_FIELD_SIZE} bytes")]
    LengthField,
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum { stored: u32, computed: u32 },
    #[error("unknown chunk encoding {0}")]
    UnknownEncoding(u8),
    #[error("record starts at offset {0}, beyond the 32-bit offsets chunk refs can hold")]
    OffsetOutOfRange(u64),
}

/// The file header: magic, version 1, zero padding.
pub fn file_header() -> [u8; FILE_HEADER_SIZE] {
    let mut h = [0u8; FILE_HEADER_SIZE];
    h[..4].copy_from_slice(&MAGIC.to_be_bytes());
    h[4] = FORMAT_V1;
    h
}

/// Checks magic and version of a file's first bytes (`file_len` is the whole file's size).
/// The padding is not checked, as Prometheus does not check it either.
pub fn check_file_header(b: &[u8], file_len: u64) -> Result<(), RecordError> {
    if b.len() < FILE_HEADER_SIZE {
        return Err(RecordError::ShortFileHeader(file_len));
    }
    let magic = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if magic != MAGIC {
        return Err(RecordError::BadMagic(magic));
    }
    if b[4] != FORMAT_V1 {
        return Err(RecordError::BadVersion(b[4]));
    }
    Ok(())
}

/// Bytes a record with `data_len` bytes of chunk data takes in the file.
pub fn record_size(data_len: usize) -> usize {
    FIXED_SIZE + uvarint_size(data_len as u64) + data_len + CRC_SIZE
}

/// Appends one record to `out`. The CRC32-Castagnoli covers every byte of the record
/// before it: series ref, mint, maxt, encoding, length and data.
pub fn encode_record(out: &mut Vec<u8>, series: u64, mint: i64, maxt: i64, enc: u8, data: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&series.to_be_bytes());
    out.extend_from_slice(&mint.to_be_bytes());
    out.extend_from_slice(&maxt.to_be_bytes());
    out.push(enc);
    put_uvarint(out, data.len() as u64);
    out.extend_from_slice(data);
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A parsed record; `data` indexes the slice it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub series: u64,
    pub mint: i64,
    pub maxt: i64,
    /// The raw encoding byte, out-of-order bit included.
    pub encoding: u8,
    pub data: Range<usize>,
    /// Total bytes of the record.
    pub len: usize,
}

impl Record {
    /// The samples count every chunk encoding stores in its first two bytes.
    pub fn num_samples(&self, bytes: &[u8]) -> u16 {
        match bytes.get(self.data.start..self.data.start + 2) {
            Some(&[a, b]) if self.data.len() >= 2 => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    }
}

/// Parses the record at the start of `b` (which may extend past it) and verifies its CRC.
/// A [`RecordError::Truncated`] names how many bytes the record needs, so a caller reading
/// through a window can fetch that many and try again.
pub fn parse_record(b: &[u8]) -> Result<Record, RecordError> {
    let truncated = |needed: usize| RecordError::Truncated {
        needed: needed as u64,
        available: b.len() as u64,
    };
    if b.len() <= FIXED_SIZE {
        return Err(truncated(FIXED_SIZE + 1));
    }
    let (data_len, n) = read_uvarint(&b[FIXED_SIZE..])?;
    let data_start = FIXED_SIZE + n;
    // Checked: a corrupt length may be anything up to 2^35.
    let needed = (data_start as u64)
        .checked_add(data_len)
        .and_then(|x| x.checked_add(CRC_SIZE as u64))
        .ok_or(RecordError::LengthField)?;
    if needed > b.len() as u64 {
        return Err(RecordError::Truncated {
            needed,
            available: b.len() as u64,
        });
    }
    let len = needed as usize;
    let data_end = len - CRC_SIZE;
    let stored = u32::from_be_bytes([
        b[data_end],
        b[data_end + 1],
        b[data_end + 2],
        b[data_end + 3],
    ]);
    let computed = crc32c::crc32c(&b[..data_end]);
    if stored != computed {
        return Err(RecordError::Checksum { stored, computed });
    }
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_be_bytes(a)
    };
    Ok(Record {
        series: u64_at(0),
        mint: u64_at(8) as i64,
        maxt: u64_at(16) as i64,
        encoding: b[24],
        data: data_start..data_end,
        len,
    })
}

fn uvarint_size(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads the data length: a uvarint of at most [`MAX_LEN_FIELD_SIZE`] bytes.
fn read_uvarint(b: &[u8]) -> Result<(u64, usize), RecordError> {
    let mut v = 0u64;
    for i in 0..MAX_LEN_FIELD_SIZE {
        let Some(&byte) = b.get(i) else {
            return Err(RecordError::Truncated {
                needed: (FIXED_SIZE + i + 1) as u64,
                available: (FIXED_SIZE + b.len()) as u64,
            });
        };
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((v, i + 1));
        }
    }
    Err(RecordError::LengthField)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard CRC-32C check value (RFC 3720, appendix B.4): proves the crate computes
    /// Castagnoli, the polynomial the format uses, and not IEEE CRC-32 (0xCBF43926).
    #[test]
    fn crc_is_castagnoli() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn record_bytes_follow_the_documented_layout() {
        let mut out = Vec::new();
        encode_record(&mut out, 0x0102, -1, 300, 1, &[0xAA; 200]);
        // series ref, mint, maxt: 8 bytes big endian each; -1 is all ones as two's complement.
        let mut want = vec![0, 0, 0, 0, 0, 0, 0x01, 0x02];
        want.extend([0xFF; 8]);
        want.extend([0, 0, 0, 0, 0, 0, 0x01, 0x2C]); // 300
        want.push(1); // XOR encoding
        want.extend([0xC8, 0x01]); // uvarint(200): 200 = 0b1_1001000 -> 0xC8, 0x01
        want.extend([0xAA; 200]);
        let crc = crc32c::crc32c(&want); // over everything before the CRC
        want.extend(crc.to_be_bytes());
        assert_eq!(out, want);
        assert_eq!(record_size(200), want.len());

        let r = parse_record(&out).unwrap();
        assert_eq!((r.series, r.mint, r.maxt, r.encoding), (0x0102, -1, 300, 1));
        assert_eq!((r.data.clone(), r.len), (27..227, 231));
        assert_eq!(r.num_samples(&out), 0xAAAA);
    }

    #[test]
    fn parse_reports_truncation_and_bad_lengths() {
        let mut out = Vec::new();
        encode_record(&mut out, 7, 1, 2, 1, &[0, 3, 9, 9]);
        for cut in 0..out.len() {
            match parse_record(&out[..cut]) {
                Err(RecordError::Truncated { needed, available }) => {
                    assert!(needed > available && available == cut as u64)
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        // Five continuation bytes: no 32-bit length.
        let mut bad = out[..25].to_vec();
        bad.extend([0x80; 5]);
        bad.extend([0; 8]);
        assert_eq!(parse_record(&bad), Err(RecordError::LengthField));
        // The largest 5-byte length does not overflow, it is just truncated.
        let mut huge = out[..25].to_vec();
        huge.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
        assert!(matches!(
            parse_record(&huge),
            Err(RecordError::Truncated { .. })
        ));
    }

    #[test]
    fn file_header_checks() {
        assert_eq!(file_header(), [0x01, 0x30, 0xBC, 0x91, 1, 0, 0, 0]);
        assert_eq!(check_file_header(&file_header(), 8), Ok(()));
        assert_eq!(
            check_file_header(&[1, 0x30], 2),
            Err(RecordError::ShortFileHeader(2))
        );
        assert_eq!(check_file_header(&[0; 8], 8), Err(RecordError::BadMagic(0)));
        let mut v2 = file_header();
        v2[4] = 2;
        assert_eq!(check_file_header(&v2, 8), Err(RecordError::BadVersion(2)));
    }
}
