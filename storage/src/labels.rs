//! Label sets: the identity of a series.
//!
//! A [`Labels`] is an immutable set of `name="value"` pairs, sorted by name, with unique
//! names and no empty values (Prometheus treats an empty value as an absent label). It is
//! stored as one packed byte buffer so that a set costs one allocation, hashes in one pass
//! and compares without pointer chasing:
//!
//! ```text
//! ┌──────────────────┬────────┬───────────────────┬─────────┬─────┐
//! │ len(name) uvarint│ name   │ len(value) uvarint│ value   │ ... │  (pairs sorted by name)
//! └──────────────────┴────────┴───────────────────┴─────────┴─────┘
//! ```
//!
//! [`LabelsRef`] is the borrowed view of the same bytes; hot paths (scrape parsing, remote
//! write) build a set into a reused [`LabelsBuilder`] and look it up by reference, allocating
//! a [`Labels`] only when a series is created.
//!
//! Ordering, `Display` and the metric-name rules follow Prometheus's `model/labels`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Why a set of pairs is not a valid label set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelsError {
    #[error("label set is empty")]
    Empty,
    #[error("label name \"{0}\" is not unique")]
    DuplicateName(String),
    #[error("empty label name")]
    EmptyName,
}

/// One label pair, borrowed from a label set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// An immutable, sorted, packed label set. Cheap to hash and compare; one allocation.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Labels {
    data: Box<[u8]>,
}

/// A borrowed view of a packed label set.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct LabelsRef<'a> {
    data: &'a [u8],
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Labels {
        Labels::default()
    }

    /// Builds a set from pairs in any order. Pairs with an empty value are dropped; when a
    /// name repeats, the last pair wins (as Prometheus's `labels.Builder`).
    pub fn from_pairs<N, V, I>(pairs: I) -> Labels
    where
        N: AsRef<str>,
        V: AsRef<str>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.set(n.as_ref(), v.as_ref());
        }
        b.labels()
    }

    /// Builds a set from pairs, rejecting duplicate or empty names instead of resolving them.
    /// Use this for input that must be well formed (WAL records, remote write).
    pub fn try_from_pairs<N, V, I>(pairs: I) -> Result<Labels, LabelsError>
    where
        N: AsRef<str>,
        V: AsRef<str>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.push(n.as_ref(), v.as_ref());
        }
        b.try_labels()
    }

    /// The borrowed view.
    #[inline]
    pub fn as_ref(&self) -> LabelsRef<'_> {
        LabelsRef { data: &self.data }
    }

    /// The packed bytes (see the module documentation for the layout).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.as_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> LabelsIter<'_> {
        self.as_ref().iter()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.as_ref().get(name)
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.as_ref().get(METRIC_NAME)
    }

    /// A stable 64-bit hash of the set (xxh3 of the packed bytes).
    pub fn hash64(&self) -> u64 {
        self.as_ref().hash64()
    }

    /// A builder starting from this set.
    pub fn builder(&self) -> LabelsBuilder {
        let mut b = LabelsBuilder::new();
        for l in self.iter() {
            b.push(l.name, l.value);
        }
        b
    }

    /// Bytes of heap memory this set holds (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.data.len()
    }
}

impl<'a> LabelsRef<'a> {
    /// Views bytes produced by [`Labels::as_bytes`] or [`LabelsBuilder`]. Malformed bytes
    /// never cause a panic: iteration simply stops at the first malformed pair.
    pub fn from_packed(data: &'a [u8]) -> LabelsRef<'a> {
        LabelsRef { data }
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    pub fn to_owned(&self) -> Labels {
        Labels {
            data: self.data.into(),
        }
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn iter(&self) -> LabelsIter<'a> {
        LabelsIter { rest: self.data }
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        for l in self.iter() {
            match l.name.cmp(name) {
                Ordering::Less => continue,
                Ordering::Equal => return Some(l.value),
                Ordering::Greater => return None,
            }
        }
        None
    }

    pub fn metric_name(&self) -> Option<&'a str> {
        self.get(METRIC_NAME)
    }

    #[inline]
    pub fn hash64(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(self.data)
    }
}

/// Iterator over the pairs of a label set, in name order.
#[derive(Clone)]
pub struct LabelsIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = Label<'a>;

