//! Helpers shared by the aggregations and the binary operators: walking a series' points
//! as step indices, projecting a label set onto a subset of its names (grouping keys and
//! matching signatures), interning those keys, and Prometheus's label-set hash.

use ember_storage::labels::METRIC_NAME;
use ember_storage::Labels;
use hashbrown::HashMap;

use crate::value::{FPoint, Steps};

/// Maps point timestamps, visited in increasing order, to step indices; a point one
/// interval after the previous one (the common case) is mapped without a division.
pub(crate) struct StepCursor<'a> {
    steps: &'a Steps,
    len: usize,
    next_t: i64,
    next_i: usize,
}

impl<'a> StepCursor<'a> {
    pub fn new(steps: &'a Steps) -> StepCursor<'a> {
        StepCursor {
            steps,
            len: steps.len(),
            next_t: i64::MIN,
            next_i: usize::MAX,
        }
    }

    /// The step at `t`, if `t` is a step timestamp.
    #[inline]
    pub fn index(&mut self, t: i64) -> Option<usize> {
        let i = if t == self.next_t && self.next_i < self.len {
            self.next_i
        } else {
            self.steps.index(t)?
        };
        self.next_t = t.wrapping_add(self.steps.interval);
        self.next_i = i + 1;
        Some(i)
    }
}

/// The `(step index, value)` of each point of `points`, in time order. Points are
/// expected at step timestamps; one that is not is skipped.
pub(crate) fn step_points<'a>(
    steps: &'a Steps,
    points: &'a [FPoint],
) -> impl Iterator<Item = (usize, f64)> + 'a {
    let mut cursor = StepCursor::new(steps);
    points
        .iter()
        .filter_map(move |p| cursor.index(p.t).map(|i| (i, p.f)))
}

/// When `points` sit at consecutive steps (the common case: a series with a value at
/// every step of its span), the step of the first; then point `k` is at step `first + k`.
/// Relies on the points being at step timestamps, in time order, as evaluated series are.
#[inline]
pub(crate) fn dense_start(steps: &Steps, points: &[FPoint]) -> Option<usize> {
    let (first, last) = (points.first()?, points.last()?);
    let i0 = steps.index(first.t)?;
    let span = (points.len() as i64 - 1).checked_mul(steps.interval)?;
    (last.t.checked_sub(first.t)? == span && i0 + points.len() <= steps.len()).then_some(i0)
}

/// A subset of a label set's names: the grouping of an aggregation (`by`/`without`) or the
/// matching of a binary operation (`on`/`ignoring`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Only these names (sorted, unique).
    Keep(Vec<String>),
    /// Every name but these (sorted, unique; always including `__name__`).
    Drop(Vec<String>),
}

impl Selection {
    /// Only `names`.
    pub fn keep<S: AsRef<str>>(names: &[S]) -> Selection {
        Selection::Keep(sorted(names.iter().map(|s| s.as_ref().to_string())))
    }

    /// Every name but `names` and the metric name.
    pub fn drop<S: AsRef<str>>(names: &[S]) -> Selection {
        let names = names.iter().map(|s| s.as_ref().to_string());
        Selection::Drop(sorted(names.chain([METRIC_NAME.to_string()])))
    }

    /// Whether label `name` is part of the selection.
    #[inline]
    pub fn selects(&self, name: &str) -> bool {
        match self {
            Selection::Keep(names) => contains(names, name),
            Selection::Drop(names) => !contains(names, name),
        }
    }

    /// Writes the selected pairs of `labels` into `out` (cleared first) as
    /// `name 0xff value 0xff ...`: equal keys mean equal selected labels, because `0xff`
    /// never occurs in UTF-8 text.
    pub fn key_into(&self, labels: &Labels, out: &mut Vec<u8>) {
        out.clear();
        if matches!(self, Selection::Keep(names) if names.is_empty()) {
            return;
        }
        for l in labels.iter() {
            if self.selects(l.name) {
                out.extend_from_slice(l.name.as_bytes());
                out.push(0xff);
                out.extend_from_slice(l.value.as_bytes());
                out.push(0xff);
            }
        }
    }

