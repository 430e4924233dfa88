use super::list::SMALL_MAX;
use super::*;
use crate::matcher::MatchOp;
use crate::{Labels, SeriesRef};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;

fn list(refs: impl IntoIterator<Item = u64>) -> PostingsList {
    refs.into_iter().map(SeriesRef).collect()
}

fn set(l: &PostingsList) -> BTreeSet<u64> {
    l.iter().map(|r| r.0).collect()
}

fn refs(l: &PostingsList) -> Vec<u64> {
    l.iter().map(|r| r.0).collect()
}

// -------------------------------------------------------------------------------------
// List algebra against BTreeSet.

/// Ref sets of every shape: empty, a few, around the array/bitmap threshold, long and
/// dense, sparse, and beyond 2^32.
fn ref_set() -> impl Strategy<Value = BTreeSet<u64>> {
    prop_oneof![
        prop::collection::btree_set(0u64..200, 0..8),
        prop::collection::btree_set(0u64..400, (SMALL_MAX - 3)..(SMALL_MAX + 4)),
        prop::collection::btree_set(0u64..2_000, 100..1_500),
        prop::collection::btree_set(any::<u64>(), 0..150),
        prop::collection::btree_set((1u64 << 32) - 100..(1u64 << 32) + 100, 0..150),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn algebra_matches_btreeset(a in ref_set(), b in ref_set(), probe in any::<u64>()) {
        let (la, lb) = (list(a.iter().copied()), list(b.iter().copied()));
        prop_assert_eq!(la.len(), a.len());
        prop_assert_eq!(la.is_empty(), a.is_empty());
        prop_assert_eq!(refs(&la), a.iter().copied().collect::<Vec<_>>());
        for x in a.iter().take(20).copied().chain([probe]) {
            prop_assert_eq!(la.contains(SeriesRef(x)), a.contains(&x));
        }
        prop_assert_eq!(set(&la.intersect(&lb)), &a & &b);
        prop_assert_eq!(set(&la.union(&lb)), &a | &b);
        prop_assert_eq!(set(&la.difference(&lb)), &a - &b);
        prop_assert_eq!(set(&lb.difference(&la)), &b - &a);
        // Canonical representation: equal sets are equal lists, however they were built.
        prop_assert_eq!(la.intersect(&lb), list((&a & &b).into_iter()));
        prop_assert_eq!(la.union(&lb), list((&a | &b).into_iter()));
        prop_assert_eq!(la == lb, a == b);
    }

    #[test]
    fn many_list_operations_match_btreeset(sets in prop::collection::vec(ref_set(), 0..6)) {
        let lists: Vec<PostingsList> = sets.iter().map(|s| list(s.iter().copied())).collect();
        let union: BTreeSet<u64> = sets.iter().flatten().copied().collect();
        let inter: BTreeSet<u64> = match sets.split_first() {
            None => BTreeSet::new(),
            Some((first, rest)) => first
                .iter()
                .copied()
                .filter(|x| rest.iter().all(|s| s.contains(x)))
                .collect(),
        };
        prop_assert_eq!(set(&PostingsList::union_many(lists.clone())), union);
        prop_assert_eq!(set(&PostingsList::intersect_many(lists)), inter);
    }

    #[test]
    fn from_iter_sorts_and_dedups(v in prop::collection::vec(0u64..500, 0..300)) {
        let l = list(v.iter().copied());
        let want: BTreeSet<u64> = v.into_iter().collect();
        prop_assert_eq!(refs(&l), want.into_iter().collect::<Vec<_>>());
    }
}

#[test]
fn empty_list_operations() {
    let e = PostingsList::new();
    let l = list([1, 2, 3]);
    assert!(e.is_empty());
    assert_eq!(e.len(), 0);
    assert_eq!(e.iter().next(), None);
    assert_eq!(e.union(&l), l);
    assert_eq!(l.intersect(&e), e);
    assert_eq!(l.difference(&e), l);
    assert_eq!(PostingsList::intersect_many([]), e);
    assert_eq!(PostingsList::union_many([]), e);
    assert_eq!(format!("{:?}", l), "[1, 2, 3]");
}

// -------------------------------------------------------------------------------------
// MemPostings.

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

#[test]
fn add_and_read_back() {
    let p = MemPostings::new();
    p.add(
        SeriesRef(1),
        labels(&[("__name__", "up"), ("job", "a")]).as_ref(),
    );
    p.add(
        SeriesRef(2),
        labels(&[("__name__", "up"), ("job", "b")]).as_ref(),
    );
    p.add(
        SeriesRef(3),
        labels(&[("__name__", "go_goroutines"), ("job", "a")]).as_ref(),
    );
    assert_eq!(refs(&p.get("__name__", "up")), [1, 2]);
    assert_eq!(refs(&p.get("job", "a")), [1, 3]);
    assert_eq!(refs(&p.get("job", "c")), Vec::<u64>::new());
    assert_eq!(refs(&p.get("nope", "a")), Vec::<u64>::new());
    assert_eq!(refs(&p.postings("job", &["a", "b", "zz", ""])), [1, 2, 3]);
    assert_eq!(refs(&p.postings_for_name("job")), [1, 2, 3]);
    assert_eq!(
        refs(&p.postings_matching("__name__", &mut |v| v.starts_with("go"))),
        [3]
    );
    assert_eq!(refs(&p.all()), [1, 2, 3]);
    assert_eq!(p.label_names(), ["__name__", "job"]);
    assert_eq!(p.label_values("__name__"), ["go_goroutines", "up"]);
    assert_eq!(p.label_values("nope"), Vec::<String>::new());
}

#[test]
fn lists_grow_shrink_and_accept_any_order() {
    let p = MemPostings::new();
    let l = labels(&[("job", "big")]);
    // Out-of-order and repeated adds, past the array/bitmap threshold.
    let mut want = BTreeSet::new();
    for i in (0..300u64)
        .rev()
        .chain(0..300)
        .chain([5, 1 << 40, (1 << 40) - 1])
    {
        let r = (i * 7919) % 1000 + if i >= 1 << 30 { i } else { 0 };
        p.add(SeriesRef(r), l.as_ref());
        want.insert(r);
        if i % 37 == 0 {
            assert_eq!(set(&p.get("job", "big")), want);
        }
    }
    assert_eq!(set(&p.get("job", "big")), want);
    // Delete all but a few: back to an array, then to nothing.
    let keep: BTreeSet<u64> = want.iter().copied().step_by(50).collect();
    let gone: BTreeSet<u64> = &want - &keep;
    p.delete(&list(gone.iter().copied()));
    assert_eq!(set(&p.get("job", "big")), keep);
    assert_eq!(set(&p.all()), keep);
    p.delete(&list(keep.iter().copied()));
    assert!(p.get("job", "big").is_empty());
    assert!(p.all().is_empty());
    assert_eq!(p.label_names(), Vec::<String>::new());
}

/// An operation on one label pair's list.
#[derive(Debug, Clone)]
enum ListOp {
    /// Add this many refs after the largest so far, with this stride.
    Append(u16, u8),
    /// Add a ref anywhere below this bound.
    Insert(u64),
    /// Delete refs: those divisible by the first number, below the second.
    Delete(u8, u64),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// One list through all its shapes (one ref, array, bitmap with buffered appends)
    /// and back, against a BTreeSet.
    #[test]
    fn mem_list_matches_btreeset(ops in prop::collection::vec(prop_oneof![
        4 => (1u16..150, 1u8..4).prop_map(|(n, s)| ListOp::Append(n, s)),
        2 => (0u64..3_000).prop_map(ListOp::Insert),
        1 => (1u8..5, 0u64..3_000).prop_map(|(d, below)| ListOp::Delete(d, below)),
    ], 1..12)) {
        let p = MemPostings::new();
        let l = labels(&[("k", "v")]);
        let mut want = BTreeSet::new();
        let mut next = 0u64;
        for op in ops {
            match op {
                ListOp::Append(n, stride) => {
                    for _ in 0..n {
                        p.add(SeriesRef(next), l.as_ref());
                        want.insert(next);
                        next += u64::from(stride);
                    }
                }
                ListOp::Insert(r) => {
                    p.add(SeriesRef(r), l.as_ref());
                    want.insert(r);
                    next = next.max(r + 1);
                }
                ListOp::Delete(d, below) => {
                    let gone: BTreeSet<u64> = want
                        .iter()
                        .copied()
                        .filter(|r| *r < below && r % u64::from(d) == 0)
                        .collect();
                    p.delete(&list(gone.iter().copied()));
                    want = &want - &gone;
                }
            }
            prop_assert_eq!(set(&p.get("k", "v")), want.clone());
            prop_assert_eq!(set(&p.all()), want.clone());
            // Restricted reads: a sparse and a dense restriction.
            for within in [list((0..3_000).step_by(7)), list(0..2_000)] {
                let expected: BTreeSet<u64> = want.intersection(&set(&within)).copied().collect();
                prop_assert_eq!(set(&p.postings_within("k", &["v"], &within)), expected.clone());
                prop_assert_eq!(
                    set(&p.postings_matching_within("k", &mut |_| true, &within)),
                    expected
                );
            }
        }
    }
}

#[test]
fn delete_drops_empty_values_and_names() {
    let p = MemPostings::new();
    p.add(SeriesRef(1), labels(&[("a", "1"), ("b", "x")]).as_ref());
    p.add(SeriesRef(2), labels(&[("a", "1"), ("c", "y")]).as_ref());
    p.add(SeriesRef(3), labels(&[("a", "2")]).as_ref());
    p.delete(&list([2, 3]));
    assert_eq!(p.label_names(), ["a", "b"]);
    assert_eq!(p.label_values("a"), ["1"]);
    assert_eq!(refs(&p.get("a", "1")), [1]);
    assert_eq!(refs(&p.all()), [1]);
    // Deleting refs that are not there changes nothing.
    p.delete(&list([7, 8]));
    assert_eq!(refs(&p.all()), [1]);
    // A deleted name can come back.
    p.add(SeriesRef(4), labels(&[("c", "z")]).as_ref());
    assert_eq!(p.label_values("c"), ["z"]);
}

/// The labels of series `r` in the concurrency test: shared, per-group and unique values.
fn concurrent_labels(r: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("metric_{}", r % 7)),
        ("job", "node".to_string()),
        ("instance", format!("host-{}", r % 13)),
        ("id", format!("{r}")),
        (format!("name_{}", r % 3).as_str(), "x".to_string()),
    ])
}

