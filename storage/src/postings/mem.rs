//! [`MemPostings`]: the head's inverted index.

use std::sync::Arc;

use hashbrown::DefaultHashBuilder;
use hashbrown::{HashMap, HashTable};
use parking_lot::{Mutex, RwLock};
use roaring::RoaringTreemap;
use std::hash::BuildHasher;

use super::list::{treemap_and, PostingsList, UnionBuilder, SMALL_MAX};
use super::PostingsReader;
use crate::{LabelsRef, SeriesRef};

/// Value shards per label name.
const VALUE_SHARDS: usize = 32;
/// Stripes of the all-series list.
const ALL_STRIPES: usize = 16;
/// A per-value list longer than this becomes a bitmap.
const FEW_MAX: usize = SMALL_MAX;

/// The head's inverted index, `name → value → refs`, updated by many appender threads
/// while queries read it.
///
/// # Locking
///
/// * A map from label name to that name's values. It is written only when a name is
///   first seen or garbage collection drops one; [`MemPostings::add`] holds its read lock
///   for the duration of an add, so garbage collection (which takes the write lock to drop
///   empty names) can never orphan a name an add is writing to.
/// * Each name splits its values over 32 hash tables, each behind its own lock, so adds
///   of different values of one name (`__name__`, `instance`) rarely meet, and a query
///   scanning a name's values with a regex holds one table at a time.
/// * The list of all series is striped by ref over 16 locks, since every add touches it.
///
/// Readers copy what they need out of a table (a few refs, a compressed bitmap, or only
/// its intersection with a given list) and release it before any further set algebra. A
/// writer waits at most for one table's worth of predicate calls or copies.
///
/// # Memory
///
/// Per distinct label value: the value's bytes, a 40-byte table entry and its list. A list
/// of one ref (the common case for high-cardinality labels) lives in the entry; up to 64
/// refs are a boxed sorted array; longer lists are roaring bitmaps, which for the dense
/// ref ranges of popular values cost bits per ref. About 14 bytes per series for a
/// node_exporter-like index (see `benches/postings.rs`).
///
/// Refs are handed out in increasing order, so an add almost always appends at the end of
/// each list, and that is the fast path: a long list buffers appends and moves them into
/// its bitmap in batches. Adds that race slightly out of order are inserted in place.
pub struct MemPostings {
    names: RwLock<HashMap<Box<str>, Arc<NameIndex>>>,
    all: Box<[Mutex<Bitmap>]>,
    hasher: DefaultHashBuilder,
}

/// The values of one label name.
struct NameIndex {
    shards: Box<[RwLock<HashTable<Entry>>]>,
}

struct Entry {
    value: Box<str>,
    list: MemList,
}

/// The refs of one label pair.
enum MemList {
    One(u64),
    /// Sorted, 2..=FEW_MAX refs.
    Few(Box<[u64]>),
    /// More than FEW_MAX refs (until deletions bring it below half that).
    Many(Box<Bitmap>),
}

impl Default for MemPostings {
    fn default() -> MemPostings {
        MemPostings::new()
    }
}

