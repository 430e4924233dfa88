//! The evaluator: evaluates an expression for all steps of a query, node by node.
//!
//! Every node is evaluated once for the whole step range ([`Steps`]), series by series:
//! - a vector selector walks each series' samples once across the steps
//!   ([`selector::instant_points`]);
//! - a function over a range vector gets its argument in batches of series, each series'
//!   samples restricted to the steps' windows, so raw samples for the whole query are never
//!   all in memory at once;
//! - a subquery evaluates its inner expression once over its own aligned step grid covering
//!   every window of the outer steps, and hands the result on as a range vector;
//! - `offset` and `@` are applied by computing each step's evaluation time ([`EvalTimes`])
//!   rather than by rewriting the expression, so `@`-fixed parts are exact at every step.
//!
//! Results are finished as Prometheus finishes them: label sets that collide after
//! `__name__` removal are merged or rejected ("vector cannot contain metrics with the same
//! labelset"), delayed name removal is applied at the end, range results are sorted by
//! labels.

mod names;
mod parallel;
pub(crate) mod selector;

use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ember_storage::querier::{Queryable, SelectHints, Series as StoredSeries};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AggregateExpr, AtModifier, Call, Expr, LabelModifier, Offset, SubqueryExpr, VectorSelector,
};

use crate::aggregate::{aggregate, AggCtx, Grouping};
use crate::annotations::Annotations;
use crate::binary::{binary, BinCtx};
use crate::engine::{CancelToken, EngineOpts, QueryStats};
use crate::error::QueryError;
use crate::functions::{call as call_function, FnCtx};
use crate::positions::Positions;
use crate::value::{drop_metric_name, FPoint, RangeValue, Sample, Series, StepValue, Steps, Value};

use names::{finish_names, merge_same_labels, Overlap};
use parallel::{map_parts, Budget, Checker};
use selector::EvalTimes;

/// Raw samples per batch handed to a range-vector function when materializing.
const RANGE_BATCH_SAMPLES: usize = 1 << 20;

/// Raw samples per batch a part of a range-vector function call reads before running the
/// function on them: small enough (1 MiB of points) that the samples are still in the
/// core's cache when the function reads them back.
const PART_BATCH_SAMPLES: usize = 1 << 16;

/// Where the query is, for error messages (Prometheus's `env` strings).
const ENV_EVAL: &str = "expression evaluation";
const ENV_EXEC: &str = "query execution";

pub(crate) struct Evaluator<'a> {
    storage: &'a dyn Queryable,
    opts: &'a EngineOpts,
    lookback: i64,
    /// The query's own steps (`@ start()` / `@ end()` refer to them).
    steps: Steps,
    range_query: bool,
    positions: &'a Positions,
    deadline: Instant,
    cancel: Option<CancelToken>,
    annotations: Annotations,
    stats: QueryStats,
    /// Samples currently held by evaluated values (for `max_samples` and peak stats).
    current_samples: usize,
}

/// A range vector argument before its samples are read.
enum RangeSource {
    Selector {
        series: Vec<StoredSeries>,
        times: EvalTimes,
        range: i64,
    },
    Materialized(RangeValue),
}

