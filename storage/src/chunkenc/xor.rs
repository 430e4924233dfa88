//! The XOR chunk encoding for float samples (Facebook's Gorilla, as adapted by
//! Prometheus), bit for bit Prometheus's `EncXOR` (`tsdb/docs/format/chunks.md`).
//!
//! # Format
//!
//! ```text
//! num_samples <u16, big-endian>
//! ts_0        <varint>          first timestamp, zig-zag varint (byte-aligned)
//! v_0         <64 bits>         first value, raw IEEE-754 bits
//! ts_1_delta  <uvarint>         ts_1 - ts_0 (byte-aligned: everything before is whole bytes)
//! v_1_xor     <varbit_xor>
//! ts_2_dod    <varbit_ts>       (ts_2 - ts_1) - (ts_1 - ts_0)
//! v_2_xor     <varbit_xor>
//! ...                           repeated up to num_samples - 1
//! padding                       0-7 zero bits to the byte boundary
//! ```
//!
//! `varbit_ts`, the delta of deltas `dod` (a prefix, then `dod` in two's complement in
//! the prefix's width; the ranges are symmetric-plus-one, e.g. `-8191..=8192` for 14
//! bits, so that a width-`n` value above `2^(n-1)` decodes as negative):
//!
//! | prefix | dod range                   | bits |
//! |--------|-----------------------------|------|
//! | `0`    | 0                           | 1    |
//! | `10`   | -8191 ..= 8192 (14 bits)    | 16   |
//! | `110`  | -65535 ..= 65536 (17 bits)  | 20   |
//! | `1110` | -524287 ..= 524288 (20 bits)| 24   |
//! | `1111` | anything (64 bits)          | 68   |
//!
//! `varbit_xor`, the XOR `x` of the value's bits with the previous value's bits:
//!
//! | prefix | meaning                                                              |
//! |--------|----------------------------------------------------------------------|
//! | `0`    | `x == 0`: the value repeats                                          |
//! | `10`   | `x` fits the current window: its `64 - leading - trailing` middle bits follow |
//! | `11`   | a new window: `leading` (5 bits), `sigbits` (6 bits, 64 written as 0), then `sigbits` bits |
//!
//! The window is the encoder's remembered count of leading and trailing zero bits. A new
//! window is opened when there is none yet or when `x` has fewer leading or trailing zeros
//! than the current one; `leading` is clamped to 31 so that it fits 5 bits (the window then
//! carries a few known-zero bits). Everything after the first two samples is bit-packed,
//! most significant bit first (see [`super::bstream`]).
//!
//! # In Ember
//!
//! [`XorChunk`] is the open chunk of every head series, so it is 48 bytes plus its
//! buffer: a boxed slice and a `u32` bit count instead of a `Vec` and a bit counter, the
//! sample count kept only in the header bytes, nothing allocated before the first append.
//!
//! [`XorIterator`] decodes any `&[u8]` (an owned chunk, a memory-mapped file) and is the
//! hottest loop of every query. Each field is cut from a 64-bit peek at the bit position
//! (see [`super::bstream`]); the common shapes (dod 0 or 14-bit, then a value that is
//! unchanged, in the current window or in a new narrow one) need one peek per sample.
//! Branches follow the prefixes, so that the CPU runs ahead on predictable data (decoding
//! all buckets arithmetically serialises every sample on its load). Rare shapes (wider
//! dods, the varints of the first two samples) are decoded out of line by functions that
//! take and return values, so the iterator's fields stay in registers in a caller's loop.
//! Bad bytes end iteration with an error in [`SampleIterator::err`]; they never panic.
//!
//! Differences from Prometheus, none visible in the bytes of a chunk built by appending:
//! - [`XorChunk::from_bytes`] restores the state appending from scratch leaves, so
//!   reopening and appending gives the bytes of one chunk. Prometheus's `Appender()` on a
//!   reopened chunk whose values never changed restores leading = trailing = 0 instead of
//!   its "no window" marker and so writes the next change as `10` and 64 bits; Ember reads
//!   that form too.
//! - Appending to a full chunk (65535 samples) is ignored where Prometheus panics; the head
//!   cuts chunks long before that (120 samples or about 1 KiB).
//! - A window wider than 64 bits (`leading + sigbits > 64`), which no encoder writes, is
//!   reported as corrupt where Prometheus decodes garbage.
//! - Prometheus 2.x could end a chunk with a spare zero byte (fixed in 3.0); Ember, like
//!   3.x, does not write it, and reads such chunks.

