//! Binary operators: arithmetic, comparison (with and without `bool`), and the set
//! operators `and`, `or`, `unless`, between scalars and vectors, with `on`/`ignoring`
//! matching and `group_left`/`group_right`, and Prometheus's matching errors.
//!
//! Float semantics are Go's: `%` is `math.Mod` (the sign of the dividend), `^` is
//! `math.Pow`, division by zero gives ±Inf or NaN, and every comparison with NaN is false
//! (`!=` true). A comparison without `bool` filters, keeping the vector side's value; with
//! `bool` it yields 1 or 0 for every pair.
//!
//! Metric names: arithmetic and `bool` comparisons remove `__name__` (with delayed name
//! removal, a vector-scalar operation only marks the series, see [`Series::drop_name`]);
//! filtering comparisons keep it; set operators return each side's series unchanged.
//!
//! Everything is computed for all steps at once: a scalar operand is looked up by step,
//! and vector matching ([`matching`]) computes each series' signature once.
//!
//! [`Series::drop_name`]: crate::value::Series::drop_name

mod matching;
mod output;

use ember_storage::labels::METRIC_NAME;
use promql_parser::parser::token::{
    TokenType, T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS,
    T_MOD, T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::BinModifier;

use crate::annotations::Annotations;
use crate::error::QueryError;
use crate::positions::Positions;
use crate::value::{FPoint, Series, StepValue, Steps};

use crate::aggregate::shared::StepCursor;
use output::Output;

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
    let token = op;
    let op = Op::from_token(op)?;
    let return_bool = modifier.is_some_and(|m| m.return_bool);
    if let Some(m) = modifier {
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            return Err(QueryError::exec(
                "binop fill modifiers are experimental and not enabled",
            ));
        }
    }
    match (lhs, rhs) {
        (StepValue::Scalar(l), StepValue::Scalar(r)) => scalar_scalar(op, l, r).map(StepValue::Scalar),
        (StepValue::Vector(v), StepValue::Scalar(s)) => {
            vector_scalar(op, v, &s, false, return_bool, ctx).map(StepValue::Vector)
        }
        (StepValue::Scalar(s), StepValue::Vector(v)) => {
            vector_scalar(op, v, &s, true, return_bool, ctx).map(StepValue::Vector)
        }
        (StepValue::Vector(l), StepValue::Vector(r)) => {
            matching::vector_vector(op, l, r, modifier, ctx).map(StepValue::Vector)
        }
        (l, r) => Err(QueryError::exec(format!(
            "binary expression must contain only scalar and instant vector types, got {} {token} {}",
            l.type_name(),
            r.type_name()
        ))),
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Arith(Arith),
    Cmp(Cmp),
    Set(SetOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    And,
    Or,
    Unless,
}

impl Op {
    fn from_token(t: TokenType) -> Result<Op, QueryError> {
        Ok(match t.id() {
            T_ADD => Op::Arith(Arith::Add),
            T_SUB => Op::Arith(Arith::Sub),
            T_MUL => Op::Arith(Arith::Mul),
            T_DIV => Op::Arith(Arith::Div),
            T_MOD => Op::Arith(Arith::Mod),
            T_POW => Op::Arith(Arith::Pow),
            T_ATAN2 => Op::Arith(Arith::Atan2),
            T_EQLC => Op::Cmp(Cmp::Eq),
            T_NEQ => Op::Cmp(Cmp::Ne),
            T_GTR => Op::Cmp(Cmp::Gt),
            T_LSS => Op::Cmp(Cmp::Lt),
            T_GTE => Op::Cmp(Cmp::Ge),
            T_LTE => Op::Cmp(Cmp::Le),
            T_LAND => Op::Set(SetOp::And),
            T_LOR => Op::Set(SetOp::Or),
            T_LUNLESS => Op::Set(SetOp::Unless),
            _ => return Err(QueryError::exec(format!("not a binary operator: {t}"))),
        })
    }
}

impl Arith {
    #[inline]
    fn apply(self, l: f64, r: f64) -> f64 {
        match self {
            Arith::Add => l + r,
            Arith::Sub => l - r,
            Arith::Mul => l * r,
            Arith::Div => l / r,
            // Rust's `%` on floats is C's fmod: exact, with the sign of the dividend, as
            // Go's math.Mod.
            Arith::Mod => l % r,
            Arith::Pow => l.powf(r),
            Arith::Atan2 => l.atan2(r),
        }
    }
}

impl Cmp {
    #[inline]
    fn test(self, l: f64, r: f64) -> bool {
        match self {
            Cmp::Eq => l == r,
            Cmp::Ne => l != r,
            Cmp::Gt => l > r,
            Cmp::Lt => l < r,
            Cmp::Ge => l >= r,
            Cmp::Le => l <= r,
        }
    }
}

/// Applies an arithmetic or comparison operator to two vector elements: the value and
/// whether the element is kept (comparisons keep the left value when true).
#[inline]
fn elem(op: Op, l: f64, r: f64) -> (f64, bool) {
    match op {
        Op::Arith(a) => (a.apply(l, r), true),
        Op::Cmp(c) => (l, c.test(l, r)),
        Op::Set(_) => (l, true),
    }
}

fn scalar_scalar(op: Op, l: Vec<f64>, r: Vec<f64>) -> Result<Vec<f64>, QueryError> {
    if l.len() != r.len() {
        return Err(QueryError::exec(
            "scalar operands of a binary operation differ in length",
        ));
    }
    let f: fn(f64, f64) -> f64 = match op {
        Op::Arith(Arith::Add) => |l, r| l + r,
        Op::Arith(Arith::Sub) => |l, r| l - r,
        Op::Arith(Arith::Mul) => |l, r| l * r,
        Op::Arith(Arith::Div) => |l, r| l / r,
        Op::Arith(Arith::Mod) => |l, r| l % r,
        Op::Arith(Arith::Pow) => f64::powf,
        Op::Arith(Arith::Atan2) => f64::atan2,
        // Scalar comparisons always return 0 or 1 (the parser requires `bool`).
        Op::Cmp(c) => {
            return Ok(l
                .iter()
                .zip(&r)
                .map(|(&a, &b)| if c.test(a, b) { 1.0 } else { 0.0 })
                .collect())
        }
        Op::Set(_) => {
            return Err(QueryError::exec(
                "set operators are not allowed in binary scalar expressions",
            ))
        }
    };
    Ok(l.iter().zip(&r).map(|(&a, &b)| f(a, b)).collect())
}

/// Whether equal result label sets share one series (see [`output`]).
fn merge_equal_labels(ctx: &BinCtx<'_>) -> bool {
    ctx.steps.is_range() || !ctx.delayed_name_removal
}

/// A vector and a scalar (`swap`: the scalar is the left operand).
fn vector_scalar(
    op: Op,
    vector: Vec<Series>,
    scalar: &[f64],
    swap: bool,
    return_bool: bool,
    ctx: &BinCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let steps = ctx.steps;
    if scalar.len() != steps.len() {
        return Err(QueryError::exec(
            "scalar operand of a binary operation has the wrong number of steps",
        ));
    }
    let cmp = match op {
        Op::Cmp(c) => Some(c),
        Op::Arith(_) => None,
        Op::Set(_) => {
            return Err(QueryError::exec(
                "set operators are not allowed between a vector and a scalar",
            ))
        }
    };
    let drops_name = cmp.is_none() || return_bool;
    let mut out = Output::new(merge_equal_labels(ctx));
    for s in vector {
        let drop_name = s.drop_name || drops_name;
        let metric = if drops_name && !ctx.delayed_name_removal {
            without_name(s.metric)
        } else {
            s.metric
        };
        // Computed in place: the input's point buffer becomes the result's.
        let mut floats = s.floats;
        let mut cursor = StepCursor::new(&steps);
        let mut kept = 0;
        for r in 0..floats.len() {
            let p = floats[r];
            let Some(i) = cursor.index(p.t) else {
                continue;
            };
            let sv = scalar[i];
            let (l, rv) = if swap { (sv, p.f) } else { (p.f, sv) };
            let f = match (op, cmp) {
                (Op::Arith(a), _) => a.apply(l, rv),
                (_, Some(c)) => {
                    let keep = c.test(l, rv);
                    if return_bool {
                        if keep {
                            1.0
                        } else {
                            0.0
                        }
                    } else if keep {
                        // A filter keeps the vector's value, whichever side it is on.
                        p.f
                    } else {
                        continue;
                    }
                }
                _ => continue,
            };
            floats[kept] = FPoint { t: p.t, f };
            kept += 1;
        }
        floats.truncate(kept);
        out.adopt(metric, floats, drop_name);
    }
    out.finish().map_err(|_| QueryError::exec(SAME_LABELSET))
}

const SAME_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// `metric` without `__name__`.
fn without_name(metric: ember_storage::Labels) -> ember_storage::Labels {
    if metric.get(METRIC_NAME).is_none() {
        return metric;
    }
    let mut b = metric.builder();
    b.del(METRIC_NAME);
    b.labels()
}

#[cfg(test)]
mod tests;