#[test]
fn concurrent_adds_then_exact_contents() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 3_000;
    let p = Arc::new(MemPostings::new());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A reader running alongside: every snapshot must be a subset of the final contents.
    let reader = {
        let (p, stop) = (Arc::clone(&p), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                for r in p.get("__name__", "metric_3").iter() {
                    assert_eq!(r.0 % 7, 3);
                }
                for r in p
                    .postings_matching("instance", &mut |v| v.ends_with('1'))
                    .iter()
                {
                    assert!(matches!(r.0 % 13, 1 | 11));
                }
                reads += 1;
            }
            reads
        })
    };
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                // Interleaved refs, so threads append to the same lists out of order.
                for i in 0..PER_THREAD {
                    let r = i * THREADS + t;
                    p.add(SeriesRef(r), concurrent_labels(r).as_ref());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);

    // Expected contents from the label sets.
    let n = THREADS * PER_THREAD;
    let mut want: std::collections::BTreeMap<(String, String), BTreeSet<u64>> = Default::default();
    for r in 0..n {
        for l in concurrent_labels(r).iter() {
            want.entry((l.name.to_string(), l.value.to_string()))
                .or_default()
                .insert(r);
        }
    }
    for ((name, value), refs) in &want {
        assert_eq!(&set(&p.get(name, value)), refs, "{name}={value}");
    }
    let names: BTreeSet<&str> = want.keys().map(|(n, _)| n.as_str()).collect();
    assert_eq!(p.label_names(), names.into_iter().collect::<Vec<_>>());
    let ids = p.label_values("id");
    assert_eq!(ids.len() as u64, n);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(set(&p.all()), (0..n).collect());
}

