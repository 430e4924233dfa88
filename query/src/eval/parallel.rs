//! Splitting the per-series work of one query over threads.
//!
//! Selectors and range-vector functions work series by series, with nothing carried from
//! one series to the next, so a large selection is cut into contiguous parts that run on
//! scoped threads. Their outputs are concatenated in part order, so the answer is the one
//! a single thread gives. Small selections stay on the calling thread: a thread costs tens
//! of microseconds, more than a few hundred series take to read.
//!
//! The query's limits hold across the threads: samples held in memory are counted in one
//! shared [`Budget`] (`--query.max-samples`), and every part checks the deadline, the
//! cancellation token and whether another part has already failed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use crate::engine::CancelToken;
use crate::error::QueryError;

use super::{ENV_EVAL, ENV_EXEC};

/// Below this many series per part, more threads do not pay for themselves.
pub(super) const MIN_SERIES_PER_PART: usize = 512;

/// Why a part stopped early: another part failed, and its error is the query's.
const SIBLING_FAILED: &str = "a sibling part of the query failed";

/// Samples held in memory by one query, shared by its threads.
#[derive(Debug)]
pub(super) struct Budget {
    held: AtomicUsize,
    peak: AtomicUsize,
    max: usize,
}

impl Budget {
    /// A budget of `max` samples of which `held` are already in use.
    pub fn new(held: usize, max: usize) -> Budget {
        Budget {
            held: AtomicUsize::new(held),
            peak: AtomicUsize::new(held),
            max,
        }
    }

    /// Accounts for `n` more samples, failing as Prometheus does past the limit.
    pub fn hold(&self, n: usize) -> Result<(), QueryError> {
        let now = self.held.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
        if now > self.max {
            return Err(QueryError::TooManySamples(ENV_EXEC));
        }
        Ok(())
    }

    pub fn release(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

/// The deadline and cancellation checks of one part.
#[derive(Debug)]
pub(super) struct Checker<'a> {
    pub deadline: Instant,
    pub cancel: Option<&'a CancelToken>,
    pub failed: &'a AtomicBool,
}

impl Checker<'_> {
    pub fn check(&self) -> Result<(), QueryError> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(QueryError::Canceled(SIBLING_FAILED));
        }
        if self.cancel.is_some_and(CancelToken::is_canceled) {
            return Err(QueryError::Canceled(ENV_EVAL));
        }
        if Instant::now() >= self.deadline {
            return Err(QueryError::Timeout(ENV_EVAL));
        }
        Ok(())
    }
}

/// Runs `f` over contiguous parts of `items`: at most `threads` parts of at least
/// [`MIN_SERIES_PER_PART`] items each, the first on the calling thread. Returns the parts'
/// results in order, or the first real error (a part that stopped because another failed
/// does not mask that failure). `failed` is set as soon as a part fails.
pub(super) fn map_parts<T, R, F>(
    items: &[T],
    threads: usize,
    failed: &AtomicBool,
    f: F,
) -> Result<Vec<R>, QueryError>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> Result<R, QueryError> + Sync,
{
    let parts = threads.min(items.len() / MIN_SERIES_PER_PART).max(1);
    if parts == 1 {
        return Ok(vec![f(items)?]);
    }
    let size = items.len().div_ceil(parts);
    let run = |part: &[T]| {
        let r = f(part);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        r
    };
    let results: Vec<Result<R, QueryError>> = std::thread::scope(|s| {
        let mut chunks = items.chunks(size);
        let first = chunks.next().unwrap_or(&[]);
        let handles: Vec<_> = chunks.map(|c| s.spawn(move || run(c))).collect();
        let mut results = vec![run(first)];
        for h in handles {
            match h.join() {
                Ok(r) => results.push(r),
                // A panic in a part is a bug; it goes on as if it happened here.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    });
    let mut out = Vec::with_capacity(results.len());
    let mut first_err: Option<QueryError> = None;
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(e) => {
                let sibling = matches!(e, QueryError::Canceled(SIBLING_FAILED));
                let have_real = first_err
                    .as_ref()
                    .is_some_and(|f| !matches!(f, QueryError::Canceled(SIBLING_FAILED)));
                if first_err.is_none() || (!sibling && !have_real) {
                    first_err = Some(e);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_order_and_cover_everything() {
        let items: Vec<usize> = (0..5000).collect();
        let failed = AtomicBool::new(false);
        for threads in [1, 2, 3, 8] {
            let parts = map_parts(&items, threads, &failed, |p| Ok(p.to_vec())).unwrap();
            assert!(parts.len() <= threads);
            assert_eq!(parts.concat(), items, "{threads} threads");
        }
        // Too few items for a second part.
        let few: Vec<usize> = (0..MIN_SERIES_PER_PART + 1).collect();
        assert_eq!(
            map_parts(&few, 4, &failed, |p| Ok(p.len())).unwrap().len(),
            1
        );
    }

    #[test]
    fn the_real_error_wins_over_stopped_siblings() {
        let items: Vec<usize> = (0..4 * MIN_SERIES_PER_PART).collect();
        let failed = AtomicBool::new(false);
        let checker = Checker {
            deadline: Instant::now() + std::time::Duration::from_secs(60),
            cancel: None,
            failed: &failed,
        };
        let r = map_parts(&items, 4, &failed, |p| -> Result<(), QueryError> {
            if p.contains(&(3 * MIN_SERIES_PER_PART)) {
                return Err(QueryError::TooManySamples(ENV_EXEC));
            }
            // The other parts run until they notice.
            loop {
                checker.check()?;
                std::thread::yield_now();
            }
        });
        assert!(matches!(r, Err(QueryError::TooManySamples(_))), "{r:?}");
    }

    #[test]
    fn budget_counts_across_threads() {
        let b = Budget::new(10, 100);
        b.hold(50).unwrap();
        b.release(20);
        assert_eq!(b.held(), 40);
        assert_eq!(b.peak(), 60);
        assert!(matches!(b.hold(61), Err(QueryError::TooManySamples(_))));
    }
}
