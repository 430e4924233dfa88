//! The record types stored in the WAL and their encodings, numbered and laid out as in
//! Prometheus's `tsdb/record` package.
//!
//! Every record starts with its type byte. Integers are big-endian fixed width (`be64`),
//! unsigned LEB128 varints (`uvarint`) or zig-zag signed varints (`varint`), as Go's
//! `encoding/binary`; strings are a `uvarint` length followed by the bytes; a label set is
//! a `uvarint` pair count followed by name, value, name, value, ...
//!
//! ```text
//! 1 series      repeated: ref be64, labels
//! 2 samples     [ref₀ be64, t₀ be64], repeated: ref-ref₀ varint, t-t₀ varint, value be64 (f64 bits)
//! 3 tombstones  repeated: ref be64, mint varint, maxt varint
//! 4 exemplars   [ref₀ be64, t₀ be64], repeated: ref-ref₀ varint, t-t₀ varint, value be64, labels
//! 5 mmap marks  repeated: ref be64, chunk ref be64
//! 6 metadata    repeated: ref uvarint, type byte, field count uvarint, (name, value) strings
//! 11 samples v2 ref₀ varint, t₀ varint, st₀ varint, value be64, then repeated:
//!               ref-prev varint, t-t₀ varint, st marker byte (0 none, 1 as previous,
//!               2 explicit: st-st₀ varint), value be64
//! ```
//!
//! The format document draws the sample deltas as `uvarint`, but Prometheus writes and
//! reads them as *signed* varints (a batch need not be sorted by ref or time); Ember does the
//! same. A samples or exemplars record with no entries is the type byte alone.
//!
//! Native histogram records (types 7-10, 12, 13) are recognised but not decoded:
//! [`RecordType::is_supported`] is false for them, so replay can count and skip them.
//! Samples v2 (type 11, written by Prometheus 3.x with start-time storage enabled) is
//! decoded into plain samples, dropping the start time, as Prometheus's own decoder does
//! for consumers that do not use it; Ember writes only type 2.
//!
//! Decoders append to a caller's vector (reused between records), validate label sets
//! (sorted by the decoder if needed, duplicate or empty names rejected, empty values
//! dropped, as [`Labels::try_from_pairs`]), and return an error, never panic, on malformed
//! input; on error the vector is left as it was.

use std::fmt;

use crate::labels::{Labels, LabelsBuilder, LabelsError, LabelsRef};
use crate::SeriesRef;

/// Record types, numbered as in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordType {
    Series = 1,
    Samples = 2,
    Tombstones = 3,
    Exemplars = 4,
    MmapMarkers = 5,
    Metadata = 6,
    HistogramSamples = 7,
    FloatHistogramSamples = 8,
    CustomBucketsHistogramSamples = 9,
    CustomBucketsFloatHistogramSamples = 10,
    SamplesV2 = 11,
    HistogramSamplesV2 = 12,
    FloatHistogramSamplesV2 = 13,
}

impl RecordType {
    /// The type for a type byte, if known.
    pub fn from_u8(b: u8) -> Option<RecordType> {
        use RecordType::*;
        Some(match b {
            1 => Series,
            2 => Samples,
            3 => Tombstones,
            4 => Exemplars,
            5 => MmapMarkers,
            6 => Metadata,
            7 => HistogramSamples,
            8 => FloatHistogramSamples,
            9 => CustomBucketsHistogramSamples,
            10 => CustomBucketsFloatHistogramSamples,
            11 => SamplesV2,
            12 => HistogramSamplesV2,
            13 => FloatHistogramSamplesV2,
            _ => return None,
        })
    }

    /// The type of a record.
    pub fn of(rec: &[u8]) -> Result<RecordType, RecordError> {
        let b = *rec.first().ok_or(RecordError::Empty)?;
        RecordType::from_u8(b).ok_or(RecordError::UnknownType(b))
    }

    /// Whether Ember decodes this type (native histograms it does not, yet).
    pub fn is_supported(self) -> bool {
        !matches!(
            self,
            RecordType::HistogramSamples
                | RecordType::FloatHistogramSamples
                | RecordType::CustomBucketsHistogramSamples
                | RecordType::CustomBucketsFloatHistogramSamples
                | RecordType::HistogramSamplesV2
                | RecordType::FloatHistogramSamplesV2
        )
    }

