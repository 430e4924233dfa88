//! Applying relabel rules to label sets.
//!
//! A [`Relabeler`] is built once per list of rules (per scrape config, per remote-write
//! queue, ...): each regex is compiled once, replacement templates are parsed once, and
//! match-only uses (`keep`, `drop`, `labeldrop`, `labelkeep`, the test of `labelmap`,
//! `replace` without `$` references) go through storage's [`Matcher`], whose fast paths
//! avoid the regex engine for literals, alternations and `prefix.*` shapes.
//!
//! Processing works on a [`RelabelBuffer`]: the labels are copied into one string arena
//! with a small index, rules edit that index, and the result is packed into a reused
//! buffer in storage's label-set layout (or, when no rule changed anything, the input is
//! the result). Once the buffer has grown to the working size, relabeling allocates
//! nothing, whether or not a rule matches. The edit order reproduces Prometheus's
//! `labels.Builder` (labels from the input first, then labels set by rules in the order
//! they were set), which decides the winner when `labelmap` maps two labels to one name.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use ember_storage::matcher::{MatchOp, Matcher};
use ember_storage::{Labels, LabelsRef};
use md5::{Digest, Md5};
use regex::{CaptureLocations, Regex};

use super::template::Template;
use super::{Action, RelabelConfig};
use crate::types::NameValidation;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A compiled list of relabel rules.
#[derive(Debug, Clone)]
pub struct Relabeler {
    id: u64,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    action: Action,
    source_labels: Vec<String>,
    separator: String,
    /// `target_label` as written (`keepequal`, `lowercase`, `hashmod`... use it as is).
    target_label: String,
    /// Match test; `None` when the regex is `(.*)`, which matches everything.
    matcher: Option<Matcher>,
    /// The anchored regex, for capture groups; `None` for `(.*)` (group 1 is the input).
    regex: Option<Regex>,
    target: Template,
    replacement: Template,
    modulus: u64,
    validation: NameValidation,
}

impl Rule {
    fn matches(&self, s: &str) -> bool {
        self.matcher.as_ref().is_none_or(|m| m.matches(s))
    }

    fn needs_captures(&self) -> bool {
        self.regex.is_some() && (self.target.uses_groups() || self.replacement.uses_groups())
    }
}

/// Why rules could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("relabel rule {index}: {message}")]
pub struct RelabelError {
    /// The rule's position in the list (from 0).
    pub index: usize,
    pub message: String,
}

impl Relabeler {
    /// Compiles `rules`. Each rule is validated as Prometheus validates it, under its own
    /// name validation scheme (UTF-8 when unset).
    pub fn new(rules: &[RelabelConfig]) -> Result<Relabeler, RelabelError> {
        let mut compiled = Vec::with_capacity(rules.len());
        for (index, cfg) in rules.iter().enumerate() {
            let mut cfg = cfg.clone();
            let scheme = match cfg.name_validation {
                NameValidation::Unset => NameValidation::Utf8,
                s => s,
            };
            cfg.validate(scheme)
                .map_err(|message| RelabelError { index, message })?;
            let action = cfg.action.unwrap_or(Action::Replace);
            let catch_all = cfg.regex.as_str() == "(.*)";
            let (matcher, regex) = if catch_all {
                (None, None)
            } else {
                let m = Matcher::new(MatchOp::Regex, "", cfg.regex.as_str()).map_err(|e| {
                    RelabelError {
                        index,
                        message: e.to_string(),
                    }
                })?;
                (Some(m), Some(cfg.regex.regex().clone()))
            };
            compiled.push(Rule {
                action,
                target: Template::new(&cfg.target_label, regex.as_ref()),
                replacement: Template::new(&cfg.replacement, regex.as_ref()),
                source_labels: cfg.source_labels,
                separator: cfg.separator,
                target_label: cfg.target_label,
                matcher,
                regex,
                modulus: cfg.modulus,
                validation: cfg.name_validation,
            });
        }
        Ok(Relabeler {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            rules: compiled,
        })
    }

    /// Whether there are no rules (every label set passes unchanged).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// A buffer for [`Relabeler::process_with`].
    pub fn buffer(&self) -> RelabelBuffer {
        RelabelBuffer::default()
    }