use super::bstream::{put_uvarint, put_varint, written, zeroed_copy, BitReader, BitWriter};
use super::{ChunkError, SampleIterator, ValueType};

/// Bytes of the sample-count header.
const HEADER_BYTES: usize = 2;

/// The bytes of a chunk without samples.
const EMPTY_CHUNK: &[u8] = &[0; HEADER_BYTES];

/// `leading` value meaning "no XOR window opened yet" (Prometheus's `0xff`).
const NO_WINDOW: u8 = 0xff;

/// An appendable XOR chunk.
#[derive(Clone)]
pub struct XorChunk {
    /// The encoded bytes, zero past `bits` (see [`BitWriter`]); empty until the first append.
    buf: Box<[u8]>,
    /// Encoded length in bits, header included; 0 while `buf` is unallocated.
    bits: u32,
    /// The XOR window: leading zeros (or [`NO_WINDOW`]) and trailing zeros.
    leading: u8,
    trailing: u8,
    /// The last sample and the last timestamp delta: the encoder's state.
    t: i64,
    t_delta: u64,
    v: u64,
}

impl Default for XorChunk {
    fn default() -> XorChunk {
        XorChunk::new()
    }
}

impl std::fmt::Debug for XorChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XorChunk")
            .field("num_samples", &self.num_samples())
            .field("bytes", &self.bytes().len())
            .field("last_timestamp", &self.last_timestamp())
            .finish()
    }
}

impl XorChunk {
    /// An empty chunk. It allocates nothing until the first append (then 128 bytes, as
    /// Prometheus, growing by doubling).
    pub fn new() -> XorChunk {
        XorChunk {
            buf: Box::default(),
            bits: 0,
            leading: NO_WINDOW,
            trailing: 0,
            t: 0,
            t_delta: 0,
            v: 0,
        }
    }

    /// Appends a sample. The caller keeps timestamps increasing (the encoding itself
    /// round-trips any `i64` sequence, with wrapping arithmetic as Prometheus's Go code).
    /// A chunk holds at most `u16::MAX` samples; appending to a full chunk does nothing.
    pub fn append(&mut self, t: i64, v: f64) {
        let n = self.num_samples();
        if n == u16::MAX {
            return;
        }
        let v = v.to_bits();
        let mut w = BitWriter::new(&mut self.buf, &mut self.bits);
        let t_delta = match n {
            0 => {
                if w.bit_len() == 0 {
                    w.write_bits(0, 16); // the sample-count header
                }
                put_varint(&mut w, t);
                w.write_bits(v, 64);
                0
            }
            1 => {
                let t_delta = t.wrapping_sub(self.t) as u64;
                put_uvarint(&mut w, t_delta);
                write_xor(&mut w, v ^ self.v, &mut self.leading, &mut self.trailing);
                t_delta
            }
            _ => {
                let t_delta = t.wrapping_sub(self.t) as u64;
                write_dod(&mut w, t_delta.wrapping_sub(self.t_delta) as i64);
                write_xor(&mut w, v ^ self.v, &mut self.leading, &mut self.trailing);
                t_delta
            }
        };
        self.t = t;
        self.t_delta = t_delta;
        self.v = v;
        self.buf[..HEADER_BYTES].copy_from_slice(&(n + 1).to_be_bytes());
    }

    /// The number of samples.
    #[inline]
    pub fn num_samples(&self) -> u16 {
        match self.buf.first_chunk::<HEADER_BYTES>() {
            Some(h) if self.bits > 0 => u16::from_be_bytes(*h),
            _ => 0,
        }
    }

