//! `count_values("label", v)`: per group, how many series have each value, with the value
//! (formatted as Go's `strconv.FormatFloat(v, 'f', -1, 64)`) in `label`.
//!
//! A sample's output labels are the grouping applied to its series' labels with `label`
//! set to the value: `by` always keeps `label`, `without` drops it only if it is listed
//! (and then every value counts together). So each series has a fixed base group, and a
//! point's output series is (base group, formatted value): one map look-up per point, but
//! only when the value changes from the series' previous point. Counts are kept as one
//! `(output, step)` entry per point and tallied at the end, so memory follows the input
//! size even when every sample has its own value.

use ember_storage::numfmt::format_f;
use hashbrown::HashMap;

use crate::error::QueryError;
use crate::value::{FPoint, Series, Steps};

use super::shared::{step_points, Interner, Selection};
use super::Grouping;

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

    let mut bases = Interner::default();
    let mut key = Vec::new();
    let mut by_value: HashMap<(u32, String), u32> = HashMap::new();
    let mut metrics: Vec<ember_storage::Labels> = Vec::new();
    // One (output series, step) per input point.
    let mut hits: Vec<(u32, u32)> = Vec::new();
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
                    let next = metrics.len() as u32;
                    let id = *by_value.entry((base, value)).or_insert_with_key(|(_, v)| {
                        let mut b = s.metric.builder();
                        b.set(label, if value_kept { v } else { "" });
                        b.retain(|name, _| selection.selects(name));
                        metrics.push(b.labels());
                        next
                    });
                    last = Some((f.to_bits(), id));
                    id
                }
            };
            hits.push((id, i as u32));
        }
    }
    // Tally: sorted by output series then step, each run is one point's count.
    hits.sort_unstable();
    let mut out: Vec<Series> = metrics
        .into_iter()
        .map(|metric| Series::new(metric, Vec::new()))
        .collect();
    for run in hits.chunk_by(|a, b| a == b) {
        let (id, i) = run[0];
        out[id as usize].floats.push(FPoint {
            t: steps.ts(i as usize),
            f: run.len() as f64,
        });
    }
    Ok(out)
}
