//! Postings: which series have which label pairs.
//!
//! An inverted index maps each label pair `name="value"` to its *postings list*, the
//! sorted refs of the series carrying that pair. A selector such as
//! `{__name__="http_requests_total", job="api", code!~"2.."}` is answered with set algebra
//! on those lists, never by looking at series one by one:
//!
//! * [`PostingsList`]: an immutable sorted set of refs with `intersect`, `union`,
//!   `difference` and their many-list forms.
//! * [`PostingsReader`]: what resolving matchers needs from an index. The head's
//!   [`MemPostings`] implements it now; persistent blocks will too.
//! * [`postings_for_matchers`]: Prometheus's selector semantics (`tsdb/querier.go`
//!   `PostingsForMatchers`) on any reader.
//! * [`MemPostings`]: the head's concurrent, in-memory index.

mod list;
mod mem;

pub use list::{Iter, PostingsList};
pub use mem::MemPostings;

use crate::matcher::{AcceptedValues, Matcher};

/// What resolving label matchers needs from an index.
///
/// Lists returned are snapshots: series added afterwards are not in them. The `_within`
/// forms return only refs that are also in a given list; resolving a selector uses them
/// once it has a first, usually short, result, so that an index can intersect while it
/// reads instead of copying long lists out (the defaults read, then intersect).
pub trait PostingsReader {
    /// The series whose label `name` has any of `values`. Values the index does not have
    /// (including `""`) contribute nothing.
    fn postings(&self, name: &str, values: &[&str]) -> PostingsList;

    /// The series whose label `name` has a value `accept` returns true for. `accept` is
    /// called once per distinct value of `name`, never per series.
    fn postings_matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> PostingsList;

    /// The series that have label `name`, whatever its value.
    fn postings_for_name(&self, name: &str) -> PostingsList {
        self.postings_matching(name, &mut |_| true)
    }

    /// Every series.
    fn all_postings(&self) -> PostingsList;

    /// The values of label `name`, sorted.
    fn label_values(&self, name: &str) -> Vec<String>;

    /// [`PostingsReader::postings`], restricted to the refs in `within`.
    fn postings_within(&self, name: &str, values: &[&str], within: &PostingsList) -> PostingsList {
        self.postings(name, values).intersect(within)
    }

    /// [`PostingsReader::postings_matching`], restricted to the refs in `within`.
    fn postings_matching_within(
        &self,
        name: &str,
        accept: &mut dyn FnMut(&str) -> bool,
        within: &PostingsList,
    ) -> PostingsList {
        self.postings_matching(name, accept).intersect(within)
    }
}

/// The series selected by all of `ms`, with Prometheus's semantics: a series lacking a
/// label is matched as if the label were `""`.
///
/// A matcher that does not match `""` (`job="api"`, `code=~"5.."`, `env!=""`) selects the
/// series whose value it accepts: these are intersected. A matcher that matches `""`
/// (`env=""`, `code!~"5.."`, `env=~"prod|"`) also accepts every series without the
/// label, so it is applied by subtracting the series whose value it rejects. When every
/// matcher is of the second kind, the subtraction starts from all series (`{env=""}` is
/// every series without `env`).
///
/// Order of work: one intersecting matcher that resolves by look-up (`=`, a set regex)
/// is read in full; every other list (more look-ups, then regexes run over a label's
/// values, then the subtractions) is read restricted to the result so far, so it costs
/// in proportion to that result rather than to its own length. All intersecting lists are read
/// before any subtracted one, so a series added meanwhile cannot slip into the result
/// through a stale subtraction.
///
/// No matchers select nothing, as in Prometheus.
pub fn postings_for_matchers<R: PostingsReader + ?Sized>(r: &R, ms: &[Matcher]) -> PostingsList {
    if ms.is_empty() {
        return PostingsList::new();
    }
    let mut lookups = Vec::new();
    let mut scans = Vec::new();
    let mut subtract = Vec::new();
    for m in ms {
        if m.matches_empty() {
            // Subtract the series whose value `m` rejects, unless it rejects none.
            let inverse = m.inverse();
            if inverse.accepted_values() != AcceptedValues::None {
                subtract.push(inverse);
            }
            continue;
        }
        match m.accepted_values() {
            AcceptedValues::None => return PostingsList::new(),
            AcceptedValues::Exact(values) => lookups.push((m, values)),
            AcceptedValues::All | AcceptedValues::Matching => scans.push(m),
        }
    }
    // The look-up with the fewest values first (in practice the metric name); every
    // later list is read restricted to the result so far.
    lookups.sort_by_key(|(_, values)| values.len());
    let mut lookups = lookups.into_iter();
    let mut result = if let Some((m, values)) = lookups.next() {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        r.postings(m.name(), &values)
    } else if let Some((first, rest)) = scans.split_first() {
        let p = accepted_postings(r, first, None);
        scans = rest.to_vec();
        p
    } else {
        r.all_postings()
    };
    for (m, values) in lookups {
        if result.is_empty() {
            return result;
        }
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        result = r.postings_within(m.name(), &values, &result);
    }
    for m in scans {
        if result.is_empty() {
            return result;
        }
        result = accepted_postings(r, m, Some(&result));
    }
    for m in &subtract {
        if result.is_empty() {
            break;
        }
        let rejected = accepted_postings(r, m, Some(&result));
        result = result.difference(&rejected);
    }
    result
}

/// The series whose value of `m`'s label `m` accepts (series lacking the label excluded),
/// restricted to `within` if given.
fn accepted_postings<R: PostingsReader + ?Sized>(
    r: &R,
    m: &Matcher,
    within: Option<&PostingsList>,
) -> PostingsList {
    let name = m.name();
    match (m.accepted_values(), within) {
        (AcceptedValues::None, _) => PostingsList::new(),
        (AcceptedValues::All, None) => r.postings_for_name(name),
        (AcceptedValues::All, Some(w)) => r.postings_matching_within(name, &mut |_| true, w),
        (AcceptedValues::Exact(values), within) => {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            match within {
                None => r.postings(name, &values),
                Some(w) => r.postings_within(name, &values, w),
            }
        }
        (AcceptedValues::Matching, None) => r.postings_matching(name, &mut |v| m.matches(v)),
        (AcceptedValues::Matching, Some(w)) => {
            r.postings_matching_within(name, &mut |v| m.matches(v), w)
        }
    }
}

#[cfg(test)]
mod tests;
