//! `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`.
//!
//! Order only means something for an instant query: a range query's result is ordered by
//! labels whatever the expression, so there the functions return their input unchanged
//! and raise Prometheus's "sort is ineffective" warning. For an instant query each series
//! holds at most one sample, and the series are reordered.
//!
//! Prometheus's comparators are not always consistent (NaN compares "less" both ways; the
//! natural string order calls `"01"` and `"1"` each less than the other), so the sort must
//! not rely on a total order: small inputs use Go's own insertion sort (what Go's
//! `sort.Sort` and `slices.SortFunc` run for up to 12 elements, so those give Go's exact
//! order), larger ones a merge sort; neither can panic on an inconsistent comparator.

use std::cmp::Ordering;

use crate::value::Series;

use super::FnCtx;

/// `sort` (ascending) / `sort_desc` (descending) by sample value, NaN last either way.
/// Series without a float sample are left out.
pub(super) fn by_value(mut input: Vec<Series>, desc: bool, ctx: &mut FnCtx<'_>) -> Vec<Series> {
    input.retain(|s| !s.floats.is_empty());
    if ctx.steps.is_range() {
        ctx.annotations.sort_in_range_query(ctx.call_pos);
        return input;
    }
    let value = |s: &Series| s.floats[0].f;
    sort_by(&mut input, |a, b| {
        let (a, b) = (value(a), value(b));
        // NaN first in the reversed order, so last after reversing.
        b.is_nan() || if desc { b < a } else { b > a }
    });
    input
}

/// `sort_by_label(_desc)(v, names...)`: by each label's value in natural order (numbers
/// inside values compare as numbers), then by the whole label set.
pub(super) fn by_label(
    mut input: Vec<Series>,
    names: &[String],
    desc: bool,
    ctx: &mut FnCtx<'_>,
) -> Vec<Series> {
    if ctx.steps.is_range() {
        ctx.annotations.sort_in_range_query(ctx.call_pos);
        return input;
    }
    sort_by(&mut input, |a, b| {
        for name in names {
            let (x, y) = (
                a.metric.get(name).unwrap_or(""),
                b.metric.get(name).unwrap_or(""),
            );
            if x == y {
                continue;
            }
            return natural_less(x, y) != desc;
        }
        let c = a.metric.cmp(&b.metric);
        if desc {
            c == Ordering::Greater
        } else {
            c == Ordering::Less
        }
    });
    input
}

/// Sorts `v` by `less` without assuming it is a consistent order.
fn sort_by<T>(v: &mut Vec<T>, less: impl Fn(&T, &T) -> bool) {
    if v.len() <= 12 {
        // Go's insertionSort: move each element left while it is less than its neighbour.
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    // A stable top-down merge sort over indices.
    let mut idx: Vec<usize> = (0..v.len()).collect();
    let mut tmp = idx.clone();
    merge_sort(&mut idx, &mut tmp, &|a: &usize, b: &usize| {
        less(&v[*a], &v[*b])
    });
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(idx.into_iter().filter_map(|i| slots[i].take()));
}

fn merge_sort(a: &mut [usize], tmp: &mut [usize], less: &impl Fn(&usize, &usize) -> bool) {
    let n = a.len();
    if n <= 1 {
        return;
    }
    let mid = n / 2;
    merge_sort(&mut a[..mid], &mut tmp[..mid], less);
    merge_sort(&mut a[mid..], &mut tmp[mid..], less);
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if less(&a[j], &a[i]) {
            tmp[k] = a[j];
            j += 1;
        } else {
            tmp[k] = a[i];
            i += 1;
        }
        k += 1;
    }
    tmp[k..k + mid - i].copy_from_slice(&a[i..mid]);
    let k = k + mid - i;
    tmp[k..k + n - j].copy_from_slice(&a[j..n]);
    a.copy_from_slice(&tmp[..n]);
}

/// One run of a string for natural ordering: ASCII digits, or anything else.
fn chunks(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.as_bytes().first()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .bytes()
            .position(|b| b.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

/// Natural order as the `facette/natsort` package Prometheus uses defines it: chunk by
/// chunk, numbers (that fit an int64) as numbers, other chunks as strings; when all chunks
/// of `a` equal `b`'s so far and `a` runs out first, `a` is less.
fn natural_less(a: &str, b: &str) -> bool {
    let mut ca = chunks(a).peekable();
    let mut cb = chunks(b).peekable();
    while let Some(x) = ca.next() {
        let Some(y) = cb.next() else {
            return false;
        };
        let a_last = ca.peek().is_none();
        let b_last = cb.peek().is_none();
        if let (Ok(xi), Ok(yi)) = (x.parse::<i64>(), y.parse::<i64>()) {
            if xi != yi {
                return xi < yi;
            }
        } else if x != y {
            return x < y;
        }
        if a_last {
            return true;
        }
        if b_last {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        assert!(natural_less("4m5", "4m600"));
        assert!(natural_less("4m600", "4m1000"));
        assert!(!natural_less("4m1000", "4m5"));
        assert!(natural_less("1.2.3", "1.11.3"));
        assert!(natural_less("1.11.3", "1.111.3"));
        assert!(natural_less("2", "10"));
        assert!(natural_less("a", "b"));
        assert!(natural_less("a", "a1"));
        assert!(!natural_less("a1", "a"));
        // natsort's quirks: equal numbers with different text, and empty strings.
        assert!(natural_less("01", "1") && natural_less("1", "01"));
        assert!(!natural_less("", "x") && !natural_less("x", ""));
        // Numbers beyond int64 compare as strings: "2…" < "3" although 2e19 > 3.
        assert!(natural_less("20000000000000000000", "3"));
        assert!(!natural_less("3", "20000000000000000000"));
    }

    #[test]
    fn insertion_and_merge_sort_agree_with_a_total_order() {
        for n in [0usize, 1, 2, 5, 12, 13, 40, 100] {
            let v: Vec<u64> = (0..n as u64).map(|i| (i * 7919 + 13) % 31).collect();
            let mut got = v.clone();
            sort_by(&mut got, |a, b| a < b);
            let mut want = v.clone();
            want.sort();
            assert_eq!(got, want, "{n}");
        }
    }

    #[test]
    fn merge_sort_is_stable() {
        let v: Vec<(u8, usize)> = (0..50).map(|i| ((i % 3) as u8, i)).collect();
        let mut got = v.clone();
        sort_by(&mut got, |a, b| a.0 < b.0);
        let mut want = v;
        want.sort_by_key(|x| x.0);
        assert_eq!(got, want);
    }

    #[test]
    fn inconsistent_comparators_do_not_panic() {
        let mut v: Vec<f64> = (0..100)
            .map(|i| if i % 3 == 0 { f64::NAN } else { i as f64 })
            .collect();
        sort_by(&mut v, |a, b| a.is_nan() || a < b);
        assert_eq!(v.len(), 100);
    }
}