    /// Applies the rules to `labels`: the new label set, or `None` when a rule dropped it.
    /// Uses a buffer per thread; [`Relabeler::process_with`] avoids the final allocation.
    pub fn process(&self, labels: &Labels) -> Option<Labels> {
        thread_local! {
            static BUFFER: RefCell<RelabelBuffer> = RefCell::new(RelabelBuffer::default());
        }
        BUFFER.with(|b| match b.try_borrow_mut() {
            Ok(mut buf) => self
                .process_with(labels.as_ref(), &mut buf)
                .map(|l| l.to_owned()),
            Err(_) => {
                let mut buf = RelabelBuffer::default();
                self.process_with(labels.as_ref(), &mut buf)
                    .map(|l| l.to_owned())
            }
        })
    }

    /// Applies the rules to `labels` using `buf`, returning the result (`labels` itself
    /// when no rule changed it, else a view into the buffer, valid until its next use),
    /// or `None` when a rule dropped the set. Does not allocate once the buffer has grown
    /// to the working size.
    pub fn process_with<'a>(
        &self,
        labels: LabelsRef<'a>,
        buf: &'a mut RelabelBuffer,
    ) -> Option<LabelsRef<'a>> {
        buf.load(labels);
        if buf.owner != self.id {
            buf.owner = self.id;
            buf.locs.clear();
            buf.locs.extend(
                self.rules
                    .iter()
                    .map(|r| r.regex.as_ref().map(Regex::capture_locations)),
            );
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if !buf.apply(i, rule) {
                return None;
            }
        }
        if !buf.modified {
            return Some(labels);
        }
        Some(buf.pack())
    }
}

/// One label in the buffer: byte ranges of its name and value in the arena.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
}

/// Working memory for relabeling, reused across label sets (one per thread or per
/// scrape loop). Create it with [`RelabelBuffer::default`] or [`Relabeler::buffer`].
#[derive(Debug, Default)]
pub struct RelabelBuffer {
    arena: String,
    entries: Vec<Entry>,
    /// Entries before this index come from the input, in name order; later ones were set
    /// by rules, in the order they were set.
    base_len: usize,
    /// Whether a rule changed the labels since `load` (if not, the input is the result).
    modified: bool,
    joined: String,
    scratch: String,
    scratch2: String,
    snapshot: Vec<Entry>,
    locs: Vec<Option<CaptureLocations>>,
    owner: u64,
    /// Entry indices in name order, and the packed result.
    order: Vec<u32>,
    packed: Vec<u8>,
}

fn span(arena: &str, r: (u32, u32)) -> &str {
    &arena[r.0 as usize..r.1 as usize]
}

fn push_span(arena: &mut String, s: &str) -> (u32, u32) {
    let start = arena.len() as u32;
    arena.push_str(s);
    (start, arena.len() as u32)
}

impl RelabelBuffer {
    fn load(&mut self, labels: LabelsRef<'_>) {
        self.arena.clear();
        self.entries.clear();
        self.base_len = 0;
        self.modified = false;
        // Fast path: when the whole packed set (`len name len value ...`, lengths as
        // uvarints) is valid UTF-8, every length is a single byte below 0x80 (a longer
        // uvarint is never valid UTF-8), so every name and value starts and ends next
        // to an ASCII byte and is valid UTF-8 on its own: one validation and one copy
        // for the whole set instead of one per string.
        if let Ok(packed) = std::str::from_utf8(labels.as_bytes()) {
            self.arena.push_str(packed);
            let b = packed.as_bytes();
            let mut pos = 0usize;
            let mut ok = true;
            while pos < b.len() {
                let take = |pos: &mut usize| -> Option<(u32, u32)> {
                    let n = usize::from(*b.get(*pos)?);
                    let start = *pos + 1;
                    let end = start.checked_add(n).filter(|&e| e <= b.len())?;
                    *pos = end;
                    Some((start as u32, end as u32))
                };
                match (take(&mut pos), take(&mut pos)) {
                    (Some(name), Some(value)) => self.entries.push(Entry { name, value }),
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                self.base_len = self.entries.len();
                return;
            }
            self.arena.clear();
            self.entries.clear();
        }
        for l in labels.iter() {
            let name = push_span(&mut self.arena, l.name);
            let value = push_span(&mut self.arena, l.value);
            self.entries.push(Entry { name, value });
        }
        self.base_len = self.entries.len();
        self.modified = false;
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| span(&self.arena, e.name) == name)
    }

    fn get(&self, name: &str) -> &str {
        match self.find(name) {
            Some(i) => span(&self.arena, self.entries[i].value),
            None => "",
        }
    }