    /// Prometheus's name for the type.
    pub fn name(self) -> &'static str {
        use RecordType::*;
        match self {
            Series => "series",
            Samples => "samples",
            Tombstones => "tombstones",
            Exemplars => "exemplars",
            MmapMarkers => "mmapmarkers",
            Metadata => "metadata",
            HistogramSamples => "histogram_samples",
            FloatHistogramSamples => "float_histogram_samples",
            CustomBucketsHistogramSamples => "custom_buckets_histogram_samples",
            CustomBucketsFloatHistogramSamples => "custom_buckets_float_histogram_samples",
            SamplesV2 => "samples_v2",
            HistogramSamplesV2 => "histogram_samples_v2",
            FloatHistogramSamplesV2 => "float_histogram_samples_v2",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("empty record")]
    Empty,
    #[error("unknown record type {0}")]
    UnknownType(u8),
    #[error("{0} records are not supported")]
    Unsupported(RecordType),
    #[error("expected a {expected} record, found type byte {found}")]
    WrongType { expected: RecordType, found: u8 },
    #[error("malformed {record} record at byte {offset}: {what}")]
    Malformed {
        record: RecordType,
        offset: usize,
        what: &'static str,
    },
    #[error("{record} record at byte {offset}: invalid label set: {source}")]
    Labels {
        record: RecordType,
        offset: usize,
        #[source]
        source: LabelsError,
    },
}

/// A series and its labels (record type 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefSeries {
    pub series: SeriesRef,
    pub labels: Labels,
}

/// A float sample of a series (record types 2 and 11).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefSample {
    pub series: SeriesRef,
    pub t: i64,
    pub v: f64,
}

/// A deletion of a series' samples in `[mint, maxt]` (record type 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    pub series: SeriesRef,
    pub mint: i64,
    pub maxt: i64,
}

/// An exemplar of a series (record type 4).
#[derive(Debug, Clone, PartialEq)]
pub struct RefExemplar {
    pub series: SeriesRef,
    pub t: i64,
    pub v: f64,
    pub labels: Labels,
}

/// Marks that a series' samples up to now are in the memory-mapped head chunk `chunk`
/// (record type 5, used by the out-of-order write-behind log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefMmapMarker {
    pub series: SeriesRef,
    pub chunk: u64,
}

/// A metric type, numbered as in Prometheus's `record.MetricType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum MetricType {
    #[default]
    Unknown = 0,
    Counter = 1,
    Gauge = 2,
    Histogram = 3,
    GaugeHistogram = 4,
    Summary = 5,
    Info = 6,
    Stateset = 7,
}

impl MetricType {
    /// The type for a stored byte; unknown numbers are [`MetricType::Unknown`], as in
    /// Prometheus's `ToMetricType`.
    pub fn from_u8(b: u8) -> MetricType {
        use MetricType::*;
        match b {
            1 => Counter,
            2 => Gauge,
            3 => Histogram,
            4 => GaugeHistogram,
            5 => Summary,
            6 => Info,
            7 => Stateset,
            _ => Unknown,
        }
    }
}

/// Metadata of a series (record type 6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefMetadata {
    pub series: SeriesRef,
    pub metric_type: MetricType,
    pub unit: String,
    pub help: String,
}

const UNIT_FIELD: &str = "UNIT";
const HELP_FIELD: &str = "HELP";

// ---------------------------------------------------------------------------------------
// Encoding

#[inline]
fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

#[inline]
fn put_varint(out: &mut Vec<u8>, x: i64) {
    put_uvarint(out, ((x << 1) ^ (x >> 63)) as u64);
}

#[inline]
fn put_be64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The bytes of a label set in the WAL: pair count, then the pairs. Ember's packed label
/// format is exactly the pairs part, so this is a copy.
fn put_labels(out: &mut Vec<u8>, labels: LabelsRef<'_>) {
    put_uvarint(out, labels.len() as u64);
    out.extend_from_slice(labels.as_bytes());
}

/// Appends a series record.
pub fn encode_series(series: &[RefSeries], out: &mut Vec<u8>) {
    encode_series_refs(series.iter().map(|s| (s.series, s.labels.as_ref())), out);
}

/// Appends a series record from borrowed label sets (no [`Labels`] needed).
pub fn encode_series_refs<'a>(
    series: impl IntoIterator<Item = (SeriesRef, LabelsRef<'a>)>,
    out: &mut Vec<u8>,
) {
    out.push(RecordType::Series as u8);
    for (r, labels) in series {
        put_be64(out, r.0);
        put_labels(out, labels);
    }
}

/// Appends a samples record (type 2).
pub fn encode_samples(samples: &[RefSample], out: &mut Vec<u8>) {
    out.push(RecordType::Samples as u8);
    let Some(first) = samples.first() else {
        return;
    };
    out.reserve(16 + samples.len() * 12);
    put_be64(out, first.series.0);
    put_be64(out, first.t as u64);
    for s in samples {
        put_varint(out, s.series.0.wrapping_sub(first.series.0) as i64);
        put_varint(out, s.t.wrapping_sub(first.t));
        put_be64(out, s.v.to_bits());
    }
}