impl<'a> Evaluator<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        storage: &'a dyn Queryable,
        opts: &'a EngineOpts,
        lookback: i64,
        steps: Steps,
        range_query: bool,
        positions: &'a Positions,
        deadline: Instant,
        cancel: Option<CancelToken>,
    ) -> Evaluator<'a> {
        Evaluator {
            storage,
            opts,
            lookback: if lookback > 0 {
                lookback
            } else {
                opts.lookback_delta
            },
            steps,
            range_query,
            positions,
            deadline,
            cancel,
            annotations: Annotations::new(),
            stats: QueryStats::default(),
            current_samples: 0,
        }
    }

    pub fn finish(self) -> (Annotations, QueryStats) {
        (self.annotations, self.stats)
    }

    /// Evaluates the query and shapes the result as Prometheus returns it.
    pub fn run(&mut self, expr: &Expr) -> Result<Value, QueryError> {
        let ty = expr.value_type();
        if self.range_query && !matches!(ty, ValueType::Vector | ValueType::Scalar) {
            return Err(QueryError::Parse(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                documented_type(ty)
            )));
        }
        let steps = self.steps;
        let v = self.eval(expr, steps)?;
        let delayed = self.opts.delayed_name_removal;
        let value = match v {
            StepValue::Scalar(vals) => {
                if self.range_query {
                    let floats = steps
                        .iter()
                        .zip(vals)
                        .map(|(t, f)| FPoint { t, f })
                        .collect();
                    Value::Matrix(vec![Series::new(ember_storage::Labels::empty(), floats)])
                } else {
                    Value::Scalar {
                        t: steps.start,
                        v: vals.first().copied().unwrap_or(f64::NAN),
                    }
                }
            }
            StepValue::String(s) => Value::String {
                t: steps.start,
                v: s,
            },
            StepValue::Vector(series) => {
                let mut series = finish_names(series, delayed, !self.range_query)?;
                series.retain(|s| !s.floats.is_empty());
                if self.range_query {
                    let sorted = Instant::now();
                    series.sort_by(|a, b| a.metric.cmp(&b.metric));
                    self.stats.result_sort_time = sorted.elapsed();
                    Value::Matrix(series)
                } else {
                    Value::Vector(
                        series
                            .into_iter()
                            .filter_map(|s| {
                                s.floats.first().map(|p| Sample {
                                    metric: s.metric,
                                    t: steps.start,
                                    f: p.f,
                                })
                            })
                            .collect(),
                    )
                }
            }
            StepValue::Range(rv) => {
                let mut out = Vec::with_capacity(rv.series.len());
                for s in &rv.series {
                    let w = rv.window(&s.floats, 0);
                    if !w.is_empty() {
                        out.push(Series {
                            metric: s.metric.clone(),
                            floats: w.to_vec(),
                            drop_name: s.drop_name,
                        });
                    }
                }
                let mut out = finish_names(out, delayed, false)?;
                out.sort_by(|a, b| a.metric.cmp(&b.metric));
                Value::Matrix(out)
            }
        };
        Ok(value)
    }

    /// Fails with a timeout or cancellation error once the query must stop.
    fn check(&self) -> Result<(), QueryError> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_canceled) {
            return Err(QueryError::Canceled(ENV_EVAL));
        }
        if Instant::now() >= self.deadline {
            return Err(QueryError::Timeout(ENV_EVAL));
        }
        Ok(())
    }

    /// The deadline and cancellation checks for a part running on another thread.
    fn checker<'f>(&'f self, failed: &'f AtomicBool) -> Checker<'f> {
        Checker {
            deadline: self.deadline,
            cancel: self.cancel.as_ref(),
            failed,
        }
    }

    /// Takes over the samples held and the peak after parts ran with `budget`.
    fn absorb(&mut self, budget: &Budget) {
        self.current_samples = budget.held();
        self.stats.peak_samples = self.stats.peak_samples.max(budget.peak() as u64);
    }

    /// Accounts for `n` more samples held in memory.
    fn hold(&mut self, n: usize) -> Result<(), QueryError> {
        self.current_samples += n;
        let cur = self.current_samples as u64;
        if cur > self.stats.peak_samples {
            self.stats.peak_samples = cur;
        }
        if self.current_samples > self.opts.max_samples {
            return Err(QueryError::TooManySamples(ENV_EXEC));
        }
        Ok(())
    }

    /// After a node: its inputs are released, its output (`held` samples) stays.
    fn settle(&mut self, base: usize, held: usize) -> Result<(), QueryError> {
        self.current_samples = base;
        self.hold(held)
    }

    fn eval(&mut self, e: &Expr, steps: Steps) -> Result<StepValue, QueryError> {
        self.check()?;
        let base = self.current_samples;
        let v = match e {
            Expr::NumberLiteral(n) => StepValue::Scalar(vec![n.val; steps.len()]),
            Expr::StringLiteral(s) => StepValue::String(s.val.clone()),
            Expr::Paren(p) => return self.eval(&p.expr, steps),
            Expr::Unary(u) => self.eval_unary(&u.expr, steps)?,
            Expr::Binary(b) => {
                let lhs = self.eval(&b.lhs, steps)?;
                let rhs = self.eval(&b.rhs, steps)?;
                let mut ctx = BinCtx {
                    steps,
                    expr: e,
                    positions: self.positions,
                    annotations: &mut self.annotations,
                    delayed_name_removal: self.opts.delayed_name_removal,
                };
                let out = binary(b.op, lhs, rhs, b.modifier.as_ref(), &mut ctx)?;
                self.step_output(out, steps)?
            }
            Expr::Aggregate(a) => self.eval_aggregate(e, a, steps)?,
            Expr::VectorSelector(vs) => {
                StepValue::Vector(self.eval_vector_selector(vs, steps, false)?)
            }
            Expr::MatrixSelector(ms) => {
                let times = self.eval_times(&ms.vs, steps);
                let range = duration_ms(&ms.range);
                let source = self.range_source_from_selector(&ms.vs, times, range)?;
                StepValue::Range(self.materialize(source)?)
            }
            Expr::Subquery(sq) => StepValue::Range(self.eval_subquery(sq, steps)?),
            Expr::Call(c) => self.eval_call(e, c, steps)?,
            Expr::Extension(_) => {
                return Err(QueryError::exec("extension expressions are not supported"))
            }
        };
        let held = points(&v);
        self.settle(base, held)?;
        Ok(v)
    }

    /// Labels collide only per step for node outputs that Prometheus evaluates step by
    /// step; an instant query with delayed name removal defers the check to the end.
    fn step_output(&self, v: StepValue, steps: Steps) -> Result<StepValue, QueryError> {
        match v {
            StepValue::Vector(series) => {
                if !steps.is_range() && self.opts.delayed_name_removal {
                    Ok(StepValue::Vector(series))
                } else {
                    Ok(StepValue::Vector(merge_same_labels(
                        series,
                        Overlap::PerStep,
                    )?))
                }
            }
            other => Ok(other),
        }
    }

    fn eval_unary(&mut self, inner: &Expr, steps: Steps) -> Result<StepValue, QueryError> {
        Ok(match self.eval(inner, steps)? {
            StepValue::Scalar(mut v) => {
                v.iter_mut().for_each(|x| *x = -*x);
                StepValue::Scalar(v)
            }
            StepValue::Vector(mut series) => {
                let delayed = self.opts.delayed_name_removal;
                for s in &mut series {
                    drop_metric_name(s, delayed);
                    s.drop_name = true;
                    s.floats.iter_mut().for_each(|p| p.f = -p.f);
                }
                if delayed {
                    StepValue::Vector(series)
                } else {
                    StepValue::Vector(merge_same_labels(series, Overlap::PerStep)?)
                }
            }
            other => {
                return Err(QueryError::exec(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                )))
            }
        })
    }

    fn eval_aggregate(
        &mut self,
        e: &Expr,
        a: &AggregateExpr,
        steps: Steps,
    ) -> Result<StepValue, QueryError> {
        let param = match &a.param {
            Some(p) => {
                if let Some(quoted) = self.positions.invalid_utf8(p) {
                    return Err(QueryError::exec(format!("invalid label name {quoted}")));
                }
                Some(self.eval(p, steps)?)
            }
            None => None,
        };
        let input = match self.eval(&a.expr, steps)? {
            StepValue::Vector(s) => s,
            other => {
                return Err(QueryError::exec(format!(
                    "aggregation over {} is not supported",
                    other.type_name()
                )))
            }
        };
        let grouping = match &a.modifier {
            None => Grouping::All,
            Some(LabelModifier::Include(l)) => Grouping::By(l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => Grouping::Without(l.labels.clone()),
        };
        let mut ctx = AggCtx {
            steps,
            expr: e,
            positions: self.positions,
            annotations: &mut self.annotations,
            delayed_name_removal: self.opts.delayed_name_removal,
        };
        let out = aggregate(a.op, param, input, &grouping, &mut ctx)?;
        Ok(StepValue::Vector(out))
    }

    /// `@` resolved to milliseconds (`start()`/`end()` are the query's own).
    fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.steps.start),
            Some(AtModifier::End) => Some(self.steps.ts(self.steps.len() - 1).max(self.steps.end)),
            Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
        }
    }

    fn eval_times(&self, vs: &VectorSelector, steps: Steps) -> EvalTimes {
        EvalTimes {
            steps,
            at: self.at_ms(&vs.at),
            offset: offset_ms(&vs.offset),
        }
    }

    fn select(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        hints: SelectHints,
    ) -> Result<Vec<StoredSeries>, QueryError> {
        let querier = self.storage.querier(mint, maxt)?;
        selector::select(querier.as_ref(), vs, &hints)
    }

    /// An instant vector selector at every step. With `timestamps`, values are the
    /// samples' timestamps in seconds and the name is dropped (`timestamp()`).
    fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        steps: Steps,
        timestamps: bool,
    ) -> Result<Vec<Series>, QueryError> {
        let times = self.eval_times(vs, steps);
        let (mint, maxt) = (times.first() - self.lookback + 1, times.last());
        let hints = SelectHints {
            start: mint,
            end: maxt,
            step: steps.interval,
            ..SelectHints::default()
        };
        let stored = self.select(vs, mint, maxt, hints)?;
        let budget = Budget::new(self.current_samples, self.opts.max_samples);
        let failed = AtomicBool::new(false);
        let checker = self.checker(&failed);
        let (lookback, delayed) = (self.lookback, self.opts.delayed_name_removal);
        let parts = map_parts(&stored, self.opts.threads, &failed, |part| {
            let mut out = Vec::with_capacity(part.len());
            for s in part {
                checker.check()?;
                let mut floats = Vec::new();
                selector::instant_points(s, &times, lookback, timestamps, &mut floats)?;
                if floats.is_empty() {
                    continue;
                }
                budget.hold(floats.len())?;
                let mut series = selector::to_series(s, floats);
                if timestamps {
                    drop_metric_name(&mut series, delayed);
                }
                out.push(series);
            }
            Ok(out)
        })?;
        self.absorb(&budget);
        let out: Vec<Series> = parts.into_iter().flatten().collect();
        self.stats.total_queryable_samples +=
            out.iter().map(|s| s.floats.len() as u64).sum::<u64>();
        if self.opts.per_step_stats {
            self.count_per_step(&out, steps);
        }
        Ok(out)
    }

    fn count_per_step(&mut self, series: &[Series], steps: Steps) {
        if self.stats.per_step.is_empty() {
            self.stats.per_step = self.steps.iter().map(|t| (t, 0)).collect();
        }
        if steps != self.steps {
            return;
        }
        for s in series {
            for p in &s.floats {
                if let Some(i) = steps.index(p.t) {
                    self.stats.per_step[i].1 += 1;
                }
            }
        }
    }

    fn range_source_from_selector(
        &mut self,
        vs: &VectorSelector,
        times: EvalTimes,
        range: i64,
    ) -> Result<RangeSource, QueryError> {
        let (mint, maxt) = (times.first() - range + 1, times.last());
        let hints = SelectHints {
            start: mint,
            end: maxt,
            step: times.steps.interval,
            range,
            ..SelectHints::default()
        };
        let series = self.select(vs, mint, maxt, hints)?;
        Ok(RangeSource::Selector {
            series,
            times,
            range,
        })
    }

    /// Reads all of a range source (for top-level range vectors and functions that need
    /// every series at once).
    fn materialize(&mut self, source: RangeSource) -> Result<RangeValue, QueryError> {
        let mut batches = self.range_batches(source);
        let mut all = match batches.next(self) {
            Some(b) => b?,
            None => return Err(QueryError::exec("empty range source")),
        };
        while let Some(b) = batches.next(self) {
            all.series.extend(b?.series);
        }
        Ok(all)
    }

    fn range_batches(&mut self, source: RangeSource) -> RangeBatches {
        RangeBatches {
            source: Some(source),
            next: 0,
            emitted: false,
        }
    }

    fn eval_subquery(&mut self, sq: &SubqueryExpr, steps: Steps) -> Result<RangeValue, QueryError> {
        let range = duration_ms(&sq.range);
        let offset = offset_ms(&sq.offset);
        let at = self.at_ms(&sq.at);
        let interval = sq
            .step
            .as_ref()
            .map(duration_ms)
            .filter(|s| *s > 0)
            .unwrap_or(self.opts.default_subquery_step.max(1));
        let window_ends: Vec<i64> = (0..steps.len())
            .map(|i| at.unwrap_or_else(|| steps.ts(i)) - offset)
            .collect();
        let first_end = window_ends[0];
        let last_end = *window_ends.last().unwrap_or(&first_end);
        // The first timestamp on the subquery's absolute grid after the first window's
        // start (Go's truncating division, as Prometheus).
        let lower = first_end - range;
        let mut start = interval * (lower / interval);
        if start <= lower {
            start += interval;
        }
        let inner = if last_end < start {
            Vec::new()
        } else {
            let child = Steps::range(start, last_end, interval);
            match self.eval(&sq.expr, child)? {
                StepValue::Vector(s) => s,
                StepValue::Scalar(v) => {
                    let floats = child.iter().zip(v).map(|(t, f)| FPoint { t, f }).collect();
                    vec![Series::new(ember_storage::Labels::empty(), floats)]
                }
                other => {
                    return Err(QueryError::exec(format!(
                        "subquery is only allowed on instant vector, got {}",
                        other.type_name()
                    )))
                }
            }
        };
        Ok(RangeValue {
            series: inner,
            range,
            window_ends,
        })
    }

    fn eval_call(&mut self, e: &Expr, c: &Call, steps: Steps) -> Result<StepValue, QueryError> {
        let name = c.func.name;
        let args = &c.args.args;
        match name {
            "timestamp" => {
                if let Some(Expr::VectorSelector(vs)) = args.first().map(|a| a.as_ref()) {
                    let out = self.eval_vector_selector(vs, steps, true)?;
                    return self.step_output(StepValue::Vector(out), steps);
                }
            }
            // The query's own boundaries, in seconds, the same at every step (an instant
            // query has no step and no range).
            "start" | "end" | "range" | "step" => {
                let q = self.steps;
                let ms = match name {
                    "start" => q.start,
                    "end" => q.end,
                    "range" => q.end - q.start,
                    _ if self.range_query => q.interval,
                    _ => 0,
                };
                let v = ms as f64 / 1000.0;
                return self.step_output(StepValue::Scalar(vec![v; steps.len()]), steps);
            }
            // A destination that is not valid UTF-8 in Go's reading of the query.
            "label_replace" | "label_join" => {
                if let Some(quoted) = args.get(1).and_then(|a| self.positions.invalid_utf8(a)) {
                    return Err(QueryError::exec(format!(
                        "invalid destination label name in {name}(): {}",
                        quoted.trim_matches('"')
                    )));
                }
            }
            "info" => {
                return Err(QueryError::exec(
                    "function info() is an experimental Prometheus feature that Ember does not support yet",
                ))
            }
            _ => {}
        }
        if matches!(
            name,
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc"
        ) && self.range_query
        {
            let pos = self.positions.of(e);
            self.annotations.sort_in_range_query(pos);
        }

        // Evaluate the arguments; a range-vector argument is read lazily in batches.
        let mut values: Vec<Option<StepValue>> = Vec::with_capacity(args.len());
        let mut range_arg: Option<(usize, RangeSource)> = None;
        for (i, a) in args.iter().enumerate() {
            match a.as_ref() {
                Expr::MatrixSelector(ms) => {
                    let times = self.eval_times(&ms.vs, steps);
                    let range = duration_ms(&ms.range);
                    range_arg = Some((i, self.range_source_from_selector(&ms.vs, times, range)?));
                    values.push(None);
                }
                Expr::Subquery(sq) => {
                    let rv = self.eval_subquery(sq, steps)?;
                    range_arg = Some((i, RangeSource::Materialized(rv)));
                    values.push(None);
                }
                other => values.push(Some(self.eval(other, steps)?)),
            }
        }
        let delayed = self.opts.delayed_name_removal;
        let call_pos = self.positions.of(e);

        let Some((range_index, source)) = range_arg else {
            let vals = values.into_iter().flatten().collect();
            let mut ctx = FnCtx {
                steps,
                arg_exprs: args,
                call_pos,
                positions: self.positions,
                annotations: &mut self.annotations,
                delayed_name_removal: delayed,
            };
            let out = call_function(name, vals, &mut ctx)?;
            return self.step_output(out, steps);
        };

        // A range-vector function: per series, so it runs batch by batch, over parts of
        // the selection on several threads (except absent_over_time, which looks at all
        // series together, and subqueries, whose result is already in memory).
        let call = RangeCall {
            name,
            args,
            values: &values,
            range_index,
            steps,
            call_pos,
            positions: self.positions,
            delayed,
        };
        let source = match source {
            RangeSource::Selector { .. } if name == "absent_over_time" => {
                RangeSource::Materialized(self.materialize(source)?)
            }
            other => other,
        };
        let mut output: Vec<Series> = Vec::new();
        let mut scalar_out: Option<StepValue> = None;
        match source {
            RangeSource::Materialized(rv) => {
                let samples: usize = rv.series.iter().map(|s| s.floats.len()).sum();
                self.hold(samples)?;
                let mut ctx = call.ctx(&mut self.annotations);
                match call_function(name, call.args_with(rv), &mut ctx)? {
                    StepValue::Vector(s) => {
                        self.current_samples -= samples;
                        self.hold(s.iter().map(|x| x.floats.len()).sum())?;
                        output = s;
                    }
                    other => {
                        self.current_samples -= samples;
                        scalar_out = Some(other);
                    }
                }
            }
            RangeSource::Selector {
                series,
                times,
                range,
            } => {
                let budget = Budget::new(self.current_samples, self.opts.max_samples);
                let failed = AtomicBool::new(false);
                let checker = self.checker(&failed);
                let threads = self.opts.threads.max(1);
                let batch_limit = PART_BATCH_SAMPLES;
                let parts = map_parts(&series, threads, &failed, |part| {
                    call.run_part(part, &times, range, batch_limit, &checker, &budget)
                })?;
                self.absorb(&budget);
                for p in parts {
                    self.annotations.merge(p.annotations);
                    self.stats.total_queryable_samples += p.queryable;
                    output.extend(p.output);
                }
            }
        }
        if let Some(v) = scalar_out {
            return Ok(v);
        }
        output.retain(|s| !s.floats.is_empty());
        if !delayed {
            // Prometheus rejects any two equal label sets from a range-vector function.
            output = merge_same_labels(output, Overlap::Never)?;
        }
        Ok(StepValue::Vector(output))
    }
}

