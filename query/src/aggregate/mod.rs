//! Aggregation operators: `sum`, `avg`, `min`, `max`, `group`, `count`, `count_values`,
//! `stddev`, `stdvar`, `topk`, `bottomk`, `quantile`, `limitk`, `limit_ratio`, with
//! `by`/`without`.
//!
//! Series-major: each input series' group is computed once (one hash of its grouping
//! labels), the series are bucketed by group, and then each group's series are folded
//! point by point into one accumulator per step. Within a group the series are visited in
//! input order, so every step sees exactly the sequence of values Prometheus's step-by-step
//! loop sees, and floating-point results match bit for bit.
//!
//! | module           | operators                                                  |
//! |------------------|------------------------------------------------------------|
//! | `fold`           | `sum`, `avg`, `min`, `max`, `group`, `count`, `stddev`, `stdvar`, `quantile` |
//! | `topk`           | `topk`, `bottomk`, `limitk`, `limit_ratio`                 |
//! | `count_values`   | `count_values`                                             |
//! | `shared`         | step walking, label selections, hashing (also used by [`crate::binary`]) |

mod count_values;
mod fold;
pub(crate) mod shared;
mod topk;

use promql_parser::parser::token::{
    TokenType, T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMITK, T_LIMIT_RATIO, T_MAX,
    T_MIN, T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::error::QueryError;
use crate::positions::{Pos, Positions};
use crate::value::{Series, StepValue, Steps};

use shared::{Interner, Selection};

/// Grouping of an aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// No clause: everything in one group.
    All,
    By(Vec<String>),
    Without(Vec<String>),
}

impl Grouping {
    fn selection(&self) -> Selection {
        match self {
            Grouping::All => Selection::keep::<&str>(&[]),
            Grouping::By(names) => Selection::keep(names),
            Grouping::Without(names) => Selection::drop(names),
        }
    }
}

/// What an aggregation may need besides its inputs.
pub struct AggCtx<'a> {
    pub steps: Steps,
    /// The aggregation expression (for positions of its parameter and operand).
    pub expr: &'a Expr,
    pub positions: &'a Positions,
    pub annotations: &'a mut Annotations,
    pub delayed_name_removal: bool,
}

impl AggCtx<'_> {
    /// The position of the aggregation's parameter (`k`, `q`, ...), for annotations.
    fn param_pos(&self) -> Option<Pos> {
        match self.expr {
            Expr::Aggregate(a) => a.param.as_deref().and_then(|p| self.positions.of(p)),
            _ => None,
        }
    }
}

/// Aggregates `input` with operator `op` (a `promql-parser` aggregation token) and, for
/// `topk`, `bottomk`, `quantile`, `count_values`, `limitk`, `limit_ratio`, its parameter
/// (a per-step scalar, or a string for `count_values`).
///
/// The result has one series per group that has a value at some step (for `topk`,
/// `bottomk`, `limitk` and `limit_ratio`: one per selected input series, with its own
/// labels). For an instant evaluation the series come in Prometheus's order: groups in
/// order of first appearance in `input`, and within a group `topk` by descending and
/// `bottomk` by ascending value.
pub fn aggregate(
    op: TokenType,
    param: Option<StepValue>,
    input: Vec<Series>,
    grouping: &Grouping,
    ctx: &mut AggCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let selection = grouping.selection();
    let steps = ctx.steps;
    match op.id() {
        T_SUM => Ok(fold::fold::<fold::Sum>(&input, &selection, &steps)),
        T_AVG => Ok(fold::fold::<fold::Avg>(&input, &selection, &steps)),
        T_MIN => Ok(fold::fold::<fold::Min>(&input, &selection, &steps)),
        T_MAX => Ok(fold::fold::<fold::Max>(&input, &selection, &steps)),
        T_GROUP => Ok(fold::fold::<fold::Group>(&input, &selection, &steps)),
        T_COUNT => Ok(fold::fold::<fold::Count>(&input, &selection, &steps)),
        T_STDDEV => Ok(fold::fold::<fold::StdDev>(&input, &selection, &steps)),
        T_STDVAR => Ok(fold::fold::<fold::StdVar>(&input, &selection, &steps)),
        T_QUANTILE => {
            let q = scalar_param(op, param, &steps)?;
            let stats = ParamStats::of(&q);
            let pos = ctx.param_pos();
            if stats.any_nan {
                ctx.annotations.invalid_quantile(f64::NAN, pos);
            }
            if stats.max > 1.0 {
                ctx.annotations.invalid_quantile(stats.max, pos);
            }
            if stats.min < 0.0 {
                ctx.annotations.invalid_quantile(stats.min, pos);
            }
            Ok(fold::quantile(&input, &selection, &steps, &q))
        }
        T_COUNT_VALUES => {
            let label = match param {
                Some(StepValue::String(s)) => s,
                other => return Err(bad_param(op, other.as_ref())),
            };
            count_values::count_values(&label, &input, grouping, &steps)
        }
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
            let values = scalar_param(op, param, &steps)?;
            topk::aggregate_k(op, &values, input, &selection, ctx)
        }
        _ => Err(QueryError::exec(format!(
            "expected aggregation operator but got {op}"
        ))),
    }
}

