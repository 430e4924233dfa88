//! The scrape cache of one target: what each exposed series text became last time.
//!
//! Keyed by the raw series text exactly as the target wrote it (`name{labels}`), an entry
//! holds the storage ref and the final label set (after target labels and metric
//! relabeling), so an unchanged line costs one hash of its bytes, one look-up and an
//! append by ref: no label parsing, no relabeling, no allocation. Texts that metric
//! relabeling dropped are remembered too, so they are skipped as cheaply.
//!
//! Staleness is tracked per entry: `tracked` is the last scrape iteration in which the
//! series was appended without an explicit timestamp. After a scrape, entries tracked in
//! the previous iteration but not this one get a staleness marker; a failed scrape tracks
//! nothing, so the scrape after it marks nothing (as Prometheus's current/previous sets).

use ember_storage::Labels;
use ember_storage::SeriesRef;
use hashbrown::HashMap;

/// What a series text maps to.
#[derive(Debug)]
pub struct Entry {
    pub series_ref: SeriesRef,
    pub labels: Labels,
    /// The iteration the text was last seen in.
    pub last_iter: u64,
    /// The iteration the series was last appended in with staleness tracking (0: never).
    pub tracked: u64,
}

/// A target's scrape cache. Iterations start at 1 so 0 means "never".
#[derive(Debug)]
pub struct ScrapeCache {
    pub(crate) iter: u64,
    series: HashMap<Box<[u8]>, Entry>,
    dropped: HashMap<Box<[u8]>, u64>,
    /// Entries plus dropped texts after the last successful scrape.
    successful_count: usize,
}

impl Default for ScrapeCache {
    fn default() -> Self {
        ScrapeCache {
            iter: 1,
            series: HashMap::new(),
            dropped: HashMap::new(),
            successful_count: 0,
        }
    }
}

impl ScrapeCache {
    /// Whether metric relabeling dropped `text` before (and marks it seen).
    #[inline]
    pub fn is_dropped(&mut self, text: &[u8]) -> bool {
        match self.dropped.get_mut(text) {
            Some(it) => {
                *it = self.iter;
                true
            }
            None => false,
        }
    }

    /// The entry for `text`, marked seen in this iteration, and whether it had already
    /// been seen in this iteration (a repeated line).
    #[inline]
    pub fn get(&mut self, text: &[u8]) -> Option<(&mut Entry, bool)> {
        let iter = self.iter;
        self.series.get_mut(text).map(|e| {
            let again = e.last_iter == iter;
            e.last_iter = iter;
            (e, again)
        })
    }

    pub fn add(&mut self, text: &[u8], series_ref: SeriesRef, labels: Labels, track: bool) {
        let iter = self.iter;
        self.series.insert(
            text.into(),
            Entry {
                series_ref,
                labels,
                last_iter: iter,
                tracked: if track { iter } else { 0 },
            },
        );
    }

    pub fn add_dropped(&mut self, text: &[u8]) {
        self.dropped.insert(text.into(), self.iter);
    }

    /// Calls `f` with every series tracked in the previous iteration but not this one.
    pub fn for_each_stale(&self, mut f: impl FnMut(&Entry)) {
        let prev = self.iter - 1;
        if prev == 0 {
            return;
        }
        for e in self.series.values() {
            if e.tracked == prev {
                f(e);
            }
        }
    }

    /// Ends an iteration. `flush` (a successful, non-empty scrape) forgets texts not seen
    /// in it; a cache that doubled (plus 1,000) since the last success is flushed anyway,
    /// so failing scrapes with churning series cannot grow it without bound. Returns
    /// whether a flush was forced.
    pub fn iter_done(&mut self, flush: bool) -> bool {
        let count = self.series.len() + self.dropped.len();
        let mut forced = false;
        let flush = if flush {
            self.successful_count = count;
            true
        } else if count > self.successful_count * 2 + 1000 {
            forced = true;
            true
        } else {
            false
        };
        if flush {
            let iter = self.iter;
            self.series.retain(|_, e| e.last_iter == iter);
            self.dropped.retain(|_, it| *it == iter);
        }
        self.iter += 1;
        forced
    }
}
