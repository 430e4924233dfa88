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
//! any other expression does reach [`call`] and returns step timestamps), and `start`,
//! `end`, `range`, `step` (the query's own boundaries; `info` is rejected). A range-vector
//! function may be called once per batch of input series: each series is computed on its
//! own, so batching changes nothing (`absent_over_time`, which looks at all series at
//! once, is given them all).
//!
//! Semantics are Prometheus 3's (`promql/functions.go`, `promql/quantile.go`), function by
//! function, including where the metric name is dropped, which annotations are raised at
//! which argument's position, and the exact floating-point arithmetic. The work is
//! series-major: an instant-vector function maps each input series' points in place; a
//! range-vector function walks each series' samples once across all steps
//! (`window`); functions that combine series per step (`scalar`, `absent`, sorting,
//! `histogram_quantile`) group the series once and then walk the steps.
//!
//! | module         | functions                                                        |
//! |----------------|------------------------------------------------------------------|
//! | `math`, `gomath` | `abs` … `atanh`, `round`, `clamp*`, `timestamp`, `scalar`, `vector`, `time`, `pi`, `max_of`, `min_of` |
//! | `date`         | `year`, `month`, `day_of_*`, `days_in_month`, `hour`, `minute`   |
//! | `rate`         | `rate`, `increase`, `delta`, `irate`, `idelta`, `deriv`, `predict_linear`, `changes`, `resets`, `double_exponential_smoothing` |
//! | `over_time`    | `*_over_time`, `absent_over_time`                                |
//! | `labels`       | `label_replace`, `label_join`, `absent`                          |
//! | `sort`         | `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`       |
//! | `histogram`    | `histogram_quantile(s)`, `histogram_fraction` over classic buckets; the native-only `histogram_*` |
//!
//! Where Ember knowingly differs from Prometheus:
//!
//! - Native histograms are not stored yet, so every sample is a float: the native-only
//!   `histogram_count`, `_sum`, `_avg`, `_stddev`, `_stdvar` return nothing, and no
//!   native-histogram annotation is ever raised. `start_timestamp` returns nothing, as in
//!   Prometheus without start-timestamp storage.
//! - `exp`, `sinh`, `cosh`, `tanh` use the platform's libm, which agrees with Go's
//!   (amd64 assembly for `exp`) to within 2 units in the last place. `ln`, `log2`,
//!   `log10`, `sqrt`, the circular and inverse hyperbolic functions (ported from Go's
//!   Cephes and fdlibm code) and all other arithmetic agree to the bit
//!   (`functions/testdata/prometheus-math.txt`).
//! - `ln`, `log2`, `log10` of a subnormal number are correct; Go's amd64 assembly `Log`
//!   returns a wrong value there (ln(5e-324) = -709.09 instead of -744.44).
//! - Sorting (`sort*`) of more than 12 series uses a stable merge sort; Go's pdqsort may
//!   order equal values differently. Up to 12 series, the order is exactly Go's.
//! - Label names are checked for being non-empty (Prometheus 3's UTF-8 rule). A string
//!   literal that is invalid UTF-8 in Go's reading (`"\xff"`) is caught by the evaluator
//!   for `label_replace`/`label_join` destinations and `count_values` labels
//!   ([`Positions::invalid_utf8`]); elsewhere the parser's reading (`ÿ`) is used.
//! - The experimental functions are not gated here behind a feature flag.

mod date;
mod gomath;
mod histogram;
mod labels;
mod math;
mod numeric;
mod over_time;
mod rate;
mod sort;
mod window;

