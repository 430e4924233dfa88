//! Running a parsed script: loading data into a real in-memory head and evaluating each
//! case with the engine, as Prometheus's `promqltest` does.
//!
//! - Each `load` appends its series through one appender and commits; `clear` (and the
//!   start of a script) opens a fresh head, so a head lives for one load/clear lifetime.
//! - A range `eval` runs one range query.
//! - An instant `eval` runs the query at its time, then (unless it calls a function whose
//!   value depends on the evaluation time, such as `time()`) again with `@ <time>` added to
//!   every selector and subquery outside a subquery that has one, at other evaluation
//!   times (`-10t, 0, t/5, t, 10t`, or `-1s, 0, 1s` when `t` is 0): the answers must not
//!   change. Each of these instant runs is also repeated as a range query from `t-1m` to
//!   `t+1m`, whose point at `t` must match too (unless the result is a range vector or a
//!   string, or the query uses `start()`, `end()`, `range()` or `step()`).
//! - Native histograms and start timestamps are not stored by Ember: a case that expects a
//!   histogram or whose selectors can select a series loaded with one is unsupported.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use ember_storage::head::{Head, HeadOptions};
use ember_storage::labels::METRIC_NAME;
use ember_storage::querier::Queryable;
use ember_storage::Labels;
use promql_parser::parser::{Expr, VectorSelector};

use crate::engine::{Engine, EngineOpts, QueryOpts, QueryResult};
use crate::error::QueryError;
use crate::positions::{node_key, node_spans, Span};
use crate::value::Value;

use super::compare::{
    check_annotations, check_expected_failure, check_sorted, compare_result, compare_vector, Steps,
};
use super::script::{Command, Eval, EvalKind, Load, Script};
use super::series::{parse_go_float, SeqValue};
use super::{CaseResult, Outcome};

/// What the runner needs of a PromQL engine; [`Engine`] is the real one, tests use fakes.
pub trait QueryEngine: Sync {
    fn instant(
        &self,
        storage: &dyn Queryable,
        query: &str,
        t: i64,
    ) -> Result<QueryResult, QueryError>;

    fn range(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError>;
}

impl QueryEngine for Engine {
    fn instant(
        &self,
        storage: &dyn Queryable,
        query: &str,
        t: i64,
    ) -> Result<QueryResult, QueryError> {
        Engine::instant(self, storage, query, t, &QueryOpts::default())
    }

    fn range(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError> {
        Engine::range(
            self,
            storage,
            query,
            start,
            end,
            step,
            &QueryOpts::default(),
        )
    }
}

/// The options of Prometheus's test engine (`NewTestEngine`): lookback 5m, at most 10000
/// samples, 100 s timeout, 1m default subquery step, delayed name removal on.
pub fn test_engine_opts() -> EngineOpts {
    EngineOpts {
        lookback_delta: 5 * 60 * 1000,
        max_samples: 10_000,
        timeout: std::time::Duration::from_secs(100),
        default_subquery_step: 60 * 1000,
        delayed_name_removal: true,
        ..EngineOpts::default()
    }
}

/// Functions whose value can change with the evaluation time even when their arguments
/// do not (Prometheus's `AtModifierUnsafeFunctions`): no `@` re-runs for them.
const AT_UNSAFE_FUNCTIONS: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "end",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "range",
    "start",
    "step",
    "time",
    "timestamp",
];

/// The test storage's block range: its head accepts samples up to 12 h older than its
/// newest one, so series can be loaded one after the other.
const TEST_BLOCK_RANGE: i64 = 24 * 3600 * 1000;

/// The data of one load/clear lifetime.
struct Storage {
    head: Arc<Head>,
    /// Series loaded with data Ember does not store, and what that data is.
    unsupported: Vec<(Labels, &'static str)>,
    /// A load that failed, with its line: the cases after it cannot be trusted.
    load_error: Option<(usize, String)>,
}

impl Storage {
    fn new() -> Storage {
        Storage {
            head: Head::in_memory(HeadOptions {
                chunk_range: TEST_BLOCK_RANGE,
                ..HeadOptions::default()
            }),
            unsupported: Vec::new(),
            load_error: None,
        }
    }

    fn load(&mut self, load: &Load) {
        if let Err(e) = self.append(load) {
            self.load_error.get_or_insert((load.line, e));
        }
    }

