//! PromQL functions.
//!
//! The evaluator evaluates a call's arguments (for all steps at once) and hands them to
//! [`call`]: instant vectors and scalars as [`StepValue::Vector`] / [`StepValue::Scalar`]
//! (one value per step, so a scalar argument may differ between steps), strings as
//! [`StepValue::String`], range vectors as [`StepValue::Range`] (raw samples plus each
//! step's window). A function returns its value for every step.
//!
//! Two calls are handled by the evaluator itself and never reach [`call`]:
//! `timestamp(<vector selector>)` (which needs the samples' own timestamps; `timestamp` of
//! any other expression does reach [`call`] and returns step timestamps), and the
//! experimental `info`, `start`, `end`, `range`, `step` (rejected).

use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::error::QueryError;
use crate::positions::{Pos, Positions};
use crate::value::{Series, StepValue, Steps};

/// What a function may need besides its arguments.
pub struct FnCtx<'a> {
    pub steps: Steps,
    /// The argument expressions as written (for `absent`'s labels and positions).
    pub arg_exprs: &'a [Box<Expr>],
    /// The position of the call itself.
    pub call_pos: Option<Pos>,
    pub positions: &'a Positions,
    pub annotations: &'a mut Annotations,
    /// Prometheus 3's delayed `__name__` removal (see [`Series::drop_name`]).
    pub delayed_name_removal: bool,
}

impl FnCtx<'_> {
    /// The position of argument `i`.
    pub fn arg_pos(&self, i: usize) -> Option<Pos> {
        self.arg_exprs.get(i).and_then(|e| self.positions.of(e))
    }

    /// Removes the metric name from `s`, now or (delayed removal) when the result is final.
    pub fn drop_metric_name(&self, s: &mut Series) {
        crate::value::drop_metric_name(s, self.delayed_name_removal);
    }
}

/// Calls function `name` (a name `promql-parser` accepted, with arguments it type-checked).
pub fn call(
    name: &str,
    args: Vec<StepValue>,
    ctx: &mut FnCtx<'_>,
) -> Result<StepValue, QueryError> {
    let _ = (args, ctx);
    Err(QueryError::exec(format!(
        "function {name}() is not implemented"
    )))
}