use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::error::QueryError;
use crate::positions::{Pos, Positions};
use crate::value::{RangeValue, Series, StepValue, Steps};

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
    /// Argument `i` as Prometheus sees it: without enclosing parentheses (Prometheus
    /// removes them from call arguments before evaluating).
    pub fn arg_expr(&self, i: usize) -> Option<&Expr> {
        let mut e: &Expr = self.arg_exprs.get(i)?;
        while let Expr::Paren(p) = e {
            e = &p.expr;
        }
        Some(e)
    }

    /// The position of argument `i` (of the expression inside any parentheses, as in
    /// Prometheus).
    pub fn arg_pos(&self, i: usize) -> Option<Pos> {
        self.arg_expr(i).and_then(|e| self.positions.of(e))
    }

    /// Removes the metric name from `s`, now or (delayed removal) when the result is final.
    pub fn drop_metric_name(&self, s: &mut Series) {
        crate::value::drop_metric_name(s, self.delayed_name_removal);
    }

    /// The metric name of `s` for an annotation: with delayed name removal it is still
    /// known; without, Prometheus reports none.
    fn annotation_metric_name<'s>(&self, s: &'s Series) -> &'s str {
        if self.delayed_name_removal {
            s.metric.metric_name().unwrap_or("")
        } else {
            ""
        }
    }
}

/// Calls function `name` (a name `promql-parser` accepted, with arguments it type-checked).
pub fn call(
    name: &str,
    args: Vec<StepValue>,
    ctx: &mut FnCtx<'_>,
) -> Result<StepValue, QueryError> {
    let mut a = Args::new(name, args);
    let v = |series: Vec<Series>| Ok(StepValue::Vector(series));
    if let Some(f) = math::unary(name) {
        return v(math::map_values(a.vector()?, ctx, f));
    }
    if let Some(part) = date::DatePart::from_name(name) {
        return v(if a.is_empty() {
            date::of_steps(part, ctx)
        } else {
            date::of_values(part, a.vector()?, ctx)
        });
    }
    if let Some(kind) = rate::Kind::from_name(name) {
        let rv = a.range()?;
        let mut params = Vec::new();
        while !a.is_empty() {
            params.push(a.scalar()?);
        }
        return v(rate::eval(kind, rv, &params, ctx)?);
    }
    if let Some(kind) = over_time::Kind::from_name(name) {
        let rv = a.range()?;
        return v(over_time::eval(kind, rv, None, ctx)?);
    }
    match name {
        "round" => {
            let input = a.vector()?;
            let to_nearest = a.opt_scalar()?;
            v(math::round(input, to_nearest.as_deref(), ctx))
        }
        "clamp" => {
            let input = a.vector()?;
            let (min, max) = (a.scalar()?, a.scalar()?);
            v(math::clamp(input, Some(&min), Some(&max), ctx))
        }
        "clamp_min" => {
            let input = a.vector()?;
            let min = a.scalar()?;
            v(math::clamp(input, Some(&min), None, ctx))
        }
        "clamp_max" => {
            let input = a.vector()?;
            let max = a.scalar()?;
            v(math::clamp(input, None, Some(&max), ctx))
        }
        "timestamp" => v(math::timestamp(a.vector()?, ctx)),
        // Ember stores no start timestamps, so, as Prometheus without
        // `use-start-timestamps`, the result is always empty.
        "start_timestamp" => {
            a.vector()?;
            v(Vec::new())
        }
        "scalar" => Ok(StepValue::Scalar(math::scalar(&a.vector()?, ctx))),
        "vector" => v(math::vector(&a.scalar()?, ctx)),
        "time" => Ok(StepValue::Scalar(math::time(ctx))),
        "pi" => Ok(StepValue::Scalar(vec![
            std::f64::consts::PI;
            ctx.steps.len()
        ])),
        "max_of" | "min_of" => {
            let (x, y) = (a.scalar()?, a.scalar()?);
            Ok(StepValue::Scalar(math::max_min_of(
                name == "max_of",
                &x,
                &y,
            )))
        }
        "quantile_over_time" => {
            let q = a.scalar()?;
            let rv = a.range()?;
            v(over_time::eval(
                over_time::Kind::Quantile,
                rv,
                Some(q),
                ctx,
            )?)
        }
        "absent_over_time" => v(over_time::absent_over_time(a.range()?, ctx)),
        "absent" => v(labels::absent(&a.vector()?, ctx)),
        "label_replace" => {
            let input = a.vector()?;
            let (dst, repl, src, regex) = (a.string()?, a.string()?, a.string()?, a.string()?);
            v(labels::label_replace(input, &dst, &repl, &src, &regex)?)
        }
        "label_join" => {
            let input = a.vector()?;
            let (dst, sep) = (a.string()?, a.string()?);
            let mut srcs = Vec::new();
            while !a.is_empty() {
                srcs.push(a.string()?);
            }
            v(labels::label_join(input, &dst, &sep, &srcs)?)
        }
        "sort" | "sort_desc" => v(sort::by_value(a.vector()?, name == "sort_desc", ctx)),
        "sort_by_label" | "sort_by_label_desc" => {
            let input = a.vector()?;
            let mut names = Vec::new();
            while !a.is_empty() {
                names.push(a.string()?);
            }
            v(sort::by_label(
                input,
                &names,
                name == "sort_by_label_desc",
                ctx,
            ))
        }
        "histogram_quantile" => {
            let q = a.scalar()?;
            v(histogram::quantile(&q, a.vector()?, ctx))
        }
        "histogram_quantiles" => {
            let input = a.vector()?;
            let label = a.string()?;
            let mut qs = Vec::new();
            while !a.is_empty() {
                qs.push(a.scalar()?);
            }
            v(histogram::quantiles(input, &label, &qs, ctx))
        }
        "histogram_fraction" => {
            let (lower, upper) = (a.scalar()?, a.scalar()?);
            v(histogram::fraction(&lower, &upper, a.vector()?, ctx))
        }
        // These read native histograms only; float samples give no result.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            a.vector()?;
            v(Vec::new())
        }
        "info" | "start" | "end" | "range" | "step" => Err(QueryError::exec(format!(
            "function {name}() is evaluated by the evaluator, not as a function call"
        ))),
        _ => Err(QueryError::Parse(format!(
            "unknown function with name {name:?}"
        ))),
    }
}