// -------------------------------------------------------------------------------------
// postings_for_matchers against brute force.

/// A tiny reader over a vector of label sets, evaluated the slow way, to check that
/// `postings_for_matchers` only relies on the trait's contract.
struct VecIndex(Vec<Labels>);

impl PostingsReader for VecIndex {
    fn postings(&self, name: &str, values: &[&str]) -> PostingsList {
        self.postings_matching(name, &mut |v| values.contains(&v))
    }
    fn postings_matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> PostingsList {
        let mut verdicts = std::collections::HashMap::new();
        let mut out = Vec::new();
        for (i, l) in self.0.iter().enumerate() {
            if let Some(v) = l.get(name) {
                if *verdicts.entry(v).or_insert_with(|| accept(v)) {
                    out.push(SeriesRef(i as u64));
                }
            }
        }
        out.into_iter().collect()
    }
    fn all_postings(&self) -> PostingsList {
        (0..self.0.len() as u64).map(SeriesRef).collect()
    }
    fn label_values(&self, name: &str) -> Vec<String> {
        let v: BTreeSet<String> = self
            .0
            .iter()
            .filter_map(|l| l.get(name))
            .map(String::from)
            .collect();
        v.into_iter().collect()
    }
}

/// Evaluates each matcher on each series, a missing label being "".
fn brute_force(series: &[Labels], ms: &[Matcher]) -> BTreeSet<u64> {
    if ms.is_empty() {
        return BTreeSet::new();
    }
    (0..series.len() as u64)
        .filter(|&i| {
            let l = &series[i as usize];
            ms.iter().all(|m| m.matches(l.get(m.name()).unwrap_or("")))
        })
        .collect()
}

