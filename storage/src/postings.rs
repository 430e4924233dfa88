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
/// Lists returned are snapshots: series added afterwards are not in them.
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
}

/// The series selected by all of `ms`, with Prometheus's semantics: a series lacking a
/// label is matched as if the label were `""`.
///
/// A matcher that does not match `""` (`job="api"`, `code=~"5.."`, `env!=""`) selects the
/// series whose value it accepts, and these lists are intersected, shortest first. A
/// matcher that matches `""` (`env=""`, `code!~"5.."`, `env=~"prod|"`) also accepts
/// every series without the label, so it is applied by subtracting the series whose
/// value it rejects. When every matcher is of the second kind, the subtraction starts
/// from all series (`{env=""}` is every series without `env`). All intersecting lists
/// are read before any subtracted one, so a series added meanwhile cannot slip into the
/// result through a stale subtraction.
///
/// No matchers select nothing, as in Prometheus.
pub fn postings_for_matchers<R: PostingsReader + ?Sized>(r: &R, ms: &[Matcher]) -> PostingsList {
    if ms.is_empty() {
        return PostingsList::new();
    }
    let mut intersect = Vec::new();
    let mut subtract = Vec::new();
    for m in ms {
        if m.matches_empty() {
            // Subtract the series whose value `m` rejects, unless it rejects none.
            let inverse = m.inverse();
            if inverse.accepted_values() != AcceptedValues::None {
                subtract.push(inverse);
            }
        } else {
            let p = accepted_postings(r, m);
            if p.is_empty() {
                return p;
            }
            intersect.push(p);
        }
    }
    let mut result = if intersect.is_empty() {
        r.all_postings()
    } else {
        PostingsList::intersect_many(intersect)
    };
    for m in &subtract {
        if result.is_empty() {
            break;
        }
        result = result.difference(&accepted_postings(r, m));
    }
    result
}

/// The series whose value of `m`'s label `m` accepts (series lacking the label excluded).
fn accepted_postings<R: PostingsReader + ?Sized>(r: &R, m: &Matcher) -> PostingsList {
    match m.accepted_values() {
        AcceptedValues::None => PostingsList::new(),
        AcceptedValues::All => r.postings_for_name(m.name()),
        AcceptedValues::Exact(values) => {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            r.postings(m.name(), &values)
        }
        AcceptedValues::Matching => r.postings_matching(m.name(), &mut |v| m.matches(v)),
    }
}

#[cfg(test)]
mod tests;
