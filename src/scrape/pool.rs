//! A scrape pool: one job's targets and their loops.
//!
//! `sync` turns the job's discovered target groups into targets, starts a loop for each
//! new one, keeps the loops of targets that are still there and stops the others.
//! `reload` restarts every loop with a new configuration, handing each its predecessor's
//! cache when nothing that shapes the stored series changed.

use std::sync::Arc;
use std::time::Instant;

use ember_config::{Relabeler, ScrapeConfig};
use ember_storage::db::Db;
use ember_storage::LabelsBuilder;
use ember_textparse::Format;
use hashbrown::HashMap;
use tokio::sync::watch;
use tracing::error;

use super::append::AppendOptions;
use super::cache::ScrapeCache;
use super::metrics::ScrapeMetrics;
use super::scrape_loop::{LoopHandle, PoolShared};
use super::scraper::{accept_header, BufferPool};
use super::target::{populate_labels, Discovered, Target};
use super::TargetGroup;
use crate::cli::units::format_go_duration;
use crate::http_client::HttpClient;

/// What a pool needs from the manager.
#[derive(Clone)]
pub struct PoolContext {
    pub db: Arc<Db>,
    pub metrics: Arc<ScrapeMetrics>,
    pub buffers: Arc<BufferPool>,
    pub offset_seed: u64,
    pub user_agent: String,
    pub skip_offset: bool,
}

/// The pool's targets as the API shows them.
#[derive(Clone, Default)]
pub struct PoolView {
    pub active: Vec<Arc<Target>>,
    pub dropped: Vec<Arc<Target>>,
    pub dropped_count: usize,
}

pub struct ScrapePool {
    name: String,
    ctx: PoolContext,
    shared: Arc<PoolShared>,
    relabeler: Relabeler,
    stopped: watch::Sender<bool>,
    loops: HashMap<u64, LoopHandle>,
    active: HashMap<u64, Arc<Target>>,
    dropped: Vec<Arc<Target>>,
    dropped_count: usize,
}

/// The shared state of a pool's loops under `cfg`.
fn shared_for(
    cfg: &Arc<ScrapeConfig>,
    ctx: &PoolContext,
    stopped: watch::Receiver<bool>,
) -> Result<(Arc<PoolShared>, Relabeler), String> {
    let client = HttpClient::new(&cfg.http_client, &cfg.job_name)?;
    let relabeler = Relabeler::new(&cfg.relabel_configs).map_err(|e| e.to_string())?;
    let metric_relabeler =
        Relabeler::new(&cfg.metric_relabel_configs).map_err(|e| e.to_string())?;
    let fallback = cfg.fallback_scrape_protocol.as_ref().and_then(|p| {
        let header = p.header()?;
        let media = header.split(';').next().unwrap_or(header).to_string();
        Format::from_content_type(header).map(|f| (f, media))
    });
    let shared = PoolShared {
        cfg: Arc::clone(cfg),
        append: AppendOptions {
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
            track_timestamps_staleness: cfg.track_timestamps_staleness,
            sample_limit: cfg.sample_limit,
            label_limit: cfg.label_limit,
            label_name_length_limit: cfg.label_name_length_limit,
            label_value_length_limit: cfg.label_value_length_limit,
            validation: cfg.metric_name_validation_scheme,
            metric_relabeler,
        },
        client: Arc::new(client),
        db: Arc::clone(&ctx.db),
        metrics: Arc::clone(&ctx.metrics),
        buffers: Arc::clone(&ctx.buffers),
        offset_seed: ctx.offset_seed,
        accept: accept_header(cfg.protocols(), &cfg.metric_name_escaping_scheme),
        fallback,
        extra_metrics: cfg.extra_scrape_metrics == Some(true),
        user_agent: ctx.user_agent.clone(),
        pool_stopped: stopped,
        skip_offset: ctx.skip_offset,
    };
    Ok((Arc::new(shared), relabeler))
}

/// Whether a cache built under `a` is valid under `b`: only the interval, timeout,
/// sample limit and HTTP client settings may differ (Prometheus's `reusableCache`).
fn reusable_cache(a: &ScrapeConfig, b: &ScrapeConfig) -> bool {
    let zero = |c: &ScrapeConfig| {
        let mut z = c.clone();
        z.scrape_interval = Default::default();
        z.scrape_timeout = Default::default();
        z.sample_limit = 0;
        z.http_client = Default::default();
        z
    };
    zero(a) == zero(b)
}

impl ScrapePool {
    pub fn new(cfg: Arc<ScrapeConfig>, ctx: PoolContext) -> Result<ScrapePool, String> {
        let (stopped, stopped_rx) = watch::channel(false);
        let (shared, relabeler) = shared_for(&cfg, &ctx, stopped_rx)?;
        ctx.metrics
            .target_limit
            .with_label_values(&[cfg.job_name.as_str()])
            .set(cfg.target_limit as i64);
        Ok(ScrapePool {
            name: cfg.job_name.clone(),
            ctx,
            shared,
            relabeler,
            stopped,
            loops: HashMap::new(),
            active: HashMap::new(),
            dropped: Vec::new(),
            dropped_count: 0,
        })
    }

    pub fn config(&self) -> &Arc<ScrapeConfig> {
        &self.shared.cfg
    }

    pub fn view(&self) -> PoolView {
        let mut active: Vec<Arc<Target>> = self.active.values().cloned().collect();
        active.sort_by(|a, b| a.all_labels().cmp(b.all_labels()));
        PoolView {
            active,
            dropped: self.dropped.clone(),
            dropped_count: self.dropped_count,
        }
    }