const NAMES: &[&str] = &["__name__", "a", "b", "c"];
const VALUES: &[&str] = &["", "1", "2", "foo", "foobar", "FOO", "x\ny", "ü"];

fn series_strategy() -> impl Strategy<Value = Vec<Labels>> {
    let one = prop::collection::vec(
        (prop::sample::select(NAMES), prop::sample::select(VALUES)),
        0..5,
    )
    .prop_map(Labels::from_pairs);
    prop::collection::vec(one, 0..40)
}

fn matcher_strategy() -> impl Strategy<Value = Matcher> {
    let op = prop::sample::select(vec![
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::Regex,
        MatchOp::NotRegex,
    ]);
    // Names include "zz", which no series has; values include patterns matching "".
    let name = prop::sample::select(vec!["__name__", "a", "b", "c", "zz"]);
    let value = prop::sample::select(vec![
        "", "1", "2", "foo", "foobar", "FOO", "ü", "x\ny", ".*", ".+", "1|2", "1|", "foo.*",
        ".*bar", ".*o.*", "(?i)foo", "(?i)f.*", "f.+", "x.y", "[12]", "[^1]", ".?", "(foo)?",
        "fo+", "nomatch", ".", "..*",
    ]);
    (op, name, value).prop_map(|(op, n, v)| Matcher::new(op, n, v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn matchers_agree_with_brute_force(
        series in series_strategy(),
        ms in prop::collection::vec(matcher_strategy(), 0..4),
    ) {
        let want = brute_force(&series, &ms);
        let mem = MemPostings::new();
        for (i, l) in series.iter().enumerate() {
            mem.add(SeriesRef(i as u64), l.as_ref());
        }
        prop_assert_eq!(set(&postings_for_matchers(&mem, &ms)), want.clone(), "{:?}", ms);
        let vec_index = VecIndex(series);
        prop_assert_eq!(set(&postings_for_matchers(&vec_index, &ms)), want, "{:?}", ms);
    }
}

#[test]
fn documented_empty_label_semantics() {
    // docs/querying/basics.md: `http_requests_total{environment=""}` selects the series
    // without `environment`.
    let series = [
        labels(&[("__name__", "http_requests_total")]),
        labels(&[("__name__", "http_requests_total"), ("replica", "rep-a")]),
        labels(&[("__name__", "http_requests_total"), ("replica", "rep-b")]),
        labels(&[
            ("__name__", "http_requests_total"),
            ("environment", "development"),
        ]),
    ];
    let mem = MemPostings::new();
    for (i, l) in series.iter().enumerate() {
        mem.add(SeriesRef(i as u64), l.as_ref());
    }
    let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
    let q = |ms: &[Matcher]| refs(&postings_for_matchers(&mem, ms));
    let name = m(MatchOp::Equal, "__name__", "http_requests_total");
    assert_eq!(
        q(&[name.clone(), m(MatchOp::Equal, "environment", "")]),
        [0, 1, 2]
    );
    // `replica!="rep-a",replica=~"rep.*"` selects rep-b only.
    assert_eq!(
        q(&[
            m(MatchOp::NotEqual, "replica", "rep-a"),
            m(MatchOp::Regex, "replica", "rep.*")
        ]),
        [2]
    );
    // Only empty-matching matchers: subtract from every series.
    assert_eq!(q(&[m(MatchOp::Equal, "environment", "")]), [0, 1, 2]);
    assert_eq!(q(&[m(MatchOp::Regex, "replica", ".*")]), [0, 1, 2, 3]);
    assert_eq!(q(&[m(MatchOp::NotRegex, "replica", "rep-a")]), [0, 2, 3]);
    assert_eq!(q(&[m(MatchOp::Regex, "replica", "rep-a|")]), [0, 1, 3]);
    // `!=""` and `=~".+"` require the label.
    assert_eq!(q(&[m(MatchOp::NotEqual, "replica", "")]), [1, 2]);
    assert_eq!(q(&[m(MatchOp::Regex, "replica", ".+")]), [1, 2]);
    assert_eq!(q(&[m(MatchOp::NotRegex, "replica", ".+")]), [0, 3]);
    // Nothing matches `!~".*"`; a label no series has matches only "".
    assert_eq!(
        q(&[m(MatchOp::NotRegex, "replica", ".*")]),
        Vec::<u64>::new()
    );
    assert_eq!(q(&[m(MatchOp::Equal, "nope", "")]), [0, 1, 2, 3]);
    assert_eq!(q(&[m(MatchOp::Equal, "nope", "x")]), Vec::<u64>::new());
    assert_eq!(q(&[]), Vec::<u64>::new());
}
