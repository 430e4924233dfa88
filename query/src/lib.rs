//! Ember's PromQL engine.
//!
//! Queries are parsed with `promql-parser` and evaluated over the storage [`Querier`]
//! interface with Prometheus 3's semantics. Each expression is evaluated once for all steps
//! of the query, series by series: selectors walk each series' samples once with a sliding
//! window, aggregations fold points into per-group, per-step accumulators, and no step
//! re-selects data.
//!
//! | module          | concern                                                      |
//! |-----------------|--------------------------------------------------------------|
//! | [`engine`]      | the API: parse, limits, concurrency, statistics              |
//! | `eval`          | the evaluator: selectors, `offset`/`@`, subqueries, names    |
//! | [`functions`]   | every PromQL function                                        |
//! | [`aggregate`]   | aggregation operators                                        |
//! | [`binary`]      | binary operators and vector matching                         |
//! | [`value`]       | result and intermediate value types                          |
//! | [`annotations`] | warnings and infos, in Prometheus's words                     |
//! | [`positions`]   | source positions of expression nodes                         |
//! | [`promqltest`]  | the conformance runner for Prometheus's test scripts         |
//!
//! [`Querier`]: ember_storage::querier::Querier

pub mod aggregate;
pub mod annotations;
pub mod binary;
pub mod engine;
pub mod error;
mod eval;
pub mod functions;
pub mod positions;
pub mod promqltest;
pub mod value;

pub use engine::{CancelToken, Engine, EngineOpts, QueryOpts, QueryResult, QueryStats};
pub use error::QueryError;
pub use value::{FPoint, Matrix, Sample, Series, Value, Vector};