/// Appends a tombstones record.
pub fn encode_tombstones(tombstones: &[Tombstone], out: &mut Vec<u8>) {
    out.push(RecordType::Tombstones as u8);
    for s in tombstones {
        put_be64(out, s.series.0);
        put_varint(out, s.mint);
        put_varint(out, s.maxt);
    }
}

/// Appends an exemplars record.
pub fn encode_exemplars(exemplars: &[RefExemplar], out: &mut Vec<u8>) {
    out.push(RecordType::Exemplars as u8);
    let Some(first) = exemplars.first() else {
        return;
    };
    put_be64(out, first.series.0);
    put_be64(out, first.t as u64);
    for e in exemplars {
        put_varint(out, e.series.0.wrapping_sub(first.series.0) as i64);
        put_varint(out, e.t.wrapping_sub(first.t));
        put_be64(out, e.v.to_bits());
        put_labels(out, e.labels.as_ref());
    }
}

/// Appends an mmap markers record.
pub fn encode_mmap_markers(markers: &[RefMmapMarker], out: &mut Vec<u8>) {
    out.push(RecordType::MmapMarkers as u8);
    for m in markers {
        put_be64(out, m.series.0);
        put_be64(out, m.chunk);
    }
}

/// Appends a metadata record; every entry carries the `UNIT` and `HELP` fields, as
/// Prometheus writes them.
pub fn encode_metadata(metadata: &[RefMetadata], out: &mut Vec<u8>) {
    out.push(RecordType::Metadata as u8);
    for m in metadata {
        put_uvarint(out, m.series.0);
        out.push(m.metric_type as u8);
        put_uvarint(out, 2);
        put_str(out, UNIT_FIELD);
        put_str(out, &m.unit);
        put_str(out, HELP_FIELD);
        put_str(out, &m.help);
    }
}

// ---------------------------------------------------------------------------------------
// Decoding

/// A cursor over one record's bytes.
struct Dec<'a> {
    rec_len: usize,
    b: &'a [u8],
    typ: RecordType,
}

impl<'a> Dec<'a> {
    fn new(rec: &'a [u8], typ: RecordType) -> Dec<'a> {
        Dec {
            rec_len: rec.len(),
            b: rec.get(1..).unwrap_or(&[]),
            typ,
        }
    }

    #[inline]
    fn offset(&self) -> usize {
        self.rec_len - self.b.len()
    }

    #[cold]
    fn err(&self, what: &'static str) -> RecordError {
        RecordError::Malformed {
            record: self.typ,
            offset: self.offset(),
            what,
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, RecordError> {
        match self.b.split_first() {
            Some((&x, rest)) => {
                self.b = rest;
                Ok(x)
            }
            None => Err(self.err("truncated byte")),
        }
    }

    #[inline]
    fn be64(&mut self) -> Result<u64, RecordError> {
        match self.b.split_first_chunk::<8>() {
            Some((x, rest)) => {
                self.b = rest;
                Ok(u64::from_be_bytes(*x))
            }
            None => Err(self.err("truncated 64-bit integer")),
        }
    }

    /// An unsigned varint, as Go's `binary.Uvarint` (at most 10 bytes, no overflow).
    #[inline]
    fn uvarint(&mut self) -> Result<u64, RecordError> {
        if let Some((&x, rest)) = self.b.split_first() {
            if x < 0x80 {
                self.b = rest;
                return Ok(u64::from(x));
            }
        }
        self.uvarint_slow()
    }

    fn uvarint_slow(&mut self) -> Result<u64, RecordError> {
        let mut x = 0u64;
        for (i, &byte) in self.b.iter().enumerate().take(10) {
            if byte < 0x80 {
                if i == 9 && byte > 1 {
                    return Err(self.err("varint overflows 64 bits"));
                }
                self.b = &self.b[i + 1..];
                return Ok(x | u64::from(byte) << (7 * i));
            }
            x |= u64::from(byte & 0x7f) << (7 * i);
        }
        if self.b.len() >= 10 {
            Err(self.err("varint overflows 64 bits"))
        } else {
            Err(self.err("truncated varint"))
        }
    }

    #[inline]
    fn varint(&mut self) -> Result<i64, RecordError> {
        let u = self.uvarint()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    fn bytes(&mut self) -> Result<&'a [u8], RecordError> {
        let n = self.uvarint()?;
        if n > self.b.len() as u64 {
            return Err(self.err("string runs past the end of the record"));
        }
        let (s, rest) = self.b.split_at(n as usize);
        self.b = rest;
        Ok(s)
    }

    fn str(&mut self) -> Result<&'a str, RecordError> {
        let at = self.offset();
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| RecordError::Malformed {
            record: self.typ,
            offset: at,
            what: "string is not valid UTF-8",
        })
    }
}

fn uvarint_len(x: u64) -> usize {
    (64 - (x | 1).leading_zeros() as usize).div_ceil(7)
}

fn expect_type(rec: &[u8], want: RecordType) -> Result<(), RecordError> {
    match rec.first() {
        None => Err(RecordError::Empty),
        Some(&b) if b == want as u8 => Ok(()),
        Some(&b) => Err(RecordError::WrongType {
            expected: want,
            found: b,
        }),
    }
}

/// Runs `f` to append to `out`; on error, leaves `out` as it was.
fn all_or_nothing<T>(
    out: &mut Vec<T>,
    f: impl FnOnce(&mut Vec<T>) -> Result<(), RecordError>,
) -> Result<(), RecordError> {
    let len = out.len();
    let r = f(out);
    if r.is_err() {
        out.truncate(len);
    }
    r
}

/// Decodes records, reusing a label builder between them. Each method appends the entries
/// of one record to `out`.
#[derive(Debug, Default)]
pub struct Decoder {
    builder: LabelsBuilder,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Decodes a series record.
    pub fn series(&mut self, rec: &[u8], out: &mut Vec<RefSeries>) -> Result<(), RecordError> {
        expect_type(rec, RecordType::Series)?;
        all_or_nothing(out, |out| {
            let mut d = Dec::new(rec, RecordType::Series);
            while !d.is_empty() {
                let series = SeriesRef(d.be64()?);
                let labels = self.labels(&mut d)?;
                out.push(RefSeries { series, labels });
            }
            Ok(())
        })
    }

