//! Appending a decoded request to storage, with Prometheus 3's validation and error
//! semantics.
//!
//! A request is appended in one [`Appender`] batch and committed once: the answer is 2xx
//! only after the commit (its WAL write) returned. Per-sample and per-series problems
//! (invalid labels, out-of-order, duplicate or out-of-bounds samples, native histograms)
//! do not stop the batch: the rest is still appended and committed, and the request is
//! answered 400 with the errors (a partial write, as the 2.0 specification describes and
//! the 1.0 specification allows). Storage failures (closed, WAL write) abort the batch and
//! answer 5xx so that the sender retries.
//!
//! Series are resolved without building label sets on the heap: a series' labels are
//! checked (UTF-8, non-empty names, `__name__` present, no duplicates) and packed into
//! Ember's label layout in a reused buffer, in which form the head looks them up; only a
//! series the head has never seen is copied into storage.

use std::fmt::Write as _;

use ember_storage::head::{AppendError, Appender};
use ember_storage::labels::{LabelsBuilder, LabelsRef, METRIC_NAME};
use ember_storage::SeriesRef;

use super::decode::{LabelSpan, Sample, Span, V1Request, V2Request};
use super::metrics::ReceiverMetrics;

/// Samples more than this far ahead of the receiver's clock are out of bounds, as in
/// Prometheus.
pub const MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// At most this many error messages are reported in a response; the rest are counted.
const MAX_REPORTED_ERRORS: usize = 10;

/// What appending a request did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Float samples written (`X-Prometheus-Remote-Write-Samples-Written`).
    pub samples: u64,
    /// Native histogram samples written (always 0: Ember stores float samples).
    pub histograms: u64,
    /// Exemplars accepted (Ember, like Prometheus without exemplar storage, accepts and
    /// drops them).
    pub exemplars: u64,
    /// The problems that make the answer 400, if any.
    pub errors: Errors,
}

/// The errors of a partial write: the first few messages, and how many there were.
#[derive(Debug, Default)]
pub struct Errors {
    messages: Vec<String>,
    total: usize,
}

