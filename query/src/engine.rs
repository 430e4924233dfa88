//! The query engine: parses a query, evaluates it over storage, and returns the result with
//! its annotations and statistics, within the engine's limits.
//!
//! Evaluation is synchronous and CPU-bound: callers on an async runtime run it on a
//! blocking thread. Concurrency is bounded by `max_concurrency` (queries beyond it wait),
//! and every query observes a deadline and a cancellation token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ember_storage::querier::Queryable;
use parking_lot::{Condvar, Mutex};
use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::error::QueryError;
use crate::eval::Evaluator;
use crate::positions::Positions;
use crate::value::{Steps, Value};

/// Engine-wide settings; the defaults are Prometheus's flags' defaults.
#[derive(Debug, Clone)]
pub struct EngineOpts {
    /// `--query.lookback-delta` in milliseconds.
    pub lookback_delta: i64,
    /// `--query.max-samples`.
    pub max_samples: usize,
    /// `--query.timeout`.
    pub timeout: Duration,
    /// `--query.max-concurrency`.
    pub max_concurrency: usize,
    /// Step of subqueries written without one (`x[5m:]`), in milliseconds: the global
    /// evaluation interval.
    pub default_subquery_step: i64,
    /// Prometheus 3's `promql-delayed-name-removal` feature.
    pub delayed_name_removal: bool,
    /// Per-step sample counts in the statistics.
    pub per_step_stats: bool,
    /// Threads one query may use for its per-series work (selectors and range-vector
    /// functions over many series). Defaults to the machine's cores.
    pub threads: usize,
}

impl Default for EngineOpts {
    fn default() -> EngineOpts {
        EngineOpts {
            lookback_delta: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            max_concurrency: 20,
            default_subquery_step: 60 * 1000,
            delayed_name_removal: false,
            per_step_stats: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Cancels a running query when the client goes away.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_canceled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Per-query settings.
#[derive(Debug, Clone, Default)]
pub struct QueryOpts {
    /// Overrides the engine's lookback delta (the API's `lookback_delta`), milliseconds.
    pub lookback_delta: Option<i64>,
    /// Overrides the engine's timeout if shorter (the API's `timeout`).
    pub timeout: Option<Duration>,
    pub cancel: Option<CancelToken>,
}

/// Statistics of one query (the API's `stats=all`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    /// Samples read from storage (Prometheus's `totalQueryableSamples`).
    pub total_queryable_samples: u64,
    /// The most samples held in memory at once.
    pub peak_samples: u64,
    /// Per step, when per-step statistics are on: (timestamp, samples).
    pub per_step: Vec<(i64, u64)>,
    pub exec_queue_time: Duration,
    pub query_preparation_time: Duration,
    pub inner_eval_time: Duration,
    pub result_sort_time: Duration,
    pub eval_total_time: Duration,
    pub exec_total_time: Duration,
}

/// A query's answer.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub value: Value,
    pub annotations: Annotations,
    pub stats: QueryStats,
}

/// The PromQL engine.
pub struct Engine {
    opts: EngineOpts,
    running: Mutex<usize>,
    slot_freed: Condvar,
}

impl Engine {
    pub fn new(opts: EngineOpts) -> Engine {
        Engine {
            opts,
            running: Mutex::new(0),
            slot_freed: Condvar::new(),
        }
    }

    pub fn opts(&self) -> &EngineOpts {
        &self.opts
    }

    /// Parses a query as Prometheus does (errors are `QueryError::Parse`).
    ///
    /// Binary-operator `fill` modifiers parse in `promql-parser` but are behind a feature
    /// flag in Prometheus that Ember does not implement, so they are rejected here as
    /// Prometheus rejects them without the flag.
    pub fn parse(query: &str) -> Result<Expr, QueryError> {
        let expr = promql_parser::parser::parse(query).map_err(QueryError::Parse)?;
        if uses_fill_modifiers(&expr) {
            return Err(QueryError::Parse(
                "binop fill modifiers are experimental and not enabled".into(),
            ));
        }
        Ok(expr)
    }