    fn append(&mut self, load: &Load) -> Result<(), String> {
        let mut app = self.head.appender();
        for s in &load.series {
            if s.values.contains(&SeqValue::Histogram) {
                self.unsupported
                    .push((s.labels.clone(), "native histograms"));
            }
            if s.start_timestamps {
                self.unsupported
                    .push((s.labels.clone(), "start timestamps"));
            }
            let mut series_ref = None;
            for (i, v) in s.values.iter().enumerate() {
                let t = i as i64 * load.interval;
                if let SeqValue::Float(f) = v {
                    let r = app
                        .append(series_ref, s.labels.as_ref(), t, *f)
                        .map_err(|e| format!("appending to {} at {t}: {e}", s.labels))?;
                    series_ref = Some(r);
                }
            }
        }
        app.commit().map_err(|e| e.to_string())?;
        if load.with_nhcb {
            for s in &load.series {
                if let Some(base) = nhcb_series(&s.labels) {
                    self.unsupported
                        .push((base, "native histograms (load_with_nhcb)"));
                }
            }
        }
        Ok(())
    }

    /// Why `expr` cannot be checked here: one of its selectors can select a series with
    /// data Ember does not store.
    fn unsupported_reason(&self, expr: &Expr) -> Option<String> {
        if self.unsupported.is_empty() {
            return None;
        }
        let mut selectors = Vec::new();
        collect_selectors(expr, &mut selectors);
        for vs in selectors {
            if let Some((labels, what)) = self.unsupported.iter().find(|(l, _)| selects(vs, l)) {
                return Some(format!("selects {labels}, which has {what}"));
            }
        }
        None
    }
}

/// The series `load_with_nhcb` makes from a classic-histogram series: the name without
/// its `_bucket`/`_count`/`_sum` suffix and no `le` label.
fn nhcb_series(labels: &Labels) -> Option<Labels> {
    let name = labels.metric_name()?;
    let base = if let Some(base) = name.strip_suffix("_bucket") {
        let le = labels.get("le")?;
        if parse_go_float(le).is_none_or(f64::is_nan) {
            return None;
        }
        base
    } else {
        name.strip_suffix("_count")
            .or_else(|| name.strip_suffix("_sum"))?
    };
    let mut b = labels.builder();
    b.del("le");
    b.set(METRIC_NAME, base);
    Some(b.labels())
}

fn collect_selectors<'a>(e: &'a Expr, out: &mut Vec<&'a VectorSelector>) {
    match e {
        Expr::VectorSelector(vs) => out.push(vs),
        Expr::MatrixSelector(ms) => out.push(&ms.vs),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
            collect_selectors(&a.expr, out);
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Subquery(s) => collect_selectors(&s.expr, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                collect_selectors(a, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Whether the selector `vs` selects a series with `labels`.
fn selects(vs: &VectorSelector, labels: &Labels) -> bool {
    if let Some(name) = &vs.name {
        if labels.metric_name() != Some(name.as_str()) {
            return false;
        }
    }
    let all = |ms: &[promql_parser::label::Matcher]| {
        ms.iter()
            .all(|m| m.is_match(labels.get(&m.name).unwrap_or("")))
    };
    if vs.matchers.or_matchers.is_empty() {
        all(&vs.matchers.matchers)
    } else {
        vs.matchers.or_matchers.iter().any(|g| all(g))
    }
}

/// Runs every command of `script`; returns one result per `eval`.
pub fn run_script(script: &Script, engine: &dyn QueryEngine) -> Vec<CaseResult> {
    let mut storage = Storage::new();
    let mut results = Vec::new();
    for cmd in &script.commands {
        match cmd {
            Command::Clear => storage = Storage::new(),
            Command::Load(load) => storage.load(load),
            Command::Eval(eval) => {
                let outcome = catch_unwind(AssertUnwindSafe(|| run_eval(&storage, eval, engine)))
                    .unwrap_or_else(|panic| {
                        let msg = panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("(no message)");
                        Outcome::Failed(format!("the engine panicked: {msg}"))
                    });
                results.push(CaseResult {
                    line: eval.line,
                    command: eval.command.clone(),
                    outcome,
                });
            }
        }
    }
    results
}

fn run_eval(storage: &Storage, eval: &Eval, engine: &dyn QueryEngine) -> Outcome {
    if let Some((line, e)) = &storage.load_error {
        return Outcome::Failed(format!("the load at line {line} failed: {e}"));
    }
    if eval.expected.has_histograms() {
        return Outcome::Unsupported("expects native histogram values".into());
    }
    let parsed = Engine::parse(&eval.query).ok();
    if let Some(reason) = parsed.as_ref().and_then(|e| storage.unsupported_reason(e)) {
        return Outcome::Unsupported(reason);
    }
    let ctx = Case {
        eval,
        storage: &storage.head,
        engine,
    };
    let result = match eval.kind {
        EvalKind::Range { start, end, step } => ctx.range(start, end, step),
        EvalKind::Instant { at } => ctx.instant(at, parsed.as_ref()),
    };
    match result {
        Ok(()) => Outcome::Passed,
        Err(e) => Outcome::Failed(e),
    }
}

/// One case being run.
struct Case<'a> {
    eval: &'a Eval,
    storage: &'a Arc<Head>,
    engine: &'a dyn QueryEngine,
}

impl Case<'_> {
    fn range(&self, start: i64, end: i64, step: i64) -> Result<(), String> {
        // As in Prometheus, `expect range vector` replaces the range.
        let (start, end, step) = match self.eval.expected.range_vector {
            Some(r) => (r.start, r.end, r.step),
            None => (start, end, step),
        };
        let result = self
            .engine
            .range(self.storage, &self.eval.query, start, end, step);
        let Some(res) = self.check_error(result)? else {
            return Ok(());
        };
        check_annotations(self.eval, &res.annotations)?;
        let steps = Steps {
            start,
            end: Some(end),
            step,
        };
        compare_result(
            &self.eval.expected,
            self.eval.is_ordered(),
            steps,
            &res.value,
        )
    }

    fn instant(&self, at: i64, parsed: Option<&Expr>) -> Result<(), String> {
        let expected = &self.eval.expected;
        let (eval_time, steps) = match expected.range_vector {
            Some(r) => (
                r.end,
                Steps {
                    start: r.start,
                    end: Some(r.end),
                    step: r.step,
                },
            ),
            None => (
                at,
                Steps {
                    start: at,
                    end: None,
                    step: 0,
                },
            ),
        };
        self.instant_at(&self.eval.query, eval_time, steps)?;
        let Some(expr) = parsed else {
            return Ok(());
        };
        let Some((query, times)) = at_modifier_variant(&self.eval.query, expr, eval_time)? else {
            return Ok(());
        };
        for t in times {
            self.instant_at(&query, t, steps)
                .map_err(|e| format!("with @ modifiers, as `{query}` at {t} ms: {e}"))?;
        }
        Ok(())
    }

    /// Runs one instant query and checks it, then checks it in range mode.
    fn instant_at(&self, query: &str, t: i64, steps: Steps) -> Result<(), String> {
        let result = self.engine.instant(self.storage, query, t);
        let Some(res) = self.check_error(result)? else {
            return Ok(());
        };
        check_annotations(self.eval, &res.annotations)?;
        compare_result(
            &self.eval.expected,
            self.eval.is_ordered(),
            steps,
            &res.value,
        )?;
        if self.eval.expected.excluded_from_range_check() {
            return Ok(());
        }
        if ["start()", "end()", "range()", "step()"]
            .iter()
            .any(|f| query.contains(f))
        {
            return Ok(());
        }
        self.range_mode(query, t, &res.value).map_err(|e| {
            format!(
                "in range mode (from {} to {} step 1m): {e}",
                t - 60_000,
                t + 60_000
            )
        })
    }

    /// The instant query as a range query over `t-1m..t+1m`: its point at `t` must be the
    /// instant query's answer.
    fn range_mode(&self, query: &str, t: i64, instant: &Value) -> Result<(), String> {
        let res = self
            .engine
            .range(self.storage, query, t - 60_000, t + 60_000, 60_000)
            .map_err(|e| format!("error evaluating query: {e}"))?;
        if self.eval.is_ordered() {
            // Range results are sorted by labels, so the order cannot be checked.
            return Ok(());
        }
        let Value::Matrix(matrix) = &res.value else {
            return Err(format!(
                "a range query returned a {}, not a matrix",
                res.value.type_name()
            ));
        };
        check_sorted(matrix)?;
        let samples: Vec<_> = matrix
            .iter()
            .filter_map(|s| s.floats.iter().find(|p| p.t == t).map(|p| (&s.metric, p.f)))
            .collect();
        if matches!(instant, Value::Scalar { .. }) {
            let Some(&(_, v)) = samples.first() else {
                return Err(format!("no point at {t} for a scalar result"));
            };
            let scalar = Value::Scalar { t, v };
            let steps = Steps {
                start: t,
                end: None,
                step: 0,
            };
            return compare_result(&self.eval.expected, false, steps, &scalar);
        }
        compare_vector(&self.eval.expected, false, &samples)
    }

    /// Handles a query's error against the expectations: `Ok(None)` when the case is
    /// done (an expected failure), `Ok(Some(res))` to go on checking the result.
    fn check_error(
        &self,
        result: Result<QueryResult, QueryError>,
    ) -> Result<Option<QueryResult>, String> {
        match result {
            Err(e) if self.eval.is_fail() => {
                check_expected_failure(self.eval, &e.to_string()).map(|()| None)
            }
            Err(e) => Err(format!("error evaluating query: {e}")),
            Ok(_) if self.eval.is_fail() => {
                Err("expected error evaluating query but got none".into())
            }
            Ok(res) => Ok(Some(res)),
        }
    }
}

/// The query with `@ <eval time>` added to every selector and subquery that has none and
/// is not inside a subquery (whose own `@` fixes its inside), and the times to evaluate it
/// at; `None` when the query calls an `@`-unsafe function outside such a subquery.
///
/// Prometheus re-serialises the modified AST; Ember inserts the modifiers into the query
/// as written, which leaves every position before the first selector unchanged (the same
/// positions Prometheus's scripts rely on).
fn at_modifier_variant(
    query: &str,
    expr: &Expr,
    eval_time: i64,
) -> Result<Option<(String, Vec<i64>)>, String> {
    let spans = node_spans(query, expr);
    let mut walk = AtWalk {
        spans: &spans,
        inserts: Vec::new(),
        unsafe_call: false,
        misplaced: false,
    };
    walk.visit(expr, false);
    if walk.unsafe_call {
        return Ok(None);
    }
    if walk.misplaced {
        return Err("runner: could not place a selector in the query text".into());
    }
    let mut text = query.to_string();
    let mut inserts = walk.inserts;
    inserts.sort_unstable();
    let at = at_text(eval_time);
    for &offset in inserts.iter().rev() {
        text.insert_str(offset, &at);
    }
    let times = if eval_time == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * eval_time, 0, eval_time / 5, eval_time, 10 * eval_time]
    };
    Ok(Some((text, times)))
}

/// ` @ <seconds with 3 decimals>`, as Prometheus prints an `@` timestamp.
fn at_text(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!(" @ {sign}{}.{:03}", abs / 1000, abs % 1000)
}

struct AtWalk<'a> {
    spans: &'a std::collections::HashMap<usize, Span>,
    /// Byte offsets where ` @ t` goes.
    inserts: Vec<usize>,
    unsafe_call: bool,
    misplaced: bool,
}

