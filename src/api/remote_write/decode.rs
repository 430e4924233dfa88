//! Zero-copy decoding of remote-write requests (1.0 and 2.0) from their protobuf wire
//! format.
//!
//! Why not `prost`: prost decodes every label into an owned `String` (or, with `bytes`
//! fields, a reference-counted `Bytes` per label) and every series into its own `Vec`s of
//! labels and samples: several allocations per series, per request, on the hottest path of
//! the server. This decoder walks the message once and records only offsets into the
//! decompressed buffer ([`Span`]) and numbers, in a few flat vectors that live as long as
//! the thread and are cleared between requests, so a request decodes with no allocation
//! once they have grown. Label bytes are checked (UTF-8, order) later, when the series
//! is resolved ([`super::ingest`]).
//!
//! The whole message is decoded before anything is appended, so a malformed request
//! stores nothing, as with Prometheus's `proto.Unmarshal`. As there: unknown fields are
//! skipped; a known field with the wrong wire type, a truncated field, a varint longer
//! than ten bytes or a group is an error; repeated scalars may be packed or not; a field
//! given twice keeps its last value.
//!
//! The tests (`decode_tests.rs`) check the decoder against prost's encoding of random
//! messages (property tests) and against truncations and corruptions of them (no panic,
//! an error or a well-formed result).

use std::fmt;

/// At most this many elements (series, labels, samples, histograms, exemplars, label
/// references, symbols) in one request: a cap on the memory a request can make the
/// decoder use (about 16 bytes an element), whatever its body holds. Real requests hold a
/// few thousand samples.
pub const MAX_ELEMENTS: usize = 4 << 20;

/// A byte range of the decoded buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// The bytes of this span. Spans come from the decoder over the same buffer, so they
    /// are in bounds; an out-of-bounds span (a programming error) yields no bytes.
    #[inline]
    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// A range of indices into one of a request's flat vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Slice {
    pub start: u32,
    pub end: u32,
}

impl Slice {
    #[inline]
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Why a request body is not a valid protobuf message of the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A field or message runs past the end of its parent.
    UnexpectedEof,
    /// A varint longer than ten bytes.
    Overflow,
    /// A wire type that is not 0, 1, 2 or 5 (groups are not supported).
    IllegalWireType { wire_type: u8 },
    /// A known field encoded with the wrong wire type.
    WrongWireType {
        message: &'static str,
        field: u32,
        wire_type: u8,
    },
    /// Field number 0.
    IllegalTag,
    /// More than [`MAX_ELEMENTS`] elements.
    TooManyElements,
    /// A body too large to address with 32-bit offsets (never reached: bodies are
    /// capped well below).
    TooLarge,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Worded as Go's protobuf runtime words its errors.
        match self {
            DecodeError::UnexpectedEof => f.write_str("unexpected EOF"),
            DecodeError::Overflow => f.write_str("proto: integer overflow"),
            DecodeError::IllegalWireType { wire_type } => {
                write!(f, "proto: illegal wireType {wire_type}")
            }
            DecodeError::WrongWireType {
                message,
                field,
                wire_type,
            } => write!(
                f,
                "proto: {message}: wrong wireType = {wire_type} for field {field}"
            ),
            DecodeError::IllegalTag => f.write_str("proto: illegal tag 0 (wire type 0)"),
            DecodeError::TooManyElements => write!(
                f,
                "request holds more than {MAX_ELEMENTS} series, labels, samples and symbols"
            ),
            DecodeError::TooLarge => f.write_str("request too large"),
        }
    }
}

impl std::error::Error for DecodeError {}