/// The per-step values of a numeric parameter.
fn scalar_param(
    op: TokenType,
    param: Option<StepValue>,
    steps: &Steps,
) -> Result<Vec<f64>, QueryError> {
    match param {
        Some(StepValue::Scalar(v)) if v.len() == steps.len() => Ok(v),
        other => Err(bad_param(op, other.as_ref())),
    }
}

fn bad_param(op: TokenType, got: Option<&StepValue>) -> QueryError {
    QueryError::exec(format!(
        "invalid parameter for aggregation {op}: {}",
        got.map_or("none", StepValue::type_name)
    ))
}

/// Minimum, maximum and NaN presence of a parameter over all steps, computed as
/// Prometheus does with Go's `math.Min`/`math.Max` (a NaN makes both NaN, except that
/// `+Inf` wins a maximum and `-Inf` a minimum).
#[derive(Debug, Clone, Copy, PartialEq)]
struct ParamStats {
    min: f64,
    max: f64,
    any_nan: bool,
}

impl ParamStats {
    fn of(values: &[f64]) -> ParamStats {
        let mut s = ParamStats {
            min: f64::MAX,
            max: -f64::MAX,
            any_nan: false,
        };
        for &v in values {
            s.max = go_max(s.max, v);
            s.min = go_min(s.min, v);
            s.any_nan |= v.is_nan();
        }
        s
    }
}

/// Go's `math.Max`.
fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() {
            y
        } else {
            x
        }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`.
fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else if x < y {
        x
    } else {
        y
    }
}

/// Input series bucketed by group: group `g`'s series are
/// `order[offsets[g]..offsets[g + 1]]`, in input order.
struct Groups {
    order: Vec<u32>,
    offsets: Vec<u32>,
    /// The output labels of each group (empty when not asked for).
    labels: Vec<ember_storage::Labels>,
}

impl Groups {
    /// Groups `input` by `selection`. Group ids follow first appearance in `input`.
    fn new(input: &[Series], selection: &Selection, with_labels: bool) -> Groups {
        let mut interner = Interner::default();
        let mut key = Vec::new();
        let mut group_of = Vec::with_capacity(input.len());
        let mut labels = Vec::new();
        for s in input {
            selection.key_into(&s.metric, &mut key);
            let (g, new) = interner.intern(&key);
            if new && with_labels {
                labels.push(selection.project(&s.metric));
            }
            group_of.push(g);
        }
        let n = interner.len();
        // Counting sort by group: stable, so each group keeps input order.
        let mut offsets = vec![0u32; n + 1];
        for &g in &group_of {
            offsets[g as usize + 1] += 1;
        }
        for g in 0..n {
            offsets[g + 1] += offsets[g];
        }
        let mut fill = offsets.clone();
        let mut order = vec![0u32; input.len()];
        for (i, &g) in group_of.iter().enumerate() {
            order[fill[g as usize] as usize] = i as u32;
            fill[g as usize] += 1;
        }
        Groups {
            order,
            offsets,
            labels,
        }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Indexes (into the input) of group `g`'s series, in input order.
    fn members(&self, g: usize) -> &[u32] {
        &self.order[self.offsets[g] as usize..self.offsets[g + 1] as usize]
    }
}

#[cfg(test)]
mod tests;
