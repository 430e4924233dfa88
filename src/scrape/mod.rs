//! Scraping: Prometheus's scrape manager.
//!
//! | module          | concern                                                        |
//! |-----------------|----------------------------------------------------------------|
//! | [`target`]      | discovered labels → target labels (`PopulateLabels`), the URL  |
//! | [`pool`]        | one job: its targets and loops, sync and reload                |
//! | [`scrape_loop`] | one target's loop: timing, scrape, report, staleness           |
//! | [`scraper`]     | the HTTP request, body limits, gzip, Content-Type → parser     |
//! | [`append`]      | parsed samples → storage, limits, synthetic series             |
//! | [`cache`]       | the per-target scrape cache (raw series text → ref)            |
//! | [`metrics`]     | `prometheus_target_*`                                           |
//!
//! [`ScrapeManager`] holds one pool per job of the configuration. `apply_config`
//! creates, reloads and removes pools; the discovery updates `run` receives are synced
//! into the pools; `stop` ends everything at shutdown (without staleness markers, as
//! Prometheus: the server is presumed to restart where it stopped).

pub mod append;
pub mod cache;
pub mod metrics;
pub mod pool;
pub mod scrape_loop;
pub mod scraper;
pub mod target;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ember_config::{Config, ScrapeConfig};
use ember_storage::db::Db;
use ember_storage::Labels;
use parking_lot::RwLock;
use tokio::sync::watch;
use tracing::{error, info};

use metrics::ScrapeMetrics;
pub use pool::PoolView;
use pool::{PoolContext, ScrapePool};
use scraper::BufferPool;
pub use target::{Metadata, Target};

pub use crate::discovery::TargetGroup;

/// Target groups by job name, as the discovery manager publishes them.
pub type TargetSets = Arc<crate::discovery::TargetSets>;

/// The target groups of each job's `static_configs` (for tests that run without the
/// discovery manager).
#[cfg(test)]
pub fn static_target_sets(cfg: &Config) -> BTreeMap<String, Vec<TargetGroup>> {
    cfg.all_scrape_configs()
        .map(|job| {
            let groups = job
                .service_discovery
                .static_configs
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    TargetGroup::from_addresses(
                        i.to_string(),
                        g.targets.iter().map(String::as_str),
                        g.labels.clone(),
                    )
                })
                .collect();
            (job.job_name.clone(), groups)
        })
        .collect()
}

/// How often discovery updates are applied at most (Prometheus's 5s).
const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The scrape manager. See the module documentation.
pub struct ScrapeManager {
    ctx: RwLock<PoolContext>,
    inner: tokio::sync::Mutex<Inner>,
    view: RwLock<BTreeMap<String, PoolView>>,
    stop: watch::Sender<bool>,
    reload_interval: Duration,
}

#[derive(Default)]
struct Inner {
    pools: BTreeMap<String, ScrapePool>,
    target_sets: TargetSets,
    stopped: bool,
}

/// The `User-Agent` of scrapes.
fn user_agent() -> String {
    format!("Ember/{}", crate::build_info::BUILD.version)
}

impl ScrapeManager {
    /// A manager appending to `db`, registering its metrics in `registry`.
    pub fn new(db: Arc<Db>, registry: &prometheus::Registry) -> Result<Arc<ScrapeManager>, String> {
        Self::with_options(db, registry, DEFAULT_RELOAD_INTERVAL, false)
    }