    /// The selected labels of `labels` as a label set.
    pub fn project(&self, labels: &Labels) -> Labels {
        if matches!(self, Selection::Keep(names) if names.is_empty()) {
            return Labels::empty();
        }
        let mut b = labels.builder();
        b.retain(|name, _| self.selects(name));
        b.labels()
    }
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[inline]
fn contains(sorted_names: &[String], name: &str) -> bool {
    // Grouping lists are short: a linear scan beats a binary search's branches.
    if sorted_names.len() <= 8 {
        sorted_names.iter().any(|n| n == name)
    } else {
        sorted_names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }
}

/// Gives each distinct key a dense id (0, 1, 2, ... in order of first appearance).
#[derive(Default)]
pub(crate) struct Interner {
    ids: HashMap<Box<[u8]>, u32>,
}

impl Interner {
    /// The id of `key`, and whether it is new.
    #[inline]
    pub fn intern(&mut self, key: &[u8]) -> (u32, bool) {
        if let Some(&id) = self.ids.get(key) {
            return (id, false);
        }
        let id = self.ids.len() as u32;
        self.ids.insert(key.into(), id);
        (id, true)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Prometheus's `labels.Labels.Hash()` in its default (`stringlabels`) build, which
/// Prometheus 3.5 and later ship: xxHash64 (seed 0) over the label set's packed form, each
/// name and value preceded by its length as one byte when below 255, else as the byte 255
/// followed by the length in three bytes little-endian.
pub(crate) fn prometheus_labels_hash(labels: &Labels, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    for l in labels.iter() {
        put_stringlabels_str(buf, l.name);
        put_stringlabels_str(buf, l.value);
    }
    xxhash_rust::xxh64::xxh64(buf, 0)
}

fn put_stringlabels_str(buf: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n < 255 {
        buf.push(n as u8);
    } else {
        buf.push(255);
        buf.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
    }
    buf.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_storage::labels;

    #[test]
    fn step_points_maps_timestamps_to_steps() {
        let steps = Steps::range(1000, 5000, 1000);
        let pts = [
            FPoint { t: 1000, f: 1.0 },
            FPoint { t: 2000, f: 2.0 },
            FPoint { t: 2500, f: 9.0 }, // not a step: skipped
            FPoint { t: 4000, f: 4.0 },
            FPoint { t: 5000, f: 5.0 },
            FPoint { t: 6000, f: 6.0 }, // past the end: skipped
        ];
        let got: Vec<_> = step_points(&steps, &pts).collect();
        assert_eq!(got, [(0, 1.0), (1, 2.0), (3, 4.0), (4, 5.0)]);
    }

    #[test]
    fn dense_series_are_recognised() {
        let steps = Steps::range(1000, 5000, 1000);
        let pts =
            |ts: &[i64]| -> Vec<FPoint> { ts.iter().map(|&t| FPoint { t, f: 0.0 }).collect() };
        assert_eq!(dense_start(&steps, &pts(&[2000, 3000, 4000])), Some(1));
        assert_eq!(dense_start(&steps, &pts(&[1000])), Some(0));
        assert_eq!(dense_start(&steps, &pts(&[2000, 4000])), None);
        assert_eq!(dense_start(&steps, &pts(&[4000, 5000, 6000])), None);
        assert_eq!(dense_start(&steps, &pts(&[])), None);
    }

    #[test]
    fn selections() {
        let l = labels!("__name__" => "up", "job" => "a", "instance" => "i", "zone" => "z");
        let by = Selection::keep(&["zone", "job", "missing"]);
        assert_eq!(by.project(&l), labels!("job" => "a", "zone" => "z"));
        let without = Selection::drop(&["zone"]);
        assert_eq!(
            without.project(&l),
            labels!("instance" => "i", "job" => "a")
        );
        assert_eq!(Selection::keep::<&str>(&[]).project(&l), Labels::empty());

        let mut k1 = Vec::new();
        let mut k2 = Vec::new();
        by.key_into(&l, &mut k1);
        assert_eq!(k1, b"job\xffa\xffzone\xffz\xff");
        // The same selected labels give the same key whatever else differs.
        by.key_into(&labels!("job" => "a", "zone" => "z", "x" => "y"), &mut k2);
        assert_eq!(k1, k2);
        // Values that would collide without separators do not.
        let a = labels!("a" => "aa", "b" => "bb");
        let b = labels!("a" => "a", "b" => "abb");
        let ab = Selection::keep(&["a", "b"]);
        ab.key_into(&a, &mut k1);
        ab.key_into(&b, &mut k2);
        assert_ne!(k1, k2);
    }

    #[test]
    fn interner_ids_are_dense_in_first_seen_order() {
        let mut i = Interner::default();
        assert_eq!(i.intern(b"x"), (0, true));
        assert_eq!(i.intern(b"y"), (1, true));
        assert_eq!(i.intern(b"x"), (0, false));
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn xxh64_reference_vectors() {
        // Published XXH64 test vectors (seed 0).
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxhash_rust::xxh64::xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxhash_rust::xxh64::xxh64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
    }

    #[test]
    fn stringlabels_layout() {
        // {__name__="up", job="x"} packs as
        //   8 "__name__" 2 "up" 3 "job" 1 "x"
        let mut buf = Vec::new();
        let h = prometheus_labels_hash(&labels!("__name__" => "up", "job" => "x"), &mut buf);
        assert_eq!(buf, b"\x08__name__\x02up\x03job\x01x");
        assert_eq!(
            h,
            xxhash_rust::xxh64::xxh64(b"\x08__name__\x02up\x03job\x01x", 0)
        );
        // A 300-byte value: 255, then 300 = 0x012c as three bytes little-endian.
        let long = "v".repeat(300);
        prometheus_labels_hash(&labels!("a" => long.as_str()), &mut buf);
        assert_eq!(&buf[..6], b"\x01a\xff\x2c\x01\x00");
        assert_eq!(buf.len(), 2 + 4 + 300);
    }
}