    fn target_limit_error(&self) -> Option<String> {
        let limit = self.shared.cfg.target_limit;
        if limit == 0 || self.active.len() as u64 <= limit {
            return None;
        }
        self.ctx.metrics.exceeded_target_limit.inc();
        Some(format!(
            "target_limit exceeded (number of targets: {}, limit: {limit})",
            self.active.len()
        ))
    }

    /// Converts `groups` into targets and starts, keeps or stops loops to match.
    pub async fn sync(&mut self, groups: &[TargetGroup]) {
        let started = Instant::now();
        let cfg = Arc::clone(&self.shared.cfg);
        let mut lb = LabelsBuilder::new();
        let mut all: Vec<Arc<Target>> = Vec::new();
        self.dropped.clear();
        self.dropped_count = 0;
        let mut failures = 0u64;
        for g in groups {
            for (i, t) in g.targets.iter().enumerate() {
                let d = Discovered {
                    target: t,
                    group: &g.labels,
                };
                let (result, discovered) = populate_labels(&mut lb, &cfg, &self.relabeler, &d);
                match result {
                    Err(e) => {
                        failures += 1;
                        error!(component = "scrape manager", scrape_pool = %self.name,
                            err = %format!("instance {i} in group {}: {e}", g.source),
                            "Creating target failed");
                    }
                    Ok(labels) if labels.is_empty() => {
                        if cfg.keep_dropped_targets == 0
                            || (self.dropped.len() as u64) < cfg.keep_dropped_targets
                        {
                            self.dropped
                                .push(Arc::new(Target::new(labels, discovered, &cfg)));
                        }
                        self.dropped_count += 1;
                    }
                    Ok(labels) => all.push(Arc::new(Target::new(labels, discovered, &cfg))),
                }
            }
        }
        let job = [self.name.as_str()];
        self.ctx
            .metrics
            .sync_failed
            .with_label_values(&job)
            .inc_by(failures);

        let mut unique: HashMap<u64, ()> = HashMap::new();
        let mut new_targets: Vec<Arc<Target>> = Vec::new();
        for t in all {
            let h = t.hash();
            if unique.insert(h, ()).is_some() {
                continue;
            }
            match self.active.get(&h) {
                Some(existing) => existing.set_discovered_labels(t.discovered_labels()),
                None => {
                    self.active.insert(h, Arc::clone(&t));
                    new_targets.push(t);
                }
            }
        }
        let gone: Vec<u64> = self
            .active
            .keys()
            .filter(|h| !unique.contains_key(*h))
            .copied()
            .collect();
        let mut stopping = Vec::with_capacity(gone.len());
        for h in gone {
            self.active.remove(&h);
            if let Some(l) = self.loops.remove(&h) {
                stopping.push(l);
            }
        }
        self.ctx
            .metrics
            .pool_targets
            .with_label_values(&job)
            .set(unique.len() as i64);
        let forced = self.target_limit_error();
        for l in self.loops.values() {
            l.set_forced_error(forced.clone());
        }
        for t in new_targets {
            let h = t.hash();
            let handle = LoopHandle::start(
                t,
                Arc::clone(&self.shared),
                ScrapeCache::default(),
                forced.clone(),
            );
            self.loops.insert(h, handle);
        }
        stop_all(stopping).await;
        let secs = started.elapsed().as_secs_f64();
        self.ctx.metrics.sync_length.observe(&self.name, secs);
        self.ctx.metrics.pool_syncs.with_label_values(&job).inc();
    }

    /// Restarts every loop under `cfg`, keeping the targets.
    pub async fn reload(&mut self, cfg: Arc<ScrapeConfig>) -> Result<(), String> {
        let started = Instant::now();
        self.ctx.metrics.pool_reloads.inc();
        let (shared, relabeler) = match shared_for(&cfg, &self.ctx, self.stopped.subscribe()) {
            Ok(s) => s,
            Err(e) => {
                self.ctx.metrics.pool_reloads_failed.inc();
                return Err(e);
            }
        };
        let reuse = reusable_cache(&self.shared.cfg, &cfg);
        self.shared = shared;
        self.relabeler = relabeler;
        self.ctx
            .metrics
            .target_limit
            .with_label_values(&[self.name.as_str()])
            .set(cfg.target_limit as i64);
        let forced = self.target_limit_error();
        let mut set = tokio::task::JoinSet::new();
        for (h, l) in self.loops.drain() {
            set.spawn(async move {
                if reuse {
                    l.disable_end_of_run_staleness();
                    (h, l.stop().await.unwrap_or_default())
                } else {
                    let _ = l.stop().await;
                    (h, ScrapeCache::default())
                }
            });
        }
        while let Some(done) = set.join_next().await {
            let Ok((h, cache)) = done else { continue };
            if let Some(t) = self.active.get(&h) {
                let handle = LoopHandle::start(
                    Arc::clone(t),
                    Arc::clone(&self.shared),
                    cache,
                    forced.clone(),
                );
                self.loops.insert(h, handle);
            }
        }
        self.ctx.metrics.reload_length.observe(
            &format_go_duration(cfg.scrape_interval.as_std()),
            started.elapsed().as_secs_f64(),
        );
        Ok(())
    }

    /// Stops every loop without end-of-run staleness markers (shutdown, job removed).
    pub async fn stop(mut self) {
        let _ = self.stopped.send(true);
        let loops: Vec<LoopHandle> = self.loops.drain().map(|(_, l)| l).collect();
        stop_all(loops).await;
        self.ctx.metrics.remove_job(&self.name);
    }
}

/// Stops loops concurrently and waits for all of them.
async fn stop_all(loops: Vec<LoopHandle>) {
    let mut set = tokio::task::JoinSet::new();
    for l in loops {
        set.spawn(async move {
            let _ = l.stop().await;
        });
    }
    while set.join_next().await.is_some() {}
}