    #[inline]
    fn next(&mut self) -> Option<Label<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let name = take_str(&mut self.rest);
        let value = take_str(&mut self.rest);
        match (name, value) {
            (Some(name), Some(value)) => Some(Label { name, value }),
            _ => {
                self.rest = &[];
                None
            }
        }
    }
}

/// Reads one uvarint-length-prefixed string, advancing `buf`.
#[inline]
fn take_str<'a>(buf: &mut &'a [u8]) -> Option<&'a str> {
    let (len, n) = read_uvarint(buf)?;
    let len = usize::try_from(len).ok()?;
    let rest = buf.get(n..)?;
    let s = rest.get(..len)?;
    *buf = &rest[len..];
    std::str::from_utf8(s).ok()
}

#[inline]
fn read_uvarint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut shift = 0u32;
    for (i, &b) in buf.iter().enumerate().take(10) {
        if b < 0x80 {
            return Some((x | (u64::from(b) << shift), i + 1));
        }
        x |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    None
}

#[inline]
fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Builds label sets, reusing its buffers between sets so hot paths do not allocate.
///
/// `push` appends a pair as given; `set` and `del` edit by name (an empty value deletes).
/// [`LabelsBuilder::labels`] sorts, resolves duplicates (last wins) and packs;
/// [`LabelsBuilder::pack`] does the same into the builder's own buffer and returns a
/// borrowed view, for look-ups that must not allocate.
#[derive(Default, Clone, Debug)]
pub struct LabelsBuilder {
    /// Concatenated names and values; `pairs` index into it.
    strings: String,
    pairs: Vec<PairSpan>,
    packed: Vec<u8>,
}

#[derive(Clone, Copy, Debug)]
struct PairSpan {
    name: (u32, u32),
    value: (u32, u32),
    /// Insertion order, so the last of duplicate names wins after a stable sort.
    seq: u32,
}

impl LabelsBuilder {
    pub fn new() -> LabelsBuilder {
        LabelsBuilder::default()
    }

    /// Forgets all pairs, keeping the buffers.
    pub fn reset(&mut self) {
        self.strings.clear();
        self.pairs.clear();
    }

    fn span(&mut self, s: &str) -> (u32, u32) {
        let start = self.strings.len();
        self.strings.push_str(s);
        (start as u32, self.strings.len() as u32)
    }

    fn str_at(&self, span: (u32, u32)) -> &str {
        &self.strings[span.0 as usize..span.1 as usize]
    }

    /// Appends a pair without looking for an earlier pair of the same name.
    pub fn push(&mut self, name: &str, value: &str) -> &mut Self {
        let seq = self.pairs.len() as u32;
        let name = self.span(name);
        let value = self.span(value);
        self.pairs.push(PairSpan { name, value, seq });
        self
    }