    fn remove(&mut self, i: usize) {
        self.modified = true;
        self.entries.remove(i);
        if i < self.base_len {
            self.base_len -= 1;
        }
    }

    fn del(&mut self, name: &str) {
        if let Some(i) = self.find(name) {
            self.remove(i);
        }
    }

    /// Sets `name` to the value at `value` in the arena (empty deletes), keeping
    /// Prometheus's builder order.
    fn set_span(&mut self, name: &str, value: (u32, u32)) {
        if value.0 == value.1 {
            self.del(name);
            return;
        }
        self.modified = true;
        match self.find(name) {
            Some(i) if i >= self.base_len => self.entries[i].value = value,
            Some(i) => {
                let name = self.entries[i].name;
                self.remove(i);
                self.entries.push(Entry { name, value });
            }
            None => {
                let name = push_span(&mut self.arena, name);
                self.entries.push(Entry { name, value });
            }
        }
    }

    /// Sets `name` to the text of `self.scratch2`.
    fn set_from_scratch(&mut self, name: &str) {
        let value = push_span(&mut self.arena, &self.scratch2);
        self.set_span(name, value);
    }

    fn join_sources(&mut self, rule: &Rule) {
        let Self {
            arena,
            entries,
            joined,
            ..
        } = self;
        joined.clear();
        for (i, name) in rule.source_labels.iter().enumerate() {
            if i > 0 {
                joined.push_str(&rule.separator);
            }
            if let Some(e) = entries.iter().find(|e| span(arena, e.name) == name) {
                joined.push_str(span(arena, e.value));
            }
        }
    }

    /// Applies one rule; false when it drops the label set.
    fn apply(&mut self, index: usize, rule: &Rule) -> bool {
        match rule.action {
            Action::LabelMap => {
                self.label_map(index, rule);
                return true;
            }
            Action::LabelDrop | Action::LabelKeep => {
                let keep_matching = rule.action == Action::LabelKeep;
                let Self {
                    arena,
                    entries,
                    base_len,
                    modified,
                    ..
                } = self;
                let mut i = 0;
                while i < entries.len() {
                    let matched = rule.matches(span(arena, entries[i].name));
                    if matched != keep_matching {
                        entries.remove(i);
                        *modified = true;
                        if i < *base_len {
                            *base_len -= 1;
                        }
                    } else {
                        i += 1;
                    }
                }
                return true;
            }
            _ => {}
        }
        self.join_sources(rule);
        match rule.action {
            Action::Drop => !rule.matches(&self.joined),
            Action::Keep => rule.matches(&self.joined),
            Action::DropEqual => self.get(&rule.target_label) != self.joined,
            Action::KeepEqual => self.get(&rule.target_label) == self.joined,
            Action::Replace => {
                self.replace(index, rule);
                true
            }
            Action::Lowercase | Action::Uppercase => {
                self.scratch2.clear();
                let upper = rule.action == Action::Uppercase;
                for c in self.joined.chars() {
                    if upper {
                        go_to_upper(c, &mut self.scratch2);
                    } else {
                        go_to_lower(c, &mut self.scratch2);
                    }
                }
                self.set_from_scratch(&rule.target_label);
                true
            }
            Action::HashMod => {
                let digest = Md5::digest(self.joined.as_bytes());
                let mut tail = [0u8; 8];
                tail.copy_from_slice(&digest[8..16]);
                let m = u64::from_be_bytes(tail) % rule.modulus.max(1);
                self.scratch2.clear();
                push_u64(&mut self.scratch2, m);
                self.set_from_scratch(&rule.target_label);
                true
            }
            Action::LabelMap | Action::LabelDrop | Action::LabelKeep => true,
        }
    }

    fn replace(&mut self, index: usize, rule: &Rule) {
        let locs = if rule.needs_captures() {
            let (Some(re), Some(Some(locs))) = (&rule.regex, self.locs.get_mut(index)) else {
                return;
            };
            if re.captures_read(locs, &self.joined).is_none() {
                return;
            }
            Some(&*locs)
        } else {
            if !rule.matches(&self.joined) {
                return;
            }
            None
        };
        self.scratch.clear();
        rule.target
            .expand_into(&self.joined, locs, &mut self.scratch);
        if !rule.validation.is_valid_label_name(&self.scratch) {
            return;
        }
        self.scratch2.clear();
        rule.replacement
            .expand_into(&self.joined, locs, &mut self.scratch2);
        let target = std::mem::take(&mut self.scratch);
        if self.scratch2.is_empty() {
            self.del(&target);
        } else {
            self.set_from_scratch(&target);
        }
        self.scratch = target;
    }