/// The evaluated arguments of one call, taken in order with the type each should have.
struct Args<'n> {
    name: &'n str,
    items: std::vec::IntoIter<StepValue>,
    index: usize,
}

impl<'n> Args<'n> {
    fn new(name: &'n str, args: Vec<StepValue>) -> Args<'n> {
        Args {
            name,
            items: args.into_iter(),
            index: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.items.len() == 0
    }

    fn next(&mut self, want: &str) -> Result<StepValue, QueryError> {
        self.index += 1;
        self.items.next().ok_or_else(|| {
            QueryError::exec(format!(
                "{}(): missing argument {} (a {want})",
                self.name, self.index
            ))
        })
    }

    fn mismatch(&self, want: &str, got: &StepValue) -> QueryError {
        QueryError::exec(format!(
            "{}(): argument {} should be a {want}, got {}",
            self.name,
            self.index,
            got.type_name()
        ))
    }

    fn vector(&mut self) -> Result<Vec<Series>, QueryError> {
        match self.next("vector")? {
            StepValue::Vector(v) => Ok(v),
            other => Err(self.mismatch("vector", &other)),
        }
    }

    fn scalar(&mut self) -> Result<Vec<f64>, QueryError> {
        match self.next("scalar")? {
            StepValue::Scalar(v) => Ok(v),
            other => Err(self.mismatch("scalar", &other)),
        }
    }

    fn opt_scalar(&mut self) -> Result<Option<Vec<f64>>, QueryError> {
        if self.is_empty() {
            Ok(None)
        } else {
            self.scalar().map(Some)
        }
    }

    fn range(&mut self) -> Result<RangeValue, QueryError> {
        match self.next("range vector")? {
            StepValue::Range(r) => Ok(r),
            other => Err(self.mismatch("range vector", &other)),
        }
    }

    fn string(&mut self) -> Result<String, QueryError> {
        match self.next("string")? {
            StepValue::String(s) => Ok(s),
            other => Err(self.mismatch("string", &other)),
        }
    }
}

/// A per-step scalar argument's value at step `i` (NaN if the evaluator gave too few).
#[inline]
fn at(values: &[f64], i: usize) -> f64 {
    values.get(i).copied().unwrap_or(f64::NAN)
}

/// The per-step scalar `values` at the step whose timestamp is `t`.
#[inline]
fn at_time(values: &[f64], steps: &Steps, t: i64) -> f64 {
    steps.index(t).map_or(f64::NAN, |i| at(values, i))
}

#[cfg(test)]
mod tests;
