//! The head's two series maps, striped so that concurrent appenders rarely meet on a lock:
//! labels-hash → series (to find or create a series from incoming labels) and
//! ref → series (appends by cached ref, queries from postings).
//!
//! Each stripe is a `hashbrown::HashTable` of `Arc<MemSeries>`: the series itself is the
//! entry, so the maps cost one pointer per series each. A stripe is chosen with bits
//! 32..46 of the hash; the table inside uses the low bits for buckets and the top 7 bits
//! for its control bytes, so the three never correlate.
//!
//! Lock order: a hash stripe before a ref stripe, never the other way round (series
//! removal, when head truncation lands, must follow it too).

use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::RwLock;

use crate::labels::{Labels, LabelsRef};
use crate::SeriesRef;

use super::series::MemSeries;

/// Default number of stripes (Prometheus's `DefaultStripeSize`).
pub(crate) const DEFAULT_STRIPES: usize = 16384;

/// Spreads sequential refs over the whole hash space (splitmix64's finaliser).
#[inline]
fn hash_ref(r: SeriesRef) -> u64 {
    let mut z = r.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(crate) struct StripeSeries {
    by_hash: Box<[RwLock<HashTable<Arc<MemSeries>>>]>,
    by_ref: Box<[RwLock<HashTable<Arc<MemSeries>>>]>,
    mask: u64,
}

impl StripeSeries {
    pub fn new(stripes: usize) -> StripeSeries {
        let n = stripes.max(1).next_power_of_two();
        let make = || {
            (0..n)
                .map(|_| RwLock::new(HashTable::new()))
                .collect::<Vec<_>>()
                .into_boxed_slice()
        };
        StripeSeries {
            by_hash: make(),
            by_ref: make(),
            mask: n as u64 - 1,
        }
    }

    #[inline]
    fn stripe(&self, hash: u64) -> usize {
        ((hash >> 32) & self.mask) as usize
    }

    pub fn get_by_ref(&self, r: SeriesRef) -> Option<Arc<MemSeries>> {
        let h = hash_ref(r);
        self.by_ref[self.stripe(h)]
            .read()
            .find(h, |s| s.series_ref == r)
            .cloned()
    }

    pub fn get_by_labels(&self, hash: u64, labels: LabelsRef<'_>) -> Option<Arc<MemSeries>> {
        self.by_hash[self.stripe(hash)]
            .read()
            .find(hash, |s| s.labels.as_ref() == labels)
            .cloned()
    }

    /// The series with these labels, created with `new_ref()` and `logged` if absent.
    /// Returns whether it was created.
    pub fn get_or_create(
        &self,
        hash: u64,
        labels: LabelsRef<'_>,
        logged: bool,
        new_ref: impl FnOnce() -> SeriesRef,
    ) -> (Arc<MemSeries>, bool) {
        if let Some(s) = self.get_by_labels(hash, labels) {
            return (s, false);
        }
        let mut table = self.by_hash[self.stripe(hash)].write();
        if let Some(s) = table.find(hash, |s| s.labels.as_ref() == labels) {
            return (s.clone(), false);
        }
        let series = Arc::new(MemSeries::new(new_ref(), labels.to_owned(), logged));
        table.insert_unique(hash, series.clone(), |s| s.labels.hash64());
        self.insert_ref(series.clone());
        (series, true)
    }

    /// Inserts a series under an existing ref (WAL replay). If a series with the same
    /// labels exists, it is returned instead and `false` says nothing was inserted.
    pub fn insert_replayed(&self, series_ref: SeriesRef, labels: Labels) -> (Arc<MemSeries>, bool) {
        let hash = labels.hash64();
        let mut table = self.by_hash[self.stripe(hash)].write();
        if let Some(s) = table.find(hash, |s| s.labels == labels) {
            return (s.clone(), false);
        }
        let series = Arc::new(MemSeries::new(series_ref, labels, true));
        table.insert_unique(hash, series.clone(), |s| s.labels.hash64());
        self.insert_ref(series.clone());
        (series, true)
    }

    fn insert_ref(&self, series: Arc<MemSeries>) {
        let h = hash_ref(series.series_ref);
        self.by_ref[self.stripe(h)]
            .write()
            .insert_unique(h, series, |s| hash_ref(s.series_ref));
    }

    /// Calls `f` on every series (stripe by stripe; appends continue meanwhile).
    pub fn for_each(&self, mut f: impl FnMut(&Arc<MemSeries>)) {
        for stripe in self.by_ref.iter() {
            for s in stripe.read().iter() {
                f(s);
            }
        }
    }

    /// Bytes the maps themselves use (for memory accounting in benches).
    pub fn map_bytes(&self) -> usize {
        let per = |t: &RwLock<HashTable<Arc<MemSeries>>>| {
            t.read().capacity() * (std::mem::size_of::<Arc<MemSeries>>() + 1)
        };
        self.by_hash.iter().map(per).sum::<usize>() + self.by_ref.iter().map(per).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_find() {
        let s = StripeSeries::new(16);
        let a = Labels::from_pairs([("__name__", "a")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        let mut next = 0;
        let (sa, created) = s.get_or_create(a.hash64(), a.as_ref(), false, || {
            next += 1;
            SeriesRef(next)
        });
        assert!(created);
        let (sa2, created) = s.get_or_create(a.hash64(), a.as_ref(), false, || unreachable!());
        assert!(!created);
        assert!(Arc::ptr_eq(&sa, &sa2));
        let (sb, _) = s.get_or_create(b.hash64(), b.as_ref(), false, || SeriesRef(7));
        assert_eq!(
            s.get_by_ref(SeriesRef(1)).map(|x| x.labels.clone()),
            Some(a.clone())
        );
        assert_eq!(
            s.get_by_ref(SeriesRef(7)).map(|x| x.labels.clone()),
            Some(b.clone())
        );
        assert!(Arc::ptr_eq(&s.get_by_ref(SeriesRef(7)).unwrap(), &sb));
        assert!(s.get_by_ref(SeriesRef(8)).is_none());
    }

    /// Different labels with the same hash must stay different series.
    #[test]
    fn equal_hashes_are_told_apart_by_labels() {
        let s = StripeSeries::new(4);
        let a = Labels::from_pairs([("x", "1")]);
        let b = Labels::from_pairs([("x", "2")]);
        let (sa, _) = s.get_or_create(42, a.as_ref(), false, || SeriesRef(1));
        let (sb, created) = s.get_or_create(42, b.as_ref(), false, || SeriesRef(2));
        assert!(created);
        assert!(!Arc::ptr_eq(&sa, &sb));
        assert_eq!(
            s.get_by_labels(42, b.as_ref()).map(|x| x.series_ref),
            Some(SeriesRef(2))
        );
    }
}
