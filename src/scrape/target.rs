//! Scrape targets: turning a discovered label set into a target, as Prometheus's
//! `PopulateLabels` does, and the state a target keeps for the API.
//!
//! A discovered target gets the group's labels, then the job's defaults (`job`,
//! `__scrape_interval__`, `__scrape_timeout__`, `__metrics_path__`, `__scheme__`, the
//! histogram switches and `__param_<name>`) where it does not set them itself; then the
//! job's `relabel_configs` run. A target that relabeling drops is kept (up to
//! `keep_dropped_targets`) for `/api/v1/targets`; one without an address, with a URL as
//! address or with bad interval labels is an error. `__meta_*` labels are removed after
//! relabeling; the other `__` labels stay on the target (its URL and intervals come from
//! them) but never reach stored series.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use ember_config::{Relabeler, ScrapeConfig};
use ember_storage::{Labels, LabelsBuilder};
use hashbrown::HashMap;
use parking_lot::Mutex;

pub const ADDRESS_LABEL: &str = "__address__";
pub const SCHEME_LABEL: &str = "__scheme__";
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
pub const PARAM_LABEL_PREFIX: &str = "__param_";
pub const META_LABEL_PREFIX: &str = "__meta_";
pub const RESERVED_LABEL_PREFIX: &str = "__";
pub const CONVERT_NHCB_LABEL: &str = "__convert_classic_histograms_to_nhcb__";
pub const ALWAYS_SCRAPE_CLASSIC_LABEL: &str = "__always_scrape_classic_histograms__";
pub const SCRAPE_NATIVE_LABEL: &str = "__scrape_native_histograms__";

/// A target's health, as `/api/v1/targets` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// The outcome of the last scrape of a target.
#[derive(Debug, Clone)]
pub struct ScrapeStatus {
    pub health: Health,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: Duration,
}

/// One family's metadata, as the last scrapes exposed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata {
    pub metric_type: &'static str,
    pub help: String,
    pub unit: String,
}

/// Metadata of a target by family name, with the iteration it was last seen in (so
/// families that disappeared are forgotten after a while, as Prometheus forgets them).
#[derive(Debug, Default)]
pub struct MetadataStore {
    pub(crate) entries: HashMap<String, (Metadata, u64)>,
}

/// A target: its labels after relabeling (with the `__` labels that set how it is
/// scraped), its discovered labels, and the state of its scrapes.
#[derive(Debug)]
pub struct Target {
    /// After relabeling, `__meta_*` removed, `instance` set; sorted.
    labels: Labels,
    /// `labels` without the `__` labels: what scraped series get.
    public: Labels,
    /// Labels before relabeling; updated when a duplicate of the target is rediscovered.
    discovered: Mutex<Labels>,
    url: String,
    hash: u64,
    status: Mutex<ScrapeStatus>,
    pub(crate) metadata: Mutex<MetadataStore>,
}

impl Target {
    /// A target from its final labels (`labels` empty: dropped by relabeling).
    pub fn new(labels: Labels, discovered: Labels, cfg: &ScrapeConfig) -> Target {
        let public = Labels::from_pairs(
            labels
                .iter()
                .filter(|l| !l.name.starts_with(RESERVED_LABEL_PREFIX))
                .map(|l| (l.name, l.value)),
        );
        let url = if labels.is_empty() {
            String::new()
        } else {
            target_url(&labels, &cfg.params)
        };
        let hash = fnv64a_parts(&[
            format!("{:016}", labels.hash64()).as_bytes(),
            url.as_bytes(),
        ]);
        Target {
            labels,
            public,
            discovered: Mutex::new(discovered),
            url,
            hash,
            status: Mutex::new(ScrapeStatus {
                health: Health::Unknown,
                last_error: String::new(),
                last_scrape: None,
                last_duration: Duration::ZERO,
            }),
            metadata: Mutex::new(MetadataStore::default()),
        }
    }

    /// All labels, `__` ones included.
    pub fn all_labels(&self) -> &Labels {
        &self.labels
    }

    /// The labels scraped series get (no `__` labels).
    #[allow(clippy::misnamed_getters)] // `labels` is Prometheus's name for these.
    pub fn labels(&self) -> &Labels {
        &self.public
    }

    pub fn discovered_labels(&self) -> Labels {
        self.discovered.lock().clone()
    }

    pub(crate) fn set_discovered_labels(&self, labels: Labels) {
        *self.discovered.lock() = labels;
    }