impl Errors {
    fn push(&mut self, message: impl FnOnce() -> String) {
        self.total += 1;
        if self.messages.len() < MAX_REPORTED_ERRORS {
            self.messages.push(message());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The response body: one error a line (as Go's `errors.Join`), then how many more.
    pub fn message(&self) -> String {
        let mut out = self.messages.join("\n");
        if self.total > self.messages.len() {
            let _ = write!(
                out,
                "\n... and {} more errors",
                self.total - self.messages.len()
            );
        }
        out
    }
}

/// Why a request could not be appended at all; the sender should retry.
#[derive(Debug, thiserror::Error)]
pub enum StorageFailure {
    /// The storage is closing or closed (shutdown).
    #[error("storage is closed")]
    Closed,
    #[error("{0}")]
    Failed(AppendError),
}

impl From<AppendError> for StorageFailure {
    fn from(e: AppendError) -> StorageFailure {
        match e {
            AppendError::Closed => StorageFailure::Closed,
            e => StorageFailure::Failed(e),
        }
    }
}

/// Buffers for resolving series, reused across requests by a thread.
#[derive(Default)]
pub struct LabelScratch {
    /// A series' labels in Ember's packed layout.
    packed: Vec<u8>,
    /// For series whose labels are not sorted by name on the wire.
    builder: LabelsBuilder,
    /// A series' label pairs (2.0: resolved through the symbols table).
    pairs: Vec<(Span, Span)>,
    /// Whether each symbol of a 2.0 request is valid UTF-8.
    symbol_ok: Vec<bool>,
}

/// Why a series' labels are rejected.
enum InvalidLabels {
    /// No `__name__`, an empty name, or invalid UTF-8.
    Invalid,
    /// A name given twice.
    Duplicate(String),
}

/// Whether every byte of the stretch of `buf` holding `pairs` is ASCII: then all the
/// names and values are valid UTF-8, checked in one vectorised pass instead of one check
/// per string. (Protobuf's framing bytes inside the stretch are ASCII too when lengths
/// are below 128; anything else just falls back to the per-string checks.)
fn all_ascii(buf: &[u8], pairs: &[(Span, Span)]) -> bool {
    let mut lo = u32::MAX;
    let mut hi = 0;
    for (n, v) in pairs {
        lo = lo.min(n.start).min(v.start);
        hi = hi.max(n.end).max(v.end);
    }
    lo >= hi
        || buf
            .get(lo as usize..hi as usize)
            .is_some_and(<[u8]>::is_ascii)
}

/// Checks a series' labels and packs them (sorted by name, empty values dropped) into
/// `scratch.packed`. `pairs` are (name, value) spans of `buf`; `utf8_checked` says they
/// are already known to be valid UTF-8.
fn pack_labels<'s>(
    buf: &[u8],
    pairs: &[(Span, Span)],
    utf8_checked: bool,
    scratch: &'s mut LabelScratch,
) -> Result<LabelsRef<'s>, InvalidLabels> {
    let packed = &mut scratch.packed;
    packed.clear();
    let mut sorted = true;
    let mut has_name = false;
    let mut prev: &[u8] = &[];
    for (i, (n, v)) in pairs.iter().enumerate() {
        let name = n.get(buf);
        let value = v.get(buf);
        if name.is_empty() {
            return Err(InvalidLabels::Invalid);
        }
        if !utf8_checked
            && (std::str::from_utf8(name).is_err() || std::str::from_utf8(value).is_err())
        {
            return Err(InvalidLabels::Invalid);
        }
        if name == METRIC_NAME.as_bytes() {
            // An empty metric name is not a valid one.
            if value.is_empty() {
                return Err(InvalidLabels::Invalid);
            }
            has_name = true;
        }
        if i > 0 && name <= prev {
            sorted = false;
        }
        prev = name;
        if sorted && !value.is_empty() {
            put_str(packed, name);
            put_str(packed, value);
        }
    }
    if !has_name {
        return Err(InvalidLabels::Invalid);
    }
    if sorted {
        return Ok(LabelsRef::from_packed(&scratch.packed));
    }
    // Rare: not sorted by name on the wire (or a name repeats). Sort through the builder;
    // every name and value was checked to be UTF-8 above.
    let b = &mut scratch.builder;
    b.reset();
    for (n, v) in pairs {
        b.push(utf8(n.get(buf)), utf8(v.get(buf)));
    }
    match b.pack() {
        Ok(l) => Ok(l),
        Err(ember_storage::labels::LabelsError::DuplicateName(name)) => {
            Err(InvalidLabels::Duplicate(name))
        }
        Err(_) => Err(InvalidLabels::Invalid),
    }
}

fn utf8(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

#[inline]
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    let mut x = s.len() as u64;
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
    out.extend_from_slice(s);
}

/// `{a="1", b="2"}` for error messages, from raw pairs (invalid UTF-8 shown replaced).
fn describe(buf: &[u8], pairs: &[(Span, Span)]) -> String {
    let mut out = String::from("{");
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let name = String::from_utf8_lossy(n.get(buf));
        let value = String::from_utf8_lossy(v.get(buf));
        if ember_storage::labels::is_legacy_label_name(&name) {
            out.push_str(&name);
        } else {
            let _ = ember_storage::labels::write_go_quoted(&mut out, &name);
        }
        out.push('=');
        let _ = ember_storage::labels::write_go_quoted(&mut out, &value);
    }
    out.push('}');
    out
}

