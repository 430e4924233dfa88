//! Per-record compression: snappy (block format, as Go's `snappy.Encode`) or zstd (one
//! frame per record, as Prometheus's `EncodeAll`). Both sides keep their buffers and codec
//! contexts between records, so steady-state use does not allocate.

use zstd::zstd_safe::{self, DCtx, InBuffer, OutBuffer, ResetDirective};

use super::{WalCompression, MAX_RECORD_SIZE};

/// zstd level: Prometheus uses klauspost/compress's default "speed" mode, documented as
/// roughly equivalent to zstd's default level 3.
const ZSTD_LEVEL: i32 = 3;

/// Compresses records with one configured algorithm, reusing its output buffer.
pub(crate) struct Compressor {
    kind: WalCompression,
    snappy: snap::raw::Encoder,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    out: Vec<u8>,
}

impl Compressor {
    pub(crate) fn new(kind: WalCompression) -> Compressor {
        Compressor {
            kind,
            snappy: snap::raw::Encoder::new(),
            zstd: None,
            out: Vec::new(),
        }
    }

    /// The bytes to store for `rec` and the compression flag to set on its fragments.
    /// Falls back to storing `rec` as is when compression does not make it smaller (as
    /// Prometheus does: short records often grow) or when the codec fails.
    pub(crate) fn compress<'a>(&'a mut self, rec: &'a [u8]) -> (&'a [u8], WalCompression) {
        if rec.is_empty() {
            return (rec, WalCompression::None);
        }
        let n = match self.kind {
            WalCompression::None => return (rec, WalCompression::None),
            WalCompression::Snappy => {
                let max = snap::raw::max_compress_len(rec.len());
                if max == 0 {
                    return (rec, WalCompression::None); // too large for snappy's block format
                }
                if self.out.len() < max {
                    self.out.resize(max, 0);
                }
                match self.snappy.compress(rec, &mut self.out) {
                    Ok(n) => n,
                    Err(_) => return (rec, WalCompression::None),
                }
            }
            WalCompression::Zstd => {
                if self.zstd.is_none() {
                    self.zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
                }
                let Some(zstd) = self.zstd.as_mut() else {
                    return (rec, WalCompression::None);
                };
                self.out.clear();
                self.out.reserve(zstd_safe::compress_bound(rec.len()));
                match zstd.compress_to_buffer(rec, &mut self.out) {
                    Ok(n) => n,
                    Err(_) => return (rec, WalCompression::None),
                }
            }
        };
        if n >= rec.len() {
            (rec, WalCompression::None)
        } else {
            (&self.out[..n], self.kind)
        }
    }
}

/// Decompresses records, reusing its output buffer and codec contexts.
pub(crate) struct Decompressor {
    snappy: snap::raw::Decoder,
    zstd: Option<DCtx<'static>>,
    out: Vec<u8>,
}

impl Decompressor {
    pub(crate) fn new() -> Decompressor {
        Decompressor {
            snappy: snap::raw::Decoder::new(),
            zstd: None,
            out: Vec::new(),
        }
    }

