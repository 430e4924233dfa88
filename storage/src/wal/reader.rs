//! Reading records back from a sequence of segments.
//!
//! The reader reads each segment in page-aligned chunks into one reused buffer. Because a
//! fragment never crosses a page, every fragment is whole inside the buffer, so a record
//! made of a single uncompressed fragment is returned straight from it; multi-fragment
//! records are assembled in a second reused buffer, and compressed ones are decompressed
//! into a third. Nothing is allocated per record once the buffers have grown.
//!
//! It is strict: every fragment's CRC, kind, flags, length and position in its record are
//! checked, page padding must be zeros, and a segment must not end inside a fragment or a
//! record. The first problem ends the reading with a [`Corruption`] that says where the
//! damaged record starts; everything returned before it is intact.
//!
//! The one leniency, as in Prometheus: a segment may end part-way through a page (a page
//! is only padded when it is finished); the missing rest of the page counts as padding.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::PathBuf;

use super::compress::Decompressor;
use super::segment::{segment_name, SegmentRange};
use super::writer::{
    KIND_FIRST, KIND_FULL, KIND_LAST, KIND_MASK, KIND_MIDDLE, KIND_PAGE_TERM, SNAPPY_FLAG,
    ZSTD_FLAG,
};
use super::{
    Corruption, CorruptionReason, WalCompression, WalError, FRAGMENT_HEADER_SIZE as HEADER,
    PAGE_SIZE as PAGE,
};

/// Bytes read from a segment at a time: a whole number of pages.
const READ_SIZE: usize = 16 * PAGE;

/// Reads the records of a sequence of segments in order (typically a checkpoint's segments
/// followed by the WAL's). Use it as a lending iterator:
///
/// ```no_run
/// # fn main() -> Result<(), ember_storage::wal::WalError> {
/// use ember_storage::wal::{Reader, SegmentRange};
/// let mut r = Reader::open(&[SegmentRange::all("data/wal")])?;
/// while let Some(record) = r.next()? {
///     // decode `record` with `wal::record`
/// #   let _ = record;
/// }
/// # Ok(()) }
/// ```
pub struct Reader {
    /// The segments to read, in order: (directory, index).
    segments: Vec<(PathBuf, u32)>,
    /// Index into `segments` of the segment being read (or next to open).
    seg: usize,
    file: Option<File>,
    buf: Vec<u8>,
    /// Offset in the segment of `buf[0]`; always page-aligned.
    buf_start: u64,
    /// Valid bytes in `buf`.
    filled: usize,
    /// Parse position in `buf`.
    pos: usize,
    /// The file is exhausted: `buf[..filled]` is the end of the segment.
    eof: bool,
    /// Fragments of the record being assembled.
    rec: Vec<u8>,
    in_record: bool,
    /// Segment offset of the first fragment of the record being read.
    rec_start: u64,
    /// Compression flag bits of the record being assembled.
    rec_flags: u8,
    decompressor: Decompressor,
    /// Segment and start offset of the last record returned.
    last: Option<(u32, u64)>,
    /// Finished (at the end, or after an error).
    done: bool,
}

/// Where the bytes of a record just read are.
enum Found {
    /// A single fragment: `buf[start..end]`.
    Buf { start: usize, end: usize, flags: u8 },
    /// Assembled in `rec`.
    Assembled { flags: u8 },
}

impl Reader {
    /// A reader over the segments of `ranges`, in the order given. Segments are listed now
    /// and opened one at a time as reading reaches them.
    pub fn open(ranges: &[SegmentRange]) -> Result<Reader, WalError> {
        let mut segments = Vec::new();
        for r in ranges {
            for i in r.resolve()? {
                segments.push((r.dir.clone(), i));
            }
        }
        Ok(Reader {
            segments,
            seg: 0,
            file: None,
            buf: vec![0; READ_SIZE],
            buf_start: 0,
            filled: 0,
            pos: 0,
            eof: false,
            rec: Vec::new(),
            in_record: false,
            rec_start: 0,
            rec_flags: 0,
            decompressor: Decompressor::new(),
            last: None,
            done: false,
        })
    }