    /// As [`ScrapeManager::new`], with the discovery throttle and whether loops start at
    /// once rather than at their offset in the interval (tests).
    pub fn with_options(
        db: Arc<Db>,
        registry: &prometheus::Registry,
        reload_interval: Duration,
        skip_offset: bool,
    ) -> Result<Arc<ScrapeManager>, String> {
        let metrics = ScrapeMetrics::new(registry).map_err(|e| e.to_string())?;
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(ScrapeManager {
            ctx: RwLock::new(PoolContext {
                db,
                metrics,
                buffers: Arc::new(BufferPool::default()),
                offset_seed: 0,
                user_agent: user_agent(),
                skip_offset,
            }),
            inner: tokio::sync::Mutex::new(Inner::default()),
            view: RwLock::new(BTreeMap::new()),
            stop,
            reload_interval,
        }))
    }

    /// Applies a (re)loaded configuration: new jobs get pools, removed jobs stop, changed
    /// jobs restart their loops (keeping caches when possible), unchanged jobs go on.
    /// Then every pool is synced with the latest target groups.
    pub async fn apply_config(&self, cfg: &Config) -> Result<(), String> {
        let mut inner = self.inner.lock().await;
        if inner.stopped {
            return Ok(());
        }
        let seed = {
            let ext = Labels::from_pairs(cfg.global.external_labels.iter());
            let host = crate::host::hostname();
            target::fnv64a_parts(&[host.as_bytes(), ext.to_string().as_bytes()])
        };
        self.ctx.write().offset_seed = seed;
        let ctx = self.ctx.read().clone();
        let configs: BTreeMap<String, Arc<ScrapeConfig>> = cfg
            .all_scrape_configs()
            .map(|c| (c.job_name.clone(), Arc::new(c.clone())))
            .collect();
        let mut failed = false;
        let names: Vec<String> = inner.pools.keys().cloned().collect();
        for name in names {
            match configs.get(&name) {
                None => {
                    if let Some(pool) = inner.pools.remove(&name) {
                        pool.stop().await;
                    }
                }
                Some(new_cfg) => {
                    let Some(pool) = inner.pools.get_mut(&name) else {
                        continue;
                    };
                    if **pool.config() != **new_cfg {
                        if let Err(e) = pool.reload(Arc::clone(new_cfg)).await {
                            error!(component = "scrape manager", scrape_pool = %name, err = %e, "error reloading scrape pool");
                            failed = true;
                        }
                    }
                }
            }
        }
        for (name, job) in &configs {
            if inner.pools.contains_key(name) {
                continue;
            }
            ctx.metrics.pools_total.inc();
            match ScrapePool::new(Arc::clone(job), ctx.clone()) {
                Ok(pool) => {
                    inner.pools.insert(name.clone(), pool);
                }
                Err(e) => {
                    ctx.metrics.pools_failed.inc();
                    error!(component = "scrape manager", scrape_pool = %name, err = %e, "error creating new scrape pool");
                }
            }
        }
        self.sync_all(&mut inner).await;
        if failed {
            return Err("failed to apply the new configuration".into());
        }
        Ok(())
    }

    async fn sync_all(&self, inner: &mut Inner) {
        let sets = Arc::clone(&inner.target_sets);
        let empty = Vec::new();
        for (name, pool) in inner.pools.iter_mut() {
            pool.sync(sets.get(name).unwrap_or(&empty)).await;
        }
        let view = inner
            .pools
            .iter()
            .map(|(n, p)| (n.clone(), p.view()))
            .collect();
        *self.view.write() = view;
    }

    /// Applies target-group updates until [`ScrapeManager::stop`], at most once per
    /// reload interval.
    pub async fn run(self: Arc<Self>, mut targets: watch::Receiver<TargetSets>) {
        let mut stop = self.stop.subscribe();
        loop {
            {
                // Read under the lock, so a concurrent `sync_targets` and this sync
                // cannot apply an older value last.
                let mut inner = self.inner.lock().await;
                if inner.stopped {
                    return;
                }
                inner.target_sets = Arc::clone(&targets.borrow_and_update());
                self.sync_all(&mut inner).await;
            }
            tokio::select! {
                _ = stop.wait_for(|v| *v) => return,
                _ = tokio::time::sleep(self.reload_interval) => {}
            }
            tokio::select! {
                _ = stop.wait_for(|v| *v) => return,
                changed = targets.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Syncs every pool with `sets` now, without waiting for [`ScrapeManager::run`]'s
    /// next update (static targets after a reload).
    pub async fn sync_targets(&self, sets: TargetSets) {
        let mut inner = self.inner.lock().await;
        if inner.stopped {
            return;
        }
        inner.target_sets = sets;
        self.sync_all(&mut inner).await;
    }

    /// Stops every pool (no staleness markers: the server is shutting down).
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let mut inner = self.inner.lock().await;
        inner.stopped = true;
        let pools = std::mem::take(&mut inner.pools);
        let mut set = tokio::task::JoinSet::new();
        for (_, pool) in pools {
            set.spawn(pool.stop());
        }
        while set.join_next().await.is_some() {}
        info!(component = "scrape manager", "Scrape manager stopped");
    }

    /// The pools' names, sorted.
    pub fn scrape_pools(&self) -> Vec<String> {
        self.view.read().keys().cloned().collect()
    }

    /// Every pool's targets, by pool name.
    pub fn targets(&self) -> BTreeMap<String, PoolView> {
        self.view.read().clone()
    }
}

#[cfg(test)]
mod tests;