    /// Decompresses `src`; the result is valid until the next call. An error names what was
    /// wrong with the compressed bytes.
    pub(crate) fn decompress<'a>(
        &'a mut self,
        kind: WalCompression,
        src: &'a [u8],
    ) -> Result<&'a [u8], String> {
        match kind {
            WalCompression::None => Ok(src),
            _ if src.is_empty() => Ok(&[]),
            WalCompression::Snappy => {
                let n = snap::raw::decompress_len(src).map_err(|e| format!("snappy: {e}"))?;
                if n > MAX_RECORD_SIZE {
                    return Err(format!(
                        "snappy: record claims {n} bytes, more than the limit of {MAX_RECORD_SIZE}"
                    ));
                }
                if self.out.len() < n {
                    self.out.resize(n, 0);
                }
                let got = self
                    .snappy
                    .decompress(src, &mut self.out[..n])
                    .map_err(|e| format!("snappy: {e}"))?;
                Ok(&self.out[..got])
            }
            WalCompression::Zstd => {
                self.zstd_decompress(src)?;
                Ok(&self.out)
            }
        }
    }

    /// Streams `src` (one or more zstd frames) into `self.out`, growing it as needed up to
    /// [`MAX_RECORD_SIZE`]. The frame's declared size, when present, is only a hint.
    fn zstd_decompress(&mut self, src: &[u8]) -> Result<(), String> {
        let dctx = self.zstd.get_or_insert_with(DCtx::create);
        dctx.reset(ResetDirective::SessionOnly)
            .map_err(|code| format!("zstd: {}", zstd_safe::get_error_name(code)))?;
        let out = &mut self.out;
        out.clear();
        if let Ok(Some(n)) = zstd_safe::get_frame_content_size(src) {
            out.reserve((n as usize).min(MAX_RECORD_SIZE));
        }
        let mut input = InBuffer::around(src);
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_RECORD_SIZE {
                    return Err(format!(
                        "zstd: record is larger than the limit of {MAX_RECORD_SIZE} bytes"
                    ));
                }
                let grow = out.len().max(32 * 1024).min(MAX_RECORD_SIZE - out.len());
                out.reserve_exact(grow);
            }
            let len = out.len();
            let (hint, produced) = {
                let mut ob = OutBuffer::around_pos(out, len);
                let hint = dctx
                    .decompress_stream(&mut ob, &mut input)
                    .map_err(|code| format!("zstd: {}", zstd_safe::get_error_name(code)))?;
                (hint, ob.pos() - len)
            };
            let consumed_all = input.pos() == src.len();
            if hint == 0 && consumed_all {
                return Ok(()); // last frame complete
            }
            if consumed_all && produced == 0 && out.len() < out.capacity() {
                return Err("zstd: frame is truncated".to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compressible(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 7) as u8).collect()
    }

    #[test]
    fn round_trips_and_falls_back() {
        for kind in [WalCompression::Snappy, WalCompression::Zstd] {
            let mut c = Compressor::new(kind);
            let mut d = Decompressor::new();
            let rec = compressible(100_000);
            let (bytes, flag) = c.compress(&rec);
            assert_eq!(flag, kind);
            assert!(bytes.len() < rec.len() / 10);
            let bytes = bytes.to_vec();
            assert_eq!(d.decompress(kind, &bytes).unwrap(), &rec[..]);
            // A short random-looking record does not shrink: stored as is.
            let short = [0x91u8, 0x13, 0x07];
            assert_eq!(c.compress(&short), (&short[..], WalCompression::None));
            assert_eq!(c.compress(&[]), (&[][..], WalCompression::None));
        }
    }

    #[test]
    fn zstd_without_declared_size_and_multiple_frames() {
        // Frames from a streaming encoder declare no content size.
        let a = compressible(70_000);
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        std::io::Write::write_all(&mut enc, &a).unwrap();
        let mut frames = enc.finish().unwrap();
        assert!(matches!(
            zstd_safe::get_frame_content_size(&frames),
            Ok(None)
        ));
        let b = zstd::bulk::compress(b"second frame", 3).unwrap();
        frames.extend_from_slice(&b);
        let mut d = Decompressor::new();
        let mut want = a.clone();
        want.extend_from_slice(b"second frame");
        assert_eq!(
            d.decompress(WalCompression::Zstd, &frames).unwrap(),
            &want[..]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut d = Decompressor::new();
        let good = zstd::bulk::compress(&compressible(5000), 3).unwrap();
        assert!(d
            .decompress(WalCompression::Zstd, &good[..good.len() - 3])
            .is_err());
        assert!(d.decompress(WalCompression::Zstd, b"not zstd").is_err());
        assert!(d.decompress(WalCompression::Snappy, &[0xff; 12]).is_err());
        // Snappy header claiming 2^32-1 bytes.
        assert!(d
            .decompress(WalCompression::Snappy, &[0xff, 0xff, 0xff, 0xff, 0x0f, 0])
            .is_err());
    }
}