type Result<T> = std::result::Result<T, DecodeError>;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A cursor over `buf[pos..end]`, with absolute positions so that spans index the whole
/// buffer.
#[derive(Clone, Copy)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader {
            buf,
            pos: 0,
            end: buf.len(),
        }
    }

    #[inline]
    fn done(&self) -> bool {
        self.pos >= self.end
    }

    #[inline]
    fn varint(&mut self) -> Result<u64> {
        // Fast path: one byte.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 && self.pos < self.end {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        let mut x = 0u64;
        for i in 0..10 {
            if self.pos >= self.end {
                return Err(DecodeError::UnexpectedEof);
            }
            let b = self.buf[self.pos];
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(DecodeError::Overflow);
            }
            x |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err(DecodeError::Overflow)
    }

    /// The next field's number and wire type.
    #[inline]
    fn key(&mut self) -> Result<(u32, u8)> {
        let k = self.varint()?;
        let wire_type = (k & 7) as u8;
        let field = k >> 3;
        if field == 0 {
            return Err(DecodeError::IllegalTag);
        }
        if !matches!(wire_type, VARINT | FIXED64 | LEN | FIXED32) {
            return Err(DecodeError::IllegalWireType { wire_type });
        }
        // Field numbers above 2^29-1 are invalid; treat them as unknown fields to skip.
        Ok((u32::try_from(field).unwrap_or(u32::MAX), wire_type))
    }

    #[inline]
    fn fixed64(&mut self) -> Result<u64> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + 8)
            .filter(|_| self.pos + 8 <= self.end)
            .ok_or(DecodeError::UnexpectedEof)?;
        self.pos += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-delimited field's content, as a sub-reader.
    #[inline]
    fn sub(&mut self) -> Result<Reader<'a>> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::UnexpectedEof)?;
        let start = self.pos;
        let end = start.checked_add(len).ok_or(DecodeError::UnexpectedEof)?;
        if end > self.end {
            return Err(DecodeError::UnexpectedEof);
        }
        self.pos = end;
        Ok(Reader {
            buf: self.buf,
            pos: start,
            end,
        })
    }

    /// A length-delimited field's content, as a span.
    #[inline]
    fn bytes(&mut self) -> Result<Span> {
        let r = self.sub()?;
        Ok(Span {
            start: r.pos as u32,
            end: r.end as u32,
        })
    }

    /// Skips a field's value.
    fn skip(&mut self, wire_type: u8) -> Result<()> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.fixed64().map(drop),
            LEN => self.sub().map(drop),
            FIXED32 => {
                if self.pos + 4 > self.end {
                    return Err(DecodeError::UnexpectedEof);
                }
                self.pos += 4;
                Ok(())
            }
            wire_type => Err(DecodeError::IllegalWireType { wire_type }),
        }
    }

    /// Checks that the rest is a well-formed sequence of fields (of any message).
    fn validate(&mut self) -> Result<()> {
        while !self.done() {
            let (_, wt) = self.key()?;
            self.skip(wt)?;
        }
        Ok(())
    }
}

/// Counts elements against [`MAX_ELEMENTS`].
#[derive(Default)]
struct Budget(usize);

impl Budget {
    #[inline]
    fn take(&mut self, n: usize) -> Result<()> {
        self.0 += n;
        if self.0 > MAX_ELEMENTS {
            return Err(DecodeError::TooManyElements);
        }
        Ok(())
    }
}

#[inline]
fn expect(message: &'static str, field: u32, wire_type: u8, want: u8) -> Result<()> {
    if wire_type == want {
        Ok(())
    } else {
        Err(DecodeError::WrongWireType {
            message,
            field,
            wire_type,
        })
    }
}

fn check_len(buf: &[u8]) -> Result<()> {
    if buf.len() > u32::MAX as usize / 2 {
        return Err(DecodeError::TooLarge);
    }
    Ok(())
}

/// One float sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
    /// The created (start) timestamp (2.0); 0 when unset.
    pub start_t: i64,
}

/// A label as two spans of the buffer (not yet checked for UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LabelSpan {
    pub name: Span,
    pub value: Span,
}

/// A series of a 1.0 request.
#[derive(Debug, Clone, Copy, Default)]
pub struct V1Series {
    /// Into [`V1Request::labels`].
    pub labels: Slice,
    /// Into [`V1Request::samples`].
    pub samples: Slice,
    /// Into [`V1Request::histograms`] (their timestamps).
    pub histograms: Slice,
    pub exemplars: u32,
}

/// A decoded `prometheus.WriteRequest`: flat vectors reused across requests.
#[derive(Default)]
pub struct V1Request {
    pub series: Vec<V1Series>,
    pub labels: Vec<LabelSpan>,
    pub samples: Vec<Sample>,
    pub histograms: Vec<i64>,
    /// `metadata` entries (accepted and ignored).
    pub metadata: u32,
}

