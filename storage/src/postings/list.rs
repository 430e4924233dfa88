//! [`PostingsList`]: an immutable sorted set of series refs, and its set algebra.

use std::fmt;

use roaring::{MultiOps, RoaringTreemap};

use crate::SeriesRef;

/// Lists of at most this many refs are plain sorted arrays; longer ones are compressed
/// bitmaps. At this size an array (8 bytes a ref) and a bitmap (2 bytes a ref plus a few
/// hundred bytes of structure) cost about the same.
pub(crate) const SMALL_MAX: usize = 64;

/// An immutable, sorted set of series refs.
///
/// Two shapes dominate an index, and each gets its own representation: the many lists of
/// one or a few refs (a high-cardinality label such as `pod` or `id`) are sorted arrays,
/// and the few long lists (`job`, `__name__` of a popular metric: hundreds of thousands
/// of mostly consecutive refs) are [`RoaringTreemap`]s, about 2 bits to 2 bytes a ref.
/// The choice is canonical (arrays exactly up to `SMALL_MAX` refs), so two lists with
/// the same refs have the same representation.
#[derive(Clone, Default)]
pub struct PostingsList {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// Sorted, no duplicates, at most `SMALL_MAX` refs.
    Small(Box<[u64]>),
    /// More than `SMALL_MAX` refs.
    Big(RoaringTreemap),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Small(Box::new([]))
    }
}

impl PostingsList {
    /// The empty list.
    pub fn new() -> PostingsList {
        PostingsList::default()
    }

    /// From refs already sorted and de-duplicated.
    pub(crate) fn from_sorted_vec(v: Vec<u64>) -> PostingsList {
        debug_assert!(v.windows(2).all(|w| w[0] < w[1]));
        if v.len() <= SMALL_MAX {
            PostingsList {
                repr: Repr::Small(v.into_boxed_slice()),
            }
        } else {
            let map = RoaringTreemap::from_sorted_iter(v).unwrap_or_default();
            PostingsList {
                repr: Repr::Big(map),
            }
        }
    }

    /// From a bitmap, choosing the canonical representation.
    pub(crate) fn from_treemap(map: RoaringTreemap) -> PostingsList {
        if map.len() <= SMALL_MAX as u64 {
            PostingsList {
                repr: Repr::Small(map.iter().collect()),
            }
        } else {
            PostingsList {
                repr: Repr::Big(map),
            }
        }
    }

    /// The refs, for a short list.
    pub(crate) fn as_slice(&self) -> Option<&[u64]> {
        match &self.repr {
            Repr::Small(v) => Some(v),
            Repr::Big(_) => None,
        }
    }

    /// The bitmap, for a long list.
    pub(crate) fn as_treemap(&self) -> Option<&RoaringTreemap> {
        match &self.repr {
            Repr::Small(_) => None,
            Repr::Big(m) => Some(m),
        }
    }