    /// Sets `name` to `value`, replacing an earlier value; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.del(name);
        if !value.is_empty() {
            self.push(name, value);
        }
        self
    }

    /// Removes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        let strings = &self.strings;
        self.pairs
            .retain(|p| &strings[p.name.0 as usize..p.name.1 as usize] != name);
        self
    }

    /// Keeps only the labels for which `keep(name, value)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) -> &mut Self {
        let strings = &self.strings;
        self.pairs.retain(|p| {
            keep(
                &strings[p.name.0 as usize..p.name.1 as usize],
                &strings[p.value.0 as usize..p.value.1 as usize],
            )
        });
        self
    }

    /// The current value of `name` (the last one pushed).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|p| self.str_at(p.name) == name)
            .map(|p| self.str_at(p.value))
    }

    /// Sorts by name (stable, so pushes keep their order among equal names).
    fn sort(&mut self) {
        let strings = &self.strings;
        self.pairs.sort_by(|a, b| {
            let an = &strings[a.name.0 as usize..a.name.1 as usize];
            let bn = &strings[b.name.0 as usize..b.name.1 as usize];
            an.cmp(bn).then(a.seq.cmp(&b.seq))
        });
    }

    /// Packs into `self.packed`. Duplicate names resolve to the last pair when `strict` is
    /// false and are an error when it is true; empty values are dropped either way.
    fn pack_into_buffer(&mut self, strict: bool) -> Result<(), LabelsError> {
        self.sort();
        let Self {
            strings,
            pairs,
            packed,
        } = self;
        let at = |span: (u32, u32)| &strings[span.0 as usize..span.1 as usize];
        packed.clear();
        for (i, p) in pairs.iter().enumerate() {
            let name = at(p.name);
            if name.is_empty() {
                if strict {
                    return Err(LabelsError::EmptyName);
                }
                continue;
            }
            if pairs.get(i + 1).is_some_and(|next| at(next.name) == name) {
                if strict {
                    return Err(LabelsError::DuplicateName(name.to_string()));
                }
                continue; // a later pair of the same name wins
            }
            let value = at(p.value);
            if value.is_empty() {
                continue;
            }
            put_str(packed, name);
            put_str(packed, value);
        }
        Ok(())
    }

    fn pack_lenient(&mut self) {
        // Lenient packing cannot fail.
        let _ = self.pack_into_buffer(false);
    }

    fn pack_strict(&mut self) -> Result<(), LabelsError> {
        self.pack_into_buffer(true)
    }

    /// The label set (sorted; duplicates resolved, last wins; empty values dropped).
    pub fn labels(&mut self) -> Labels {
        self.pack_lenient();
        Labels {
            data: self.packed.as_slice().into(),
        }
    }

    /// The label set, or an error for duplicate or empty names.
    pub fn try_labels(&mut self) -> Result<Labels, LabelsError> {
        self.pack_strict()?;
        Ok(Labels {
            data: self.packed.as_slice().into(),
        })
    }

    /// Packs into the builder's buffer and returns a view of it: no allocation once the
    /// buffers have grown. Duplicate or empty names are an error.
    pub fn pack(&mut self) -> Result<LabelsRef<'_>, LabelsError> {
        self.pack_strict()?;
        Ok(LabelsRef { data: &self.packed })
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = Label<'a>;
    type IntoIter = LabelsIter<'a>;
    fn into_iter(self) -> LabelsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for LabelsRef<'a> {
    type Item = Label<'a>;
    type IntoIter = LabelsIter<'a>;
    fn into_iter(self) -> LabelsIter<'a> {
        self.iter()
    }
}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

impl Hash for LabelsRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

/// Prometheus's order: pair by pair, name first then value; a prefix sorts first.
impl Ord for LabelsRef<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut a = self.iter();
        let mut b = other.iter();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let c = x.name.cmp(y.name).then(x.value.cmp(y.value));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
            }
        }
    }
}

impl PartialOrd for LabelsRef<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_ref().cmp(&other.as_ref())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether `name` matches the legacy name pattern `[a-zA-Z_][a-zA-Z0-9_]*`; other names
/// (valid UTF-8 since Prometheus 3) are quoted when printed.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Writes `s` as a Go `strconv.Quote` would: double quotes, with `\"`, `\\`, and escapes
/// for control and non-printable characters.
pub fn write_go_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{07}' => f.write_str("\\a")?,
            '\u{08}' => f.write_str("\\b")?,
            '\u{0c}' => f.write_str("\\f")?,
            '\u{0b}' => f.write_str("\\v")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    write!(f, "\\u{:04x}", c as u32)?
                } else {
                    write!(f, "\\U{:08x}", c as u32)?
                }
            }
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// `{a="1", b="2"}` as Prometheus prints a label set; names outside the legacy charset are
/// quoted.
impl fmt::Display for LabelsRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if is_legacy_label_name(l.name) {
                f.write_str(l.name)?;
            } else {
                write_go_quoted(f, l.name)?;
            }
            f.write_str("=")?;
            write_go_quoted(f, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl fmt::Debug for LabelsRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq<LabelsRef<'_>> for Labels {
    fn eq(&self, other: &LabelsRef<'_>) -> bool {
        *self.data == *other.data
    }
}