    /// The encoded chunk: always complete and valid (an empty chunk is its 2-byte header).
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        if self.bits == 0 {
            EMPTY_CHUNK
        } else {
            written(&self.buf, self.bits)
        }
    }

    /// An iterator over the samples.
    pub fn iter(&self) -> XorIterator<'_> {
        XorIterator::new(self.bytes())
    }

    /// The first sample's timestamp, if any.
    pub fn first_timestamp(&self) -> Option<i64> {
        if self.num_samples() == 0 {
            return None;
        }
        BitReader::new(&self.buf, HEADER_BYTES * 8).read_varint()
    }

    /// The last sample's timestamp, if any.
    #[inline]
    pub fn last_timestamp(&self) -> Option<i64> {
        (self.num_samples() > 0).then_some(self.t)
    }

    /// The last sample's value, if any.
    #[inline]
    pub fn last_value(&self) -> Option<f64> {
        (self.num_samples() > 0).then_some(f64::from_bits(self.v))
    }

    /// Reopens encoded chunk bytes for appending: decodes them to restore the encoder's
    /// state, which is exactly what appending the same samples to a new chunk leaves, so
    /// further appends produce the bytes one chunk would have. Bytes after the last
    /// sample's bits (beyond padding) are dropped, and padding bits are cleared.
    pub fn from_bytes(data: &[u8]) -> Result<XorChunk, ChunkError> {
        let mut it = XorIterator::new(data);
        while it.next() == ValueType::Float {}
        if let Some(err) = it.err {
            return Err(err);
        }
        if it.read == 0 {
            return Ok(XorChunk::new());
        }
        // At most 65535 samples of at most 19 bytes: far from u32::MAX bits.
        let bits = it.r.pos() as u32;
        Ok(XorChunk {
            buf: zeroed_copy(data, bits),
            bits,
            leading: it.leading,
            trailing: it.trailing,
            t: it.t,
            t_delta: it.t_delta,
            v: it.val,
        })
    }

    /// Heap memory held by the chunk, in bytes.
    #[inline]
    pub fn heap_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Releases spare buffer capacity (a later append reallocates).
    pub fn shrink_to_fit(&mut self) {
        let len = (self.bits as usize).div_ceil(8);
        if self.buf.len() > len {
            self.buf = self.buf[..len].into();
        }
    }
}

/// Whether `x` is in the `nbits`-wide dod range `-(2^(nbits-1) - 1) ..= 2^(nbits-1)`
/// (Prometheus's `bitRange`).
#[inline(always)]
fn fits(x: i64, nbits: u32) -> bool {
    let half = 1i64 << (nbits - 1);
    -(half - 1) <= x && x <= half
}

/// Writes a timestamp delta of deltas as `varbit_ts`.
#[inline(always)]
fn write_dod(w: &mut BitWriter<'_>, dod: i64) {
    let d = dod as u64; // write_bits keeps only the low bits: the two's complement
    if dod == 0 {
        w.write_bits(0, 1);
    } else if fits(dod, 14) {
        w.write_bits(0b10 << 14 | d & 0x3fff, 16);
    } else if fits(dod, 17) {
        w.write_bits(0b110 << 17 | d & 0x1_ffff, 20);
    } else if fits(dod, 20) {
        w.write_bits(0b1110 << 20 | d & 0xf_ffff, 24);
    } else {
        w.write_bits(0b1111, 4);
        w.write_bits(d, 64);
    }
}

/// Writes the XOR `x` of a value with the previous one as `varbit_xor`, updating the
/// window.
#[inline(always)]
fn write_xor(w: &mut BitWriter<'_>, x: u64, leading: &mut u8, trailing: &mut u8) {
    if x == 0 {
        w.write_bits(0, 1);
        return;
    }
    let new_leading = x.leading_zeros().min(31);
    let new_trailing = x.trailing_zeros();
    if *leading != NO_WINDOW && new_leading >= *leading as u32 && new_trailing >= *trailing as u32 {
        // Reuse the window: `10` then its middle bits.
        let sig = 64 - *leading as u32 - *trailing as u32;
        let middle = x >> *trailing;
        if sig <= 62 {
            w.write_bits(0b10 << sig | middle, 2 + sig);
        } else {
            w.write_bits(0b10, 2);
            w.write_bits(middle, sig);
        }
        return;
    }
    *leading = new_leading as u8;
    *trailing = new_trailing as u8;
    // A new window: `11`, leading (5 bits), sigbits (6 bits; 64 wraps to 0), the bits.
    let sig = 64 - new_leading - new_trailing;
    let header = 0b11 << 11 | (new_leading as u64) << 6 | (sig as u64 & 0x3f);
    let middle = x >> new_trailing;
    if sig <= 51 {
        w.write_bits(header << sig | middle, 13 + sig);
    } else {
        w.write_bits(header, 13);
        w.write_bits(middle, sig);
    }
}

/// Iterates the samples of XOR chunk bytes (header included).
#[derive(Debug, Clone)]
pub struct XorIterator<'a> {
    r: BitReader<'a>,
    t: i64,
    t_delta: u64,
    /// The current value's bits.
    val: u64,
    /// Samples decoded so far, and in the chunk.
    read: u16,
    total: u16,
    /// The XOR window: leading zeros ([`NO_WINDOW`] before the first `11`), trailing zeros
    /// and the significant bits between. Before a window exists a `10` reads 64 bits, as
    /// in Prometheus, whose reader starts from leading = trailing = 0.
    leading: u8,
    trailing: u8,
    mbits: u8,
    /// `next` or `seek` has returned `ValueType::None`.
    ended: bool,
    err: Option<ChunkError>,
}

