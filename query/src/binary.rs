//! Binary operators: arithmetic, comparison (with and without `bool`), and the set
//! operators `and`, `or`, `unless`, between scalars and vectors, with `on`/`ignoring`
//! matching and `group_left`/`group_right`, and Prometheus's matching errors.

use promql_parser::parser::token::TokenType;
use promql_parser::parser::BinModifier;

use crate::annotations::Annotations;
use crate::error::QueryError;
use crate::positions::Positions;
use crate::value::{StepValue, Steps};

/// What a binary operation may need besides its operands.
pub struct BinCtx<'a> {
    pub steps: Steps,
    pub expr: &'a promql_parser::parser::Expr,
    pub positions: &'a Positions,
    pub annotations: &'a mut Annotations,
    pub delayed_name_removal: bool,
}

/// Applies `op` to two evaluated operands (each a scalar or an instant vector).
pub fn binary(
    op: TokenType,
    lhs: StepValue,
    rhs: StepValue,
    modifier: Option<&BinModifier>,
    ctx: &mut BinCtx<'_>,
) -> Result<StepValue, QueryError> {
    let _ = (lhs, rhs, modifier, ctx);
    Err(QueryError::exec(format!(
        "binary operator {op} is not implemented"
    )))
}