    /// Evaluates `query` at `ts` (milliseconds).
    pub fn instant(
        &self,
        storage: &dyn Queryable,
        query: &str,
        ts: i64,
        opts: &QueryOpts,
    ) -> Result<QueryResult, QueryError> {
        let expr = Engine::parse(query)?;
        self.exec(storage, query, &expr, Steps::instant(ts), false, opts)
    }

    /// Evaluates `query` at every `step` from `start` to `end` (milliseconds).
    pub fn range(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        opts: &QueryOpts,
    ) -> Result<QueryResult, QueryError> {
        if step <= 0 {
            return Err(QueryError::exec(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if end < start {
            return Err(QueryError::exec(
                "end timestamp must not be before start time",
            ));
        }
        let expr = Engine::parse(query)?;
        self.exec(
            storage,
            query,
            &expr,
            Steps::range(start, end, step),
            true,
            opts,
        )
    }

    /// Evaluates an already parsed expression (`query` is its text, for positions).
    pub fn exec(
        &self,
        storage: &dyn Queryable,
        query: &str,
        expr: &Expr,
        steps: Steps,
        range_query: bool,
        opts: &QueryOpts,
    ) -> Result<QueryResult, QueryError> {
        let queued = Instant::now();
        let timeout = opts
            .timeout
            .map_or(self.opts.timeout, |t| t.min(self.opts.timeout));
        let deadline = queued + timeout;
        let _slot = self.acquire_slot(deadline, opts.cancel.as_ref())?;
        let exec_queue_time = queued.elapsed();

        let prepared = Instant::now();
        let positions = Positions::compute(query, expr);
        let mut ev = Evaluator::new(
            storage,
            &self.opts,
            opts.lookback_delta.unwrap_or(self.opts.lookback_delta),
            steps,
            range_query,
            &positions,
            deadline,
            opts.cancel.clone(),
        );
        let preparation = prepared.elapsed();
        let started = Instant::now();
        let value = ev.run(expr)?;
        let inner = started.elapsed();
        let (annotations, mut stats) = ev.finish();
        stats.exec_queue_time = exec_queue_time;
        stats.query_preparation_time = preparation;
        stats.inner_eval_time = inner;
        stats.eval_total_time = preparation + inner;
        stats.exec_total_time = queued.elapsed();
        Ok(QueryResult {
            value,
            annotations,
            stats,
        })
    }

    /// Waits for one of the `max_concurrency` query slots.
    fn acquire_slot(
        &self,
        deadline: Instant,
        cancel: Option<&CancelToken>,
    ) -> Result<SlotGuard<'_>, QueryError> {
        let mut running = self.running.lock();
        while *running >= self.opts.max_concurrency.max(1) {
            if cancel.is_some_and(CancelToken::is_canceled) {
                return Err(QueryError::Canceled("query queue"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(QueryError::Timeout("query queue"));
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            self.slot_freed.wait_for(&mut running, wait);
        }
        *running += 1;
        Ok(SlotGuard { engine: self })
    }
}

struct SlotGuard<'a> {
    engine: &'a Engine,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.engine.running.lock() -= 1;
        self.engine.slot_freed.notify_one();
    }
}

/// Whether any binary operation in `e` carries a `fill`, `fill_left` or `fill_right` modifier.
fn uses_fill_modifiers(e: &Expr) -> bool {
    match e {
        Expr::Binary(b) => {
            b.modifier
                .as_ref()
                .is_some_and(|m| m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
                || uses_fill_modifiers(&b.lhs)
                || uses_fill_modifiers(&b.rhs)
        }
        Expr::Aggregate(a) => {
            uses_fill_modifiers(&a.expr) || a.param.as_deref().is_some_and(uses_fill_modifiers)
        }
        Expr::Unary(u) => uses_fill_modifiers(&u.expr),
        Expr::Paren(p) => uses_fill_modifiers(&p.expr),
        Expr::Subquery(s) => uses_fill_modifiers(&s.expr),
        Expr::Call(c) => c.args.args.iter().any(|a| uses_fill_modifiers(a)),
        _ => false,
    }
}
