//! Aggregation operators: `sum`, `avg`, `min`, `max`, `group`, `count`, `count_values`,
//! `stddev`, `stdvar`, `topk`, `bottomk`, `quantile`, `limitk`, `limit_ratio`, with
//! `by`/`without`.
//!
//! Series-major: each input series' group is computed once, then its points are folded
//! into its group's per-step accumulators, so the cost is one pass over the points rather
//! than a hash look-up per series per step.

use promql_parser::parser::token::TokenType;
use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::error::QueryError;
use crate::positions::Positions;
use crate::value::{Series, StepValue, Steps};

/// Grouping of an aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// No clause: everything in one group.
    All,
    By(Vec<String>),
    Without(Vec<String>),
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

/// Aggregates `input` with operator `op` (a `promql-parser` aggregation token) and, for
/// `topk`, `bottomk`, `quantile`, `count_values`, `limitk`, `limit_ratio`, its parameter
/// (a per-step scalar, or a string for `count_values`).
pub fn aggregate(
    op: TokenType,
    param: Option<StepValue>,
    input: Vec<Series>,
    grouping: &Grouping,
    ctx: &mut AggCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let _ = (param, input, grouping, ctx);
    Err(QueryError::exec(format!(
        "aggregation {op} is not implemented"
    )))
}