impl V1Request {
    fn clear(&mut self) {
        self.series.clear();
        self.labels.clear();
        self.samples.clear();
        self.histograms.clear();
        self.metadata = 0;
    }

    /// Decodes `buf`, replacing the previous contents.
    pub fn decode(&mut self, buf: &[u8]) -> Result<()> {
        self.clear();
        check_len(buf)?;
        let mut budget = Budget::default();
        let mut r = Reader::new(buf);
        while !r.done() {
            match r.key()? {
                (1, wt) => {
                    expect("WriteRequest", 1, wt, LEN)?;
                    let ts = r.sub()?;
                    budget.take(1)?;
                    self.decode_series(ts, &mut budget)?;
                }
                (3, wt) => {
                    expect("WriteRequest", 3, wt, LEN)?;
                    r.sub()?.validate()?;
                    self.metadata += 1;
                }
                (_, wt) => r.skip(wt)?,
            }
        }
        Ok(())
    }

    fn decode_series(&mut self, mut r: Reader<'_>, budget: &mut Budget) -> Result<()> {
        let labels_start = self.labels.len() as u32;
        let samples_start = self.samples.len() as u32;
        let histograms_start = self.histograms.len() as u32;
        let mut exemplars = 0u32;
        // Labels and samples of one series may interleave on the wire; they are collected
        // in order of appearance into the flat vectors, which is what the series' slices
        // need because nothing else is pushed meanwhile.
        while !r.done() {
            match r.key()? {
                (1, wt) => {
                    expect("TimeSeries", 1, wt, LEN)?;
                    let l = r.sub()?;
                    budget.take(1)?;
                    self.labels.push(decode_label(l)?);
                }
                (2, wt) => {
                    expect("TimeSeries", 2, wt, LEN)?;
                    let s = r.sub()?;
                    budget.take(1)?;
                    self.samples.push(decode_v1_sample(s)?);
                }
                (3, wt) => {
                    expect("TimeSeries", 3, wt, LEN)?;
                    let e = r.sub()?;
                    budget.take(1)?;
                    decode_v1_exemplar(e, budget)?;
                    exemplars += 1;
                }
                (4, wt) => {
                    expect("TimeSeries", 4, wt, LEN)?;
                    let h = r.sub()?;
                    budget.take(1)?;
                    self.histograms.push(decode_histogram(h)?.timestamp);
                }
                (_, wt) => r.skip(wt)?,
            }
        }
        self.series.push(V1Series {
            labels: Slice {
                start: labels_start,
                end: self.labels.len() as u32,
            },
            samples: Slice {
                start: samples_start,
                end: self.samples.len() as u32,
            },
            histograms: Slice {
                start: histograms_start,
                end: self.histograms.len() as u32,
            },
            exemplars,
        });
        Ok(())
    }

    /// Drops capacity grown by an unusually large request, so that a thread does not
    /// keep it for good.
    pub fn shrink(&mut self, max: usize) {
        shrink_vec(&mut self.series, max);
        shrink_vec(&mut self.labels, max);
        shrink_vec(&mut self.samples, max);
        shrink_vec(&mut self.histograms, max);
    }
}

fn shrink_vec<T>(v: &mut Vec<T>, max: usize) {
    if v.capacity() > max {
        *v = Vec::new();
    }
}

#[inline]
fn decode_label(r: Reader<'_>) -> Result<LabelSpan> {
    // Fast path, what every encoder writes: name (field 1) then value (field 2), each
    // shorter than 128 bytes, nothing else.
    let (p, end) = (r.pos, r.end);
    if let [0x0a, n, rest @ ..] = &r.buf[p..end] {
        let n = usize::from(*n);
        if n < 0x80 {
            if let Some([0x12, v, ..]) = rest.get(n..n + 2) {
                let v = usize::from(*v);
                let name_start = p + 2;
                let value_start = name_start + n + 2;
                if v < 0x80 && value_start + v == end {
                    return Ok(LabelSpan {
                        name: Span {
                            start: name_start as u32,
                            end: (name_start + n) as u32,
                        },
                        value: Span {
                            start: value_start as u32,
                            end: end as u32,
                        },
                    });
                }
            }
        }
    }
    decode_label_slow(r)
}