    /// Number of refs.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Big(m) => usize::try_from(m.len()).unwrap_or(usize::MAX),
        }
    }

    pub fn is_empty(&self) -> bool {
        match &self.repr {
            Repr::Small(v) => v.is_empty(),
            Repr::Big(m) => m.is_empty(),
        }
    }

    pub fn contains(&self, r: SeriesRef) -> bool {
        match &self.repr {
            Repr::Small(v) => v.binary_search(&r.0).is_ok(),
            Repr::Big(m) => m.contains(r.0),
        }
    }

    /// The refs in increasing order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: match &self.repr {
                Repr::Small(v) => IterInner::Small(v.iter()),
                Repr::Big(m) => IterInner::Big(Box::new(m.iter())),
            },
        }
    }

    /// The refs in both lists.
    pub fn intersect(&self, other: &PostingsList) -> PostingsList {
        match (&self.repr, &other.repr) {
            (Repr::Small(a), Repr::Small(b)) => {
                PostingsList::from_sorted_vec(intersect_sorted(a, b))
            }
            (Repr::Small(a), Repr::Big(b)) | (Repr::Big(b), Repr::Small(a)) => {
                PostingsList::from_sorted_vec(
                    a.iter().copied().filter(|r| b.contains(*r)).collect(),
                )
            }
            (Repr::Big(a), Repr::Big(b)) => PostingsList::from_treemap(treemap_and(a, b)),
        }
    }

    /// The refs in either list.
    pub fn union(&self, other: &PostingsList) -> PostingsList {
        match (&self.repr, &other.repr) {
            (Repr::Small(a), Repr::Small(b)) => PostingsList::from_sorted_vec(union_sorted(a, b)),
            (Repr::Small(a), Repr::Big(b)) | (Repr::Big(b), Repr::Small(a)) => {
                let mut m = b.clone();
                for &r in a.iter() {
                    m.insert(r);
                }
                PostingsList::from_treemap(m)
            }
            (Repr::Big(a), Repr::Big(b)) => PostingsList::from_treemap(a | b),
        }
    }

    /// The refs of `self` that are not in `other`.
    pub fn difference(&self, other: &PostingsList) -> PostingsList {
        match (&self.repr, &other.repr) {
            (Repr::Small(a), Repr::Small(b)) => {
                PostingsList::from_sorted_vec(difference_sorted(a, b))
            }
            (Repr::Small(a), Repr::Big(b)) => PostingsList::from_sorted_vec(
                a.iter().copied().filter(|r| !b.contains(*r)).collect(),
            ),
            (Repr::Big(a), Repr::Small(b)) => {
                let mut m = a.clone();
                for &r in b.iter() {
                    m.remove(r);
                }
                PostingsList::from_treemap(m)
            }
            (Repr::Big(a), Repr::Big(b)) => PostingsList::from_treemap(a - b),
        }
    }

    /// The refs in every list; empty for no lists. Intersects the shortest lists first
    /// and stops as soon as the result is empty.
    pub fn intersect_many(lists: impl IntoIterator<Item = PostingsList>) -> PostingsList {
        let mut lists: Vec<PostingsList> = lists.into_iter().collect();
        lists.sort_by_key(PostingsList::len);
        let mut lists = lists.into_iter();
        let Some(mut acc) = lists.next() else {
            return PostingsList::new();
        };
        for l in lists {
            if acc.is_empty() {
                break;
            }
            acc = match (acc.repr, &l.repr) {
                (Repr::Big(mut a), Repr::Big(b)) => {
                    a &= b;
                    PostingsList::from_treemap(a)
                }
                (repr, _) => PostingsList { repr }.intersect(&l),
            };
        }
        acc
    }

    /// The refs in any of the lists. Short lists are merged as arrays (one sort of all
    /// their refs), long ones as bitmaps, and the two results combined once.
    pub fn union_many(lists: impl IntoIterator<Item = PostingsList>) -> PostingsList {
        let mut u = UnionBuilder::default();
        for l in lists {
            match l.repr {
                Repr::Small(v) => u.add_sorted(&v),
                Repr::Big(m) => u.add_treemap(m),
            }
        }
        u.finish()
    }
}

/// Accumulates a union of many lists: array refs are concatenated (and sorted once at the
/// end), bitmaps are OR-ed together.
#[derive(Default)]
pub(crate) struct UnionBuilder {
    small: Vec<u64>,
    big: Vec<RoaringTreemap>,
}

impl UnionBuilder {
    pub fn add_one(&mut self, r: u64) {
        self.small.push(r);
    }

    pub fn add_sorted(&mut self, refs: &[u64]) {
        self.small.extend_from_slice(refs);
    }

    pub fn add_treemap(&mut self, m: RoaringTreemap) {
        self.big.push(m);
    }