/// Builds a label set from literal pairs: `labels!("__name__" => "up", "job" => "x")`.
#[macro_export]
macro_rules! labels {
    ($($name:expr => $value:expr),* $(,)?) => {
        $crate::labels::Labels::from_pairs([$(($name, $value)),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sorts_and_packs() {
        let l = Labels::from_pairs([("job", "api"), ("__name__", "up"), ("instance", "a:1")]);
        let names: Vec<_> = l.iter().map(|l| l.name).collect();
        assert_eq!(names, ["__name__", "instance", "job"]);
        assert_eq!(l.get("job"), Some("api"));
        assert_eq!(l.get("nope"), None);
        assert_eq!(l.metric_name(), Some("up"));
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn empty_values_are_absent() {
        let l = Labels::from_pairs([("a", "1"), ("b", "")]);
        assert_eq!(l, Labels::from_pairs([("a", "1")]));
    }

    #[test]
    fn last_duplicate_wins_leniently_and_is_rejected_strictly() {
        let l = Labels::from_pairs([("a", "1"), ("a", "2")]);
        assert_eq!(l.get("a"), Some("2"));
        assert_eq!(
            Labels::try_from_pairs([("a", "1"), ("a", "2")]),
            Err(LabelsError::DuplicateName("a".into()))
        );
        assert_eq!(
            Labels::try_from_pairs([("", "1")]),
            Err(LabelsError::EmptyName)
        );
    }

    #[test]
    fn display_matches_prometheus() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b"), ("dotted.name", "x")]);
        assert_eq!(
            l.to_string(),
            r#"{__name__="up", "dotted.name"="x", job="a\"b"}"#
        );
        assert_eq!(Labels::empty().to_string(), "{}");
    }

    #[test]
    fn ordering_is_pairwise() {
        let a = Labels::from_pairs([("a", "1")]);
        let ab = Labels::from_pairs([("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs([("a", "2")]);
        let b = Labels::from_pairs([("b", "0")]);
        assert!(a < ab);
        assert!(ab < a2);
        assert!(a2 < b);
    }

    #[test]
    fn builder_edits_and_reuses() {
        let mut b = LabelsBuilder::new();
        b.push("x", "1").push("y", "2");
        b.set("x", "3").del("y").set("z", "");
        assert_eq!(b.labels(), Labels::from_pairs([("x", "3")]));
        b.reset();
        b.push("b", "2").push("a", "1");
        let packed = b.pack().unwrap().to_owned();
        assert_eq!(packed, Labels::from_pairs([("a", "1"), ("b", "2")]));
        assert_eq!(
            packed.hash64(),
            Labels::from_pairs([("b", "2"), ("a", "1")]).hash64()
        );
    }

    #[test]
    fn malformed_packed_bytes_do_not_panic() {
        let bad = [0x05u8, b'a', 0xff, 0xff];
        assert_eq!(LabelsRef::from_packed(&bad).iter().count(), 0);
        let bad = [0xffu8; 12];
        assert_eq!(LabelsRef::from_packed(&bad).iter().count(), 0);
    }

    #[test]
    fn utf8_names_allowed() {
        let l = Labels::from_pairs([("__name__", "http.requests"), ("ünïcode", "✓")]);
        assert_eq!(l.get("ünïcode"), Some("✓"));
    }

    proptest! {
        #[test]
        fn round_trip(pairs in proptest::collection::vec(("[a-z_.]{1,8}", ".{0,12}"), 0..12)) {
            let l = Labels::from_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())));
            // Expectation from a BTreeMap (last wins, empty dropped).
            let mut m = std::collections::BTreeMap::new();
            for (n, v) in &pairs { m.insert(n.clone(), v.clone()); }
            m.retain(|_, v| !v.is_empty());
            let got: Vec<(String, String)> = l.iter().map(|l| (l.name.to_string(), l.value.to_string())).collect();
            let want: Vec<(String, String)> = m.into_iter().collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(LabelsRef::from_packed(l.as_bytes()).to_owned(), l);
        }
    }
}