    /// Decodes a samples record (type 2, or type 11 without its start times).
    pub fn samples(&mut self, rec: &[u8], out: &mut Vec<RefSample>) -> Result<(), RecordError> {
        match rec.first() {
            Some(&b) if b == RecordType::SamplesV2 as u8 => {
                all_or_nothing(out, |out| samples_v2(rec, out))
            }
            _ => {
                expect_type(rec, RecordType::Samples)?;
                all_or_nothing(out, |out| samples_v1(rec, out))
            }
        }
    }

    /// Decodes a tombstones record.
    pub fn tombstones(&mut self, rec: &[u8], out: &mut Vec<Tombstone>) -> Result<(), RecordError> {
        expect_type(rec, RecordType::Tombstones)?;
        all_or_nothing(out, |out| {
            let mut d = Dec::new(rec, RecordType::Tombstones);
            while !d.is_empty() {
                let series = SeriesRef(d.be64()?);
                let mint = d.varint()?;
                let maxt = d.varint()?;
                out.push(Tombstone { series, mint, maxt });
            }
            Ok(())
        })
    }

    /// Decodes an exemplars record.
    pub fn exemplars(&mut self, rec: &[u8], out: &mut Vec<RefExemplar>) -> Result<(), RecordError> {
        expect_type(rec, RecordType::Exemplars)?;
        all_or_nothing(out, |out| {
            let mut d = Dec::new(rec, RecordType::Exemplars);
            if d.is_empty() {
                return Ok(());
            }
            let base_ref = d.be64()?;
            let base_t = d.be64()? as i64;
            while !d.is_empty() {
                let dref = d.varint()?;
                let dt = d.varint()?;
                let v = f64::from_bits(d.be64()?);
                let labels = self.labels(&mut d)?;
                out.push(RefExemplar {
                    series: SeriesRef(base_ref.wrapping_add(dref as u64)),
                    t: base_t.wrapping_add(dt),
                    v,
                    labels,
                });
            }
            Ok(())
        })
    }

    /// Decodes an mmap markers record.
    pub fn mmap_markers(
        &mut self,
        rec: &[u8],
        out: &mut Vec<RefMmapMarker>,
    ) -> Result<(), RecordError> {
        expect_type(rec, RecordType::MmapMarkers)?;
        all_or_nothing(out, |out| {
            let mut d = Dec::new(rec, RecordType::MmapMarkers);
            while !d.is_empty() {
                let series = SeriesRef(d.be64()?);
                let chunk = d.be64()?;
                out.push(RefMmapMarker { series, chunk });
            }
            Ok(())
        })
    }