/// One call of a range-vector function, as each part of its selection runs it.
struct RangeCall<'a> {
    name: &'a str,
    args: &'a [Box<Expr>],
    /// The evaluated arguments other than the range vector (`None` at `range_index`).
    values: &'a [Option<StepValue>],
    range_index: usize,
    steps: Steps,
    call_pos: Option<crate::positions::Pos>,
    positions: &'a Positions,
    delayed: bool,
}

/// What one part of a range-vector function call produced.
struct PartOutput {
    output: Vec<Series>,
    annotations: Annotations,
    /// Samples read, counted once per window they are in (Prometheus's statistics).
    queryable: u64,
}

impl RangeCall<'_> {
    fn ctx<'c>(&'c self, annotations: &'c mut Annotations) -> FnCtx<'c> {
        FnCtx {
            steps: self.steps,
            arg_exprs: self.args,
            call_pos: self.call_pos,
            positions: self.positions,
            annotations,
            delayed_name_removal: self.delayed,
        }
    }

    /// The function's arguments with `rv` as the range vector.
    fn args_with(&self, rv: RangeValue) -> Vec<StepValue> {
        let mut rv = Some(rv);
        self.values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                if i == self.range_index {
                    rv.take().map(StepValue::Range)
                } else {
                    v.clone()
                }
            })
            .collect()
    }

    /// Reads `series` in batches of about `batch_limit` samples and runs the function on
    /// each batch.
    fn run_part(
        &self,
        series: &[StoredSeries],
        times: &EvalTimes,
        range: i64,
        batch_limit: usize,
        checker: &Checker<'_>,
        budget: &Budget,
    ) -> Result<PartOutput, QueryError> {
        let window_ends: Vec<i64> = (0..times.steps.len()).map(|i| times.at_step(i)).collect();
        let mut out = PartOutput {
            output: Vec::new(),
            annotations: Annotations::new(),
            queryable: 0,
        };
        let mut next = 0;
        while next < series.len() {
            let mut batch = Vec::new();
            let mut samples = 0usize;
            while next < series.len() && samples < batch_limit {
                checker.check()?;
                let s = &series[next];
                next += 1;
                let mut floats = Vec::new();
                out.queryable += selector::range_points(s, times, range, &mut floats)?;
                if floats.is_empty() {
                    continue;
                }
                samples += floats.len();
                batch.push(selector::to_series(s, floats));
            }
            if batch.is_empty() {
                continue;
            }
            budget.hold(samples)?;
            let rv = RangeValue {
                series: batch,
                range,
                window_ends: window_ends.clone(),
            };
            let mut ctx = self.ctx(&mut out.annotations);
            let result = call_function(self.name, self.args_with(rv), &mut ctx)?;
            budget.release(samples);
            if let StepValue::Vector(s) = result {
                budget.hold(s.iter().map(|x| x.floats.len()).sum())?;
                out.output.extend(s);
            }
        }
        Ok(out)
    }
}