/// Appends one series' float samples; returns how many were written.
fn append_samples(
    app: &mut Appender,
    labels: LabelsRef<'_>,
    samples: &[Sample],
    max_t: i64,
    errors: &mut Errors,
    metrics: &ReceiverMetrics,
) -> Result<u64, StorageFailure> {
    let mut series: Option<SeriesRef> = None;
    let mut written = 0;
    // The appender checks samples against what is committed; samples of this series
    // queued by this loop are checked here.
    let mut last: Option<(i64, f64)> = None;
    for s in samples {
        if let Some((t, v)) = last.filter(|&(t, _)| s.t <= t) {
            if s.t == t && s.v.to_bits() == v.to_bits() {
                written += 1; // a repeat: accepted, stored once
                continue;
            }
            let e = if s.t < t {
                AppendError::OutOfOrder
            } else {
                AppendError::Duplicate {
                    timestamp: t,
                    existing: v,
                    new: s.v,
                }
            };
            metrics.rejected(&e);
            errors.push(|| format!("{e} for series {labels}"));
            continue;
        }
        if s.t > max_t {
            metrics.rejected_out_of_bounds.inc();
            errors.push(|| {
                format!("out of bounds: timestamp is too far in the future for series {labels}")
            });
            continue;
        }
        match app.append(series, labels, s.t, s.v) {
            Ok(r) => {
                series = Some(r);
                last = Some((s.t, s.v));
                written += 1;
            }
            Err(e) if e.is_sample_error() => {
                metrics.rejected(&e);
                errors.push(|| format!("{e} for series {labels}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(written)
}

/// The error for a series' native histograms, which Ember cannot store.
fn reject_histograms(
    n: usize,
    labels: LabelsRef<'_>,
    errors: &mut Errors,
    metrics: &ReceiverMetrics,
) {
    if n == 0 {
        return;
    }
    metrics.rejected_histograms.inc_by(n as u64);
    errors.push(|| {
        format!(
            "{n} native histogram samples rejected for series {labels}: Ember stores float samples only"
        )
    });
}

/// Appends a 1.0 request decoded from `buf`, and commits it.
pub fn append_v1(
    app: &mut Appender,
    buf: &[u8],
    req: &V1Request,
    now_ms: i64,
    scratch: &mut LabelScratch,
    metrics: &ReceiverMetrics,
) -> Result<Outcome, StorageFailure> {
    let max_t = now_ms.saturating_add(MAX_AHEAD_MS);
    let mut out = Outcome::default();
    let mut pairs = std::mem::take(&mut scratch.pairs);
    for series in &req.series {
        pairs.clear();
        pairs.extend(
            req.labels[series.labels.range()]
                .iter()
                .map(|&LabelSpan { name, value }| (name, value)),
        );
        let n_samples = series.samples.len() + series.histograms.len();
        let ascii = all_ascii(buf, &pairs);
        let labels = match pack_labels(buf, &pairs, ascii, scratch) {
            Ok(l) => l,
            Err(e) => {
                invalid_labels(buf, &pairs, e, n_samples, &mut out.errors, metrics);
                continue;
            }
        };
        out.samples += append_samples(
            app,
            labels,
            &req.samples[series.samples.range()],
            max_t,
            &mut out.errors,
            metrics,
        )?;
        reject_histograms(series.histograms.len(), labels, &mut out.errors, metrics);
        out.exemplars += u64::from(series.exemplars);
    }
    scratch.pairs = pairs;
    commit(app, &mut out, metrics)?;
    Ok(out)
}

/// Appends a 2.0 request decoded from `buf`, and commits it.
pub fn append_v2(
    app: &mut Appender,
    buf: &[u8],
    req: &V2Request,
    now_ms: i64,
    scratch: &mut LabelScratch,
    metrics: &ReceiverMetrics,
) -> Result<Outcome, StorageFailure> {
    let max_t = now_ms.saturating_add(MAX_AHEAD_MS);
    let mut out = Outcome::default();
    let symbols = &req.symbols;
    // Each symbol is checked for UTF-8 once, not once per label referring to it.
    let mut symbol_ok = std::mem::take(&mut scratch.symbol_ok);
    symbol_ok.clear();
    symbol_ok.extend(
        symbols
            .iter()
            .map(|s| std::str::from_utf8(s.get(buf)).is_ok()),
    );
    let mut pairs = std::mem::take(&mut scratch.pairs);
    for series in &req.series {
        let refs = &req.refs[series.labels.range()];
        let n_samples = series.samples.len() + series.histograms.len();
        if let Err(e) = resolve_refs(refs, symbols, &mut pairs) {
            metrics.invalid_labels.inc_by(n_samples as u64);
            out.errors
                .push(|| format!("parsing labels for series {refs:?}: {e}"));
            continue;
        }
        let m = series.metadata;
        if m.unit_ref as usize >= symbols.len() || m.help_ref as usize >= symbols.len() {
            let (what, r) = if m.unit_ref as usize >= symbols.len() {
                ("unit_ref", m.unit_ref)
            } else {
                ("help_ref", m.help_ref)
            };
            out.errors.push(|| {
                format!(
                    "parsing metadata for series {refs:?}: metadata {what} {r} outside of symbols table (size {})",
                    symbols.len()
                )
            });
            continue;
        }
        let checked = refs
            .iter()
            .all(|&r| symbol_ok.get(r as usize).copied().unwrap_or(false));
        let labels = match pack_labels(buf, &pairs, checked, scratch) {
            Ok(l) => l,
            Err(e) => {
                invalid_labels(buf, &pairs, e, n_samples, &mut out.errors, metrics);
                continue;
            }
        };
        if series.samples.is_empty() && series.histograms.is_empty() {
            out.errors.push(|| {
                format!(
                    "TimeSeries must contain at least one sample or histogram for series {labels}"
                )
            });
            continue;
        }
        out.samples += append_samples(
            app,
            labels,
            &req.samples[series.samples.range()],
            max_t,
            &mut out.errors,
            metrics,
        )?;
        reject_histograms(series.histograms.len(), labels, &mut out.errors, metrics);
        for e in &req.exemplars[series.exemplars.range()] {
            let refs = &req.refs[e.labels.range()];
            match check_refs(refs, symbols) {
                Ok(()) if e.t <= max_t => out.exemplars += 1,
                Ok(()) => out.errors.push(|| {
                    format!("out of bounds: timestamp is too far in the future for series {labels}")
                }),
                Err(err) => out
                    .errors
                    .push(|| format!("parsing exemplar for series {labels}: {err}")),
            }
        }
    }
    scratch.pairs = pairs;
    scratch.symbol_ok = symbol_ok;
    commit(app, &mut out, metrics)?;
    Ok(out)
}

/// Checks that a 2.0 list of label refs pairs up and stays inside the symbols table.
fn check_refs(refs: &[u32], symbols: &[Span]) -> Result<(), String> {
    if !refs.len().is_multiple_of(2) {
        return Err(format!("invalid labelRefs length {}", refs.len()));
    }
    for pair in refs.chunks_exact(2) {
        let (n, v) = (pair[0], pair[1]);
        if n as usize >= symbols.len() || v as usize >= symbols.len() {
            return Err(format!(
                "labelRefs {n} (name) = {v} (value) outside of symbols table (size {})",
                symbols.len()
            ));
        }
    }
    Ok(())
}

/// Resolves a 2.0 series' label refs through the symbols table into (name, value) spans.
fn resolve_refs(
    refs: &[u32],
    symbols: &[Span],
    pairs: &mut Vec<(Span, Span)>,
) -> Result<(), String> {
    pairs.clear();
    check_refs(refs, symbols)?;
    pairs.extend(
        refs.chunks_exact(2)
            .map(|p| (symbols[p[0] as usize], symbols[p[1] as usize])),
    );
    Ok(())
}

fn invalid_labels(
    buf: &[u8],
    pairs: &[(Span, Span)],
    e: InvalidLabels,
    n_samples: usize,
    errors: &mut Errors,
    metrics: &ReceiverMetrics,
) {
    metrics.invalid_labels.inc_by(n_samples as u64);
    match e {
        InvalidLabels::Invalid => errors.push(|| {
            format!(
                "invalid metric name or labels, got {}",
                describe(buf, pairs)
            )
        }),
        InvalidLabels::Duplicate(name) => errors.push(|| {
            format!(
                "invalid labels for series, labels {}, duplicated label {name}",
                describe(buf, pairs)
            )
        }),
    }
}

/// Commits the batch. Samples a concurrent commit made out of order in the meantime are
/// not written after all, and are taken off the count.
fn commit(
    app: &mut Appender,
    out: &mut Outcome,
    metrics: &ReceiverMetrics,
) -> Result<(), StorageFailure> {
    let stats = app.commit()?;
    out.samples = out.samples.saturating_sub(stats.out_of_order);
    metrics.written_samples.inc_by(out.samples);
    metrics.written_exemplars.inc_by(out.exemplars);
    Ok(())
}

/// Which protobuf message a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Remote write 1.0, `prometheus.WriteRequest`.
    V1,
    /// Remote write 2.0, `io.prometheus.write.v2.Request`.
    V2,
}

impl Protocol {
    /// The message's fully qualified name, as in `Content-Type: ...;proto=<name>`.
    pub fn message_name(self) -> &'static str {
        match self {
            Protocol::V1 => "prometheus.WriteRequest",
            Protocol::V2 => "io.prometheus.write.v2.Request",
        }
    }
}

/// The largest decompressed request accepted (Prometheus's limit).
pub const MAX_DECODED_BYTES: usize = 32 * 1024 * 1024;

/// Buffers a thread reuses from request to request: nothing on the request path
/// allocates once they have grown.
#[derive(Default)]
pub struct Scratch {
    decompressed: Vec<u8>,
    v1: V1Request,
    v2: V2Request,
    labels: LabelScratch,
}

impl Scratch {
    /// Lets go of capacity an unusually large request grew, so a thread does not keep it.
    pub fn trim(&mut self) {
        const KEEP_BYTES: usize = 4 * 1024 * 1024;
        const KEEP_ELEMENTS: usize = 256 * 1024;
        if self.decompressed.capacity() > KEEP_BYTES {
            self.decompressed = Vec::new();
        }
        self.v1.shrink(KEEP_ELEMENTS);
        self.v2.shrink(KEEP_ELEMENTS);
    }
}

/// Why a body could not be decompressed (all 400s, not to be retried).
#[derive(Debug, thiserror::Error)]
pub enum SnappyError {
    #[error("snappy: corrupt input")]
    Corrupt,
    #[error("decoded size exceeds the {MAX_DECODED_BYTES} bytes limit")]
    TooLarge,
}

/// Decompresses a snappy block-format body into the scratch buffer. The decoded length
/// (from the block's header) is checked against [`MAX_DECODED_BYTES`] before anything is
/// allocated.
pub fn decompress(body: &[u8], scratch: &mut Scratch) -> Result<(), SnappyError> {
    let len = snap::raw::decompress_len(body).map_err(|_| SnappyError::Corrupt)?;
    if len > MAX_DECODED_BYTES {
        return Err(SnappyError::TooLarge);
    }
    scratch.decompressed.clear();
    scratch.decompressed.resize(len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(body, &mut scratch.decompressed)
        .map_err(|_| SnappyError::Corrupt)?;
    scratch.decompressed.truncate(n);
    Ok(())
}

/// Why a request was not (wholly) appended.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not a valid protobuf message: nothing was appended (400).
    #[error("{0}")]
    Decode(#[from] super::decode::DecodeError),
    /// Storage could not take it: nothing was appended; the sender should retry (5xx).
    #[error("{0}")]
    Storage(#[from] StorageFailure),
}

/// Decodes the decompressed body in `scratch` as `protocol` and appends it to `app` in
/// one committed batch. `now_ms` bounds how far ahead timestamps may be.
pub fn ingest(
    app: &mut Appender,
    protocol: Protocol,
    now_ms: i64,
    scratch: &mut Scratch,
    metrics: &ReceiverMetrics,
) -> Result<Outcome, IngestError> {
    let Scratch {
        decompressed,
        v1,
        v2,
        labels,
    } = scratch;
    let result = match protocol {
        Protocol::V1 => {
            v1.decode(decompressed)?;
            append_v1(app, decompressed, v1, now_ms, labels, metrics)
        }
        Protocol::V2 => {
            v2.decode(decompressed)?;
            append_v2(app, decompressed, v2, now_ms, labels, metrics)
        }
    };
    match result {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // Nothing of the batch may stay queued: the sender retries all of it.
            let _ = app.rollback();
            Err(e.into())
        }
    }
}