    /// Decodes a metadata record. Fields other than `UNIT` and `HELP` are skipped.
    pub fn metadata(&mut self, rec: &[u8], out: &mut Vec<RefMetadata>) -> Result<(), RecordError> {
        expect_type(rec, RecordType::Metadata)?;
        all_or_nothing(out, |out| {
            let mut d = Dec::new(rec, RecordType::Metadata);
            while !d.is_empty() {
                let series = SeriesRef(d.uvarint()?);
                let metric_type = MetricType::from_u8(d.byte()?);
                let fields = d.uvarint()?;
                if fields > d.b.len() as u64 / 2 {
                    return Err(d.err("field count exceeds the record size"));
                }
                let mut m = RefMetadata {
                    series,
                    metric_type,
                    ..RefMetadata::default()
                };
                for _ in 0..fields {
                    let name = d.str()?;
                    let value = d.str()?;
                    match name {
                        UNIT_FIELD => m.unit = value.to_string(),
                        HELP_FIELD => m.help = value.to_string(),
                        _ => {}
                    }
                }
                out.push(m);
            }
            Ok(())
        })
    }

    /// Decodes a label set. Label sets written by Prometheus or Ember are already sorted
    /// and packed the way [`Labels`] stores them, so the common case is one validating pass
    /// and one copy; anything else goes through the builder, which sorts and validates.
    fn labels(&mut self, d: &mut Dec<'_>) -> Result<Labels, RecordError> {
        let at = d.offset();
        let n = d.uvarint()?;
        if n > d.b.len() as u64 / 2 {
            return Err(d.err("label count exceeds the record size"));
        }
        let pairs_start = d.b;
        let mut canonical = true;
        let mut canonical_len = 0usize;
        let mut prev = "";
        for i in 0..n {
            let name = d.str()?;
            let value = d.str()?;
            canonical &= !name.is_empty() && !value.is_empty() && (i == 0 || prev < name);
            canonical_len += uvarint_len(name.len() as u64)
                + name.len()
                + uvarint_len(value.len() as u64)
                + value.len();
            prev = name;
        }
        let used = pairs_start.len() - d.b.len();
        if canonical && canonical_len == used {
            return Ok(LabelsRef::from_packed(&pairs_start[..used]).to_owned());
        }
        let mut again = Dec {
            rec_len: d.rec_len,
            b: pairs_start,
            typ: d.typ,
        };
        self.builder.reset();
        for _ in 0..n {
            let name = again.str()?;
            let value = again.str()?;
            self.builder.push(name, value);
        }
        self.builder
            .try_labels()
            .map_err(|source| RecordError::Labels {
                record: d.typ,
                offset: at,
                source,
            })
    }
}

/// The samples of a type 2 record.
fn samples_v1(rec: &[u8], out: &mut Vec<RefSample>) -> Result<(), RecordError> {
    let mut d = Dec::new(rec, RecordType::Samples);
    if d.is_empty() {
        return Ok(());
    }
    let base_ref = d.be64()?;
    let base_t = d.be64()? as i64;
    // Each sample takes at least 10 bytes.
    out.reserve(d.b.len() / 10);
    while !d.is_empty() {
        let dref = d.varint()?;
        let dt = d.varint()?;
        let v = d.be64()?;
        out.push(RefSample {
            series: SeriesRef(base_ref.wrapping_add(dref as u64)),
            t: base_t.wrapping_add(dt),
            v: f64::from_bits(v),
        });
    }
    Ok(())
}

/// The samples of a type 11 record; start times are checked for well-formedness and
/// dropped.
fn samples_v2(rec: &[u8], out: &mut Vec<RefSample>) -> Result<(), RecordError> {
    let mut d = Dec::new(rec, RecordType::SamplesV2);
    if d.is_empty() {
        return Ok(());
    }
    out.reserve(d.b.len() / 11);
    let first_ref = d.varint()?;
    let first_t = d.varint()?;
    let _first_st = d.varint()?;
    let v = d.be64()?;
    out.push(RefSample {
        series: SeriesRef(first_ref as u64),
        t: first_t,
        v: f64::from_bits(v),
    });
    let mut prev_ref = first_ref;
    while !d.is_empty() {
        prev_ref = prev_ref.wrapping_add(d.varint()?);
        let t = first_t.wrapping_add(d.varint()?);
        match d.byte()? {
            0 | 1 => {}
            2 => {
                d.varint()?;
            }
            _ => return Err(d.err("unknown start-time marker")),
        }
        let v = d.be64()?;
        out.push(RefSample {
            series: SeriesRef(prev_ref as u64),
            t,
            v: f64::from_bits(v),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