/// Reads a range source batch by batch.
struct RangeBatches {
    source: Option<RangeSource>,
    next: usize,
    emitted: bool,
}

impl RangeBatches {
    fn next(&mut self, ev: &mut Evaluator<'_>) -> Option<Result<RangeValue, QueryError>> {
        match self.source.as_mut()? {
            RangeSource::Materialized(rv) => {
                if self.emitted {
                    return None;
                }
                self.emitted = true;
                Some(Ok(std::mem::replace(
                    rv,
                    RangeValue {
                        series: Vec::new(),
                        range: 0,
                        window_ends: Vec::new(),
                    },
                )))
            }
            RangeSource::Selector {
                series,
                times,
                range,
            } => {
                let window_ends: Vec<i64> =
                    (0..times.steps.len()).map(|i| times.at_step(i)).collect();
                if self.next >= series.len() && self.emitted {
                    return None;
                }
                self.emitted = true;
                let mut batch = Vec::new();
                let mut samples = 0usize;
                while self.next < series.len() && samples < RANGE_BATCH_SAMPLES {
                    if let Err(e) = ev.check() {
                        return Some(Err(e));
                    }
                    let s = &series[self.next];
                    self.next += 1;
                    let mut floats = Vec::new();
                    match selector::range_points(s, times, *range, &mut floats) {
                        Ok(n) => ev.stats.total_queryable_samples += n,
                        Err(e) => return Some(Err(e)),
                    }
                    if floats.is_empty() {
                        continue;
                    }
                    samples += floats.len();
                    batch.push(selector::to_series(s, floats));
                }
                Some(Ok(RangeValue {
                    series: batch,
                    range: *range,
                    window_ends,
                }))
            }
        }
    }
}

/// Samples held by a value.
fn points(v: &StepValue) -> usize {
    match v {
        StepValue::Scalar(v) => v.len(),
        StepValue::String(_) => 0,
        StepValue::Vector(s) => s.iter().map(|x| x.floats.len()).sum(),
        StepValue::Range(r) => r.series.iter().map(|x| x.floats.len()).sum(),
    }
}

fn duration_ms(d: &std::time::Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_ms(&d),
        Err(e) => -duration_ms(&e.duration()),
    }
}

/// Prometheus's `DocumentedType`.
fn documented_type(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}