    /// The segments this reader covers, in reading order: (directory, index).
    pub fn segments(&self) -> &[(PathBuf, u32)] {
        &self.segments
    }

    /// Segment index and start offset of the last record returned.
    pub fn position(&self) -> Option<(u32, u64)> {
        self.last
    }

    /// The directory of the segment being read (the WAL's or a checkpoint's).
    pub fn current_dir(&self) -> Option<&std::path::Path> {
        self.segments.get(self.seg).map(|(d, _)| d.as_path())
    }

    /// The next record, decompressed; `None` at the end. The slice is valid until the next
    /// call. After an error (or the end) every later call returns `Ok(None)`.
    #[allow(clippy::should_implement_trait)] // a lending iterator: the record borrows the reader
    pub fn next(&mut self) -> Result<Option<&[u8]>, WalError> {
        if self.done {
            return Ok(None);
        }
        let found = match self.advance() {
            Ok(Some(f)) => f,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let (src, flags): (&[u8], u8) = match found {
            Found::Buf { start, end, flags } => (&self.buf[start..end], flags),
            Found::Assembled { flags } => (&self.rec, flags),
        };
        let kind = match flags {
            0 => return Ok(Some(src)),
            SNAPPY_FLAG => WalCompression::Snappy,
            _ => WalCompression::Zstd,
        };
        match self.decompressor.decompress(kind, src) {
            Ok(rec) => Ok(Some(rec)),
            Err(msg) => {
                self.done = true;
                let (dir, segment) = &self.segments[self.seg];
                Err(Corruption {
                    dir: dir.clone(),
                    segment: *segment,
                    offset: self.rec_start,
                    reason: CorruptionReason::Decompress(msg),
                }
                .into())
            }
        }
    }

    /// Reads fragments until a record is complete.
    fn advance(&mut self) -> Result<Option<Found>, WalError> {
        loop {
            if self.file.is_none() && !self.open_segment()? {
                return Ok(None);
            }
            if self.pos == self.filled {
                if !self.eof {
                    self.refill()?;
                    continue;
                }
                if self.in_record {
                    let end = self.buf_start + self.filled as u64;
                    return Err(self.corrupt(self.rec_start, CorruptionReason::TornRecord { end }));
                }
                self.file = None;
                self.seg += 1;
                continue;
            }
            if let Some(found) = self.fragment()? {
                return Ok(Some(found));
            }
        }
    }

    /// Parses the fragment (or padding) at `pos`. Returns a record when it completes one.
    fn fragment(&mut self) -> Result<Option<Found>, WalError> {
        let at = self.buf_start + self.pos as u64;
        let room = PAGE - (at % PAGE as u64) as usize;
        // Bytes present from `pos`: a whole page unless the segment ends on this page.
        let avail = self.filled - self.pos;
        let rec_or_here = if self.in_record { self.rec_start } else { at };
        let t = self.buf[self.pos];
        if t == KIND_PAGE_TERM {
            let n = room.min(avail);
            let pad = &self.buf[self.pos..self.pos + n];
            if let Some(i) = pad.iter().position(|&b| b != 0) {
                let reason = CorruptionReason::NonZeroPadding { at: at + i as u64 };
                return Err(self.corrupt(rec_or_here, reason));
            }
            self.pos += n;
            return Ok(None);
        }
        let flags = t & !KIND_MASK;
        let kind = t & KIND_MASK;
        if (flags != 0 && flags != SNAPPY_FLAG && flags != ZSTD_FLAG) || kind == 0 {
            let reason = CorruptionReason::UnknownFlags { at, byte: t };
            return Err(self.corrupt(rec_or_here, reason));
        }
        if kind > KIND_LAST {
            let reason = CorruptionReason::UnknownFragmentType { at, kind };
            return Err(self.corrupt(rec_or_here, reason));
        }
        if room < HEADER {
            return Err(self.corrupt(rec_or_here, CorruptionReason::HeaderPastPage { at, room }));
        }
        let end = self.buf_start + self.filled as u64;
        if avail < HEADER {
            return Err(self.corrupt(rec_or_here, CorruptionReason::TruncatedFragment { end }));
        }
        let h = &self.buf[self.pos..self.pos + HEADER];
        let len = usize::from(u16::from_be_bytes([h[1], h[2]]));
        let stored = u32::from_be_bytes([h[3], h[4], h[5], h[6]]);
        if len > room - HEADER {
            let reason = CorruptionReason::LengthPastPage {
                at,
                len,
                room: room - HEADER,
            };
            return Err(self.corrupt(rec_or_here, reason));
        }
        if avail < HEADER + len {
            return Err(self.corrupt(rec_or_here, CorruptionReason::TruncatedFragment { end }));
        }
        let start = self.pos + HEADER;
        let data = &self.buf[start..start + len];
        let computed = crc32c::crc32c(data);
        if computed != stored {
            let reason = CorruptionReason::Checksum {
                at,
                stored,
                computed,
            };
            return Err(self.corrupt(rec_or_here, reason));
        }
        let starts_record = kind == KIND_FULL || kind == KIND_FIRST;
        if starts_record == self.in_record {
            let reason = CorruptionReason::UnexpectedFragment {
                at,
                found: kind_name(kind),
                context: if self.in_record {
                    "inside a record"
                } else {
                    "outside a record"
                },
            };
            return Err(self.corrupt(rec_or_here, reason));
        }
        if !starts_record && flags != self.rec_flags {
            return Err(self.corrupt(rec_or_here, CorruptionReason::MixedCompression { at }));
        }
        self.pos = start + len;
        let segment = self.segments[self.seg].1;
        match kind {
            KIND_FULL => {
                self.rec_start = at;
                self.last = Some((segment, at));
                Ok(Some(Found::Buf {
                    start,
                    end: start + len,
                    flags,
                }))
            }
            KIND_FIRST => {
                self.rec.clear();
                self.rec.extend_from_slice(data);
                self.in_record = true;
                self.rec_start = at;
                self.rec_flags = flags;
                Ok(None)
            }
            KIND_MIDDLE => {
                self.rec.extend_from_slice(data);
                Ok(None)
            }
            _ => {
                self.rec.extend_from_slice(data);
                self.in_record = false;
                self.last = Some((segment, self.rec_start));
                Ok(Some(Found::Assembled { flags }))
            }
        }
    }

    /// Opens the next segment; `false` when there is none.
    fn open_segment(&mut self) -> Result<bool, WalError> {
        let Some((dir, index)) = self.segments.get(self.seg) else {
            return Ok(false);
        };
        let path = segment_name(dir, *index);
        self.file = Some(File::open(&path).map_err(WalError::io("open segment", &path))?);
        self.buf_start = 0;
        self.filled = 0;
        self.pos = 0;
        self.eof = false;
        Ok(true)
    }

    /// Reads the next chunk of the segment, as many whole pages as fit in the buffer.
    fn refill(&mut self) -> Result<(), WalError> {
        self.buf_start += self.filled as u64;
        self.filled = 0;
        self.pos = 0;
        let Some(file) = self.file.as_mut() else {
            self.eof = true;
            return Ok(());
        };
        while self.filled < self.buf.len() {
            match file.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    let (dir, index) = &self.segments[self.seg];
                    return Err(WalError::Io {
                        op: "read segment",
                        path: segment_name(dir, *index),
                        source: e,
                    });
                }
            }
        }
        Ok(())
    }

    fn corrupt(&self, offset: u64, reason: CorruptionReason) -> WalError {
        let (dir, segment) = &self.segments[self.seg];
        WalError::Corruption(Corruption {
            dir: dir.clone(),
            segment: *segment,
            offset,
            reason,
        })
    }
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        KIND_FULL => "full",
        KIND_FIRST => "first",
        KIND_MIDDLE => "middle",
        _ => "last",
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("segments", &self.segments.len())
            .field("position", &self.last)
            .finish_non_exhaustive()
    }
}