impl AtWalk<'_> {
    fn mark(&mut self, e: &Expr) {
        match self.spans.get(&node_key(e)) {
            Some(span) => self.inserts.push(span.end),
            None => self.misplaced = true,
        }
    }

    /// `fixed`: inside a subquery with an `@`, where nothing changes.
    fn visit(&mut self, e: &Expr, fixed: bool) {
        match e {
            Expr::VectorSelector(vs) => {
                if !fixed && vs.at.is_none() {
                    self.mark(e);
                }
            }
            Expr::MatrixSelector(ms) => {
                if !fixed && ms.vs.at.is_none() {
                    self.mark(e);
                }
            }
            Expr::Subquery(sq) => {
                if !fixed && sq.at.is_none() {
                    self.mark(e);
                }
                // Either way it now has an `@`.
                self.visit(&sq.expr, true);
            }
            Expr::Call(c) => {
                if !fixed && AT_UNSAFE_FUNCTIONS.contains(&c.func.name) {
                    self.unsafe_call = true;
                }
                for a in &c.args.args {
                    self.visit(a, fixed);
                }
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.visit(p, fixed);
                }
                self.visit(&a.expr, fixed);
            }
            Expr::Unary(u) => self.visit(&u.expr, fixed),
            Expr::Binary(b) => {
                self.visit(&b.lhs, fixed);
                self.visit(&b.rhs, fixed);
            }
            Expr::Paren(p) => self.visit(&p.expr, fixed),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(query: &str, t: i64) -> Option<(String, Vec<i64>)> {
        let expr = Engine::parse(query).unwrap();
        at_modifier_variant(query, &expr, t).unwrap()
    }

    #[test]
    fn at_modifiers_go_after_every_selector() {
        let (q, times) = variant("sum(rate(foo[5m])) + bar offset 1m", 3_000_000).unwrap();
        assert_eq!(
            q,
            "sum(rate(foo[5m] @ 3000.000)) + bar offset 1m @ 3000.000"
        );
        assert_eq!(times, [-30_000_000, 0, 600_000, 3_000_000, 30_000_000]);
        // At time 0: -1s, 0, 1s.
        let (q, times) = variant("foo", 0).unwrap();
        assert_eq!(q, "foo @ 0.000");
        assert_eq!(times, [-1000, 0, 1000]);
        // A selector with its own @ keeps it.
        assert_eq!(
            variant("foo @ 10 - bar", 1500).unwrap().0,
            "foo @ 10 - bar @ 1.500"
        );
        // A subquery gets the @, its inside does not.
        assert_eq!(
            variant("max_over_time(rate(foo[1m])[5m:1m])", 60_000)
                .unwrap()
                .0,
            "max_over_time(rate(foo[1m])[5m:1m] @ 60.000)"
        );
        assert_eq!(
            variant("max_over_time(foo[5m:] @ 5)", 60_000).unwrap().0,
            "max_over_time(foo[5m:] @ 5)"
        );
        // Literals only: unchanged.
        assert_eq!(variant("1 + 2", 60_000).unwrap().0, "1 + 2");
    }

    #[test]
    fn at_unsafe_functions_skip_the_variants() {
        assert_eq!(variant("time()", 60_000), None);
        assert_eq!(variant("timestamp(foo)", 60_000), None);
        assert_eq!(variant("hour(foo) + bar", 60_000), None);
        assert_eq!(variant("predict_linear(foo[5m], 60)", 60_000), None);
        // Inside a subquery the function is fixed by the subquery's @.
        assert_eq!(
            variant("max_over_time(vector(time())[5m:1m])", 60_000)
                .unwrap()
                .0,
            "max_over_time(vector(time())[5m:1m] @ 60.000)"
        );
    }

    #[test]
    fn at_text_is_seconds_with_millis() {
        assert_eq!(at_text(0), " @ 0.000");
        assert_eq!(at_text(12), " @ 0.012");
        assert_eq!(at_text(-600_000), " @ -600.000");
        assert_eq!(at_text(3_000_001), " @ 3000.001");
    }

    #[test]
    fn nhcb_series_names() {
        let l = |p: &[(&str, &str)]| Labels::from_pairs(p.iter().copied());
        assert_eq!(
            nhcb_series(&l(&[("__name__", "h_bucket"), ("le", "0.5"), ("job", "a")])),
            Some(l(&[("__name__", "h"), ("job", "a")]))
        );
        assert_eq!(
            nhcb_series(&l(&[("__name__", "h_count"), ("job", "a")])),
            Some(l(&[("__name__", "h"), ("job", "a")]))
        );
        assert_eq!(
            nhcb_series(&l(&[("__name__", "h_sum")])),
            Some(l(&[("__name__", "h")]))
        );
        assert_eq!(
            nhcb_series(&l(&[("__name__", "h_bucket"), ("le", "x")])),
            None
        );
        assert_eq!(
            nhcb_series(&l(&[("__name__", "h_bucket"), ("le", "NaN")])),
            None
        );
        assert_eq!(nhcb_series(&l(&[("__name__", "h_total")])), None);
    }

    #[test]
    fn selectors_select() {
        let l = Labels::from_pairs([("__name__", "h"), ("job", "a")]);
        let vs = |q: &str| match Engine::parse(q).unwrap() {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => ms.vs,
            _ => panic!("not a selector"),
        };
        assert!(selects(&vs("h"), &l));
        assert!(selects(&vs(r#"h{job="a"}"#), &l));
        assert!(selects(&vs(r#"{__name__=~"h|x"}"#), &l));
        assert!(selects(&vs(r#"{job="a"}[5m]"#), &l));
        assert!(selects(&vs(r#"h{other=""}"#), &l));
        assert!(!selects(&vs("x"), &l));
        assert!(!selects(&vs(r#"h{job="b"}"#), &l));
        assert!(selects(&vs(r#"{job="b" or job="a"}"#), &l));
        assert!(!selects(&vs(r#"{job="b" or job="c"}"#), &l));
    }
}