fn decode_label_slow(mut r: Reader<'_>) -> Result<LabelSpan> {
    let mut l = LabelSpan::default();
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Label", 1, wt, LEN)?;
                l.name = r.bytes()?;
            }
            (2, wt) => {
                expect("Label", 2, wt, LEN)?;
                l.value = r.bytes()?;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(l)
}

#[inline]
fn decode_v1_sample(r: Reader<'_>) -> Result<Sample> {
    // Fast path: value (field 1) then timestamp (field 2), nothing else.
    if let [0x09, v @ .., 0x10] = r.buf.get(r.pos..r.pos + 10).unwrap_or_default() {
        if let Ok(v) = <[u8; 8]>::try_from(v) {
            let mut rest = Reader {
                buf: r.buf,
                pos: r.pos + 10,
                end: r.end,
            };
            if r.pos + 10 < r.end {
                let t = rest.varint()? as i64;
                if rest.done() {
                    return Ok(Sample {
                        t,
                        v: f64::from_le_bytes(v),
                        start_t: 0,
                    });
                }
            }
        }
    }
    decode_v1_sample_slow(r)
}

fn decode_v1_sample_slow(mut r: Reader<'_>) -> Result<Sample> {
    let mut s = Sample::default();
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Sample", 1, wt, FIXED64)?;
                s.v = f64::from_bits(r.fixed64()?);
            }
            (2, wt) => {
                expect("Sample", 2, wt, VARINT)?;
                s.t = r.varint()? as i64;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(s)
}

fn decode_v1_exemplar(mut r: Reader<'_>, budget: &mut Budget) -> Result<()> {
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Exemplar", 1, wt, LEN)?;
                budget.take(1)?;
                decode_label(r.sub()?)?;
            }
            (2, wt) => {
                expect("Exemplar", 2, wt, FIXED64)?;
                r.fixed64()?;
            }
            (3, wt) => {
                expect("Exemplar", 3, wt, VARINT)?;
                r.varint()?;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(())
}

/// What the receiver needs of a native histogram: its timestamps (the rest is checked
/// for well-formedness only; Ember's storage holds float samples).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistogramInfo {
    pub timestamp: i64,
    pub start_timestamp: i64,
}

