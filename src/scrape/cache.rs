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

#[cfg(test)]
mod tests {
    use super::*;

    fn stale(c: &ScrapeCache) -> Vec<u64> {
        let mut v = Vec::new();
        c.for_each_stale(|e| v.push(e.series_ref.0));
        v.sort();
        v
    }

    #[test]
    fn staleness_follows_prometheus_current_and_previous_sets() {
        let mut c = ScrapeCache::default();
        let l = Labels::from_pairs([("__name__", "a")]);
        c.add(b"a", SeriesRef(1), l.clone(), true);
        c.add(b"b", SeriesRef(2), l.clone(), true);
        c.add(b"ts", SeriesRef(3), l.clone(), false); // explicit timestamp: untracked
        assert!(stale(&c).is_empty(), "nothing before the first scrape ends");
        c.iter_done(true);
        // Second scrape sees only `a`.
        let iter = c.iter;
        let (e, again) = c.get(b"a").unwrap();
        assert!(!again);
        e.tracked = iter;
        assert!(c.get(b"a").unwrap().1, "a repeated line is noticed");
        assert_eq!(stale(&c), [2]);
        c.iter_done(true);
        assert!(
            c.get(b"b").is_none(),
            "a successful scrape forgets unseen texts"
        );
        // A failed scrape tracks nothing: everything of the last success goes stale,
        // and the scrape after it marks nothing.
        assert_eq!(stale(&c), [1]);
        c.iter_done(false);
        assert!(stale(&c).is_empty());
    }

    #[test]
    fn failing_scrapes_cannot_grow_the_cache_without_bound() {
        let mut c = ScrapeCache::default();
        let l = Labels::from_pairs([("__name__", "a")]);
        let mut forced = 0;
        for i in 0..5000u64 {
            c.add(format!("s{i}").as_bytes(), SeriesRef(i), l.clone(), true);
            if c.iter_done(false) {
                forced += 1;
            }
        }
        assert!(forced >= 1);
        assert!(c.series.len() <= 1001, "{}", c.series.len());
    }

    #[test]
    fn dropped_texts_are_remembered_until_unseen() {
        let mut c = ScrapeCache::default();
        c.add_dropped(b"x");
        assert!(c.is_dropped(b"x"));
        c.iter_done(true);
        c.iter_done(true);
        assert!(!c.is_dropped(b"x"));
    }
}
