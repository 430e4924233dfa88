//! Bit streams: the writer and reader under the XOR chunk encoding.
//!
//! Bits are numbered from the most significant bit of the first byte onwards, as in
//! Prometheus's `bstream` (`tsdb/docs/bstream.md`): writing `0b101` into an empty stream
//! yields the byte `0b1010_0000`. The final byte is padded with zero bits.
//!
//! # Writer
//!
//! [`BitWriter`] appends to a heap buffer owned by its caller as `(Box<[u8]>, u32)`: the
//! buffer (whose whole length is usable capacity) and the number of bits written. The
//! pair is 20 bytes instead of a `Vec<u8>`'s 24 plus a bit counter, which matters because
//! an open chunk lives in every series of the head. Everything past the written bits is
//! kept zero, so a write only ORs bits in: one big-endian read-modify-write of an 8-byte
//! word (and of one more byte when the bits straddle it), never a loop over bits.
//!
//! # Reader
//!
//! [`BitReader`] reads from a `&[u8]` at a bit position. [`BitReader::peek`] returns the
//! next 64 bits left-aligned in a `u64` (bits past the end of the data read as zero), of
//! which at least [`BitReader::PEEK_BITS`] are stream bits; the caller cuts a whole field
//! from that word and then [`BitReader::consume`]s what it used. The word is one unaligned
//! 8-byte load at the position's byte, or, within the last 8 bytes, the slice's last 8
//! bytes shifted (a small chunk spends a fifth of its samples there).
//!
//! Prometheus's reader instead caches a word and a count of valid bits between calls and
//! refills the word when it runs low. That design, tried here, decoded 1.6 to 3 times
//! slower (the word, the count and the next byte are three more values live in the decode
//! loop, and every peek carries the refill check), while a fresh load costs a few cycles
//! from L1 and carries no state.
//!
//! Reading past the end never touches memory out of bounds: it yields zero bits and leaves
//! [`BitReader::overrun`] true, which decoders check once per decoded item to report
//! truncation.

/// Bytes allocated when the first bit is written (Prometheus allocates 128 for a chunk).
const INITIAL_CAPACITY: usize = 128;

/// A writer appending bits to a caller-owned buffer and bit count.
///
/// Invariant kept by every method: `buf[..]` beyond the first `*bits` bits is zero.
pub struct BitWriter<'a> {
    buf: &'a mut Box<[u8]>,
    bits: &'a mut u32,
}

impl<'a> BitWriter<'a> {
    /// A writer appending after the first `*bits` bits of `buf`, whose remaining bits must
    /// be zero (as left by a previous writer or by [`zeroed_copy`]).
    #[inline]
    pub fn new(buf: &'a mut Box<[u8]>, bits: &'a mut u32) -> BitWriter<'a> {
        BitWriter { buf, bits }
    }

    /// Appends the `n` low bits of `value`, most significant first. `n` is in `1..=64`;
    /// bits of `value` above the `n` low ones are ignored.
    #[inline(always)]
    pub fn write_bits(&mut self, value: u64, n: u32) {
        debug_assert!((1..=64).contains(&n));
        let value = value & (u64::MAX >> (64 - n));
        let pos = *self.bits as usize;
        let byte = pos / 8;
        // Bits already taken in `buf[byte]`; with up to 64 more they span 9 bytes.
        let used = (pos % 8) as u32;
        if byte + 9 > self.buf.len() {
            grow(self.buf, byte + 9);
        }
        if n + used <= 64 {
            or_word(self.buf, byte, value << (64 - n - used));
        } else {
            // The first `64 - used` bits fill the word; the rest (1..=7 bits) start the
            // next byte.
            let rest = n + used - 64;
            or_word(self.buf, byte, value >> rest);
            self.buf[byte + 8] |= (value << (8 - rest)) as u8;
        }
        *self.bits += n;
    }

    /// The number of bits written.
    #[inline]
    pub fn bit_len(&self) -> u32 {
        *self.bits
    }
}