fn decode_histogram(mut r: Reader<'_>) -> Result<HistogramInfo> {
    const M: &str = "Histogram";
    let mut h = HistogramInfo::default();
    while !r.done() {
        let (field, wt) = r.key()?;
        match field {
            // count_int, schema (sint32), zero_count_int, reset_hint
            1 | 4 | 6 | 14 => {
                expect(M, field, wt, VARINT)?;
                r.varint()?;
            }
            // count_float, sum, zero_threshold, zero_count_float
            2 | 3 | 5 | 7 => {
                expect(M, field, wt, FIXED64)?;
                r.fixed64()?;
            }
            // negative_spans, positive_spans
            8 | 11 => {
                expect(M, field, wt, LEN)?;
                decode_bucket_span(r.sub()?)?;
            }
            // negative_deltas, positive_deltas: repeated sint64, packed or not
            9 | 12 => match wt {
                LEN => r.sub()?.validate_packed_varints()?,
                VARINT => r.varint().map(drop)?,
                _ => expect(M, field, wt, LEN)?,
            },
            // negative_counts, positive_counts, custom_values: repeated double
            10 | 13 | 16 => match wt {
                LEN => {
                    let s = r.sub()?;
                    if !(s.end - s.pos).is_multiple_of(8) {
                        return Err(DecodeError::UnexpectedEof);
                    }
                }
                FIXED64 => r.fixed64().map(drop)?,
                _ => expect(M, field, wt, LEN)?,
            },
            15 => {
                expect(M, field, wt, VARINT)?;
                h.timestamp = r.varint()? as i64;
            }
            17 => {
                expect(M, field, wt, VARINT)?;
                h.start_timestamp = r.varint()? as i64;
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(h)
}

fn decode_bucket_span(mut r: Reader<'_>) -> Result<()> {
    while !r.done() {
        match r.key()? {
            (f @ (1 | 2), wt) => {
                expect("BucketSpan", f, wt, VARINT)?;
                r.varint()?;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(())
}

impl Reader<'_> {
    fn validate_packed_varints(mut self) -> Result<()> {
        while !self.done() {
            self.varint()?;
        }
        Ok(())
    }
}

/// `Metadata` of a 2.0 series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metadata {
    pub metric_type: i32,
    pub help_ref: u32,
    pub unit_ref: u32,
}

/// An exemplar of a 2.0 series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct V2Exemplar {
    /// Into [`V2Request::refs`].
    pub labels: Slice,
    pub value: f64,
    pub t: i64,
}

/// A series of a 2.0 request.
#[derive(Debug, Clone, Copy, Default)]
pub struct V2Series {
    /// Into [`V2Request::refs`]: name and value symbol indices, alternating.
    pub labels: Slice,
    pub samples: Slice,
    /// Into [`V2Request::histograms`].
    pub histograms: Slice,
    /// Into [`V2Request::exemplars`].
    pub exemplars: Slice,
    pub metadata: Metadata,
}

/// A decoded `io.prometheus.write.v2.Request`: flat vectors reused across requests.
#[derive(Default)]
pub struct V2Request {
    pub symbols: Vec<Span>,
    pub series: Vec<V2Series>,
    pub refs: Vec<u32>,
    pub samples: Vec<Sample>,
    pub histograms: Vec<HistogramInfo>,
    pub exemplars: Vec<V2Exemplar>,
}

impl V2Request {
    fn clear(&mut self) {
        self.symbols.clear();
        self.series.clear();
        self.refs.clear();
        self.samples.clear();
        self.histograms.clear();
        self.exemplars.clear();
    }

    /// Decodes `buf`, replacing the previous contents.
    pub fn decode(&mut self, buf: &[u8]) -> Result<()> {
        self.clear();
        check_len(buf)?;
        let mut budget = Budget::default();
        let mut r = Reader::new(buf);
        while !r.done() {
            match r.key()? {
                (4, wt) => {
                    expect("Request", 4, wt, LEN)?;
                    budget.take(1)?;
                    self.symbols.push(r.bytes()?);
                }
                (5, wt) => {
                    expect("Request", 5, wt, LEN)?;
                    let ts = r.sub()?;
                    budget.take(1)?;
                    self.decode_series(ts, &mut budget)?;
                }
                (_, wt) => r.skip(wt)?,
            }
        }
        Ok(())
    }

    fn decode_series(&mut self, mut r: Reader<'_>, budget: &mut Budget) -> Result<()> {
        const M: &str = "TimeSeries";
        let refs_start = self.refs.len() as u32;
        let samples_start = self.samples.len() as u32;
        let histograms_start = self.histograms.len() as u32;
        // Exemplars' label refs go into `refs` after the series' own run of refs.
        let exemplars_start = self.exemplars.len() as u32;
        let mut metadata = Metadata::default();
        while !r.done() {
            let (field, wt) = r.key()?;
            match field {
                1 => match wt {
                    LEN => {
                        let mut p = r.sub()?;
                        while !p.done() {
                            budget.take(1)?;
                            self.refs.push(p.varint()? as u32);
                        }
                    }
                    VARINT => {
                        budget.take(1)?;
                        self.refs.push(r.varint()? as u32);
                    }
                    _ => expect(M, field, wt, LEN)?,
                },
                2 => {
                    expect(M, field, wt, LEN)?;
                    let s = r.sub()?;
                    budget.take(1)?;
                    self.samples.push(decode_v2_sample(s)?);
                }
                3 => {
                    expect(M, field, wt, LEN)?;
                    let h = r.sub()?;
                    budget.take(1)?;
                    self.histograms.push(decode_histogram(h)?);
                }
                4 => {
                    expect(M, field, wt, LEN)?;
                    let e = r.sub()?;
                    budget.take(1)?;
                    // The exemplar's body span, decoded after the series' fields so
                    // that its label refs do not interleave with the series' refs.
                    e.clone().validate()?;
                    self.exemplars.push(V2Exemplar {
                        labels: Slice {
                            start: e.pos as u32,
                            end: e.end as u32,
                        },
                        value: 0.0,
                        t: 0,
                    });
                }
                5 => {
                    expect(M, field, wt, LEN)?;
                    decode_metadata(r.sub()?, &mut metadata)?;
                }
                _ => r.skip(wt)?,
            }
        }
        let refs_end = self.refs.len() as u32;
        // Now decode the exemplars (their `labels` held their body's span until here).
        for i in exemplars_start as usize..self.exemplars.len() {
            let body = self.exemplars[i].labels;
            let reader = Reader {
                buf: r.buf,
                pos: body.start as usize,
                end: body.end as usize,
            };
            self.exemplars[i] = self.decode_exemplar(reader, budget)?;
        }
        self.series.push(V2Series {
            labels: Slice {
                start: refs_start,
                end: refs_end,
            },
            samples: Slice {
                start: samples_start,
                end: self.samples.len() as u32,
            },
            histograms: Slice {
                start: histograms_start,
                end: self.histograms.len() as u32,
            },
            exemplars: Slice {
                start: exemplars_start,
                end: self.exemplars.len() as u32,
            },
            metadata,
        });
        Ok(())
    }

    fn decode_exemplar(&mut self, mut r: Reader<'_>, budget: &mut Budget) -> Result<V2Exemplar> {
        const M: &str = "Exemplar";
        let start = self.refs.len() as u32;
        let mut e = V2Exemplar::default();
        while !r.done() {
            let (field, wt) = r.key()?;
            match field {
                1 => match wt {
                    LEN => {
                        let mut p = r.sub()?;
                        while !p.done() {
                            budget.take(1)?;
                            self.refs.push(p.varint()? as u32);
                        }
                    }
                    VARINT => {
                        budget.take(1)?;
                        self.refs.push(r.varint()? as u32);
                    }
                    _ => expect(M, field, wt, LEN)?,
                },
                2 => {
                    expect(M, field, wt, FIXED64)?;
                    e.value = f64::from_bits(r.fixed64()?);
                }
                3 => {
                    expect(M, field, wt, VARINT)?;
                    e.t = r.varint()? as i64;
                }
                _ => r.skip(wt)?,
            }
        }
        e.labels = Slice {
            start,
            end: self.refs.len() as u32,
        };
        Ok(e)
    }

    /// Drops capacity grown by an unusually large request.
    pub fn shrink(&mut self, max: usize) {
        shrink_vec(&mut self.symbols, max);
        shrink_vec(&mut self.series, max);
        shrink_vec(&mut self.refs, max);
        shrink_vec(&mut self.samples, max);
        shrink_vec(&mut self.histograms, max);
        shrink_vec(&mut self.exemplars, max);
    }
}

#[inline]
fn decode_v2_sample(mut r: Reader<'_>) -> Result<Sample> {
    let mut s = Sample::default();
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Sample", 1, wt, FIXED64)?;
                s.v = f64::from_bits(r.fixed64()?);
            }
            (2, wt) => {
                expect("Sample", 2, wt, VARINT)?;
                s.t = r.varint()? as i64;
            }
            (3, wt) => {
                expect("Sample", 3, wt, VARINT)?;
                s.start_t = r.varint()? as i64;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(s)
}

fn decode_metadata(mut r: Reader<'_>, m: &mut Metadata) -> Result<()> {
    // A repeated embedded message merges into the earlier one: field by field, last wins.
    while !r.done() {
        match r.key()? {
            (1, wt) => {
                expect("Metadata", 1, wt, VARINT)?;
                m.metric_type = r.varint()? as i32;
            }
            (3, wt) => {
                expect("Metadata", 3, wt, VARINT)?;
                m.help_ref = r.varint()? as u32;
            }
            (4, wt) => {
                expect("Metadata", 4, wt, VARINT)?;
                m.unit_ref = r.varint()? as u32;
            }
            (_, wt) => r.skip(wt)?,
        }
    }
    Ok(())
}