impl MemPostings {
    pub fn new() -> MemPostings {
        MemPostings {
            names: RwLock::new(HashMap::new()),
            all: (0..ALL_STRIPES)
                .map(|_| Mutex::new(Bitmap::default()))
                .collect(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Indexes series `r` under each of its labels. Safe to call from many threads at
    /// once; adding the same series twice has no further effect.
    pub fn add(&self, r: SeriesRef, labels: LabelsRef<'_>) {
        let mut missing = false;
        {
            let names = self.names.read();
            for l in labels.iter() {
                match names.get(l.name) {
                    Some(idx) => idx.insert(&self.hasher, l.value, r.0),
                    None => missing = true,
                }
            }
            if !missing {
                self.all[stripe(r.0)].lock().insert(r.0);
                return;
            }
        }
        // A name seen for the first time: create it (inserts are idempotent, so names that
        // were present are simply inserted again).
        let mut names = self.names.write();
        for l in labels.iter() {
            let idx = names
                .entry(Box::from(l.name))
                .or_insert_with(|| Arc::new(NameIndex::new()));
            idx.insert(&self.hasher, l.value, r.0);
        }
        self.all[stripe(r.0)].lock().insert(r.0);
    }

    /// Removes the given series from every list (head garbage collection). Values and
    /// names left without series disappear.
    pub fn delete(&self, refs: &PostingsList) {
        if refs.is_empty() {
            return;
        }
        let indexes: Vec<Arc<NameIndex>> = self.names.read().values().cloned().collect();
        for idx in &indexes {
            idx.delete(refs);
        }
        for stripe in self.all.iter() {
            stripe.lock().remove_all(refs);
        }
        // Drop empty names. Adds hold the read lock while they write, so none is in
        // progress while the write lock is held.
        if indexes.iter().any(|idx| idx.is_empty()) {
            self.names.write().retain(|_, idx| !idx.is_empty());
        }
    }

    /// All label names, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.names.read().keys().map(|k| k.to_string()).collect();
        v.sort_unstable();
        v
    }

    /// All values of `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let Some(idx) = self.name_index(name) else {
            return Vec::new();
        };
        let mut v = Vec::new();
        for shard in idx.shards.iter() {
            v.extend(shard.read().iter().map(|e| e.value.to_string()));
        }
        v.sort_unstable();
        v
    }

    /// Calls `f(name, value, series)` for every label pair and the number of series
    /// carrying it, one label name at a time (for cardinality statistics). Holds one value
    /// shard's read lock at a time.
    pub fn for_each_pair(&self, mut f: impl FnMut(&str, &str, u64)) {
        let names: Vec<(Box<str>, Arc<NameIndex>)> = self
            .names
            .read()
            .iter()
            .map(|(n, idx)| (n.clone(), Arc::clone(idx)))
            .collect();
        for (name, idx) in &names {
            for shard in idx.shards.iter() {
                for e in shard.read().iter() {
                    f(name, &e.value, e.list.len());
                }
            }
        }
    }

    /// Every series added and not deleted.
    pub fn all(&self) -> PostingsList {
        let mut u = UnionBuilder::default();
        for stripe in self.all.iter() {
            stripe.lock().add_to(&mut u);
        }
        u.finish()
    }

    /// The series with label `name="value"`.
    pub fn get(&self, name: &str, value: &str) -> PostingsList {
        self.postings(name, &[value])
    }

    fn name_index(&self, name: &str) -> Option<Arc<NameIndex>> {
        self.names.read().get(name).cloned()
    }
}

impl PostingsReader for MemPostings {
    fn postings(&self, name: &str, values: &[&str]) -> PostingsList {
        let Some(idx) = self.name_index(name) else {
            return PostingsList::new();
        };
        let mut u = UnionBuilder::default();
        for v in values {
            let hash = self.hasher.hash_one(*v);
            let shard = idx.shards[shard_of(hash)].read();
            if let Some(e) = shard.find(hash, |e| *e.value == **v) {
                e.list.add_to(&mut u);
            }
        }
        u.finish()
    }

    fn postings_matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> PostingsList {
        let Some(idx) = self.name_index(name) else {
            return PostingsList::new();
        };
        let mut u = UnionBuilder::default();
        for shard in idx.shards.iter() {
            for e in shard.read().iter() {
                if accept(&e.value) {
                    e.list.add_to(&mut u);
                }
            }
        }
        u.finish()
    }

    fn postings_for_name(&self, name: &str) -> PostingsList {
        self.postings_matching(name, &mut |_| true)
    }

    fn postings_within(&self, name: &str, values: &[&str], within: &PostingsList) -> PostingsList {
        let Some(idx) = self.name_index(name) else {
            return PostingsList::new();
        };
        let mut u = UnionBuilder::default();
        for v in values {
            let hash = self.hasher.hash_one(*v);
            let shard = idx.shards[shard_of(hash)].read();
            if let Some(e) = shard.find(hash, |e| *e.value == **v) {
                e.list.add_within_to(&mut u, within);
            }
        }
        u.finish()
    }