/// The first `bits` bits of `buf` as whole bytes (the last one zero-padded).
#[inline]
pub fn written(buf: &[u8], bits: u32) -> &[u8] {
    &buf[..(bits as usize).div_ceil(8)]
}

/// A buffer holding the first `bits` bits of `data` followed by zeros, with room for
/// appending: the form [`BitWriter::new`] expects. `data` must hold at least `bits` bits.
pub fn zeroed_copy(data: &[u8], bits: u32) -> Box<[u8]> {
    let len = (bits as usize).div_ceil(8);
    let mut v = Vec::with_capacity(len + 16);
    v.extend_from_slice(&data[..len]);
    if bits & 7 != 0 {
        if let Some(last) = v.last_mut() {
            *last &= 0xff << (8 - (bits & 7));
        }
    }
    v.resize(len + 16, 0);
    v.into_boxed_slice()
}

/// Reallocates `buf` (zero-filled) to at least `min_len` bytes: double the current size,
/// and at least [`INITIAL_CAPACITY`].
#[cold]
fn grow(buf: &mut Box<[u8]>, min_len: usize) {
    let new_len = min_len.max(buf.len() * 2).max(INITIAL_CAPACITY);
    let mut v = std::mem::take(buf).into_vec();
    v.reserve_exact(new_len - v.len());
    v.resize(new_len, 0);
    *buf = v.into_boxed_slice();
}

/// ORs `word` big-endian into `buf[at..at + 8]`.
#[inline(always)]
fn or_word(buf: &mut [u8], at: usize, word: u64) {
    let dst = &mut buf[at..at + 8];
    let mut cur = [0u8; 8];
    cur.copy_from_slice(dst);
    dst.copy_from_slice(&(u64::from_be_bytes(cur) | word).to_be_bytes());
}

