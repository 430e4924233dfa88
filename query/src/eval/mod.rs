//! The evaluator (being written).

use std::time::Instant;

use ember_storage::querier::Queryable;
use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::engine::{CancelToken, EngineOpts, QueryStats};
use crate::error::QueryError;
use crate::positions::Positions;
use crate::value::{Steps, Value};

pub(crate) struct Evaluator<'a> {
    storage: &'a dyn Queryable,
    opts: &'a EngineOpts,
    lookback: i64,
    steps: Steps,
    range_query: bool,
    positions: &'a Positions,
    deadline: Instant,
    cancel: Option<CancelToken>,
    annotations: Annotations,
    stats: QueryStats,
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
            lookback,
            steps,
            range_query,
            positions,
            deadline,
            cancel,
            annotations: Annotations::new(),
            stats: QueryStats::default(),
        }
    }

    pub fn run(&mut self, expr: &Expr) -> Result<Value, QueryError> {
        let _ = (
            expr,
            self.storage,
            self.opts,
            self.lookback,
            self.steps,
            self.range_query,
            self.positions,
            self.deadline,
            &self.cancel,
        );
        Err(QueryError::exec("the evaluator is being written"))
    }

    pub fn finish(self) -> (Annotations, QueryStats) {
        (self.annotations, self.stats)
    }
}