    fn postings_matching_within(
        &self,
        name: &str,
        accept: &mut dyn FnMut(&str) -> bool,
        within: &PostingsList,
    ) -> PostingsList {
        let Some(idx) = self.name_index(name) else {
            return PostingsList::new();
        };
        let mut u = UnionBuilder::default();
        for shard in idx.shards.iter() {
            for e in shard.read().iter() {
                if accept(&e.value) {
                    e.list.add_within_to(&mut u, within);
                }
            }
        }
        u.finish()
    }

    fn all_postings(&self) -> PostingsList {
        self.all()
    }

    fn label_values(&self, name: &str) -> Vec<String> {
        MemPostings::label_values(self, name)
    }
}

#[inline]
fn stripe(r: u64) -> usize {
    (r % ALL_STRIPES as u64) as usize
}

/// The shard of a value hash. Uses bits the hash tables themselves do not: they take the
/// low bits for the bucket and the top seven as a tag.
#[inline]
fn shard_of(hash: u64) -> usize {
    ((hash >> 32) as usize) % VALUE_SHARDS
}

impl NameIndex {
    fn new() -> NameIndex {
        NameIndex {
            shards: (0..VALUE_SHARDS)
                .map(|_| RwLock::new(HashTable::new()))
                .collect(),
        }
    }

    /// Adds `r` under `value`. `hasher` must be the one every look-up uses (the
    /// [`MemPostings`]'s): the tables store no hashes and rehash with it when they grow.
    fn insert(&self, hasher: &DefaultHashBuilder, value: &str, r: u64) {
        let hash = hasher.hash_one(value);
        let mut shard = self.shards[shard_of(hash)].write();
        match shard.find_mut(hash, |e| *e.value == *value) {
            Some(e) => e.list.insert(r),
            None => {
                shard.insert_unique(
                    hash,
                    Entry {
                        value: Box::from(value),
                        list: MemList::One(r),
                    },
                    |e| hasher.hash_one(&*e.value),
                );
            }
        }
    }

    fn delete(&self, refs: &PostingsList) {
        for shard in self.shards.iter() {
            shard.write().retain(|e| e.list.remove_all(refs));
        }
    }

    fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.read().is_empty())
    }
}

impl MemList {
    /// Number of refs.
    fn len(&self) -> u64 {
        match self {
            MemList::One(_) => 1,
            MemList::Few(v) => v.len() as u64,
            MemList::Many(m) => m.len(),
        }
    }

    /// Adds a ref; refs larger than all present take the fast path.
    #[inline]
    fn insert(&mut self, r: u64) {
        match self {
            MemList::One(x) => {
                if *x != r {
                    let (a, b) = if *x < r { (*x, r) } else { (r, *x) };
                    *self = MemList::Few(Box::new([a, b]));
                }
            }
            MemList::Few(v) => {
                let pos = match v.last() {
                    Some(&last) if last < r => v.len(),
                    _ => match v.binary_search(&r) {
                        Ok(_) => return,
                        Err(pos) => pos,
                    },
                };
                if v.len() < FEW_MAX {
                    let mut grown = Vec::with_capacity(v.len() + 1);
                    grown.extend_from_slice(&v[..pos]);
                    grown.push(r);
                    grown.extend_from_slice(&v[pos..]);
                    *v = grown.into_boxed_slice();
                } else {
                    let mut m = Bitmap::from_sorted(v);
                    m.insert(r);
                    *self = MemList::Many(Box::new(m));
                }
            }
            MemList::Many(m) => m.insert(r),
        }
    }

    /// Removes the refs in `refs`; returns whether any ref is left.
    fn remove_all(&mut self, refs: &PostingsList) -> bool {
        match self {
            MemList::One(x) => !refs.contains(SeriesRef(*x)),
            MemList::Few(v) => {
                let kept: Vec<u64> = v
                    .iter()
                    .copied()
                    .filter(|&r| !refs.contains(SeriesRef(r)))
                    .collect();
                match kept.len() {
                    0 => return false,
                    1 => *self = MemList::One(kept[0]),
                    n if n < v.len() => *v = kept.into_boxed_slice(),
                    _ => {}
                }
                true
            }
            MemList::Many(m) => {
                m.remove_all(refs);
                match m.len() {
                    0 => false,
                    n if n <= (FEW_MAX / 2) as u64 => {
                        let v: Vec<u64> = m.map.iter().collect();
                        *self = if v.len() == 1 {
                            MemList::One(v[0])
                        } else {
                            MemList::Few(v.into_boxed_slice())
                        };
                        true
                    }
                    _ => true,
                }
            }
        }
    }