/// Why a sample's bits are invalid.
type Corrupt = &'static str;

impl<'a> XorIterator<'a> {
    /// An iterator over chunk bytes. Bytes too short for the header end iteration at once
    /// with [`ChunkError::TooShort`].
    pub fn new(data: &'a [u8]) -> XorIterator<'a> {
        let (total, err) = match data.first_chunk::<HEADER_BYTES>() {
            Some(h) => (u16::from_be_bytes(*h), None),
            None => (0, Some(ChunkError::TooShort(data.len()))),
        };
        XorIterator {
            r: BitReader::new(data, HEADER_BYTES * 8),
            t: 0,
            t_delta: 0,
            val: 0,
            read: 0,
            total,
            leading: NO_WINDOW,
            trailing: 0,
            mbits: 64,
            ended: false,
            err,
        }
    }

    // The decoding steps are all inlined into `next`, and the out-of-line helpers they
    // call take and return values rather than `&mut self`: the iterator's address never
    // escapes, so the compiler keeps its fields in registers across a caller's loop.

    /// Decodes sample 0 (varint timestamp, raw value) or sample 1 (uvarint delta, value).
    #[inline(always)]
    fn decode_head(&mut self) -> Result<(), Corrupt> {
        let (x, pos) = read_uvarint_cold(self.r);
        if pos == usize::MAX {
            return Err("timestamp varint overflows 64 bits");
        }
        self.r.set_pos(pos);
        if self.read == 0 {
            self.t = (x >> 1) as i64 ^ -((x & 1) as i64); // zig-zag
            self.val = self.r.read_bits(64);
            return Ok(());
        }
        self.t_delta = x;
        self.t = self.t.wrapping_add(x as i64);
        self.decode_value()
    }

    /// Decodes a sample after the second: `varbit_ts` dod, `varbit_xor` value.
    #[inline(always)]
    fn decode_sample(&mut self) -> Result<(), Corrupt> {
        let w = self.r.peek();
        // The prefix is `0`, or one to three ones and a zero, or four ones. Branches (not
        // arithmetic on the prefix length) let the CPU run ahead of the loaded bits when
        // the bucket is predictable.
        if (w as i64) >= 0 {
            // `0`: dod == 0, the most common case.
            self.t = self.t.wrapping_add(self.t_delta as i64);
            self.r.consume(1);
            return self.decode_value_in(w << 1, BitReader::PEEK_BITS - 1);
        }
        if ((w << 1) as i64) >= 0 {
            // `10`: a 14-bit dod, as jittered timestamps have; the value usually
            // follows within the same peeked word.
            self.t_delta = self.t_delta.wrapping_add(dod_field(w, 2, 14));
            self.t = self.t.wrapping_add(self.t_delta as i64);
            self.r.consume(16);
            return self.decode_value_in(w << 16, BitReader::PEEK_BITS - 16);
        }
        // Wider dods are rare (gaps or jitter of seconds): decoded out of line.
        let (dod, pos) = read_wide_dod(self.r, w);
        self.r.set_pos(pos);
        self.t_delta = self.t_delta.wrapping_add(dod);
        self.t = self.t.wrapping_add(self.t_delta as i64);
        self.decode_value()
    }

    /// Decodes a `varbit_xor` into `val`, updating the window.
    #[inline(always)]
    fn decode_value(&mut self) -> Result<(), Corrupt> {
        self.decode_value_in(self.r.peek(), BitReader::PEEK_BITS)
    }

    /// [`decode_value`](Self::decode_value) from `w`, the stream left-aligned at the
    /// value, of which at least `valid` (41 or more) bits are stream bits.
    #[inline(always)]
    fn decode_value_in(&mut self, w: u64, valid: u32) -> Result<(), Corrupt> {
        if (w as i64) >= 0 {
            self.r.consume(1); // `0`: unchanged
            return Ok(());
        }
        if ((w << 1) as i64) >= 0 {
            // `10`: the current window.
            let m = self.mbits as u32;
            let middle = if 2 + m <= valid {
                self.r.consume(2 + m);
                (w << 2) >> (64 - m)
            } else {
                self.r.consume(2);
                self.r.read_bits(m)
            };
            self.val ^= middle << self.trailing;
            return Ok(());
        }
        // `11`: a new window, then its bits.
        let leading = ((w >> 57) & 0x1f) as u32;
        let sig = match ((w >> 51) & 0x3f) as u32 {
            0 => 64,
            s => s,
        };
        if leading + sig > 64 {
            self.r.consume(13); // so that `next` reports truncation if that is the cause
            return Err("XOR window wider than 64 bits");
        }
        let trailing = 64 - leading - sig;
        let middle = if 13 + sig <= valid {
            self.r.consume(13 + sig);
            (w << 13) >> (64 - sig)
        } else {
            self.r.consume(13);
            self.r.read_bits(sig)
        };
        self.val ^= middle << trailing;
        self.leading = leading as u8;
        self.trailing = trailing as u8;
        self.mbits = sig as u8;
        Ok(())
    }
}

/// Reads a dod with a prefix of `110`, `1110` or `1111` (`w` is `r.peek()`): the dod
/// and the position after it.
#[cold]
#[inline(never)]
fn read_wide_dod(mut r: BitReader<'_>, w: u64) -> (u64, usize) {
    let dod = match (!w).leading_zeros() {
        2 => {
            r.consume(20);
            dod_field(w, 3, 17)
        }
        3 => {
            r.consume(24);
            dod_field(w, 4, 20)
        }
        _ => {
            r.consume(4);
            r.read_bits(64)
        }
    };
    (dod, r.pos())
}

/// The dod in the `sz`-bit field after a `head`-bit prefix at the top of `w`.
///
/// The field is two's complement except that its most negative pattern means
/// `+2^(sz-1)` (the encoder's range is `-(2^(sz-1) - 1) ..= 2^(sz-1)`), so it is
/// decoded as `sign_extend(field - 1) + 1`, which maps that one pattern right and
/// leaves every other value as plain sign extension would.
#[inline(always)]
fn dod_field(w: u64, head: u32, sz: u32) -> u64 {
    let field_minus_one = (w << head).wrapping_sub(1 << (64 - sz));
    (((field_minus_one as i64) >> (64 - sz)) + 1) as u64
}

/// Reads a uvarint: its value and the position after it, or `usize::MAX` as the
/// position if it overflows 64 bits (two words, returned in registers).
#[cold]
#[inline(never)]
fn read_uvarint_cold(mut r: BitReader<'_>) -> (u64, usize) {
    match r.read_uvarint() {
        Some(x) => (x, r.pos()),
        None => (0, usize::MAX),
    }
}

#[cold]
fn truncated(decoded: u16, expected: u16) -> ChunkError {
    ChunkError::Truncated { decoded, expected }
}

#[cold]
fn corrupt(sample: u16, reason: Corrupt) -> ChunkError {
    ChunkError::Corrupt { sample, reason }
}

impl SampleIterator for XorIterator<'_> {
    // Always inlined: in a caller's decoding loop the iterator's state then stays in
    // registers (measured: a third of the decode time in `Series::for_each_in`).
    #[inline(always)]
    fn next(&mut self) -> ValueType {
        if self.read >= self.total {
            self.ended = true;
            return ValueType::None;
        }
        let decoded = if self.read >= 2 {
            self.decode_sample()
        } else {
            self.decode_head()
        };
        // Bits past the end read as zeros, so a truncated sample may also look corrupt:
        // truncation is the better explanation.
        let err = match decoded {
            Ok(()) if !self.r.overrun() => {
                self.read += 1;
                return ValueType::Float;
            }
            Err(reason) if !self.r.overrun() => corrupt(self.read, reason),
            _ => truncated(self.read, self.total),
        };
        self.err = Some(err);
        self.ended = true;
        self.total = self.read; // so that `next` stops at its first check
        ValueType::None
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.ended {
            return ValueType::None;
        }
        if self.read > 0 && self.t >= t {
            return ValueType::Float;
        }
        loop {
            if self.next() == ValueType::None {
                return ValueType::None;
            }
            if self.t >= t {
                return ValueType::Float;
            }
        }
    }

    #[inline]
    fn at(&self) -> (i64, f64) {
        (self.t, f64::from_bits(self.val))
    }

    #[inline]
    fn at_t(&self) -> i64 {
        self.t
    }

    fn err(&self) -> Option<&ChunkError> {
        self.err.as_ref()
    }
}

#[cfg(test)]
mod tests;
