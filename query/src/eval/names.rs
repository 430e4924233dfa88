//! Series whose label sets become equal (after `__name__` removal, or from label
//! functions) and the final delayed name removal, as Prometheus handles them.

use hashbrown::HashMap;

use crate::error::QueryError;
use crate::value::{drop_metric_name, Series};

const SAME_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// When two series with equal labels are an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// Only when both have a point at the same step (Prometheus's step-by-step nodes);
    /// otherwise they are merged into one series.
    PerStep,
    /// Always (Prometheus's functions over range vectors).
    Never,
}

/// Merges series with equal label sets, keeping the order of first appearance.
pub(crate) fn merge_same_labels(
    series: Vec<Series>,
    overlap: Overlap,
) -> Result<Vec<Series>, QueryError> {
    if series.len() < 2 {
        return Ok(series);
    }
    let dup = {
        let mut seen: hashbrown::HashSet<&ember_storage::Labels> =
            hashbrown::HashSet::with_capacity(series.len());
        series.iter().any(|s| !seen.insert(&s.metric))
    };
    if !dup {
        return Ok(series);
    }
    if overlap == Overlap::Never {
        return Err(QueryError::exec(SAME_LABELSET));
    }
    let mut index: HashMap<ember_storage::Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match index.get(&s.metric) {
            Some(&i) => {
                let target = &mut out[i];
                target.floats.extend(s.floats);
                target.floats.sort_by_key(|p| p.t);
                if target.floats.windows(2).any(|w| w[0].t == w[1].t) {
                    return Err(QueryError::exec(SAME_LABELSET));
                }
                target.drop_name |= s.drop_name;
            }
            None => {
                index.insert(s.metric.clone(), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// The end of a query: with delayed name removal, names marked for removal go now and
/// colliding label sets are merged (or rejected when they meet at a step; for an instant
/// vector, any collision is an error).
pub(crate) fn finish_names(
    mut series: Vec<Series>,
    delayed: bool,
    instant_vector: bool,
) -> Result<Vec<Series>, QueryError> {
    if !delayed {
        return Ok(series);
    }
    for s in &mut series {
        if s.drop_name {
            drop_metric_name(s, false);
        }
    }
    if instant_vector {
        merge_same_labels(series, Overlap::Never)
    } else {
        merge_same_labels(series, Overlap::PerStep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::FPoint;
    use ember_storage::Labels;

    fn s(name: &str, pts: &[i64]) -> Series {
        Series::new(
            Labels::from_pairs([("a", name)]),
            pts.iter().map(|&t| FPoint { t, f: t as f64 }).collect(),
        )
    }

    #[test]
    fn merges_disjoint_and_rejects_overlapping() {
        let out = merge_same_labels(
            vec![s("x", &[1, 3]), s("y", &[1]), s("x", &[2])],
            Overlap::PerStep,
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            merge_same_labels(vec![s("x", &[1]), s("x", &[1])], Overlap::PerStep)
                .unwrap_err()
                .to_string(),
            SAME_LABELSET
        );
        assert!(merge_same_labels(vec![s("x", &[1]), s("x", &[2])], Overlap::Never).is_err());
    }

    #[test]
    fn delayed_removal_happens_at_the_end() {
        let mut a = Series::new(
            Labels::from_pairs([("__name__", "m1"), ("j", "1")]),
            vec![FPoint { t: 1, f: 1.0 }],
        );
        a.drop_name = true;
        let mut b = Series::new(
            Labels::from_pairs([("__name__", "m2"), ("j", "1")]),
            vec![FPoint { t: 2, f: 2.0 }],
        );
        b.drop_name = true;
        let out = finish_names(vec![a.clone(), b.clone()], true, false).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].metric, Labels::from_pairs([("j", "1")]));
        assert!(finish_names(vec![a, b], true, true).is_err());
    }
}