    /// Adds this list's refs that are also in `within` to a union under construction.
    #[inline]
    fn add_within_to(&self, u: &mut UnionBuilder, within: &PostingsList) {
        match self {
            MemList::One(r) => {
                if within.contains(SeriesRef(*r)) {
                    u.add_one(*r);
                }
            }
            MemList::Few(v) => {
                for &r in v.iter() {
                    if within.contains(SeriesRef(r)) {
                        u.add_one(r);
                    }
                }
            }
            MemList::Many(m) => m.add_within_to(u, within),
        }
    }

    /// Adds this list's refs to a union under construction.
    #[inline]
    fn add_to(&self, u: &mut UnionBuilder) {
        match self {
            MemList::One(r) => u.add_one(*r),
            MemList::Few(v) => u.add_sorted(v),
            MemList::Many(m) => m.add_to(u),
        }
    }
}

/// Appends moved from a [`Bitmap`]'s tail into its bitmap at once.
const TAIL_MAX: usize = 64;

/// A long list: a roaring bitmap plus a sorted buffer of the latest appends.
///
/// Appending to a roaring bitmap one ref at a time costs a search per ref (`insert`), or
/// a scan of a dense container for its maximum (`push`). Appends go to `tail` instead and
/// move to the bitmap `TAIL_MAX` at a time with `append`, which finds the maximum once.
#[derive(Default)]
struct Bitmap {
    map: RoaringTreemap,
    /// Sorted; every ref here is larger than every ref in `map`.
    tail: Vec<u64>,
    /// The largest ref in the list (0 when empty).
    max: u64,
}

impl Bitmap {
    fn from_sorted(refs: &[u64]) -> Bitmap {
        Bitmap {
            map: RoaringTreemap::from_sorted_iter(refs.iter().copied()).unwrap_or_default(),
            tail: Vec::new(),
            max: refs.last().copied().unwrap_or(0),
        }
    }

    fn len(&self) -> u64 {
        self.map.len() + self.tail.len() as u64
    }

    #[inline]
    fn insert(&mut self, r: u64) {
        if r > self.max || (self.tail.is_empty() && self.map.is_empty()) {
            self.tail.push(r);
            self.max = r;
            if self.tail.len() >= TAIL_MAX {
                self.flush();
            }
        } else if self.tail.first().is_some_and(|&first| r >= first) {
            if let Err(pos) = self.tail.binary_search(&r) {
                self.tail.insert(pos, r);
            }
        } else {
            self.map.insert(r);
        }
    }

    /// Moves the tail into the bitmap.
    fn flush(&mut self) {
        if self.tail.is_empty() {
            return;
        }
        let appended = self.map.append(self.tail.iter().copied()).is_ok();
        debug_assert!(appended, "tail not sorted above the bitmap");
        if !appended {
            // Unreachable while the tail invariant holds; stay correct regardless.
            self.map.extend(self.tail.iter().copied());
        }
        self.tail.clear();
    }

    fn remove_all(&mut self, refs: &PostingsList) {
        self.flush();
        match refs.as_treemap() {
            Some(big) => self.map -= big,
            None => {
                for r in refs.iter() {
                    self.map.remove(r.0);
                }
            }
        }
        self.max = self.map.max().unwrap_or(0);
    }

    fn add_to(&self, u: &mut UnionBuilder) {
        u.add_treemap(self.map.clone());
        u.add_sorted(&self.tail);
    }

    fn add_within_to(&self, u: &mut UnionBuilder, within: &PostingsList) {
        match (within.as_slice(), within.as_treemap()) {
            (Some(w), _) => {
                for &r in w {
                    if self.map.contains(r) {
                        u.add_one(r);
                    }
                }
            }
            (_, Some(w)) => u.add_treemap(treemap_and(&self.map, w)),
            (None, None) => {}
        }
        for &r in &self.tail {
            if within.contains(SeriesRef(r)) {
                u.add_one(r);
            }
        }
    }
}