/// A reader over a byte slice at a bit position.
///
/// It is `Copy`, and its out-of-line helpers take plain values, so that a decoder holding
/// one never passes its address to a call and the compiler can keep `pos` in a register.
#[derive(Debug, Clone, Copy)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// The next bit to read, counted from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// How many bits of a [`peek`](BitReader::peek) are guaranteed to come from the
    /// stream (when not at its end): a load at a byte boundary loses up to 7 bits.
    pub const PEEK_BITS: u32 = 57;

    /// A reader positioned at bit `pos` of `data`.
    #[inline]
    pub fn new(data: &'a [u8], pos: usize) -> BitReader<'a> {
        BitReader { data, pos }
    }

    /// The next 64 bits, left-aligned, without consuming them. Bits past the end of the
    /// data are zero; at least [`PEEK_BITS`](BitReader::PEEK_BITS) bits are stream bits
    /// if the stream has that many left.
    #[inline(always)]
    pub fn peek(&self) -> u64 {
        let byte = self.pos / 8;
        if let Some(w) = self.data.get(byte..byte + 8) {
            return read_u64_be(w) << (self.pos % 8);
        }
        // Within the last 8 bytes (a small chunk spends many samples there): shift the
        // slice's last 8 bytes instead, so that what follows the data reads as zeros.
        match self.data.len().checked_sub(8) {
            Some(base) => {
                let shift = self.pos - base * 8; // > 7, since byte > base
                if shift < 64 {
                    read_u64_be(&self.data[base..]) << shift
                } else {
                    0
                }
            }
            None => peek_short(self.data, self.pos),
        }
    }

    /// Skips `n` bits (which may run past the end; see [`overrun`](BitReader::overrun)).
    #[inline(always)]
    pub fn consume(&mut self, n: u32) {
        self.pos += n as usize;
    }

    /// Reads `n` bits, `n` in `1..=64`, as the low bits of the result.
    #[inline(always)]
    pub fn read_bits(&mut self, n: u32) -> u64 {
        debug_assert!((1..=64).contains(&n));
        if n <= Self::PEEK_BITS {
            let v = self.peek() >> (64 - n);
            self.consume(n);
            v
        } else {
            let hi = self.peek() >> 32;
            self.consume(32);
            let lo_n = n - 32;
            let lo = self.peek() >> (64 - lo_n);
            self.consume(lo_n);
            (hi << lo_n) | lo
        }
    }

    /// Reads a Go `encoding/binary` unsigned varint (7 bits per byte, least significant
    /// group first, high bit set on all but the last byte), at any bit alignment.
    /// `None` if it does not fit 64 bits; a truncated varint shows as
    /// [`overrun`](BitReader::overrun).
    pub fn read_uvarint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for i in 0..10 {
            let b = self.read_bits(8);
            if b < 0x80 {
                // The tenth byte may contribute only the 64th bit.
                if i == 9 && b > 1 {
                    return None;
                }
                return Some(x | b << (7 * i));
            }
            x |= (b & 0x7f) << (7 * i);
        }
        None
    }

    /// Reads a Go signed varint: the unsigned varint of the zig-zag encoding.
    pub fn read_varint(&mut self) -> Option<i64> {
        let u = self.read_uvarint()?;
        Some((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    /// Moves to bit `pos`.
    #[inline(always)]
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The position of the next bit to read.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Whether more bits were consumed than the data holds.
    #[inline(always)]
    pub fn overrun(&self) -> bool {
        self.pos > self.data.len() * 8
    }
}

/// The big-endian `u64` in an 8-byte slice.
#[inline(always)]
fn read_u64_be(w: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(w);
    u64::from_be_bytes(b)
}

/// [`BitReader::peek`] in data shorter than 8 bytes: copy what is there.
#[cold]
#[inline(never)]
fn peek_short(data: &[u8], pos: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(rest) = data.get(pos / 8..) {
        w[..rest.len()].copy_from_slice(rest);
    }
    u64::from_be_bytes(w) << (pos % 8)
}

/// Appends the Go `encoding/binary` unsigned varint of `x`.
pub fn put_uvarint(w: &mut BitWriter<'_>, mut x: u64) {
    while x >= 0x80 {
        w.write_bits((x as u8 | 0x80) as u64, 8);
        x >>= 7;
    }
    w.write_bits(x, 8);
}

/// Appends the Go `encoding/binary` signed varint of `x` (zig-zag, then uvarint).
pub fn put_varint(w: &mut BitWriter<'_>, x: i64) {
    put_uvarint(w, ((x << 1) ^ (x >> 63)) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write_all(fields: &[(u64, u32)]) -> (Box<[u8]>, u32) {
        let mut buf: Box<[u8]> = Box::new([]);
        let mut bits = 0;
        let mut w = BitWriter::new(&mut buf, &mut bits);
        for &(v, n) in fields {
            w.write_bits(v, n);
        }
        (buf, bits)
    }

    #[test]
    fn bits_are_msb_first_and_padded_with_zeros() {
        // 101 | 1 | 0000_1111 | 11 -> 1011_0000 1111_1100 (2 padding bits).
        let (buf, bits) = write_all(&[(0b101, 3), (1, 1), (0x0f, 8), (0b11, 2)]);
        assert_eq!(bits, 14);
        assert_eq!(written(&buf, bits), &[0b1011_0000, 0b1111_1100]);
    }

    #[test]
    fn high_bits_above_n_are_ignored() {
        let (buf, bits) = write_all(&[(u64::MAX, 3)]);
        assert_eq!(written(&buf, bits), &[0b1110_0000]);
    }

    #[test]
    fn sixty_four_bits_at_every_alignment() {
        for lead in 1..=8u32 {
            let (buf, bits) = write_all(&[(0, lead), (0x8123_4567_89ab_cdef, 64)]);
            let mut r = BitReader::new(written(&buf, bits), 0);
            assert_eq!(r.read_bits(lead), 0);
            assert_eq!(r.read_bits(64), 0x8123_4567_89ab_cdef, "lead {lead}");
            assert!(!r.overrun());
        }
    }

    #[test]
    fn varints_match_go_encoding() {
        // Go: binary.PutUvarint(300) = [0xac, 0x02]; PutVarint(-1) = [0x01];
        // PutVarint(1) = [0x02]; PutVarint(-65) = zig-zag 129 = [0x81, 0x01].
        let mut buf: Box<[u8]> = Box::new([]);
        let mut bits = 0;
        let mut w = BitWriter::new(&mut buf, &mut bits);
        put_uvarint(&mut w, 300);
        put_varint(&mut w, -1);
        put_varint(&mut w, 1);
        put_varint(&mut w, -65);
        assert_eq!(written(&buf, bits), &[0xac, 0x02, 0x01, 0x02, 0x81, 0x01]);
    }

    #[test]
    fn uvarint_overflow_is_rejected() {
        // Ten bytes whose last contributes more than the 64th bit.
        let data = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(BitReader::new(&data, 0).read_uvarint(), None);
        let data = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(BitReader::new(&data, 0).read_uvarint(), Some(u64::MAX));
        // Eleven continuation bytes.
        assert_eq!(BitReader::new(&[0x80; 11], 0).read_uvarint(), None);
    }

    #[test]
    fn reading_past_the_end_yields_zeros_and_overrun() {
        let data = [0xff];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.read_bits(4), 0xf);
        assert!(!r.overrun());
        assert_eq!(r.read_bits(8), 0xf0);
        assert!(r.overrun());
        assert_eq!(r.read_bits(64), 0);
        assert_eq!(BitReader::new(&[], 0).peek(), 0);

        // Within the last 8 bytes of a longer slice, and past its end.
        let data = [0xff; 9];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.read_bits(20), 0xf_ffff);
        assert_eq!(r.peek(), u64::MAX << 12); // 52 bits left
        assert_eq!(r.read_bits(52), (1 << 52) - 1);
        assert!(!r.overrun());
        assert_eq!(r.peek(), 0);
        assert_eq!(r.read_bits(1), 0);
        assert!(r.overrun());
        assert_eq!(BitReader::new(&data, 1000).peek(), 0);
    }

    #[test]
    fn zeroed_copy_clears_padding() {
        let buf = zeroed_copy(&[0xff, 0xff, 0xff], 12);
        assert_eq!(&buf[..3], &[0xff, 0xf0, 0]);
        assert!(buf[2..].iter().all(|&b| b == 0));
    }

    proptest! {
        /// Any sequence of fields reads back, and the bytes equal a bit-by-bit reference.
        #[test]
        fn round_trip(fields in prop::collection::vec((any::<u64>(), 1u32..=64), 0..200)) {
            let (buf, bits) = write_all(&fields);
            let bytes = written(&buf, bits);
            // Reference: one bool per bit, packed MSB first.
            let mut reference = Vec::new();
            let mut nbits = 0usize;
            for &(v, n) in &fields {
                for i in (0..n).rev() {
                    if nbits & 7 == 0 {
                        reference.push(0u8);
                    }
                    if (v >> i) & 1 == 1 {
                        *reference.last_mut().unwrap() |= 0x80 >> (nbits % 8);
                    }
                    nbits += 1;
                }
            }
            prop_assert_eq!(bits as usize, nbits);
            prop_assert_eq!(bytes, &reference[..]);
            prop_assert!(buf[bytes.len()..].iter().all(|&b| b == 0));

            let mut r = BitReader::new(bytes, 0);
            for &(v, n) in &fields {
                let mask = u64::MAX >> (64 - n);
                prop_assert_eq!(r.read_bits(n), v & mask);
            }
            prop_assert!(!r.overrun());
            prop_assert_eq!(r.pos(), nbits);
        }

        #[test]
        fn varint_round_trip(xs in prop::collection::vec(any::<i64>(), 0..50), lead in 0u32..8) {
            let mut buf: Box<[u8]> = Box::new([]);
            let mut bits = 0;
            let mut w = BitWriter::new(&mut buf, &mut bits);
            if lead > 0 {
                w.write_bits(0, lead);
            }
            for &x in &xs {
                put_varint(&mut w, x);
                put_uvarint(&mut w, x as u64);
            }
            let mut r = BitReader::new(written(&buf, bits), lead as usize);
            for &x in &xs {
                prop_assert_eq!(r.read_varint(), Some(x));
                prop_assert_eq!(r.read_uvarint(), Some(x as u64));
            }
            prop_assert!(!r.overrun());
        }
    }
}
