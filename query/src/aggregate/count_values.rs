//! `count_values("label", v)`: per group, how many series have each value, with the value
//! (formatted as Go's `strconv.FormatFloat(v, 'f', -1, 64)`) in `label`.
//!
//! A sample's output labels are the grouping applied to its series' labels with `label`
//! set to the value: `by` always keeps `label`, `without` drops it only if it is listed
//! (and then every value counts together). So each series has a fixed base group, and a
//! point's output series is (base group, formatted value): one map look-up per point, but
//! only when the value changes from the series' previous point.

use ember_storage::numfmt::format_f;
use hashbrown::HashMap;

use crate::error::QueryError;
use crate::value::{FPoint, Series, Steps};

use super::shared::{step_points, Interner, Selection};
use super::Grouping;

/// An output series being counted.
struct Counted {
    metric: ember_storage::Labels,
    /// Per step.
    counts: Vec<u32>,
}

pub(super) fn count_values(
    label: &str,
    input: &[Series],
    grouping: &Grouping,
    steps: &Steps,
) -> Result<Vec<Series>, QueryError> {
    // Prometheus 3 accepts any non-empty UTF-8 label name.
    if label.is_empty() {
        let mut quoted = String::new();
        let _ = ember_storage::labels::write_go_quoted(&mut quoted, label);
        return Err(QueryError::exec(format!("invalid label name {quoted}")));
    }
    let selection = match grouping {
        Grouping::All => Selection::keep(&[label]),
        Grouping::By(names) => {
            let mut names = names.clone();
            names.push(label.to_string());
            Selection::keep(&names)
        }
        Grouping::Without(names) => Selection::drop(names),
    };
    let value_kept = selection.selects(label);

    let n = steps.len();
    let mut bases = Interner::default();
    let mut key = Vec::new();
    let mut by_value: HashMap<(u32, String), u32> = HashMap::new();
    let mut out: Vec<Counted> = Vec::new();
    for s in input {
        // The base group: the selected labels other than `label`.
        key.clear();
        for l in s.metric.iter() {
            if l.name != label && selection.selects(l.name) {
                key.extend_from_slice(l.name.as_bytes());
                key.push(0xff);
                key.extend_from_slice(l.value.as_bytes());
                key.push(0xff);
            }
        }
        let (base, _) = bases.intern(&key);
        let mut last: Option<(u64, u32)> = None;
        for (i, f) in step_points(steps, &s.floats) {
            let id = match last {
                Some((bits, id)) if bits == f.to_bits() => id,
                _ => {
                    let value = if value_kept {
                        format_f(f)
                    } else {
                        String::new()
                    };
                    let next = out.len() as u32;
                    let id = *by_value.entry((base, value)).or_insert_with_key(|(_, v)| {
                        let mut b = s.metric.builder();
                        b.set(label, if value_kept { v } else { "" });
                        b.retain(|name, _| selection.selects(name));
                        out.push(Counted {
                            metric: b.labels(),
                            counts: vec![0; n],
                        });
                        next
                    });
                    last = Some((f.to_bits(), id));
                    id
                }
            };
            out[id as usize].counts[i] += 1;
        }
    }
    Ok(out
        .into_iter()
        .map(|c| Series {
            metric: c.metric,
            floats: c
                .counts
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(i, &n)| FPoint {
                    t: steps.ts(i),
                    f: f64::from(n),
                })
                .collect(),
            drop_name: false,
        })
        .collect())
}