    /// The scrape URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Identity of the target within its pool: its labels and URL.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// A label's value, `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.labels.get(name).unwrap_or("")
    }

    pub fn status(&self) -> ScrapeStatus {
        self.status.lock().clone()
    }

    pub(crate) fn report(&self, start: SystemTime, duration: Duration, err: Option<&str>) {
        let mut s = self.status.lock();
        s.health = if err.is_none() {
            Health::Up
        } else {
            Health::Down
        };
        s.last_error.clear();
        if let Some(e) = err {
            s.last_error.push_str(e);
        }
        s.last_scrape = Some(start);
        s.last_duration = duration;
    }

    /// The families' metadata, sorted by family name.
    pub fn metadata_list(&self) -> Vec<(String, Metadata)> {
        let store = self.metadata.lock();
        let mut v: Vec<(String, Metadata)> = store
            .entries
            .iter()
            .map(|(k, (m, _))| (k.clone(), m.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// One family's metadata.
    pub fn metadata_of(&self, family: &str) -> Option<Metadata> {
        self.metadata
            .lock()
            .entries
            .get(family)
            .map(|(m, _)| m.clone())
    }

    /// Interval and timeout from the target's labels; the job's values and an error when
    /// the labels do not parse (the loop then reports that error on every scrape).
    pub fn interval_and_timeout(
        &self,
        default_interval: Duration,
        default_timeout: Duration,
    ) -> (Duration, Duration, Option<String>) {
        let il = self.get(SCRAPE_INTERVAL_LABEL);
        let interval = match ember_config::Duration::parse(il) {
            Ok(d) => d.as_std(),
            Err(e) => {
                return (
                    default_interval,
                    default_timeout,
                    Some(format!(
                        "error parsing interval label {}: {e}",
                        go_quote(il)
                    )),
                )
            }
        };
        let tl = self.get(SCRAPE_TIMEOUT_LABEL);
        let timeout = match ember_config::Duration::parse(tl) {
            Ok(d) => d.as_std(),
            Err(e) => {
                return (
                    default_interval,
                    default_timeout,
                    Some(format!("error parsing timeout label {}: {e}", go_quote(tl))),
                )
            }
        };
        (interval, timeout, None)
    }

    /// When this target's first scrape should happen, from now: a stable point within
    /// the interval derived from the target and the server's seed, so that restarts keep
    /// the phase and targets spread evenly (Prometheus's `offset`).
    pub fn offset(&self, interval: Duration, seed: u64) -> Duration {
        let interval_ns = interval.as_nanos().max(1) as u64;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let base = interval_ns - now % interval_ns;
        let offset = (self.hash ^ seed) % interval_ns;
        let mut next = base + offset;
        if next > interval_ns {
            next -= interval_ns;
        }
        Duration::from_nanos(next)
    }
}

/// A discovered target before relabeling: the target's own labels and its group's.
pub struct Discovered<'a> {
    pub target: &'a BTreeMap<String, String>,
    pub group: &'a BTreeMap<String, String>,
}

/// The discovered label set: the target's labels, the group's where the target has none,
/// then the job's defaults where neither sets them.
pub fn discovered_labels(lb: &mut LabelsBuilder, cfg: &ScrapeConfig, d: &Discovered<'_>) -> Labels {
    lb.reset();
    for (k, v) in d.target {
        lb.set(k, v);
    }
    for (k, v) in d.group {
        if !d.target.contains_key(k) {
            lb.set(k, v);
        }
    }
    let interval = cfg.scrape_interval.to_string();
    let timeout = cfg.scrape_timeout.to_string();
    let bool_str = |b: bool| if b { "true" } else { "false" };
    let defaults: [(&str, &str); 8] = [
        ("job", &cfg.job_name),
        (SCRAPE_INTERVAL_LABEL, &interval),
        (SCRAPE_TIMEOUT_LABEL, &timeout),
        (METRICS_PATH_LABEL, &cfg.metrics_path),
        (SCHEME_LABEL, &cfg.scheme),
        (
            CONVERT_NHCB_LABEL,
            bool_str(cfg.convert_classic_histograms_to_nhcb == Some(true)),
        ),
        (
            ALWAYS_SCRAPE_CLASSIC_LABEL,
            bool_str(cfg.always_scrape_classic_histograms == Some(true)),
        ),
        (
            SCRAPE_NATIVE_LABEL,
            bool_str(cfg.scrape_native_histograms_enabled()),
        ),
    ];
    for (name, value) in defaults {
        if lb.get(name).unwrap_or("").is_empty() {
            lb.set(name, value);
        }
    }
    for (k, values) in &cfg.params {
        let name = format!("{PARAM_LABEL_PREFIX}{k}");
        if let Some(first) = values.first() {
            if lb.get(&name).unwrap_or("").is_empty() {
                lb.set(&name, first);
            }
        }
    }
    lb.labels()
}

/// Prometheus's `PopulateLabels`: the target's final labels (empty when relabeling
/// dropped it) and its discovered labels, or why it is not a valid target.
pub fn populate_labels(
    lb: &mut LabelsBuilder,
    cfg: &ScrapeConfig,
    relabeler: &Relabeler,
    d: &Discovered<'_>,
) -> (Result<Labels, String>, Labels) {
    let discovered = discovered_labels(lb, cfg, d);
    let result = relabel_target(lb, relabeler, &discovered);
    (result, discovered)
}

fn relabel_target(
    lb: &mut LabelsBuilder,
    relabeler: &Relabeler,
    discovered: &Labels,
) -> Result<Labels, String> {
    let Some(relabeled) = relabeler.process(discovered) else {
        return Ok(Labels::empty());
    };
    let addr = relabeled.get(ADDRESS_LABEL).unwrap_or("");
    if addr.is_empty() {
        return Err("no address".into());
    }
    if addr.contains('/') {
        return Err(format!("{} is not a valid hostname", go_quote(addr)));
    }
    let interval_s = relabeled.get(SCRAPE_INTERVAL_LABEL).unwrap_or("");
    let interval = ember_config::Duration::parse(interval_s)
        .map_err(|e| format!("error parsing scrape interval: {e}"))?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    let timeout_s = relabeled.get(SCRAPE_TIMEOUT_LABEL).unwrap_or("");
    let timeout = ember_config::Duration::parse(timeout_s)
        .map_err(|e| format!("error parsing scrape timeout: {e}"))?;
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({} > {})",
            go_quote(timeout_s),
            go_quote(interval_s)
        ));
    }
    for (name, desc) in [
        (CONVERT_NHCB_LABEL, "convert classic histograms to nhcb"),
        (
            ALWAYS_SCRAPE_CLASSIC_LABEL,
            "always scrape classic histograms",
        ),
        (SCRAPE_NATIVE_LABEL, "scrape native histograms"),
    ] {
        if let Some(v) = relabeled.get(name) {
            if parse_go_bool(v).is_none() {
                return Err(format!(
                    "error parsing {desc}: strconv.ParseBool: parsing {}: invalid syntax",
                    go_quote(v)
                ));
            }
        }
    }
    lb.reset();
    for l in relabeled.iter() {
        if !l.name.starts_with(META_LABEL_PREFIX) {
            lb.push(l.name, l.value);
        }
    }
    if relabeled.get("instance").unwrap_or("").is_empty() {
        let addr = addr.to_string();
        lb.set("instance", &addr);
    }
    Ok(lb.labels())
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The scrape URL: `__scheme__://__address____metrics_path__?params`, where the job's
/// `params` are overridden (first value) by `__param_<name>` labels; query keys sorted
/// and escaped as Go's `url.Values.Encode`, the path escaped as Go's `url.URL` does.
pub fn target_url(labels: &Labels, cfg_params: &BTreeMap<String, Vec<String>>) -> String {
    let mut params: BTreeMap<&str, Vec<&str>> = cfg_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    for l in labels.iter() {
        if let Some(k) = l.name.strip_prefix(PARAM_LABEL_PREFIX) {
            let e = params.entry(k).or_default();
            match e.first_mut() {
                Some(first) => *first = l.value,
                None => e.push(l.value),
            }
        }
    }
    let scheme = labels.get(SCHEME_LABEL).unwrap_or("");
    let host = labels.get(ADDRESS_LABEL).unwrap_or("");
    let path = labels.get(METRICS_PATH_LABEL).unwrap_or("");
    let mut url = String::with_capacity(scheme.len() + host.len() + path.len() + 16);
    if !scheme.is_empty() {
        url.push_str(scheme);
        url.push(':');
    }
    if !scheme.is_empty() || !host.is_empty() {
        url.push_str("//");
        url.push_str(host);
    }
    if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
        url.push('/');
    }
    escape_path(&mut url, path);
    let mut first = true;
    for (k, vs) in &params {
        for v in vs {
            url.push(if first { '?' } else { '&' });
            first = false;
            query_escape(&mut url, k);
            url.push('=');
            query_escape(&mut url, v);
        }
    }
    url
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

/// Go's `url.QueryEscape`.
fn query_escape(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => push_pct(out, b),
        }
    }
}

/// Go's path escaping in `url.URL.String`.
fn escape_path(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b'&'
            | b'+'
            | b','
            | b'/'
            | b':'
            | b';'
            | b'='
            | b'@' => out.push(b as char),
            _ => push_pct(out, b),
        }
    }
}

/// Go's `%q` for the strings in error messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing to a String cannot fail.
    let _ = ember_storage::labels::write_go_quoted(&mut out, s);
    out
}

/// 64-bit FNV-1a over the concatenation of `parts`.
pub fn fnv64a_parts(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests;