    fn label_map(&mut self, index: usize, rule: &Rule) {
        self.snapshot.clear();
        self.snapshot.extend_from_slice(&self.entries);
        let snapshot = std::mem::take(&mut self.snapshot);
        for e in &snapshot {
            let name_matches = rule.matches(span(&self.arena, e.name));
            if !name_matches {
                continue;
            }
            self.scratch.clear();
            {
                let name = span(&self.arena, e.name);
                let locs = match (&rule.regex, self.locs.get_mut(index)) {
                    (Some(re), Some(Some(locs))) if rule.replacement.uses_groups() => {
                        if re.captures_read(locs, name).is_none() {
                            continue;
                        }
                        Some(&*locs)
                    }
                    _ => None,
                };
                rule.replacement.expand_into(name, locs, &mut self.scratch);
            }
            let target = std::mem::take(&mut self.scratch);
            self.set_span(&target, e.value);
            self.scratch = target;
        }
        self.snapshot = snapshot;
    }

    /// Packs the labels, sorted by name, into `self.packed` in the layout of
    /// [`ember_storage::labels`] (uvarint length and bytes of each name and value), and
    /// views it as a label set. Names are unique by construction and the entries are
    /// nearly sorted already (input labels first, in order), so an insertion sort of
    /// their indices is all the ordering needed; pairs with an empty name or value are
    /// left out, as `LabelsBuilder` leaves them out.
    fn pack(&mut self) -> LabelsRef<'_> {
        let Self {
            arena,
            entries,
            order,
            packed,
            ..
        } = self;
        order.clear();
        order.extend(0..entries.len() as u32);
        let name = |i: u32| span(arena, entries[i as usize].name);
        for i in 1..order.len() {
            let mut j = i;
            while j > 0 && name(order[j - 1]) > name(order[j]) {
                order.swap(j - 1, j);
                j -= 1;
            }
        }
        packed.clear();
        for &i in order.iter() {
            let e = entries[i as usize];
            let (n, v) = (span(arena, e.name), span(arena, e.value));
            if n.is_empty() || v.is_empty() {
                continue;
            }
            put_str(packed, n);
            put_str(packed, v);
        }
        LabelsRef::from_packed(packed)
    }
}

/// Appends a uvarint length and the bytes of `s`.
fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len() as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(s.as_bytes());
}

fn push_u64(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// Go's `unicode.ToLower` for one character (simple case mapping).
fn go_to_lower(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    // Rust gives the full mapping; the only character whose full lower-case mapping has
    // several characters (U+0130) maps to its first one under the simple mapping.
    out.push(c.to_lowercase().next().unwrap_or(c));
}

/// Go's `unicode.ToUpper` for one character (simple case mapping).
fn go_to_upper(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_uppercase());
        return;
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => out.push(u),
        _ => {
            // Characters whose full upper-case mapping has several characters: Go's
            // simple mapping keeps them, except Greek letters with ypogegrammeni, which
            // map to their prosgegrammeni forms.
            let v = c as u32;
            let simple = match v {
                0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => v + 8,
                0x1FB3 | 0x1FC3 | 0x1FF3 => v + 9,
                _ => v,
            };
            out.push(char::from_u32(simple).unwrap_or(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_case_mapping() {
        let lower = |s: &str| {
            let mut o = String::new();
            s.chars().for_each(|c| go_to_lower(c, &mut o));
            o
        };
        let upper = |s: &str| {
            let mut o = String::new();
            s.chars().for_each(|c| go_to_upper(c, &mut o));
            o
        };
        assert_eq!(lower("bAr123Foo"), "bar123foo");
        assert_eq!(upper("bAr123Foo"), "BAR123FOO");
        assert_eq!(lower("İ"), "i");
        assert_eq!(upper("ß"), "ß");
        assert_eq!(upper("ᾳ"), "ᾼ");
        assert_eq!(upper("straße"), "STRAßE");
        assert_eq!(lower("ÄÖÜ"), "äöü");
    }

    #[test]
    fn push_u64_formats_decimal() {
        let mut s = String::new();
        push_u64(&mut s, 0);
        push_u64(&mut s, 976);
        push_u64(&mut s, u64::MAX);
        assert_eq!(s, format!("0976{}", u64::MAX));
    }
}
