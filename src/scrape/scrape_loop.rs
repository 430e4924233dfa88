//! One target's scrape loop: a tokio task that waits for the target's stable offset in
//! the interval, then scrapes, appends and reports on every tick.
//!
//! Stopping a loop (the target went away, or its job's configuration changed) lets an
//! in-flight scrape finish. Unless the pool handed its cache to a successor loop, a
//! stopped loop writes end-of-run staleness markers for all its series just over two
//! intervals later, when a successor would have scraped them (an out-of-order marker is
//! then ignored). When the whole pool stops (shutdown, job removed), no markers are
//! written: Prometheus presumes the server restarts where it stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ember_config::ScrapeConfig;
use ember_storage::chunkenc::stale_nan;
use ember_storage::db::Db;
use ember_textparse::Format;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{debug, warn};

use super::append::{expire_metadata, AppendOptions, AppendOutcome, AppendState, ReportSeries};
use super::cache::ScrapeCache;
use super::metrics::ScrapeMetrics;
use super::scraper::{choose_format, format_seconds, BufferPool, FetchError, Scraper};
use super::target::{go_quote, Target};
use crate::cli::units::format_go_duration;
use crate::http_client::HttpClient;

/// Scrape timestamps within this of the aligned schedule are moved onto it (at most 1%
/// of the interval), so that timestamps compress well (Prometheus's tolerance).
const TIMESTAMP_TOLERANCE: Duration = Duration::from_millis(2);

/// What a pool's loops share.
pub struct PoolShared {
    pub cfg: Arc<ScrapeConfig>,
    pub append: AppendOptions,
    pub client: Arc<HttpClient>,
    pub db: Arc<Db>,
    pub metrics: Arc<ScrapeMetrics>,
    pub buffers: Arc<BufferPool>,
    pub offset_seed: u64,
    pub accept: String,
    pub fallback: Option<(Format, String)>,
    pub extra_metrics: bool,
    pub user_agent: String,
    /// Set when the pool stops: loops end without end-of-run staleness markers.
    pub pool_stopped: watch::Receiver<bool>,
    /// Start loops at once instead of at their offset (tests).
    pub skip_offset: bool,
}

/// Control of a running loop.
pub struct LoopHandle {
    stop: watch::Sender<bool>,
    disable_eors: Arc<AtomicBool>,
    forced_err: Arc<Mutex<Option<String>>>,
    join: JoinHandle<Option<ScrapeCache>>,
}

impl LoopHandle {
    /// Starts the loop of `target` with `cache` (a fresh one, or its predecessor's).
    pub fn start(
        target: Arc<Target>,
        shared: Arc<PoolShared>,
        cache: ScrapeCache,
        forced_err: Option<String>,
    ) -> LoopHandle {
        let (interval, timeout, interval_err) = target.interval_and_timeout(
            shared.cfg.scrape_interval.as_std(),
            shared.cfg.scrape_timeout.as_std(),
        );
        let (stop, stop_rx) = watch::channel(false);
        let disable_eors = Arc::new(AtomicBool::new(false));
        let forced = Arc::new(Mutex::new(forced_err.or(interval_err)));
        let scraper = Scraper {
            client: Arc::clone(&shared.client),
            url: target.url().to_string(),
            accept: shared.accept.clone(),
            compression: shared.cfg.enable_compression,
            timeout,
            body_size_limit: u64::try_from(shared.cfg.body_size_limit.bytes()).unwrap_or(0),
            user_agent: shared.user_agent.clone(),
            timeout_header: format_seconds(timeout),
        };
        let report = ReportSeries::new(&target);
        let sl = ScrapeLoop {
            interval,
            interval_label: format_go_duration(interval),
            timeout,
            scraper,
            state: AppendState::new(cache),
            report,
            target,
            forced_err: Arc::clone(&forced),
            disable_eors: Arc::clone(&disable_eors),
            shared,
        };
        let join = tokio::spawn(sl.run(stop_rx));
        LoopHandle {
            stop,
            disable_eors,
            forced_err: forced,
            join,
        }
    }

    /// Sets or clears the error every scrape reports instead of scraping (target limit).
    pub fn set_forced_error(&self, err: Option<String>) {
        *self.forced_err.lock() = err;
    }

    /// The loop's cache goes to a successor: no end-of-run staleness markers.
    pub fn disable_end_of_run_staleness(&self) {
        self.disable_eors.store(true, Ordering::Release);
    }

