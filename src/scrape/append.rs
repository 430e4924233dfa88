//! Appending one scrape to storage, as Prometheus's scrape loop does.
//!
//! A series line already in the [scrape cache](super::cache) is appended by its ref. A
//! new line has its labels built from the parser, the target's labels applied
//! (`honor_labels`, or `exported_` prefixes on conflicts), `metric_relabel_configs` run,
//! names and label limits checked, and is then appended and cached. Per-sample storage
//! rejections (out of order, out of bounds, duplicate) are counted and skipped;
//! anything else — a parse error, `sample_limit`, a label limit — fails the scrape: the
//! caller rolls the batch back and appends an empty scrape instead (staleness markers).

use ember_config::{NameValidation, RelabelBuffer, Relabeler};
use ember_storage::chunkenc::stale_nan;
use ember_storage::head::{AppendError, Appender};
use ember_storage::labels::LabelsError;
use ember_storage::{Labels, LabelsBuilder, LabelsRef, SeriesRef};
use ember_textparse::{Entry, Format, Parser};

use super::cache::ScrapeCache;
use super::metrics::ScrapeMetrics;
use super::target::{Metadata, Target};

/// Samples more than this far ahead of now are out of bounds (Prometheus's
/// `maxAheadTime`).
const MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// The per-job settings the appender needs.
pub struct AppendOptions {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub validation: NameValidation,
    pub metric_relabeler: Relabeler,
}

/// What an append did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Samples in the body.
    pub total: u64,
    /// Samples left after metric relabeling.
    pub added: u64,
    /// New series this scrape.
    pub series_added: u64,
    /// Why the scrape failed, if it did (the batch must then be rolled back).
    pub err: Option<String>,
}

/// Counts of per-sample rejections, logged once per scrape.
#[derive(Default)]
struct AppendErrors {
    out_of_order: u64,
    duplicates: u64,
    out_of_bounds: u64,
}

/// The working state of one target's appends: its cache and reused buffers.
pub struct AppendState {
    pub cache: ScrapeCache,
    lb: LabelsBuilder,
    relabel: RelabelBuffer,
    conflicts: Vec<(String, String)>,
}

impl AppendState {
    pub fn new(cache: ScrapeCache) -> AppendState {
        AppendState {
            cache,
            lb: LabelsBuilder::new(),
            relabel: RelabelBuffer::default(),
            conflicts: Vec::new(),
        }
    }

    /// Staleness markers for every series of the previous scrape not seen in this one,
    /// then the end of the iteration (without flushing: an empty or failed scrape).
    pub fn append_empty(
        &mut self,
        app: &mut Appender,
        t: i64,
        metrics: &ScrapeMetrics,
    ) -> Result<(), String> {
        let r = stale_markers(&self.cache, app, t);
        if self.cache.iter_done(false) {
            metrics.cache_flush_forced.inc();
        }
        r
    }

    /// Parses `body` and appends its samples at `default_t` (ms) unless they carry their
    /// own timestamps.
    #[allow(clippy::too_many_arguments)]
    pub fn append(
        &mut self,
        app: &mut Appender,
        body: &[u8],
        format: Format,
        default_t: i64,
        target: &Target,
        opts: &AppendOptions,
        metrics: &ScrapeMetrics,
    ) -> AppendOutcome {
        let mut out = AppendOutcome::default();
        if body.is_empty() {
            if let Err(e) = self.append_empty(app, default_t, metrics) {
                out.err = Some(e);
            }
            return out;
        }
        let max_t = now_ms().saturating_add(MAX_AHEAD_MS);
        let mut parser = Parser::new(format, body);
        let mut errs = AppendErrors::default();
        let mut sample_limit_hit = false;
        let mut appended: u64 = 0;
        let mut err: Option<String> = None;
        let AppendState {
            cache,
            lb,
            relabel,
            conflicts,
        } = self;
        let iter = cache.iter;
        loop {
            let entry = match parser.next() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    err = Some(e.message().to_string());
                    break;
                }
            };
            match entry {
                Entry::Series => {}
                Entry::Type => {
                    let (name, t) = parser.metric_type();
                    update_metadata(target, name, iter, |m| {
                        if m.metric_type != t.as_str() {
                            m.metric_type = t.as_str();
                        }
                    });
                    continue;
                }
                Entry::Help => {
                    let (name, help) = parser.help();
                    update_metadata(target, name, iter, |m| {
                        if m.help != help {
                            m.help.clear();
                            m.help.push_str(&help);
                        }
                    });
                    continue;
                }
                Entry::Unit => {
                    let (name, unit) = parser.unit();
                    update_metadata(target, name, iter, |m| {
                        if m.unit != unit {
                            m.unit.clear();
                            m.unit.push_str(unit);
                        }
                    });
                    continue;
                }
                Entry::Comment => continue,
            }
            out.total += 1;
            let (text, parsed_t, v) = parser.series();
            let parsed_t = parsed_t.filter(|_| opts.honor_timestamps);
            let t = parsed_t.unwrap_or(default_t);
            let track = parsed_t.is_none() || opts.track_timestamps_staleness;