    pub fn finish(self) -> PostingsList {
        let UnionBuilder { mut small, big } = self;
        small.sort_unstable();
        small.dedup();
        if big.is_empty() {
            return PostingsList::from_sorted_vec(small);
        }
        let mut m = if big.len() == 1 {
            big.into_iter().next().unwrap_or_default()
        } else {
            big.union()
        };
        if small.len() > SMALL_MAX {
            if let Ok(s) = RoaringTreemap::from_sorted_iter(small) {
                m |= s;
            }
        } else {
            for r in small {
                m.insert(r);
            }
        }
        PostingsList::from_treemap(m)
    }
}

/// Collects refs in any order (duplicates allowed).
impl FromIterator<SeriesRef> for PostingsList {
    fn from_iter<I: IntoIterator<Item = SeriesRef>>(iter: I) -> PostingsList {
        let mut v: Vec<u64> = iter.into_iter().map(|r| r.0).collect();
        v.sort_unstable();
        v.dedup();
        PostingsList::from_sorted_vec(v)
    }
}

impl<'a> IntoIterator for &'a PostingsList {
    type Item = SeriesRef;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for PostingsList {
    fn eq(&self, other: &PostingsList) -> bool {
        match (&self.repr, &other.repr) {
            (Repr::Small(a), Repr::Small(b)) => a == b,
            (Repr::Big(a), Repr::Big(b)) => a == b,
            // The representation is canonical: different shapes, different lengths.
            _ => false,
        }
    }
}

impl Eq for PostingsList {}

impl fmt::Debug for PostingsList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 32;
        let mut l = f.debug_list();
        l.entries(self.iter().take(SHOWN).map(|r| r.0));
        if self.len() > SHOWN {
            l.entry(&format_args!("... {} refs in all", self.len()));
        }
        l.finish()
    }
}

/// Iterator over a [`PostingsList`], in increasing order.
pub struct Iter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    Small(std::slice::Iter<'a, u64>),
    /// Boxed: the bitmap iterator is a few hundred bytes.
    Big(Box<roaring::treemap::Iter<'a>>),
}

impl Iterator for Iter<'_> {
    type Item = SeriesRef;

    #[inline]
    fn next(&mut self) -> Option<SeriesRef> {
        match &mut self.inner {
            IterInner::Small(it) => it.next().map(|&r| SeriesRef(r)),
            IterInner::Big(it) => it.next().map(SeriesRef),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            IterInner::Small(it) => it.size_hint(),
            IterInner::Big(it) => it.size_hint(),
        }
    }
}

/// The intersection of two bitmaps, built from the common parts only (the `&` operator
/// of `roaring` first clones the larger operand).
pub(crate) fn treemap_and(a: &RoaringTreemap, b: &RoaringTreemap) -> RoaringTreemap {
    let mut out = Vec::new();
    let (mut ia, mut ib) = (a.bitmaps().peekable(), b.bitmaps().peekable());
    while let (Some((ka, ba)), Some((kb, bb))) = (ia.peek(), ib.peek()) {
        match ka.cmp(kb) {
            std::cmp::Ordering::Less => {
                ia.next();
            }
            std::cmp::Ordering::Greater => {
                ib.next();
            }
            std::cmp::Ordering::Equal => {
                let both = *ba & *bb;
                if !both.is_empty() {
                    out.push((*ka, both));
                }
                ia.next();
                ib.next();
            }
        }
    }
    RoaringTreemap::from_bitmaps(out)
}

/// Merge-intersection of two sorted arrays, galloping through the longer one when the
/// lengths differ a lot.
fn intersect_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(short.len());
    if short.len() * 8 < long.len() {
        let mut rest = long;
        for &x in short {
            match rest.binary_search(&x) {
                Ok(i) => {
                    out.push(x);
                    rest = &rest[i + 1..];
                }
                Err(i) => rest = &rest[i..],
            }
        }
        return out;
    }
    let (mut i, mut j) = (0, 0);
    while i < short.len() && j < long.len() {
        match short[i].cmp(&long[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(short[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn union_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn difference_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j == b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}