    /// Stops the loop and waits for it (an in-flight scrape finishes first). Returns its
    /// cache unless end-of-run staleness took it.
    pub async fn stop(self) -> Option<ScrapeCache> {
        let _ = self.stop.send(true);
        self.join.await.ok().flatten()
    }
}

struct ScrapeLoop {
    target: Arc<Target>,
    shared: Arc<PoolShared>,
    interval: Duration,
    interval_label: String,
    timeout: Duration,
    scraper: Scraper,
    state: AppendState,
    report: ReportSeries,
    forced_err: Arc<Mutex<Option<String>>>,
    disable_eors: Arc<AtomicBool>,
}

/// Resolves when `rx` holds `true` or its sender is gone.
async fn signalled(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl ScrapeLoop {
    async fn run(mut self, mut stop: watch::Receiver<bool>) -> Option<ScrapeCache> {
        let mut pool_stopped = self.shared.pool_stopped.clone();
        let offset = if self.shared.skip_offset {
            Duration::ZERO
        } else {
            self.target.offset(self.interval, self.shared.offset_seed)
        };
        if !offset.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(offset) => {}
                _ = signalled(&mut stop) => return Some(self.state.cache),
                _ = signalled(&mut pool_stopped) => return Some(self.state.cache),
            }
        }
        let start = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval_at(start + self.interval, self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut aligned = SystemTime::now();
        let tolerance = TIMESTAMP_TOLERANCE.min(self.interval / 100);
        let mut last: Option<Instant> = None;
        loop {
            if *stop.borrow() || *pool_stopped.borrow() {
                break;
            }
            let mut scrape_time = SystemTime::now();
            while scrape_time
                .duration_since(aligned)
                .is_ok_and(|d| d >= self.interval)
            {
                aligned += self.interval;
            }
            if scrape_time
                .duration_since(aligned)
                .is_ok_and(|d| d <= tolerance)
            {
                scrape_time = aligned;
            }
            match self
                .scrape_and_report(last, scrape_time, &mut pool_stopped)
                .await
            {
                Some(started) => last = Some(started),
                None => break,
            }
            tokio::select! {
                _ = signalled(&mut stop) => break,
                _ = signalled(&mut pool_stopped) => break,
                _ = ticker.tick() => {}
            }
        }
        if self.disable_eors.load(Ordering::Acquire) || *pool_stopped.borrow() || last.is_none() {
            return Some(self.state.cache);
        }
        tokio::spawn(self.end_of_run_staleness(ticker, pool_stopped));
        None
    }

    /// One scrape: fetch, append, report, commit. Returns when it started, or `None`
    /// when the pool stopped during the fetch (the scrape is abandoned).
    async fn scrape_and_report(
        &mut self,
        last: Option<Instant>,
        append_time: SystemTime,
        pool_stopped: &mut watch::Receiver<bool>,
    ) -> Option<Instant> {
        let start = Instant::now();
        let metrics = &self.shared.metrics;
        if let Some(last) = last {
            let secs = last.elapsed().as_secs_f64();
            metrics.interval_length.observe(&self.interval_label, secs);
        }
        let forced = self.forced_err.lock().clone();
        let mut body = self.shared.buffers.get();
        let fetched = if forced.is_none() {
            let timeout = self.timeout;
            let scraper = &self.scraper;
            tokio::select! {
                r = tokio::time::timeout(timeout, scraper.fetch(&mut body)) => Some(match r {
                    Ok(r) => r,
                    Err(_) => Err(FetchError::Other(format!("Get {}: context deadline exceeded", go_quote(&scraper.url)))),
                }),
                _ = signalled(pool_stopped) => {
                    self.shared.buffers.put(body);
                    return None;
                }
            }
        } else {
            None
        };
        self.append_and_report(start, append_time, forced, fetched, &body);
        self.shared.buffers.put(body);
        Some(start)
    }

    fn append_and_report(
        &mut self,
        start: Instant,
        append_time: SystemTime,
        forced: Option<String>,
        fetched: Option<Result<Option<String>, FetchError>>,
        body: &[u8],
    ) {
        let shared = Arc::clone(&self.shared);
        let metrics = &shared.metrics;
        let t = millis(append_time);
        let mut app = shared.db.appender();
        let mut scrape_err = forced;
        let mut outcome = AppendOutcome::default();
        let mut bytes_read: i64 = 0;
        let mut app_err: Option<String> = None;
        match fetched {
            None => {}
            Some(Ok(content_type)) => {
                bytes_read = body.len() as i64;
                let fallback = shared.fallback.as_ref().map(|(f, s)| (*f, s.as_str()));
                match choose_format(content_type.as_deref(), fallback) {
                    Ok(format) => {
                        outcome = self.state.append(
                            &mut app,
                            body,
                            format,
                            t,
                            &self.target,
                            &shared.append,
                            metrics,
                        );
                        app_err = outcome.err.take();
                    }
                    Err(e) => {
                        warn!(target_url = %self.target.url(), content_type = content_type.as_deref().unwrap_or(""), err = %e, "Failed to determine correct type of scrape target.");
                        app_err = Some(e);
                    }
                }
            }
            Some(Err(e)) => {
                debug!(target_url = %self.target.url(), err = %e, "Scrape failed");
                if e == FetchError::BodySizeLimit {
                    bytes_read = -1;
                    metrics.exceeded_body_size_limit.inc();
                }
                scrape_err = Some(e.to_string());
            }
        }
        let appended_nothing_yet = app_err.is_some() || scrape_err.is_some();
        if app_err.is_some() {
            let _ = app.rollback();
            debug!(target_url = %self.target.url(), err = ?app_err, "Append failed");
        }
        if appended_nothing_yet {
            // A failed scrape is an empty one: staleness markers for what disappeared.
            if let Err(e) = self.state.append_empty(&mut app, t, metrics) {
                let _ = app.rollback();
                warn!(target_url = %self.target.url(), err = %e, "Append failed");
            }
        }
        if scrape_err.is_none() {
            scrape_err = app_err;
        }
        let duration = start.elapsed();
        self.target
            .report(append_time, duration, scrape_err.as_deref());
        let up = if scrape_err.is_none() { 1.0 } else { 0.0 };
        let values = [
            up,
            duration.as_secs_f64(),
            outcome.total as f64,
            outcome.added as f64,
            outcome.series_added as f64,
            self.timeout.as_secs_f64(),
            shared.cfg.sample_limit as f64,
            bytes_read as f64,
        ];
        let n = if shared.extra_metrics { 8 } else { 5 };
        if let Err(e) = self.report.append(&mut app, t, &values[..n]) {
            let _ = app.rollback();
            warn!(target_url = %self.target.url(), err = %e, "Appending scrape report failed");
            return;
        }
        if let Err(e) = app.commit() {
            warn!(target_url = %self.target.url(), err = %e, "Scrape commit failed");
        }
        if shared.extra_metrics {
            metrics
                .scrape_duration
                .observe(start.elapsed().as_secs_f64());
        }
        if self.state.cache.iter.is_multiple_of(10) {
            expire_metadata(&self.target, self.state.cache.iter);
        }
    }

    /// Staleness markers for everything the loop scraped, written when a successor would
    /// have scraped twice (plus 10% of the interval), unless the pool stops first.
    async fn end_of_run_staleness(
        mut self,
        mut ticker: tokio::time::Interval,
        mut pool_stopped: watch::Receiver<bool>,
    ) {
        let stale_time = tokio::select! {
            _ = ticker.tick() => SystemTime::now(),
            _ = signalled(&mut pool_stopped) => return,
        };
        tokio::select! {
            _ = ticker.tick() => {}
            _ = signalled(&mut pool_stopped) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(self.interval / 10) => {}
            _ = signalled(&mut pool_stopped) => return,
        }
        if self.disable_eors.load(Ordering::Acquire) {
            return;
        }
        let t = millis(stale_time);
        let mut app = self.shared.db.appender();
        if let Err(e) = self.state.append_empty(&mut app, t, &self.shared.metrics) {
            let _ = app.rollback();
            warn!(target_url = %self.target.url(), err = %e, "Stale append failed");
        }
        let n = if self.shared.extra_metrics { 8 } else { 5 };
        let stale = [stale_nan(); 8];
        if let Err(e) = self.report.append(&mut app, t, &stale[..n]) {
            warn!(target_url = %self.target.url(), err = %e, "Stale report failed");
        }
        if let Err(e) = app.commit() {
            warn!(target_url = %self.target.url(), err = %e, "Stale commit failed");
        }
    }
}