            // Counting against sample_limit, as Prometheus's limit appender (stale
            // markers of known series are free).
            let over_limit = |appended: &mut u64| {
                *appended += 1;
                opts.sample_limit > 0 && *appended > opts.sample_limit
            };

            // An unchanged line: one hash of its text, one look-up, an append by ref.
            let result: Result<SeriesRef, AppendError>;
            match cache.get(text) {
                Some((entry, again)) => {
                    if again && parsed_t.is_none() {
                        result = Err(AppendError::Duplicate {
                            timestamp: t,
                            existing: v,
                            new: v,
                        });
                    } else if over_limit(&mut appended) {
                        sample_limit_hit = true;
                        out.added += 1;
                        continue;
                    } else if t > max_t {
                        result = Err(AppendError::OutOfBounds);
                    } else {
                        result = app.append(Some(entry.series_ref), entry.labels.as_ref(), t, v);
                        if let Ok(r) = result {
                            entry.series_ref = r;
                            if track {
                                entry.tracked = iter;
                            }
                        }
                    }
                }
                None => {
                    if cache.is_dropped(text) {
                        continue;
                    }
                    let labels = match series_labels(lb, relabel, conflicts, &parser, target, opts)
                    {
                        Ok(Some(l)) => l,
                        Ok(None) => {
                            cache.add_dropped(text);
                            continue;
                        }
                        Err(e) => {
                            if e.starts_with("label_") {
                                metrics.exceeded_label_limits.inc();
                            }
                            err = Some(e);
                            break;
                        }
                    };
                    if over_limit(&mut appended) {
                        sample_limit_hit = true;
                        out.added += 1;
                        continue;
                    }
                    if t > max_t {
                        result = Err(AppendError::OutOfBounds);
                    } else {
                        result = app.append(None, labels, t, v);
                        if let Ok(r) = result {
                            let owned = labels.to_owned();
                            cache.add(text, r, owned, track);
                            out.series_added += 1;
                        }
                    }
                }
            }
            match result {
                Ok(_) => {}
                Err(AppendError::OutOfOrder) => {
                    errs.out_of_order += 1;
                    metrics.sample_out_of_order.inc();
                }
                Err(AppendError::Duplicate { .. }) => {
                    errs.duplicates += 1;
                    metrics.sample_duplicate.inc();
                }
                Err(AppendError::OutOfBounds) => {
                    errs.out_of_bounds += 1;
                    metrics.sample_out_of_bounds.inc();
                }
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
            out.added += 1;
        }
        if sample_limit_hit {
            if err.is_none() {
                err = Some("sample limit exceeded".into());
            }
            metrics.exceeded_sample_limit.inc();
        }
        if errs.out_of_order > 0 {
            tracing::warn!(target_url = %target.url(), num_dropped = errs.out_of_order, "Error on ingesting out-of-order samples");
        }
        if errs.duplicates > 0 {
            tracing::warn!(target_url = %target.url(), num_dropped = errs.duplicates, "Error on ingesting samples with different value but same timestamp");
        }
        if errs.out_of_bounds > 0 {
            tracing::warn!(target_url = %target.url(), num_dropped = errs.out_of_bounds, "Error on ingesting samples that are too old or are too far into the future");
        }
        if err.is_none() {
            if let Err(e) = stale_markers(cache, app, default_t) {
                err = Some(e);
            }
        }
        if err.is_none() && cache.iter_done(true) {
            metrics.cache_flush_forced.inc();
        }
        out.err = err;
        out
    }
}

/// Staleness markers for the series of the previous scrape missing from this one.
fn stale_markers(cache: &ScrapeCache, app: &mut Appender, t: i64) -> Result<(), String> {
    let mut err = None;
    cache.for_each_stale(|e| {
        if err.is_some() {
            return;
        }
        match app.append(Some(e.series_ref), e.labels.as_ref(), t, stale_nan()) {
            Ok(_) => {}
            // Expected when the target came back with a new loop.
            Err(AppendError::OutOfOrder)
            | Err(AppendError::Duplicate { .. })
            | Err(AppendError::OutOfBounds) => {}
            Err(e) => err = Some(e.to_string()),
        }
    });
    err.map_or(Ok(()), Err)
}

/// The final labels of a new series line: `Ok(None)` when metric relabeling drops it,
/// `Err` when it fails the scrape.
fn series_labels<'s>(
    lb: &'s mut LabelsBuilder,
    relabel: &'s mut RelabelBuffer,
    conflicts: &mut Vec<(String, String)>,
    parser: &Parser<'_>,
    target: &Target,
    opts: &AppendOptions,
) -> Result<Option<LabelsRef<'s>>, String> {
    {
        lb.reset();
        parser.labels(|n, v| {
            lb.push(n, v);
        });
        if let Err(LabelsError::DuplicateName(n)) = lb.pack() {
            return Err(format!(
                "label name {} is not unique: invalid sample",
                super::target::go_quote(&n)
            ));
        }
        if opts.honor_labels {
            for l in target.labels().iter() {
                if lb.get(l.name).is_none() {
                    lb.set(l.name, l.value);
                }
            }
        } else {
            conflicts.clear();
            for l in target.labels().iter() {
                if let Some(existing) = lb.get(l.name).filter(|v| !v.is_empty()) {
                    conflicts.push((l.name.to_string(), existing.to_string()));
                }
                lb.set(l.name, l.value);
            }
            conflicts.sort_by_key(|(n, _)| n.len());
            for (name, value) in conflicts.iter() {
                let mut new_name = name.clone();
                loop {
                    new_name.insert_str(0, "exported_");
                    if lb.get(&new_name).unwrap_or("").is_empty() {
                        lb.set(&new_name, value);
                        break;
                    }
                }
            }
        }
        let packed = lb.pack().map_err(|e| format!("{e}: invalid sample"))?;
        let Some(labels) = opts.metric_relabeler.process_with(packed, relabel) else {
            return Ok(None);
        };
        if labels.is_empty() {
            return Ok(None);
        }
        let Some(name) = labels.metric_name() else {
            return Err("missing metric name (__name__ label)".into());
        };
        let valid = opts.validation.is_valid_metric_name(name)
            && labels
                .iter()
                .all(|l| opts.validation.is_valid_label_name(l.name));
        if !valid {
            return Err(format!("invalid metric name or label names: {labels}"));
        }
        verify_label_limits(labels, opts)?;
        Ok(Some(labels))
    }
}

/// Prometheus's label limit checks, with its messages.
fn verify_label_limits(labels: LabelsRef<'_>, opts: &AppendOptions) -> Result<(), String> {
    let met = labels.metric_name().unwrap_or("");
    if opts.label_limit > 0 && labels.len() as u64 > opts.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            truncate_runes(met, 50),
            labels.len(),
            opts.label_limit
        ));
    }
    for l in labels.iter() {
        if opts.label_name_length_limit > 0 && l.name.len() as u64 > opts.label_name_length_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                truncate_runes(met, 50),
                truncate_runes(l.name, 50),
                l.name.len(),
                opts.label_name_length_limit
            ));
        }
        if opts.label_value_length_limit > 0 && l.value.len() as u64 > opts.label_value_length_limit
        {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {}, length: {}, limit: {})",
                truncate_runes(met, 50),
                truncate_runes(l.name, 50),
                super::target::go_quote(truncate_runes(l.value, 50)),
                l.value.len(),
                opts.label_value_length_limit
            ));
        }
    }
    Ok(())
}

/// The first `n` characters of `s` (Go's `%.50s`).
fn truncate_runes(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Records a TYPE/HELP/UNIT line: one lock and look-up, no allocation when unchanged.
fn update_metadata(target: &Target, family: &str, iter: u64, f: impl FnOnce(&mut Metadata)) {
    let mut store = target.metadata.lock();
    let entry = match store.entries.get_mut(family) {
        Some(e) => e,
        None => store
            .entries
            .entry(family.to_string())
            .or_insert_with(|| (Metadata::default_unknown(), iter)),
    };
    entry.1 = iter;
    f(&mut entry.0);
}

/// Forgets metadata of families not seen for more than 10 scrapes.
pub fn expire_metadata(target: &Target, iter: u64) {
    let mut store = target.metadata.lock();
    store
        .entries
        .retain(|_, (_, last)| iter.saturating_sub(*last) <= 10);
}

impl Metadata {
    fn default_unknown() -> Metadata {
        Metadata {
            metric_type: "unknown",
            help: String::new(),
            unit: String::new(),
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The synthetic series of a target, in Prometheus's order; the last three only with
/// `extra_scrape_metrics`.
pub const REPORT_NAMES: [&str; 8] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "scrape_timeout_seconds",
    "scrape_sample_limit",
    "scrape_body_size_bytes",
];

/// The synthetic series' label sets and refs for one target.
pub struct ReportSeries {
    labels: Vec<Labels>,
    refs: Vec<Option<SeriesRef>>,
}

impl ReportSeries {
    pub fn new(target: &Target) -> ReportSeries {
        let labels: Vec<Labels> = REPORT_NAMES
            .iter()
            .map(|name| {
                let mut b = LabelsBuilder::new();
                for l in target.labels().iter() {
                    b.set(l.name, l.value);
                }
                b.set("__name__", name);
                b.labels()
            })
            .collect();
        ReportSeries {
            refs: vec![None; labels.len()],
            labels,
        }
    }

    /// Appends `values` (in [`REPORT_NAMES`] order, 5 or 8 of them) at `t`. Out-of-order
    /// and duplicate rejections are expected after a target comes back and are ignored.
    pub fn append(&mut self, app: &mut Appender, t: i64, values: &[f64]) -> Result<(), String> {
        for (i, &v) in values.iter().enumerate().take(self.labels.len()) {
            match app.append(self.refs[i], self.labels[i].as_ref(), t, v) {
                Ok(r) => self.refs[i] = Some(r),
                Err(AppendError::OutOfOrder) | Err(AppendError::Duplicate { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }
}
